"""Laying out the EIDC archives: one folder per phase, usable as sources of a challenge.

Every FITS file of an archive is taken whatever its subfolder (archive folders
are flattened; macOS ``__MACOSX`` entries and hidden files are skipped). A
dataset is a ``{instrument}_cube_{k}.fits`` file with the files of the same
instrument and ``k``; it belongs to phase 2 when its cube has 4 dimensions or
it has a ``wls`` (``wl``, ``wvs``) file, to phase 1 otherwise. Phase ``N`` goes to
``DEST/phase_N``. The layout is built in a temporary folder beside ``DEST`` and
renamed into place once complete and validated (every dataset read back with
:func:`exobench.data.fits_io.read_dataset`), so an interrupted or failed layout
never leaves a ``DEST`` that looks complete.
"""

import json
import os
import re
import shutil
import tarfile
import tempfile
import uuid
import warnings
import zipfile
from pathlib import Path, PurePosixPath

from .. import ExobenchWarning
from ..challenge.layout import phase_folder_name
from ..data.fits_io import KINDS, find_datasets, read_dataset

__all__ = ["layout_sources", "check_destination", "MARKER"]

#: Name of the file recording which archives a layout was made from.
MARKER = ".exobench-eidc.json"

_CUBE = re.compile(r"^(?P<instrument>.+)_cube_(?P<k>[^_]+)\.fits$")

_FILE = re.compile(r"^(?P<instrument>.+)_(?P<kind>[A-Za-z]+)_(?P<k>[^_]+)\.fits$")

_WAVELENGTH_KINDS = frozenset(KINDS["wavelengths"])

_UNPACKED = "_unpacked"


def layout_sources(archives, dest, *, validate=True, overwrite=False):
    """Unpack EIDC archives into one folder of datasets per phase.

    Parameters
    ----------
    archives : sequence of str or path-like
        Zip or tar archives (any compression), or single FITS files.
    dest : str or path-like
        The folder of the layout: phase ``N`` goes to ``dest/phase_N``. If it
        already holds a layout of the same archives (same names, sizes and
        modification times), that one is returned as it is; a layout of other
        archives made by this function is replaced.
    validate : bool
        Read every dataset back with :func:`~exobench.data.fits_io.read_dataset`
        (which reads each cube whole) before the layout is put in place.
    overwrite : bool
        Replace a ``dest`` that holds other files; refused otherwise.

    Returns
    -------
    dict of int to pathlib.Path
        Phase (1: ADI, 3D cubes; 2: ADI+mSDI, 4D cubes) -> its folder, for
        the phases found.

    Raises
    ------
    ValueError
        An archive that cannot be read or holds no ``*_cube_*.fits`` file, two
        different files of the same name, or a dataset that does not read
        (naming the archive).
    FileExistsError
        ``dest`` holds other files and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile, zipfile, pathlib
    >>> import numpy as np
    >>> from exobench.data import Dataset
    >>> from exobench.data.fits_io import write_dataset
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> y, x = np.mgrid[:11, :11]
    >>> psf = np.exp(-((x - 5) ** 2 + (y - 5) ** 2) / 4.0)
    >>> ds = Dataset(np.ones((4, 21, 21)), [0, 10, 20, 30], psf=psf, pxscale=0.01, instrument="nirc2")
    >>> with zipfile.ZipFile(work / "data.zip", "w") as archive:
    ...     for path in write_dataset(ds, work / "files"):
    ...         archive.write(path, f"subchallenge1/{path.name}")
    >>> folders = layout_sources([work / "data.zip"], work / "sources")
    >>> sorted(path.name for path in folders[1].iterdir())
    ['nirc2_cube_1.fits', 'nirc2_fwhm_1.fits', 'nirc2_pa_1.fits', 'nirc2_psf_1.fits', 'nirc2_pxscale_1.fits']
    """
    archives = _archive_paths(archives)
    dest = Path(dest)
    stamp = _stamp(archives)
    existing = _existing_layout(dest, stamp, overwrite=overwrite)
    if existing is not None:
        return existing
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        phases = _build(archives, tmp, validate=validate)
        (tmp / MARKER).write_text(json.dumps({"archives": stamp, "phases": phases}))
        _commit(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _phase_folders(dest, phases)


def check_destination(dest, *, overwrite=False):
    """Refuse, before any download, a ``dest`` that holds files exobench did not lay out (unless ``overwrite``)."""
    dest = Path(dest)
    if _read_marker(dest) is None:
        _existing_layout(dest, None, overwrite=overwrite)


def _archive_paths(archives):
    if isinstance(archives, (str, os.PathLike)):
        archives = [archives]
    paths = [Path(archive) for archive in archives]
    if not paths:
        raise ValueError("archives: expected at least one archive, got none")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"archives: {str(path)!r} is not a file")
    return paths


def _stamp(archives):
    return [[path.name, path.stat().st_size, path.stat().st_mtime_ns] for path in archives]


def _phase_folders(dest, phases):
    return {phase: dest / phase_folder_name(phase) for phase in phases}


def _existing_layout(dest, stamp, *, overwrite):
    """The folders of a layout of the same archives at ``dest``, else None; refuses a foreign ``dest``."""
    if not dest.exists():
        return None
    if not dest.is_dir():
        raise NotADirectoryError(f"dest: expected a folder, got the file {str(dest)!r}")
    marker = _read_marker(dest)
    if marker is not None:
        folders = _phase_folders(dest, marker.get("phases", []))
        same = marker.get("archives") == stamp and all(folder.is_dir() for folder in folders.values())
        return folders if same else None
    if any(dest.iterdir()) and not overwrite:
        raise FileExistsError(f"dest: {str(dest)!r} holds files that were not laid out by exobench; "
                              f"pass overwrite=True to replace them, or choose another folder")
    return None


