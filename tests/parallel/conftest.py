"""Fixtures of the parallel tests: one local cluster of 2 worker processes per module."""

import socket

import pytest

from exobench.parallel import SCHEDULER_ENV, Executor


@pytest.fixture(autouse=True)
def _no_scheduler_env(monkeypatch):
    """Tests start from an environment without ``EXOBENCH_SCHEDULER``."""
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)


@pytest.fixture(scope="module")
def cluster():
    """An executor on a local Dask cluster of 2 worker processes (1 thread each), for the module."""
    with Executor(workers=2) as executor:
        yield executor


@pytest.fixture
def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
