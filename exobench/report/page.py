"""The HTML report of a challenge's leaderboard: one self-contained page."""

import datetime
import html
import math
from pathlib import Path

import numpy as np

from .. import __version__, _atomic
from ..challenge import ChallengeLayout, read_challenge_config
from ..leaderboard import Leaderboard, database_url, ranking, stored_submission
from ..leaderboard.intervals import INTERVAL_LEVEL, INTERVAL_RESAMPLES, INTERVAL_SEED, format_interval
from ..leaderboard.ranking import CHARAC_COLUMNS, SORT_KEYS, charac_score
from ..scoring.counting import DEFAULTS
from . import figures
from .outcomes import injection_outcomes, match_truth, read_truth

__all__ = ["DEFAULT_MAX_MAPS", "SECTIONS", "CHARAC_SECTIONS", "build_report", "write_report"]

#: Most submissions whose detection maps are drawn, per phase (the best ranked).
DEFAULT_MAX_MAPS = 4
#: The sections of each phase, as the ``class`` of their ``<section>`` elements.
SECTIONS = ("ranking", "roc", "tpr-separation", "tpr-contrast", "detection-maps", "definitions")
#: The sections of a characterisation phase.
CHARAC_SECTIONS = ("ranking", "companions", "definitions")

_e = html.escape


def write_report(challenge, output, *, db=None, sort="f1", max_maps=DEFAULT_MAX_MAPS, overwrite=False):
    """Write the HTML report of a challenge's leaderboard, atomically.

    Parameters
    ----------
    challenge : str or path-like
        The challenge folder (``reference/phase_N``, ``submissions/``).
    output : str or path-like
        The HTML file to write (its folder must exist); replaced whole, or left as it was.
    db : str, optional
        SQLAlchemy URL or SQLite file of the leaderboard (see
        :func:`~exobench.leaderboard.database_url`).
    sort : {"f1", "auc", "pauc", "tpr"}
        Order of the ranking tables.
    max_maps : int
        Detection maps of the ``max_maps`` best submissions per phase (>= 0).

    Returns
    -------
    pathlib.Path
    """
    output = _atomic.check_new_file(output, overwrite=overwrite)
    page = build_report(challenge, db=db, sort=sort, max_maps=max_maps)
    with _atomic.atomic_write(output, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)
    return output


def build_report(challenge, *, db=None, sort="f1", max_maps=DEFAULT_MAX_MAPS):
    """The HTML report as a string (see :func:`write_report`)."""
    if isinstance(max_maps, bool) or not isinstance(max_maps, int) or max_maps < 0:
        raise ValueError(f"max_maps: expected an integer >= 0, got {max_maps!r}")
    if sort not in SORT_KEYS:
        raise ValueError(f"sort: expected one of {', '.join(SORT_KEYS)}, got {sort!r}")
    folder = Path(challenge)
    rankings = ranking(folder, sort=sort, db=db)
    with Leaderboard(database_url(folder, db), create=False) as board:
        sections = [_phase_section(folder, board, r, max_maps) for r in rankings]
    title = _challenge_title(folder)
    nav = "".join(f"<li><a href='#phase-{r.phase}'>Phase {r.phase}{' ' + _e(r.title) if r.title else ''}</a></li>"
                  for r in rankings)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _PAGE.format(title=_e(title), when=when, version=_e(__version__), nav=nav or "<li>no phase</li>",
                        sections="\n".join(sections))


def _challenge_title(folder):
    """The challenge's name in ``challenge.yaml``, else the folder's name."""
    return read_challenge_config(ChallengeLayout(folder).challenge_file).name or folder.resolve().name


# -- a phase ------------------------------------------------------------------------------


def _phase_section(folder, board, r, max_maps):
    if r.characterisation:
        return _charac_section(board, r, max_maps)
    reference = ChallengeLayout(folder).reference(r.phase)
    counting, max_fpr = _phase_settings(reference, r, board)
    outcomes, missing = _outcomes(folder, reference, r.entries)
    truth = read_truth(reference) if reference.is_dir() else []
    heading = _heading(r)
    parts = [
        _section("ranking", "Ranking", _ranking_table(r, max_fpr)),
        _section("roc", "ROC curves", _roc_block(board, r, max_fpr)),
        _section("tpr-separation", "TPR by separation", _tpr_block(r, outcomes, truth, "separation")),
        _section("tpr-contrast", "TPR by contrast", _tpr_block(r, outcomes, truth, "contrast")),
        _section("detection-maps", "Detection maps", _maps_block(r, outcomes, max_maps)),
        _section("definitions", "Metric definitions", _definitions(counting, max_fpr)),
    ]
    note = ""
    if missing:
        note = (f"<p class='note'>No kept zip in submissions/ for {len(missing)} submission(s) "
                f"({_e(', '.join(missing))}): they have no TPR curve nor detection map.</p>")
    return (f"<section class='phase' id='phase-{r.phase}' data-phase='{r.phase}'>\n<h2>{_e(heading)}</h2>\n{note}"
            + "\n".join(parts) + "\n</section>")


