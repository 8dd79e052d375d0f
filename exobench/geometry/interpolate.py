"""Compiled interpolation kernels behind rotation and shifts.

Every frame ``i`` of a stack is resampled through its own affine map: output
pixel ``(x, y)`` takes the input value at

    xs = ax[i] * x + bx[i] * y + cx[i]
    ys = ay[i] * x + by[i] * y + cy[i]

which covers rotations about any centre and sub-pixel shifts.

Exactness: coefficients within ``SNAP`` of an integer are made that integer
(``cos(90 deg)`` is 6e-17, not 0), so quarter turns and integer shifts copy
pixels exactly. Taps of zero weight are never read, so a NaN pixel or a NaN
``fill_value`` reaches only the outputs that really depend on it.

Speed: along an output row the sample points lie on a line, so the stretch of
the row whose taps all fall inside the frame is found once per row; that
stretch runs a branch-light loop, and only the pixels near the edges take the
careful path (bounds, fill value). The loops are compiled with numba (imported
on first use, so that ``import exobench`` and the scoring program stay light).

Threads: frames are resampled in parallel on numba's threads, as many as
cores by default. Results do not depend on the number of threads (each frame
is computed alone). A process that shares its cores with others (a Dask worker,
a benchmark of one thread) limits them with ``NUMBA_NUM_THREADS`` or
:func:`numba.set_num_threads`.
"""

import functools

import numpy as np

from ._common import check_out, check_where

__all__ = ["sample_affine", "INTERPOLATIONS"]

INTERPOLATIONS = ("bilinear", "bicubic")

#: Affine coefficients closer than this to an integer are snapped onto it.
SNAP = 1e-9


def sample_affine(frames, coefficients, *, method, fill_value=0.0, where=None, out=None):
    """Resample each frame through its affine map.

    Parameters
    ----------
    frames : ndarray, shape ``(n, ny, nx)``, float32 or float64
    coefficients : ndarray, shape ``(n, 6)``
        ``(ax, bx, cx, ay, by, cy)`` per frame (see the module documentation).
    method : {"bilinear", "bicubic"}
        Bilinear, or Keys cubic convolution with a = -0.5 (Catmull-Rom).
    fill_value : float
        Value of the frame outside its edges.
    where : ndarray of bool, shape ``(ny, nx)``, optional
        Compute only the output pixels where ``True`` (the others are
        ``fill_value``); those are the same, bit for bit, as without ``where``.
    out : ndarray, optional
        Where to write the result: C-contiguous, the shape and dtype of
        ``frames``. With ``where``, only its pixels are written and the others
        keep whatever ``out`` held: one buffer serves many calls that read only
        ``where`` (no new pages to clear at each call).

    Returns
    -------
    ndarray, same shape and dtype as ``frames``
    """
    frames = np.ascontiguousarray(frames)
    coefficients = np.array(coefficients, dtype=np.float64)
    rounded = np.round(coefficients)
    coefficients = np.where(np.abs(coefficients - rounded) < SNAP, rounded, coefficients)
    ny, nx = frames.shape[-2:]
    if out is not None:
        check_out(out, frames)
    elif where is None:
        out = np.empty_like(frames)
    elif fill_value == 0:  # zero pages from the OS, filled only where the kernel writes or the caller reads
        out = np.zeros(frames.shape, dtype=frames.dtype)
    else:
        out = np.full_like(frames, fill_value)
    _kernels()[method](frames, coefficients, float(fill_value), _segments(where, ny, nx), out)
    return out


def _segments(where, ny, nx):
    """``(m, 3)`` int64: the runs ``(y, x_lo, x_hi)`` of output pixels to compute, row by row."""
    if where is None:
        return np.column_stack([np.arange(ny), np.zeros(ny, dtype=np.int64), np.full(ny, nx)]).astype(np.int64)
    where = check_where(where, ny, nx)
    edges = np.diff(np.pad(where, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)[1]
    return np.column_stack([rows, starts, ends]).astype(np.int64)


@functools.lru_cache(maxsize=None)
def _kernels():
    from . import _interpolate_kernels as kernels  # deferred: numba and the compiled loops

    return {"bilinear": kernels.bilinear, "bicubic": kernels.bicubic}
