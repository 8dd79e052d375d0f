"""Intake of participant submissions, hostile until proven otherwise.

A submission of a phase is a flat set of FITS files (usually zipped)::

    {instrument}_detmap_{k}.fits    2D detection map, one per dataset of the phase
    detection_threshold.fits        one number: values strictly above it are detections
    {instrument}_fwhm_{k}.fits      optional, the participant's FWHM (used only with compat="eidc")
    npix.fits                       optional counting options (honoured only with compat="eidc")
    overlap_threshold.fits
    max_blob_fact.fits

Everything read here is bounded before it is read, and every refusal raises a
:class:`SubmissionError` whose message names the file and the problem:

- zip archives: entries with ``..`` or absolute paths, symbolic links and other
  non-regular entries, encrypted entries, duplicate names or names differing only
  in case, a file named ``metadata`` (a platform would take the zip for code),
  more than :attr:`Limits.max_files` files, nested folders (the files may sit at
  the top of the archive or in one top folder), and zip bombs: the sizes are
  counted while the entries are streamed out (the sizes the archive declares are
  checked first but never trusted), against a per-file and a total limit and, past
  :attr:`Limits.ratio_floor_bytes`, a compression-ratio limit;
- folders (what a platform worker unzipped): the same rules, with symbolic links
  and special files refused and nothing opened through a link;
- FITS files: the headers are parsed (at most :attr:`Limits.max_header_blocks`
  blocks per HDU, :attr:`Limits.max_hdus` HDUs) and the array size they claim is
  checked against the limits and the file size before any data is read; compressed
  (gzip) FITS, tables and random groups are refused;
- maps: 2D (leading axes of length 1 are dropped), of the dataset's frame shape
  when the reference knows it, else at least :attr:`Limits.min_map_side` and at
  most :attr:`Limits.max_map_side` pixels a side;
- values: NaN is no detection (stored as ``-inf``); ``+inf`` is a detection at
  every threshold and ``-inf`` at none, as the rule "strictly above the
  threshold" says for any finite threshold;
- ``detection_threshold.fits`` must hold exactly one finite number;
- option files must hold one finite number in their range (``npix`` a whole number
  >= 1, ``overlap_threshold`` in (0, 1], ``max_blob_fact`` > 0, FWHM > 0);
- a missing map is not an error (partial submissions are allowed): it is scored
  as an empty map, every injection of its dataset a false negative, with a warning.

Files of other names are ignored with a warning. The FITS reader here is a small
header-first one (numpy only) rather than :mod:`exobench.data.fits_io`, whose
readers load the data before any size check and pull in the dataset model.
"""

import dataclasses
import math
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "SubmissionError",
    "Limits",
    "Submission",
    "open_submission",
    "extract_zip",
    "list_submission_files",
    "read_submission",
    "read_fits_array",
    "read_fits_scalar",
    "THRESHOLD_FILE",
    "OPTION_FILES",
]

THRESHOLD_FILE = "detection_threshold.fits"
#: Optional counting options a participant may give, file name -> option name.
OPTION_FILES = {
    "npix.fits": "npix",
    "overlap_threshold.fits": "overlap_threshold",
    "max_blob_fact.fits": "max_blob_fact",
}
#: Names the platforms or operating systems add to archives; skipped without a word.
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_JUNK_FOLDERS = {"__macosx"}
_INSTRUMENT, _DATASET_ID = r"(?P<instrument>[A-Za-z0-9][A-Za-z0-9.\-_]*)", r"(?P<k>[A-Za-z0-9][A-Za-z0-9.\-]*)"
_DETMAP_NAME = re.compile(rf"^{_INSTRUMENT}_detmap_{_DATASET_ID}\.fits$")
_FWHM_NAME = re.compile(rf"^{_INSTRUMENT}_fwhm_{_DATASET_ID}\.fits$")
_BLOCK = 2880
_CARD = 80
_BITPIX_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
_CHUNK = 1 << 16
_MIB = 1 << 20


