"""Negative fake companions (NEGFC): an announced companion's position and flux by simplex.

A model companion ``flux * psf`` at ``(x, y)`` (:mod:`exobench.charac.model`) is
subtracted from the cube, the PSF subtraction is run, and a figure of merit of the final
frame's pixels in an aperture around the candidate is minimised over ``(x, y, flux)``
by Nelder-Mead (Wertz et al. 2017; VIP's ``firstguess``).

PSF subtraction, three methods:

- ``"fast"`` (default): PCA in one annulus centred on the candidate's separation, each
  frame's library the frames rotated by at least ``delta`` FWHM of arc (annular PCA's
  rule), its projections learnt **once** from the cube with the companion. The
  residuals are then linear in the model, ``R(cube) - flux * R(model)``, and so is the
  derotation: an evaluation shifts the PSF into every frame, projects one annulus and
  derotates the aperture's pixels only. Its bias against re-learning the projections at
  every evaluation (``"full"``) is measured by the tests and bench/bench_negfc.py.
- ``"full"``: the same annulus, its projections learnt again from each modified cube.
- ``"algorithm"``: any algorithm of :mod:`exobench.algorithms` run on the whole
  modified cube at each evaluation (slow: for comparisons).

Figures of merit over the aperture's pixels of the final frame: ``"sumsq"`` (default),
the sum of squares: smooth in the parameters (Nelder-Mead converges to a clean
minimum where the sum of absolute values has kinks at every pixel's zero crossing) and
the Gaussian log-likelihood of white residuals, up to a constant; ``"sum"``, the sum
of absolute values (VIP's default ``fmerit='sum'``); ``"std"``, their standard deviation.

Uncertainties (:meth:`NegFC.estimate`): by injection-recovery of fake companions
(:mod:`exobench.charac.uncertainty`, the default) or from a posterior sampled with emcee
(``uncertainty="posterior"``, :mod:`exobench.charac.posterior`).
"""

import dataclasses

import numpy as np
from scipy import optimize

from .._threads import one_blas_thread
from .._validate import check_choice, check_integer, check_number
from ..algorithms import get_algorithm
from ..algorithms._eigen import projection_weights
from ..algorithms.annuli import rotation_thresholds
from ..geometry import cartesian_to_polar, derotate_cube, polar_grid
from .model import channel_datasets, collapsed_dataset, companion_cube

__all__ = ["NegFC", "NegFCFit", "Objective", "FIGURES_OF_MERIT", "METHODS", "UNCERTAINTIES"]

#: Figures of merit of the aperture's residuals.
FIGURES_OF_MERIT = ("sumsq", "sum", "std")
#: How the PSF is subtracted at each evaluation.
METHODS = ("fast", "full", "algorithm")
#: How the uncertainties are measured (:meth:`NegFC.estimate`).
UNCERTAINTIES = ("injection", "posterior")


@dataclasses.dataclass(frozen=True)
class NegFCFit:
    """One companion's fit: ``x, y`` (px, final frame), ``fluxes`` (one per channel, PSF
    units), the figure of merit at the optimum and the number of evaluations."""

    x: float
    y: float
    fluxes: np.ndarray
    merit: float
    evaluations: int

    @property
    def row(self):
        """``[x, y, flux_1, ...]``: a row of a characterisation file."""
        return np.concatenate([[self.x, self.y], self.fluxes])


