"""NMF: the multiplicative updates, scikit-learn's own NMF, per-frame libraries, an injected companion, errors."""

import numpy as np
import pytest
import scipy.optimize
from sklearn.decomposition import NMF as SklearnNMF

from exobench.algorithms import NMF, AnnularNMF, get_algorithm
from exobench.algorithms._nmf import multiplicative_factorisation, multiplicative_weights, nonnegative
from exobench.algorithms.annuli import annuli, rotation_thresholds, vip_annuli
from exobench.data import Dataset
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube

from .detection import assert_detects_the_companion_only

#: scikit-learn's own NMF, called by the tests, may stop at max_iter (the algorithms silence that warning).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SKLEARN = dict(init="nndsvda", solver="cd", max_iter=200, tol=1e-4, random_state=0)


@pytest.fixture(scope="module")
def small():
    """A synthetic float64 ADI dataset: 12 frames of 25 x 25 (FWHM 4 px)."""
    ds = example_dataset(n_frames=12, size=25, seed=4)
    return ds.replace(cube=ds.cube.astype(np.float64))


@pytest.fixture(scope="module")
def positive(small):
    """The same dataset shifted to strictly positive pixels (no offset needed)."""
    return small.replace(cube=small.cube - small.cube.min() + 1.0)


def _sklearn_model(matrix, ncomp):
    model = SklearnNMF(n_components=ncomp, **SKLEARN)
    return model.fit_transform(matrix) @ model.components_


def _close(actual, expected, scale):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9 * scale)


# -- the factorisations ------------------------------------------------------------------------


def test_multiplicative_updates_never_increase_the_error(rng):
    matrix = rng.random((15, 4)) @ rng.random((4, 60)) ** 2 + 0.05 * rng.random((15, 60))
    libraries = rng.random((5, 15)) > 0.3
    weights, components, errors = multiplicative_factorisation(matrix, 4, rows=libraries, max_iter=60, tol=0,
                                                               history=True)
    for rows, history, w, h in zip(libraries, errors, weights, components):
        history = np.asarray(history)
        assert history.size == 61 and history[-1] < 0.5 * history[0]
        assert np.all(np.diff(history) <= 1e-12 * history[0])
        assert np.all(w[~rows] == 0) and np.all(w >= 0) and np.all(h >= 0)
        np.testing.assert_allclose(np.linalg.norm(matrix[rows] - w[rows] @ h), history[-1], rtol=1e-12)
    # a library solved alone gives what it gives in the batch (to rounding): libraries stop on their own
    alone_w, alone_h = multiplicative_factorisation(matrix[libraries[2]], 4, max_iter=60, tol=1e-3)
    batch_w, batch_h = multiplicative_factorisation(matrix, 4, rows=libraries, max_iter=60, tol=1e-3)
    np.testing.assert_allclose(alone_w[0] @ alone_h[0], batch_w[2][libraries[2]] @ batch_h[2], rtol=1e-9)


def test_the_sklearn_solver_is_sklearn_s_own_nmf(positive):
    t = positive.n_frames
    matrix = positive.cube.reshape(t, -1)
    expected = derotate_cube((matrix - _sklearn_model(matrix, 3)).reshape(positive.cube.shape), positive.angles)
    result = NMF(ncomp=3, solver="sklearn", collapse="mean").process(positive)
    _close(result.residuals, expected, np.abs(positive.cube).max())
    _close(result.final, expected.mean(axis=0), np.abs(positive.cube).max())


def test_negatives_shift_adds_one_offset_and_clip_models_the_clipped_frames(small):
    t = small.n_frames
    matrix = small.cube.reshape(t, -1)
    assert matrix.min() < 0
    shifted = matrix - matrix.min()
    expected = matrix - (_sklearn_model(shifted, 2) + matrix.min())
    result = NMF(ncomp=2, solver="sklearn", collapse="mean").process(small)
    _close(result.residuals, derotate_cube(expected.reshape(small.cube.shape), small.angles), np.abs(matrix).max())
    expected = matrix - _sklearn_model(np.clip(matrix, 0, None), 2)
    result = NMF(ncomp=2, negatives="clip", solver="sklearn", collapse="mean").process(small)
    _close(result.residuals, derotate_cube(expected.reshape(small.cube.shape), small.angles), np.abs(matrix).max())
    assert nonnegative(np.array([[1.0, 2.0]]), "shift")[1] == 0.0  # no shift when nothing is negative


