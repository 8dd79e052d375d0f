"""The dataset model: construction, derived facts and every validation error."""

import numpy as np
import pytest

from exobench import ExobenchWarning
from exobench.data import Dataset
from exobench.photometry import aperture_flux

from ..helpers import gaussian_psf


def make(**changes):
    fields = dict(cube=np.ones((6, 21, 21), dtype=np.float32), angles=np.linspace(0, 50, 6),
                  psf=gaussian_psf(size=11, fwhm=3.0), pxscale=0.0272, instrument="naco", dataset_id=2)
    fields.update(changes)
    return Dataset(**fields)


def test_adi_dataset_facts():
    ds = make()
    assert (ds.n_frames, ds.n_channels, ds.frame_shape, ds.center) == (6, 1, (21, 21), (10.0, 10.0))
    assert not ds.is_4d and ds.field_rotation == 50.0
    assert ds.fwhm == pytest.approx(3.0, rel=2e-3)  # fitted from the PSF when not given
    assert ds.dataset_id == "2" and ds.cube.dtype == np.float32
    # the star's flux: the PSF's flux in a centred aperture of diameter 1 FWHM
    assert ds.star_flux == pytest.approx(aperture_flux(ds.psf, [(5.0, 5.0)], radius=ds.fwhm / 2)[0], rel=1e-12)
    assert "naco" in repr(ds) and "(6, 21, 21)" in repr(ds)
    summary = ds.summary()
    assert summary["cube_shape"] == (6, 21, 21) and summary["field_rotation_deg"] == 50.0


def test_ifs_dataset_per_channel_facts():
    psf = np.stack([gaussian_psf(size=11, fwhm=f) for f in (2.5, 3.0, 3.5)])
    ds = Dataset(np.ones((3, 5, 21, 21)), np.arange(5.0), psf=psf, wavelengths=[1.0, 1.2, 1.4])
    assert ds.is_4d and ds.n_channels == 3 and ds.n_frames == 5
    np.testing.assert_allclose(ds.fwhm, [2.5, 3.0, 3.5], rtol=2e-3)
    assert ds.star_flux.shape == (3,)
    given = Dataset(np.ones((3, 5, 21, 21)), np.arange(5.0), psf=psf, wavelengths=[1.0, 1.2, 1.4], fwhm=3.0)
    np.testing.assert_array_equal(given.fwhm, [3.0, 3.0, 3.0])


def test_replace_revalidates_and_keeps_the_original():
    ds = make()
    other = ds.replace(angles=-ds.angles)
    np.testing.assert_array_equal(other.angles, -ds.angles)
    assert ds.angles[-1] == 50.0
    with pytest.raises(ValueError, match="angles: expected 6 angles"):
        ds.replace(angles=[1.0, 2.0])


def test_eidc_instrument_names_and_scalar_files():
    ds = make(instrument="sphere_irdis", pxscale=np.array([0.01225]))  # as read from a (1,) FITS file
    assert ds.instrument == "sphere_irdis" and ds.pxscale == 0.01225
    assert make(star_flux=np.array([5.0])).star_flux == 5.0


def test_replace_derives_again_what_came_from_a_changed_psf():
    ds = make()
    assert not ds.is_given("fwhm") and not ds.is_given("star_flux")
    wider = ds.replace(psf=gaussian_psf(size=15, fwhm=5.0))
    assert wider.fwhm == pytest.approx(5.0, rel=2e-3)
    assert wider.star_flux > ds.star_flux
    fixed = make(fwhm=3.3, star_flux=7.0).replace(psf=gaussian_psf(size=15, fwhm=5.0))
    assert (fixed.fwhm, fixed.star_flux) == (3.3, 7.0)  # given values are kept
    assert fixed.is_given("fwhm") and fixed.is_given("star_flux")
    refwhm = ds.replace(fwhm=4.0)
    assert refwhm.star_flux > ds.star_flux  # a wider aperture holds more of the star
    same = ds.replace(cube=ds.cube * 2)
    assert (same.fwhm, same.star_flux) == (ds.fwhm, ds.star_flux)
    assert not same.is_given("fwhm")


