"""A small header-first FITS reader for files nobody vouches for.

The headers are parsed (at most ``max_header_blocks`` blocks per HDU,
``max_hdus`` HDUs) and the array size they claim is checked against the limits
and the file size before any data is read; compressed (gzip) FITS, tables and
random groups are refused. It needs numpy only, unlike
:mod:`exobench.data.fits_io`, whose readers load the data before any size check
and pull in the dataset model.
"""

import math
import os
from pathlib import Path

import numpy as np

from .limits import DEFAULT_LIMITS, SubmissionError

__all__ = ["read_bounded_fits", "read_bounded_images", "read_bounded_scalar"]

_BLOCK = 2880
_CARD = 80
_BITPIX_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def read_bounded_fits(path, *, name=None, limits=DEFAULT_LIMITS, max_values=None, cards=("VALUE",)):
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
    images, headers = _scan(path, name, limits, limits.max_map_pixels if max_values is None else max_values,
                            first_only=True)
    if images:
        return images[0][1]
    for header in headers:
        for card in cards:
            if card in header:
                value = header[card]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise SubmissionError(f"{name}: expected a number in header card {card}, got {value!r}")
                return np.array([float(value)])
    return np.zeros((0,))


def read_bounded_images(path, *, name=None, limits=DEFAULT_LIMITS, max_values=None):
    """Every image HDU of a FITS file that holds data, as ``(hdu index, float64 array)`` pairs, in order.

    The same checks as :func:`read_bounded_fits` on every HDU (at most ``limits.max_hdus``):
    sizes from the headers before any read, tables refused. HDUs without data are
    skipped; ``max_values`` bounds each array.

    Raises
    ------
    SubmissionError
    """
    path = Path(path)
    name = name or path.name
    images, _ = _scan(path, name, limits, limits.max_map_pixels if max_values is None else max_values,
                      first_only=False)
    return images


def _scan(path, name, limits, max_values, *, first_only):
    """The image arrays (``(index, array)``) and the headers of a FITS file, read within the limits."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise SubmissionError(f"{name}: not found") from None
    except OSError as exc:
        raise SubmissionError(f"{name}: cannot be opened ({exc.strerror or exc})") from None
    images, headers = [], []
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = fh.read(_CARD)
        if not start:
            raise SubmissionError(f"{name}: empty file, expected a FITS file")
        if start[:2] == b"\x1f\x8b":
            raise SubmissionError(f"{name}: gzip-compressed FITS is not accepted; give the plain .fits file")
        if not start.startswith(b"SIMPLE  ="):
            raise SubmissionError(f"{name}: not a FITS file (it does not start with a SIMPLE card)")
        offset = 0
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
                images.append((index, _read_data(fh, data_start, shape, header, name)))
                if first_only:
                    break
            if not is_image and data_bytes:
                raise SubmissionError(f"{name}: holds a table (HDU {index}), expected an image array of numbers")
            offset = data_start + padded
        else:
            if not first_only and offset < size:
                raise SubmissionError(f"{name}: more than {limits.max_hdus} HDUs")
    return images, headers


def read_bounded_scalar(path, *, name=None, limits=DEFAULT_LIMITS, cards=("VALUE",)):
    """The single number of a FITS file (shape ``(1,)``, ``(1, 1)``..., or ``NAXIS = 0`` with a value card)."""
    name = name or Path(path).name
    values = read_bounded_fits(path, name=name, limits=limits, max_values=64, cards=cards)
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
    n_values = _product(axes) if axes else 0
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
    count = _product(shape)
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


def _product(values):
    """The exact integer product of ``values`` (``math.prod`` needs Python 3.8; the platforms run 3.7)."""
    result = 1
    for value in values:
        result *= int(value)
    return result
