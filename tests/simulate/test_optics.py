import numpy as np
import pytest

from exobench.psf import fit_fwhm
from exobench.simulate import load_profile
from exobench.simulate.optics import ARCSEC, OpticalSystem


def _profile(name, **changes):
    return load_profile(name).updated(changes)


@pytest.mark.parametrize("size", [41, 40])
def test_the_star_lands_on_the_centre_pixel(size):
    optics = OpticalSystem(_profile("lmircam"), frame_size=size)
    image = optics.images(np.zeros((1,) + optics.pupil_shape), 3.7e-6, coronagraph=False)[0]
    assert np.unravel_index(np.argmax(image), image.shape) == (size // 2, size // 2)
    # symmetric about the centre pixel (an obstructed disk, no spider)
    c = size // 2
    np.testing.assert_allclose(image[c, c + 1:c + 8], image[c, c - 1:c - 8:-1], rtol=1e-6)


def test_light_is_conserved_without_a_lyot_stop():
    profile = _profile("lmircam", **{"telescope.central_obstruction": 0.0})
    optics = OpticalSystem(profile, frame_size=301)
    image = optics.images(np.zeros((1,) + optics.pupil_shape), 3.7e-6, coronagraph=False)[0]
    # an Airy pattern holds 99% of its light within 65 lambda/D... the frame reaches 17 lambda/D
    assert 0.985 < image.sum() < 1.0


@pytest.mark.parametrize("axis, expected", [("x", (30, 35)), ("y", (35, 30))])
def test_a_wavefront_tilt_moves_the_star_along_its_axis(axis, expected):
    """An optical path ``theta * x`` (m) tilts the wavefront by ``theta`` rad and
    moves the star by ``theta / pixel scale`` pixels towards +x (array columns);
    the same along y (array rows): pupil and detector axes are the frame's."""
    optics = OpticalSystem(_profile("lmircam"), frame_size=61)
    angle = 5 * optics.profile.pixel_scale_arcsec * ARCSEC
    coordinate = np.asarray(getattr(optics.pupil_grid, axis)).reshape(optics.pupil_shape)
    image = optics.images(angle * coordinate[None], 3.7e-6, coronagraph=False)[0]
    assert np.unravel_index(np.argmax(image), image.shape) == expected


@pytest.mark.parametrize("name", ["naco", "nirc2", "sphere_irdis", "gpi"])
def test_coronagraphs_reject_the_on_axis_star(name):
    optics = OpticalSystem(_profile(name, **{"coronagraph.leakage": 0.0}), frame_size=64)
    flat = np.zeros((1,) + optics.pupil_shape)
    wavelength = optics.profile.wavelengths_um[0] * 1e-6
    direct = optics.images(flat, wavelength, coronagraph=False)[0]
    masked = optics.images(flat, wavelength, coronagraph=True)[0]
    # a peak rejection of at least 50 (the Keck pupil's segments and gaps leak most, about 1/90)
    assert masked.max() < 0.02 * direct.max()


def test_leakage_adds_the_unmasked_image():
    profile = _profile("naco", **{"coronagraph.leakage": 0.0})
    flat = None
    images = {}
    for leak in (0.0, 0.1):
        optics = OpticalSystem(profile.updated({"coronagraph.leakage": leak}), frame_size=33)
        flat = np.zeros((1,) + optics.pupil_shape)
        images[leak] = optics.images(flat, 3.8e-6)[0]
    direct = optics.images(flat, 3.8e-6, coronagraph=False)[0]
    np.testing.assert_allclose(images[0.1], 0.9 * images[0.0] + 0.1 * direct, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name, stop", [("lmircam", 1.0), ("naco", 0.90), ("sphere_irdis", 0.96)])
def test_offaxis_psf_fwhm_is_lambda_over_d(name, stop):
    """The unaberrated off-axis PSF's FWHM matches lambda/D within 10 % (D the
    Lyot stop's diameter when there is one: it sets the companion's PSF)."""
    profile = _profile(name)
    optics = OpticalSystem(profile, frame_size=65)
    wavelength = profile.wavelength.center_um
    image = optics.images(np.zeros((1,) + optics.pupil_shape), wavelength * 1e-6, coronagraph=False)[0]
    expected = profile.lambda_over_d_px(wavelength) / stop
    assert fit_fwhm(image) == pytest.approx(expected, rel=0.10)
