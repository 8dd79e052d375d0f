"""exobench: benchmarking exoplanet detection in high-contrast direct imaging.

The package is organised by concern:

- :mod:`exobench.data`      the :class:`~exobench.data.Dataset` model, FITS and HDF5 I/O;
- :mod:`exobench.geometry`  frame centre, polar coordinates, masks, shifts, rotation;
- :mod:`exobench.photometry` exact circular-aperture photometry;
- :mod:`exobench.psf`       FWHM fitting, normalisation and cropping of off-axis PSFs;
- :mod:`exobench.inject`    synthetic companions with ground truth;
- :mod:`exobench.detmap`    S/N maps and significance.

Heavy or optional dependencies are imported where they are used, so that
``import exobench`` stays light.
"""

__version__ = "0.1.0"


class ExobenchWarning(UserWarning):
    """Base class of the warnings that exobench emits."""


__all__ = ["ExobenchWarning", "__version__"]
