"""PACO: the statistic against a direct implementation of the paper's formulas, its calibration on
white noise and on the real NACO cube by separation, and an injected companion's detection and flux."""

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from exobench.algorithms import PACO, get_algorithm
from exobench.algorithms.paco import unbiased_flux
from exobench.algorithms.sdi import example_4d_dataset
from exobench.examples import example_dataset
from exobench.geometry import cartesian_to_polar, shift_frames
from exobench.inject import inject_companions

RAW = {"normalisation": "none", "refine_flux_above": None}


def brute_force(dataset, x0, y0, *, radius, variant="fast", subpixel=True, grid=None):
    """``(statistic, flux, std)`` at ``(x0, y0)`` by the paper's formulas, one frame at a time.

    ``grid``: round the PSF model's sub-pixel shift to multiples of it (the implementation's table).
    """
    cube = np.asarray(dataset.cube, dtype=np.float64)
    t = cube.shape[0]
    xc, yc = dataset.center
    reach = int(radius)
    offsets = [(dy, dx) for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1)
               if dy * dy + dx * dx <= radius * radius]
    psf = np.pad(dataset.normalized_psf, 10)
    pc = psf.shape[0] // 2
    separation, theta = cartesian_to_polar(x0, y0, center=(xc, yc))
    sum_a = sum_b = 0.0
    for k in range(t):
        angle = np.deg2rad(theta - dataset.angles[k])  # the companion's polar angle in frame k
        xk, yk = xc + separation * np.cos(angle), yc + separation * np.sin(angle)
        if variant == "fast":
            qx, qy = round(xk), round(yk)
            patches = np.array([[cube[l, qy + dy, qx + dx] for dy, dx in offsets] for l in range(t)])
            sx, sy = (xk - qx, yk - qy) if subpixel else (0.0, 0.0)
            if grid is not None:
                sx, sy = round(sx / grid) * grid, round(sy / grid) * grid
            model = shift_frames(psf, sx, sy, method="fft")
        else:
            ys = np.array([yk + dy for dy, dx in offsets])
            xs = np.array([xk + dx for dy, dx in offsets])
            patches = np.array([map_coordinates(cube[l], [ys, xs], order=1) for l in range(t)])
            model = psf
        h = np.array([model[pc + dy, pc + dx] for dy, dx in offsets])
        mean = patches.mean(axis=0)
        sample = sum(np.outer(r - mean, r - mean) for r in patches) / t
        tr2, tr, d2 = np.trace(sample @ sample), np.trace(sample), np.sum(np.diag(sample) ** 2)
        rho = min(max((tr2 + tr ** 2 - 2 * d2) / ((t + 1) * (tr2 - d2)), 0.0), 1.0)
        inverse = np.linalg.inv((1 - rho) * sample + rho * np.diag(np.diag(sample)))
        sum_a += h @ inverse @ h
        sum_b += h @ inverse @ (patches[k] - mean)
    return sum_b / np.sqrt(sum_a), sum_b / sum_a, 1 / np.sqrt(sum_a)


@pytest.fixture(scope="module")
def small():
    return example_dataset(n_frames=12, size=41, seed=3)


@pytest.mark.parametrize("x0, y0", [(29, 24), (14, 11)])
def test_fast_matches_the_formulas_with_a_centred_psf(small, x0, y0):
    detection = PACO(subpixel=False, **RAW).detect(small)
    expected = brute_force(small, x0, y0, radius=small.fwhm, subpixel=False)
    got = detection.statistic[y0, x0], detection.flux[y0, x0], detection.flux_std[y0, x0]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_fast_matches_the_formulas_with_the_subpixel_psf(small):
    detection = PACO(**RAW).detect(small)
    got = detection.statistic[24, 29], detection.flux[24, 29], detection.flux_std[24, 29]
    # the implementation's table of shifts: the same numbers (but for the Fourier shift of a stamp
    # padded otherwise); the exact shift: within the table's step
    np.testing.assert_allclose(got, brute_force(small, 29, 24, radius=small.fwhm, grid=0.05), rtol=1e-6)
    np.testing.assert_allclose(got, brute_force(small, 29, 24, radius=small.fwhm), rtol=2e-2)


def test_full_matches_the_formulas(small):
    detection = PACO(variant="full", **RAW).detect(small)
    got = detection.statistic[24, 29], detection.flux[24, 29], detection.flux_std[24, 29]
    np.testing.assert_allclose(got, brute_force(small, 29, 24, radius=small.fwhm, variant="full"), rtol=1e-9)


def test_undefined_near_the_star_and_the_edge(small):
    detection = PACO(inner_radius=2.0).detect(small)
    statistic = detection.statistic
    yy, xx = np.indices(statistic.shape)
    separation = np.hypot(yy - 20, xx - 20)
    assert np.all(np.isnan(statistic[separation < 2.0 * small.fwhm]))
    assert np.all(np.isnan(statistic[0])) and np.all(np.isnan(statistic[:, -1]))
    defined = np.isfinite(statistic)
    assert defined.sum() > 200
    assert np.array_equal(defined, np.isfinite(detection.flux)) and np.all(detection.flux_std[defined] > 0)


