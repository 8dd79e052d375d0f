"""Rankings of the leaderboard, per phase, and their tables (rich, plain text, JSON)."""

import dataclasses
import json
import math
from pathlib import Path

from ..challenge import ChallengeLayout, phase_kind_for_suffix, read_challenge_config, read_phase_settings
from .intervals import INTERVAL_LEVEL, entry_intervals, format_interval
from .store import CONTRAST_COLUMNS, Leaderboard, database_url

__all__ = ["SORT_KEYS", "CSV_COLUMNS", "CHARAC_SORT", "CHARAC_COLUMNS", "PhaseRanking", "ranking", "rank_entries",
           "phase_names", "ranking_csv", "ranking_json", "ranking_text", "ranking_tables", "is_characterisation",
           "charac_score", "has_contrast", "contrast_cell"]

#: Sort keys: the entry attributes compared, in order (all descending; then the earlier submission first).
SORT_KEYS = {
    "f1": ("f1", "auc", "partial_auc"),
    "auc": ("auc", "partial_auc", "f1"),
    "pauc": ("partial_auc", "auc", "f1"),
    "tpr": ("tpr_at_max_fpr", "partial_auc", "f1"),
}


#: A characterisation phase is ranked by these scores, lowest first, whatever the sort: the EIDC 2022
#: astrometry (mean |dx| + |dy|), then its spectrophotometry, then the Euclidean astrometry.
CHARAC_SORT = ("astrometry_l1_px", "spectrophotometry", "astrometry_px")
#: The characterisation scores shown and written (``{name}_{suffix}`` in an entry's scores), with their labels.
CHARAC_COLUMNS = {"astrometry_l1_px": "L1 (px)", "astrometry_px": "astrometry (px)",
                  "astrometry_mas": "astrometry (mas)", "photometry_rel": "flux rel. err.",
                  "photometry_mag": "flux (mag)", "spectrophotometry": "spectrophot.",
                  "coverage_1sigma": "cov. 1\u03c3", "coverage_2sigma": "cov. 2\u03c3", "nll": "NLL"}


def is_characterisation(suffix):
    """Whether a score suffix is that of a characterisation kind (``charac3d``, ``charac4d``)."""
    kind = phase_kind_for_suffix(suffix) if suffix else None
    return kind is not None and kind.is_characterisation


def charac_score(entry, name):
    """An entry's characterisation score ``name`` (``astrometry_px``...), or None where undefined or absent."""
    value = entry.scores.get(f"{name}_{entry.suffix}")
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


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
    phase_suffix : str or None
        The suffix its reference's ``phase.json`` gives, if any.
    """

    phase: int
    title: str
    sort: str
    entries: tuple
    refused: tuple
    phase_suffix: str = None

    @property
    def suffix(self):
        """The phase's score-name suffix (from its entries, else its reference), or None."""
        return self.entries[0].suffix if self.entries else self.phase_suffix

    @property
    def characterisation(self):
        """Whether the phase is a characterisation one (ranked by :data:`CHARAC_SORT`)."""
        return is_characterisation(self.suffix)

    def to_dict(self):
        return {"phase": self.phase, "title": self.title, "suffix": self.suffix, "sort": self.sort,
                "entries": [e.to_dict() for e in self.entries], "refused": [e.to_dict() for e in self.refused]}


def _check_sort(sort):
    if sort not in SORT_KEYS:
        raise ValueError(f"sort: expected one of {', '.join(SORT_KEYS)}, got {sort!r}")
    return sort


def _key(entry, sort):
    if is_characterisation(entry.suffix):  # errors: lowest first
        values = tuple(charac_score(entry, name) for name in CHARAC_SORT)
        return tuple((v is None, v or 0.0) for v in values) + ((entry.submitted_at, entry.id),)
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
        (1, 1, 3, ...). Undefined values rank last. Entries of a characterisation phase
        are ranked by :data:`CHARAC_SORT` (lowest first), whatever ``sort``.
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
        value = (charac_score(entry, CHARAC_SORT[0]) if is_characterisation(entry.suffix)
                 else getattr(entry, attr))
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


