"""Writing a submission: one detection map per dataset and one threshold, in the EIDC format."""

import io
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .names import THRESHOLD_FILE, detmap_file_name

__all__ = ["submission_files", "write_submission", "write_files", "check_output", "fits_bytes"]


def submission_files(maps, threshold, *, header=None):
    """``{file name: FITS bytes}`` of a submission, sorted by name.

    Parameters
    ----------
    maps : mapping
        ``(instrument, dataset_id) -> 2D detection map``.
    threshold : float
        The phase's detection threshold (values strictly above it are detections).
    header : mapping, optional
        FITS cards added to every file, ``{keyword: value or (value, comment)}``.

    Examples
    --------
    >>> files = submission_files({("naco", "1"): np.zeros((5, 5))}, 5.0)
    >>> list(files)
    ['detection_threshold.fits', 'naco_detmap_1.fits']
    """
    threshold = _check_threshold(threshold)
    out = {}
    for key, image in maps.items():
        instrument, dataset_id = _check_key(key)
        image = np.asarray(image, dtype=np.float64)
        if image.ndim != 2:
            raise ValueError(f"maps[{key!r}]: expected a 2D detection map, got shape {image.shape}")
        out[detmap_file_name(instrument, dataset_id)] = fits_bytes(image, header)
    out[THRESHOLD_FILE] = fits_bytes(np.array([threshold], dtype=np.float64), header)
    return dict(sorted(out.items()))


def write_submission(maps, threshold, path, *, header=None, overwrite=False):
    """Write a submission, atomically: a zip archive or a folder.

    Parameters
    ----------
    maps : mapping
        ``(instrument, dataset_id) -> 2D detection map``.
    threshold : float
        The phase's detection threshold.
    path : str or path-like
        Ending in ``.zip``: a flat zip archive whose bytes depend only on the
        maps, the threshold and ``header`` (:mod:`exobench._zip`). Otherwise a
        folder, which must not exist or be empty; it appears only once every file
        is written.
    header : mapping, optional
        FITS cards added to every file (see :func:`submission_files`).
    overwrite : bool
        Replace an existing zip (a folder is never replaced).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> target = Path(tempfile.mkdtemp()) / "sub.zip"
    >>> _ = write_submission({("naco", "1"): np.zeros((5, 5))}, 5.0, target)
    >>> zipfile.ZipFile(target).namelist()
    ['detection_threshold.fits', 'naco_detmap_1.fits']
    """
    path = Path(path)
    check_output(path, overwrite=overwrite)
    return write_files(submission_files(maps, threshold, header=header), path)


def write_files(files, path):
    """Write ``{file name: bytes}`` as a reproducible zip (a path ending in ``.zip``) or a new folder,
    atomically; :func:`check_output` is the caller's to run first, before any work. Returns ``path``."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        from .._zip import write_zip

        write_zip(path, files)
        return path
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def check_output(path, *, overwrite=False):
    """Check, before any work, that a submission can be written at ``path`` (see :func:`write_submission`).

    Raises
    ------
    FileNotFoundError
        The folder that would hold it does not exist.
    FileExistsError
        A zip exists and ``overwrite`` is false, or a folder path is a file or a folder that is not empty.
    """
    from .._atomic import check_new_file

    path = Path(path)
    if path.suffix.lower() == ".zip":
        return check_new_file(path, overwrite=overwrite)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output: folder {str(path.parent)!r} does not exist")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):  # a folder is never written into
        what = "a file" if not path.is_dir() else "a folder that is not empty"
        raise FileExistsError(f"output: {str(path)!r} is {what}; give a new folder or a .zip path")
    return path


def _check_key(key):
    if (not isinstance(key, tuple) or len(key) != 2
            or not all(isinstance(part, str) and part for part in key)):
        raise ValueError(f"maps: expected keys (instrument, dataset_id) of two strings, got {key!r}")
    return key


def _check_threshold(threshold):
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating, np.integer)) \
            or not math.isfinite(threshold):
        raise ValueError(f"threshold: expected a finite number, got {threshold!r}")
    return float(threshold)


def fits_bytes(data, header, *, extensions=()):
    """The bytes of a FITS file: ``data`` in the primary HDU, then each of ``extensions`` as an image HDU;
    ``header``'s cards (``{keyword: value or (value, comment)}``) in the primary header."""
    from astropy.io import fits

    cards = fits.Header()
    for keyword, value in (header or {}).items():
        cards[keyword] = value
    buffer = io.BytesIO()
    hdus = [fits.PrimaryHDU(data=data, header=cards)] + [fits.ImageHDU(data=extra) for extra in extensions]
    fits.HDUList(hdus).writeto(buffer, output_verify="exception")
    return buffer.getvalue()
