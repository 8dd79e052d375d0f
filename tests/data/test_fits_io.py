"""FITS I/O in the EIDC layout: round trips, real-world quirks, malformed files, atomicity."""

import os
import re

import numpy as np
import pytest
from astropy.io import fits

from exobench import ExobenchWarning
from exobench.data import (
    find_datasets,
    load_dataset,
    read_dataset,
    read_fits_array,
    read_scalar,
    write_dataset,
)


def _write(path, data=None, header=None):
    fits.PrimaryHDU(data=data, header=header).writeto(path, overwrite=True)
    return path


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def _file(path):
    """A regex matching the quoted file name as error messages write it."""
    return re.escape(repr(str(path)))


# -- round trips ------------------------------------------------------------------------


def test_round_trip_3d(tmp_path, dataset_3d, assert_same_dataset):
    paths = write_dataset(dataset_3d, tmp_path)
    assert [p.name for p in paths] == [
        "naco_cube_1.fits", "naco_pa_1.fits", "naco_psf_1.fits", "naco_pxscale_1.fits", "naco_fwhm_1.fits"
    ]
    assert _names(tmp_path) == sorted(p.name for p in paths)
    assert_same_dataset(read_dataset(tmp_path, "naco", 1), dataset_3d)


def test_round_trip_4d(tmp_path, dataset_4d, assert_same_dataset):
    paths = write_dataset(dataset_4d, tmp_path)
    assert "ifs_wls_2.fits" in [p.name for p in paths]
    assert fits.getdata(tmp_path / "ifs_fwhm_2.fits").shape == (3,)
    assert fits.getdata(tmp_path / "ifs_psf_2.fits").shape == (3, 11, 11)
    assert_same_dataset(read_dataset(tmp_path, "ifs", "2"), dataset_4d)


