"""The contrast curve against its analytic value, the degrees of freedom, the false-positive fraction."""

import json

import numpy as np
import pytest
from photutils.aperture import CircularAperture
from scipy import stats

from exobench.algorithms import get_algorithm
from exobench.contrast import (FPF_5_SIGMA, UNIT_STAR, contrast_curve, contrast_separations, plot_contrast,
                               resolve_fpf, ring_noise, student_factor)

from .conftest import FWHM, NOOP, noise_dataset

STAR = 1.0e4


def _ring(separation, center):
    """The ring's aperture centres, built here from Mawet et al.'s spacing (touching 1-FWHM apertures)."""
    step = 2.0 * np.arcsin(FWHM / 2.0 / separation)
    count = int(np.floor(2.0 * np.pi / step))
    angles = -step * np.arange(count)
    return np.column_stack([center[0] + separation * np.cos(angles), center[1] + separation * np.sin(angles)])


def _aperture_sigma(positions, pixel_sigma):
    """The standard deviation of the flux of each aperture over white noise: sigma sqrt(sum of squared weights)."""
    masks = CircularAperture(positions, r=FWHM / 2.0).to_mask(method="exact")
    return np.array([pixel_sigma * np.sqrt(np.sum(mask.data**2)) for mask in masks])


def test_white_noise_curve_matches_the_analytic_value(noop):
    """Identity algorithm (the mean of frames that do not rotate): throughput 1, and the contrast is
    sigma_aperture x t_{1-fpf, n-1} x sqrt(1 + 1/n) / star flux, pooled over 12 noise cubes within 2 %."""
    frames = 4
    ratios, weights = [], []
    for seed in range(12):
        dataset = noise_dataset(frames=frames, seed=seed, star_flux=STAR)
        curve = contrast_curve(noop(), dataset, branches=2)
        np.testing.assert_allclose(curve.throughput, 1.0, rtol=1e-9)
        assert curve.contrast_unit == UNIT_STAR
        for separation, n, contrast in zip(curve.separation_px, curve.n_apertures, curve.contrast):
            positions = _ring(separation, dataset.center)
            assert len(positions) == n
            sigma = np.sqrt(np.mean(_aperture_sigma(positions, 1.0 / np.sqrt(frames)) ** 2))
            analytic = sigma * stats.t.isf(FPF_5_SIGMA, n - 1) * np.sqrt(1.0 + 1.0 / n) / STAR
            ratios.append(contrast / analytic)
            weights.append(n - 1)
    # the sample variance is unbiased: pool the squared ratios by degrees of freedom
    pooled = np.sqrt(np.average(np.square(ratios), weights=weights))
    assert pooled == pytest.approx(1.0, abs=0.02)
    assert len(ratios) == 12 * 12


def test_curve_is_the_formula_on_its_own_noise(noop):
    """Each value is t x sqrt(1 + 1/n) x the standard deviation of the ring's apertures (brute force) / throughput."""
    dataset = noise_dataset(seed=3, size=61, angles=np.linspace(0, 40, 6))
    algorithm = get_algorithm("median")()
    curve = contrast_curve(algorithm, dataset, branches=2)
    final = algorithm.process(dataset).final
    fluxes = [CircularAperture(_ring(r, dataset.center), r=FWHM / 2.0).do_photometry(final, method="exact")[0]
              for r in curve.separation_px]
    noise = np.array([np.std(f, ddof=1) for f in fluxes])
    np.testing.assert_allclose(curve.noise, noise, rtol=1e-9)
    np.testing.assert_allclose(curve.noise_mean, [np.mean(f) for f in fluxes], rtol=1e-9, atol=1e-12)
    n = np.array([len(f) for f in fluxes])
    expected = stats.t.isf(FPF_5_SIGMA, n - 1) * np.sqrt(1 + 1 / n) * noise / curve.throughput / dataset.star_flux
    np.testing.assert_allclose(curve.contrast, expected, rtol=1e-9)


