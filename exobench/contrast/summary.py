"""A contrast curve read at chosen separations in lambda/D, and the median over a phase's datasets.

The separation unit is lambda/D. A dataset of exobench knows its PSF's FWHM but
neither its telescope's diameter nor its pixel scale, so lambda/D is taken as
the FWHM (:attr:`~exobench.contrast.curve.ContrastCurve.fwhm`, the mean of the
channels' for 4D data): an Airy core's FWHM is 1.03 lambda/D, a real PSF's a
little more. A caller that knows better gives ``lambda_d_px``.

Between two separations of a curve the contrast is interpolated linearly in
``log10(contrast)``; outside the curve's first and last finite values, or next
to a separation without a detection limit (NaN), there is no value (NaN): no
extrapolation.
"""

import numpy as np

from .._validate import as_float_array, check_positive

__all__ = ["LEADERBOARD_SEPARATIONS", "contrast_at", "median_contrast"]

#: The separations (lambda/D) of the leaderboard's contrast columns.
LEADERBOARD_SEPARATIONS = (2.0, 4.0, 8.0)


def contrast_at(curve, separations, *, lambda_d_px=None):
    """The contrast of ``curve`` at ``separations`` (lambda/D), interpolated in log contrast.

    Parameters
    ----------
    curve : ContrastCurve
    separations : float or array_like
        In lambda/D.
    lambda_d_px : float, optional
        lambda/D in pixels; the curve's FWHM by default.

    Returns
    -------
    ndarray
        One value per separation; NaN where the curve does not reach it.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> curve = SimpleNamespace(separation_px=np.array([4.0, 8.0, 12.0]), contrast=np.array([1e-2, 1e-4, np.nan]),
    ...                         fwhm=4.0)
    >>> contrast_at(curve, [1.5, 2.0, 3.0]).tolist()
    [0.001, 0.0001, nan]
    """
    targets = np.atleast_1d(as_float_array(separations, "separations")).ravel()
    check_positive(targets, "separations")
    scale = float(curve.fwhm) if lambda_d_px is None else float(check_positive(lambda_d_px, "lambda_d_px"))
    sep = np.asarray(curve.separation_px, dtype=float) / scale
    contrast = np.asarray(curve.contrast, dtype=float)
    log = np.full(contrast.shape, np.nan)
    positive = np.isfinite(contrast) & (contrast > 0)
    log[positive] = np.log10(contrast[positive])
    out = np.full(targets.shape, np.nan)
    for i, target in enumerate(targets):
        right = int(np.searchsorted(sep, target, side="left"))
        if right < len(sep) and np.isclose(sep[right], target, rtol=1e-9, atol=0.0):
            out[i] = log[right]
        elif 0 < right < len(sep):
            w = (target - sep[right - 1]) / (sep[right] - sep[right - 1])
            out[i] = (1.0 - w) * log[right - 1] + w * log[right]  # NaN when a neighbour has no limit
    return 10.0 ** out


def median_contrast(curves, separations=LEADERBOARD_SEPARATIONS, *, lambda_d_px=None):
    """The median over several datasets' curves of their contrast at ``separations`` (lambda/D).

    Each separation's median is over the curves that reach it (:func:`contrast_at`);
    NaN where none does, or for no curve.

    Parameters
    ----------
    curves : iterable of ContrastCurve
    separations : array_like
        In lambda/D; :data:`LEADERBOARD_SEPARATIONS` by default.
    lambda_d_px : float, optional
        As :func:`contrast_at` takes it (the same for every curve); each curve's FWHM by default.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> make = lambda c: SimpleNamespace(separation_px=np.array([4.0, 8.0]), contrast=np.array(c), fwhm=4.0)
    >>> median_contrast([make([1e-2, 1e-3]), make([1e-3, np.nan]), make([1e-4, 1e-4])], [1.0, 2.0]).tolist()
    [0.001, 0.00055]
    """
    targets = np.atleast_1d(as_float_array(separations, "separations")).ravel()
    values = [contrast_at(curve, targets, lambda_d_px=lambda_d_px) for curve in curves]
    if not values:
        return np.full(targets.shape, np.nan)
    stack = np.vstack(values)
    out = np.full(targets.shape, np.nan)
    for j in range(stack.shape[1]):
        column = stack[:, j][np.isfinite(stack[:, j])]
        if column.size:
            out[j] = float(np.median(column))
    return out
