"""Validation shared by the modules of the scoring package (counting, sweep, curves, bootstrap).

Each check raises a ``ValueError`` (or ``TypeError``) whose message names the
parameter, as :mod:`exobench._validate` does.
"""

import math
import numbers

import numpy as np

from .._validate import as_float_array, check_ndim, check_range

__all__ = [
    "as_finite",
    "as_positive",
    "check_count",
    "check_fwhm",
    "check_shape",
    "as_positions",
    "readonly",
    "as_number",
    "check_max_fpr",
    "as_thresholds",
    "as_detmap",
]


def _scalar(value, name):
    """A real number from a number or a size-1 numeric array (e.g. a shape-(1,) FITS value)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, numbers.Real):
        return value
    array = np.asarray(value) if not isinstance(value, str) else None
    if array is None or array.dtype.kind not in "iuf" or array.size != 1:
        raise TypeError(f"{name}: expected a number, got {value!r}")
    return array.reshape(()).item()


def as_finite(value, name):
    """A finite float from a number or a size-1 numeric array."""
    value = float(_scalar(value, name))
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return value


def as_positive(value, name, *, allow_zero=False):
    """A finite float > 0 (>= 0 with ``allow_zero``)."""
    value = as_finite(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a value {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def check_count(value, name, minimum):
    """An integer >= ``minimum`` from an integral number (``2.0`` is 2)."""
    value = _scalar(value, name)
    if not np.isfinite(value) or value != int(value) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_fwhm(fwhm):
    """The FWHM as a float, checked finite and > 0 (a size-1 array is accepted).

    Examples
    --------
    >>> check_fwhm(4)
    4.0
    """
    return as_positive(fwhm, "fwhm")


def check_shape(shape):
    """A frame shape ``(ny, nx)`` of two integers >= 1."""
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"shape: expected a tuple (ny, nx), got {shape!r}") from None
    if len(shape) != 2 or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n >= 1 for n in shape
    ):
        raise ValueError(f"shape: expected a tuple (ny, nx) of two integers >= 1, got {shape!r}")
    return int(shape[0]), int(shape[1])


def as_positions(positions, shape):
    """Injection positions as a float64 (n, 2) array of (x, y), checked to lie in the frame.

    Parameters
    ----------
    positions : array_like, shape (n, 2), or None
        (x, y) pixel positions; None or an empty array for no injection.
    shape : tuple of int
        ``(ny, nx)`` of the frame.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    if positions is None:
        return np.zeros((0, 2))
    array = as_float_array(positions, "positions", dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 2))
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"positions: expected an (n, 2) array of (x, y) pixel positions, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("positions: expected finite values, got NaN or infinite value(s)")
    ny, nx = shape
    outside = (array[:, 0] < -0.5) | (array[:, 0] > nx - 0.5) | (array[:, 1] < -0.5) | (array[:, 1] > ny - 0.5)
    if np.any(outside):
        i = int(np.flatnonzero(outside)[0])
        x, y = array[i]
        raise ValueError(
            f"positions: row {i} (x={x:g}, y={y:g}) lies outside the {ny}x{nx} (ny x nx) frame; "
            "positions are (x, y), column 0 is x"
        )
    return array


def readonly(array, dtype):
    """A read-only copy of ``array`` as ``dtype``."""
    array = np.array(array, dtype=dtype)  # a copy, owned
    array.setflags(write=False)
    return array


def as_number(value, name):
    """A float from a number or a size-1 numeric array; infinities allowed, NaN refused."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    array = np.asarray(value) if not isinstance(value, str) else None
    if array is None or array.dtype.kind not in "iuf" or array.size != 1:
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(array.reshape(()).item())
    if math.isnan(value):
        raise ValueError(f"{name}: expected a number, got NaN")
    return value


def check_max_fpr(max_fpr):
    """The FPR bound of a partial AUC, in (0, 1]."""
    return check_range(max_fpr, "max_fpr", 0, 1, closed="high")


def as_thresholds(thresholds, name):
    """Thresholds as a decreasing float64 array without duplicates (NaN refused)."""
    array = as_float_array(thresholds, name, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    check_ndim(array, name, 1)
    if array.size == 0:
        raise ValueError(f"{name}: expected at least one threshold, got none")
    if np.any(np.isnan(array)):
        raise ValueError(f"{name}: expected numbers, got NaN")
    return np.unique(array)[::-1].copy()


def as_detmap(detmap, name):
    """One dataset's detection map as a non-empty 2D float64 array."""
    array = as_float_array(detmap, name)
    check_ndim(array, name, 2, what="(the detection map of one dataset)")
    if array.size == 0:
        raise ValueError(f"{name}: expected a non-empty 2D array, got shape {array.shape}")
    return array.astype(np.float64, copy=False)
