"""Spectral differential imaging for ADI+mSDI (4D) cubes: SDI, ASDI and per-channel ADI.

The star's speckles are diffraction features: their distance to the star grows
with the wavelength (they are fixed in units of lambda/D), while a companion
stays where it is in every channel. Magnifying channel ``c`` about the star by
``s_c = lambda_ref / lambda_c`` (:func:`scale_factors`, the reference being the
longest wavelength, so ``s_c >= 1``) lines up the speckles of every channel with
those of the reference channel, and moves the companion radially by a
different amount in each channel. A PCA over the rescaled frames models the
speckles; the residuals are rescaled back (by ``1 / s_c``, which puts the
companion back where it was in every channel), averaged over the channels, then
derotated and collapsed over time as in ADI.

Three algorithms:

``sdi-pca`` (:class:`SDIPCA`)
    for each time step, PCA over that step's rescaled channels (a library of
    ``lambda`` frames);
``asdi-pca`` (:class:`ASDIPCA`)
    ``steps=1``: one PCA over all ``lambda x t`` rescaled frames;
    ``steps=2``: the SDI step per time step, then a full-frame ADI PCA over time
    on the resulting ``(t, y, x)`` cube;
``per-channel`` (:class:`PerChannelADI`)
    a plain ADI algorithm (e.g. ``"pca"``) run on each channel's 3D cube, the
    results averaged over the channels (no spectral information used).

Rescaling (:func:`rescale_frames`): output pixel ``(x, y)`` takes the input value
at ``(xc + (x - xc) / s, yc + (y - yc) / s)`` about the frame centre
``(xc, yc)`` (pixel ``n // 2``), with exobench's compiled bilinear or bicubic
(Keys, a = -0.5) kernels; pixels that come from outside the frame are 0.
**Flux:** the rescaling resamples surface brightness and does *not* multiply
by ``1 / s**2``: a pixel's value is kept, so a magnified source's total flux
grows by ``s**2``. This is the right choice for speckle subtraction (the
speckles' intensity per pixel, not their integrated flux, must match across
channels), and the inverse rescaling restores the original fluxes (up to
interpolation). Magnifying pushes the outer ring of a short-wavelength channel
out of the frame: there, after rescaling back, the residuals are 0 (within
about ``(1 - lambda_min / lambda_max)`` of the frame's half-size from its edge).

Result of the 4D algorithms: ``residuals`` is the derotated residual cube
``(t, y, x)`` after the mean over the channels, and ``final`` its collapse
``(y, x)`` over time (``collapse``), in the frame of every channel.
"""

import numpy as np

from .._validate import check_choice, check_integer, check_number
from ..data import Dataset
from ..geometry import frame_center
from ..geometry.interpolate import INTERPOLATIONS, sample_affine
from .base import Algorithm, Result, check_common, finish, get_algorithm
from .projections import subtract_components

__all__ = ["SDIPCA", "ASDIPCA", "PerChannelADI", "rescale_frames", "scale_factors", "RESCALE_METHODS"]

#: Interpolations of :func:`rescale_frames`.
RESCALE_METHODS = INTERPOLATIONS


def scale_factors(wavelengths, reference=None):
    """Magnification ``reference / wavelengths`` that lines each channel's speckles up with the reference's.

    Parameters
    ----------
    wavelengths : array_like, shape ``(lambda,)``
        Channel wavelengths (any unit), > 0.
    reference : float, optional
        Reference wavelength (same unit); the longest wavelength by default, so
        that every factor is >= 1 (magnification only).

    Returns
    -------
    ndarray, shape ``(lambda,)``

    Examples
    --------
    >>> scale_factors([1.0, 1.25]).tolist()
    [1.25, 1.0]
    """
    wavelengths = np.asarray(wavelengths, dtype=np.float64).ravel()
    if wavelengths.size == 0 or not np.all(np.isfinite(wavelengths)) or np.any(wavelengths <= 0):
        raise ValueError(f"wavelengths: expected finite values > 0, got {wavelengths.tolist()!r}")
    if reference is None:
        reference = float(wavelengths.max())
    else:
        reference = check_number(reference, "reference", strict=True)
    return float(reference) / wavelengths