def _heading(r):
    return f"Phase {r.phase}{' ' + r.title if r.title else ''}{f' ({r.suffix})' if r.suffix else ''}"


def _charac_section(board, r, max_entries):
    """A characterisation phase: the ranking, then per companion the truth and each of the ``max_entries``
    best submissions' estimates with their error bars, and their figure."""
    parts = [_section("ranking", "Ranking", _charac_ranking(r)),
             _section("companions", "Companions: truth and estimates", _companions_block(board, r, max_entries)),
             _section("definitions", "Metric definitions", _CHARAC_DEFINITIONS)]
    return (f"<section class='phase' id='phase-{r.phase}' data-phase='{r.phase}'>\n<h2>{_e(_heading(r))}</h2>\n"
            + "\n".join(parts) + "\n</section>")


def _charac_ranking(r):
    if not r.entries:
        body = "<p class='empty'>No scored submission yet.</p>"
    else:
        head = ("<tr><th>#</th><th>name</th>" + "".join(f"<th>{_e(label)}</th>" for label in CHARAC_COLUMNS.values())
                + "<th>submitted (UTC)</th><th>sha256</th></tr>")
        rows = "".join(
            f"<tr><td>{e.rank}</td><td class='name'>{_e(e.name)}</td>"
            + "".join(f"<td>{_fmt(charac_score(e, name))}</td>" for name in CHARAC_COLUMNS)
            + f"<td>{e.submitted_at.strftime('%Y-%m-%d %H:%M:%S')}</td><td><code title='{e.sha256}'>"
              f"{e.sha256[:12]}</code></td></tr>" for e in r.entries)
        body = f"<table class='ranking-table'>{head}{rows}</table>"
    body += ("<p>Sorted by the L1 astrometry (mean |dx| + |dy|), then the spectrophotometry, lowest first; "
             "undefined values (&ndash;: no uncertainties, no pixel scale) rank last.</p>")
    if r.refused:
        items = "".join(f"<li>{_e(e.name)} ({e.submitted_at:%Y-%m-%d %H:%M}): {_e(e.error or '')}</li>"
                        for e in r.refused)
        body += f"<p>Refused submissions (not ranked):</p><ul class='refused'>{items}</ul>"
    return body


def _pm(value, sigma, digits=3):
    return f"{value:.{digits}g}" + ("" if sigma is None else f" &plusmn; {sigma:.2g}")


def _companions_block(board, r, max_entries):
    chosen = [(e, (board.details(e.id) or {}).get("companions") or []) for e in r.entries[:max(max_entries, 1)]]
    chosen = [(e, companions) for e, companions in chosen if companions]
    if not chosen:
        return "<p class='empty'>No scored submission.</p>"
    head = ("<tr><th>submission</th><th>dataset</th><th>#</th><th>sep. (FWHM)</th><th>true x, y</th>"
            "<th>estimated x, y</th><th>error (px)</th><th>true flux</th><th>estimated flux</th></tr>")
    rows = []
    for e, companions in chosen:
        for c in companions:
            sigmas = c.get("sigma_flux") or [None] * len(c["flux"])
            rows.append(
                f"<tr><td class='name'>{_e(_label(e))}</td><td>{_e(c['instrument'])} {_e(c['dataset_id'])}</td>"
                f"<td>{c['index']}</td><td>{_fmt(c.get('separation_fwhm'), 2)}</td>"
                f"<td>{c['x_true']:.2f}, {c['y_true']:.2f}</td>"
                f"<td>{_pm(c['x'], c.get('sigma_x'), 5)}, {_pm(c['y'], c.get('sigma_y'), 5)}</td>"
                f"<td>{c['error_px']:.3f}</td><td>{', '.join(f'{v:.4g}' for v in c['flux_true'])}</td>"
                f"<td>{', '.join(_pm(v, s, 4) for v, s in zip(c['flux'], sigmas))}</td></tr>")
    uri = figures.characterisation_figure([(_label(e), companions) for e, companions in chosen])
    return (_img(uri, f"characterisation of phase {r.phase}")
            + "<p>Left: estimated minus true position of every companion; right: estimated against true flux "
              "(every channel; the dashed line is equality); bars: the submitted 1-sigma uncertainties.</p>"
            + f"<table class='companions'>{head}{''.join(rows)}</table>")


