"""Off-axis PSF tools: FWHM by a 2D Gaussian fit, recentring and cropping, normalisation.

A PSF is a frame ``(y, x)`` or, for ADI+mSDI data, one frame per wavelength
``(lambda, y, x)``; every function works per channel and returns per-channel
results for a 3D input.
"""

import functools
import warnings

import numpy as np

from . import ExobenchWarning
from ._validate import as_float_array, check_ndim, check_positive
from .geometry import frame_center, shift_frames
from .photometry import aperture_flux

__all__ = [
    "GaussianFit",
    "fit_gaussian",
    "fit_fwhm",
    "recenter_psf",
    "crop_psf",
    "normalize_psf",
    "psf_flux",
]

_SIGMA_TO_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


class GaussianFit:
    """Result of :func:`fit_gaussian` on one frame: centre ``(x, y)``, FWHM (px), amplitude."""

    __slots__ = ("x", "y", "fwhm_x", "fwhm_y", "amplitude")

    def __init__(self, x, y, fwhm_x, fwhm_y, amplitude):
        self.x, self.y = float(x), float(y)
        self.fwhm_x, self.fwhm_y = float(fwhm_x), float(fwhm_y)
        self.amplitude = float(amplitude)

    @property
    def fwhm(self):
        """Mean of the FWHM along x and y."""
        return 0.5 * (self.fwhm_x + self.fwhm_y)

    def __repr__(self):
        return (
            f"GaussianFit(x={self.x:.3f}, y={self.y:.3f}, fwhm_x={self.fwhm_x:.3f}, "
            f"fwhm_y={self.fwhm_y:.3f}, amplitude={self.amplitude:.4g})"
        )


