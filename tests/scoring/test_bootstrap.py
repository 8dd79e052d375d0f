"""Tests of exobench.scoring.bootstrap: percentile bootstrap intervals over datasets."""

import math
import warnings

import numpy as np
import pytest

from exobench.scoring import DatasetCounts, bootstrap_ci, count_detections, roc_curve
from exobench.scoring.metrics import UndefinedMetricWarning, compute_metrics

from .test_curves import phase


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
