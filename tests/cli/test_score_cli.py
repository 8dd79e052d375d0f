"""``exobench score``: scores on stdout, warnings and errors on stderr, one line per error, exit 1."""

import json
import zipfile
from pathlib import Path

import pytest

from exobench.cli import main

from ..phase_data import make_reference, make_submission, zip_folder

EIDC_CASE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scoring" / "eidc2019" / "case_00"


@pytest.fixture
def phase(tmp_path):
    make_reference(tmp_path / "ref")
    make_submission(tmp_path / "sub")
    return tmp_path


def _scores(out):
    return {k.strip(): float(v) for k, v in (line.split(":") for line in out.splitlines() if line.strip())}


def test_score_a_folder_prints_the_scores(phase, capsys):
    assert main(["score", str(phase / "sub"), str(phase / "ref")]) == 0
    captured = capsys.readouterr()
    scores = _scores(captured.out)
    assert list(scores) == ["F1_3d", "Precision_3d", "Recall_3d", "FalsePositives_3d", "TPR_3d", "FPR_3d", "AUC_3d"]
    assert scores["F1_3d"] == 1.0 and captured.err == ""


def test_score_a_zip_with_json_and_outputs(phase, capsys):
    archive = zip_folder(phase / "sub", phase / "sub.zip", prefix="results/")
    assert main(["score", str(archive), str(phase / "ref"), "--json", "--output", str(phase / "out")]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores == json.loads((phase / "out" / "scores.json").read_text())
    assert scores["Recall_3d"] == 1.0
    assert (phase / "out" / "detailed_results.html").is_file()


def test_warnings_go_to_stderr(phase, capsys):
    (phase / "sub" / "inst_detmap_2.fits").unlink()
    assert main(["score", str(phase / "sub"), str(phase / "ref")]) == 0
    captured = capsys.readouterr()
    assert "exobench: warning: inst_detmap_2.fits: missing; scored as an empty map" in captured.err
    assert _scores(captured.out)["Recall_3d"] == pytest.approx(2 / 3)


@pytest.mark.skipif(not EIDC_CASE.is_dir(), reason="EIDC test vectors not found")
def test_compat_eidc_reproduces_the_2019_scores(capsys):
    assert main(["score", str(EIDC_CASE / "res"), str(EIDC_CASE / "ref"), "--compat", "eidc2019"]) == 0
    scores = _scores(capsys.readouterr().out)
    expected = _scores((EIDC_CASE / "expected_scores.txt").read_text())
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, abs=1e-6)


def test_phase_suffix_option(phase, capsys):
    assert main(["score", str(phase / "sub"), str(phase / "ref"), "--phase-suffix", "4d"]) == 0
    assert "F1_4d: 1.0" in capsys.readouterr().out


def _write(path, data):
    path.write_bytes(data)
    return path


def _zip_with(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: _zip_with(p / "s.zip", {"../x.fits": b"x"}), "'..' in the path"),
        (lambda p: _zip_with(p / "s.zip", {"metadata": b"command: x"}), "treat the submission as code"),
        (lambda p: _write(p / "s.zip", b"garbage"), "not a zip archive nor a folder"),
        (lambda p: (p / "sub" / "detection_threshold.fits").unlink() or p / "sub", "detection_threshold.fits: missing"),
        (lambda p: _write(p / "sub" / "inst_detmap_1.fits", b"nope").parent, "inst_detmap_1.fits: not a FITS file"),
    ],
)
def test_refused_submissions_give_one_line_and_exit_1(phase, capsys, make, message):
    submission = make(phase)
    assert main(["score", str(submission), str(phase / "ref")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_reference_is_one_line(phase, capsys):
    assert main(["score", str(phase / "sub"), str(phase / "nothing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: reference: folder") and err.count("\n") == 1


def test_the_command_is_listed(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    assert "--compat {eidc2019,eidc2022}" in capsys.readouterr().out


def test_compat_eidc2022_on_a_detection_phase_is_one_line(phase, capsys):
    assert main(["score", str(phase / "sub"), str(phase / "ref"), "--compat", "eidc2022"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ("exobench: error: compat: 'eidc2022' scores characterisation phases (astrometry and "
                            "spectrophotometry); this is a detection phase (suffix 3d): use none or 'eidc2019'\n")
    assert captured.out == ""


def test_compat_eidc2022_prints_the_two_numbers(tmp_path, capsys):
    import numpy as np
    from astropy.io import fits

    from exobench.challenge import PhaseSettings, write_phase_settings
    from exobench.submission import write_characterisation

    ref = tmp_path / "ref"
    ref.mkdir()
    fits.writeto(ref / "ex_positions_1.fits", np.array([[20.0, 30.0], [10.0, 12.0]]))
    fits.writeto(ref / "ex_fwhm_1.fits", np.array([4.0]))
    fits.writeto(ref / "ex_fluxes_1.fits", np.array([[2.0, 1.0], [4.0, 3.0]]))
    write_phase_settings(ref / "phase.json", PhaseSettings(suffix="charac4d", map_shapes={"ex_1": (41, 41)}))
    # |dx| + |dy|: 1 + 2 = 3 and 0 + 0 = 0; sum over channels |df|: 0.5 + 0.5 = 1 and 0 + 1 = 1
    estimates = [[21.0, 28.0, 2.5, 0.5], [10.0, 12.0, 4.0, 4.0]]
    sub = write_characterisation({("ex", "1"): estimates}, tmp_path / "sub.zip")
    assert main(["score", str(sub), str(ref), "--compat", "eidc2022", "--output", str(tmp_path / "out")]) == 0
    assert _scores(capsys.readouterr().out) == {"astrometry_charac4d": 1.5, "spectrophotometry_charac4d": 1.0}
    written = (tmp_path / "out" / "scores.txt").read_text()
    assert written == "astrometry_charac4d: 1.5\nspectrophotometry_charac4d: 1.0\n"
