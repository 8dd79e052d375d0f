"""A run that cannot complete (no lost task may be retried) raises one clear error, no partial results."""

import os
import signal
import threading

import pytest

from exobench.parallel import ExecutionError, Executor

from . import _tasks


@pytest.fixture(scope="module")
def cluster():
    """2 worker processes, and a task may not be on a dying worker even once."""
    with Executor(workers=2, allowed_failures=0) as executor:
        yield executor


def test_killed_worker_without_retries_is_one_clear_error(cluster):
    victim = sorted(cluster.client.run(os.getpid).values())[0]
    timer = threading.Timer(0.7, os.kill, args=(victim, signal.SIGKILL))
    timer.start()
    try:
        with pytest.raises(ExecutionError, match="could not complete.*task .* of 8 \\(slow\\).*died"):
            cluster.map(_tasks.slow_square, list(range(8)), key="slow")
    finally:
        timer.join()
