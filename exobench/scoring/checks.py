"""Validation shared by the sweep, the curves and the bootstrap of the scoring package.

Each check raises a ``ValueError`` (or ``TypeError``) whose message names the
parameter, as :mod:`exobench._validate` does.
"""

import math

import numpy as np

from .._validate import as_float_array, check_ndim

__all__ = ["readonly", "check_number", "check_max_fpr", "as_thresholds", "as_detmap"]


def readonly(array, dtype):
    """A read-only copy of ``array`` as ``dtype``."""
    array = np.array(array, dtype=dtype)  # a copy, owned
    array.setflags(write=False)
    return array


def check_number(value, name):
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
    value = check_number(max_fpr, "max_fpr")
    if not 0 < value <= 1:
        raise ValueError(f"max_fpr: expected a value in (0, 1], got {max_fpr!r}")
    return value


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
