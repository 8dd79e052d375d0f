"""Submission intake: every hostile case refused with a message naming the file, nothing written outside."""

import os
import stat
import struct
import zipfile

import numpy as np
import pytest
from astropy.io import fits

from exobench.scoring.reference import read_reference
from exobench.submission import (
    Limits,
    SubmissionError,
    extract_zip,
    list_submission_files,
    open_submission,
    read_bounded_fits,
    read_bounded_scalar,
    read_submission,
)

from ..phase_data import POSITIONS, SHAPE, blob_map, fits_bytes, make_reference, make_submission, write_fits, zip_folder

@pytest.fixture
def reference(tmp_path):
    return read_reference(make_reference(tmp_path / "ref"))


def _zip(path, entries, *, compression=zipfile.ZIP_DEFLATED):
    """A zip of ``name -> bytes`` (or ZipInfo -> bytes)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _good_entries():
    entries = {f"inst_detmap_{k}.fits": fits_bytes(blob_map(pos)) for k, pos in POSITIONS.items()}
    entries["detection_threshold.fits"] = fits_bytes([5.0])
    return entries


def _refused(match, func, *args, **kwargs):
    with pytest.raises(SubmissionError, match=match) as info:
        func(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


# -- a good submission --------------------------------------------------------------------------


def test_a_good_zip_is_extracted_flat_and_read(tmp_path, reference):
    archive = _zip(tmp_path / "sub.zip", _good_entries())
    work = tmp_path / "work"
    work.mkdir()
    folder = open_submission(archive, work)
    assert folder.parent == work
    sub = read_submission(folder, reference)
    assert sub.threshold == 5.0 and sub.missing == () and sub.warnings == ()
    assert list(sub.detmaps) == [("inst", "1"), ("inst", "2"), ("inst", "3")]
    assert all(m.dtype == np.float64 and m.shape == SHAPE for m in sub.detmaps.values())


def test_one_top_folder_is_accepted(tmp_path, reference):
    archive = _zip(tmp_path / "sub.zip", {f"my_results/{n}": d for n, d in _good_entries().items()})
    dest = tmp_path / "x"
    dest.mkdir()
    names = sorted(p.name for p in extract_zip(archive, dest))
    assert names == sorted(_good_entries()) and not (dest / "my_results").exists()
    folder = make_submission(tmp_path / "outer" / "inner")
    assert sorted(list_submission_files(tmp_path / "outer")) == sorted(p.name for p in folder.iterdir())


def test_platform_junk_is_skipped(tmp_path, reference):
    entries = _good_entries()
    entries["__MACOSX/._inst_detmap_1.fits"] = b"junk"
    entries[".DS_Store"] = b"junk"
    dest = tmp_path / "x"
    dest.mkdir()
    assert len(extract_zip(_zip(tmp_path / "s.zip", entries), dest)) == 4


# -- hostile archives --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.fits", "a/../../evil.fits", "..\\evil.fits"])
def test_zip_entry_with_dotdot_is_refused(tmp_path, name):
    entries = {**_good_entries(), name: b"x"}
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused(r"'\.\.' in the path", extract_zip, _zip(tmp_path / "s.zip", entries), dest)
    assert list(dest.iterdir()) == [] and not (tmp_path / "evil.fits").exists()


@pytest.mark.parametrize("name", ["/etc/evil.fits", "C:/evil.fits"])
def test_zip_entry_with_absolute_path_is_refused(tmp_path, name):
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("absolute path", extract_zip, _zip(tmp_path / "s.zip", {**_good_entries(), name: b"x"}), dest)


def test_zip_symlink_entry_is_refused(tmp_path):
    link = zipfile.ZipInfo("inst_detmap_1.fits")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    entries = _good_entries()
    del entries["inst_detmap_1.fits"]
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        zf.writestr(link, "/etc/passwd")
        for name, data in entries.items():
            zf.writestr(name, data)
    dest = tmp_path / "dest"
    dest.mkdir()
    message = _refused("symbolic link", extract_zip, tmp_path / "s.zip", dest)
    assert "inst_detmap_1.fits" in message and list(dest.iterdir()) == []


def test_zip_bomb_over_the_file_size_limit_is_refused(tmp_path):
    entries = {**_good_entries(), "inst_detmap_1.fits": b"\0" * (3 << 20)}
    dest = tmp_path / "dest"
    dest.mkdir()
    limits = Limits(max_file_bytes=1 << 20)
    _refused("declares 3145728 bytes, more than the limit of 1048576 bytes per file", extract_zip,
             _zip(tmp_path / "s.zip", entries), dest, limits=limits)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("limits, message", [
    (Limits(max_file_bytes=1 << 20), "limit per file"),
    (Limits(max_total_bytes=1 << 20), "limit for all files"),
])
def test_size_limits_are_enforced_while_streaming(tmp_path, monkeypatch, limits, message):
    """Even if the declared sizes passed, the bytes actually inflated are counted."""
    from exobench.submission import archive

    monkeypatch.setattr(archive, "_plan_zip", lambda infos, where, limits: [(i, i.filename) for i in infos])
    entries = {"detection_threshold.fits": fits_bytes([1.0]), "inst_detmap_1.fits": b"\0" * (3 << 20)}
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused(message, extract_zip, _zip(tmp_path / "s.zip", entries), dest, limits=limits)
    assert list(dest.iterdir()) == []


def test_zip_bomb_over_the_total_size_limit_is_refused(tmp_path):
    entries = {**_good_entries(), **{f"pad{i}.txt": b"\0" * (600 << 10) for i in range(4)}}
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("declare .* bytes in all", extract_zip, _zip(tmp_path / "s.zip", entries), dest,
             limits=Limits(max_total_bytes=2 << 20))


def test_zip_bomb_over_the_ratio_limit_is_refused(tmp_path):
    entries = {**_good_entries(), "inst_detmap_1.fits": b"\0" * (2 << 20)}
    dest = tmp_path / "dest"
    dest.mkdir()
    limits = Limits(ratio_floor_bytes=1 << 20, max_ratio=100)
    _refused("compression ratio above 100", extract_zip, _zip(tmp_path / "s.zip", entries), dest, limits=limits)


def test_declared_sizes_are_not_trusted(tmp_path):
    """An entry that declares 100 bytes but inflates to 4 MiB: never more than declared is written, and refused."""
    archive = _zip(tmp_path / "s.zip", {"inst_detmap_1.fits": b"\0" * (4 << 20), "detection_threshold.fits": b"x"})
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("inst_detmap_1.fits")
    real = struct.pack("<I", info.file_size)
    assert raw.count(real) >= 2  # local header and central directory
    archive.write_bytes(bytes(raw).replace(real, struct.pack("<I", 100)))
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("corrupt or unsupported zip", extract_zip, archive, dest)
    assert list(dest.iterdir()) == []


def test_too_many_files_are_refused(tmp_path):
    entries = {**_good_entries(), **{f"note{i}.txt": b"x" for i in range(10)}}
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("14 files, more than the limit of 8", extract_zip, _zip(tmp_path / "s.zip", entries), dest,
             limits=Limits(max_files=8))
    folder = make_submission(tmp_path / "sub", extra={f"x{i}.fits": [1.0] for i in range(6)})
    _refused("10 files, more than the limit of 8", list_submission_files, folder, limits=Limits(max_files=8))


def test_too_many_zip_entries_are_refused(tmp_path):
    entries = {**_good_entries(), **{f"d{i}/": b"" for i in range(20)}}
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("entries, more than the limit of 10", extract_zip, _zip(tmp_path / "s.zip", entries), dest,
             limits=Limits(max_entries=10))


def test_nested_folders_are_refused(tmp_path):
    entries = {f"a/b/{n}": d for n, d in _good_entries().items()}
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("nested folder", extract_zip, _zip(tmp_path / "s.zip", entries), dest)
    mixed = {**_good_entries(), "sub/inst_detmap_9.fits": b"x"}
    _refused("nested folder", extract_zip, _zip(tmp_path / "m.zip", mixed), dest)
    folder = make_submission(tmp_path / "sub")
    (folder / "deeper").mkdir()
    _refused("holds the folder 'deeper'", list_submission_files, folder)
    make_submission(tmp_path / "top" / "one" / "two")
    _refused("holds the folder 'two'", list_submission_files, tmp_path / "top")


@pytest.mark.parametrize("name", ["metadata", "Metadata"])
def test_a_file_named_metadata_is_refused(tmp_path, name):
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("treat the submission as code", extract_zip, _zip(tmp_path / "s.zip", {**_good_entries(), name: b"x"}),
             dest)
    folder = make_submission(tmp_path / "sub")
    (folder / name).write_text("command: rm -rf /")
    _refused("named 'metadata'|named 'Metadata'", list_submission_files, folder)


def test_names_differing_only_in_case_are_refused(tmp_path):
    entries = {**_good_entries(), "INST_DETMAP_1.fits": fits_bytes(np.zeros(SHAPE))}
    dest = tmp_path / "dest"
    dest.mkdir()
    message = _refused("differing only in case", extract_zip, _zip(tmp_path / "s.zip", entries), dest)
    assert "INST_DETMAP_1.fits" in message
    folder = make_submission(tmp_path / "sub")
    (folder / "Detection_Threshold.fits").write_bytes(fits_bytes([1.0]))
    if len(list(folder.iterdir())) == 5:  # a case-sensitive file system
        _refused("differing only in case", list_submission_files, folder)


def test_duplicate_zip_entries_are_refused(tmp_path):
    archive = tmp_path / "s.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(archive, "w") as zf:
            for name, data in _good_entries().items():
                zf.writestr(name, data)
            zf.writestr("detection_threshold.fits", fits_bytes([1.0]))
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("'detection_threshold.fits' twice", extract_zip, archive, dest)


def test_encrypted_entries_are_refused(tmp_path):
    archive = _zip(tmp_path / "s.zip", _good_entries(), compression=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        offsets = [i.header_offset for i in zf.infolist()]
    central = raw.find(b"PK\x01\x02")
    while central >= 0:  # general-purpose flag of every central directory record
        raw[central + 8] |= 0x1
        central = raw.find(b"PK\x01\x02", central + 4)
    for offset in offsets:
        raw[offset + 6] |= 0x1
    archive.write_bytes(bytes(raw))
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("encrypted", extract_zip, archive, dest)


def test_a_file_that_is_not_a_zip_nor_a_folder_is_refused(tmp_path):
    path = tmp_path / "sub.zip"
    path.write_bytes(b"hello")
    _refused("not a zip archive nor a folder", open_submission, path, tmp_path)
    _refused("not found", open_submission, tmp_path / "nothing.zip", tmp_path)


def test_symlinks_in_a_folder_are_refused(tmp_path, reference):
    secret = tmp_path / "secret.fits"
    secret.write_bytes(fits_bytes(np.ones(SHAPE)))
    folder = make_submission(tmp_path / "sub")
    (folder / "inst_detmap_1.fits").unlink()
    os.symlink(secret, folder / "inst_detmap_1.fits")
    _refused("symbolic link", read_submission, folder, reference)
    link_folder = tmp_path / "linked"
    os.symlink(folder, link_folder)
    _refused("symbolic link", open_submission, link_folder, tmp_path)


def test_nothing_is_written_outside_the_work_folder(tmp_path, reference):
    from exobench.scoring.program import score_submission

    archive = zip_folder(make_submission(tmp_path / "sub"), tmp_path / "sub.zip")
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    score_submission(archive, tmp_path / "ref", work_dir=work)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert list(work.iterdir()) == []


# -- hostile FITS files -------------------------------------------------------------------------


def test_non_fits_bytes_are_refused(tmp_path, reference):
    folder = make_submission(tmp_path / "sub")
    (folder / "inst_detmap_2.fits").write_bytes(b"<html>not a FITS file</html>" * 200)
    message = _refused("not a FITS file", read_submission, folder, reference)
    assert message.startswith("inst_detmap_2.fits:")
    (folder / "inst_detmap_2.fits").write_bytes(b"")
    _refused("inst_detmap_2.fits: empty file", read_submission, folder, reference)
    (folder / "inst_detmap_2.fits").write_bytes(b"SIMPLE  =                    T" + b"\xff" * 3000)
    _refused("non-ASCII", read_submission, folder, reference)


def test_gzip_fits_is_refused(tmp_path):
    import gzip

    path = tmp_path / "inst_detmap_1.fits"
    path.write_bytes(gzip.compress(fits_bytes(np.zeros(SHAPE))))
    _refused("gzip-compressed FITS is not accepted", read_bounded_fits, path)


def _header_only(path, cards):
    header = "".join(f"{c:<80}" for c in cards + ["END"])
    header += " " * (-len(header) % 2880)
    path.write_bytes(header.encode("ascii"))
    return path


def _image_cards(bitpix, *axes):
    cards = ["SIMPLE  =                    T", f"BITPIX  = {bitpix:>20}", f"NAXIS   = {len(axes):>20}"]
    return cards + [f"NAXIS{i + 1:<3}= {n:>20}" for i, n in enumerate(axes)]


def test_fits_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    path = _header_only(tmp_path / "inst_detmap_1.fits", _image_cards(-64, 100000, 100000))
    message = _refused("header claims an array of shape \\(100000, 100000\\)", read_bounded_fits, path)
    assert "10000000000 values" in message
    small = _header_only(tmp_path / "small.fits", _image_cards(-64, 64, 64))
    _refused("truncated FITS file", read_bounded_fits, small)


def test_fits_header_without_end_or_with_bad_cards_is_refused(tmp_path):
    cards = ["SIMPLE  =                    T", "BITPIX  =                  -64", "NAXIS   =                    0"]
    endless = tmp_path / "endless.fits"
    endless.write_bytes(("".join(f"{c:<80}" for c in cards) + "COMMENT " * 10 * 36 * 20).encode()[: 2880 * 20])
    _refused("longer than 4 blocks|truncated FITS header", read_bounded_fits, endless, limits=Limits(max_header_blocks=4))
    bad = _header_only(tmp_path / "bad.fits", ["SIMPLE  =                    T", "BITPIX  =                   12",
                                               "NAXIS   =                    0"])
    _refused("invalid BITPIX 12", read_bounded_fits, bad)
    neg = _header_only(tmp_path / "neg.fits", ["SIMPLE  =                    T", "BITPIX  =                  -32",
                                               "NAXIS   =                    1", "NAXIS1  =                   -5"])
    _refused("invalid NAXIS1 -5", read_bounded_fits, neg)


def test_fits_tables_are_refused(tmp_path):
    path = tmp_path / "t.fits"
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="D", array=np.arange(3.0))])
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    _refused("holds a table", read_bounded_fits, path)


def test_fits_reader_matches_astropy_on_the_usual_layouts(tmp_path):
    data = np.arange(12, dtype=np.int16).reshape(3, 4)
    write_fits(tmp_path / "i.fits", data)
    np.testing.assert_array_equal(read_bounded_fits(tmp_path / "i.fits"), data)
    hdu = fits.PrimaryHDU(np.array([[0, 65535]], dtype=np.uint16))  # BZERO = 32768
    hdu.writeto(tmp_path / "u.fits")
    np.testing.assert_array_equal(read_bounded_fits(tmp_path / "u.fits"), [[0, 65535]])
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((2, 5), np.float32))]).writeto(tmp_path / "ext.fits")
    assert read_bounded_fits(tmp_path / "ext.fits").shape == (2, 5)
    fits.PrimaryHDU(header=fits.Header([("VALUE", 3.5)])).writeto(tmp_path / "card.fits")
    assert read_bounded_scalar(tmp_path / "card.fits") == 3.5
    write_fits(tmp_path / "s.fits", np.array([[2.0]]))
    assert read_bounded_scalar(tmp_path / "s.fits") == 2.0


# -- maps ------------------------------------------------------------------------------------


def test_maps_of_the_wrong_dimension_are_refused(tmp_path, reference):
    for bad, shape in ((np.zeros((2, 64, 64)), r"\(2, 64, 64\)"), (np.zeros(64), r"\(64,\)")):
        folder = make_submission(tmp_path / f"sub{bad.ndim}", maps={"1": bad, "2": np.zeros(SHAPE)})
        _refused(f"inst_detmap_1.fits: expected a 2D detection map, got an array of shape {shape}",
                 read_submission, folder, reference)


def test_a_leading_axis_of_length_1_is_dropped_with_a_warning(tmp_path, reference):
    folder = make_submission(tmp_path / "sub", maps={"1": np.zeros((1, 64, 64)), "2": np.zeros(SHAPE),
                                                      "3": np.zeros(SHAPE)})
    sub = read_submission(folder, reference)
    assert sub.detmaps[("inst", "1")].shape == SHAPE
    assert any("(1, 64, 64) read as a 2D map" in w for w in sub.warnings)


def test_maps_of_the_wrong_shape_are_refused(tmp_path):
    ref = read_reference(make_reference(tmp_path / "ref", phase={"map_shapes": {"inst_1": [64, 64]}}))
    folder = make_submission(tmp_path / "sub", maps={"1": np.zeros((63, 64)), "2": np.zeros(SHAPE)})
    _refused(r"inst_detmap_1.fits: expected a map of shape \(64, 64\) \(the dataset's frame\), got \(63, 64\)",
             read_submission, folder, ref)
    tiny = make_submission(tmp_path / "tiny", maps={"2": np.zeros((4, 4))})
    _refused(r"inst_detmap_2.fits: map of shape \(4, 4\); expected sides of 8 to 4096", read_submission, tiny,
             read_reference(tmp_path / "ref"))


def test_a_map_smaller_than_the_frame_is_refused_without_revealing_positions(tmp_path):
    from exobench.scoring.program import score_submission

    make_reference(tmp_path / "ref")
    folder = make_submission(tmp_path / "sub", maps={"1": np.zeros((32, 32)), "2": np.zeros(SHAPE)})
    message = _refused("inst_detmap_1.fits: a map of shape \\(32, 32\\) is smaller than the dataset's frame",
                       score_submission, folder, tmp_path / "ref")
    assert "45" not in message and "40" not in message


def test_nan_is_no_detection_and_inf_a_detection(tmp_path):
    from exobench.scoring.program import score_submission

    make_reference(tmp_path / "ref")
    map1 = blob_map(POSITIONS["1"])
    map1[map1 > 0] = np.nan  # both companions of dataset 1 hidden under NaN: two misses
    map2 = blob_map(POSITIONS["2"], value=np.inf)  # +inf: above any threshold
    map3 = np.full(SHAPE, -np.inf)
    folder = make_submission(tmp_path / "sub", maps={"1": map1, "2": map2, "3": map3})
    report = score_submission(folder, tmp_path / "ref")
    assert [(d.tp, d.fp, d.fn) for d in report.datasets] == [(0, 0, 2), (1, 0, 0), (0, 0, 0)]
    assert "NaN values, counted as no detection: inst_detmap_1.fits (18)" in report.warnings


# -- threshold and option files -----------------------------------------------------------------


def test_a_missing_threshold_is_refused(tmp_path, reference):
    folder = make_submission(tmp_path / "sub", threshold=None)
    _refused("detection_threshold.fits: missing", read_submission, folder, reference)
    write_fits(folder / "Detection_threshold.fits", [1.0])
    _refused("did you mean 'Detection_threshold.fits'", read_submission, folder, reference)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_threshold_is_refused(tmp_path, reference, value):
    folder = make_submission(tmp_path / "sub", threshold=value)
    _refused("detection_threshold.fits: expected a finite number", read_submission, folder, reference)


@pytest.mark.parametrize("data", [[1.0, 2.0], np.ones((2, 2))])
def test_a_non_scalar_threshold_is_refused(tmp_path, reference, data):
    folder = make_submission(tmp_path / "sub", threshold=None, extra={"detection_threshold.fits": data})
    _refused("detection_threshold.fits: expected a single number, got an array of shape", read_submission,
             folder, reference)


def test_a_threshold_in_a_header_card_is_accepted(tmp_path, reference):
    folder = make_submission(tmp_path / "sub", threshold=None)
    fits.PrimaryHDU(header=fits.Header([("VALUE", 2.5)])).writeto(folder / "detection_threshold.fits")
    assert read_submission(folder, reference).threshold == 2.5


@pytest.mark.parametrize("name, value, expected", [
    ("npix.fits", 2.5, "a whole number >= 1"),
    ("npix.fits", 0, "a whole number >= 1"),
    ("overlap_threshold.fits", 1.5, r"a number in \(0, 1\]"),
    ("max_blob_fact.fits", -1.0, "a number > 0"),
    ("max_blob_fact.fits", np.nan, "a number > 0"),
    ("inst_fwhm_1.fits", 0.0, "a number of pixels > 0"),
])
def test_option_files_are_validated(tmp_path, reference, name, value, expected):
    folder = make_submission(tmp_path / "sub", extra={name: [value]})
    _refused(f"{name}: expected {expected}", read_submission, folder, reference)


def test_option_files_are_ignored_in_the_default_mode_and_honoured_in_compat(tmp_path, reference):
    folder = make_submission(tmp_path / "sub", extra={"npix.fits": [3.0], "inst_fwhm_1.fits": [5.0]})
    sub = read_submission(folder, reference)
    assert sub.options == {"npix": 3} and sub.fwhms == {("inst", "1"): 5.0}
    assert any("FWHM files ignored" in w for w in sub.warnings)
    assert any("counting options ignored (npix)" in w for w in sub.warnings)
    assert not any("ignored" in w for w in read_submission(folder, reference, compat="eidc2019").warnings)


# -- partial submissions and unknown files ------------------------------------------------------


def test_a_submission_missing_one_map_is_scored_with_the_map_empty(tmp_path):
    """The hand-made case: dataset 2's map is missing; its injection is a false negative."""
    from exobench.scoring.program import score_submission

    make_reference(tmp_path / "ref")
    maps = {"1": blob_map(POSITIONS["1"]), "3": blob_map([(10.0, 10.0)])}  # dataset 3: one false positive
    folder = make_submission(tmp_path / "sub", maps=maps)
    report = score_submission(folder, tmp_path / "ref")
    rows = {d.dataset_id: d for d in report.datasets}
    assert not rows["2"].map_given and rows["2"].shape == SHAPE
    assert (rows["2"].tp, rows["2"].fp, rows["2"].fn) == (0, 0, 1)
    assert (rows["1"].tp, rows["3"].fp) == (2, 1)
    assert any("inst_detmap_2.fits: missing; scored as an empty map" in w for w in report.warnings)
    # 2 TP of 3 injections, 1 FP: recall 2/3, precision 2/3, F1 2/3.
    assert report.scores["Recall_3d"] == pytest.approx(2 / 3)
    assert report.scores["Precision_3d"] == pytest.approx(2 / 3)
    assert report.scores["F1_3d"] == pytest.approx(2 / 3)
    assert report.scores["FalsePositives_3d"] == 1.0


