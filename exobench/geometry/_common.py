"""Helpers shared by the geometry modules and the Fourier stamps of :mod:`exobench.inject`."""

import numpy as np

__all__ = ["check_out", "check_where", "odd_fast_len"]


def check_out(out, frames):
    """Require ``out`` to be a writeable C-contiguous array of the shape and dtype of ``frames``."""
    if not (isinstance(out, np.ndarray) and out.shape == frames.shape and out.dtype == frames.dtype
            and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out: expected a writeable C-contiguous {frames.dtype} array of shape {frames.shape}, got "
                         f"{getattr(out, 'dtype', type(out).__name__)} of shape {getattr(out, 'shape', None)}")


def check_where(where, ny, nx):
    """Require ``where`` to be a boolean array of the frames' shape ``(ny, nx)``; return it as an array."""
    where = np.asarray(where)
    if where.dtype != bool or where.shape != (ny, nx):
        raise ValueError(f"where: expected a boolean array of shape {(ny, nx)} (the frames' y, x), "
                         f"got {where.dtype} of shape {where.shape}")
    return where


def odd_fast_len(minimum):
    """Smallest odd 3-5-7-smooth length >= ``minimum`` (odd: no Nyquist bin to lose)."""
    size = minimum + (1 - minimum % 2)
    while True:
        rest = size
        for factor in (3, 5, 7):
            while rest % factor == 0:
                rest //= factor
        if rest == 1:
            return size
        size += 2
