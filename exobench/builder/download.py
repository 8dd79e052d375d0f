"""Download the published data of the 2019 Exoplanet Imaging Data Challenge (EIDC).

The challenge data are on Zenodo, record `3361544 <https://zenodo.org/records/3361544>`_
(version 2.0, uploaded in September 2019 after a fix of missing frames in two
SPHERE-IFS cubes): archives of FITS files in the EIDC layout,
``{instrument}_cube_{k}.fits``, ``_pa_``, ``_psf_``, ``_pxscale_`` and, for the
spectral data, ``_wls_``. Phase 1 (sub-challenge 1, ADI, 3D cubes ``(t, y, x)``)
holds SPHERE-IRDIS, NIRC2 and LMIRCam data; phase 2 (sub-challenge 2, ADI+mSDI,
4D cubes ``(lambda, t, y, x)``) holds SPHERE-IFS and GPI data.

:func:`fetch_eidc` downloads archives with pooch, each checked against the
checksum of the registry; :func:`~exobench.builder.archives.layout_sources` unpacks them into one folder
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
"""

import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from .. import ExobenchWarning
from .._fetch import cache_folder, downloader, fetch_file, make_fetcher, quiet_pooch
from .._validate import check_number
from .archives import check_destination, layout_sources

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

_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

_CHECKSUM = re.compile(r"^(?:(?P<algorithm>[a-z0-9]+):)?(?P<digest>[0-9a-f]+)$")

_SCHEMES = ("http://", "https://", "doi:")


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
    timeout = check_number(timeout, "timeout", strict=True)
    url = resolve_base_url(base_url)
    fetcher = make_fetcher(selected, url, cache_folder(cache, CACHE_ENV))
    fetch_with = downloader(url, timeout)
    hint = f"check base_url or ${BASE_URL_ENV}"
    with quiet_pooch():
        return {name: fetch_file(fetcher, name, fetch_with, timeout, hint) for name in selected}


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
    dest = cache_folder(cache, CACHE_ENV) / "eidc_sources" if dest is None else Path(dest)
    check_destination(dest, overwrite=overwrite)  # refuse a foreign dest before downloading
    archives = fetch_eidc(names, registry=registry, base_url=base_url, cache=cache,
                          allow_unverified=allow_unverified, timeout=timeout)
    return layout_sources(list(archives.values()), dest, validate=validate, overwrite=overwrite)
