"""Contrast curves: the faintest companion detectable at a false-positive fraction, by separation.

At separation ``r`` the final frame without companions holds ``n``
non-overlapping resolution elements (1-FWHM apertures, Mawet et al. 2014;
:func:`~exobench.contrast.throughput.ring_noise`) of fluxes ``x_1..x_n``, mean
``m`` and standard deviation ``s`` (``ddof=1``). A companion at a new position
of that ring is tested against them with the two-sample t-test of Mawet et al.
(one test aperture, ``n`` noise apertures): its aperture flux ``x`` is a
detection when

    (x - m) / (s sqrt(1 + 1/n)) > t_{1 - fpf, n - 1}

with ``n - 1`` degrees of freedom; the threshold on the aperture flux is
``tau = m + t_{1 - fpf, n - 1} sqrt(1 + 1/n) s``. A companion of flux ``f`` with
throughput ``T`` adds ``T f`` to a background whose mean is that of the ring,
estimated by ``m``; its aperture reaches ``tau`` (detected one time in two) when

    T f = tau - m = t_{1 - fpf, n - 1} sqrt(1 + 1/n) s

so the mean of the noise apertures enters the test and cancels from the flux.
The contrast is that flux over the star's: ``f / star_flux`` (docs/contrast.md).

With ``statistic="laplace-bootstrap"`` the threshold ``t_{1 - fpf, n - 1}`` is
replaced by the same statistic's quantile under Laplacian noise
(:mod:`exobench.contrast.statistics`); each ring's noise is also tested for
Gaussianity, so that a curve says where its own assumption fails.
"""

import dataclasses
import json

import numpy as np

from .._validate import check_number, check_range
from ._common import check_dataset, finite_or_none, mean_fwhm
from .statistics import DEFAULT_DRAWS, check_draws, check_statistic, detection_threshold, ring_gaussianity
from .throughput import contrast_separations, reference_frame, ring_noise, throughput

__all__ = ["ContrastCurve", "contrast_curve", "student_quantile", "student_factor", "resolve_fpf", "contrast_unit", "FPF_5_SIGMA",
           "UNIT_STAR", "UNIT_PSF"]

#: The false-positive fraction of a 5-sigma Gaussian detection (one-sided): about 2.87e-7.
FPF_5_SIGMA = 2.866515718791933e-07

#: ``contrast_unit`` of a dataset that knows its star's flux (a ``starflux`` file or a given ``star_flux``).
UNIT_STAR = "star's flux (1-FWHM aperture)"

#: ``contrast_unit`` otherwise: the PSF file's own flux stands for the star's.
UNIT_PSF = "PSF file's flux (1-FWHM aperture)"


def resolve_fpf(fpf=None, sigma=None):
    """The false-positive fraction asked for: ``fpf``, or the one-sided Gaussian tail beyond ``sigma``.

    Neither: :data:`FPF_5_SIGMA`.

    Examples
    --------
    >>> f"{resolve_fpf():.4g}", f"{resolve_fpf(sigma=3):.4g}", resolve_fpf(fpf=1e-3)
    ('2.867e-07', '0.00135', 0.001)
    """
    if fpf is not None and sigma is not None:
        raise ValueError("fpf, sigma: expected at most one of them, got both")
    if sigma is not None:
        from scipy import stats

        return float(stats.norm.sf(check_number(sigma, "sigma", strict=True)))
    if fpf is None:
        return FPF_5_SIGMA
    return check_range(fpf, "fpf", 0.0, 0.5, closed="neither")


def student_quantile(n_apertures, fpf):
    """``t_{1 - fpf, n - 1}``: the t-test's threshold with ``n`` noise apertures (``n - 1`` degrees of freedom).

    Examples
    --------
    >>> round(float(student_quantile(1000000, FPF_5_SIGMA)), 3)   # the Gaussian limit
    5.0
    """
    from scipy import stats

    return stats.t.isf(fpf, np.asarray(n_apertures, dtype=float) - 1.0)


def student_factor(n_apertures, fpf):
    """``t_{1 - fpf, n - 1} sqrt(1 + 1/n)``: the noise multiple of the detection threshold with ``n`` apertures.

    Examples
    --------
    >>> round(float(student_factor(12, FPF_5_SIGMA)), 2)
    10.68
    """
    n = np.asarray(n_apertures, dtype=float)
    return student_quantile(n, fpf) * np.sqrt(1.0 + 1.0 / n)