def test_writer_file_shapes_and_types(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    assert fits.getdata(tmp_path / "naco_cube_1.fits").dtype.name == "float32"
    assert fits.getdata(tmp_path / "naco_pa_1.fits").shape == (12,)
    assert fits.getdata(tmp_path / "naco_pxscale_1.fits").shape == (1,)
    assert fits.getdata(tmp_path / "naco_fwhm_1.fits").shape == (1,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cube_dtype_is_kept(tmp_path, dataset_3d, dtype, assert_same_dataset):
    dataset = dataset_3d.replace(cube=dataset_3d.cube.astype(dtype))
    write_dataset(dataset, tmp_path)
    assert_same_dataset(read_dataset(tmp_path, "naco", 1), dataset)


def test_meta_in_cube_header(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    header = fits.getheader(tmp_path / "naco_cube_1.fits")
    assert header["TARGET"] == "synthetic"
    assert header["SEED"] == 0
    assert "EXBMETA" in header


def test_meta_not_serialisable_warns_and_is_dropped(tmp_path, dataset_3d):
    dataset = dataset_3d.replace(meta={"target": "x", "handle": object()})
    with pytest.warns(ExobenchWarning, match="meta: entries 'handle' are not JSON-serialisable"):
        write_dataset(dataset, tmp_path)
    assert read_dataset(tmp_path, "naco", 1).meta == {"target": "x"}


def test_corrupt_meta_card_warns(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    with fits.open(tmp_path / "naco_cube_1.fits", mode="update") as hdul:
        hdul[0].header["EXBMETA"] = "{not json"
    with pytest.warns(ExobenchWarning, match="header card EXBMETA is not valid JSON metadata"):
        assert read_dataset(tmp_path, "naco", 1).meta == {}


@pytest.mark.parametrize("flux", [1234.5, None])
def test_star_flux_round_trip_3d(tmp_path, dataset_3d, flux, assert_same_dataset):
    dataset = dataset_3d.replace(star_flux=flux)
    paths = write_dataset(dataset, tmp_path)
    assert ((tmp_path / "naco_starflux_1.fits") in paths) == (flux is not None)
    with fits.open(tmp_path / "naco_cube_1.fits") as hdul:
        assert "STARFLUX" not in hdul
    read = read_dataset(tmp_path, "naco", 1)
    assert_same_dataset(read, dataset)
    assert read.is_given("star_flux") == (flux is not None)


def test_star_flux_file_of_another_writer_is_read(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    fits.writeto(tmp_path / "naco_starflux_1.fits", np.array([2.5e5]))
    read = read_dataset(tmp_path, "naco", 1)
    assert read.star_flux == 2.5e5 and read.is_given("star_flux")


def test_star_flux_of_the_legacy_cube_extension_is_read(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    with fits.open(tmp_path / "naco_cube_1.fits", mode="update") as hdul:
        hdul.append(fits.ImageHDU(np.array([777.0]), name="STARFLUX"))
    assert read_dataset(tmp_path, "naco", 1).star_flux == 777.0


def test_stale_star_flux_file_is_removed_on_overwrite(tmp_path, dataset_3d):
    write_dataset(dataset_3d.replace(star_flux=10.0), tmp_path)
    write_dataset(dataset_3d, tmp_path, overwrite=True)
    assert not (tmp_path / "naco_starflux_1.fits").exists()
    assert not read_dataset(tmp_path, "naco", 1).is_given("star_flux")


def test_bad_star_flux_file_is_named(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    fits.writeto(tmp_path / "naco_starflux_1.fits", np.array([-1.0]))
    with pytest.raises(ValueError, match=r"star_flux: .*naco_starflux_1\.fits"):
        read_dataset(tmp_path, "naco", 1)


def test_star_flux_round_trip_4d(tmp_path, dataset_4d, assert_same_dataset):
    dataset = dataset_4d.replace(star_flux=[10.0, 20.0, 30.0])
    write_dataset(dataset, tmp_path)
    assert_same_dataset(read_dataset(tmp_path, "ifs", 2), dataset)


def test_dataset_without_psf(tmp_path, dataset_3d, assert_same_dataset):
    dataset = dataset_3d.replace(psf=None, fwhm=4.5, star_flux=100.0)
    paths = write_dataset(dataset, tmp_path)
    assert "naco_psf_1.fits" not in [p.name for p in paths]
    assert_same_dataset(read_dataset(tmp_path, "naco", 1), dataset)


def test_fwhm_fitted_when_its_file_is_missing(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    (tmp_path / "naco_fwhm_1.fits").unlink()
    assert read_dataset(tmp_path, "naco", 1).fwhm == pytest.approx(dataset_3d.fwhm, rel=1e-9)


# -- real-world quirks ------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["plsc"])
def test_pxscale_alias(tmp_path, dataset_3d, alias):
    write_dataset(dataset_3d, tmp_path)
    (tmp_path / "naco_pxscale_1.fits").rename(tmp_path / f"naco_{alias}_1.fits")
    assert read_dataset(tmp_path, "naco", 1).pxscale == dataset_3d.pxscale


@pytest.mark.parametrize("alias", ["wl", "wvs"])
def test_wavelength_aliases(tmp_path, dataset_4d, alias):
    write_dataset(dataset_4d, tmp_path)
    (tmp_path / "ifs_wls_2.fits").rename(tmp_path / f"ifs_{alias}_2.fits")
    assert np.array_equal(read_dataset(tmp_path, "ifs", 2).wavelengths, dataset_4d.wavelengths)


@pytest.mark.parametrize("shape", [(12, 1), (1, 12)])
def test_angles_as_2d_array(tmp_path, dataset_3d, shape):
    write_dataset(dataset_3d, tmp_path)
    _write(tmp_path / "naco_pa_1.fits", dataset_3d.angles.reshape(shape))
    assert np.array_equal(read_dataset(tmp_path, "naco", 1).angles, dataset_3d.angles)


@pytest.mark.parametrize("card", ["PIXSCALE", "PXSCALE", "PLATESCL", "PLSC", "VALUE"])
def test_scalar_file_with_naxis0_and_header_card(tmp_path, dataset_3d, card):
    write_dataset(dataset_3d, tmp_path)
    path = _write(tmp_path / "naco_pxscale_1.fits", header=fits.Header([(card, 0.00746)]))
    assert fits.getheader(path)["NAXIS"] == 0
    assert read_dataset(tmp_path, "naco", 1).pxscale == 0.00746


@pytest.mark.parametrize("unit, cd, expected", [(None, 0.02719 / 3600, 0.02719), ("mas", 7.46, 0.00746)])
def test_pixel_scale_from_wcs_card(tmp_path, unit, cd, expected):
    header = fits.Header([("CD1_1", cd), ("CD2_1", 0.0)] + ([("CUNIT1", unit)] if unit else []))
    path = _write(tmp_path / "scale.fits", header=header)
    assert read_scalar(path, name="pxscale") == pytest.approx(expected, rel=1e-12)


def test_fwhm_scalar_file_with_naxis0(tmp_path):
    path = _write(tmp_path / "fwhm.fits", header=fits.Header([("FWHM", 4.8)]))
    assert read_scalar(path, name="fwhm") == 4.8


def test_scalar_in_first_extension_when_primary_is_empty(tmp_path):
    path = tmp_path / "pxscale.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.array([[0.0125]]))]).writeto(path)
    assert read_scalar(path, name="pxscale") == 0.0125
    assert read_fits_array(path, name="pxscale").shape == (1, 1)


@pytest.mark.parametrize("value", [np.array([0.5]), np.array([[0.5]]), np.array([[[0.5]]])])
def test_scalar_shapes(tmp_path, value):
    assert read_scalar(_write(tmp_path / "s.fits", value), name="fwhm") == 0.5


def test_read_fits_array_gives_native_byte_order(tmp_path):
    path = _write(tmp_path / "a.fits", np.arange(6, dtype=">f4").reshape(2, 3))
    array = read_fits_array(path, name="psf")
    assert array.dtype.isnative and np.array_equal(array, np.arange(6).reshape(2, 3))


def test_find_datasets(tmp_path, dataset_3d):
    for name in ("sphere_irdis_cube_1.fits", "nirc2_cube_10.fits", "nirc2_cube_2.fits", "nirc2_pa_3.fits",
                 "notes.txt", "nirc2_cube_4.fits.bak"):
        (tmp_path / name).write_bytes(b"")
    write_dataset(dataset_3d, tmp_path)
    assert find_datasets(tmp_path) == [("naco", "1"), ("nirc2", "2"), ("nirc2", "10"), ("sphere_irdis", "1")]


def test_find_datasets_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"folder: {_file(tmp_path / 'nope')}.* does not exist"):
        find_datasets(tmp_path / "nope")


def test_load_dataset_arbitrary_names(tmp_path, dataset_3d, assert_same_dataset):
    cube = _write(tmp_path / "my cube.fits", dataset_3d.cube)
    angles = _write(tmp_path / "angles.fits", dataset_3d.angles[:, None])
    psf = _write(tmp_path / "star.fits", dataset_3d.psf)
    scale = _write(tmp_path / "scale.fits", header=fits.Header([("PIXSCALE", dataset_3d.pxscale)]))
    loaded = load_dataset(cube, str(angles), psf=psf, pxscale=scale, instrument="naco", dataset_id=1,
                          meta=dataset_3d.meta)
    assert_same_dataset(loaded, dataset_3d)


def test_load_dataset_mixes_files_and_values(tmp_path, dataset_4d):
    cube = _write(tmp_path / "cube.fits", dataset_4d.cube)
    fwhm = _write(tmp_path / "fwhm.fits", np.array([3.0, 3.5, 4.0]))
    loaded = load_dataset(cube, dataset_4d.angles, fwhm=fwhm, wavelengths=[1.0, 1.1, 1.2], pxscale=0.00746)
    assert np.array_equal(loaded.fwhm, [3.0, 3.5, 4.0])
    assert loaded.psf is None and loaded.pxscale == 0.00746


# -- real data --------------------------------------------------------------------------


def test_real_naco_dataset(real_data_dir, tmp_path, assert_same_dataset):
    dataset = load_dataset(
        real_data_dir / "naco_betapic_empty_cube.fits",
        real_data_dir / "naco_betapic_empty_pa.fits",
        psf=real_data_dir / "naco_betapic_psf.fits",
        pxscale=0.02719,
        instrument="naco",
        dataset_id="betapic",
    )
    assert dataset.cube.shape == (61, 99, 99) and dataset.cube.dtype == np.float32
    assert dataset.center == (49.0, 49.0)
    assert dataset.angles.min() == pytest.approx(-14.27, abs=0.01)
    assert dataset.angles.max() == pytest.approx(67.48, abs=0.01)
    assert dataset.psf.shape == (39, 39)
    assert dataset.fwhm == pytest.approx(4.8, abs=0.2)
    write_dataset(dataset, tmp_path)
    assert_same_dataset(read_dataset(tmp_path, "naco", "betapic"), dataset)


def test_real_sphere_ifs_files(real_data_dir):
    psf = read_fits_array(real_data_dir / "sphere_ifs_v471tau_psf.fits", name="psf")
    wavelengths = read_fits_array(real_data_dir / "sphere_ifs_v471tau_wl.fits", name="wavelengths")
    angles = read_fits_array(real_data_dir / "sphere_ifs_v471tau_pa.fits", name="angles")
    assert psf.shape == (39, 25, 25) and wavelengths.shape == (39,) and angles.shape == (24,)
    assert wavelengths.min() == pytest.approx(0.958, abs=1e-3)
    assert wavelengths.max() == pytest.approx(1.329, abs=1e-3)


# -- malformed files --------------------------------------------------------------------


def test_missing_cube(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    expected = _file(tmp_path / "naco_cube_2.fits")
    with pytest.raises(FileNotFoundError, match=f"cube file {expected}.*: not found; datasets in this folder: naco 1"):
        read_dataset(tmp_path, "naco", 2)


def test_missing_cube_in_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cube file .*naco_cube_1\.fits.*no \*_cube_\*\.fits file"):
        read_dataset(tmp_path, "naco", 1)


def test_missing_angles(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    (tmp_path / "naco_pa_1.fits").unlink()
    with pytest.raises(FileNotFoundError, match=f"angles file {_file(tmp_path / 'naco_pa_1.fits')}.*: not found"):
        read_dataset(tmp_path, "naco", 1)


def test_missing_psf_and_fwhm(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    (tmp_path / "naco_psf_1.fits").unlink()
    (tmp_path / "naco_fwhm_1.fits").unlink()
    with pytest.raises(FileNotFoundError, match=r"psf file .*naco_psf_1\.fits.*not found, nor naco_fwhm_1\.fits"):
        read_dataset(tmp_path, "naco", 1)


def test_missing_wavelengths_for_4d(tmp_path, dataset_4d):
    write_dataset(dataset_4d, tmp_path)
    (tmp_path / "ifs_wls_2.fits").unlink()
    with pytest.raises(ValueError, match=r"wavelengths: required .*\(no ifs_\{wls,wl,wvs\}_2\.fits file"):
        read_dataset(tmp_path, "ifs", 2)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder: .* does not exist"):
        read_dataset(tmp_path / "absent", "naco", 1)


def test_missing_file_in_load_dataset(tmp_path, dataset_3d):
    cube = _write(tmp_path / "cube.fits", dataset_3d.cube)
    with pytest.raises(FileNotFoundError, match=f"angles file {_file(tmp_path / 'pa.fits')}.*: not found"):
        load_dataset(cube, tmp_path / "pa.fits", fwhm=4.0)


def test_wrong_angle_count_names_the_file(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    path = _write(tmp_path / "naco_pa_1.fits", dataset_3d.angles[:-1])
    with pytest.raises(ValueError, match=f"angles: expected 12 angles .*got 11 \\(read from {_file(path)}"):
        read_dataset(tmp_path, "naco", 1)


def test_wrong_cube_shape_names_the_file(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    path = _write(tmp_path / "naco_cube_1.fits", dataset_3d.cube[0])
    with pytest.raises(ValueError, match=f"cube: expected a 3D or 4D array.*got shape \\(21, 21\\).*{_file(path)}"):
        read_dataset(tmp_path, "naco", 1)


def test_wrong_psf_channels_names_the_file(tmp_path, dataset_4d):
    write_dataset(dataset_4d, tmp_path)
    path = _write(tmp_path / "ifs_psf_2.fits", dataset_4d.psf[:2])
    with pytest.raises(ValueError, match=f"psf: expected 3 channels like the cube, got 2.*{_file(path)}"):
        read_dataset(tmp_path, "ifs", 2)


def test_nan_angles(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    angles = dataset_3d.angles.copy()
    angles[3] = np.nan
    path = _write(tmp_path / "naco_pa_1.fits", angles)
    with pytest.raises(ValueError, match=f"angles: expected finite values, got 1 NaN.*{_file(path)}"):
        read_dataset(tmp_path, "naco", 1)


def test_cube_with_a_frame_of_nan(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    cube = dataset_3d.cube.copy()
    cube[5] = np.nan
    path = _write(tmp_path / "naco_cube_1.fits", cube)
    with pytest.raises(ValueError, match=f"cube: expected no frame made only of NaN.*index \\[\\(5,\\)\\].*{_file(path)}"):
        read_dataset(tmp_path, "naco", 1)


def test_nan_pixel_scale(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    path = _write(tmp_path / "naco_pxscale_1.fits", np.array([np.nan]))
    with pytest.raises(ValueError, match=f"pxscale: expected a finite number.*{_file(path)}"):
        read_dataset(tmp_path, "naco", 1)


@pytest.mark.parametrize("content", [os.urandom(4000), b"hello world\n" * 300], ids=["random-bytes", "text"])
def test_not_a_fits_file(tmp_path, dataset_3d, content):
    write_dataset(dataset_3d, tmp_path)
    path = tmp_path / "naco_pa_1.fits"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"angles file {_file(path)}.*: not a FITS file"):
        read_dataset(tmp_path, "naco", 1)


def test_empty_file(tmp_path):
    path = tmp_path / "cube.fits"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=f"cube file {_file(path)}.*: empty file \\(0 bytes\\)"):
        read_fits_array(path, name="cube")


def test_truncated_file(tmp_path, dataset_3d):
    path = _write(tmp_path / "cube.fits", dataset_3d.cube)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match=f"cube file {_file(path)}.*: corrupt or truncated FITS file"):
        read_fits_array(path, name="cube")


def test_corrupt_header(tmp_path):
    path = tmp_path / "cube.fits"
    path.write_bytes(b"SIMPLE  =                    T" + os.urandom(3000))
    with pytest.raises(ValueError, match=f"cube file {_file(path)}: corrupt or truncated FITS file"):
        read_fits_array(path, name="cube")


def test_gzip_compressed_fits_is_read(tmp_path):
    import gzip

    plain = _write(tmp_path / "pa.fits", np.arange(5.0))
    packed = tmp_path / "pa.fits.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert np.array_equal(read_fits_array(packed, name="angles"), np.arange(5.0))


def test_header_only_file_has_no_data(tmp_path):
    path = _write(tmp_path / "cube.fits", header=fits.Header([("OBJECT", "x")]))
    with pytest.raises(ValueError, match=f"cube file {_file(path)}.*: holds no data"):
        read_fits_array(path, name="cube")


def test_table_is_not_numeric_image_data(tmp_path):
    path = tmp_path / "pa.fits"
    table = fits.BinTableHDU.from_columns([fits.Column(name="pa", format="10A", array=np.array(["a", "b"]))])
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    with pytest.raises(ValueError, match=f"angles file {_file(path)}.*: holds a table, expected an image"):
        read_fits_array(path, name="angles")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"psf file {_file(tmp_path)}.*: expected a FITS file, got a folder"):
        read_fits_array(tmp_path, name="psf")


def test_scalar_file_with_several_values(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    path = _write(tmp_path / "naco_pxscale_1.fits", np.array([0.01, 0.02]))
    with pytest.raises(ValueError, match=f"pxscale file {_file(path)}.*: expected a single value, got .*\\(2,\\)"):
        read_dataset(tmp_path, "naco", 1)


def test_scalar_file_without_value(tmp_path):
    path = _write(tmp_path / "pxscale.fits", header=fits.Header([("OBJECT", "x")]))
    with pytest.raises(ValueError, match=f"pxscale file {_file(path)}.*: holds no data and no header card.*PIXSCALE"):
        read_scalar(path, name="pxscale")


def test_scalar_card_not_a_number(tmp_path):
    path = _write(tmp_path / "pxscale.fits", header=fits.Header([("PIXSCALE", "small")]))
    with pytest.raises(ValueError, match=f"pxscale file {_file(path)}.*: expected a number in header card PIXSCALE"):
        read_scalar(path, name="pxscale")


# -- overwriting and atomicity ----------------------------------------------------------


def test_overwrite_refused(tmp_path, dataset_3d):
    write_dataset(dataset_3d, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FileExistsError, match=r"naco_cube_1\.fits.*already exists.*pass overwrite=True"):
        write_dataset(dataset_3d.replace(angles=dataset_3d.angles + 1), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_overwrite_refused_for_a_stray_alias_file(tmp_path, dataset_3d):
    path = _write(tmp_path / "naco_plsc_1.fits", np.array([0.01]))
    with pytest.raises(FileExistsError, match=f"{_file(path)}.*already exists"):
        write_dataset(dataset_3d, tmp_path)


def test_overwrite_replaces_and_removes_stale_files(tmp_path, dataset_3d, assert_same_dataset):
    write_dataset(dataset_3d, tmp_path)
    _write(tmp_path / "naco_plsc_1.fits", np.array([0.5]))
    replacement = dataset_3d.replace(psf=None, fwhm=4.0, star_flux=10.0, angles=dataset_3d.angles + 1)
    write_dataset(replacement, tmp_path, overwrite=True)
    assert "naco_psf_1.fits" not in _names(tmp_path) and "naco_plsc_1.fits" not in _names(tmp_path)
    assert_same_dataset(read_dataset(tmp_path, "naco", 1), replacement)


def test_write_dataset_rejects_other_objects(tmp_path):
    with pytest.raises(TypeError, match="dataset: expected a Dataset, got dict"):
        write_dataset({"cube": np.zeros((2, 5, 5))}, tmp_path)


def test_write_into_a_file_path(tmp_path, dataset_3d):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(NotADirectoryError, match=f"folder: expected a folder, got the file {_file(path)}"):
        write_dataset(dataset_3d, path)


def _failing_writeto(after):
    """A stand-in for HDUList.writeto that writes part of a file, then fails on call ``after``."""
    calls = []
    original = fits.HDUList.writeto

    def writeto(self, fileobj, *args, **kwargs):
        calls.append(fileobj)
        if len(calls) >= after:
            with open(fileobj, "wb") as fh:
                fh.write(b"SIMPLE  =                    T" + b" " * 50)  # a half-written file
            raise OSError("disk full (simulated)")
        return original(self, fileobj, *args, **kwargs)

    return writeto


def test_failed_write_leaves_no_file(tmp_path, dataset_3d, monkeypatch):
    monkeypatch.setattr(fits.HDUList, "writeto", _failing_writeto(after=3))
    with pytest.raises(OSError, match="disk full"):
        write_dataset(dataset_3d, tmp_path / "out")
    assert _names(tmp_path / "out") == []  # no partial file, no temporary file


def test_failed_overwrite_keeps_old_files(tmp_path, dataset_3d, monkeypatch, assert_same_dataset):
    write_dataset(dataset_3d, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(fits.HDUList, "writeto", _failing_writeto(after=4))
    with pytest.raises(OSError, match="disk full"):
        write_dataset(dataset_3d.replace(angles=dataset_3d.angles + 1), tmp_path, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    monkeypatch.undo()
    assert_same_dataset(read_dataset(tmp_path, "naco", 1), dataset_3d)

