"""Download the published data of the 2019 Exoplanet Imaging Data Challenge (EIDC).

The challenge data are on Zenodo, record `3361544 <https://zenodo.org/records/3361544>`_
(version 2.0, uploaded in September 2019 after a fix of missing frames in two
SPHERE-IFS cubes): archives of FITS files in the EIDC layout,
``{instrument}_cube_{k}.fits``, ``_pa_``, ``_psf_``, ``_pxscale_`` and, for the
spectral data, ``_wls_``. Phase 1 (sub-challenge 1, ADI, 3D cubes ``(t, y, x)``)
holds SPHERE-IRDIS, NIRC2 and LMIRCam data; phase 2 (sub-challenge 2, ADI+mSDI,
4D cubes ``(lambda, t, y, x)``) holds SPHERE-IFS and GPI data.

:func:`fetch_eidc` downloads archives with pooch, each checked against the
checksum of the registry; :func:`layout_sources` unpacks them into one folder
per phase, usable as sources of a challenge definition; :func:`eidc_sources`
does both.

Where the files come from
-------------------------
The base URL is, in order of precedence, the ``base_url`` argument, the
environment variable ``EXOBENCH_EIDC_URL`` (:data:`BASE_URL_ENV`), or the record
(:data:`DEFAULT_BASE_URL`); any HTTP(S) server holding the same files works
(a mirror, a local copy served by ``python -m http.server``), and so does a
``doi:10.5281/zenodo.3361544/`` base URL. Downloads go to the cache folder, the
``cache`` argument, else ``EXOBENCH_EIDC_CACHE`` (:data:`CACHE_ENV`), else
``pooch.os_cache("exobench")``; a file already there with the right checksum
is not downloaded again.

The registry and its checksums
------------------------------
:data:`EIDC_REGISTRY` maps each file name of the record to its checksum
(``"sha256:<64 hex digits>"``, also ``md5:``, ``sha1:``, ``sha512:``) or to
``None`` when it is unknown. A file without a checksum is **refused** unless
``allow_unverified=True`` is passed (it is then downloaded with a warning),
because nothing would tell a truncated or altered file from the published one.

The file names of the registry are those the organisers announced for the two
sub-challenge archives ("Subchallenge 1.zip", 2.0 GB, and "Subchallenge 2.zip",
2.5 GB; post of 2019-05-16 on exoplanet-imaging-challenge.github.io, about the
first upload, record 2815298). No public source found while writing this module
gives the file names or the checksums of version 2.0 (record 3361544), and this
module was written without network access, so every checksum is ``None``. Check
the names and the checksums (Zenodo shows an MD5 per file) on the record page,
then set them, either in the module-level dict or per call::

    from exobench.builder import download
    download.EIDC_REGISTRY["Subchallenge 1.zip"] = "md5:..."       # every later call
    download.eidc_sources(registry={"Subchallenge 1.zip": "md5:..."})  # this call only

How the archives are laid out
-----------------------------
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

import contextlib
import json
import logging
import math
import numbers
import os
import re
import shutil
import tarfile
import tempfile
import uuid
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from exobench import ExobenchWarning
from exobench.challenge.layout import phase_folder_name
from exobench.data.fits_io import KINDS, find_datasets, read_dataset

__all__ = [
    "EIDC_RECORD",
    "EIDC_REGISTRY",
    "DEFAULT_BASE_URL",
    "BASE_URL_ENV",
    "CACHE_ENV",
    "DEFAULT_TIMEOUT",
    "resolve_base_url",
    "check_registry",
    "fetch_eidc",
    "layout_sources",
    "eidc_sources",
]

#: The Zenodo record of the EIDC data (version 2.0).
EIDC_RECORD = "3361544"

#: Where the files are downloaded from when neither ``base_url`` nor :data:`BASE_URL_ENV` says otherwise.
DEFAULT_BASE_URL = f"https://zenodo.org/records/{EIDC_RECORD}/files/"

#: Environment variable overriding :data:`DEFAULT_BASE_URL`.
BASE_URL_ENV = "EXOBENCH_EIDC_URL"

#: Environment variable overriding the default cache folder, ``pooch.os_cache("exobench")``.
CACHE_ENV = "EXOBENCH_EIDC_CACHE"

#: Seconds without an answer from the server before a download fails.
DEFAULT_TIMEOUT = 60.0

#: File name -> checksum (``"sha256:..."``, ``"md5:..."``) or None when unknown (see the module's docstring).
EIDC_REGISTRY = {
    "Subchallenge 1.zip": None,  # phase 1, ADI: SPHERE-IRDIS, NIRC2, LMIRCam
    "Subchallenge 2.zip": None,  # phase 2, ADI+mSDI: SPHERE-IFS, GPI
}

#: Name of the file recording which archives a layout was made from.
MARKER = ".exobench-eidc.json"

_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_CHECKSUM = re.compile(r"^(?:(?P<algorithm>[a-z0-9]+):)?(?P<digest>[0-9a-f]+)$")
_SCHEMES = ("http://", "https://", "doi:")
_CUBE = re.compile(r"^(?P<instrument>.+)_cube_(?P<k>[^_]+)\.fits$")
_FILE = re.compile(r"^(?P<instrument>.+)_(?P<kind>[A-Za-z]+)_(?P<k>[^_]+)\.fits$")
_WAVELENGTH_KINDS = frozenset(KINDS["wavelengths"])
_UNPACKED = "_unpacked"


# -- settings ---------------------------------------------------------------------------


def resolve_base_url(base_url=None):
    """The base URL downloads come from, ending with ``/``.

    Parameters
    ----------
    base_url : str, optional
        ``http://``, ``https://`` or ``doi:`` URL of the folder holding the files.
        By default the environment variable ``EXOBENCH_EIDC_URL`` when set and not
        empty, else :data:`DEFAULT_BASE_URL`.

    Returns
    -------
    str

    Examples
    --------
    >>> resolve_base_url("http://127.0.0.1:8000/eidc")
    'http://127.0.0.1:8000/eidc/'
    """
    name = "base_url"
    if base_url is None and os.environ.get(BASE_URL_ENV):
        base_url, name = os.environ[BASE_URL_ENV], f"${BASE_URL_ENV}"
    elif base_url is None:
        base_url = DEFAULT_BASE_URL
    if not isinstance(base_url, str) or not base_url.startswith(_SCHEMES):
        raise ValueError(f"{name}: expected a URL starting with {', '.join(_SCHEMES)}, got {base_url!r}")
    return base_url if base_url.endswith("/") else base_url + "/"


def _cache_folder(cache):
    if cache is not None:
        return Path(cache).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import pooch

    return Path(pooch.os_cache("exobench"))


def _check_timeout(timeout):
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not (
            math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout: expected a finite number of seconds > 0, got {timeout!r}")
    return float(timeout)


# -- the registry -----------------------------------------------------------------------


def check_registry(registry, *, names=None, allow_unverified=False):
    """Validate a registry of file names and checksums and select files from it.

    Parameters
    ----------
    registry : mapping of str to (str or None)
        File name -> checksum, ``"sha256:<64 hex digits>"`` (``md5:``, ``sha1:``,
        ``sha512:`` too; bare hex digits are SHA-256), or None when unknown.
    names : str or sequence of str, optional
        The files wanted; all of the registry by default.
    allow_unverified : bool
        Accept selected files without a checksum (with an
        :class:`~exobench.ExobenchWarning`); refused otherwise.

    Returns
    -------
    dict
        The selected files and their checksums (lower case), in registry order.

    Raises
    ------
    ValueError
        A malformed file name or checksum (naming ``registry``), an unknown or
        missing file name (naming ``names``), or a selected file without a
        checksum while ``allow_unverified`` is False.

    Examples
    --------
    >>> check_registry({"a.zip": "SHA256:" + "AB" * 32, "b.zip": "md5:" + "0" * 32}, names="a.zip")
    {'a.zip': 'sha256:abababababababababababababababababababababababababababababababab'}
    """
    if not isinstance(registry, Mapping):
        raise TypeError(f"registry: expected a mapping of file name -> checksum, got {type(registry).__name__}")
    checked = {_checked_name(name): _checked_checksum(name, value) for name, value in registry.items()}
    selected = {name: checked[name] for name in _selected_names(names, checked)}
    _check_verified(selected, allow_unverified)
    return selected


def _checked_name(name):
    if not isinstance(name, str) or not name or PurePosixPath(name).name != name or "\\" in name or name in (".", ".."):
        raise ValueError(f"registry: expected plain file names (no folder), got {name!r}")
    return name


def _checked_checksum(name, value):
    if value is None:
        return None
    match = _CHECKSUM.match(value.strip().lower()) if isinstance(value, str) else None
    algorithm = (match["algorithm"] or "sha256") if match else None
    if match is None or _HEX_DIGITS.get(algorithm) != len(match["digest"]):
        raise ValueError(f"registry: checksum of {name!r}: expected None or 'sha256:' and 64 hex digits "
                         f"(or md5: 32, sha1: 40, sha512: 128), got {value!r}")
    return f"{algorithm}:{match['digest']}"


def _selected_names(names, registry):
    if names is None:
        names = list(registry)
    elif isinstance(names, str):
        names = [names]
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError("names: expected at least one file name, got none")
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise ValueError(f"names: unknown file(s) {', '.join(map(repr, unknown))}; "
                         f"the registry holds {', '.join(map(repr, registry)) or 'nothing'}")
    return names


def _check_verified(selected, allow_unverified):
    unverified = [name for name, checksum in selected.items() if checksum is None]
    if not unverified:
        return
    listed = ", ".join(map(repr, unverified))
    if not allow_unverified:
        raise ValueError(f"registry: no checksum for {listed}; unverified downloads are refused. Give each file "
                         f"its 'sha256:...' (or 'md5:...') checksum in registry=, or pass allow_unverified=True")
    warnings.warn(f"registry: no checksum for {listed}; downloading without verification (allow_unverified=True)",
                  ExobenchWarning, stacklevel=4)


# -- downloading ------------------------------------------------------------------------


def fetch_eidc(names=None, *, registry=None, base_url=None, cache=None, allow_unverified=False,
               timeout=DEFAULT_TIMEOUT):
    """Download files of the EIDC record (or take them from the cache), checking their checksums.

    Parameters
    ----------
    names : str or sequence of str, optional
        File names of the registry; all of them by default.
    registry : mapping of str to (str or None), optional
        File name -> checksum, as :func:`check_registry` takes; by default
        :data:`EIDC_REGISTRY` as it is at the time of the call.
    base_url : str, optional
        See :func:`resolve_base_url` (argument, then ``$EXOBENCH_EIDC_URL``, then Zenodo).
    cache : str or path-like, optional
        Folder of the downloads; by default ``$EXOBENCH_EIDC_CACHE``, else
        ``pooch.os_cache("exobench")``.
    allow_unverified : bool
        Download files that have no checksum (with a warning) instead of refusing them.
    timeout : float
        Seconds to wait for the server (to connect, and between data) before failing.

    Returns
    -------
    dict of str to pathlib.Path
        Each file name and its local path.

    Raises
    ------
    ValueError
        A bad registry or name (before any download), or a downloaded file whose
        checksum differs from the registry's (the download is discarded: no file
        is left under the expected name).
    ConnectionError
        The server is unreachable, silent for ``timeout`` seconds, or answers an
        HTTP error; the message gives the URL.

    Examples
    --------
    >>> paths = fetch_eidc("Subchallenge 1.zip", registry={"Subchallenge 1.zip": "md5:..."})  # doctest: +SKIP
    """
    selected = check_registry(EIDC_REGISTRY if registry is None else registry, names=names,
                              allow_unverified=allow_unverified)
    timeout = _check_timeout(timeout)
    url = resolve_base_url(base_url)
    fetcher = _fetcher(selected, url, _cache_folder(cache))
    downloader = _downloader(url, timeout)
    with _quiet_pooch():
        return {name: _fetch_one(fetcher, name, downloader, timeout) for name in selected}


def _fetcher(registry, base_url, cache):
    import pooch

    urls = {name: _file_url(base_url, name) for name in registry}
    return pooch.create(path=cache, base_url=base_url, registry=dict(registry), urls=urls, retry_if_failed=0)


def _file_url(base_url, name):
    return base_url + (name if base_url.startswith("doi:") else quote(name))


def _downloader(base_url, timeout):
    import pooch

    if base_url.startswith("doi:"):
        return pooch.DOIDownloader(progressbar=False, timeout=timeout)
    return pooch.HTTPDownloader(progressbar=False, timeout=timeout)


@contextlib.contextmanager
def _quiet_pooch():
    """Pooch logs each download to stderr; exobench prints nothing, so mute it meanwhile."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _fetch_one(fetcher, name, downloader, timeout):
    import requests

    url = fetcher.get_url(name)
    hint = f"check base_url or ${BASE_URL_ENV}"
    try:
        return Path(fetcher.fetch(name, downloader=downloader))
    except requests.exceptions.HTTPError as exc:
        status = getattr(exc.response, "status_code", "an error")
        raise ConnectionError(f"url {url!r}: the server answered HTTP {status} for {name!r}, expected the file; "
                              f"{hint}") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise ConnectionError(f"url {url!r}: server unreachable or silent for {timeout:g} s while fetching "
                              f"{name!r}; {hint} and the network ({type(exc).__name__})") from exc
    except requests.exceptions.RequestException as exc:
        raise ConnectionError(f"url {url!r}: download of {name!r} failed ({exc}); {hint}") from exc
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise ValueError(f"registry: checksum mismatch for {name!r} downloaded from {url!r}: expected "
                         f"{fetcher.registry[name]}; the download was discarded and no file kept. The file may "
                         f"be corrupt or the checksum outdated ({exc})") from exc


