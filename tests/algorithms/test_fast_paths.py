"""The algorithms' fast paths give the reference numbers: median collapse, in-place derotation,
compiled small eigenproblems, LLSG's exact medians, VIP's annular geometry, PCA's peak memory."""

import tracemalloc

import numpy as np
import pytest

from exobench.algorithms import PCA, AnnularPCA, MedianADI
from exobench.algorithms import _eigen, llsg
from exobench.algorithms.base import finish
from exobench.algorithms.collapse import derotate_in_place, median_frame
from exobench.examples import example_dataset
from exobench.geometry import annulus_mask, derotate_cube


@pytest.fixture(scope="module")
def small():
    """A synthetic float64 ADI dataset: 16 frames of 31 x 31."""
    ds = example_dataset(n_frames=16, size=31, seed=7)
    return ds.replace(cube=ds.cube.astype(np.float64))


# -- median collapse and in-place derotation ------------------------------------------------------


@pytest.mark.parametrize("frames", [1, 2, 3, 4, 15, 16, 61, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_frame_is_numpys_median(rng, frames, dtype):
    cube = rng.normal(size=(frames, 23, 200)).astype(dtype)
    cube[:, 0, :5] = 1.5  # ties
    assert median_frame(cube).tobytes() == np.median(cube, axis=0).tobytes()
    cube[frames // 2, 3, 7] = np.nan
    cube[0, 4, 8] = np.inf
    np.testing.assert_array_equal(median_frame(cube), np.median(cube, axis=0))


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "fft"])
@pytest.mark.parametrize("collapse", ["median", "mean"])
def test_finish_in_place_gives_the_same_bytes(small, method, collapse):
    class Options:
        derotation = method

    Options.collapse = collapse
    residuals = small.cube - small.cube.mean(axis=0)
    expected = finish(residuals.copy(), small, Options)
    owned = residuals.copy()
    result = finish(owned, small, Options, in_place=True)
    assert result.residuals.tobytes() == expected.residuals.tobytes()
    assert result.final.tobytes() == expected.final.tobytes()
    if method != "fft":  # interpolating derotations reuse the caller's buffer
        assert result.residuals is owned


def test_derotate_in_place_equals_derotate_cube_over_chunks(rng):
    cube = rng.normal(size=(37, 21, 21))
    angles = np.linspace(-30, 50, 37)
    expected = derotate_cube(cube, angles)
    assert derotate_in_place(cube.copy(), angles, method="bilinear").tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_adi_leaves_the_input_alone(small, dtype):
    ds = small.replace(cube=small.cube.astype(dtype))
    before = ds.cube.copy()
    result = MedianADI().process(ds)
    np.testing.assert_array_equal(ds.cube, before)
    cube = before.astype(np.float64)
    expected = derotate_cube(cube - np.median(cube, axis=0), ds.angles)
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-12 * np.abs(cube).max())


# -- compiled eigenproblems ----------------------------------------------------------------------


def _symmetric(rng, n, spectrum):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * spectrum) @ q.T


@pytest.mark.parametrize("n", [1, 2, 3, 5, 12, 33, 60])
def test_top_eigenpairs_match_lapack(rng, n):
    cases = [
        rng.normal(size=(n, 3 * n)) @ rng.normal(size=(n, 3 * n)).T,  # a Gram matrix
        _symmetric(rng, n, np.exp(-np.arange(n) / 2.0)),  # a fast decaying spectrum
        _symmetric(rng, n, np.r_[np.full(min(n, 3), 5.0), np.linspace(1, 0, n - min(n, 3))]),  # a cluster on top
        _symmetric(rng, n, np.r_[np.arange(min(n, 4), 0, -1.0), np.zeros(n - min(n, 4))]),  # rank deficient
        np.zeros((n, n)),
    ]
    for matrix in cases:
        matrix = (matrix + matrix.T) / 2
        for k in sorted({1, min(3, n), n}):
            values, vectors = _eigen.top_eigenpairs(matrix, k)
            expected_values, expected_vectors = np.linalg.eigh(matrix)
            scale = max(np.abs(expected_values).max(), 1e-300)
            np.testing.assert_allclose(values, expected_values[n - k:], rtol=0, atol=1e-13 * scale)
            np.testing.assert_allclose(vectors.T @ vectors, np.eye(k), rtol=0, atol=1e-12)
            np.testing.assert_allclose(matrix @ vectors, vectors * values, rtol=0, atol=1e-12 * scale)
            gap = expected_values[n - k] - expected_values[n - k - 1] if k < n else np.inf
            if gap > 1e-6 * scale:  # a well-defined subspace: the same projector
                top = expected_vectors[:, n - k:]
                np.testing.assert_allclose(vectors @ vectors.T, top @ top.T, rtol=0, atol=1e-10)


def test_projection_weights_compiled_equal_lapack(rng, monkeypatch):
    t = 40
    matrix = rng.normal(size=(t, 300)) * np.exp(-np.arange(t) / 10.0)[:, None]
    gram = matrix @ matrix.T
    angles = np.sort(rng.uniform(0, 60, t))
    allowed = np.abs(angles[:, None] - angles[None, :]) >= 8.0
    allowed[np.arange(t), np.argmax(np.abs(angles[:, None] - angles[None, :]), axis=1)] = True
    compiled = _eigen.projection_weights(gram, allowed, 5)
    monkeypatch.setattr(_eigen, "COMPILED_MAX_SIZE", 0)
    lapack = _eigen.projection_weights(gram, allowed, 5)
    np.testing.assert_allclose(compiled, lapack, rtol=0, atol=1e-10 * np.abs(lapack).max())
    assert not np.any(compiled[~allowed])


