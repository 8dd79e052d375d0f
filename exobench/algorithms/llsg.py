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
segments advance together, one iteration at a time: each iteration's truncated
SVDs (the projection ``U_k U_k^T M`` onto the first ``k`` left singular
vectors) come from the ``k`` largest eigenpairs of the segments' ``frames x
frames`` Gram matrices, solved in one compiled call
(:mod:`exobench.algorithms._eigen`, spread over numba's threads; LAPACK beyond
72 frames). The noise level is an exact median absolute deviation: a sorted
sample brackets each median, one compiled pass gathers the entries inside the
bracket, and only those are partitioned (see ``_median_of``).

Differences from VIP's ``llsg`` (vip_hci 2.1): VIP's threshold is
``thresh * sqrt(MAD)`` (unscaled median absolute deviation, a quantity in
square-root data units) where exobench's is ``thresh`` noise standard
deviations; VIP runs ``max_iter + 1`` updates and computes its first
components on time-standardised data; its annuli end at half the frame size
(``int((y / 2 - radius_int) / asize)`` annuli) where exobench's reach the
largest inscribed circle (see :func:`exobench.algorithms.base.annuli`).
"""

import functools
import numpy as np

from .._threads import one_blas_thread
from .._validate import check_choice, check_integer, check_number
from ._eigen import top_eigenvectors_batch
from .annuli import annuli, annulus_segments
from .base import Algorithm, adi_cube, check_common, finish

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
        rank = check_integer(self.rank, "rank", minimum=1, maximum=t, what="the number of frames")
        max_iter = check_integer(self.max_iter, "max_iter", minimum=1)
        n_segments = check_integer(self.n_segments, "n_segments", minimum=1)
        thresh = check_number(self.thresh, "thresh")
        check_choice(self.thresh_mode, "thresh_mode", THRESHOLD_MODES)
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        fwhm = float(dataset.fwhm)
        masks, _ = annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        segments = [pixels for _, _, pixels in annulus_segments(masks, (ny, nx), n_segments)]
        flat = cube.reshape(t, ny * nx)
        with one_blas_thread():
            sparse = _godec([flat[:, pixels] for pixels in segments], rank=rank, thresh=thresh,
                            max_iter=max_iter, mode=self.thresh_mode)
        residuals = np.zeros_like(flat)
        for pixels, part in zip(segments, sparse):
            residuals[:, pixels] = part
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)


def _godec(matrices, *, rank, thresh, max_iter, mode):
    """The sparse components ``S`` of the segments' ``frames x pixels`` matrices (float64, C order).

    The segments advance together, one iteration at a time, so that each
    iteration's eigenproblems (one ``frames x frames`` Gram matrix per segment)
    are solved in one compiled call (:func:`exobench.algorithms._eigen.top_eigenvectors_batch`).
    """
    n_frames = matrices[0].shape[0]
    k = min(rank, n_frames)
    data = [np.ascontiguousarray(m, dtype=np.float64) for m in matrices]
    targets = list(data)
    remainders = [np.empty_like(m) for m in data]
    sparse = [np.empty_like(m) for m in data]
    scratch = np.empty(max(m.size for m in data))
    grams = np.empty((len(data), n_frames, n_frames))
    for _ in range(max_iter):
        for index, target in enumerate(targets):
            np.matmul(target, target.T, out=grams[index])  # a @ a.T: one symmetric rank-k update (syrk)
        tops = top_eigenvectors_batch(grams, k)
        for index, (matrix, target, remainder) in enumerate(zip(data, targets, remainders)):
            top = tops[index]
            np.subtract(matrix, top @ (top.T @ target), out=remainder)
            threshold = thresh * _robust_std(remainder, scratch)
            _threshold(remainder, threshold, mode, out=sparse[index])
            targets[index] = np.subtract(matrix, sparse[index], out=remainder)  # remainder is free again
    return sparse


#: Below this many entries, medians are a plain partition; above, a sample brackets them first.
_SAMPLED_MEDIAN_MIN = 8192
_SAMPLE_SIZE = 2048


def _median_of(values, scratch, center=None):
    """Exact median of the entries of ``values`` (C-contiguous), or of ``|values - center|``.

    A large array is not partitioned whole: a sorted sample of n / 32 entries (at most 2048)
    (spread over the array by a fixed low-discrepancy sequence) gives two
    values that bracket the median with high probability; one compiled pass
    counts the entries below the bracket and gathers those inside it into
    ``scratch``, and only those are partitioned. When the bracket misses (rare),
    the whole array is partitioned. Either way, the exact median (the mean of
    the two middle entries for an even count, as ``np.median``).
    """
    flat = values.ravel()
    n = flat.size
    half = n // 2
    low_rank = half if n % 2 else half - 1  # the middle entries' ranks: low_rank and half
    if n >= _SAMPLED_MEDIAN_MIN:
        sample = flat[_sample_indices(n, min(_SAMPLE_SIZE, n // 32))]
        if center is not None:
            sample = np.abs(sample - center)
        sample.sort()
        position = half * sample.size // n
        margin = int(3.5 * np.sqrt(sample.size) / 2) + 4
        lo = sample[max(position - margin, 0)]
        hi = sample[min(position + margin, sample.size - 1)]
        below, count = _kernels()["bracket"](flat, 0.0 if center is None else float(center), center is not None,
                                             lo, hi, scratch)
        if below <= low_rank and half < below + count:
            return _middle(scratch[:count], low_rank - below, half - below)
    work = scratch[:n]
    if center is None:
        work[...] = flat
    else:
        np.subtract(flat, center, out=work)
        np.abs(work, out=work)
    return _middle(work, low_rank, half)


def _middle(work, low, high):
    """The mean of the entries of ranks ``low`` and ``high`` (equal or consecutive) of ``work`` (reordered)."""
    work.partition(high)
    if low == high:
        return float(work[high])
    return (float(work[:high].max()) + float(work[high])) / 2.0


@functools.lru_cache(maxsize=256)
def _sample_indices(n, size):
    """``size`` indices spread over ``range(n)`` (golden-ratio sequence, not aligned with rows)."""
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    indices = (np.mod(np.arange(size) * golden, 1.0) * n).astype(np.intp)
    indices.flags.writeable = False
    return indices


@functools.lru_cache(maxsize=None)
def _kernels():
    import numba  # deferred, as in exobench.geometry.interpolate

    @numba.njit(cache=True, nogil=True)
    def bracket(values, center, absolute, lo, hi, out):
        # entries (or |entry - center|) below lo counted; those in [lo, hi] copied to out (branch-free)
        below = 0
        count = 0
        for index in range(values.size):
            v = values[index]
            if absolute:
                v = abs(v - center)
            below += v < lo
            out[count] = v
            count += (v >= lo) & (v <= hi)
        return below, count

    return {"bracket": bracket}


def _robust_std(values, scratch):
    """1.4826 x the median absolute deviation of all entries of ``values`` (``scratch``: a work buffer)."""
    median = _median_of(values, scratch)
    return _MAD_TO_STD * _median_of(values, scratch, center=median)


def _threshold(values, threshold, mode, out):
    if mode == "soft":  # sign(v) * max(|v| - threshold, 0), exactly
        np.clip(values, -threshold, threshold, out=out)
        return np.subtract(values, out, out=out)
    np.greater(np.abs(values), threshold, out=out)
    return np.multiply(values, out, out=out)
