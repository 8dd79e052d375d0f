"""The scoring program's core: scores, outputs, exit statuses, phase suffix, vendoring."""

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from exobench.scoring.program import (
    SCORE_NAMES,
    run_program,
    score_keys,
    score_submission,
)
from exobench.platform.vendor import vendor_program, vendored_modules
from exobench.scoring.program_output import format_score, render_html, write_outputs
from exobench.scoring.reference import read_reference
from exobench.submission import SubmissionError

from ..phase_data import POSITIONS, SHAPE, blob_map, make_reference, make_submission, write_fits

EIDC_CASES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scoring" / "eidc2019"


def _read_scores(path):
    """Parse scores.txt as the Codalab web app does: one ':' per line, float()."""
    scores = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            key, value = line.split(":")
            scores[key.strip()] = float(value)
    return scores


@pytest.fixture
def phase(tmp_path):
    """A reference phase and a submission with both companions of dataset 1, one false positive in dataset 3."""
    make_reference(tmp_path / "input" / "ref")
    maps = {"1": blob_map(POSITIONS["1"]), "2": np.zeros(SHAPE), "3": blob_map([(10.0, 50.0)])}
    make_submission(tmp_path / "input" / "res", maps=maps)
    return tmp_path


@pytest.mark.skipif(not EIDC_CASES.is_dir(), reason="EIDC test vectors not found")
@pytest.mark.parametrize("case", range(12))
def test_eidc_vectors_in_both_modes(case):
    folder = EIDC_CASES / f"case_{case:02d}"
    compat = score_submission(folder / "res", folder / "ref", compat="eidc2019")
    for key, value in _read_scores(folder / "expected_scores.txt").items():
        assert compat.scores[key] == pytest.approx(value, abs=1e-6), key
    default = score_submission(folder / "res", folder / "ref")
    for key, value in _read_scores(folder / "expected_default_scores.txt").items():
        if f"{key}_3d" in default.scores:
            assert default.scores[f"{key}_3d"] == pytest.approx(value, abs=1e-6), key
    assert default.metrics["tp"] == _read_scores(folder / "expected_default_scores.txt")["TruePositives"]


def test_scores_of_a_small_phase(phase):
    report = score_submission(phase / "input" / "res", phase / "input" / "ref")
    s = report.scores
    assert list(s) == score_keys("3d")
    # 2 TP, 1 FP, 3 injections: recall 2/3, precision 2/3.
    assert (s["Recall_3d"], s["Precision_3d"], s["FalsePositives_3d"]) == pytest.approx((2 / 3, 2 / 3, 1.0))
    assert s["TPR_3d"] == pytest.approx(2 / 3)
    tn = report.metrics["tn"]
    assert tn > 0 and s["FPR_3d"] == pytest.approx(1 / (1 + tn))
    assert 0 <= s["AUC_3d"] <= 1 and report.undefined == ()
    assert all(math.isfinite(v) for v in s.values())


def test_outputs_parse_as_the_platforms_do(phase):
    report = score_submission(phase / "input" / "res", phase / "input" / "ref")
    out = phase / "output"
    written = write_outputs(report, out)
    assert sorted(p.name for p in written) == ["detailed_results.html", "detailed_results.json", "scores.json",
                                               "scores.txt"]
    txt = _read_scores(out / "scores.txt")
    assert list(txt) == score_keys("3d")
    assert json.loads((out / "scores.json").read_text()) == txt
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load((out / "scores.txt").read_text()) == txt  # Codabench's fallback reading
    details = json.loads((out / "detailed_results.json").read_text())
    assert [d["dataset_id"] for d in details["datasets"]] == ["1", "2", "3"]
    page = (out / "detailed_results.html").read_text()
    assert "<svg" in page and "<polyline" in page and "inst 2" in page and "<script" not in page
    assert not (out / "metadata").exists()


def test_undefined_metrics_are_written_as_zero(tmp_path):
    make_reference(tmp_path / "ref", positions={"1": [], "2": []})
    make_submission(tmp_path / "sub", maps={"1": np.zeros(SHAPE), "2": np.zeros(SHAPE)})
    report = score_submission(tmp_path / "sub", tmp_path / "ref")
    assert set(report.undefined) >= {"Precision_3d", "Recall_3d", "TPR_3d", "F1_3d"}
    assert all(report.scores[k] == 0.0 for k in report.undefined)
    assert report.metrics["precision"] is None
    write_outputs(report, tmp_path / "out")
    assert all(v == 0.0 for k, v in _read_scores(tmp_path / "out" / "scores.txt").items() if k in report.undefined)
    assert json.loads((tmp_path / "out" / "detailed_results.json").read_text())["metrics"]["tpr"] is None


def test_format_score_is_float_and_yaml_friendly():
    for value in (0.0, 1.0, 29, 2 / 3, 1e-5, 123456.5):
        text = format_score(value)
        assert "." in text and "e" not in text and float(text) == pytest.approx(value, abs=1e-8)
    with pytest.raises(ValueError):
        format_score(float("nan"))


def test_phase_suffix_from_phase_json_or_argument(tmp_path):
    make_reference(tmp_path / "ref", phase={"suffix": "4d"})
    make_submission(tmp_path / "sub")
    assert list(score_submission(tmp_path / "sub", tmp_path / "ref").scores)[0] == "F1_4d"
    with pytest.raises(ValueError, match="phase_suffix: '3d' given, but phase.json .* says '4d'"):
        read_reference(tmp_path / "ref", phase_suffix="3d")
    make_reference(tmp_path / "ref2")
    assert list(score_submission(tmp_path / "sub", tmp_path / "ref2", phase_suffix="4d").scores) == score_keys("4d")
    (tmp_path / "ref2" / "phase.json").write_text('{"sufix": "4d"}')
    with pytest.raises(ValueError, match="unknown key"):
        read_reference(tmp_path / "ref2")


