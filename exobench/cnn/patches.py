"""Patches: the ``size x size`` squares around pixels of stacked frames, a network's input.

:func:`patch_size` is a patch's side for a PSF (about 2 FWHM, odd);
:func:`extract_patches` cuts the patches of every level at once (a strided
view of the frames, no loop over positions).
"""

import numpy as np

from .._validate import check_integer, check_number

__all__ = ["patch_size", "extract_patches"]



def patch_size(fwhm):
    """The side of a patch for a PSF of ``fwhm`` pixels: about 2 FWHM, odd, at least 3.

    ``round(2 * fwhm)``, plus one when even (SODINN's patches are about 2 FWHM).

    Examples
    --------
    >>> patch_size(4.0), patch_size(4.8), patch_size(1.0)
    (9, 11, 3)
    """
    value = float(np.mean(fwhm)) if np.ndim(fwhm) else fwhm
    size = int(round(2.0 * check_number(value, "fwhm", strict=True)))
    return max(3, size + 1 - size % 2)


def extract_patches(frames, positions, size):
    """The ``size x size`` patches of ``frames`` centred on ``positions``, every level at once.

    Parameters
    ----------
    frames : array_like, shape ``(n_levels, y, x)``
        Stacked frames (for example :attr:`MLARFrames.frames`).
    positions : array_like of int, shape ``(n, 2)``
        Patch centres, ``(x, y)`` pixel coordinates (column 0 is x).
    size : int
        Odd patch side in pixels.

    Returns
    -------
    numpy.ndarray, float32, shape ``(n, n_levels, size, size)``
        ``patches[i, l] == frames[l, y - h : y + h + 1, x - h : x + h + 1]``
        with ``h = size // 2`` and ``(x, y) = positions[i]``.

    Examples
    --------
    >>> frames = np.arange(2 * 7 * 7, dtype=float).reshape(2, 7, 7)
    >>> patches = extract_patches(frames, [[3, 2], [4, 4]], 3)
    >>> patches.shape, bool(patches[0, 0, 1, 1] == frames[0, 2, 3])
    ((2, 2, 3, 3), True)
    """
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.dtype.kind not in "biuf":
        raise ValueError(f"frames: expected a 3D (n_levels, y, x) array of numbers, got shape {frames.shape} "
                         f"and dtype {frames.dtype}")
    size = checked_patch_size(size)
    xy = _checked_positions(positions)
    half = size // 2
    ny, nx = frames.shape[1:]
    outside = (xy[:, 0] < half) | (xy[:, 1] < half) | (xy[:, 0] > nx - 1 - half) | (xy[:, 1] > ny - 1 - half)
    if np.any(outside):
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(f"positions: the {size}x{size} patch of position {first} at (x, y) = "
                         f"({xy[first, 0]}, {xy[first, 1]}) leaves the {ny}x{nx} frame "
                         f"({int(outside.sum())} position(s) too close to the edge)")
    windows = np.lib.stride_tricks.sliding_window_view(frames, (size, size), axis=(1, 2))
    patches = windows[:, xy[:, 1] - half, xy[:, 0] - half]  # (n_levels, n, size, size)
    return np.ascontiguousarray(patches.transpose(1, 0, 2, 3), dtype=np.float32)


def checked_patch_size(size, name="size"):
    """``size`` as an int, the side of a patch: odd, so that the patch has a central pixel."""
    size = check_integer(size, name, minimum=1)
    if size % 2 == 0:
        raise ValueError(f"{name}: expected an odd integer >= 1 (patch side in pixels), got {size!r}")
    return size


def _checked_positions(positions):
    xy = np.asarray(positions)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype.kind not in "biuf":
        raise ValueError(f"positions: expected an (n, 2) array of (x, y) pixel coordinates, got shape "
                         f"{xy.shape} and dtype {xy.dtype}")
    if xy.dtype.kind == "f":
        if not np.all(np.isfinite(xy)) or not np.array_equal(xy, np.round(xy)):
            raise ValueError("positions: expected integer (x, y) pixel coordinates, got non-integer values")
    return xy.astype(np.int64)
