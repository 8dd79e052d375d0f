"""Annular PCA's projections (what flux calibration reuses) and its explained-variance mode."""

import numpy as np
import pytest

from exobench.algorithms import AnnularPCA
from exobench.algorithms.annuli import annuli
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube


@pytest.fixture(scope="module")
def dataset():
    return example_dataset(n_frames=16, size=31)


def test_projections_reproduce_process(dataset):
    algorithm = AnnularPCA(ncomp=2, delta=0.5, collapse="mean")
    residuals = algorithm.projections(dataset).subtract(dataset.cube)
    expected = algorithm.process(dataset)
    np.testing.assert_allclose(derotate_cube(residuals, dataset.angles), expected.residuals, atol=1e-12)
    np.testing.assert_allclose(derotate_cube(residuals, dataset.angles).mean(axis=0), expected.final, atol=1e-12)


def test_projections_are_linear_in_the_cube(dataset):
    projections = AnnularPCA(ncomp=2, delta=0.5).projections(dataset)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2,) + dataset.cube.shape)
    np.testing.assert_allclose(projections.subtract(a + 2.5 * b),
                               projections.subtract(a) + 2.5 * projections.subtract(b), atol=1e-10)
    with pytest.raises(ValueError, match=r"cube: expected shape \(16, 31, 31\)"):
        projections.subtract(a[:3])


def test_explained_variance_picks_the_components_count(dataset):
    """With every frame in every library (delta = 0) and one annulus, a level just
    under the cumulative fraction of 3 components removes exactly 3 components."""
    fwhm = float(dataset.fwhm)
    masks, _ = annuli(dataset.cube.shape, inner_radius=0.0, width=100 * fwhm)
    pixels = np.flatnonzero(masks[0].ravel())
    matrix = np.asarray(dataset.cube, dtype=float).reshape(16, -1)[:, pixels]
    matrix = matrix - matrix.mean(axis=0)
    values = np.linalg.svd(matrix, compute_uv=False) ** 2
    level = np.cumsum(values)[2] / values.sum() - 1e-9
    by_level = AnnularPCA(explained_variance=level, asize=100, delta=0.0).process(dataset).final
    by_count = AnnularPCA(ncomp=3, asize=100, delta=0.0).process(dataset).final
    np.testing.assert_allclose(by_level, by_count, atol=1e-9)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, True, "0.9"])
def test_explained_variance_is_validated(dataset, level):
    with pytest.raises(ValueError, match=r"explained_variance: expected a number in \(0, 1\) or None"):
        AnnularPCA(explained_variance=level).process(dataset)


def test_projections_reused_from_a_previous_cube_are_exact(dataset):
    """Changing the pixels of one region: annuli it does not touch keep the previous
    projections, and the result equals a fresh fit."""
    algorithm = AnnularPCA(delta=0.5)
    before = algorithm.projections_by_level(dataset, [0.9, 0.99])
    changed = np.array(dataset.cube, dtype=float)
    changed[:, 15, 24] += 50.0  # one pixel 9 px from the centre, in every frame
    after = dataset.replace(cube=changed)
    reused = algorithm.projections_by_level(after, [0.9, 0.99], previous=(dataset.cube, before))
    fresh = algorithm.projections_by_level(after, [0.9, 0.99])
    for level in (0.9, 0.99):
        assert sum(w is v for w, v in zip(reused[level].weights, before[level].weights)) >= 2
        for w, v in zip(reused[level].weights, fresh[level].weights):
            np.testing.assert_array_equal(w, v)



