"""The forward model of an announced companion, shared by the characterisation baselines.

A companion of flux ``f`` at ``(x, y)`` of the final (derotated) frame is ``f * psf``
(the dataset's PSF array, the unit of a characterisation phase's fluxes), shifted to
``theta - angles[i]`` in frame ``i``: exactly what :mod:`exobench.inject` adds
(:func:`~exobench.inject.placed_stamps`, :func:`~exobench.inject.add_stamps`), with the
PSF array itself rather than its normalised copy.
"""

import numpy as np

from ..algorithms.sdi import channel_dataset
from ..data import Dataset
from ..geometry import cartesian_to_polar
from ..inject import add_stamps, placed_stamps

__all__ = ["companion_cube", "channel_datasets", "collapsed_dataset", "offset_start", "check_candidates"]


def companion_cube(dataset, x, y, flux=1.0):
    """The frames of a 3D ``dataset`` holding only a companion ``flux * psf`` at ``(x, y)``.

    Examples
    --------
    >>> y, x = np.mgrid[:15, :15]
    >>> psf = np.exp(-((x - 7) ** 2 + (y - 7) ** 2) / 4.0)
    >>> ds = Dataset(np.zeros((4, 41, 41)), np.linspace(0, 30, 4), psf=psf, fwhm=3.3)
    >>> cube = companion_cube(ds, 30.0, 20.0, 2.0)
    >>> cube.shape, bool(np.isclose(cube.sum(), 4 * 2.0 * ds.psf.sum()))
    ((4, 41, 41), True)
    """
    separation, theta = cartesian_to_polar(x, y, center=dataset.center)
    frames = np.zeros(np.shape(dataset.cube), dtype=np.float64)
    placed = placed_stamps(np.asarray(dataset.psf, dtype=np.float64), max(separation, 1e-9), theta,
                           np.asarray(dataset.angles, dtype=np.float64), dataset.center)
    add_stamps(frames, placed, float(flux))
    return frames


def channel_datasets(dataset):
    """The 3D datasets of each channel of a 4D ``dataset`` (``[dataset]`` for a 3D one)."""
    if not dataset.is_4d:
        return [dataset]
    return [channel_dataset(dataset, c) for c in range(dataset.n_channels)]


def collapsed_dataset(dataset):
    """A 4D ``dataset`` averaged over its channels (cube, PSF, FWHM): where positions are fitted.

    The channels' PSFs are all centred on the same pixel, so a companion of any spectrum
    is centred on its position in the mean of the channels, and its mean PSF is the
    model's shape up to the spectrum's weights: a position unbiased by the spectrum.
    """
    return Dataset(np.mean(dataset.cube, axis=0), dataset.angles, psf=np.mean(dataset.psf, axis=0),
                   fwhm=float(np.mean(dataset.fwhm)), pxscale=dataset.pxscale, instrument=dataset.instrument,
                   dataset_id=dataset.dataset_id, recenter_psf=False)


def offset_start(dataset, estimate, candidate, truth):
    """Where an injection-recovery fit of a fake at ``truth`` starts: the fake's true position
    moved as the announced ``candidate`` was from the ``estimate``, in polar coordinates (the
    same radial and azimuthal offsets), so that the fakes' fits start as far from their truth
    as the companion's did."""
    center = dataset.center
    r_est, t_est = cartesian_to_polar(*estimate, center=center)
    r_cand, t_cand = cartesian_to_polar(*candidate, center=center)
    r_true, t_true = cartesian_to_polar(*truth, center=center)
    radius = max(r_true + (r_cand - r_est), 1e-6)
    angle = np.radians(t_true + (t_cand - t_est))
    return center[0] + radius * np.cos(angle), center[1] + radius * np.sin(angle)


def check_candidates(candidates):
    """``candidates`` as an ``(N, 2)`` float array of finite ``(x, y)`` (``ValueError`` naming it otherwise)."""
    array = np.asarray(candidates, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"candidates: expected an (N, 2) array of finite (x, y), got shape {array.shape}")
    return array
