"""A characterisation phase on the local leaderboard and in its report."""

import numpy as np
import pytest

from exobench.leaderboard import ranking, submit
from exobench.leaderboard.ranking import CSV_COLUMNS, ranking_csv, ranking_text
from exobench.report.page import build_report
from exobench.submission import write_characterisation

from ..scoring.test_characterisation import EST_XY, TRUE_F, TRUE_XY, make_reference


@pytest.fixture
def board(tmp_path):
    challenge = tmp_path / "challenge"
    reference, fluxes = make_reference(challenge / "reference" / "phase_1")
    truth = np.column_stack([TRUE_XY, fluxes])
    near = truth.copy()
    near[:, 0] += 0.5
    paths = {
        "far": write_characterisation({("ex", "1"): np.column_stack([EST_XY, TRUE_F])}, tmp_path / "far.zip"),
        "near": write_characterisation({("ex", "1"): near}, tmp_path / "near.zip",
                                       sigmas={("ex", "1"): np.full_like(truth, 0.25)}),
        "exact": write_characterisation({("ex", "1"): truth}, tmp_path / "exact.zip"),
    }
    for name, path in paths.items():
        submit(path, reference, name=name)
    return challenge


def test_characterisation_phases_rank_by_their_errors_lowest_first(board):
    for sort in ("f1", "auc"):  # a detection sort does not apply: the errors rank
        (phase,) = ranking(board, sort=sort)
        assert phase.characterisation and phase.suffix == "charac3d"
        assert [(e.rank, e.name) for e in phase.entries] == [(1, "exact"), (2, "near"), (3, "far")]
    near = phase.entries[1]
    assert near.scores["astrometry_l1_px_charac3d"] == 0.5 and near.scores["coverage_1sigma_charac3d"] == 2 / 3
    assert phase.entries[0].scores["coverage_1sigma_charac3d"] is None  # undefined: no uncertainties
    text = ranking_text([phase])
    assert "sorted by L1 astrometry, then spectrophotometry (lowest first)" in text
    lines = text.splitlines()
    assert "L1 (px)" in lines[1] and lines[2].split()[:3] == ["1", "exact", "0.0000"]
    rows = ranking_csv([phase]).splitlines()
    assert rows[0].split(",") == ["phase", *CSV_COLUMNS]
    values = dict(zip(rows[0].split(","), rows[2].split(",")))
    assert (values["name"], values["astrometry_l1_px"], values["f1"]) == ("near", "0.5", "")


def test_the_report_shows_every_companion_with_its_estimates(board):
    page = build_report(board)
    assert "<h3>Companions: truth and estimates</h3>" in page and "<h3>ROC curves</h3>" not in page
    assert "20.00, 30.00" in page  # the first companion's truth
    assert "20.5 &plusmn; 0.25" in page  # near's estimate of its x, with its error bar
    assert page.count("data:image/png;base64,") == 1
