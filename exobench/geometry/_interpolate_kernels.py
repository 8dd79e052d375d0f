"""The compiled loops of :mod:`exobench.geometry.interpolate` and of the Fourier shears of
:mod:`exobench.geometry.rotate` (numba).

Module-level functions, so that numba's on-disk cache holds them across
processes (kernels defined inside a function are new closures in every process
and miss the cache). Imported on first use only: importing numba and loading
the kernels costs time that ``import exobench`` should not pay.
"""

import numba
import numpy as np

# fast-math without the no-NaN / no-inf assumptions: NaN pixels must stay NaN
_FLAGS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "reassoc", "arcp", "nsz", "afn"})
jit = numba.njit(**_FLAGS)
# frames are independent: the kernels spread them over numba's threads (see interpolate's doc)
jit_frames = numba.njit(parallel=True, **_FLAGS)


@jit
def _span(a, b, lower, upper):
    # the x range (floats) where lower <= a * x + b < upper
    if a > 0.0:
        return (lower - b) / a, (upper - b) / a
    if a < 0.0:
        return (upper - b) / a, (lower - b) / a
    if lower <= b < upper:
        return -1e300, 1e300
    return 1.0, 0.0

@jit
def _interior(ax, row_x, ay, row_y, nx, ny, before, after):
    # [x0, x1): output pixels of this row whose taps (from `before` left of the sample's
    # floor to `after` right of it) all fall inside the frame
    x_lo, x_hi = _span(ax, row_x, float(before), float(nx - after))
    y_lo, y_hi = _span(ay, row_y, float(before), float(ny - after))
    lo = max(x_lo, y_lo, 0.0)
    hi = min(x_hi, y_hi, float(nx))
    if hi <= lo:
        return 0, 0
    x0 = int(np.ceil(lo))
    x1 = int(np.ceil(hi))
    # rounding at the ends: check them exactly
    while x0 < x1 and not _inside(ax * x0 + row_x, ay * x0 + row_y, nx, ny, before, after):
        x0 += 1
    while x1 > x0 and not _inside(ax * (x1 - 1) + row_x, ay * (x1 - 1) + row_y, nx, ny, before, after):
        x1 -= 1
    return x0, x1

@jit
def _inside(xs, ys, nx, ny, before, after):
    return before <= xs < nx - after and before <= ys < ny - after

@jit
def _pixel(frame, iy, ix, fill):
    if 0 <= iy < frame.shape[0] and 0 <= ix < frame.shape[1]:
        return frame[iy, ix]
    return fill

@jit
def _lerp(frame, iy, ix, fx, fill):
    # the row iy between columns ix and ix + 1; the second is not read when fx == 0
    left = _pixel(frame, iy, ix, fill)
    if fx == 0.0:
        return left
    return left + fx * (_pixel(frame, iy, ix + 1, fill) - left)

@jit
def _bilinear_careful(frame, xs, ys, fill):
    if not (-1.0 < xs < frame.shape[1] and -1.0 < ys < frame.shape[0]):
        return fill  # no tap inside the frame (the corners of a rotated frame)
    fx0 = np.floor(xs)
    fy0 = np.floor(ys)
    ix, iy = int(fx0), int(fy0)
    fx, fy = xs - fx0, ys - fy0
    top = _lerp(frame, iy, ix, fx, fill)
    if fy != 0.0:
        top += fy * (_lerp(frame, iy + 1, ix, fx, fill) - top)
    return top

@jit_frames
def bilinear(frames, coef, fill, segments, out):
    # only the output pixels of the row segments (y, x_lo, x_hi) are written
    n, ny, nx = frames.shape
    for i in numba.prange(n):
        typed = np.empty(2, frames.dtype)  # casts fractions to the frames' precision
        ax, bx, cx, ay, by, cy = coef[i, 0], coef[i, 1], coef[i, 2], coef[i, 3], coef[i, 4], coef[i, 5]
        frame = frames[i]
        plane = out[i]
        for segment in range(segments.shape[0]):
            y, x_lo, x_hi = segments[segment, 0], segments[segment, 1], segments[segment, 2]
            row_x = bx * y + cx
            row_y = by * y + cy
            x0, x1 = _interior(ax, row_x, ay, row_y, nx, ny, 0, 1)
            x0 = min(max(x0, x_lo), x_hi)
            x1 = max(min(x1, x_hi), x0)
            on_grid = False
            for x in range(x0, x1):
                xs = ax * x + row_x
                ys = ay * x + row_y
                ix = int(xs)  # xs >= 0 here: truncation is floor
                iy = int(ys)
                typed[0] = xs - ix
                typed[1] = ys - iy
                fx = typed[0]
                fy = typed[1]
                on_grid |= (fx == 0.0) | (fy == 0.0)
                v00 = frame[iy, ix]
                v01 = frame[iy, ix + 1]
                v10 = frame[iy + 1, ix]
                v11 = frame[iy + 1, ix + 1]
                top = v00 + fx * (v01 - v00)
                bottom = v10 + fx * (v11 - v10)
                plane[y, x] = top + fy * (bottom - top)
            if on_grid:  # rare: redo the samples with a zero fraction, without their 0-weight taps
                for x in range(x0, x1):
                    xs = ax * x + row_x
                    ys = ay * x + row_y
                    if xs == int(xs) or ys == int(ys):
                        plane[y, x] = _bilinear_careful(frame, xs, ys, fill)
            for x in range(x_lo, x0):
                plane[y, x] = _bilinear_careful(frame, ax * x + row_x, ay * x + row_y, fill)
            for x in range(x1, x_hi):
                plane[y, x] = _bilinear_careful(frame, ax * x + row_x, ay * x + row_y, fill)

