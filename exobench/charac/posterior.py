"""Uncertainties of negfc from a posterior sampled with emcee (Foreman-Mackey et al. 2013).

The likelihood of ``(x, y, flux_1, ...)`` is the chi-square of the final frame's pixels in
negfc's aperture once the companion ``flux * psf`` at ``(x, y)`` is subtracted (Wertz et
al. 2017; Christiaens et al. 2021, VIP's ``mcmc_negfc_sampling`` with ``mu_sigma``):

    ln L = -1/2 * sum_aperture (I_j - mu)^2 / (sigma^2 * n_beam)

``mu`` and ``sigma`` are the mean and standard deviation of the final frame's pixels in the
aperture's ring (its radial band, the aperture itself left out) with the companion
subtracted at the simplex estimate, measured once. Neighbouring pixels of a final frame are
correlated over a resolution element, so a chi-square over pixels counts each element
``n_beam = pi * (FWHM / 2) ** 2`` times: the variance is scaled by ``n_beam`` so that the
aperture weighs as many independent samples as it holds resolution elements (VIP's
``get_mu_and_sigma`` does the same through its ``ddof``). A 4D dataset's channels are
independent: their log-likelihoods add, and the position is shared.

Priors are flat in boxes about the simplex estimate: ``x`` and ``y`` within ``prior_width``
FWHM, each flux between 0 and ``flux_prior`` times its estimate. The walkers start in a small
Gaussian ball about the estimate drawn from a :class:`numpy.random.Generator`, and emcee's own
moves draw from a legacy ``RandomState`` (what emcee keeps inside) seeded from the same
generator: one seed, the same samples, byte for byte. The first ``burnin`` steps are
discarded and one step in ``thin`` kept; the estimate's 1-sigma uncertainties are half the
distance between the samples' 16th and 84th percentiles.

emcee is an optional dependency (``pip install 'exobench[emcee]'``), imported on first use.
"""

import dataclasses

import numpy as np

from ..geometry import cartesian_to_polar, derotate_cube, polar_grid
from .model import channel_datasets
from .uncertainty import floor_uncertainties

__all__ = ["Posterior", "sample_posterior", "import_emcee", "INSTALL_HINT", "PERCENTILES"]

#: The message of a missing emcee.
INSTALL_HINT = "uncertainty='posterior' needs emcee >= 3.1: pip install 'exobench[emcee]' (or pip install 'emcee>=3.1')"
#: The percentiles of the 1-sigma interval and the median.
PERCENTILES = (15.865525393145708, 50.0, 84.1344746068543)
#: The walkers' initial ball about the estimate: position (FWHM) and relative flux.
_BALL = (0.02, 0.02)


def import_emcee():
    """The emcee module (``ImportError`` naming the ``emcee`` extra when it is not installed)."""
    try:
        import emcee
    except ModuleNotFoundError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return emcee


@dataclasses.dataclass(frozen=True, eq=False)
class Posterior:
    """A sampled posterior of ``[x, y, flux_1, ...]``.

    Attributes
    ----------
    samples : ndarray, shape ``(n, 2 + n_channels)``
        The chain after burn-in and thinning, walkers flattened.
    median, lower, upper : ndarray
        The samples' 50th, 16th and 84th percentiles.
    sigma : ndarray
        Half the 16-84 range (floored above 0): the 1-sigma uncertainties.
    acceptance : float
        The walkers' mean acceptance fraction.
    noise : ndarray, shape ``(n_channels, 2)``
        ``(mu, sigma)`` of the likelihood, per channel.
    """

    samples: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sigma: np.ndarray
    acceptance: float
    noise: np.ndarray


class ChiSquare:
    """``-1/2`` chi-square of one channel's aperture after subtracting ``flux * psf`` at ``(x, y)``.

    Parameters
    ----------
    dataset : Dataset
        A 3D dataset.
    estimate : (float, float, float)
        The simplex estimate ``(x, y, flux)``: the aperture's centre, the projections learnt
        without it (negfc's fast path), the noise measured with it subtracted.
    options : NegFC
    """

    def __init__(self, dataset, estimate, options):
        from .negfc import Objective

        x, y, flux = (float(v) for v in estimate)
        self.objective = Objective(dataset, (x, y), options, companion=(x, y, flux))
        final = self.objective.final_frame(x, y, flux)
        self.mu, self.sigma = ring_noise(self.objective, final, (x, y))
        fwhm = float(dataset.fwhm)
        self.scale = self.sigma ** 2 * np.pi * (fwhm / 2.0) ** 2

    def __call__(self, x, y, flux):
        values = self.objective.final(x, y, flux)
        return -0.5 * float(np.sum((values - self.mu) ** 2)) / self.scale


