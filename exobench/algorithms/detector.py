"""Statistical detectors: the plug-in base class, their result and the 4D combination.

A PSF-subtraction algorithm (:class:`~exobench.algorithms.Algorithm`) returns
residuals that a separate step turns into a detection map (an S/N map). A
statistical detector (ANDROMEDA, a forward-model matched filter, PACO) models
the noise and the companion's signature itself and returns its own detection
statistic with the flux estimate behind it: a :class:`Detection`. It is a
subclass of :class:`Detector`, registered by name in the same registry as the
algorithms, and implements :meth:`Detector.detect_adi` for a 3D dataset; 4D
datasets are handled here, channel by channel, combined by
:func:`combine_channels`.

Units and calibration, the contract every detector keeps:

- ``flux`` at pixel ``(y, x)`` is the maximum-likelihood flux of a companion
  centred on that pixel of the final (derotated) frame, in the companion-flux
  unit of :mod:`exobench.inject`: the companion's flux in a 1-FWHM-diameter
  aperture, in cube units (so a companion injected with ``fluxes=[f]`` has
  ``flux`` close to ``f`` at its position); at a local maximum of its
  statistic a detector may instead give the flux of the companion it locates
  near that pixel (:class:`~exobench.algorithms.FMMF` does: the map's maximum
  can lie a pixel or two from the companion, and a detection's flux is read
  there);
- ``flux_std`` is that estimate's standard deviation under the method's noise
  model;
- ``statistic`` is the detection statistic, calibrated so that where there is
  no companion it follows a standard normal distribution (one threshold then
  means one false-alarm rate on every dataset); NaN where it is undefined
  (inside the inner mask, too close to the edge).
"""

import dataclasses

import numpy as np

from .._validate import check_positive
from .base import Algorithm
from .sdi import channel_dataset

__all__ = ["Detection", "Detector", "combine_channels", "radial_normalisation"]


@dataclasses.dataclass(frozen=True, eq=False)
class Detection:
    """What a statistical detector returns: three ``(y, x)`` float64 maps.

    Attributes
    ----------
    statistic : ndarray
        The detection statistic, standard normal where there is no companion, NaN where undefined.
    flux : ndarray
        Maximum-likelihood flux of a companion centred on each pixel (1-FWHM aperture flux, cube units).
    flux_std : ndarray
        Standard deviation of ``flux`` (positive; NaN where undefined).
    """

    statistic: np.ndarray
    flux: np.ndarray
    flux_std: np.ndarray

    def __post_init__(self):
        shapes = {name: np.shape(getattr(self, name)) for name in ("statistic", "flux", "flux_std")}
        for name, shape in shapes.items():
            if len(shape) != 2:
                raise ValueError(f"{name}: expected a 2D (y, x) map, got shape {shape}")
        if len(set(shapes.values())) != 1:
            raise ValueError(f"statistic, flux, flux_std: expected maps of one shape, got {shapes}")
        for name in shapes:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))


class Detector(Algorithm):
    """Base class of the statistical detectors.

    A subclass registers with ``name=`` like an algorithm, stores keyword-only
    options in ``__init__`` and implements :meth:`detect_adi`. :meth:`detect`
    takes either kind of dataset.

    Examples
    --------
    A toy detector whose statistic is the frame-mean divided by its robust noise:

    >>> import numpy as np
    >>> from exobench.examples import example_dataset
    >>> class MeanFrame(Detector):
    ...     def detect_adi(self, dataset):
    ...         flux = dataset.cube.mean(axis=0)
    ...         std = np.full_like(flux, 1.4826 * np.median(np.abs(flux - np.median(flux))))
    ...         return Detection(flux / std, flux, std)
    >>> MeanFrame().detect(example_dataset(n_frames=10, size=33)).statistic.shape
    (33, 33)
    """

    def detect(self, dataset):
        """The :class:`Detection` of ``dataset``: 3D directly, 4D channel by channel, combined."""
        if not dataset.is_4d:
            return self.detect_adi(dataset)
        per_channel = [self.detect_adi(channel_dataset(dataset, k)) for k in range(dataset.n_channels)]
        return combine_channels(per_channel)

    def detect_adi(self, dataset):  # pragma: no cover - abstract
        """The :class:`Detection` of a 3D ``(t, y, x)`` dataset."""
        raise NotImplementedError

    def process(self, dataset):
        """Refused: a detector has no residual cube; its result is :meth:`detect`'s."""
        raise TypeError(f"{type(self).__name__} is a statistical detector: it has no residual cube "
                        f"to return; call detect(dataset) for its detection statistic and flux maps")


