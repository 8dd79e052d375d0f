"""ANDROMEDA: maximum-likelihood detection on pairwise differences of frames (Cantalloube et al. 2015).

Per annulus of the frame, each frame ``a`` is paired with the frame ``b``
(or the ``n_pairs`` frames) nearest in the sequence where a source at the annulus's inner radius has
moved by at least ``delta`` FWHM (chord); the difference is
``d = I_a - gamma I_b``, ``gamma`` the least-squares factor that best matches
the two frames over an optimisation annulus (``roa`` times the area of the
annulus, outwards) or 1. A companion of flux ``f`` at pixel ``p`` of the final
frame leaves ``f s`` in that difference, the *planet signature*
``s = M_a - gamma M_b``, with ``M_a`` the PSF centred on the companion's
position in frame ``a``. With independent Gaussian noise of variance
``sigma_k**2`` in difference ``k``, the maximum-likelihood flux and its
standard deviation are::

    flux = sum_k <s_k, d_k> / sigma_k**2  /  sum_k |s_k|**2 / sigma_k**2
    std  = 1 / sqrt(sum_k |s_k|**2 / sigma_k**2)

and the S/N is ``flux / std``. ``sigma_k`` is the robust standard deviation
(1.4826 MAD) of difference ``k`` over the annulus, or, with
``variance="homogeneous"``, one variance for every difference of the annulus
(VIP's default: the mean over the annulus of each pixel's variance across the
differences).

Vectorised over positions: ``<M_a, I>`` at every position is the
cross-correlation of frame ``I`` with the model PSF (one FFT convolution per
frame), read at the companion's position in frame ``a`` by derotating the
correlation map (the compiled bicubic rotation, restricted to the annulus);
``|s_k|**2 = (1 + gamma**2) E - 2 gamma A(x_a - x_b)`` with ``E`` the model's
energy and ``A`` its autocorrelation, interpolated at the displacement of the
companion between the two frames. No loop over pixels.

Before anything, frames and PSF go through the same Fourier high-pass filter
(``filtering_fraction``, a Hann window on the low spatial frequencies, as
VIP's ``frame_filter_highpass(mode="hann")``); the model is the filtered
normalised PSF cropped to a box ``stamp_size`` FWHM wide. Cropping the model
does not bias the flux (the data are compared with the model only inside the
box), it only loses the wings' signal.
"""

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

from .._validate import check_choice, check_integer, check_number, check_range
from ..geometry import derotate_cube, frame_center, polar_grid
from .annuli import annuli
from .base import adi_cube
from .detector import Detection, Detector, radial_normalisation

__all__ = ["Andromeda", "highpass_filter", "pair_frames", "model_stamp", "OPT_METHODS", "VARIANCES"]

#: How the second frame of a difference is scaled: least squares over the optimisation annulus, or not.
OPT_METHODS = ("lsq", "no")
#: The noise model of the differences.
VARIANCES = ("difference", "homogeneous")
#: The robust standard deviation of a Gaussian from its median absolute deviation.
_MAD_TO_STD = 1.4826


