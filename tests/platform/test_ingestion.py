"""Code phases: the ingestion program run locally, vendored as the platforms run it, and in the bundles.

Each dataset of the tiny phase costs a child process (a Python start and the reading of
the dataset), so the runs are shared by module fixtures.
"""

import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from exobench import ExobenchWarning, cli
from exobench.challenge import parse_challenge_config
from exobench.data.fits_io import read_dataset, write_dataset
from exobench.examples import example_dataset
from exobench.ingestion import CodeError, ingest, run_detect
from exobench.ingestion.child import detection_map, load_participant
from exobench.platform import build_bundle
from exobench.platform.vendor import vendor_program, vendored_modules
from exobench.scoring.program import score_submission
from exobench.scoring.program_output import scores_json
from exobench.submission import read_bounded_fits

from ..phase_data import write_fits
from .test_bundle import make_challenge, unzip
from .test_platform_pythons import PYTHONS
from .test_worker import _environment

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and the worker emulation are POSIX")

REPO = Path(__file__).resolve().parents[2]
SIZE = 25
#: (x, y) of one bright companion per dataset id (none in 3).
TRUTH = {"1": [(17.0, 12.0)], "2": [(6.0, 14.0)], "3": [], "4": [(12.0, 19.0)]}

GOOD = """\
import numpy as np

THRESHOLD = 0.25


def detect(dataset):
    return dataset.cube.mean(axis=0) / dataset.cube.max(), "extra items are ignored"
"""

MIXED = """\
import time

import numpy as np

THRESHOLD = 0.5


def detect(dataset):
    k = dataset.dataset_id
    if k == "2":
        raise RuntimeError("boom in detect\\nsecond line")
    if k == "3":
        time.sleep(120)
    if k == "4":
        return np.zeros((3, 3))
    return dataset.cube.mean(axis=0)
"""


def _code(folder, text):
    folder.mkdir(parents=True)
    (folder / "detect.py").write_text(text)
    return folder


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    """A public phase of 4 small ADI datasets, and its reference (positions, FWHM, phase.json of a code phase)."""
    root = tmp_path_factory.mktemp("ingest")
    public, reference = root / "public", root / "reference"
    reference.mkdir()
    for k, positions in TRUTH.items():
        dataset = example_dataset(n_frames=6, size=SIZE, seed=int(k)).replace(instrument="inst", dataset_id=k)
        write_dataset(dataset, public)
        write_fits(reference / f"inst_positions_{k}.fits", np.array(positions, dtype=float).reshape(-1, 2))
        write_fits(reference / f"inst_fwhm_{k}.fits", np.array([4.0]))
    (reference / "phase.json").write_text(json.dumps({"suffix": "3d", "submission": "code"}))
    return root


@pytest.fixture(scope="module")
def good_run(phase):
    code = _code(phase / "good", GOOD)
    output = phase / "good.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExobenchWarning)  # every dataset is done: no warning at all
        report = ingest(code, phase / "public", output)
    return code, output, report


@pytest.fixture(scope="module")
def mixed_run(phase):
    code = _code(phase / "mixed", MIXED)
    output = phase / "mixed.zip"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = ingest(code, phase / "public", output, time_limit=8)
    return output, report, [str(w.message) for w in caught if issubclass(w.category, ExobenchWarning)]


def _zip_maps(path):
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        folder = Path(str(path) + ".d")
        zf.extractall(folder)
    return names, {name: read_bounded_fits(folder / name) for name in names}


def test_the_zip_holds_what_detect_returns(phase, good_run):
    code, output, report = good_run
    names, arrays = _zip_maps(output)
    assert names == ["detection_threshold.fits"] + [f"inst_detmap_{k}.fits" for k in TRUTH]
    assert float(np.ravel(arrays["detection_threshold.fits"])[0]) == 0.25 == report.threshold
    module = load_participant(code)
    try:
        for k in TRUTH:
            expected = detection_map(module, read_dataset(phase / "public", "inst", k))
            np.testing.assert_array_equal(arrays[f"inst_detmap_{k}.fits"], expected)
            np.testing.assert_array_equal(report.maps["inst", k], expected)
    finally:
        sys.path.remove(os.path.abspath(code))
        sys.modules.pop("detect", None)
    assert report.failures == {} and set(report.seconds) == {("inst", k) for k in TRUTH}


def test_a_failing_dataset_gets_no_map_and_a_warning_the_others_are_done(mixed_run):
    output, report, messages = mixed_run
    assert list(report.maps) == [("inst", "1")]
    assert report.failures == {
        ("inst", "2"): "RuntimeError: boom in detect",
        ("inst", "3"): "timed out after 8 s (killed)",
        ("inst", "4"): "ValueError: detect() returned a map of shape (3, 3); expected the frame's shape (25, 25)",
    }
    assert messages == [f"inst_{k}: no map ({reason})" for (_, k), reason in report.failures.items()]
    assert report.seconds["inst", "3"] < 60  # killed, not waited for
    names, _ = _zip_maps(output)
    assert names == ["detection_threshold.fits", "inst_detmap_1.fits"]


