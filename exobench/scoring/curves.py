"""ROC curves of a phase over a threshold sweep: AUC, partial AUC, separation bands.

Each dataset is counted at every threshold by :mod:`exobench.scoring.sweep`, with
the rules of :func:`~exobench.scoring.counting.count_detections` (the corrected
counting). A phase (several datasets) is micro-averaged as
:mod:`exobench.scoring.metrics` does: at each threshold the counts are summed over
the datasets, then ``tpr = TP / N`` (``N`` injections), ``fpr = FP / (FP + TN)`` and
``mean_fp = FP / n_datasets``.

- **AUC**: the area under the *envelope* of the curve, floored at chance. The
  envelope: the points (FPR, TPR) of every threshold and the end points (0, 0)
  and (1, 1), sorted by FPR, each TPR replaced by the best TPR of the points of no
  larger FPR, joined by straight lines (trapezoids). The counting is not monotone
  in the threshold: blobs merge (FPR may step back), and at low thresholds a
  companion's blob grows huge and turns into false positives (TPR falls; at
  ``-inf`` the whole map is one huge blob, TPR 0 at FPR 1). The envelope is the
  best TPR that some threshold reaches within a false-positive budget, so a map
  that detects every companion without a false positive at some threshold has
  AUC 1; where FPR and TPR both grow as the threshold falls it is the usual
  trapezoidal AUC. Where the envelope runs below the diagonal TPR = FPR, the
  diagonal counts instead: chance is always within reach (flag resolution
  elements at random), and without the floor the blob counting would score maps
  that carry no information below 0.5 (a constant map's only points are (0, 0)
  and the huge blob's (1, 0): AUC 0; Gaussian noise well under 0.5). With it, every
  uninformative map scores 0.5 (Gaussian noise slightly above, by its chance
  fluctuations) and an oracle map 1. The raw points are kept in ``tpr`` and
  ``fpr``; :func:`envelope_points` gives the curve whose area this is.
- **Ties**: a threshold ``t`` detects the pixels strictly above it, so pixels of
  equal value are detected together; NaN (and ``-inf``) pixels are never detected.
  A map of one constant value therefore has two operating points only: nothing
  detected, and everything detected as one huge blob.
- **Partial AUC**: the area under the same envelope over ``0 <= FPR <= max_fpr``
  (cut at ``max_fpr`` by linear interpolation), divided by ``max_fpr`` (plain
  normalisation, *not* McClish's standardisation): 1 for a perfect detector,
  ``max_fpr / 2`` for a chance or uninformative one.
- Undefined cases (no injection in the phase, or FP + TN = 0 at some threshold)
  give NaN, with an :class:`~exobench.scoring.metrics.UndefinedMetricWarning`;
  nothing raises.

**Separation bands** (:func:`roc_by_separation`): a band ``(lo, hi)`` in FWHM is the
annulus ``lo * fwhm <= r < hi * fwhm`` about the frame centre (pixel ``n // 2``).
The matching is done once, over all injections, as for the whole map; then

- an injection belongs to the band holding its position (its TP or FN goes there);
- a false positive belongs to the band holding its blob's *centroid* (the mean of
  the blob's pixel positions): an unmatched blob counts 1 there, a huge blob its
  area / element; each band's false positives are rounded once, as a dataset's are;
- the band's elements are ``floor(pixels / A_e)`` over the pixels of the evaluation
  annulus (``r >= inner_radius``) that lie in the band, and its true negatives
  ``max(n_elements - n_injections - fp, 0)`` with the band's numbers.

Positions and blobs outside every band are not counted; bands may overlap (each
is counted on its own).
"""

import dataclasses
import warnings

import numpy as np

from ..challenge.settings import DEFAULT_MAX_FPR
from .checks import as_number, as_thresholds, check_max_fpr, readonly
from .counting import COUNTING_OPTIONS, CountingRules
from .metrics import UndefinedMetricWarning
from .sweep import SweepCounts, own_sweep_counts, phase_counts, sweep_dataset

