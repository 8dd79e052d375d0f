"""Atomic file writes: a file is either written whole or not at all.

Every writer of exobench goes through :func:`atomic_path`: the content is written
to a temporary file in the destination's folder, flushed to disk (``fsync``), then
moved over the destination with :func:`os.replace`, which is atomic on POSIX and
Windows. On any error the temporary file is removed and the destination is left
as it was, so a reader never sees a half-written file.
"""

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "atomic_write", "atomic_write_fits", "check_new_file", "check_new_folder", "fits_array"]

_WRITE_MODES = ("w", "wb", "w+", "w+b", "wb+", "wt", "w+t")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write; it replaces ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist.

    Yields
    ------
    pathlib.Path
        An empty temporary file beside ``path``, for writers that want a file name
        (HDF5, FITS). It is fsynced and moved onto ``path`` on success, removed on error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"path: folder {str(path.parent)!r} does not exist (writing {str(path)!r})")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, _default_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(path, mode="wb", **open_kwargs):
    """Open a file for writing that appears at ``path`` only once fully written.

    Parameters
    ----------
    path : str or path-like
        The destination; an existing file is replaced only when the block succeeds.
    mode : str
        A write mode of :func:`open` (``"wb"``, ``"w"``, ``"w+b"``...); appending
        or reading modes make no sense for a fresh temporary file and are refused.
    **open_kwargs
        Passed to :func:`open` (``encoding``, ``newline``...).

    Yields
    ------
    file object

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "scores.txt"
    >>> with atomic_write(target, "w") as fh:
    ...     _ = fh.write("F1: 0.5\\n")
    >>> target.read_text()
    'F1: 0.5\\n'
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"mode: expected one of {', '.join(map(repr, _WRITE_MODES))}, got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh


def atomic_write_fits(path, data, header=None):
    """Write a FITS file atomically.

    Parameters
    ----------
    path : str or path-like
        The destination; an existing file is replaced.
    data : array_like or astropy.io.fits.HDUList
        The primary array, or a complete HDU list (then ``header`` must be None).
    header : astropy.io.fits.Header, optional
        Header of the primary HDU.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.io import fits
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "pxscale.fits"
    >>> atomic_write_fits(target, np.array([0.02719]))
    >>> fits.getdata(target).tolist()
    [0.02719]
    """
    from astropy.io import fits

    if isinstance(data, fits.HDUList):
        if header is not None:
            raise ValueError("header: expected None when data is an HDUList (set the HDUs' headers)")
        hdus = data
    else:
        hdus = fits.HDUList([fits.PrimaryHDU(data=fits_array(data), header=header)])
    with atomic_path(path) as tmp:
        hdus.writeto(tmp, overwrite=True, output_verify="exception")


def fits_array(data):
    """``data`` as an array FITS can hold (half precision widened, losslessly, to float32)."""
    array = np.asarray(data)
    if array.dtype == np.float16:  # FITS has no half precision: widen losslessly
        array = array.astype(np.float32)
    return array


def _fsync_file(path):
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_folder(folder):
    """Persist the rename itself (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode(path):
    """Permissions for the new file: the old file's, else those ``open`` would give."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask():
    try:  # Linux: read it without changing it (os.umask is process-wide and racy)
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_new_file(path, *, overwrite=False, suffix=None, name="output"):
    """Check, before any work, that a file can be written at ``path``: the one overwrite rule.

    An existing file is refused unless ``overwrite``; a folder at ``path``, a
    missing parent folder or another suffix than ``suffix`` (``".zip"``) always are.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if suffix is not None and path.suffix.lower() != suffix:
        raise ValueError(f"{name}: expected a {suffix} file, got {str(path)!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{name}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{name}: {str(path)!r} is a folder; give a file path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{name}: {str(path)!r} exists; pass overwrite=True (--overwrite) to replace it")
    return path


def check_new_folder(path, *, overwrite=False, name="output"):
    """Check, before any work, that files can be written into the folder ``path`` (made if missing).

    A folder that holds files is refused unless ``overwrite``; a file at ``path``
    or a missing parent folder always are.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{name}: {str(path)!r} is a file; give a folder")
    if not path.exists() and not path.parent.is_dir():
        raise FileNotFoundError(f"{name}: folder {str(path.parent)!r} does not exist")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"{name}: folder {str(path)!r} is not empty; pass overwrite=True (--overwrite) to "
                              f"write into it")
    return path
