"""Downloading files checked against their checksums (pooch), for every registry exobench keeps.

One place for the cache folder rule, the downloader of a base URL (HTTP(S) or
``doi:``), pooch's logging muted while exobench works, and the errors: a server
that answers with an error or not at all is a ``ConnectionError`` naming the
URL; a checksum mismatch is a ``ValueError`` (pooch discards the file).
"""

import contextlib
import logging
import os
from pathlib import Path
from urllib.parse import quote

__all__ = ["cache_folder", "make_fetcher", "downloader", "quiet_pooch", "fetch_file"]


def cache_folder(cache, env):
    """``cache``, else ``$env``, else pooch's cache folder for exobench."""
    if cache is not None:
        return Path(cache).expanduser()
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser()
    import pooch

    return Path(pooch.os_cache("exobench"))


def make_fetcher(registry, base_url, cache):
    """A pooch fetcher of ``{file name: checksum}`` from ``base_url`` into ``cache`` (no retries)."""
    import pooch

    urls = {name: base_url + (name if base_url.startswith("doi:") else quote(name)) for name in registry}
    return pooch.create(path=cache, base_url=base_url, registry=dict(registry), urls=urls, retry_if_failed=0)


def downloader(base_url, timeout):
    """Pooch's downloader for ``base_url``: DOI or HTTP(S), no progress bar."""
    import pooch

    if base_url.startswith("doi:"):
        return pooch.DOIDownloader(progressbar=False, timeout=timeout)
    return pooch.HTTPDownloader(progressbar=False, timeout=timeout)


@contextlib.contextmanager
def quiet_pooch():
    """Pooch logs each download to stderr; exobench prints nothing, so mute it meanwhile."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def fetch_file(fetcher, name, fetch_with, timeout, hint):
    """The local path of ``name``, downloaded and checked when needed; errors name the URL and say ``hint``."""
    import requests

    url = fetcher.get_url(name)
    try:
        return Path(fetcher.fetch(name, downloader=fetch_with))
    except requests.exceptions.HTTPError as exc:
        status = getattr(exc.response, "status_code", "an error")
        raise ConnectionError(f"url {url!r}: the server answered HTTP {status} for {name!r}, expected the file; "
                              f"{hint}") from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise ConnectionError(f"url {url!r}: server unreachable or silent for {timeout:g} s while fetching "
                              f"{name!r}; {hint} (and the network: {type(exc).__name__})") from exc
    except requests.exceptions.RequestException as exc:
        raise ConnectionError(f"url {url!r}: download of {name!r} failed ({exc}); {hint}") from exc
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise ValueError(f"registry: checksum mismatch for {name!r} downloaded from {url!r}: expected "
                         f"{fetcher.registry[name]}; the download was discarded and no file kept. The file may "
                         f"be corrupt or the checksum outdated ({exc})") from exc
