"""Exact aperture photometry: the compiled kernel against photutils and analytic areas."""

import numpy as np
import pytest

from exobench.photometry import aperture_flux, aperture_sums


@pytest.mark.parametrize("radius", [0.3, 0.5, 1.0, 2.4, 3.0, 4.75])
def test_aperture_sums_match_photutils_exact(radius, rng):
    image = rng.normal(size=(40, 40))
    positions = rng.uniform(radius + 0.1, 39 - radius - 0.1, size=(500, 2))
    np.testing.assert_allclose(
        aperture_sums(image, positions, radius=radius), aperture_flux(image, positions, radius=radius),
        rtol=0, atol=1e-10,
    )


def test_aperture_area_is_exact_on_a_flat_image():
    ones = np.ones((30, 30))
    for radius in (0.5, 1.7, 3.2):
        for x, y in [(15.0, 15.0), (15.5, 15.5), (14.3, 16.9)]:
            assert aperture_sums(ones, [(x, y)], radius=radius)[0] == pytest.approx(np.pi * radius**2, rel=1e-12)


def test_nan_pixels_propagate():
    image = np.ones((20, 20))
    image[10, 10] = np.nan
    assert np.isnan(aperture_sums(image, [(10.0, 10.0)], radius=2.0)[0])
    assert np.isfinite(aperture_sums(image, [(4.0, 4.0)], radius=2.0)[0])


def test_photometry_errors():
    with pytest.raises(ValueError, match="radius: expected a value > 0"):
        aperture_flux(np.ones((5, 5)), [(2, 2)], radius=0)
    with pytest.raises(ValueError, match="image: expected a 2D array"):
        aperture_sums(np.ones(5), [(2, 2)], radius=1)
    with pytest.raises(ValueError, match="reach outside the image"):
        aperture_sums(np.ones((5, 5)), [(0.5, 2)], radius=1.5)
