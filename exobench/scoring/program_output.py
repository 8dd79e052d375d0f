"""The scoring program's outputs: ``scores.txt``, ``scores.json``, ``detailed_results.json`` and
``detailed_results.html`` (the scores, a per-dataset table, the warnings and the ROC
curve as inline SVG, so that no plotting library is needed on the platform).

What each file holds is described in :mod:`exobench.scoring.program`.
"""

import html
import json
import math
from pathlib import Path

import numpy as np

from .. import _atomic

__all__ = [
    "MAX_ROC_POINTS",
    "finite_or_none",
    "thinned_roc",
    "format_score",
    "scores_text",
    "scores_json",
    "write_outputs",
    "render_html",
    "PAGE_HEAD",
    "roc_svg",
]


def finite_or_none(value):
    """A finite float, or None (an undefined or non-finite value)."""
    return float(value) if value is not None and math.isfinite(value) else None


#: Most points of the ROC curve kept in the detailed results (the sweep has one per distinct map value).
MAX_ROC_POINTS = 500


def thinned_roc(roc, max_points=MAX_ROC_POINTS, *, fpr_max=None):
    """``{"thresholds": [...], "fpr": [...], "tpr": [...]}`` of a ROC curve, thinned for the reports.

    Consecutive thresholds giving the same (FPR, TPR) are merged (the highest
    kept), then at most ``max_points`` points are kept, evenly along the curve, the
    first and last included. With ``fpr_max``, only the points with FPR <= fpr_max
    and their neighbours along the curve. Non-finite values are None.
    """
    if roc is None:
        return None
    thresholds = np.asarray(roc.thresholds, dtype=float)
    fpr, tpr = np.asarray(roc.fpr, dtype=float), np.asarray(roc.tpr, dtype=float)
    if thresholds.size == 0:
        return {"thresholds": [], "fpr": [], "tpr": []}
    same = (fpr[1:] == fpr[:-1]) | (np.isnan(fpr[1:]) & np.isnan(fpr[:-1]))
    same &= (tpr[1:] == tpr[:-1]) | (np.isnan(tpr[1:]) & np.isnan(tpr[:-1]))
    keep = np.flatnonzero(np.concatenate([[True], ~same]))
    if keep[-1] != thresholds.size - 1:
        keep = np.append(keep, thresholds.size - 1)
    if fpr_max is not None:
        inside = fpr[keep] <= fpr_max
        near = inside | np.concatenate([[False], inside[:-1]]) | np.concatenate([inside[1:], [False]])
        keep = keep[near]
    if keep.size > max_points:
        keep = keep[np.unique(np.linspace(0, keep.size - 1, max_points).round().astype(int))]
    return {name: [finite_or_none(float(v)) for v in values[keep]]
            for name, values in (("thresholds", thresholds), ("fpr", fpr), ("tpr", tpr))}


def format_score(value):
    """A score as a decimal with a point and up to 8 decimals: parsable by ``float()`` and as a YAML float.

    >>> format_score(29), format_score(0.157894736), format_score(1e-5), format_score(-0.0)
    ('29.0', '0.15789474', '0.00001', '0.0')
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value: expected a finite number, got {value!r}")
    text = f"{value:.8f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if float(text) == 0 else text


def scores_text(report):
    """The content of ``scores.txt``."""
    return "".join(f"{key}: {format_score(value)}\n" for key, value in report.scores.items())


def scores_json(report):
    """The content of ``scores.json``: the values of ``scores.txt`` as a flat JSON object."""
    scores = {key: float(format_score(value)) for key, value in report.scores.items()}
    return json.dumps(scores, indent=2) + "\n"


def write_outputs(report, output_dir):
    """Write ``scores.txt``, ``scores.json``, ``detailed_results.json`` and ``detailed_results.html``.

    Returns
    -------
    list of pathlib.Path
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    contents = {
        "scores.txt": scores_text(report),
        "scores.json": scores_json(report),
        "detailed_results.json": json.dumps(report.details(), indent=2, allow_nan=False) + "\n",
        "detailed_results.html": render_html(report),
    }
    paths = []
    for name, text in contents.items():
        path = output_dir / name
        with _atomic.atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        paths.append(path)
    return paths


#: The start of every ``detailed_results.html``, up to ``<body>``.
PAGE_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>exobench: detailed results</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
tr.total td { font-weight: bold; }
</style></head><body>"""


def render_html(report):
    """``detailed_results.html``: self-contained (inline CSS and SVG, no script)."""
    if getattr(report, "task", None) == "characterisation":
        from .charac_program import render_charac_html

        return render_charac_html(report)
    e = html.escape
    score_rows = "".join(
        f"<tr><td>{e(k)}</td><td>{e(format_score(v))}{' (undefined)' if k in report.undefined else ''}</td></tr>"
        for k, v in report.scores.items())
    head = ("<tr><th>dataset</th><th>map</th><th>shape</th><th>FWHM</th><th>injections</th><th>TP</th>"
            "<th>FP</th><th>FN</th><th>TN</th><th>huge blobs</th></tr>")
    rows = "".join(
        f"<tr><td>{e(d.instrument)} {e(d.dataset_id)}</td><td>{'given' if d.map_given else 'missing'}</td>"
        f"<td>{d.shape[0]}&times;{d.shape[1]}</td><td>{d.fwhm:.3g}</td><td>{d.n_injections}</td><td>{d.tp}</td>"
        f"<td>{d.fp}</td><td>{d.fn}</td><td>{d.tn}</td><td>{d.huge_blobs}</td></tr>" for d in report.datasets)
    total = report.metrics
    rows += (f"<tr class='total'><td>phase</td><td></td><td></td><td></td><td>{total['n_injections']}</td>"
             f"<td>{total['tp']}</td><td>{total['fp']}</td><td>{total['fn']}</td><td>{total['tn']}</td><td></td></tr>")
    notes = "".join(f"<li>{e(w)}</li>" for w in report.warnings) or "<li>none</li>"
    options = ", ".join(f"{e(str(k))} = {e(str(v))}" for k, v in report.counting.items())
    mode = "EIDC 2019 compatibility" if report.compat else "corrected counting (default)"
    return f"""{PAGE_HEAD}
