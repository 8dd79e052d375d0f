"""Pairwise frame differencing: against a frame-by-frame loop, on an injected companion, reproducibility, errors."""

import numpy as np
import pytest

from exobench.algorithms import PairwiseADI, get_algorithm
from exobench.algorithms.annuli import annuli
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube

from .detection import assert_detects_the_companion_only


@pytest.fixture(scope="module")
def tiny():
    """A synthetic float64 ADI dataset: 10 frames of 21 x 21 (FWHM 4 px, 70 degrees of rotation)."""
    ds = example_dataset(n_frames=10, size=21, seed=5)
    return ds.replace(cube=ds.cube.astype(np.float64))


def _loop_pairwise(ds, *, n_pairs, asize, inner, delta):
    """Frame by frame and candidate by candidate: the sum of squared differences, the best ``n_pairs``."""
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1)
    out = np.zeros_like(flat)
    masks, radii = annuli(ds.cube.shape, inner_radius=inner * ds.fwhm, width=asize * ds.fwhm)
    for mask, radius in zip(masks, radii):
        pixels = mask.ravel()
        threshold = np.degrees(delta * ds.fwhm / radius)
        for i in range(t):
            distance = np.abs(ds.angles - ds.angles[i])
            # lowered to the n_pairs-th largest rotation when fewer frames qualify
            limit = min(threshold, np.sort(distance)[::-1][n_pairs - 1])
            scores = []
            for j in range(t):
                if j != i and distance[j] >= limit:
                    scores.append((float(np.sum((flat[i, pixels] - flat[j, pixels]) ** 2)), j))
            best = [j for _, j in sorted(scores)[:n_pairs]]
            out[i, pixels] = flat[i, pixels] - np.median(flat[best][:, pixels], axis=0)
    return derotate_cube(out.reshape(ds.cube.shape), ds.angles)


@pytest.mark.parametrize("n_pairs, asize, inner, delta", [
    (1, 1.0, 0.0, 1.0),
    (3, 1.0, 0.0, 1.0),
    (2, 0.7, 0.3, 0.5),
    (1, 1.5, 0.0, 0.0),
    (9, 1.0, 0.0, 2.0),
])
def test_pairwise_equals_the_frame_by_frame_loop(tiny, n_pairs, asize, inner, delta):
    expected = _loop_pairwise(tiny, n_pairs=n_pairs, asize=asize, inner=inner, delta=delta)
    result = PairwiseADI(n_pairs=n_pairs, asize=asize, inner_radius=inner, delta=delta, collapse="mean").process(tiny)
    scale = np.abs(tiny.cube).max()
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(result.final, expected.mean(axis=0), rtol=0, atol=1e-12 * scale)


def test_one_pair_subtracts_another_frame_of_the_cube(tiny):
    # every residual pixel of an annulus is the difference of two frames of the cube, never 0 for all
    result = PairwiseADI(delta=0.0, derotation="bilinear").process(tiny)
    assert np.abs(result.residuals).max() > 0
    assert get_algorithm("pairwise") is PairwiseADI and PairwiseADI.name == "pairwise"


def test_pairwise_finds_the_companion_and_nothing_without_it():
    assert_detects_the_companion_only(PairwiseADI())
    assert_detects_the_companion_only(PairwiseADI(n_pairs=3, delta=0.5))


def test_pairwise_is_reproducible(tiny):
    first = PairwiseADI(n_pairs=2).process(tiny)
    second = PairwiseADI(n_pairs=2).process(tiny)
    assert first.residuals.tobytes() == second.residuals.tobytes()
    assert first.final.tobytes() == second.final.tobytes()


@pytest.mark.parametrize("algorithm, message", [
    (PairwiseADI(n_pairs=0), r"n_pairs: expected an integer from 1 to 9 \(the number of frames minus one\), got 0"),
    (PairwiseADI(n_pairs=10), r"n_pairs: expected an integer from 1 to 9 \(the number of frames minus one\), got 10"),
    (PairwiseADI(n_pairs=1.5), r"n_pairs: expected an integer from 1 to 9 .*got 1.5"),
    (PairwiseADI(delta=-1), "delta: expected a number >= 0, got -1"),
    (PairwiseADI(asize=0), "asize: expected a number > 0, got 0"),
    (PairwiseADI(inner_radius=100.0), "inner_radius: expected less than the frame's half-size"),
    (PairwiseADI(collapse="sum"), "collapse: expected one of 'median', 'mean', got 'sum'"),
    (PairwiseADI(derotation="lanczos"), "derotation: expected one of .*got 'lanczos'"),
])
def test_bad_options_raise_naming_the_parameter(tiny, algorithm, message):
    with pytest.raises(ValueError, match=message):
        algorithm.process(tiny)


def test_one_frame_and_4d_cubes_are_refused(tiny):
    with pytest.raises(ValueError, match="dataset: expected at least 2 frames for pairwise differencing, got 1"):
        PairwiseADI().process(tiny.replace(cube=tiny.cube[:1], angles=tiny.angles[:1]))
    with pytest.raises(TypeError, match="dataset: expected an exobench Dataset"):
        PairwiseADI().process(tiny.cube)
