"""Detection metrics from counts: TPR (recall), FPR, precision, FDR, F1.

A phase is scored by **micro-averaging**, as the EIDC did: the counts of its
datasets are summed, then divided once. With ``TP, FP, FN, TN`` the sums and
``N`` the number of injected companions:

- ``tpr`` (recall) = TP / N (= TP / (TP + FN) with one-to-one matching);
- ``fpr`` = FP / (FP + TN);
- ``precision`` = TP / (TP + FP), ``fdr`` = FP / (TP + FP);
- ``f1`` = 2 TP / (TP + FP + N), the harmonic mean of precision and recall
  where both are defined, and 0 when TP = 0 while something was injected or
  detected (scikit-learn's convention: no detection at all scores 0, not NaN).

A metric whose denominator is 0 is undefined: it is NaN and an
:class:`UndefinedMetricWarning` says which and why (scikit-learn's style); nothing
raises. ``eidc_scores(..., compat="eidc2019")`` follows the 2019 scoring
program instead: 0 wherever it wrote 0.
"""

import dataclasses
import math
import warnings
from collections.abc import Iterable

from .. import ExobenchWarning
from .._validate import check_choice, check_suffix
from .counting import COMPAT_MODES, DatasetCounts

__all__ = [
    "UndefinedMetricWarning",
    "Metrics",
    "compute_metrics",
    "per_dataset_metrics",
    "eidc_scores",
]


