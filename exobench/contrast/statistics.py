"""The detection test's null law: Student's t, or a parametric bootstrap under Laplacian noise.

The test of a contrast curve (:mod:`exobench.contrast.curve`) compares one
aperture of flux ``x`` with ``n`` noise apertures of mean ``m`` and standard
deviation ``s`` (``ddof=1``) through

    T = (x - m) / (s sqrt(1 + 1/n)).

Under Gaussian noise ``T`` follows Student's t law with ``n - 1`` degrees of
freedom. Residual speckles have heavier tails; Bonse et al. (2023, applefy)
model them as Laplacian and take the threshold from the law of the *same*
``T`` under Laplacian noise (a parametric bootstrap). ``T`` is invariant under
any shift and positive scaling of the noise (it is *pivotal*), so its law
under Laplacian noise depends on ``n`` only: the fitted Laplace scale of the
ring (:func:`laplace_scale`) does not change the threshold, and one simulation
per ``n`` serves every ring and every dataset.

How small false-positive fractions are reached
----------------------------------------------
A brute-force bootstrap needs about ``100 / fpf`` draws of ``n + 1`` values to
resolve a tail of ``fpf`` (3e8 at the 5-sigma equivalent 2.87e-7; applefy
keeps precomputed tables of that size). Here two of the integrals are done
analytically, leaving a Monte Carlo average of a smooth function:

- i.i.d. standard Laplacian noise ``y`` (``n`` values) is ``R w`` with ``R =
  |y|_1`` following a Gamma(``n``, 1) law independent of the direction ``w =
  y / |y|_1``; so ``m = R m_w`` and ``s = R s_w``;
- the test aperture's ``x`` is Laplacian and independent of both, so given
  ``w`` and ``a = m_w + k sqrt(1 + 1/n) s_w``,
  ``P(T > k | w) = E_R P(x > R a) = 1/2 (1 + a)^-n`` when ``a >= 0`` (the
  Gamma law's moment generating function) and ``1 - 1/2 (1 - a)^-n`` when
  ``a < 0``.

``P(T > k)`` is the mean of that closed form over ``draws`` simulated
directions (conditional Monte Carlo: no draw is wasted on the bulk of the
law, and the estimate is smooth and decreasing in ``k``, so the threshold is
a root, not an order statistic). For Gaussian noise the same construction
(``w = y / |y|_2``, ``R`` a chi law) gives ``P(T > k | w) = t_n.sf(a sqrt(n))``;
it is the Gaussian limit, whose exact answer is Student's ``t_{n-1}``, and it
checks the machinery. The Monte Carlo standard error of the threshold is
returned with it (delta method); it is largest for the smallest rings (about
1-2 % of the threshold at ``n`` = 9 with the default 200 000 draws at
``fpf`` = 2.87e-7, well under 1 % from ``n`` = 12 on).

Gaussianity diagnostic
----------------------
:func:`gaussianity` tests the excess kurtosis of a sample (Anscombe & Glynn
1983, one-sided: heavy tails) with an *effective* sample size, because the
pixels of a final frame are correlated over about one resolution element:
:func:`ring_gaussianity` counts one independent value per 1-FWHM aperture's
area of the annulus.
"""

import dataclasses
import math

import numpy as np

from .._validate import as_float_array, check_integer, check_positive, check_range

__all__ = ["STATISTICS", "DEFAULT_DRAWS", "check_statistic", "check_draws", "bootstrap_threshold", "bootstrap_sf",
           "detection_threshold", "statistic_sf", "laplace_scale", "Gaussianity", "gaussianity",
           "ring_gaussianity", "GAUSSIAN_ALPHA"]

#: The test statistics: Student's t, or the parametric bootstrap under Laplacian noise.
STATISTICS = ("t", "laplace-bootstrap")

#: Simulated noise configurations per ring size (see the module's notes on precision).
DEFAULT_DRAWS = 200_000

#: The level below which the Gaussianity of a ring's noise is rejected.
GAUSSIAN_ALPHA = 0.01

_NOISES = ("laplace", "gaussian")
_CHUNK = 1 << 22  # values per simulated block: bounded memory whatever n and draws


