"""The sweep engine: one detection map counted at every level of its values, in one pass.

The counts are those of :func:`~exobench.scoring.counting.count_detections` (the
corrected counting) at each threshold. Instead of segmenting the map once per
threshold, the pixels are ranked once, from the highest value down, and the
blobs are grown as the threshold falls (blobs only ever appear, grow and merge):

- a union-find runs over *basins*, not pixels: each pixel points to its
  best-ranked 4-neighbour when that neighbour ranks higher, and the pointers
  (followed by pointer jumping) lead to a local maximum, the top of the pixel's
  basin. The detected part of a basin is always connected (every pixel has a
  better-ranked, hence detected, neighbour in its basin), so the blobs at any
  threshold are unions of basins joined at their lowest contacts. The few basin
  contacts go through a Python union-find (Kruskal); the merge tree it builds
  gives, with array operations, the size of each pixel's blob when the pixel is
  detected and the sizes at every merge. Within a level, the pixels of the level
  first join their basin's blob (in rank order), then the blobs merge; only the
  state at the end of each level is counted.
- the false positives of the blobs that touch no injection's disk, and those of
  huge blobs, are running sums of these events (each event replaces blobs by
  their union: it adds the new blob's count and removes the old ones'); only the
  few blobs that touch a disk and are not huge (the candidates of the matching)
  are matched again, at the states where one of them changed.

The cost is a sort and a few array passes over the map, whatever the number of
thresholds.

**Separation bands** (``bands``, in FWHM): the matching is that of the whole map;
an injection's TP or FN goes to the band of its position, a false positive to
the band of its blob's *centroid* (the mean of the blob's pixel positions: the
blob sums of the pixel coordinates follow the same events as the sizes). Bands
are annuli ``lo * fwhm <= r < hi * fwhm`` about the frame centre.
"""

import dataclasses
import math

import numpy as np

from .candidates import CandidateBlobs, candidate_windows
from ..geometry.coords import frame_center
from .counting import disk_in_frame, evaluation_elements, resolution_element_area

__all__ = ["MapSweep", "sweep_map"]

_BIG = np.iinfo(np.int64).max


@dataclasses.dataclass
class MapSweep:
    """One map's counts at every state ``K`` (the ``K`` highest distinct levels detected).

    Attributes
    ----------
    levels : ndarray, shape (m,)
        The map's distinct detectable values, decreasing.
    tp, ordinary, huge_area : ndarray, shape (n_bands, m + 1)
        True positives, unmatched ordinary blobs (one false positive each) and the
        total area of the huge blobs, at each state.
    n_injections, n_elements : ndarray, shape (n_bands,)
    element_area : int
    """

    levels: np.ndarray
    tp: np.ndarray
    ordinary: np.ndarray
    huge_area: np.ndarray
    n_injections: np.ndarray
    n_elements: np.ndarray
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


# --------------------------------------------------------------------------- bands


