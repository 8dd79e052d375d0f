"""Public real datasets: a small registry of files fetched with pooch, checked by SHA-256 and cached.

``exobench datasets list`` shows the entries, ``exobench datasets fetch NAME`` puts one
in the cache and prints its folder. Where the files come from, in order:

1. an offline folder, ``$EXOBENCH_REAL_DATA`` (:data:`REAL_DATA_ENV`), when it holds
   every file of the entry with the registered checksum (nothing is downloaded);
2. the cache (``cache=``, else ``$EXOBENCH_DATA_CACHE``, else pooch's cache folder),
   where a file with the right checksum is not downloaded again;
3. the entry's public source, or ``base_url=`` / ``$EXOBENCH_DATA_URL``
   (:data:`DATA_URL_ENV`: a mirror, a local server) in its place.

Every download is checked against the registered SHA-256; a mismatch is refused and
the file discarded.

An entry also says what its files hold, so that a user of the data (a challenge
definition's ``real:`` source) does not repeat it: which file is the cube, the angles,
the PSF (``roles``), where the star is in the cube's frames (``star``), the pixel
scale and the star's flux (``numbers``), and which other files are known to hold the
same data (``copies``: a crop under other names, checked by SHA-256 alike).
:func:`locate_real_dataset` finds the data without a download when it can (the offline
folder, the cache, a ``fallback`` folder holding the files or a known copy), and
downloads them only then.
"""

import dataclasses
import hashlib
import os
from pathlib import Path

from .._fetch import cache_folder, downloader, fetch_file, make_fetcher, quiet_pooch
from .._registry import Registry

__all__ = ["RealDataset", "DatasetCopy", "LocatedDataset", "register_real_dataset", "real_datasets",
           "get_real_dataset", "fetch_real_dataset", "locate_real_dataset", "offline_folder", "DATA_URL_ENV",
           "REAL_DATA_ENV", "DATA_CACHE_ENV", "DEFAULT_TIMEOUT", "ROLES"]

#: A base URL that replaces every entry's public source (a mirror, a local server).
DATA_URL_ENV = "EXOBENCH_DATA_URL"
#: A folder holding the files already (offline use); checked by SHA-256 before it is used.
REAL_DATA_ENV = "EXOBENCH_REAL_DATA"
#: The cache folder of downloads.
DATA_CACHE_ENV = "EXOBENCH_DATA_CACHE"
#: Seconds a server may stay silent before a download fails.
DEFAULT_TIMEOUT = 60.0
#: What a file of an entry may hold (:func:`exobench.data.load_dataset`'s file parameters).
ROLES = ("cube", "angles", "psf", "wavelengths")


def _check_layout(files, roles, star, where):
    """Refuse checksums that are not SHA-256, roles naming no file of ``files``, a star that is not a pixel."""
    for file_name, digest in files.items():
        if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise ValueError(f"{where}files[{file_name!r}]: expected a SHA-256 of 64 lower-case hex digits, "
                             f"got {digest!r}")
    for role, file_name in roles.items():
        if role not in ROLES:
            raise ValueError(f"{where}roles: unknown role {role!r}; expected one of {', '.join(ROLES)}")
        if file_name not in files:
            raise ValueError(f"{where}roles[{role!r}]: {file_name!r} is not one of the files")
    if roles and not {"cube", "angles"} <= set(roles):
        raise ValueError(f"{where}roles: expected at least cube and angles, got {', '.join(roles)}")
    if star is not None and not (isinstance(star, tuple) and len(star) == 2
                                 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in star)):
        raise ValueError(f"{where}star: expected the (x, y) pixel of the star, integers >= 0, got {star!r}")


@dataclasses.dataclass(frozen=True)
class DatasetCopy:
    """Other files known to hold an entry's data (a crop under other names), accepted in place of
    its files from a local folder when their SHA-256 match.

    Attributes
    ----------
    files : dict
        ``{file name: sha256}``.
    roles : dict
        ``{role: file name}``, roles among :data:`ROLES`.
    star : tuple of int
        The star's (x, y) pixel (0-based) in these files' frames.
    description : str
    """

    files: dict
    roles: dict
    star: tuple
    description: str = ""

    def __post_init__(self):
        _check_layout(self.files, self.roles, self.star, "copy: ")