__all__ = [
    "ROCCurve",
    "roc_curve",
    "roc_by_separation",
    "roc_from_counts",
    "auc",
    "partial_auc",
    "envelope",
    "envelope_area",
    "envelope_points",
    "warn_undefined",
    "DEFAULT_BANDS",
    "DEFAULT_MAX_FPR",
]

#: Separation bands of :func:`roc_by_separation`, in FWHM (the EIDC's two ranges of
#: injection separations: the inner one widened to the star).
DEFAULT_BANDS = ((0.0, 6.0), (6.0, 20.0))


@dataclasses.dataclass(frozen=True)
class ROCCurve:
    """The ROC curve of a phase (its datasets' counts summed at each threshold).

    Attributes
    ----------
    thresholds : ndarray of float
        Decreasing thresholds, common to the datasets.
    tp, fp, fn, tn : ndarray of int
        Counts summed over the datasets.
    tpr, fpr, mean_fp : ndarray of float
        ``TP / N``, ``FP / (FP + TN)`` and ``FP / n_datasets`` (NaN where undefined).
    auc : float
        Area under the envelope of TPR against FPR from (0, 0) to (1, 1), floored
        at chance (see :mod:`exobench.scoring.curves`); NaN where undefined.
    partial_auc : float
        The area over ``FPR <= max_fpr``, divided by ``max_fpr``.
    max_fpr : float
    n_injections : int
        Injections of the phase (of the band).
    n_datasets : int
    per_dataset : tuple of SweepCounts
        Each dataset's own complete sweep (every distinct level of its map), for
        :func:`~exobench.scoring.bootstrap.bootstrap_ci` (re-gridded exactly with :meth:`SweepCounts.at`).
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    tpr: np.ndarray
    fpr: np.ndarray
    mean_fp: np.ndarray
    auc: float
    partial_auc: float
    max_fpr: float
    n_injections: int = 0
    n_datasets: int = 0
    per_dataset: tuple = dataclasses.field(default=(), repr=False)

    def __len__(self):
        return len(self.thresholds)

    def envelope(self):
        """The (fpr, tpr) vertices of the curve whose area is ``auc``, end points included (for plots)."""
        return envelope_points(self.fpr, self.tpr)

    def index(self, threshold):
        """Row of ``threshold`` in the grid (it must be there, e.g. given with ``include=``)."""
        t = as_number(threshold, "threshold")
        hits = np.flatnonzero(self.thresholds == t)
        if hits.size == 0:
            raise ValueError(f"threshold: {t!r} is not in the curve's grid (add it with include=)")
        return int(hits[0])


# --------------------------------------------------------------------------- validation


def _sweep_rules(options, where):
    """The :class:`CountingRules` of a sweep from the keyword options of ``where``.

    The sweep counts with the corrected rules: ``compat`` is not an option here.
    """
    unknown = sorted(set(options) - set(COUNTING_OPTIONS))
    if unknown:
        raise TypeError(
            f"{where}() got an unexpected keyword argument {unknown[0]!r} "
            f"(counting options: {', '.join(COUNTING_OPTIONS)})"
        )
    return CountingRules(**options)


def _as_sequence(value, name):
    if isinstance(value, np.ndarray):
        if value.ndim == 2:
            raise TypeError(f"{name}: expected a sequence of 2D maps (one per dataset), got one 2D array")
        return list(value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name}: expected a sequence (one item per dataset), got {type(value).__name__}")
    return list(value)


def _phase_inputs(detmaps, positions, fwhms):
    maps = _as_sequence(detmaps, "detmaps")
    if not maps:
        raise ValueError("detmaps: expected at least one detection map, got none")
    pos = _as_sequence(positions, "positions")
    if len(pos) != len(maps):
        raise ValueError(f"positions: expected one array of (x, y) per detection map ({len(maps)}), got {len(pos)}")
    if np.ndim(fwhms) == 0:
        fw = [fwhms] * len(maps)
    else:
        fw = list(np.asarray(fwhms).ravel()) if isinstance(fwhms, np.ndarray) else list(fwhms)
        if len(fw) != len(maps):
            raise ValueError(f"fwhms: expected one FWHM per detection map ({len(maps)}) or one number, got {len(fw)}")
    return maps, pos, fw


# --------------------------------------------------------------------------- curves


def warn_undefined(message, stacklevel=3):
    warnings.warn(message, UndefinedMetricWarning, stacklevel=stacklevel)


def envelope(fpr, tpr):
    """The upper envelope of ROC points, along the last axis: sorted FPR, best TPR so far.

    The end points (0, 0) and (1, 1) are added; the points are sorted by FPR and
    each TPR is replaced by the largest TPR of the points of no larger FPR.
    """
    fpr = np.atleast_1d(np.asarray(fpr, dtype=float))
    tpr = np.atleast_1d(np.asarray(tpr, dtype=float))
    if fpr.shape != tpr.shape:
        raise ValueError(f"fpr, tpr: expected arrays of one shape, got {fpr.shape} and {tpr.shape}")
    lead = fpr.shape[:-1]
    x = np.concatenate([np.zeros(lead + (1,)), fpr, np.ones(lead + (1,))], axis=-1)
    y = np.concatenate([np.zeros(lead + (1,)), tpr, np.ones(lead + (1,))], axis=-1)
    nan = np.any(np.isnan(x) | np.isnan(y), axis=-1)
    order = np.argsort(x, axis=-1, kind="stable")  # FPR is nearly sorted already: fast
    x = np.take_along_axis(x, order, axis=-1)
    y = np.maximum.accumulate(np.take_along_axis(y, order, axis=-1), axis=-1)
    return x, y, nan


def envelope_area(x, y, nan, max_fpr=None):
    """Area under an envelope of :func:`envelope` floored at chance, over FPR <= max_fpr, divided by max_fpr.

    On each segment between two points the envelope is a straight line; where it
    runs below the chance diagonal ``TPR = FPR`` the diagonal is integrated instead
    (the exact area of ``max(envelope, FPR)``, crossings included).
    """
    m = 1.0 if max_fpr is None else min(float(max_fpr), 1.0)
    x0, x1, y0, y1 = x[..., :-1], x[..., 1:], y[..., :-1], y[..., 1:]
    if m < 1.0:  # cut each segment at m by linear interpolation
        crossing = (x0 < m) & (x1 > m)
        with np.errstate(invalid="ignore", divide="ignore"):
            y_at_m = np.where(crossing, y0 + (y1 - y0) * (m - x0) / np.where(crossing, x1 - x0, 1.0), y1)
        x1, y1 = np.minimum(x1, m), np.where(x1 <= m, y1, y_at_m)
    area = np.where(x0 < m, _segment_area_above_chance(x0, x1, y0, y1), 0.0)
    return np.where(nan, np.nan, np.sum(area, axis=-1) / m)


def _segment_area_above_chance(x0, x1, y0, y1):
    """The integral of ``max(line, FPR)`` over each segment from (x0, y0) to (x1, y1)."""
    width = x1 - x0
    d0, d1 = y0 - x0, y1 - x1  # height above the diagonal at each end
    trapezoid = width * (y0 + y1) / 2.0
    chance = width * (x0 + x1) / 2.0
    above = np.maximum(d0, d1)
    with np.errstate(invalid="ignore", divide="ignore"):  # a crossing: the triangle above the diagonal
        triangle = width * above**2 / (2.0 * np.where(d0 * d1 < 0, np.abs(d0) + np.abs(d1), 1.0))
    return np.where((d0 >= 0) & (d1 >= 0), trapezoid, np.where((d0 <= 0) & (d1 <= 0), chance, chance + triangle))


def envelope_points(fpr, tpr):
    """The vertices of the curve whose area is the AUC, for plots: the envelope floored at chance.

    The points of :func:`envelope` (1D), with each TPR raised to the diagonal where
    it lies below it and the points where the envelope crosses the diagonal added.

    Examples
    --------
    >>> x, y = envelope_points([1.0], [0.0])  # a constant map: the chance diagonal
    >>> x.tolist(), y.tolist()
    ([0.0, 1.0, 1.0], [0.0, 1.0, 1.0])
    >>> x, y = envelope_points([0.2, 1.0], [0.6, 0.0])  # TPR lost at FPR 1: the plateau meets chance at 0.6
    >>> x.round(12).tolist(), y.round(12).tolist()
    ([0.0, 0.2, 0.6, 1.0, 1.0], [0.0, 0.6, 0.6, 1.0, 1.0])
    """
    x, y, nan = envelope(fpr, tpr)
    if x.ndim != 1:
        raise ValueError(f"fpr, tpr: expected 1D arrays, got shape {x.shape[:-1] + (x.shape[-1] - 2,)}")
    if nan:
        return np.array([]), np.array([])
    d = y - x
    cross = np.flatnonzero(d[:-1] * d[1:] < 0)
    t = d[cross] / (d[cross] - d[cross + 1])  # where the segment meets the diagonal
    xs = x[cross] + t * (x[cross + 1] - x[cross])
    px = np.insert(x, cross + 1, xs)
    py = np.maximum(np.insert(y, cross + 1, xs), px)
    return px, py


def auc(fpr, tpr):
    """Area under the ROC envelope floored at chance, from (0, 0) to (1, 1).

    The envelope of the points ``(fpr[i], tpr[i])`` (any order) and of the end
    points (0, 0) and (1, 1): sorted by FPR, with at each point the best TPR of the
    points of no larger FPR, joined by straight lines; the area is that of the
    larger of this line and the diagonal TPR = FPR (see the module). For a curve
    above the diagonal whose FPR and TPR both grow as the threshold falls it is the
    usual trapezoidal AUC. Works along the last axis of 2D arrays; NaN if a point is NaN.

    Examples
    --------
    >>> float(auc([0.0, 0.0], [0.5, 1.0]))  # perfect: TPR 1 at FPR 0
    1.0
    >>> float(auc([0.25, 0.5], [0.25, 0.5]))  # chance
    0.5
    >>> float(auc([0.0, 1.0], [1.0, 0.0]))  # TPR lost at FPR 1 (a huge blob): still 1
    1.0
    >>> float(auc([1.0], [0.0]))  # a constant map: chance, not 0
    0.5
    """
    return envelope_area(*envelope(fpr, tpr))


def partial_auc(fpr, tpr, max_fpr):
    """Area under the ROC envelope over ``0 <= FPR <= max_fpr``, divided by ``max_fpr``.

    The envelope of :func:`auc` (floored at chance), cut at ``max_fpr`` by linear
    interpolation; plain normalisation: 1 for a perfect detector, ``max_fpr / 2``
    for a chance one, and never less.

    Examples
    --------
    >>> float(partial_auc([0.0, 0.0], [0.5, 1.0], 0.01))
    1.0
    >>> round(float(partial_auc([0.25, 0.5], [0.25, 0.5], 0.1)), 12)
    0.05
    """
    return envelope_area(*envelope(fpr, tpr), max_fpr=check_max_fpr(max_fpr))


def _rates(tp, fp, tn, n_injections):
    """(tpr, fpr, notes) with NaN where undefined."""
    notes = []
    tp = np.asarray(tp, dtype=float)
    fp = np.asarray(fp, dtype=float)
    den = fp + np.asarray(tn, dtype=float)
    if n_injections > 0:
        tpr = tp / n_injections
    else:
        tpr = np.full(tp.shape, np.nan)
        notes.append("tpr: no injection")
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.where(den > 0, fp / np.where(den > 0, den, 1.0), np.nan)
    if np.any(den == 0):
        notes.append(f"fpr: FP + TN = 0 at {int(np.count_nonzero(den == 0))} threshold(s)")
    return tpr, fpr, notes


def _stack(per_dataset, grid):
    """(tp, fp, fn, tn) summed over datasets, on ``grid``."""
    sums = [np.zeros(len(grid), dtype=np.int64) for _ in range(4)]
    for s in per_dataset:
        rows = slice(None) if np.array_equal(s.thresholds, grid) else s.rows(grid, checked=True)[0]
        for total, part in zip(sums, (s.tp, s.fp, s.fn, s.tn)):
            total += part[rows]
    return sums


def roc_from_counts(per_dataset, *, thresholds=None, max_fpr=DEFAULT_MAX_FPR):
    """The ROC curve of a phase from its datasets' :class:`SweepCounts`.

    Parameters
    ----------
    per_dataset : sequence of SweepCounts
        One per dataset, on one common grid, or ``complete`` sweeps (re-gridded exactly).
    thresholds : array_like, optional
        The grid; default the union of the datasets' grids.
    max_fpr : float
        FPR bound of the partial AUC, in (0, 1].

    Returns
    -------
    ROCCurve
    """
    items = list(per_dataset)
    if not items:
        raise ValueError("per_dataset: expected at least one SweepCounts, got none")
    for i, item in enumerate(items):
        if not isinstance(item, SweepCounts):
            raise TypeError(f"per_dataset: item {i} is a {type(item).__name__}, expected a SweepCounts")
    max_fpr = check_max_fpr(max_fpr)
    if thresholds is None:
        grid = np.unique(np.concatenate([s.thresholds for s in items]))[::-1].copy()
    else:
        grid = as_thresholds(thresholds, "thresholds")
    tp, fp, fn, tn = _stack(items, grid)
    n_inj = sum(s.n_injections for s in items)
    return _curve(grid, tp, fp, fn, tn, n_inj, items, max_fpr, "")


def _curve(grid, tp, fp, fn, tn, n_inj, items, max_fpr, where):
    tpr, fpr, notes = _rates(tp, fp, tn, n_inj)
    if notes:
        warn_undefined(f"ROC curve{where}: undefined rates set to NaN ({'; '.join(notes)}); AUC is NaN", 4)
    points = envelope(fpr, tpr)
    return ROCCurve(
        thresholds=readonly(grid, np.float64),
        tp=readonly(tp, np.int64),
        fp=readonly(fp, np.int64),
        fn=readonly(fn, np.int64),
        tn=readonly(tn, np.int64),
        tpr=readonly(tpr, np.float64),
        fpr=readonly(fpr, np.float64),
        mean_fp=readonly(fp / len(items), np.float64),
        auc=float(envelope_area(*points)),
        partial_auc=float(envelope_area(*points, max_fpr=max_fpr)),
        max_fpr=max_fpr,
        n_injections=int(n_inj),
        n_datasets=len(items),
        per_dataset=tuple(items),
    )


def _phase_sweeps(detmaps, positions, fwhms, rules, bands):
    """Each dataset's :class:`~exobench.scoring.basins.MapSweep`; errors name the dataset."""
    maps, pos, fw = _phase_inputs(detmaps, positions, fwhms)
    sweeps = []
    for i, (detmap, p, f) in enumerate(zip(maps, pos, fw)):
        try:
            sweeps.append(sweep_dataset(detmap, p, f, rules, bands=bands))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"dataset {i}: {exc}") from exc
    return sweeps


