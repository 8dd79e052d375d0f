"""The bundled scoring program on the platforms' Pythons, each with numpy, scipy and astropy only.

The platforms' worker images run old Pythons (Codalab's legacy images: 3.7 and 3.9). For every
Python from 3.7 up that pyenv offers on this machine, a virtual environment holding only numpy,
scipy and astropy (the newest pip finds for that Python) is made once and kept under
``$EXOBENCH_PLATFORM_VENVS`` (default ``~/.cache/exobench/platform-venvs``). A Codabench bundle is
built, its scoring program and reference data unzipped as a worker does, and the program scores
the same noisy submissions of both phases under each Python: every one must give the scores that
this Python's exobench gives in process. The test skips, saying why, where pyenv offers no such
Python or the packages cannot be installed.
"""

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from exobench.platform import build_bundle
from exobench.scoring.program import score_keys, score_submission
from exobench.scoring.program_output import scores_json
from exobench.submission import write_submission

from .test_bundle import SHAPE, TRUTH, make_challenge

#: The oldest Python the bundled program supports (Codalab's ``codalab-legacy:py37`` image).
OLDEST = (3, 7)
VENVS_ENV = "EXOBENCH_PLATFORM_VENVS"


def _pyenv_pythons():
    """``{(major, minor): interpreter}`` of the pyenv versions from :data:`OLDEST` up (newest patch of each)."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return {}
    try:
        listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=60).stdout
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for version in listed.split():
        parts = version.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            continue
        key = (int(parts[0]), int(parts[1]))
        interpreter = Path(root) / "versions" / version / "bin" / "python"
        if key >= OLDEST and interpreter.is_file():
            patch = int(parts[2])
            if key not in found or patch > found[key][0]:
                found[key] = (patch, interpreter)
    return {key: interpreter for key, (_, interpreter) in sorted(found.items())}


PYTHONS = _pyenv_pythons()


def _venv(key, interpreter):
    """A kept virtual environment of ``interpreter`` with numpy, scipy and astropy; skips when it cannot be made."""
    base = Path(os.environ.get(VENVS_ENV) or Path.home() / ".cache" / "exobench" / "platform-venvs")
    folder = base / f"py{key[0]}.{key[1]}"
    python = folder / "bin" / "python"
    check = [str(python), "-c", "import numpy, scipy, astropy"]
    if python.is_file() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run([str(interpreter), "-m", "venv", str(folder)], capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        pytest.skip(f"Python {key[0]}.{key[1]}: cannot make a virtual environment ({made.stderr.strip()[-200:]})")
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "numpy", "scipy",
               "astropy"]
    done = subprocess.run(install, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"Python {key[0]}.{key[1]}: numpy, scipy and astropy could not be installed "
                    f"({done.stderr.strip()[-200:]})")
    return python


def _noisy_submission(folder, phase):
    """Maps with a blob on each companion but one, seeded noise (many thresholds), one map missing."""
    rng = np.random.default_rng(phase)
    maps = {}
    for i, (k, positions) in enumerate(TRUTH[phase].items()):
        if i == len(TRUTH[phase]) - 1 and phase == 1:
            continue  # a missing map is scored as empty
        detmap = rng.normal(0.0, 1.0, SHAPE)
        for x, y in positions[:-1] or positions:
            detmap[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] += 6.0
        maps["inst", k] = detmap
    folder.mkdir(parents=True, exist_ok=True)
    return write_submission(maps, 3.0, folder / f"phase_{phase}")


@pytest.fixture(scope="module")
def worker_tree(tmp_path_factory):
    """The unzipped bundle as a worker lays it out: program/, and per phase input/ref and input/res."""
    root = tmp_path_factory.mktemp("platform")
    challenge = make_challenge(root / "challenge")
    bundle = build_bundle(challenge, root / "bundle.zip", platform="codabench")["path"]
    work = root / "work"
    with zipfile.ZipFile(bundle) as outer:
        outer.extractall(work / "bundle")
    with zipfile.ZipFile(work / "bundle" / "scoring_program.zip") as program:
        program.extractall(work / "program")
    phases = {}
    for phase in TRUTH:
        inputs = work / f"input_{phase}"
        with zipfile.ZipFile(work / "bundle" / f"reference_data_{phase}.zip") as reference:
            reference.extractall(inputs / "ref")
        submission = _noisy_submission(root / "submissions", phase)
        shutil.copytree(submission, inputs / "res")
        expected = json.loads(scores_json(score_submission(submission, inputs / "ref")))
        phases[phase] = (inputs, expected)
    return work / "program", phases


@pytest.mark.skipif(not PYTHONS, reason="pyenv offers no Python from 3.7 up on this machine (pyenv versions)")
@pytest.mark.parametrize("key", list(PYTHONS), ids=[f"py{k[0]}.{k[1]}" for k in PYTHONS])
def test_the_bundled_program_scores_the_same_on_each_platform_python(worker_tree, key, tmp_path):
    python = _venv(key, PYTHONS[key])
    program, phases = worker_tree
    env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    for phase, (inputs, expected) in phases.items():
        output = tmp_path / f"output_{phase}"
        output.mkdir()
        run = subprocess.run([str(python), "score.py", str(inputs), str(output)], cwd=program, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        scores = json.loads((output / "scores.json").read_text())
        assert list(scores) == score_keys("3d" if phase == 1 else "4d")
        assert scores == expected  # what this Python's exobench writes, to the last digit
        assert (output / "detailed_results.html").is_file()