def _brute_force_annular(ds, *, ncomp, asize, delta, factorise):
    """Per annulus and frame: factorise the frame's own library, project the frame by NNLS."""
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1)
    out = np.zeros_like(flat)
    masks, radii = annuli(ds.cube.shape, inner_radius=0.0, width=asize * ds.fwhm)
    for mask, radius in zip(masks, radii):
        pixels = mask.ravel()
        values = flat[:, pixels]
        offset = -min(values.min(), 0.0)
        values = values + offset
        threshold = np.degrees(delta * ds.fwhm / radius)
        for i in range(t):
            distance = np.abs(ds.angles - ds.angles[i])
            library = distance >= min(threshold, np.sort(distance)[::-1][ncomp - 1])
            weights, components = factorise(values[library], min(ncomp, values.shape[1]))
            if library[i]:
                model = weights[np.flatnonzero(library) == i][0] @ components
            else:
                model = scipy.optimize.nnls(components.T, values[i])[0] @ components
            out[i, pixels] = values[i] - model
    return derotate_cube(out.reshape(ds.cube.shape), ds.angles)


def _sklearn_factors(matrix, ncomp):
    model = SklearnNMF(n_components=ncomp, **SKLEARN)
    return model.fit_transform(matrix), model.components_


def _multiplicative_factors(matrix, ncomp):
    weights, components = multiplicative_factorisation(matrix, ncomp, max_iter=200, tol=1e-4)
    return weights[0], components[0]


@pytest.mark.parametrize("solver, factorise", [("sklearn", _sklearn_factors),
                                               ("multiplicative", _multiplicative_factors)])
@pytest.mark.parametrize("delta", [0.0, 1.0])
def test_annular_nmf_equals_a_factorisation_per_frame_library(small, solver, factorise, delta):
    expected = _brute_force_annular(small, ncomp=3, asize=1.5, delta=delta, factorise=factorise)
    result = AnnularNMF(ncomp=3, asize=1.5, delta=delta, solver=solver, collapse="mean").process(small)
    # batched and single eigenproblems of the multiplicative start round differently: 1e-7 of the scale
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-7 * np.abs(small.cube).max())