class Objective:
    """The figure of merit of the residuals of ``cube - flux * model(x, y)`` in an aperture.

    Parameters
    ----------
    dataset : Dataset
        A 3D dataset (its cube holds the companion).
    center : (float, float)
        The aperture's centre ``(x, y)``; the annulus is centred on its separation.
    options : NegFC
        The settings.
    companion : (float, float, float), optional
        A previous ``(x, y, flux)`` of the companion: the fast path's projections are then
        learnt from the cube without it.
    """

    def __init__(self, dataset, center, options, *, companion=None):
        self.offset = (0, 0)
        if options.method != "algorithm":
            dataset, self.offset = _cropped(dataset, center, options)
        center = (center[0] - self.offset[0], center[1] - self.offset[1])
        self.dataset, self.options = dataset, options
        self.cube = np.asarray(dataset.cube, dtype=np.float64)
        self.angles = np.asarray(dataset.angles, dtype=np.float64)
        fwhm = float(dataset.fwhm)
        t, ny, nx = self.cube.shape
        yy, xx = np.mgrid[:ny, :nx]
        radius = options.aperture_radius * fwhm
        self.aperture = (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius ** 2
        self.aperture_pixels = np.flatnonzero(self.aperture.ravel())
        if self.aperture_pixels.size < 3:
            raise ValueError(f"aperture_radius: expected an aperture of at least 3 pixels, got "
                             f"{self.aperture_pixels.size} ({radius:.2f} px)")
        separation, _ = cartesian_to_polar(*center, center=dataset.center)
        half = options.annulus_width * fwhm / 2.0
        rr, _ = polar_grid((ny, nx), center=dataset.center)
        self.pixels = np.flatnonzero(((rr >= separation - half) & (rr <= separation + half)).ravel())
        thresholds, distance = rotation_thresholds(self.angles, max(separation, 1.0), options.delta, fwhm,
                                                   min(options.ncomp, t))
        self.allowed = distance >= thresholds[:, None]
        self.evaluations = 0
        self._gather = _bilinear_gather(self.angles, self.aperture_pixels, self.pixels, dataset.center, (ny, nx))
        if options.method != "algorithm":
            # learnt from the cube less a previous estimate of the companion, when given: the
            # companion's own light then no longer bends the components (the fast path's bias)
            learn = self.cube if companion is None else self.cube - companion[2] * self._companion(*companion[:2])
            self.weights = self._weights(learn)
            self.base = self._derotated(self._residuals(self.cube, self.weights))

    def _weights(self, cube):
        matrix = cube.reshape(cube.shape[0], -1)[:, self.pixels]
        matrix = matrix - matrix.mean(axis=0)
        with one_blas_thread():
            return projection_weights(matrix @ matrix.T, self.allowed, min(self.options.ncomp, cube.shape[0]))

    def _residuals(self, cube, weights):
        matrix = cube.reshape(cube.shape[0], -1)[:, self.pixels]
        matrix = matrix - matrix.mean(axis=0)
        with one_blas_thread():
            return matrix - weights @ matrix

    def _derotated(self, annulus):
        """``(t, aperture pixels)``: the annulus's residuals derotated, at the aperture's pixels.

        Bilinear: a precomputed gather of four weighted annulus pixels per output pixel
        (:func:`_bilinear_gather`, tested equal to :func:`~exobench.geometry.derotate_cube`
        with ``where``); bicubic: ``derotate_cube`` itself."""
        if self.options.derotation == "bilinear":
            index, weights = self._gather
            padded = np.concatenate([annulus, np.zeros((annulus.shape[0], 1))], axis=1)  # index -1: outside
            rows = np.arange(annulus.shape[0])[:, None, None]
            return np.sum(weights * padded[rows, index], axis=-1)
        t, ny, nx = self.cube.shape
        frames = np.zeros((t, ny * nx))
        frames[:, self.pixels] = annulus
        out = derotate_cube(frames.reshape(t, ny, nx), self.angles, method=self.options.derotation,
                            where=self.aperture)
        return out.reshape(t, -1)[:, self.aperture_pixels]

    def _collapse(self, values):
        return values.mean(axis=0) if self.options.collapse == "mean" else np.median(values, axis=0)

    def model(self, x, y):
        """``(t, aperture pixels)``: the derotated residuals of a unit companion at ``(x, y)``
        through the fixed projections (the fast path's linear term)."""
        return self._derotated(self._residuals(self._companion(x, y), self.weights))

    def _companion(self, x, y):
        return companion_cube(self.dataset, x - self.offset[0], y - self.offset[1])

    def final(self, x, y, flux):
        """The final frame's pixels in the aperture after subtracting ``flux * psf`` at ``(x, y)``."""
        self.evaluations += 1
        method = self.options.method
        if method == "fast":
            return self._collapse(self.base - flux * self.model(x, y))
        cube = self.cube - flux * self._companion(x, y)
        if method == "full":
            return self._collapse(self._derotated(self._residuals(cube, self._weights(cube))))
        algorithm = self.options.make_algorithm()
        return algorithm.process(self.dataset.replace(cube=cube)).final.ravel()[self.aperture_pixels]

    def final_frame(self, x, y, flux):
        """The whole final frame (of the crop) after subtracting ``flux * psf`` at ``(x, y)``: the
        annulus's residuals through the objective's projections (``"fast"``; learnt again for
        ``"full"``) derotated and collapsed, or the algorithm's final frame."""
        cube = self.cube - flux * self._companion(x, y)
        if self.options.method == "algorithm":
            return np.asarray(self.options.make_algorithm().process(self.dataset.replace(cube=cube)).final,
                              dtype=np.float64)
        weights = self.weights if self.options.method == "fast" else self._weights(cube)
        t, ny, nx = self.cube.shape
        frames = np.zeros((t, ny * nx))
        frames[:, self.pixels] = self._residuals(cube, weights)
        derotated = derotate_cube(frames.reshape(t, ny, nx), self.angles, method=self.options.derotation,
                                  center=self.dataset.center)
        return self._collapse(derotated)

    def __call__(self, x, y, flux):
        """The figure of merit at ``(x, y, flux)``."""
        values = self.final(x, y, flux)
        merit = self.options.fmerit
        if merit == "sumsq":
            return float(np.sum(values ** 2))
        if merit == "sum":
            return float(np.sum(np.abs(values)))
        return float(np.std(values))

    def linear_flux(self, x, y):
        """The flux at ``(x, y)`` that best cancels the aperture's mean residuals (least squares
        through the fixed projections): the first guess's scale."""
        weights = self.weights if self.options.method != "algorithm" else self._weights(self.cube)
        base = self.base if self.options.method != "algorithm" else \
            self._derotated(self._residuals(self.cube, weights))
        unit = self._derotated(self._residuals(self._companion(x, y), weights)).mean(axis=0)
        norm = float(unit @ unit)
        return float(base.mean(axis=0) @ unit) / norm if norm > 0 else 0.0


class NegFC:
    """Negative fake companions: fit an announced companion's ``(x, y, flux)``.

    Parameters
    ----------
    ncomp : int
        Principal components removed per frame in the annulus.
    annulus_width : float
        Width of the PCA annulus centred on the candidate's separation, in FWHM.
    aperture_radius : float
        Radius of the aperture of the figure of merit, in FWHM.
    delta : float
        Minimum rotation of each frame's references, in FWHM of arc (0: every frame).
    fmerit : {"sumsq", "sum", "std"}
        Figure of merit (module documentation).
    method : {"fast", "full", "algorithm"}
        PSF subtraction at each evaluation (module documentation).
    algorithm : str
        With ``method="algorithm"``: the algorithm's registry name.
    algorithm_options : dict, optional
        Its options.
    collapse : {"median", "mean"}
    derotation : {"bilinear", "bicubic"}
    flux_grid : int
        Fluxes tried at the candidate's position for the first guess (0 to twice the
        linear estimate).
    passes : int
        Simplex runs; each after the first re-centres the aperture and annulus on the
        previous estimate (the candidate may be half a FWHM off).
    xatol : float
        Simplex tolerance on the position (px) and the relative flux.
    max_evaluations : int
        Most evaluations of a simplex run.
    uncertainty : {"injection", "posterior"}
        How :meth:`estimate` measures the 1-sigma uncertainties: ``"injection"`` (default,
        fast), the RMS errors of ``n_fakes`` fake companions injected at the same separation
        (:mod:`exobench.charac.uncertainty`); ``"posterior"``, half the 16-84 percentile range
        of a posterior sampled with emcee (:mod:`exobench.charac.posterior`; the optional
        dependency ``pip install 'exobench[emcee]'``). The estimates are the simplex's either way.
    n_fakes : int
        Fake companions of ``uncertainty="injection"``.
    walkers, steps : int
        ``uncertainty="posterior"``: emcee's walkers (at least ``2 * (2 + n_channels) + 2``
        are used) and the steps each makes.
    burnin, thin : int
        Steps discarded at the start of each walker's chain, and one step in ``thin`` kept.
    prior_width : float
        Half-width of the flat priors of ``x`` and ``y`` about the estimate, in FWHM.
    flux_prior : float
        Each flux's flat prior runs from 0 to ``flux_prior`` times its estimate.
    seed : int
        Seed of the posterior's random draws (the walkers' start and emcee's moves): one
        seed, the same samples.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> from exobench.inject import inject_companions
    >>> ds = example_dataset(n_frames=20, size=41)
    >>> fitted = NegFC(ncomp=2).fit(ds, [(28.0, 20.0)])
    >>> len(fitted), fitted[0].fluxes.shape
    (1, (1,))
    """

    def __init__(self, *, ncomp=5, annulus_width=3.0, aperture_radius=1.0, delta=1.0, fmerit="sumsq",
                 method="fast", algorithm="pca-annular", algorithm_options=None, collapse="median",
                 derotation="bilinear", flux_grid=11, passes=2, xatol=0.01, max_evaluations=400,
                 uncertainty="injection", n_fakes=6, walkers=24, steps=300, burnin=100, thin=1, prior_width=0.5,
                 flux_prior=2.0, seed=0):
        self.ncomp = check_integer(ncomp, "ncomp", minimum=1)
        self.annulus_width = check_number(annulus_width, "annulus_width", strict=True)
        self.aperture_radius = check_number(aperture_radius, "aperture_radius", strict=True)
        self.delta = check_number(delta, "delta")
        self.fmerit = check_choice(fmerit, "fmerit", FIGURES_OF_MERIT)
        self.method = check_choice(method, "method", METHODS)
        self.algorithm = algorithm
        self.algorithm_options = dict(algorithm_options or {})
        self.collapse = check_choice(collapse, "collapse", ("median", "mean"))
        self.derotation = check_choice(derotation, "derotation", ("bilinear", "bicubic"))
        self.flux_grid = check_integer(flux_grid, "flux_grid", minimum=2)
        self.passes = check_integer(passes, "passes", minimum=1)
        self.xatol = check_number(xatol, "xatol", strict=True)
        self.max_evaluations = check_integer(max_evaluations, "max_evaluations", minimum=10)
        self.uncertainty = check_choice(uncertainty, "uncertainty", UNCERTAINTIES)
        self.n_fakes = check_integer(n_fakes, "n_fakes", minimum=2)
        self.walkers = check_integer(walkers, "walkers", minimum=2)
        self.steps = check_integer(steps, "steps", minimum=2)
        self.burnin = check_integer(burnin, "burnin", minimum=0, maximum=self.steps - 1,
                                    what="fewer than the steps")
        self.thin = check_integer(thin, "thin", minimum=1)
        self.prior_width = check_number(prior_width, "prior_width", strict=True)
        self.flux_prior = check_number(flux_prior, "flux_prior", minimum=1, strict=True)
        self.seed = check_integer(seed, "seed", minimum=0)
        if self.uncertainty == "posterior":
            from .posterior import import_emcee

            import_emcee()  # a missing emcee fails before any work
        if self.method == "algorithm":
            self.make_algorithm()  # an unknown name or option fails before any work

    def make_algorithm(self):
        """The algorithm of ``method="algorithm"``."""
        return get_algorithm(self.algorithm)(**self.algorithm_options)

    def fit(self, dataset, candidates):
        """Fit every candidate of ``dataset`` (3D or 4D).

        Parameters
        ----------
        dataset : Dataset
        candidates : array_like, shape ``(N, 2)``
            Approximate ``(x, y)`` of each companion (final frame).

        Returns
        -------
        list of NegFCFit
            One per candidate, in order. 4D: the position fitted on the channels' mean,
            then each channel's flux with the position fixed.
        """
        candidates = _check_candidates(candidates)
        out = []
        for candidate in candidates:
            if not dataset.is_4d:
                out.append(self.fit_one(dataset, candidate))
                continue
            mean = self.fit_one(collapsed_dataset(dataset), candidate)
            fluxes = [self.flux_at(channel, mean.x, mean.y, mean.fluxes[0]) for channel in channel_datasets(dataset)]
            out.append(NegFCFit(mean.x, mean.y, np.array(fluxes), mean.merit, mean.evaluations))
        return out

    def estimate(self, dataset, candidates, *, uncertainties=True):
        """Fit every candidate: ``(N, 2 + n_channels)`` estimates and (or None) their 1-sigma
        uncertainties, by injection-recovery of ``n_fakes`` fakes each
        (:func:`exobench.charac.uncertainty.injection_uncertainties`) or from the posterior
        (:meth:`posterior`; candidate ``i`` draws from the ``i``-th child of ``seed``'s
        :class:`numpy.random.SeedSequence`), as ``uncertainty`` says."""
        from .uncertainty import injection_uncertainties

        candidates = _check_candidates(candidates)
        rows = np.array([found.row for found in self.fit(dataset, candidates)])
        if not uncertainties:
            return rows, None
        if self.uncertainty == "posterior":
            children = np.random.SeedSequence(self.seed).spawn(len(rows))
            return rows, np.array([self.posterior(dataset, row, rng=np.random.default_rng(child)).sigma
                                   for row, child in zip(rows, children)])
        sigmas = [injection_uncertainties(lambda data, start: self.fit(data, [start])[0].row, dataset, row,
                                          candidate, count=self.n_fakes)
                  for row, candidate in zip(rows, candidates)]
        return rows, np.array(sigmas)

    def posterior(self, dataset, estimate, *, rng=None):
        """Sample the posterior of one companion's ``[x, y, flux_1, ...]`` about an estimate with emcee
        (:func:`exobench.charac.posterior.sample_posterior`; needs ``exobench[emcee]``).

        Parameters
        ----------
        dataset : Dataset
            3D or 4D, with the companion.
        estimate : array_like
            ``[x, y, flux_1, ...]``, e.g. ``fit(dataset, [candidate])[0].row``.
        rng : numpy.random.Generator or int, optional
            The random draws (default: ``seed``).

        Returns
        -------
        exobench.charac.posterior.Posterior
            Samples, median, 16th and 84th percentiles, 1-sigma uncertainties.
        """
        from .posterior import sample_posterior

        rng = np.random.default_rng(self.seed if rng is None else rng)
        return sample_posterior(self, dataset, estimate, rng=rng)

    def fit_one(self, dataset, candidate):
        """One candidate of a 3D dataset: first guess, then ``passes`` simplex runs."""
        x, y = float(candidate[0]), float(candidate[1])
        objective = Objective(dataset, (x, y), self)
        flux = self.first_guess(objective, x, y)
        evaluations, fwhm = 0, float(dataset.fwhm)
        for number in range(self.passes):
            if number:
                objective = Objective(dataset, (x, y), self, companion=(x, y, flux))
            (x, y, flux), merit = self._simplex(objective, (x, y, flux), step=0.25 * fwhm / (1 + 2 * number))
            evaluations += objective.evaluations
        return NegFCFit(x, y, np.array([flux]), merit, evaluations)

    def flux_at(self, dataset, x, y, start):
        """The flux of a 3D dataset's companion at a fixed ``(x, y)`` (bounded scalar minimisation)."""
        objective = Objective(dataset, (x, y), self)
        scale = abs(objective.linear_flux(x, y)) or abs(start) or 1.0
        found = optimize.minimize_scalar(lambda f: objective(x, y, f), bounds=(-0.5 * scale, 3.0 * scale),
                                         method="bounded", options={"xatol": self.xatol * scale})
        return float(found.x)

    def first_guess(self, objective, x, y):
        """The flux of least merit on a grid from 0 to twice the linear estimate at ``(x, y)``."""
        scale = objective.linear_flux(x, y)
        if not scale > 0:  # no positive light at the candidate: start from the PSF's own scale
            scale = float(np.std(objective.cube)) / max(float(np.max(objective.dataset.psf)), 1e-300)
        grid = np.linspace(0.0, 2.0 * scale, self.flux_grid)
        merits = [objective(x, y, f) for f in grid]
        return float(grid[int(np.argmin(merits))]) or scale

    def _simplex(self, objective, start, *, step):
        x0, y0, f0 = start
        scale = abs(f0) or 1.0
        reference = objective(x0, y0, f0) or 1.0

        def merit(p):
            return objective(p[0], p[1], p[2] * scale) / reference

        initial = np.array([[x0, y0, f0 / scale], [x0 + step, y0, f0 / scale], [x0, y0 + step, f0 / scale],
                            [x0, y0, f0 / scale * 1.1 if f0 else 0.1]])
        found = optimize.minimize(merit, initial[0], method="Nelder-Mead",
                                  options={"initial_simplex": initial, "xatol": self.xatol, "fatol": 1e-4,
                                           "maxfev": self.max_evaluations})
        x, y, f = found.x
        return (float(x), float(y), float(f * scale)), float(found.fun * reference)


def _bilinear_gather(angles, targets, sources, center, shape):
    """Bilinear derotation as a gather: for each frame and target pixel (flat indices), the
    positions in ``sources`` (flat indices; ``-1``: a pixel outside them, worth 0) of its four
    neighbours and their weights, ``(t, targets, 4)`` each, in the convention of
    :func:`exobench.geometry.rotate_frames` (output pixel ``p`` reads ``R(-angle)(p - c) + c``)."""
    ny, nx = shape
    xc, yc = center
    py, px = np.divmod(targets, nx)
    rad = np.radians(angles)[:, None]
    cos, sin = np.cos(rad), np.sin(rad)
    dx, dy = px[None, :] - xc, py[None, :] - yc
    xin, yin = cos * dx + sin * dy + xc, -sin * dx + cos * dy + yc
    x0, y0 = np.floor(xin).astype(int), np.floor(yin).astype(int)
    fx, fy = xin - x0, yin - y0
    lookup = np.full(ny * nx, -1)
    lookup[sources] = np.arange(sources.size)
    index, weights = [], []
    for ox, oy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        x, y = x0 + ox, y0 + oy
        inside = (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
        index.append(np.where(inside, lookup[np.clip(y, 0, ny - 1) * nx + np.clip(x, 0, nx - 1)], -1))
        weights.append(np.where(inside, w, 0.0))
    return np.stack(index, axis=-1), np.stack(weights, axis=-1)


def _cropped(dataset, center, options):
    """The dataset cropped about the star to the annulus and the aperture, and the crop's
    corner ``(x0, y0)``: every evaluation then shifts, projects and derotates a few times
    fewer pixels (the crop keeps the star on its pixel, so the frames rotate as before)."""
    fwhm = float(dataset.fwhm)
    separation, _ = cartesian_to_polar(*center, center=dataset.center)
    reach = max(separation + options.annulus_width * fwhm / 2.0,
                separation + options.aperture_radius * fwhm) + 3.0  # the interpolation's neighbours
    ny, nx = dataset.frame_shape
    cx, cy = (int(round(c)) for c in dataset.center)
    half = max(int(np.ceil(reach)), max(np.shape(dataset.psf)[-2:]) // 2 + 1)
    if cx != dataset.center[0] or cy != dataset.center[1] or half >= min(cx, cy, nx - 1 - cx, ny - 1 - cy):
        return dataset, (0, 0)
    window = (slice(cy - half, cy + half + 1), slice(cx - half, cx + half + 1))
    return dataset.replace(cube=np.asarray(dataset.cube)[(slice(None), *window)]), (cx - half, cy - half)


def _check_candidates(candidates):
    array = np.asarray(candidates, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"candidates: expected an (N, 2) array of finite (x, y), got shape {array.shape}")
    return array
