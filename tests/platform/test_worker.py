"""The scoring program run as the platforms' workers run it, with only numpy/scipy/astropy importable.

Codalab v1.5: ``program/``, ``input/ref``, ``input/res`` and ``output/`` under a run folder; the
``metadata`` command has ``$program``, ``$input``, ``$output`` substituted, is split on single
spaces and run; the web app parses ``scores.txt`` lines with ``split(":")`` and ``float()``.
Codabench: the same folders under ``/app`` (here a temporary folder standing for it), the
``metadata.yaml`` command split as a shell would, run in ``/app/program``; ``scores.json`` read first.

The subprocess gets a ``sitecustomize.py`` that refuses any import but the standard library,
numpy, scipy, astropy (and their own dependencies) and exobench, and logs at exit every module
loaded, so that the test checks the vendored exobench was the one used.
"""

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from exobench.platform.vendor import vendor_program
from exobench.scoring.program import score_keys

from ..phase_data import POSITIONS, blob_map, make_reference, make_submission

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the worker emulation uses POSIX shell shims")

#: Third-party top-level modules the program may import: the three libraries and their own dependencies.
ALLOWED = ("numpy", "scipy", "astropy", "erfa", "pyerfa", "yaml", "packaging", "astropy_iers_data")

SITECUSTOMIZE = textwrap.dedent(
    """
    import atexit, json, os, sys

    _ALLOWED = set(os.environ["EXOBENCH_TEST_ALLOWED"].split(","))
    _BASELINE = set(sys.modules)


    _STDLIB = os.path.dirname(os.__file__) + os.sep


    def _in_stdlib(name, path):
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        origin = (spec.origin or "") if spec else ""
        return origin.startswith(_STDLIB) and "-packages" + os.sep not in origin[len(_STDLIB):]


    class _Blocker:
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in sys.stdlib_module_names or top in _ALLOWED or top == "exobench":
                return None
            if "." not in name and _in_stdlib(name, path):  # e.g. _sysconfigdata_*
                return None
            raise ImportError(f"import of {name!r} blocked: the platform has only numpy, scipy and astropy")


    sys.meta_path.insert(0, _Blocker())


    def _log():
        loaded = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())
                  if name not in _BASELINE}
        with open(os.environ["EXOBENCH_IMPORT_LOG"], "w") as fh:
            json.dump(loaded, fh)


    atexit.register(_log)
    """
)


def _environment(tmp_path, program):
    """A bare environment: shims for python/python3, the import blocker, no user site, no inherited paths."""
    shims = tmp_path / "shims"
    shims.mkdir()
    for name in ("python", "python3"):
        shim = shims / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(0o755)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {
        "PATH": f"{shims}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "PYTHONPATH": str(blocker),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tmp_path / "home"),
        "EXOBENCH_TEST_ALLOWED": ",".join(ALLOWED),
        "EXOBENCH_IMPORT_LOG": str(tmp_path / "imports.json"),
    }
    (tmp_path / "home").mkdir()
    return env


def _check_imports(tmp_path, program):
    loaded = json.loads((tmp_path / "imports.json").read_text())
    ours = {name: path for name, path in loaded.items() if name == "exobench" or name.startswith("exobench.")}
    assert "exobench.scoring.program" in ours
    for name, path in ours.items():
        assert path and Path(path).resolve().is_relative_to(program.resolve()), f"{name} not vendored: {path}"
    # Every module loaded from a file outside the standard library and the program comes from an allowed package
    # (modules without a file, such as Cython's internal ones, are parts of those packages).
    third = set()
    for name, path in loaded.items():
        parts = Path(path).parts if path else ()
        site = [i for i, part in enumerate(parts) if part.endswith("-packages")]
        if site and not Path(path).resolve().is_relative_to(program.resolve()):
            third.add(parts[site[-1] + 1].split(".")[0])
    assert third <= set(ALLOWED), third
    return ours


def _lay_out(root, *, phase=None, maps=None, positions=POSITIONS):
    """The run folder of a worker: program/ (vendored), input/ref, input/res, output/."""
    program = root / "program"
    vendor_program(program)
    make_reference(root / "input" / "ref", positions=positions, phase=phase)
    make_submission(root / "input" / "res", maps=maps)
    (root / "output").mkdir()
    return program