def test_multiplicative_weights_are_sklearn_s_transform(positive):
    matrix = positive.cube.reshape(positive.n_frames, -1)
    model = SklearnNMF(n_components=3, init="nndsvda", solver="mu", max_iter=200, tol=1e-4, random_state=0)
    model.fit(matrix)
    expected = model.transform(matrix)
    weights = multiplicative_weights(matrix, model.components_, max_iter=200, tol=1e-4)
    np.testing.assert_allclose(weights, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_randomized_start_is_sklearn_s_multiplicative_nmf(positive):
    matrix = positive.cube.reshape(positive.n_frames, -1)
    model = SklearnNMF(n_components=3, init="nndsvda", solver="mu", max_iter=200, tol=1e-4, random_state=7)
    expected = model.fit_transform(matrix) @ model.components_
    weights, components = multiplicative_factorisation(matrix, 3, max_iter=200, tol=1e-4, start="randomized",
                                                       random_state=7)
    np.testing.assert_allclose(weights[0] @ components[0], expected, rtol=0, atol=1e-9 * np.abs(matrix).max())
    result = NMF(ncomp=3, solver="multiplicative", start="randomized", random_state=7, collapse="mean").process(
        positive)
    _close(result.residuals, derotate_cube((matrix - expected).reshape(positive.cube.shape), positive.angles),
           np.abs(positive.cube).max())


def test_nmf_weights_transform_solves_the_weights_again(small):
    t = small.n_frames
    matrix = small.cube.reshape(t, -1)
    shifted = matrix - matrix.min()
    _, components = multiplicative_factorisation(shifted, 3, max_iter=200, tol=1e-4)
    model = SklearnNMF(n_components=3, solver="mu", max_iter=200, tol=1e-4).fit(shifted)
    model.components_ = components[0]  # scikit-learn's transform on exobench's components
    expected = derotate_cube((shifted - model.transform(shifted) @ components[0]).reshape(small.cube.shape),
                             small.angles)
    result = NMF(ncomp=3, solver="multiplicative", weights="transform").process(small)
    _close(result.residuals, expected, np.abs(small.cube).max())
    fit = NMF(ncomp=3, solver="multiplicative").process(small)
    assert np.abs(fit.residuals - result.residuals).max() > 1e-3 * np.abs(small.cube).max()


def test_annular_nmf_vip_convention_and_frame_negatives_equal_brute_force(small):
    """convention="vip" (VIP's annuli, chord threshold, libraries of 2 frames or more) and negatives="frame"
    (the cube, then each annulus's library and each frame, shifted by its minimum; the model not shifted back)."""
    ds, ncomp, fwhm = small, 2, float(small.fwhm)  # no more components than the smallest library (2 frames)
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1) - ds.cube.min()
    out = np.zeros_like(flat)
    masks, radii = vip_annuli(ds.cube.shape, inner_radius=0.5 * fwhm, width=1.0 * fwhm)
    assert len(masks) > 1
    for mask, radius in zip(masks, radii):
        pixels = np.flatnonzero(mask.ravel())
        values = flat[:, pixels]
        threshold = np.degrees(2 * np.arctan(fwhm / (2 * radius)))
        for i in range(t):
            distance = np.abs(ds.angles - ds.angles[i])
            library = distance >= min(threshold, np.sort(distance)[::-1][1])
            _, components = multiplicative_factorisation(values[library] - values.min(), ncomp, max_iter=200,
                                                         tol=1e-4)
            frame = values[i] - values[i].min()
            out[i, pixels] = values[i] - scipy.optimize.nnls(components[0].T, frame)[0] @ components[0]
    expected = derotate_cube(out.reshape(ds.cube.shape), ds.angles)
    result = AnnularNMF(ncomp=ncomp, asize=1.0, inner_radius=0.5, delta=1.0, convention="vip",
                        negatives="frame", collapse="mean").process(ds)
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-7 * np.abs(ds.cube).max())
    # the thresholds used: VIP's chord formula, at least 2 frames
    thresholds, _ = rotation_thresholds(ds.angles, radii[0], 1.0, fwhm, 2, formula="chord")
    assert np.all(thresholds <= np.degrees(2 * np.arctan(fwhm / (2 * radii[0]))) + 1e-12)


@pytest.mark.parametrize("algorithm", [
    NMF(ncomp=3, solver="multiplicative"), NMF(ncomp=3, solver="multiplicative", weights="transform"),
    AnnularNMF(ncomp=2, delta=0.5), AnnularNMF(ncomp=2, delta=0.5, convention="vip", negatives="frame")])
def test_single_precision_models_the_frames_as_double(small, algorithm):
    double = algorithm.process(small)
    algorithm.precision = "single"
    single = algorithm.process(small)
    algorithm.precision = "double"
    scale = np.abs(double.residuals).max()
    assert np.abs(single.residuals - double.residuals).max() < 1e-3 * scale
    assert np.abs(single.residuals - double.residuals).max() > 0  # computed in single precision indeed


def test_single_precision_stops_on_the_exact_error(rng):
    matrix = rng.random((15, 4)) @ rng.random((4, 60)) ** 2 + 0.05 * rng.random((15, 60))
    libraries = rng.random((3, 15)) > 0.3
    weights, components = multiplicative_factorisation(matrix, 4, rows=libraries, max_iter=300, tol=1e-3,
                                                       dtype=np.float32)
    assert weights.dtype == components.dtype == np.float32
    double_w, double_h = multiplicative_factorisation(matrix, 4, rows=libraries, max_iter=300, tol=1e-3)
    for rows, w, h, dw, dh in zip(libraries, weights, components, double_w, double_h):
        error = np.linalg.norm(matrix[rows] - w[rows].astype(float) @ h)
        np.testing.assert_allclose(error, np.linalg.norm(matrix[rows] - dw[rows] @ dh), rtol=1e-3)