def rescale_frames(frames, scales, *, method="bicubic", center=None, fill_value=0.0):
    """Magnify each frame about ``center`` by its own factor.

    Output pixel ``(x, y)`` takes the input value at ``(xc + (x - xc) / s,
    yc + (y - yc) / s)``: content at radius ``r`` moves to ``s * r``. Pixel
    values (surface brightness) are kept; no ``1 / s**2`` factor is applied (see
    the module documentation). ``rescale_frames(rescale_frames(f, s), 1 / s)``
    recovers a smooth image inside the frame's inner ``1 / s`` part.

    Parameters
    ----------
    frames : array_like, shape ``(y, x)`` or ``(n, y, x)``
    scales : float or array_like of shape ``(n,)``
        Magnification factors, > 0 (1 is the identity).
    method : {"bilinear", "bicubic"}
        Interpolation (exobench's compiled kernels; bicubic is Keys with a = -0.5).
    center : (float, float), optional
        ``(x, y)`` of the fixed point; the frame centre (pixel ``n // 2``) by default.
    fill_value : float
        Value of pixels that come from outside the frame.

    Returns
    -------
    ndarray, same shape as ``frames``, float64 (float32 stays float32)

    Examples
    --------
    >>> frame = np.zeros((9, 9)); frame[4, 6] = 1.0      # 2 px right of the centre
    >>> [int(v) for v in np.unravel_index(np.argmax(rescale_frames(frame, 2.0)), (9, 9))]
    [4, 8]
    """
    frames = np.asarray(frames)
    if frames.dtype != np.float32:
        frames = frames.astype(np.float64)
    if frames.ndim not in (2, 3):
        raise ValueError(f"frames: expected a (y, x) frame or an (n, y, x) stack, got {frames.ndim} dimensions")
    check_choice(method, "method", RESCALE_METHODS)
    single = frames.ndim == 2
    stack = frames[None] if single else frames
    scales = np.atleast_1d(np.asarray(scales, dtype=np.float64)).ravel()
    if scales.size == 1 and stack.shape[0] > 1:
        scales = np.repeat(scales, stack.shape[0])
    if scales.size != stack.shape[0]:
        raise ValueError(f"scales: expected {stack.shape[0]} factors (one per frame), got {scales.size}")
    if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise ValueError(f"scales: expected finite factors > 0, got {scales.tolist()!r}")
    xc, yc = frame_center(stack.shape) if center is None else (float(center[0]), float(center[1]))
    inverse = 1.0 / scales
    zero = np.zeros_like(inverse)
    coefficients = np.stack([inverse, zero, xc - xc * inverse, zero, inverse, yc - yc * inverse], axis=1)
    out = sample_affine(stack, coefficients, method=method, fill_value=fill_value)
    return out[0] if single else out


# -- helpers ------------------------------------------------------------------------------------


def asdi_cube(dataset):
    """The dataset's 4D cube as float64, after checking it is an ADI+mSDI dataset."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")
    if not dataset.is_4d:
        raise ValueError(f"dataset: expected an ADI+mSDI dataset with a 4D (lambda, t, y, x) cube and "
                         f"wavelengths, got a 3D (t, y, x) cube of shape {dataset.cube.shape}; use an ADI "
                         f"algorithm (e.g. 'pca') for 3D data")
    cube = np.asarray(dataset.cube, dtype=np.float64)
    if not np.all(np.isfinite(cube)):
        raise ValueError("dataset: expected a cube of finite values, got NaN or infinite pixels")
    return cube


def _spectral_residuals(cube, scales, ncomp, method):
    """Per time step: PCA over the rescaled channels, rescaled back, mean over channels: ``(t, y, x)``."""
    n_channels, t, ny, nx = cube.shape
    rescaled = rescale_frames(cube.reshape(-1, ny, nx), np.repeat(scales, t), method=method)
    # (t, lambda, pixels): one library of lambda frames per time step
    stacks = rescaled.reshape(n_channels, t, ny * nx).transpose(1, 0, 2)
    residuals = np.empty_like(stacks)
    for step in range(t):
        matrix = stacks[step] - stacks[step].mean(axis=0)
        residuals[step], _ = subtract_components(matrix, ncomp=ncomp)
    back = residuals.transpose(1, 0, 2).reshape(-1, ny, nx)
    back = rescale_frames(back, np.repeat(1.0 / scales, t), method=method)
    return back.reshape(n_channels, t, ny, nx).mean(axis=0)


class SDIPCA(Algorithm, name="sdi-pca"):
    """Spectral differential imaging with PCA, one spectral library per time step (4D cubes).

    For each time step, the channels are magnified by ``lambda_ref / lambda``
    (:func:`rescale_frames`, reference the longest wavelength) so that the
    speckles line up, mean-centred pixel by pixel over the channels, and their
    first ``ncomp`` principal components are projected out (a library of
    ``lambda`` frames, in which a companion moves radially and so survives).
    The residuals are rescaled back, averaged over the channels, derotated and
    collapsed over time.

    Parameters
    ----------
    ncomp : int
        Number of principal components removed per time step, at most the
        number of channels.
    rescaling : {"bicubic", "bilinear"}
        Interpolation of the rescaling and its inverse.
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.algorithms.sdi import example_4d_dataset
    >>> result = SDIPCA(ncomp=2).process(example_4d_dataset())
    >>> result.residuals.shape, result.final.shape
    ((8, 33, 33), (33, 33))
    """

    def __init__(self, *, ncomp=1, rescaling="bicubic", collapse="median", derotation="bilinear"):
        self.ncomp = ncomp
        self.rescaling = rescaling
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI+mSDI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
            ``residuals`` ``(t, y, x)`` (derotated, mean over channels), ``final`` ``(y, x)``.
        """
        cube = asdi_cube(dataset)
        check_common(self)
        check_choice(self.rescaling, "rescaling", RESCALE_METHODS)
        ncomp = check_integer(self.ncomp, "ncomp", minimum=1, maximum=cube.shape[0],
                              what="at most the number of channels")
        residuals = _spectral_residuals(cube, scale_factors(dataset.wavelengths), ncomp, self.rescaling)
        return finish(residuals, dataset, self)