class Andromeda(Detector, name="andromeda"):
    """ANDROMEDA (Cantalloube et al. 2015): maximum likelihood on angular differences of frames.

    Parameters
    ----------
    delta : float
        Minimum displacement of a source between the two frames of a
        difference, in FWHM (chord at the annulus's inner radius). Frames with
        no partner that far are left out of the annulus.
    n_pairs : int
        Number of partners each frame chooses, the nearest in the sequence
        beyond ``delta`` (:func:`pair_frames`; 1: the paper's single pairing).
    annulus_width : float
        Width of the annuli in FWHM (one pairing, one set of ``gamma`` and of
        variances per annulus).
    inner_radius : float
        Radius in FWHM inside which the statistic is NaN.
    opt_method : {"lsq", "no"}
        ``"lsq"``: the second frame of a difference is scaled by the
        least-squares factor over the optimisation annulus (the signature is
        scaled alike); ``"no"``: plain differences.
    roa : float
        Ratio of the optimisation annulus's area to the annulus's (>= 1; it
        starts at the annulus's inner radius).
    filtering_fraction : float
        Cut-off of the Fourier high-pass filter as a fraction of the Nyquist
        frequency, in (0, 1]; 1 disables it.
    variance : {"difference", "homogeneous"}
        Noise model: a robust variance per difference and annulus (the
        paper's), or one variance per annulus (VIP's ``homogeneous_variance``).
    stamp_size : float
        Side of the model's box in FWHM. The statistic is NaN where the box
        would leave the frame.
    radial_width : float or None
        Width in FWHM of the annuli of the radial renormalisation of the S/N
        (:func:`~exobench.algorithms.radial_normalisation`); None keeps the
        raw S/N.

    Notes
    -----
    The returned :class:`~exobench.algorithms.Detection` holds the
    renormalised S/N as ``statistic``, the maximum-likelihood flux as
    ``flux`` (1-FWHM aperture flux, cube units) and as ``flux_std`` the
    model's standard deviation times the renormalisation factor (the robust
    standard deviation of the raw S/N in the pixel's annulus), so that
    ``statistic == flux / flux_std``.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> detection = Andromeda().detect(example_dataset(n_frames=20, size=41))
    >>> detection.statistic.shape, bool(np.isnan(detection.statistic[20, 20]))
    ((41, 41), True)
    """

    def __init__(self, *, delta=0.5, n_pairs=4, annulus_width=1.0, inner_radius=1.0, opt_method="lsq", roa=2.0,
                 filtering_fraction=0.25, variance="difference", stamp_size=3.0, radial_width=1.0):
        self.delta = delta
        self.n_pairs = n_pairs
        self.annulus_width = annulus_width
        self.inner_radius = inner_radius
        self.opt_method = opt_method
        self.roa = roa
        self.filtering_fraction = filtering_fraction
        self.variance = variance
        self.stamp_size = stamp_size
        self.radial_width = radial_width

    def _checked(self):
        return {
            "delta": check_number(self.delta, "delta", strict=True),
            "n_pairs": check_integer(self.n_pairs, "n_pairs", minimum=1),
            "annulus_width": check_number(self.annulus_width, "annulus_width", strict=True),
            "inner_radius": check_number(self.inner_radius, "inner_radius"),
            "opt_method": check_choice(self.opt_method, "opt_method", OPT_METHODS),
            "roa": check_number(self.roa, "roa", minimum=1),
            "filtering_fraction": check_range(self.filtering_fraction, "filtering_fraction", 0, 1, closed="high"),
            "variance": check_choice(self.variance, "variance", VARIANCES),
            "stamp_size": check_number(self.stamp_size, "stamp_size", strict=True),
            "radial_width": check_number(self.radial_width, "radial_width", strict=True, allow_none=True),
        }

    def detect_adi(self, dataset):
        """The :class:`~exobench.algorithms.Detection` of a 3D dataset (see the class's Notes)."""
        options = self._checked()
        cube = adi_cube(dataset)
        if dataset.psf is None:
            raise ValueError("dataset: ANDROMEDA needs the PSF to model a companion, got a dataset without one")
        if cube.shape[0] < 2:
            raise ValueError(f"dataset: expected at least 2 frames for angular differences, got {cube.shape[0]}")
        fwhm = float(dataset.fwhm)
        flux, std = likelihood_maps(cube, dataset.angles, dataset.normalized_psf, fwhm, options)
        with np.errstate(divide="ignore", invalid="ignore"):
            snr = flux / std
        if options["radial_width"] is None:
            return Detection(snr, flux, std)
        xc, yc = dataset.center
        statistic = radial_normalisation(snr, width=options["radial_width"] * fwhm, center=(yc, xc))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = snr / statistic
        # a raw S/N of exactly 0 gives no scale; any positive one keeps statistic == flux / flux_std there
        valid = np.isfinite(scale) & (scale > 0)
        missing = np.isfinite(statistic) & ~valid
        if missing.any():
            scale[missing] = np.median(scale[valid]) if valid.any() else 1.0
        flux_std = std * scale
        flux = np.where(np.isfinite(statistic), flux, np.nan)
        return Detection(statistic, flux, np.where(np.isfinite(statistic), flux_std, np.nan))


