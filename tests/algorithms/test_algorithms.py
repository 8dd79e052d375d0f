"""PSF-subtraction algorithms: against independent numpy references, on the real NACO cube, errors."""

import dataclasses
import time

import numpy as np
import pytest

from exobench.algorithms import (
    PCA,
    Algorithm,
    AnnularMedianADI,
    AnnularPCA,
    MedianADI,
    Result,
    available_algorithms,
    final_pixels,
    get_algorithm,
)
from exobench.data import Dataset
from exobench.examples import example_dataset
from exobench.geometry import annulus_mask, derotate_cube, polar_grid

#: What the NACO tests measured (S/N at each injected separation, residual noise, run time);
#: printed at the end of the module (``pytest -s``) so that reports can quote them.
MEASURED = {}


@pytest.fixture(scope="module")
def small():
    """A synthetic float64 ADI dataset: 16 frames of 31 x 31."""
    ds = example_dataset(n_frames=16, size=31, seed=3)
    return ds.replace(cube=ds.cube.astype(np.float64))


def _numpy_pca_residuals(matrix, k):
    """Reference: numpy SVD of the mean-centred matrix, minus the projection on k components."""
    centred = matrix - matrix.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    v = vt[:k]
    return centred - centred @ v.T @ v


def _close(actual, expected, scale):
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * scale)


# -- full-frame PCA ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4, 15])
@pytest.mark.parametrize("collapse", ["median", "mean"])
def test_pca_equals_numpy_svd_reference(small, k, collapse):
    t = small.n_frames
    reference = _numpy_pca_residuals(small.cube.reshape(t, -1), k).reshape(small.cube.shape)
    reference = derotate_cube(reference, small.angles)
    final = np.median(reference, axis=0) if collapse == "median" else reference.mean(axis=0)
    result = PCA(ncomp=k, collapse=collapse).process(small)
    scale = np.abs(small.cube).max()
    _close(result.residuals, reference, scale)
    _close(result.final, final, scale)
    assert result.residuals.dtype == np.float64 and result.final.shape == small.frame_shape


def test_pca_with_more_frames_than_pixels_uses_the_same_definition(small):
    # 16 frames, inner radius leaving fewer pixels than frames: the SVD path
    cube = small.cube[:, 13:18, 13:18]
    ds = small.replace(cube=cube)
    radius, _ = polar_grid(ds.frame_shape)
    selected = radius.ravel() >= 2.1
    assert selected.sum() < ds.n_frames
    matrix = cube.reshape(ds.n_frames, -1)[:, selected]
    reference = np.zeros((ds.n_frames, cube[0].size))
    reference[:, selected] = _numpy_pca_residuals(matrix, 3)
    reference = derotate_cube(reference.reshape(cube.shape), ds.angles)
    result = PCA(ncomp=3, inner_radius=2.1 / ds.fwhm).process(ds)
    _close(result.residuals, reference, np.abs(cube).max())


def test_pca_inner_radius_masks_the_centre(small):
    inner = 1.0
    result = PCA(ncomp=2, inner_radius=inner, collapse="mean").process(small)
    t = small.n_frames
    radius, _ = polar_grid(small.frame_shape)
    selected = radius.ravel() >= inner * small.fwhm
    reference = np.zeros((t, selected.size))
    reference[:, selected] = _numpy_pca_residuals(small.cube.reshape(t, -1)[:, selected], 2)
    reference = derotate_cube(reference.reshape(small.cube.shape), small.angles)
    _close(result.residuals, reference, np.abs(small.cube).max())


def test_explained_variance_removes_the_fewest_components_reaching_it(small):
    t = small.n_frames
    centred = small.cube.reshape(t, -1) - small.cube.reshape(t, -1).mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    ratio = np.cumsum(singular**2) / np.sum(singular**2)
    for target in (0.5, 0.9, 0.99):
        k = int(np.argmax(ratio >= target)) + 1
        by_variance = PCA(explained_variance=target).process(small).final
        np.testing.assert_allclose(by_variance, PCA(ncomp=k).process(small).final, rtol=0, atol=1e-12)


def test_pca_defaults_to_one_component(small):
    np.testing.assert_array_equal(PCA().process(small).final, PCA(ncomp=1).process(small).final)


# -- annular PCA ------------------------------------------------------------------------------


