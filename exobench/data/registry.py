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
"""

import dataclasses
import hashlib
import os
from pathlib import Path

from .._fetch import cache_folder, downloader, fetch_file, make_fetcher, quiet_pooch
from .._registry import Registry

__all__ = ["RealDataset", "register_real_dataset", "real_datasets", "get_real_dataset", "fetch_real_dataset",
           "offline_folder", "DATA_URL_ENV", "REAL_DATA_ENV", "DATA_CACHE_ENV", "DEFAULT_TIMEOUT"]

#: A base URL that replaces every entry's public source (a mirror, a local server).
DATA_URL_ENV = "EXOBENCH_DATA_URL"
#: A folder holding the files already (offline use); checked by SHA-256 before it is used.
REAL_DATA_ENV = "EXOBENCH_REAL_DATA"
#: The cache folder of downloads.
DATA_CACHE_ENV = "EXOBENCH_DATA_CACHE"
#: Seconds a server may stay silent before a download fails.
DEFAULT_TIMEOUT = 60.0


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
    """

    name: str
    description: str
    files: dict
    base_url: str
    license: str = ""
    notes: str = ""

    def __post_init__(self):
        for file_name, digest in self.files.items():
            if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
                raise ValueError(f"files[{file_name!r}]: expected a SHA-256 of 64 lower-case hex digits, "
                                 f"got {digest!r}")
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


def get_real_dataset(name):
    """The entry registered as ``name`` (the error lists the names there are)."""
    return _DATASETS.get(name, where="name")


def offline_folder(entry, folder=None):
    """The offline folder (``folder``, else ``$EXOBENCH_REAL_DATA``) when it holds every file of
    ``entry`` with its registered checksum, else None."""
    folder = folder if folder is not None else os.environ.get(REAL_DATA_ENV)
    if not folder:
        return None
    folder = Path(folder).expanduser()
    for file_name, digest in entry.files.items():
        path = folder / file_name
        if not path.is_file() or _sha256(path) != digest:
            return None
    return folder


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
    url = base_url or os.environ.get(DATA_URL_ENV) or entry.base_url
    if not url.endswith("/"):
        url += "/"
    folder = cache_folder(cache, DATA_CACHE_ENV) / "real" / entry.name
    fetcher = make_fetcher({f: f"sha256:{h}" for f, h in entry.files.items()}, url, folder)
    hint = f"check base_url or ${DATA_URL_ENV}, or set ${REAL_DATA_ENV} to a folder holding the files"
    with quiet_pooch():
        for file_name in entry.files:
            fetch_file(fetcher, file_name, downloader(url, timeout), timeout, hint)
    return folder


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
    notes="101 x 101 frames, the star at pixel (51, 51) as its source gives it; pixel scale 0.02719 arcsec",
))
