"""The simulated NACO against the real NACO cube of ../shared/data/real."""

import numpy as np
import pytest

from exobench.simulate import simulate
from exobench.simulate.realism import pca_noise_gain, raw_contrast_profile, star_peak

#: The real star's flux in a 1-FWHM aperture, in cube units: a companion of 150
#: (normalised-PSF units) is a contrast of about 2e-4 for this star;
#: the VIP tutorials, which use this cube, give 764939.6.
NACO_STAR_FLUX = 764939.6


@pytest.fixture(scope="module")
def simulated_naco():
    return simulate("naco", seed=0).dataset


@pytest.fixture
def real_naco(naco):
    return naco.replace(star_flux=NACO_STAR_FLUX)


def test_star_peak_of_a_simulated_dataset_is_its_psf_peak(simulated_naco):
    assert star_peak(simulated_naco) == pytest.approx(float(simulated_naco.psf.max()), rel=1e-6)


def test_simulated_naco_has_the_real_cube_shape_and_rotation(simulated_naco, real_naco):
    assert simulated_naco.cube.shape == real_naco.cube.shape
    rotation = np.ptp(simulated_naco.angles)
    assert rotation == pytest.approx(np.ptp(real_naco.angles), abs=5)


def test_raw_contrast_within_a_factor_3_of_the_real_cube(simulated_naco, real_naco):
    lod = 3.8e-6 / 8.1196 * 206264.806 / 0.02719
    radii = np.arange(2, 11) * lod
    ratio = raw_contrast_profile(simulated_naco, radii) / raw_contrast_profile(real_naco, radii)
    assert np.all((ratio > 1 / 3) & (ratio < 3)), np.round(ratio, 2)


def test_pca_removes_a_similar_fraction_of_the_noise(simulated_naco, real_naco):
    lod = 3.8e-6 / 8.1196 * 206264.806 / 0.02719
    simulated = pca_noise_gain(simulated_naco, 5 * lod)
    real = pca_noise_gain(real_naco, 5 * lod)
    assert real / 2 < simulated < real * 2, (simulated, real)
    assert simulated > 2  # the speckles are mostly quasi-static, as in real data