def test_annular_pca_delta_zero_one_annulus_equals_pca_on_that_annulus(small):
    k, inner = 3, 0.5
    result = AnnularPCA(ncomp=k, delta=0.0, asize=100.0, inner_radius=inner).process(small)
    t = small.n_frames
    # one annulus: from inner * fwhm to the largest inscribed circle (15 px + half a pixel)
    mask = annulus_mask(small.frame_shape, inner * small.fwhm, 15.5).ravel()
    reference = np.zeros((t, mask.size))
    reference[:, mask] = _numpy_pca_residuals(small.cube.reshape(t, -1)[:, mask], k)
    reference = derotate_cube(reference.reshape(small.cube.shape), small.angles)
    _close(result.residuals, reference, np.abs(small.cube).max())


def test_annular_pca_delta_zero_one_annulus_equals_the_pca_class_on_that_annulus(small):
    # pixels outside the annulus set to 0: they add nothing to full-frame PCA's components
    k, inner = 4, 0.5
    mask = annulus_mask(small.frame_shape, inner * small.fwhm, 15.5)
    ds = small.replace(cube=small.cube * mask)
    annular = AnnularPCA(ncomp=k, delta=0.0, asize=100.0, inner_radius=inner, collapse="mean").process(ds)
    full = PCA(ncomp=k, collapse="mean").process(ds)
    _close(annular.residuals, full.residuals, np.abs(small.cube).max())
    _close(annular.final, full.final, np.abs(small.cube).max())


def _brute_force_annular(ds, *, width, inner, delta, ncomp=None, median=False, n_references=None):
    """Per annulus and frame, a numpy SVD (or median) of that frame's own library."""
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1)
    out = np.zeros_like(flat)
    fwhm = ds.fwhm
    edge = ds.frame_shape[0] // 2 + 0.5
    bounds = list(np.arange(inner * fwhm, edge, width * fwhm))
    bounds = bounds[: max(2, int(np.floor((edge - inner * fwhm) / (width * fwhm))) + 1)]
    bounds[-1] = edge
    minimum = ncomp if not median else (n_references or 2)
    for r_in, r_out in zip(bounds[:-1], bounds[1:]):
        mask = annulus_mask(ds.frame_shape, r_in, r_out).ravel()
        values = flat[:, mask]
        centred = values - values.mean(axis=0)
        threshold = np.degrees(delta * fwhm / (0.5 * (r_in + r_out)))
        for i in range(t):
            distance = np.abs(ds.angles - ds.angles[i])
            limit = min(threshold, np.sort(distance)[::-1][minimum - 1])
            library = distance >= limit
            if n_references is not None:
                order = np.argsort(np.where(library, distance, np.inf), kind="stable")[:n_references]
                library = np.isin(np.arange(t), order)
            if median:
                out[i, mask] = values[i] - np.median(values[library], axis=0)
            else:
                _, _, vt = np.linalg.svd(centred[library], full_matrices=False)
                v = vt[:ncomp]
                out[i, mask] = centred[i] - centred[i] @ v.T @ v
    return derotate_cube(out.reshape(ds.cube.shape), ds.angles)


@pytest.mark.parametrize("delta, ncomp", [(0.5, 3), (1.0, 3), (3.0, 3), (1.0, 1), (1.0, 8)])
def test_annular_pca_equals_per_frame_library_svd(small, delta, ncomp):
    # ncomp 1 and 3 take the per-frame subset eigensolver (4 ncomp <= library size), 8 the batched one
    expected = _brute_force_annular(small, width=1.0, inner=0.5, delta=delta, ncomp=ncomp)
    result = AnnularPCA(ncomp=ncomp, asize=1.0, inner_radius=0.5, delta=delta).process(small)
    _close(result.residuals, expected, np.abs(small.cube).max())


def test_annular_median_adi_equals_per_frame_median(small):
    expected = _brute_force_annular(small, width=1.5, inner=0.0, delta=1.0, median=True)
    result = AnnularMedianADI(asize=1.5, delta=1.0).process(small)
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-12 * np.abs(small.cube).max())


def test_annular_median_adi_with_n_references_uses_the_closest_qualifying_frames(small):
    expected = _brute_force_annular(small, width=1.0, inner=0.5, delta=1.0, median=True, n_references=4)
    result = AnnularMedianADI(asize=1.0, inner_radius=0.5, n_references=4).process(small)
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-12 * np.abs(small.cube).max())


