"""FITS input and output in the layout of the Exoplanet Imaging Data Challenge (EIDC).

A dataset is a set of files in one folder, ``{instrument}_{kind}_{k}.fits`` with
``k`` the dataset id and ``kind`` one of

============  ==================================================  ===============
kind          content                                             read aliases
============  ==================================================  ===============
``cube``      ``(t, y, x)`` or ``(lambda, t, y, x)``
``pa``        derotation angles, degrees, ``(t,)``                 (also ``(t, 1)``)
``psf``       off-axis PSF ``(y, x)`` or ``(lambda, y, x)``
``pxscale``   arcsec per pixel, shape ``(1,)``                     ``plsc``
``fwhm``      pixels, ``(1,)`` or one per channel ``(lambda,)``
``wls``       wavelengths in microns, ``(lambda,)`` (4D only)      ``wl``, ``wvs``
``starflux``  optional: the star's flux in a 1-FWHM-diameter
              aperture, in cube units, ``(1,)`` or ``(lambda,)``
============  ==================================================  ===============

Without a ``starflux`` file the star's flux is the PSF file's flux in that
aperture (:attr:`~exobench.data.Dataset.star_flux`), so a contrast is then in
units of the PSF file's flux; older files that hold it in the cube file's
``STARFLUX`` extension are still read.

Each file is read by :mod:`exobench.data.fits_arrays`, which also accepts the
quirks of real-world files (scalar values in header cards, data in the first
extension, big-endian or integer arrays). Every error on a malformed file
names the file.
"""

import contextlib
import json
import math
import numbers
import os
import re
import warnings
from pathlib import Path

import numpy as np

from .. import ExobenchWarning
from .._atomic import atomic_path, fits_array
from ._fields import explicit_star_flux, scalar_if_single, serializable_meta
from .dataset import Dataset
from .fits_arrays import file_label, first_image, open_fits, read_fits_array, read_scalar, read_values

__all__ = [
    "read_dataset",
    "write_dataset",
    "load_dataset",
    "find_datasets",
    "eidc_path",
]

#: File kinds of an EIDC dataset per Dataset field, canonical name first, then read aliases.
KINDS = {
    "cube": ("cube",),
    "angles": ("pa",),
    "psf": ("psf",),
    "pxscale": ("pxscale", "plsc"),
    "fwhm": ("fwhm",),
    "wavelengths": ("wls", "wl", "wvs"),
    "star_flux": ("starflux",),
}

#: Card of the cube header holding the dataset's ``meta`` as JSON.
META_CARD = "EXBMETA"

#: Extension of the cube file that held an explicitly given ``star_flux`` before the ``starflux`` file (read only).
STAR_FLUX_EXTNAME = "STARFLUX"

_CUBE_NAME = re.compile(r"^(?P<instrument>.+)_cube_(?P<k>[^_]+)\.fits$")

_FITS_KEY = re.compile(r"^[A-Za-z0-9_-]{1,8}$")

_STRUCTURAL_KEY = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BZERO|BSCALE|BLANK|END|COMMENT|HISTORY|CONTINUE|"
    r"XTENSION|PCOUNT|GCOUNT|EXTNAME|CHECKSUM|DATASUM|" + META_CARD + r")$"
)


def eidc_path(folder, instrument, dataset_id, kind):
    """The EIDC file name of one kind of file of a dataset.

    Examples
    --------
    >>> eidc_path("data", "naco", 1, "pa").as_posix()
    'data/naco_pa_1.fits'
    """
    return Path(folder) / f"{instrument}_{kind}_{dataset_id}.fits"


def find_datasets(folder):
    """The datasets of a folder in the EIDC layout, from its ``*_cube_*.fits`` files.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    list of (str, str)
        ``(instrument, dataset_id)`` pairs sorted by instrument, then by id
        (numerically where ids are numbers).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("nirc2_cube_10.fits", "nirc2_cube_2.fits", "sphere_irdis_cube_1.fits"):
    ...     _ = (folder / name).write_bytes(b"")
    >>> find_datasets(folder)
    [('nirc2', '2'), ('nirc2', '10'), ('sphere_irdis', '1')]
    """
    folder = _existing_folder(folder)
    found = [_CUBE_NAME.match(path.name) for path in folder.glob("*_cube_*.fits")]
    pairs = {(m["instrument"], m["k"]) for m in found if m}
    return sorted(pairs, key=lambda pair: (pair[0], _id_sort_key(pair[1])))


