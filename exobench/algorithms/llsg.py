"""LLSG: local low-rank plus sparse plus Gaussian-noise decomposition (Gomez Gonzalez et al. 2016).

The frame is cut into annuli ``asize`` FWHM wide (2 FWHM, the paper's choice,
by default), each split into ``n_segments`` azimuthal segments (4, quadrants,
by default) starting at theta = 0. The pixels of one segment over time form a
``frames x pixels`` matrix ``M`` that is decomposed GoDec-style (Zhou & Tao
2011) into ``M = L + S + G``:

- ``L`` = the best rank-``rank`` approximation of ``M - S`` (truncated SVD),
- ``S`` = ``M - L`` thresholded entry-wise at ``thresh`` times the noise
  standard deviation of ``M - L`` (robust estimate: 1.4826 times the median
  absolute deviation over the segment), soft (shrink towards 0 by the
  threshold) or hard (keep the entries above it),
- ``G = M - L - S``, the dense (Gaussian) remainder,

starting from ``S = 0`` and repeating the two updates ``max_iter`` times. The
companion's signal, which moves with the field, is not low rank and stays in
``S``; the residual cube is ``S``, derotated and collapsed.

Everything is deterministic (exact truncated SVDs, no random projection). The
segments are processed together: their matrices are zero-padded to the widest
segment, so that one batched ``frames x frames`` Gram eigen-decomposition per
iteration gives every segment's truncated SVD (the projection ``U_k U_k^T M``
onto the first ``k`` left singular vectors; padded columns stay 0).

Differences from VIP's ``llsg`` (vip_hci 2.1): VIP's threshold is
``thresh * sqrt(MAD)`` (unscaled median absolute deviation, a quantity in
square-root data units) where exobench's is ``thresh`` noise standard
deviations; VIP runs ``max_iter + 1`` updates and computes its first
components on time-standardised data; its annuli end at half the frame size
(``int((y / 2 - radius_int) / asize)`` annuli) where exobench's reach the
largest inscribed circle (see :func:`exobench.algorithms.base.annuli`).
"""

import numbers

import numpy as np

from ..geometry import polar_grid
from .base import Algorithm, adi_cube, annuli, check_common, check_number, finish
from .pca import _one_blas_thread

__all__ = ["LLSG", "THRESHOLD_MODES"]

#: Thresholding of the sparse component.
THRESHOLD_MODES = ("soft", "hard")

#: Standard deviation of a Gaussian over its median absolute deviation.
_MAD_TO_STD = 1.482602218505602


