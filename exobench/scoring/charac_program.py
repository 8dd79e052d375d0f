"""Scoring a characterisation phase: the submission's positions and fluxes against the truth.

Called by the scoring program (:func:`exobench.scoring.program.score_folder`) when the
reference's suffix is that of a characterisation kind (``charac3d``, ``charac4d``). The
leaderboard keys (``{name}_{suffix}``, in this order, :data:`CHARAC_SCORE_NAMES`):

``astrometry_px``       mean Euclidean position error over the phase's companions (px)
``astrometry_l1_px``    mean ``|dx| + |dy|`` (px): the EIDC 2022 phase 2 astrometry
``astrometry_mas``      mean Euclidean error in milliarcseconds (undefined unless every dataset has a pixel scale)
``photometry_rel``      mean ``|f_e - f_t| / f_t`` over companions and channels
``photometry_mag``      mean ``|-2.5 log10(f_e / f_t)|`` over companions and channels with ``f_e > 0``
``spectrophotometry``   mean over companions of ``sum over channels |f_e - f_t|``: the EIDC 2022 number
``coverage_1sigma``     with uncertainties: fraction of coordinates (x, y, each flux) within 1 sigma
``coverage_2sigma``     ... within 2 sigma
``nll``                 with uncertainties: mean Gaussian negative log-likelihood per coordinate

An undefined score (no uncertainties, no pixel scale) is written as 0 and listed under
``undefined``, as for detection. ``astrometry_l1_px`` and ``spectrophotometry`` are the
challenge-compatible pair, the two numbers of the 2022 EIDC phase 2 leaderboard (also under
``eidc2022`` in the details); they are always computed, so no separate scoring mode is needed.
Definitions: :mod:`exobench.scoring.characterisation`.
"""

import dataclasses
import html
import time

import numpy as np

from ..submission import CharacDataset, read_characterisation
from ..submission.limits import DEFAULT_LIMITS
from .characterisation import (coverage, eidc2022_scores, flux_errors, gaussian_crps, gaussian_nll,
                               position_errors, separation_band)
from .program_output import PAGE_HEAD, finite_or_none

__all__ = ["CHARAC_SCORE_NAMES", "CharacReport", "score_characterisation", "charac_datasets", "render_charac_html"]

CHARAC_SCORE_NAMES = ("astrometry_px", "astrometry_l1_px", "astrometry_mas", "photometry_rel", "photometry_mag",
                      "spectrophotometry", "coverage_1sigma", "coverage_2sigma", "nll")


def charac_datasets(reference):
    """The :class:`~exobench.submission.CharacDataset` of each dataset of a characterisation reference."""
    return [CharacDataset(d.instrument, d.dataset_id, d.n_injections, d.fluxes.shape[1]) for d in reference.datasets]


@dataclasses.dataclass(frozen=True, eq=False)
class CharacReport:
    """The result of scoring a characterisation submission on one phase.

    Attributes
    ----------
    scores : dict
        Leaderboard key -> finite float (undefined as 0), in :data:`CHARAC_SCORE_NAMES` order.
    undefined : tuple of str
    metrics : dict
        The summary with None where undefined, the by-separation summary and ``crps``.
    companions : tuple of dict
        One per companion: dataset, truth, estimate, errors and uncertainties.
    suffix : str
    warnings : tuple of str
    elapsed_s : float
    """

    scores: dict
    undefined: tuple
    metrics: dict
    companions: tuple
    suffix: str
    warnings: tuple = ()
    elapsed_s: float = 0.0
    compat: str = None
    task = "characterisation"

    def details(self):
        """Everything as JSON-serialisable data (``detailed_results.json``)."""
        return {"task": self.task, "scores": self.scores, "undefined": list(self.undefined), "metrics": self.metrics,
                "suffix": self.suffix, "companions": list(self.companions), "warnings": list(self.warnings),
                "elapsed_s": round(self.elapsed_s, 3)}


def score_characterisation(folder, reference, *, limits=DEFAULT_LIMITS):
    """Score a characterisation submission folder on a characterisation
    :class:`~exobench.scoring.reference.Reference`.

    Returns
    -------
    CharacReport

    Raises
    ------
    SubmissionError
        The submission is refused (missing or extra files, wrong shapes, non-finite values...).
    """
    start = time.perf_counter()
    submission = read_characterisation(folder, charac_datasets(reference), limits=limits)
    rows = []
    for dataset in reference.datasets:
        rows += _companion_rows(dataset, submission.estimates[dataset.key],
                                None if submission.sigmas is None else submission.sigmas[dataset.key])
    scores, undefined, metrics = _phase_scores(rows, reference, submission.sigmas is not None)
    return CharacReport(scores=scores, undefined=tuple(undefined), metrics=metrics, companions=tuple(rows),
                        suffix=reference.suffix, warnings=tuple(submission.warnings),
                        elapsed_s=time.perf_counter() - start)


