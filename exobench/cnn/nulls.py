"""The permuted-angle nulls: derotations under which a dataset's companions do not add up.

Derotated with a permutation of its angles, each frame of a dataset is turned
by another frame's angle: a companion smears while the noise keeps its
statistics (the same set of rotations). :func:`permuted_angles` draws such
permutations; their maps join the flipped-angle map
(``probability_map(..., flip_angles=True)``) in the null of
:func:`exobench.cnn.significance.null_significance_map`.
"""

import numpy as np

from .._validate import check_choice

__all__ = ["permuted_angles", "PERMUTATION_KINDS"]

#: Kinds of :func:`permuted_angles`.
PERMUTATION_KINDS = ("random", "reversed-runs")
#: Most runs of a ``reversed-runs`` permutation, and the fewest frames in one.
_MAX_RUNS, _MIN_RUN = 5, 2


def permuted_angles(angles, count, *, kind="random", random_state=None):
    """``count`` seeded permutations of ``angles``, none the identity: derotated with them, a
    dataset's companions smear (each frame turned by another frame's angle) while the noise keeps
    its statistics (the same set of rotations), so their maps are further negatives for
    :func:`null_significance_map`.

    Parameters
    ----------
    angles : array_like, shape (t,)
        The frames' derotation angles, in time order.
    count : int
    kind : {"random", "reversed-runs"}
        ``random``: any permutation; it scatters a residual that lives over a
        few frames into blobs, and leaves each companion a faint ghost at its
        place (two random angles often differ little). ``reversed-runs``: the
        frames cut into 1 to 5 runs of consecutive frames (at least 2 each),
        each run's angles reversed and the runs shuffled, so neighbouring
        frames keep neighbouring angles (such a residual stays an arc, as in
        the real map) while a companion's frames sweep an arc, with no ghost.
        Distinct where the frames allow that many.
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator

    Returns
    -------
    list of numpy.ndarray

    Examples
    --------
    >>> [p.tolist() for p in permuted_angles([0.0, 10.0, 20.0], 2, random_state=0)]
    [[20.0, 0.0, 10.0], [20.0, 10.0, 0.0]]
    >>> permuted_angles([0.0, 10.0, 20.0, 30.0], 1, kind="reversed-runs", random_state=0)[0].tolist()
    [10.0, 0.0, 30.0, 20.0]
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 1 or angles.size < 2:
        raise ValueError(f"angles: expected a 1D array of at least 2 angles, got shape {angles.shape}")
    check_choice(kind, "kind", PERMUTATION_KINDS)
    rng = np.random.default_rng(random_state)
    draw = _reversed_runs if kind == "reversed-runs" else _random_order
    orders, tries = [], 0
    while len(orders) < count:
        order, tries = draw(angles.size, rng), tries + 1
        identity = np.array_equal(order, np.arange(angles.size))
        repeated = any(np.array_equal(order, seen) for seen in orders) and tries < 100 * count
        if not identity and not repeated:
            orders.append(order)
    return [angles[order] for order in orders]


def _random_order(n, rng):
    return rng.permutation(n)


def _reversed_runs(n, rng):
    """Frame order: 1 to ``_MAX_RUNS`` runs of consecutive frames, each reversed, shuffled.

    >>> _reversed_runs(6, np.random.default_rng(1)).tolist()
    [5, 4, 3, 2, 1, 0]
    """
    most = max(1, min(_MAX_RUNS, n // _MIN_RUN))
    runs = int(rng.integers(1, most + 1))
    # the runs' lengths beyond _MIN_RUN: runs - 1 bars among the spare frames (stars and bars)
    slots = n - runs * _MIN_RUN + runs - 1
    bars = np.sort(rng.choice(slots, runs - 1, replace=False)).astype(np.int64)
    lengths = np.diff(np.concatenate([[-1], bars, [slots]])) - 1 + _MIN_RUN
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces = [np.arange(start, start + length)[::-1] for start, length in zip(starts, lengths)]
    return np.concatenate([pieces[k] for k in rng.permutation(runs)])