# -- laying out -------------------------------------------------------------------------


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


# -- both -------------------------------------------------------------------------------


def eidc_sources(names=None, *, dest=None, registry=None, base_url=None, cache=None, allow_unverified=False,
                 timeout=DEFAULT_TIMEOUT, validate=True, overwrite=False):
    """Download EIDC archives and lay them out as builder sources, one folder per phase.

    Parameters
    ----------
    names : str or sequence of str, optional
        File names of the registry; all of them by default.
    dest : str or path-like, optional
        Folder of the layout (``dest/phase_1``, ``dest/phase_2``); by default
        ``eidc_sources`` in the cache folder.
    registry, base_url, cache, allow_unverified, timeout
        As in :func:`fetch_eidc`.
    validate, overwrite
        As in :func:`layout_sources`.

    Returns
    -------
    dict of int to pathlib.Path
        Phase (1: ADI, 3D; 2: ADI+mSDI, 4D) -> folder of its datasets in the
        EIDC layout, for the phases found.

    Raises
    ------
    ValueError, ConnectionError, FileExistsError
        As :func:`fetch_eidc` and :func:`layout_sources` raise them; a bad
        registry, name or ``dest`` is refused before any download.

    Examples
    --------
    >>> sums = {"Subchallenge 1.zip": "md5:...", "Subchallenge 2.zip": "md5:..."}  # from the record page
    >>> folders = eidc_sources(registry=sums)  # doctest: +SKIP
    >>> sorted(folders)  # doctest: +SKIP
    [1, 2]
    """
    dest = _cache_folder(cache) / "eidc_sources" if dest is None else Path(dest)
    if _read_marker(dest) is None:
        _existing_layout(dest, None, overwrite=overwrite)  # refuse a foreign dest before downloading
    archives = fetch_eidc(names, registry=registry, base_url=base_url, cache=cache,
                          allow_unverified=allow_unverified, timeout=timeout)
    return layout_sources(list(archives.values()), dest, validate=validate, overwrite=overwrite)