def _id_sort_key(dataset_id):
    return (0, int(dataset_id), "") if dataset_id.isdigit() else (1, 0, dataset_id)


def _existing_folder(folder):
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"folder: {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"folder: expected a folder, got the file {str(folder)!r}")
    return folder


def _find_file(folder, instrument, dataset_id, aliases):
    for kind in aliases:
        path = eidc_path(folder, instrument, dataset_id, kind)
        if path.is_file():
            return path
    return None


def _dataset_files(folder, instrument, dataset_id):
    """Every existing file of a dataset, aliases included."""
    paths = (eidc_path(folder, instrument, dataset_id, kind) for kinds in KINDS.values() for kind in kinds)
    return [path for path in paths if path.exists()]


def read_dataset(folder, instrument, dataset_id, *, recenter_psf=True):
    """Read one dataset of a folder in the EIDC layout.

    Parameters
    ----------
    folder : str or path-like
    instrument : str
        The ``{instrument}`` part of the file names.
    dataset_id : str or int
        The ``{k}`` part of the file names.
    recenter_psf : bool
        Passed to :class:`~exobench.data.Dataset`.

    Returns
    -------
    Dataset
        With the ``meta`` that :func:`write_dataset` stored, if any, and the
        star's flux of the ``starflux`` file when there is one (else of the
        cube file's legacy ``STARFLUX`` extension, else the PSF's).

    Notes
    -----
    ``cube`` and ``pa`` files are required; the ``psf`` may be missing when a
    ``fwhm`` file is there, and the ``fwhm`` is fitted on the PSF when its file is
    missing; ``pxscale`` (alias ``plsc``) is optional; ``wls`` (aliases ``wl``,
    ``wvs``) is required for 4D cubes.

    Examples
    --------
    >>> import tempfile
    >>> y, x = np.mgrid[:11, :11]
    >>> psf = np.exp(-((x - 5) ** 2 + (y - 5) ** 2) / 4.0)
    >>> ds = Dataset(np.ones((4, 21, 21)), [0, 10, 20, 30], psf=psf, pxscale=0.027, instrument="naco")
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_dataset(ds, folder)
    >>> read_dataset(folder, "naco", 1)
    Dataset(instrument='naco', dataset_id='1', cube=(4, 21, 21), frames=4, channels=1)
    """
    folder = _existing_folder(folder)
    files = {field: _find_file(folder, instrument, dataset_id, aliases) for field, aliases in KINDS.items()}
    for field in ("cube", "angles"):
        if files[field] is None:
            expected = eidc_path(folder, instrument, dataset_id, KINDS[field][0])
            raise FileNotFoundError(f"{file_label(field, expected)}: not found{_available_hint(folder)}")
    if files["psf"] is None and files["fwhm"] is None:
        psf, fwhm = (eidc_path(folder, instrument, dataset_id, kind) for kind in ("psf", "fwhm"))
        raise FileNotFoundError(f"{file_label('psf', psf)}: not found, nor {fwhm.name}; a dataset needs a PSF or a FWHM")
    hints = {"wavelengths": f"no {instrument}_{{wls,wl,wvs}}_{dataset_id}.fits file in {str(folder)!r}"}
    return _assemble(files, {"instrument": instrument, "dataset_id": dataset_id, "recenter_psf": recenter_psf},
                     hints=hints)


def _available_hint(folder):
    found = find_datasets(folder)
    if not found:
        return f"; no *_cube_*.fits file in {str(folder)!r}"
    listed = ", ".join(f"{instrument} {k}" for instrument, k in found[:10])
    return f"; datasets in this folder: {listed}{', ...' if len(found) > 10 else ''}"