def test_degrees_of_freedom_are_n_minus_1(noop):
    """At 1.5 FWHM the ring holds n = 9 resolution elements: the t quantile of n - 1 = 8 degrees of
    freedom, not the n - 2 of the two-sample test against the others nor n (the reference library's
    off-by-one variants), which would change the contrast by far more than any tolerance."""
    dataset = noise_dataset(seed=1, size=41, star_flux=STAR)
    curve = contrast_curve(noop(), dataset, inner=1.5, branches=1)
    n = int(curve.n_apertures[0])
    assert n == 9 and curve.separation_fwhm[0] == pytest.approx(1.5)
    assert curve.t_quantile[0] == pytest.approx(stats.t.isf(FPF_5_SIGMA, 8), rel=1e-12)
    for wrong_dof in (n - 2, n):
        assert abs(stats.t.isf(FPF_5_SIGMA, wrong_dof) / curve.t_quantile[0] - 1) > 0.1
    factor = student_factor(n, FPF_5_SIGMA)
    assert curve.contrast[0] == pytest.approx(factor * curve.noise[0] / curve.throughput[0] / STAR, rel=1e-12)
    assert factor == pytest.approx(stats.t.isf(FPF_5_SIGMA, 8) * np.sqrt(1 + 1 / 9), rel=1e-12)


def test_fpf_and_sigma():
    assert resolve_fpf() == FPF_5_SIGMA == pytest.approx(2.87e-7, rel=2e-3)
    assert resolve_fpf(sigma=5.0) == pytest.approx(FPF_5_SIGMA, rel=1e-12)
    assert resolve_fpf(sigma=3.0) == pytest.approx(1.349898e-3, rel=1e-6)
    assert resolve_fpf(fpf=1e-4) == 1e-4
    with pytest.raises(ValueError, match=r"^fpf, sigma: expected at most one of them, got both$"):
        resolve_fpf(fpf=1e-4, sigma=3.0)
    with pytest.raises(ValueError, match=r"^fpf: expected a number in \(0, 0.5\), got 0.7$"):
        resolve_fpf(fpf=0.7)
    with pytest.raises(ValueError, match=r"^sigma: expected a number > 0, got -1$"):
        resolve_fpf(sigma=-1)


def test_a_larger_fpf_gives_a_deeper_curve(noop):
    dataset = noise_dataset(seed=2, size=41)
    deep, shallow = (contrast_curve(noop(), dataset, branches=1, sigma=s) for s in (3.0, 5.0))
    assert np.all(deep.contrast < shallow.contrast)
    np.testing.assert_allclose(deep.contrast / shallow.contrast,
                               student_factor(deep.n_apertures, resolve_fpf(sigma=3.0))
                               / student_factor(deep.n_apertures, FPF_5_SIGMA), rtol=1e-12)


def test_json_keys_and_plot(noop, tmp_path):
    curve = contrast_curve(noop(), noise_dataset(seed=4, size=41), branches=1)
    data = json.loads(curve.to_json())
    for key in ("separation_px", "separation_fwhm", "contrast", "throughput", "noise", "fpf", "contrast_unit"):
        assert key in data
    assert data["separation_fwhm"] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert data["fpf"] == FPF_5_SIGMA and isinstance(data["contrast_unit"], str)
    text = curve.table_text().splitlines()
    assert len(text) == 2 + len(curve.contrast) and "relative to the PSF file's flux" in text[0]
    figure = plot_contrast([curve, curve], tmp_path / "c.png", labels=["a", "b"])
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG" and figure.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match=r"^labels: expected 2 labels \(one per curve\), got 1$"):
        plot_contrast([curve, curve], labels=["a"])


