"""Small datasets and a registered no-op algorithm for the contrast tests."""

import numpy as np
import pytest

from exobench.algorithms import base
from exobench.algorithms.base import Algorithm, Result
from exobench.data import Dataset
from exobench.geometry import derotate_cube

#: The Gaussian PSF's FWHM (px) and sigma.
FWHM = 4.0
SIGMA = FWHM / (2.0 * np.sqrt(2.0 * np.log(2.0)))

#: Registry name of the test's no-op algorithm.
NOOP = "contrast-test-noop"


def gaussian_psf(size=21):
    y, x = np.mgrid[:size, :size] - size // 2
    return np.exp(-(x**2 + y**2) / (2.0 * SIGMA**2))


def noise_dataset(*, frames=4, size=101, angles=None, seed=0, **fields):
    """White Gaussian noise (sigma 1 per pixel) with the known Gaussian PSF and its exact FWHM."""
    rng = np.random.default_rng(seed)
    angles = np.zeros(frames) if angles is None else np.asarray(angles, dtype=float)
    return Dataset(rng.normal(size=(len(angles), size, size)), angles, psf=gaussian_psf(), fwhm=FWHM, **fields)


@pytest.fixture
def noop():
    """A registered algorithm that subtracts nothing: the mean of the cube, derotated with ``derotation``
    (``"none"`` leaves the frames as they are)."""

    class NoOp(Algorithm, name=NOOP):
        def __init__(self, *, derotation="none"):
            self.derotation = derotation

        def process(self, dataset):
            cube = np.asarray(dataset.cube, dtype=np.float64)
            if self.derotation != "none":
                cube = derotate_cube(cube, dataset.angles, method=self.derotation)
            return Result(cube, cube.mean(axis=0))

    yield NoOp
    base._REGISTRY.unregister(NOOP)
