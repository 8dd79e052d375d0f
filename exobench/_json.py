"""Values made JSON-friendly, one rule for every JSON file and printout exobench writes."""

import dataclasses
import json
from pathlib import Path

import numpy as np

__all__ = ["jsonable", "json_default"]


def json_default(value):
    """The JSON stand-in of a value :mod:`json` cannot write: arrays as lists, numpy scalars as
    numbers, paths as strings, anything else as its ``repr``.

    >>> json.dumps({"a": np.arange(2), "b": np.float32(0.5)}, default=json_default)
    '{"a": [0, 1], "b": 0.5}'
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def jsonable(value):
    """``value`` (a dataclass instance becomes a dict) as plain JSON types, through :func:`json_default`.

    >>> jsonable({"levels": np.array([1.5, 2.0])})
    {'levels': [1.5, 2.0]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, default=json_default))