def likelihood_maps(cube, angles, psf, fwhm, options):
    """The maximum-likelihood flux and its standard deviation at every pixel (NaN where undefined).

    ``cube`` ``(t, y, x)`` float64, ``psf`` normalised to unit 1-FWHM aperture
    flux, ``options`` the checked options of :class:`Andromeda`.
    """
    t, ny, nx = cube.shape
    angles = np.asarray(angles, dtype=np.float64)
    frames = highpass_filter(cube, options["filtering_fraction"])
    half = max(1, int(np.ceil(options["stamp_size"] * fwhm / 2)))
    stamp = model_stamp(psf, half, options["filtering_fraction"], (ny, nx))
    energy = float(np.sum(stamp ** 2))
    autocorrelation = scipy.signal.correlate(stamp, stamp, mode="full", method="fft")
    # <M at x, I> for every integer x: the frames correlated with the model
    correlated = scipy.signal.fftconvolve(frames, stamp[None, ::-1, ::-1], mode="same", axes=(1, 2))
    radius, theta = polar_grid((ny, nx))
    center = frame_center((ny, nx))
    edge = min(center[0], center[1], nx - 1 - center[0], ny - 1 - center[1])
    outer = edge - half
    inner = options["inner_radius"] * fwhm
    if inner >= outer:
        raise ValueError(f"inner_radius: expected less than {outer / fwhm:.3g} FWHM (the frame's half-size minus "
                         f"half the model's box, stamp_size), got {options['inner_radius']:g}")
    flux = np.full((ny, nx), np.nan)
    std = np.full((ny, nx), np.nan)
    self_flat = derotate_cube(correlated, angles, method="bicubic").reshape(t, -1)
    buffers = np.empty((2, t, ny, nx))
    flat_frames = frames.reshape(t, -1)
    masks, _ = annuli((ny, nx), inner_radius=inner, width=options["annulus_width"] * fwhm)
    for mask in masks:
        mask = mask & (radius <= outer)
        if not mask.any():
            continue
        pixels = np.flatnonzero(mask)
        r_in, r_out = float(radius[mask].min()), float(radius[mask].max())
        first, second = pair_frames(angles, _min_rotation(options["delta"] * fwhm, max(r_in, 0.5)),
                                    options["n_pairs"])
        if first.size == 0:
            continue
        if options["opt_method"] == "lsq":
            r_opt = np.sqrt(options["roa"] * r_out ** 2 - (options["roa"] - 1) * r_in ** 2)
            area = np.flatnonzero((radius >= r_in) & (radius <= r_opt))
            a, b = flat_frames[first[:, None], area], flat_frames[second[:, None], area]
            gamma = np.einsum("ij,ij->i", a, b) / np.maximum(np.einsum("ij,ij->i", b, b), np.finfo(float).tiny)
        else:
            gamma = np.ones(first.size)
        rows, columns = first[:, None], pixels[None, :]
        differences = flat_frames[rows, columns] - gamma[:, None] * flat_frames[second[:, None], columns]
        weights = 1.0 / _variances(differences, options["variance"])
        # the companion's model in frame a against the data of frame b, read where the companion is in frame a
        n = first.size
        if buffers.shape[1] < n:
            buffers = np.empty((2, n, ny, nx))
        cross_ab = derotate_cube(correlated[second], angles[first], method="bicubic", where=mask,
                                 out=buffers[0, :n]).reshape(n, -1)[:, pixels]
        cross_ba = derotate_cube(correlated[first], angles[second], method="bicubic", where=mask,
                                 out=buffers[1, :n]).reshape(n, -1)[:, pixels]
        g = gamma[:, None]
        numerator = self_flat[rows, columns] - g * (cross_ab + cross_ba) + g ** 2 * self_flat[second[:, None], columns]
        overlap = _overlaps(autocorrelation, radius.ravel()[pixels], theta.ravel()[pixels], angles[first],
                            angles[second])
        denominator = (1.0 + g ** 2) * energy - 2.0 * g * overlap
        weights = weights[:, None]
        total = np.sum(weights * denominator, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):  # no noisy difference at all: NaN
            flux.ravel()[pixels] = np.where(total > 0, np.sum(weights * numerator, axis=0) / total, np.nan)
            std.ravel()[pixels] = np.where(total > 0, 1.0 / np.sqrt(total), np.nan)
    return flux, std


def _min_rotation(displacement, radius):
    """Rotation (degrees) that moves a source at ``radius`` by a chord of ``displacement`` px."""
    return float(np.degrees(2.0 * np.arcsin(min(1.0, displacement / (2.0 * radius)))))


def _variances(differences, model):
    """Per difference (rows): the robust variance over the annulus, or one mean variance for all."""
    if model == "homogeneous":
        value = float(np.mean(np.var(differences, axis=0))) if differences.shape[0] > 1 else 1.0
        variances = np.full(differences.shape[0], value)
    else:
        median = np.median(differences, axis=1, keepdims=True)
        variances = (_MAD_TO_STD * np.median(np.abs(differences - median), axis=1)) ** 2
    # a difference without noise (identical frames) carries no information on the flux: no weight
    return np.where(variances > 0, variances, np.inf)


def _overlaps(autocorrelation, radius, theta, angles_a, angles_b):
    """``<M_a, M_b>`` per difference (rows) and pixel (columns): the model's autocorrelation at the shift."""
    rad_a, rad_b = np.radians(angles_a)[:, None], np.radians(angles_b)[:, None]
    phi = np.radians(theta)[None, :]
    dx = radius * (np.cos(phi - rad_a) - np.cos(phi - rad_b))
    dy = radius * (np.sin(phi - rad_a) - np.sin(phi - rad_b))
    cy, cx = (np.asarray(autocorrelation.shape) - 1) / 2.0
    coordinates = np.stack([(cy + dy).ravel(), (cx + dx).ravel()])
    values = scipy.ndimage.map_coordinates(autocorrelation, coordinates, order=3, mode="constant", cval=0.0)
    return values.reshape(dx.shape)