def ring_noise(objective, final, position):
    """``(mu, sigma)`` of ``final``'s pixels (the objective's crop) in the aperture's radial band
    about the star, the aperture left out: the residual noise at the companion's separation."""
    offset = objective.offset
    center = objective.dataset.center
    separation, _ = cartesian_to_polar(position[0] - offset[0], position[1] - offset[1], center=center)
    half = objective.options.aperture_radius * float(objective.dataset.fwhm)
    rr, _ = polar_grid(final.shape, center=center)
    ring = (np.abs(rr - separation) <= half) & ~objective.aperture & np.isfinite(final)
    values = final[ring]
    if values.size < 3:
        raise ValueError(f"aperture_radius: expected a ring of at least 3 pixels about the aperture to measure "
                         f"the noise, got {values.size}")
    sigma = float(np.std(values, ddof=1))
    if not sigma > 0:
        raise ValueError("dataset: the final frame's ring about the companion has no noise (sigma 0): "
                         "the posterior's likelihood needs some")
    return float(np.mean(values)), sigma


def sample_posterior(options, dataset, estimate, *, rng):
    """Sample the posterior of a companion's ``[x, y, flux_1, ...]`` with emcee.

    Parameters
    ----------
    options : NegFC
        The settings: the objective's (``ncomp``, ``annulus_width``, ``aperture_radius``,
        ``method``, ...) and the sampler's (``walkers``, ``steps``, ``burnin``, ``thin``,
        ``prior_width``, ``flux_prior``).
    dataset : Dataset
        3D or 4D.
    estimate : array_like
        The simplex estimate ``[x, y, flux_1, ...]`` (one flux per channel).
    rng : numpy.random.Generator
        The walkers' start and emcee's moves.

    Returns
    -------
    Posterior
    """
    emcee = import_emcee()
    estimate = np.asarray(estimate, dtype=np.float64)
    channels = channel_datasets(dataset)
    if estimate.shape != (2 + len(channels),) or not np.all(np.isfinite(estimate)):
        raise ValueError(f"estimate: expected {2 + len(channels)} finite values [x, y, flux_1, ...], "
                         f"got shape {estimate.shape}")
    if not np.all(estimate[2:] > 0):
        raise ValueError(f"estimate: expected positive fluxes for the posterior's flux prior (0 to flux_prior "
                         f"times the estimate), got {estimate[2:].tolist()}")
    terms = [ChiSquare(channel, (estimate[0], estimate[1], flux), options)
             for channel, flux in zip(channels, estimate[2:])]
    fwhm = float(np.mean(dataset.fwhm))
    width = options.prior_width * fwhm
    low = np.concatenate([estimate[:2] - width, np.zeros(len(channels))])
    high = np.concatenate([estimate[:2] + width, options.flux_prior * estimate[2:]])

    def log_probability(p):
        if np.any(p < low) or np.any(p > high):
            return -np.inf
        return sum(term(p[0], p[1], p[2 + c]) for c, term in enumerate(terms))

    ndim = estimate.size
    walkers = max(options.walkers, 2 * ndim + 2)  # emcee's stretch move needs more than 2 * ndim
    ball = np.concatenate([[_BALL[0] * fwhm] * 2, _BALL[1] * estimate[2:]])
    start = np.clip(estimate + ball * rng.standard_normal((walkers, ndim)), low, high)
    # emcee draws its moves from a legacy RandomState it owns: seeded from the generator, set
    # through the start State (never numpy's global state)
    moves = np.random.RandomState(int(rng.integers(2 ** 32, dtype=np.uint64)))
    sampler = emcee.EnsembleSampler(walkers, ndim, log_probability)
    sampler.run_mcmc(emcee.State(start, random_state=moves.get_state()), options.steps, progress=False)
    samples = sampler.get_chain(discard=options.burnin, thin=options.thin, flat=True)
    lower, median, upper = np.percentile(samples, PERCENTILES, axis=0)
    sigma = floor_uncertainties((upper - lower) / 2.0, estimate)
    noise = np.array([[term.mu, term.sigma] for term in terms])
    return Posterior(samples, median, lower, upper, sigma, float(np.mean(sampler.acceptance_fraction)), noise)