def contrast_unit(dataset):
    """:data:`UNIT_STAR` when ``dataset`` knows its star's flux (given, or read from a ``starflux`` file),
    else :data:`UNIT_PSF`."""
    return UNIT_STAR if dataset.is_given("star_flux") else UNIT_PSF


@dataclasses.dataclass(frozen=True)
class ContrastCurve:
    """A contrast curve and what it is made of (one value per separation).

    Attributes
    ----------
    separation_px, separation_fwhm : ndarray
    contrast : ndarray
        The companion's flux at the threshold over the star's (:attr:`contrast_unit`);
        NaN where the throughput is not positive.
    throughput : ndarray
        Mean over the branches; ``throughput_std`` their spread.
    noise : ndarray
        The standard deviation of the ring's aperture fluxes (cube units).
    noise_mean : ndarray
        Their mean (it cancels from the contrast: docs/contrast.md).
    n_apertures : ndarray of int
        The resolution elements of each ring; the t law has ``n - 1`` degrees of freedom.
    t_quantile : ndarray
        ``t_{1 - fpf, n - 1}``.
    fpf : float
    contrast_unit : str
    fwhm : float
        Pixels.
    statistic : str
        The test (:data:`~exobench.contrast.statistics.STATISTICS`).
    threshold : ndarray
        The threshold on ``T`` that the contrast uses: ``t_quantile`` for the
        t-test, the bootstrap quantile under Laplacian noise otherwise.
    threshold_se : ndarray
        Its Monte Carlo standard error (0 for the t-test).
    laplace_scale : ndarray
        The maximum-likelihood Laplace scale of the ring's aperture fluxes.
    kurtosis : ndarray
        The excess kurtosis of the annulus's pixels (0 for Gaussian noise, 3 for Laplacian).
    gaussian_p : ndarray
        The p-value of the kurtosis test (heavy tails) with one value per resolution element.
    non_gaussian : ndarray of bool
        ``gaussian_p < 0.01``: the ring's noise is not Gaussian, and the t-test's fpf is not what it says.
    """

    separation_px: np.ndarray
    separation_fwhm: np.ndarray
    contrast: np.ndarray
    throughput: np.ndarray
    throughput_std: np.ndarray
    noise: np.ndarray
    noise_mean: np.ndarray
    n_apertures: np.ndarray
    t_quantile: np.ndarray
    fpf: float
    contrast_unit: str
    fwhm: float
    statistic: str = "t"
    threshold: np.ndarray = None
    threshold_se: np.ndarray = None
    laplace_scale: np.ndarray = None
    kurtosis: np.ndarray = None
    gaussian_p: np.ndarray = None
    non_gaussian: np.ndarray = None

    def to_dict(self):
        """The curve as plain JSON types (arrays as lists, NaN as None)."""
        from .._json import jsonable

        return {key: finite_or_none(value) for key, value in jsonable(self).items()}

    def to_json(self):
        """The curve as JSON text (keys in the attributes' order; NaN as ``null``, strict JSON)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def table_text(self):
        """A text table: one line per separation."""
        count = len(self.contrast)
        threshold = self.t_quantile if self.threshold is None else self.threshold
        kurtosis = np.full(count, np.nan) if self.kurtosis is None else self.kurtosis
        flags = np.zeros(count, dtype=bool) if self.non_gaussian is None else self.non_gaussian
        lines = [f"# contrast at fpf {self.fpf:.3g}, relative to the {self.contrast_unit}; test: {self.statistic}"
                 "; * non-Gaussian noise (kurtosis test)",
                 f"{'sep_px':>8} {'sep_fwhm':>8} {'contrast':>11} {'throughput':>10} {'noise':>11} {'n':>4} "
                 f"{'threshold':>9} {'kurtosis':>8}"]
        for row in zip(self.separation_px, self.separation_fwhm, self.contrast, self.throughput, self.noise,
                       self.n_apertures, threshold, kurtosis, flags):
            lines.append(f"{row[0]:8.2f} {row[1]:8.2f} {row[2]:11.4g} {row[3]:10.3f} {row[4]:11.4g} {row[5]:4d} "
                         f"{row[6]:9.3f} {row[7]:8.2f}{' *' if row[8] else ''}")
        return "\n".join(lines) + "\n"


def contrast_curve(algorithm, dataset, *, fpf=None, sigma=None, inner=1.0, step=1.0, branches=4, theta0=0.0,
                   spacing=3.0, injection_snr=5.0, fluxes=None, statistic="t", draws=DEFAULT_DRAWS, random_state=0,
                   executor=None, progress=False):
    """The contrast curve of ``algorithm`` on ``dataset``.

    Parameters
    ----------
    algorithm : exobench.algorithms.Algorithm
        Any object with ``process(dataset) -> Result``.
    dataset : Dataset
        With a PSF; the contrast is relative to its ``star_flux`` (see :func:`contrast_unit`).
    fpf, sigma : float, optional
        The false-positive fraction, or a Gaussian significance converted to
        one (:func:`resolve_fpf`); the 5-sigma equivalent by default.
    inner, step : float
        Separations in FWHM (:func:`~exobench.contrast.throughput.contrast_separations`).
    branches, theta0, spacing, injection_snr
        The injection-recovery of the throughput
        (:func:`~exobench.contrast.throughput.throughput`).
    fluxes : float or array_like, optional
        The fake companions' flux at each separation (cube units), when the
        final frame's noise is no guide to it (a detection map in other units):
        given to :func:`~exobench.contrast.throughput.throughput`.
    statistic : {"t", "laplace-bootstrap"}
        The detection test's null law (:mod:`exobench.contrast.statistics`).
    draws, random_state
        The bootstrap's simulated configurations per ring size and its seed (unused by ``"t"``).
    executor : exobench.parallel.Executor, optional
        Where the algorithm runs (one task per branch); in-process by default.
    progress : bool

    Returns
    -------
    ContrastCurve

    Examples
    --------
    >>> from exobench.algorithms import MedianADI
    >>> from exobench.examples import example_dataset
    >>> curve = contrast_curve(MedianADI(), example_dataset(n_frames=10, size=33), inner=2.0, branches=1)
    >>> curve.separation_fwhm.tolist(), curve.n_apertures.tolist(), curve.contrast_unit == UNIT_PSF
    ([2.0, 3.0], [12, 18], True)
    """
    check_dataset(dataset)
    fpf = resolve_fpf(fpf, sigma)
    check_statistic(statistic)
    draws = check_draws(draws)
    separations = contrast_separations(dataset, inner=inner, step=step)
    if dataset.psf is None:
        raise ValueError("dataset: a PSF is needed to inject fake companions, got a dataset without one")
    if executor is None:
        from ..parallel import Executor

        with Executor(workers=0) as local:
            return contrast_curve(algorithm, dataset, fpf=fpf, inner=inner, step=step, branches=branches,
                                  theta0=theta0, spacing=spacing, injection_snr=injection_snr, fluxes=fluxes,
                                  statistic=statistic, draws=draws, random_state=random_state, executor=local,
                                  progress=progress)
    fwhm = mean_fwhm(dataset)
    reference = reference_frame(algorithm, dataset, executor=executor)
    noise = ring_noise(reference, separations, fwhm, center=dataset.center)
    threshold, threshold_se = detection_threshold(noise.n_apertures, fpf, statistic=statistic, draws=draws,
                                                  random_state=random_state)
    tests = ring_gaussianity(reference, separations, fwhm, center=dataset.center)
    measured = throughput(algorithm, dataset, separations=separations, injection_snr=injection_snr, fluxes=fluxes,
                          branches=branches, theta0=theta0, spacing=spacing, step=step, reference=reference,
                          executor=executor, progress=progress)
    # an algorithm that keeps nothing of a companion (or flips its sign) has no detection limit there
    kept = np.where(measured.mean > 0, measured.mean, np.nan)
    flux = threshold * np.sqrt(1.0 + 1.0 / noise.n_apertures) * noise.std / kept
    # a flat companion's contrast in every channel, averaged as the injection's truth table does
    per_star = np.mean(1.0 / np.atleast_1d(np.asarray(dataset.star_flux, dtype=float)))
    return ContrastCurve(separation_px=separations, separation_fwhm=separations / fwhm, contrast=flux * per_star,
                         throughput=measured.mean, throughput_std=measured.std, noise=noise.std,
                         noise_mean=noise.mean, n_apertures=noise.n_apertures,
                         t_quantile=student_quantile(noise.n_apertures, fpf), fpf=fpf,
                         contrast_unit=contrast_unit(dataset), fwhm=fwhm, statistic=statistic, threshold=threshold,
                         threshold_se=threshold_se, laplace_scale=noise.laplace_scale,
                         kurtosis=np.array([test.kurtosis for test in tests]),
                         gaussian_p=np.array([test.p_value for test in tests]),
                         non_gaussian=np.array([test.rejected for test in tests]))