def combine_channels(detections):
    """One :class:`Detection` from one per channel, for a companion of the same flux in every channel.

    The inverse-variance weighted mean of the channels' fluxes is the
    maximum-likelihood flux of a flat-spectrum companion when the channels'
    noises are independent and Gaussian; its standard deviation is
    ``1 / sqrt(sum(1 / std**2))`` and the statistic ``flux / std``, standard
    normal where there is no companion. A pixel undefined in any channel is
    undefined in the result.

    Examples
    --------
    >>> import numpy as np
    >>> one = Detection(np.full((2, 2), 1.0), np.full((2, 2), 2.0), np.full((2, 2), 2.0))
    >>> bool(combine_channels([one, one]).flux_std[0, 0] == 2.0 / np.sqrt(2))
    True
    """
    detections = list(detections)
    if not detections or not all(isinstance(d, Detection) for d in detections):
        raise ValueError("detections: expected one or more Detection, got "
                         f"{[type(d).__name__ for d in detections]}")
    flux = np.stack([d.flux for d in detections])
    std = np.stack([d.flux_std for d in detections])
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = 1.0 / std ** 2
        total = weight.sum(axis=0)
        combined = (weight * flux).sum(axis=0) / total
        combined_std = 1.0 / np.sqrt(total)
        statistic = combined / combined_std
    undefined = ~np.all(np.isfinite(flux) & np.isfinite(std) & (std > 0), axis=0)
    for array in (combined, combined_std, statistic):
        array[undefined] = np.nan
    return Detection(statistic, combined, combined_std)


def radial_normalisation(statistic, *, width, center=None):
    """``statistic`` divided by its robust standard deviation in annuli ``width`` pixels wide.

    The empirical renormalisation statistical detectors use where their noise
    model is only approximate (ANDROMEDA's radial renormalisation): in each
    annulus around ``center`` (default: the pixel ``n // 2`` of
    docs/conventions.md) the finite values are divided by ``1.4826 * MAD``
    about their median, which a few companions do not move. Annuli with fewer
    than 10 finite pixels become NaN.

    Examples
    --------
    >>> import numpy as np
    >>> noise = np.random.default_rng(0).normal(scale=3.0, size=(64, 64))
    >>> bool(abs(np.nanstd(radial_normalisation(noise, width=4)) - 1) < 0.05)
    True
    """
    statistic = np.asarray(statistic, dtype=np.float64)
    if statistic.ndim != 2:
        raise ValueError(f"statistic: expected a 2D (y, x) map, got shape {statistic.shape}")
    check_positive(width, "width")
    ny, nx = statistic.shape
    cy, cx = (ny // 2, nx // 2) if center is None else center
    yy, xx = np.indices(statistic.shape)
    ring = (np.hypot(yy - cy, xx - cx) // width).astype(np.intp)
    out = np.full_like(statistic, np.nan)
    finite = np.isfinite(statistic)
    for index in np.unique(ring[finite]):
        members = finite & (ring == index)
        values = statistic[members]
        if values.size < 10:
            continue
        mad = 1.4826 * np.median(np.abs(values - np.median(values)))
        if mad > 0:
            out[members] = values / mad
    return out
