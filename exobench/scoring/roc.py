"""ROC curves of detection maps: a whole threshold sweep in one pass per map.

A detection map is counted at many thresholds with exactly the rules of
:func:`~exobench.scoring.counting.count_detections` (the corrected counting; see
:mod:`exobench.scoring.counting`): 4-connected blobs of the pixels strictly above the
threshold, blobs under ``npix`` pixels dropped, huge blobs counted as area / element
false positives, one-to-one greedy matching by overlap ratio, ``tn = max(n_elements -
n_injections - fp, 0)``. At every threshold of the sweep the counts are *identical*
to those of ``count_detections`` at that threshold (tested).

**One pass per map.** Instead of segmenting the map once per threshold, the pixels
are ranked once, from the highest value down, and the blobs are grown by a
union-find as the threshold falls (blobs only ever appear, grow and merge):

- the union-find runs over *basins*, not pixels: each pixel points to its
  best-ranked 4-neighbour when that neighbour ranks higher, and the pointers
  (followed by pointer jumping) lead to a local maximum; the detected pixels of a
  basin are always connected, so blobs are unions of basins joined at their
  lowest contacts. The few basin contacts go through a Python union-find; the
  merge tree it builds gives, with array operations, the size of each pixel's
  blob when the pixel is detected and the sizes at every merge;
- the false positives of the blobs that touch no injection's disk, and those of
  huge blobs, are running sums of these events; only the few blobs that touch a
  disk and are not huge (the candidates of the matching) are matched again, at
  the states where one of them changed.

The cost is a sort and a few array passes over the map, whatever the number of
thresholds. :func:`roc_by_separation`, which follows each blob's centroid, uses a
pixel-by-pixel union-find instead (slower, same counts: tested).

**Thresholds.** A threshold ``t`` detects the pixels ``> t``, so the counts change
only at the map's values: the *distinct levels* of a map are its distinct values
(NaN and ``-inf`` pixels are never detected), in decreasing order, then ``-inf``
("everything detected"). The first level, the maximum, detects nothing. Any other
threshold ``t`` detects what the largest level ``<= t`` detects. A given grid may
hold any numbers but NaN (``+inf`` detects nothing, ``-inf`` every pixel that is
not NaN or ``-inf``; ``count_detections`` itself takes finite thresholds only).

**Curves.** A phase (several datasets) is micro-averaged as
:mod:`exobench.scoring.metrics` does: at each threshold the counts are summed over
the datasets, then ``tpr = TP / N`` (``N`` injections), ``fpr = FP / (FP + TN)`` and
``mean_fp = FP / n_datasets``.

- **AUC**: the area under the *envelope* of the curve: the points (FPR, TPR) of
  every threshold and the end points (0, 0) and (1, 1), sorted by FPR, each TPR
  replaced by the best TPR of the points of no larger FPR, joined by straight
  lines (trapezoids). The counting is not monotone in the threshold: blobs merge
  (FPR may step back), and at low thresholds a companion's blob grows huge and
  turns into false positives (TPR falls; at ``-inf`` the whole map is one huge
  blob, TPR 0 at FPR 1). The envelope is the best TPR that some threshold reaches
  within a false-positive budget, so a map that detects every companion without
  a false positive at some threshold has AUC 1; where FPR and TPR both grow as the
  threshold falls it is the usual trapezoidal AUC. The raw points are kept in
  ``tpr`` and ``fpr``.
- **Partial AUC**: the area under the same envelope over ``0 <= FPR <= max_fpr``
  (cut at ``max_fpr`` by linear interpolation), divided by ``max_fpr`` (plain
  normalisation, *not* McClish's standardisation): 1 for a perfect detector,
  ``max_fpr / 2`` for a chance one.
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

**Bootstrap** (:func:`bootstrap_ci`): percentile confidence intervals of F1 (at one
threshold), AUC or partial AUC, resampling the *datasets* of a phase with
replacement, with a seeded :class:`numpy.random.Generator` (reproducible).

Everything here uses numpy only (and :mod:`exobench.scoring.counting` for the
shared validation and geometry, :mod:`exobench.scoring.metrics` for its warning),
so that it can be vendored into a scoring program.
"""

import dataclasses
import math
import numbers
import warnings

import numpy as np

from .._validate import as_float_array, check_choice, check_ndim
from . import counting
from .counting import DEFAULTS, DatasetCounts
from .metrics import UndefinedMetricWarning

__all__ = [
    "SweepCounts",
    "ROCCurve",
    "sweep_counts",
    "roc_curve",
    "roc_by_separation",
    "roc_from_counts",
    "bootstrap_ci",
    "auc",
    "partial_auc",
    "DEFAULT_BANDS",
    "DEFAULT_MAX_FPR",
    "DEFAULT_SEED",
]

#: Separation bands of :func:`roc_by_separation`, in FWHM (the EIDC's two ranges of
#: injection separations: the inner one widened to the star).
DEFAULT_BANDS = ((0.0, 6.0), (6.0, 20.0))
#: FPR bound of the partial AUC.
DEFAULT_MAX_FPR = 0.01
#: Seed of :func:`bootstrap_ci` when none is given (results are reproducible).
DEFAULT_SEED = 0

_COUNTING_OPTIONS = ("npix", "overlap_threshold", "max_blob_fact", "inner_radius")
_STATISTICS = ("f1", "auc", "partial_auc")


# --------------------------------------------------------------------------- results