def test_llsg_eigenvectors_batch_compiled_equal_lapack(rng, monkeypatch):
    grams = np.stack([m @ m.T for m in rng.normal(size=(6, 30, 80))])
    compiled = _eigen.top_eigenvectors_batch(grams, 4)
    monkeypatch.setattr(_eigen, "COMPILED_MAX_SIZE", 0)
    lapack = _eigen.top_eigenvectors_batch(grams, 4)
    for a, b in zip(compiled, lapack):
        np.testing.assert_allclose(a @ a.T, b @ b.T, rtol=0, atol=1e-10)


# -- LLSG's exact medians --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 8191, 8192, 8193, 30001, 120000])
def test_llsg_median_is_exact(rng, n):
    values = rng.standard_t(3, size=n).reshape(1, n)
    scratch = np.empty(n)
    assert llsg._median_of(values, scratch) == np.median(values)
    center = float(np.median(values))
    assert llsg._median_of(values, scratch, center=center) == np.median(np.abs(values - center))


def test_llsg_median_falls_back_when_the_sample_misses():
    n = 20001
    values = np.arange(n, dtype=float)
    values[llsg._sample_indices(n, min(llsg._SAMPLE_SIZE, n // 32))] = 1e9  # every sampled entry is huge
    assert llsg._median_of(values.reshape(1, n), np.empty(n)) == np.median(values)


# -- VIP's annular geometry ------------------------------------------------------------------------


def _vip_annular_reference(ds, *, inner_px, width_px, delta, ncomp):
    """VIP's pca_annular geometry written out: a numpy SVD per frame and annulus."""
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1)
    out = np.zeros_like(flat)
    count = int((ds.frame_shape[0] / 2 - inner_px) / width_px)
    for j in range(count):
        r_in = inner_px + j * width_px - (1 if j == count - 1 else 0)
        mask = annulus_mask(ds.frame_shape, max(r_in, 0.0), r_in + width_px).ravel()
        values = flat[:, mask]
        centred = values - values.mean(axis=0)
        threshold = np.degrees(2 * np.arctan(delta * ds.fwhm / (2 * (r_in + width_px / 2))))
        for i in range(t):
            distance = np.abs(ds.angles - ds.angles[i])
            library = distance >= min(threshold, np.sort(distance)[::-1][1])  # at least 2 frames
            _, _, vt = np.linalg.svd(centred[library], full_matrices=False)
            v = vt[:ncomp]
            out[i, mask] = centred[i] - centred[i] @ v.T @ v
    return derotate_cube(out.reshape(ds.cube.shape), ds.angles)


@pytest.mark.parametrize("delta, ncomp, inner", [(1.0, 3, 1.0), (0.5, 2, 0.5), (3.0, 4, 1.0), (0.0, 3, 0.0)])
def test_annular_pca_vip_convention_equals_vip_geometry(small, delta, ncomp, inner):
    width = 1.0
    expected = _vip_annular_reference(small, inner_px=inner * small.fwhm, width_px=width * small.fwhm,
                                      delta=delta, ncomp=ncomp)
    result = AnnularPCA(ncomp=ncomp, asize=width, inner_radius=inner, delta=delta, convention="vip").process(small)
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-9 * np.abs(small.cube).max())


def test_annular_pca_vip_convention_differs_and_is_checked(small):
    ours = AnnularPCA(ncomp=2).process(small).final
    vip = AnnularPCA(ncomp=2, convention="vip").process(small).final
    assert np.abs(ours - vip).max() > 0
    assert AnnularPCA(convention="vip").get_params()["convention"] == "vip"
    assert repr(AnnularPCA(convention="vip")) == "AnnularPCA(convention='vip')"
    with pytest.raises(ValueError, match="^convention: expected one of 'exobench', 'vip', got 'pynpoint'"):
        AnnularPCA(convention="pynpoint").process(small)
    with pytest.raises(ValueError, match="^inner_radius:"):
        AnnularPCA(inner_radius=4.0, convention="vip").process(small)


# -- memory ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 2048])
def test_pca_peak_memory_is_under_4x_a_float32_cube(batch_size):
    ds = example_dataset(n_frames=40, size=151, seed=1)
    ds = ds.replace(cube=ds.cube.astype(np.float32))
    algorithm = PCA(ncomp=5, batch_size=batch_size)
    algorithm.process(ds)  # warm-up (compilation, caches)
    tracemalloc.start()
    try:
        algorithm.process(ds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * ds.cube.nbytes, peak / ds.cube.nbytes


def test_median_frame_is_numpys_median_with_any_thread_count():
    import numba

    from exobench.algorithms.collapse import median_frame

    rng = np.random.default_rng(3)
    cube = rng.normal(size=(40, 230, 230)).astype(np.float32)  # large enough for threads
    expected = np.median(cube.astype(np.float64), axis=0)
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            np.testing.assert_array_equal(median_frame(cube, dtype=np.float64), expected)
            np.testing.assert_array_equal(median_frame(cube.astype(np.float64)), expected)
    finally:
        numba.set_num_threads(before)


def test_eigenvectors_batch_compiled_above_the_default_size(rng):
    n = _eigen.COMPILED_MAX_SIZE + 8
    grams = np.stack([m @ m.T for m in rng.normal(size=(3, n, 2 * n))])
    compiled = _eigen.top_eigenvectors_batch(grams, 3, compiled_max_size=n)
    lapack = _eigen.top_eigenvectors_batch(grams, 3)  # above the default size: LAPACK's
    for a, b in zip(compiled, lapack):
        np.testing.assert_allclose(a @ a.T, b @ b.T, rtol=0, atol=1e-10)
