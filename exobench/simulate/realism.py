"""How a cube compares with real data: raw contrast and what PCA removes.

These two numbers are what the field looks at first when judging whether
simulated speckles behave like real ones: how bright they are against the
star (the raw contrast profile) and how much of them is quasi-static, i.e.
how much a PSF subtraction removes.
"""

import numpy as np

from ..geometry import annulus_mask

__all__ = ["star_peak", "raw_contrast_profile", "pca_noise_gain"]


def star_peak(dataset):
    """The star's peak in cube units: its aperture flux times the normalised PSF's peak.

    Per channel for 4D datasets.
    """
    peaks = np.asarray(dataset.normalized_psf).reshape(-1, *dataset.normalized_psf.shape[-2:]).max(axis=(1, 2))
    values = peaks * np.asarray(dataset.star_flux, dtype=float)
    return values if dataset.cube.ndim == 4 else float(values[0])


def raw_contrast_profile(dataset, radii, *, width=2.0):
    """Raw contrast: the azimuthal standard deviation of each frame in annuli,
    averaged over the frames, over the star's peak.

    Parameters
    ----------
    dataset : Dataset
        A 3D dataset with a PSF (or a star flux and FWHM).
    radii : array_like
        Annulus centres in pixels.
    width : float
        Annulus width in pixels.

    Returns
    -------
    numpy.ndarray, one value per radius
    """
    cube = np.asarray(dataset.cube, dtype=np.float64)
    shape = cube.shape[-2:]
    values = []
    for radius in np.atleast_1d(radii):
        ring = annulus_mask(shape, radius - width / 2, radius + width / 2)
        values.append(np.mean(np.std(cube[:, ring], axis=1)))
    return np.array(values) / star_peak(dataset)


def pca_noise_gain(dataset, radius, *, ncomp=10):
    """By how much full-frame PCA lowers the noise in an annulus one FWHM wide.

    The mean over frames of the azimuthal standard deviation of the raw frames
    over that of PCA's residual frames (before derotation), at ``radius`` px.
    """
    from ..algorithms import PCA

    residuals = PCA(ncomp=ncomp).process(dataset).residuals
    fwhm = float(np.mean(dataset.fwhm))
    ring = annulus_mask(dataset.frame_shape, radius - fwhm / 2, radius + fwhm / 2)
    raw = np.mean(np.std(np.asarray(dataset.cube, dtype=np.float64)[:, ring], axis=1))
    return float(raw / np.mean(np.std(np.asarray(residuals, dtype=np.float64)[:, ring], axis=1)))
