"""The one reproducible zip writer: the same entries give the same bytes.

Every zip exobench makes (submissions, bundles and the zips inside them) is
written here: entries sorted by name, dated 1980-01-01 (the earliest a zip can
hold), Unix permissions 0644; zips and PNGs (already compressed) are stored,
everything else deflated (zlib's default level). A path target is written atomically.
"""

import shutil
import zipfile
from pathlib import Path

__all__ = ["write_zip", "ZIP_DATE"]

#: Timestamp of every entry.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_STORED_SUFFIXES = (".zip", ".png")


def write_zip(target, entries):
    """Write a zip of ``{name: bytes or path}`` to ``target``, reproducibly.

    Parameters
    ----------
    target : str, path-like or binary file object
        A path is written atomically (a temporary file, then a rename); its folder must exist.
    entries : mapping
        Entry name (``/``-separated) to its content: bytes, or the path of a file to copy.

    Returns
    -------
    target

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> _ = write_zip(buffer, {"b.txt": b"2", "a.txt": b"1"})
    >>> zipfile.ZipFile(buffer).namelist()
    ['a.txt', 'b.txt']
    """
    if isinstance(target, (str, Path)) or hasattr(target, "__fspath__"):
        from ._atomic import atomic_path

        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            _write(handle, entries)
        return target
    _write(target, entries)
    return target


def _write(handle, entries):
    with zipfile.ZipFile(handle, "w") as archive:
        for name in sorted(entries):
            _add(archive, name, entries[name])


def _add(archive, name, source):
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    stored = name.lower().endswith(_STORED_SUFFIXES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    if isinstance(source, (bytes, bytearray, memoryview)):
        archive.writestr(info, bytes(source))
        return
    size = Path(source).stat().st_size
    with open(source, "rb") as src, archive.open(info, "w", force_zip64=size > 2**31 - 1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
