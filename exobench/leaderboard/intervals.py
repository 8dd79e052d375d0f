"""Bootstrap intervals of a leaderboard entry's scores, from what its scoring stored.

F1: recomputed from the entry's per-dataset counts (the ``dataset_results`` rows)
with :func:`exobench.scoring.bootstrap.bootstrap_ci`: the phase's datasets
resampled with replacement, a fixed seed, so the same entry always gets the
same interval, and the one the scorer computed. AUC: the per-dataset ROC sweeps
are not stored, so the interval is the one the scorer computed on them (seeded
too) and kept in its detailed results; entries scored without one have none.
"""

import dataclasses
import math

__all__ = ["INTERVAL_LEVEL", "INTERVAL_RESAMPLES", "INTERVAL_SEED", "ScoreIntervals", "entry_intervals",
           "f1_interval", "format_interval"]

#: Confidence level, resamples and seed of the F1 interval (those of the scoring program's).
INTERVAL_LEVEL = 0.95
INTERVAL_RESAMPLES = 1000
INTERVAL_SEED = 0


@dataclasses.dataclass(frozen=True)
class ScoreIntervals:
    """Percentile-bootstrap intervals of an entry's scores over the phase's datasets.

    Attributes
    ----------
    f1, auc : tuple of (float, float) or None
        ``(low, high)``; None where not available (no stored counts or interval,
        or a statistic undefined in every resample).
    level : float
        The confidence level.
    """

    f1: tuple = None
    auc: tuple = None
    level: float = INTERVAL_LEVEL

    def to_dict(self):
        return {"level": self.level, "f1": None if self.f1 is None else list(self.f1),
                "auc": None if self.auc is None else list(self.auc)}


def _pair(values):
    """``(low, high)`` of finite numbers, else None."""
    if not isinstance(values, (list, tuple)) or len(values) != 2:
        return None
    if any(v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
           for v in values):
        return None
    return (float(values[0]), float(values[1]))


def f1_interval(rows, *, n_boot=INTERVAL_RESAMPLES, level=INTERVAL_LEVEL, seed=INTERVAL_SEED):
    """The F1 interval of per-dataset count rows (dicts with ``tp``, ``fp``, ``fn``, ``tn``,
    ``n_injections``, ``n_elements``, in the scorer's order), or None without rows or where undefined."""
    import warnings

    from ..scoring.bootstrap import bootstrap_ci
    from ..scoring.counting import DatasetCounts

    if not rows:
        return None
    counts = [DatasetCounts(tp=r["tp"], fp=r["fp"], fn=r["fn"], tn=r["tn"], n_injections=r["n_injections"],
                            n_elements=r["n_elements"]) for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined resamples: left out, or no interval at all
        return _pair(bootstrap_ci(counts, statistic="f1", n_boot=n_boot, level=level, rng=seed))


def entry_intervals(board, entry):
    """The :class:`ScoreIntervals` of a scored entry of ``board`` (a :class:`~exobench.leaderboard.Leaderboard`).

    The F1 interval is computed from the stored per-dataset counts
    (:data:`INTERVAL_RESAMPLES` resamples of the datasets, seed
    :data:`INTERVAL_SEED`, level :data:`INTERVAL_LEVEL`); the AUC interval is the
    scorer's, read from the stored details, when they hold one at that level.
    """
    if entry.status != "scored":
        return ScoreIntervals()
    f1 = f1_interval(board.datasets(entry.id))
    stored = ((board.details(entry.id) or {}).get("metrics") or {}).get("confidence_intervals") or {}
    auc = _pair(stored.get("auc")) if stored.get("level") == INTERVAL_LEVEL else None
    return ScoreIntervals(f1=f1, auc=auc)


def format_interval(interval, digits=2):
    """``[low, high]`` with ``digits`` decimals, or ``"-"`` for None."""
    if interval is None:
        return "-"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
