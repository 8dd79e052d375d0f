"""LLSG: against a per-segment numpy SVD reference, on the real NACO cube, reproducibility, errors."""

import time

import numpy as np
import pytest

from exobench.algorithms import LLSG, get_algorithm
from exobench.examples import example_dataset
from exobench.geometry import annulus_mask, derotate_cube, polar_grid

#: What the NACO test measured (S/N at each separation, run time); printed with ``pytest -s``.
MEASURED = {}


@pytest.fixture(scope="module")
def small():
    """A synthetic float64 ADI dataset: 16 frames of 31 x 31 (FWHM 4 px)."""
    ds = example_dataset(n_frames=16, size=31, seed=3)
    return ds.replace(cube=ds.cube.astype(np.float64))


def _reference_llsg(ds, *, rank, thresh, max_iter, mode, asize, n_segments, inner):
    """GoDec written out per segment: a numpy SVD, a MAD threshold, one segment at a time."""
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1)
    out = np.zeros_like(flat)
    fwhm = ds.fwhm
    edge = ds.frame_shape[0] // 2 + 0.5
    width = asize * fwhm
    count = max(1, int(np.floor((edge - inner * fwhm) / width)))
    bounds = inner * fwhm + width * np.arange(count + 1)
    bounds[-1] = edge
    _, theta = polar_grid(ds.frame_shape)
    for r_in, r_out in zip(bounds[:-1], bounds[1:]):
        ring = annulus_mask(ds.frame_shape, r_in, r_out)
        for k in range(n_segments):
            lo, hi = 360.0 * k / n_segments, 360.0 * (k + 1) / n_segments
            mask = (ring & (theta >= lo) & (theta < hi)).ravel()
            if not mask.any():
                continue
            m = flat[:, mask]
            s = np.zeros_like(m)
            for _ in range(max_iter):
                u, sv, vt = np.linalg.svd(m - s, full_matrices=False)
                low = (u[:, :rank] * sv[:rank]) @ vt[:rank]
                r = m - low
                lam = thresh * 1.4826 * np.median(np.abs(r - np.median(r)))
                if mode == "soft":
                    s = np.sign(r) * np.clip(np.abs(r) - lam, 0, None)
                else:
                    s = np.where(np.abs(r) > lam, r, 0.0)
            out[:, mask] = s
    return derotate_cube(out.reshape(ds.cube.shape), ds.angles)


@pytest.mark.parametrize("options", [
    dict(rank=3, thresh=1.0, max_iter=5, mode="soft", asize=2.0, n_segments=4, inner=0.0),
    dict(rank=1, thresh=0.5, max_iter=3, mode="hard", asize=1.5, n_segments=3, inner=0.5),
    dict(rank=6, thresh=0.0, max_iter=1, mode="soft", asize=2.0, n_segments=1, inner=1.0),
])
def test_llsg_equals_per_segment_svd_reference(small, options):
    expected = _reference_llsg(small, **options)
    algorithm = LLSG(rank=options["rank"], thresh=options["thresh"], max_iter=options["max_iter"],
                     thresh_mode=options["mode"], asize=options["asize"], n_segments=options["n_segments"],
                     inner_radius=options["inner"], collapse="mean")
    result = algorithm.process(small)
    # the Gram-matrix eigenvectors square the condition number: agreement to 1e-6 of the data's scale
    scale = np.abs(small.cube).max()
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(result.final, expected.mean(axis=0), rtol=0, atol=1e-6 * scale)


def test_thresh_zero_one_iteration_is_the_rank_k_residual_and_a_huge_threshold_leaves_nothing(small):
    # one segment covering the frame: S = M - rank-k approximation of M
    full = LLSG(rank=2, thresh=0.0, max_iter=1, asize=100.0, n_segments=1).process(small)
    t = small.n_frames
    mask = annulus_mask(small.frame_shape, 0.0, 15.5).ravel()
    m = small.cube.reshape(t, -1)[:, mask]
    u, sv, vt = np.linalg.svd(m, full_matrices=False)
    expected = np.zeros((t, mask.size))
    expected[:, mask] = m - (u[:, :2] * sv[:2]) @ vt[:2]
    expected = derotate_cube(expected.reshape(small.cube.shape), small.angles)
    np.testing.assert_allclose(full.residuals, expected, rtol=0, atol=1e-8 * np.abs(small.cube).max())
    empty = LLSG(rank=2, thresh=1e6).process(small)
    assert not empty.residuals.any() and not empty.final.any()


