"""Reading one FITS file of a dataset: an array or a scalar, with the quirks of real-world files.

Scalar files with ``NAXIS = 0`` whose value is a header card (:data:`VALUE_CARDS`),
data in the first extension when the primary HDU is empty, big-endian or
integer arrays are all read; every error on a malformed file names the file.
"""

import math
import warnings
from pathlib import Path

import numpy as np

__all__ = ["read_fits_array", "read_scalar", "read_values", "open_fits", "first_image", "file_label", "VALUE_CARDS"]

#: Header cards that may hold the value of a scalar file with NAXIS = 0, by quantity.
VALUE_CARDS = {
    "pxscale": ("PXSCALE", "PIXSCALE", "PIXSCAL", "PIXSCL", "PLSC", "PLATESCL", "PLATESC", "SCALE", "VALUE"),
    "fwhm": ("FWHM", "VALUE"),
}

_ANGLE_UNITS = {"deg": 3600.0, "degree": 3600.0, "arcsec": 1.0, "mas": 1e-3}


def read_fits_array(path, *, name="data"):
    """Read the image of a FITS file: the primary array, or the first extension with data.

    Parameters
    ----------
    path : str or path-like
    name : str
        What the file holds (``"cube"``, ``"angles"``...), used in error messages.

    Returns
    -------
    ndarray
        In native byte order.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is empty, not a FITS file, truncated, holds no image (only a
        header, or a table). Every message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.io import fits
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "naco_pa_1.fits"
    >>> fits.PrimaryHDU(np.array([[0.0], [10.0], [20.0]])).writeto(path)
    >>> read_fits_array(path, name="angles").shape
    (3, 1)
    """
    hdus = open_fits(path, name)
    array = first_image(hdus, path, name)
    if array is None:
        raise ValueError(f"{file_label(name, path)}: holds no data (no image in the primary HDU nor in an extension)")
    return array


def read_scalar(path, *, name="value", cards=None):
    """Read a FITS file holding a single number.

    Accepted: an array of one value (shape ``(1,)``, ``(1, 1)``...) in the primary
    HDU or the first extension with data, or, for files with ``NAXIS = 0`` and no
    data, a header card holding the value.

    Parameters
    ----------
    path : str or path-like
    name : str
        The quantity (``"pxscale"``, ``"fwhm"``...), used in error messages and to
        choose the header cards looked for.
    cards : sequence of str, optional
        Header cards that may hold the value, in order of preference; by default
        those of :data:`VALUE_CARDS` for ``name`` (``VALUE`` otherwise). For a
        pixel scale a WCS scale (``CD1_1``/``CD2_1`` or ``CDELT1``, converted from
        ``CUNIT1``, degrees by default) is the last resort.

    Returns
    -------
    float

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.io import fits
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sphere_pxscale_1.fits"
    >>> header = fits.Header([("PIXSCALE", 0.00746)])
    >>> fits.PrimaryHDU(header=header).writeto(path)  # NAXIS = 0, value in the header
    >>> read_scalar(path, name="pxscale")
    0.00746
    """
    values = read_values(path, name, cards)
    if values.size != 1:
        raise ValueError(f"{file_label(name, path)}: expected a single value, got an array of shape {values.shape}")
    return float(values.ravel()[0])


def read_values(path, name, cards=None):
    """The data of a FITS file, or the value of a header card when it has no data."""
    hdus = open_fits(path, name)
    array = first_image(hdus, path, name)
    if array is not None:
        return array
    cards = tuple(cards) if cards is not None else VALUE_CARDS.get(name, ("VALUE",))
    for header, _, _ in hdus:
        value = _header_value(header, cards, path, name)
        if value is None and name == "pxscale":
            value = _wcs_pixel_scale(header)
        if value is not None:
            return np.array([value])
    looked = ", ".join(cards) + (", CD1_1, CDELT1" if name == "pxscale" else "")
    raise ValueError(f"{file_label(name, path)}: holds no data and no header card with the value (looked for {looked})")


def _header_value(header, cards, path, name):
    for card in cards:
        if card in header:
            value = header[card]
            try:
                if isinstance(value, bool):
                    raise TypeError
                return float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{file_label(name, path)}: expected a number in header card {card}, got {value!r}"
                ) from None
    return None


def _wcs_pixel_scale(header):
    """Pixel scale in arcsec/px from a WCS (CD matrix or CDELT), None when there is none."""
    unit = _ANGLE_UNITS.get(str(header.get("CUNIT1", "deg")).strip().lower())
    if unit is None:
        return None
    if "CD1_1" in header:
        return math.hypot(float(header["CD1_1"]), float(header.get("CD2_1", 0.0))) * unit
    if "CDELT1" in header:
        return abs(float(header["CDELT1"])) * unit
    return None


def file_label(name, path):
    return f"{name} file {str(path)!r}"


def open_fits(path, name):
    """``(header, data, kind)`` of every HDU, data copied in native byte order, file closed.

    Astropy's warnings are passed on for a file that opens, dropped for one that
    does not (the error says it all); a truncated file is an error.
    """
    path = Path(path)
    _check_fits_signature(path, name)
    from astropy.io import fits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("error", message=".*truncated.*")
        try:
            with open(path, "rb") as fh, fits.open(fh, memmap=False) as hdul:  # fh: closed even on error
                hdus = [(hdu.header.copy(), *_hdu_content(hdu)) for hdu in hdul]
        except (OSError, ValueError, TypeError, IndexError, Warning) as exc:
            raise ValueError(f"{file_label(name, path)}: corrupt or truncated FITS file ({exc})") from exc
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return hdus


def _check_fits_signature(path, name):
    if not path.exists():
        raise FileNotFoundError(f"{file_label(name, path)}: not found")
    if path.is_dir():
        raise IsADirectoryError(f"{file_label(name, path)}: expected a FITS file, got a folder")
    with open(path, "rb") as fh:
        start = fh.read(80)
    if not start:
        raise ValueError(f"{file_label(name, path)}: empty file (0 bytes), expected a FITS file")
    if not start.startswith((b"SIMPLE  =", b"\x1f\x8b")):  # plain FITS, or gzip-compressed
        raise ValueError(f"{file_label(name, path)}: not a FITS file (it does not start with a SIMPLE card)")


def _hdu_content(hdu):
    if not hdu.is_image:
        return None, "table" if hdu.data is not None else "empty"
    data = hdu.data
    if data is None or data.size == 0:
        return None, "empty"
    data = np.array(data)
    if not data.dtype.isnative:
        data = data.astype(data.dtype.newbyteorder("="))
    return data, "image"


def first_image(hdus, path, name):
    """The first image array, None when there is none; tables and non-numbers are refused."""
    for _, data, kind in hdus:
        if kind == "image":
            if data.dtype.kind not in "biuf":
                raise ValueError(f"{file_label(name, path)}: expected numeric data, got dtype {data.dtype}")
            return data
    if any(kind == "table" for _, _, kind in hdus):
        raise ValueError(f"{file_label(name, path)}: holds a table, expected an image array of numbers")
    return None