def test_solvers_model_the_frames_alike(small):
    sklearn = NMF(ncomp=3, solver="sklearn", max_iter=500).process(small)
    multiplicative = NMF(ncomp=3, solver="multiplicative", max_iter=500).process(small)
    spread = np.std(small.cube)
    assert np.std(sklearn.final) < 0.2 * spread and np.std(multiplicative.final) < 0.2 * spread
    assert get_algorithm("nmf") is NMF and get_algorithm("nmf-annular") is AnnularNMF


def test_inner_radius_masks_the_centre(small):
    result = NMF(ncomp=2, inner_radius=1.5).process(small)
    radius = np.hypot(*(np.mgrid[:25, :25] - 12))
    derotated_zero = derotate_cube(np.where(radius < 1.5 * small.fwhm, 0.0, 1.0)[None].repeat(12, 0), small.angles)
    assert np.all(result.residuals[derotated_zero == 0] == 0)
    with pytest.raises(ValueError, match="inner_radius: leaves no pixel in the frame, got 100 FWHM"):
        NMF(inner_radius=100.0).process(small)


# -- detection, reproducibility, errors --------------------------------------------------------


@pytest.mark.parametrize("algorithm", [NMF(), NMF(solver="multiplicative"), AnnularNMF(),
                                       AnnularNMF(solver="sklearn", ncomp=2)])
def test_nmf_finds_the_companion_and_nothing_without_it(algorithm):
    assert_detects_the_companion_only(algorithm)


@pytest.mark.parametrize("algorithm", [NMF(ncomp=3), NMF(ncomp=3, solver="multiplicative"),
                                       AnnularNMF(ncomp=2), AnnularNMF(ncomp=2, solver="sklearn", random_state=7)])
def test_same_seed_same_bytes(small, algorithm):
    first, second = algorithm.process(small), algorithm.process(small)
    assert first.residuals.tobytes() == second.residuals.tobytes()
    assert first.final.tobytes() == second.final.tobytes()


@pytest.mark.parametrize("algorithm, message", [
    (NMF(ncomp=0), r"ncomp: expected an integer from 1 to 12 \(the number of frames\), got 0"),
    (AnnularNMF(ncomp=-1), r"ncomp: expected an integer from 1 to 12 \(the number of frames\), got -1"),
    (NMF(ncomp=13), r"ncomp: expected an integer from 1 to 12 \(the number of frames\), got 13"),
    (NMF(negatives="abs"), "negatives: expected one of 'shift', 'clip', got 'abs'"),
    (AnnularNMF(solver="als"), "solver: expected one of 'sklearn', 'multiplicative', got 'als'"),
    (NMF(max_iter=0), "max_iter: expected an integer >= 1, got 0"),
    (AnnularNMF(tol=-1e-3), "tol: expected a number >= 0, got -0.001"),
    (NMF(random_state=-1), r"random_state: expected an integer from 0 to 4294967295 .*got -1"),
    (NMF(random_state=None), r"random_state: expected an integer from 0 to 4294967295 .*got None"),
    (AnnularNMF(delta=-1), "delta: expected a number >= 0, got -1"),
    (AnnularNMF(asize=0), "asize: expected a number > 0, got 0"),
    (AnnularNMF(inner_radius=100.0), "inner_radius: expected less than the frame's half-size"),
    (NMF(collapse="sum"), "collapse: expected one of 'median', 'mean', got 'sum'"),
    (NMF(negatives="frame"), "negatives: expected one of 'shift', 'clip', got 'frame'"),
    (AnnularNMF(negatives="abs"), "negatives: expected one of 'shift', 'clip', 'frame', got 'abs'"),
    (NMF(weights="refit"), "weights: expected one of 'fit', 'transform', got 'refit'"),
    (NMF(start="random"), "start: expected one of 'exact', 'randomized', got 'random'"),
    (AnnularNMF(precision="half"), "precision: expected one of 'double', 'single', got 'half'"),
    (AnnularNMF(convention="pynpoint"), "convention: expected one of 'exobench', 'vip', got 'pynpoint'"),
    (AnnularNMF(derotation="lanczos"), "derotation: expected one of .*got 'lanczos'"),
])
def test_bad_options_raise_naming_the_parameter(small, algorithm, message):
    with pytest.raises(ValueError, match=message):
        algorithm.process(small)


