"""A small synthetic ADI dataset, generated on demand (no data files in the package).

It is a toy, not a simulation (the instrument simulator is that): a Gaussian
off-axis PSF, a quasi-static speckle halo fixed in the detector frame (what ADI
removes), a little frame-to-frame speckle evolution and white noise. It lets
the command line, the documentation and the tests run anywhere.
"""

import numpy as np
from scipy import ndimage

from .data import Dataset

__all__ = ["example_dataset"]


def example_dataset(*, n_frames=40, size=65, fwhm=4.0, rotation=70.0, star_flux=1e4, seed=0):
    """A seeded synthetic ADI dataset.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    size : int
        Side of the square frames in pixels.
    fwhm : float
        FWHM of the Gaussian PSF in pixels.
    rotation : float
        Total field rotation in degrees (angles evenly spread and centred on 0).
    star_flux : float
        The star's flux in a 1-FWHM-diameter aperture, in cube units.
    seed : int or numpy.random.Generator
        Seed of every random draw (same seed, same bytes).

    Returns
    -------
    Dataset

    Examples
    --------
    >>> ds = example_dataset(n_frames=10, size=33, seed=1)
    >>> ds.cube.shape, ds.instrument
    ((10, 33, 33), 'example')
    >>> bool(np.array_equal(ds.cube, example_dataset(n_frames=10, size=33, seed=1).cube))
    True
    """
    rng = np.random.default_rng(seed)
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    half = int(np.ceil(3 * fwhm)) | 1
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    psf = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    # scale so that the 1-FWHM-aperture flux is about star_flux (exact value measured by Dataset)
    psf *= star_flux / (2 * np.pi * sigma**2 * (1 - 2 ** -1.0))
    radius = np.hypot(*np.mgrid[:size, :size] - size // 2)
    halo = star_flux * 1e-2 / (1.0 + (radius / fwhm) ** 3)
    static = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma)
    static *= 1.0 / static.std()
    cube = np.empty((n_frames, size, size), dtype=np.float32)
    for i in range(n_frames):
        evolving = ndimage.gaussian_filter(rng.normal(size=(size, size)), sigma)
        speckles = halo * (1.0 + 0.5 * static + 0.15 * evolving / evolving.std())
        cube[i] = speckles + rng.normal(scale=star_flux * 2e-5, size=(size, size))
    angles = np.linspace(-rotation / 2.0, rotation / 2.0, n_frames)
    return Dataset(cube, angles, psf=psf.astype(np.float32), pxscale=0.0272, fwhm=None,
                   instrument="example", dataset_id="1")