def _readonly(array, dtype):
    array = np.array(array, dtype=dtype)  # a copy, owned
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True)
class SweepCounts:
    """Counts of one dataset at each threshold of a sweep.

    Attributes
    ----------
    thresholds : ndarray of float, shape (n,)
        Decreasing thresholds (pixels strictly above are detections).
    tp, fp, fn, tn : ndarray of int, shape (n,)
        The counts of :func:`~exobench.scoring.counting.count_detections` at each
        threshold.
    n_injections : int
        Injected companions (of the band, for :func:`roc_by_separation`).
    n_elements : int
        Independent resolution elements of the evaluation annulus (of the band).
    element_area : int
        Area of the resolution element in pixels.
    complete : bool
        True when ``thresholds`` holds every distinct level of the map (the default
        sweep): the counts at any other threshold then follow exactly
        (:meth:`at`).
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    n_injections: int
    n_elements: int
    element_area: int = 0
    complete: bool = False

    def __post_init__(self):
        thresholds = _readonly(self.thresholds, np.float64)
        if thresholds.ndim != 1:
            raise ValueError(f"thresholds: expected a 1D array, got shape {thresholds.shape}")
        if np.any(np.isnan(thresholds)) or np.any(np.diff(thresholds) >= 0):
            raise ValueError("thresholds: expected strictly decreasing numbers (no NaN)")
        object.__setattr__(self, "thresholds", thresholds)
        for name in ("tp", "fp", "fn", "tn"):
            values = _readonly(getattr(self, name), np.int64)
            if values.shape != thresholds.shape:
                raise ValueError(f"{name}: expected shape {thresholds.shape} (one per threshold), got {values.shape}")
            if values.size and values.min() < 0:
                raise ValueError(f"{name}: expected integers >= 0")
            object.__setattr__(self, name, values)
        for name in ("n_injections", "n_elements", "element_area"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "complete", bool(self.complete))

    def __len__(self):
        return len(self.thresholds)

    def _rows(self, thresholds, *, checked=False):
        """Row of each threshold: itself if in the grid, else (complete sweeps) the largest level <= it."""
        if not checked:
            thresholds = _as_thresholds(thresholds, "thresholds")
        ascending = self.thresholds[::-1]
        n = len(ascending)
        if self.complete:
            # the counts at t are those of the largest level <= t; the grid starts (ascending) at -inf
            pos = np.maximum(np.searchsorted(ascending, thresholds, side="right") - 1, 0)
            return n - 1 - pos, thresholds
        pos = np.searchsorted(ascending, thresholds, side="left")
        found = (pos < n) & (ascending[np.minimum(pos, n - 1)] == thresholds)
        if not np.all(found):
            missing = float(thresholds[~found][0])
            raise ValueError(
                f"thresholds: {missing!r} is not in this sweep's grid, which does not hold every level of "
                "its map (complete=False): sweep again with that threshold"
            )
        return n - 1 - pos, thresholds

    def at(self, thresholds):
        """These counts on another grid of thresholds.

        Parameters
        ----------
        thresholds : array_like
            Any thresholds if the sweep is ``complete``; otherwise thresholds of
            this grid only.

        Returns
        -------
        SweepCounts
            Sorted in decreasing order, duplicates removed.
        """
        rows, thresholds = self._rows(thresholds)
        return SweepCounts(
            thresholds=thresholds,
            tp=self.tp[rows],
            fp=self.fp[rows],
            fn=self.fn[rows],
            tn=self.tn[rows],
            n_injections=self.n_injections,
            n_elements=self.n_elements,
            element_area=self.element_area,
            complete=False,
        )

    def dataset_counts(self, threshold):
        """The :class:`~exobench.scoring.counting.DatasetCounts` at one threshold (counts only).

        For :func:`~exobench.scoring.metrics.compute_metrics`; the blob lists
        (``matches`` and the like) are left empty.
        """
        rows, _ = self._rows([_threshold_scalar(threshold, "threshold")])
        i = int(rows[0])
        return DatasetCounts(
            tp=int(self.tp[i]),
            fp=int(self.fp[i]),
            fn=int(self.fn[i]),
            tn=int(self.tn[i]),
            n_injections=self.n_injections,
            n_elements=self.n_elements,
            element_area=self.element_area,
        )


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
        Trapezoidal area under TPR against FPR from (0, 0) to (1, 1), along the
        curve (see :mod:`exobench.scoring.roc`); NaN where undefined.
    partial_auc : float
        The area over ``FPR <= max_fpr``, divided by ``max_fpr``.
    max_fpr : float
    n_injections : int
        Injections of the phase (of the band).
    n_datasets : int
    per_dataset : tuple of SweepCounts
        Each dataset's own complete sweep (every distinct level of its map), for
        :func:`bootstrap_ci` (re-gridded exactly with :meth:`SweepCounts.at`).
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
        """The (fpr, tpr) points of the envelope whose area is ``auc``, end points included (for plots)."""
        x, y, _ = _envelope(self.fpr, self.tpr)
        return x, y

    def index(self, threshold):
        """Row of ``threshold`` in the grid (it must be there, e.g. given with ``include=``)."""
        t = _threshold_scalar(threshold, "threshold")
        hits = np.flatnonzero(self.thresholds == t)
        if hits.size == 0:
            raise ValueError(f"threshold: {t!r} is not in the curve's grid (add it with include=)")
        return int(hits[0])


# --------------------------------------------------------------------------- validation


def _threshold_scalar(value, name):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    array = np.asarray(value) if not isinstance(value, str) else None
    if array is None or array.dtype.kind not in "iuf" or array.size != 1:
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(array.reshape(()).item())
    if math.isnan(value):
        raise ValueError(f"{name}: expected a number, got NaN")
    return value


def _as_thresholds(thresholds, name):
    """Thresholds as a decreasing float64 array without duplicates (NaN refused)."""
    array = as_float_array(thresholds, name, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    check_ndim(array, name, 1)
    if array.size == 0:
        raise ValueError(f"{name}: expected at least one threshold, got none")
    if np.any(np.isnan(array)):
        raise ValueError(f"{name}: expected numbers, got NaN")
    return np.unique(array)[::-1].copy()


def _as_detmap(detmap, name):
    array = as_float_array(detmap, name)
    check_ndim(array, name, 2, what="(the detection map of one dataset)")
    if array.size == 0:
        raise ValueError(f"{name}: expected a non-empty 2D array, got shape {array.shape}")
    return array.astype(np.float64, copy=False)


def _counting_options(options, where):
    unknown = sorted(set(options) - set(_COUNTING_OPTIONS))
    if unknown:
        raise TypeError(
            f"{where}() got an unexpected keyword argument {unknown[0]!r} "
            f"(counting options: {', '.join(_COUNTING_OPTIONS)})"
        )
    merged = dict(DEFAULTS, inner_radius=None)
    merged.update(options)
    return merged


def _check_max_fpr(max_fpr):
    value = _threshold_scalar(max_fpr, "max_fpr")
    if not 0 < value <= 1:
        raise ValueError(f"max_fpr: expected a value in (0, 1], got {max_fpr!r}")
    return value


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


# --------------------------------------------------------------------------- the one-pass sweep


@dataclasses.dataclass
class _MapSweep:
    """One map's counts at every state ``K`` (the ``K`` highest distinct levels detected)."""

    levels: np.ndarray  # distinct detectable values, decreasing, shape (m,)
    tp: np.ndarray  # (n_bands, m + 1)
    ordinary: np.ndarray  # (n_bands, m + 1): unmatched ordinary blobs (1 false positive each)
    huge_area: np.ndarray  # (n_bands, m + 1): total area of the huge blobs
    n_injections: np.ndarray  # (n_bands,)
    n_elements: np.ndarray  # (n_bands,)
    element_area: int

    def states(self, thresholds):
        """State of each (float64) threshold: how many levels lie strictly above it."""
        ascending = self.levels[::-1]
        return len(ascending) - np.searchsorted(ascending, thresholds, side="right")

    def counts(self, state=None):
        """(tp, fp, fn, tn), each (n_bands, len(state)); default every state 0..m (levels, then -inf)."""
        if state is None:
            state = slice(None)
        tp = self.tp[:, state]
        area = self.element_area
        # false positives: 1 per unmatched ordinary blob + area / A_e per huge blob, rounded
        # once, half to even. A_e is odd (a pixel-centred disk), so the exact rational total
        # is never a half-integer and rounding half up in integers is the same.
        total = self.ordinary[:, state] * area + self.huge_area[:, state]
        fp = (2 * total + area) // (2 * area)
        n_inj = self.n_injections[:, None]
        fn = n_inj - tp
        tn = np.maximum(self.n_elements[:, None] - n_inj - fp, 0)
        return tp, fp, fn, tn


def _distance(shape, x, y):
    xc, yc = counting.frame_center(shape)
    return np.sqrt((np.asarray(x, dtype=float) - xc) ** 2 + (np.asarray(y, dtype=float) - yc) ** 2)


def _in_bands(r, bands_px):
    """Boolean (n_bands, ...) membership of distances ``r`` (pixels) in the bands (lo, hi) in pixels."""
    r = np.asarray(r, dtype=float)
    return np.stack([(r >= lo) & (r < hi) for lo, hi in bands_px]) if bands_px else np.ones((1,) + r.shape, bool)


def _sweep_map(detmap, positions, fwhm, npix, overlap_threshold, max_blob_fact, inner_radius, bands=None):
    """The one-pass sweep of one (validated) map: by basins, or pixel by pixel for bands."""
    if bands is not None:
        return _sweep_map_pixels(detmap, positions, fwhm, npix, overlap_threshold, max_blob_fact, inner_radius, bands)
    return _sweep_map_basins(detmap, positions, fwhm, npix, overlap_threshold, max_blob_fact, inner_radius)