class SubmissionError(ValueError):
    """A submission that cannot be scored; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on what a submission may hold; every one is checked before the work it bounds.

    The defaults leave room for the largest EIDC phase (10 maps of up to 300 x 300
    pixels, their FWHM files, the threshold and the option files) many times over.
    """

    #: Size of the zip archive itself.
    max_archive_bytes: int = 256 * _MIB
    #: Entries of the archive's directory (files, folders and skipped junk together).
    max_entries: int = 1000
    #: Files of the submission (after skipping platform junk such as ``__MACOSX/``).
    max_files: int = 100
    #: Uncompressed size of one file.
    max_file_bytes: int = 64 * _MIB
    #: Uncompressed size of all files together.
    max_total_bytes: int = 256 * _MIB
    #: Largest uncompressed / compressed size ratio of an entry, checked once the entry
    #: has produced more than ``ratio_floor_bytes`` (small, very compressible maps, such
    #: as an all-zero map, stay acceptable).
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 4 * _MIB
    #: FITS structure: header blocks of 2880 bytes per HDU, and HDUs looked at per file.
    max_header_blocks: int = 100
    max_hdus: int = 8
    #: Map sides, in pixels, when the reference does not give the frame shape.
    min_map_side: int = 8
    max_map_side: int = 4096
    #: Pixels of one map.
    max_map_pixels: int = 2048 * 2048


DEFAULT_LIMITS = Limits()


@dataclasses.dataclass(frozen=True, eq=False)
class Submission:
    """A validated submission of one phase.

    Attributes
    ----------
    threshold : float
        The detection threshold (finite).
    detmaps : dict
        ``(instrument, dataset_id) -> 2D float64 array`` for every dataset of the
        reference, NaN replaced by ``-inf``; a missing map is an empty map (all
        ``-inf``) listed in ``missing``.
    missing : tuple of (str, str)
        Datasets without a map.
    fwhms : dict
        The participant's FWHM per dataset, when given (used only with ``compat="eidc"``).
    options : dict
        Counting options the participant gave (``npix``, ``overlap_threshold``,
        ``max_blob_fact``).
    files : dict
        ``name -> path`` of the files read.
    warnings : tuple of str
    """

    threshold: float
    detmaps: dict
    missing: tuple
    fwhms: dict
    options: dict
    files: dict
    warnings: tuple


# -- opening: zip or folder ---------------------------------------------------------------


def open_submission(path, work_dir, *, limits=DEFAULT_LIMITS):
    """The folder of files of a submission given as a zip archive or a folder.

    A zip is extracted, flattened, into a fresh temporary folder inside ``work_dir``
    (which the caller removes); a folder is used in place.

    Returns
    -------
    pathlib.Path
        The folder holding the submission's files, at its top level.
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"submission {str(path)!r}: not found")
    if path.is_symlink():
        raise SubmissionError(f"submission {str(path)!r}: is a symbolic link; give the file or folder itself")
    if path.is_dir():
        return path
    if not zipfile.is_zipfile(path):
        raise SubmissionError(f"submission {str(path)!r}: not a zip archive nor a folder")
    dest = Path(tempfile.mkdtemp(prefix="submission-", dir=work_dir))
    extract_zip(path, dest, limits=limits)
    return dest


def extract_zip(archive, dest, *, limits=DEFAULT_LIMITS):
    """Extract the files of a submission zip into the empty folder ``dest``, flattened.

    The archive's directory is checked whole before anything is written; the sizes
    are then enforced again while each entry is streamed out. On error, what was
    written in ``dest`` is removed.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    archive, dest = Path(archive), Path(dest)
    where = f"zip {archive.name!r}"
    size = archive.stat().st_size
    if size > limits.max_archive_bytes:
        raise SubmissionError(f"{where}: {size} bytes, more than the limit of {limits.max_archive_bytes} bytes")
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_entries:
                raise SubmissionError(f"{where}: {len(infos)} entries, more than the limit of {limits.max_entries}")
            members = _plan_zip(infos, where, limits)
            written = []
            try:
                total = 0
                for info, name in members:
                    target = dest / name
                    total += _extract_entry(zf, info, target, where, total, limits)
                    written.append(target)
            except BaseException:
                for target in written + [dest / name for _, name in members]:
                    _unlink_quietly(target)
                raise
            return written
    except SubmissionError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError,
            RuntimeError, ValueError, OverflowError) as exc:
        raise SubmissionError(f"{where}: corrupt or unsupported zip archive ({exc})") from exc


