"""Rotation of frames and derotation of ADI cubes.

Convention: rotating a frame by ``angle`` degrees turns its content
counter-clockwise (as displayed with the origin at the lower left) about the
frame centre (:func:`~exobench.geometry.frame_center`). Derotating an ADI cube
rotates frame ``i`` by its derotation angle ``angles[i]``, which aligns the
sky: a source at polar angle ``theta`` in the final frame sits at
``theta - angles[i]`` in frame ``i``.

Three interpolation methods:

``"bilinear"`` (default, fastest)
    vectorised over the whole cube;
``"bicubic"``
    Keys cubic convolution (Catmull-Rom), sharper, same cost order;
``"fft"``
    three Fourier shears (Larkin et al. 1997) after exact quarter turns:
    flux-preserving and band-limited, the accurate choice for photometry.
"""

import numpy as np
import scipy.fft

from .._validate import as_float_array, check_choice, check_finite, check_ndim
from ._common import check_out, check_where, odd_fast_len
from .coords import resolve_center
from .interpolate import sample_affine

__all__ = ["rotate_frames", "derotate_cube", "ROTATION_METHODS"]

ROTATION_METHODS = ("bilinear", "bicubic", "fft")


def rotate_frames(frames, angles, *, method="bilinear", center=None, fill_value=0.0, where=None, out=None):
    """Rotate each frame counter-clockwise by its own angle about ``center``.

    Parameters
    ----------
    frames : array_like, shape ``(ny, nx)`` or ``(n, ny, nx)``
    angles : float or array_like of shape ``(n,)``
        Angles in degrees, counter-clockwise.
    method : {"bilinear", "bicubic", "fft"}
        Interpolation (see the module documentation).
    center : (float, float), optional
        ``(x, y)`` rotation centre; the frame centre by default. The ``"fft"``
        method needs it on a pixel centre (integer values).
    fill_value : float
        Value of pixels that come from outside the frame (interpolating
        methods), and of the pixels outside ``where`` (every method).
    where : ndarray of bool, shape ``(ny, nx)``, optional
        Compute only the output pixels where ``True`` (the others are
        ``fill_value``), bit for bit as without it. What a measurement on a few
        rings or apertures needs, for the price of those pixels. The ``"fft"``
        method saves in its last shear only, which moves the rows that hold
        them; when those are few (a quarter of the padded square at most), the
        middle shear's inverse transform is summed at them alone: the same
        numbers to rounding (a few 1e-16 of the frames' values), not bit for bit.
    out : ndarray, optional
        Where to write the result: C-contiguous, the shape and floating dtype
        of ``frames``; with ``where`` only its pixels are written, the others
        keep what ``out`` held (a buffer reused by calls that read only
        ``where``).

    Returns
    -------
    ndarray, same shape and floating dtype as ``frames`` (``out`` when given)

    Examples
    --------
    >>> frame = np.zeros((5, 5)); frame[2, 4] = 1.0     # a pixel at theta = 0
    >>> rotated = rotate_frames(frame, 90.0)
    >>> [int(v) for v in np.unravel_index(np.argmax(rotated), rotated.shape)]  # now at theta = 90
    [4, 2]
    """
    frames = as_float_array(frames, "frames")
    check_ndim(frames, "frames", (2, 3))
    check_choice(method, "method", ROTATION_METHODS)
    single = frames.ndim == 2
    stack = frames[None] if single else frames
    angles = np.atleast_1d(as_float_array(angles, "angles")).ravel()
    check_finite(angles, "angles")
    if angles.size == 1 and stack.shape[0] > 1:
        angles = np.repeat(angles, stack.shape[0])
    if angles.size != stack.shape[0]:
        raise ValueError(
            f"angles: expected {stack.shape[0]} angles (one per frame), got {angles.size}"
        )
    xc, yc = resolve_center(stack.shape, center)
    if out is not None:
        check_out(out, frames)
    flat_out = None if out is None else out.reshape(stack.shape)
    if method == "fft":
        where = None if where is None else check_where(where, *stack.shape[1:])
        result = _rotate_fft(stack, angles, xc, yc, where)
        if flat_out is not None or where is not None:
            target = np.full_like(result, fill_value) if flat_out is None else flat_out
            if where is None:
                target[...] = result
            else:
                target[:, where] = result[:, where]
            result = target
    else:
        result = _rotate_interp(stack, angles, xc, yc, method, fill_value, where, flat_out)
    if out is not None:
        return out
    return result[0] if single else result


def derotate_cube(cube, angles, *, method="bilinear", center=None, fill_value=0.0, where=None, out=None):
    """Derotate an ADI cube: rotate frame ``i`` counter-clockwise by ``angles[i]``.

    Parameters
    ----------
    cube : array_like, shape ``(t, y, x)`` or ``(lambda, t, y, x)``
    angles : array_like, shape ``(t,)``
        Derotation angles in degrees.
    method, center, fill_value, where, out
        As in :func:`rotate_frames`.

    Returns
    -------
    ndarray, same shape as ``cube``
    """
    cube = as_float_array(cube, "cube")
    check_ndim(cube, "cube", (3, 4), what="(t, y, x) or (lambda, t, y, x)")
    angles = as_float_array(angles, "angles").ravel()
    n_frames = cube.shape[-3]
    if angles.size != n_frames:
        raise ValueError(f"angles: expected {n_frames} angles (one per frame), got {angles.size}")
    if cube.ndim == 3:
        return rotate_frames(cube, angles, method=method, center=center, fill_value=fill_value, where=where,
                             out=out)
    flat = cube.reshape(-1, *cube.shape[-2:])
    if out is not None:
        check_out(out, cube)
    rotated = rotate_frames(
        flat, np.tile(angles, cube.shape[0]), method=method, center=center, fill_value=fill_value, where=where,
        out=None if out is None else out.reshape(flat.shape),
    )
    return rotated.reshape(cube.shape) if out is None else out