@dataclasses.dataclass(frozen=True)
class RealDataset:
    """One public dataset: its files and their SHA-256, where they come from, what they hold.

    Attributes
    ----------
    name : str
    description : str
    files : dict
        ``{file name: sha256 (64 hex digits)}``.
    base_url : str
        The public source of the files (a folder URL, ending with ``/``).
    license : str
    notes : str
        What a user needs to read the files (geometry, units).
    roles : dict
        ``{role: file name}``: which file holds the cube, the angles, the PSF (roles
        among :data:`ROLES`); empty when the entry is not read as a dataset.
    star : tuple of int or None
        The star's (x, y) pixel (0-based, ``image[y, x]``) in the cube's frames.
    instrument : str
        The instrument's name in the files a build writes.
    numbers : dict
        Other parameters of :func:`exobench.data.load_dataset` (``pxscale``, ``star_flux``).
    copies : tuple of DatasetCopy
        Other files known to hold the same data, accepted from a local folder.
    """

    name: str
    description: str
    files: dict
    base_url: str
    license: str = ""
    notes: str = ""
    roles: dict = dataclasses.field(default_factory=dict)
    star: tuple | None = None
    instrument: str = ""
    numbers: dict = dataclasses.field(default_factory=dict)
    copies: tuple = ()

    def __post_init__(self):
        _check_layout(self.files, self.roles, self.star, "")
        if self.roles and self.star is None:
            raise ValueError("star: an entry read as a dataset (with roles) needs the star's (x, y) pixel")
        if not all(isinstance(copy, DatasetCopy) for copy in self.copies):
            raise ValueError("copies: expected a tuple of DatasetCopy")
        if not self.base_url.endswith("/"):
            raise ValueError(f"base_url: expected a folder URL ending with '/', got {self.base_url!r}")


_DATASETS = Registry("real dataset")


def register_real_dataset(entry):
    """Add ``entry`` (a :class:`RealDataset`) to the registry; returns it."""
    if not isinstance(entry, RealDataset):
        raise ValueError(f"entry: expected a RealDataset, got {type(entry).__name__}")
    return _DATASETS.register(entry.name, entry)


def real_datasets():
    """The registered datasets, in registration order.

    >>> [d.name for d in real_datasets()]
    ['naco-betapic']
    """
    return [entry for _, entry in _DATASETS.items()]


def get_real_dataset(name, *, where="name"):
    """The entry registered as ``name`` (the error names ``where`` and lists the names there are)."""
    return _DATASETS.get(name, where=where)


def offline_folder(entry, folder=None):
    """The offline folder (``folder``, else ``$EXOBENCH_REAL_DATA``) when it holds every file of
    ``entry`` with its registered checksum, else None."""
    folder = folder if folder is not None else os.environ.get(REAL_DATA_ENV)
    if not folder:
        return None
    folder = Path(folder).expanduser()
    return folder if _holds(folder, entry.files) else None


@dataclasses.dataclass(frozen=True)
class LocatedDataset:
    """Where :func:`locate_real_dataset` found a dataset.

    Attributes
    ----------
    entry : RealDataset
    paths : dict
        ``{role: path}`` of the files found (the entry's, or a copy's).
    star : tuple of int
        The star's (x, y) pixel in those files' frames.
    origin : str
        Where they were found, in words (for messages).
    """

    entry: RealDataset
    paths: dict
    star: tuple
    origin: str


def locate_real_dataset(name, *, fallback=None, cache=None, base_url=None, timeout=DEFAULT_TIMEOUT):
    """Find the files of dataset ``name``, downloading them only when no local folder holds them.

    In order: the offline folder (``$EXOBENCH_REAL_DATA``) and the cache, with the entry's
    files; the ``fallback`` folder, with the entry's files or one of its known copies (a
    crop); then a download into the cache as :func:`fetch_real_dataset` does. Every file is
    checked by SHA-256 before it is used.

    Parameters
    ----------
    name : str
        A registered entry with ``roles``.
    fallback : str or path-like, optional
        A folder tried before any network access.
    cache, base_url, timeout
        As in :func:`fetch_real_dataset`.

    Returns
    -------
    LocatedDataset

    Raises
    ------
    ValueError
        An unknown name, or an entry without roles.
    FileNotFoundError
        Found nowhere and not downloaded; one line that says what was tried, why the
        download failed (unreachable server, checksum mismatch) and how to get the data.
    """
    entry = get_real_dataset(name)
    if not entry.roles:
        raise ValueError(f"name: the real dataset {name!r} does not say which file is its cube (no roles)")
    offline = os.environ.get(REAL_DATA_ENV)
    cached = _cache_folder(entry, cache)
    candidates = [(Path(offline).expanduser(), entry, f"${REAL_DATA_ENV}") if offline else None,
                  (cached, entry, "the cache")]
    if fallback is not None:
        candidates += [(Path(fallback).expanduser(), layout, "the fallback folder")
                       for layout in (entry, *entry.copies)]
    for folder, layout, origin in filter(None, candidates):
        if _holds(folder, layout.files):
            return LocatedDataset(entry, {role: folder / f for role, f in layout.roles.items()}, layout.star,
                                  f"{origin} {folder}")
    tried = [f"${REAL_DATA_ENV} ({offline or 'unset'})", f"the cache {cached}"]
    if fallback is not None:
        tried.append(f"the fallback folder {fallback}")
    try:
        folder = _download(entry, cache, base_url, timeout)
    except (ConnectionError, ValueError) as exc:
        reason = str(exc).split("; ")[0]
        raise FileNotFoundError(f"real dataset {name!r}: not in {', '.join(tried)}, and not downloaded ({reason}); "
                                f"run `exobench datasets fetch {name}`, or set ${REAL_DATA_ENV} to a folder "
                                f"holding its files") from exc
    return LocatedDataset(entry, {role: folder / f for role, f in entry.roles.items()}, entry.star,
                          f"the cache {folder} (downloaded)")


