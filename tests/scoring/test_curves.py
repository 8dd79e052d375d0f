"""Tests of exobench.scoring.curves: ROC curves of phases, AUC, partial AUC, separation bands; and errors."""

import math
import warnings

import numpy as np
import pytest
from scipy import ndimage

from exobench.scoring import (
    DEFAULT_BANDS,
    ROCCurve,
    SweepCounts,
    auc,
    bootstrap_ci,
    count_detections,
    partial_auc,
    roc_by_separation,
    roc_curve,
    roc_from_counts,
    sweep_counts,
)
from exobench.scoring.curves import envelope_points
from exobench.scoring.metrics import UndefinedMetricWarning, compute_metrics

from .test_sweep import finite, rows


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
    with pytest.raises(ValueError, match=r"overlap_threshold: expected a number in \(0, 1\]"):
        sweep_counts(detmap, None, 2.0, overlap_threshold=0.0)
    with pytest.raises(ValueError, match="thresholds: expected numbers, got NaN"):
        sweep_counts(detmap, None, 2.0, thresholds=[1.0, np.nan])
    with pytest.raises(ValueError, match="thresholds: expected at least one"):
        sweep_counts(detmap, None, 2.0, thresholds=[])
    with pytest.raises(TypeError, match="unexpected keyword argument 'compat'"):
        roc_curve([detmap], [None], 2.0, compat="eidc2019")
    with pytest.raises(ValueError, match=r"max_fpr: expected a number in \(0, 1\]"):
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
    with pytest.raises(ValueError, match=r"level: expected a number in \(0, 1\)"):
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


# --------------------------------------------------------------------------- uninformative maps, the chance floor


def _phase_positions(rng, n_datasets=8, per_dataset=5, size=64):
    """Injections at 8 to 26 px from the centre of ``size``-pixel frames, uniform in angle."""
    c = size // 2
    out = []
    for _ in range(n_datasets):
        r, t = rng.uniform(8, 26, per_dataset), rng.uniform(0, 2 * np.pi, per_dataset)
        out.append(np.c_[c + r * np.cos(t), c + r * np.sin(t)])
    return out


@pytest.mark.parametrize("fill", [0.0, 3.5, -2.0, np.nan, -np.inf, np.inf])
def test_a_map_of_one_value_scores_chance(fill):
    positions = _phase_positions(np.random.default_rng(1))
    maps = [np.full((64, 64), fill) for _ in positions]
    c = roc_curve(maps, positions, 4.0)
    assert c.auc == 0.5
    assert c.partial_auc == pytest.approx(c.max_fpr / 2)


def test_gaussian_noise_scores_about_chance_and_an_oracle_scores_1():
    rng = np.random.default_rng(2)
    white, smooth = [], []
    for _ in range(6):
        positions = _phase_positions(rng)
        noise = [rng.normal(size=(64, 64)) for _ in positions]
        white.append(roc_curve(noise, positions, 4.0).auc)
        smooth.append(roc_curve([ndimage.gaussian_filter(m, 4.0 / 2.3548) for m in noise], positions, 4.0).auc)
    # never below chance; above it only by the chance fluctuations of the noise points
    for values in (white, smooth):
        assert min(values) >= 0.5 and np.mean(values) < 0.56
    yy, xx = np.indices((64, 64))
    angles = rng.uniform(0, 2 * np.pi, (8, 5))
    spaced = [np.c_[32 + r * np.cos(a), 32 + r * np.sin(a)] for r, a in zip([np.arange(8, 28, 4)] * 8, angles)]
    oracle = [np.max([np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2 / 1.7**2) for x, y in p], axis=0) for p in spaced]
    c = roc_curve(oracle, spaced, 4.0)
    assert c.auc == 1.0 and c.partial_auc == 1.0


def _brute_force_area(fpr, tpr, upto=1.0, samples=200_001):
    """max(envelope, FPR) integrated on a fine grid, the envelope rebuilt from its definition.

    Points sorted by FPR with the best TPR so far; at an FPR shared by several points
    the curve arrives at the lowest and leaves from the highest (a vertical step).
    """
    pts = sorted(zip([0.0, *fpr, 1.0], [0.0, *tpr, 1.0]), key=lambda p: p[0])
    xs = np.array([p[0] for p in pts])
    ys = np.maximum.accumulate(np.array([p[1] for p in pts]))
    ux = np.unique(xs)
    arrive = np.array([ys[xs == u][0] for u in ux])
    leave = np.array([ys[xs == u][-1] for u in ux])
    grid = np.linspace(0.0, upto, samples)
    j = np.clip(np.searchsorted(ux, grid, side="right") - 1, 0, len(ux) - 2)
    t = np.clip((grid - ux[j]) / (ux[j + 1] - ux[j]), 0.0, 1.0)
    curve = np.maximum(leave[j] + t * (arrive[j + 1] - leave[j]), grid)
    return float(np.sum(np.diff(grid) * (curve[1:] + curve[:-1]) / 2) / upto)


def test_the_area_of_the_floored_envelope_matches_a_brute_force_integral():
    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(1, 8))
        fpr, tpr = rng.uniform(size=n), rng.uniform(size=n)
        fpr[rng.uniform(size=n) < 0.3] = 1.0  # points of the huge blob
        assert auc(fpr, tpr) == pytest.approx(_brute_force_area(fpr, tpr), abs=2e-5)
        assert partial_auc(fpr, tpr, 0.3) == pytest.approx(_brute_force_area(fpr, tpr, 0.3), abs=2e-5)
        assert auc(fpr, tpr) >= 0.5


def test_the_plotted_curve_has_the_area_of_the_auc():
    fpr, tpr = np.array([0.05, 0.2, 0.5, 1.0]), np.array([0.3, 0.6, 0.55, 0.1])
    x, y = envelope_points(fpr, tpr)
    assert np.all(np.diff(x) >= 0) and np.all(y >= x - 1e-15) and np.all(np.diff(y) >= 0)
    assert np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) == pytest.approx(auc(fpr, tpr))
    c = roc_curve([np.zeros((16, 16))], [[(8.0, 8.0)]], 2.0)
    assert [a.tolist() for a in c.envelope()] == [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]]
