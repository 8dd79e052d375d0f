"""STIM maps: definition, their law on Gaussian noise, the inverse-angle normalisation, NACO, errors."""

import numpy as np
import pytest
from scipy import stats

from exobench.algorithms import PCA, AnnularPCA, MedianADI
from exobench.detmap import StimResult, stim_from_algorithm, stim_from_derotated, stim_map, stim_maps
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube, polar_grid

#: What the NACO tests measured (normalised STIM at each companion); printed with ``pytest -s``.
MEASURED = {}


def test_stim_map_is_mean_over_std_with_ddof_0_and_nan_where_std_is_0(rng):
    cube = rng.normal(size=(12, 9, 9)) + 0.3
    cube[:, 0, 0] = 5.0  # constant pixel: std 0
    cube[3, 1, 1] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = cube.mean(axis=0) / cube.std(axis=0, ddof=0)
    result = stim_map(cube)
    good = np.ones((9, 9), dtype=bool)
    good[0, 0] = good[1, 1] = False
    np.testing.assert_allclose(result[good], expected[good], rtol=1e-12)
    assert np.isnan(result[0, 0]) and np.isnan(result[1, 1])
    assert result.dtype == np.float64


def test_on_gaussian_noise_sqrt_t_minus_1_stim_is_student_t(rng):
    # mean / std(ddof=0) = t statistic / sqrt(T - 1) for T independent Gaussian values
    frames = 40
    values = np.sqrt(frames - 1) * stim_map(rng.normal(size=(frames, 80, 80))).ravel()
    law = stats.t(frames - 1)
    assert stats.kstest(values, law.cdf).pvalue > 0.01
    assert abs(values.mean()) < 0.05  # 6400 values of std ~1: 4 standard errors
    assert abs(values.std() / law.std() - 1) < 0.03
    assert abs(stats.skew(values)) < 0.15  # symmetric about 0


def test_normalised_map_of_noise_rarely_exceeds_1():
    # pure noise: the STIM and inverse STIM maps have the same law, so the maximum of the
    # normalised map is about 1 and very few pixels exceed it
    angles = np.linspace(-40.0, 40.0, 40)
    maxima, fractions = [], []
    for seed in range(5):
        noise = np.random.default_rng(seed).normal(size=(40, 64, 64))
        result = stim_maps(noise, angles)
        finite = result.normalized[np.isfinite(result.normalized)]
        maxima.append(finite.max())
        fractions.append(np.mean(finite > 1))
    assert 0.7 < min(maxima) and max(maxima) < 1.4
    assert max(fractions) < 0.002


def test_stim_maps_derotates_with_plus_and_minus_angles_and_masks_outside_the_region(rng):
    residuals = rng.normal(size=(20, 33, 33))
    angles = np.linspace(0.0, 60.0, 20)
    result = stim_maps(residuals, angles, inner_radius=3.0)
    assert isinstance(result, StimResult)
    direct = stim_map(derotate_cube(residuals, angles))
    inverse = stim_map(derotate_cube(residuals, -angles))
    radius, _ = polar_grid((33, 33))
    inside = (radius >= 3.0) & (radius <= 16.0)
    np.testing.assert_array_equal(result.stim[inside], direct[inside])
    np.testing.assert_array_equal(result.inverse[inside], inverse[inside])
    assert np.all(np.isnan(result.stim[~inside])) and np.all(np.isnan(result.normalized[~inside]))
    assert result.normalization == np.nanmax(inverse[inside])
    np.testing.assert_array_equal(result.normalized, result.stim / result.normalization)


def test_stim_from_algorithm_equals_stim_maps_of_the_raw_residuals():
    ds = example_dataset(n_frames=20, size=33, seed=2)
    cube = np.asarray(ds.cube, dtype=np.float64)
    raw = cube - np.median(cube, axis=0)  # median ADI's residuals before derotation
    expected = stim_maps(raw, ds.angles, outer_radius=14.0)
    result = stim_from_algorithm(MedianADI(), ds, outer_radius=14.0)
    for name in ("stim", "inverse", "normalized"):
        np.testing.assert_allclose(getattr(result, name), getattr(expected, name), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: stim_map(np.zeros((5, 5))), ValueError, r"residuals: expected a 3D array"),
        (lambda: stim_map(np.zeros((1, 5, 5))), ValueError, "residuals: expected at least 2 frames, got 1"),
        (lambda: stim_map(np.array([["a"]])), TypeError, "residuals: expected an array of numbers"),
        (lambda: stim_maps(np.ones((4, 9, 9)), [0, 1, 2]), ValueError, r"angles: expected 4 angles"),
        (lambda: stim_maps(np.random.default_rng(0).normal(size=(4, 9, 9)), [0, 1, 2, 3], inner_radius=-1),
         ValueError, "inner_radius: expected a number >= 0"),
        (lambda: stim_maps(np.random.default_rng(0).normal(size=(4, 9, 9)), [0, 1, 2, 3], inner_radius=3,
                           outer_radius=2), ValueError, "outer_radius: expected more than inner_radius"),
        (lambda: stim_from_derotated(np.zeros((4, 9, 9)), np.zeros((4, 9, 9))), ValueError,
         "inverse_derotated: the inverse STIM map has no finite pixel"),
        (lambda: stim_from_derotated(np.ones((4, 9, 9)), np.ones((4, 7, 7))), ValueError,
         r"inverse_derotated: expected frames of shape \(9, 9\)"),
    ],
)
def test_errors_name_the_parameter(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- the real NACO cube -------------------------------------------------------------------------

SEPARATIONS = (12.0, 20.0, 30.0)


@pytest.fixture(scope="module")
def naco_stim(naco):
    """Normalised STIM maps of PCA and annular PCA on NACO, empty and with 3 companions of flux 150."""
    from exobench.inject import inject_companions

    injection = inject_companions(naco, separations=SEPARATIONS, thetas=[0.0, 120.0, 240.0],
                                  fluxes=[150.0] * 3)
    pixels = [(int(round(y)), int(round(x))) for x, y in injection.positions]
    for name, algorithm in {"pca": PCA(ncomp=5), "pca-annular": AnnularPCA(ncomp=5)}.items():
        empty = stim_from_algorithm(algorithm, naco)
        full = stim_from_algorithm(algorithm, injection.dataset)
        MEASURED[name] = {
            "empty_max_normalized": round(float(np.nanmax(empty.normalized)), 3),
            "normalized": {sep: round(float(full.normalized[p]), 3) for sep, p in zip(SEPARATIONS, pixels)},
            "inverse_over_max": {sep: round(float(full.inverse[p] / full.normalization), 3)
                                 for sep, p in zip(SEPARATIONS, pixels)},
        }
    yield MEASURED
    print("\nNACO STIM measurements:", MEASURED)


@pytest.mark.parametrize("name", ["pca", "pca-annular"])
def test_naco_companions_exceed_the_inverse_map_and_the_empty_cube(naco_stim, name):
    measured = naco_stim[name]
    for sep in (20.0, 30.0):
        assert measured["normalized"][sep] > 1.0  # above every value of the inverse map
        assert measured["normalized"][sep] > measured["empty_max_normalized"]  # above every noise peak
        assert measured["inverse_over_max"][sep] < 0.8  # smeared in the inverse map
