"""Matched-filter planes: the MLAR frames correlated with the PSF, over their annulus noise.

:func:`matched_filter_snr` gives, per level, the S/N of a point source at
every pixel (the optimal linear detector in white noise);
:func:`stacked_planes` stacks them after the MLAR frames: the planes patches
are cut from when a network takes matched-filter inputs.
"""

import numpy as np

from ._annuli import annuli_region, annulus_labels
from .mlar import MLARFrames

__all__ = ["matched_filter_frames", "annulus_noise", "matched_filter_snr", "stacked_planes"]



def matched_filter_frames(mlar, psf):
    """Each MLAR frame correlated with the PSF's core: the matched filter of a point source.

    The core is the PSF within 1 FWHM of its central pixel (a square of side
    ``2 round(FWHM) + 1``), scaled to unit Euclidean norm, so that on white
    noise of standard deviation ``s`` the filtered frame has standard deviation
    ``s`` too, and a source's filtered peak is its S/N gain over a single pixel.
    In frames limited by white noise (photon, background and read-out noise)
    this is the optimal linear detector of a point source (the likelihood ratio
    of a known PSF).

    Parameters
    ----------
    mlar : MLARFrames
    psf : array_like, shape ``(y, x)`` or ``(lambda, y, x)``
        The dataset's PSF, odd-sized and centred on its central pixel (as
        :class:`exobench.data.Dataset` keeps it); channels are averaged, like
        the frames of a 4D dataset.

    Returns
    -------
    numpy.ndarray, float32, shape ``(n_levels, y, x)``
        0 outside the annuli.

    Examples
    --------
    >>> from exobench.cnn.mlar import mlar_frames
    >>> from exobench.examples import example_dataset
    >>> dataset = example_dataset(n_frames=10, size=33)
    >>> matched_filter_frames(mlar_frames(dataset, levels=(0.5, 0.9)), dataset.psf).shape
    (2, 33, 33)
    """
    from scipy.signal import fftconvolve

    if not isinstance(mlar, MLARFrames):
        raise TypeError(f"mlar: expected MLARFrames, got {type(mlar).__name__}")
    kernel = _psf_core(psf, mlar.fwhm)
    # correlation is the convolution with the kernel turned by 180 degrees
    filtered = fftconvolve(mlar.frames.astype(np.float64), kernel[None, ::-1, ::-1], mode="same", axes=(1, 2))
    return (filtered * annuli_region(mlar.frames.shape, mlar.annuli)).astype(np.float32)


def annulus_noise(mlar, frames):
    """The robust standard deviation of each frame in each annulus of ``mlar``.

    The median absolute deviation from the median over the annulus's pixels,
    scaled to a Gaussian's standard deviation (times 1.4826; robust to the few
    pixels of a companion); 1 where it is 0 (an empty or constant annulus).

    Parameters
    ----------
    mlar : MLARFrames
        Gives the annuli.
    frames : array_like, shape ``(n, y, x)``
        Frames of the same shape as ``mlar``'s.

    Returns
    -------
    numpy.ndarray, float64, shape ``(n_annuli, n)``

    Examples
    --------
    >>> from exobench.cnn.mlar import mlar_frames
    >>> from exobench.examples import example_dataset
    >>> mlar = mlar_frames(example_dataset(n_frames=10, size=33), levels=(0.5, 0.9))
    >>> annulus_noise(mlar, mlar.frames).shape == (len(mlar.annuli), 2)
    True
    """
    from scipy.stats import median_abs_deviation

    frames = _checked_frames(mlar, frames)
    labels = annulus_labels(mlar.frames.shape, mlar.annuli)
    noise = np.ones((len(mlar.annuli), frames.shape[0]))
    for j in range(len(mlar.annuli)):
        values = frames[:, labels == j].astype(np.float64)
        if values.shape[1] == 0:
            continue
        spread = median_abs_deviation(values, axis=1, scale="normal")
        noise[j] = np.where(spread > 0, spread, 1.0)
    return noise


