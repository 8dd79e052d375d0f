"""Percentile bootstrap confidence intervals of F1, AUC or partial AUC over a phase's datasets.

The *datasets* of a phase are resampled with replacement, with a seeded
:class:`numpy.random.Generator` (reproducible); each resample's counts are summed
(micro-average, as for the point estimate) and the statistic computed on them.
"""

import math
import numbers

import numpy as np

from .._validate import check_choice, check_integer, check_range
from .checks import as_thresholds, check_max_fpr
from .counting import DatasetCounts
from .curves import DEFAULT_MAX_FPR, ROCCurve, envelope, envelope_area, warn_undefined
from .sweep import SweepCounts

__all__ = ["bootstrap_ci", "DEFAULT_SEED"]

#: Seed of :func:`bootstrap_ci` when none is given (results are reproducible).
DEFAULT_SEED = 0

_STATISTICS = ("f1", "auc", "partial_auc")


def _f1(tp, fp, n):
    den = tp + fp + n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), np.nan)


def bootstrap_ci(
    per_dataset_counts,
    *,
    statistic="f1",
    threshold=None,
    thresholds=None,
    max_fpr=DEFAULT_MAX_FPR,
    n_boot=1000,
    level=0.95,
    rng=None,
):
    """Percentile bootstrap confidence interval of F1, AUC or partial AUC over datasets.

    The datasets of the phase are resampled with replacement ``n_boot`` times; the
    statistic is computed on each resample's summed counts (micro-average, as
    for the point estimate); the interval holds the central ``level`` of them.

    Parameters
    ----------
    per_dataset_counts : sequence, or ROCCurve
        For ``"f1"``: :class:`~exobench.scoring.counting.DatasetCounts` (one
        threshold), or :class:`~exobench.scoring.sweep.SweepCounts` with ``threshold``. For ``"auc"`` and
        ``"partial_auc"``: :class:`~exobench.scoring.sweep.SweepCounts` on one grid or complete ones (a
        :class:`~exobench.scoring.curves.ROCCurve` stands for its ``per_dataset``).
    statistic : {"f1", "auc", "partial_auc"}
        F1 = 2 TP / (TP + FP + N) as :mod:`~exobench.scoring.metrics`; AUC and partial
        AUC as :func:`~exobench.scoring.curves.roc_curve`.
    threshold : float, optional
        The threshold of F1 when the counts are sweeps (the submitted one).
    thresholds : array_like, optional
        The grid of the AUC; default the union of the sweeps' grids (the grid
        of :func:`~exobench.scoring.curves.roc_curve`).
    max_fpr : float
        FPR bound of the partial AUC.
    n_boot : int
        Number of resamples (>= 1).
    level : float
        Confidence level in (0, 1).
    rng : int, numpy.random.Generator or None
        A seed or a generator; None uses the fixed seed ``DEFAULT_SEED`` (0), so
        that the same call gives the same interval.

    Returns
    -------
    (low, high) : tuple of float
        The percentiles ``(1 - level) / 2`` and ``(1 + level) / 2`` of the resampled
        statistic (``numpy.quantile``, linear). NaN, NaN with an
        :class:`~exobench.scoring.metrics.UndefinedMetricWarning`
        when no resample defines the statistic; resamples that leave it undefined
        (no injection drawn) are left out, with a warning.

    Notes
    -----
    F1 costs nothing; the AUC of each resample costs a pass over the grid, so the
    cost grows as ``n_boot`` times the grid's length. Pass a coarser ``thresholds``
    grid for speed (the AUC is then that of the coarser curve).

    Examples
    --------
    >>> from exobench.scoring.counting import DatasetCounts
    >>> counts = [DatasetCounts(tp=t, fp=f, fn=3 - t, tn=80, n_injections=3, n_elements=90)
    ...           for t, f in [(3, 0), (2, 1), (1, 2), (3, 1), (2, 0)]]
    >>> low, high = bootstrap_ci(counts, statistic="f1", n_boot=200, rng=1)
    >>> 0 <= low <= 11 / 15 <= high <= 1
    True
    """
    check_choice(statistic, "statistic", _STATISTICS)
    check_integer(n_boot, "n_boot", minimum=1)
    level = check_range(level, "level", 0, 1, closed="neither")
    rng = _generator(rng)
    items, thresholds = _datasets(per_dataset_counts, thresholds)
    d = len(items)

    # resamples as multiplicities: weights[b, i] = times dataset i is drawn in resample b
    draws = rng.integers(0, d, size=(n_boot, d))
    weights = np.zeros((n_boot, d))
    np.add.at(weights, (np.repeat(np.arange(n_boot), d), draws.ravel()), 1.0)

    if statistic == "f1":
        values = _f1_values(items, weights, threshold)
    else:
        max_fpr = check_max_fpr(max_fpr)
        values = _auc_values(items, weights, thresholds, max_fpr if statistic == "partial_auc" else None, statistic)
    return _interval(values, level, statistic, n_boot)


