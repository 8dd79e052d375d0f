"""Bootstrap intervals in the leaderboard: from the stored counts, seeded, equal to a brute-force bootstrap."""

import csv
import io
import json

import numpy as np
import pytest

from exobench.leaderboard import Leaderboard, database_url, ranking, ranking_csv, ranking_json, ranking_text
from exobench.leaderboard.intervals import (INTERVAL_LEVEL, INTERVAL_RESAMPLES, INTERVAL_SEED, ScoreIntervals,
                                            entry_intervals, f1_interval, format_interval)

from .helpers import run_cli


def brute_force_f1(rows, *, n=INTERVAL_RESAMPLES, seed=INTERVAL_SEED, level=INTERVAL_LEVEL):
    """One resample at a time: draw the datasets, sum their counts, F1; the central ``level`` of them."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(rows), size=(n, len(rows)))
    values = []
    for picks in draws:
        tp = sum(rows[i]["tp"] for i in picks)
        fp = sum(rows[i]["fp"] for i in picks)
        injections = sum(rows[i]["n_injections"] for i in picks)
        if tp + fp + injections:
            values.append(2 * tp / (tp + fp + injections))
    return tuple(np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))


def test_f1_intervals_are_a_brute_force_bootstrap_of_the_stored_counts(filled):
    challenge, _ = filled
    checked = 0
    with Leaderboard(database_url(challenge)) as board:
        for r in ranking(challenge):
            for entry in r.entries:
                rows = board.datasets(entry.id)
                expected = brute_force_f1(rows)
                assert entry.intervals.f1 == pytest.approx(expected, abs=1e-12)
                assert entry.intervals.f1[0] <= entry.f1 <= entry.intervals.f1[1]
                # the scorer computed the same interval when it scored the submission
                stored = board.details(entry.id)["metrics"]["confidence_intervals"]
                assert entry.intervals.f1 == pytest.approx(tuple(stored["f1"]), abs=1e-12)
                assert entry.intervals.auc == pytest.approx(tuple(stored["auc"]), abs=1e-12)
                checked += 1
    assert checked >= 8
    oracle = next(e for e in ranking(challenge, phase=1)[0].entries if e.name == "oracle")
    assert oracle.intervals.f1 == (1.0, 1.0)  # every companion found, no false positive, in every resample


def test_a_small_case_by_hand():
    rows = [dict(tp=t, fp=f, fn=3 - t, tn=80, n_injections=3, n_elements=90) for t, f in
            [(3, 0), (2, 1), (1, 2), (3, 1), (0, 0)]]
    assert f1_interval(rows) == pytest.approx(brute_force_f1(rows), abs=1e-12)
    assert f1_interval(rows, seed=1) == pytest.approx(brute_force_f1(rows, seed=1), abs=1e-12)
    # another seed, other resamples: with varied datasets and few resamples, another interval
    varied = [dict(tp=t, fp=f, fn=9 - t, tn=80, n_injections=9, n_elements=90)
              for t, f in zip([9, 2, 7, 0, 5, 8, 1, 6, 3, 4, 9, 2], [0, 5, 1, 7, 2, 0, 9, 3, 4, 1, 2, 6])]
    assert f1_interval(varied, n_boot=50, seed=1) == pytest.approx(brute_force_f1(varied, n=50, seed=1), abs=1e-12)
    assert f1_interval(varied, n_boot=50, seed=1) != f1_interval(varied, n_boot=50, seed=2)
    assert f1_interval(varied, n_boot=50, seed=1) == f1_interval(varied, n_boot=50, seed=1)
    assert f1_interval([]) is None
    # no injection and no false positive anywhere: F1 undefined in every resample, no interval
    assert f1_interval([dict(tp=0, fp=0, fn=0, tn=9, n_injections=0, n_elements=9)]) is None


def test_intervals_are_reproducible(filled):
    challenge, _ = filled
    first = [(e.id, e.intervals) for r in ranking(challenge) for e in r.entries]
    again = [(e.id, e.intervals) for r in ranking(challenge, sort="auc") for e in r.entries]
    assert sorted(first, key=lambda x: x[0]) == sorted(again, key=lambda x: x[0])


class _Board:
    """A stand-in for a leaderboard whose stored details may lack the scorer's intervals."""

    def __init__(self, rows, details):
        self.rows, self.stored = rows, details

    def datasets(self, entry_id):
        return self.rows

    def details(self, entry_id):
        return self.stored


class _Entry:
    id, status = 1, "scored"


@pytest.mark.parametrize("details, auc", [
    (None, None),
    ({"metrics": {}}, None),
    ({"metrics": {"confidence_intervals": {"level": 0.95, "auc": [None, None]}}}, None),
    ({"metrics": {"confidence_intervals": {"level": 0.9, "auc": [0.1, 0.2]}}}, None),
    ({"metrics": {"confidence_intervals": {"level": 0.95, "auc": [0.1, 0.2]}}}, (0.1, 0.2)),
])
def test_only_available_intervals_are_shown(details, auc):
    rows = [dict(tp=1, fp=0, fn=1, tn=9, n_injections=2, n_elements=10)] * 3
    intervals = entry_intervals(_Board(rows, details), _Entry())
    assert intervals.auc == auc and intervals.f1 == pytest.approx((2 / 3, 2 / 3))
    assert entry_intervals(_Board([], details), _Entry()).f1 is None


def test_text_csv_and_json_show_the_intervals(filled, monkeypatch, capsys):
    challenge, _ = filled
    rankings = ranking(challenge, phase=1)
    entry = rankings[0].entries[0]
    text = ranking_text(rankings)
    header = text.splitlines()[1]
    assert "F1 95%" in header and "AUC 95%" in header
    assert format_interval(entry.intervals.f1, 3) in text and format_interval(entry.intervals.auc, 3) in text
    rows = list(csv.DictReader(io.StringIO(ranking_csv(rankings))))
    assert float(rows[0]["f1_low"]) == entry.intervals.f1[0] and float(rows[0]["auc_high"]) == entry.intervals.auc[1]
    document = json.loads(ranking_json(rankings))
    assert document["phases"][0]["entries"][0]["intervals"]["f1"] == list(entry.intervals.f1)
    assert run_cli(["leaderboard", challenge, "--phase", "1"], monkeypatch) == 0
    assert format_interval(entry.intervals.f1, 3) in capsys.readouterr().out


def test_format_interval():
    assert format_interval(None) == "-"
    assert format_interval((0.12345, 0.5)) == "[0.12, 0.50]"
    assert ScoreIntervals(f1=(0.1, 0.2)).to_dict() == {"level": 0.95, "f1": [0.1, 0.2], "auc": None}
