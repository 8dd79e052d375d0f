"""Contrast grids on white Gaussian noise with an algorithm that subtracts nothing: true-positive fractions,
the 50 % completeness against its theoretical value and against the curve, seeds, files, errors."""

import json

import numpy as np
import pytest
from photutils.aperture import CircularAperture
from scipy import optimize, stats

from exobench.algorithms.base import Algorithm, Result
from exobench.contrast import (completeness_contrast, contrast_curve, contrast_grid, grid_contrasts, plot_grid,
                               write_grid)

from .conftest import FWHM, noise_dataset

STAR = 1.0e4
FPF = 1e-3
FRAMES = 2


class Identity(Algorithm):
    """The mean of frames that do not rotate: throughput 1, white noise stays white."""

    def process(self, dataset):
        cube = np.asarray(dataset.cube, dtype=np.float64)
        return Result(cube, cube.mean(axis=0))


def _aperture_sigma():
    """The standard deviation of a 1-FWHM aperture's flux on the mean of FRAMES unit white-noise frames."""
    weights = CircularAperture([(30.3, 30.0)], r=FWHM / 2.0).to_mask(method="exact")[0].data
    return np.sqrt(np.sum(weights**2) / FRAMES)


def _theoretical_c50(n_noise):
    """The contrast detected half of the time by the grid's test with ``n_noise`` noise apertures: T follows a
    noncentral t law (n_noise - 1 degrees of freedom, noncentrality f / (sigma sqrt(1 + 1/n_noise))), whose
    median reaches the threshold t_{1 - fpf, n_noise - 1}."""
    k = stats.t.isf(FPF, n_noise - 1)
    delta = optimize.brentq(lambda d: stats.nct.sf(k, n_noise - 1, d) - 0.5, 0.0, 100.0)
    return delta * _aperture_sigma() * np.sqrt(1.0 + 1.0 / n_noise) / STAR


@pytest.fixture(scope="module")
def grids():
    found = []
    for seed in (0, 1):
        dataset = noise_dataset(frames=FRAMES, size=61, seed=seed, star_flux=STAR)
        curve = contrast_curve(Identity(), dataset, branches=1, fpf=FPF)
        base = _theoretical_c50(24)
        contrasts = np.r_[0.1, np.geomspace(0.4, 2.5, 13), 10.0] * base
        grid = contrast_grid(Identity(), dataset, contrasts=contrasts, separations=curve.separation_fwhm[1:],
                             azimuths=8, fpf=FPF)
        found.append((curve, grid))
    return found


def test_tpf_is_zero_far_below_and_one_far_above(grids):
    for curve, grid in grids:
        assert grid.tpf.shape == (len(grid.separation_px), len(grid.contrast)) == (6, 15)
        assert np.all(grid.contrast[0] < 0.2 * curve.contrast[1:]) and np.all(grid.contrast[-1] > 5 * curve.contrast[1:])
        assert np.all(grid.tpf[:, 0] == 0) and np.all(grid.tpf[:, -1] == 1)
        assert np.all(grid.median_fpf[:, 0] > 0.1) and np.all(grid.median_fpf[:, -1] < 1e-8)
        np.testing.assert_array_equal(grid.detected, grid.fpf_value < FPF)
        np.testing.assert_allclose(grid.threshold, stats.t.isf(FPF, grid.n_noise - 1), rtol=1e-12)


def test_completeness_50_against_theory_and_the_curve(grids):
    """12 separations x 8 azimuths per cell: each 50 % point scatters by about 20 % (a binomial fraction of 8
    on a slope of about 1.5 per unit log flux), so their geometric mean is within 20 % of the noncentral-t
    value (three standard errors), and within 20 % of the curve, whose promise with its n apertures is the
    same contrast to 1 % (the n - 1 apertures' higher threshold is offset by the noncentral median)."""
    theory, curve_ratio, promised = [], [], []
    for curve, grid in grids:
        assert np.all(np.isfinite(grid.completeness_50))
        expected = np.array([_theoretical_c50(n) for n in grid.n_noise])
        theory += list(grid.completeness_50 / expected)
        curve_ratio += list(grid.completeness_50 / curve.contrast[1:])
        n = curve.n_apertures[1:]
        promised += list(expected / (stats.t.isf(FPF, n - 1) * np.sqrt(1 + 1 / n) * _aperture_sigma() / STAR))
    assert np.exp(np.mean(np.log(theory))) == pytest.approx(1.0, abs=0.2)
    assert np.exp(np.mean(np.log(promised))) == pytest.approx(1.0, abs=0.01)
    assert np.exp(np.mean(np.log(curve_ratio))) == pytest.approx(1.0, abs=0.2)
    assert np.all((np.array(theory) > 0.5) & (np.array(theory) < 2.0))