@jit
def _cubic4(t):
    t2 = t * t
    t3 = t2 * t
    return (-0.5 * t3 + t2 - 0.5 * t, 1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t, 0.5 * t3 - 0.5 * t2)

@jit
def _cubic4_typed(t, keys):
    # _cubic4 with constants of t's precision (a float64 literal would promote float32 to float64)
    half, one, a15, a25, two = keys[0], keys[1], keys[2], keys[3], keys[4]
    t2 = t * t
    t3 = t2 * t
    return (-half * t3 + t2 - half * t, a15 * t3 - a25 * t2 + one,
            -a15 * t3 + two * t2 + half * t, half * t3 - half * t2)

@jit
def _bicubic_careful(frame, xs, ys, fill):
    if not (-2.0 < xs < frame.shape[1] + 1.0 and -2.0 < ys < frame.shape[0] + 1.0):
        return fill  # no tap inside the frame (the corners of a rotated frame)
    fx0 = np.floor(xs)
    fy0 = np.floor(ys)
    ix, iy = int(fx0) - 1, int(fy0) - 1  # the first of the 4 taps
    fx, fy = xs - fx0, ys - fy0
    wx = _cubic4(fx)
    wy = _cubic4(fy)
    # at a zero fraction only the central tap has a weight (1): skip the others
    # rather than multiply them by 0 (0 * NaN is NaN)
    kx0, kx1 = (1, 2) if fx == 0.0 else (0, 4)
    ky0, ky1 = (1, 2) if fy == 0.0 else (0, 4)
    acc = 0.0
    for j in range(ky0, ky1):
        line = 0.0
        for k in range(kx0, kx1):
            line += wx[k] * _pixel(frame, iy + j, ix + k, fill)
        acc += wy[j] * line
    return acc

@jit_frames
def bicubic(frames, coef, fill, segments, out):
    # only the output pixels of the row segments (y, x_lo, x_hi) are written
    n, ny, nx = frames.shape
    keys = np.array([0.5, 1.0, 1.5, 2.5, 2.0], dtype=frames.dtype)  # Keys' constants, typed
    for i in numba.prange(n):
        typed = np.empty(2, frames.dtype)  # casts fractions to the frames' precision
        ax, bx, cx, ay, by, cy = coef[i, 0], coef[i, 1], coef[i, 2], coef[i, 3], coef[i, 4], coef[i, 5]
        frame = frames[i]
        plane = out[i]
        for segment in range(segments.shape[0]):
            y, x_lo, x_hi = segments[segment, 0], segments[segment, 1], segments[segment, 2]
            row_x = bx * y + cx
            row_y = by * y + cy
            x0, x1 = _interior(ax, row_x, ay, row_y, nx, ny, 1, 2)
            x0 = min(max(x0, x_lo), x_hi)
            x1 = max(min(x1, x_hi), x0)
            on_grid = False
            for x in range(x0, x1):
                xs = ax * x + row_x
                ys = ay * x + row_y
                ix = int(xs)
                iy = int(ys)
                typed[0] = xs - ix
                typed[1] = ys - iy
                fx = typed[0]
                fy = typed[1]
                on_grid |= (fx == 0.0) | (fy == 0.0)
                w0, w1, w2, w3 = _cubic4_typed(fx, keys)
                v0, v1, v2, v3 = _cubic4_typed(fy, keys)
                ix -= 1
                iy -= 1
                r0 = (w0 * frame[iy, ix] + w1 * frame[iy, ix + 1]
                      + w2 * frame[iy, ix + 2] + w3 * frame[iy, ix + 3])
                r1 = (w0 * frame[iy + 1, ix] + w1 * frame[iy + 1, ix + 1]
                      + w2 * frame[iy + 1, ix + 2] + w3 * frame[iy + 1, ix + 3])
                r2 = (w0 * frame[iy + 2, ix] + w1 * frame[iy + 2, ix + 1]
                      + w2 * frame[iy + 2, ix + 2] + w3 * frame[iy + 2, ix + 3])
                r3 = (w0 * frame[iy + 3, ix] + w1 * frame[iy + 3, ix + 1]
                      + w2 * frame[iy + 3, ix + 2] + w3 * frame[iy + 3, ix + 3])
                plane[y, x] = v0 * r0 + v1 * r1 + v2 * r2 + v3 * r3
            if on_grid:  # rare: redo the samples with a zero fraction, without their 0-weight taps
                for x in range(x0, x1):
                    xs = ax * x + row_x
                    ys = ay * x + row_y
                    if xs == int(xs) or ys == int(ys):
                        plane[y, x] = _bicubic_careful(frame, xs, ys, fill)
            for x in range(x_lo, x0):
                plane[y, x] = _bicubic_careful(frame, ax * x + row_x, ay * x + row_y, fill)
            for x in range(x1, x_hi):
                plane[y, x] = _bicubic_careful(frame, ax * x + row_x, ay * x + row_y, fill)