def matched_filter_snr(mlar, psf, *, noise=None):
    """The matched-filter S/N frames of ``mlar``: :func:`matched_filter_frames` over their annulus noise.

    Parameters
    ----------
    mlar : MLARFrames
    psf : array_like
        As in :func:`matched_filter_frames`.
    noise : array_like, shape ``(n_annuli, n_levels)``, optional
        The noise of each annulus and level to divide by (for example that of
        the companion-free flipped-angle frames of the same dataset, so that
        frames holding injected companions are scaled like the data); by
        default :func:`annulus_noise` of the filtered frames themselves.

    Returns
    -------
    snr : numpy.ndarray, float32, shape ``(n_levels, y, x)``
        0 outside the annuli.
    noise : numpy.ndarray, float64, shape ``(n_annuli, n_levels)``
        The noise divided by.

    Examples
    --------
    >>> from exobench.cnn.mlar import mlar_frames
    >>> from exobench.examples import example_dataset
    >>> dataset = example_dataset(n_frames=10, size=33)
    >>> snr, noise = matched_filter_snr(mlar_frames(dataset, levels=(0.5, 0.9)), dataset.psf)
    >>> snr.shape, noise.shape[1]
    ((2, 33, 33), 2)
    """
    filtered = matched_filter_frames(mlar, psf)
    if noise is None:
        noise = annulus_noise(mlar, filtered)
    noise = np.asarray(noise, dtype=np.float64)
    expected = (len(mlar.annuli), filtered.shape[0])
    if noise.shape != expected or not np.all(np.isfinite(noise)) or np.any(noise <= 0):
        raise ValueError(f"noise: expected positive finite values of shape {expected} (annuli, levels), got "
                         f"shape {noise.shape}")
    labels = annulus_labels(mlar.frames.shape, mlar.annuli)
    scale = np.ones(filtered.shape, dtype=np.float64)
    inside = labels >= 0
    scale[:, inside] = noise[labels[inside]].T
    return (filtered / scale).astype(np.float32), noise


def stacked_planes(mlar, psf=None, *, noise=None):
    """The planes patches are cut from: the MLAR frames, then, with a PSF, their matched-filter S/N.

    ``(n_levels, y, x)`` without ``psf``; ``(2 n_levels, y, x)`` with it (the
    frames of every level, then :func:`matched_filter_snr` of every level,
    scaled by ``noise``).

    Examples
    --------
    >>> from exobench.cnn.mlar import mlar_frames
    >>> from exobench.examples import example_dataset
    >>> dataset = example_dataset(n_frames=10, size=33)
    >>> mlar = mlar_frames(dataset, levels=(0.5, 0.9))
    >>> stacked_planes(mlar).shape, stacked_planes(mlar, dataset.psf).shape
    ((2, 33, 33), (4, 33, 33))
    """
    if psf is None:
        return mlar.frames
    snr, _ = matched_filter_snr(mlar, psf, noise=noise)
    return np.concatenate([mlar.frames, snr])


def _psf_core(psf, fwhm):
    """The PSF within ``round(fwhm)`` pixels of its centre (channels averaged), unit Euclidean norm."""
    psf = np.asarray(psf, dtype=np.float64)
    if psf.ndim == 3:
        psf = psf.mean(axis=0)
    if psf.ndim != 2 or psf.shape[0] % 2 == 0 or psf.shape[1] % 2 == 0 or not np.all(np.isfinite(psf)):
        raise ValueError(f"psf: expected a finite, odd-sized (y, x) or (lambda, y, x) PSF centred on its central "
                         f"pixel, got shape {np.shape(psf)}")
    cy, cx = psf.shape[0] // 2, psf.shape[1] // 2
    half = max(1, min(int(round(fwhm)), cy, cx))
    core = psf[cy - half:cy + half + 1, cx - half:cx + half + 1]
    norm = np.sqrt(np.sum(core**2))
    if norm == 0:
        raise ValueError("psf: expected a PSF with light in its core, got zeros")
    return core / norm


def _checked_frames(mlar, frames):
    if not isinstance(mlar, MLARFrames):
        raise TypeError(f"mlar: expected MLARFrames, got {type(mlar).__name__}")
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[1:] != mlar.frames.shape[1:] or frames.dtype.kind not in "biuf":
        raise ValueError(f"frames: expected an (n, {mlar.frames.shape[1]}, {mlar.frames.shape[2]}) array of "
                         f"numbers like the MLAR frames, got shape {frames.shape}")
    return frames
