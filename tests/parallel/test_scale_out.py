"""Baselines, the scoring of several submissions and sweeps on a 2-worker local cluster
give byte-identical outputs to the in-process run; the command line's executor options."""

import json
import time
from pathlib import Path

import numpy as np
import pytest

from exobench import baselines as bl
from exobench.cli import main
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.parallel import SCHEDULER_ENV, ExecutionError, Executor
from exobench.scoring.batch import score_submissions
from exobench.scoring.program_output import scores_json
from exobench.submission import SubmissionError
from exobench.workflows.sweep import run_sweep, write_sweep

from ._phase import make_phase
from .test_killed_worker import kill_one_worker_later

GRID = {"algorithm.ncomp": [1, 2], "threshold": [3.0, 5.0]}


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    """``(public, reference)`` folders of a tiny phase."""
    return make_phase(tmp_path_factory.mktemp("scale_out"))


@pytest.fixture(scope="module")
def submissions(phase, tmp_path_factory):
    """Three baseline zips of the phase, written in-process."""
    public, _ = phase
    folder = tmp_path_factory.mktemp("submissions")
    return [bl.run_baseline(name, public).write(folder / f"{name}.zip")
            for name in ("median", "pca", "pca-annular")]


def _details(report):
    details = report.details()
    details.pop("elapsed_s")
    return json.dumps(details, sort_keys=True)


def test_a_baseline_run_gives_the_same_zip_bytes_on_a_cluster(phase, cluster, tmp_path):
    public, _ = phase
    local = bl.run_baseline("pca-annular", public)
    remote = bl.run_baseline("pca-annular", public, executor=cluster)
    assert list(local.maps) == list(remote.maps)
    for key in local.maps:
        assert local.maps[key].tobytes() == remote.maps[key].tobytes()
    a = local.write(tmp_path / "local.zip").read_bytes()
    b = remote.write(tmp_path / "remote.zip").read_bytes()
    assert a == b


def test_local_workers_keep_glibcs_allocator_defaults(cluster):
    """Local workers run with glibc's allocator defaults (Dask's MALLOC_TRIM_THRESHOLD_ slows them, docs/scaling.md)."""
    from exobench.parallel import executor as parallel

    if parallel._USER_MALLOC_TRIM is not None:
        pytest.skip("MALLOC_TRIM_THRESHOLD_ set by the user: passed on to the workers")
    assert set(cluster.client.run(_malloc_trim).values()) == {None}


def _malloc_trim():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_the_default_run_is_the_in_process_executor(phase):
    public, _ = phase
    default = bl.run_baseline("pca", public, params={"algorithm": {"ncomp": 2}})
    with Executor(workers=0) as ex:
        explicit = bl.run_baseline("pca", public, params={"algorithm": {"ncomp": 2}}, executor=ex)
    assert all(default.maps[k].tobytes() == explicit.maps[k].tobytes() for k in default.maps)


def test_scoring_several_submissions_is_identical_on_a_cluster(phase, submissions, cluster):
    _, reference = phase
    local = score_submissions(submissions, reference)
    remote = score_submissions(submissions, reference, executor=cluster)
    assert [scores_json(r) for r in local] == [scores_json(r) for r in remote]
    assert [_details(r) for r in local] == [_details(r) for r in remote]
    assert local[2].scores["TPR_3d"] > 0  # pca-annular finds companions


def test_a_refused_submission_is_returned_or_raised(phase, submissions, cluster, tmp_path):
    _, reference = phase
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    reports = score_submissions([submissions[0], bad], reference, executor=cluster, refused="return")
    assert isinstance(reports[1], SubmissionError) and "bad.zip" in str(reports[1])
    assert reports[0].scores == score_submissions([submissions[0]], reference)[0].scores
    with pytest.raises(SubmissionError):
        score_submissions([bad], reference, executor=cluster)
    with pytest.raises(ValueError, match="refused: expected 'raise' or 'return'"):
        score_submissions([bad], reference, refused="skip")


