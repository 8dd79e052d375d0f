"""Rankings of the leaderboard, per phase, and their tables (rich, plain text, JSON)."""

import dataclasses
import json
import math
from pathlib import Path

from ..challenge import ChallengeLayout, read_challenge_config
from .store import CONTRAST_COLUMNS, Leaderboard, database_url

__all__ = ["SORT_KEYS", "CSV_COLUMNS", "PhaseRanking", "ranking", "rank_entries", "phase_names", "ranking_csv",
           "ranking_json", "ranking_text", "ranking_tables", "has_contrast", "contrast_cell"]

#: Sort keys: the entry attributes compared, in order (all descending; then the earlier submission first).
SORT_KEYS = {
    "f1": ("f1", "auc", "partial_auc"),
    "auc": ("auc", "partial_auc", "f1"),
    "pauc": ("partial_auc", "auc", "f1"),
    "tpr": ("tpr_at_max_fpr", "partial_auc", "f1"),
}


@dataclasses.dataclass(frozen=True)
class PhaseRanking:
    """The ranking of one phase.

    Attributes
    ----------
    phase : int
    title : str
        The phase's name in ``challenge.yaml`` when there is one, else ``""``.
    sort : str
        The sort key (a key of :data:`SORT_KEYS`).
    entries : tuple of Entry
        Scored submissions, best first, with their ``rank`` set.
    refused : tuple of Entry
        Refused submissions, in order of arrival.
    """

    phase: int
    title: str
    sort: str
    entries: tuple
    refused: tuple

    @property
    def suffix(self):
        """The phase's score-name suffix (from its entries), or None."""
        return self.entries[0].suffix if self.entries else None

    def to_dict(self):
        return {"phase": self.phase, "title": self.title, "suffix": self.suffix, "sort": self.sort,
                "entries": [e.to_dict() for e in self.entries], "refused": [e.to_dict() for e in self.refused]}


def _check_sort(sort):
    if sort not in SORT_KEYS:
        raise ValueError(f"sort: expected one of {', '.join(SORT_KEYS)}, got {sort!r}")
    return sort


def _key(entry, sort):
    values = tuple(getattr(entry, attr) for attr in SORT_KEYS[sort])
    # Undefined values (None) rank below every number; descending order by negation.
    return tuple((v is None or math.isnan(v), -(v or 0.0)) for v in values) + ((entry.submitted_at, entry.id),)


def rank_entries(entries, *, sort="f1", best=False):
    """Sort scored entries, best first, and give them ranks.

    Parameters
    ----------
    entries : iterable of Entry
    sort : {"f1", "auc", "pauc", "tpr"}
        ``f1``: F1 at the submitted threshold; ``auc``: area under the ROC curve;
        ``pauc``: partial AUC (FPR <= max_fpr, divided by max_fpr); ``tpr``: best
        TPR at FPR <= max_fpr. Ties are broken by the next keys of
        :data:`SORT_KEYS`, then by the earlier submission.
    best : bool, optional
        Keep only the best entry of each name.

    Returns
    -------
    tuple of Entry
        With ``rank`` set: entries equal on the sort key share the rank
        (1, 1, 3, ...). Undefined values rank last.
    """
    _check_sort(sort)
    ordered = sorted(entries, key=lambda e: _key(e, sort))
    if best:
        seen, kept = set(), []
        for entry in ordered:
            if entry.name not in seen:
                seen.add(entry.name)
                kept.append(entry)
        ordered = kept
    ranked, previous, rank = [], object(), 0
    attr = SORT_KEYS[sort][0]
    for i, entry in enumerate(ordered, start=1):
        value = getattr(entry, attr)
        if value != previous:
            rank, previous = i, value
        ranked.append(dataclasses.replace(entry, rank=rank))
    return tuple(ranked)


def phase_names(challenge):
    """``{number: name}`` of the phases named in ``CHALLENGE/challenge.yaml`` ({} without the file).

    Raises
    ------
    ValueError
        The file is malformed (the message names it and the key).
    """
    config = read_challenge_config(ChallengeLayout(challenge).challenge_file)
    return {p.number: p.name or "" for p in config.phases}


def _reference_phases(challenge):
    return ChallengeLayout(challenge).reference_phases()


def ranking(challenge, *, phase=None, sort="f1", db=None, best=False):
    """The rankings of a challenge's leaderboard, one per phase.

    Parameters
    ----------
    challenge : str or path-like
        The challenge folder.
    phase : int, optional
        Only this phase (default: every phase of ``reference/`` and of the database).
    sort : {"f1", "auc", "pauc", "tpr"}
        See :func:`rank_entries`.
    db : str, optional
        SQLAlchemy URL or SQLite file (see :func:`~exobench.leaderboard.database_url`).
    best : bool, optional
        Only each name's best entry.

    Returns
    -------
    list of PhaseRanking

    Raises
    ------
    FileNotFoundError
        The challenge folder, or the default SQLite file, does not exist.
    """
    folder = Path(challenge)
    if not folder.is_dir():
        raise FileNotFoundError(f"challenge: folder {str(folder)!r} does not exist")
    _check_sort(sort)
    if phase is not None and (isinstance(phase, bool) or not isinstance(phase, int)):
        raise ValueError(f"phase: expected a phase number, got {phase!r}")
    titles = phase_names(folder)
    with Leaderboard(database_url(folder, db), create=False) as board:
        entries = board.entries(phase=phase)
    numbers = {e.phase for e in entries} | set(_reference_phases(folder))
    if phase is not None:
        if phase not in numbers:
            known = ", ".join(map(str, sorted(numbers))) or "none"
            raise ValueError(f"phase: no phase {phase} in {str(folder)!r} (phases: {known})")
        numbers = {phase}
    out = []
    for number in sorted(numbers):
        mine = [e for e in entries if e.phase == number]
        scored = [e for e in mine if e.status == "scored"]
        refused = tuple(e for e in mine if e.status == "refused")
        out.append(PhaseRanking(number, titles.get(number, ""), sort, rank_entries(scored, sort=sort, best=best),
                                refused))
    return out