class ASDIPCA(Algorithm, name="asdi-pca"):
    """Angular and spectral differential imaging with PCA, in one or two steps (4D cubes).

    ``steps=1``: every frame of every channel is magnified by
    ``lambda_ref / lambda`` (:func:`rescale_frames`); one PCA over the whole
    ``lambda x t`` library (mean-centred pixel by pixel) removes ``ncomp``
    components; the residuals are rescaled back and averaged over the channels.

    ``steps=2``: first the SDI step of :class:`SDIPCA` (per time step, ``ncomp``
    spectral components, mean over channels), then a full-frame ADI PCA over
    time on that ``(t, y, x)`` cube removing ``ncomp_adi`` components.

    Either way the ``(t, y, x)`` residuals are derotated and collapsed over time.

    Parameters
    ----------
    steps : {1, 2}
        One joint PCA, or spectral then angular PCA.
    ncomp : int
        Components of the joint PCA (``steps=1``, at most ``lambda x t``) or of
        the spectral step (``steps=2``, at most the number of channels).
    ncomp_adi : int
        Components of the ADI step (``steps=2`` only, at most the number of
        frames); not used with ``steps=1``.
    rescaling : {"bicubic", "bilinear"}
        Interpolation of the rescaling and its inverse.
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.algorithms.sdi import example_4d_dataset
    >>> ds = example_4d_dataset()
    >>> ASDIPCA(steps=1, ncomp=3).process(ds).final.shape
    (33, 33)
    >>> ASDIPCA(steps=2, ncomp=1, ncomp_adi=2).process(ds).residuals.shape
    (8, 33, 33)
    """

    def __init__(self, *, steps=2, ncomp=1, ncomp_adi=1, rescaling="bicubic", collapse="median",
                 derotation="bilinear"):
        self.steps = steps
        self.ncomp = ncomp
        self.ncomp_adi = ncomp_adi
        self.rescaling = rescaling
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI+mSDI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
            ``residuals`` ``(t, y, x)`` (derotated, mean over channels), ``final`` ``(y, x)``.
        """
        cube = asdi_cube(dataset)
        check_common(self)
        check_choice(self.rescaling, "rescaling", RESCALE_METHODS)
        if isinstance(self.steps, bool) or self.steps not in (1, 2):
            raise ValueError(f"steps: expected 1 (one joint PCA) or 2 (spectral then angular PCA), "
                             f"got {self.steps!r}")
        n_channels, t, ny, nx = cube.shape
        scales = scale_factors(dataset.wavelengths)
        if self.steps == 2:
            ncomp = check_integer(self.ncomp, "ncomp", minimum=1, maximum=n_channels,
                                  what="at most the number of channels with steps=2")
            ncomp_adi = check_integer(self.ncomp_adi, "ncomp_adi", minimum=1, maximum=t,
                                      what="at most the number of frames")
            spectral = _spectral_residuals(cube, scales, ncomp, self.rescaling).reshape(t, ny * nx)
            residuals, _ = subtract_components(spectral - spectral.mean(axis=0), ncomp=ncomp_adi)
            return finish(residuals.reshape(t, ny, nx), dataset, self)
        ncomp = check_integer(self.ncomp, "ncomp", minimum=1, maximum=n_channels * t,
                              what="at most lambda x t frames with steps=1")
        rescaled = rescale_frames(cube.reshape(-1, ny, nx), np.repeat(scales, t), method=self.rescaling)
        matrix = rescaled.reshape(n_channels * t, ny * nx)
        residuals, _ = subtract_components(matrix - matrix.mean(axis=0), ncomp=ncomp)
        back = rescale_frames(residuals.reshape(-1, ny, nx), np.repeat(1.0 / scales, t), method=self.rescaling)
        return finish(back.reshape(n_channels, t, ny, nx).mean(axis=0), dataset, self)


class PerChannelADI(Algorithm, name="per-channel"):
    """A plain ADI algorithm run on each channel of a 4D cube, averaged over the channels.

    Channel ``c`` becomes a 3D :class:`~exobench.data.Dataset` (its cube, the
    angles, its PSF, FWHM and star flux), the ADI algorithm ``algorithm``
    (a registry name, with ``options``) processes it, and the derotated residual
    cubes and the final frames are averaged over the channels: ``residuals`` is
    the mean of the channels' ``(t, y, x)`` residuals, ``final`` the mean of
    their final frames (each collapsed over time by the ADI algorithm's own
    ``collapse``). No spectral information is used: the reference point of the
    spectral algorithms.

    Parameters
    ----------
    algorithm : str
        Registry name of a 3D algorithm (:func:`exobench.algorithms.available_algorithms`).
    options : dict, optional
        Options of that algorithm (its defaults otherwise).

    Examples
    --------
    >>> from exobench.algorithms.sdi import example_4d_dataset
    >>> PerChannelADI(algorithm="pca", options={"ncomp": 2}).process(example_4d_dataset()).final.shape
    (33, 33)
    """

    def __init__(self, *, algorithm="pca", options=None):
        self.algorithm = algorithm
        self.options = options

    def process(self, dataset):
        """Run the ADI algorithm on every channel of ``dataset`` (4D) and average.

        Returns
        -------
        Result
            ``residuals`` ``(t, y, x)``, ``final`` ``(y, x)``: means over the channels.
        """
        asdi_cube(dataset)
        if not isinstance(self.algorithm, str) or self.algorithm in _SPECTRAL:
            raise ValueError(f"algorithm: expected the name of an ADI (3D) algorithm such as 'pca', "
                             f"got {self.algorithm!r}")
        try:
            cls = get_algorithm(self.algorithm)
        except ValueError as exc:
            raise ValueError(f"algorithm: {exc}") from None
        options = {} if self.options is None else self.options
        if not isinstance(options, dict):
            raise ValueError(f"options: expected a dict of options of {self.algorithm!r} or None, "
                             f"got {type(options).__name__}")
        try:
            adi = cls(**options)
        except TypeError as exc:
            raise ValueError(f"options: {exc}") from None
        residuals = finals = None
        for channel in range(dataset.n_channels):
            result = adi.process(channel_dataset(dataset, channel))
            residuals = result.residuals if residuals is None else residuals + result.residuals
            finals = result.final if finals is None else finals + result.final
        return Result(residuals / dataset.n_channels, finals / dataset.n_channels)


_SPECTRAL = ("sdi-pca", "asdi-pca", "per-channel")


def channel_dataset(dataset, channel):
    """Channel ``channel`` of a 4D dataset as a 3D :class:`~exobench.data.Dataset`."""

    def pick(value):
        return None if value is None else np.asarray(value)[channel]

    return Dataset(dataset.cube[channel], dataset.angles, psf=pick(dataset.psf), pxscale=dataset.pxscale,
                   fwhm=float(dataset.fwhm[channel]), star_flux=pick(dataset.star_flux),
                   instrument=dataset.instrument, dataset_id=dataset.dataset_id, meta=dataset.meta)


def example_4d_dataset(*, n_channels=6, n_frames=8, size=33, rotation=10.0, seed=0):
    """A tiny seeded 4D dataset for the examples: speckles scaling with wavelength, no companion.

    Wavelengths from 1.0 to 1.3 microns; a Gaussian PSF of FWHM 3 px at the
    longest wavelength, narrower in proportion at shorter ones; a smooth random
    speckle field fixed in units of lambda/D (its pattern magnified by
    ``lambda / lambda_max`` in each channel), quasi-static, plus white noise.
    """
    rng = np.random.default_rng(seed)
    wavelengths = np.linspace(1.0, 1.3, n_channels)
    scales = wavelengths / wavelengths.max()
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.normal(size=(size, size)), 1.2)
    field = 100.0 * field / field.std()
    radius = np.hypot(*(np.mgrid[:size, :size] - size // 2))
    field *= 1.0 / (1.0 + (radius / 6.0) ** 2)
    channels = rescale_frames(np.repeat(field[None], n_channels, axis=0), scales)
    cube = channels[:, None] + rng.normal(size=(n_channels, n_frames, size, size))
    half = 7
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    sigmas = 3.0 * scales / (2 * np.sqrt(2 * np.log(2)))
    psf = 1e4 * np.exp(-(xx**2 + yy**2)[None] / (2 * sigmas[:, None, None] ** 2))
    angles = np.linspace(-rotation / 2, rotation / 2, n_frames)
    return Dataset(cube, angles, psf=psf, wavelengths=wavelengths, instrument="example4d")
