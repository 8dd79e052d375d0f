"""Compiled interpolation kernels behind rotation and shifts.

Every frame ``i`` of a stack is resampled through its own affine map: output
pixel ``(x, y)`` takes the input value at

    xs = ax[i] * x + bx[i] * y + cx[i]
    ys = ay[i] * x + by[i] * y + cy[i]

which covers rotations about any centre and sub-pixel shifts. A sample point
within ``SNAP`` (1e-9 px) of a pixel centre is taken as that pixel centre, and
taps of zero weight are never read: exact and near-exact grid positions
(rotation by 0 or by quarter turns, integer shifts) copy pixels exactly, and a
NaN pixel or a NaN ``fill_value`` reaches only the outputs that really depend on
it. The loops are
compiled with numba (imported on first use, so that ``import exobench`` and the
scoring program stay light) and run on one thread: the parallel layer decides
how many processes to use, not the kernel.
"""

import functools

import numpy as np

__all__ = ["sample_affine", "INTERPOLATIONS"]

INTERPOLATIONS = ("bilinear", "bicubic")

# Added to sample coordinates so that they are positive where a tap can still reach the
# frame: int() then truncates like floor(), and anything further out only sees the fill.
_OFFSET = 16

#: Sample points closer than this (px) to a pixel centre are snapped onto it, so that
#: cos(90 deg) = 6e-17 and the like do not turn exact copies into interpolations.
SNAP = 1e-9


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

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    snap = SNAP  # a closure constant: frozen into the compiled code

    @jit
    def bilinear(frames, coef, fill, out):
        n, ny, nx = frames.shape
        for i in range(n):
            ax, bx, cx, ay, by, cy = coef[i, 0], coef[i, 1], coef[i, 2], coef[i, 3], coef[i, 4], coef[i, 5]
            frame = frames[i]
            for y in range(ny):
                # shifted by _OFFSET so that int() truncates like floor() wherever it matters
                row_x = bx * y + cx + _OFFSET
                row_y = by * y + cy + _OFFSET
                for x in range(nx):
                    xs = ax * x + row_x
                    ys = ay * x + row_y
                    ix = int(xs)
                    iy = int(ys)
                    fx = xs - ix
                    fy = ys - iy
                    # snap onto a pixel centre within SNAP (cos(90 deg) = 6e-17 and the like)
                    if fx < snap:
                        fx = 0.0
                    elif fx > 1.0 - snap:
                        fx = 0.0
                        ix += 1
                    if fy < snap:
                        fy = 0.0
                    elif fy > 1.0 - snap:
                        fy = 0.0
                        iy += 1
                    ix -= _OFFSET
                    iy -= _OFFSET
                    # zero-weight taps are skipped, not multiplied by 0 (0 * NaN is NaN)
                    inside = ix >= 0 and iy >= 0 and ix + 1 < nx and iy + 1 < ny
                    if inside and fx != 0.0 and fy != 0.0:  # the common case
                        v00 = frame[iy, ix]
                        v01 = frame[iy, ix + 1]
                        v10 = frame[iy + 1, ix]
                        v11 = frame[iy + 1, ix + 1]
                        top = v00 + fx * (v01 - v00)
                        bottom = v10 + fx * (v11 - v10)
                        out[i, y, x] = top + fy * (bottom - top)
                    else:
                        top = _lerp(frame, iy, ix, fx, fill)
                        if fy != 0.0:
                            top += fy * (_lerp(frame, iy + 1, ix, fx, fill) - top)
                        out[i, y, x] = top

    @jit
    def bicubic(frames, coef, fill, out):
        n, ny, nx = frames.shape
        wx = np.empty(4)
        wy = np.empty(4)
        for i in range(n):
            ax, bx, cx, ay, by, cy = coef[i, 0], coef[i, 1], coef[i, 2], coef[i, 3], coef[i, 4], coef[i, 5]
            frame = frames[i]
            for y in range(ny):
                row_x = bx * y + cx + _OFFSET
                row_y = by * y + cy + _OFFSET
                for x in range(nx):
                    ix, fx = _split(ax * x + row_x)
                    iy, fy = _split(ay * x + row_y)
                    _cubic(fx, wx)
                    _cubic(fy, wy)
                    ix -= _OFFSET + 1  # the first of the 4 taps
                    iy -= _OFFSET + 1
                    acc = 0.0
                    inside = ix >= 0 and iy >= 0 and ix + 3 < nx and iy + 3 < ny
                    if inside and fx != 0.0 and fy != 0.0:  # the common case
                        for j in range(4):
                            line = 0.0
                            for k in range(4):
                                line += wx[k] * frame[iy + j, ix + k]
                            acc += wy[j] * line
                    else:
                        # at a zero fraction only the central tap has a weight (1): skip the
                        # others rather than multiply them by 0 (0 * NaN is NaN)
                        kx0, kx1 = (1, 2) if fx == 0.0 else (0, 4)
                        ky0, ky1 = (1, 2) if fy == 0.0 else (0, 4)
                        for j in range(ky0, ky1):
                            line = 0.0
                            for k in range(kx0, kx1):
                                line += wx[k] * _pixel(frame, iy + j, ix + k, fill)
                            acc += wy[j] * line
                    out[i, y, x] = acc

    @jit
    def _pixel(frame, iy, ix, fill):
        if 0 <= iy < frame.shape[0] and 0 <= ix < frame.shape[1]:
            return frame[iy, ix]
        return fill

    @jit
    def _split(value):
        # integer part and fraction in [0, 1), a fraction within SNAP of 0 or 1 made exactly 0
        floor = np.floor(value)
        fraction = value - floor
        index = int(floor)
        if fraction < snap:
            return index, 0.0
        if fraction > 1.0 - snap:
            return index + 1, 0.0
        return index, fraction

    @jit
    def _lerp(frame, iy, ix, fx, fill):
        # the row iy between columns ix and ix + 1; the second is not read when fx == 0
        left = _pixel(frame, iy, ix, fill)
        if fx == 0.0:
            return left
        return left + fx * (_pixel(frame, iy, ix + 1, fill) - left)

    @jit
    def _cubic(t, w):
        t2 = t * t
        t3 = t2 * t
        w[0] = -0.5 * t3 + t2 - 0.5 * t
        w[1] = 1.5 * t3 - 2.5 * t2 + 1.0
        w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
        w[3] = 0.5 * t3 - 0.5 * t2

    return {"bilinear": bilinear, "bicubic": bicubic}
