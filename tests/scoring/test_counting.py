"""Tests of exobench.scoring.counting: blobs, matching, huge blobs, true negatives.

The property tests compare the vectorised counting with a brute-force reference
written here independently (pure Python: a flood fill, sets of pixels, explicit
loops), on random small maps.
"""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exobench import ExobenchWarning
from exobench.scoring import counting
from exobench.scoring.counting import (
    DEFAULTS,
    DatasetCounts,
    count_detections,
    evaluation_elements,
    label_blobs,
    resolution_element_area,
)

# --------------------------------------------------------------------------- brute-force reference


def flood_fill_blobs(mask):
    """4-connected blobs of a list-of-lists mask: a list of pixel sets {(y, x)}, in raster order of first pixel."""
    ny, nx = len(mask), len(mask[0])
    seen = [[False] * nx for _ in range(ny)]
    blobs = []
    for y0 in range(ny):
        for x0 in range(nx):
            if not mask[y0][x0] or seen[y0][x0]:
                continue
            blob, stack = set(), [(y0, x0)]
            seen[y0][x0] = True
            while stack:
                y, x = stack.pop()
                blob.add((y, x))
                for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= yy < ny and 0 <= xx < nx and mask[yy][xx] and not seen[yy][xx]:
                        seen[yy][xx] = True
                        stack.append((yy, xx))
            blobs.append(blob)
    return blobs


def disk_pixels(ny, nx, x, y, radius):
    """Frame pixels whose centre is strictly within ``radius`` of (x, y)."""
    return {
        (j, i) for j in range(ny) for i in range(nx) if (j - y) * (j - y) + (i - x) * (i - x) < radius * radius
    }


def element_area(radius):
    k = int(math.ceil(radius)) + 1
    return sum(1 for dy in range(-k, k + 1) for dx in range(-k, k + 1) if dx * dx + dy * dy < radius * radius)


