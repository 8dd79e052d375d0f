"""Counts of one dataset at every threshold of a sweep, and of a phase on a common grid.

The counting is that of :func:`~exobench.scoring.counting.count_detections` (the
corrected counting; see :mod:`exobench.scoring.counting`) at every threshold: at
each threshold of a sweep the counts are *identical* to those of
``count_detections`` there. The map is counted in one pass
(:mod:`exobench.scoring.basins`).

**Thresholds.** A threshold ``t`` detects the pixels ``> t``, so the counts change
only at the map's values: the *distinct levels* of a map are its distinct values
(NaN and ``-inf`` pixels are never detected), in decreasing order, then ``-inf``
("everything detected"). The first level, the maximum, detects nothing. Any other
threshold ``t`` detects what the largest level ``<= t`` detects. A given grid may
hold any numbers but NaN (``+inf`` detects nothing, ``-inf`` every pixel that is
not NaN or ``-inf``; ``count_detections`` itself takes finite thresholds only).
"""

import dataclasses
import numbers

import numpy as np

from .basins import sweep_map
from .checks import as_detmap, as_number, as_positions, as_thresholds, check_fwhm, readonly
from .counting import DEFAULTS, CountingRules, DatasetCounts

__all__ = ["SweepCounts", "sweep_counts", "sweep_dataset", "phase_counts", "own_sweep_counts"]


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
        thresholds = readonly(self.thresholds, np.float64)
        if thresholds.ndim != 1:
            raise ValueError(f"thresholds: expected a 1D array, got shape {thresholds.shape}")
        if np.any(np.isnan(thresholds)) or np.any(np.diff(thresholds) >= 0):
            raise ValueError("thresholds: expected strictly decreasing numbers (no NaN)")
        object.__setattr__(self, "thresholds", thresholds)
        for name in ("tp", "fp", "fn", "tn"):
            values = readonly(getattr(self, name), np.int64)
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

    def rows(self, thresholds, *, checked=False):
        """Row of each threshold: itself if in the grid, else (complete sweeps) the largest level <= it.

        Parameters
        ----------
        thresholds : array_like
            Any thresholds if the sweep is ``complete``; otherwise thresholds of
            this grid only.
        checked : bool
            True when ``thresholds`` is already a decreasing float64 array
            without duplicates (skips the validation).

        Returns
        -------
        rows : ndarray of int
        thresholds : ndarray of float
            The thresholds, decreasing, duplicates removed.
        """
        if not checked:
            thresholds = as_thresholds(thresholds, "thresholds")
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
        rows, thresholds = self.rows(thresholds)
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
        rows, _ = self.rows([as_number(threshold, "threshold")])
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



def sweep_dataset(detmap, positions, fwhm, rules, *, bands=None):
    """Validate one dataset's inputs as count_detections does and sweep its map.

    Parameters
    ----------
    detmap : array_like, 2D
    positions : array_like, shape (n, 2), or None
    fwhm : float
    rules : CountingRules
    bands : tuple of (lo, hi), optional
        Separation bands in FWHM (checked by the caller); default the whole map.

    Returns
    -------
    MapSweep
    """
    detmap = as_detmap(detmap, "detmap")
    fwhm = check_fwhm(fwhm)
    positions = as_positions(positions, detmap.shape)
    return sweep_map(detmap, positions, fwhm, rules, bands=bands)


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
        The counting rules, as in :func:`~exobench.scoring.counting.count_detections`
        (see :class:`~exobench.scoring.counting.CountingRules`).

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
    rules = CountingRules(npix=npix, overlap_threshold=overlap_threshold, max_blob_fact=max_blob_fact,
                          inner_radius=inner_radius)
    sweep = sweep_dataset(detmap, positions, fwhm, rules)
    grid = None if thresholds is None else as_thresholds(thresholds, "thresholds")
    if grid is None:
        return own_sweep_counts(sweep, np.stack(sweep.counts()), 0)
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


def phase_counts(sweeps, thresholds, include):
    """The common grid and the datasets' counts summed on it, (4, n_bands, n); and each map's own counts.

    ``sweeps`` are :class:`~exobench.scoring.basins.MapSweep` (one per dataset);
    ``thresholds`` a grid or None, ``include`` thresholds added to it or None.

    Default grid: every distinct level of every map, ``include`` and -inf. Each map's
    counts change only at its own levels, so they are summed as differences
    scattered at those levels, then accumulated: O(grid + levels), whatever the
    number of maps.
    """
    own = [np.stack(s.counts()) for s in sweeps]  # (4, n_bands, m + 1): at the map's levels, then -inf
    extra = [np.array([-np.inf])]
    if include is not None:
        extra.append(as_thresholds(include, "include"))
    n_bands = own[0].shape[1]
    if thresholds is not None:
        grid = np.unique(np.concatenate([as_thresholds(thresholds, "thresholds")] + extra[1:]))[::-1].copy()
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


def own_sweep_counts(sweep, counts, band):
    """The :class:`SweepCounts` of one map's band at every level of the map (``counts``: its (4, n_bands, m + 1))."""
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
