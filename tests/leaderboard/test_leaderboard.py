"""The local leaderboard: submit, store, rank, print; one-line errors; many writers at once."""

import json
import math
import multiprocessing
import sqlite3
import zipfile

import pytest

from exobench.leaderboard import (
    DB_ENV,
    SORT_KEYS,
    Leaderboard,
    database_url,
    rank_entries,
    ranking,
    ranking_json,
    ranking_text,
    stored_submission,
    submit,
)
from exobench.scoring.program import score_submission
from exobench.submission import SubmissionError

from .helpers import run_cli


def _board(challenge):
    return Leaderboard(database_url(challenge), create=False)


def test_submit_stores_what_the_scorer_gives(filled):
    challenge, zips = filled
    reference = challenge / "reference" / "phase_1"
    expected = score_submission(zips[1]["pca"], reference)
    with _board(challenge) as board:
        (entry,) = [e for e in board.entries(phase=1) if e.name == "pca"]
        assert entry.status == "scored" and entry.error is None
        assert entry.scores == expected.scores  # the very code of `exobench score`
        assert entry.suffix == "3d" and list(entry.scores)[0] == "F1_3d"
        assert entry.auc == pytest.approx(expected.metrics["auc"])
        assert entry.partial_auc == pytest.approx(expected.metrics["partial_auc"])
        assert entry.max_fpr == 0.01 and entry.threshold == 5.0
        assert entry.submitted_at.tzinfo is not None
        import hashlib

        assert entry.sha256 == hashlib.sha256(zips[1]["pca"].read_bytes()).hexdigest()
        datasets = board.datasets(entry.id)
        assert [(d["instrument"], d["dataset_id"]) for d in datasets] == [
            (d.instrument, d.dataset_id) for d in expected.datasets]
        assert [d["tp"] for d in datasets] == [d.tp for d in expected.datasets]
        roc = board.roc(entry.id)
        assert roc == expected.details()["roc"] and len(roc["fpr"]) > 2
        assert board.details(entry.id)["scores"] == expected.scores
    assert stored_submission(challenge, entry.sha256).read_bytes() == zips[1]["pca"].read_bytes()


def test_the_oracle_wins_every_sort(filled):
    challenge, _ = filled
    for sort in SORT_KEYS:
        for r in ranking(challenge, sort=sort):
            assert [e.name for e in r.entries][0] == "oracle"
            assert r.entries[0].f1 == 1.0 and r.entries[0].auc == 1.0 and r.entries[0].tpr_at_max_fpr == 1.0


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_rankings_are_sorted_with_shared_ranks(filled, sort):
    challenge, zips = filled
    rankings = ranking(challenge, sort=sort)
    assert [r.phase for r in rankings] == [1, 2]
    attr = SORT_KEYS[sort][0]
    for r in rankings:
        assert sorted(e.name for e in r.entries) == sorted(zips[r.phase])
        values = [getattr(e, attr) for e in r.entries]
        assert all(a >= b for a, b in zip(values, values[1:]))
        assert r.entries[0].rank == 1
        for a, b in zip(r.entries, r.entries[1:]):
            assert b.rank == (a.rank if getattr(a, attr) == getattr(b, attr) else r.entries.index(b) + 1)


def test_threshold_changes_f1_not_auc(filled):
    challenge, _ = filled
    (phase1,) = ranking(challenge, phase=1)
    by_name = {e.name: e for e in phase1.entries}
    assert by_name["median-low"].auc == pytest.approx(by_name["median"].auc)
    assert by_name["median-low"].threshold == 2.0


def test_best_keeps_each_names_best(empty):
    challenge, zips = empty
    submit(zips[1]["median"], challenge / "reference" / "phase_1", name="team")
    submit(zips[1]["oracle"], challenge / "reference" / "phase_1", name="team")
    submit(zips[1]["pca"], challenge / "reference" / "phase_1", name="other")
    (everything,) = ranking(challenge, phase=1)
    assert [e.name for e in everything.entries].count("team") == 2
    (best,) = ranking(challenge, phase=1, best=True)
    assert [e.name for e in best.entries] == ["team", "other"] and best.entries[0].f1 == 1.0


