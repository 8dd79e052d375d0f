"""Sub-pixel shifts of frames."""

import numpy as np
import scipy.fft

from .._validate import as_float_array, check_choice, check_finite, check_ndim
from .interpolate import sample_affine

__all__ = ["shift_frames", "SHIFT_METHODS"]

SHIFT_METHODS = ("fft", "bilinear", "bicubic")


def shift_frames(frames, dx, dy, *, method="fft", fill_value=0.0):
    """Shift frames by ``(dx, dy)`` pixels: content at ``(x, y)`` moves to ``(x + dx, y + dy)``.

    Parameters
    ----------
    frames : array_like, shape ``(ny, nx)`` or ``(n, ny, nx)``
    dx, dy : float or array_like of shape ``(n,)``
        Shifts in pixels along x and y, one pair per frame or one for all.
    method : {"fft", "bilinear", "bicubic"}
        ``"fft"`` (default) multiplies the spectrum by a phase ramp: exact for
        band-limited content and flux-preserving, but periodic (what leaves one
        edge enters at the other: pad first when that matters).
    fill_value : float
        Value entering from outside the frame (interpolating methods).

    Returns
    -------
    ndarray, same shape and floating dtype as ``frames``

    Examples
    --------
    >>> frame = np.zeros((8, 8)); frame[3, 3] = 1.0
    >>> shifted = shift_frames(frame, 2.0, -1.0)
    >>> [int(v) for v in np.unravel_index(np.argmax(shifted), shifted.shape)]
    [2, 5]
    """
    frames = as_float_array(frames, "frames")
    check_ndim(frames, "frames", (2, 3))
    check_choice(method, "method", SHIFT_METHODS)
    single = frames.ndim == 2
    stack = frames[None] if single else frames
    n = stack.shape[0]
    dx = _per_frame(dx, "dx", n)
    dy = _per_frame(dy, "dy", n)
    if method == "fft":
        out = _shift_fft(stack, dx, dy)
    else:
        ones, zeros = np.ones(n), np.zeros(n)
        coefficients = np.stack([ones, zeros, -dx, zeros, ones, -dy], axis=1)
        out = sample_affine(stack, coefficients, method=method, fill_value=fill_value)
    return out[0] if single else out


def _per_frame(value, name, n):
    array = np.atleast_1d(as_float_array(value, name)).ravel()
    check_finite(array, name)
    if array.size == 1:
        return np.repeat(array, n)
    if array.size != n:
        raise ValueError(f"{name}: expected one value or {n} (one per frame), got {array.size}")
    return array


def _shift_fft(stack, dx, dy):
    n, ny, nx = stack.shape
    if n > 1 and stack.strides[0] == 0:  # copies of one frame (np.broadcast_to): one transform
        spectrum = scipy.fft.rfft2(stack[0])[None]
    else:
        spectrum = scipy.fft.rfft2(stack, axes=(1, 2))
    fy = scipy.fft.fftfreq(ny).reshape(1, ny, 1)
    fx = scipy.fft.rfftfreq(nx).reshape(1, 1, -1)
    # the phase ramp is separable: two small exponentials instead of one per frequency
    phase = np.exp(-2j * np.pi * fx * dx.reshape(n, 1, 1)) * np.exp(-2j * np.pi * fy * dy.reshape(n, 1, 1))
    # For even sizes the Nyquist terms cannot carry a fractional shift of a real signal;
    # irfft2 keeps only their real part, which keeps the result real and the total flux unchanged.
    return scipy.fft.irfft2(spectrum * phase, s=(ny, nx), axes=(1, 2)).astype(stack.dtype, copy=False)