def test_4d_star_flux_per_channel():
    psf = np.stack([gaussian_psf(size=11)] * 3)
    ds = Dataset(np.ones((3, 5, 21, 21)), np.arange(5.0), psf=psf, wavelengths=[1.0, 1.1, 1.2],
                 star_flux=2.0)
    np.testing.assert_array_equal(ds.star_flux, [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"star_flux: expected one value or one per channel \(3\), got 2"):
        Dataset(np.ones((3, 5, 21, 21)), np.arange(5.0), psf=psf, wavelengths=[1.0, 1.1, 1.2],
                star_flux=[1.0, 2.0])


def test_angle_files_of_shape_t_by_1_are_accepted():
    assert make(angles=np.linspace(0, 50, 6).reshape(6, 1)).angles.shape == (6,)


def test_big_endian_fits_data_become_native():
    ds = make(cube=np.ones((6, 21, 21), dtype=">f4"))
    assert ds.cube.dtype.isnative


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(cube=np.ones((21, 21))), r"cube: expected a 3D or 4D array \(t, y, x\) or \(lambda, t, y, x\), got shape \(21, 21\)"),
        (dict(angles=np.zeros(5)), "angles: expected 6 angles"),
        (dict(angles=[0, 1, 2, np.nan, 4, 5]), "angles: expected finite values, got 1 NaN"),
        (dict(angles=np.zeros((2, 3))), r"angles: expected a 1D array of derotation angles"),
        (dict(cube=np.where(np.arange(6)[:, None, None] == 3, np.nan, np.ones((6, 21, 21)))),
         r"cube: expected no frame made only of NaN, got 1 such frame\(s\), first at index \[\(3,\)\]"),
        (dict(pxscale=-0.01), "pxscale: expected a value > 0"),
        (dict(fwhm=[3.0, 4.0]), "fwhm: expected one value, got 2"),
        (dict(fwhm=0.0), "fwhm: expected a value > 0"),
        (dict(psf=None), None),
        (dict(psf=np.ones((3, 11, 11))), r"psf: expected a 2D array \(y, x\)"),
        (dict(psf=gaussian_psf(size=11) * np.nan), "psf: expected finite values"),
        (dict(instrument="na/co"), r"instrument: expected letters, digits, '.', '-' or '_' \(it is used in file names\), got 'na/co'"),
        (dict(dataset_id="1_2"), r"dataset_id: expected letters, digits, '.' or '-' \(no '_'\)"),
        (dict(pxscale=[0.01, 0.02]), "pxscale: expected a single value, got 2"),
        (dict(star_flux=[1.0, 2.0]), "star_flux: expected a single value, got 2"),
        (dict(star_flux=-1.0), "star_flux: expected a value > 0"),
        (dict(cube=np.array([["a"]])), "cube: expected an array of numbers"),
    ],
)
def test_validation_errors_name_the_field(changes, message):
    if message is None:  # a dataset without PSF is fine when the FWHM is given ...
        assert make(psf=None, fwhm=3.0).star_flux is None
        with pytest.raises(ValueError, match="psf: a PSF or a fwhm is required, got neither"):
            make(psf=None)  # ... and refused without either
        return
    with pytest.raises((ValueError, TypeError), match=message):
        make(**changes)


def test_4d_validation_errors():
    psf = np.stack([gaussian_psf(size=11)] * 3)
    cube = np.ones((3, 5, 21, 21))
    with pytest.raises(ValueError, match=r"wavelengths: required for a 4D"):
        Dataset(cube, np.arange(5.0), psf=psf)
    with pytest.raises(ValueError, match="wavelengths: expected 3 values"):
        Dataset(cube, np.arange(5.0), psf=psf, wavelengths=[1.0, 1.1])
    with pytest.raises(ValueError, match="psf: expected 3 channels like the cube, got 2"):
        Dataset(cube, np.arange(5.0), psf=psf[:2], wavelengths=[1.0, 1.1, 1.2])
    with pytest.raises(ValueError, match=r"fwhm: expected one value or one per channel \(3\), got 2"):
        Dataset(cube, np.arange(5.0), psf=psf, wavelengths=[1.0, 1.1, 1.2], fwhm=[3.0, 3.0])
    with pytest.raises(ValueError, match="wavelengths: expected a value > 0"):
        Dataset(cube, np.arange(5.0), psf=psf, wavelengths=[1.0, -1.1, 1.2])
    frame_nan = cube.copy()
    frame_nan[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"first at index \[\(1, 2\)\]"):
        Dataset(frame_nan, np.arange(5.0), psf=psf, wavelengths=[1.0, 1.1, 1.2])


def test_even_or_off_centre_psf_is_recentred_with_a_warning_or_refused():
    even = gaussian_psf(size=12, fwhm=3.0, x0=6.0, y0=6.0)
    with pytest.warns(ExobenchWarning, match=r"psf: even-sized \(12, 12\); recentred to an odd 11x11 stamp"):
        ds = make(psf=even)
    assert ds.psf.shape == (11, 11)
    off = gaussian_psf(size=15, fwhm=3.0, x0=7.6, y0=7.0)
    with pytest.warns(ExobenchWarning, match=r"psf: off-centre by 0.60 px; recentred"):
        ds = make(psf=off)
    from exobench.psf import fit_gaussian

    fit = fit_gaussian(ds.psf)
    assert abs(fit.x - ds.psf.shape[1] // 2) < 0.01 and abs(fit.y - ds.psf.shape[0] // 2) < 0.01
    with pytest.raises(ValueError, match=r"psf: even-sized \(12, 12\); expected an odd-sized PSF .* recenter_psf=True"):
        make(psf=even, recenter_psf=False)
    with pytest.raises(ValueError, match="psf: off-centre by 0.60 px"):
        make(psf=off, recenter_psf=False)


def test_real_naco_dataset(naco):
    assert naco.cube.shape == (61, 99, 99) and naco.center == (49.0, 49.0)
    assert naco.field_rotation == pytest.approx(81.75, abs=0.01)
    assert naco.fwhm == pytest.approx(4.8, abs=0.1)
