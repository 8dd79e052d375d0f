"""Small validators shared by the public functions.

Each message names the parameter, says what was expected and shows what was
given (``"ncomp: expected an integer >= 1, got 0"``), so that errors read the
same everywhere.

One rule for the error type: a bad value is a ``ValueError``, whatever is
wrong with it, its type included (a string, a bool or ``None`` where a number
is expected, a float where an integer is). ``TypeError`` is left to the
object a function works on when it is not that kind of object at all (an
array that does not hold numbers, something that is not a ``Dataset``).
"""

import math
import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "check_ndim",
    "check_finite",
    "check_positive",
    "check_number",
    "check_integer",
    "check_range",
    "check_choice",
    "check_suffix",
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


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _bound(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_number(value, name, *, minimum=0, strict=False, allow_none=False):
    """Require a finite real number >= ``minimum`` (> with ``strict``); return it as a float.

    ``minimum=None`` accepts any finite number; ``allow_none`` lets None through
    (returned as is). A bool is not a number here.

    Examples
    --------
    >>> check_number(2, "asize", strict=True)
    2.0
    >>> check_number(0, "asize", strict=True)
    Traceback (most recent call last):
    ...
    ValueError: asize: expected a number > 0, got 0
    """
    if value is None and allow_none:
        return None
    if _is_real(value) and (minimum is None or (value > minimum if strict else value >= minimum)):
        return float(value)
    bound = "" if minimum is None else f" {'>' if strict else '>='} {_bound(minimum)}"
    raise ValueError(f"{name}: expected a number{bound}{' or None' if allow_none else ''}, got {value!r}")


def check_integer(value, name, *, minimum=None, maximum=None, allow_none=False, what=None):
    """Require an integer within ``[minimum, maximum]`` (either bound optional); return it as an int.

    ``what`` says where a bound comes from (``"the number of frames"``); ``allow_none``
    lets None through. A bool or a float with an integer value is not an integer here.

    Examples
    --------
    >>> check_integer(3, "ncomp", minimum=1, maximum=10, what="the number of frames")
    3
    >>> check_integer(3.0, "workers", minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: workers: expected an integer >= 0, got 3.0
    """
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) \
            and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    if minimum is not None and maximum is not None:
        bounds = f" from {minimum} to {maximum}"
    elif minimum is not None or maximum is not None:
        bounds = f" >= {minimum}" if maximum is None else f" <= {maximum}"
    else:
        bounds = ""
    detail = f" ({what})" if what else ""
    raise ValueError(f"{name}: expected an integer{bounds}{detail}{' or None' if allow_none else ''}, "
                     f"got {value!r}")


#: The bounds a range includes (:func:`check_range`).
_CLOSED = {"both": (True, True), "low": (True, False), "high": (False, True), "neither": (False, False)}


def check_range(value, name, low, high, *, closed="both", allow_none=False):
    """Require a finite real number between ``low`` and ``high``; return it as a float.

    ``closed`` says which bounds belong to the range: ``"both"`` ``[low, high]``,
    ``"low"`` ``[low, high)``, ``"high"`` ``(low, high]``, ``"neither"`` ``(low, high)``.

    Examples
    --------
    >>> check_range(0.5, "explained_variance", 0, 1, closed="high")
    0.5
    >>> check_range(0, "explained_variance", 0, 1, closed="high")
    Traceback (most recent call last):
    ...
    ValueError: explained_variance: expected a number in (0, 1], got 0
    """
    if value is None and allow_none:
        return None
    with_low, with_high = _CLOSED[closed]
    if _is_real(value) and (low <= value if with_low else low < value) \
            and (value <= high if with_high else value < high):
        return float(value)
    interval = f"{'[' if with_low else '('}{_bound(low)}, {_bound(high)}{']' if with_high else ')'}"
    raise ValueError(f"{name}: expected a number in {interval}{' or None' if allow_none else ''}, got {value!r}")


def check_choice(value, name, choices):
    """Require ``value`` to be one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {listed}, got {value!r}")
    return value


def check_suffix(suffix, name):
    """``suffix`` when it is a short alphanumeric score suffix (``3d``), else a ValueError naming ``name``."""
    if not isinstance(suffix, str) or not suffix or not suffix.isascii() or not suffix.isalnum():
        raise ValueError(f"{name}: expected a short alphanumeric suffix such as '3d' or '4d', got {suffix!r}")
    return suffix


def read_yaml(path):
    """Parse a YAML file; malformed YAML is a ``ValueError`` naming the file and
    the parser's complaint on one line (a missing file is the caller's to name)."""
    import yaml  # deferred: only the readers of YAML files need it

    try:
        return yaml.safe_load(open(path, encoding="utf-8").read())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