def roc_curve(detmaps, positions, fwhms, *, thresholds=None, include=None, max_fpr=DEFAULT_MAX_FPR, **counting_options):
    """The ROC curve of a phase over a threshold sweep.

    Parameters
    ----------
    detmaps : sequence of 2D arrays
        One detection map per dataset.
    positions : sequence of (n, 2) arrays
        Each dataset's injections as (x, y) (``n`` may be 0).
    fwhms : float or sequence of float
        Reference FWHM of each dataset (or one for all).
    thresholds : array_like, optional
        The grid. Default: every distinct level of every map, then ``-inf``.
    include : float or array_like, optional
        Thresholds always added to the grid (the submitted threshold).
    max_fpr : float, optional
        FPR bound of the partial AUC, in (0, 1]; default 0.01.
    **counting_options
        ``npix``, ``overlap_threshold``, ``max_blob_fact``, ``inner_radius`` of
        :func:`~exobench.scoring.counting.count_detections`.

    Returns
    -------
    ROCCurve
        ``per_dataset`` holds each dataset's own sweep (all its levels by default).

    Examples
    --------
    >>> import numpy as np
    >>> detmap = np.zeros((32, 32))
    >>> detmap[16, 15:18] = 5.0                   # on the injection
    >>> detmap[4, 4:6] = 2.0                      # a false positive
    >>> c = roc_curve([detmap], [[(16.0, 16.0)]], 4.0, include=1.0)
    >>> c.thresholds.tolist(), c.tp.tolist(), c.fp.tolist()
    ([5.0, 2.0, 1.0, 0.0, -inf], [0, 1, 1, 1, 0], [0, 0, 1, 1, 23])
    >>> float(c.auc), float(c.partial_auc)
    (1.0, 1.0)
    """
    rules = _sweep_rules(counting_options, "roc_curve")
    max_fpr = check_max_fpr(max_fpr)
    sweeps = _phase_sweeps(detmaps, positions, fwhms, rules, None)
    grid, total, own = phase_counts(sweeps, thresholds, include)
    per_dataset = [own_sweep_counts(s, counts, 0) for s, counts in zip(sweeps, own)]
    n_inj = sum(c.n_injections for c in per_dataset)
    return _curve(grid, *total[:, 0], n_inj, per_dataset, max_fpr, "")


