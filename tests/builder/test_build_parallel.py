"""The builder on the execution layer: a 2-worker local Dask cluster builds the same challenge, byte for byte."""

import pytest

pytest.importorskip("hcipy", reason="the builder's sources here are simulated (a dependency of exobench: pip install hcipy)")
pytest.importorskip("distributed", reason="the local cluster needs dask.distributed (a dependency of exobench)")

from exobench.builder import build_challenge  # noqa: E402
from exobench.parallel import SCHEDULER_ENV, Executor  # noqa: E402


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_local_cluster_builds_the_same_bytes_as_in_process(write_definition, tmp_path, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    path = write_definition()
    alone = build_challenge(path, tmp_path / "alone")
    with Executor(workers=2) as executor:
        spread = build_challenge(path, tmp_path / "spread", executor=executor, cache=tmp_path / "cache")
    assert _tree(alone.output) == _tree(spread.output)
    assert alone.truth.equals(spread.truth) and len(alone.truth)
    assert spread.datasets == alone.datasets == 4
    # every stage's time is reported, summed over the workers' tasks
    assert set(spread.timings) == {"sources", "calibration", "injection", "writing"}
    assert spread.timings["calibration"] > 0


def test_a_cached_calibration_gives_the_same_challenge(write_definition, tmp_path):
    path = write_definition()
    cache = tmp_path / "cache"
    cold = build_challenge(path, tmp_path / "cold", cache=cache)
    assert any(cache.iterdir())
    warm = build_challenge(path, tmp_path / "warm", cache=cache)
    # the cache holds each dataset's relation separation by separation; reading it gives the same bytes
    assert _tree(cold.output) == _tree(warm.output)