def load_dataset(cube, angles, *, psf=None, pxscale=None, fwhm=None, wavelengths=None,
                 instrument="unknown", dataset_id="1", star_flux=None, meta=None, recenter_psf=True):
    """Build a dataset from FITS files of any name (or arrays and numbers).

    Parameters
    ----------
    cube, angles : str, path-like or array_like
        FITS files (or arrays) of the cube and the derotation angles.
    psf, wavelengths : str, path-like or array_like, optional
        FITS files (or arrays) of the off-axis PSF and the wavelengths (microns).
    pxscale, fwhm, star_flux : float, array_like, str or path-like, optional
        Numbers, or FITS files holding them (scalar files as :func:`read_scalar`
        accepts; ``fwhm`` and ``star_flux`` may hold one value per channel). The
        ``star_flux`` defaults to the one an older :func:`write_dataset` stored in
        the cube file's ``STARFLUX`` extension, if any, else to the PSF's.
    meta : dict, optional
        By default the one :func:`write_dataset` stored in the cube file, if any.
    instrument, dataset_id, recenter_psf
        As in :class:`~exobench.data.Dataset`.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        Errors of the files or of the dataset's validation; messages name the
        parameter and the file it was read from.

    Examples
    --------
    >>> import os
    >>> real = os.environ.get("EXOBENCH_REAL_DATA", "../shared/data/real")
    >>> ds = load_dataset(f"{real}/naco_betapic_empty_cube.fits", f"{real}/naco_betapic_empty_pa.fits",
    ...                   psf=f"{real}/naco_betapic_psf.fits", pxscale=0.02719,
    ...                   instrument="naco", dataset_id="betapic")  # doctest: +SKIP
    >>> ds.cube.shape  # doctest: +SKIP
    (61, 99, 99)
    """
    sources = {"cube": cube, "angles": angles, "psf": psf, "pxscale": pxscale, "fwhm": fwhm,
               "wavelengths": wavelengths, "star_flux": star_flux}
    fields = {"instrument": instrument, "dataset_id": dataset_id, "recenter_psf": recenter_psf}
    if meta is not None:
        fields["meta"] = meta
    return _assemble(sources, fields)


def _assemble(sources, fields, *, hints=None):
    """Read every source given as a path, then build and validate the Dataset."""
    values, files = {}, {}
    for field, source in sources.items():
        if isinstance(source, (str, os.PathLike)):
            files[field] = Path(source)
            values[field] = _read_field(field, files[field])
        else:
            values[field] = source
    if "cube" in files:  # read from a file, with what write_dataset stored there
        values["cube"], stored_meta, stored_flux = values["cube"]
        fields.setdefault("meta", stored_meta)
        if values.get("star_flux") is None:
            values["star_flux"] = stored_flux
    if "star_flux" in files or "cube" in files:
        values["star_flux"] = scalar_if_single(values["star_flux"])
    try:
        return Dataset(**values, **fields)
    except (ValueError, TypeError) as exc:
        named = _naming_source(exc, files, hints or {})
        if named is exc:
            raise
        raise named from exc


def _read_field(field, path):
    if field == "cube":
        return _read_cube(path)
    if field == "pxscale":
        return read_scalar(path, name=field)
    if field in ("fwhm", "star_flux"):
        return read_values(path, field)
    return read_fits_array(path, name=field)


def _read_cube(path):
    hdus = open_fits(path, "cube")
    cube = first_image(hdus, path, "cube")
    if cube is None:
        raise ValueError(f"{file_label('cube', path)}: holds no data (no image in the primary HDU nor in an extension)")
    star_flux = next((data for header, data, kind in hdus
                      if kind == "image" and header.get("EXTNAME") == STAR_FLUX_EXTNAME), None)
    return cube, _meta_from_header(hdus[0][0], path), star_flux


def _meta_from_header(header, path):
    if META_CARD not in header:
        return {}
    try:
        meta = json.loads(header[META_CARD])
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        warnings.warn(f"cube file {str(path)!r}: header card {META_CARD} is not valid JSON metadata ({exc}); "
                      f"meta left empty", ExobenchWarning, stacklevel=6)
        return {}
    return meta

_SOURCE_OF = {"frame": "psf", "size": "psf"}  # parameters of the PSF tools that Dataset calls


def _naming_source(exc, files, hints):
    """The same error with the file (or the hint) of the parameter it names appended."""
    message = str(exc)
    field = message.split(":", 1)[0].strip()
    field = _SOURCE_OF.get(field, field)
    if field in files:
        where = f"read from {str(files[field])!r}"
    elif field in hints:
        where = hints[field]
    elif "cube" in files:
        where = f"dataset read from cube file {str(files['cube'])!r}"
    else:
        return exc
    return type(exc)(f"{message} ({where})")


