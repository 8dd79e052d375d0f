"""Several datasets in one HDF5 file, with their metadata.

Layout: one group per dataset, named ``{instrument}_{dataset_id}``, holding the
arrays ``cube`` (gzip-compressed with the shuffle filter, one chunk per frame;
lossless), ``angles``, and when present ``psf``, ``wavelengths`` and
``star_flux`` (only when it differs from the PSF's default), with the
attributes ``instrument``, ``dataset_id``, ``fwhm``, ``pxscale`` (when known)
and ``meta`` (JSON). The file's attributes hold ``format``, ``format_version``,
``exobench_version`` and the caller's own ``attrs``. Files are written
atomically, without timestamps, so that the same datasets give the same bytes.
"""

import json
import os
from pathlib import Path

import numpy as np

from .. import __version__
from .._atomic import atomic_path
from ._fields import explicit_star_flux, scalar_if_single, serializable_meta
from .dataset import Dataset

__all__ = ["save_datasets", "load_datasets", "list_datasets", "load_attrs"]

#: Value of the file attribute ``format`` that marks an exobench datasets file.
FORMAT = "exobench-datasets"
FORMAT_VERSION = 1
_RESERVED_ATTRS = ("format", "format_version", "exobench_version")
_OPTIONAL_ARRAYS = ("psf", "wavelengths", "star_flux")


def _group_name(dataset):
    """The group name of a dataset: ``{instrument}_{dataset_id}``."""
    return f"{dataset.instrument}_{dataset.dataset_id}"


def save_datasets(path, datasets, *, attrs=None, overwrite=False):
    """Write datasets and their metadata into one HDF5 file, atomically.

    Parameters
    ----------
    path : str or path-like
    datasets : Dataset or iterable of Dataset
        Their ``{instrument}_{dataset_id}`` names must differ.
    attrs : dict, optional
        Attributes of the file (numbers, strings or arrays of them), read back
        with :func:`load_attrs`.
    overwrite : bool
        Replace an existing file; without it an existing file is an error.

    Returns
    -------
    list of str
        The names of the groups written, in order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> y, x = np.mgrid[:11, :11]
    >>> psf = np.exp(-((x - 5) ** 2 + (y - 5) ** 2) / 4.0)
    >>> ds = Dataset(np.ones((4, 21, 21)), [0, 10, 20, 30], psf=psf, instrument="naco")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sets.h5"
    >>> save_datasets(path, [ds, ds.replace(dataset_id="2")], attrs={"origin": "doc"})
    ['naco_1', 'naco_2']
    >>> list_datasets(path)
    ['naco_1', 'naco_2']
    >>> np.array_equal(load_datasets(path)["naco_2"].cube, ds.cube)
    True
    """
    import h5py

    datasets = _checked_datasets(datasets)
    attrs = _checked_attrs(attrs)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r}: already exists; pass overwrite=True to replace it")
    with atomic_path(path) as tmp, _untimed_file(tmp) as h5:
        h5.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, "exobench_version": __version__})
        for name, value in attrs.items():
            _set_attr(h5.attrs, name, value)
        for dataset in datasets:
            _write_group(_untimed_group(h5, _group_name(dataset)), dataset)
    return [_group_name(dataset) for dataset in datasets]