_CHARAC_DEFINITIONS = """<dl>
<dt>Astrometry</dt><dd>Mean over the phase's companions of the Euclidean distance between the estimated and the
true (x, y), in pixels (and milliarcseconds with the pixel scale); L1: the mean of |dx| + |dy|, the EIDC 2022
astrometry.</dd>
<dt>Photometry</dt><dd>Fluxes in units of the public PSF file (the companion is flux &times; PSF). Relative error:
mean of |f &minus; f<sub>true</sub>| / f<sub>true</sub> over companions and channels; in magnitudes: mean of
|2.5 log<sub>10</sub>(f / f<sub>true</sub>)| over positive estimates; spectrophotometry: mean over companions of the
sum over channels of |f &minus; f<sub>true</sub>|, the EIDC 2022 number.</dd>
<dt>Coverage</dt><dd>Per coordinate (x, y and each channel's flux): the fraction whose truth lies within 1 (2)
submitted sigma of the estimate; 0.683 (0.954) for calibrated Gaussian uncertainties.</dd>
<dt>NLL</dt><dd>Mean Gaussian negative log-likelihood of the truth per coordinate (a proper scoring rule; lower
is better).</dd>
</dl>"""


def _section(cls, title, body):
    return f"<section class='{cls}'>\n<h3>{_e(title)}</h3>\n{body}\n</section>"


def _phase_settings(reference, r, board):
    for entry in r.entries:
        details = board.details(entry.id) or {}
        if details.get("counting"):
            return details["counting"], entry.max_fpr or 0.01
    counting, max_fpr = dict(DEFAULTS), 0.01
    if reference.is_dir():
        try:
            from ..scoring.reference import read_reference

            ref = read_reference(reference)
            counting.update(ref.counting)
            max_fpr = ref.max_fpr
        except (OSError, ValueError):
            pass
    return counting, max_fpr


def _outcomes(folder, reference, entries):
    """``{entry id: [DatasetOutcome]}`` for the entries whose zip is kept; the names of the others."""
    cache, out, missing = {}, {}, []
    for entry in entries:
        path = stored_submission(folder, entry.sha256)
        if not path.is_file() or not reference.is_dir():
            missing.append(entry.name)
            continue
        if entry.sha256 not in cache:
            cache[entry.sha256] = injection_outcomes(path, reference, compat=entry.compat)
        out[entry.id] = cache[entry.sha256]
    return out, missing


def _label(entry):
    return f"{entry.rank}. {entry.name}"


# -- blocks -------------------------------------------------------------------------------


def _fmt(value, digits=4):
    return "&ndash;" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _ranking_table(r, max_fpr):
    if not r.entries:
        body = "<p class='empty'>No scored submission yet.</p>"
    else:
        level = f"{INTERVAL_LEVEL:.0%}"
        head = (f"<tr><th>#</th><th>name</th><th>F1</th><th>F1 {level} interval</th><th>precision</th><th>recall</th>"
                f"<th>FP</th><th>AUC</th><th>AUC {level} interval</th><th>partial AUC (FPR &le; {max_fpr:g})</th>"
                f"<th>TPR at FPR &le; {max_fpr:g}</th><th>threshold</th>"
                "<th>submitted (UTC)</th><th>sha256</th></tr>")
        rows = "".join(
            f"<tr><td>{e.rank}</td><td class='name'>{_e(e.name)}</td><td>{_fmt(e.f1)}</td>"
            f"<td class='interval'>{_interval(e, 'f1')}</td><td>{_fmt(e.precision)}</td>"
            f"<td>{_fmt(e.recall)}</td><td>{_fmt(e.false_positives, 0)}</td><td>{_fmt(e.auc)}</td>"
            f"<td class='interval'>{_interval(e, 'auc')}</td>"
            f"<td>{_fmt(e.partial_auc)}</td><td>{_fmt(e.tpr_at_max_fpr)}</td>"
            f"<td>{'&ndash;' if e.threshold is None else f'{e.threshold:g}'}</td>"
            f"<td>{e.submitted_at.strftime('%Y-%m-%d %H:%M:%S')}</td><td><code title='{e.sha256}'>"
            f"{e.sha256[:12]}</code></td></tr>" for e in r.entries)
        body = f"<table class='ranking-table'>{head}{rows}</table>"
    sort = {"f1": "F1", "auc": "AUC", "pauc": "partial AUC", "tpr": "TPR at the fixed FPR"}[r.sort]
    body += (f"<p>Sorted by {sort}; undefined values (&ndash;) rank last. Intervals: {INTERVAL_LEVEL:.0%} "
             f"percentile bootstrap over the phase's datasets ({INTERVAL_RESAMPLES} resamples, seed {INTERVAL_SEED}; "
             "F1's from the stored per-dataset counts, AUC's as the scorer computed it; &ndash; where not "
             "available).</p>")
    if r.refused:
        items = "".join(f"<li>{_e(e.name)} ({e.submitted_at:%Y-%m-%d %H:%M}): {_e(e.error or '')}</li>"
                        for e in r.refused)
        body += f"<p>Refused submissions (not ranked):</p><ul class='refused'>{items}</ul>"
    return body