def reference_count(detmap, threshold, positions, fwhm, npix, overlap, max_fact, inner, compat):
    ny, nx = len(detmap), len(detmap[0])
    mask = [[(v > threshold) for v in row] for row in detmap]  # NaN > t is False
    blobs = [b for b in flood_fill_blobs(mask) if len(b) >= npix]
    disks = [disk_pixels(ny, nx, x, y, fwhm) for x, y in positions]
    if compat:
        elem = len(disk_pixels(ny, nx, nx // 2, ny // 2, fwhm))
    else:
        elem = element_area(fwhm)
    huge = [len(b) > max_fact * elem for b in blobs]

    def ratio(b, d):
        small = min(len(b), len(d))
        return len(b & d) / small if small else 0.0

    match = [None] * len(blobs)
    if compat:
        for i, b in enumerate(blobs):
            if huge[i]:
                continue
            for j, d in enumerate(disks):
                if ratio(b, d) > overlap:
                    match[i] = j
                    break
    else:
        pairs = [
            (-ratio(b, d), i, j)
            for i, b in enumerate(blobs)
            for j, d in enumerate(disks)
            if not huge[i] and ratio(b, d) > overlap
        ]
        used = set()
        for _, i, j in sorted(pairs):
            if match[i] is None and j not in used:
                match[i] = j
                used.add(j)
    fps = 0
    for i, b in enumerate(blobs):
        if huge[i]:
            fps += len(b) / elem
        elif match[i] is None:
            fps += 1
    fp = round(fps)
    tp = sum(1 for m in match if m is not None)
    fn = len(positions) - len({m for m in match if m is not None})
    cx, cy = nx // 2, ny // 2
    annulus = sum(1 for j in range(ny) for i in range(nx) if (i - cx) ** 2 + (j - cy) ** 2 >= inner * inner)
    n_elements = annulus // element_area(fwhm)
    tn = max(n_elements - len(positions) - fp, 0)
    return dict(tp=tp, fp=fp, fn=fn, tn=tn, n_elements=n_elements, n_blobs=len(blobs), n_huge=sum(huge))


# --------------------------------------------------------------------------- strategies


@st.composite
def scenes(draw):
    ny = draw(st.integers(6, 24))
    nx = draw(st.integers(6, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    fwhm = draw(st.sampled_from([0.4, 1.0, 2.0, 2.7, 3.0, 4.0]))
    rng = np.random.default_rng(seed)
    # Smoothed noise gives blobs of all sizes; small bright patches near the
    # injections (sometimes two on one) give matches, shared and contested ones.
    detmap = rng.normal(size=(ny, nx))
    detmap = (detmap + np.roll(detmap, 1, 0) + np.roll(detmap, 1, 1)) / 3
    if draw(st.booleans()):  # a quiet map: only the patches are detected
        detmap *= 0.1
    n_inj = draw(st.integers(0, 5))
    positions = np.column_stack([rng.uniform(-0.5, nx - 0.5, n_inj), rng.uniform(-0.5, ny - 0.5, n_inj)])
    for x, y in positions:
        for _ in range(rng.integers(0, 4)):
            px = int(np.clip(round(x + rng.uniform(-fwhm, fwhm)), 0, nx - 1))
            py = int(np.clip(round(y + rng.uniform(-fwhm, fwhm)), 0, ny - 1))
            h, w = rng.integers(1, 3, size=2)
            detmap[py : py + h, px : px + w] = 5.0
    if draw(st.booleans()):
        detmap[rng.random((ny, nx)) < 0.05] = np.nan
    if draw(st.booleans()):
        detmap[rng.random((ny, nx)) < 0.03] = np.inf
    threshold = draw(st.sampled_from([-0.5, 0.0, 1.0, 1.5, 3.0, 3.0, 3.0]))
    npix = draw(st.integers(1, 3))
    overlap = draw(st.sampled_from([0.3, 0.5, 0.7, 1.0]))
    max_fact = draw(st.sampled_from([0.5, 1.0, 2.0, 3.5]))
    inner = draw(st.sampled_from([None, 0.0, 2.5]))
    return detmap, threshold, positions, fwhm, npix, overlap, max_fact, inner


# --------------------------------------------------------------------------- property tests


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20), st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_label_blobs_matches_flood_fill(ny, nx, seed, density):
    mask = np.random.default_rng(seed).random((ny, nx)) < density
    labels, n = label_blobs(mask)
    blobs = flood_fill_blobs(mask.tolist())
    assert n == len(blobs)
    for k, blob in enumerate(blobs, start=1):  # same raster numbering
        assert set(zip(*np.nonzero(labels == k))) == blob
    assert np.array_equal(labels > 0, mask)


@pytest.mark.parametrize("compat", [None, "eidc2019"])
@settings(max_examples=60, deadline=None)
@given(scene=scenes())
def test_counting_matches_brute_force(scene, compat):
    detmap, threshold, positions, fwhm, npix, overlap, max_fact, inner = scene
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExobenchWarning)  # compat on datasets without injections
        got = count_detections(
            detmap,
            threshold,
            positions,
            fwhm,
            npix=npix,
            overlap_threshold=overlap,
            max_blob_fact=max_fact,
            inner_radius=inner,
            compat=compat,
        )
    want = reference_count(
        detmap.tolist(),
        threshold,
        positions.tolist(),
        fwhm,
        npix,
        overlap,
        max_fact,
        fwhm if inner is None else inner,
        compat,
    )
    assert (got.tp, got.fp, got.fn, got.tn, got.n_elements) == (
        want["tp"],
        want["fp"],
        want["fn"],
        want["tn"],
        want["n_elements"],
    )
    assert got.n_blobs == want["n_blobs"]
    assert len(got.huge_blobs) == want["n_huge"]
    assert got.n_injections == len(positions)
    if compat is None:
        assert got.tp + got.fn == got.n_injections
        assert len({j for _, j in got.matches}) == len(got.matches)  # one-to-one
    assert len({b for b, _ in got.matches}) == len(got.matches)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.05, 12.0))
