"""Contrast curves in the leaderboard: stored with an entry, median columns at 2, 4 and 8 lambda/D, blank without."""

import sqlite3

import numpy as np
import pytest

from exobench.contrast import baseline_contrast, contrast_at, median_contrast
from exobench.data.fits_io import find_datasets
from exobench.leaderboard import CONTRAST_COLUMNS, Leaderboard, add_contrast, database_url, ranking, remove_entry, submit
from exobench.leaderboard.ranking import ranking_csv, ranking_text

from .helpers import run_cli


def _names(public):
    return [f"{i}_{k}" for i, k in find_datasets(public)]


def test_submit_with_contrast_stores_the_baselines_curves(empty):
    challenge, zips = empty
    reference, public = challenge / "reference" / "phase_1", challenge / "public" / "phase_1"
    entry = submit(zips[1]["median"], reference, name="median", contrast="median")
    plain = submit(zips[1]["pca"], reference, name="pca")
    with Leaderboard(database_url(challenge)) as board:
        records = board.contrast(entry.id)
        assert board.contrast(plain.id) == []
    assert [f"{r.instrument}_{r.dataset_id}" for r in records] == _names(public)
    assert {r.source for r in records} == {"baseline median"}
    assert records[0].params["algorithm"] == {} or isinstance(records[0].params["algorithm"], dict)
    for record in records:  # the stored curve is the baseline's, to the last bit of JSON
        direct = baseline_contrast("median", public, f"{record.instrument}_{record.dataset_id}")
        np.testing.assert_allclose(record.curve.contrast, direct.contrast, rtol=1e-12)
        assert record.lambda_d_px == pytest.approx(direct.fwhm)
    expected = median_contrast([r.curve for r in records], list(CONTRAST_COLUMNS.values()))
    assert np.isfinite(expected[0])
    (phase,) = ranking(challenge, phase=1)
    got = {e.name: e for e in phase.entries}
    for key, value in zip(CONTRAST_COLUMNS, expected):
        assert getattr(got["median"], key) == (None if not np.isfinite(value) else pytest.approx(value, rel=1e-12))
        assert getattr(got["pca"], key) is None  # absent, not zero
    rows = {line.split(",")[2]: line.split(",") for line in ranking_csv([phase]).splitlines()[1:]}
    header = ranking_csv([phase]).splitlines()[0].split(",")
    column = header.index("contrast_2ld")
    assert rows["pca"][column] == "" and float(rows["median"][column]) == pytest.approx(expected[0], rel=1e-9)
    text = ranking_text([phase])
    assert "C@2l/D" in text and "C@8l/D" in text


def test_contrast_submit_adds_curves_to_an_entry_and_remove_drops_them(empty, monkeypatch, capsys):
    challenge, zips = empty
    reference, public = challenge / "reference" / "phase_1", challenge / "public" / "phase_1"
    entry = submit(zips[1]["pca"], reference, name="pca")
    (first, *_), = [_names(public)]
    assert run_cli(["contrast", "pca", public, "--submit", "pca", "--dataset", first, "--quiet"], monkeypatch) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{first}: contrast at 2, 4, 8 lambda/D: ") and out[0].endswith("(baseline pca)")
    assert out[-1].startswith(f"stored with entry {entry.id} ('pca', phase 1): median contrast at 2, 4, 8 lambda/D")
    with Leaderboard(database_url(challenge)) as board:
        [record] = board.contrast(entry.id)
        stored = next(e for e in board.entries(phase=1) if e.id == entry.id)
    assert stored.contrast_2ld == pytest.approx(float(contrast_at(record.curve, 2.0)[0]), rel=1e-12)
    # again for the same dataset: replaced, not added
    stored_again, records = add_contrast(public, "pca", "pca", datasets=[first])
    assert len(records) == 1 and stored_again.contrast_2ld == pytest.approx(stored.contrast_2ld, rel=1e-12)
    remove_entry(challenge, entry.id)
    con = sqlite3.connect(challenge / "leaderboard.sqlite")
    assert con.execute("SELECT COUNT(*) FROM contrast_curves").fetchone()[0] == 0
    con.close()