class LLSG(Algorithm, name="llsg"):
    """Local low-rank plus sparse plus Gaussian decomposition (Gomez Gonzalez et al. 2016).

    Parameters
    ----------
    rank : int
        Rank of the low-rank component of each segment (at most the number of frames).
    thresh : float
        Threshold of the sparse component in units of the noise standard
        deviation of ``M - L`` in the segment (>= 0; 0 keeps all of ``M - L``).
    max_iter : int
        Number of (L, S) updates (>= 1).
    thresh_mode : {"soft", "hard"}
        Soft thresholding shrinks the kept entries by the threshold; hard keeps them as they are.
    asize : float
        Width of the annuli in FWHM (2 FWHM as in the paper).
    n_segments : int
        Azimuthal segments per annulus, the first starting at theta = 0.
    inner_radius : float
        Inner radius of the first annulus in FWHM (pixels inside are 0 in the residuals).
    collapse : {"mean", "median"}
        How the derotated sparse cube is collapsed into the final frame. The mean by
        default: the median of a sparse cube is 0 almost everywhere, which shrinks the
        background noise of the final frame and inflates S/N values (about 6x on NACO).
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = LLSG(rank=3).process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    """

    def __init__(self, *, rank=10, thresh=1.0, max_iter=10, thresh_mode="soft", asize=2.0,
                 n_segments=4, inner_radius=0.0, collapse="mean", derotation="bilinear"):
        self.rank = rank
        self.thresh = thresh
        self.max_iter = max_iter
        self.thresh_mode = thresh_mode
        self.asize = asize
        self.n_segments = n_segments
        self.inner_radius = inner_radius
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Decompose ``dataset`` (an ADI :class:`~exobench.data.Dataset`); residuals are the sparse part.

        Returns
        -------
        Result
        """
        cube = adi_cube(dataset)
        check_common(self)
        t, ny, nx = cube.shape
        rank = _check_integer(self.rank, "rank", 1, t, "the number of frames")
        max_iter = _check_integer(self.max_iter, "max_iter", 1)
        n_segments = _check_integer(self.n_segments, "n_segments", 1)
        thresh = check_number(self.thresh, "thresh")
        if self.thresh_mode not in THRESHOLD_MODES:
            raise ValueError(f"thresh_mode: expected one of {', '.join(map(repr, THRESHOLD_MODES))}, "
                             f"got {self.thresh_mode!r}")
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        fwhm = float(dataset.fwhm)
        masks, _ = annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        segments = _segments(masks, (ny, nx), n_segments)
        flat = cube.reshape(t, ny * nx)
        # (segments, frames, widest segment), zero-padded; `valid` marks the real pixels
        width = max(len(s) for s in segments)
        index = np.zeros((len(segments), width), dtype=np.intp)
        valid = np.zeros((len(segments), width), dtype=bool)
        for j, pixels in enumerate(segments):
            index[j, :len(pixels)] = pixels
            valid[j, :len(pixels)] = True
        data = np.where(valid[:, None, :], flat[:, index].transpose(1, 0, 2), 0.0)
        with _one_blas_thread():
            sparse = _godec(data, valid, rank=rank, thresh=thresh, max_iter=max_iter,
                            mode=self.thresh_mode)
        residuals = np.zeros_like(flat)
        residuals[:, index[valid]] = sparse.transpose(1, 0, 2)[:, valid]
        return finish(residuals.reshape(cube.shape), dataset, self)


def _check_integer(value, name, minimum, maximum=None, what=None):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected at most {maximum} ({what}), got {value}")
    return int(value)


def _segments(masks, shape, n_segments):
    """Flat pixel indices of each non-empty segment of each annulus (theta from 0, counter-clockwise)."""
    _, theta = polar_grid(shape)
    sector = np.minimum((theta * (n_segments / 360.0)).astype(np.intp), n_segments - 1).ravel()
    out = []
    for mask in masks:
        pixels = np.flatnonzero(mask.ravel())
        for k in range(n_segments):
            chosen = pixels[sector[pixels] == k]
            if chosen.size:
                out.append(chosen)
    return out


def _godec(data, valid, *, rank, thresh, max_iter, mode):
    """The sparse component ``S`` of every segment: ``data`` is ``(segments, frames, pixels)``."""
    n_frames = data.shape[1]
    k = min(rank, n_frames)
    sparse = np.zeros_like(data)
    padded = ~valid[:, None, :]
    for _ in range(max_iter):
        target = data - sparse
        gram = target @ target.transpose(0, 2, 1)
        _, vectors = np.linalg.eigh(gram)  # ascending eigenvalues
        top = vectors[:, :, -k:]
        low_rank = top @ (top.transpose(0, 2, 1) @ target)
        remainder = data - low_rank
        threshold = thresh * _robust_std(remainder, padded)
        sparse = _threshold(remainder, threshold[:, None, None], mode)
    return sparse


def _robust_std(values, padded):
    """1.4826 x the median absolute deviation of each segment's real entries (padding left out)."""
    masked = np.where(padded, np.nan, values).reshape(values.shape[0], -1)
    median = np.nanmedian(masked, axis=1, keepdims=True)
    return _MAD_TO_STD * np.nanmedian(np.abs(masked - median), axis=1)


def _threshold(values, threshold, mode):
    if mode == "soft":
        return np.sign(values) * np.maximum(np.abs(values) - threshold, 0.0)
    return np.where(np.abs(values) > threshold, values, 0.0)