def _reference_suffix(challenge, number):
    """The suffix of a phase's ``phase.json``, or None (no file, or one that cannot be read)."""
    try:
        return read_phase_settings(ChallengeLayout(challenge).phase_file(number)).suffix
    except ValueError:
        return None


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
        Each scored entry with its ``intervals``
        (:func:`~exobench.leaderboard.intervals.entry_intervals`: seeded bootstrap
        intervals of F1 and AUC over the phase's datasets, where available).

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
        entries = [dataclasses.replace(e, intervals=entry_intervals(board, e)) if e.status == "scored" else e
                   for e in board.entries(phase=phase)]
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
                                refused, _reference_suffix(folder, number)))
    return out


#: Columns of :func:`ranking_csv`, after ``phase`` (the characterisation scores empty in a detection phase,
#: the detection ones in a characterisation phase).
CSV_COLUMNS = ("rank", "name", "id", "f1", "f1_low", "f1_high", "precision", "recall", "false_positives", "tpr",
               "fpr", "auc", "auc_low", "auc_high", "partial_auc", "max_fpr", "tpr_at_max_fpr", "threshold",
               *CONTRAST_COLUMNS, *CHARAC_COLUMNS, "sha256", "submitted_at")


def _interval_values(entry):
    """``{f1_low, f1_high, auc_low, auc_high}`` of an entry (None where it has no interval)."""
    out = {}
    for name in ("f1", "auc"):
        interval = getattr(entry.intervals, name, None)
        out[f"{name}_low"], out[f"{name}_high"] = interval if interval is not None else (None, None)
    return out


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
            values = {**entry.to_dict(), **_interval_values(entry)}
            values.update({name: charac_score(entry, name) for name in CHARAC_COLUMNS})
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


def _fmt_small(value):
    """:func:`_fmt`, but small non-zero values (fluxes in units of a PSF file) in scientific notation, not 0.0000."""
    if value is not None and math.isfinite(value) and 0 < abs(value) < 1e-3:
        return f"{value:.3e}"
    return _fmt(value)


def has_contrast(r):
    """Whether an entry of the phase has contrast columns (the tables show them only then)."""
    return any(getattr(e, key) is not None for e in r.entries for key in CONTRAST_COLUMNS)


def _columns(r):
    if r.characterisation:
        return ["#", "name", *CHARAC_COLUMNS.values(), "submitted (UTC)", "sha256"]
    max_fpr = next((e.max_fpr for e in r.entries if e.max_fpr is not None), 0.01)
    level = f"{INTERVAL_LEVEL:.0%}"
    contrast = [f"C@{sep:g}l/D" for sep in CONTRAST_COLUMNS.values()] if has_contrast(r) else []
    return ["#", "name", "F1", f"F1 {level}", "precision", "recall", "FP", "AUC", f"AUC {level}",
            f"pAUC@{max_fpr:g}", f"TPR@FPR{max_fpr:g}", "threshold"] + contrast + ["submitted (UTC)", "sha256"]


def contrast_cell(value):
    """A contrast column's text: ``1.2e-05``, blank (not zero, not a dash) for an entry without the value."""
    return "" if value is None or not math.isfinite(value) else f"{value:.2g}"


def _cells(entry, contrast=False):
    if is_characterisation(entry.suffix):
        return [str(entry.rank), entry.name, *(_fmt_small(charac_score(entry, name)) for name in CHARAC_COLUMNS),
                entry.submitted_at.strftime("%Y-%m-%d %H:%M:%S"), entry.sha256[:12]]
    cells = [contrast_cell(getattr(entry, key)) for key in CONTRAST_COLUMNS] if contrast else []
    intervals = entry.intervals
    return [str(entry.rank), entry.name, _fmt(entry.f1), format_interval(getattr(intervals, "f1", None), 3),
            _fmt(entry.precision), _fmt(entry.recall), _fmt(entry.false_positives, 0), _fmt(entry.auc),
            format_interval(getattr(intervals, "auc", None), 3), _fmt(entry.partial_auc), _fmt(entry.tpr_at_max_fpr),
            f"{entry.threshold:g}" if entry.threshold is not None else "-"] + cells + [
            entry.submitted_at.strftime("%Y-%m-%d %H:%M:%S"), entry.sha256[:12]]


def _heading(r):
    title = f" {r.title}" if r.title else ""
    suffix = f" ({r.suffix})" if r.suffix else ""
    sort = ("L1 astrometry, then spectrophotometry (lowest first)" if r.characterisation
            else _SORT_LABELS[r.sort])
    return f"Phase {r.phase}{title}{suffix}: sorted by {sort}"


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
