"""Writing submissions and reproducible zips, read back by the scorer's own intake."""

import io
import zipfile

import numpy as np
import pytest
from astropy.io import fits

from exobench._zip import ZIP_DATE, write_zip
from exobench.submission import (
    check_output,
    detmap_file_name,
    list_submission_files,
    open_submission,
    read_bounded_fits,
    submission_files,
    write_submission,
)

MAPS = {("naco", "1"): np.arange(25.0).reshape(5, 5), ("sphere_irdis", "2"): np.ones((7, 7))}


def test_a_zip_submission_holds_one_map_per_dataset_and_the_threshold(tmp_path):
    path = write_submission(MAPS, 4.5, tmp_path / "sub.zip", header={"BASELINE": ("pca", "exobench baseline")})
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["detection_threshold.fits", "naco_detmap_1.fits", "sphere_irdis_detmap_2.fits"]
    folder = open_submission(path, tmp_path)
    files = list_submission_files(folder)
    np.testing.assert_array_equal(read_bounded_fits(files["naco_detmap_1.fits"]), MAPS["naco", "1"])
    assert read_bounded_fits(files["detection_threshold.fits"]).tolist() == [4.5]
    assert fits.getheader(files["naco_detmap_1.fits"])["BASELINE"] == "pca"


def test_same_maps_same_bytes(tmp_path):
    a = write_submission(MAPS, 5.0, tmp_path / "a.zip").read_bytes()
    b = write_submission(dict(reversed(list(MAPS.items()))), 5, tmp_path / "b.zip").read_bytes()
    assert a == b


def test_a_folder_submission_appears_whole(tmp_path):
    out = write_submission(MAPS, 5.0, tmp_path / "sub")
    assert sorted(p.name for p in out.iterdir()) == sorted(submission_files(MAPS, 5.0))
    assert [p.name for p in tmp_path.iterdir()] == ["sub"]


def test_existing_outputs_are_refused_before_any_work(tmp_path):
    zipped = write_submission(MAPS, 5.0, tmp_path / "sub.zip")
    with pytest.raises(FileExistsError, match=r"output: .*sub.zip' exists; pass overwrite=True \(--overwrite\)"):
        write_submission(MAPS, 5.0, zipped)
    write_submission(MAPS, 6.0, zipped, overwrite=True)
    folder = write_submission(MAPS, 5.0, tmp_path / "folder")
    with pytest.raises(FileExistsError, match=r"output: .*folder' is a folder that is not empty"):
        write_submission(MAPS, 5.0, folder, overwrite=True)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(FileExistsError, match=r"output: .*notes.txt' is a file; give a new folder or a .zip path"):
        check_output(a_file, overwrite=True)
    with pytest.raises(FileNotFoundError, match=r"output: folder .*nowhere' does not exist"):
        check_output(tmp_path / "nowhere" / "sub.zip")


@pytest.mark.parametrize("maps, threshold, message", [
    (MAPS, float("nan"), "threshold: expected a finite number, got nan"),
    (MAPS, True, "threshold: expected a finite number, got True"),
    (MAPS, "5", "threshold: expected a finite number, got '5'"),
    ({"naco_1": np.ones((3, 3))}, 5.0, r"maps: expected keys \(instrument, dataset_id\) of two strings"),
    ({("naco", 1): np.ones((3, 3))}, 5.0, r"maps: expected keys \(instrument, dataset_id\) of two strings"),
    ({("naco", "1"): np.ones(3)}, 5.0, r"maps\[\('naco', '1'\)\]: expected a 2D detection map, got shape \(3,\)"),
])
def test_bad_maps_and_thresholds_are_refused(tmp_path, maps, threshold, message):
    with pytest.raises(ValueError, match=message):
        write_submission(maps, threshold, tmp_path / "sub.zip")
    assert not (tmp_path / "sub.zip").exists()


def test_file_names_are_spelled_once():
    assert detmap_file_name("gpi", "3") == "gpi_detmap_3.fits"
    assert list(submission_files(MAPS, 1.0))[1] == detmap_file_name("naco", "1")


# -- the one zip writer --------------------------------------------------------------------------------


def test_zip_entries_are_sorted_dated_and_compressed_by_kind(tmp_path):
    source = tmp_path / "big.txt"
    source.write_bytes(b"x" * 10000)
    buffer = io.BytesIO()
    write_zip(buffer, {"z.txt": b"a" * 1000, "inner.zip": b"PK\x05\x06" + b"\0" * 18, "logo.png": b"\x89PNG",
                       "dir/big.txt": source})
    with zipfile.ZipFile(buffer) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["dir/big.txt", "inner.zip", "logo.png", "z.txt"]
        assert all(i.date_time == ZIP_DATE and i.external_attr >> 16 == 0o100644 for i in infos)
        kinds = {i.filename: i.compress_type for i in infos}
        assert kinds == {"dir/big.txt": zipfile.ZIP_DEFLATED, "inner.zip": zipfile.ZIP_STORED,
                         "logo.png": zipfile.ZIP_STORED, "z.txt": zipfile.ZIP_DEFLATED}
        assert archive.read("dir/big.txt") == source.read_bytes()


def test_zip_same_entries_same_bytes_and_atomic_paths(tmp_path):
    first = write_zip(tmp_path / "a.zip", {"b": b"2", "a": b"1"})
    second = write_zip(tmp_path / "b.zip", {"a": b"1", "b": b"2"})
    assert first.read_bytes() == second.read_bytes()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_zip(tmp_path / "missing" / "c.zip", {"a": b"1"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "b.zip"]