def _plan_zip(infos, where, limits):
    """``(info, flat name)`` of the entries to extract, after checking every entry."""
    files = []
    for info in infos:
        raw = info.filename
        name = raw.replace("\\", "/")
        label = f"{where}: entry {raw!r}"
        if "\x00" in name or any(ord(c) < 32 for c in name):
            raise SubmissionError(f"{label}: control characters in the name")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise SubmissionError(f"{label}: absolute path; entries must be relative")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise SubmissionError(f"{label}: '..' in the path; entries must stay inside the archive")
        if any(len(p.encode("utf-8", "surrogateescape")) > 200 for p in parts):
            raise SubmissionError(f"{label}: a name longer than 200 bytes")
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_IFMT(mode):  # Unix attributes
            if stat.S_ISLNK(mode):
                raise SubmissionError(f"{label}: a symbolic link; links are not accepted")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise SubmissionError(f"{label}: not a regular file (special file type {stat.S_IFMT(mode):o})")
        if info.flag_bits & 0x1:
            raise SubmissionError(f"{label}: encrypted; submit an archive without a password")
        if not parts or info.is_dir():
            continue
        if _is_junk(parts):
            continue
        files.append((info, parts))
    if len(files) > limits.max_files:
        raise SubmissionError(f"{where}: {len(files)} files, more than the limit of {limits.max_files}")
    flat = _flatten([parts for _, parts in files], where)
    declared = 0
    for (info, parts), name in zip(files, flat):
        if info.file_size > limits.max_file_bytes:
            raise SubmissionError(f"{where}: entry {info.filename!r} declares {info.file_size} bytes, "
                                  f"more than the limit of {limits.max_file_bytes} bytes per file")
        declared += info.file_size
    if declared > limits.max_total_bytes:
        raise SubmissionError(f"{where}: the entries declare {declared} bytes in all, "
                              f"more than the limit of {limits.max_total_bytes} bytes")
    return [(info, name) for (info, _), name in zip(files, flat)]


def _is_junk(parts):
    return parts[0].lower() in _JUNK_FOLDERS or parts[-1].lower() in _JUNK_NAMES or parts[-1].startswith("._")


def _flatten(paths, where):
    """File names once the one accepted top folder is stripped; nesting, duplicates and ``metadata`` refused."""
    if paths and all(len(p) == 2 for p in paths) and len({p[0] for p in paths}) == 1:
        paths = [p[1:] for p in paths]  # one top folder, as participants often zip one
    for parts in paths:
        if len(parts) > 1:
            shown = "/".join(parts)
            raise SubmissionError(f"{where}: {shown!r} is in a nested folder; put the files at the top of the "
                                  f"archive (or all in one top folder)")
    names = [p[0] for p in paths]
    _check_names(names, where)
    return names


def _check_names(names, where):
    seen = {}
    for name in names:
        if name.casefold() == "metadata":
            raise SubmissionError(f"{where}: holds a file named {name!r}, which makes the platform treat the "
                                  f"submission as code; remove it")
        if name.casefold() in seen:
            other = seen[name.casefold()]
            what = "twice" if other == name else f"and {other!r}: names differing only in case"
            raise SubmissionError(f"{where}: {name!r} {what}; every file name must be unique")
        seen[name.casefold()] = name