@dataclasses.dataclass(frozen=True)
class _Bands:
    """Separation bands in pixels about the frame centre; ``edges`` None: the whole map, one band."""

    shape: tuple
    edges: tuple = None

    @property
    def n(self):
        return 1 if self.edges is None else len(self.edges)

    @property
    def track(self):
        """Whether blob centroids are needed (to attribute false positives to bands)."""
        return self.edges is not None

    def of_radii(self, r):
        """Boolean (n_bands, ...) membership of distances ``r`` (pixels)."""
        r = np.asarray(r, dtype=float)
        if self.edges is None:
            return np.ones((1,) + r.shape, bool)
        return np.stack([(r >= lo) & (r < hi) for lo, hi in self.edges])

    def of_points(self, x, y):
        xc, yc = frame_center(self.shape)
        return self.of_radii(np.sqrt((np.asarray(x, dtype=float) - xc) ** 2 + (np.asarray(y, dtype=float) - yc) ** 2))

    def of_centroids(self, sum_x, sum_y, size):
        """Band membership of blobs from their coordinate sums and sizes (size 0: any band, never counted)."""
        size = np.maximum(size, 1)
        return self.of_points(sum_x / size, sum_y / size)

    def injections_and_elements(self, positions, fwhm, inner_radius, element_area):
        """Injections and resolution elements of each band, shape (n_bands,) each."""
        if self.edges is None:
            n_elements = evaluation_elements(self.shape, fwhm, inner_radius=inner_radius)
            return np.array([len(positions)], dtype=np.int64), np.array([n_elements], dtype=np.int64)
        n_inj = self.of_points(positions[:, 0], positions[:, 1]).sum(axis=1).astype(np.int64)
        yy, xx = np.indices(self.shape)
        xc, yc = frame_center(self.shape)
        r2 = (yy - yc) ** 2 + (xx - xc) ** 2
        annulus = r2 >= inner_radius**2
        in_band = self.of_radii(np.sqrt(r2))
        n_elements = np.array([np.count_nonzero(annulus & in_band[k]) // element_area for k in range(self.n)])
        return n_inj, n_elements.astype(np.int64)


def _weighted(values, weights):
    """Per-band copies of event values (weights: band membership, or None for the whole map)."""
    return values[None] if weights is None else weights * values


# --------------------------------------------------------------------------- ranks and the merge tree


@dataclasses.dataclass(frozen=True)
class _Ranks:
    """Pixels by decreasing value: rank 0 is the highest; NaN and -inf pixels are never detected."""

    shape: tuple
    order: np.ndarray  # pixel of each rank, shape (nv,)
    rank: np.ndarray  # rank of each pixel, nv where never detected
    level: np.ndarray  # level index of each rank
    levels: np.ndarray  # distinct values, decreasing, shape (m,)

    @property
    def nv(self):
        return len(self.order)

    @property
    def m(self):
        return len(self.levels)

    @classmethod
    def of(cls, detmap):
        flat = detmap.ravel()
        # ties in any fixed order: only the levels matter; NaN and -inf pixels, as +inf, sort last
        order = np.argsort(-flat)
        nv = int(np.count_nonzero(flat > -np.inf))
        order = order[:nv]
        rank = np.full(flat.size, nv, dtype=np.int64)
        rank[order] = np.arange(nv)
        values = flat[order]
        first_of_level = np.concatenate([[True], values[1:] != values[:-1]]) if nv else np.zeros(0, bool)
        return cls(detmap.shape, order, rank, np.cumsum(first_of_level) - 1, values[first_of_level].copy())


@dataclasses.dataclass(frozen=True)
class _Tree:
    """The merge tree of the basins: nodes ``0..n_basins-1`` are basins, then one node per merge."""

    n_basins: int
    basin: np.ndarray  # basin of each rank
    m_level: np.ndarray  # level of each merge
    m_left: np.ndarray  # the two nodes each merge joins
    m_right: np.ndarray
    created: np.ndarray  # level at which each node appears
    dies: np.ndarray  # level at which it merges (m: never)
    node: np.ndarray  # node of each rank when the pixel is detected

    @property
    def n_nodes(self):
        return len(self.created)


def _basins(ranks):
    """Basin of each rank (numbered in the order of their tops) and the ranks of the tops."""
    ny, nx = ranks.shape
    nv = ranks.nv
    grid = np.full((ny + 2, nx + 2), nv, dtype=np.int64)
    grid[1:-1, 1:-1] = ranks.rank.reshape(ranks.shape)
    best = np.minimum(np.minimum(grid[:-2, 1:-1], grid[2:, 1:-1]), np.minimum(grid[1:-1, :-2], grid[1:-1, 2:]))
    up = best.ravel()[ranks.order]
    top = np.where(up < np.arange(nv), up, np.arange(nv))
    while True:  # pointer jumping
        nxt = top[top]
        if np.array_equal(nxt, top):
            break
        top = nxt
    tops = np.flatnonzero(top == np.arange(nv))
    basin_of_top = np.zeros(nv, dtype=np.int64)
    basin_of_top[tops] = np.arange(len(tops))
    return basin_of_top[top], tops


def _contacts(ranks, basin, n_basins):
    """Each pair of touching basins once, at the lowest level where both pixels of an edge are detected.

    Returns lists (levels, basins a, basins b), by increasing level.
    """
    shape, m = ranks.shape, ranks.m
    basin_map = np.full(ranks.rank.size, -1, dtype=np.int64)
    basin_map[ranks.order] = basin
    basin_map = basin_map.reshape(shape)
    rk = ranks.rank.reshape(shape)
    ba, bb, el = [], [], []
    for here, there in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
                        ((slice(None, -1), slice(None)), (slice(1, None), slice(None)))):
        a, b = basin_map[here], basin_map[there]
        cross = (a != b) & (a >= 0) & (b >= 0)
        ba.append(a[cross])
        bb.append(b[cross])
        el.append(ranks.level[np.maximum(rk[here][cross], rk[there][cross])])
    ba, bb, el = np.concatenate(ba), np.concatenate(bb), np.concatenate(el)
    pair = np.minimum(ba, bb) * n_basins + np.maximum(ba, bb)
    if float(n_basins) ** 2 * (m + 1) < 2.0**62:  # one sort of a combined key
        key = np.sort(pair * (m + 1) + el)
        pair, el = key // (m + 1), key % (m + 1)
    else:  # very large maps: a two-key sort
        by = np.lexsort((el, pair))
        pair, el = pair[by], el[by]
    keep = np.concatenate([[True], pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, dtype=bool)
    pair, el = pair[keep], el[keep]
    by_level = np.argsort(el, kind="stable")
    return el[by_level].tolist(), (pair[by_level] // n_basins).tolist(), (pair[by_level] % n_basins).tolist()


def _kruskal(levels, a_list, b_list, n_basins):
    """The merges of the basin contacts, in order (plain Python: a few contacts per basin).

    Returns arrays (level, left node, right node) of each merge; merge ``k`` creates
    node ``n_basins + k``.
    """
    uf = list(range(n_basins))
    node_of = list(range(n_basins))  # union-find root -> current tree node
    m_level, m_left, m_right = [], [], []
    for lev, a, b in zip(levels, a_list, b_list):
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
    return (np.asarray(m_level, dtype=np.int64), np.asarray(m_left, dtype=np.int64),
            np.asarray(m_right, dtype=np.int64))


def _merge_tree(ranks):
    basin, tops = _basins(ranks)
    n_basins = len(tops)
    m_level, m_left, m_right = _kruskal(*_contacts(ranks, basin, n_basins), n_basins)
    n_merges = len(m_level)
    n_nodes = n_basins + n_merges
    parent = np.arange(n_nodes)
    parent[m_left] = n_basins + np.arange(n_merges)
    parent[m_right] = n_basins + np.arange(n_merges)
    created = np.concatenate([ranks.level[tops], m_level])
    dies = np.where(parent != np.arange(n_nodes), created[parent], ranks.m)
    node = _pixel_nodes(parent, created, n_basins, basin, ranks.level)
    return _Tree(n_basins, basin, m_level, m_left, m_right, created, dies, node)


def _pixel_nodes(parent, created, n_basins, basin, level):
    """The node of each pixel when it becomes detected, by binary lifting.

    It is the highest ancestor of the pixel's basin created at a lower level than
    the pixel's (the merges of a level come after its pixels).
    """
    gate = created.copy()
    gate[:n_basins] = -1  # a basin always holds its own pixels
    node = basin.copy()
    jumps = [parent]
    while True:
        last = jumps[-1]
        nxt = last[last]
        if np.array_equal(nxt, last):
            break
        jumps.append(nxt)
    for jump in reversed(jumps):
        cand = jump[node]
        node = np.where(gate[cand] < level, cand, node)
    return node


# --------------------------------------------------------------------------- the blobs of the nodes


def _disks(shape, positions, fwhm):
    """Clipped disk areas of the injections (as count_detections), and pixel -> injections whose disk holds it."""
    disk_area = [0] * len(positions)
    members = {}
    index = np.arange(shape[0] * shape[1]).reshape(shape)
    for j, (x, y) in enumerate(positions):
        sl, disk = disk_in_frame(shape, x, y, fwhm)
        disk_area[j] = int(np.count_nonzero(disk))
        for p in index[sl][disk].tolist():
            members.setdefault(p, []).append(j)
    return disk_area, members


@dataclasses.dataclass(frozen=True)
class _Nodes:
    """Each node's own pixels (detected while it is the pixel's node) and its blob's sizes and sums."""

    grouped: np.ndarray  # ranks grouped by node, in rank order
    count: np.ndarray  # own pixels of each node
    start: np.ndarray  # index in `grouped` of each node's first own pixel
    position: np.ndarray  # index of each rank among its node's own pixels
    birth: np.ndarray  # blob size when the node appears (its children's pixels)
    final: np.ndarray  # blob size when the node merges
    touch_rank: np.ndarray  # first detected disk pixel of each node's blob (_BIG: none)
    touch_level: np.ndarray  # its level (m + 1: none)
    sums: tuple = None  # with bands: (birth x, birth y, final x, final y, x and y of each rank's blob after it)


def _node_blobs(ranks, tree, disk_ranks, track):
    node, nv, m = tree.node, ranks.nv, ranks.m
    n_nodes = tree.n_nodes
    small = np.uint16 if n_nodes <= np.iinfo(np.uint16).max else np.int64  # uint16: a radix sort
    grouped = np.argsort(node.astype(small), kind="stable")
    count = np.bincount(node, minlength=n_nodes)
    start = np.cumsum(count) - count
    position = np.empty(nv, dtype=np.int64)
    position[grouped] = np.arange(nv) - start[node[grouped]]
    touch_rank = np.full(n_nodes, _BIG, dtype=np.int64)
    if disk_ranks:
        dr = np.fromiter(disk_ranks, dtype=np.int64, count=len(disk_ranks))
        np.minimum.at(touch_rank, tree.basin[dr], dr)
    (birth,), (final,), touch_rank = _up_the_tree(tree, [count], touch_rank)
    touch_level = np.where(touch_rank < nv, ranks.level[np.minimum(touch_rank, nv - 1)], m + 1)
    sums = _coordinate_sums(ranks, tree, grouped, start) if track else None
    return _Nodes(grouped, count, start, position, birth, final, touch_rank, touch_level, sums)


def _up_the_tree(tree, owns, touch_rank=None):
    """Blob totals when each node appears (its children's at their merge) and when it merges.

    ``owns`` holds per-node totals of the nodes' own pixels (sizes, coordinate
    sums); ``touch_rank`` each basin's first disk pixel, made each node's minimum
    over its children. One pass over the merges in creation order (children
    before parents).
    """
    b_lists = [[0] * len(own) for own in owns]
    f_lists = [own.tolist() for own in owns]
    t_list = None if touch_rank is None else touch_rank.tolist()
    for k, (left, right) in enumerate(zip(tree.m_left.tolist(), tree.m_right.tolist())):
        x = tree.n_basins + k
        for b_list, f_list in zip(b_lists, f_lists):
            s = f_list[left] + f_list[right]
            b_list[x] = s
            f_list[x] = s + f_list[x]
        if t_list is not None:
            t_list[x] = min(t_list[left], t_list[right])
    births = [np.asarray(b, dtype=own.dtype) for b, own in zip(b_lists, owns)]
    finals = [np.asarray(f, dtype=own.dtype) for f, own in zip(f_lists, owns)]
    return births, finals, None if t_list is None else np.asarray(t_list, dtype=np.int64)


def _coordinate_sums(ranks, tree, grouped, start):
    """Coordinate sums of the nodes' blobs at birth and merge, and of each rank's blob just after it."""
    nx = ranks.shape[1]
    xs = (ranks.order % nx).astype(float)
    ys = (ranks.order // nx).astype(float)
    n_nodes = tree.n_nodes
    own_x = np.bincount(tree.node, weights=xs, minlength=n_nodes)
    own_y = np.bincount(tree.node, weights=ys, minlength=n_nodes)
    (birth_x, birth_y), (final_x, final_y), _ = _up_the_tree(tree, [own_x, own_y])
    after = []
    for values, birth in ((xs, birth_x), (ys, birth_y)):
        cum = np.cumsum(values[grouped])  # prefix sums of the own pixels, node by node
        base = np.concatenate([[0.0], cum])[start]
        prefix = np.empty(ranks.nv)
        prefix[grouped] = cum - base[tree.node[grouped]]
        after.append(birth[tree.node] + prefix)
    return birth_x, birth_y, final_x, final_y, after[0], after[1]


# --------------------------------------------------------------------------- false positives of non-candidates


def _background_sums(ranks, tree, nodes, rules, limit, bands):
    """Unmatched ordinary blobs touching no disk, and areas of huge blobs, per band at each state.

    Returns two (n_bands, m + 1) arrays; the blobs that touch a disk and are not
    huge (the candidates) are left to the matching.
    """
    npix = rules.npix

    def ordinary(area, touches):  # an ordinary blob touching no disk: one false positive
        return ((area >= npix) & (area <= limit) & ~touches).astype(np.int64)

    def huge(area):  # a huge blob (kept: at least npix pixels): area / A_e false positives
        return np.where((area > limit) & (area >= npix), area, 0)

    ranks_ = np.arange(ranks.nv)
    own = tree.node
    s_after = nodes.birth[own] + nodes.position + 1
    t_before = nodes.touch_rank[own] < ranks_
    t_after = nodes.touch_rank[own] <= ranks_
    size_l, size_r = nodes.final[tree.m_left], nodes.final[tree.m_right]
    touch_l = nodes.touch_level[tree.m_left] <= tree.m_level
    touch_r = nodes.touch_level[tree.m_right] <= tree.m_level
    w_after = w_before = w_l = w_r = w_s = None
    if bands.track:
        birth_x, birth_y, final_x, final_y, after_x, after_y = nodes.sums
        nx = ranks.shape[1]
        w_after = bands.of_centroids(after_x, after_y, s_after)
        w_before = bands.of_centroids(after_x - ranks.order % nx, after_y - ranks.order // nx, s_after - 1)
        lx, rx = final_x[tree.m_left], final_x[tree.m_right]
        ly, ry = final_y[tree.m_left], final_y[tree.m_right]
        w_l = bands.of_centroids(lx, ly, size_l)
        w_r = bands.of_centroids(rx, ry, size_r)
        w_s = bands.of_centroids(lx + rx, ly + ry, size_l + size_r)
    d_ord = _weighted(ordinary(s_after, t_after), w_after) - _weighted(ordinary(s_after - 1, t_before), w_before)
    d_huge = _weighted(huge(s_after), w_after) - _weighted(huge(s_after - 1), w_before)
    m_ord = (_weighted(ordinary(size_l + size_r, touch_l | touch_r), w_s)
             - _weighted(ordinary(size_l, touch_l), w_l) - _weighted(ordinary(size_r, touch_r), w_r))
    m_huge = _weighted(huge(size_l + size_r), w_s) - _weighted(huge(size_l), w_l) - _weighted(huge(size_r), w_r)
    return (_running(ranks.level, d_ord, tree.m_level, m_ord, ranks.m),
            _running(ranks.level, d_huge, tree.m_level, m_huge, ranks.m))


def _running(pixel_level, d_pixel, merge_level, d_merge, m):
    """Per-band running sums over the states of events (pixels and merges) at their levels."""
    out = np.zeros((d_pixel.shape[0], m + 1), dtype=np.int64)
    for k in range(d_pixel.shape[0]):
        per_level = (np.bincount(pixel_level, weights=d_pixel[k], minlength=m)
                     + np.bincount(merge_level, weights=d_merge[k], minlength=m))
        out[k, 1:] = np.rint(np.cumsum(per_level[:m]))
    return out


# --------------------------------------------------------------------------- the one-pass sweep


def sweep_map(detmap, positions, fwhm, rules, *, bands=None):
    """The counts of one (validated) map at every state, by the basin pass.

    Parameters
    ----------
    detmap : ndarray, 2D float64
        The detection map.
    positions : ndarray, shape (n, 2)
        The injections (x, y), checked to lie in the frame.
    fwhm : float
        The reference FWHM (> 0).
    rules : CountingRules
        The counting rules (corrected counting: ``rules.compat`` is not used).
    bands : tuple of (lo, hi), optional
        Separation bands in FWHM; default the whole map (one band).

    Returns
    -------
    MapSweep
    """
    ranks = _Ranks.of(detmap)
    element_area = resolution_element_area(fwhm)
    band = _Bands(detmap.shape, None if bands is None else tuple((lo * fwhm, hi * fwhm) for lo, hi in bands))
    n_inj, n_elements = band.injections_and_elements(positions, fwhm, rules.inner_radius_for(fwhm), element_area)
    result = MapSweep(ranks.levels, np.zeros((band.n, ranks.m + 1), dtype=np.int64),
                      np.zeros((band.n, ranks.m + 1), dtype=np.int64), np.zeros((band.n, ranks.m + 1), dtype=np.int64),
                      n_inj, n_elements, element_area)
    if ranks.nv == 0:
        return result
    tree = _merge_tree(ranks)
    disk_area, members = _disks(ranks.shape, positions, fwhm)
    disk_ranks = {int(ranks.rank[p]): js for p, js in members.items() if ranks.rank[p] < ranks.nv}
    nodes = _node_blobs(ranks, tree, disk_ranks, band.track)
    limit = rules.blob_limit(element_area)
    result.ordinary[:], result.huge_area[:] = _background_sums(ranks, tree, nodes, rules, limit, band)
    if disk_ranks:
        follow = CandidateBlobs(ranks, tree, nodes, disk_ranks, disk_area, rules.overlap_threshold,
                                int(math.floor(limit)))
        changes = follow.changes(candidate_windows(ranks, tree, nodes, rules.npix, follow.cap), band.track)
        _apply_changes(result, changes, band, positions)
    return result


def _apply_changes(result, changes, bands, positions):
    """Set the matching's results (true positives, unmatched candidates) from each state where they changed."""
    if not changes:
        return
    m = result.tp.shape[1] - 1
    states, matched, unmatched = zip(*changes)
    states = np.asarray(states, dtype=np.int64)
    if bands.track:
        inj_band = bands.of_points(positions[:, 0], positions[:, 1]).astype(np.int64)
        matched = np.array([inj_band[:, js].sum(axis=1) for _, js, _ in changes], dtype=np.int64)
        unmatched = []
        for _, _, blobs in changes:
            size, sum_x, sum_y = np.array(blobs, dtype=float).reshape(-1, 3).T
            unmatched.append(bands.of_centroids(sum_x, sum_y, size).sum(axis=1))
        unmatched = np.array(unmatched, dtype=np.int64)
    else:
        matched = np.asarray(matched, dtype=np.int64)[:, None]
        unmatched = np.asarray(unmatched, dtype=np.int64)[:, None]
    inside = states <= m
    at = np.full(m + 1, -1, dtype=np.int64)  # the last change at or before each state
    at[states[inside]] = np.flatnonzero(inside)
    at = np.maximum.accumulate(at)
    has = at >= 0
    result.tp[:, has] = matched[at[has]].T
    result.ordinary[:, has] += unmatched[at[has]].T