def _untimed_file(path):
    """A new HDF5 file whose root group records creation order but no times.

    HDF5 stamps every object header with its creation time by default; two
    saves a second apart would then differ in bytes, so we switch it off.
    """
    import h5py

    fcpl = _untimed_ordered(h5py.h5p.create(h5py.h5p.FILE_CREATE))
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)  # as h5py.File's own: closing closes every object
    fid = h5py.h5f.create(os.fsencode(path), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    return h5py.File(fid)


def _untimed_group(parent, name):
    """A new group of ``parent`` that records creation order but no times."""
    import h5py

    gcpl = _untimed_ordered(h5py.h5p.create(h5py.h5p.GROUP_CREATE))
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def _untimed_ordered(plist):
    """``plist`` (a file or group creation property list) set to record creation order, no times."""
    import h5py

    plist.set_obj_track_times(False)
    plist.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    return plist


def _checked_datasets(datasets):
    datasets = [datasets] if isinstance(datasets, Dataset) else list(datasets)
    if not datasets:
        raise ValueError("datasets: expected at least one Dataset, got none")
    seen = set()
    for index, dataset in enumerate(datasets):
        if not isinstance(dataset, Dataset):
            raise TypeError(f"datasets: expected Dataset objects, got {type(dataset).__name__} at index {index}")
        if _group_name(dataset) in seen:
            raise ValueError(f"datasets: two datasets are named {_group_name(dataset)!r} "
                             f"(instrument_dataset_id); names must differ")
        seen.add(_group_name(dataset))
    return datasets


def _checked_attrs(attrs):
    attrs = dict(attrs or {})
    for name in attrs:
        if not isinstance(name, str) or name in _RESERVED_ATTRS:
            raise ValueError(f"attrs: expected string keys other than {', '.join(_RESERVED_ATTRS)}, got {name!r}")
    return attrs


def _set_attr(target, name, value):
    try:
        target[name] = value
    except (TypeError, ValueError) as exc:
        raise TypeError(f"attrs[{name!r}]: expected a number, a string or an array of them, "
                        f"got {type(value).__name__}") from exc


def _write_group(group, dataset):
    cube = dataset.cube
    group.create_dataset("cube", data=cube, chunks=(1,) * (cube.ndim - 2) + cube.shape[-2:],
                         compression="gzip", compression_opts=4, shuffle=True, track_times=False)
    arrays = {"angles": dataset.angles, "psf": dataset.psf, "wavelengths": dataset.wavelengths,
              "star_flux": explicit_star_flux(dataset)}
    for name, array in arrays.items():
        if array is not None:
            group.create_dataset(name, data=array, track_times=False)
    group.attrs["instrument"] = dataset.instrument
    group.attrs["dataset_id"] = dataset.dataset_id
    group.attrs["fwhm"] = dataset.fwhm
    if dataset.pxscale is not None:
        group.attrs["pxscale"] = dataset.pxscale
    group.attrs["meta"] = json.dumps(serializable_meta(dataset.meta, stacklevel=4), sort_keys=True)


def list_datasets(path):
    """The names of the datasets of an HDF5 file written by :func:`save_datasets`, in order.

    Examples
    --------
    >>> list_datasets("sets.h5")  # doctest: +SKIP
    ['naco_1', 'naco_2']
    """
    with _open(path) as h5:
        return list(h5.keys())


def load_attrs(path):
    """The attributes given to :func:`save_datasets` as ``attrs``.

    Examples
    --------
    >>> load_attrs("sets.h5")  # doctest: +SKIP
    {'origin': 'doc'}
    """
    with _open(path) as h5:
        return {name: _python_value(value) for name, value in h5.attrs.items() if name not in _RESERVED_ATTRS}


def load_datasets(path, *, names=None):
    """Read datasets from an HDF5 file written by :func:`save_datasets`.

    Parameters
    ----------
    path : str or path-like
    names : str or sequence of str, optional
        The datasets to read (``{instrument}_{dataset_id}``); all by default.

    Returns
    -------
    dict
        Name to :class:`~exobench.data.Dataset`, in the file's order (or that of ``names``).

    Examples
    --------
    >>> load_datasets("sets.h5", names="naco_1")  # doctest: +SKIP
    {'naco_1': Dataset(instrument='naco', dataset_id='1', cube=(4, 21, 21), frames=4, channels=1)}
    """
    with _open(path) as h5:
        available = list(h5.keys())
        names = available if names is None else _checked_names(names, available, path)
        return {name: _read_group(h5[name], path) for name in names}


def _checked_names(names, available, path):
    names = [names] if isinstance(names, str) else list(names)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"names: unknown dataset(s) {', '.join(map(repr, unknown))} in {str(path)!r}; "
                         f"it holds {', '.join(map(repr, available)) or 'none'}")
    return names


def _read_group(group, path):
    arrays = {name: group[name][()] for name in _OPTIONAL_ARRAYS if name in group}
    if "star_flux" in arrays:
        arrays["star_flux"] = scalar_if_single(arrays["star_flux"])
    attrs = group.attrs
    try:
        return Dataset(
            group["cube"][()],
            group["angles"][()],
            pxscale=_python_value(attrs["pxscale"]) if "pxscale" in attrs else None,
            fwhm=_python_value(attrs["fwhm"]),
            instrument=_python_value(attrs["instrument"]),
            dataset_id=_python_value(attrs["dataset_id"]),
            meta=json.loads(attrs.get("meta", "{}")),
            **arrays,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise type(exc)(f"{exc} (dataset {group.name.lstrip('/')!r} of {str(path)!r})") from exc


def _python_value(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _open(path):
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path: {str(path)!r} not found")
    if path.is_dir() or not h5py.is_hdf5(path):
        raise ValueError(f"path: {str(path)!r} is not an HDF5 file")
    h5 = h5py.File(path, "r")
    if h5.attrs.get("format") != FORMAT:
        h5.close()
        raise ValueError(f"path: {str(path)!r} is an HDF5 file but not one written by save_datasets "
                         f"(no attribute format={FORMAT!r})")
    return h5
