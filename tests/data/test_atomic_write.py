"""Atomic writes: a file appears whole or not at all, and no temporary file is left behind."""

import os
import stat

import numpy as np
import pytest
from astropy.io import fits

from exobench._atomic import atomic_path, atomic_write, atomic_write_fits


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_text_and_bytes(tmp_path):
    with atomic_write(tmp_path / "a.txt", "w", encoding="utf-8") as fh:
        fh.write("F1_3d: 0.5\n")
    with atomic_write(tmp_path / "b.bin") as fh:
        fh.write(b"\x00\x01")
    assert (tmp_path / "a.txt").read_text() == "F1_3d: 0.5\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _names(tmp_path) == ["a.txt", "b.bin"]


def test_error_in_block_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(tmp_path / "a.txt", "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert _names(tmp_path) == []


def test_error_in_block_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path, "w") as fh:
            fh.write("new")
            raise KeyboardInterrupt
    assert path.read_text() == "old"
    assert _names(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("mode", ["a", "r", "rb", "ab"])
def test_non_write_modes_are_refused(tmp_path, mode):
    with pytest.raises(ValueError, match=f"mode: expected one of .*got '{mode}'"):
        with atomic_write(tmp_path / "a.txt", mode):
            pass


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="path: folder .*absent.* does not exist"):
        with atomic_path(tmp_path / "absent" / "a.txt"):
            pass


def test_new_file_gets_the_usual_permissions(tmp_path):
    (tmp_path / "plain.txt").write_text("x")
    with atomic_write(tmp_path / "atomic.txt", "w") as fh:
        fh.write("x")
    mode = stat.S_IMODE(os.stat(tmp_path / "atomic.txt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)


def test_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    with atomic_write(path, "w") as fh:
        fh.write("new")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and path.read_text() == "new"


def test_atomic_write_fits_array_and_hdulist(tmp_path):
    atomic_write_fits(tmp_path / "a.fits", np.arange(3.0), fits.Header([("OBJECT", "x")]))
    assert fits.getdata(tmp_path / "a.fits").tolist() == [0.0, 1.0, 2.0]
    assert fits.getheader(tmp_path / "a.fits")["OBJECT"] == "x"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones(2), name="EXTRA")])
    atomic_write_fits(tmp_path / "b.fits", hdul)
    assert fits.getdata(tmp_path / "b.fits", "EXTRA").tolist() == [1.0, 1.0]


def test_atomic_write_fits_widens_half_floats(tmp_path):
    atomic_write_fits(tmp_path / "a.fits", np.ones(2, dtype=np.float16))
    assert fits.getdata(tmp_path / "a.fits").dtype == np.dtype(">f4")


def test_atomic_write_fits_header_with_hdulist_refused(tmp_path):
    with pytest.raises(ValueError, match="header: expected None when data is an HDUList"):
        atomic_write_fits(tmp_path / "a.fits", fits.HDUList([fits.PrimaryHDU()]), fits.Header())


def test_atomic_write_fits_failure_leaves_nothing(tmp_path, monkeypatch):
    def failing(self, fileobj, *args, **kwargs):
        with open(fileobj, "wb") as fh:
            fh.write(b"SIMPLE  =")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(fits.HDUList, "writeto", failing)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_fits(tmp_path / "a.fits", np.ones(3))
    assert _names(tmp_path) == []


# -- the one overwrite rule, checked before any work ----------------------------------------------


def test_a_new_file_is_refused_where_it_would_replace_or_misplace_something(tmp_path):
    from exobench._atomic import check_new_file

    target = tmp_path / "out.zip"
    assert check_new_file(target, suffix=".zip") == target
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError, match=r"output: .*out.zip' exists; pass overwrite=True \(--overwrite\)"):
        check_new_file(target)
    assert check_new_file(target, overwrite=True) == target
    with pytest.raises(ValueError, match=r"bundle: expected a .zip file, got .*out.tar'"):
        check_new_file(tmp_path / "out.tar", suffix=".zip", name="bundle")
    with pytest.raises(FileNotFoundError, match=r"output: folder .*nowhere' does not exist"):
        check_new_file(tmp_path / "nowhere" / "out.zip")
    with pytest.raises(IsADirectoryError, match=r"output: .* is a folder; give a file path"):
        check_new_file(tmp_path, overwrite=True)
    assert target.read_bytes() == b"old"


def test_a_folder_that_holds_files_is_written_into_only_with_overwrite(tmp_path):
    from exobench._atomic import check_new_folder

    assert check_new_folder(tmp_path / "new") == tmp_path / "new"
    assert check_new_folder(tmp_path / "empty_later") == tmp_path / "empty_later"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.csv").write_text("x")
    with pytest.raises(FileExistsError, match=r"output: folder .*full' is not empty; pass overwrite=True"):
        check_new_folder(tmp_path / "full")
    assert check_new_folder(tmp_path / "full", overwrite=True) == tmp_path / "full"
    with pytest.raises(FileExistsError, match=r"output: .*a.csv' is a file; give a folder"):
        check_new_folder(tmp_path / "full" / "a.csv", overwrite=True)
    with pytest.raises(FileNotFoundError, match=r"output: folder .*nowhere' does not exist"):
        check_new_folder(tmp_path / "nowhere" / "out")