def test_separations_and_ring_noise_errors():
    dataset = noise_dataset(size=41)
    assert contrast_separations(dataset, inner=2.0, step=0.5).tolist() == [8.0, 10.0, 12.0, 14.0, 16.0, 18.0]
    assert contrast_separations(dataset, outer=2.5).tolist() == [4.0, 8.0]
    with pytest.raises(ValueError, match=r"^inner: expected more than 0.577 FWHM \(3 apertures on the ring\), "
                                         r"got 0.5$"):
        contrast_separations(dataset, inner=0.5)
    with pytest.raises(ValueError, match=r"^inner: 6 FWHM \(24.0 px\) leaves no ring inside the 41x41 frame"):
        contrast_separations(dataset, inner=6.0)
    with pytest.raises(ValueError, match=r"^step: expected a number > 0, got 0$"):
        contrast_separations(dataset, step=0)
    with pytest.raises(TypeError, match=r"^dataset: expected an exobench Dataset, got ndarray$"):
        contrast_separations(dataset.cube)
    with pytest.raises(ValueError, match=r"^separations: expected a value > 0"):
        ring_noise(np.zeros((41, 41)), [0.0], FWHM)


def test_a_dataset_without_psf_is_refused(noop):
    dataset = noise_dataset(size=41).replace(psf=None, fwhm=FWHM)
    with pytest.raises(ValueError, match=r"^dataset: a PSF is needed to inject fake companions, got a dataset "
                                         r"without one$"):
        contrast_curve(noop(), dataset)


def test_no_positive_throughput_gives_no_limit(monkeypatch):
    """An algorithm that returns the opposite of the companions: throughput -1, contrast NaN (null in JSON)."""
    from exobench.algorithms.base import Algorithm, Result

    class Flip(Algorithm):
        def process(self, dataset):
            return Result(-dataset.cube, -dataset.cube.mean(axis=0))

    curve = contrast_curve(Flip(), noise_dataset(seed=8, size=41), branches=1)
    np.testing.assert_allclose(curve.throughput, -1.0, rtol=1e-9)
    assert np.all(np.isnan(curve.contrast))
    assert json.loads(curve.to_json())["contrast"] == [None] * len(curve.contrast)


def test_laplacian_curve_is_the_t_curve_times_the_thresholds_ratio(noop):
    """The two statistics share the noise and the throughput: only the threshold on T changes."""
    from exobench.contrast import bootstrap_threshold

    dataset = noise_dataset(seed=5, size=41, star_flux=STAR)
    t_curve = contrast_curve(noop(), dataset, branches=1)
    laplace = contrast_curve(noop(), dataset, branches=1, statistic="laplace-bootstrap", draws=5000, random_state=2)
    expected, error = bootstrap_threshold(laplace.n_apertures, FPF_5_SIGMA, draws=5000, random_state=2)
    np.testing.assert_array_equal(laplace.threshold, expected)
    np.testing.assert_array_equal(laplace.threshold_se, error)
    np.testing.assert_allclose(laplace.contrast, t_curve.contrast * expected / t_curve.t_quantile, rtol=1e-12)
    np.testing.assert_array_equal(t_curve.threshold, t_curve.t_quantile)
    assert laplace.statistic == "laplace-bootstrap" and t_curve.statistic == "t"
    assert np.all(laplace.contrast > 1.5 * t_curve.contrast)
    np.testing.assert_array_equal(laplace.kurtosis, t_curve.kurtosis)
    assert laplace.gaussian_p.shape == laplace.non_gaussian.shape == laplace.laplace_scale.shape == (4,)
    with pytest.raises(ValueError, match=r"^statistic: expected one of 't', 'laplace-bootstrap', got 'gauss'$"):
        contrast_curve(noop(), dataset, statistic="gauss")
    with pytest.raises(ValueError, match=r"^draws: expected an integer >= 1000, got 5$"):
        contrast_curve(noop(), dataset, statistic="laplace-bootstrap", draws=5)


def test_plot_circles_non_gaussian_separations(noop):
    import dataclasses

    curve = contrast_curve(noop(), noise_dataset(seed=6, size=41), branches=1)
    flagged = dataclasses.replace(curve, non_gaussian=np.array([True, False, True, False]))
    ax = plot_contrast(flagged).axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["non-Gaussian noise"]
    assert ax.lines[1].get_xdata().tolist() == [1.0, 3.0]
    assert plot_contrast(dataclasses.replace(curve, non_gaussian=np.zeros(4, dtype=bool))).axes[0].get_legend() is None
