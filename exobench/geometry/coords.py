"""Frame centre, polar coordinates and position angles.

The conventions (documented in ``docs/conventions.md`` and tested in
``tests/geometry/test_conventions.py``):

- positions are ``(x, y)`` in pixels, 0-based, integer values at pixel
  *centres*; arrays are indexed ``image[y, x]`` (NumPy order);
- the centre of an axis of ``n`` pixels is pixel ``n // 2`` for odd and even
  ``n`` alike (49 for 99 pixels, 50 for 100), as in the field's data;
- ``theta`` is the polar angle in degrees, counter-clockwise from the +x axis as
  displayed with the origin at the lower left (``origin="lower"``);
- the astronomical position angle (PA) runs from north (+y) through east (-x),
  so ``pa = theta - 90`` (mod 360) on a north-up, east-left final frame.
"""

import numpy as np

__all__ = [
    "frame_center",
    "resolve_center",
    "polar_grid",
    "cartesian_to_polar",
    "polar_to_cartesian",
    "theta_to_pa",
    "pa_to_theta",
]


def frame_center(shape):
    """Return the ``(x, y)`` centre of frames of the given shape.

    Parameters
    ----------
    shape : tuple of int
        Shape of a frame or a cube; only the last two axes ``(y, x)`` count.

    Returns
    -------
    tuple of float
        ``(x, y)``: pixel ``n // 2`` along each axis.

    Examples
    --------
    >>> frame_center((99, 99))
    (49.0, 49.0)
    >>> frame_center((10, 100, 101))
    (50.0, 50.0)
    """
    if len(shape) < 2:
        raise ValueError(f"shape: expected at least 2 axes (y, x), got {tuple(shape)}")
    ny, nx = int(shape[-2]), int(shape[-1])
    return float(nx // 2), float(ny // 2)


def resolve_center(shape, center=None):
    """The ``(x, y)`` centre to use for frames of ``shape``: ``center`` as floats, or the frame centre.

    Parameters
    ----------
    shape : tuple of int
        Shape of a frame or a cube (see :func:`frame_center`).
    center : (float, float), optional
        An explicit ``(x, y)`` centre.

    Examples
    --------
    >>> resolve_center((99, 99)), resolve_center((99, 99), (10, 20.5))
    ((49.0, 49.0), (10.0, 20.5))
    """
    return frame_center(shape) if center is None else (float(center[0]), float(center[1]))


def polar_grid(shape, *, center=None):
    """Radius (px) and ``theta`` (degrees in [0, 360)) of every pixel of a frame.

    Parameters
    ----------
    shape : tuple of int
        Frame shape ``(ny, nx)`` (extra leading axes are ignored).
    center : (float, float), optional
        ``(x, y)`` centre; the frame centre by default.

    Returns
    -------
    radius, theta : ndarray of shape ``(ny, nx)``

    Examples
    --------
    >>> r, t = polar_grid((5, 5))
    >>> float(r[2, 4]), float(t[2, 4]), float(t[4, 2])
    (2.0, 0.0, 90.0)
    """
    xc, yc = resolve_center(shape, center)
    ny, nx = int(shape[-2]), int(shape[-1])
    dx = np.arange(nx, dtype=float)[None, :] - xc
    dy = np.arange(ny, dtype=float)[:, None] - yc
    radius = np.hypot(dx, dy)
    theta = np.degrees(np.arctan2(dy, dx)) % 360.0
    return radius, theta


def cartesian_to_polar(x, y, *, center):
    """Convert ``(x, y)`` positions to ``(radius, theta)`` about ``center``.

    Examples
    --------
    >>> cartesian_to_polar(49.0, 59.0, center=(49.0, 49.0))
    (10.0, 90.0)
    """
    xc, yc = float(center[0]), float(center[1])
    dx = np.asarray(x, dtype=float) - xc
    dy = np.asarray(y, dtype=float) - yc
    radius = np.hypot(dx, dy)
    theta = np.degrees(np.arctan2(dy, dx)) % 360.0
    if radius.ndim == 0:
        return float(radius), float(theta)
    return radius, theta


def polar_to_cartesian(radius, theta, *, center):
    """Convert ``(radius, theta)`` (px, degrees) to ``(x, y)`` about ``center``.

    Examples
    --------
    >>> x, y = polar_to_cartesian(10.0, 180.0, center=(49.0, 49.0))
    >>> round(x, 9), round(y, 9)
    (39.0, 49.0)
    """
    xc, yc = float(center[0]), float(center[1])
    radius = np.asarray(radius, dtype=float)
    angle = np.radians(np.asarray(theta, dtype=float))
    x = xc + radius * np.cos(angle)
    y = yc + radius * np.sin(angle)
    if x.ndim == 0:
        return float(x), float(y)
    return x, y


def theta_to_pa(theta):
    """Astronomical position angle (north through east) of a polar angle ``theta``.

    Valid for a final frame with north up (+y) and east left (-x).

    Examples
    --------
    >>> theta_to_pa(90.0), theta_to_pa(180.0), theta_to_pa(0.0)
    (0.0, 90.0, 270.0)
    """
    pa = (np.asarray(theta, dtype=float) - 90.0) % 360.0
    return float(pa) if pa.ndim == 0 else pa


def pa_to_theta(pa):
    """Polar angle ``theta`` of an astronomical position angle (inverse of :func:`theta_to_pa`).

    Examples
    --------
    >>> pa_to_theta(0.0), pa_to_theta(90.0)
    (90.0, 180.0)
    """
    theta = (np.asarray(pa, dtype=float) + 90.0) % 360.0
    return float(theta) if theta.ndim == 0 else theta