def _extract_entry(zf, info, target, where, total_before, limits):
    """Stream one entry to ``target`` with the limits enforced on the bytes actually produced."""
    label = f"{where}: entry {info.filename!r}"
    compressed = max(int(info.compress_size), 1)
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out, zf.open(info) as src:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > limits.max_file_bytes:
                raise SubmissionError(f"{label}: more than {limits.max_file_bytes} bytes once uncompressed "
                                      f"(limit per file); zip bomb?")
            if total_before + written > limits.max_total_bytes:
                raise SubmissionError(f"{where}: more than {limits.max_total_bytes} bytes once uncompressed "
                                      f"(limit for all files); zip bomb?")
            if written > limits.ratio_floor_bytes and written > limits.max_ratio * compressed:
                raise SubmissionError(f"{label}: compression ratio above {limits.max_ratio:g} "
                                      f"({compressed} bytes give more than {written}); zip bomb?")
            out.write(chunk)
    return written


def _unlink_quietly(path):
    try:
        path.unlink()
    except OSError:
        pass


# -- the files of a folder ----------------------------------------------------------------


def list_submission_files(folder, *, limits=DEFAULT_LIMITS):
    """``name -> path`` of the files of a submission folder, after the intake checks.

    The files may sit in ``folder`` or in its one subfolder (with nothing else
    beside it). Symbolic links, special files, deeper folders, a ``metadata``
    file, names differing only in case, too many or too large files are refused;
    platform junk (``__MACOSX/``, ``.DS_Store``, ``._*``) is skipped.
    """
    folder = Path(folder)
    where = f"submission folder {folder.name!r}"
    if folder.is_symlink() or not folder.is_dir():
        raise SubmissionError(f"{where}: not a folder")
    entries = _scan(folder, where, limits)
    subfolders = [e for e in entries if e.is_dir(follow_symlinks=False)]
    files = [e for e in entries if not e.is_dir(follow_symlinks=False)]
    if len(subfolders) == 1 and not files:
        top = subfolders[0]
        where = f"{where} (in its folder {top.name!r})"
        entries = _scan(Path(top.path), where, limits)
        subfolders = [e for e in entries if e.is_dir(follow_symlinks=False)]
        files = [e for e in entries if not e.is_dir(follow_symlinks=False)]
    if subfolders:
        raise SubmissionError(f"{where}: holds the folder {subfolders[0].name!r}; put the files at the top "
                              f"(or all in one top folder)")
    if len(files) > limits.max_files:
        raise SubmissionError(f"{where}: {len(files)} files, more than the limit of {limits.max_files}")
    _check_names([e.name for e in files], where)
    total = 0
    found = {}
    for entry in files:
        info = entry.stat(follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{where}: {entry.name!r} is not a regular file")
        if info.st_size > limits.max_file_bytes:
            raise SubmissionError(f"{where}: {entry.name!r} has {info.st_size} bytes, more than the limit of "
                                  f"{limits.max_file_bytes} bytes per file")
        total += info.st_size
        if total > limits.max_total_bytes:
            raise SubmissionError(f"{where}: more than {limits.max_total_bytes} bytes in all")
        found[entry.name] = Path(entry.path)
    return found


def _scan(folder, where, limits):
    """The entries of one folder, links and special files refused, junk skipped."""
    kept = []
    with os.scandir(folder) as it:
        for count, entry in enumerate(it):
            if count >= limits.max_entries:
                raise SubmissionError(f"{where}: more than {limits.max_entries} entries")
            if entry.is_symlink():
                raise SubmissionError(f"{where}: {entry.name!r} is a symbolic link; links are not accepted")
            if entry.name.lower() in _JUNK_FOLDERS or entry.name.lower() in _JUNK_NAMES or entry.name.startswith("._"):
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise SubmissionError(f"{where}: {entry.name!r} is not a regular file nor a folder")
            kept.append(entry)
    return sorted(kept, key=lambda e: e.name)


# -- reading ------------------------------------------------------------------------------


def read_submission(folder, reference, *, compat=None, limits=DEFAULT_LIMITS):
    """Validate and read the files of a submission folder against a reference phase.

    Parameters
    ----------
    folder : str or path-like
        A folder of submission files (see :func:`open_submission` for zips).
    reference : exobench.scoring.reference.Reference
        The phase: its datasets and, where known, their frame shapes.
    compat : None or "eidc"
        Only changes which warnings are given about the FWHM and option files
        (they are read and validated in both modes).
    limits : Limits

    Returns
    -------
    Submission

    Raises
    ------
    SubmissionError
    """
    files = list_submission_files(folder, limits=limits)
    warnings = []
    if THRESHOLD_FILE not in files:
        hint = _case_hint(THRESHOLD_FILE, files)
        raise SubmissionError(f"{THRESHOLD_FILE}: missing; a submission needs one detection threshold{hint}")
    threshold = read_fits_scalar(files[THRESHOLD_FILE], name=THRESHOLD_FILE, limits=limits)
    if not math.isfinite(threshold):
        raise SubmissionError(f"{THRESHOLD_FILE}: expected a finite number, got {threshold!r}")
    wanted = {(d.instrument, d.dataset_id): d for d in reference.datasets}
    maps, fwhms, options, used, ignored, nan_counts = {}, {}, {}, {THRESHOLD_FILE}, [], {}
    for name, path in files.items():
        if name in used:
            continue
        detmap, fwhm = _DETMAP_NAME.match(name), _FWHM_NAME.match(name)
        if detmap or fwhm:
            key = ((detmap or fwhm)["instrument"], (detmap or fwhm)["k"])
            if key not in wanted:
                warnings.append(f"{name}: no dataset {key[0]} {key[1]} in this phase; ignored")
                continue
            if detmap:
                maps[key] = _read_map(path, name, wanted[key].map_shape, limits, warnings, nan_counts)
            else:
                fwhms[key] = _read_option(path, name, "fwhm", limits)
            used.add(name)
        elif name in OPTION_FILES:
            options[OPTION_FILES[name]] = _read_option(path, name, OPTION_FILES[name], limits)
            used.add(name)
        else:
            ignored.append(name)
    if nan_counts:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(nan_counts.items()))
        warnings.append(f"NaN values, counted as no detection: {listed}")
    if ignored:
        shown = ", ".join(repr(n) + _case_hint(n, {}, expected=_expected_names(wanted)) for n in ignored[:10])
        more = f" and {len(ignored) - 10} more" if len(ignored) > 10 else ""
        warnings.append(f"ignored files not part of the submission format: {shown}{more}")
    if not maps:
        expected = ", ".join(sorted(f"{i}_detmap_{k}.fits" for i, k in wanted)[:4])
        archives = [n for n in ignored if n.lower().endswith(".zip")]
        hint = (f"; found {archives[0]!r}: zip the FITS files themselves, not an archive of archives"
                if archives else "")
        raise SubmissionError(f"submission: no detection map of this phase found (expected names such as "
                              f"{expected}){hint}; nothing to score")
    missing = tuple(key for key in wanted if key not in maps)
    for key in missing:
        shape = _empty_shape(wanted[key], key, maps)
        maps[key] = np.full(shape, -np.inf)
        warnings.append(f"{key[0]}_detmap_{key[1]}.fits: missing; scored as an empty map "
                        f"(its {wanted[key].n_injections} injection(s) count as false negatives)")
    if compat != "eidc":
        if fwhms:
            warnings.append("participant FWHM files ignored: the reference FWHM is used (they count only "
                            "with compat='eidc')")
        if options:
            listed = ", ".join(sorted(options))
            warnings.append(f"participant counting options ignored ({listed}): the phase's options are used "
                            f"(they count only with compat='eidc')")
    ordered = {key: maps[key] for key in wanted}
    return Submission(threshold=threshold, detmaps=ordered, missing=missing, fwhms=fwhms, options=options,
                      files={name: files[name] for name in sorted(used)}, warnings=tuple(warnings))