def test_a_submission_without_any_map_is_refused(tmp_path, reference):
    folder = make_submission(tmp_path / "sub", maps={})
    (folder / "inside.zip").write_bytes(b"PK")
    _refused("no detection map of this phase found .*'inside.zip': zip the FITS files themselves", read_submission,
             folder, reference)


def test_unknown_files_and_datasets_are_ignored_with_a_warning(tmp_path, reference):
    maps = {k: np.zeros(SHAPE) for k in ("1", "2", "9")}
    folder = make_submission(tmp_path / "sub", maps=maps)
    (folder / "INST_DETMAP_3.fits").write_bytes(fits_bytes(np.zeros(SHAPE)))
    (folder / "README.txt").write_text("hello")
    sub = read_submission(folder, reference)
    assert any("inst_detmap_9.fits: no dataset inst 9 in this phase; ignored" in w for w in sub.warnings)
    assert any("'README.txt'" in w and "did you mean 'inst_detmap_3.fits'" in w for w in sub.warnings)
    assert sub.missing == (("inst", "3"),)


def test_reference_positions_accept_the_empty_shapes_of_real_files(tmp_path):
    folder = make_reference(tmp_path / "ref", positions={"1": [(20.0, 40.0)]})
    write_fits(folder / "inst_positions_2.fits", np.zeros((0,)))
    write_fits(folder / "inst_fwhm_2.fits", np.array([4.0]))
    fits.PrimaryHDU().writeto(folder / "inst_positions_3.fits")  # NAXIS = 0
    fits.PrimaryHDU(header=fits.Header([("FWHM", 4.5)])).writeto(folder / "inst_fwhm_3.fits")
    write_fits(folder / "inst_positions_4.fits", np.array([12.0, 30.0]))  # one (x, y) pair as shape (2,)
    write_fits(folder / "inst_fwhm_4.fits", np.array([4.0]))
    ref = read_reference(folder)
    assert [d.positions.shape for d in ref.datasets] == [(1, 2), (0, 2), (0, 2), (1, 2)]
    assert ref.datasets[2].fwhm == 4.5 and ref.suffix == "3d"


def test_odd_names_in_a_zip_are_ignored_with_a_warning(tmp_path, reference):
    entries = {**_good_entries(), "detection_threshold (1).fits": fits_bytes([9.0]), "résumé.txt": b"x"}
    work = tmp_path / "work"
    work.mkdir()
    sub = read_submission(open_submission(_zip(tmp_path / "s.zip", entries), work), reference)
    assert sub.threshold == 5.0
    assert any("'detection_threshold (1).fits'" in w and "'résumé.txt'" in w for w in sub.warnings)
    dest = tmp_path / "dest"
    dest.mkdir()
    _refused("longer than 200 bytes", extract_zip, _zip(tmp_path / "l.zip", {"x" * 240 + ".fits": b"x"}), dest)