def test_projections_of_some_annuli_equal_those_of_all(dataset):
    """``annuli=`` learns only those annuli (the others get none and zero residuals),
    with the same numbers as learning them all; threads do not change them."""
    algorithm = AnnularPCA(delta=0.5)
    every = algorithm.projections_by_level(dataset, [0.9, 0.99])
    pixels = algorithm.annulus_pixels(dataset)
    assert len(pixels) == len(every[0.9].weights) >= 3
    some = algorithm.projections_by_level(dataset, [0.9, 0.99], annuli=[0, 2])
    for level in (0.9, 0.99):
        np.testing.assert_array_equal(some[level].weights[0], every[level].weights[0])
        np.testing.assert_array_equal(some[level].weights[2], every[level].weights[2])
        assert some[level].weights[1] is None
        residuals = some[level].subtract(dataset.cube).reshape(dataset.cube.shape[0], -1)
        assert not residuals[:, pixels[1]].any() and residuals[:, pixels[0]].any()
        np.testing.assert_array_equal(residuals[:, pixels[2]],
                                      every[level].subtract(dataset.cube).reshape(residuals.shape)[:, pixels[2]])


def _sparse_cube(dataset):
    """A companions-only-like cube: a few lit pixels, the rest exactly 0."""
    cube = np.zeros(dataset.cube.shape)
    cube[:, 5:9, 20:24] = np.random.default_rng(1).normal(size=(dataset.cube.shape[0], 4, 4))
    return cube


def test_subtract_each_into_buffers_writes_every_pixel_of_the_annuli_computed(dataset):
    from exobench.algorithms.pca_annular import subtract_each

    by_level = AnnularPCA(delta=0.5).projections_by_level(dataset, [0.9, 0.99])
    projections = [by_level[0.9], by_level[0.99]]
    chosen = [0, 2]
    for cube in (np.asarray(dataset.cube, dtype=float), _sparse_cube(dataset)):
        fresh = subtract_each(projections, cube, annuli=chosen)
        buffers = [np.full(cube.shape, 5.0) for _ in projections]  # buffers holding an older result
        assert subtract_each(projections, cube, annuli=chosen, out=buffers) == buffers
        inside = np.zeros(cube.shape[1:], dtype=bool).ravel()
        inside[np.concatenate([projections[0].pixels[i] for i in chosen])] = True
        inside = inside.reshape(cube.shape[1:])
        for got, expected in zip(buffers, fresh):
            np.testing.assert_array_equal(got[:, inside], expected[:, inside])  # dark pixels: 0 again
            assert (got[:, ~inside] == 5.0).all()  # the other annuli: untouched


@pytest.mark.parametrize("convention", ["exobench", "vip"])  # vip: overlapping annuli, the later wins
def test_subtract_each_gives_the_same_bytes_on_one_thread_or_several(dataset, monkeypatch, convention):
    import exobench.algorithms.pca_annular as pca

    algorithm = AnnularPCA(delta=0.5, convention=convention, asize=0.7)
    projections = list(algorithm.projections_by_level(dataset, [0.9, 0.95]).values())
    results = [pca.subtract_each(projections, dataset.cube)]  # one thread by default
    for threads in (2, 3):
        results.append(pca.subtract_each(projections, dataset.cube, threads=threads))
    monkeypatch.setattr(pca, "kernel_threads", lambda: 2)
    results.append(pca.subtract_each(projections, dataset.cube, threads=None))  # numba's count
    for first, *others in zip(*results):
        for other in others:
            np.testing.assert_array_equal(first, other)


@pytest.mark.parametrize("out, message", [
    ([np.zeros((16, 31, 31))], r"out: expected 2 arrays \(one per projection\), got 1"),
    ([np.zeros((16, 31, 30))] * 2, r"out: expected writeable C-contiguous float64 arrays of shape \(16, 31, 31\), "
                                   r"got float64 of shape \(16, 31, 30\)"),
    ([np.zeros((16, 31, 31), np.float32)] * 2, r"got float32 of shape \(16, 31, 31\)"),
])
def test_subtract_each_checks_its_buffers(dataset, out, message):
    from exobench.algorithms.pca_annular import subtract_each

    projections = list(AnnularPCA(delta=0.5).projections_by_level(dataset, [0.9, 0.95]).values())
    with pytest.raises(ValueError, match=message):
        subtract_each(projections, dataset.cube, out=out)
