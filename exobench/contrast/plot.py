"""Figures of contrast curves (matplotlib, imported on use)."""

import numpy as np

__all__ = ["plot_contrast"]


def plot_contrast(curves, path=None, *, labels=None, title=None):
    """Log contrast against separation (FWHM) for one or several curves.

    Parameters
    ----------
    curves : ContrastCurve or list of ContrastCurve
    path : str or path-like, optional
        Write the figure there as PNG (the caller makes the write atomic).
    labels : list of str, optional
        One per curve, for the legend.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    curves = list(curves) if isinstance(curves, (list, tuple)) else [curves]
    labels = list(labels) if labels is not None else [None] * len(curves)
    if len(labels) != len(curves):
        raise ValueError(f"labels: expected {len(curves)} labels (one per curve), got {len(labels)}")
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = figure.subplots()
    for curve, label in zip(curves, labels):
        good = np.isfinite(curve.contrast) & (curve.contrast > 0)
        ax.semilogy(curve.separation_fwhm[good], curve.contrast[good], "o-", markersize=3, label=label)
    ax.set_xlabel("separation (FWHM)")
    first = curves[0]
    ax.set_ylabel(f"contrast at fpf {first.fpf:.3g}")
    ax.grid(alpha=0.3, which="both")
    if any(label is not None for label in labels):
        ax.legend(loc="best", fontsize=8)
    ax.set_title(title if title is not None else f"relative to the {first.contrast_unit}", fontsize=9)
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
    return figure
