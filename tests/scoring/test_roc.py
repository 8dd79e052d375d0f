"""Tests of exobench.scoring.roc: the one-pass threshold sweep, ROC curves, AUC, bootstrap.

The sweep is checked at *every* threshold against two references on random small
maps (hypothesis): :func:`count_detections` itself, and a brute-force counting
written here independently (``scipy.ndimage.label`` at each threshold, explicit
disks and greedy matching), which also attributes counts to separation bands.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from exobench.scoring.counting import DatasetCounts, count_detections
from exobench.scoring.metrics import UndefinedMetricWarning, compute_metrics
from exobench.scoring.roc import (
    DEFAULT_BANDS,
    ROCCurve,
    SweepCounts,
    auc,
    bootstrap_ci,
    partial_auc,
    roc_by_separation,
    roc_curve,
    roc_from_counts,
    sweep_counts,
)

PROPERTY = settings(max_examples=50, deadline=None)

# --------------------------------------------------------------------------- random maps


def random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction):
    """A small map: correlated noise, a few bumps (mostly on the injections), some NaN."""
    rng = np.random.default_rng(seed)
    detmap = ndimage.gaussian_filter(rng.normal(size=(ny, nx)), 0.8)
    yy, xx = np.indices((ny, nx))
    positions = np.column_stack([rng.uniform(-0.5, nx - 0.5, n_inj), rng.uniform(-0.5, ny - 0.5, n_inj)])
    sigma = fwhm / 2.3548
    bumps = list(positions[rng.random(n_inj) < 0.8]) + [rng.uniform(0, [nx, ny]) for _ in range(rng.integers(0, 3))]
    for x, y in bumps:
        detmap += rng.uniform(0.5, 4.0) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    if quantum:  # plateaus: many pixels share a level
        detmap = np.round(detmap / quantum) * quantum
    if nan_fraction:
        detmap[rng.random((ny, nx)) < nan_fraction] = np.nan
    return detmap, positions


case_args = dict(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(4, 20),
    nx=st.integers(4, 20),
    n_inj=st.integers(0, 4),
    fwhm=st.floats(0.6, 4.0),
    quantum=st.sampled_from([0.0, 0.25, 0.5]),
    nan_fraction=st.sampled_from([0.0, 0.0, 0.1]),
)
option_args = dict(
    npix=st.integers(1, 3),
    overlap=st.sampled_from([0.3, 0.5, 0.7, 1.0]),
    max_fact=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
    inner=st.sampled_from([None, 0.0, 2.5]),
)


def finite(threshold, detmap):
    """count_detections takes finite thresholds: -inf means 'below every finite value'."""
    if np.isfinite(threshold):
        return threshold
    finite_values = detmap[np.isfinite(detmap)]
    return (finite_values.min() - 1.0) if finite_values.size else 0.0


# --------------------------------------------------------------------------- brute-force reference


def brute_counts(detmap, threshold, positions, fwhm, npix, overlap, max_fact, inner, bands=None):
    """Counting at one threshold, written independently: per band when ``bands`` (in FWHM) is given.

    Returns a list of (tp, fp, fn, tn) tuples: one per band, or one for the whole map.
    """
    ny, nx = detmap.shape
    with np.errstate(invalid="ignore"):
        mask = detmap > threshold
    labels, n = ndimage.label(mask)  # default structure: 4-connectivity
    k = int(math.ceil(fwhm)) + 1
    elem = sum(1 for dy in range(-k, k + 1) for dx in range(-k, k + 1) if dx * dx + dy * dy < fwhm * fwhm)
    yy, xx = np.indices((ny, nx))
    xc, yc = nx // 2, ny // 2
    disks = [(yy - y) ** 2 + (xx - x) ** 2 < fwhm**2 for x, y in positions]
    blobs = []  # (label, area, huge, centroid distance)
    pairs = []
    for label in range(1, n + 1):
        blob = labels == label
        area = int(blob.sum())
        if area < npix:
            continue
        cx, cy = xx[blob].sum() / area, yy[blob].sum() / area
        huge = area > max_fact * elem
        blobs.append((label, area, huge, np.sqrt((cx - xc) ** 2 + (cy - yc) ** 2)))
        if huge:
            continue
        for j, disk in enumerate(disks):
            small = min(area, int(disk.sum()))
            ratio = int((blob & disk).sum()) / small if small else 0.0
            if ratio > overlap:
                pairs.append((-ratio, label, j))
    matched_blob, matched_inj = set(), set()
    for _, label, j in sorted(pairs):
        if label not in matched_blob and j not in matched_inj:
            matched_blob.add(label)
            matched_inj.add(j)
    r_pix = np.sqrt((xx - xc) ** 2 + (yy - yc) ** 2)
    annulus = (xx - xc) ** 2 + (yy - yc) ** 2 >= (fwhm if inner is None else inner) ** 2
    r_inj = [np.sqrt((x - xc) ** 2 + (y - yc) ** 2) for x, y in positions]
    out = []
    for lo, hi in bands or [(0.0, np.inf)]:
        def inside(r):
            return True if bands is None else (r >= lo * fwhm) and (r < hi * fwhm)

        fps = 0.0
        for label, area, huge, r in blobs:
            if not inside(r):
                continue
            if huge:
                fps += area / elem
            elif label not in matched_blob:
                fps += 1
        fp = round(fps)
        injections = [j for j in range(len(positions)) if inside(r_inj[j])]
        tp = sum(1 for j in injections if j in matched_inj)
        in_band = annulus if bands is None else annulus & (r_pix >= lo * fwhm) & (r_pix < hi * fwhm)
        n_elements = int(in_band.sum()) // elem
        out.append((tp, fp, len(injections) - tp, max(n_elements - len(injections) - fp, 0)))
    return out


def rows(s):
    return list(zip(s.tp.tolist(), s.fp.tolist(), s.fn.tolist(), s.tn.tolist()))


# --------------------------------------------------------------------------- the sweep equals the counting


@PROPERTY
@given(**case_args, **option_args)
def test_sweep_equals_count_detections_at_every_level(
    seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner
):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    options = dict(npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact, inner_radius=inner)
    s = sweep_counts(detmap, positions, fwhm, **options)
    levels = np.unique(detmap[~np.isnan(detmap)])[::-1]
    assert s.complete
    assert s.thresholds.tolist() == levels.tolist() + [-np.inf]
    for t, got in zip(s.thresholds, rows(s)):
        c = count_detections(detmap, finite(t, detmap), positions, fwhm, **options)
        assert got == (c.tp, c.fp, c.fn, c.tn), f"threshold {t}"
        assert (s.n_injections, s.n_elements, s.element_area) == (c.n_injections, c.n_elements, c.element_area)


@PROPERTY
@given(**case_args, **option_args)
def test_sweep_equals_brute_force_at_every_level(
    seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner
):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    s = sweep_counts(detmap, positions, fwhm, npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact,
                     inner_radius=inner)
    for t, got in zip(s.thresholds, rows(s)):
        assert [got] == brute_counts(detmap, t, positions, fwhm, npix, overlap, max_fact, inner), f"threshold {t}"


@settings(max_examples=25, deadline=None)
@given(**case_args, **option_args, band_edge=st.sampled_from([0.5, 1.0, 2.0]))
def test_bands_equal_brute_force(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner,
                                 band_edge):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    bands = ((0.0, band_edge), (band_edge, np.inf), (0.5, 2.5))  # overlapping bands are counted on their own
    options = dict(npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact, inner_radius=inner)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        curves = roc_by_separation([detmap], [positions], fwhm, bands=bands, **options)
    assert list(curves) == list(bands)
    for t in curves[bands[0]].thresholds:
        expected = brute_counts(detmap, t, positions, fwhm, npix, overlap, max_fact, inner, bands=bands)
        for band, want in zip(bands, expected):
            c = curves[band]
            i = c.index(t)
            assert (c.tp[i], c.fp[i], c.fn[i], c.tn[i]) == want, f"band {band}, threshold {t}"


@settings(max_examples=25, deadline=None)
@given(**case_args, **option_args)
def test_basin_pass_equals_pixel_pass(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, npix, overlap, max_fact, inner):
    """The whole-map sweep (by basins) and a single band covering everything (pixel by pixel) agree."""
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    options = dict(npix=npix, overlap_threshold=overlap, max_blob_fact=max_fact, inner_radius=inner)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        whole = roc_curve([detmap], [positions], fwhm, **options)
        (band,) = roc_by_separation([detmap], [positions], fwhm, bands=((0, np.inf),), **options).values()
    for name in ("thresholds", "tp", "fp", "fn", "tn"):
        assert np.array_equal(getattr(whole, name), getattr(band, name)), name


@settings(max_examples=25, deadline=None)
@given(**case_args, grid_seed=st.integers(0, 2**32 - 1))
def test_given_grid_equals_count_detections(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction, grid_seed):
    detmap, positions = random_case(seed, ny, nx, n_inj, fwhm, quantum, nan_fraction)
    rng = np.random.default_rng(grid_seed)
    grid = np.concatenate([rng.uniform(-3, 5, 12), rng.choice(detmap.ravel(), 4), [np.inf, -np.inf, 0.0]])
    grid = grid[~np.isnan(grid)]
    s = sweep_counts(detmap, positions, fwhm, thresholds=grid)
    assert not s.complete
    assert s.thresholds.tolist() == sorted(set(grid.tolist()), reverse=True)
    for t, got in zip(s.thresholds, rows(s)):
        if t == np.inf:  # nothing detected
            assert got[:2] == (0, 0)
            continue
        c = count_detections(detmap, finite(t, detmap), positions, fwhm)
        assert got == (c.tp, c.fp, c.fn, c.tn), f"threshold {t}"
    # a complete sweep re-gridded gives the same counts
    assert rows(sweep_counts(detmap, positions, fwhm).at(grid)) == rows(s)


def test_float32_map_is_compared_exactly():
    rng = np.random.default_rng(3)
    detmap = rng.normal(size=(12, 12)).astype(np.float32)
    s = sweep_counts(detmap, [(6.0, 6.0)], 2.0)
    assert s.thresholds[:-1].tolist() == np.unique(detmap.astype(np.float64))[::-1].tolist()
    for t, got in zip(s.thresholds[:-1], rows(s)):
        c = count_detections(detmap, t, [(6.0, 6.0)], 2.0)
        assert got == (c.tp, c.fp, c.fn, c.tn)


def test_infinite_pixels():
    detmap = np.zeros((10, 10))
    detmap[5, 4:6] = np.inf
    detmap[1, 1:3] = -np.inf  # never detected
    s = sweep_counts(detmap, [(4.5, 5.0)], 2.0)
    assert s.thresholds.tolist() == [np.inf, 0.0, -np.inf]
    assert s.tp.tolist() == [0, 1, 0]


# --------------------------------------------------------------------------- phases


def phase(seed=0, n=3, size=24, fwhm=3.0):
    rng = np.random.default_rng(seed)
    maps, positions = [], []
    yy, xx = np.indices((size, size))
    for k in range(n):
        m = ndimage.gaussian_filter(rng.normal(size=(size, size)), 1.0)
        m /= m.std()
        pos = rng.uniform(4, size - 4, (k % 3, 2))
        for x, y in pos:
            m += rng.uniform(1, 6) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * (fwhm / 2.3548) ** 2))
        maps.append(m)
        positions.append(pos)
    return maps, positions, fwhm


def test_roc_curve_sums_the_datasets_on_the_union_of_their_levels():
    maps, positions, fwhm = phase()
    c = roc_curve(maps, positions, fwhm, include=0.123456)
    levels = set(np.concatenate([m.ravel() for m in maps]).tolist()) | {0.123456, -np.inf}
    assert c.thresholds.tolist() == sorted(levels, reverse=True)
    assert c.n_datasets == 3 and c.n_injections == sum(len(p) for p in positions)
    for i in range(0, len(c), 97):
        t = c.thresholds[i]
        per = [count_detections(m, finite(t, m), p, fwhm) for m, p in zip(maps, positions)]
        summed = tuple(sum(getattr(x, k) for x in per) for k in ("tp", "fp", "fn", "tn"))
        assert (c.tp[i], c.fp[i], c.fn[i], c.tn[i]) == summed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)  # precision at the top threshold
            m = compute_metrics(per)
        assert c.tpr[i] == pytest.approx(m.tpr) and c.fpr[i] == pytest.approx(m.fpr)
        assert c.mean_fp[i] == pytest.approx(m.fp / 3)
    # the per-dataset sweeps are complete and give the curve back
    assert all(s.complete for s in c.per_dataset)
    again = roc_from_counts(c.per_dataset, thresholds=c.thresholds)
    assert again.tp.tolist() == c.tp.tolist() and again.tn.tolist() == c.tn.tolist()
    assert again.auc == c.auc and again.partial_auc == c.partial_auc


def test_given_grid_and_submitted_threshold_are_in_the_curve():
    maps, positions, fwhm = phase(1)
    grid = np.linspace(5, -1, 13)
    c = roc_curve(maps, positions, fwhm, thresholds=grid, include=2.345)
    assert c.thresholds.tolist() == sorted(set(grid.tolist()) | {2.345}, reverse=True)
    i = c.index(2.345)
    per = [count_detections(m, 2.345, p, fwhm) for m, p in zip(maps, positions)]
    assert (c.tp[i], c.fp[i]) == (sum(x.tp for x in per), sum(x.fp for x in per))
    with pytest.raises(ValueError, match="threshold: 2.7 is not in the curve's grid"):
        c.index(2.7)
    # the default grid holds the submitted threshold too
    assert 2.345 in roc_curve(maps, positions, fwhm, include=[2.345]).thresholds


def test_by_separation_partitions_injections_and_blobs():
    maps, positions, fwhm = phase(2, n=4, size=40)
    whole = roc_curve(maps, positions, fwhm)
    bands = roc_by_separation(maps, positions, fwhm, bands=((0, 3), (3, np.inf)))
    inner, outer = bands[(0.0, 3.0)], bands[(3.0, np.inf)]
    assert inner.n_injections + outer.n_injections == whole.n_injections
    assert np.array_equal(inner.thresholds, whole.thresholds)
    assert np.array_equal(inner.tp + outer.tp, whole.tp)
    # each band's false positives are rounded on their own: per dataset, the two bands' sum
    # is within 1 of the whole map's
    for a, b, w in zip(inner.per_dataset, outer.per_dataset, whole.per_dataset):
        assert np.all(np.abs(a.fp + b.fp - w.fp) <= 1)
        assert a.n_elements + b.n_elements <= w.n_elements + 1
    with pytest.warns(UndefinedMetricWarning, match=r"band \(6.0, 20.0\): .*tpr: no injection"):
        assert tuple(roc_by_separation(maps, positions, fwhm)) == DEFAULT_BANDS  # no injection beyond 6 FWHM here


# --------------------------------------------------------------------------- hand-made curves


def bumps_map(size=32, fwhm=3.0, background=0.0, amplitudes=(5.0, 3.0, 2.0)):
    yy, xx = np.indices((size, size))
    positions = np.array([(8.0, 8.0), (22.0, 10.0), (12.0, 24.0)])[: len(amplitudes)]
    detmap = np.full((size, size), background, dtype=float)
    for (x, y), a in zip(positions, amplitudes):
        detmap += a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * (fwhm / 2.3548) ** 2))
    return detmap, positions, fwhm


def test_tpr_grows_as_the_threshold_falls():
    detmap, positions, fwhm = bumps_map()
    detmap[detmap < 0.05] = np.nan  # isolated bumps: no blob ever grows huge or merges
    c = roc_curve([detmap], [positions], fwhm)
    assert np.all(np.diff(c.tpr) >= 0) and np.all(np.diff(c.fpr) >= 0)
    assert c.tpr[0] == 0 and c.tpr[-1] == 1
    assert c.auc == 1.0 and c.partial_auc == 1.0


def test_perfect_map_has_auc_1():
    detmap, positions, fwhm = bumps_map()  # zero background: at -inf the map is one huge blob
    c = roc_curve([detmap], [positions], fwhm)
    assert c.tpr.max() == 1 and c.fpr[c.tpr == 1].min() == 0
    assert c.tpr[-1] == 0 and c.fpr[-1] == 1  # everything detected: TPR lost at FPR 1
    assert c.auc == 1.0 and c.partial_auc == 1.0


def test_noise_only_map_auc_is_below_a_good_map():
    rng = np.random.default_rng(5)
    detmap, positions, fwhm = bumps_map(size=48, background=0.0, amplitudes=(6.0, 6.0, 6.0))
    noise = ndimage.gaussian_filter(rng.normal(size=detmap.shape), 1.2)
    noise /= noise.std()
    good = roc_curve([detmap + noise], [positions], fwhm)
    blind = roc_curve([noise], [positions], fwhm)
    assert 0 <= blind.auc < good.auc <= 1


def test_all_nan_map():
    detmap = np.full((16, 16), np.nan)
    s = sweep_counts(detmap, [(8.0, 8.0)], 2.0)
    assert s.thresholds.tolist() == [-np.inf]
    assert rows(s) == [(0, 0, 1, s.n_elements - 1)]
    c = roc_curve([detmap], [[(8.0, 8.0)]], 2.0)  # nothing detected: only the end points
    assert c.tpr.tolist() == [0.0] and c.fpr.tolist() == [0.0] and c.auc == 0.5
    with pytest.warns(UndefinedMetricWarning, match="tpr: no injection"):
        c = roc_curve([detmap], [np.zeros((0, 2))], 2.0)
    assert math.isnan(c.auc) and math.isnan(c.partial_auc)


def test_no_element_gives_nan_fpr_with_a_warning():
    detmap = np.zeros((3, 3))
    detmap[1, 1] = 1.0
    with pytest.warns(UndefinedMetricWarning, match=r"fpr: FP \+ TN = 0"):
        c = roc_curve([detmap], [[(1.0, 1.0)]], 2.0)
    assert math.isnan(c.auc)


def test_auc_and_partial_auc_values():
    fpr = np.array([0.0, 0.1, 0.3, 0.6, 1.0])
    tpr = np.array([0.2, 0.5, 0.7, 0.9, 1.0])
    x, y = np.r_[0, fpr, 1], np.r_[0, tpr, 1]
    assert auc(fpr, tpr) == pytest.approx(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    assert partial_auc(fpr, tpr, 0.1) == pytest.approx((0.1 * (0.2 + 0.5) / 2) / 0.1)
    assert partial_auc(fpr, tpr, 0.2) == pytest.approx((0.035 + 0.1 * (0.5 + 0.6) / 2) / 0.2)
    assert partial_auc(fpr, tpr, 1.0) == pytest.approx(auc(fpr, tpr))
    assert auc([0.5], [0.5]) == pytest.approx(0.5)  # chance
    assert partial_auc([0.5], [0.5], 0.01) == pytest.approx(0.005)
    # a point that falls back (TPR lost at a larger FPR) does not lower the envelope
    assert auc([0.0, 0.5], [1.0, 0.0]) == 1.0
    # order does not matter; rows of 2D arrays are curves
    assert auc(fpr[::-1], tpr[::-1]) == pytest.approx(auc(fpr, tpr))
    assert np.allclose(auc(np.stack([fpr, fpr]), np.stack([tpr, tpr])), auc(fpr, tpr))
    assert math.isnan(auc([0.1, np.nan], [0.5, 0.6]))


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_reproducible_and_contains_the_estimate():
    maps, positions, fwhm = phase(3, n=6)
    c = roc_curve(maps, positions, fwhm, include=2.0)
    a = bootstrap_ci(c, statistic="auc", n_boot=200, rng=7)
    assert a == bootstrap_ci(c, statistic="auc", n_boot=200, rng=7)
    assert a == bootstrap_ci(c, statistic="auc", n_boot=200, rng=np.random.default_rng(7))
    assert a != bootstrap_ci(c, statistic="auc", n_boot=200, rng=8)
    assert a[0] <= c.auc <= a[1]
    p = bootstrap_ci(c.per_dataset, statistic="partial_auc", n_boot=100, max_fpr=0.05, thresholds=c.thresholds)
    assert p[0] <= roc_curve(maps, positions, fwhm, max_fpr=0.05).partial_auc <= p[1]
    # F1 at the submitted threshold, from the sweeps or from count_detections
    counts = [count_detections(m, 2.0, pos, fwhm) for m, pos in zip(maps, positions)]
    f1 = compute_metrics(counts).f1
    low, high = bootstrap_ci(counts, statistic="f1", n_boot=300, rng=1)
    assert low <= f1 <= high and 0 <= low <= high <= 1
    assert bootstrap_ci(c, statistic="f1", threshold=2.0, n_boot=300, rng=1) == (low, high)
    assert bootstrap_ci(counts, statistic="f1", n_boot=300) == bootstrap_ci(counts, statistic="f1", n_boot=300)
    narrow = bootstrap_ci(counts, statistic="f1", n_boot=300, rng=1, level=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_with_undefined_resamples():
    empty = DatasetCounts(tp=0, fp=0, fn=0, tn=10, n_injections=0, n_elements=10)
    found = DatasetCounts(tp=1, fp=0, fn=0, tn=9, n_injections=1, n_elements=10)
    with pytest.warns(UndefinedMetricWarning, match="every resample"):
        assert all(math.isnan(v) for v in bootstrap_ci([empty, empty], n_boot=20))
    maps, positions, fwhm = phase(4, n=2)
    positions = [np.zeros((0, 2)), positions[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        c = roc_curve(maps, positions, fwhm)
    with pytest.warns(UndefinedMetricWarning, match="left out"):
        low, high = bootstrap_ci(c, statistic="auc", n_boot=50)
    assert low <= high
    assert bootstrap_ci([found, found], n_boot=10) == (1.0, 1.0)


# --------------------------------------------------------------------------- errors


def test_errors_name_the_parameter():
    detmap = np.zeros((8, 8))
    with pytest.raises(ValueError, match=r"detmap: expected a 2D array"):
        sweep_counts(np.zeros((2, 8, 8)), None, 2.0)
    with pytest.raises(ValueError, match=r"positions: expected an \(n, 2\) array"):
        sweep_counts(detmap, [1.0, 2.0, 3.0], 2.0)
    with pytest.raises(ValueError, match="positions: row 0 .* lies outside"):
        sweep_counts(detmap, [(20.0, 1.0)], 2.0)
    with pytest.raises(ValueError, match="fwhm: expected a value > 0"):
        sweep_counts(detmap, None, 0.0)
    with pytest.raises(ValueError, match=r"overlap_threshold: expected a value in \(0, 1\]"):
        sweep_counts(detmap, None, 2.0, overlap_threshold=0.0)
    with pytest.raises(ValueError, match="thresholds: expected numbers, got NaN"):
        sweep_counts(detmap, None, 2.0, thresholds=[1.0, np.nan])
    with pytest.raises(ValueError, match="thresholds: expected at least one"):
        sweep_counts(detmap, None, 2.0, thresholds=[])
    with pytest.raises(TypeError, match="unexpected keyword argument 'compat'"):
        roc_curve([detmap], [None], 2.0, compat="eidc2019")
    with pytest.raises(ValueError, match=r"max_fpr: expected a value in \(0, 1\]"):
        roc_curve([detmap], [None], 2.0, max_fpr=0.0)
    with pytest.raises(ValueError, match="dataset 1: positions: row 0"):
        roc_curve([detmap, detmap], [None, [(9.0, 9.0)]], 2.0)
    with pytest.raises(ValueError, match=r"positions: expected one array of \(x, y\) per detection map \(2\), got 1"):
        roc_curve([detmap, detmap], [None], 2.0)
    with pytest.raises(ValueError, match=r"fwhms: expected one FWHM per detection map \(2\)"):
        roc_curve([detmap, detmap], [None, None], [2.0, 2.0, 2.0])
    with pytest.raises(TypeError, match="detmaps: expected a sequence of 2D maps"):
        roc_curve(detmap, [None], 2.0)
    with pytest.raises(ValueError, match="bands: expected 0 <= lo < hi"):
        roc_by_separation([detmap], [None], 2.0, bands=((3, 1),))
    s = sweep_counts(detmap, None, 2.0, thresholds=[1.0, 0.0])
    with pytest.raises(ValueError, match="thresholds: 0.5 is not in this sweep's grid"):
        s.at([0.5])
    with pytest.raises(ValueError, match="statistic: expected one of 'f1', 'auc', 'partial_auc', got 'F1'"):
        bootstrap_ci([s], statistic="F1")
    with pytest.raises(ValueError, match="threshold: required for statistic='f1'"):
        bootstrap_ci([s], statistic="f1")
    with pytest.raises(TypeError, match="item 0 is a DatasetCounts, expected a SweepCounts"):
        bootstrap_ci([s.dataset_counts(1.0)], statistic="auc")
    with pytest.raises(ValueError, match="n_boot: expected an integer >= 1"):
        bootstrap_ci([s], statistic="auc", n_boot=0)
    with pytest.raises(ValueError, match=r"level: expected a value in \(0, 1\)"):
        bootstrap_ci([s], statistic="auc", level=1.0)
    with pytest.raises(TypeError, match="rng: expected None, an integer seed"):
        bootstrap_ci([s], statistic="auc", rng="seed")
    with pytest.raises(ValueError, match="thresholds: expected strictly decreasing"):
        SweepCounts(thresholds=[0.0, 1.0], tp=[0, 0], fp=[0, 0], fn=[0, 0], tn=[0, 0], n_injections=0, n_elements=0)


def test_results_are_read_only_and_convert_to_dataset_counts():
    detmap = np.eye(8)
    c = roc_curve([detmap], [[(3.0, 3.0)]], 2.0)
    assert isinstance(c, ROCCurve)
    with pytest.raises(ValueError):
        c.tp[0] = 5
    x, y = c.envelope()
    assert x[0] == 0 and y[0] == 0 and x[-1] == 1 and y[-1] == 1 and np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
    s = c.per_dataset[0]
    for t in (1.5, 0.5, 0.0, -3.0):  # 0.5 and -3.0 are not levels of the map: the sweep is complete
        got = s.dataset_counts(t)
        want = count_detections(detmap, t, [(3.0, 3.0)], 2.0)
        assert (got.tp, got.fp, got.fn, got.tn, got.n_elements) == (want.tp, want.fp, want.fn, want.tn, want.n_elements)