<h1>Detailed results (phase {e(report.suffix)})</h1>
<p>Detection threshold {e(repr(report.threshold))}; {e(mode)}; counting options: {options}.</p>
<h2>Scores</h2>
<table>{score_rows}</table>
<p>Undefined metrics (a denominator of 0) are reported as 0. {_intervals_text(report)}</p>
<h2>Datasets</h2>
<table>{head}{rows}</table>
<h2>ROC curve</h2>
{roc_svg(report)}
<h2>Warnings</h2>
<ul>{notes}</ul>
</body></html>
"""


def _intervals_text(report):
    ci = report.metrics.get("confidence_intervals") or {}

    def span(name):
        low, high = ci.get(name) or (None, None)
        return "undefined" if low is None else f"[{low:.3f}, {high:.3f}]"

    if not ci:
        return ""
    return html.escape(f"{ci['level']:.0%} bootstrap intervals over the datasets: F1 {span('f1')}, "
                       f"AUC {span('auc')}.")


def roc_svg(report, *, width=420, height=340):
    """The ROC curve (TPR against FPR) as inline SVG: the whole curve, and its part below the partial-AUC bound.

    The polylines follow the curve in the order of decreasing threshold; the red
    dot is the participant's threshold.
    """
    if report.roc is None:
        return "<p>No ROC curve.</p>"
    max_fpr = report.metrics.get("max_fpr") or 0.01
    op = (report.metrics.get("fpr"), report.metrics.get("tpr"))
    panels = []
    for title, fpr_max in (("whole curve", None), (f"FPR &le; {max_fpr:g} (partial AUC)", max_fpr)):
        points = thinned_roc(report.roc, fpr_max=fpr_max)
        pairs = [(f, t) for f, t in zip(points["fpr"], points["tpr"]) if f is not None and t is not None]
        if pairs:
            x_max = fpr_max or max([f for f, _ in pairs] + [max_fpr])
            panels.append(_roc_panel(pairs, x_max if x_max > 0 else 1.0, op, max_fpr, title, width, height))
    if not panels:
        return "<p>The ROC curve is undefined (no injection in the phase, or no resolution element).</p>"
    auc, pauc = report.metrics.get("auc"), report.metrics.get("partial_auc")
    caption = (f"AUC {auc:.4f}" if auc is not None else "AUC undefined") + (
        f"; partial AUC (FPR &le; {max_fpr:g}, divided by {max_fpr:g}) {pauc:.4f}" if pauc is not None else "")
    return "\n".join(panels) + f"\n<p>{caption}. The red dot is the submitted threshold; the dashed line the " \
                               f"partial-AUC bound.</p>"


def _roc_panel(pairs, x_max, op, max_fpr, title, width, height):
    left, right, top, bottom = 56, 16, 24, 44
    pw, ph = width - left - right, height - top - bottom

    def sx(f):
        return left + pw * f / x_max

    def sy(t):
        return top + ph * (1 - t)

    clip = f"roc-clip-{'whole' if max_fpr < x_max else 'partial'}"
    line = " ".join(f"{sx(f):.1f},{sy(t):.1f}" for f, t in pairs)
    ticks = []
    for i in range(5):
        f, t = x_max * i / 4, i / 4
        ticks.append(f"<text x='{sx(f):.1f}' y='{top + ph + 16}' text-anchor='middle'>{f:.3g}</text>")
        ticks.append(f"<text x='{left - 6}' y='{sy(t) + 4:.1f}' text-anchor='end'>{t:.2g}</text>")
    extras = []
    if max_fpr < x_max:
        extras.append(f"<line x1='{sx(max_fpr):.1f}' y1='{top}' x2='{sx(max_fpr):.1f}' y2='{top + ph}' "
                      f"stroke='#999' stroke-dasharray='4 3'/>")
    if op[0] is not None and op[1] is not None and op[0] <= x_max:
        extras.append(f"<circle cx='{sx(op[0]):.1f}' cy='{sy(op[1]):.1f}' r='4' fill='#c0392b'>"
                      f"<title>submitted threshold: FPR {op[0]:.4g}, TPR {op[1]:.4g}</title></circle>")
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11" role="img">
<title>ROC curve, {title}</title>
<defs><clipPath id="{clip}"><rect x="{left}" y="{top - 2}" width="{pw}" height="{ph + 4}"/></clipPath></defs>
<text x="{left + pw / 2:.1f}" y="{top - 8}" text-anchor="middle">{title}</text>
<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>
<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="2" clip-path="url(#{clip})"/>
{"".join(extras)}
{"".join(ticks)}
<text x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle">false positive rate</text>
<text x="14" y="{top + ph / 2:.1f}" text-anchor="middle"
 transform="rotate(-90 14 {top + ph / 2:.1f})">true positive rate</text>
</svg>"""