def test_laplacian_grid_is_seeded_and_stricter(tmp_path):
    dataset = noise_dataset(frames=FRAMES, size=41, seed=3, star_flux=STAR)
    options = dict(contrasts=[5e-4, 2e-3], azimuths=2, fpf=FPF, statistic="laplace-bootstrap", draws=5000)
    one = contrast_grid(Identity(), dataset, random_state=4, **options)
    again = contrast_grid(Identity(), dataset, random_state=4, **options)
    assert one.to_json() == again.to_json()
    assert contrast_grid(Identity(), dataset, random_state=5, **options).to_json() != one.to_json()
    t_grid = contrast_grid(Identity(), dataset, **{**options, "statistic": "t"})
    np.testing.assert_array_equal(one.statistic_value, t_grid.statistic_value)
    assert np.all(one.threshold > t_grid.threshold)
    # far in the tail a Laplacian null is more likely to produce a given T than a Gaussian one
    tail = t_grid.fpf_value < 1e-3
    assert np.any(tail) and np.all(one.fpf_value[tail] > t_grid.fpf_value[tail])
    curve = contrast_curve(Identity(), dataset, branches=1, fpf=FPF, statistic="laplace-bootstrap", draws=5000)
    paths = write_grid(one, tmp_path / "g", curve=curve)
    data = json.loads(paths[0].read_text())
    assert data["statistic"] == "laplace-bootstrap" and data["curve"]["statistic"] == "laplace-bootstrap"
    assert np.asarray(data["tpf"]).shape == (len(one.separation_px), 2)
    assert paths[1].read_bytes()[:4] == b"\x89PNG"
    assert plot_grid(one).axes[0].get_yscale() == "log"
    lines = one.table_text().splitlines()
    assert len(lines) == 2 + len(one.separation_px) and "laplace-bootstrap" in lines[0]
    with pytest.raises(FileExistsError):
        write_grid(one, tmp_path / "g")


def test_completeness_contrast_and_grid_contrasts():
    assert completeness_contrast([1.0, 10.0, 100.0], [0.0, 0.5, 1.0]) == pytest.approx(10.0)
    assert completeness_contrast([1.0, 100.0], [0.0, 1.0]) == pytest.approx(10.0)
    assert np.isnan(completeness_contrast([1.0, 10.0], [0.6, 1.0]))
    assert np.isnan(completeness_contrast([1.0, 10.0], [0.0, 0.4]))
    np.testing.assert_allclose(grid_contrasts(1e-3, 1e-1, 3), [1e-3, 1e-2, 1e-1])
    with pytest.raises(ValueError, match=r"^high: expected more than low \(0.1\), got 0.01$"):
        grid_contrasts(0.1, 0.01, 3)
    with pytest.raises(ValueError, match=r"^count: "):
        grid_contrasts(0.01, 0.1, 1)
    with pytest.raises(ValueError, match=r"^low: "):
        grid_contrasts(0, 0.1, 3)


def test_grid_errors():
    dataset = noise_dataset(frames=FRAMES, size=41)
    with pytest.raises(ValueError, match=r"^contrasts: expected positive contrasts, got \[-1.0, 0.1\]$"):
        contrast_grid(Identity(), dataset, contrasts=[0.1, -1.0])
    with pytest.raises(ValueError, match=r"^separations: expected at most 4.62 FWHM \(a ring inside the frame\), "
                                         r"got 9$"):
        contrast_grid(Identity(), dataset, contrasts=[0.1], separations=[2.0, 9.0])
    with pytest.raises(ValueError, match=r"^azimuths: "):
        contrast_grid(Identity(), dataset, contrasts=[0.1], azimuths=0)
    with pytest.raises(ValueError, match=r"^statistic: expected one of "):
        contrast_grid(Identity(), dataset, contrasts=[0.1], statistic="z")
    with pytest.raises(ValueError, match=r"^dataset: a PSF is needed to inject fake companions"):
        contrast_grid(Identity(), dataset.replace(psf=None, fwhm=FWHM), contrasts=[0.1])
    with pytest.raises(TypeError, match=r"^dataset: expected an exobench Dataset, got ndarray$"):
        contrast_grid(Identity(), dataset.cube, contrasts=[0.1])


def test_statistic_is_the_candidates_against_its_ring_brute_force():
    """Each T is the S/N of the injected companion's aperture against the other apertures of its ring, in the
    final frame of a cube injected by hand (exobench.inject, exobench.detmap): the grid tests what a detection
    map would."""
    from exobench.detmap import ring_fluxes, snr_of_fluxes
    from exobench.inject import inject_companions

    dataset = noise_dataset(frames=FRAMES, size=41, seed=6, star_flux=STAR)
    grid = contrast_grid(Identity(), dataset, contrasts=[3e-3], separations=[2.0, 3.0], azimuths=3, theta0=20.0,
                         fpf=FPF)
    for s, separation in enumerate(grid.separation_px):
        for a, theta in enumerate(grid.thetas):
            fake = inject_companions(dataset, separations=[separation], thetas=[theta], fluxes=[3e-3 * STAR])
            final = Identity().process(fake.dataset).final
            ring = ring_fluxes(final, tuple(fake.positions[0]), FWHM, center=dataset.center)
            assert grid.statistic_value[s, 0, a] == pytest.approx(float(snr_of_fluxes(ring)), rel=1e-9)
            assert grid.n_noise[s] == ring.size - 1
            assert grid.fpf_value[s, 0, a] == pytest.approx(stats.t.sf(snr_of_fluxes(ring), ring.size - 2), rel=1e-9)
