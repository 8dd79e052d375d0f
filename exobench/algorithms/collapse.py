"""Derotating and collapsing residual cubes into the final frame."""

import numpy as np

from .._threads import kernel_threads
from ..geometry import derotate_cube

__all__ = ["COLLAPSE_METHODS", "derotate_in_place", "median_frame"]

#: How the derotated residual cube is collapsed into the final frame.
COLLAPSE_METHODS = ("median", "mean")

#: Frames resampled per call of the in-place derotation (bounds its temporary).
_DEROTATION_FRAMES = 16


def derotate_in_place(cube, angles, *, method):
    """:func:`~exobench.geometry.derotate_cube` of a ``(t, y, x)`` float cube, written over ``cube``."""
    angles = np.asarray(angles, dtype=np.float64).ravel()
    for start in range(0, cube.shape[0], _DEROTATION_FRAMES):
        part = slice(start, start + _DEROTATION_FRAMES)
        cube[part] = derotate_cube(cube[part], angles[part], method=method)
    return cube

#: Cubes of at least this many values share :func:`median_frame`'s blocks among threads.
_MEDIAN_THREADED_SIZE = 2_000_000

#: Pixels per block of :func:`median_frame` (its working copy is this many pixels x frames).
_MEDIAN_BLOCK = 4096


def median_frame(cube, *, dtype=None):
    """``np.median(cube, axis=0)``, the same numbers, faster and without copying the cube.

    With ``dtype=numpy.float64`` a float32 cube gives exactly the median of its
    float64 copy (the selection is the same; the mean of the two middle values,
    for an even number of frames, is taken in float64) without making the copy.

    The median runs over blocks of pixels copied to a ``(pixels, frames)``
    buffer, each partitioned once along its contiguous last axis (numpy's
    vectorised selection works on a single ``kth`` only: for an even number of
    frames the lower middle value is the maximum of the lower part). A block
    with a non-finite value falls back to ``np.median`` (NaN handling). The
    blocks are shared among numba's threads (``numba.get_num_threads()``, the
    knob of every compiled kernel; numpy's selection releases the GIL), and the
    result does not depend on their number.
    """
    cube = np.asarray(cube)
    t = cube.shape[0]
    if t < 3 or cube.dtype.kind != "f":
        return np.median(cube, axis=0)
    flat = cube.reshape(t, -1)
    n_pixels = flat.shape[1]
    out = np.empty(n_pixels, dtype=np.result_type(cube.dtype, dtype or cube.dtype))
    block = min(_MEDIAN_BLOCK, n_pixels)
    starts = range(0, n_pixels, block)
    # threads only pay off on large cubes (starting them costs about a millisecond)
    threads = min(kernel_threads(), len(starts)) if flat.size >= _MEDIAN_THREADED_SIZE else 1
    if threads < 2:
        _median_blocks(flat, out, starts, block)
        return out.reshape(cube.shape[1:])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda part: _median_blocks(flat, out, part, block),
                      [starts[i::threads] for i in range(threads)]))
    return out.reshape(cube.shape[1:])


def _median_blocks(flat, out, starts, block):
    """The medians of the pixel blocks starting at ``starts`` (see :func:`median_frame`)."""
    t, n_pixels = flat.shape
    buffer = np.empty((block, t), dtype=flat.dtype)
    k = t // 2
    for start in starts:
        stop = min(start + block, n_pixels)
        work = buffer[:stop - start]
        work[...] = flat[:, start:stop].T
        target = out[start:stop]
        if not np.isfinite(work.sum()):
            target[...] = np.median(flat[:, start:stop].astype(out.dtype), axis=0)
            continue
        work.partition(k, axis=1)
        if t % 2:
            target[...] = work[:, k]
        else:  # as numpy: the mean of the two middle values, (a + b) / 2, in the output's precision
            target[...] = np.max(work[:, :k], axis=1)
            target += work[:, k]
            target /= 2