def test_phase_counting_options_are_used(tmp_path):
    make_reference(tmp_path / "ref", phase={"counting": {"npix": 20}})
    make_submission(tmp_path / "sub")  # 3x3 blobs: below npix = 20
    report = score_submission(tmp_path / "sub", tmp_path / "ref")
    assert report.metrics["tp"] == 0 and report.counting["npix"] == 20


def test_compat_honours_participant_options_and_fwhm(tmp_path):
    make_reference(tmp_path / "ref")
    make_submission(tmp_path / "sub", extra={"npix.fits": [20.0]})
    assert score_submission(tmp_path / "sub", tmp_path / "ref").metrics["tp"] == 3
    eidc = score_submission(tmp_path / "sub", tmp_path / "ref", compat="eidc2019")
    assert eidc.metrics["tp"] == 0 and eidc.compat == "eidc2019"
    write_fits(tmp_path / "sub" / "npix.fits", [2.0])
    write_fits(tmp_path / "sub" / "inst_fwhm_1.fits", [7.5])
    eidc = score_submission(tmp_path / "sub", tmp_path / "ref", compat="eidc2019")
    assert [d.fwhm for d in eidc.datasets] == [7.5, 4.0, 4.0]
    assert [d.fwhm for d in score_submission(tmp_path / "sub", tmp_path / "ref").datasets] == [4.0, 4.0, 4.0]


def test_run_program_exit_statuses_and_messages(phase):
    out, err = io.StringIO(), io.StringIO()
    assert run_program(phase / "input", phase / "output", stdout=out, stderr=err) == 0
    assert "F1_3d: " in out.getvalue() and err.getvalue() == ""
    (phase / "input" / "res" / "detection_threshold.fits").unlink()
    out, err = io.StringIO(), io.StringIO()
    assert run_program(phase / "input", phase / "output2", stdout=out, stderr=err) == 1
    assert err.getvalue().startswith("submission refused: detection_threshold.fits: missing")
    assert err.getvalue().count("\n") == 1 and not (phase / "output2" / "scores.txt").exists()
    err = io.StringIO()
    assert run_program(phase / "nothing", phase / "output3", stdout=out, stderr=err) == 2
    assert err.getvalue().startswith("scoring program error: reference:")


def test_html_escapes_what_participants_control(tmp_path):
    make_reference(tmp_path / "ref")
    folder = make_submission(tmp_path / "sub")
    (folder / "<script>alert(1)<").write_text("x")
    report = score_submission(folder, tmp_path / "ref")
    write_outputs(report, tmp_path / "out")
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_positions_outside_a_missing_maps_stand_in_are_covered(tmp_path):
    make_reference(tmp_path / "ref", positions={"1": [(10.0, 10.0)], "2": [(90.0, 70.0)]})
    make_submission(tmp_path / "sub", maps={"1": blob_map([(10.0, 10.0)])})
    report = score_submission(tmp_path / "sub", tmp_path / "ref")
    assert report.datasets[1].shape == (72, 92) and report.datasets[1].fn == 1


def test_vendored_modules_are_light():
    files = {p.as_posix() for p in vendored_modules()}
    assert {"exobench/__init__.py", "exobench/scoring/__init__.py", "exobench/scoring/program.py",
            "exobench/submission/read.py", "exobench/scoring/reference.py", "exobench/_atomic.py"} <= files
    assert not any(p.startswith(("exobench/data/", "exobench/report", "exobench/cli")) for p in files)


def test_vendor_program_lays_out_a_program(tmp_path):
    written = vendor_program(tmp_path / "program")
    names = {p.relative_to(tmp_path / "program").as_posix() for p in written}
    assert {"score.py", "metadata", "metadata.yaml", "README.md", "exobench/scoring/program.py"} <= names
    assert "command: python $program/score.py $input $output" in (tmp_path / "program" / "metadata").read_text()
    with pytest.raises(FileExistsError):
        vendor_program(tmp_path / "program")


def test_score_names_are_the_leaderboard_columns():
    assert SCORE_NAMES == ("F1", "Precision", "Recall", "FalsePositives", "TPR", "FPR", "AUC")
    with pytest.raises(SubmissionError):
        raise SubmissionError("x")


@pytest.mark.skipif(not EIDC_CASES.is_dir(), reason="EIDC test vectors not found")
def test_bootstrap_intervals_of_f1_and_auc_are_reported_and_reproducible():
    folder = EIDC_CASES / "case_01"
    first = score_submission(folder / "res", folder / "ref")
    ci = first.metrics["confidence_intervals"]
    assert ci["level"] == 0.95 and ci["resamples"] == {"f1": 1000, "auc": 200}
    low, high = ci["f1"]
    assert low <= first.metrics["f1"] <= high  # the point estimate lies in its interval
    low, high = ci["auc"]
    assert 0.0 <= low <= high <= 1.0
    again = score_submission(folder / "res", folder / "ref")
    assert again.metrics["confidence_intervals"] == ci  # seeded: same data, same interval
    assert "bootstrap intervals over the datasets: F1 [" in render_html(first)