def test_rank_entries_puts_undefined_last(filled):
    challenge, _ = filled
    (r,) = ranking(challenge, phase=1)
    import dataclasses

    undefined = dataclasses.replace(r.entries[0], id=999, f1=None, name="undefined")
    ranked = rank_entries(list(r.entries) + [undefined])
    assert ranked[-1].name == "undefined" and ranked[-1].rank == len(ranked)
    with pytest.raises(ValueError, match="sort: expected one of f1, auc, pauc, tpr"):
        rank_entries([], sort="precision")


def test_json_and_text_outputs(filled, monkeypatch, capsys):
    challenge, zips = filled
    assert run_cli(["leaderboard", challenge, "--json", "--sort", "tpr"], monkeypatch) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["phase"] for p in data["phases"]] == [1, 2]
    phase1 = data["phases"][0]
    assert phase1["sort"] == "tpr" and phase1["suffix"] == "3d" and phase1["title"] == "ADI"
    assert [e["name"] for e in phase1["entries"]][0] == "oracle"
    assert {"rank", "f1", "auc", "partial_auc", "tpr_at_max_fpr", "sha256", "submitted_at", "scores"} <= set(
        phase1["entries"][0])
    assert run_cli(["leaderboard", challenge, "--phase", "2"], monkeypatch) == 0
    text = capsys.readouterr().out
    assert text.startswith("Phase 2 ADI+mSDI (4d): sorted by F1")
    assert run_cli(["leaderboard", challenge, "--phase", "5"], monkeypatch) == 1
    assert "exobench: error: phase: no phase 5 in" in capsys.readouterr().err
    assert "oracle" in text and "\x1b[" not in text and "\u2501" not in text  # plain: no colour, no box
    assert text.count("\n") == 2 + len(zips[2])


def test_rich_tables_render(filled):
    from rich.console import Console

    challenge, _ = filled
    console = Console(record=True, width=200, force_terminal=True)
    from exobench.leaderboard import ranking_tables

    for item in ranking_tables(ranking(challenge, sort="auc")):
        console.print(item)
    text = console.export_text()
    assert "Phase 1 ADI (3d): sorted by AUC" in text and "oracle" in text and "TPR@FPR0.01" in text