def _companion_rows(dataset, estimates, sigmas):
    positions = position_errors(estimates[:, :2], dataset.positions)
    fluxes = flux_errors(estimates[:, 2:], dataset.fluxes)
    ny, nx = dataset.map_shape if dataset.map_shape else (None, None)
    rows = []
    for i, (x, y) in enumerate(dataset.positions):
        # the frame centre convention (docs/conventions.md): (nx // 2, ny // 2)
        separation = float(np.hypot(x - nx // 2, y - ny // 2)) if nx else None
        row = {"instrument": dataset.instrument, "dataset_id": dataset.dataset_id, "index": i,
               "x_true": float(x), "y_true": float(y), "x": float(estimates[i, 0]), "y": float(estimates[i, 1]),
               "flux_true": dataset.fluxes[i].tolist(), "flux": estimates[i, 2:].tolist(),
               "separation_px": separation,
               "separation_fwhm": None if separation is None else separation / dataset.fwhm,
               "error_px": float(positions["euclidean"][i]), "error_l1_px": float(positions["l1"][i]),
               "error_mas": (float(positions["euclidean"][i] * dataset.pxscale * 1e3)
                             if dataset.pxscale else None),
               "flux_rel": fluxes["relative"][i].tolist(),
               "flux_mag": [finite_or_none(v) for v in fluxes["magnitude"][i]],
               "spectrophotometry": float(fluxes["spectrophotometry"][i])}
        if sigmas is not None:
            row.update(sigma_x=float(sigmas[i, 0]), sigma_y=float(sigmas[i, 1]), sigma_flux=sigmas[i, 2:].tolist())
        rows.append(row)
    return rows


def _arrays(rows):
    est = np.array([[r["x"], r["y"], *r["flux"]] for r in rows])
    true = np.array([[r["x_true"], r["y_true"], *r["flux_true"]] for r in rows])
    return est, true


def _summary(rows):
    """The mean errors of a set of companions (None where undefined)."""
    rel = np.abs(np.concatenate([r["flux_rel"] for r in rows]))
    mags = np.array([abs(v) for r in rows for v in r["flux_mag"] if v is not None])
    mas = [r["error_mas"] for r in rows]
    return {"companions": len(rows),
            "astrometry_px": float(np.mean([r["error_px"] for r in rows])),
            "astrometry_l1_px": float(np.mean([r["error_l1_px"] for r in rows])),
            "astrometry_mas": float(np.mean(mas)) if all(m is not None for m in mas) else None,
            "photometry_rel": float(np.mean(rel)),
            "photometry_mag": float(np.mean(mags)) if mags.size else None,
            "spectrophotometry": float(np.mean([r["spectrophotometry"] for r in rows]))}


def _phase_scores(rows, reference, with_sigmas):
    metrics = _summary(rows)
    est, true = _arrays(rows)
    metrics["eidc2022"] = dict(zip(("astrometry", "spectrophotometry"),
                                   eidc2022_scores(est[:, :2], true[:, :2], est[:, 2:], true[:, 2:])))
    metrics["magnitude_undefined"] = sum(v is None for r in rows for v in r["flux_mag"])
    if with_sigmas:
        sigma = np.array([[r["sigma_x"], r["sigma_y"], *r["sigma_flux"]] for r in rows])
        metrics.update(coverage_1sigma=coverage(est, true, sigma, 1.0), coverage_2sigma=coverage(est, true, sigma, 2.0),
                       coverage_position_1sigma=coverage(est[:, :2], true[:, :2], sigma[:, :2], 1.0),
                       coverage_flux_1sigma=coverage(est[:, 2:], true[:, 2:], sigma[:, 2:], 1.0),
                       nll=gaussian_nll(est, true, sigma), crps=gaussian_crps(est, true, sigma))
    else:
        metrics.update(coverage_1sigma=None, coverage_2sigma=None, nll=None, crps=None)
    bands = {}
    for row in rows:
        if row["separation_fwhm"] is not None:
            bands.setdefault(separation_band(row["separation_fwhm"]), []).append(row)
    metrics["by_separation"] = {band: _summary(members) for band, members in bands.items()}
    end = f"_{reference.suffix}" if reference.suffix else ""
    scores, undefined = {}, []
    for name in CHARAC_SCORE_NAMES:
        value = finite_or_none(metrics.get(name))
        if value is None:
            undefined.append(f"{name}{end}")
        scores[f"{name}{end}"] = 0.0 if value is None else value
    return scores, undefined, metrics


# -- the report page ---------------------------------------------------------------------------


def render_charac_html(report):
    """``detailed_results.html`` of a characterisation phase: the scores, one row per companion (truth,
    estimate with its error bars, errors) and an inline SVG of the position errors."""
    e = html.escape
    score_rows = "".join(f"<tr><td>{e(k)}</td><td>{v:.6g}{' (undefined)' if k in report.undefined else ''}</td></tr>"
                         for k, v in report.scores.items())
    head = ("<tr><th>dataset</th><th>#</th><th>sep. (FWHM)</th><th>true (x, y)</th><th>estimate (x, y)</th>"
            "<th>error (px)</th><th>true flux</th><th>estimated flux</th><th>rel. error</th></tr>")
    body = "".join(
        f"<tr><td>{e(r['instrument'])} {e(r['dataset_id'])}</td><td>{r['index']}</td>"
        f"<td>{_fmt(r['separation_fwhm'])}</td><td>({r['x_true']:.2f}, {r['y_true']:.2f})</td>"
        f"<td>({_pm(r['x'], r.get('sigma_x'))}, {_pm(r['y'], r.get('sigma_y'))})</td><td>{r['error_px']:.3f}</td>"
        f"<td>{_list(r['flux_true'])}</td><td>{_list(r['flux'], r.get('sigma_flux'))}</td>"
        f"<td>{_list(r['flux_rel'])}</td></tr>" for r in report.companions)
    notes = "".join(f"<li>{e(w)}</li>" for w in report.warnings) or "<li>none</li>"
    return f"""{PAGE_HEAD}
<h1>Detailed results (characterisation, phase {e(report.suffix)})</h1>
<h2>Scores</h2>
<table>{score_rows}</table>
<p>Undefined scores (no uncertainties given, no pixel scale) are reported as 0. Coverage counts each
coordinate (x, y, every channel's flux) within k sigma of its estimate.</p>
<h2>Companions</h2>
<table>{head}{body}</table>
<h2>Position errors</h2>
{position_svg(report.companions)}
<h2>Warnings</h2>
<ul>{notes}</ul>
</body></html>
"""


def _fmt(value, digits=3):
    return "" if value is None else f"{value:.{digits}g}"


def _pm(value, sigma):
    return f"{value:.2f}" + ("" if sigma is None else f" &plusmn; {sigma:.2g}")


def _list(values, sigmas=None):
    sigmas = sigmas or [None] * len(values)
    return ", ".join(f"{v:.4g}" + ("" if s is None else f" &plusmn; {s:.2g}") for v, s in zip(values, sigmas))


def position_svg(companions, *, size=320):
    """The estimated minus true positions (dx, dy) of every companion as inline SVG, with 1-sigma error
    bars when given; the circle has the radius of the mean error."""
    if not companions:
        return "<p>No companion.</p>"
    dx = np.array([r["x"] - r["x_true"] for r in companions])
    dy = np.array([r["y"] - r["y_true"] for r in companions])
    sx = np.array([r.get("sigma_x") or 0.0 for r in companions])
    sy = np.array([r.get("sigma_y") or 0.0 for r in companions])
    extent = max(float(np.max(np.abs(np.concatenate([dx + sx, dx - sx, dy + sy, dy - sy])))), 0.5) * 1.15
    half = size / 2

    def px(value):
        return half + half * value / extent

    marks = []
    for x, y, ex, ey in zip(dx, dy, sx, sy):
        cx, cy = px(x), size - px(y)  # y up
        if ex or ey:
            marks.append(f"<line x1='{px(x - ex):.1f}' y1='{cy:.1f}' x2='{px(x + ex):.1f}' y2='{cy:.1f}' "
                         f"stroke='#888'/><line x1='{cx:.1f}' y1='{size - px(y - ey):.1f}' x2='{cx:.1f}' "
                         f"y2='{size - px(y + ey):.1f}' stroke='#888'/>")
        marks.append(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='3.5' fill='#1f5fa8'/>")
    mean = float(np.mean(np.hypot(dx, dy)))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' font-size='11' role='img'>"
            f"<title>position errors (dx, dy) in pixels</title>"
            f"<rect x='0' y='0' width='{size}' height='{size}' fill='none' stroke='#888'/>"
            f"<line x1='{half}' y1='0' x2='{half}' y2='{size}' stroke='#ccc'/>"
            f"<line x1='0' y1='{half}' x2='{size}' y2='{half}' stroke='#ccc'/>"
            f"<circle cx='{half}' cy='{half}' r='{half * mean / extent:.1f}' fill='none' stroke='#c0392b' "
            f"stroke-dasharray='4 3'/>{''.join(marks)}"
            f"<text x='4' y='14'>&#177;{extent:.2g} px</text></svg>"
            f"<p>Estimated minus true position of each companion (x right, y up), 1-sigma bars where given; the "
            f"dashed circle has the mean error ({mean:.3g} px) as radius.</p>")