def _expected_names(wanted):
    names = {THRESHOLD_FILE, *OPTION_FILES}
    for instrument, k in wanted:
        names.update({f"{instrument}_detmap_{k}.fits", f"{instrument}_fwhm_{k}.fits"})
    return names


def _case_hint(name, files, *, expected=()):
    """`` (did you mean ...?)`` when a name differs from an expected one only in case."""
    pool = list(files) if files else list(expected)
    for other in pool:
        if other != name and other.lower() == name.lower():
            return f" (did you mean {other!r}? names are case-sensitive)"
    return ""


def _empty_shape(dataset, key, maps):
    """Shape of the empty map standing for a missing one."""
    if dataset.map_shape is not None:
        return tuple(dataset.map_shape)
    same = [m.shape for (instrument, _), m in maps.items() if instrument == key[0]]
    ny, nx = same[0] if same else next(iter(maps.values())).shape
    if dataset.n_injections:  # large enough to hold every injection
        x_max, y_max = np.max(dataset.positions, axis=0)
        ny, nx = max(ny, int(math.ceil(y_max + 0.5)) + 1), max(nx, int(math.ceil(x_max + 0.5)) + 1)
    return (ny, nx)


def _read_map(path, name, expected_shape, limits, warnings, nan_counts):
    data = read_fits_array(path, name=name, limits=limits, max_values=limits.max_map_pixels)
    shape = data.shape
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise SubmissionError(f"{name}: expected a 2D detection map, got an array of shape {shape}")
    if data.ndim != len(shape):
        warnings.append(f"{name}: array of shape {shape} read as a 2D map of shape {data.shape}")
    if expected_shape is not None:
        if tuple(data.shape) != tuple(expected_shape):
            raise SubmissionError(f"{name}: expected a map of shape {tuple(expected_shape)} (the dataset's "
                                  f"frame), got {data.shape}")
    else:
        ny, nx = data.shape
        if min(ny, nx) < limits.min_map_side or max(ny, nx) > limits.max_map_side:
            raise SubmissionError(f"{name}: map of shape {data.shape}; expected sides of "
                                  f"{limits.min_map_side} to {limits.max_map_side} pixels")
    nan = np.isnan(data)
    n_nan = int(np.count_nonzero(nan))
    if n_nan:
        data = np.where(nan, -np.inf, data)
        nan_counts[name] = n_nan
    return np.ascontiguousarray(data, dtype=np.float64)


