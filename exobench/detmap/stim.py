"""STIM maps (Pairet et al. 2019): standardised trajectory intensity mean of the residuals.

The STIM value of a pixel is the temporal mean of the derotated residual cube
over its temporal standard deviation (``ddof=0``, the empirical standard
deviation, as VIP's ``stim_map`` computes it):

    STIM(x, y) = mean_t R(t, y, x) / std_t R(t, y, x)

For independent Gaussian residuals with ``T`` frames, ``sqrt(T - 1) * STIM``
follows a Student-t law with ``T - 1`` degrees of freedom (it is the
one-sample t statistic divided by ``sqrt(T - 1)``).

The *inverse* STIM map is the same statistic on the residuals derotated with
the opposite angles: a companion's signal is then smeared over twice the field
rotation while the noise statistics are alike, so its maximum estimates the
largest value noise reaches in the map. The *normalised* map is the STIM map
divided by that maximum (VIP's ``normalized_stim_map``), so that 1 means "as
high as the highest noise value of the inverse map", a threshold that needs no
per-dataset tuning.

Pixels with a zero or non-finite temporal standard deviation (e.g. left at 0
by an annular algorithm, or outside the data after rotation), and pixels
outside ``inner_radius <= r <= outer_radius`` (default: the largest circle
inscribed in the frame, beyond which derotation brings in the fill value), are
NaN.

The residuals are the algorithm's residuals *before* derotation. A
:class:`~exobench.algorithms.Result` holds them derotated only, so
:func:`stim_from_algorithm` runs the algorithm twice, on the dataset and on a
copy with negated angles: for algorithms whose PSF model depends on the angles
only through ``|angles[i] - angles[j]|`` (every exobench algorithm: median ADI,
PCA, annular PCA, LLSG) the second run's residuals are the same residuals
derotated with ``-angles``.
"""

import dataclasses

import numpy as np

from .._validate import as_float_array, check_ndim, check_number
from ..geometry import derotate_cube, frame_center, polar_grid

__all__ = ["StimResult", "stim_map", "stim_maps", "stim_from_derotated", "stim_from_algorithm"]


@dataclasses.dataclass(frozen=True, eq=False)
class StimResult:
    """The STIM map, the inverse STIM map and the normalised STIM map.

    Attributes
    ----------
    stim : ndarray, shape ``(y, x)``
        STIM map of the residuals derotated with the dataset's angles.
    inverse : ndarray, shape ``(y, x)``
        STIM map of the residuals derotated with the opposite angles.
    normalized : ndarray, shape ``(y, x)``
        ``stim / normalization``.
    normalization : float
        Maximum of ``inverse`` over its finite pixels.
    """

    stim: np.ndarray
    inverse: np.ndarray
    normalized: np.ndarray
    normalization: float


def stim_map(residuals):
    """STIM map of a derotated residual cube: temporal mean over temporal standard deviation.

    Parameters
    ----------
    residuals : array_like, shape ``(t, y, x)``
        Residual cube after PSF subtraction, derotated (e.g. ``Result.residuals``).

    Returns
    -------
    ndarray, shape ``(y, x)``, float64
        ``mean / std`` along time (``ddof=0``); NaN where the standard deviation
        is 0 or a value is not finite.

    Examples
    --------
    >>> cube = np.zeros((4, 3, 3)); cube[:, 1, 1] = [1.0, 3.0, 1.0, 3.0]
    >>> float(stim_map(cube)[1, 1]), bool(np.isnan(stim_map(cube)[0, 0]))
    (2.0, True)
    """
    cube = as_float_array(residuals, "residuals", dtype=np.float64)
    check_ndim(cube, "residuals", 3, what="(t, y, x)")
    if cube.shape[0] < 2:
        raise ValueError(f"residuals: expected at least 2 frames, got {cube.shape[0]}")
    mean = cube.mean(axis=0)
    std = cube.std(axis=0)
    good = np.isfinite(mean) & np.isfinite(std) & (std > 0)
    out = np.full(mean.shape, np.nan)
    np.divide(mean, std, out=out, where=good)
    return out