def test_the_sleeping_child_is_gone(phase, mixed_run):
    """The killed child's process group is gone: no python sleeping in detect is left."""
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    assert listing and not [line for line in listing if "child.py" in line and str(phase / "mixed") in line]


@pytest.mark.parametrize("text, message", [
    ("def detect(d):\n    return d.cube[0]\n", "detect.py: no THRESHOLD; set a module-level THRESHOLD"),
    ("THRESHOLD = float('nan')\ndef detect(d):\n    return d.cube[0]\n",
     "detect.py: THRESHOLD: expected a finite number, got nan"),
    ("THRESHOLD = 'high'\ndef detect(d):\n    return d.cube[0]\n",
     "detect.py: THRESHOLD: expected a finite number, got 'high'"),
    ("THRESHOLD = 1.0\n", "detect.py: no function detect(dataset)"),
    ("import not_a_module_anywhere\n", "ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
])
def test_code_that_cannot_run_is_refused_with_a_clear_message(phase, tmp_path, text, message):
    code = _code(tmp_path / "code", text)
    with pytest.raises(CodeError, match="^code: ") as caught:
        run_detect(code, phase / "public", time_limit=30)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_zip_of_the_code_in_one_top_folder_runs(phase, good_run, tmp_path):
    code, _, expected = good_run
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(code / "detect.py", "mine/detect.py")
    report = ingest(archive, phase / "public", tmp_path / "sub.zip")
    assert report.threshold == expected.threshold
    for key, image in expected.maps.items():
        np.testing.assert_array_equal(report.maps[key], image)


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/nocode", "{public}", "-o", "{tmp}/s.zip"], "code: folder"),
    (["{tmp}/empty", "{public}", "-o", "{tmp}/s.zip"], "code: no detect.py in"),
    (["{good}", "{tmp}/empty", "-o", "{tmp}/s.zip"], "phase_dir: no {instrument}_cube_{k}.fits file in"),
    (["{good}", "{tmp}/missing", "-o", "{tmp}/s.zip"], "phase_dir: folder"),
    (["{good}", "{public}", "-o", "{tmp}/s.tar"], "output: expected a .zip file"),
    (["{good}", "{public}", "-o", "{tmp}/nowhere/s.zip"], "output: folder"),
    (["{good}", "{public}", "-o", "{tmp}/exists.zip"], "exists; pass overwrite=True (--overwrite)"),
    (["{good}", "{public}", "-o", "{tmp}/s.zip", "--time-limit", "0"], "time_limit: expected a number of seconds > 0"),
])
def test_cli_errors_are_one_line_and_come_before_any_work(argv, message, phase, good_run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "exists.zip").write_bytes(b"keep")
    values = {"tmp": tmp_path, "public": phase / "public", "good": good_run[0]}
    assert cli.main(["ingest"] + [a.format(**values) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("exobench: error: ") and message in err, err
    assert (tmp_path / "exists.zip").read_bytes() == b"keep" and not (tmp_path / "s.zip").exists()


def test_cli_ingest_writes_the_zip(phase, good_run, tmp_path, capsys):
    out = tmp_path / "s.zip"
    assert cli.main(["ingest", str(good_run[0]), str(phase / "public"), "-o", str(out), "--time-limit", "60"]) == 0
    assert capsys.readouterr().out == f"wrote {out} (4 of 4 maps, threshold 0.25)\n"
    assert out.read_bytes() == good_run[1].read_bytes()  # the same maps, the same bytes


# -- the vendored program, as the platforms run it ---------------------------------------


def test_the_vendored_program_is_light():
    files = {p.as_posix() for p in vendored_modules("ingestion")}
    assert {"exobench/ingestion/program.py", "exobench/submission/write.py", "exobench/_atomic.py"} <= files
    assert not any(p.startswith(("exobench/data/", "exobench/scoring/", "exobench/platform/", "exobench/cli"))
                   for p in files)


def test_the_vendored_program_imports_with_numpy_scipy_astropy_only(tmp_path):
    program = tmp_path / "program"
    vendor_program(program, program="ingestion")
    env = _environment(tmp_path, program)
    check = subprocess.run(["python", "-c", "import sys; sys.path.insert(0, '.'); import exobench.ingestion.program"],
                           cwd=program, env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


@pytest.mark.skipif((3, 7) not in PYTHONS, reason="pyenv offers no Python 3.7 on this machine (pyenv versions)")
def test_the_vendored_sources_compile_on_python_3_7(tmp_path):
    program = tmp_path / "program"
    written = vendor_program(program, program="ingestion")
    sources = [str(p) for p in written if p.suffix == ".py"]
    assert str(program / "exobench" / "ingestion" / "child.py") in sources
    compiled = subprocess.run([str(PYTHONS[3, 7]), "-m", "py_compile"] + sources, capture_output=True, text=True,
                              timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert compiled.returncode == 0, compiled.stderr


def test_codalab_runs_the_code_then_scores_it(phase, good_run, tmp_path):
    """ingest.py on Codalab v1.5's command line, then score.py on its output with the worker's metadata beside it."""
    code, output, _ = good_run
    run = tmp_path / "run"
    vendor_program(run / "ingestion_program", program="ingestion", time_limit=60)
    vendor_program(run / "scoring_program")
    metadata = yaml.safe_load((run / "ingestion_program" / "metadata").read_text())
    argv = (metadata["command"].replace("$ingestion_program", str(run / "ingestion_program"))
            .replace("$submission_program", str(code)).replace("$input", str(phase / "public"))
            .replace("$output", str(run / "predictions")).split(" "))
    assert argv[0] == "python" and argv[-2:] == ["--time-limit", "60"]
    (run / "predictions").mkdir()
    (run / "predictions" / "detailed_results.html").write_text("")  # the worker makes it before the run
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the children's exobench: the image's, here this checkout
    done = subprocess.run([sys.executable] + argv[1:], cwd=run, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("4 of 4 maps, threshold 0.25")
    (run / "predictions" / "metadata").write_text("exitCode: 0\ningestionExitCode: 0\n")  # the worker's status
    inputs = run / "input"
    shutil.copytree(phase / "reference", inputs / "ref")
    shutil.copytree(run / "predictions", inputs / "res")
    (run / "scores").mkdir()
    scored = subprocess.run([sys.executable, str(run / "scoring_program" / "score.py"), str(inputs),
                             str(run / "scores")], cwd=run, env=env, capture_output=True, text=True, timeout=600)
    assert scored.returncode == 0, scored.stderr
    scores = json.loads((run / "scores" / "scores.json").read_text())
    assert scores == json.loads(scores_json(score_submission(output, phase / "reference")))


def test_codabench_runs_the_code_that_fails_on_some_datasets(phase, tmp_path):
    code = _code(tmp_path / "ingested_program", MIXED.replace("time.sleep(120)", "pass"))
    program = tmp_path / "program"
    vendor_program(program, program="ingestion", time_limit=30)
    command = yaml.safe_load((program / "metadata.yaml").read_text())["command"].split()
    assert command[:2] == ["python3", "/app/program/ingest.py"] and command[2:6] == [
        "/app/input_data", "/app/output", "/app/program", "/app/ingested_program"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(program / "ingest.py"), str(phase / "public"), str(tmp_path / "out"),
                           str(program), str(code)] + command[6:], cwd=program, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "warning: inst_2: no map (RuntimeError: boom in detect)" in lines
    assert any(line.startswith("warning: inst_4: no map (ValueError: detect() returned a map of shape (3, 3)")
               for line in lines)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "detection_threshold.fits", "inst_detmap_1.fits", "inst_detmap_3.fits"]


def test_the_platform_program_refuses_code_without_detect(phase, tmp_path):
    program = tmp_path / "program"
    vendor_program(program, program="ingestion")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "detect.py").write_text("THRESHOLD = 1.0\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(program / "ingest.py"), str(phase / "public"), str(tmp_path / "out"),
                           str(program), str(tmp_path / "code")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 1
    assert done.stderr.startswith("code refused: code: ValueError: detect.py: no function detect(dataset)")
    assert done.stderr.count("\n") == 1


# -- challenge.yaml and the bundles -------------------------------------------------------

CODE_YAML = """\
name: Tiny code challenge
start: 2030-02-01
docker_image: example/exobench:1
phases:
  - number: 1
    name: ADI code
    submission: code
    time_limit: 45
  - number: 2
    name: ADI+mSDI
"""


@pytest.mark.parametrize("platform", ["codalab", "codabench"])
def test_a_code_phase_bundle_carries_and_declares_its_ingestion_program(tmp_path, platform):
    challenge = make_challenge(tmp_path / "challenge", config=CODE_YAML, kit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExobenchWarning)
        bundle = unzip(build_bundle(challenge, tmp_path / "b.zip", platform=platform)["path"], tmp_path / "b")
    assert (bundle / "ingestion_program_1.zip").is_file() and not (bundle / "ingestion_program_2.zip").exists()
    program = unzip(bundle / "ingestion_program_1.zip", tmp_path / "program")
    assert (program / "ingest.py").is_file() and (program / "exobench" / "ingestion" / "child.py").is_file()
    name = "metadata" if platform == "codalab" else "metadata.yaml"
    assert yaml.safe_load((program / name).read_text())["command"].endswith(" --time-limit 45")
    reference = unzip(bundle / "reference_data_1.zip", tmp_path / "ref")
    assert json.loads((reference / "phase.json").read_text())["submission"] == "code"
    assert "submission" not in json.loads(zipfile.ZipFile(bundle / "reference_data_2.zip").read("phase.json"))
    comp = yaml.safe_load((bundle / "competition.yaml").read_text())
    if platform == "codalab":
        code, results = comp["phases"][1], comp["phases"][2]
        assert code["is_scoring_only"] is False and results["is_scoring_only"] is True
    else:
        code, results = comp["tasks"]
    assert code["ingestion_program"] == "ingestion_program_1.zip" and code["input_data"] == "public_data_1.zip"
    assert "ingestion_program" not in results and "input_data" not in results
    with zipfile.ZipFile(bundle / "starting_kit.zip") as kit:
        readme = kit.read("README.md").decode()
    assert "## Code phases" in readme and "phase 1: 45 s" in readme


def test_a_code_phase_on_the_stock_image_warns(tmp_path):
    challenge = make_challenge(tmp_path / "challenge", config=CODE_YAML.replace("docker_image: example/exobench:1\n",
                                                                                 ""))
    with pytest.warns(ExobenchWarning, match="phase\\(s\\) 1 take code, run in codalab/codalab-legacy:py39, which "
                                             "has no exobench"):
        build_bundle(challenge, tmp_path / "b.zip", platform="codalab")


@pytest.mark.parametrize("phase_entry, message", [
    ({"submission": "maps"}, "challenge.yaml: phases[0]: submission: expected one of results, code, got 'maps'"),
    ({"submission": "code", "time_limit": 0}, "challenge.yaml: phases[0]: time_limit: expected a number of "
                                              "seconds > 0, got 0"),
    ({"submission": "code", "time_limit": "10 min"}, "time_limit: expected a number of seconds > 0, got '10 min'"),
    ({"time_limit": 60}, "challenge.yaml: phases[0]: time_limit: only a code phase (submission: code) has one"),
])
def test_challenge_yaml_code_keys_are_read_strictly(phase_entry, message):
    with pytest.raises(ValueError) as caught:
        parse_challenge_config({"phases": [{"number": 1, **phase_entry}]})
    assert message in str(caught.value)


def test_challenge_yaml_code_keys_round_trip():
    config = parse_challenge_config({"phases": [{"number": 1, "submission": "code", "time_limit": 90}]})
    entry = config.phases[0]
    assert entry.takes_code and entry.time_limit == 90
    assert config.to_dict()["phases"] == [{"number": 1, "submission": "code", "time_limit": 90}]


def test_a_definition_says_which_phase_takes_code(tmp_path):
    """The builder's definition carries submission and time_limit into challenge.yaml; a typo is named."""
    pytest.importorskip("hcipy", reason="the definition names simulator profiles")
    import textwrap

    from exobench.builder import load_challenge
    from exobench.builder.build import _write_challenge_files
    from exobench.challenge import read_challenge_config

    from ..builder.conftest import SMALL

    text = textwrap.dedent(SMALL).replace("COMPANIONS", "1, 2")
    path = tmp_path / "code.yaml"
    path.write_text(text.replace("kind: adi\n", "kind: adi\n    submission: code\n    time_limit: 30\n", 1))
    _write_challenge_files(tmp_path, load_challenge(path))
    phases = read_challenge_config(tmp_path).phases
    assert [(p.submission, p.time_limit) for p in phases] == [("code", 30), (None, None)]
    path.write_text(text.replace("kind: adi\n", "kind: adi\n    submission: cod\n", 1))
    with pytest.raises(ValueError, match="code.yaml: phases\\[0\\]: submission: expected one of results, code, "
                                         "got 'cod'"):
        load_challenge(path)


def test_code_in_one_top_folder_is_found(tmp_path):
    from exobench.ingestion import check_code_dir

    code = _code(tmp_path / "upload" / "mine", GOOD)
    (tmp_path / "upload" / ".hidden").write_text("")
    assert check_code_dir(tmp_path / "upload") == code
    (tmp_path / "upload" / "other").mkdir()
    with pytest.raises(FileNotFoundError, match="code: no detect.py in"):
        check_code_dir(tmp_path / "upload")


def test_the_example_code_submission_gives_a_map_of_the_frame(phase):
    module = load_participant(REPO / "starting_kit" / "code_submission")
    try:
        dataset = read_dataset(phase / "public", "inst", "1")
        image = detection_map(module, dataset)
        assert image.shape == (SIZE, SIZE) and np.isfinite(image).any()
        assert module.THRESHOLD == 5.0
    finally:
        sys.path.remove(os.path.abspath(REPO / "starting_kit" / "code_submission"))
        sys.modules.pop("detect", None)
