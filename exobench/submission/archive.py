"""Opening a submission, zip or folder, hostile until proven otherwise.

Zip archives: entries with ``..`` or absolute paths, symbolic links and other
non-regular entries, encrypted entries, duplicate names or names differing only
in case, a file named ``metadata`` (a platform would take the zip for code), more
than :attr:`~exobench.submission.Limits.max_files` files, nested folders (the
files may sit at the top of the archive or in one top folder), and zip bombs (the
sizes are counted while the entries are streamed out, against a per-file and a
total limit and, past ``ratio_floor_bytes``, a compression-ratio limit) are
refused. Folders (what a platform worker unzipped) follow the same rules, with
links and special files refused and nothing opened through a link.
"""

import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

from .limits import DEFAULT_LIMITS, SubmissionError

__all__ = ["open_submission", "extract_zip", "list_submission_files"]

#: Names the platforms or operating systems add to archives; skipped without a word.
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_JUNK_FOLDERS = {"__macosx"}
_CHUNK = 1 << 16


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
