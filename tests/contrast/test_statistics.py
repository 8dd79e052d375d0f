"""The test's null law: the bootstrap's Gaussian limit is Student's t, Laplacian noise raises the threshold,
the closed forms match a brute-force simulation, seeds, the Gaussianity diagnostic, the errors."""

import numpy as np
import pytest
from scipy import stats

from exobench.contrast import (FPF_5_SIGMA, bootstrap_sf, bootstrap_threshold, detection_threshold, gaussianity,
                               laplace_scale, ring_gaussianity, statistic_sf)
from exobench.contrast.statistics import check_statistic


def _brute_force(n, noise, draws, seed):
    """T = (x - m) / (s sqrt(1 + 1/n)) simulated directly: one test value and n noise values per draw."""
    rng = np.random.default_rng(seed)
    values = rng.laplace(size=(draws, n + 1)) if noise == "laplace" else rng.standard_normal((draws, n + 1))
    noise_values = values[:, 1:]
    return ((values[:, 0] - noise_values.mean(axis=1))
            / (noise_values.std(axis=1, ddof=1) * np.sqrt(1.0 + 1.0 / n)))


@pytest.mark.parametrize("n, fpf, tolerance", [(30, FPF_5_SIGMA, 0.01), (60, FPF_5_SIGMA, 0.005),
                                               (9, 1e-3, 0.01), (12, 1e-3, 0.01), (18, 1e-4, 0.01)])
def test_gaussian_limit_is_students_t(n, fpf, tolerance):
    """Simulating Gaussian noise instead of Laplacian, the same machinery gives t_{1 - fpf, n - 1}: the
    statistic is the curve's, and the t-test is the bootstrap's Gaussian limit."""
    threshold, error = bootstrap_threshold(n, fpf, noise="gaussian", draws=100_000, random_state=1)
    exact = stats.t.isf(fpf, n - 1)
    assert float(threshold) == pytest.approx(exact, rel=tolerance)
    assert 0 < float(error) < tolerance * exact


@pytest.mark.parametrize("n", [9, 12, 30])
def test_laplacian_noise_needs_a_higher_threshold(n):
    """Heavier tails: at the 5-sigma fpf the Laplacian threshold is far above the t quantile (about twice);
    at fpf 0.1 the two are close (the bulks are alike)."""
    deep, _ = bootstrap_threshold(n, FPF_5_SIGMA, draws=50_000)
    assert float(deep) > 1.5 * stats.t.isf(FPF_5_SIGMA, n - 1)
    shallow, _ = bootstrap_threshold(n, 0.1, draws=50_000)
    assert float(shallow) == pytest.approx(stats.t.isf(0.1, n - 1), rel=0.1)


@pytest.mark.parametrize("noise", ["laplace", "gaussian"])
def test_closed_forms_match_a_brute_force_simulation(noise):
    """The analytic radial and test-aperture integrals: P(T > k) equals the fraction of directly simulated
    statistics above k, within 4 binomial standard errors, at fpf down to 1e-3."""
    n, draws = 9, 400_000
    simulated = _brute_force(n, noise, draws, seed=5)
    ks = np.quantile(simulated, [0.9, 0.99, 0.999])
    predicted = bootstrap_sf(ks, n, noise=noise, draws=100_000, random_state=2)
    observed = np.array([np.mean(simulated > k) for k in ks])
    error = np.sqrt(observed * (1 - observed) / draws)
    assert np.all(np.abs(predicted - observed) < 4 * error + 0.02 * observed), (predicted, observed)


def test_threshold_and_sf_agree_and_t_is_exact():
    n = np.array([9, 12, 12, 30])
    threshold, error = detection_threshold(n, 1e-4, statistic="laplace-bootstrap", draws=20_000, random_state=3)
    assert threshold[1] == threshold[2] and threshold.shape == (4,) and error.shape == (4,)
    fpf = statistic_sf(threshold, n, statistic="laplace-bootstrap", draws=20_000, random_state=3)
    np.testing.assert_allclose(fpf, 1e-4, rtol=1e-6)
    t_threshold, t_error = detection_threshold(n, 1e-4)
    np.testing.assert_allclose(t_threshold, stats.t.isf(1e-4, n - 1), rtol=1e-12)
    assert np.all(t_error == 0)
    np.testing.assert_allclose(statistic_sf(t_threshold, n), 1e-4, rtol=1e-9)


