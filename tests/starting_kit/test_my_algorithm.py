"""The template my_algorithm.py: valid submission zips that the scoring program accepts, one-line errors."""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from .conftest import KIT


def _one_line_error(text, prog="my_algorithm.py"):
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got {text!r}"
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    return lines[0]


def test_command_line_writes_a_zip_that_scores(challenge, tmp_path):
    from exobench.scoring.program import score_keys, score_submission
    from exobench.scoring.program_output import scores_text

    out = tmp_path / "phase_1.zip"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, str(KIT / "my_algorithm.py"), str(challenge / "public" / "phase_1"),
                           "-o", str(out), "--quiet", "--reference", str(challenge / "reference" / "phase_1")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out} (") and "F1_3d: " in done.stdout
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert "detection_threshold.fits" in names and all("/" not in n for n in names)
    report = score_submission(out, challenge / "reference" / "phase_1")
    assert list(report.scores) == score_keys("3d") and report.threshold == 5.0
    assert scores_text(report) in done.stdout


def test_4d_phase_threshold_and_same_bytes_as_the_pca_baseline(challenge, tmp_path, my_algorithm):
    from exobench.baselines import run_baseline
    from exobench.scoring.program import score_keys, score_submission
    from exobench.submission import open_submission, read_submission
    from exobench.scoring.reference import read_reference

    phase = challenge / "public" / "phase_2"
    assert my_algorithm.main([str(phase), "-o", str(tmp_path / "a.zip"), "--threshold", "4.5", "--quiet"]) == 0
    maps = my_algorithm.detection_maps(phase)
    my_algorithm.make_submission(maps, tmp_path / "b.zip", 4.5)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()  # deterministic zip

    reference = challenge / "reference" / "phase_2"
    report = score_submission(tmp_path / "a.zip", reference)
    assert list(report.scores) == score_keys("4d") and report.threshold == 4.5
    submission = read_submission(open_submission(tmp_path / "a.zip", tmp_path), read_reference(reference))
    assert not submission.missing
    baseline = run_baseline("pca", phase)
    for key, detmap in baseline.maps.items():  # the default detection_map is the pca baseline's
        np.testing.assert_array_equal(submission.detmaps[key], np.nan_to_num(detmap, nan=-np.inf))


@pytest.mark.parametrize("case, message", [
    ("missing folder", "PHASE_DIR: "),
    ("empty folder", "PHASE_DIR: no {instrument}_cube_{k}.fits file"),
    ("not a zip", "--output: expected a .zip path"),
    ("no output folder", "--output: folder "),
    ("nan threshold", "--threshold: expected a finite number"),
    ("missing reference", "--reference: "),
])
def test_errors_are_one_line(case, message, challenge, tmp_path, my_algorithm, capsys):
    phase = str(challenge / "public" / "phase_1")
    (tmp_path / "empty").mkdir()
    argv = {
        "missing folder": [str(tmp_path / "nope"), "-o", str(tmp_path / "s.zip")],
        "empty folder": [str(tmp_path / "empty"), "-o", str(tmp_path / "s.zip")],
        "not a zip": [phase, "-o", str(tmp_path / "s.tar")],
        "no output folder": [phase, "-o", str(tmp_path / "no" / "s.zip")],
        "nan threshold": [phase, "-o", str(tmp_path / "s.zip"), "--threshold", "nan"],
        "missing reference": [phase, "-o", str(tmp_path / "s.zip"), "--reference", str(tmp_path / "nope")],
    }[case]
    assert my_algorithm.main(argv + ["--quiet"]) == 1
    captured = capsys.readouterr()
    assert message in _one_line_error(captured.err) and captured.out == ""
    assert not (tmp_path / "s.zip").exists()


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required"),
    (["PHASE"], "-o/--output"),
    (["PHASE", "-o", "s.zip", "--threshold", "abc"], "invalid float value: 'abc'"),
])
def test_usage_errors_are_one_line(argv, message, my_algorithm, capsys):
    with pytest.raises(SystemExit) as exit_info:
        my_algorithm.main(argv)
    assert exit_info.value.code == 2
    assert message in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("function, message", [
    (lambda ds: 1 / 0, "detection_map failed on dataset {first}: ZeroDivisionError: division by zero"),
    (lambda ds: np.zeros((7, 7)), "detection_map of dataset {first}: expected the frame's shape"),
    (lambda ds: ds.cube, "expected a 2D array [y, x]"),
    (lambda ds: "map", "expected a 2D array of numbers"),
])
def test_a_wrong_detection_map_is_named(function, message, challenge, tmp_path, my_algorithm, monkeypatch,
                                        capsys):
    monkeypatch.setattr(my_algorithm, "detection_map", function)
    assert my_algorithm.main([str(challenge / "public" / "phase_1"), "-o", str(tmp_path / "s.zip"), "--quiet"]) == 1
    line = _one_line_error(capsys.readouterr().err)
    from exobench.data.fits_io import find_datasets

    first = " ".join(find_datasets(challenge / "public" / "phase_1")[0])
    assert message.format(first=first) in line
    assert not (tmp_path / "s.zip").exists()


def test_traceback_option_shows_where(challenge, tmp_path, my_algorithm, monkeypatch):
    monkeypatch.setattr(my_algorithm, "detection_map", lambda ds: 1 / 0)
    with pytest.raises(my_algorithm.KitError) as info:
        my_algorithm.main([str(challenge / "public" / "phase_1"), "-o", str(tmp_path / "s.zip"), "--quiet",
                           "--traceback"])
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_validation_names_a_missing_map(tmp_path, my_algorithm):
    maps = {("sphere_irdis", "1"): np.zeros((21, 21))}
    path = my_algorithm.make_submission(maps, tmp_path / "s.zip", 3.0)
    with pytest.raises(my_algorithm.KitError, match="lacks nirc2_detmap_1.fits"):
        my_algorithm.validate_submission(path, {("sphere_irdis", "1"): (21, 21), ("nirc2", "1"): (31, 31)})
    with pytest.raises(my_algorithm.KitError, match="would be refused: sphere_irdis_detmap_1.fits"):
        my_algorithm.validate_submission(path, {("sphere_irdis", "1"): (31, 31)})
    with pytest.raises(my_algorithm.KitError, match="--threshold: expected a finite number"):
        my_algorithm.make_submission(maps, tmp_path / "t.zip", float("inf"))