class UndefinedMetricWarning(ExobenchWarning):
    """A metric's denominator is 0: the metric is set to NaN."""


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Counts and rates of one dataset or one phase (micro-averaged).

    Attributes
    ----------
    tp, fp, fn, tn : int
        Summed counts.
    tpr, fpr, precision, fdr, f1 : float
        Rates (NaN where undefined); see :mod:`exobench.scoring.metrics`.
    n_injections : int
        Number of injected companions (the recall's denominator).
    n_datasets : int
        Number of datasets summed.
    """

    tp: int
    fp: int
    fn: int
    tn: int
    tpr: float
    fpr: float
    precision: float
    fdr: float
    f1: float
    n_injections: int = 0
    n_datasets: int = 1

    @property
    def recall(self):
        """Alias of ``tpr``."""
        return self.tpr

    def as_dict(self):
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


def _as_counts_list(counts):
    if isinstance(counts, DatasetCounts):
        return [counts]
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Iterable):
        raise TypeError(f"counts: expected a DatasetCounts or an iterable of them, got {type(counts).__name__}")
    items = list(counts)
    for i, item in enumerate(items):
        if not isinstance(item, DatasetCounts):
            raise TypeError(f"counts: item {i} is a {type(item).__name__}, expected a DatasetCounts")
    if not items:
        raise ValueError("counts: expected at least one DatasetCounts, got none")
    return items


def _ratio(num, den):
    return num / den if den else math.nan


def _metrics(items):
    """Micro-averaged metrics and the list of (metric, reason) left undefined."""
    tp = sum(c.tp for c in items)
    fp = sum(c.fp for c in items)
    fn = sum(c.fn for c in items)
    tn = sum(c.tn for c in items)
    n = sum(c.n_injections for c in items)
    undefined = []
    if n == 0:
        undefined.append(("tpr", "no injection"))
    if fp + tn == 0:
        undefined.append(("fpr", "FP + TN = 0"))
    if tp + fp == 0:
        undefined.append(("precision and fdr", "no detection (TP + FP = 0)"))
    if tp + fp + n == 0:
        undefined.append(("f1", "nothing injected and nothing detected"))
    metrics = Metrics(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        tpr=_ratio(tp, n),
        fpr=_ratio(fp, fp + tn),
        precision=_ratio(tp, tp + fp),
        fdr=_ratio(fp, tp + fp),
        f1=_ratio(2 * tp, tp + fp + n),
        n_injections=n,
        n_datasets=len(items),
    )
    return metrics, undefined


def _warn_undefined(undefined, where, stacklevel=3):
    if undefined:
        listed = "; ".join(f"{name}: {why}" for name, why in undefined)
        warnings.warn(f"undefined metric(s) set to NaN{where}: {listed}", UndefinedMetricWarning, stacklevel=stacklevel)


def compute_metrics(counts):
    """Micro-averaged metrics of one dataset or of a phase's datasets.

    Parameters
    ----------
    counts : DatasetCounts or iterable of DatasetCounts
        One dataset, or the datasets of a phase (summed, then divided).

    Returns
    -------
    Metrics
        NaN where a denominator is 0, with an :class:`UndefinedMetricWarning`.

    Examples
    --------
    >>> from exobench.scoring.counting import DatasetCounts
    >>> a = DatasetCounts(tp=2, fp=1, fn=1, tn=80, n_injections=3, n_elements=84)
    >>> b = DatasetCounts(tp=0, fp=3, fn=0, tn=85, n_injections=0, n_elements=88)
    >>> m = compute_metrics([a, b])
    >>> m.tp, m.fp, round(m.tpr, 4), m.precision, round(m.f1, 4)
    (2, 4, 0.6667, 0.3333333333333333, 0.4444)
    """
    metrics, undefined = _metrics(_as_counts_list(counts))
    _warn_undefined(undefined, "")
    return metrics


def per_dataset_metrics(counts):
    """Metrics of each dataset on its own.

    Parameters
    ----------
    counts : DatasetCounts or iterable of DatasetCounts

    Returns
    -------
    list of Metrics
        One per dataset, in order; one :class:`UndefinedMetricWarning` lists the
        datasets with undefined (NaN) metrics.

    Examples
    --------
    >>> import warnings
    >>> from exobench.scoring.counting import DatasetCounts
    >>> a = DatasetCounts(tp=1, fp=1, fn=0, tn=80, n_injections=1, n_elements=82)
    >>> b = DatasetCounts(tp=0, fp=2, fn=0, tn=86, n_injections=0, n_elements=88)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     [m.precision for m in per_dataset_metrics([a, b])]
    [0.5, 0.0]
    """
    results = []
    notes = []
    for i, item in enumerate(_as_counts_list(counts)):
        metrics, undefined = _metrics([item])
        results.append(metrics)
        notes.extend((f"dataset {i} {name}", why) for name, why in undefined)
    _warn_undefined(notes, "")
    return results


def eidc_scores(counts, *, suffix="3d", compat=None):
    """The EIDC leaderboard scores of a phase: F1, precision, recall, false positives.

    Parameters
    ----------
    counts : DatasetCounts or iterable of DatasetCounts
        The phase's datasets (micro-averaged).
    suffix : str, optional
        Key suffix: ``"3d"`` (ADI) or ``"4d"`` (ADI+mSDI) as in the EIDC; any
        alphanumeric string; ``""`` for bare keys.
    compat : {None, "eidc2019"}, optional
        None: the metrics of :func:`compute_metrics` (NaN with a warning where
        undefined). ``"eidc2019"``: the 2019 program's formulas, recall =
        TP / N or 0 when N = 0; precision = TP / (TP + FP) and F1 = 2PR / (P + R), both
        0 when TP + FP = 0. Where the 2019 program crashed (TP = 0 < FP: 0 / 0 in F1)
        F1 is 0, with an :class:`UndefinedMetricWarning`. This mode only changes the
        formulas; count with ``count_detections(..., compat="eidc2019")`` to
        reproduce the 2019 counting.

    Returns
    -------
    dict
        ``{"F1_3d": ..., "Precision_3d": ..., "Recall_3d": ..., "FalsePositives_3d": ...}``,
        floats.

    Examples
    --------
    >>> from exobench.scoring.counting import DatasetCounts
    >>> a = DatasetCounts(tp=2, fp=2, fn=1, tn=80, n_injections=3, n_elements=85)
    >>> {k: round(v, 6) for k, v in eidc_scores([a]).items()}
    {'F1_3d': 0.571429, 'Precision_3d': 0.5, 'Recall_3d': 0.666667, 'FalsePositives_3d': 2.0}
    """
    if suffix != "":
        check_suffix(suffix, "suffix")
    check_choice(compat, "compat", COMPAT_MODES)
    items = _as_counts_list(counts)
    end = f"_{suffix}" if suffix else ""
    if compat == "eidc2019":
        tp = float(sum(c.tp for c in items))
        fp = float(sum(c.fp for c in items))
        n = float(sum(c.n_injections for c in items))
        recall = tp / n if n > 0 else 0.0
        if tp + fp != 0:
            precision = tp / (tp + fp)
            if precision + recall == 0:
                warnings.warn(
                    "F1 is 0/0 (no true positive but false positives): set to 0; "
                    "the 2019 scoring program crashed here",
                    UndefinedMetricWarning,
                    stacklevel=2,
                )
                f1 = 0.0
            else:
                f1 = 2 * precision * recall / (precision + recall)
        else:
            precision = f1 = 0.0
        false_positives = fp
    else:
        metrics, undefined = _metrics(items)
        _warn_undefined(undefined, "")
        f1, precision, recall = metrics.f1, metrics.precision, metrics.tpr
        false_positives = float(metrics.fp)
    return {
        f"F1{end}": float(f1),
        f"Precision{end}": float(precision),
        f"Recall{end}": float(recall),
        f"FalsePositives{end}": false_positives,
    }
