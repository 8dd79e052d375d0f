"""Flux calibration by S/N: which flux gives a companion the S/N it is meant to have.

Per dataset and separation, the relation between a companion's flux and its
S/N after annular PCA is measured the way the EIDC organisers did (trial
companions at several azimuths; annular PCA with the number of components set
by a cumulative explained variance, several levels, the best S/N kept; the S/N
of Mawet et al. 2014 in the final frame), then interpolated.

What makes it cheap: the PCA projections are computed once per
explained-variance level on the dataset itself (faint companions do not change
them) and applied to a cube holding only the trial companions, at unit flux.
With the mean collapse everything is then linear, so the final frame with a
companion of flux ``f`` is ``final_0 + f * final_1`` and the ring fluxes of the
S/N are linear in ``f`` too: the S/N at any flux costs a few arithmetic
operations, and no PCA runs per trial flux. For ADI+mSDI datasets the
calibration runs on the channel-mean cube, where a companion of flux ``f`` in
every channel (a flat spectrum) has flux ``f``.
"""

import dataclasses
import json

import numpy as np

from ..algorithms import AnnularPCA
from ..data import Dataset
from ..detmap import ring_fluxes, snr_of_fluxes
from ..geometry import derotate_cube, frame_center

__all__ = ["FluxCalibration", "Calibrator", "calibrate_fluxes", "calibration_view", "companion_cube"]

#: Trial fluxes per separation, from 0 to the flux of S/N about ``_TOP_SNR``.
_FLUX_SAMPLES = 65
_TOP_SNR = 12.0


@dataclasses.dataclass(frozen=True)
class FluxCalibration:
    """The measured flux-to-S/N relation of one dataset.

    Attributes
    ----------
    separations : numpy.ndarray, shape ``(s,)``
        Calibration separations in pixels.
    fluxes : numpy.ndarray, shape ``(s, f)``
        Trial fluxes per separation (1-FWHM aperture flux per channel, cube units).
    snr : numpy.ndarray, shape ``(s, f)``
        S/N at those fluxes: mean over azimuths, best explained-variance level,
        made non-decreasing in flux.
    explained_variance : numpy.ndarray, shape ``(s,)``
        The level that gave the best S/N, per separation.
    """

    separations: np.ndarray
    fluxes: np.ndarray
    snr: np.ndarray
    explained_variance: np.ndarray

    def flux_for_snr(self, separation, target):
        """The flux (linear interpolation in flux, then in separation) of S/N ``target``."""
        per_sep = np.array([np.interp(target, s, f) for s, f in zip(self.snr, self.fluxes)])
        return float(np.interp(separation, self.separations, per_sep))

    def snr_for_flux(self, separation, flux):
        """The expected S/N of a companion of ``flux`` at ``separation`` px."""
        per_sep = np.array([np.interp(flux, f, s) for s, f in zip(self.snr, self.fluxes)])
        return float(np.interp(separation, self.separations, per_sep))

    def to_json(self):
        return json.dumps({k: np.asarray(v).tolist() for k, v in dataclasses.asdict(self).items()})

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(**{k: np.asarray(v, dtype=float) for k, v in data.items()})


def calibration_view(dataset):
    """The ADI dataset a calibration works on: the dataset itself (3D), or its
    channel mean with the channels' mean normalised PSF (4D)."""
    if dataset.cube.ndim == 3:
        return dataset
    psf = np.asarray(dataset.normalized_psf, dtype=np.float64).mean(axis=0)
    return Dataset(np.asarray(dataset.cube, dtype=np.float64).mean(axis=0), dataset.angles, psf=psf,
                   pxscale=dataset.pxscale, fwhm=float(np.mean(dataset.fwhm)), star_flux=1.0)


def companion_cube(dataset, separations, thetas):
    """An ADI cube holding only unit-flux companions (normalised PSF) at
    ``separations`` (px) and ``thetas`` (deg, final frame), placed with the
    dataset's own angles (the S/N does not depend on the sign convention)."""
    from ..inject import inject_companions

    blank = Dataset(np.zeros(np.shape(dataset.cube)), dataset.angles, psf=dataset.normalized_psf,
                    fwhm=dataset.fwhm, star_flux=1.0)
    return inject_companions(blank, separations=separations, thetas=thetas,
                             fluxes=np.ones(len(separations))).dataset.cube