def stim_maps(residuals, angles, *, method="bilinear", inner_radius=0.0, outer_radius=None):
    """STIM, inverse and normalised STIM maps of a residual cube that is not derotated yet.

    Parameters
    ----------
    residuals : array_like, shape ``(t, y, x)``
        Residuals after PSF subtraction, *before* derotation.
    angles : array_like, shape ``(t,)``
        Derotation angles (degrees) of the dataset.
    method : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.
    inner_radius, outer_radius : float, optional
        Radii (px) of the region kept; outside it the maps are NaN. The outer
        radius defaults to the largest circle inscribed in the frame.

    Returns
    -------
    StimResult
    """
    cube = as_float_array(residuals, "residuals", dtype=np.float64)
    check_ndim(cube, "residuals", 3, what="(t, y, x)")
    angles = as_float_array(angles, "angles", dtype=np.float64).ravel()
    return stim_from_derotated(derotate_cube(cube, angles, method=method),
                               derotate_cube(cube, -angles, method=method),
                               inner_radius=inner_radius, outer_radius=outer_radius)


def stim_from_derotated(derotated, inverse_derotated, *, inner_radius=0.0, outer_radius=None):
    """STIM maps from the residuals derotated with the angles and with their opposite.

    Parameters
    ----------
    derotated, inverse_derotated : array_like, shape ``(t, y, x)``
        The same residuals derotated with ``angles`` and with ``-angles``.
    inner_radius, outer_radius : float, optional
        As in :func:`stim_maps`.

    Returns
    -------
    StimResult
    """
    stim = stim_map(derotated)
    inverse = stim_map(inverse_derotated)
    if inverse.shape != stim.shape:
        raise ValueError(f"inverse_derotated: expected frames of shape {stim.shape}, got {inverse.shape}")
    region = _region(stim.shape, inner_radius, outer_radius)
    stim[~region] = np.nan
    inverse[~region] = np.nan
    finite = inverse[np.isfinite(inverse)]
    if finite.size == 0:
        raise ValueError("inverse_derotated: the inverse STIM map has no finite pixel in the region")
    normalization = float(finite.max())
    if normalization <= 0:
        raise ValueError(f"inverse_derotated: the inverse STIM map's maximum is {normalization:g}, "
                         "expected > 0 to normalise by it")
    return StimResult(stim, inverse, stim / normalization, normalization)


def stim_from_algorithm(algorithm, dataset, *, inner_radius=0.0, outer_radius=None):
    """Run ``algorithm`` on ``dataset`` and on it with negated angles; return the STIM maps.

    Valid for algorithms whose PSF model depends on the angles only through
    their absolute differences (all of exobench's); the derotation uses the
    algorithm's own ``derotation`` option.

    Parameters
    ----------
    algorithm : exobench.algorithms.Algorithm
    dataset : exobench.data.Dataset
        An ADI dataset.
    inner_radius, outer_radius : float, optional
        As in :func:`stim_maps` (px).

    Returns
    -------
    StimResult

    Examples
    --------
    >>> from exobench.algorithms import PCA
    >>> from exobench.examples import example_dataset
    >>> result = stim_from_algorithm(PCA(ncomp=2), example_dataset(n_frames=20, size=33))
    >>> result.normalized.shape, bool(np.nanmax(result.inverse) == result.normalization)
    ((33, 33), True)
    """
    direct = algorithm.process(dataset)
    reverse = algorithm.process(dataset.replace(angles=-np.asarray(dataset.angles, dtype=np.float64)))
    return stim_from_derotated(direct.residuals, reverse.residuals,
                               inner_radius=inner_radius, outer_radius=outer_radius)


def _region(shape, inner_radius, outer_radius):
    xc, yc = frame_center(shape)
    ny, nx = shape
    inner = check_number(inner_radius, "inner_radius")
    if outer_radius is None:
        outer = float(min(xc, yc, nx - 1 - xc, ny - 1 - yc))
    else:
        outer = check_number(outer_radius, "outer_radius")
    if outer <= inner:
        raise ValueError(f"outer_radius: expected more than inner_radius ({inner:g} px), got {outer:g} px")
    radius, _ = polar_grid(shape)
    return (radius >= inner) & (radius <= outer)
