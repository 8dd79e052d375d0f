"""The detection benchmarks' scores (``bench/_detection.py``) are the scorer's, whatever path the maps took.

A benchmark scores a baseline's maps in memory, or read back from its submission
zip (``bench/bench_ranking.py --add``), and submits the same zip to the
leaderboard: the three must give the same numbers, the counting being the
scorer's (NaN and ``-inf`` pixels never detected).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from exobench.scoring.program import score_folder
from exobench.scoring.reference import Reference, ReferenceDataset
from exobench.submission import open_submission, read_submission, write_submission

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def detection():
    """``bench/_detection.py`` loaded from its file (the bench folder is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_detection_under_test", BENCH / "_detection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _masked_phase():
    """One dataset whose map is NaN outside 10 px (as a baseline's mask leaves it), one of its two
    companions bright, the other on the flat background: the curve's last point (everything
    detected) then has a false-positive rate below 1 under the scorer's counting."""
    n = 41
    y, x = np.mgrid[:n, :n] - n // 2
    detmap = np.zeros((n, n))
    detmap[19:22, 25:28] = 5.0  # the bright companion at (26, 20)
    detmap[np.hypot(x, y) > 10] = np.nan
    positions = np.array([[26.0, 20.0], [20.0, 14.0]])
    reference = Reference(datasets=(ReferenceDataset("naco", "1", positions, 4.0, (n, n)),))
    return {("naco", "1"): detmap}, reference


def test_maps_read_back_from_their_zip_score_as_in_memory_and_as_the_leaderboard(detection, tmp_path):
    maps, reference = _masked_phase()
    threshold = 2.0
    archive = write_submission(maps, threshold, tmp_path / "sub.zip")
    folder = open_submission(archive, tmp_path)
    submission = read_submission(folder, reference)
    assert np.isneginf(submission.detmaps[("naco", "1")]).any()  # the scorer's reading of NaN

    in_memory = detection.score(detection.phase_curves(maps, threshold, reference), threshold)
    read_back = detection.score(detection.phase_curves(submission.detmaps, threshold, reference), threshold)
    board = score_folder(folder, reference).metrics

    # the everything-detected point stays below FPR 1 (the masked pixels are never detected),
    # so the envelope rises straight from the bright companion's point to (1, 1)
    assert 0.5 < board["auc"] < 1.0
    assert in_memory["all"]["auc"] == pytest.approx(board["auc"], abs=1e-12)
    assert read_back["all"]["auc"] == pytest.approx(board["auc"], abs=1e-12)
    assert read_back["at_threshold"] == in_memory["at_threshold"]
    assert read_back["at_threshold"]["f1"] == pytest.approx(board["f1"])


def test_phase_curves_count_nan_and_minus_infinity_alike(detection):
    maps, reference = _masked_phase()
    key = ("naco", "1")
    with_nan = detection.phase_curves(maps, 2.0, reference)
    with_inf = detection.phase_curves({key: np.where(np.isnan(maps[key]), -np.inf, maps[key])}, 2.0, reference)
    whole = detection.BANDS[-1]
    np.testing.assert_array_equal(with_nan[whole].thresholds, with_inf[whole].thresholds)
    for name in ("tp", "fp", "fn", "tn"):
        np.testing.assert_array_equal(getattr(with_nan[whole], name), getattr(with_inf[whole], name))
    assert with_inf[whole].fpr[-1] < 1.0  # the masked pixels are not detected even at -inf
