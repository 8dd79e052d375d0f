"""Median ADI (Marois et al. 2006): full frame and annular.

Full frame (:class:`MedianADI`): subtract the temporal median frame from every
frame, derotate, collapse.

Annular (:class:`AnnularMedianADI`, VIP's ``median_sub(mode="annular")``): per
annulus, each frame's reference is the median of the frames that rotated
relative to it by at least ``delta`` FWHM of arc at the annulus's mean radius.
"""

import numpy as np

from .._validate import check_integer, check_number
from .annuli import annuli, rotation_thresholds
from .base import Algorithm, adi_cube, check_common, finish, is_private_copy
from .collapse import median_frame

__all__ = ["MedianADI", "AnnularMedianADI"]

#: Fewest reference frames of a frame in annular median ADI (the rotation threshold is lowered to keep them).
MIN_REFERENCES = 2

#: Largest number of values gathered at once by the annular median (memory bound, about 64 MB).
_CHUNK_VALUES = 8_000_000


class MedianADI(Algorithm, name="median"):
    """Full-frame median ADI: subtract the median frame, derotate, collapse.

    Parameters
    ----------
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = MedianADI().process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    """

    def __init__(self, *, collapse="median", derotation="bilinear"):
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
        """
        cube = adi_cube(dataset)
        check_common(self)
        # the median of the cube as given (float32 data: half the memory to partition), in float64
        reference = median_frame(np.asarray(dataset.cube), dtype=np.float64)
        if is_private_copy(cube, dataset):  # our own float64 copy: subtract, then derotate, in place
            residuals = cube
            residuals -= reference
        else:  # adi_cube did not copy: never modify the caller's array
            residuals = cube - reference
        return finish(residuals, dataset, self, in_place=True)


class AnnularMedianADI(Algorithm, name="median-annular"):
    """Annular median ADI with a rotation-based reference per frame.

    The frame is cut into annuli ``asize`` FWHM wide from ``inner_radius`` FWHM
    to the largest circle inscribed in the frame (pixels outside are 0 in the
    residuals). In each annulus, frame ``i``'s reference is the median of the
    frames ``j`` with ``|angles[j] - angles[i]| >= delta * fwhm / r`` radians
    (``r`` the annulus's mean radius), i.e. that moved a source by at least
    ``delta`` FWHM of arc; where fewer than 2 frames qualify (fewer than
    ``n_references`` when given), the threshold is lowered to keep that many
    frames, the farthest in angle. By default every qualifying frame enters the
    median; with ``n_references``, only the ``n_references`` qualifying frames
    closest in angle do (as VIP's ``nframes``, 4 by default there), which is
    also much faster on long sequences.

    Parameters
    ----------
    asize : float
        Width of the annuli in FWHM.
    inner_radius : float
        Inner radius of the first annulus in FWHM.
    delta : float
        Minimum rotation of the reference frames, in FWHM of arc.
    n_references : int, optional
        Number of reference frames per frame (the qualifying ones closest in
        angle); all qualifying frames by default.
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> AnnularMedianADI(delta=0.5).process(ds).final.shape
    (33, 33)
    """

    def __init__(self, *, asize=1.5, inner_radius=0.0, delta=1.0, n_references=None,
                 collapse="median", derotation="bilinear"):
        self.asize = asize
        self.inner_radius = inner_radius
        self.delta = delta
        self.n_references = n_references
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
        """
        cube = adi_cube(dataset)
        check_common(self)
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        delta = check_number(self.delta, "delta")
        t, ny, nx = cube.shape
        count = self.n_references
        check_integer(count, "n_references", minimum=1, maximum=t, allow_none=True, what="the number of frames")
        minimum = min(MIN_REFERENCES, t) if count is None else int(count)
        fwhm = float(dataset.fwhm)
        masks, radii = annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        flat = cube.reshape(t, ny * nx)
        residuals = np.zeros_like(flat)
        for mask, radius in zip(masks, radii):
            pixels = np.flatnonzero(mask.ravel())
            values = flat[:, pixels]
            thresholds, distance = rotation_thresholds(dataset.angles, radius, delta, fwhm, minimum)
            allowed = distance >= thresholds[:, None]
            if count is not None:  # keep the `count` qualifying frames closest in angle
                closest = np.argsort(np.where(allowed, distance, np.inf), axis=1, kind="stable")[:, :count]
                allowed = np.zeros_like(allowed)
                allowed[np.arange(t)[:, None], closest] = True
            residuals[:, pixels] = values - _reference_medians(values, allowed)
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)


def _reference_medians(values, allowed):
    """Row ``i``: the median over the rows ``j`` of ``values`` with ``allowed[i, j]``."""
    n_frames, n_pixels = values.shape
    out = np.empty_like(values)
    sizes = allowed.sum(axis=1)
    for size in np.unique(sizes):
        frames = np.flatnonzero(sizes == size)
        library = np.sort(np.argsort(~allowed[frames], axis=1, kind="stable")[:, :size], axis=1)
        step = max(1, _CHUNK_VALUES // (size * n_pixels))
        for start in range(0, frames.size, step):
            rows = slice(start, start + step)
            out[frames[rows]] = np.median(values[library[rows]], axis=1)
    return out
