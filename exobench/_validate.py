"""Small validators shared by the public functions.

Each raises a ``ValueError`` (or ``TypeError``) whose message names the
parameter and says what was expected, so that errors read the same everywhere.
"""

import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "check_ndim",
    "check_finite",
    "check_positive",
    "check_choice",
    "read_yaml",
]


def as_float_array(value, name, *, dtype=None):
    """Return ``value`` as a floating-point array (float64 unless it already floats)."""
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name}: expected an array of numbers, got {type(value).__name__}") from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if not array.dtype.isnative:  # FITS data are big-endian; compiled kernels want native order
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype.kind != "f":
        return array.astype(np.float64)
    return array


def check_ndim(array, name, ndims, *, what=None):
    """Require ``array.ndim`` to be one of ``ndims``."""
    ndims = (ndims,) if isinstance(ndims, numbers.Integral) else tuple(ndims)
    if array.ndim not in ndims:
        expected = " or ".join(f"{n}D" for n in ndims)
        detail = f" {what}" if what else ""
        raise ValueError(f"{name}: expected a {expected} array{detail}, got shape {array.shape}")


def check_finite(array, name):
    """Require every value of ``array`` to be finite."""
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or infinite value(s)")


def check_positive(value, name, *, allow_zero=False):
    """Require a finite scalar or array that is > 0 (>= 0 with ``allow_zero``)."""
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    bad = array < 0 if allow_zero else array <= 0
    if np.any(bad):
        sign = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a value {sign}, got {value!r}")
    return array


def check_choice(value, name, choices):
    """Require ``value`` to be one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {listed}, got {value!r}")
    return value


def read_yaml(path):
    """Parse a YAML file; malformed YAML is a ``ValueError`` naming the file and
    the parser's complaint on one line (a missing file is the caller's to name)."""
    import yaml  # deferred: only the readers of YAML files need it

    try:
        return yaml.safe_load(open(path, encoding="utf-8").read())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