#: Columns of :func:`ranking_csv`, after ``phase``.
CSV_COLUMNS = ("rank", "name", "id", "f1", "precision", "recall", "false_positives", "tpr", "fpr", "auc",
               "partial_auc", "max_fpr", "tpr_at_max_fpr", "threshold") + tuple(CONTRAST_COLUMNS) + (
               "sha256", "submitted_at")


def ranking_csv(rankings):
    """The ranked entries of every phase as CSV text (``phase`` then :data:`CSV_COLUMNS`; empty: undefined, and
    the contrast columns of an entry without contrast curves)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("phase",) + CSV_COLUMNS)
    for r in rankings:
        for entry in r.entries:
            values = entry.to_dict()
            writer.writerow([r.phase] + ["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def ranking_json(rankings):
    """The rankings as a JSON document (``{"phases": [...]}``)."""
    return json.dumps({"phases": [r.to_dict() for r in rankings]}, indent=2, allow_nan=False) + "\n"


# -- tables -------------------------------------------------------------------------------

_SORT_LABELS = {"f1": "F1", "auc": "AUC", "pauc": "partial AUC", "tpr": "TPR at FPR <= max_fpr"}


def _fmt(value, digits=4):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def has_contrast(r):
    """Whether an entry of the phase has contrast columns (the tables show them only then)."""
    return any(getattr(e, key) is not None for e in r.entries for key in CONTRAST_COLUMNS)


def _columns(r):
    max_fpr = next((e.max_fpr for e in r.entries if e.max_fpr is not None), 0.01)
    contrast = [f"C@{sep:g}l/D" for sep in CONTRAST_COLUMNS.values()] if has_contrast(r) else []
    return ["#", "name", "F1", "precision", "recall", "FP", "AUC", f"pAUC@{max_fpr:g}", f"TPR@FPR{max_fpr:g}",
            "threshold"] + contrast + ["submitted (UTC)", "sha256"]


def contrast_cell(value):
    """A contrast column's text: ``1.2e-05``, blank (not zero, not a dash) for an entry without the value."""
    return "" if value is None or not math.isfinite(value) else f"{value:.2g}"


def _cells(entry, contrast=False):
    cells = [contrast_cell(getattr(entry, key)) for key in CONTRAST_COLUMNS] if contrast else []
    return [str(entry.rank), entry.name, _fmt(entry.f1), _fmt(entry.precision), _fmt(entry.recall),
            _fmt(entry.false_positives, 0), _fmt(entry.auc), _fmt(entry.partial_auc), _fmt(entry.tpr_at_max_fpr),
            f"{entry.threshold:g}" if entry.threshold is not None else "-"] + cells + [
            entry.submitted_at.strftime("%Y-%m-%d %H:%M:%S"), entry.sha256[:12]]


def _heading(r):
    title = f" {r.title}" if r.title else ""
    suffix = f" ({r.suffix})" if r.suffix else ""
    return f"Phase {r.phase}{title}{suffix}: sorted by {_SORT_LABELS[r.sort]}"


def _refused_line(r):
    if not r.refused:
        return None
    last = r.refused[-1]
    return f"{len(r.refused)} refused submission(s); last: {last.name}: {last.error}"


def ranking_text(rankings):
    """The rankings as plain text (aligned columns, no colour): what is printed when not on a terminal."""
    blocks = []
    for r in rankings:
        lines = [_heading(r)]
        if r.entries:
            rows = [_columns(r)] + [_cells(e, has_contrast(r)) for e in r.entries]
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            for row in rows:
                lines.append("  ".join(c.ljust(w) if i == 1 else c.rjust(w)
                                       for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        else:
            lines.append("no scored submission yet")
        refused = _refused_line(r)
        if refused:
            lines.append(refused)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def ranking_tables(rankings):
    """The rankings as ``rich`` renderables (one table, and maybe a note, per phase)."""
    from rich.table import Table
    from rich.text import Text

    out = []
    for r in rankings:
        table = Table(title=_heading(r), title_justify="left", show_lines=False)
        for i, column in enumerate(_columns(r)):
            table.add_column(column, justify="left" if i == 1 else "right", no_wrap=True,
                             style="bold" if i == 0 else None)
        for entry in r.entries:
            table.add_row(*_cells(entry, has_contrast(r)))
        if not r.entries:
            table.caption = "no scored submission yet"
        out.append(table)
        refused = _refused_line(r)
        if refused:
            out.append(Text(refused, style="yellow"))
    return out