def test_submit_command_prints_one_line(empty, monkeypatch, capsys):
    challenge, zips = empty
    argv = ["submit", zips[1]["oracle"], challenge / "reference" / "phase_1", "--name", "me"]
    assert run_cli(argv, monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.startswith("scored 'me' on phase 1: F1 1.0000") and "rank 1 of 1" in out
    assert out.count("\n") == 1


def test_refused_submission_is_stored_as_refused(empty, monkeypatch, capsys):
    challenge, zips = empty
    bad = challenge.parent / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("notes.txt", "no map here")
    with pytest.raises(SubmissionError):
        submit(bad, challenge / "reference" / "phase_1", name="broken")
    argv = ["submit", bad, challenge / "reference" / "phase_1", "--name", "broken"]
    assert run_cli(argv, monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: submission refused (stored as refused): ") and err.count("\n") == 1
    with _board(challenge) as board:
        refused = board.entries(status="refused")
    assert len(refused) == 2 and all(e.error and "\n" not in e.error for e in refused)
    assert not (challenge / "submissions").exists()  # refused zips are not kept
    (r,) = ranking(challenge, phase=1)
    assert r.entries == () and len(r.refused) == 2
    assert "2 refused submission(s); last: broken:" in ranking_text([r])
    assert json.loads(ranking_json([r]))["phases"][0]["refused"][0]["status"] == "refused"


@pytest.mark.parametrize("case, message", [
    ("missing-zip", "submission: file '.*nothing.zip' does not exist"),
    ("phase", r"reference_dir: folder '.*phase_7' does not exist \(phases there: 1, 2\)"),
    ("name", "name: expected a non-empty name"),
    ("challenge", "reference_dir: folder '.*nowhere.*' does not exist"),
    ("not-a-reference", r"reference_dir: expected a phase folder of a challenge's reference tree "
                        r"\(CHALLENGE/reference/phase_N\), got '.*public.*phase_1'"),
    ("db", "db: cannot read the SQLAlchemy URL"),
])
def test_submit_errors_are_one_line_naming_the_parameter(empty, monkeypatch, capsys, case, message):
    challenge, zips = empty
    args = {"zip": zips[1]["median"], "reference": challenge / "reference" / "phase_1", "--name": "x"}
    extra = []
    if case == "missing-zip":
        args["zip"] = challenge / "nothing.zip"
    elif case == "phase":
        args["reference"] = challenge / "reference" / "phase_7"
    elif case == "name":
        args["--name"] = "  "
    elif case == "challenge":
        args["reference"] = challenge.parent / "nowhere" / "reference" / "phase_1"
    elif case == "not-a-reference":
        args["reference"] = challenge / "public" / "phase_1"
    elif case == "db":
        extra = ["--db", "not a url://x"]
    argv = ["submit", str(args.pop("zip")), str(args.pop("reference"))] + [str(v) for kv in args.items() for v in kv] + extra
    assert run_cli(argv, monkeypatch) == 1
    err = capsys.readouterr().err
    import re

    assert err.count("\n") == 1 and re.match(f"exobench: error: {message}", err), err
    assert not (challenge / "leaderboard.sqlite").exists() or case == "db"


@pytest.mark.parametrize("old", [["--challenge", "{challenge}"], ["--phase", "1"]])
def test_submit_refuses_the_old_spelling_naming_the_new_one(empty, monkeypatch, capsys, old):
    challenge, zips = empty
    old = [part.format(challenge=challenge) for part in old]
    with pytest.raises(SystemExit) as stop:
        run_cli(["submit", zips[1]["median"], *old, challenge / "reference" / "phase_1", "--name", "x"], monkeypatch)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{old[0]} is no longer taken; give the phase's reference folder" in err
    assert "exobench submit SUBMISSION.zip CHALLENGE/reference/phase_N --name NAME" in err


def test_leaderboard_errors_are_one_line(empty, monkeypatch, capsys):
    challenge, _ = empty
    assert run_cli(["leaderboard", challenge], monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: db: no leaderboard database at ") and err.count("\n") == 1
    assert run_cli(["leaderboard", challenge / "nowhere"], monkeypatch) == 1
    assert "challenge: folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: usage error
        run_cli(["leaderboard", challenge, "--sort", "precision"], monkeypatch)


def test_database_url_options_and_environment(empty, monkeypatch, tmp_path):
    challenge, zips = empty
    assert database_url(challenge).database == str(challenge / "leaderboard.sqlite")
    assert database_url(challenge, str(tmp_path / "x.sqlite")).render_as_string() == f"sqlite:///{tmp_path}/x.sqlite"
    monkeypatch.setenv(DB_ENV, f"sqlite:///{tmp_path}/env.sqlite")
    assert database_url(challenge).database == f"{tmp_path}/env.sqlite"
    assert database_url(challenge, "sqlite:///other.sqlite").database == "other.sqlite"
    submit(zips[1]["median"], challenge / "reference" / "phase_1", name="env")
    assert (tmp_path / "env.sqlite").is_file() and not (challenge / "leaderboard.sqlite").exists()
    assert [e.name for e in ranking(challenge, phase=1)[0].entries] == ["env"]
    monkeypatch.setenv(DB_ENV, "bad url://")
    with pytest.raises(ValueError, match=f"{DB_ENV}: cannot read"):
        database_url(challenge)


def test_sqlite_is_in_wal_mode(filled):
    challenge, _ = filled
    with sqlite3.connect(challenge / "leaderboard.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _submit_in_child(args):
    zip_path, challenge, db, i, barrier = args
    barrier.wait(timeout=60)
    try:
        entry = submit(zip_path, challenge / "reference" / "phase_1", name=f"scorer-{i:02d}", db=db)
        return i, entry.id, None
    except Exception as exc:  # reported to the parent
        return i, None, f"{type(exc).__name__}: {exc}"


def _child(queue, *args):
    queue.put(_submit_in_child(args))


def test_twenty_scorers_write_one_sqlite_leaderboard_at_once(empty, tmp_path):
    challenge, zips = empty
    db = tmp_path / "shared.sqlite"
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    n = 20
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    sources = [zips[1]["median"], zips[1]["pca"], zips[1]["oracle"], zips[1]["median-low"]]
    procs = [ctx.Process(target=_child, args=(queue, sources[i % 4], challenge, str(db), i, barrier))
             for i in range(n)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in range(n)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [r for r in results if r[2] is not None]
    assert not errors, errors
    assert sorted(r[0] for r in results) == list(range(n))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = sorted(row[0] for row in conn.execute("SELECT name FROM submissions"))
        assert names == [f"scorer-{i:02d}" for i in range(n)]
        per_entry = conn.execute("SELECT COUNT(*), COUNT(DISTINCT submission_id) FROM dataset_results").fetchone()
        assert per_entry == (2 * n, n)  # two datasets in phase 1, for every entry
        assert conn.execute("SELECT COUNT(DISTINCT submission_id) FROM roc_points").fetchone()[0] == n
    (r,) = ranking(challenge, phase=1, db=str(db))
    assert len(r.entries) == n and math.isclose(r.entries[0].f1, 1.0)
    kept = sorted(p.name for p in (challenge / "submissions").iterdir())
    assert len(kept) == 4 and all(name.endswith(".zip") for name in kept)  # no temporary file left


def test_the_same_zip_under_the_same_name_is_refused_replaced_or_kept(empty, monkeypatch, capsys):
    from exobench.leaderboard import remove_entry, stored_submission

    challenge, zips = empty
    first = submit(zips[1]["median"], challenge / "reference" / "phase_1", name="team")
    with pytest.raises(ValueError, match=r"submission: 'team' with these bytes \(sha256 [0-9a-f]{12}\) is already on "
                                         r"phase 1's leaderboard \(entry 1\); pass duplicate='replace'"):
        submit(zips[1]["median"], challenge / "reference" / "phase_1", name="team")
    submit(zips[1]["median"], challenge / "reference" / "phase_1", name="other")  # another name: a new entry
    again = submit(zips[1]["median"], challenge / "reference" / "phase_1", name="team", duplicate="replace")
    assert again.id != first.id
    assert sorted(e.name for e in ranking(challenge, phase=1)[0].entries) == ["other", "team"]
    submit(zips[1]["median"], challenge / "reference" / "phase_1", name="team", duplicate="keep")
    assert [e.name for e in ranking(challenge, phase=1)[0].entries].count("team") == 2
    with pytest.raises(ValueError, match="duplicate: expected one of"):
        submit(zips[1]["median"], challenge / "reference" / "phase_1", name="team", duplicate="twice")
    assert run_cli(["submit", zips[1]["median"], challenge / "reference" / "phase_1", "--name", "other"],
                   monkeypatch) == 1
    assert "--replace" in capsys.readouterr().err
    # removal: the entry, and the kept zip once no entry has its bytes
    for entry in ranking(challenge, phase=1)[0].entries:
        removed = remove_entry(challenge, entry.id)
        assert removed.id == entry.id
    assert ranking(challenge, phase=1)[0].entries == ()
    assert not stored_submission(challenge, first.sha256).exists()
    assert run_cli(["remove", challenge, "99"], monkeypatch) == 1
    assert "exobench: error: entry_id: no submission 99" in capsys.readouterr().err


def test_rankings_export_as_csv(filled, monkeypatch, capsys):
    import csv
    import io

    from exobench.leaderboard.ranking import CSV_COLUMNS

    challenge, _ = filled
    assert run_cli(["leaderboard", challenge, "--csv"], monkeypatch) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["phase", *CSV_COLUMNS]
    phase1 = [r for r in rows if r["phase"] == "1"]
    assert [int(r["rank"]) for r in phase1] == sorted(int(r["rank"]) for r in phase1)
    assert phase1[0]["name"] == "oracle" and float(phase1[0]["f1"]) == 1.0
    assert {r["phase"] for r in rows} == {"1", "2"}
