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

What makes it cheaper still: a measurement reads only the annuli near its
ring of apertures, so projections are learnt for those annuli alone, and
the final frames are derotated only on the rings measured (see
:class:`Calibrator`).
"""

import dataclasses
import json

import numpy as np

from .._threads import one_blas_thread
from ..algorithms import AnnularPCA
from ..algorithms.pca_annular import AnnularProjections, subtract_each
from ..data import Dataset
from ..detmap import ring_fluxes, snr_of_fluxes
from ..geometry import derotate_cube, frame_center, polar_grid
from ..inject import add_stamps, companion_geometry, placed_stamps, stamp_padding

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


def companion_cube(dataset, separations, thetas, *, unit_psf=None):
    """An ADI cube holding only unit-flux companions (normalised PSF) at
    ``separations`` (px) and ``thetas`` (deg, final frame), placed with the
    dataset's own angles (the S/N does not depend on the sign convention):
    the cube :func:`~exobench.inject.inject_companions` gives on a blank copy
    of the dataset, byte for byte. ``unit_psf``: :func:`unit_psf_of` the
    dataset, when already known (it is the same for every trial cube)."""
    psf = unit_psf_of(dataset) if unit_psf is None else unit_psf
    cube = np.zeros(np.shape(dataset.cube))
    for separation, theta in zip(*companion_geometry(separations, thetas)):
        add_stamps(cube, placed_stamps(psf, separation, theta, dataset.angles, dataset.center), 1.0)
    return cube


def unit_psf_of(dataset):
    """The PSF that :func:`companion_cube` injects: the dataset's normalised PSF, as a blank
    dataset of unit star flux normalises it again (what injecting into one would use)."""
    frames = np.zeros((1, *np.shape(dataset.cube)[-2:]))
    blank = Dataset(frames, np.asarray(dataset.angles)[:1], psf=dataset.normalized_psf, fwhm=dataset.fwhm,
                    star_flux=1.0)
    return blank.normalized_psf


class Calibrator:
    """Annular PCA's projections of one dataset at each explained-variance level,
    and what they give: the S/N at given positions (:meth:`snr_at`) and the
    flux-to-S/N relation on a grid of separations (:meth:`relation`).

    Projections are learnt lazily, annulus by annulus, for the annuli that
    the requested S/N measurements depend on (the rings of apertures at those
    separations, with the margin of the derotation's interpolation), and kept:
    a measurement is exactly the one of annular PCA on the whole frame, for
    the price of the annuli it reads.

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
        self._algorithm = AnnularPCA(asize=asize, delta=delta, collapse="mean")
        key = (self.view.cube.shape, self.fwhm, float(asize), float(delta), np.shape(self.view.psf))
        if previous is not None and previous._geometry[0] == key:  # a round of the same dataset: same annuli
            self._geometry = previous._geometry
        else:
            self._geometry = (key, *self._annuli_geometry())
        self._pixels, self._radii, self._radius, self._reach, self._scratch = self._geometry[1:]
        self._weights = {level: [None] * len(self._pixels) for level in self.levels}
        self._previous = previous if previous is not None and set(self.levels) <= set(previous.levels) else None
        self._finals = {}  # per level, the dataset's own final frame on the rings of self._covered
        self._covered = set()
        self._unit_psf = None
        self._measured = set()  # separations whose rings the dataset's own final frames must cover

    def _annuli_geometry(self):
        """The annuli's pixels and radius ranges, each pixel's radius, and how far an injected
        companion's stamp (the padded PSF, placed on the nearest pixel) reaches."""
        pixels = tuple(self._algorithm.annulus_pixels(self.view))
        psf_shape = np.shape(self.view.normalized_psf)[-2:]
        stamp = [n + sum(pad) for n, pad in zip(psf_shape, stamp_padding(psf_shape))]
        return (pixels, _pixel_radius_ranges(self.view.cube.shape, pixels),
                polar_grid(self.view.cube.shape[-2:])[0], float(np.hypot(stamp[0] / 2, stamp[1] / 2)) + 1.0,
                {})  # scratch: buffers of the final frames, shared by the rounds of a dataset

    def _margin(self):
        # an aperture's pixels reach fwhm/2 + 1/sqrt(2) px from its centre, and a derotated pixel
        # reads residuals up to sqrt(2) px further out or in
        return self.fwhm / 2 + 2.5

    def _annuli_for(self, separations):
        """The annuli that the rings of apertures at ``separations`` read (through the derotation)."""
        margin = self._margin()
        needed = np.zeros(len(self._pixels), dtype=bool)
        for r in np.atleast_1d(separations):
            needed |= (self._radii[:, 1] >= r - margin) & (self._radii[:, 0] <= r + margin)
        return np.flatnonzero(needed)

    def _rings_for(self, separations):
        """The pixels of the rings of apertures at ``separations`` (partial pixels included)."""
        rings = np.zeros(self._radius.shape, dtype=bool)
        for r in np.atleast_1d(separations):
            rings |= np.abs(self._radius - r) <= self.fwhm / 2 + 1.0
        return rings

    def _ensure(self, separations):
        """Learn the projections of every annulus the rings at ``separations`` read."""
        self._measured |= {float(r) for r in np.atleast_1d(separations)}
        missing = [i for i in self._annuli_for(separations) if self._weights[self.levels[0]][i] is None]
        if not missing:
            return
        previous = None
        if self._previous is not None:
            old = self._previous
            previous = (old.view.cube, {level: old._projections(level) for level in self.levels})
        learnt = self._algorithm.projections_by_level(self.view, self.levels, previous=previous, annuli=missing)
        for level in self.levels:
            for i in missing:
                self._weights[level][i] = learnt[level].weights[i]

    def _projections(self, level):
        return AnnularProjections(shape=self.view.cube.shape, pixels=self._pixels, weights=tuple(self._weights[level]))

    def _final_frames(self, cube, separations):
        """Per level, the final frame of ``cube`` on the rings at ``separations`` (0 elsewhere):
        exact there."""
        projections = [self._projections(level) for level in self.levels]
        # buffers shared by every call (and the rounds of the dataset): each call writes and
        # reads only the annuli and rings it measures
        buffers = self._scratch.setdefault("buffers", [])
        while len(buffers) < len(self.levels) + 1:
            buffers.append(np.zeros(self.view.cube.shape))
        # many small products: one BLAS thread is faster, and the same on every machine
        with one_blas_thread():
            residuals = subtract_each(projections, cube, annuli=self._annuli_for(separations),
                                      out=buffers[:len(self.levels)], threads=None)
        rings = self._rings_for(separations)
        return {level: _final(r, self.view.angles, rings, buffers[-1]) for level, r in zip(self.levels, residuals)}

    def _own_final(self, level):
        """The dataset's own final frame at ``level``, on the rings of every separation measured so far."""
        new = sorted(self._measured - self._covered)
        if new:  # only the new rings: the others keep their numbers (exact, ring by ring)
            fresh = self._final_frames(self.view.cube, new)
            rings = self._rings_for(new)
            for key, frame in fresh.items():
                if key in self._finals:
                    self._finals[key][rings] = frame[rings]
                else:
                    self._finals[key] = frame
            self._covered |= set(new)
        return self._finals[level]

    def unit_finals(self, separations, thetas, *, measured=None):
        """Per level, the final frame of unit-flux companions at those positions
        alone, exact on the rings at ``measured`` separations (default: theirs)."""
        measured = separations if measured is None else measured
        self._ensure(measured)
        if self._unit_psf is None:
            self._unit_psf = unit_psf_of(self.view)
        cube = companion_cube(self.view, separations, thetas, unit_psf=self._unit_psf)
        return self._final_frames(cube, measured)

    def snr_at(self, separations, thetas, levels):
        """The S/N at those positions in the dataset's own final frames (one level each)."""
        self._ensure(separations)
        return np.array([snr_of_fluxes(ring_fluxes(self._own_final(level),
                                                   _position(self.view.cube.shape, r, t), self.fwhm))
                         for r, t, level in zip(separations, thetas, levels)])

    def relation(self, separations, *, azimuths=3, only=None):
        """The flux-to-S/N relation on a grid of separations (px), averaged over azimuths.

        ``only`` (indices into ``separations``) measures those separations
        alone; each separation's relation is the same whichever others are
        measured with it (its trial companions share cubes laid out on the
        whole grid), so relations of parts of a grid can be cached and merged.
        """
        separations = np.asarray(separations, dtype=float)
        wanted = np.arange(separations.size) if only is None else np.unique(np.asarray(only, dtype=int))
        self._ensure(separations[wanted])
        # ring fluxes of the dataset's own final frame (p0) and of unit companions (p1), per level
        p0 = {level: np.empty((separations.size, azimuths), dtype=object) for level in self.levels}
        p1 = {level: np.empty((separations.size, azimuths), dtype=object) for level in self.levels}
        for idx, thetas in _trial_groups(separations, azimuths):
            measured = separations[np.intersect1d(idx, wanted)]
            if not measured.size:
                continue
            # only the trial companions whose light reaches the annuli that the measured rings read
            # (the others add nothing there: the same numbers, for a fraction of the injections)
            needed = self._annuli_for(measured)
            low, high = self._radii[needed, 0].min() - self._reach, self._radii[needed, 1].max() + self._reach
            near = (separations[idx] >= low) & (separations[idx] <= high)
            finals1 = self.unit_finals(separations[idx][near], thetas[near], measured=measured)
            for j, theta in zip(idx, thetas):
                if j in wanted:
                    a = _azimuth_index(theta, j, azimuths)
                    position = _position(self.view.cube.shape, separations[j], theta)
                    for level in self.levels:
                        p0[level][j, a] = ring_fluxes(self._own_final(level), position, self.fwhm)
                        p1[level][j, a] = ring_fluxes(finals1[level], position, self.fwhm)
        return self._best_relation(separations[wanted], {level: p[wanted] for level, p in p0.items()},
                                   {level: p[wanted] for level, p in p1.items()}, azimuths)

    def _best_relation(self, separations, p0_by_level, p1_by_level, azimuths):
        """The relation from the ring fluxes per level: at flux ``f`` they are ``p0 + f p1``."""
        best_snr = best_level = fluxes = None
        for level in self.levels:
            p0, p1 = p0_by_level[level], p1_by_level[level]
            if fluxes is None:
                fluxes = _flux_grids(p0, p1)
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


def _final(residuals, angles, rings, buffer):
    """The mean of the derotated residuals on ``rings`` (a boolean mask of the pixels
    that measurements read; 0 elsewhere), the numbers of a whole derotation bit for
    bit. ``buffer`` (the cube's shape, float64) receives the derotated frames: only
    the rings are written and read, so one buffer serves every call, without the
    cost of fresh pages at each."""
    final = np.zeros(residuals.shape[-2:])
    final[rings] = derotate_cube(residuals, angles, where=rings, out=buffer)[:, rings].mean(axis=0)
    return final


def _pixel_radius_ranges(shape, pixels):
    """``(n, 2)``: the smallest and largest distance to the centre of each annulus's pixels."""
    radius = polar_grid(shape[-2:])[0].ravel()
    return np.array([[radius[pix].min(), radius[pix].max()] for pix in pixels])


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
