"""Boolean masks of annuli and circular apertures."""

import numpy as np

from .._validate import check_positive
from .coords import resolve_center

__all__ = ["annulus_mask", "disk_mask"]


def _radius_from(shape, center):
    xc, yc = resolve_center(shape, center)
    ny, nx = int(shape[-2]), int(shape[-1])
    dx = np.arange(nx, dtype=float)[None, :] - xc
    dy = np.arange(ny, dtype=float)[:, None] - yc
    return np.hypot(dx, dy)


def annulus_mask(shape, inner_radius, outer_radius, *, center=None):
    """Pixels whose centre lies at ``inner_radius <= r < outer_radius``.

    Parameters
    ----------
    shape : tuple of int
        Frame shape ``(ny, nx)``.
    inner_radius, outer_radius : float
        Radii in pixels, measured from ``center`` (the frame centre by default).
    center : (float, float), optional
        ``(x, y)`` centre.

    Returns
    -------
    ndarray of bool, shape ``(ny, nx)``

    Examples
    --------
    >>> int(annulus_mask((9, 9), 0, 1).sum()), int(annulus_mask((9, 9), 1, 2).sum())
    (1, 8)
    """
    check_positive(inner_radius, "inner_radius", allow_zero=True)
    check_positive(outer_radius, "outer_radius")
    if outer_radius <= inner_radius:
        raise ValueError(
            f"outer_radius: expected a value > inner_radius ({inner_radius}), got {outer_radius}"
        )
    radius = _radius_from(shape, center)
    return (radius >= inner_radius) & (radius < outer_radius)


def disk_mask(shape, radius, *, center=None):
    """Pixels whose centre lies within ``radius`` (inclusive) of ``center``.

    Examples
    --------
    >>> int(disk_mask((9, 9), 1.0).sum())
    5
    """
    check_positive(radius, "radius")
    return _radius_from(shape, center) <= radius
