"""PSF tools: Gaussian fit, normalisation, cropping and recentring."""

import numpy as np
import pytest

from exobench.psf import crop_psf, fit_fwhm, fit_gaussian, normalize_psf, psf_flux, recenter_psf

from ..helpers import gaussian_psf


@pytest.mark.parametrize("fwhm", [2.5, 4.0, 6.3])
def test_fit_recovers_analytic_gaussian(fwhm):
    psf = gaussian_psf(size=31, fwhm=fwhm, x0=15.3, y0=14.6, amplitude=3.0)
    fit = fit_gaussian(psf)
    assert fit.x == pytest.approx(15.3, abs=1e-3)
    assert fit.y == pytest.approx(14.6, abs=1e-3)
    assert fit.fwhm == pytest.approx(fwhm, rel=2e-3)
    assert fit.amplitude == pytest.approx(3.0, rel=1e-3)


def test_fit_fwhm_per_channel():
    cube = np.stack([gaussian_psf(size=21, fwhm=f) for f in (3.0, 4.0, 5.0)])
    np.testing.assert_allclose(fit_fwhm(cube), [3.0, 4.0, 5.0], rtol=2e-3)
    assert isinstance(fit_fwhm(cube[0]), float)


def test_normalisation_gives_unit_flux_in_one_fwhm_aperture():
    psf = gaussian_psf(size=21, fwhm=4.0, amplitude=123.0)
    normalized = normalize_psf(psf, 4.0)
    assert psf_flux(normalized, 4.0) == pytest.approx(1.0, rel=1e-12)
    # a Gaussian holds half its flux within a radius of FWHM / 2 (pixel-integration aside)
    assert psf_flux(psf, 4.0) / psf.sum() == pytest.approx(0.5, abs=0.02)
    cube = np.stack([gaussian_psf(size=21, fwhm=f, amplitude=a) for f, a in ((3.0, 2.0), (5.0, 7.0))])
    np.testing.assert_allclose(psf_flux(normalize_psf(cube), [3.0, 5.0]), [1.0, 1.0], rtol=2e-3)


def test_crop_and_recenter_an_offset_psf():
    psf = gaussian_psf(size=30, fwhm=4.0, x0=16.4, y0=12.7)  # even-sized and off-centre
    stamp = crop_psf(psf, 15)
    assert stamp.shape == (15, 15)
    fit = fit_gaussian(stamp)
    assert fit.x == pytest.approx(7.0, abs=0.01) and fit.y == pytest.approx(7.0, abs=0.01)
    shifted, shifts = recenter_psf(gaussian_psf(size=21, fwhm=4.0, x0=10.3, y0=9.8))
    np.testing.assert_allclose(shifts, [[-0.3, 0.2]], atol=2e-3)
    assert fit_gaussian(shifted).x == pytest.approx(10.0, abs=2e-3)


def test_real_naco_psf(real_data_dir):
    from astropy.io import fits

    psf = fits.getdata(real_data_dir / "naco_betapic_psf.fits")
    assert fit_fwhm(psf) == pytest.approx(4.8, abs=0.1)  # the README's "about 4.8 px"
    fit = fit_gaussian(psf)
    assert abs(fit.x - 19) < 0.1 and abs(fit.y - 19) < 0.1


def test_real_sphere_ifs_psf_fwhm_grows_with_wavelength(real_data_dir):
    from astropy.io import fits

    psf = fits.getdata(real_data_dir / "sphere_ifs_v471tau_psf.fits")
    wavelengths = fits.getdata(real_data_dir / "sphere_ifs_v471tau_wl.fits")
    fwhm = fit_fwhm(psf)
    assert fwhm.shape == (39,)
    slope = np.polyfit(wavelengths, fwhm, 1)[0]
    assert slope > 0  # diffraction: FWHM proportional to lambda
    assert fwhm[-1] / fwhm[0] == pytest.approx(wavelengths[-1] / wavelengths[0], rel=0.15)


def test_psf_errors():
    with pytest.raises(ValueError, match="size: expected an odd number"):
        crop_psf(gaussian_psf(size=21), 10)
    with pytest.raises(ValueError, match="size: expected at most the PSF's side 21"):
        crop_psf(gaussian_psf(size=21), 31)
    with pytest.raises(ValueError, match="frame: expected a PSF with a positive peak"):
        fit_gaussian(-gaussian_psf(size=11))
    with pytest.raises(ValueError, match="psf: expected a 2D or 3D array"):
        fit_fwhm(np.ones(5))
    with pytest.raises(ValueError, match="fwhm: expected a value > 0"):
        normalize_psf(gaussian_psf(size=11), -2.0)
