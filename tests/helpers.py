"""Small analytic inputs shared by the tests."""

import numpy as np


def gaussian_psf(size=15, fwhm=4.0, x0=None, y0=None, amplitude=1.0):
    """An analytic circular Gaussian PSF on a stamp (centred on pixel size // 2 unless x0/y0 given)."""
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    c = size // 2
    yy, xx = np.mgrid[:size, :size]
    x0 = c if x0 is None else x0
    y0 = c if y0 is None else y0
    return amplitude * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2))