def test_an_older_database_without_the_table_reads_and_gains_it(empty):
    challenge, zips = empty
    entry = submit(zips[1]["median"], challenge / "reference" / "phase_1", name="median")
    con = sqlite3.connect(challenge / "leaderboard.sqlite")
    con.execute("DROP TABLE contrast_curves")
    con.commit()
    con.close()
    (phase,) = ranking(challenge, phase=1)
    assert phase.entries[0].contrast_4ld is None and "l/D" not in ranking_text([phase])
    public = challenge / "public" / "phase_1"
    stored, records = add_contrast(public, "median", "median", datasets=_names(public)[:1])
    assert stored.id == entry.id and len(records) == 1 and stored.contrast_2ld is not None


@pytest.mark.parametrize("argv, message", [
    (["--contrast", "nosuch"], "contrast: no baseline 'nosuch'; expected BASELINE[:PARAMS] with one of"),
    (["--contrast", "median:missing.yaml"], "contrast: no parameter file 'missing.yaml' (BASELINE:PARAMS)"),
    (["--contrast", "code:no-such-folder"], "code: folder 'no-such-folder' does not exist"),
])
def test_submit_contrast_errors_come_before_the_scoring(empty, monkeypatch, capsys, argv, message):
    challenge, zips = empty
    status = run_cli(["submit", zips[1]["median"], challenge / "reference" / "phase_1", "--name", "m"] + argv,
                     monkeypatch)
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and message in err
    assert not (challenge / "leaderboard.sqlite").exists()  # nothing scored nor stored


@pytest.mark.parametrize("argv, message", [
    (["median", "{public}", "--submit", "ghost"], "submit: no scored entry named 'ghost' on phase 1 (names there: "),
    (["median", "{reference}", "--submit", "median"], "public_dir: expected a phase folder of a challenge's public "
                                                       "tree (CHALLENGE/public/phase_N)"),
    (["median", "{public}", "--submit", "median", "--dataset", "nope_1"], "dataset: no nope_cube_1.fits in"),
])
def test_contrast_submit_errors_are_one_line(empty, monkeypatch, capsys, argv, message):
    challenge, zips = empty
    submit(zips[1]["pca"], challenge / "reference" / "phase_1", name="pca")
    folders = {"public": challenge / "public" / "phase_1", "reference": challenge / "reference" / "phase_1"}
    status = run_cli([a.format(**folders) for a in ["contrast"] + argv], monkeypatch)
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and message in err and "Traceback" not in err


def test_contrast_submit_usage_errors(empty, monkeypatch, capsys):
    challenge, _ = empty
    public = challenge / "public" / "phase_1"
    with pytest.raises(SystemExit) as stop:
        run_cli(["contrast", "median", public, "--submit", "m", "--sigma", "3"], monkeypatch)
    assert stop.value.code == 2
    assert "--sigma: not with --submit (the leaderboard's curves are at the 5-sigma-equivalent" in \
        capsys.readouterr().err


def test_add_contrast_refuses_refused_entries_and_empty_input(empty, tmp_path):
    from exobench.submission import SubmissionError

    challenge, zips = empty
    reference = challenge / "reference" / "phase_1"
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(SubmissionError):
        submit(bad, reference, name="bad")
    scored = submit(zips[1]["median"], reference, name="median")
    with Leaderboard(database_url(challenge)) as board:
        refused = next(e for e in board.entries(phase=1) if e.status == "refused")
        with pytest.raises(ValueError, match=r"entry_id: entry \d+ \('bad'\) was refused; only scored entries get"):
            board.add_contrast(refused.id, {("a", "1"): None}, source="baseline median")
        with pytest.raises(ValueError, match="curves: expected at least one dataset's contrast curve, got none"):
            board.add_contrast(scored.id, {}, source="baseline median")
        with pytest.raises(KeyError, match="entry_id: no submission 999"):
            board.add_contrast(999, {}, source="x")
        with pytest.raises(ValueError, match="source: expected what computed the curves"):
            board.add_contrast(scored.id, {("a", "1"): None}, source=" ")


def test_submit_command_prints_the_contrast_columns(empty, monkeypatch, capsys):
    challenge, zips = empty
    argv = ["submit", zips[1]["median"], challenge / "reference" / "phase_1", "--name", "median", "--contrast",
            "median", "--quiet"]
    assert run_cli(argv, monkeypatch) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("scored 'median' on phase 1: F1 ")
    assert out[1].startswith("contrast (median over the phase's datasets): 2 lambda/D ")
    (phase,) = ranking(challenge, phase=1)
    assert f"2 lambda/D {phase.entries[0].contrast_2ld:.2g}," in out[1]