def test_llsg_is_reproducible_and_registered(small):
    first = LLSG(rank=4).process(small)
    second = LLSG(rank=4).process(small)
    assert first.residuals.tobytes() == second.residuals.tobytes()
    assert first.final.tobytes() == second.final.tobytes()
    assert get_algorithm("llsg") is LLSG and LLSG.name == "llsg"
    assert repr(LLSG(rank=5, thresh_mode="hard")) == "LLSG(rank=5, thresh_mode='hard')"
    assert LLSG().get_params() == {"rank": 10, "thresh": 1.0, "max_iter": 10, "thresh_mode": "soft",
                                   "asize": 2.0, "n_segments": 4, "inner_radius": 0.0,
                                   "collapse": "mean", "derotation": "bilinear"}


@pytest.mark.parametrize(
    "algorithm, message",
    [
        (LLSG(rank=0), r"rank: expected an integer from 1 to 16 \(the number of frames\), got 0"),
        (LLSG(rank=2.5), r"rank: expected an integer from 1 to 16 \(the number of frames\), got 2.5"),
        (LLSG(rank=17), r"rank: expected an integer from 1 to 16 \(the number of frames\), got 17"),
        (LLSG(thresh=-1), "thresh: expected a number >= 0, got -1"),
        (LLSG(max_iter=0), "max_iter: expected an integer >= 1, got 0"),
        (LLSG(max_iter=True), "max_iter: expected an integer >= 1, got True"),
        (LLSG(n_segments=0), "n_segments: expected an integer >= 1, got 0"),
        (LLSG(thresh_mode="nng"), "thresh_mode: expected one of 'soft', 'hard', got 'nng'"),
        (LLSG(asize=0), "asize: expected a number > 0, got 0"),
        (LLSG(inner_radius=100.0), "inner_radius: expected less than the frame's half-size"),
        (LLSG(collapse="sum"), "collapse: expected one of 'median', 'mean', got 'sum'"),
        (LLSG(derotation="lanczos"), "derotation: expected one of .*got 'lanczos'"),
    ],
)
def test_bad_options_raise_naming_the_parameter(small, algorithm, message):
    with pytest.raises(ValueError, match=message):
        algorithm.process(small)


# -- the real NACO cube -------------------------------------------------------------------------

SEPARATIONS = (12.0, 20.0, 30.0)


@pytest.fixture(scope="module")
def naco_llsg(naco):
    """LLSG (defaults: mean collapse; and median collapse) on NACO with 3 companions of flux 150 at 12, 20, 30 px."""
    from exobench.detmap import snr
    from exobench.inject import inject_companions

    injection = inject_companions(naco, separations=SEPARATIONS, thetas=[0.0, 120.0, 240.0],
                                  fluxes=[150.0] * 3)
    for name, algorithm in {"llsg_median": LLSG(collapse="median"), "llsg": LLSG()}.items():
        start = time.perf_counter()
        result = algorithm.process(injection.dataset)
        seconds = time.perf_counter() - start
        MEASURED[name] = {
            "seconds": round(seconds, 3),
            "snr": {sep: round(snr(result.final, pos, naco.fwhm).snr, 2)
                    for sep, pos in zip(SEPARATIONS, injection.positions)},
        }
    yield MEASURED
    print("\nNACO LLSG measurements:", MEASURED)


def test_naco_llsg_detects_companions_at_20_and_30_px(naco_llsg):
    # The median of a sparse cube is 0 on most pixels, which shrinks the background's spread
    # and raises the S/N (the default mean collapse gives the honest figure).
    for name in ("llsg", "llsg_median"):
        assert naco_llsg[name]["snr"][20.0] > 3
        assert naco_llsg[name]["snr"][30.0] > 3