def _codalab_run(root, env):
    """What the Codalab v1.5 worker does with the program's metadata."""
    import yaml

    metadata = yaml.safe_load((root / "program" / "metadata").read_text())
    command = (
        metadata["command"]
        .replace("$program", str(root / "program"))
        .replace("$predictions", str(root / "input" / "res"))
        .replace("$input", str(root / "input"))
        .replace("$output", str(root / "output"))
        .replace("$tmp", str(root / "temp"))
        .replace("/", os.path.sep)
    )
    argv = command.split(" ")
    return subprocess.run(argv, cwd=root / "output", env=env, capture_output=True, text=True, timeout=120)


def _codalab_scores(path):
    """How the Codalab web app reads scores.txt."""
    scores = {}
    for line in Path(path).read_text().split("\n"):
        if len(line) > 0:
            key, value = line.split(":")
            scores[key.strip()] = float(value)
    return scores


def test_codalab_worker(tmp_path):
    root = tmp_path / "run"
    maps = {"1": blob_map(POSITIONS["1"], noise=1.0), "2": blob_map(POSITIONS["2"], noise=1.0)}  # map 3 missing
    program = _lay_out(root, maps=maps)
    env = _environment(tmp_path, program)
    result = _codalab_run(root, env)
    assert result.returncode == 0, result.stderr
    assert "inst_detmap_3.fits: missing" in result.stdout
    scores = _codalab_scores(root / "output" / "scores.txt")
    for column in score_keys("3d"):  # every leaderboard column gets a value
        assert column in scores and np.isfinite(scores[column])
    assert (root / "output" / "detailed_results.html").read_text().count("<svg") == 2
    assert not (root / "output" / "metadata").exists()
    _check_imports(tmp_path, program)


def test_codalab_worker_refuses_a_hostile_submission(tmp_path):
    root = tmp_path / "run"
    program = _lay_out(root)
    (root / "input" / "res" / "metadata").write_text("command: python evil.py")
    result = _codalab_run(root, _environment(tmp_path, program))
    assert result.returncode == 1
    assert result.stderr.startswith("submission refused: ") and "'metadata'" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (root / "output" / "scores.txt").exists()


def test_codabench_worker(tmp_path):
    app = tmp_path / "app"  # stands for /app
    program = _lay_out(app, phase={"suffix": "4d"})
    env = _environment(tmp_path, program)
    import yaml

    metadata = yaml.safe_load((program / "metadata.yaml").read_text())
    command = metadata["command"].replace("/app/", f"{app}/")
    result = subprocess.run(shlex.split(command), cwd=program, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    scores = json.loads((app / "output" / "scores.json").read_text())  # what Codabench reads first
    for column in score_keys("4d"):
        assert isinstance(scores[column], float) and np.isfinite(scores[column])
    assert scores["Recall_4d"] == 1.0 and scores["FalsePositives_4d"] == 0.0
    assert yaml.safe_load((app / "output" / "scores.txt").read_text()) == scores  # its fallback
    _check_imports(tmp_path, program)


def test_the_program_runs_without_arguments_on_app_paths(tmp_path):
    """Without arguments, score.py reads /app/input and writes /app/output (refused here: they do not exist)."""
    program = tmp_path / "program"
    vendor_program(program)
    env = _environment(tmp_path, program)
    result = subprocess.run(["python3", str(program / "score.py")], cwd=program, env=env, capture_output=True,
                            text=True, timeout=120)
    if Path("/app/input/ref").is_dir():  # pragma: no cover - on a real Codabench worker
        pytest.skip("/app/input exists here")
    assert result.returncode == 2 and "reference: folder '/app/input/ref' does not exist" in result.stderr


def test_the_isolation_refuses_other_packages(tmp_path):
    """The emulation is not vacuous: packages beyond numpy/scipy/astropy cannot be imported in it."""
    program = tmp_path / "program"
    program.mkdir()
    env = _environment(tmp_path, program)
    for module in ("pandas", "matplotlib", "h5py"):
        result = subprocess.run(["python", "-c", f"import {module}"], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode != 0 and "blocked" in result.stderr, module
    ok = subprocess.run(["python", "-c", "import numpy, scipy.ndimage"], cwd=tmp_path, env=env, capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