def pair_frames(angles, min_rotation, count=1):
    """Pairs of frames rotated by at least ``min_rotation`` degrees: ``(first, second)`` index arrays.

    Each frame chooses among the frames whose angle differs by at least
    ``min_rotation``: with ``count=1`` the nearest later one, else the nearest
    earlier one (VIP's pairing); with more, the ``count`` nearest in the
    sequence either way (the later one at equal distance). Each pair of frames chosen, by either, gives one
    difference, ``first < second``, sorted. Frames that no pair holds are
    left out.

    Examples
    --------
    >>> first, second = pair_frames(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 2.0)
    >>> first.tolist(), second.tolist()  # frames 3 and 4 choose 1 and 2: pairs already there
    ([0, 1, 2], [2, 3, 4])
    """
    angles = np.asarray(angles, dtype=np.float64)
    t = angles.size
    index = np.arange(t)
    # sequence distance; one partner: every earlier frame after every later one (VIP's pairing); several: the
    # nearest either way (a neighbourhood on both sides), the later one at equal distance
    penalty = t if count == 1 else 0.5
    distance = (np.abs(index[None, :] - index[:, None]) + penalty * (index[None, :] < index[:, None])).astype(float)
    distance[np.abs(angles[None, :] - angles[:, None]) < min_rotation] = np.inf
    np.fill_diagonal(distance, np.inf)
    chosen = np.argsort(distance, axis=1, kind="stable")[:, :count]
    rows = np.repeat(index, chosen.shape[1])
    valid = np.isfinite(distance[rows, chosen.ravel()])
    low = np.minimum(rows, chosen.ravel())[valid]
    high = np.maximum(rows, chosen.ravel())[valid]
    pairs = np.unique(low * t + high)
    return pairs // t, pairs % t


def highpass_filter(frames, fraction):
    """``frames`` ``(..., y, x)`` without their low spatial frequencies (a Hann window, VIP's ``"hann"`` filter).

    The Fourier transform is multiplied by ``1 - w(fy) w(fx)`` with
    ``w(f) = cos(pi f / (2 fc))**2`` below ``fc = fraction / 2`` cycles per pixel
    (``fraction`` of the Nyquist frequency) and 0 above. ``fraction=1`` returns
    the frames unchanged (as float64).

    Examples
    --------
    >>> flat = np.ones((8, 8))
    >>> bool(np.allclose(highpass_filter(flat, 0.5), 0.0))
    True
    """
    frames = np.asarray(frames, dtype=np.float64)
    if fraction >= 1:
        return frames.copy()
    ny, nx = frames.shape[-2:]
    cutoff = fraction / 2.0

    def window(frequencies):
        inside = np.abs(frequencies) < cutoff
        return np.where(inside, np.cos(np.pi * frequencies / (2.0 * cutoff)) ** 2, 0.0)

    gain = 1.0 - window(scipy.fft.fftfreq(ny))[:, None] * window(scipy.fft.rfftfreq(nx))[None, :]
    spectrum = scipy.fft.rfft2(frames, axes=(-2, -1))
    return scipy.fft.irfft2(spectrum * gain, s=(ny, nx), axes=(-2, -1))


def model_stamp(psf, half, fraction, frame_shape):
    """The companion's model: ``psf`` high-pass filtered as the frames are, in a ``2 half + 1`` box.

    The PSF is first padded to at least the frame's size (the filter is then
    the frames' one, on the same frequency grid) and cropped after filtering,
    so that the box holds the filtered PSF's own values.
    """
    psf = np.asarray(psf, dtype=np.float64)
    size = max(max(frame_shape), max(psf.shape), 2 * half + 1)
    pads = []
    for n in psf.shape:
        extra = size - n + (size - n) % 2
        pads.append((extra // 2, extra // 2))
    padded = highpass_filter(np.pad(psf, pads), fraction)
    cy, cx = (n // 2 for n in padded.shape)
    box = np.zeros((2 * half + 1, 2 * half + 1))
    y0, x0 = cy - half, cx - half
    ys = slice(max(y0, 0), min(cy + half + 1, padded.shape[0]))
    xs = slice(max(x0, 0), min(cx + half + 1, padded.shape[1]))
    box[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0] = padded[ys, xs]
    return box
