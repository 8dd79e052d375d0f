"""Several datasets in one HDF5 file: round trip, listing, selection, errors, atomicity."""

import os
import re
import time

import h5py
import numpy as np
import pytest

import exobench
from exobench import ExobenchWarning
from exobench.data import list_datasets, load_attrs, load_datasets, save_datasets
from exobench.data import hdf5_io


def _file(path):
    return re.escape(repr(str(path)))


@pytest.fixture
def saved(tmp_path, dataset_3d, dataset_4d):
    path = tmp_path / "sets.h5"
    save_datasets(path, [dataset_3d, dataset_4d], attrs={"origin": "tests", "seeds": np.array([0, 1])})
    return path


def test_round_trip(saved, dataset_3d, dataset_4d, assert_same_dataset):
    loaded = load_datasets(saved)
    assert list(loaded) == ["naco_1", "ifs_2"]
    assert_same_dataset(loaded["naco_1"], dataset_3d)
    assert_same_dataset(loaded["ifs_2"], dataset_4d)


def test_star_flux_and_meta_round_trip(tmp_path, dataset_3d, dataset_4d, assert_same_dataset):
    datasets = [dataset_3d.replace(star_flux=42.0, meta={"nested": {"a": [1, 2]}, "n": np.int64(3)}),
                dataset_4d.replace(star_flux=[1.0, 2.0, 3.0], psf=None, fwhm=[3.0, 3.2, 3.4])]
    save_datasets(tmp_path / "s.h5", datasets)
    loaded = load_datasets(tmp_path / "s.h5")
    assert loaded["naco_1"].meta == {"nested": {"a": [1, 2]}, "n": 3}
    assert_same_dataset(loaded["ifs_2"], datasets[1])
    assert loaded["naco_1"].star_flux == 42.0


def test_file_layout(saved):
    with h5py.File(saved, "r") as h5:
        assert h5.attrs["format"] == hdf5_io.FORMAT
        assert h5.attrs["exobench_version"] == exobench.__version__
        cube = h5["naco_1/cube"]
        assert cube.compression == "gzip" and cube.shuffle and cube.chunks == (1, 21, 21)
        assert h5["ifs_2/cube"].chunks == (1, 1, 21, 21)
        assert h5["naco_1"].attrs["instrument"] == "naco" and h5["naco_1"].attrs["pxscale"] == 0.02719
        assert "star_flux" not in h5["naco_1"]  # the PSF's default is not stored


def test_same_inputs_same_bytes(tmp_path, dataset_3d, dataset_4d):
    save_datasets(tmp_path / "a.h5", [dataset_3d, dataset_4d])
    time.sleep(1.1)  # HDF5 stamps object headers to the second unless told not to
    save_datasets(tmp_path / "b.h5", [dataset_3d, dataset_4d])
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_list_and_attrs(saved):
    assert list_datasets(saved) == ["naco_1", "ifs_2"]
    attrs = load_attrs(saved)
    assert attrs["origin"] == "tests" and np.array_equal(attrs["seeds"], [0, 1])
    assert set(attrs) == {"origin", "seeds"}


@pytest.mark.parametrize("names, expected", [("ifs_2", ["ifs_2"]), (["ifs_2", "naco_1"], ["ifs_2", "naco_1"])])
def test_load_some_names(saved, names, expected):
    assert list(load_datasets(saved, names=names)) == expected


def test_unknown_name(saved):
    with pytest.raises(ValueError, match=f"names: unknown dataset\\(s\\) 'gpi_1' in {_file(saved)}; "
                                         f"it holds 'naco_1', 'ifs_2'"):
        load_datasets(saved, names=["naco_1", "gpi_1"])


def test_single_dataset_accepted(tmp_path, dataset_3d):
    assert save_datasets(tmp_path / "s.h5", dataset_3d) == ["naco_1"]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"path: {_file(tmp_path / 'no.h5')} not found"):
        load_datasets(tmp_path / "no.h5")


@pytest.mark.parametrize("content", [os.urandom(3000), b""], ids=["random-bytes", "empty"])
def test_not_an_hdf5_file(tmp_path, content):
    path = tmp_path / "x.h5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"path: {_file(path)} is not an HDF5 file"):
        list_datasets(path)


def test_foreign_hdf5_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = np.ones(3)
    with pytest.raises(ValueError, match=f"path: {_file(path)} is an HDF5 file but not one written by save_datasets"):
        load_datasets(path)


def test_broken_group_names_dataset_and_file(saved):
    with h5py.File(saved, "r+") as h5:
        del h5["naco_1/angles"]
        h5["naco_1/angles"] = np.ones(5)
    with pytest.raises(ValueError, match=f"angles: expected 12 angles.*\\(dataset 'naco_1' of {_file(saved)}\\)"):
        load_datasets(saved, names="naco_1")


def test_overwrite_refused(saved, dataset_3d):
    before = saved.read_bytes()
    with pytest.raises(FileExistsError, match=f"{_file(saved)}: already exists; pass overwrite=True"):
        save_datasets(saved, [dataset_3d])
    assert saved.read_bytes() == before
    save_datasets(saved, [dataset_3d], overwrite=True)
    assert list_datasets(saved) == ["naco_1"]


def test_duplicate_names(tmp_path, dataset_3d):
    with pytest.raises(ValueError, match="datasets: two datasets are named 'naco_1'"):
        save_datasets(tmp_path / "s.h5", [dataset_3d, dataset_3d])


def test_no_datasets(tmp_path):
    with pytest.raises(ValueError, match="datasets: expected at least one Dataset, got none"):
        save_datasets(tmp_path / "s.h5", [])


def test_not_datasets(tmp_path, dataset_3d):
    with pytest.raises(TypeError, match="datasets: expected Dataset objects, got ndarray at index 1"):
        save_datasets(tmp_path / "s.h5", [dataset_3d, np.zeros(3)])


def test_reserved_attr(tmp_path, dataset_3d):
    with pytest.raises(ValueError, match="attrs: expected string keys other than format.*got 'format'"):
        save_datasets(tmp_path / "s.h5", dataset_3d, attrs={"format": "mine"})


def test_unsupported_attr_leaves_no_file(tmp_path, dataset_3d):
    with pytest.raises(TypeError, match="attrs\\['config'\\]: expected a number, a string or an array of them, got dict"):
        save_datasets(tmp_path / "s.h5", dataset_3d, attrs={"config": {"a": 1}})
    assert list(tmp_path.iterdir()) == []


def test_meta_not_serialisable_warns(tmp_path, dataset_3d):
    with pytest.warns(ExobenchWarning, match="meta: entries 'handle' are not JSON-serialisable"):
        save_datasets(tmp_path / "s.h5", dataset_3d.replace(meta={"handle": object(), "k": 1}))
    assert load_datasets(tmp_path / "s.h5")["naco_1"].meta == {"k": 1}


def test_failed_write_leaves_no_file(tmp_path, dataset_3d, dataset_4d, monkeypatch):
    original = hdf5_io._write_group

    def failing(group, dataset):
        if dataset.is_4d:
            raise OSError("disk full (simulated)")
        original(group, dataset)

    monkeypatch.setattr(hdf5_io, "_write_group", failing)
    with pytest.raises(OSError, match="disk full"):
        save_datasets(tmp_path / "s.h5", [dataset_3d, dataset_4d])
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file
