"""Figures of contrast curves (matplotlib, imported on use)."""

import numpy as np

__all__ = ["plot_contrast", "plot_grid"]


def plot_contrast(curves, path=None, *, labels=None, title=None):
    """Log contrast against separation (FWHM) for one or several curves.

    Separations whose noise fails the Gaussianity test (``non_gaussian``) are circled.

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
    Figure = _figure_class()
    curves = list(curves) if isinstance(curves, (list, tuple)) else [curves]
    labels = list(labels) if labels is not None else [None] * len(curves)
    if len(labels) != len(curves):
        raise ValueError(f"labels: expected {len(curves)} labels (one per curve), got {len(labels)}")
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = figure.subplots()
    flagged = False
    for curve, label in zip(curves, labels):
        good = np.isfinite(curve.contrast) & (curve.contrast > 0)
        ax.semilogy(curve.separation_fwhm[good], curve.contrast[good], "o-", markersize=3, label=label)
        if curve.non_gaussian is not None and np.any(good & curve.non_gaussian):
            # where the ring's noise fails the Gaussianity test, the t-test's fpf is not the stated one
            marked = good & curve.non_gaussian
            ax.plot(curve.separation_fwhm[marked], curve.contrast[marked], "o", markersize=8, fillstyle="none",
                    color="tab:red", label=None if flagged else "non-Gaussian noise")
            flagged = True
    ax.set_xlabel("separation (FWHM)")
    first = curves[0]
    ax.set_ylabel(f"contrast at fpf {first.fpf:.3g}")
    ax.grid(alpha=0.3, which="both")
    if flagged or any(label is not None for label in labels):
        ax.legend(loc="best", fontsize=8)
    ax.set_title(title if title is not None else f"relative to the {first.contrast_unit}", fontsize=9)
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
    return figure


def _figure_class():
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure


def _edges(centres, log=False):
    """Cell edges around sorted ``centres`` (midpoints; geometric ones when ``log``)."""
    values = np.log10(centres) if log else np.asarray(centres, dtype=float)
    if len(values) == 1:
        edges = np.array([values[0] - 0.5, values[0] + 0.5])
    else:
        middle = (values[1:] + values[:-1]) / 2.0
        edges = np.concatenate([[2 * values[0] - middle[0]], middle, [2 * values[-1] - middle[-1]]])
    return 10.0**edges if log else edges


def plot_grid(grid, path=None, *, curve=None, title=None):
    """The true-positive fraction over separation x contrast, with the 50 % completeness and ``curve`` overlaid.

    Parameters
    ----------
    grid : ContrastGrid
    path : str or path-like, optional
        Write the figure there as PNG (the caller makes the write atomic).
    curve : ContrastCurve, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    Figure = _figure_class()
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = figure.subplots()
    mesh = ax.pcolormesh(_edges(grid.separation_fwhm), _edges(grid.contrast, log=True), grid.tpf.T,
                         vmin=0.0, vmax=1.0, cmap="viridis", shading="flat")
    ax.set_yscale("log")
    figure.colorbar(mesh, ax=ax, label="true-positive fraction")
    good = np.isfinite(grid.completeness_50)
    ax.plot(grid.separation_fwhm[good], grid.completeness_50[good], "s--", color="white", markersize=4,
            label="50 % completeness")
    if curve is not None:
        kept = np.isfinite(curve.contrast) & (curve.contrast > 0)
        ax.plot(curve.separation_fwhm[kept], curve.contrast[kept], "o-", color="tab:red", markersize=3,
                label=f"contrast curve ({curve.statistic})")
    ax.set_xlabel("separation (FWHM)")
    ax.set_ylabel(f"contrast (fpf {grid.fpf:.3g}, {grid.statistic})")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title if title is not None else f"relative to the {grid.contrast_unit}", fontsize=9)
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
    return figure