def test_resolution_element_area_brute_force(fwhm):
    assert resolution_element_area(fwhm) == element_area(fwhm)
    assert resolution_element_area(fwhm) % 2 == 1  # odd: a total of area/element is never a half-integer


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.floats(0.3, 6.0), st.floats(0.0, 15.0))
def test_evaluation_elements_brute_force(ny, nx, fwhm, inner):
    cx, cy = nx // 2, ny // 2
    annulus = sum(1 for j in range(ny) for i in range(nx) if (i - cx) ** 2 + (j - cy) ** 2 >= inner * inner)
    assert evaluation_elements((ny, nx), fwhm, inner_radius=inner) == annulus // element_area(fwhm)


# --------------------------------------------------------------------------- hand-made cases


def blank(ny=32, nx=32):
    return np.zeros((ny, nx))


def test_two_blobs_on_one_injection():
    detmap = blank()
    detmap[16, 15:17] = 5.0  # 2 px, 2-3 px left of the injection
    detmap[16, 19:21] = 5.0  # 2 px, 1-2 px right of it
    c = count_detections(detmap, 1.0, [(18.0, 16.0)], 4.0)
    assert (c.tp, c.fp, c.fn, c.n_injections) == (1, 1, 0, 1)
    assert len(c.matches) == 1 and len(c.unmatched_blobs) == 1
    c2019 = count_detections(detmap, 1.0, [(18.0, 16.0)], 4.0, compat="eidc2019")
    assert (c2019.tp, c2019.fp, c2019.fn) == (2, 0, 0)  # many-to-one: recall could exceed 1
    assert c2019.matches == ((1, 0), (2, 0))


def test_greedy_takes_the_best_overlap_first():
    detmap = blank()
    detmap[8:10, 10:13] = 5.0  # blob 1 (first in raster order): 6 px, 3 inside the disk (ratio 0.5)
    detmap[11, 11:13] = 5.0  # blob 2: inside the disk (ratio 1)
    c = count_detections(detmap, 1.0, [(11.0, 11.0)], 2.5, overlap_threshold=0.3)
    assert c.matches == ((2, 0),)
    assert c.unmatched_blobs == (1,)
    c2019 = count_detections(detmap, 1.0, [(11.0, 11.0)], 2.5, overlap_threshold=0.3, compat="eidc2019")
    assert c2019.matches == ((1, 0), (2, 0))


def test_one_blob_on_two_injections():
    detmap = blank()
    detmap[16, 16:18] = 5.0  # between two close injections, inside both disks
    positions = [(15.0, 16.0), (18.5, 16.0)]
    c = count_detections(detmap, 1.0, positions, 3.0)
    assert (c.tp, c.fp, c.fn) == (1, 0, 1)
    c2019 = count_detections(detmap, 1.0, positions, 3.0, compat="eidc2019")
    assert (c2019.tp, c2019.fp, c2019.fn) == (1, 0, 1)
    assert c2019.matches == ((1, 0),)  # the first injection in the given order


def test_huge_blob_counts_area_over_element_false_positives():
    detmap = blank()
    detmap[5:15, 5:15] = 5.0  # 100 px
    fwhm = 2.0  # element: 9 px, so 100 px > 2 elements
    assert resolution_element_area(fwhm) == 9
    c = count_detections(detmap, 1.0, [(10.0, 10.0)], fwhm)
    assert (c.tp, c.fp, c.fn) == (0, round(100 / 9), 1)  # never a detection, even on the injection
    assert c.huge_blobs == (1,) and c.element_area == 9
    # Just at max_blob_fact elements it is an ordinary blob (strict >).
    detmap = blank()
    detmap[10, 5:14] = 5.0
    detmap[11, 5:14] = 5.0  # 18 px = 2 x 9
    c = count_detections(detmap, 1.0, [], fwhm)
    assert (c.fp, c.huge_blobs) == (1, ())
    detmap[12, 5] = 5.0  # 19 px
    c = count_detections(detmap, 1.0, [], fwhm)
    assert (c.fp, c.huge_blobs) == (2, (1,))  # 19 / 9 = 2.11 -> 2