def test_median_adi_subtracts_the_median_frame(small):
    expected = derotate_cube(small.cube - np.median(small.cube, axis=0), small.angles)
    result = MedianADI(collapse="mean").process(small)
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.final, expected.mean(axis=0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("derotation", ["bilinear", "fft"])
@pytest.mark.parametrize("collapse", ["median", "mean"])
@pytest.mark.parametrize("make", [lambda **kw: PCA(ncomp=2, **kw), lambda **kw: AnnularPCA(ncomp=2, **kw)])
def test_final_pixels_computes_those_pixels_of_the_final_frame(small, make, collapse, derotation):
    algorithm = make(collapse=collapse, derotation=derotation)
    whole = algorithm.process(small)
    where = np.zeros(small.frame_shape, dtype=bool)
    where[4:7, 10:20] = True
    where[20, 3] = True
    with final_pixels(where):
        part = algorithm.process(small)
    if derotation == "fft":  # 4 rows: the Fourier rotation's last inverse transform is summed at them alone
        scale = np.abs(whole.final).max()
        np.testing.assert_allclose(part.final[where] / scale, whole.final[where] / scale, rtol=0, atol=1e-13)
    else:
        np.testing.assert_array_equal(part.final[where], whole.final[where])
    assert (part.final[~where] == 0.0).all() and (part.residuals[:, ~where] == 0.0).all()
    with final_pixels(np.zeros(small.frame_shape, dtype=bool)):
        assert (algorithm.process(small).final == 0.0).all()
    with final_pixels(np.ones((5, 5), dtype=bool)):  # another frame shape: the whole frame
        np.testing.assert_array_equal(algorithm.process(small).final, whole.final)


@pytest.mark.parametrize("where", [np.ones((5, 5)), np.ones(5, dtype=bool)])
def test_final_pixels_wants_a_boolean_frame(where):
    with pytest.raises(ValueError, match=r"where: expected a 2D boolean array \(the frames' y, x\), got"):
        with final_pixels(where):
            pass


def test_derotation_option_reaches_derotate_cube(small):
    result = MedianADI(derotation="bicubic").process(small)
    expected = derotate_cube(small.cube - np.median(small.cube, axis=0), small.angles, method="bicubic")
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-12)


# -- the real NACO cube -------------------------------------------------------------------------

SEPARATIONS = (12.0, 20.0, 30.0)
ALGORITHMS = {
    "median": MedianADI(),
    "median-annular": AnnularMedianADI(),
    "median-annular-4refs": AnnularMedianADI(n_references=4),
    "pca": PCA(ncomp=5),
    "pca-annular": AnnularPCA(ncomp=5),
}


@pytest.fixture(scope="module")
def naco_runs(naco):
    """Every algorithm on the NACO cube, without and with 3 companions of flux 150 at 12, 20, 30 px."""
    from exobench.detmap import snr
    from exobench.inject import inject_companions

    injection = inject_companions(naco, separations=SEPARATIONS, thetas=[0.0, 120.0, 240.0],
                                  fluxes=[150.0] * 3)
    ring = annulus_mask(naco.frame_shape, 10, 30)
    raw = derotate_cube(np.asarray(naco.cube, dtype=np.float64), naco.angles).mean(axis=0)
    MEASURED["raw_noise_10_30px"] = float(raw[ring].std())
    MEASURED["raw_frame_noise_10_30px"] = float(np.asarray(naco.cube[0], dtype=float)[ring].std())
    for name, algorithm in ALGORITHMS.items():
        start = time.perf_counter()
        empty = algorithm.process(naco)
        seconds = time.perf_counter() - start
        with_companions = algorithm.process(injection.dataset)
        MEASURED[name] = {
            "algorithm": repr(algorithm),
            "seconds": round(seconds, 4),
            "noise_10_30px": float(empty.final[ring].std()),
            "snr": {sep: round(snr(with_companions.final, pos, naco.fwhm).snr, 2)
                    for sep, pos in zip(SEPARATIONS, injection.positions)},
        }
    yield MEASURED
    print("\nNACO measurements:", MEASURED)


def test_naco_annular_pca_detects_companions_at_20_and_30_px(naco_runs):
    assert naco_runs["pca-annular"]["snr"][20.0] > 3
    assert naco_runs["pca-annular"]["snr"][30.0] > 3


def test_naco_pca_lowers_the_noise_5_times_below_the_derotated_raw_cube(naco_runs):
    # raw noise: std in the 10-30 px annulus of the mean of the derotated raw cube
    assert naco_runs["pca"]["noise_10_30px"] * 5 <= naco_runs["raw_noise_10_30px"]


def test_naco_median_adi_leaves_more_noise_than_pca(naco_runs):
    assert naco_runs["median"]["noise_10_30px"] > naco_runs["pca"]["noise_10_30px"]
    assert naco_runs["pca-annular"]["noise_10_30px"] < naco_runs["median"]["noise_10_30px"]


# -- registry, parameters, results -------------------------------------------------------------