def write_dataset(dataset, folder, *, overwrite=False):
    """Write a dataset as FITS files in the EIDC layout, atomically.

    Files: ``cube`` (the cube's dtype), ``pa`` (float64), ``psf`` (when there is
    one), ``pxscale`` (shape ``(1,)``, when known), ``fwhm`` (``(1,)``, or
    ``(lambda,)`` for 4D), ``wls`` (4D). The cube header gets the dataset's
    ``meta``: all JSON-serialisable entries as JSON in the card ``EXBMETA``, and
    those that fit a FITS card (key of at most 8 letters, digits, ``-`` or ``_``;
    a number, bool or ASCII string) also as cards of their own. A ``star_flux``
    that was given rather than measured on the PSF is written to ``starflux``
    (``(1,)``, or ``(lambda,)`` for 4D). All files are first written to temporary files and moved in place
    only once every one is written, so a failed write leaves no file behind.

    Parameters
    ----------
    dataset : Dataset
    folder : str or path-like
        Created if missing.
    overwrite : bool
        Replace the dataset's existing files (and remove its stale ones, such as
        a ``plsc`` alias or a ``psf`` the dataset no longer has). Without it,
        any existing file of the dataset is an error.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> y, x = np.mgrid[:11, :11]
    >>> psf = np.exp(-((x - 5) ** 2 + (y - 5) ** 2) / 4.0)
    >>> ds = Dataset(np.ones((4, 21, 21), np.float32), [0, 10, 20, 30], psf=psf, pxscale=0.027,
    ...              instrument="naco", meta={"target": "beta Pic"})
    >>> [path.name for path in write_dataset(ds, tempfile.mkdtemp())]
    ['naco_cube_1.fits', 'naco_pa_1.fits', 'naco_psf_1.fits', 'naco_pxscale_1.fits', 'naco_fwhm_1.fits']
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected a Dataset, got {type(dataset).__name__}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"folder: expected a folder, got the file {str(folder)!r}")
    existing = _dataset_files(folder, dataset.instrument, dataset.dataset_id)
    if existing and not overwrite:
        raise FileExistsError(f"{str(existing[0])!r}: already exists (dataset {dataset.instrument} "
                              f"{dataset.dataset_id}); pass overwrite=True to replace it")
    hdus = _dataset_hdus(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [eidc_path(folder, dataset.instrument, dataset.dataset_id, kind) for kind in hdus]
    with contextlib.ExitStack() as stack:  # every file moves in place only if all were written
        for path, hdul in zip(paths, hdus.values()):
            tmp = stack.enter_context(atomic_path(path))
            hdul.writeto(tmp, overwrite=True, output_verify="exception")
    for stale in set(existing) - set(paths):
        stale.unlink()
    return paths


def _dataset_hdus(dataset):
    """One HDU list per EIDC kind, in writing order."""
    from astropy.io import fits

    def single(data, header=None):
        return fits.HDUList([fits.PrimaryHDU(fits_array(data), header=header)])

    hdus = {"cube": single(dataset.cube, _meta_header(dataset.meta))}
    hdus["pa"] = single(dataset.angles.astype(np.float64))
    if dataset.psf is not None:
        hdus["psf"] = single(dataset.psf)
    if dataset.pxscale is not None:
        hdus["pxscale"] = single(np.array([dataset.pxscale], dtype=np.float64))
    hdus["fwhm"] = single(np.atleast_1d(np.asarray(dataset.fwhm, dtype=np.float64)))
    if dataset.wavelengths is not None:
        hdus["wls"] = single(dataset.wavelengths.astype(np.float64))
    star_flux = explicit_star_flux(dataset)
    if star_flux is not None:
        hdus["starflux"] = single(star_flux)
    return hdus


def _meta_header(meta):
    """Cube header: ``EXBMETA`` (JSON of all entries) and one card per FITS-compatible entry."""
    from astropy.io import fits

    header = fits.Header()
    meta = serializable_meta(meta, stacklevel=5)
    if not meta:
        return header
    for key, value in meta.items():
        if _fits_card_compatible(key, value) and key.upper() not in header:
            header[key.upper()] = value
    header[META_CARD] = json.dumps(meta, sort_keys=True)  # no comment: long strings span CONTINUE cards
    return header


def _fits_card_compatible(key, value):
    if not _FITS_KEY.match(key) or _STRUCTURAL_KEY.match(key.upper()):
        return False
    if isinstance(value, str):
        return value.isascii() and value.isprintable()
    if isinstance(value, bool):
        return True
    if isinstance(value, numbers.Integral):
        return abs(value) < 2**63
    return isinstance(value, float) and math.isfinite(value)
