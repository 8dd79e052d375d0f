"""Signal-to-noise ratio of point sources (Mawet et al. 2014) and exact S/N maps.

The S/N of a source at separation ``r`` compares the flux in an aperture of
diameter 1 FWHM centred on it with ``n - 1`` background apertures of the same
size on the same ring, spaced by ``alpha = 2 arcsin(FWHM / (2 r))`` (touching
apertures, ``n = floor(2 pi / alpha)``, stepping clockwise as the reference
library does):

    S/N = (f - mean(bg)) / (std(bg, ddof=1) * sqrt(1 + 1 / n_bg))

which follows a Student-t law with ``n_bg - 1`` degrees of freedom for
Gaussian noise. The map evaluates this at every pixel with exact circle/pixel
overlap; a compiled kernel computes the aperture weights once per aperture and
reuses them for the four pixels related by quarter turns about the centre.
"""

import dataclasses
import functools

import numpy as np

from .._validate import as_float_array, check_ndim, check_positive
from ..geometry import frame_center
from ..photometry import aperture_flux, aperture_sums

__all__ = [
    "SNRResult",
    "snr",
    "snr_map",
    "aperture_count_map",
    "snr_to_significance",
    "significance_map",
    "ring_positions",
    "ring_fluxes",
    "snr_of_fluxes",
]


@dataclasses.dataclass(frozen=True)
class SNRResult:
    """The S/N of one source and the numbers it is made of."""

    snr: float
    flux: float
    background_mean: float
    background_std: float
    n_background: int

    @property
    def significance(self):
        """Gaussian-equivalent significance (sigma) of :attr:`snr`."""
        return float(snr_to_significance(self.snr, self.n_background))


def ring_positions(position, fwhm, *, center):
    """The ``(x, y)`` of the test aperture (first row) and the background apertures of a source.

    Examples
    --------
    >>> ring_positions((59.0, 49.0), 5.0, center=(49.0, 49.0)).shape   # r = 10 px
    (12, 2)
    """
    xc, yc = float(center[0]), float(center[1])
    dx, dy = float(position[0]) - xc, float(position[1]) - yc
    separation = float(np.hypot(dx, dy))
    if separation <= fwhm / 2.0:
        raise ValueError(
            f"position: expected a separation > fwhm / 2 = {fwhm / 2.0} px from the centre, got {separation:.3f}"
        )
    step = 2.0 * np.arcsin(fwhm / 2.0 / separation)
    count = int(np.floor(2.0 * np.pi / step))
    angles = np.arctan2(dy, dx) - step * np.arange(count)
    return np.column_stack([xc + separation * np.cos(angles), yc + separation * np.sin(angles)])


def snr(image, position, fwhm, *, center=None, exclude_adjacent=False):
    """S/N of a source at ``position`` ``(x, y)`` (Mawet et al. 2014).

    Parameters
    ----------
    image : array_like, shape ``(y, x)``
        Final (derotated, collapsed) frame.
    position : (float, float)
        ``(x, y)`` of the source; sub-pixel positions are allowed.
    fwhm : float
        FWHM in pixels: the apertures' diameter.
    center : (float, float), optional
        ``(x, y)`` of the star; the frame centre by default.
    exclude_adjacent : bool
        Leave out the two background apertures next to the source (where the
        negative lobes of ADI self-subtraction fall).

    Returns
    -------
    SNRResult

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> result = snr(rng.normal(size=(51, 51)), (35.0, 25.0), 4.0)
    >>> result.n_background
    14
    """
    fluxes = ring_fluxes(image, position, fwhm, center=center, exclude_adjacent=exclude_adjacent)
    background = fluxes[1:]
    mean, std = float(background.mean()), float(background.std(ddof=1))
    return SNRResult(float(snr_of_fluxes(fluxes)), float(fluxes[0]), mean, std, background.size)


def ring_fluxes(image, position, fwhm, *, center=None, exclude_adjacent=False):
    """Aperture fluxes of the source (first) and of its ring of background apertures.

    The apertures of :func:`snr`: diameter ``fwhm``, on the circle through
    ``position`` about ``center``. Linear in ``image``, so that the fluxes of a
    sum of images are the sums of their fluxes (what flux calibration uses).

    Returns
    -------
    numpy.ndarray, shape ``(1 + n_background,)``
    """
    image = as_float_array(image, "image")
    check_ndim(image, "image", 2)
    fwhm = float(check_positive(fwhm, "fwhm"))
    center = frame_center(image.shape) if center is None else center
    positions = ring_positions(position, fwhm, center=center)
    if exclude_adjacent:
        positions = np.delete(positions, [1, len(positions) - 1], axis=0)
    if len(positions) < 3:
        raise ValueError(
            f"position: too close to the centre for 2 background apertures of diameter {fwhm}"
        )
    radius = fwhm / 2.0
    ny, nx = image.shape
    if (np.all(positions - radius >= -0.5) and np.all(positions[:, 0] + radius <= nx - 0.5)
            and np.all(positions[:, 1] + radius <= ny - 0.5)):
        return aperture_sums(image, positions, radius=radius)  # compiled: the same overlaps, for millions of apertures
    return aperture_flux(image, positions, radius=radius)  # apertures over the edge: photutils sums their inside


def snr_of_fluxes(fluxes):
    """The S/N of Mawet et al. (2014) from ring fluxes (source first), along the last axis.

    ``(F - mean(B)) / (std(B, ddof=1) sqrt(1 + 1/n))`` with ``B`` the ``n``
    background fluxes; any leading axes are kept.

    >>> round(float(snr_of_fluxes(np.array([10.0, 1.0, -1.0, 0.0]))), 6)
    8.660254
    """
    fluxes = np.asarray(fluxes, dtype=np.float64)
    background = fluxes[..., 1:]
    n = background.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (fluxes[..., 0] - background.mean(axis=-1)) / (background.std(axis=-1, ddof=1) * np.sqrt(1.0 + 1.0 / n))