class Calibrator:
    """Annular PCA's projections of one dataset at each explained-variance level,
    computed once, and what they give: the S/N at given positions
    (:meth:`snr_at`) and the flux-to-S/N relation on a grid of separations
    (:meth:`relation`).

    Parameters
    ----------
    dataset : Dataset
        The dataset before injection (3D or 4D, with a PSF), with the angles the
        injected dataset will carry (``-angles`` for the organisers' inverse-angle
        injection), so that calibration and measurement see the same residuals.
    explained_variance : sequence of float
        Levels of cumulative explained variance setting annular PCA's components.
    asize, delta : float
        Annular PCA's annulus width and rotation threshold (FWHM).
    previous : Calibrator, optional
        A calibrator of the same data before a few companions were added: the
        annuli they do not touch keep its projections (the same numbers, faster).
    """

    def __init__(self, dataset, *, explained_variance=(0.90, 0.95, 0.99), asize=1.0, delta=1.0, previous=None):
        self.view = calibration_view(dataset)
        self.fwhm = float(np.mean(self.view.fwhm))
        self.levels = tuple(float(v) for v in explained_variance)
        algorithm = AnnularPCA(asize=asize, delta=delta, collapse="mean")
        reuse = None
        if previous is not None and set(self.levels) <= set(previous.levels):
            reuse = (previous.view.cube, {level: previous._pipelines[level][0] for level in self.levels})
        # one eigensolve for all levels; annuli the previous calibrator saw unchanged are reused
        by_level = algorithm.projections_by_level(self.view, self.levels, previous=reuse)
        self._pipelines = {level: (p, _final(p.subtract(self.view.cube), self.view.angles))
                           for level, p in by_level.items()}

    def unit_finals(self, separations, thetas):
        """Per level, the final frame of unit-flux companions at those positions alone."""
        cube = companion_cube(self.view, separations, thetas)
        return {level: _final(p.subtract(cube), self.view.angles) for level, (p, _) in self._pipelines.items()}

    def snr_at(self, separations, thetas, levels):
        """The S/N at those positions in the dataset's own final frames (one level each)."""
        return np.array([snr_of_fluxes(ring_fluxes(self._pipelines[level][1],
                                                   _position(self.view.cube.shape, r, t), self.fwhm))
                         for r, t, level in zip(separations, thetas, levels)])

    def relation(self, separations, *, azimuths=3):
        """The flux-to-S/N relation on a grid of separations (px), averaged over azimuths."""
        separations = np.asarray(separations, dtype=float)
        groups = _trial_groups(separations, azimuths)
        finals1 = [self.unit_finals(separations[idx], thetas) for idx, thetas in groups]
        best_snr, best_level, fluxes = None, None, None
        for level in self.levels:
            final0 = self._pipelines[level][1]
            p0 = np.empty((len(separations), azimuths), dtype=object)
            p1 = np.empty_like(p0)
            for (idx, thetas), final1 in zip(groups, finals1):
                for j, theta in zip(idx, thetas):
                    a = _azimuth_index(theta, j, azimuths)
                    position = _position(self.view.cube.shape, separations[j], theta)
                    p0[j, a] = ring_fluxes(final0, position, self.fwhm)
                    p1[j, a] = ring_fluxes(final1[level], position, self.fwhm)
            if fluxes is None:
                fluxes = _flux_grids(p0, p1)
            # the ring fluxes at flux f are p0 + f * p1: every trial flux at once
            snr = np.array([np.mean([snr_of_fluxes(p0[j, a][None, :] + fluxes[j][:, None] * p1[j, a][None, :])
                                     for a in range(azimuths)], axis=0) for j in range(len(separations))])
            snr = np.maximum.accumulate(np.nan_to_num(snr, nan=0.0), axis=1)
            if best_snr is None:
                best_snr, best_level = snr, np.full(len(separations), level)
            else:
                better = snr[:, -1] > best_snr[:, -1]
                best_snr[better], best_level[better] = snr[better], level
        return FluxCalibration(separations, fluxes, best_snr, best_level)


def calibrate_fluxes(dataset, *, separations, azimuths=3, explained_variance=(0.90, 0.95, 0.99),
                     asize=1.0, delta=1.0):
    """Measure the flux-to-S/N relation of a dataset (see the module and :class:`Calibrator`).

    Returns
    -------
    FluxCalibration
    """
    calibrator = Calibrator(dataset, explained_variance=explained_variance, asize=asize, delta=delta)
    return calibrator.relation(separations, azimuths=azimuths)


def _trial_groups(separations, azimuths):
    """Trial positions in groups whose companions stay out of each other's S/N
    rings: every other separation (2 steps apart radially), alternately on
    opposite sides, one group per azimuth and parity."""
    groups = []
    for a in range(azimuths):
        for parity in (0, 1):
            idx = np.arange(parity, len(separations), 2)
            thetas = (a * 360.0 / azimuths + 180.0 * (np.arange(len(idx)) % 2)) % 360.0
            groups.append((idx, thetas))
    return groups


def _azimuth_index(theta, j, azimuths):
    """Which azimuth a trial position at separation index ``j`` belongs to."""
    base = (theta - 180.0 * ((j // 2) % 2)) % 360.0
    return int(round(base * azimuths / 360.0)) % azimuths


def _position(shape, separation, theta):
    xc, yc = frame_center(shape)
    rad = np.radians(theta)
    return xc + separation * np.cos(rad), yc + separation * np.sin(rad)


def _final(residuals, angles):
    return derotate_cube(residuals, angles).mean(axis=0)


def _flux_grids(p0, p1):
    """Per separation, fluxes from 0 to the flux of S/N about ``_TOP_SNR``."""
    grids = []
    for j in range(p0.shape[0]):
        slopes = []
        for a in range(p0.shape[1]):
            background = p0[j, a][1:]
            noise = background.std(ddof=1) * np.sqrt(1 + 1 / background.size)
            gain = p1[j, a][0] - p1[j, a][1:].mean()
            slopes.append(gain / noise if noise > 0 else np.nan)
        slope = np.nanmean(slopes)
        top = _TOP_SNR / slope if np.isfinite(slope) and slope > 0 else 1.0
        grids.append(np.linspace(0.0, top, _FLUX_SAMPLES))
    return np.array(grids)
