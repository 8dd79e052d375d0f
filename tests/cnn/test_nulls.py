"""Permuted-angle nulls (exobench.cnn.nulls)."""

import numpy as np
import pytest

from exobench.cnn.nulls import permuted_angles


@pytest.mark.parametrize("kind", ["reversed-runs", "random"])
def test_permuted_angles_are_seeded_distinct_permutations_never_the_identity(kind):

    angles = np.linspace(-20.0, 40.0, 9)
    first = permuted_angles(angles, 12, kind=kind, random_state=3)
    assert len(first) == 12
    assert all(np.array_equal(np.sort(p), angles) and not np.array_equal(p, angles) for p in first)
    assert len({tuple(p) for p in first}) == 12  # distinct while the frames allow it
    assert all(np.array_equal(a, b) for a, b in zip(first, permuted_angles(angles, 12, kind=kind, random_state=3)))
    two = permuted_angles([1.0, 2.0], 3, kind=kind, random_state=0)  # only one permutation is not the identity
    assert all(p.tolist() == [2.0, 1.0] for p in two)


def test_reversed_runs_keep_neighbouring_frames_at_neighbouring_angles():

    angles = np.arange(30.0)  # angle = frame index: the angles' steps show the runs
    for order in permuted_angles(angles, 50, kind="reversed-runs", random_state=7):
        steps = np.diff(order)
        breaks = np.flatnonzero(steps != -1.0)  # inside a run, each frame gets the previous angle
        runs = np.split(order, breaks + 1)
        assert 1 <= len(runs) <= 5 and min(len(run) for run in runs) >= 2
        # a companion's frames sweep an arc around it: the angle differences span both signs
        offsets = order - angles
        assert offsets.min() < 0 < offsets.max()


def test_permuted_angles_reject_bad_input():

    with pytest.raises(ValueError, match="angles: expected a 1D array of at least 2 angles"):
        permuted_angles([1.0], 1)
    with pytest.raises(ValueError, match="kind: expected one of 'random', 'reversed-runs', got 'blocks'"):
        permuted_angles([1.0, 2.0], 1, kind="blocks")