@pytest.mark.parametrize("algorithm", [NMF(), AnnularNMF()])
def test_4d_and_non_datasets_are_refused(algorithm, small):
    four_d = Dataset(np.stack([small.cube, small.cube]), small.angles, fwhm=4.0, wavelengths=[1.6, 1.7])
    with pytest.raises(ValueError, match=r"dataset: expected an ADI dataset with a 3D .*4D"):
        algorithm.process(four_d)
    with pytest.raises(TypeError, match="dataset: expected an exobench Dataset"):
        algorithm.process(small.cube)


@pytest.mark.parametrize("shape", [(40, 300), (300, 40), (12, 13)])
def test_randomized_svd_is_sklearn_s_from_the_gram_matrix(rng, shape):
    from sklearn.utils.extmath import randomized_svd

    from exobench.algorithms._nmf import _randomized_svd

    # a flat spectrum: 4 or 7 power iterations leave the weaker vectors far from the exact ones
    matrix = rng.random(shape) + 0.2 * rng.random((shape[0], 3)) @ rng.random((3, shape[1]))
    expected_u, expected_s, expected_v = randomized_svd(matrix, 5, random_state=3)
    u, s, v = _randomized_svd(matrix, matrix @ matrix.T, 5, 3)
    exact_v = np.linalg.svd(matrix, full_matrices=False)[2][:5]
    if min(shape) > 15:  # not the exact SVD (else the test below could not tell the two apart)
        assert np.abs(np.abs(np.sum(exact_v * expected_v, axis=1)) - 1).max() > 1e-6
    np.testing.assert_allclose(s, expected_s, rtol=1e-10)
    signs = np.sign(np.sum(u * expected_u, axis=0))  # the signs are free
    np.testing.assert_allclose(u * signs, expected_u, rtol=0, atol=1e-9)
    np.testing.assert_allclose(v * signs[:, None], expected_v, rtol=0, atol=1e-9)


def test_exact_start_is_sklearn_s_nndsvda_per_library(rng):
    from sklearn.decomposition._nmf import _initialize_nmf

    from exobench.algorithms._nmf import _nndsvda

    matrix = rng.random((15, 4)) @ rng.random((4, 60)) ** 2 + 0.05 * rng.random((15, 60))
    libraries = rng.random((4, 15)) > 0.3
    weights, components = _nndsvda(matrix, matrix @ matrix.T, libraries, 3)
    assert weights.shape == (4, 15, 3) and components.shape == (4, 3, 60)
    for rows, w, h in zip(libraries, weights, components):
        # scikit-learn's start from its randomised SVD, exact here to rounding (7 power iterations)
        expected_w, expected_h = _initialize_nmf(matrix[rows], 3, init="nndsvda", random_state=0)
        np.testing.assert_allclose(w[rows], expected_w, rtol=1e-7)
        np.testing.assert_allclose(h, expected_h, rtol=1e-7)
        assert np.all(w[~rows] == 0)


@pytest.mark.parametrize("ncomp", [1, 3, 6, 7])  # 7: above the subsets' limit, scipy's NNLS
def test_nonnegative_models_are_scipy_s_nnls(rng, ncomp):
    from exobench.algorithms._nmf import nonnegative_models

    components = rng.random((2, ncomp, 40))
    # frames with negative weights on some components: the constraints bind
    frames = rng.normal(size=(9, ncomp)) @ components[0] + 0.1 * rng.random((9, 40))
    library = rng.integers(0, 2, size=9)
    models = nonnegative_models(frames, components, library)
    bound = free = 0
    for frame, index, model in zip(frames, library, models):
        weights = scipy.optimize.nnls(components[index].T, frame)[0]
        np.testing.assert_allclose(model, weights @ components[index], rtol=0, atol=1e-10 * np.abs(frame).max())
        bound, free = bound + np.sum(weights == 0), free + np.sum(weights > 0)
    assert bound > 0 and free > 0  # constraints that bind, and weights that do not