def _by_separation(statistic, fwhm, edges=(1, 3, 6, 12)):
    ny, nx = statistic.shape
    yy, xx = np.indices(statistic.shape)
    separation = np.hypot(yy - ny // 2, xx - nx // 2) / fwhm
    for low, high in zip(edges[:-1], edges[1:]):
        values = statistic[(separation >= low) & (separation < high) & np.isfinite(statistic)]
        if values.size:
            yield (low, high), values


@pytest.fixture(scope="module")
def white(small):
    cube = np.random.default_rng(7).normal(size=(40, 65, 65))
    return small.replace(cube=cube, angles=np.linspace(0.0, 80.0, 40))


def test_white_noise_statistic_is_standard_normal_by_separation(white):
    statistic = PACO().detect(white).statistic
    for bounds, values in _by_separation(statistic, white.fwhm):
        assert values.size > 200, bounds
        assert abs(values.mean()) < 0.1, (bounds, values.mean())
        assert abs(values.std() - 1) < 0.1, (bounds, values.std())
        assert np.mean(values > 3) < 0.01, bounds
        assert np.count_nonzero(values > 5) == 0, bounds


def test_raw_statistic_is_underdispersed_close_to_the_star(white):
    # the reason for the radial renormalisation: near the star a hypothesis's patches in most frames are
    # the same pixel's, whose mean they make, so sum b is shrunk while sum a is not
    raw = PACO(**RAW).detect(white).statistic
    stds = {bounds: values.std() for bounds, values in _by_separation(raw, white.fwhm)}
    assert stds[(1, 3)] < 0.85 < stds[(6, 12)] < 1.02, stds


@pytest.fixture(scope="module")
def naco_detection(naco):
    return PACO().detect(naco)


def test_naco_statistic_is_calibrated_by_separation(naco_detection, naco):
    for bounds, values in _by_separation(naco_detection.statistic, naco.fwhm):
        assert values.size > 500, bounds
        assert abs(values.mean()) < 0.1, (bounds, values.mean())
        assert abs(values.std() - 1) < 0.1, (bounds, values.std())
        assert np.mean(values > 3) < 0.01, (bounds, np.mean(values > 3))
        assert np.count_nonzero(values > 5) == 0, (bounds, values.max())


@pytest.fixture(scope="module")
def companion():
    empty = example_dataset(n_frames=30, size=49, seed=1)
    # at (24, 37): a pixel centre, where the map's hypothesis is the companion's exact position
    return inject_companions(empty, separations=[13.0], thetas=[90.0], fluxes=[30.0])


def test_companion_detected_and_its_flux_within_10_percent(companion):
    dataset = companion.dataset
    detection = PACO().detect(dataset)
    peak = np.unravel_index(np.nanargmax(detection.statistic), detection.statistic.shape)
    assert np.hypot(peak[0] - 37, peak[1] - 24) <= dataset.fwhm
    assert detection.statistic[37, 24] >= 10
    assert detection.flux[37, 24] == pytest.approx(30.0, rel=0.10)
    assert detection.flux_std[37, 24] > 0
    # without the unbiased estimate, the companion's light in its own statistics lowers the flux
    biased = PACO(refine_flux_above=None).detect(dataset).flux[37, 24]
    assert biased < 0.9 * 30.0 < detection.flux[37, 24]


def test_unbiased_flux_at_a_position_and_outside(companion):
    flux, std = unbiased_flux(companion.dataset, 24.0, 37.0)
    assert flux == pytest.approx(30.0, rel=0.10) and 0 < std < 3
    assert np.isnan(unbiased_flux(companion.dataset, 1.0, 1.0)[0])


def test_registered_and_4d_combined():
    assert get_algorithm("paco") is PACO
    dataset = example_4d_dataset(n_channels=2, n_frames=8, size=25)
    detection = PACO(subpixel=False).detect(dataset)
    assert detection.statistic.shape == (25, 25) and np.isfinite(detection.statistic).any()


@pytest.mark.parametrize("options, message", [
    ({"variant": "slow"}, "variant: expected one of 'fast', 'full', got 'slow'"),
    ({"normalisation": "global"}, "normalisation: expected one of 'radial', 'none', got 'global'"),
    ({"patch_radius": 0}, "patch_radius: expected a number > 0, got 0"),
    ({"subpixel": 1}, "subpixel: expected True or False, got 1"),
    ({"refine_flux_above": "high"}, "refine_flux_above: expected a number or None, got 'high'"),
    ({"inner_radius": -1}, "inner_radius: expected a number >= 0, got -1"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        PACO(**options)