def check_statistic(statistic):
    """``statistic`` if it is one of :data:`STATISTICS`, else ``ValueError`` naming them."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic: expected one of {', '.join(map(repr, STATISTICS))}, got {statistic!r}")
    return statistic


def _check_noise(noise):
    if noise not in _NOISES:
        raise ValueError(f"noise: expected one of {', '.join(map(repr, _NOISES))}, got {noise!r}")
    return noise


def _directions(n, noise, draws, rng):
    """``(m_w, s_w)`` of ``draws`` directions of ``n`` i.i.d. noise values (unit L1 norm for Laplacian
    noise, unit L2 norm for Gaussian), simulated in blocks."""
    means, stds = [], []
    rows = max(1, _CHUNK // n)
    for start in range(0, draws, rows):
        size = (min(rows, draws - start), n)
        y = rng.laplace(size=size) if noise == "laplace" else rng.standard_normal(size)
        norm = np.abs(y).sum(axis=1) if noise == "laplace" else np.sqrt(np.einsum("ij,ij->i", y, y))
        means.append(y.mean(axis=1) / norm)
        stds.append(y.std(axis=1, ddof=1) / norm)
    return np.concatenate(means), np.concatenate(stds)


def _conditional_tail(a, n, noise):
    """``P(x > R a)`` over the radius ``R`` and the test aperture ``x`` (the module's closed forms)."""
    if noise == "laplace":
        power = (1.0 + np.abs(a)) ** (-float(n))
        return np.where(a >= 0, 0.5 * power, 1.0 - 0.5 * power)
    from scipy import special

    return special.stdtr(n, -a * math.sqrt(n))


class _NullLaw:
    """``P(T > k)`` and its standard error for one ring size, from simulated directions."""

    def __init__(self, n, noise, draws, rng):
        self.n, self.noise = int(n), noise
        self.factor = math.sqrt(1.0 + 1.0 / n)
        self.m, self.s = _directions(self.n, noise, draws, rng)

    def terms(self, k):
        return _conditional_tail(self.m + float(k) * self.factor * self.s, self.n, self.noise)

    def sf(self, k):
        return float(np.mean(self.terms(k)))

    def isf(self, fpf):
        """The threshold ``k`` with ``P(T > k) = fpf`` (a root in log space) and its standard error."""
        from scipy import optimize, stats

        # the t law's and a 100-times-larger value bracket every noise law considered here
        # P(T > 0) is about 1/2 > fpf; the t law's threshold times 4 is past a Laplacian's at every n tried,
        # and the loop makes sure whatever the law
        high = 4.0 * float(stats.t.isf(fpf, self.n - 1))
        while self.sf(high) > fpf:
            high *= 4.0
        root = optimize.brentq(lambda k: math.log(max(self.sf(k), 1e-300)) - math.log(fpf), 0.0, high,
                               xtol=1e-10, rtol=1e-10)
        terms = self.terms(root)
        se_fpf = float(np.std(terms, ddof=1) / math.sqrt(terms.size))
        step = 1e-4 * max(root, 1.0)
        slope = (self.sf(root + step) - self.sf(root - step)) / (2.0 * step)
        return root, (se_fpf / abs(slope) if slope != 0 else math.inf)


def check_draws(draws):
    """``draws`` if it is an integer of at least 1000, else ``ValueError`` naming it."""
    return check_integer(draws, "draws", minimum=1000)


def _check_n(n_apertures):
    n = np.atleast_1d(np.asarray(n_apertures))
    if n.size == 0 or not np.issubdtype(n.dtype, np.integer) or np.any(n < 3):
        raise ValueError(f"n_apertures: expected integers >= 3, got {np.asarray(n_apertures).tolist()}")
    return n


def bootstrap_threshold(n_apertures, fpf, *, noise="laplace", draws=DEFAULT_DRAWS, random_state=0):
    """The threshold on ``T`` at ``fpf`` with ``n`` noise apertures, by the parametric bootstrap.

    Parameters
    ----------
    n_apertures : int or array_like of int
        ``n`` (at least 3); one threshold each. Equal values share one simulation.
    fpf : float
        In (0, 0.5).
    noise : {"laplace", "gaussian"}
        The noise law simulated; ``"gaussian"`` reproduces Student's ``t_{1 - fpf, n - 1}``
        up to the Monte Carlo error (the Gaussian limit).
    draws : int
        Simulated noise configurations per distinct ``n`` (at least 1000).
    random_state : int or numpy.random.Generator
        Seeds one ``numpy.random.Generator``; the distinct ``n`` are simulated in increasing order.

    Returns
    -------
    threshold, standard_error : ndarray
        Shaped as ``n_apertures``.

    Examples
    --------
    >>> k, se = bootstrap_threshold(30, 1e-3, noise="gaussian", draws=20000)
    >>> from scipy import stats
    >>> bool(abs(k - stats.t.isf(1e-3, 29)) < 4 * se + 1e-3)
    True
    """
    noise = _check_noise(noise)
    n = _check_n(n_apertures)
    fpf = check_range(fpf, "fpf", 0.0, 0.5, closed="neither")
    draws = check_draws(draws)
    rng = np.random.default_rng(random_state)
    found = {}
    for size in np.unique(n):
        found[int(size)] = _NullLaw(size, noise, draws, rng).isf(fpf)
    threshold = np.array([found[int(size)][0] for size in n.ravel()]).reshape(np.shape(n_apertures))
    error = np.array([found[int(size)][1] for size in n.ravel()]).reshape(np.shape(n_apertures))
    return threshold, error


def bootstrap_sf(values, n_apertures, *, noise="laplace", draws=DEFAULT_DRAWS, random_state=0):
    """``P(T > value)`` with ``n`` noise apertures under the simulated noise: the false-positive
    fraction of an observed statistic.

    ``values`` and ``n_apertures`` broadcast together; other parameters as :func:`bootstrap_threshold`.

    Returns
    -------
    ndarray
    """
    noise = _check_noise(noise)
    values = as_float_array(values, "values")
    n = _check_n(n_apertures)
    values, n = np.broadcast_arrays(values, n.reshape(np.shape(n_apertures)))
    draws = check_draws(draws)
    rng = np.random.default_rng(random_state)
    out = np.full(values.shape, np.nan)
    for size in np.unique(n):
        law = _NullLaw(size, noise, draws, rng)
        where = (n == size) & np.isfinite(values)
        out[where] = [law.sf(value) for value in values[where]]
    return out


def detection_threshold(n_apertures, fpf, *, statistic="t", draws=DEFAULT_DRAWS, random_state=0):
    """The threshold on ``T`` of the chosen test and its Monte Carlo standard error (0 for ``"t"``).

    Returns
    -------
    threshold, standard_error : ndarray
    """
    check_statistic(statistic)
    if statistic == "t":
        from scipy import stats

        n = _check_n(n_apertures).reshape(np.shape(n_apertures))
        threshold = stats.t.isf(check_range(fpf, "fpf", 0.0, 0.5, closed="neither"), n - 1.0)
        return np.asarray(threshold, dtype=float), np.zeros(np.shape(n_apertures))
    return bootstrap_threshold(n_apertures, fpf, noise="laplace", draws=draws, random_state=random_state)


def statistic_sf(values, n_apertures, *, statistic="t", draws=DEFAULT_DRAWS, random_state=0):
    """The false-positive fraction ``P(T > value)`` of the chosen test with ``n`` noise apertures."""
    check_statistic(statistic)
    if statistic == "t":
        from scipy import stats

        n = _check_n(n_apertures).reshape(np.shape(n_apertures))
        return stats.t.sf(as_float_array(values, "values"), n - 1.0)
    return bootstrap_sf(values, n_apertures, noise="laplace", draws=draws, random_state=random_state)


def laplace_scale(fluxes):
    """The maximum-likelihood Laplace scale of ``fluxes``: their mean absolute deviation from the median.

    The bootstrap's threshold does not depend on it (the test is pivotal); it
    says how wide the ring's Laplacian noise is.

    >>> float(laplace_scale([0.0, 1.0, 2.0, 3.0, 10.0]))
    2.4
    """
    fluxes = as_float_array(fluxes, "fluxes").ravel()
    return float(np.mean(np.abs(fluxes - np.median(fluxes))))


@dataclasses.dataclass(frozen=True)
class Gaussianity:
    """The Gaussianity diagnostic of a sample.

    Attributes
    ----------
    kurtosis : float
        Excess kurtosis (0 for a Gaussian, 3 for a Laplacian).
    p_value : float
        One-sided (heavy tails) p-value of the kurtosis test with ``effective`` values.
    effective : float
        The sample size the test assumed.
    rejected : bool
        ``p_value < alpha``.
    """

    kurtosis: float
    p_value: float
    effective: float
    rejected: bool


def gaussianity(samples, *, effective=None, alpha=GAUSSIAN_ALPHA):
    """Test a sample for heavier tails than a Gaussian's by its kurtosis (Anscombe & Glynn 1983).

    Parameters
    ----------
    samples : array_like
        At least 8 finite values.
    effective : float, optional
        The number of independent values they amount to (correlated pixels);
        by default their number. At least 8.
    alpha : float
        The level of :attr:`Gaussianity.rejected`.

    Returns
    -------
    Gaussianity

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> gaussianity(rng.laplace(size=4000)).rejected, gaussianity(rng.normal(size=4000)).rejected
    (True, False)
    """
    from scipy import stats

    samples = as_float_array(samples, "samples").ravel()
    samples = samples[np.isfinite(samples)]
    if samples.size < 8:
        raise ValueError(f"samples: expected at least 8 finite values, got {samples.size}")
    n = float(samples.size if effective is None else check_positive(effective, "effective"))
    if n < 8:
        raise ValueError(f"effective: expected at least 8 independent values, got {n:g}")
    alpha = check_range(alpha, "alpha", 0.0, 1.0, closed="neither")
    centred = samples - samples.mean()
    m2 = np.mean(centred**2)
    b2 = np.mean(centred**4) / m2**2 if m2 > 0 else 3.0
    # Anscombe & Glynn's normalisation of b2, with the effective sample size
    expected = 3.0 * (n - 1.0) / (n + 1.0)
    variance = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) ** 2 * (n + 3.0) * (n + 5.0))
    x = (b2 - expected) / math.sqrt(variance)
    skew = (6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0))
            * math.sqrt(6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0))))
    a = 6.0 + 8.0 / skew * (2.0 / skew + math.sqrt(1.0 + 4.0 / skew**2))
    denominator = 1.0 + x * math.sqrt(2.0 / (a - 4.0))
    cube = np.sign(denominator) * np.cbrt((1.0 - 2.0 / a) / abs(denominator)) if denominator != 0 else -np.inf
    z = (1.0 - 2.0 / (9.0 * a) - cube) / math.sqrt(2.0 / (9.0 * a))
    p_value = float(stats.norm.sf(z))
    return Gaussianity(float(b2 - 3.0), p_value, n, bool(p_value < alpha))


def ring_gaussianity(image, separations, fwhm, *, center=None, alpha=GAUSSIAN_ALPHA):
    """:func:`gaussianity` of the pixels of the 1-FWHM-wide annulus at each separation of ``image``.

    The pixels are correlated over a resolution element, so the test counts
    one independent value per aperture area ``pi FWHM^2 / 4`` of the annulus.

    Returns
    -------
    list of Gaussianity
        One per separation.
    """
    from ..geometry import frame_center

    image = as_float_array(image, "image")
    fwhm = float(check_positive(fwhm, "fwhm"))
    center = frame_center(image.shape) if center is None else center
    yy, xx = np.indices(image.shape)
    radius = np.hypot(xx - center[0], yy - center[1])
    area = math.pi * fwhm**2 / 4.0
    found = []
    for separation in np.atleast_1d(as_float_array(separations, "separations")).ravel():
        pixels = image[(np.abs(radius - separation) <= fwhm / 2.0) & np.isfinite(image)]
        found.append(gaussianity(pixels, effective=max(8.0, pixels.size / area), alpha=alpha))
    return found