def test_a_sweep_gives_the_same_table_on_a_cluster(phase, cluster, tmp_path):
    public, reference = phase
    local = run_sweep("pca-annular", public, GRID, reference)
    remote = run_sweep("pca-annular", public, GRID, reference, executor=cluster)
    assert local.csv_text() == remote.csv_text()
    assert [row["algorithm.ncomp"] for row in local.rows] == [1, 1, 2, 2]
    assert [row["threshold_used"] for row in local.rows] == [3.0, 5.0, 3.0, 5.0]
    paths = write_sweep(remote, tmp_path / "out")
    assert [p.name for p in paths] == ["sweep.csv", "sweep.json", "sweep.png"]
    content = json.loads(paths[1].read_text())
    assert content["grid"] == GRID and content["rows"] == local.rows and "distributed" in content["versions"]
    assert paths[0].read_text().splitlines()[0].startswith("algorithm.ncomp,threshold,F1,")
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cli_runs_on_a_scheduler_and_scores_several_submissions(phase, submissions, cluster, tmp_path, capsys):
    public, reference = phase
    address = cluster.scheduler_address
    archive = tmp_path / "remote.zip"
    assert main(["baseline", "pca-annular", str(public), "-o", str(archive), "--quiet", "--scheduler", address]) == 0
    assert archive.read_bytes() == submissions[2].read_bytes()
    capsys.readouterr()
    argv = ["score", *map(str, submissions), str(reference), "--scheduler", address, "--output", str(tmp_path / "o")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("==")] == [f"== {s} ==" for s in submissions]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["median", "pca", "pca-annular"]
    assert main(["score", *map(str, submissions[:2]), str(reference), "--json", "--quiet"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == list(map(str, submissions[:2]))


def test_the_cli_sweep_writes_its_files(phase, cluster, tmp_path, capsys):
    public, reference = phase
    grid = tmp_path / "grid.yaml"
    grid.write_text("algorithm.ncomp: [1, 2]\n")
    argv = ["sweep", "pca-annular", str(public), str(reference), "--grid", str(grid),
            "-o", str(tmp_path / "out"), "--quiet", "--scheduler", cluster.scheduler_address]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["algorithm.ncomp", "F1", "TPR", "FalsePositives", "AUC"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sweep.csv", "sweep.json", "sweep.png"]


@pytest.mark.parametrize("command", ["score", "baseline"])
def test_an_unreachable_scheduler_is_one_line_within_seconds(command, phase, submissions, tmp_path, capsys,
                                                             monkeypatch):
    public, reference = phase
    argv = {"score": ["score", str(submissions[0]), str(reference), "--scheduler", "tcp://127.0.0.1:1"],
            "baseline": ["baseline", "pca", str(public), "-o", str(tmp_path / "x.zip")]}[command]
    if command == "baseline":
        monkeypatch.setenv(SCHEDULER_ENV, "tcp://127.0.0.1:1")
    start = time.perf_counter()
    assert main(argv) == 1
    assert time.perf_counter() - start < 15
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tcp://127.0.0.1:1" in err and err.startswith("exobench: error: ")
    assert ("$EXOBENCH_SCHEDULER" in err) == (command == "baseline")
    assert not (tmp_path / "x.zip").exists()


def test_workers_0_runs_in_process_whatever_the_environment_says(phase, tmp_path, monkeypatch, capsys):
    public, _ = phase
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://127.0.0.1:1")
    start = time.perf_counter()
    assert main(["baseline", "median", str(public), "-o", str(tmp_path / "m.zip"), "--quiet", "--workers", "0"]) == 0
    assert time.perf_counter() - start < 4 and (tmp_path / "m.zip").is_file()


def test_workers_and_scheduler_are_mutually_exclusive(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "pca", "p", "r", "--grid", "g", "-o", "o", "--workers", "2",
              "--scheduler", "tcp://127.0.0.1:1"])
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_build_takes_the_executor_options(capsys, monkeypatch, tmp_path):
    import types

    import exobench.builder

    assert main(["build", "--default", "-o", "unused", "--check", "--workers", "0"]) == 0
    assert "valid" in capsys.readouterr().out
    seen = {}
    done = types.SimpleNamespace(truth=[], timings={}, output=tmp_path / "c", datasets=0)

    def with_executor(challenge, output, *, overwrite=False, progress=True, cache=None, executor=None):
        seen["executor"] = executor
        return done

    def without_executor(challenge, output, *, overwrite=False, progress=True, cache=None):
        seen["called"] = True
        return done

    monkeypatch.setattr(exobench.builder, "build_challenge", with_executor)
    assert main(["build", "--default", "-o", str(tmp_path / "c"), "--workers", "0", "--quiet"]) == 0
    assert seen["executor"].backend == "in-process"
    monkeypatch.setattr(exobench.builder, "build_challenge", without_executor)
    assert main(["build", "--default", "-o", str(tmp_path / "c"), "--workers", "2", "--quiet"]) == 0
    assert seen["called"] and "the option is ignored" in capsys.readouterr().err


def test_maps_of_a_cluster_run_are_float64_arrays(phase, cluster):
    public, _ = phase
    result = bl.run_baseline("median", public, executor=cluster, detection_map="snr")
    assert all(isinstance(m, np.ndarray) and m.dtype == np.float64 for m in result.maps.values())


def test_relative_paths_reach_the_workers_as_absolute_paths(phase, submissions, cluster, monkeypatch):
    public, reference = phase
    assert cluster.task_path("public") == str(Path.cwd() / "public")
    monkeypatch.chdir(public.parent)
    remote = bl.run_baseline("median", "public", executor=cluster)
    assert all(remote.maps[k].tobytes() == m.tobytes() for k, m in bl.run_baseline("median", "public").maps.items())
    monkeypatch.chdir(submissions[0].parent)
    [report] = score_submissions([submissions[0].name], Path("..") / reference.parent.name / "reference",
                                 executor=cluster)
    assert report.scores == score_submissions([submissions[0]], reference)[0].scores


# last in the module: the cluster's workers are warm, and the one restarted is not used afterwards
def test_a_baseline_run_survives_a_killed_worker(cluster, tmp_path):
    """The run completes with the in-process maps, or fails with one ExecutionError; never partial."""
    for k in range(1, 7):  # 6 datasets of ~0.25 s: tasks in flight when the worker dies
        write_dataset(example_dataset(n_frames=30, size=71, seed=k).replace(dataset_id=str(k)), tmp_path)
    expected = bl.run_baseline("pca-annular", tmp_path)
    timer, _ = kill_one_worker_later(cluster.client, 0.3)
    try:
        result = bl.run_baseline("pca-annular", tmp_path, executor=cluster)
    except ExecutionError as exc:
        assert "could not complete" in str(exc)
    else:
        assert list(result.maps) == list(expected.maps)
        assert all(result.maps[k].tobytes() == expected.maps[k].tobytes() for k in expected.maps)
    finally:
        timer.join()
    cluster.client.wait_for_workers(2, timeout=30)