def test_one_library_iterations_are_the_batched_ones(rng):
    # one library of every frame runs the one-pass kernel; two copies of it, the batched products
    matrix = rng.random((15, 4)) @ rng.random((4, 300)) ** 2 + 0.05 * rng.random((15, 300))
    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 1e-4)):
        weights, components, errors = multiplicative_factorisation(matrix, 4, max_iter=200, tol=3e-3, dtype=dtype,
                                                                   history=True)
        batch_w, batch_h, batch_errors = multiplicative_factorisation(
            matrix, 4, rows=np.ones((2, 15), dtype=bool), max_iter=200, tol=3e-3, dtype=dtype, history=True)
        assert len(errors[0]) == len(batch_errors[0]) < 201  # stopped by tol, at the same iteration
        np.testing.assert_allclose(errors[0], batch_errors[0], rtol=rtol)
        np.testing.assert_allclose(weights[0] @ components[0], batch_w[1] @ batch_h[1], rtol=rtol)


def test_expanded_errors_are_the_exact_ones_within_their_bound(rng):
    from exobench.algorithms._nmf import _expanded_errors, _exact_errors, _inner, _stacked

    matrix = (rng.random((15, 3)) @ rng.random((3, 200)) + 0.01 * rng.random((15, 200))).astype(np.float32)
    weights, components = multiplicative_factorisation(matrix.astype(float), 3, max_iter=50, tol=0,
                                                       dtype=np.float32)
    weights = np.ascontiguousarray(weights.transpose(0, 2, 1))
    rows = np.ones((1, 15), dtype=bool)
    norms = [float(np.sum(matrix.astype(float) ** 2))]
    cross = _inner(_stacked(weights, matrix), components)
    exact = _exact_errors(matrix, weights, components, rows)
    unit = np.finfo(np.float32).eps / 2
    expanded = _expanded_errors(matrix, norms, cross, weights, components, rows, np.array([np.inf]), unit)
    bound = 16 * unit * cross / exact
    assert 0 < abs(expanded - exact)[0] <= bound[0]  # the expansion, within its rounding bound
    # where that bound exceeds what is allowed, the error is formed in full
    np.testing.assert_array_equal(_expanded_errors(matrix, norms, cross, weights, components, rows, 1e-9, unit),
                                  exact)


@pytest.mark.parametrize("algorithm", [
    AnnularNMF(ncomp=2, delta=0.5, convention="vip", negatives="frame"),
    NMF(ncomp=3, solver="multiplicative", precision="single", start="randomized", weights="transform")])
def test_same_bytes_on_any_number_of_threads(small, algorithm, monkeypatch):
    import numba

    monkeypatch.setattr("exobench.algorithms._nmf._THREADED_SIZE", 0)  # the small frames' iterations threaded too
    before = numba.get_num_threads()
    try:
        results = []
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            results.append(algorithm.process(small).residuals)
    finally:
        numba.set_num_threads(before)
    assert all(r.tobytes() == results[0].tobytes() for r in results)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_dataset_is_left_as_it_was(small, dtype):
    # a float32 cube is copied to float64 (the copy shifted in place), a float64 one used as it is
    ds = small.replace(cube=small.cube.astype(dtype))
    before = ds.cube.copy()
    for algorithm in (NMF(ncomp=3, solver="multiplicative"), AnnularNMF(ncomp=2),
                      NMF(ncomp=3, solver="multiplicative", precision="single", weights="transform")):
        first, second = algorithm.process(ds), algorithm.process(ds)
        np.testing.assert_array_equal(ds.cube, before)
        assert first.residuals.tobytes() == second.residuals.tobytes()