def _interval(entry, name):
    """An entry's interval of score ``name`` as ``[low, high]`` (4 decimals), or a dash where it has none."""
    interval = getattr(entry.intervals, name, None)
    return "&ndash;" if interval is None else format_interval(interval, 4)


def _img(uri, alt):
    return f"<img src='{uri}' alt='{_e(alt)}'>"


def _roc_block(board, r, max_fpr):
    if not r.entries:
        return "<p class='empty'>No curve: no scored submission.</p>"
    curves = []
    for e in r.entries:
        roc = board.roc(e.id)
        curves.append({"label": _label(e), "fpr": roc["fpr"], "tpr": roc["tpr"], "point": (e.fpr, e.tpr)})
    uri = figures.roc_figure(curves, max_fpr=max_fpr)
    return (_img(uri, f"ROC curves of phase {r.phase}")
            + "<p>Upper envelope of each ROC curve (the curve whose area is the AUC); dots: the submitted "
              "thresholds; dashed line: the partial-AUC bound.</p>")


def _injection_table(r, outcomes, truth):
    """Per entry: arrays (separation_fwhm, contrast, detected) over the phase's injections."""
    table = {}
    for e in r.entries:
        if e.id not in outcomes:
            continue
        sep, con, hit = [], [], []
        for o in outcomes[e.id]:
            rows = match_truth(o, truth)
            ny, nx = o.detmap.shape
            for (x, y), found, row in zip(o.positions, o.detected, rows):
                fallback = math.hypot(x - nx // 2, y - ny // 2) / o.fwhm
                sep.append(row["separation_fwhm"] if row and math.isfinite(row["separation_fwhm"]) else fallback)
                con.append(row["contrast"] if row else math.nan)
                hit.append(bool(found))
        table[e.id] = (np.array(sep, dtype=float), np.array(con, dtype=float), np.array(hit, dtype=bool))
    return table


def _edges(values, log):
    values = values[np.isfinite(values) & ((values > 0) if log else True)]
    if not values.size:
        return None
    n_bins = int(np.clip(round(math.sqrt(values.size)), 1, 6))
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, n_bins + 1)
    edges[-1] += 1e-9 * max(1.0, abs(hi))
    return 10.0 ** edges if log else edges