def test_fractional_false_positives_are_summed_then_rounded():
    fwhm = 2.0  # element 9 px
    detmap = blank()
    detmap[2:4, 2:12] = 5.0  # 20 px = 2.22 elements
    detmap[8:10, 2:12] = 5.0  # 20 px
    detmap[14:16, 2:12] = 5.0  # 20 px
    c = count_detections(detmap, 1.0, [], fwhm)
    assert c.fp == 7  # round(3 * 20 / 9 = 6.67); rounding each blob would give 6


def test_dataset_without_injection_is_scored():
    detmap = blank()
    detmap[3, 3:5] = 5.0
    detmap[20, 20:23] = 5.0
    detmap[5:15, 15:25] = 5.0  # huge: 100 / 45 = 2.2 elements of FWHM 4 -> 2
    for positions in ([], None, np.zeros((0, 2)), np.zeros(0)):
        c = count_detections(detmap, 1.0, positions, 4.0)
        assert (c.tp, c.fp, c.fn, c.n_injections) == (0, 4, 0, 0)
    with pytest.warns(ExobenchWarning, match="did not score a dataset without injection"):
        c2019 = count_detections(detmap, 1.0, [], 4.0, compat="eidc2019")
    assert (c2019.tp, c2019.fp) == (0, 4)


def test_npix_drops_small_blobs():
    detmap = blank()
    detmap[3, 3] = 5.0
    detmap[10, 10:12] = 5.0
    detmap[20, 20:23] = 5.0
    assert count_detections(detmap, 1.0, [], 2.0, npix=1).fp == 3
    assert count_detections(detmap, 1.0, [], 2.0).fp == 2  # default npix = 2
    assert count_detections(detmap, 1.0, [], 2.0, npix=3).fp == 1


def test_threshold_is_strict_and_nan_inf_rules():
    detmap = blank()
    detmap[5, 5:7] = 1.0  # equal to the threshold: not a detection
    assert count_detections(detmap, 1.0, [], 2.0).fp == 0
    detmap[5, 5:7] = np.inf  # +inf: above any finite threshold
    assert count_detections(detmap, 1e300, [], 2.0).fp == 1
    detmap = np.full((16, 16), -np.inf)  # -inf: below any finite threshold
    assert count_detections(detmap, -1e300, [], 2.0).fp == 0
    detmap = np.full((16, 16), np.nan)  # NaN: never a detection
    assert count_detections(detmap, -1e300, [], 2.0).fp == 0
    detmap = blank(16, 16)
    detmap[5, 4:9] = 5.0
    detmap[5, 6] = np.nan  # a NaN pixel cuts the blob in two
    assert count_detections(detmap, 1.0, [], 2.0).fp == 2


def test_float32_map_compares_exactly():
    detmap = blank(16, 16).astype(np.float32)
    detmap[5, 5:7] = np.float32(1.1362613)
    threshold = float(np.float32(1.1362613)) - 1e-12  # not representable in float32
    assert count_detections(detmap, threshold, [], 2.0).fp == 1
    big_endian = detmap.astype(">f4")
    assert count_detections(big_endian, np.array([0.5], dtype=">f4"), [], 2.0).fp == 1


def test_positions_are_x_y():
    detmap = blank(20, 40)
    detmap[5, 30:32] = 5.0  # at x = 30..31, y = 5
    c = count_detections(detmap, 1.0, [(30.5, 5.0)], 2.0)
    assert (c.tp, c.fp) == (1, 0)
    with pytest.raises(ValueError, match=r"positions: row 0 \(x=5, y=30.5\) lies outside the 20x40"):
        count_detections(detmap, 1.0, [(5.0, 30.5)], 2.0)


def test_injection_near_the_edge_uses_the_clipped_disk():
    detmap = blank(16, 16)
    detmap[0, 0:2] = 5.0
    c = count_detections(detmap, 1.0, [(-0.4, -0.4)], 1.2)
    assert c.tp == 1


