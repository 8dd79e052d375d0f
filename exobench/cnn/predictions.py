"""Prediction files: probability maps in HDF5 with the model and settings that made them."""

import datetime
import json

import numpy as np

from .probability import ProbabilityMap

__all__ = ["save_predictions", "load_predictions", "PREDICTIONS_FORMAT"]

#: ``format`` attribute of prediction files.
PREDICTIONS_FORMAT = "exobench-cnn-predictions/1"


def save_predictions(path, maps, *, trained=None, calibration=None, attrs=None):
    """Write probability maps to HDF5, atomically, with the model and settings that made them.

    Layout: root attributes ``format``, ``created``, ``model_path``,
    ``model_metadata`` (JSON), ``calibration`` (JSON) and ``attrs`` (JSON, free);
    one group per map, ``maps/{instrument}_{dataset_id}[_flipped]``, with the
    datasets ``probability`` and ``mask`` and the map's settings as attributes.

    Parameters
    ----------
    path : str or path-like
    maps : sequence of ProbabilityMap
    trained : TrainedModel, optional
    calibration : ThresholdCalibration, optional
    attrs : dict, optional
        More JSON-serialisable information.

    Returns
    -------
    pathlib.Path
    """
    import h5py

    from .._atomic import atomic_path
    from .._json import jsonable

    maps = list(maps)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.attrs["format"] = PREDICTIONS_FORMAT
            handle.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            handle.attrs["model_path"] = "" if trained is None or trained.path is None else str(trained.path)
            handle.attrs["model_metadata"] = json.dumps(jsonable(trained.metadata) if trained else None)
            handle.attrs["calibration"] = json.dumps(calibration.to_dict() if calibration else None)
            handle.attrs["attrs"] = json.dumps(jsonable(attrs or {}))
            group = handle.create_group("maps")
            for pmap in maps:
                _write_map(group, pmap)
    from pathlib import Path

    return Path(path)


def _map_name(pmap):
    return f"{pmap.instrument}_{pmap.dataset_id}" + ("_flipped" if pmap.flip_angles else "")


def _write_map(group, pmap):
    name = _map_name(pmap)
    if name in group:
        raise ValueError(f"maps: two maps named {name!r} (instrument, dataset_id, flip_angles)")
    sub = group.create_group(name)
    sub.create_dataset("probability", data=pmap.probability, compression="gzip")
    sub.create_dataset("mask", data=pmap.mask, compression="gzip")
    sub.create_dataset("ks", data=np.asarray(pmap.ks))
    sub.create_dataset("annuli", data=np.asarray(pmap.annuli, dtype=np.float64).reshape(-1, 2))
    for key in ("instrument", "dataset_id", "flip_angles", "fwhm", "n_patches", "seconds"):
        sub.attrs[key] = getattr(pmap, key)
    sub.attrs["levels"] = np.asarray(pmap.levels, dtype=np.float64)


def load_predictions(path):
    """Read a file of :func:`save_predictions`.

    Returns
    -------
    dict
        ``maps`` (list of ProbabilityMap), ``model_path``, ``model_metadata``,
        ``calibration`` (dicts or None), ``attrs``, ``created``.
    """
    import h5py

    with h5py.File(path, "r") as handle:
        if handle.attrs.get("format") != PREDICTIONS_FORMAT:
            raise ValueError(f"path: {str(path)!r} is not an exobench predictions file "
                             f"(format {handle.attrs.get('format')!r})")
        maps = [_read_map(handle["maps"][name]) for name in handle["maps"]]
        return {"maps": maps, "model_path": str(handle.attrs["model_path"]) or None,
                "model_metadata": json.loads(handle.attrs["model_metadata"]),
                "calibration": json.loads(handle.attrs["calibration"]),
                "attrs": json.loads(handle.attrs["attrs"]), "created": str(handle.attrs["created"])}


def _read_map(sub):
    a = sub.attrs
    return ProbabilityMap(probability=sub["probability"][()], mask=sub["mask"][()].astype(bool),
                          instrument=str(a["instrument"]), dataset_id=str(a["dataset_id"]),
                          flip_angles=bool(a["flip_angles"]), levels=tuple(float(v) for v in a["levels"]),
                          ks=sub["ks"][()], annuli=[tuple(map(float, r)) for r in sub["annuli"][()]],
                          fwhm=float(a["fwhm"]), n_patches=int(a["n_patches"]), seconds=float(a["seconds"]))
