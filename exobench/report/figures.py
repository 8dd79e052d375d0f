"""The report's pictures (matplotlib, Agg), as ``data:image/png;base64`` URIs."""

import base64
import io
import math

import numpy as np

from ..scoring.curves import envelope_points

__all__ = ["png_data_uri", "roc_figure", "tpr_figure", "detection_maps_figure", "roc_envelope",
           "characterisation_figure"]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
            "#7f7f7f"]
_STYLES = ["-", "--", "-.", ":"]


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_data_uri(fig, *, dpi=90):
    """Render a figure to PNG and return it as a ``data:`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(i):
    return {"color": _COLORS[i % len(_COLORS)], "linestyle": _STYLES[(i // len(_COLORS)) % len(_STYLES)]}


def roc_envelope(fpr, tpr):
    """The curve whose area is the AUC (:func:`exobench.scoring.curves.envelope_points`) of stored ROC
    points, which hold None where a rate is undefined (those points are left out)."""
    pairs = [(f, t) for f, t in zip(fpr, tpr) if f is not None and t is not None]
    if not pairs:
        return np.array([]), np.array([])
    return envelope_points([f for f, _ in pairs], [t for _, t in pairs])


def roc_figure(curves, *, max_fpr):
    """ROC curves of several submissions overlaid: the whole curve and the part FPR <= max_fpr.

    Parameters
    ----------
    curves : list of dict
        ``label``, ``fpr``, ``tpr`` (lists, None where undefined) and ``point``
        ((fpr, tpr) at the submitted threshold, or None).
    max_fpr : float

    Returns
    -------
    str
        A ``data:`` URI.
    """
    fig = _figure(10, 4.2)
    whole, zoom = fig.subplots(1, 2)
    for i, curve in enumerate(curves):
        x, y = roc_envelope(curve["fpr"], curve["tpr"])
        if not x.size:
            continue
        style = _style(i)
        for ax in (whole, zoom):
            ax.plot(x, y, drawstyle="default", label=curve["label"], lw=1.6, **style)
            point = curve.get("point")
            if point and None not in point:
                ax.plot([point[0]], [point[1]], "o", color=style["color"], ms=5)
    whole.plot([0, 1], [0, 1], color="#bbbbbb", lw=0.8, ls=":")
    whole.axvline(max_fpr, color="#999999", lw=0.8, ls="--")
    whole.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="false positive rate", ylabel="true positive rate",
              title="whole curve")
    zoom.set(xlim=(0, max_fpr), ylim=(0, 1.02), xlabel="false positive rate",
             title=f"FPR \u2264 {max_fpr:g} (partial AUC)")
    for ax in (whole, zoom):
        ax.grid(alpha=0.3)
    if curves:
        whole.legend(loc="lower right", fontsize=8)
    return png_data_uri(fig)


def tpr_figure(series, edges, *, xlabel, log=False, counts=None):
    """TPR at the submitted threshold per bin (separation or contrast), one line per submission.

    Parameters
    ----------
    series : list of (label, ndarray)
        TPR per bin (NaN where the bin has no injection).
    edges : ndarray
        Bin edges.
    xlabel : str
    log : bool
        Logarithmic x axis (contrast).
    counts : ndarray of int, optional
        Injections per bin (printed above the axis).

    Returns
    -------
    str
        A ``data:`` URI.
    """
    fig = _figure(6.4, 3.8)
    ax = fig.subplots()
    centres = np.sqrt(edges[:-1] * edges[1:]) if log else (edges[:-1] + edges[1:]) / 2
    for i, (label, tpr) in enumerate(series):
        ax.plot(centres, tpr, marker="o", label=label, lw=1.4, **_style(i))
    for e in edges:
        ax.axvline(e, color="#dddddd", lw=0.6, zorder=0)
    if counts is not None:
        for c, n in zip(centres, counts):
            ax.annotate(f"n={int(n)}", (c, 1.04), ha="center", fontsize=7, color="#555555",
                        annotation_clip=False)
    if log:
        ax.set_xscale("log")
    ax.set(ylim=(-0.03, 1.1), xlabel=xlabel, ylabel="TPR at the submitted threshold")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(loc="lower right", fontsize=8)
    return png_data_uri(fig)


def detection_maps_figure(panels, *, title):
    """Detection maps of one dataset, one panel per submission, with truth and detections marked.

    Parameters
    ----------
    panels : list of (label, DatasetOutcome)
    title : str

    Returns
    -------
    str
        A ``data:`` URI. Green circles: true positives; red circles: false negatives
        (missed injections); orange crosses: false positives (blob centroids; squares:
        huge blobs); the white contour is the threshold; each panel's colour bar gives
        its map's values.
    """
    from matplotlib.lines import Line2D

    n = max(len(panels), 1)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = _figure(3.3 * cols, 3.3 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (label, o) in zip(axes, panels):
        finite = o.detmap[np.isfinite(o.detmap)]
        lo, hi = (np.percentile(finite, [1, 99.8]) if finite.size else (0.0, 1.0))
        image = ax.imshow(np.ma.masked_invalid(o.detmap), origin="lower", cmap="viridis", vmin=lo,
                          vmax=max(hi, lo + 1e-12), interpolation="nearest")
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)  # the map's own values (S/N, probability...)
        bar.ax.tick_params(labelsize=7)
        if finite.size and np.nanmax(o.detmap) > o.threshold:
            ax.contour(np.nan_to_num(o.detmap, nan=-np.inf) > o.threshold, levels=[0.5], colors="white",
                       linewidths=0.6)
        radius = o.fwhm
        for (x, y), hit in zip(o.positions, o.detected):
            ax.add_patch(_circle((x, y), radius, "#2ecc40" if hit else "#ff4136", "-" if hit else "--"))
        fp, huge = o.false_positives, o.huge
        if len(fp):
            ax.plot(fp[~huge, 0], fp[~huge, 1], "x", color="#ff851b", ms=7, mew=2)
            ax.plot(fp[huge, 0], fp[huge, 1], "s", mfc="none", color="#ff851b", ms=9, mew=1.5)
        ax.set_title(f"{label}\nTP {o.tp}  FP {o.fp}  FN {o.fn}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(panels):]:
        ax.axis("off")
    handles = [Line2D([], [], color="#2ecc40", marker="o", mfc="none", ls="", label="true positive"),
               Line2D([], [], color="#ff4136", marker="o", mfc="none", ls="", label="false negative"),
               Line2D([], [], color="#ff851b", marker="x", ls="", label="false positive"),
               Line2D([], [], color="#ff851b", marker="s", mfc="none", ls="", label="huge blob")]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return png_data_uri(fig)


def _circle(center, radius, color, style):
    from matplotlib.patches import Circle

    return Circle(center, radius, fill=False, edgecolor=color, linestyle=style, linewidth=1.6)


def characterisation_figure(series):
    """A characterisation phase's companions, one colour per submission: left, the position error (dx, dy, px)
    with 1-sigma bars; right, the estimated against the true flux (every channel) with 1-sigma bars.

    Parameters
    ----------
    series : list of (label, companions)
        ``companions`` as in a characterisation report's details (``x``, ``x_true``, ``flux``,
        ``flux_true``..., optionally ``sigma_x``, ``sigma_y``, ``sigma_flux``).

    Returns
    -------
    str
        A ``data:`` URI.
    """
    fig = _figure(10, 4.2)
    position, flux = fig.subplots(1, 2)
    lows, highs = [], []
    for i, (label, companions) in enumerate(series):
        color = _style(i)["color"]
        dx = [c["x"] - c["x_true"] for c in companions]
        dy = [c["y"] - c["y_true"] for c in companions]
        position.errorbar(dx, dy, xerr=[c.get("sigma_x") or 0.0 for c in companions],
                          yerr=[c.get("sigma_y") or 0.0 for c in companions], fmt="o", color=color, ms=4,
                          capsize=2, label=label)
        true = [f for c in companions for f in c["flux_true"]]
        estimate = [f for c in companions for f in c["flux"]]
        sigma = [s for c in companions for s in (c.get("sigma_flux") or [0.0] * len(c["flux"]))]
        flux.errorbar(true, estimate, yerr=sigma, fmt="o", color=color, ms=4, capsize=2, label=label)
        lows.append(min(true + estimate))
        highs.append(max(true + estimate))
    position.axhline(0, color="#bbbbbb", lw=0.8)
    position.axvline(0, color="#bbbbbb", lw=0.8)
    position.set(xlabel="x estimated - true (px)", ylabel="y estimated - true (px)", title="position errors")
    position.set_aspect("equal", adjustable="datalim")
    if lows:
        low, high = min(lows), max(highs)
        flux.plot([low, high], [low, high], color="#bbbbbb", lw=0.8, ls="--")
    flux.set(xlabel="true flux (PSF units)", ylabel="estimated flux", title="fluxes (every channel)")
    for ax in (position, flux):
        ax.grid(alpha=0.3)
    if series:
        flux.legend(loc="upper left", fontsize=8)
    return png_data_uri(fig)
