"""Baseline parameters: a small YAML file that describes a run fully.

The defaults of each baseline are in ``baselines/{name}.yaml`` of the repository,
and ``exobench baseline NAME --show-params`` prints them::

    baseline: pca-annular       # optional; when given, must be the baseline run
    algorithm:                  # options of the algorithm (exobench.algorithms), each optional
      ncomp: 3
      asize: 1.0
    detection_map: snr          # snr or stim
    threshold: 5.0              # optional; null = the map's documented rule

Keys left out keep their defaults; unknown keys are errors naming them.
"""

import os
from pathlib import Path

from .registry import get_baseline, runnable_baseline

__all__ = ["default_params", "load_params", "dump_params", "resolve_params", "PARAM_KEYS"]

#: Keys of a parameter file.
PARAM_KEYS = ("baseline", "algorithm", "detection_map", "threshold")


def default_params(name):
    """The parameters of a default run of baseline ``name`` (a dict, as in its YAML file).

    Examples
    --------
    >>> params = default_params("pca")
    >>> params["algorithm"]["ncomp"], params["detection_map"], params["threshold"]
    (5, 'snr', None)
    """
    return runnable_baseline(name).default_params()


def load_params(source, name=None):
    """Read and check baseline parameters from a YAML file (or a mapping).

    Parameters
    ----------
    source : str, path-like or mapping
        A YAML file, or its content already parsed.
    name : str, optional
        The baseline the parameters are for: the result is its defaults
        updated with ``source``, every key checked against its algorithm's
        options; without it, only the structure is checked and ``source``
        must name its baseline.

    Returns
    -------
    dict
        Full parameters: ``baseline``, ``algorithm`` (every option), ``detection_map``, ``threshold``.

    Raises
    ------
    ValueError
        On an unknown key (named), a wrong type, or a file for another baseline.

    Examples
    --------
    >>> load_params({"algorithm": {"ncomp": 8}, "threshold": 4}, "pca")["algorithm"]["ncomp"]
    8
    >>> load_params({"algorithm": {"ncmp": 8}}, "pca")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: params: algorithm: unknown option 'ncmp' of baseline 'pca' (algorithm 'pca'); expected some of ...
    """
    where = "params"
    if isinstance(source, (str, os.PathLike)):
        where = str(source)
        data = _read_yaml(source)
    else:
        data = source
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping of {', '.join(PARAM_KEYS)}, got {type(data).__name__}")
    given = data.get("baseline")
    if given is not None and name is not None and given != name:
        raise ValueError(f"{where}: baseline: the file is for baseline {given!r}, not {name!r}")
    name = name if name is not None else given
    if name is None:
        raise ValueError(f"{where}: baseline: not given; name the baseline the parameters are for")
    return runnable_baseline(name).check_params(data, where=where)


def _read_yaml(path):
    from .._validate import read_yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params: {str(path)!r} not found")
    return read_yaml(path)


def dump_params(params, *, comments=False):
    """The parameters as YAML text (keys in the documented order), ready for ``--params``.

    With ``comments``, a header of comments says what the keys mean (the
    files of ``baselines/`` are this text for the default parameters).

    Examples
    --------
    >>> print(dump_params(default_params("median")), end="")
    baseline: median
    algorithm:
      collapse: median
      derotation: bilinear
    detection_map: snr
    threshold: null
    """
    import yaml

    cls = get_baseline(params["baseline"])
    ordered = {key: params[key] for key in cls.param_keys() if key in params}
    text = yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False)
    if not comments:
        return text
    return cls.params_header() + text


def resolve_params(name, params=None, *, detection_map=None):
    """The full, checked parameters of a run of baseline ``name`` (``params`` as :func:`run_baseline` takes them).

    Examples
    --------
    >>> resolve_params("pca", {"threshold": 4}, detection_map="stim")["detection_map"]
    'stim'
    """
    cls = runnable_baseline(name)
    params = load_params(params if params is not None else {}, name)
    if detection_map is not None:
        if detection_map not in cls.detection_maps():
            raise ValueError(f"detection_map: expected one of {', '.join(cls.detection_maps())}, "
                             f"got {detection_map!r}")
        params["detection_map"] = detection_map
    return params
