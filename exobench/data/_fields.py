"""How the FITS and HDF5 files store a dataset's fields: the star flux, one-value arrays, ``meta``."""

import json
import warnings

import numpy as np

from .. import ExobenchWarning

__all__ = ["scalar_if_single", "explicit_star_flux", "serializable_meta"]


def scalar_if_single(values):
    """A float for a one-value array read from a file (a number, not a shape-(1,) array)."""
    if isinstance(values, np.ndarray) and values.size == 1:
        return float(values.ravel()[0])
    return values


def explicit_star_flux(dataset):
    """The dataset's star flux as an array when it was given rather than measured on the PSF."""
    if dataset.star_flux is None or not dataset.is_given("star_flux"):
        return None
    return np.atleast_1d(np.asarray(dataset.star_flux, dtype=np.float64))


def serializable_meta(meta, *, stacklevel=3):
    """The JSON-serialisable entries of ``meta`` (numpy values as Python ones), warning on the others."""
    kept, dropped = {}, []
    for key, value in meta.items():
        try:
            if not isinstance(key, str):
                raise TypeError("key is not a string")
            kept[key] = json.loads(json.dumps(value, default=_json_default))
        except (TypeError, ValueError):
            dropped.append(repr(key))
    if dropped:
        warnings.warn(f"meta: entries {', '.join(dropped)} are not JSON-serialisable and were not written",
                      ExobenchWarning, stacklevel=stacklevel)
    return kept


def _json_default(value):
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
