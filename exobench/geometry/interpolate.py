"""Compiled interpolation kernels behind rotation and shifts.

Every frame ``i`` of a stack is resampled through its own affine map: output
pixel ``(x, y)`` takes the input value at

    xs = ax[i] * x + bx[i] * y + cx[i]
    ys = ay[i] * x + by[i] * y + cy[i]

which covers rotations about any centre and sub-pixel shifts. The loops are
compiled with numba (imported on first use, so that ``import exobench`` and the
scoring program stay light) and run on one thread: the parallel layer decides
how many processes to use, not the kernel.
"""

import functools

import numpy as np

__all__ = ["sample_affine", "INTERPOLATIONS"]

INTERPOLATIONS = ("bilinear", "bicubic")


def sample_affine(frames, coefficients, *, method, fill_value=0.0):
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

    Returns
    -------
    ndarray, same shape and dtype as ``frames``
    """
    frames = np.ascontiguousarray(frames)
    coefficients = np.ascontiguousarray(coefficients, dtype=np.float64)
    out = np.empty_like(frames)
    _kernels()[method](frames, coefficients, float(fill_value), out)
    return out


@functools.cache
def _kernels():
    import numba  # deferred: compiling costs about a second, once per process (cached on disk)

    jit = numba.njit(cache=True, nogil=True, fastmath=False)

    @jit
    def bilinear(frames, coef, fill, out):
        n, ny, nx = frames.shape
        for i in range(n):
            ax, bx, cx, ay, by, cy = coef[i, 0], coef[i, 1], coef[i, 2], coef[i, 3], coef[i, 4], coef[i, 5]
            for y in range(ny):
                row_x = bx * y + cx
                row_y = by * y + cy
                for x in range(nx):
                    xs = ax * x + row_x
                    ys = ay * x + row_y
                    x0 = np.floor(xs)
                    y0 = np.floor(ys)
                    fx = xs - x0
                    fy = ys - y0
                    ix = int(x0)
                    iy = int(y0)
                    if ix >= 0 and iy >= 0 and ix + 1 < nx and iy + 1 < ny:
                        v00 = frames[i, iy, ix]
                        v01 = frames[i, iy, ix + 1]
                        v10 = frames[i, iy + 1, ix]
                        v11 = frames[i, iy + 1, ix + 1]
                    else:
                        v00 = _pixel(frames, i, iy, ix, fill)
                        v01 = _pixel(frames, i, iy, ix + 1, fill)
                        v10 = _pixel(frames, i, iy + 1, ix, fill)
                        v11 = _pixel(frames, i, iy + 1, ix + 1, fill)
                    top = v00 + fx * (v01 - v00)
                    bottom = v10 + fx * (v11 - v10)
                    out[i, y, x] = top + fy * (bottom - top)

    @jit
    def bicubic(frames, coef, fill, out):
        n, ny, nx = frames.shape
        wx = np.empty(4)
        wy = np.empty(4)
        for i in range(n):
            ax, bx, cx, ay, by, cy = coef[i, 0], coef[i, 1], coef[i, 2], coef[i, 3], coef[i, 4], coef[i, 5]
            for y in range(ny):
                row_x = bx * y + cx
                row_y = by * y + cy
                for x in range(nx):
                    xs = ax * x + row_x
                    ys = ay * x + row_y
                    x0 = np.floor(xs)
                    y0 = np.floor(ys)
                    _cubic(xs - x0, wx)
                    _cubic(ys - y0, wy)
                    ix = int(x0) - 1
                    iy = int(y0) - 1
                    acc = 0.0
                    if ix >= 0 and iy >= 0 and ix + 3 < nx and iy + 3 < ny:
                        for j in range(4):
                            line = 0.0
                            for k in range(4):
                                line += wx[k] * frames[i, iy + j, ix + k]
                            acc += wy[j] * line
                    else:
                        for j in range(4):
                            line = 0.0
                            for k in range(4):
                                line += wx[k] * _pixel(frames, i, iy + j, ix + k, fill)
                            acc += wy[j] * line
                    out[i, y, x] = acc

    @jit
    def _pixel(frames, i, iy, ix, fill):
        if 0 <= iy < frames.shape[1] and 0 <= ix < frames.shape[2]:
            return frames[i, iy, ix]
        return fill

    @jit
    def _cubic(t, w):
        t2 = t * t
        t3 = t2 * t
        w[0] = -0.5 * t3 + t2 - 0.5 * t
        w[1] = 1.5 * t3 - 2.5 * t2 + 1.0
        w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
        w[3] = 0.5 * t3 - 0.5 * t2

    return {"bilinear": bilinear, "bicubic": bicubic}