def test_seeds():
    """Same seed, same bytes; another seed, other (close) numbers."""
    one = bootstrap_threshold([9, 20], 1e-5, draws=5000, random_state=7)
    again = bootstrap_threshold([9, 20], 1e-5, draws=5000, random_state=7)
    other = bootstrap_threshold([9, 20], 1e-5, draws=5000, random_state=8)
    assert one[0].tobytes() == again[0].tobytes() and one[1].tobytes() == again[1].tobytes()
    assert one[0].tobytes() != other[0].tobytes()
    np.testing.assert_allclose(one[0], other[0], rtol=0.1)
    generator = bootstrap_threshold(9, 1e-5, draws=5000, random_state=np.random.default_rng(7))
    assert float(generator[0]) == float(one[0][0])


def test_laplace_scale_is_the_maximum_likelihood_one():
    rng = np.random.default_rng(0)
    sample = rng.laplace(3.0, 2.5, size=20000)
    assert laplace_scale(sample) == pytest.approx(stats.laplace.fit(sample)[1], rel=1e-3)
    assert laplace_scale(sample) == pytest.approx(2.5, rel=0.03)


def test_gaussianity_flags_laplacian_not_gaussian_samples():
    """2000 values: every Laplacian sample rejected; Gaussian ones at about the test's level, 1 %
    (at most 3 of 40: the binomial tail beyond that is under 1e-3)."""
    rng = np.random.default_rng(11)
    laplacian = [gaussianity(rng.laplace(size=2000)) for _ in range(40)]
    gaussian = [gaussianity(rng.normal(size=2000)) for _ in range(40)]
    assert all(result.rejected for result in laplacian)
    assert sum(result.rejected for result in gaussian) <= 3
    assert np.mean([r.kurtosis for r in laplacian]) == pytest.approx(3.0, abs=0.5)
    assert abs(np.mean([r.kurtosis for r in gaussian])) < 0.1
    # the p-value of a Gaussian sample is uniform: its mean is about 1/2
    assert np.mean([r.p_value for r in gaussian]) == pytest.approx(0.5, abs=0.15)
    # fewer independent values, less evidence
    sample = rng.laplace(size=2000)
    assert gaussianity(sample, effective=50).p_value > gaussianity(sample).p_value


def test_ring_gaussianity_on_white_noise_images():
    rng = np.random.default_rng(4)
    separations = [40.0, 60.0, 80.0]
    gaussian = ring_gaussianity(rng.normal(size=(201, 201)), separations, 2.0)
    laplacian = ring_gaussianity(rng.laplace(size=(201, 201)), separations, 2.0)
    assert not any(result.rejected for result in gaussian)
    assert all(result.rejected for result in laplacian)
    # one independent value per aperture area: pi FWHM^2 / 4 = pi pixels
    assert gaussian[0].effective == pytest.approx(np.sum(np.abs(np.hypot(*(np.indices((201, 201)) - 100))
                                                                - 40.0) <= 1.0) / np.pi)


def test_errors():
    with pytest.raises(ValueError, match=r"^statistic: expected one of 't', 'laplace-bootstrap', got 'z'$"):
        check_statistic("z")
    with pytest.raises(ValueError, match=r"^statistic: expected one of "):
        detection_threshold(9, 1e-3, statistic="gauss")
    with pytest.raises(ValueError, match=r"^noise: expected one of 'laplace', 'gaussian', got 'cauchy'$"):
        bootstrap_threshold(9, 1e-3, noise="cauchy")
    with pytest.raises(ValueError, match=r"^n_apertures: expected integers >= 3, got \[2\]$"):
        bootstrap_threshold([2], 1e-3)
    with pytest.raises(ValueError, match=r"^n_apertures: expected integers >= 3, got 9.5$"):
        statistic_sf(1.0, 9.5)
    with pytest.raises(ValueError, match=r"^fpf: expected a number in \(0, 0.5\), got 0.5$"):
        bootstrap_threshold(9, 0.5)
    with pytest.raises(ValueError, match=r"^draws: "):
        bootstrap_threshold(9, 1e-3, draws=10)
    with pytest.raises(ValueError, match=r"^samples: expected at least 8 finite values, got 7$"):
        gaussianity(np.r_[np.ones(7), np.nan])
    with pytest.raises(ValueError, match=r"^effective: expected at least 8 independent values, got 5$"):
        gaussianity(np.arange(20.0), effective=5)
    with pytest.raises(ValueError, match=r"^alpha: expected a number in \(0, 1\), got 1$"):
        gaussianity(np.arange(20.0), alpha=1)