def test_registry_finds_every_algorithm_by_name():
    assert available_algorithms() == ["andromeda", "asdi-pca", "fmmf", "llsg", "loci", "median", "median-annular",
                                      "nmf", "nmf-annular", "paco", "pairwise", "pca", "pca-annular", "per-channel",
                                      "sdi-pca"]
    assert get_algorithm("pca") is PCA and get_algorithm("pca-annular") is AnnularPCA
    assert get_algorithm("median") is MedianADI and get_algorithm("median-annular") is AnnularMedianADI
    with pytest.raises(ValueError, match="name: expected an algorithm among .*'pca'.*got 'nope'"):
        get_algorithm("nope")


def test_a_subclass_registers_itself_and_names_are_unique():
    class Identity(Algorithm, name="test-identity"):
        def __init__(self, *, collapse="mean"):
            self.collapse = collapse

    try:
        assert get_algorithm("test-identity") is Identity and Identity.name == "test-identity"
        with pytest.raises(ValueError, match="name: an algorithm named 'test-identity'"):
            class Other(Algorithm, name="test-identity"):
                pass
    finally:
        from exobench.algorithms import base

        base._REGISTRY.unregister("test-identity")


def test_init_only_stores_parameters():
    algorithm = PCA(ncomp=-3, collapse="nonsense")  # no validation before process()
    assert algorithm.get_params() == {"ncomp": -3, "explained_variance": None, "inner_radius": None,
                                      "delta": None, "exclusion_radius": None, "batch_size": None,
                                      "collapse": "nonsense", "derotation": "bilinear"}
    assert repr(AnnularPCA(ncomp=4, delta=0.5)) == "AnnularPCA(ncomp=4, delta=0.5)"
    with pytest.raises(TypeError):
        PCA(5)  # keyword-only


def test_result_is_frozen(small):
    result = MedianADI().process(small)
    assert isinstance(result, Result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.final = None


# -- errors name the parameter -----------------------------------------------------------------


def _four_d():
    rng = np.random.default_rng(0)
    return Dataset(rng.normal(size=(2, 6, 21, 21)), np.linspace(0, 30, 6), fwhm=3.0, wavelengths=[1.6, 1.7])


@pytest.mark.parametrize("algorithm", [MedianADI(), AnnularMedianADI(), PCA(), AnnularPCA()])
def test_4d_dataset_is_refused_naming_dataset(algorithm):
    with pytest.raises(ValueError, match=r"dataset: expected an ADI dataset with a 3D .*4D"):
        algorithm.process(_four_d())
    with pytest.raises(TypeError, match="dataset: expected an exobench Dataset"):
        algorithm.process(np.zeros((5, 21, 21)))


@pytest.mark.parametrize(
    "algorithm, message",
    [
        (PCA(ncomp=3, explained_variance=0.9), "ncomp, explained_variance: expected at most one of them, got both"),
        (PCA(ncomp=17), r"ncomp: expected an integer from 1 to 16 \(the number of frames\), got 17"),
        (AnnularPCA(ncomp=17), r"ncomp: expected an integer from 1 to 16 \(the number of frames\), got 17"),
        (PCA(ncomp=0), r"ncomp: expected an integer from 1 to 16 \(the number of frames\), got 0"),
        (PCA(ncomp=2.5), r"ncomp: expected an integer from 1 to 16 \(the number of frames\), got 2.5"),
        (PCA(explained_variance=1.5), r"explained_variance: expected a number in \(0, 1\], got 1.5"),
        (PCA(explained_variance="0.5"), r"explained_variance: expected a number in \(0, 1\], got '0.5'"),
        (PCA(batch_size=0), r"batch_size: expected an integer >= 1 \(pixels per block\) or None, got 0"),
        (PCA(collapse="sum"), "collapse: expected one of 'median', 'mean', got 'sum'"),
        (MedianADI(collapse="max"), "collapse: expected one of 'median', 'mean', got 'max'"),
        (AnnularPCA(derotation="lanczos"), "derotation: expected one of .*got 'lanczos'"),
        (AnnularPCA(asize=0), "asize: expected a number > 0, got 0"),
        (AnnularPCA(delta=-1), "delta: expected a number >= 0, got -1"),
        (AnnularMedianADI(inner_radius=100.0), "inner_radius: expected less than the frame's half-size"),
        (PCA(inner_radius=100.0), "inner_radius: leaves no pixel in the frame"),
        (AnnularMedianADI(n_references=0),
         r"n_references: expected an integer from 1 to 16 \(the number of frames\) or None, got 0"),
    ],
)
def test_bad_options_raise_naming_the_parameter(small, algorithm, message):
    with pytest.raises(ValueError, match=message):
        algorithm.process(small)