def _tpr_block(r, outcomes, truth, kind):
    table = _injection_table(r, outcomes, truth)
    if not table:
        return "<p class='empty'>No kept submission to count.</p>"
    column = 0 if kind == "separation" else 1
    log = kind == "contrast"
    values = next(iter(table.values()))[column]
    edges = _edges(values, log)
    if edges is None:
        why = "no injection in this phase" if not values.size else "truth.csv gives no contrast"
        return f"<p class='empty'>No plot: {why}.</p>"
    counts = np.histogram(values[np.isfinite(values)], bins=edges)[0]
    series = []
    for e in r.entries:
        if e.id not in table:
            continue
        v, hit = table[e.id][column], table[e.id][2]
        ok = np.isfinite(v)
        found = np.histogram(v[ok & hit], bins=edges)[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            series.append((_label(e), np.where(counts > 0, found / np.maximum(counts, 1), np.nan)))
    xlabel = "separation (FWHM)" if kind == "separation" else "contrast (companion / star flux)"
    uri = figures.tpr_figure(series, edges, xlabel=xlabel, log=log, counts=counts)
    source = "truth.csv" if truth else "the reference positions (no truth.csv)"
    return (_img(uri, f"TPR by {kind} in phase {r.phase}")
            + f"<p>Fraction of the injections detected at each submission's own threshold, per bin of {kind} "
              f"({int(counts.sum())} injection(s), from {_e(source)}).</p>")


def _maps_block(r, outcomes, max_maps):
    chosen = [e for e in r.entries if e.id in outcomes][:max_maps]
    if not chosen:
        return "<p class='empty'>No detection map: no kept submission (or max_maps = 0).</p>"
    first = outcomes[chosen[0].id]
    blocks = []
    for i, o in enumerate(first):
        panels = [(_label(e), outcomes[e.id][i]) for e in chosen]
        n_inj = len(o.positions)
        title = f"{o.instrument} #{o.dataset_id}: {n_inj} injection(s), FWHM {o.fwhm:.2f} px"
        uri = figures.detection_maps_figure(panels, title=title)
        blocks.append(f"<figure class='dataset' data-dataset='{_e(o.instrument)}_{_e(o.dataset_id)}'>"
                      f"{_img(uri, title)}<figcaption>{_e(title)}</figcaption></figure>")
    return (f"<p>The {len(chosen)} best submission(s). Green circles (1 FWHM): injections found (TP); red dashed: "
            "missed (FN); orange crosses: false positives at their blob's centroid (squares: huge blobs, counted "
            "as area / element); white contour: the submitted threshold.</p>" + "".join(blocks))


def _definitions(counting, max_fpr):
    options = ", ".join(f"{_e(str(k))} = {_e(str(v))}" for k, v in counting.items())
    return f"""<dl>
<dt>Counting</dt><dd>Pixels strictly above the submitted threshold form 4-connected blobs; blobs under
<code>npix</code> pixels are dropped; a blob larger than <code>max_blob_fact</code> resolution elements (disks of
radius 1 FWHM) counts as area / element false positives; the others are matched one-to-one with the injections
whose 1-FWHM disk they overlap by more than <code>overlap_threshold</code>. Options of this phase: {options}.</dd>
<dt>TP, FP, FN, TN</dt><dd>Matched injections; unmatched blobs (plus huge blobs' shares); missed injections;
resolution elements of the evaluation annulus left over (elements &minus; injections &minus; FP).</dd>
<dt>Precision, recall (TPR)</dt><dd>TP / (TP + FP) and TP / N (N injections), summed over the phase's datasets
(micro-average).</dd>
<dt>F1</dt><dd>2 TP / (TP + FP + N), at the submitted threshold.</dd>
<dt>FPR</dt><dd>FP / (FP + TN).</dd>
<dt>FP</dt><dd>The EIDC's false-positive score of the phase.</dd>
<dt>AUC</dt><dd>Area under the upper envelope of the ROC curve (TPR against FPR over every threshold, with (0, 0)
and (1, 1)), never below the chance diagonal; a detector that finds every companion without false positive at some
threshold has AUC 1, a map without information (constant, pure noise) 0.5.</dd>
<dt>Partial AUC</dt><dd>The area of that envelope over FPR &le; {max_fpr:g}, divided by {max_fpr:g}: 1 for a
perfect detector, {max_fpr / 2:g} for chance.</dd>
<dt>TPR at FPR &le; {max_fpr:g}</dt><dd>The best TPR that some threshold reaches with FPR &le; {max_fpr:g}.</dd>
<dt>Undefined</dt><dd>A metric with a denominator of 0 is undefined (&ndash;) and ranks last.</dd>
</dl>"""


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: leaderboard report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; padding: 0 1em; }}
h2 {{ border-bottom: 2px solid #1f5fa8; padding-bottom: 0.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }}
td.name, th:nth-child(2) {{ text-align: left; }}
tr:nth-child(even) td {{ background: #f5f7fa; }}
img {{ max-width: 100%; height: auto; }}
figure {{ margin: 1em 0; }}
figcaption, .note, .empty {{ color: #555; font-size: 0.9em; }}
dt {{ font-weight: bold; margin-top: 0.5em; }}
</style></head><body>
<h1>{title}: leaderboard report</h1>
<p>Written {when} by exobench {version}. Phases:</p>
<ul class="toc">{nav}</ul>
{sections}
</body></html>
"""
