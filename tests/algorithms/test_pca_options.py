"""Full-frame PCA's options: incremental (batched) mode and exclusion of frames too close in angle."""

import numpy as np
import pytest

from exobench.algorithms import PCA
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube


@pytest.fixture(scope="module")
def small():
    """A synthetic float64 ADI dataset: 16 frames of 31 x 31."""
    ds = example_dataset(n_frames=16, size=31, seed=5)
    return ds.replace(cube=ds.cube.astype(np.float64))


def _brute_force_delta_pca(ds, ncomp, delta, exclusion_radius, collapse="median"):
    """Reference: per frame, an SVD of its own library (frames rotated enough at the radius)."""
    t = ds.cube.shape[0]
    matrix = ds.cube.reshape(t, -1)
    matrix = matrix - matrix.mean(axis=0)
    angles = np.asarray(ds.angles, dtype=float)
    threshold = np.degrees(delta / exclusion_radius)  # delta FWHM of arc at exclusion_radius FWHM
    residuals = np.empty_like(matrix)
    for i in range(t):
        distance = np.abs(angles - angles[i])
        # too few frames: the threshold is lowered to the ncomp-th largest rotation (ties kept)
        lowered = min(threshold, np.sort(distance)[::-1][ncomp - 1])
        library = np.flatnonzero(distance >= lowered)
        _, _, vt = np.linalg.svd(matrix[library], full_matrices=False)
        v = vt[:ncomp]
        residuals[i] = matrix[i] - (matrix[i] @ v.T) @ v
    derotated = derotate_cube(residuals.reshape(ds.cube.shape), ds.angles)
    final = derotated.mean(axis=0) if collapse == "mean" else np.median(derotated, axis=0)
    return derotated, final


@pytest.mark.parametrize("batch_size", [1, 7, 100, 10_000])
@pytest.mark.parametrize("options", [{"ncomp": 3}, {"ncomp": 1, "inner_radius": 1.0},
                                     {"explained_variance": 0.9}])
def test_batch_mode_equals_in_memory(small, batch_size, options):
    full = PCA(**options).process(small)
    batched = PCA(batch_size=batch_size, **options).process(small)
    scale = np.abs(full.residuals).max()
    np.testing.assert_allclose(batched.residuals, full.residuals, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(batched.final, full.final, rtol=0, atol=1e-12 * scale)


def test_batch_mode_reads_a_float32_memmap_cube(small, tmp_path):
    cube32 = small.cube.astype(np.float32)
    path = tmp_path / "cube.npy"
    np.save(path, cube32)
    mapped = small.replace(cube=np.load(path, mmap_mode="r"))
    batched = PCA(ncomp=2, batch_size=50).process(mapped)
    full = PCA(ncomp=2).process(small.replace(cube=cube32))
    np.testing.assert_allclose(batched.final, full.final, rtol=0, atol=1e-10)


def test_batch_mode_with_delta_equals_in_memory(small):
    options = {"ncomp": 2, "delta": 1.0, "exclusion_radius": 2.0}
    full = PCA(**options).process(small)
    batched = PCA(batch_size=64, **options).process(small)
    np.testing.assert_allclose(batched.residuals, full.residuals, rtol=0, atol=1e-10)


@pytest.mark.parametrize("ncomp, delta, radius", [(1, 0.5, 2.0), (3, 1.0, 2.0), (2, 1.0, 1.0), (4, 3.0, 1.5)])
def test_delta_equals_brute_force_per_frame_libraries(small, ncomp, delta, radius):
    result = PCA(ncomp=ncomp, delta=delta, exclusion_radius=radius).process(small)
    residuals, final = _brute_force_delta_pca(small, ncomp, delta, radius)
    scale = np.abs(residuals).max()
    np.testing.assert_allclose(result.residuals, residuals, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(result.final, final, rtol=0, atol=1e-9 * scale)


def test_delta_excludes_frames(small):
    # a large delta must change the result (libraries differ), a zero delta must not
    plain = PCA(ncomp=2).process(small).final
    excluded = PCA(ncomp=2, delta=1.0, exclusion_radius=1.0).process(small).final
    assert np.abs(excluded - plain).max() > 1e-6 * np.abs(plain).max()


@pytest.mark.parametrize("collapse", ["median", "mean"])
def test_delta_zero_equals_plain_pca(small, collapse):
    plain = PCA(ncomp=3, collapse=collapse).process(small)
    zero = PCA(ncomp=3, delta=0.0, exclusion_radius=2.0, collapse=collapse).process(small)
    scale = np.abs(plain.residuals).max()
    np.testing.assert_allclose(zero.residuals, plain.residuals, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(zero.final, plain.final, rtol=0, atol=1e-10 * scale)


@pytest.mark.parametrize("options, name", [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
    ({"delta": -1.0, "exclusion_radius": 2.0}, "delta"),
    ({"delta": "big", "exclusion_radius": 2.0}, "delta"),
    ({"delta": 1.0}, "exclusion_radius"),
    ({"delta": 1.0, "exclusion_radius": 0.0}, "exclusion_radius"),
    ({"exclusion_radius": 2.0}, "exclusion_radius"),
    ({"delta": 1.0, "exclusion_radius": 2.0, "explained_variance": 0.9, "ncomp": None}, "explained_variance"),
])
def test_errors_name_the_parameter(small, options, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        PCA(**options).process(small)


def test_batch_mode_rejects_non_finite_pixels(small):
    cube = small.cube.copy()
    cube[3, 10, 10] = np.nan
    with pytest.raises(ValueError, match=r"^dataset:"):
        PCA(ncomp=1, batch_size=40).process(small.replace(cube=cube))


def test_new_options_in_params_and_repr():
    algorithm = PCA(ncomp=2, delta=1.0, exclusion_radius=3.0, batch_size=512)
    params = algorithm.get_params()
    assert params["delta"] == 1.0 and params["exclusion_radius"] == 3.0 and params["batch_size"] == 512
    assert repr(algorithm) == "PCA(ncomp=2, delta=1.0, exclusion_radius=3.0, batch_size=512)"


@pytest.mark.parametrize("options", [{"ncomp": 3}, {"ncomp": 2, "delta": 1.0, "exclusion_radius": 2.0}])
def test_in_place_path_on_a_float32_cube_matches_and_leaves_inputs_alone(small, options):
    # a float32 cube is copied to float64 and processed in place; a float64 cube must not be modified
    cube32 = small.cube.astype(np.float32)
    ds32 = small.replace(cube=cube32)
    ds64 = small.replace(cube=cube32.astype(np.float64))
    before32, before64 = ds32.cube.copy(), ds64.cube.copy()
    a = PCA(**options).process(ds32)
    b = PCA(**options).process(ds64)
    np.testing.assert_array_equal(ds32.cube, before32)
    np.testing.assert_array_equal(ds64.cube, before64)
    np.testing.assert_allclose(a.residuals, b.residuals, rtol=0, atol=1e-9 * np.abs(b.residuals).max())