def snr_map(image, fwhm, *, center=None, inner_radius=None, outer_radius=None, exclude_adjacent=False):
    """Exact S/N map: the S/N of an aperture centred on every pixel.

    Pixels whose ring of apertures does not fit inside the frame, or that are
    closer to the star than ``inner_radius``, are NaN. Exact circle/pixel
    overlap everywhere (the same numbers as :func:`snr` at integer positions).

    Parameters
    ----------
    image : array_like, shape ``(y, x)``
    fwhm : float
        FWHM in pixels.
    center : (float, float), optional
        ``(x, y)`` of the star, on a pixel centre; the frame centre by default.
    inner_radius : float, optional
        Smallest separation mapped (px); 1 FWHM by default.
    outer_radius : float, optional
        Largest separation mapped (px); by default the largest whose ring of
        apertures fits in the frame.
    exclude_adjacent : bool
        As in :func:`snr`.

    Returns
    -------
    ndarray, shape ``(y, x)``, float64

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> smap = snr_map(rng.normal(size=(41, 41)), 4.0)
    >>> smap.shape, bool(np.isnan(smap[20, 20])), bool(np.isfinite(smap[20, 30]))
    ((41, 41), True, True)
    """
    image = np.ascontiguousarray(as_float_array(image, "image"), dtype=np.float64)
    check_ndim(image, "image", 2)
    fwhm = float(check_positive(fwhm, "fwhm"))
    xc, yc, r_min, r_max = _map_region(image.shape, fwhm, center, inner_radius, outer_radius)
    out = np.full(image.shape, np.nan)
    if r_max >= r_min:
        _snr_kernel()(image, int(xc), int(yc), fwhm, r_min, r_max, bool(exclude_adjacent), out)
    return out


def aperture_count_map(shape, fwhm, *, center=None, inner_radius=None, outer_radius=None,
                       exclude_adjacent=False):
    """Number of background apertures behind each pixel of :func:`snr_map` (0 where it is NaN)."""
    fwhm = float(check_positive(fwhm, "fwhm"))
    xc, yc, r_min, r_max = _map_region(shape, fwhm, center, inner_radius, outer_radius)
    ny, nx = int(shape[-2]), int(shape[-1])
    radius = np.hypot(np.arange(nx)[None, :] - xc, np.arange(ny)[:, None] - yc)
    inside = (radius >= r_min) & (radius <= r_max)
    counts = np.zeros((ny, nx), dtype=int)
    step = 2.0 * np.arcsin(np.minimum(fwhm / 2.0 / np.where(inside, radius, np.inf), 1.0))
    total = np.floor(2.0 * np.pi / np.where(inside, step, np.inf)).astype(int)
    counts[inside] = total[inside] - 1 - (2 if exclude_adjacent else 0)
    counts[counts < 2] = 0
    return counts


def _map_region(shape, fwhm, center, inner_radius, outer_radius):
    if len(shape) < 2:
        raise ValueError(f"image: expected a 2D frame, got shape {tuple(shape)}")
    xc, yc = frame_center(shape) if center is None else (float(center[0]), float(center[1]))
    if xc != round(xc) or yc != round(yc):
        raise ValueError(f"center: expected a pixel centre (integer x, y), got ({xc}, {yc})")
    ny, nx = int(shape[-2]), int(shape[-1])
    # the ring must keep every aperture (radius fwhm / 2) inside the frame's pixel edges
    room = min(xc + 0.5, nx - 0.5 - xc, yc + 0.5, ny - 0.5 - yc) - fwhm / 2.0 - 1e-9
    r_min = fwhm if inner_radius is None else float(check_positive(inner_radius, "inner_radius", allow_zero=True))
    r_max = room if outer_radius is None else min(room, float(check_positive(outer_radius, "outer_radius")))
    # at least 3 apertures on the ring, i.e. 2 background apertures for a standard deviation
    r_min = max(r_min, fwhm / 2.0 / np.sin(np.pi / 3.0) + 1e-9)
    return xc, yc, r_min, r_max


def snr_to_significance(snr_value, n_background):
    """Gaussian-equivalent significance of a Student-t S/N with ``n_background - 1`` d.o.f.

    The false-alarm probability of the S/N under the t law is converted to the
    number of sigma a Gaussian would need for the same probability.

    Examples
    --------
    >>> round(float(snr_to_significance(5.0, 10)), 3)
    3.375
    """
    from scipy import special, stats

    snr_value = np.asarray(snr_value, dtype=float)
    dof = np.asarray(n_background, dtype=float) - 1.0
    with np.errstate(invalid="ignore"):
        log_fap = stats.t.logsf(snr_value, np.where(dof >= 1, dof, np.nan))
        # in log space, so that very significant sources do not round to infinity
        sigma = 0.0 - special.ndtri_exp(log_fap)
    return sigma[()] if sigma.ndim == 0 else sigma


def significance_map(image, fwhm, **kwargs):
    """Gaussian-equivalent significance of :func:`snr_map` (same options, NaN where it is NaN)."""
    image = as_float_array(image, "image")
    smap = snr_map(image, fwhm, **kwargs)
    counts = aperture_count_map(image.shape, fwhm, **kwargs)
    return np.where(counts > 0, snr_to_significance(smap, np.maximum(counts, 2)), np.nan)


@functools.lru_cache(maxsize=None)
def _snr_kernel():
    from ._snr_kernels import kernel  # deferred: numba and the compiled loop

    return kernel
