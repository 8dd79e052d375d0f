"""Maps cut into pieces: annular PCA's residuals annulus group by annulus group, assembled into exactly
the whole run's bytes; the baseline runner cuts only the tasks of an incomplete last round."""

import numpy as np
import pytest

from exobench import baselines as bl
from exobench.algorithms import AnnularPCA
from exobench.examples import example_dataset
from exobench.parallel import Executor

from ._phase import make_phase


@pytest.fixture(scope="module")
def dataset():
    return example_dataset(n_frames=24, size=51, seed=3)


@pytest.mark.parametrize("options", [
    {"ncomp": 3},
    {"explained_variance": 0.9},
    {"ncomp": 2, "convention": "vip"},  # overlapping last annulus: the later annulus wins, as in process()
    {"ncomp": 2, "collapse": "mean", "derotation": "bicubic", "inner_radius": 1.0},
])
@pytest.mark.parametrize("parts", [1, 2, 3, 50])
def test_pieces_assemble_into_the_whole_result_bit_for_bit(dataset, options, parts):
    pca = AnnularPCA(**options)
    whole = pca.process(dataset)
    pieces = [pca.residual_part(dataset, part, parts) for part in range(parts)]
    result = pca.process_parts(dataset, pieces[::-1])  # in any order
    assert result.final.tobytes() == whole.final.tobytes()
    assert result.residuals.tobytes() == whole.residuals.tobytes()


def test_pieces_are_interleaved_annuli(dataset):
    pca = AnnularPCA(ncomp=2)
    count = len(pca.annulus_pixels(dataset))
    assert [index for index, _, _ in pca.residual_part(dataset, 1, 3)] == list(range(1, count, 3))


@pytest.mark.parametrize("part, parts, error, message", [
    (2, 2, ValueError, "part, parts: expected 0 <= part < parts, got part=2, parts=2"),
    (0, 0, ValueError, "part, parts: expected 0 <= part < parts, got part=0, parts=0"),
    (0, 1.5, ValueError, "parts: expected an integer, got 1.5"),
    (True, 2, ValueError, "part: expected an integer, got True"),
])
def test_bad_piece_indices_name_the_parameter(dataset, part, parts, error, message):
    with pytest.raises(error) as info:
        AnnularPCA(ncomp=1).residual_part(dataset, part, parts)
    assert str(info.value) == message


def test_missing_or_repeated_pieces_are_refused(dataset):
    pca = AnnularPCA(ncomp=1)
    first, second = (pca.residual_part(dataset, part, 2) for part in range(2))
    count = len(pca.annulus_pixels(dataset))
    with pytest.raises(ValueError, match=f"pieces: expected the residuals of each of the dataset's {count} annuli "
                                         r"once, got annuli \[0, 2, "):
        pca.process_parts(dataset, [first])
    with pytest.raises(ValueError, match="pieces: expected the residuals of each"):
        pca.process_parts(dataset, [first, second, first])


@pytest.mark.parametrize("n_tasks, slots, expected", [
    (9, 2, [1] * 8 + [2]),  # 5 rounds: the last dataset in 2 pieces
    (8, 2, [1] * 8),  # full rounds: nothing to cut
    (9, 4, [1] * 8 + [4]),
    (10, 4, [1] * 8 + [2, 2]),
    (7, 4, [1] * 4 + [2, 2, 2]),
    (3, 1, [1, 1, 1]),  # in-process
    (1, 8, [4]),  # at most MAX_MAP_PARTS
])
def test_only_the_last_rounds_tasks_are_cut(tmp_path, n_tasks, slots, expected):
    from exobench.data.fits_io import write_dataset

    write_dataset(example_dataset(n_frames=5, size=21, seed=0).replace(dataset_id="1"), tmp_path)
    params = bl.resolve_params("pca-annular")
    tasks = [(str(tmp_path), "example", "1", "pca-annular", params)] * n_tasks
    assert bl.run._piece_counts(tasks, slots) == expected
    assert bl.MAX_MAP_PARTS == 4


@pytest.mark.parametrize("name, params", [
    ("median", None),  # no pieces for this algorithm
    ("pca-annular", {"detection_map": "stim"}),  # only S/N maps come in pieces
])
def test_baselines_without_pieces_are_not_cut(tmp_path, name, params):
    from exobench.data.fits_io import write_dataset

    write_dataset(example_dataset(n_frames=5, size=21, seed=0).replace(dataset_id="1"), tmp_path)
    resolved = bl.resolve_params(name, params)
    assert bl.run._piece_counts([(str(tmp_path), "example", "1", name, resolved)] * 3, 2) == [1, 1, 1]


class _TwoSlots(Executor):
    """The in-process executor, claiming two slots: the runner then cuts the last round's tasks."""

    @property
    def slots(self):
        return 2


def test_a_run_with_cut_tasks_gives_the_same_maps(tmp_path):
    public, _ = make_phase(tmp_path)  # 3 datasets: on 2 slots the third comes in 2 pieces
    whole = bl.run_baseline("pca-annular", public)
    with _TwoSlots() as executor:
        cut = bl.run_baseline("pca-annular", public, executor=executor)
    assert list(cut.maps) == list(whole.maps)
    assert all(cut.maps[key].tobytes() == whole.maps[key].tobytes() for key in whole.maps)


def test_map_combine_combines_each_group_in_order():
    with Executor() as executor:
        assert executor.map_combine(abs, [-1, 2, -3, 4], tuple, [[3, 0], [1, 2]]) == [(4, 1), (2, 3)]


@pytest.mark.parametrize("groups", [[[0, 1]], [[0, 1, 2], [2]], [[0, 5], [1, 2]]])
def test_map_combine_needs_every_item_in_one_group(groups):
    with Executor() as executor, pytest.raises(ValueError, match="groups: expected every index of the 3 items "
                                                                 "in exactly one group"):
        executor.map_combine(abs, [1, 2, 3], sum, groups)


def test_map_combine_on_a_cluster_gives_the_in_process_results(cluster):
    items = [np.arange(5.0) * k for k in range(6)]
    groups = [[0, 1], [2], [3, 4, 5]]
    expected = Executor().map_combine(np.cumsum, items, _stack_sum, groups)
    got = cluster.map_combine(np.cumsum, items, _stack_sum, groups)
    assert [g.tobytes() for g in got] == [e.tobytes() for e in expected]
    assert cluster.slots == 2


def test_a_failing_piece_raises_its_error_from_the_cluster(cluster):
    with pytest.raises(ValueError, match="invalid literal"):
        cluster.map_combine(int, ["1", "x", "3"], sum, [[0, 1], [2]])


def _stack_sum(arrays):
    return np.sum(arrays, axis=0)