def test_true_negatives():
    detmap = blank(64, 64)
    n_elements = evaluation_elements((64, 64), 4.0)
    assert n_elements == (64 * 64 - 45) // 45  # inner radius 1 FWHM removes the central element
    assert evaluation_elements((64, 64), 4.0, inner_radius=0) == 64 * 64 // 45
    detmap[10, 10:12] = 5.0
    detmap[40, 40:42] = 5.0
    c = count_detections(detmap, 1.0, [(10.5, 10.0), (50.0, 20.0)], 4.0)
    assert (c.tp, c.fp, c.fn) == (1, 1, 1)
    assert c.n_elements == n_elements and c.tn == n_elements - 2 - 1
    c = count_detections(detmap, 1.0, [], 4.0, inner_radius=20.0)
    assert c.n_elements == evaluation_elements((64, 64), 4.0, inner_radius=20.0)
    # A blob over the whole frame: FP about n_elements, TN clamped at 0.
    c = count_detections(np.ones((64, 64)), 0.0, [(10.0, 10.0)], 4.0)
    assert c.fp == round(64 * 64 / 45) and c.tn == 0


def test_compat_element_area_is_clipped_to_the_frame():
    detmap = np.ones((5, 5))  # 25 px
    c = count_detections(detmap, 0.0, [], 4.0)  # element 45 px unclipped: not huge
    assert (c.element_area, c.fp) == (45, 1)
    with pytest.warns(ExobenchWarning):
        c2019 = count_detections(detmap, 0.0, [], 4.0, compat="eidc2019")
    assert c2019.element_area == 25  # VIP's disk about the centre, inside the frame


def test_defaults_and_counts_fields():
    assert DEFAULTS == dict(npix=2, overlap_threshold=0.7, max_blob_fact=2.0)
    c = DatasetCounts(tp=1, fp=2, fn=3, tn=4, n_injections=4, n_elements=10)
    assert (c.matches, c.unmatched_blobs, c.huge_blobs, c.compat, c.n_blobs) == ((), (), (), None, 0)
    assert isinstance(DatasetCounts(np.int64(1), 0, 0, 0, 1, 1).tp, int)
    with pytest.raises(ValueError, match=r"fp: expected an integer >= 0, got -1"):
        DatasetCounts(tp=1, fp=-1, fn=0, tn=0, n_injections=1, n_elements=1)
    with pytest.raises(ValueError, match=r"tp: expected an integer >= 0, got 1.5"):
        DatasetCounts(tp=1.5, fp=1, fn=0, tn=0, n_injections=1, n_elements=1)
    with pytest.raises(ValueError, match=r"compat: expected one of None, 'eidc2019', got 'x'"):
        DatasetCounts(tp=1, fp=1, fn=0, tn=0, n_injections=1, n_elements=1, compat="x")