def fetch_real_dataset(name, *, cache=None, base_url=None, timeout=DEFAULT_TIMEOUT):
    """The folder holding every file of dataset ``name``, checked (see the module for where they come from).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        An unknown name, or a download whose checksum is not the registered one.
    ConnectionError
        The server cannot be reached or answers with an error (the URL is named).
    """
    entry = get_real_dataset(name)
    offline = offline_folder(entry)
    if offline is not None:
        return offline
    return _download(entry, cache, base_url, timeout)


def _cache_folder(entry, cache):
    return cache_folder(cache, DATA_CACHE_ENV) / "real" / entry.name


def _download(entry, cache, base_url, timeout):
    """The cache folder of ``entry``, its files downloaded (and checked) where absent."""
    url = base_url or os.environ.get(DATA_URL_ENV) or entry.base_url
    if not url.endswith("/"):
        url += "/"
    folder = _cache_folder(entry, cache)
    fetcher = make_fetcher({f: f"sha256:{h}" for f, h in entry.files.items()}, url, folder)
    hint = f"check base_url or ${DATA_URL_ENV}, or set ${REAL_DATA_ENV} to a folder holding the files"
    with quiet_pooch():
        for file_name in entry.files:
            fetch_file(fetcher, file_name, downloader(url, timeout), timeout, hint)
    return folder


def _holds(folder, files):
    """Whether ``folder`` holds every file of ``{name: sha256}`` with that checksum."""
    return all((folder / name).is_file() and _sha256(folder / name) == digest for name, digest in files.items())


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


register_real_dataset(RealDataset(
    name="naco-betapic",
    description="VLT/NACO ADI sequence of beta Pictoris, the planet removed (the EIDC's sample data)",
    files={"naco_betapic_cube.fits": "caf115767969ec6fbd543e5dc9746e3729b8b72c28ed10d329ea5cdc02d7f313",
           "naco_betapic_pa.fits": "b3583ba82f9b510e8f31bfbc72aa63a6e4d7957b25ff56ae6db0b67e249e23d4",
           "naco_betapic_psf.fits": "ca4e0ad99c4119f3ad4e9b33fad9b157746343d8b54f4668681dfa1a398315be"},
    base_url="https://raw.githubusercontent.com/carlos-gg/exoimaging_challenge_extras/master/",
    license="MIT (carlos-gg/exoimaging_challenge_extras)",
    notes="101 x 101 frames, the star at pixel (51, 51) (x, y, 0-based); pixel scale 0.02719 arcsec",
    roles={"cube": "naco_betapic_cube.fits", "angles": "naco_betapic_pa.fits", "psf": "naco_betapic_psf.fits"},
    star=(51, 51),
    instrument="naco",
    # the star's 1-FWHM aperture flux in cube units (the PSF file is not in those units)
    numbers={"pxscale": 0.02719, "star_flux": 764939.6},
    copies=(DatasetCopy(
        files={"naco_betapic_empty_cube.fits": "5a2c26f4168c0105b768f03d15a8b623157adbc4e919293864619ee2c93ae8a5",
               "naco_betapic_empty_pa.fits": "b3583ba82f9b510e8f31bfbc72aa63a6e4d7957b25ff56ae6db0b67e249e23d4",
               "naco_betapic_psf.fits": "ca4e0ad99c4119f3ad4e9b33fad9b157746343d8b54f4668681dfa1a398315be"},
        roles={"cube": "naco_betapic_empty_cube.fits", "angles": "naco_betapic_empty_pa.fits",
               "psf": "naco_betapic_psf.fits"},
        star=(49, 49),
        description="the cube cropped to 99 x 99 (the first two rows and columns dropped), the same angles and PSF",
    ),),
))