def test_randomized_svd_of_a_nearly_rank_deficient_matrix_takes_scikit_learn_s_route(rng):
    from sklearn.utils.extmath import randomized_svd

    from exobench.algorithms._nmf import _projected_svd_from_gram, _randomized_svd

    # rank 4: the projected basis's Gram matrix is singular to rounding, which the QR route handles
    matrix = rng.random((30, 4)) @ rng.random((4, 500))
    gram = matrix @ matrix.T
    assert _projected_svd_from_gram(matrix, gram, np.linalg.qr(rng.normal(size=(30, 15)))[0], 5) is None
    expected_u, expected_s, expected_v = randomized_svd(matrix, 5, random_state=3)
    u, s, v = _randomized_svd(matrix, gram, 5, 3)
    np.testing.assert_allclose(s[:4], expected_s[:4], rtol=1e-10)
    assert s[4] <= 1e-10 * s[0]
    signs = np.sign(np.sum(u[:, :4] * expected_u[:, :4], axis=0))
    np.testing.assert_allclose(u[:, :4] * signs, expected_u[:, :4], rtol=0, atol=1e-9)
    np.testing.assert_allclose(v[:4] * signs[:, None], expected_v[:4], rtol=0, atol=1e-9)


@pytest.mark.parametrize("rows", [None, np.array([[1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1],
                                                   [0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0]], dtype=bool)])
def test_transform_solves_each_library_s_weights_again_from_its_components(positive, rows):
    # one library (the compiled iterations' own H X^T) and a batch (their products): against
    # multiplicative_weights on each library's frames and components
    matrix = positive.cube.reshape(positive.n_frames, -1)
    options = dict(rows=rows, max_iter=200, tol=1e-4)
    fit_weights, components = multiplicative_factorisation(matrix, 3, **options)
    weights, same_components = multiplicative_factorisation(matrix, 3, **options, transform=True)
    np.testing.assert_array_equal(same_components, components)
    assert not np.allclose(weights, fit_weights)
    for library, w, h in zip(np.ones((1, len(matrix)), bool) if rows is None else rows, weights, components):
        expected = multiplicative_weights(matrix[library], h, max_iter=200, tol=1e-4)
        np.testing.assert_allclose(w[library], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
        assert np.all(w[~library] == 0)


@pytest.mark.parametrize("source, dtype", [(np.float64, np.float64), (np.float64, np.float32),
                                           (np.float32, np.float32), (np.float32, np.float64)])
def test_working_copies_are_the_matrix_its_transpose_and_its_sums(rng, source, dtype):
    from exobench.algorithms._nmf import _working_copies

    matrix = rng.normal(size=(7, 203)).astype(source)
    frames, pixels_by_frames, double, sums = _working_copies(matrix, np.dtype(dtype))
    assert frames.dtype == dtype and pixels_by_frames.dtype == dtype and double.dtype == np.float64
    np.testing.assert_array_equal(frames, matrix.astype(dtype))
    np.testing.assert_array_equal(pixels_by_frames, matrix.T.astype(dtype))
    np.testing.assert_array_equal(double, matrix.astype(np.float64))
    np.testing.assert_allclose(sums, matrix.astype(np.float64).sum(axis=1), rtol=1e-13, atol=1e-12)
    assert (frames is matrix) == (source == dtype) and (double is matrix) == (source == np.float64)


def test_single_precision_nmf_keeps_a_float32_residual_cube_and_a_float64_final_frame(small):
    from exobench.algorithms.collapse import median_frame

    options = dict(ncomp=3, solver="multiplicative", weights="transform", start="randomized")
    single = NMF(**options, precision="single").process(small)
    double = NMF(**options, precision="double").process(small)
    assert single.residuals.dtype == np.float32 and single.final.dtype == np.float64
    np.testing.assert_array_equal(single.final, median_frame(single.residuals.astype(np.float64)))
    # the same algorithm to single-precision rounding (the updates stop after the same iterations)
    scale = np.abs(small.cube).max()
    np.testing.assert_allclose(single.residuals, double.residuals, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(single.final, double.final, rtol=0, atol=1e-4 * scale)
