"""Small synthetic datasets for the I/O tests of exobench.data."""

import numpy as np
import pytest

from exobench.data import Dataset


def gaussian_psf(size=11, sigma=1.5):
    """An odd, centred, not normalised Gaussian PSF."""
    y, x = np.mgrid[:size, :size]
    centre = size // 2
    return 50.0 * np.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * sigma**2))


@pytest.fixture
def dataset_3d():
    """(12, 21, 21) float32 ADI cube with a Gaussian PSF and metadata."""
    rng = np.random.default_rng(0)
    return Dataset(
        rng.normal(size=(12, 21, 21)).astype(np.float32),
        np.linspace(-10.0, 50.0, 12),
        psf=gaussian_psf(),
        pxscale=0.02719,
        instrument="naco",
        dataset_id=1,
        meta={"target": "synthetic", "seed": 0, "a longer key": [1, 2]},
    )


@pytest.fixture
def dataset_4d():
    """(3, 8, 21, 21) float64 ADI+mSDI cube with per-channel PSFs and wavelengths."""
    rng = np.random.default_rng(1)
    psf = np.stack([gaussian_psf(sigma=s) for s in (1.2, 1.4, 1.6)])
    return Dataset(
        rng.normal(size=(3, 8, 21, 21)),
        np.linspace(0.0, 30.0, 8),
        psf=psf,
        pxscale=0.00746,
        wavelengths=[1.0, 1.1, 1.2],
        instrument="ifs",
        dataset_id="2",
    )


def _assert_same_dataset(actual, expected):
    assert actual.cube.dtype == expected.cube.dtype
    for field in ("cube", "angles", "psf", "wavelengths", "fwhm", "star_flux"):
        a, b = getattr(actual, field), getattr(expected, field)
        assert (a is None) == (b is None), field
        if a is not None:
            assert np.array_equal(a, b), field
    assert actual.pxscale == expected.pxscale
    assert (actual.instrument, actual.dataset_id) == (expected.instrument, expected.dataset_id)
    assert actual.meta == expected.meta


@pytest.fixture
def assert_same_dataset():
    """Assert that two datasets hold identical arrays and metadata."""
    return _assert_same_dataset