_OPTION_RULES = {
    "npix": ("a whole number >= 1", lambda v: v >= 1 and v == round(v) and v <= 1e6),
    "overlap_threshold": ("a number in (0, 1]", lambda v: 0.0 < v <= 1.0),
    "max_blob_fact": ("a number > 0", lambda v: v > 0),
    "fwhm": ("a number of pixels > 0", lambda v: 0 < v < 1e4),
}


def _read_option(path, name, option, limits):
    value = read_fits_scalar(path, name=name, limits=limits)
    expected, rule = _OPTION_RULES[option]
    if not math.isfinite(value) or not rule(value):
        raise SubmissionError(f"{name}: expected {expected}, got {value!r}")
    return int(round(value)) if option == "npix" else value


# -- a small header-first FITS reader --------------------------------------------------------


def read_fits_array(path, *, name=None, limits=DEFAULT_LIMITS, max_values=None, cards=("VALUE",)):
    """The first image of a FITS file as float64, its size checked from the headers first.

    Parameters
    ----------
    path : str or path-like
    name : str, optional
        How to call the file in messages (default: its name).
    limits : Limits
        ``max_header_blocks`` and ``max_hdus`` bound the parsing.
    max_values : int, optional
        Most values the array may hold (default ``limits.max_map_pixels``).
    cards : sequence of str
        Header cards that may hold the value of a file with no data (``NAXIS = 0``);
        such a file reads as a shape-(1,) array.

    Returns
    -------
    ndarray of float64
        With ``BSCALE``/``BZERO`` applied and integer ``BLANK`` values as NaN; shape
        in numpy order (the last axis is ``NAXIS1``). A file with no data and no value
        card gives an empty array.

    Raises
    ------
    SubmissionError
        On anything that is not a plain, complete FITS image within the limits.
    """
    path = Path(path)
    name = name or path.name
    max_values = limits.max_map_pixels if max_values is None else max_values
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise SubmissionError(f"{name}: not found") from None
    except OSError as exc:
        raise SubmissionError(f"{name}: cannot be opened ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = fh.read(_CARD)
        if not start:
            raise SubmissionError(f"{name}: empty file, expected a FITS file")
        if start[:2] == b"\x1f\x8b":
            raise SubmissionError(f"{name}: gzip-compressed FITS is not accepted; give the plain .fits file")
        if not start.startswith(b"SIMPLE  ="):
            raise SubmissionError(f"{name}: not a FITS file (it does not start with a SIMPLE card)")
        offset, headers = 0, []
        for index in range(limits.max_hdus):
            if offset >= size:
                break
            header, header_bytes = _read_header(fh, offset, size, name, index, limits)
            headers.append(header)
            shape, n_values, data_bytes, is_image = _data_layout(header, name, index)
            data_start = offset + header_bytes
            padded = -(-data_bytes // _BLOCK) * _BLOCK
            if is_image and n_values:
                if n_values > max_values:
                    raise SubmissionError(f"{name}: header claims an array of shape {shape} ({n_values} values), "
                                          f"more than the limit of {max_values}")
                if data_start + data_bytes > size:
                    raise SubmissionError(f"{name}: truncated FITS file (the header announces {data_bytes} bytes of "
                                          f"data, the file holds {max(size - data_start, 0)})")
                return _read_data(fh, data_start, shape, header, name)
            if not is_image and data_bytes:
                raise SubmissionError(f"{name}: holds a table (HDU {index}), expected an image array of numbers")
            offset = data_start + padded
    for header in headers:
        for card in cards:
            if card in header:
                value = header[card]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise SubmissionError(f"{name}: expected a number in header card {card}, got {value!r}")
                return np.array([float(value)])
    return np.zeros((0,))


def read_fits_scalar(path, *, name=None, limits=DEFAULT_LIMITS, cards=("VALUE",)):
    """The single number of a FITS file (shape ``(1,)``, ``(1, 1)``..., or ``NAXIS = 0`` with a value card)."""
    name = name or Path(path).name
    values = read_fits_array(path, name=name, limits=limits, max_values=64, cards=cards)
    if values.size != 1:
        raise SubmissionError(f"{name}: expected a single number, got an array of shape {values.shape}")
    return float(values.ravel()[0])


def _read_header(fh, offset, size, name, index, limits):
    """The cards of one header as a dict, and the header's length in bytes."""
    fh.seek(offset)
    header = {}
    for block in range(limits.max_header_blocks):
        raw = fh.read(_BLOCK)
        if len(raw) < _BLOCK:
            raise SubmissionError(f"{name}: truncated FITS header (HDU {index})")
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise SubmissionError(f"{name}: not a FITS file (non-ASCII bytes in the header of HDU {index})") from None
        for i in range(0, _BLOCK, _CARD):
            card = text[i:i + _CARD]
            keyword = card[:8].rstrip()
            if keyword == "END":
                _check_first_card(header, name, index)
                return header, (block + 1) * _BLOCK
            if card[8:10] == "= " and keyword not in header:
                header[keyword] = _card_value(card[10:])
            if not header and index == 0 and keyword != "SIMPLE":
                raise SubmissionError(f"{name}: not a FITS file (no SIMPLE card first)")
    raise SubmissionError(f"{name}: FITS header of HDU {index} longer than {limits.max_header_blocks} blocks "
                          f"of 2880 bytes (or no END card)")


def _check_first_card(header, name, index):
    if index == 0 and header.get("SIMPLE") is not True:
        raise SubmissionError(f"{name}: not a standard FITS file (SIMPLE = {header.get('SIMPLE')!r})")
    if index > 0 and "XTENSION" not in header:
        raise SubmissionError(f"{name}: malformed FITS extension (HDU {index} has no XTENSION card)")


def _card_value(text):
    """The value of a card: str, bool, int, float, or None when unparsable."""
    text = text.strip()
    if text.startswith("'"):
        out, i = [], 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(text[i])
            i += 1
        return "".join(out).rstrip()
    text = text.split("/", 1)[0].strip()
    if text == "T":
        return True
    if text == "F":
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text.replace("D", "E").replace("d", "e"))
    except ValueError:
        return None


def _data_layout(header, name, index):
    """``(shape, values, data bytes, is image)`` of an HDU from its header."""
    bitpix, naxis = header.get("BITPIX"), header.get("NAXIS")
    if bitpix not in _BITPIX_DTYPES or isinstance(bitpix, bool):
        raise SubmissionError(f"{name}: invalid BITPIX {bitpix!r} (HDU {index})")
    if not isinstance(naxis, int) or isinstance(naxis, bool) or not 0 <= naxis <= 999:
        raise SubmissionError(f"{name}: invalid NAXIS {naxis!r} (HDU {index})")
    axes = []
    for n in range(1, naxis + 1):
        length = header.get(f"NAXIS{n}")
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise SubmissionError(f"{name}: invalid NAXIS{n} {length!r} (HDU {index})")
        axes.append(length)
    n_values = math.prod(axes) if axes else 0
    shape = tuple(reversed(axes))
    if index == 0:
        if header.get("GROUPS") is True or (axes and axes[0] == 0 and naxis > 1):
            raise SubmissionError(f"{name}: random-groups FITS is not accepted")
        return shape, n_values, n_values * abs(bitpix) // 8, True
    xtension = header.get("XTENSION")
    pcount, gcount = header.get("PCOUNT", 0), header.get("GCOUNT", 1)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (pcount, gcount)):
        raise SubmissionError(f"{name}: invalid PCOUNT/GCOUNT (HDU {index})")
    data_bytes = abs(bitpix) // 8 * gcount * (pcount + n_values)
    is_image = isinstance(xtension, str) and xtension.strip() == "IMAGE"
    if is_image and (pcount, gcount) != (0, 1):
        raise SubmissionError(f"{name}: IMAGE extension with PCOUNT/GCOUNT other than 0/1 (HDU {index})")
    return shape, n_values, data_bytes, is_image


def _read_data(fh, start, shape, header, name):
    dtype = np.dtype(_BITPIX_DTYPES[header["BITPIX"]])
    count = math.prod(shape)
    fh.seek(start)
    raw = fh.read(count * dtype.itemsize)
    if len(raw) != count * dtype.itemsize:
        raise SubmissionError(f"{name}: truncated FITS data")
    data = np.frombuffer(raw, dtype=dtype).reshape(shape)
    values = data.astype(np.float64)
    if dtype.kind in "iu" and isinstance(header.get("BLANK"), int) and not isinstance(header.get("BLANK"), bool):
        values[data == header["BLANK"]] = np.nan
    bscale, bzero = header.get("BSCALE", 1.0), header.get("BZERO", 0.0)
    for card, value in (("BSCALE", bscale), ("BZERO", bzero)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SubmissionError(f"{name}: invalid {card} {value!r}")
    if bscale != 1 or bzero != 0:
        values = values * float(bscale) + float(bzero)
    return values
