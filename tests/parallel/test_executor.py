"""The execution layer: in-process and a local Dask cluster of 2 workers give the same results."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from exobench.examples import example_dataset
from exobench.parallel import SCHEDULER_ENV, ExecutionError, Executor

from . import _tasks


def assert_identical(a, b):
    """Byte-identical results: same structure, same dtypes, same shapes, same bytes."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_identical(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        assert a.tobytes() == b.tobytes()
    else:
        assert a == b


def test_in_process_is_the_default_and_imports_no_dask():
    code = ("import sys; from exobench.parallel import Executor\n"
            "with Executor() as ex:\n"
            "    assert ex.backend == 'in-process' and ex.client is None\n"
            "    assert ex.map(abs, [-1, 2]) == [1, 2]\n"
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k != SCHEDULER_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_cluster_has_two_single_threaded_workers(cluster):
    assert cluster.backend == "local"
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    threads = cluster.client.nthreads()
    assert sorted(threads.values()) == [1, 1]


def test_arrays_byte_identical_to_in_process(cluster):
    items = list(range(12))
    with Executor() as local:
        expected = local.map(_tasks.seeded_arrays, items)
    got = cluster.map(_tasks.seeded_arrays, items)
    assert [r["seed"] for r in got] == items
    assert_identical(got, expected)


@pytest.mark.parametrize("algorithm", ["pca", "pca-annular"])
def test_exobench_pca_byte_identical_to_in_process(cluster, algorithm):
    # big enough for multi-threaded BLAS to round differently: the executor's one BLAS thread per task
    # is what makes the bytes equal
    ds = example_dataset(n_frames=40, size=65, seed=3) if algorithm == "pca-annular" else \
        example_dataset(n_frames=100, size=101, seed=3)
    ncomps = [1, 2, 3, 5]
    with Executor() as local:
        expected = local.map(_tasks.pca_final, ncomps, kwargs={"dataset": ds, "algorithm": algorithm})
    got = cluster.map(_tasks.pca_final, ncomps, kwargs={"dataset": cluster.scatter(ds), "algorithm": algorithm})
    assert_identical(got, expected)


def test_order_kept_when_later_tasks_finish_first(cluster):
    items = [(i, 0.05 * (8 - i)) for i in range(8)]
    assert cluster.map(_tasks.sleep_then_return, items) == list(range(8))


def test_empty_items(cluster):
    assert cluster.map(_tasks.noop, []) == []
    assert Executor().map(_tasks.noop, []) == []


@pytest.mark.parametrize("backend", ["in-process", "local"])
def test_task_exception_propagates_with_type_and_message(cluster, backend):
    executor = cluster if backend == "local" else Executor()
    items = list(range(10))
    # slow tasks on the cluster, so that waiting for them all (9 x 3 s on 2 workers) and stopping at the
    # failure (about one round of 3 s) are told apart however loaded the machine is
    kwargs = {"bad": 3, "delay": 3.0 if backend == "local" else 0.2}
    start = time.perf_counter()
    with pytest.raises(ValueError, match="task failed on item 3") as info:
        executor.map(_tasks.fail_on, items, kwargs=kwargs, key="failing")
    elapsed = time.perf_counter() - start
    assert any("task 3 of 10 (failing)" in note for note in getattr(info.value, "__notes__", [])) \
        or sys.version_info < (3, 11)
    if backend == "local":
        # the other tasks were cancelled: waiting for them would take at least 13.5 s
        assert elapsed < 10.0
        assert cluster.map(_tasks.noop, [1, 2]) == [1, 2]  # the cluster is still usable


def test_scatter_large_array(cluster):
    array = np.arange(4_000_000, dtype=np.float64).reshape(4000, 1000)  # 32 MB, sent once
    blocks = [(i, i + 500) for i in range(0, 4000, 500)]
    expected = [float(array[a:b].sum(dtype=np.float64)) for a, b in blocks]
    handle = cluster.scatter(array)
    assert type(handle).__name__ == "Future"
    assert cluster.map(_tasks.rows_sum, blocks, kwargs={"array": handle}) == expected
    assert cluster.map(_tasks.from_item_tuple, [(handle, 7), (handle, 3999)]) == \
        [float(array[7].sum()), float(array[3999].sum())]
    with Executor() as local:
        assert local.scatter(array) is array
        assert local.map(_tasks.rows_sum, blocks, kwargs={"array": local.scatter(array)}) == expected


@pytest.mark.parametrize("backend", ["in-process", "local"])
def test_progress_bar_on_stderr(cluster, backend, capsys, monkeypatch):
    executor = cluster if backend == "local" else Executor()
    assert executor.map(_tasks.noop, range(5), progress=True) == list(range(5))
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    executor.map(_tasks.noop, range(5))
    assert capsys.readouterr().err == ""
    assert executor.map(_tasks.noop, range(5), progress=True, desc="noop tasks") == list(range(5))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "noop tasks" in captured.err and "5/5" in captured.err


def test_unreachable_scheduler_is_one_clear_error(closed_port):
    address = f"tcp://127.0.0.1:{closed_port}"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="could not reach the Dask scheduler") as info:
        Executor(scheduler=address)
    assert time.perf_counter() - start < 8.0
    assert address in str(info.value)