def _rotate_interp(stack, angles, xc, yc, method, fill_value, where=None, out=None):
    # Output pixel p takes the input value at R(-angle) (p - c) + c.
    rad = np.radians(angles)
    cos, sin = np.cos(rad), np.sin(rad)
    coefficients = np.stack(
        [cos, sin, xc - cos * xc - sin * yc, -sin, cos, yc + sin * xc - cos * yc], axis=1
    )
    return sample_affine(stack, coefficients, method=method, fill_value=fill_value, where=where, out=out)


# --- Fourier three-shear rotation ------------------------------------------------------


def _rotate_fft(stack, angles, xc, yc, where=None):
    """The three shears of every frame; with ``where``, only the rows that hold its pixels are right."""
    if xc != round(xc) or yc != round(yc):
        raise ValueError(f"center: the 'fft' method needs a pixel centre, got ({xc}, {yc})")
    n, ny, nx = stack.shape
    nan_mask = np.isnan(stack)
    has_nan = bool(nan_mask.any())
    data = np.where(nan_mask, 0.0, stack) if has_nan else stack
    # The shears shift the lines of an odd square of `size` pixels whose centre pixel `mid` is the rotation
    # centre, with room for them (|shift| <= 0.36 of the size once the angle is reduced to [-45, 45] degrees).
    # The frame lies in the `side` x `side` square about that centre (from `low` to `low + side - 1`).
    half = int(max(xc, nx - 1 - xc, yc, ny - 1 - yc))
    margin = int(np.ceil(0.75 * half)) + 2
    size = odd_fast_len(2 * (half + margin) + 1)
    mid = size // 2
    side, low = 2 * half + 1, mid - half
    x0, y0 = mid - int(xc), mid - int(yc)
    coords = np.arange(size, dtype=float) - mid
    quarter = np.round(angles / 90.0).astype(int)
    residual = np.radians(angles - 90.0 * quarter)
    along_x = -np.tan(residual / 2)
    # Every shear transforms lines along the contiguous axis (the middle one on the transposed square), each
    # line alone: the same numbers as shearing the whole padded square in place, far fewer and faster transforms.
    # The first shear moves only the rows of the frame's square: the others are zeros and stay zeros.
    rows = np.zeros((n, side, size), dtype=stack.dtype)
    rows[:, y0 - low:y0 - low + ny, x0:x0 + nx] = data
    square = rows[:, :, low:low + side]
    for k in np.unique(quarter % 4):
        if k:  # exact quarter turns of the square about its centre pixel, the rotation centre
            sel = (quarter % 4) == k
            square[sel] = np.rot90(square[sel], k=k, axes=(2, 1))  # counter-clockwise, y up
    rows = _shear_lines(rows, along_x, coords[low:low + side], size)
    # The last one moves only the rows the output keeps (or those holding a pixel of `where`). The middle
    # one moves every column (the Fourier shifts' ringing has spread over the whole rows); when the rows
    # kept are few, it is summed at those rows alone (the columns are never transformed).
    kept = np.arange(ny) if where is None else np.flatnonzero(where.any(axis=1))
    if kept.size > size // _FEW_ROWS:
        columns = np.zeros((n, size, size), dtype=stack.dtype)
        columns[:, :, low:low + side] = rows.transpose(0, 2, 1)
        columns = _shear_lines(columns, np.sin(residual), coords, size)[:, :, y0 + kept].transpose(0, 2, 1)
    else:
        from ._interpolate_kernels import shear_at  # deferred: numba and the compiled loops

        columns = np.empty((n, kept.size, size), dtype=stack.dtype)
        shear_at(rows, low, np.sin(residual), coords, float(size), (y0 + kept).astype(np.int64), _NEAR, columns)
    rows = _shear_lines(np.ascontiguousarray(columns), along_x, coords[y0 + kept], size)
    if where is None:
        out = np.ascontiguousarray(rows[:, :, x0:x0 + nx])
    else:
        out = np.zeros(stack.shape, dtype=rows.dtype)
        out[:, kept] = rows[:, :, x0:x0 + nx]
    if has_nan:
        spread = _rotate_interp(nan_mask.astype(stack.dtype), angles, xc, yc, "bilinear", 0.0)
        out[spread > 0] = np.nan
    return out


#: The middle shear is summed directly at the rows kept when they are at most 1/4 of the padded size: cheaper
#: than transforming every column below that.
_FEW_ROWS = 4
#: Within this many pixels of a zero of its denominator the Dirichlet kernel is computed without tables.
_NEAR = 8.0


def _shear_lines(lines, factors, offsets, size):
    """Shift line ``j`` of frame ``i`` (its last axis, ``size`` pixels) by ``factors[i] * offsets[j]`` pixels.

    A Fourier shift: each line as a period of a band-limited signal. Returns a new array.
    """
    from ._interpolate_kernels import shear_phase  # deferred: numba and the compiled loops

    spectrum = scipy.fft.rfft(lines, axis=-1)
    shear_phase(spectrum, np.ascontiguousarray(factors, dtype=float), offsets, float(size), True)
    return scipy.fft.irfft(spectrum, n=size, axis=-1)