@jit_frames
def shear_phase(spectrum, factors, offsets, size, along_last):
    """Multiply each line's spectrum by the phase of its shift, in place.

    Line ``j`` of frame ``i`` moves by ``factors[i] * offsets[j]`` px; bin ``k``
    (frequency ``k / size``) takes ``exp(-2 pi i k shift / size)``. The phase of
    bin ``k`` is the ``k``-th power of bin 1's, built by products (one
    ``sincos`` per line instead of one per bin), exact again every 16 bins so
    that the rounding does not grow with ``k``.
    """
    n = spectrum.shape[0]
    lines = offsets.shape[0]
    bins = spectrum.shape[2] if along_last else spectrum.shape[1]
    for i in numba.prange(n):
        for j in range(lines):
            step = -2.0 * np.pi * factors[i] * offsets[j] / size
            base = complex(np.cos(step), np.sin(step))
            phase = 1.0 + 0.0j
            for k in range(bins):
                if k % 16 == 0:
                    phase = complex(np.cos(step * k), np.sin(step * k))
                if along_last:
                    spectrum[i, j, k] *= phase
                else:
                    spectrum[i, k, j] *= phase
                phase *= base


@jit_frames
def shear_at(band, first, factors, offsets, size, at, near, out):
    """The Fourier shift of lines along axis 1, read at a few pixels only: ``out[i, a, x]``.

    Line ``x`` of frame ``i`` is ``band[i, :, x]`` at pixels ``first, first + 1, ...`` of a
    periodic line of odd ``size`` (zero elsewhere), shifted by ``factors[i] * offsets[x]``
    pixels, as :func:`shear_phase` shifts it, and read at pixel ``at[a]``. The sum
    ``out(p) = sum_q line(q) D(p - q - s)`` with the Dirichlet kernel
    ``D(t) = sin(pi t) / (size sin(pi t / size))``: the inverse transform of the shifted
    spectrum, without transforming the lines. ``sin(pi (m - s))`` is ``-(-1)^m sin(pi s)``
    and the denominator comes from tables of ``m`` by the angle-difference formula, except
    within ``near`` pixels of a multiple of ``size`` (where it vanishes), computed directly
    there (no cancellation).
    """
    n, length, width = band.shape
    kept = at.size
    if kept == 0 or length == 0:
        out[:] = 0.0
        return
    low = at.min() - (first + length - 1)  # the smallest m = p - q
    count = at.max() - first - low + 1
    sin_m = np.empty(count)
    cos_m = np.empty(count)
    sign_m = np.empty(count)
    for index in range(count):
        m = low + index
        sin_m[index] = np.sin(np.pi * m / size)
        cos_m[index] = np.cos(np.pi * m / size)
        sign_m[index] = -1.0 if m % 2 == 0 else 1.0
    for i in numba.prange(n):
        shift = np.empty(width)
        numerator = np.empty(width)
        cos_s = np.empty(width)
        sin_s = np.empty(width)
        for x in range(width):
            s = factors[i] * offsets[x]
            shift[x] = s
            whole = np.floor(s + 0.5)  # sin(pi s) from the fraction of s (exact): no rounding of a large pi s
            numerator[x] = (1.0 - 2.0 * (whole % 2)) * np.sin(np.pi * (s - whole)) / size
            cos_s[x] = np.cos(np.pi * s / size)
            sin_s[x] = np.sin(np.pi * s / size)
        kernel = np.empty((count, width))
        for index in range(count):
            for x in range(width):
                kernel[index, x] = sign_m[index] * numerator[x] / (sin_m[index] * cos_s[x] - cos_m[index] * sin_s[x])
        for x in range(width):  # the few m close to s modulo size (D has period size)
            wraps = int(np.ceil((abs(low) + count + abs(shift[x])) / size))
            for k in range(-wraps, wraps + 1):
                centre = shift[x] + k * size
                start = max(int(np.floor(centre - near)) - low, 0)
                stop = min(int(np.ceil(centre + near)) - low + 1, count)
                for index in range(start, stop):
                    t = (low + index) - centre
                    if t == 0.0:
                        kernel[index, x] = 1.0
                    else:
                        kernel[index, x] = np.sin(np.pi * t) / (size * np.sin(np.pi * t / size))
        for a in range(kept):
            row = out[i, a]
            for x in range(width):
                row[x] = 0.0
            for j in range(length):
                weights = kernel[at[a] - first - j - low]
                line = band[i, j]
                for x in range(width):
                    row[x] += line[x] * weights[x]
