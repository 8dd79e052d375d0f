"""A worker process killed during a run: the lost tasks are retried and the results are complete."""

import os
import signal
import threading

import pytest

from exobench.parallel import ExecutionError

from . import _tasks


def kill_one_worker_later(client, delay):
    """Kill one worker process (SIGKILL) after ``delay`` seconds; returns the thread and the victim's pid."""
    pids = client.run(os.getpid)  # {worker address: pid}
    victim = sorted(pids.values())[0]
    timer = threading.Timer(delay, os.kill, args=(victim, signal.SIGKILL))
    timer.start()
    return timer, victim


def test_killed_worker_run_completes_or_fails_clearly(cluster):
    items = list(range(8))  # 8 tasks of 0.5 s on 2 workers: about 2 s, tasks in flight at 0.7 s
    timer, victim = kill_one_worker_later(cluster.client, 0.7)
    try:
        results = cluster.map(_tasks.slow_square, items, key="slow")
    except ExecutionError as exc:  # allowed too, but one clear error, never partial output
        assert "could not complete" in str(exc)
    else:
        assert results == [i * i for i in items]
    finally:
        timer.join()
    with pytest.raises(ProcessLookupError):  # the worker was really killed (and the nanny restarted one)
        os.kill(victim, 0)
    cluster.client.wait_for_workers(2, timeout=30)
    assert victim not in cluster.client.run(os.getpid).values()
    assert cluster.map(_tasks.slow_square, [3]) == [9]
