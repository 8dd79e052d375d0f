"""Pairwise frame differencing.

Per annulus, each frame's reference is the frame (or the median of the
``n_pairs`` frames) that resembles it most among those where a source at the
annulus's radius has moved by at least ``delta`` FWHM of arc: the smallest sum
of squared differences over the annulus's pixels. The reference is subtracted,
the residual cube derotated and collapsed. Close to VIP's ``frame_diff`` with
``metric="euclidean"`` (the same ranking as the sum of squares) and
``n_similar`` for ``n_pairs``, without its cut of the candidates at a
percentile of the distances (``dist_threshold``).

The sums of squares of every pair of frames come from one Gram matrix per
annulus (``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b``, of the pixels centred over time so
that the cancellation is that of the speckles, not of the star's halo): one
matrix product per annulus, no loop over frames or pixels.
"""

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_integer, check_number
from .annuli import annuli, rotation_thresholds
from .base import Algorithm, adi_cube, check_common, finish

__all__ = ["PairwiseADI", "best_matches"]

#: Largest number of values gathered at once for the median of several references (memory bound, about 64 MB).
_CHUNK_VALUES = 8_000_000


class PairwiseADI(Algorithm, name="pairwise"):
    """Pairwise frame differencing with an optimal match per frame and annulus.

    The frame is cut into annuli ``asize`` FWHM wide from ``inner_radius`` FWHM
    to the largest circle inscribed in the frame (pixels outside are 0 in the
    residuals). In each annulus, frame ``i``'s candidates are the frames ``j``
    with ``|angles[j] - angles[i]| >= delta * fwhm / r`` radians (``r`` the
    annulus's mean radius), i.e. where a source at ``r`` has moved by at least
    ``delta`` FWHM of arc; where fewer than ``n_pairs`` frames qualify, the
    threshold is lowered to keep the ``n_pairs`` frames farthest in angle. The
    frame itself is never a candidate (``delta=0`` makes every other frame
    one). Among the candidates, the ``n_pairs`` with the smallest sum of
    squared differences to frame ``i`` over the annulus are chosen (ties: the
    earlier frame), and their pixel-wise median (the frame itself for
    ``n_pairs=1``) is subtracted from frame ``i``.

    Parameters
    ----------
    n_pairs : int
        Number of best-matching frames whose median is subtracted (1: plain
        pairwise differencing). At most the number of frames minus one.
    asize : float
        Width of the annuli in FWHM.
    inner_radius : float
        Inner radius of the first annulus in FWHM.
    delta : float
        Minimum rotation of the candidate frames, in FWHM of arc at the annulus's mean radius.
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = PairwiseADI(n_pairs=3).process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    """

    def __init__(self, *, n_pairs=1, asize=1.0, inner_radius=0.0, delta=1.0, collapse="median",
                 derotation="bilinear"):
        self.n_pairs = n_pairs
        self.asize = asize
        self.inner_radius = inner_radius
        self.delta = delta
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
        t, ny, nx = cube.shape
        if t < 2:
            raise ValueError(f"dataset: expected at least 2 frames for pairwise differencing, got {t}")
        count = check_integer(self.n_pairs, "n_pairs", minimum=1, maximum=t - 1,
                              what="the number of frames minus one")
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        delta = check_number(self.delta, "delta")
        fwhm = float(dataset.fwhm)
        angles = np.asarray(dataset.angles, dtype=np.float64)
        masks, radii = annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        flat = cube.reshape(t, ny * nx)
        residuals = np.zeros_like(flat)
        itself = np.eye(t, dtype=bool)
        with one_blas_thread():  # small products: faster on one thread, the same bytes anywhere
            for mask, radius in zip(masks, radii):
                pixels = np.flatnonzero(mask.ravel())
                values = flat[:, pixels]
                thresholds, distance = rotation_thresholds(angles, radius, delta, fwhm, count)
                allowed = (distance >= thresholds[:, None]) & ~itself
                chosen = best_matches(values, allowed, count)
                residuals[:, pixels] = values - _median_of(values, chosen)
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)


def best_matches(values, allowed, count):
    """Row ``i``: the ``count`` rows ``j`` of ``values`` with ``allowed[i, j]`` closest to row ``i``.

    Closest: the smallest sum of squared differences, ties broken by the lower
    index. Every row of ``allowed`` must hold at least ``count`` True.

    Examples
    --------
    >>> values = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    >>> best_matches(values, ~np.eye(3, dtype=bool), 1).ravel().tolist()
    [1, 0, 1]
    """
    centred = values - values.mean(axis=0)
    gram = centred @ centred.T
    norms = np.diag(gram)
    squares = norms[:, None] + norms[None, :] - 2.0 * gram
    squares[~allowed] = np.inf
    return np.argsort(squares, axis=1, kind="stable")[:, :count]


def _median_of(values, chosen):
    """Row ``i``: the pixel-wise median of the rows ``chosen[i]`` of ``values`` (the row itself for one)."""
    if chosen.shape[1] == 1:
        return values[chosen[:, 0]]
    out = np.empty_like(values)
    step = max(1, _CHUNK_VALUES // (chosen.shape[1] * values.shape[1]))
    for start in range(0, values.shape[0], step):
        rows = slice(start, start + step)
        out[rows] = np.median(values[chosen[rows]], axis=1)
    return out
