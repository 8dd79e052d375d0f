"""The matching of the sweep engine's candidates, state by state.

A *candidate* is a blob of the sweep (:mod:`exobench.scoring.basins`) that touches
an injection's disk and is neither dropped (fewer than ``npix`` pixels) nor huge:
the only blobs whose count depends on the matching. Each candidate node of the
merge tree is followed over the states where it is one, and the one-to-one
greedy matching of :func:`~exobench.scoring.counting.count_detections` is redone
at each state where a candidate changes.
"""

import numpy as np

__all__ = ["CandidateBlobs", "candidate_windows", "greedy_matching"]


def candidate_windows(ranks, tree, nodes, npix, cap):
    """For each node, the states [lo, hi) over which its blob is a candidate (touches a disk, not huge, kept).

    ``ranks``, ``tree`` and ``nodes`` are the basin pass's pixel ranks, merge tree
    and node blobs; ``cap`` the largest area of a blob that is not huge.
    """
    nv, m = ranks.nv, ranks.m
    alive_from, alive_to = tree.created + 1, tree.dies + 1  # state = number of levels detected

    def state_of_size(target):  # first state at which the node's blob holds `target` pixels
        k = target - nodes.birth - 1  # index among its own pixels
        ok = (k >= 0) & (k < nodes.count)
        at = np.where(ok, ranks.level[nodes.grouped[np.clip(nodes.start + k, 0, nv - 1)]] + 1, m + 2)
        return np.where(k < 0, alive_from, at)

    lo = np.maximum(np.maximum(alive_from, nodes.touch_level + 1), state_of_size(npix))
    hi = np.minimum(alive_to, state_of_size(cap + 1))
    return lo, hi


class CandidateBlobs:
    """The candidates' blobs followed state by state, and their matching at each state where one changes.

    A candidate node's blob at state ``K`` is its pixels at birth (its children's,
    at their merge) plus its own pixels of level ``< K``; its size, coordinate
    sums, overlaps with the disks and first pixel (the tie-break of
    ``count_detections``) follow. Only candidates are followed: few nodes, each of
    at most ``cap`` pixels.
    """

    def __init__(self, ranks, tree, nodes, disk_ranks, disk_area, overlap_threshold, cap):
        self.level, self.pix, self.nx = ranks.level, ranks.order, ranks.shape[1]
        self.grouped = nodes.grouped
        self.count, self.start = nodes.count.tolist(), nodes.start.tolist()
        self.left, self.right = tree.m_left.tolist(), tree.m_right.tolist()
        self.n_basins = tree.n_basins
        self.disk_ranks, self.disk_area = disk_ranks, disk_area
        self.threshold, self.cap = overlap_threshold, cap
        self._final = {}

    def own(self, x, limit_count):
        """First pixels of node x's own (up to limit_count), as (levels, pixels, ranks) lists."""
        c = min(self.count[x], limit_count)
        ranks = self.grouped[self.start[x] : self.start[x] + c]
        return self.level[ranks].tolist(), self.pix[ranks].tolist(), ranks.tolist()

    def add_pixel(self, blob, p, r):
        """The blob [size, sum x, sum y, overlaps, first pixel] with pixel ``p`` (rank ``r``) added, in place."""
        blob[0] += 1
        blob[1] += p % self.nx
        blob[2] += p // self.nx
        for j in self.disk_ranks.get(r, ()):
            blob[3][j] += 1
        if blob[4] is None or p < blob[4]:
            blob[4] = p

    def at_birth(self, x):
        """Node x's blob when it appears: all of its children's pixels."""
        blob = [0, 0, 0, [0] * len(self.disk_area), None]
        if x < self.n_basins:
            return blob
        for child in (self.left[x - self.n_basins], self.right[x - self.n_basins]):
            size, sx, sy, ov, first = self.final(child)
            blob[:3] = blob[0] + size, blob[1] + sx, blob[2] + sy
            blob[3] = [a + b for a, b in zip(blob[3], ov)]
            blob[4] = first if blob[4] is None or (first is not None and first < blob[4]) else blob[4]
        return blob

    def final(self, x):
        """Node x's blob when it merges (small nodes only: <= cap pixels)."""
        if x not in self._final:
            blob = self.at_birth(x)
            for _, p, r in zip(*self.own(x, self.count[x])):
                self.add_pixel(blob, p, r)
            self._final[x] = blob
        return self._final[x]

    def pairs(self, blob, i):
        """Sort keys of the (candidate i, injection) pairs whose overlap ratio exceeds the threshold."""
        out = []
        size, first = blob[0], blob[4]
        for j, o in enumerate(blob[3]):
            if o:
                ratio = o / min(size, self.disk_area[j])
                if ratio > self.threshold:
                    out.append((-ratio, first, j, i))
        return out

    def steps(self, x, lo, hi, i):
        """Node x as candidate i over states [lo, hi): (state from which it holds, pairs, (size, sum x, sum y))."""
        blob = self.at_birth(x)
        levels, pixels, ranks = self.own(x, max(self.cap - blob[0], 0) + 1)
        steps = []
        opened = lo
        for lev, p, r in zip(levels, pixels, ranks):
            state = lev + 1
            if state >= hi:
                break
            if state > opened:  # close the step opened earlier, with the blob before this pixel
                steps.append((opened, self.pairs(blob, i), tuple(blob[:3])))
                opened = state
            self.add_pixel(blob, p, r)
        steps.append((opened, self.pairs(blob, i), tuple(blob[:3])))
        return steps

    def changes(self, windows, track):
        """The matching at each state where a candidate changes.

        Returns a list of (state, matched injections, unmatched candidates' (size,
        sum x, sum y)) with ``track``, else of (state, number matched, number
        unmatched).
        """
        lo, hi = windows
        starts, ends, followed = {}, {}, []
        for x in np.flatnonzero(lo < hi).tolist():
            i = len(followed)
            followed.append(self.steps(x, int(lo[x]), int(hi[x]), i))
            starts.setdefault(int(lo[x]), []).append(i)
            ends.setdefault(int(hi[x]), []).append(i)
        change = sorted(set(starts) | set(ends) | {st[0] for steps in followed for st in steps})
        active = {}  # candidate -> index of its current step
        out = []
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
            taken_j, taken_i = greedy_matching(pairs)
            if track:
                out.append((state, taken_j, [followed[i][k][2] for i, k in active.items() if i not in taken_i]))
            else:
                out.append((state, len(taken_j), len(active) - len(taken_i)))
        return out


def greedy_matching(pairs):
    """One-to-one matching by the sort keys (-ratio, first pixel, injection, candidate); (injections, candidates)."""
    if len(pairs) < 2:
        return [p[2] for p in pairs], {p[3] for p in pairs}
    pairs.sort()
    taken_j, taken_i = [], set()
    for _, _, j, i in pairs:
        if i not in taken_i and j not in taken_j:
            taken_i.add(i)
            taken_j.append(j)
    return taken_j, taken_i