def fit_gaussian(frame, *, box=None):
    """Fit an elliptical 2D Gaussian to the core of a PSF frame.

    No background term is fitted: an off-axis PSF is background-subtracted, and a
    free constant absorbs the Airy wings and makes the FWHM depend on the box.

    Parameters
    ----------
    frame : array_like, shape ``(y, x)``
    box : int, optional
        Side of the (odd) square around the brightest pixel that is fitted; by
        default the whole frame up to 21 pixels.

    Returns
    -------
    GaussianFit

    Examples
    --------
    >>> y, x = np.mgrid[:21, :21]
    >>> psf = np.exp(-((x - 10.3) ** 2 + (y - 9.8) ** 2) / (2 * 2.0**2))
    >>> fit = fit_gaussian(psf)
    >>> round(fit.x, 3), round(fit.y, 3), round(fit.fwhm, 3)
    (10.3, 9.8, 4.71)
    """
    from astropy.modeling import fitting, models  # deferred: astropy.modeling is slow to import

    frame = as_float_array(frame, "frame")
    check_ndim(frame, "frame", 2)
    clean = np.where(np.isfinite(frame), frame, 0.0)
    peak_y, peak_x = np.unravel_index(np.argmax(clean), clean.shape)
    half = (min(21, *clean.shape) if box is None else int(box)) // 2
    y0, y1 = max(0, peak_y - half), min(clean.shape[0], peak_y + half + 1)
    x0, x1 = max(0, peak_x - half), min(clean.shape[1], peak_x + half + 1)
    stamp = clean[y0:y1, x0:x1]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    amplitude = float(clean[peak_y, peak_x])
    if amplitude <= 0:
        raise ValueError("frame: expected a PSF with a positive peak, got a peak <= 0")
    model = models.Gaussian2D(amplitude, peak_x, peak_y, 1.5, 1.5)
    model.x_stddev.bounds = (0.1, None)
    model.y_stddev.bounds = (0.1, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy warns on slow convergence; the result is checked below
        fitted = fitting.LevMarLSQFitter()(model, xx, yy, stamp)
    gauss = fitted
    if not np.all(np.isfinite([gauss.x_mean.value, gauss.y_mean.value, gauss.x_stddev.value])):
        raise ValueError("frame: the 2D Gaussian fit did not converge")
    # theta is free, so x/y stddevs may swap; the mean FWHM is what callers use.
    return GaussianFit(
        gauss.x_mean.value,
        gauss.y_mean.value,
        abs(gauss.x_stddev.value) * _SIGMA_TO_FWHM,
        abs(gauss.y_stddev.value) * _SIGMA_TO_FWHM,
        gauss.amplitude.value,
    )


@functools.lru_cache(maxsize=64)
def _cached_fit(shape, dtype, data):
    return fit_gaussian(np.frombuffer(data, dtype=dtype).reshape(shape))


def fit_gaussian_cached(frame):
    """:func:`fit_gaussian` with the default box, memoised on the frame's content.

    Datasets are rebuilt often (``Dataset.replace``) with the same PSF; this keeps
    them from refitting it every time.
    """
    frame = np.ascontiguousarray(as_float_array(frame, "frame"))
    return _cached_fit(frame.shape, frame.dtype.str, frame.tobytes())


def fit_fwhm(psf):
    """FWHM in pixels of a PSF by a 2D Gaussian fit: a float, or one per channel for 3D.

    Examples
    --------
    >>> y, x = np.mgrid[:21, :21]
    >>> round(fit_fwhm(np.exp(-((x - 10) ** 2 + (y - 10) ** 2) / 8.0)), 3)
    4.71
    """
    psf = as_float_array(psf, "psf")
    check_ndim(psf, "psf", (2, 3))
    if psf.ndim == 2:
        return fit_gaussian_cached(psf).fwhm
    return np.array([fit_gaussian_cached(channel).fwhm for channel in psf])


def psf_flux(psf, fwhm):
    """Flux of a centred PSF in an aperture of diameter ``fwhm`` (per channel for 3D)."""
    psf = as_float_array(psf, "psf")
    check_ndim(psf, "psf", (2, 3))
    stack = psf[None] if psf.ndim == 2 else psf
    fwhm = np.broadcast_to(np.asarray(fwhm, dtype=float), (stack.shape[0],))
    xc, yc = frame_center(stack.shape)
    flux = np.array(
        [aperture_flux(frame, [(xc, yc)], radius=f / 2.0)[0] for frame, f in zip(stack, fwhm)]
    )
    return float(flux[0]) if psf.ndim == 2 else flux


def normalize_psf(psf, fwhm=None):
    """Scale a PSF so that its flux in a centred aperture of diameter 1 FWHM equals 1.

    Parameters
    ----------
    psf : array_like, shape ``(y, x)`` or ``(lambda, y, x)``
        A centred PSF (see :func:`crop_psf`).
    fwhm : float or array_like, optional
        FWHM in pixels (per channel for 3D); fitted when not given.

    Returns
    -------
    ndarray, same shape as ``psf``

    Examples
    --------
    >>> y, x = np.mgrid[:21, :21]
    >>> psf = 7.0 * np.exp(-((x - 10) ** 2 + (y - 10) ** 2) / 8.0)
    >>> round(psf_flux(normalize_psf(psf, 4.71), 4.71), 12)
    1.0
    """
    psf = as_float_array(psf, "psf")
    check_ndim(psf, "psf", (2, 3))
    fwhm = fit_fwhm(psf) if fwhm is None else check_positive(fwhm, "fwhm")
    flux = np.asarray(psf_flux(psf, fwhm))
    if np.any(flux <= 0):
        raise ValueError("psf: expected a positive flux in the central 1-FWHM aperture")
    scale = flux if psf.ndim == 2 else flux.reshape(-1, 1, 1)
    return psf / scale


def recenter_psf(psf):
    """Shift a PSF (per channel) so that its fitted Gaussian centre lies on the central pixel.

    The shift is a Fourier shift (flux-preserving). Returns the shifted PSF and
    the applied ``(dx, dy)`` shifts, one row per channel.
    """
    psf = as_float_array(psf, "psf")
    check_ndim(psf, "psf", (2, 3))
    stack = psf[None] if psf.ndim == 2 else psf
    xc, yc = frame_center(stack.shape)
    fits = [fit_gaussian(channel) for channel in stack]
    shifts = np.array([(xc - fit.x, yc - fit.y) for fit in fits])
    shifted = shift_frames(stack, shifts[:, 0], shifts[:, 1], method="fft")
    return (shifted[0] if psf.ndim == 2 else shifted), shifts


def crop_psf(psf, size, *, recenter=True):
    """Crop a PSF to an odd ``size`` x ``size`` stamp centred on its peak (per channel).

    Parameters
    ----------
    psf : array_like, shape ``(y, x)`` or ``(lambda, y, x)``
    size : int
        Odd side of the stamp, at most the PSF's smallest side.
    recenter : bool
        Also shift the stamp (Fourier shift) so that the fitted centre lies on
        its central pixel to sub-pixel accuracy.

    Returns
    -------
    ndarray, shape ``(size, size)`` or ``(lambda, size, size)``
    """
    psf = as_float_array(psf, "psf")
    check_ndim(psf, "psf", (2, 3))
    size = int(size)
    if size % 2 == 0 or size < 3:
        raise ValueError(f"size: expected an odd number >= 3, got {size}")
    stack = psf[None] if psf.ndim == 2 else psf
    if size > min(stack.shape[1:]):
        raise ValueError(f"size: expected at most the PSF's side {min(stack.shape[1:])}, got {size}")
    half = size // 2
    stamps = []
    for channel in stack:
        fit = fit_gaussian(channel)
        cx = int(np.clip(round(fit.x), half, channel.shape[1] - half - 1))
        cy = int(np.clip(round(fit.y), half, channel.shape[0] - half - 1))
        stamps.append(channel[cy - half:cy + half + 1, cx - half:cx + half + 1])
    cropped = np.stack(stamps)
    if recenter:
        cropped, _ = recenter_psf(cropped)
    if np.any(np.isnan(cropped)):
        warnings.warn("psf: the cropped PSF holds NaN values", ExobenchWarning, stacklevel=2)
    return cropped[0] if psf.ndim == 2 else cropped