def roc_by_separation(
    detmaps,
    positions,
    fwhms,
    *,
    bands=DEFAULT_BANDS,
    thresholds=None,
    include=None,
    max_fpr=DEFAULT_MAX_FPR,
    **counting_options,
):
    """ROC curves of a phase per separation band.

    The matching is that of the whole map; then injections are attributed to the
    band of their position, false positives to the band of their blob's centroid,
    and each band has the elements of its part of the evaluation annulus (see
    :mod:`exobench.scoring.curves`).

    Parameters
    ----------
    detmaps, positions, fwhms, thresholds, include, max_fpr, **counting_options
        As in :func:`roc_curve`.
    bands : sequence of (lo, hi)
        Separations in FWHM, ``lo <= r / fwhm < hi`` (``hi`` may be ``inf``); default
        ``((0, 6), (6, 20))``.

    Returns
    -------
    dict
        ``{(lo, hi): ROCCurve}``, in the order of ``bands``; all on one grid.
    """
    rules = _sweep_rules(counting_options, "roc_by_separation")
    max_fpr = check_max_fpr(max_fpr)
    bands = _check_bands(bands)
    sweeps = _phase_sweeps(detmaps, positions, fwhms, rules, bands)
    grid, total, own = phase_counts(sweeps, thresholds, include)
    out = {}
    for k, band in enumerate(bands):
        per_dataset = [own_sweep_counts(s, counts, k) for s, counts in zip(sweeps, own)]
        n_inj = sum(c.n_injections for c in per_dataset)
        out[band] = _curve(grid, *total[:, k], n_inj, per_dataset, max_fpr, f" of band {band}")
    return out


def _check_bands(bands):
    try:
        items = [tuple(b) for b in bands]
    except TypeError:
        raise TypeError(f"bands: expected a sequence of (lo, hi) pairs in FWHM, got {bands!r}") from None
    if not items:
        raise ValueError("bands: expected at least one (lo, hi) pair, got none")
    out = []
    for b in items:
        if len(b) != 2:
            raise ValueError(f"bands: expected (lo, hi) pairs in FWHM, got {b!r}")
        lo, hi = (as_number(v, "bands") for v in b)
        if not (0 <= lo < hi):
            raise ValueError(f"bands: expected 0 <= lo < hi (in FWHM), got {b!r}")
        out.append((lo, hi))
    if len(set(out)) != len(out):
        raise ValueError(f"bands: expected distinct bands, got {items!r}")
    return tuple(out)