def test_scheduler_from_environment_variable(cluster, monkeypatch, closed_port):
    monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
    with Executor() as remote:
        assert remote.backend == "scheduler"
        assert remote.scheduler_address == cluster.scheduler_address
        assert_identical(remote.map(_tasks.seeded_arrays, [4, 5]), [_tasks.seeded_arrays(4), _tasks.seeded_arrays(5)])
    assert cluster.map(_tasks.noop, [1]) == [1]  # closing a connected executor leaves the cluster running
    with Executor(workers=0) as forced:  # workers=0: in-process whatever the environment says
        assert forced.backend == "in-process"

    address = f"tcp://127.0.0.1:{closed_port}"
    monkeypatch.setenv(SCHEDULER_ENV, address)
    start = time.perf_counter()
    with pytest.raises(ConnectionError) as info:
        Executor(connect_timeout=1.0)
    assert time.perf_counter() - start < 4.0
    assert address in str(info.value) and SCHEDULER_ENV in str(info.value)


def test_options_are_checked():
    with pytest.raises(ValueError, match="at most one"):
        Executor(workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="workers"):
        Executor(workers=-1)
    with pytest.raises(ValueError, match="workers: expected an integer >= 0 or None, got True"):
        Executor(workers=True)
    with pytest.raises(ValueError, match="blas_threads: expected an integer >= 1 or None, got 0"):
        Executor(blas_threads=0)
    with pytest.raises(ValueError, match="retries: expected an integer >= 0, got '1'"):
        Executor(retries="1")
    with pytest.raises(ValueError, match="connect_timeout: expected a number > 0, got 0"):
        Executor(connect_timeout=0)
    with pytest.raises(ValueError, match="scheduler"):
        Executor(scheduler=8786)
    with pytest.raises(ValueError, match="scheduler"):
        Executor(scheduler="  ")
    with pytest.raises(TypeError, match="fn"):
        Executor().map(None, [1])
    executor = Executor()
    executor.close()
    executor.close()  # idempotent
    with pytest.raises(ExecutionError, match="closed"):
        executor.map(abs, [1])


def test_large_kwargs_travel_once_per_call_and_never_mix_between_calls(cluster):
    # Dask names the graph node of a large map keyword after the keyword: the executor scatters instead
    for value in (1.0, 2.0):
        array = np.full((200, 1000), value)  # 1.6 MB
        assert cluster.map(_tasks.rows_sum, [(0, 10), (0, 20)], kwargs={"array": array}) == \
            [10_000 * value, 20_000 * value]