def _read_marker(dest):
    try:
        marker = json.loads((dest / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _commit(tmp, dest):
    """Put the finished layout in place: ``dest`` is either the old folder or the new one, never a mix."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.old")
    os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _build(archives, root, *, validate):
    """Unpack, flatten and sort the datasets of ``archives`` into ``root/phase_N``; the phases found."""
    files, origin = {}, {}
    for index, archive in enumerate(archives):
        for path in _unpack(archive, root / _UNPACKED / str(index)):
            _add_file(files, origin, path, archive)
    datasets = _group_by_dataset(files)
    phases = {}
    for (instrument, k), names in datasets.items():
        phase = _phase_of(files, instrument, k, names)
        folder = root / phase_folder_name(phase)
        folder.mkdir(exist_ok=True)
        for name in names:
            os.replace(files[name], folder / name)
        phases.setdefault(phase, []).append((instrument, k))
    shutil.rmtree(root / _UNPACKED)
    if validate:
        for phase in phases:
            _validate_phase(root / phase_folder_name(phase), phase, origin)
    return sorted(phases)


def _unpack(archive, into):
    """The FITS files of ``archive`` unpacked under ``into`` (junk skipped); refuses an archive without a cube."""
    _extract(archive, into)
    found = sorted(path for path in into.rglob("*.fits") if path.is_file() and not _is_junk(path, into))
    if not any(_CUBE.match(path.name) for path in found):
        listed = ", ".join(path.name for path in found[:5]) or "none"
        raise ValueError(f"archives: {str(archive)!r} holds no cube file; expected FITS files in the EIDC layout "
                         f"({{instrument}}_cube_{{k}}.fits and the others), found {len(found)} FITS file(s): {listed}")
    return found


def _extract(archive, into):
    import pooch

    into.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            pooch.Unzip(extract_dir=str(into))(str(archive), "download", None)
        elif tarfile.is_tarfile(archive):
            _check_tar_members(archive)
            pooch.Untar(extract_dir=str(into))(str(archive), "download", None)
        elif _is_fits(archive):
            shutil.copyfile(archive, into / archive.name)
        else:
            raise ValueError("expected a zip or tar archive, or a FITS file")
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise ValueError(f"archives: {str(archive)!r} cannot be unpacked ({exc})") from exc


def _check_tar_members(archive):
    """Refuse members that would land outside the extraction folder (pooch filters them only on Python >= 3.12)."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if member.name.startswith(("/", "\\")) or ".." in parts or not (member.isfile() or member.isdir()):
                raise ValueError(f"unsafe member {member.name!r} (absolute, '..', link or device)")


def _is_fits(path):
    with open(path, "rb") as fh:
        return fh.read(9) == b"SIMPLE  ="


def _is_junk(path, into):
    """macOS resource forks (``__MACOSX``, ``._x``) and hidden files."""
    return any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(into).parts)


def _add_file(files, origin, path, archive):
    name = path.name
    if name in files:
        if _same_content(files[name], path):
            return
        raise ValueError(f"archives: two different files named {name!r}, in {str(origin[name])!r} and "
                         f"{str(archive)!r}; expected each EIDC file name once")
    files[name], origin[name] = path, archive


def _same_content(a, b):
    import filecmp

    return filecmp.cmp(a, b, shallow=False)


def _group_by_dataset(files):
    """``{(instrument, k): [file names]}`` for every cube; warns about the FITS files of no dataset."""
    datasets = {}
    for name in files:
        match = _CUBE.match(name)
        if match:
            datasets[(match["instrument"], match["k"])] = []
    orphans = []
    for name in sorted(files):
        match = _FILE.match(name)
        key = (match["instrument"], match["k"]) if match else None
        (datasets[key] if key in datasets else orphans).append(name)
    if orphans:
        warnings.warn(f"archives: left out {len(orphans)} FITS file(s) of no dataset (no matching "
                      f"*_cube_*.fits): {', '.join(orphans[:10])}{', ...' if len(orphans) > 10 else ''}",
                      ExobenchWarning, stacklevel=4)
    return datasets


def _phase_of(files, instrument, k, names):
    """2 for a 4D cube or a wavelength file, 1 for a 3D cube."""
    kinds = {_FILE.match(name)["kind"] for name in names}
    cube = files[f"{instrument}_cube_{k}.fits"]
    ndim = _cube_ndim(cube)
    if ndim not in (3, 4):
        raise ValueError(f"cube file {cube.name!r}: expected a 3D (t, y, x) or 4D (lambda, t, y, x) cube, "
                         f"got {ndim} dimension(s)")
    return 2 if ndim == 4 or kinds & _WAVELENGTH_KINDS else 1


def _cube_ndim(path):
    """Dimensions of the first image of a FITS file, read from its header only."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True) as hdul:
            return next((hdu.header["NAXIS"] for hdu in hdul if hdu.is_image and hdu.header["NAXIS"] > 0), 0)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"cube file {path.name!r}: not a readable FITS file ({exc})") from exc


def _validate_phase(folder, phase, origin):
    for instrument, k in find_datasets(folder):
        source = str(origin[f"{instrument}_cube_{k}.fits"])
        try:
            dataset = read_dataset(folder, instrument, k)
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"archives: dataset {instrument} {k} of {source!r} does not read as an EIDC "
                             f"dataset: {exc}") from exc
        if (phase == 2) != dataset.is_4d:
            raise ValueError(f"archives: dataset {instrument} {k} of {source!r} has a wavelength file but a 3D "
                             f"cube; expected a 4D (lambda, t, y, x) cube with it")
