"""``exobench validate``: the scorer's intake against the public data, every problem on its own line."""

import zipfile

import numpy as np
import pytest

from exobench import cli
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.submission import write_submission
from exobench.workflows.validate import PhaseDataset, public_datasets, validate_submission

SIZE = 21


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """A public phase of two datasets (21 x 21 and 25 x 25 frames)."""
    folder = tmp_path_factory.mktemp("public")
    write_dataset(example_dataset(n_frames=5, size=SIZE).replace(dataset_id="1"), folder)
    write_dataset(example_dataset(n_frames=5, size=25).replace(dataset_id="2"), folder)
    return folder


def _maps(**shapes):
    return {("example", k): np.zeros(shape) for k, shape in shapes.items()}


def test_the_public_datasets_and_their_frame_shapes(public):
    assert public_datasets(public) == [PhaseDataset("example", "1", (SIZE, SIZE)), PhaseDataset("example", "2", (25, 25))]


def test_a_good_submission_is_valid(public, tmp_path, capsys):
    sub = write_submission(_maps(**{"1": (SIZE, SIZE), "2": (25, 25)}), 5.0, tmp_path / "sub.zip")
    report = validate_submission(sub, public)
    assert report.ok and report.problems == () and report.warnings == ()
    assert cli.main(["validate", str(sub), str(public)]) == 0
    assert capsys.readouterr().out == "valid (2 dataset(s) in the phase)\n"


def test_every_problem_is_one_line_and_the_status_is_1(public, tmp_path, capsys):
    folder = tmp_path / "sub"
    folder.mkdir()
    write_submission(_maps(**{"1": (SIZE + 2, SIZE), "2": (25, 25)}), 5.0, tmp_path / "good")
    (tmp_path / "good" / "example_detmap_1.fits").rename(folder / "example_detmap_1.fits")
    (tmp_path / "good" / "example_detmap_2.fits").rename(folder / "example_detmap_2.fits")
    (folder / "example_detmap_2.fits").write_bytes(b"not a FITS file at all" * 200)
    (folder / "notes.txt").write_text("hello")
    report = validate_submission(folder, public)
    assert not report.ok
    assert len(report.problems) == 3  # the threshold, map 1's shape, map 2's content
    assert report.problems[0].startswith("detection_threshold.fits: missing")
    assert any(p.startswith("example_detmap_1.fits: expected a map of shape (21, 21)") for p in report.problems)
    assert any(p.startswith("example_detmap_2.fits:") for p in report.problems)
    assert any("notes.txt" in w for w in report.warnings)
    assert cli.main(["validate", str(folder), str(public)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == ["error", "error", "error", "warning"]
    assert lines[-1] == "invalid: 3 problem(s) (2 dataset(s) in the phase)"


def test_a_missing_map_is_a_warning_not_a_problem(public, tmp_path):
    report = validate_submission(write_submission(_maps(**{"1": (SIZE, SIZE)}), 5.0, tmp_path / "s.zip"), public)
    assert report.ok
    assert report.warnings == ("example_detmap_2.fits: missing; the scorer counts it as an empty map",)


def test_hostile_archives_are_refused_before_anything_is_read(public, tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../example_detmap_1.fits", b"x")
    report = validate_submission(path, public)
    assert not report.ok and len(report.problems) == 1 and "evil.zip" in report.problems[0]


def test_no_map_of_the_phase_is_a_problem(public, tmp_path):
    report = validate_submission(write_submission({("other", "1"): np.zeros((5, 5))}, 5.0, tmp_path / "s.zip"),
                                 public)
    assert report.problems == ("submission: no detection map of this phase found (expected names such as "
                               "example_detmap_1.fits, example_detmap_2.fits)",)
    assert "other_detmap_1.fits: no dataset other 1 in this phase; ignored" in report.warnings


def test_a_public_folder_without_datasets_is_one_line(tmp_path, capsys):
    sub = write_submission(_maps(**{"1": (SIZE, SIZE)}), 5.0, tmp_path / "s.zip")
    (tmp_path / "empty").mkdir()
    assert cli.main(["validate", str(sub), str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().err.startswith("exobench: error: public_dir: no {instrument}_cube_{k}.fits file")


def test_scoring_against_a_public_folder_points_to_validate(public, tmp_path, capsys):
    sub = write_submission(_maps(**{"1": (SIZE, SIZE), "2": (25, 25)}), 5.0, tmp_path / "s.zip")
    assert cli.main(["score", str(sub), str(public)]) == 1
    err = capsys.readouterr().err
    assert "a public phase folder, whose truth is withheld (exobench validate SUBMISSION PUBLIC_PHASE_DIR" in err
    assert err.count("\n") == 1