def _generator(rng):
    if rng is None:
        rng = DEFAULT_SEED
    if not isinstance(rng, np.random.Generator):
        if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
            raise TypeError(f"rng: expected None, an integer seed or a numpy.random.Generator, got {rng!r}")
        rng = np.random.default_rng(rng)
    return rng


def _datasets(per_dataset_counts, thresholds):
    """The per-dataset items (a ROCCurve stands for its per_dataset) and the AUC grid."""
    if isinstance(per_dataset_counts, ROCCurve):
        items = list(per_dataset_counts.per_dataset)
        if thresholds is None:
            thresholds = per_dataset_counts.thresholds
    else:
        if isinstance(per_dataset_counts, (DatasetCounts, SweepCounts)) or not hasattr(per_dataset_counts, "__len__"):
            raise TypeError("per_dataset_counts: expected a sequence of counts (one per dataset) or a ROCCurve")
        items = list(per_dataset_counts)
    if not items:
        raise ValueError("per_dataset_counts: expected at least one dataset, got none")
    return items, thresholds


def _f1_values(items, weights, threshold):
    rows = []
    for i, item in enumerate(items):
        if isinstance(item, SweepCounts):
            if threshold is None:
                raise ValueError("threshold: required for statistic='f1' with SweepCounts (the submitted threshold)")
            item = item.dataset_counts(threshold)
        elif not isinstance(item, DatasetCounts):
            raise TypeError(f"per_dataset_counts: item {i} is a {type(item).__name__}, expected counts")
        rows.append((item.tp, item.fp, item.n_injections))
    tp, fp, n = (weights @ np.array(rows, dtype=float)).T
    return _f1(tp, fp, n)


def _auc_values(items, weights, thresholds, bound, statistic):
    """The AUC (``bound`` None) or partial AUC of each resample, on the grid."""
    for i, item in enumerate(items):
        if not isinstance(item, SweepCounts):
            raise TypeError(
                f"per_dataset_counts: item {i} is a {type(item).__name__}, expected a SweepCounts "
                f"for statistic={statistic!r}"
            )
    if thresholds is None:
        grid = np.unique(np.concatenate([s.thresholds for s in items]))[::-1].copy()
    else:
        grid = as_thresholds(thresholds, "thresholds")
    rows = [slice(None) if np.array_equal(s.thresholds, grid) else s.rows(grid, checked=True)[0] for s in items]
    m_tp = np.array([s.tp[r] for s, r in zip(items, rows)], dtype=float)
    m_fp = np.array([s.fp[r] for s, r in zip(items, rows)], dtype=float)
    m_den = np.array([(s.fp + s.tn)[r] for s, r in zip(items, rows)], dtype=float)
    n_inj = np.array([s.n_injections for s in items], dtype=float)
    n_boot = len(weights)
    values = np.empty(n_boot)
    chunk = max(1, int(2_000_000 // max(len(grid), 1)))  # resamples per block (memory)
    for start in range(0, n_boot, chunk):
        w = weights[start : start + chunk]
        n = w @ n_inj
        with np.errstate(invalid="ignore", divide="ignore"):
            tpr = (w @ m_tp) / n[:, None]
            den = w @ m_den
            fpr = np.where(den > 0, (w @ m_fp) / np.where(den > 0, den, 1.0), np.nan)
            tpr = np.where(n[:, None] > 0, tpr, np.nan)
        values[start : start + chunk] = envelope_area(*envelope(fpr, tpr), max_fpr=bound)
    return values


def _interval(values, level, statistic, n_boot):
    """The central ``level`` percentile interval of the defined values (NaN, NaN if none)."""
    ok = ~np.isnan(values)
    if not np.any(ok):
        warn_undefined(f"bootstrap_ci: {statistic} is undefined in every resample; the interval is (nan, nan)", 4)
        return (math.nan, math.nan)
    if not np.all(ok):
        warn_undefined(
            f"bootstrap_ci: {statistic} is undefined in {int(np.count_nonzero(~ok))} of {n_boot} resamples "
            "(no injection drawn, or FP + TN = 0); they are left out",
            4,
        )
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values[ok], [alpha, 1.0 - alpha])
    return (float(low), float(high))