def test_fits_scalars_are_accepted():
    detmap = blank(16, 16)
    detmap[5, 5:7] = 5.0
    c = count_detections(detmap, np.array([1.0]), np.array([[5.5, 5.0]]), np.array([2.0]), npix=np.array([2.0]))
    assert c.tp == 1


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(detmap=np.zeros(5)), ValueError, r"detmap: expected a 2D array \(the detection map of one dataset\)"),
        (dict(detmap=np.zeros((0, 4))), ValueError, r"detmap: expected a non-empty 2D array"),
        (dict(detmap=[["a"]]), TypeError, r"detmap: expected an array of numbers"),
        (dict(threshold=np.nan), ValueError, r"threshold: expected a finite number, got nan"),
        (dict(threshold=np.inf), ValueError, r"threshold: expected a finite number, got inf"),
        (dict(threshold="1"), TypeError, r"threshold: expected a number, got '1'"),
        (dict(threshold=np.array([1.0, 2.0])), TypeError, r"threshold: expected a number"),
        (dict(threshold=True), TypeError, r"threshold: expected a number, got True"),
        (dict(positions=[1.0, 2.0]), ValueError, r"positions: expected an \(n, 2\) array of \(x, y\)"),
        (dict(positions=np.zeros((2, 3))), ValueError, r"positions: expected an \(n, 2\) array .* shape \(2, 3\)"),
        (dict(positions=[(np.nan, 1.0)]), ValueError, r"positions: expected finite values"),
        (dict(positions=[(1.0, 16.0)]), ValueError, r"positions: row 0 \(x=1, y=16\) lies outside the 16x8"),
        (dict(fwhm=0.0), ValueError, r"fwhm: expected a value > 0, got 0.0"),
        (dict(fwhm=-2.0), ValueError, r"fwhm: expected a value > 0, got -2.0"),
        (dict(fwhm=np.nan), ValueError, r"fwhm: expected a finite number"),
        (dict(npix=0), ValueError, r"npix: expected an integer >= 1, got 0"),
        (dict(npix=2.5), ValueError, r"npix: expected an integer >= 1, got 2.5"),
        (dict(overlap_threshold=0.0), ValueError, r"overlap_threshold: expected a number in \(0, 1\], got 0.0"),
        (dict(overlap_threshold=1.2), ValueError, r"overlap_threshold: expected a number in \(0, 1\], got 1.2"),
        (dict(max_blob_fact=0), ValueError, r"max_blob_fact: expected a number > 0, got 0"),
        (dict(inner_radius=-1.0), ValueError, r"inner_radius: expected a number >= 0 or None, got -1.0"),
        (dict(compat="eidc2020"), ValueError, r"compat: expected one of None, 'eidc2019', got 'eidc2020'"),
    ],
)
def test_count_detections_errors(kwargs, error, match):
    args = dict(detmap=np.zeros((16, 8)), threshold=1.0, positions=[(2.0, 3.0)], fwhm=2.0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        count_detections(args.pop("detmap"), args.pop("threshold"), args.pop("positions"), args.pop("fwhm"), **args)


def test_label_blobs_errors_and_inputs():
    with pytest.raises(ValueError, match=r"mask: expected a 2D array, got shape \(3,\)"):
        label_blobs(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match=r"mask: expected a boolean array, got NaN"):
        label_blobs(np.array([[np.nan, 1.0]]))
    with pytest.raises(TypeError, match=r"mask: expected a boolean array, got dtype <U1"):
        label_blobs(np.array([["a"]]))
    labels, n = label_blobs(np.zeros((3, 3), dtype=bool))
    assert n == 0 and not labels.any()
    assert label_blobs([[0, 2.5], [1, 0]])[1] == 2


def test_geometry_errors():
    with pytest.raises(ValueError, match=r"shape: expected a tuple \(ny, nx\) of two integers >= 1, got \(3,\)"):
        evaluation_elements((3,), 2.0)
    with pytest.raises(ValueError, match=r"shape: expected a tuple \(ny, nx\) of two integers >= 1, got \(0, 4\)"):
        evaluation_elements((0, 4), 2.0)
    with pytest.raises(TypeError, match=r"shape: expected a tuple \(ny, nx\), got 5"):
        evaluation_elements(5, 2.0)
    with pytest.raises(ValueError, match=r"fwhm: expected a value > 0"):
        evaluation_elements((8, 8), 0.0)
    with pytest.raises(ValueError, match=r"inner_radius: expected a number >= 0"):
        evaluation_elements((8, 8), 2.0, inner_radius=-1)
    with pytest.raises(ValueError, match=r"fwhm: expected a value > 0"):
        resolution_element_area(-1.0)


def test_scoring_package_imports_only_numpy_scipy_astropy():
    code = (
        "import sys, exobench.scoring.counting, exobench.scoring.metrics\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'photutils', 'numba', 'pandas', 'sklearn', 'matplotlib', 'h5py', 'yaml', 'tqdm', 'skimage'})\n"
        "light = ('exobench.scoring', 'exobench.challenge', 'exobench.geometry', 'exobench._')\n"
        "bad += sorted(m for m in sys.modules if m.startswith('exobench.') and not m.startswith(light))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names():
    names = {"DEFAULTS", "DatasetCounts", "count_detections", "label_blobs", "evaluation_elements"}
    assert set(counting.__all__) >= names