def _sweep_map_basins(detmap, positions, fwhm, npix, overlap_threshold, max_blob_fact, inner_radius):
    """The sweep of one map, vectorised: union-find over basins instead of pixels.

    Pixels are ranked by decreasing value (ties in a fixed order) and become detected
    in that order. Each pixel points to its 4-neighbour of best rank when that rank
    is better than its own; following the pointers (by pointer jumping) leads to a
    local maximum, the top of the pixel's *basin*. The detected part of a basin is
    always connected (every pixel has a better-ranked, hence detected, neighbour in
    its basin), so the blobs at any threshold are unions of detected basin parts,
    joined where two basins touch through detected pixels. A Python union-find then
    runs over the few basin contacts only (their lowest level), building the merge
    tree; each pixel's blob size when it becomes detected, the sizes at each merge
    and the blobs' contact with the injections' disks follow from that tree with
    array operations. Within a level, the pixels of the level first join their
    basin's blob (in rank order), then the blobs merge; the counts at the end of each
    level are those of the pixel-by-pixel pass (:func:`_sweep_map_pixels`).
    """
    shape = detmap.shape
    ny, nx = shape
    n = ny * nx
    flat = detmap.ravel()
    element_area = counting.resolution_element_area(fwhm)
    limit = max_blob_fact * element_area
    n_inj = len(positions)
    big = np.iinfo(np.int64).max

    # ---- ranks and levels: rank 0 is the highest value; NaN and -inf pixels are never detected
    # (ties in any fixed order: only the levels matter; NaN and -inf pixels, as +inf, sort last)
    order = np.argsort(-flat)
    nv = int(np.count_nonzero(flat > -np.inf))
    order = order[:nv]  # pixel of each rank
    rank = np.full(n, nv, dtype=np.int64)
    rank[order] = np.arange(nv)
    values = flat[order]
    first_of_level = np.concatenate([[True], values[1:] != values[:-1]]) if nv else np.zeros(0, bool)
    level_of_rank = np.cumsum(first_of_level) - 1
    levels = values[first_of_level]
    m = len(levels)
    n_elements = counting.evaluation_elements(shape, fwhm, inner_radius=inner_radius)
    tp = np.zeros(m + 1, dtype=np.int64)
    ordinary_sum = np.zeros(m + 1, dtype=np.int64)
    huge_sum = np.zeros(m + 1, dtype=np.int64)
    if nv == 0:
        return _MapSweep(levels, tp[None], ordinary_sum[None], huge_sum[None], np.array([n_inj]),
                         np.array([n_elements]), element_area)

    # ---- basins: each rank points to its best-ranked 4-neighbour if better (by pointer jumping)
    grid = np.full((ny + 2, nx + 2), nv, dtype=np.int64)
    grid[1:-1, 1:-1] = rank.reshape(shape)
    best = np.minimum(np.minimum(grid[:-2, 1:-1], grid[2:, 1:-1]), np.minimum(grid[1:-1, :-2], grid[1:-1, 2:]))
    up = best.ravel()[order]
    top = np.where(up < np.arange(nv), up, np.arange(nv))
    while True:
        nxt = top[top]
        if np.array_equal(nxt, top):
            break
        top = nxt
    tops = np.flatnonzero(top == np.arange(nv))  # ranks of the basins' tops, increasing
    n_basins = len(tops)
    basin_of_top = np.zeros(nv, dtype=np.int64)
    basin_of_top[tops] = np.arange(n_basins)
    basin = basin_of_top[top]  # basin of each rank, numbered in the order of their tops

    # ---- basin contacts: lowest level of an edge between two basins (both pixels detected)
    basin_map = np.full(n, -1, dtype=np.int64)
    basin_map[order] = basin
    basin_map = basin_map.reshape(shape)
    rk = rank.reshape(shape)
    ba, bb, el = [], [], []
    for here, there in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
                        ((slice(None, -1), slice(None)), (slice(1, None), slice(None)))):
        a, b = basin_map[here], basin_map[there]
        cross = (a != b) & (a >= 0) & (b >= 0)
        ba.append(a[cross])
        bb.append(b[cross])
        el.append(level_of_rank[np.maximum(rk[here][cross], rk[there][cross])])
    ba, bb, el = np.concatenate(ba), np.concatenate(bb), np.concatenate(el)
    pair = np.minimum(ba, bb) * n_basins + np.maximum(ba, bb)
    if float(n_basins) ** 2 * (m + 1) < 2.0**62:  # one sort of a combined key
        key = np.sort(pair * (m + 1) + el)
        pair, el = key // (m + 1), key % (m + 1)
    else:  # very large maps: a two-key sort
        by = np.lexsort((el, pair))
        pair, el = pair[by], el[by]
    keep = np.concatenate([[True], pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, dtype=bool)
    pair, el = pair[keep], el[keep]  # each pair of basins once, at its lowest level
    by_level = np.argsort(el, kind="stable")
    c_level = el[by_level].tolist()
    c_a = (pair[by_level] // n_basins).tolist()
    c_b = (pair[by_level] % n_basins).tolist()

    # ---- the merge tree: Kruskal over the contacts (plain Python: a few per basin)
    uf = list(range(n_basins))
    node_of = list(range(n_basins))  # union-find root -> current tree node
    m_level, m_left, m_right = [], [], []
    for lev, a, b in zip(c_level, c_a, c_b):
        while uf[a] != a:
            uf[a] = a = uf[uf[a]]
        while uf[b] != b:
            uf[b] = b = uf[uf[b]]
        if a == b:
            continue
        m_left.append(node_of[a])
        m_right.append(node_of[b])
        m_level.append(lev)
        uf[b] = a
        node_of[a] = n_basins + len(m_level) - 1
    n_merges = len(m_level)
    n_nodes = n_basins + n_merges
    m_level = np.asarray(m_level, dtype=np.int64)
    m_left = np.asarray(m_left, dtype=np.int64)
    m_right = np.asarray(m_right, dtype=np.int64)
    parent = np.arange(n_nodes)
    parent[m_left] = n_basins + np.arange(n_merges)
    parent[m_right] = n_basins + np.arange(n_merges)
    created = np.concatenate([level_of_rank[tops], m_level])  # level at which each node appears
    dies = np.where(parent != np.arange(n_nodes), created[parent], m)  # level at which it merges (m: never)

    # ---- the node of each pixel when it becomes detected: the highest ancestor of its basin
    # created at a lower level (merges of a level come after its pixels), by binary lifting
    gate = created.copy()
    gate[:n_basins] = -1  # a basin always holds its own pixels
    node = basin.copy()
    lv = level_of_rank
    jumps = [parent]
    while True:
        last = jumps[-1]
        nxt = last[last]
        if np.array_equal(nxt, last):
            break
        jumps.append(nxt)
    for jump in reversed(jumps):
        cand = jump[node]
        move = gate[cand] < lv
        node = np.where(move, cand, node)

    # ---- each node's own pixels (in rank order) and the sizes
    small = np.uint16 if n_nodes <= np.iinfo(np.uint16).max else np.int64  # uint16: a radix sort
    grouped = np.argsort(node.astype(small), kind="stable")  # ranks grouped by node, in rank order
    count = np.bincount(node, minlength=n_nodes)
    start = np.cumsum(count) - count
    position = np.empty(nv, dtype=np.int64)
    position[grouped] = np.arange(nv) - start[node[grouped]]  # 0-based, within its node
    pix = order  # pixel of each rank
    disk_area, members = _disks(shape, positions, fwhm)
    disk_ranks = {}  # rank -> injections whose disk holds that pixel
    for p, js in members.items():
        r = int(rank[p])
        if r < nv:
            disk_ranks[r] = js
    touch_rank = np.full(n_nodes, big, dtype=np.int64)  # first detected disk pixel of each node's blob
    if disk_ranks:
        dr = np.fromiter(disk_ranks, dtype=np.int64, count=len(disk_ranks))
        np.minimum.at(touch_rank, basin[dr], dr)
    # children before parents: one pass in creation order
    birth = np.zeros(n_nodes, dtype=np.int64)
    final = count.copy()  # blob size when the node merges (basins: all their pixels by then)
    b_list = birth.tolist()
    f_list = final.tolist()
    t_list = touch_rank.tolist()
    for k, (left, right) in enumerate(zip(m_left.tolist(), m_right.tolist())):
        x = n_basins + k
        s = f_list[left] + f_list[right]
        b_list[x] = s
        f_list[x] = s + f_list[x]
        t_list[x] = min(t_list[left], t_list[right])
    birth = np.asarray(b_list, dtype=np.int64)
    final = np.asarray(f_list, dtype=np.int64)
    touch_rank = np.asarray(t_list, dtype=np.int64)
    touch_level = np.where(touch_rank < nv, lv[np.minimum(touch_rank, nv - 1)], m + 1)

    # ---- false positives of the blobs that are not candidates: events summed per level
    def ordinary(area, touches):  # an ordinary blob touching no disk: one false positive
        return ((area >= npix) & (area <= limit) & ~touches).astype(np.int64)

    def huge(area):  # a huge blob (kept: at least npix pixels): area / A_e false positives
        return np.where((area > limit) & (area >= npix), area, 0)

    ranks = np.arange(nv)
    own = node  # node of each rank
    s_after = birth[own] + position + 1
    t_before = touch_rank[own] < ranks
    t_after = touch_rank[own] <= ranks
    d_ord = ordinary(s_after, t_after) - ordinary(s_after - 1, t_before)
    d_huge = huge(s_after) - huge(s_after - 1)
    size_l, size_r = final[m_left], final[m_right]
    touch_l, touch_r = touch_level[m_left] <= m_level, touch_level[m_right] <= m_level
    m_ord = ordinary(size_l + size_r, touch_l | touch_r) - ordinary(size_l, touch_l) - ordinary(size_r, touch_r)
    m_huge = huge(size_l + size_r) - huge(size_l) - huge(size_r)
    per_level = np.bincount(lv, weights=d_ord, minlength=m) + np.bincount(m_level, weights=m_ord, minlength=m)
    ordinary_sum[1:] = np.rint(np.cumsum(per_level[:m]))
    per_level = np.bincount(lv, weights=d_huge, minlength=m) + np.bincount(m_level, weights=m_huge, minlength=m)
    huge_sum[1:] = np.rint(np.cumsum(per_level[:m]))

    # ---- candidates (blobs touching a disk, npix <= area <= limit): matched at each state they change
    if disk_ranks:
        # state = number of levels detected; a node lives over states [created + 1, dies + 1)
        alive_from, alive_to = created + 1, dies + 1
        cap = int(math.floor(limit))  # at most cap pixels: not huge

        def state_of_size(target):  # first state at which the node's blob holds `target` pixels
            k = target - birth - 1  # index among its own pixels
            ok = (k >= 0) & (k < count)
            at = np.where(ok, lv[grouped[np.clip(start + k, 0, nv - 1)]] + 1, m + 2)
            return np.where(k < 0, alive_from, at)

        lo = np.maximum(np.maximum(alive_from, touch_level + 1), state_of_size(npix))
        hi = np.minimum(alive_to, state_of_size(cap + 1))
        cand_nodes = np.flatnonzero(lo < hi)
        results = _candidate_states(
            cand_nodes, lo, hi, count, start, grouped, lv, pix, disk_ranks, m_left, m_right,
            n_basins, n_inj, disk_area, overlap_threshold, cap,
        )
        if results:
            states, matched, unmatched = (np.asarray(v, dtype=np.int64) for v in zip(*results))
            inside = states <= m
            at = np.full(m + 1, -1, dtype=np.int64)  # the last change at or before each state
            at[states[inside]] = np.flatnonzero(inside)
            at = np.maximum.accumulate(at)
            has = at >= 0
            tp[has] = matched[at[has]]
            ordinary_sum[has] += unmatched[at[has]]
    return _MapSweep(levels.copy(), tp[None], ordinary_sum[None], huge_sum[None], np.array([n_inj]),
                     np.array([n_elements]), element_area)


def _candidate_states(cand_nodes, lo, hi, count, start, grouped, lv, pix, disk_ranks, m_left, m_right,
                      n_basins, n_inj, disk_area, thr, cap):
    """Matching results (state, tp, unmatched candidates) at every state where a candidate changes.

    A candidate node's blob at state ``K`` is its pixels at birth (its children's, at
    their merge) plus its own pixels of level ``< K``; its size, overlaps with the
    disks and first pixel (the tie-break) follow. Only candidates are followed: few
    nodes, each of at most ``cap`` pixels.
    """
    if len(cand_nodes) == 0:
        return []
    lo_l, hi_l = lo.tolist(), hi.tolist()
    count_l, start_l = count.tolist(), start.tolist()
    left_l, right_l = m_left.tolist(), m_right.tolist()
    own_cache = {}

    def own(x, limit_count):
        """First pixels of node x's own (up to limit_count), as (levels, pixels, ranks) lists."""
        c = min(count_l[x], limit_count)
        ranks = grouped[start_l[x] : start_l[x] + c]
        return lv[ranks].tolist(), pix[ranks].tolist(), ranks.tolist()

    def blob_at_birth(x):
        """(size, overlaps, first pixel) of node x's blob when it appears: all of its children's pixels."""
        if x < n_basins:
            return 0, [0] * n_inj, None
        size, ov, first = 0, [0] * n_inj, None
        for child in (left_l[x - n_basins], right_l[x - n_basins]):
            size_c, ov_c, first_c = blob_final(child)
            size += size_c
            ov = [a + b for a, b in zip(ov, ov_c)]
            first = first_c if first is None or (first_c is not None and first_c < first) else first
        return size, ov, first

    def blob_final(x):
        """(size, overlaps, first pixel) of node x's blob when it merges (small nodes only: <= cap pixels)."""
        if x in own_cache:
            return own_cache[x]
        size, ov, first = blob_at_birth(x)
        _, pixels, ranks = own(x, count_l[x])
        for p, r in zip(pixels, ranks):
            js = disk_ranks.get(r)
            if js:
                for j in js:
                    ov[j] += 1
            if first is None or p < first:
                first = p
        result = (size + len(pixels), ov, first)
        own_cache[x] = result
        return result

    # per candidate: its blob at birth, then its own pixels (up to cap) one state at a time; each
    # step keeps the (ratio, injection) pairs above the overlap threshold
    def pairs_of(size, ov, first, i):  # sort keys of the (blob, injection) pairs above the threshold
        out = []
        for j, o in enumerate(ov):
            if o:
                ratio = o / min(size, disk_area[j])
                if ratio > thr:
                    out.append((-ratio, first, j, i))
        return out

    starts, ends = {}, {}
    followed = []
    for x in cand_nodes.tolist():
        i = len(followed)
        size0, ov0, first0 = blob_at_birth(x)
        levels, pixels, ranks = own(x, max(cap - size0, 0) + 1)
        a, b = lo_l[x], hi_l[x]
        size, ov, first = size0, list(ov0), first0
        steps = []  # (state from which it holds, its pairs)
        opened = a
        for lev, p, r in zip(levels, pixels, ranks):
            state = lev + 1
            if state >= b:
                break
            if state > opened:  # close the step opened earlier, with the blob before this pixel
                steps.append((opened, pairs_of(size, ov, first, i)))
                opened = state
            size += 1
            js = disk_ranks.get(r)
            if js:
                for j in js:
                    ov[j] += 1
            if first is None or p < first:
                first = p
        steps.append((opened, pairs_of(size, ov, first, i)))
        followed.append(steps)
        starts.setdefault(a, []).append(i)
        ends.setdefault(b, []).append(i)

    change = sorted(set(starts) | set(ends) | {st[0] for steps in followed for st in steps})
    active = {}  # candidate -> index of its current step
    results = []
    for state in change:
        for i in ends.get(state, ()):
            active.pop(i, None)
        for i in starts.get(state, ()):
            active[i] = 0
        pairs = []
        for i, k in active.items():
            steps = followed[i]
            while k + 1 < len(steps) and steps[k + 1][0] <= state:
                k += 1
            active[i] = k
            pairs.extend(steps[k][1])
        if len(pairs) > 1:
            pairs.sort()
            taken_j, taken_i = set(), set()
            for _, _, j, i in pairs:
                if i not in taken_i and j not in taken_j:
                    taken_i.add(i)
                    taken_j.add(j)
            matched = len(taken_j)
        else:
            matched = len(pairs)
        results.append((state, matched, len(active) - matched))
    return results


def _disks(shape, positions, fwhm):
    """Clipped disk areas of the injections (as count_detections), and pixel -> injections whose disk holds it."""
    disk_area = [0] * len(positions)
    members = {}
    index = np.arange(shape[0] * shape[1]).reshape(shape)
    for j, (x, y) in enumerate(positions):
        sl, disk = counting.disk_in_frame(shape, x, y, fwhm)
        disk_area[j] = int(np.count_nonzero(disk))
        for p in index[sl][disk].tolist():
            members.setdefault(p, []).append(j)
    return disk_area, members


def _sweep_map_pixels(detmap, positions, fwhm, npix, overlap_threshold, max_blob_fact, inner_radius, bands=None):
    """The one-pass sweep of one map, pixel by pixel (union-find over pixels); ``bands`` in FWHM or None."""
    shape = detmap.shape
    ny, nx = shape
    n = ny * nx
    flat = detmap.ravel()
    element_area = counting.resolution_element_area(fwhm)
    limit = max_blob_fact * element_area  # ordinary blobs: npix <= area <= limit
    n_inj = len(positions)
    bands_px = None if bands is None else [(lo * fwhm, hi * fwhm) for lo, hi in bands]
    n_bands = 1 if bands_px is None else len(bands_px)
    track = bands_px is not None  # blob centroids are needed only to attribute bands

    # ---- levels: rank of each detectable pixel's value, 0 = highest
    valid = flat > -np.inf  # NaN and -inf are never detected
    vidx = np.flatnonzero(valid)
    uniq, inverse = np.unique(flat[vidx], return_inverse=True)
    m = len(uniq)
    level = np.full(n, -1, dtype=np.int64)
    level[vidx] = (m - 1) - inverse.ravel()

    # ---- injections: clipped disks (same arithmetic as count_detections), detectable pixels only
    disk_area, members = _disks(shape, positions, fwhm)
    members = {p: js for p, js in members.items() if valid[p]}  # pixel -> injections whose disk holds it
    touching = sorted(members)

    # ---- events, by level: activations of disk pixels (before the edges of their level), then edges
    index = np.arange(n, dtype=np.int64).reshape(shape)
    lv = level.reshape(shape)
    ea = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    eb = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    la = np.concatenate([lv[:, :-1].ravel(), lv[:-1, :].ravel()])
    lb = np.concatenate([lv[:, 1:].ravel(), lv[1:, :].ravel()])
    live = np.minimum(la, lb) >= 0
    ea, eb, el = ea[live], eb[live], np.maximum(la, lb)[live]
    act = np.asarray(touching, dtype=np.int64)
    ev_a = np.concatenate([act, ea])
    ev_b = np.concatenate([np.full(len(act), -1, dtype=np.int64), eb])
    ev_l = np.concatenate([level[act], el])
    order = np.argsort(2 * ev_l + (ev_b >= 0), kind="stable")
    ev_a, ev_b, ev_l = ev_a[order].tolist(), ev_b[order].tolist(), ev_l[order].tolist()

    # ---- the pass: union-find over the events, matching where the candidates changed
    passed = _merge_pass(
        ev_a, ev_b, ev_l, n, nx, touching, members, disk_area, npix, limit, overlap_threshold, track
    )
    rec_l, rec_sa, rec_sb, rec_t, rec_sums, match_l, match_j, match_u = passed
    if track:
        inj_band = _in_bands(_distance(shape, positions[:, 0], positions[:, 1]), bands_px)  # (n_bands, n_inj)
        match_tp = [inj_band[:, js].sum(axis=1) for js in match_j]
        match_u = [
            _in_bands(_distance(shape, *np.array(cs, dtype=float).T), bands_px).sum(axis=1)
            if cs
            else np.zeros(n_bands, dtype=np.int64)
            for cs in match_u
        ]
    else:
        match_tp = [len(js) for js in match_j]

    # ---- running sums of the blobs that are not candidates, from the recorded merges
    rec_l = np.asarray(rec_l, dtype=np.int64)
    sa = np.asarray(rec_sa, dtype=np.int64)
    sb = np.asarray(rec_sb, dtype=np.int64)
    code = np.asarray(rec_t, dtype=np.int64)
    ta, tb = (code & 1) > 0, (code & 2) > 0
    s = sa + sb

    def ordinary(area, touches):  # an ordinary blob touching no disk: one false positive
        return ((area >= npix) & (area <= limit) & ~touches).astype(np.int64)

    def huge(area):  # a huge blob (kept: at least npix pixels): area / A_e false positives
        return np.where((area > limit) & (area >= npix), area, 0)

    d_ord = ordinary(s, ta | tb) - ordinary(sa, ta) - ordinary(sb, tb)
    d_huge = huge(s) - huge(sa) - huge(sb)
    pix_l = level[vidx]
    touch_pix = np.zeros(len(vidx), dtype=bool)  # detectable pixels inside a disk
    if touching:
        touch_pix[np.searchsorted(vidx, act)] = True
    pix_ord = ordinary(np.ones(len(vidx), dtype=np.int64), touch_pix)  # a new one-pixel blob
    pix_huge = huge(np.ones(len(vidx), dtype=np.int64))

    if track:
        xa, ya, xb, yb = (np.asarray(v, dtype=float) for v in rec_sums)
        band_a = _in_bands(_distance(shape, xa / np.maximum(sa, 1), ya / np.maximum(sa, 1)), bands_px)
        band_b = _in_bands(_distance(shape, xb / np.maximum(sb, 1), yb / np.maximum(sb, 1)), bands_px)
        band_s = _in_bands(_distance(shape, (xa + xb) / np.maximum(s, 1), (ya + yb) / np.maximum(s, 1)), bands_px)
        band_p = _in_bands(_distance(shape, vidx % nx, vidx // nx), bands_px)
        o_s, o_a, o_b = ordinary(s, ta | tb), ordinary(sa, ta), ordinary(sb, tb)
        h_s, h_a, h_b = huge(s), huge(sa), huge(sb)
        d_ord_b = band_s * o_s - band_a * o_a - band_b * o_b
        d_huge_b = band_s * h_s - band_a * h_a - band_b * h_b
        d_pix_ord = band_p * pix_ord
        d_pix_huge = band_p * pix_huge
    else:
        d_ord_b, d_huge_b = d_ord[None], d_huge[None]
        d_pix_ord, d_pix_huge = pix_ord[None], pix_huge[None]

    def running(d_merge, d_pix):
        out = np.zeros((n_bands, m + 1), dtype=np.int64)
        for k in range(n_bands):
            per_level = np.bincount(rec_l, weights=d_merge[k], minlength=m) + np.bincount(
                pix_l, weights=d_pix[k], minlength=m
            )
            out[k, 1:] = np.rint(np.cumsum(per_level[:m]))
        return out

    ordinary_sum = running(d_ord_b, d_pix_ord)
    huge_sum = running(d_huge_b, d_pix_huge)

    # ---- the matching's results, carried forward from the levels where they changed
    tp = np.zeros((n_bands, m + 1), dtype=np.int64)
    if match_l:
        at = np.searchsorted(np.asarray(match_l), np.arange(m + 1) - 1, side="right") - 1
        has = at >= 0
        mtp = np.asarray(match_tp, dtype=np.int64).reshape(len(match_l), n_bands)
        mu = np.asarray(match_u, dtype=np.int64).reshape(len(match_l), n_bands)
        tp[:, has] = mtp[at[has]].T
        ordinary_sum[:, has] += mu[at[has]].T

    # ---- per-band injections and elements
    if track:
        n_inj_b = inj_band.sum(axis=1).astype(np.int64) if n_inj else np.zeros(n_bands, dtype=np.int64)
        yy, xx = np.indices(shape)
        xc, yc = counting.frame_center(shape)
        r2 = (yy - yc) ** 2 + (xx - xc) ** 2
        annulus = r2 >= inner_radius**2
        in_b = _in_bands(np.sqrt(r2), bands_px)
        n_elem_b = np.array([np.count_nonzero(annulus & in_b[k]) // element_area for k in range(n_bands)])
    else:
        n_inj_b = np.array([n_inj], dtype=np.int64)
        n_elem_b = np.array([counting.evaluation_elements(shape, fwhm, inner_radius=inner_radius)])
    return _MapSweep(
        levels=uniq[::-1].copy(),
        tp=tp,
        ordinary=ordinary_sum,
        huge_area=huge_sum,
        n_injections=n_inj_b.astype(np.int64),
        n_elements=n_elem_b.astype(np.int64),
        element_area=element_area,
    )


def _match(troots, size, overlap, first, disk_area, npix, limit, thr):
    """Greedy one-to-one matching of the current candidates, as count_detections does.

    Candidates are the blobs touching a disk with ``npix <= area <= limit``; pairs whose
    overlap ratio exceeds ``thr`` are taken by decreasing ratio, then lower first
    pixel (``count_detections``'s blob label order), then lower injection index.
    Returns (matched injections, unmatched candidate roots).
    """
    pairs = []
    cands = []
    n_inj = len(disk_area)
    for r in troots:
        s = size[r]
        if npix <= s <= limit:
            cands.append(r)
            vec = overlap[r]
            for j in range(n_inj):
                o = vec[j]
                if o:
                    ratio = o / min(s, disk_area[j])
                    if ratio > thr:
                        pairs.append((-ratio, first[r], j, r))
    pairs.sort()
    taken_j = []
    taken_r = set()
    for _, _, j, r in pairs:
        if r not in taken_r and j not in taken_j:
            taken_r.add(r)
            taken_j.append(j)
    return sorted(taken_j), [r for r in cands if r not in taken_r]


def _flush(level, troots, size, overlap, first, disk_area, npix, limit, thr, sum_x, sum_y, out):
    """Match the current candidates and record the result at ``level`` (see _merge_pass)."""
    js, unmatched = _match(troots, size, overlap, first, disk_area, npix, limit, thr)
    out[0].append(level)
    out[1].append(js)
    if sum_x is not None:  # centroids, to attribute the false positives to bands
        out[2].append([(sum_x[r] / size[r], sum_y[r] / size[r]) for r in unmatched])
    else:
        out[2].append(len(unmatched))


def _merge_pass(ev_a, ev_b, ev_l, n, nx, touching, members, disk_area, npix, limit, thr, track):
    """The union-find pass over the events of one map (the hot loop: plain Python lists).

    Events, by increasing level index: ``(p, -1)`` a disk pixel becomes detected,
    ``(p, q)`` the edge between two detected pixels. Returns the merges (level,
    sizes and disk-touching flags of the two blobs, and with ``track`` their
    coordinate sums) and the matching's results at each level where a candidate
    changed: the matched injections and the unmatched candidates (their
    centroids with ``track``, else just how many).
    """
    parent = list(range(n))
    size = [1] * n
    first = list(range(n))  # raster index of each blob's first pixel: the tie-break of count_detections
    touch = bytearray(n)
    n_inj = len(disk_area)
    overlap = {}  # root of a blob touching a disk -> its pixels inside each injection's disk
    for p in touching:
        touch[p] = 1
        vec = [0] * n_inj
        for j in members[p]:
            vec[j] += 1
        overlap[p] = vec
    troots = set()  # roots of the detected blobs touching a disk
    rec_l, rec_sa, rec_sb, rec_t = [], [], [], []
    if track:
        sum_x = [float(i % nx) for i in range(n)]
        sum_y = [float(i // nx) for i in range(n)]
        rec_xa, rec_ya, rec_xb, rec_yb = [], [], [], []
    else:
        sum_x = sum_y = None
    out = ([], [], [])  # the matching's results: levels, matched injections, unmatched candidates
    args = (troots, size, overlap, first, disk_area, npix, limit, thr, sum_x, sum_y, out)

    singleton_candidate = npix <= 1 <= limit
    dirty = -1  # level after which the candidates changed and were not matched yet
    for a, b, lev in zip(ev_a, ev_b, ev_l):
        if b < 0:  # a disk pixel becomes detected: a one-pixel blob touching a disk
            if dirty >= 0 and dirty != lev:
                _flush(dirty, *args)
                dirty = -1
            troots.add(a)
            if singleton_candidate:
                dirty = lev
            continue
        while parent[a] != a:  # find, with path halving
            parent[a] = a = parent[parent[a]]
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a == b:
            continue
        sa = size[a]
        sb = size[b]
        if sa < sb:  # union by size: a stays the root
            a, b, sa, sb = b, a, sb, sa
        ta = touch[a]
        tb = touch[b]
        if ta or tb:
            # the candidates change only here: match those of the finished level first
            if dirty >= 0 and dirty != lev:
                _flush(dirty, *args)
                dirty = -1
            if tb:
                troots.discard(b)
                vb = overlap.pop(b)
                if ta:
                    overlap[a] = [x + y for x, y in zip(overlap[a], vb)]
                else:
                    overlap[a] = vb
                    touch[a] = 1
            troots.add(a)
            s = sa + sb
            if (npix <= s <= limit) or (ta and npix <= sa <= limit) or (tb and npix <= sb <= limit):
                dirty = lev
        parent[b] = a
        size[a] = sa + sb
        if first[b] < first[a]:
            first[a] = first[b]
        rec_l.append(lev)
        rec_sa.append(sa)
        rec_sb.append(sb)
        rec_t.append(ta + 2 * tb)
        if track:
            rec_xa.append(sum_x[a])
            rec_ya.append(sum_y[a])
            rec_xb.append(sum_x[b])
            rec_yb.append(sum_y[b])
            sum_x[a] += sum_x[b]
            sum_y[a] += sum_y[b]
    if dirty >= 0:
        _flush(dirty, *args)
    sums = (rec_xa, rec_ya, rec_xb, rec_yb) if track else None
    return (rec_l, rec_sa, rec_sb, rec_t, sums) + out


def _prepare(detmap, positions, fwhm, options, name="detmap"):
    """Validate one dataset's inputs as count_detections does; returns the arguments of _sweep_map."""
    detmap = _as_detmap(detmap, name)
    fwhm = counting.check_fwhm(fwhm)
    rules = counting.CountingRules(**options)
    npix, overlap_threshold, max_blob_fact = rules.npix, rules.overlap_threshold, rules.max_blob_fact
    inner_radius = rules.inner_radius_for(fwhm)
    positions = counting.as_positions(positions, detmap.shape)
    return detmap, positions, fwhm, npix, overlap_threshold, max_blob_fact, inner_radius


def _phase_counts(sweeps, thresholds, include):
    """The common grid and the datasets' counts summed on it, (4, n_bands, n); and each map's own counts.

    Default grid: every distinct level of every map, ``include`` and -inf. Each map's
    counts change only at its own levels, so they are summed as differences
    scattered at those levels, then accumulated: O(grid + levels), whatever the
    number of maps.
    """
    own = [np.stack(s.counts()) for s in sweeps]  # (4, n_bands, m + 1): at the map's levels, then -inf
    extra = [np.array([-np.inf])]
    if include is not None:
        extra.append(_as_thresholds(include, "include"))
    n_bands = own[0].shape[1]
    if thresholds is not None:
        grid = np.unique(np.concatenate([_as_thresholds(thresholds, "thresholds")] + extra[1:]))[::-1].copy()
        total = np.zeros((4, n_bands, len(grid)), dtype=np.int64)
        for s, counts in zip(sweeps, own):
            total += counts[:, :, s.states(grid)]
        return grid, total, own
    # the union of the levels (each map's levels are sorted: a stable sort merges the runs)
    parts = [s.levels[::-1] for s in sweeps] + [np.sort(e) for e in extra]
    values = np.concatenate(parts)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    grid = ordered[new][::-1].copy()  # decreasing
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = len(grid) - np.cumsum(new)  # index of each value in the decreasing grid
    # one bincount for every map and count (tp, fp, tn; fn = injections - tp): index (count, band, grid position)
    size = len(grid) + 1
    kept = (0, 1, 3)
    base = np.zeros((3, n_bands), dtype=np.int64)
    where, weights = [], []
    start = 0
    for s, counts in zip(sweeps, own):
        m = len(s.levels)
        at = rank[start : start + m][::-1] + 1  # state k + 1 holds from just below the map's k-th level
        start += m
        base += counts[kept, :, 0]
        where.append((np.arange(3 * n_bands)[:, None] * size + at[None, :]).ravel())
        weights.append(np.diff(counts[kept, :, :], axis=-1).ravel())
    steps = np.bincount(np.concatenate(where), weights=np.concatenate(weights), minlength=3 * n_bands * size)
    steps = steps.reshape(3, n_bands, size)[:, :, : len(grid)]
    tp, fp, tn = base[:, :, None] + np.rint(np.cumsum(steps, axis=-1)).astype(np.int64)
    n_inj = np.sum([s.n_injections for s in sweeps], axis=0)[:, None]
    total = np.stack([tp, fp, n_inj - tp, tn])
    return grid, total, own


def _own_sweep_counts(sweep, counts, band):
    return SweepCounts(
        thresholds=np.concatenate([sweep.levels, [-np.inf]]),
        tp=counts[0, band],
        fp=counts[1, band],
        fn=counts[2, band],
        tn=counts[3, band],
        n_injections=int(sweep.n_injections[band]),
        n_elements=int(sweep.n_elements[band]),
        element_area=sweep.element_area,
        complete=True,
    )


def sweep_counts(
    detmap,
    positions,
    fwhm,
    *,
    thresholds=None,
    npix=DEFAULTS["npix"],
    overlap_threshold=DEFAULTS["overlap_threshold"],
    max_blob_fact=DEFAULTS["max_blob_fact"],
    inner_radius=None,
):
    """Counts of one dataset at every threshold of a sweep, in one pass over the map.

    Parameters
    ----------
    detmap : array_like, 2D
        Detection map ``detmap[y, x]`` (NaN: never detected).
    positions : array_like, shape (n, 2)
        Injections as (x, y); ``n`` may be 0 (an empty array or None).
    fwhm : float
        The reference FWHM in pixels.
    thresholds : array_like, optional
        The thresholds (any order, duplicates merged; ``+-inf`` allowed, NaN not).
        Default: every distinct level of the map, then ``-inf``.
    npix, overlap_threshold, max_blob_fact, inner_radius
        As in :func:`~exobench.scoring.counting.count_detections`.

    Returns
    -------
    SweepCounts
        One row per threshold, decreasing; equal at each threshold to
        ``count_detections(detmap, threshold, positions, fwhm, ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> detmap = np.zeros((32, 32))
    >>> detmap[16, 15:18] = [3.0, 5.0, 3.0]     # a blob on the injection
    >>> detmap[5, 5:7] = 2.0                    # and a false positive
    >>> s = sweep_counts(detmap, [(16.0, 16.0)], fwhm=4.0)
    >>> s.thresholds.tolist()
    [5.0, 3.0, 2.0, 0.0, -inf]
    >>> s.tp.tolist(), s.fp.tolist()
    ([0, 0, 1, 1, 0], [0, 0, 0, 1, 23])
    """
    options = dict(
        npix=npix, overlap_threshold=overlap_threshold, max_blob_fact=max_blob_fact, inner_radius=inner_radius
    )
    args = _prepare(detmap, positions, fwhm, options)
    grid = None if thresholds is None else _as_thresholds(thresholds, "thresholds")
    sweep = _sweep_map(*args)
    if grid is None:
        return _own_sweep_counts(sweep, np.stack(sweep.counts()), 0)
    tp, fp, fn, tn = sweep.counts(sweep.states(grid))
    return SweepCounts(
        thresholds=grid,
        tp=tp[0],
        fp=fp[0],
        fn=fn[0],
        tn=tn[0],
        n_injections=int(sweep.n_injections[0]),
        n_elements=int(sweep.n_elements[0]),
        element_area=sweep.element_area,
        complete=False,
    )


# --------------------------------------------------------------------------- curves


def _warn(message, stacklevel=3):
    warnings.warn(message, UndefinedMetricWarning, stacklevel=stacklevel)


def _envelope(fpr, tpr):
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


def _envelope_area(x, y, nan, max_fpr=None):
    """Area under an envelope of :func:`_envelope`, over FPR <= max_fpr, divided by max_fpr."""
    if max_fpr is None or max_fpr >= 1:
        area = np.sum(np.diff(x, axis=-1) * (y[..., 1:] + y[..., :-1]), axis=-1) / 2.0
        return np.where(nan, np.nan, area)
    m = max_fpr
    x0, x1, y0, y1 = x[..., :-1], x[..., 1:], y[..., :-1], y[..., 1:]
    crossing = (x0 < m) & (x1 > m)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_at_m = np.where(crossing, y0 + (y1 - y0) * (m - x0) / np.where(crossing, x1 - x0, 1.0), y1)
    xb = np.minimum(x1, m)
    yb = np.where(x1 <= m, y1, y_at_m)
    area = np.where(x0 < m, (xb - x0) * (y0 + yb) / 2.0, 0.0)
    return np.where(nan, np.nan, np.sum(area, axis=-1) / m)


def auc(fpr, tpr):
    """Area under the ROC envelope, from (0, 0) to (1, 1).

    The envelope of the points ``(fpr[i], tpr[i])`` (any order) and of the end
    points (0, 0) and (1, 1): sorted by FPR, with at each point the best TPR of the
    points of no larger FPR; the area is the trapezoidal one between its points.
    For a curve whose FPR and TPR both grow as the threshold falls it is the usual
    trapezoidal AUC. Works along the last axis of 2D arrays; NaN if a point is NaN.

    Examples
    --------
    >>> float(auc([0.0, 0.0], [0.5, 1.0]))  # perfect: TPR 1 at FPR 0
    1.0
    >>> float(auc([0.25, 0.5], [0.25, 0.5]))  # chance
    0.5
    >>> float(auc([0.0, 1.0], [1.0, 0.0]))  # TPR lost at FPR 1 (a huge blob): still 1
    1.0
    """
    return _envelope_area(*_envelope(fpr, tpr))


def partial_auc(fpr, tpr, max_fpr):
    """Area under the ROC envelope over ``0 <= FPR <= max_fpr``, divided by ``max_fpr``.

    The envelope of :func:`auc`, cut at ``max_fpr`` by linear interpolation; plain
    normalisation: 1 for a perfect detector, ``max_fpr / 2`` for a chance one.

    Examples
    --------
    >>> float(partial_auc([0.0, 0.0], [0.5, 1.0], 0.01))
    1.0
    >>> round(float(partial_auc([0.25, 0.5], [0.25, 0.5], 0.1)), 12)
    0.05
    """
    return _envelope_area(*_envelope(fpr, tpr), max_fpr=_check_max_fpr(max_fpr))


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
        rows = slice(None) if np.array_equal(s.thresholds, grid) else s._rows(grid, checked=True)[0]
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
    max_fpr = _check_max_fpr(max_fpr)
    if thresholds is None:
        grid = np.unique(np.concatenate([s.thresholds for s in items]))[::-1].copy()
    else:
        grid = _as_thresholds(thresholds, "thresholds")
    tp, fp, fn, tn = _stack(items, grid)
    n_inj = sum(s.n_injections for s in items)
    return _curve(grid, tp, fp, fn, tn, n_inj, items, max_fpr, "")


def _curve(grid, tp, fp, fn, tn, n_inj, items, max_fpr, where):
    tpr, fpr, notes = _rates(tp, fp, tn, n_inj)
    if notes:
        _warn(f"ROC curve{where}: undefined rates set to NaN ({'; '.join(notes)}); AUC is NaN", 4)
    envelope = _envelope(fpr, tpr)
    return ROCCurve(
        thresholds=_readonly(grid, np.float64),
        tp=_readonly(tp, np.int64),
        fp=_readonly(fp, np.int64),
        fn=_readonly(fn, np.int64),
        tn=_readonly(tn, np.int64),
        tpr=_readonly(tpr, np.float64),
        fpr=_readonly(fpr, np.float64),
        mean_fp=_readonly(fp / len(items), np.float64),
        auc=float(_envelope_area(*envelope)),
        partial_auc=float(_envelope_area(*envelope, max_fpr=max_fpr)),
        max_fpr=max_fpr,
        n_injections=int(n_inj),
        n_datasets=len(items),
        per_dataset=tuple(items),
    )


def _phase_sweeps(detmaps, positions, fwhms, options, bands, where):
    maps, pos, fw = _phase_inputs(detmaps, positions, fwhms)
    sweeps = []
    for i, (detmap, p, f) in enumerate(zip(maps, pos, fw)):
        try:
            args = _prepare(detmap, p, f, options, name="detmap")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"dataset {i}: {exc}") from exc
        sweeps.append(_sweep_map(*args, bands=bands))
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
    options = _counting_options(counting_options, "roc_curve")
    max_fpr = _check_max_fpr(max_fpr)
    sweeps = _phase_sweeps(detmaps, positions, fwhms, options, None, "roc_curve")
    grid, total, own = _phase_counts(sweeps, thresholds, include)
    per_dataset = [_own_sweep_counts(s, counts, 0) for s, counts in zip(sweeps, own)]
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
    :mod:`exobench.scoring.roc`).

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
    options = _counting_options(counting_options, "roc_by_separation")
    max_fpr = _check_max_fpr(max_fpr)
    bands = _check_bands(bands)
    sweeps = _phase_sweeps(detmaps, positions, fwhms, options, bands, "roc_by_separation")
    grid, total, own = _phase_counts(sweeps, thresholds, include)
    out = {}
    for k, band in enumerate(bands):
        per_dataset = [_own_sweep_counts(s, counts, k) for s, counts in zip(sweeps, own)]
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
        lo, hi = (_threshold_scalar(v, "bands") for v in b)
        if not (0 <= lo < hi):
            raise ValueError(f"bands: expected 0 <= lo < hi (in FWHM), got {b!r}")
        out.append((lo, hi))
    if len(set(out)) != len(out):
        raise ValueError(f"bands: expected distinct bands, got {items!r}")
    return tuple(out)


# --------------------------------------------------------------------------- bootstrap


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
        threshold), or :class:`SweepCounts` with ``threshold``. For ``"auc"`` and
        ``"partial_auc"``: :class:`SweepCounts` on one grid or complete ones (a
        :class:`ROCCurve` stands for its ``per_dataset``).
    statistic : {"f1", "auc", "partial_auc"}
        F1 = 2 TP / (TP + FP + N) as :mod:`~exobench.scoring.metrics`; AUC and partial
        AUC as :func:`roc_curve`.
    threshold : float, optional
        The threshold of F1 when the counts are sweeps (the submitted one).
    thresholds : array_like, optional
        The grid of the AUC; default the union of the sweeps' grids (the grid
        of :func:`roc_curve`).
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
    F1 costs nothing; AUC costs about ``n_boot`` times the grid's length: on the grid
    of every level of 9 maps of 160x160 (230,000 thresholds) some 8 ms per resample
    on one core. Pass a coarser ``thresholds`` grid for speed (the AUC is then that
    of the coarser curve).

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
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot: expected an integer >= 1, got {n_boot!r}")
    level = _threshold_scalar(level, "level")
    if not 0 < level < 1:
        raise ValueError(f"level: expected a value in (0, 1), got {level!r}")
    if rng is None:
        rng = DEFAULT_SEED
    if not isinstance(rng, np.random.Generator):
        if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
            raise TypeError(f"rng: expected None, an integer seed or a numpy.random.Generator, got {rng!r}")
        rng = np.random.default_rng(rng)
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
    d = len(items)

    # resamples as multiplicities: weights[b, i] = times dataset i is drawn in resample b
    draws = rng.integers(0, d, size=(n_boot, d))
    weights = np.zeros((n_boot, d))
    np.add.at(weights, (np.repeat(np.arange(n_boot), d), draws.ravel()), 1.0)

    if statistic == "f1":
        rows = []
        for i, item in enumerate(items):
            if isinstance(item, SweepCounts):
                if threshold is None:
                    raise ValueError(
                        "threshold: required for statistic='f1' with SweepCounts (the submitted threshold)"
                    )
                item = item.dataset_counts(threshold)
            elif not isinstance(item, DatasetCounts):
                raise TypeError(f"per_dataset_counts: item {i} is a {type(item).__name__}, expected counts")
            rows.append((item.tp, item.fp, item.n_injections))
        tp, fp, n = (weights @ np.array(rows, dtype=float)).T
        values = _f1(tp, fp, n)
    else:
        max_fpr = _check_max_fpr(max_fpr)
        for i, item in enumerate(items):
            if not isinstance(item, SweepCounts):
                raise TypeError(
                    f"per_dataset_counts: item {i} is a {type(item).__name__}, expected a SweepCounts "
                    f"for statistic={statistic!r}"
                )
        if thresholds is None:
            grid = np.unique(np.concatenate([s.thresholds for s in items]))[::-1].copy()
        else:
            grid = _as_thresholds(thresholds, "thresholds")
        rows = [slice(None) if np.array_equal(s.thresholds, grid) else s._rows(grid, checked=True)[0] for s in items]
        m_tp = np.array([s.tp[r] for s, r in zip(items, rows)], dtype=float)
        m_fp = np.array([s.fp[r] for s, r in zip(items, rows)], dtype=float)
        m_den = np.array([(s.fp + s.tn)[r] for s, r in zip(items, rows)], dtype=float)
        n_inj = np.array([s.n_injections for s in items], dtype=float)
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
            bound = max_fpr if statistic == "partial_auc" else None
            values[start : start + chunk] = _envelope_area(*_envelope(fpr, tpr), max_fpr=bound)
    ok = ~np.isnan(values)
    if not np.any(ok):
        _warn(f"bootstrap_ci: {statistic} is undefined in every resample; the interval is (nan, nan)", 3)
        return (math.nan, math.nan)
    if not np.all(ok):
        _warn(
            f"bootstrap_ci: {statistic} is undefined in {int(np.count_nonzero(~ok))} of {n_boot} resamples "
            "(no injection drawn, or FP + TN = 0); they are left out",
            3,
        )
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values[ok], [alpha, 1.0 - alpha])
    return (float(low), float(high))
