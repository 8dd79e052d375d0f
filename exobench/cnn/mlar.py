"""MLAR frames: the planes SODINN-like detection networks cut their patches from.

*Multi-level low-rank approximation residuals* (MLAR; Gomez Gonzalez et al.
2018, SODINN): the frame is cut into annuli about 1 FWHM wide; in each
annulus the ``frames x pixels`` matrix, mean-centred pixel by pixel, is
approximated by its first ``k`` principal components, and the residual (the
matrix minus that approximation) is derotated and collapsed over time. One
``k`` per *level*: the fewest components whose cumulative explained variance
reaches the level (``level = 0`` gives ``k = 0``: the mean-subtracted cube),
chosen per annulus. Stacking the collapsed residuals of every level gives one
``(n_levels, y, x)`` array; the patch of ``size x size`` pixels around a pixel,
over all levels, is a network's input (:mod:`exobench.cnn.patches`).

What makes it cheap: one eigendecomposition per annulus serves every level (the
``t x t`` Gram matrix ``M M^T = U diag(lambda) U^T``, never an SVD of the pixel
matrix; the residual of rank ``k`` is ``M - U_k U_k^T M``, computed
incrementally from one level to the next), and the residual cubes of all levels
are derotated in one call and collapsed in one pass.

With ``flip_angles=True`` the residuals are derotated with the *negated*
angles: a companion of the sky turns the wrong way and smears along its arc,
while the speckle noise keeps its statistics. Such frames are where SODINN's
negative (companion-free) samples come from.

Positions are ``(x, y)`` (x first, as everywhere in exobench; see
``docs/conventions.md``); arrays are indexed ``[level, y, x]``.
"""

import dataclasses

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_choice, check_number
from ..algorithms.annuli import rotation_thresholds
from ..algorithms.collapse import COLLAPSE_METHODS, median_frame
from ..algorithms.projections import library_weights
from ..data import Dataset
from ..geometry import ROTATION_METHODS, frame_center, rotate_frames
from ._annuli import annuli_region, radius_grid
from .patches import checked_patch_size, patch_size

__all__ = ["DEFAULT_LEVELS", "MLARFrames", "mlar_frames", "pixel_positions"]

#: What the levels of :func:`mlar_frames` are fractions of (:func:`components_for_levels`).
VARIANCE_MODES = ("total", "above-median")


#: Default levels of cumulative explained variance (one MLAR frame each).
DEFAULT_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)



@dataclasses.dataclass(frozen=True, eq=False)
class MLARFrames:
    """What :func:`mlar_frames` returns.

    Attributes
    ----------
    frames : numpy.ndarray, float32, shape ``(n_levels, y, x)``
        The collapsed, derotated residuals, one frame per level; 0 outside the annuli.
    ks : numpy.ndarray, int, shape ``(n_annuli, n_levels)``
        Components removed per annulus and level (``(n_channels, n_annuli,
        n_levels)`` for a 4D cube: one set per channel).
    annuli : list of (float, float)
        ``(inner, outer)`` radii of the annuli in pixels (a pixel belongs to an
        annulus when ``inner <= r < outer``, ``r`` from the frame centre to its centre).
    levels : tuple of float
        The levels of cumulative explained variance.
    fwhm : float
        The dataset's FWHM in pixels (the mean over channels for 4D data).
    center : (float, float)
        The frame centre ``(x, y)``.
    flip_angles : bool
        Whether the residuals were derotated with the negated angles.
    mask : numpy.ndarray, bool, shape ``(y, x)``
        The pixels inside the annuli whose whole ``patch_size x patch_size``
        patch lies in the frame: those :func:`pixel_positions` lists.
    patch_size : int
        The patch size the mask was made for.
    """

    frames: np.ndarray
    ks: np.ndarray
    annuli: list
    levels: tuple
    fwhm: float
    center: tuple
    flip_angles: bool
    mask: np.ndarray
    patch_size: int

    @property
    def n_levels(self):
        """The number of levels (frames)."""
        return len(self.levels)

    def __repr__(self):
        return (f"MLARFrames(frames={self.frames.shape}, annuli={len(self.annuli)}, levels={self.levels}, "
                f"fwhm={self.fwhm:.3g}, flip_angles={self.flip_angles}, patch_size={self.patch_size}, "
                f"pixels={int(self.mask.sum())})")


def mlar_frames(dataset, *, levels=DEFAULT_LEVELS, annulus_width=1.0, inner_radius=1.0, outer_radius=None,
                flip_angles=False, collapse="median", derotation="bilinear", patch=None, variance="total", delta=0.0):
    """The MLAR frames of a dataset: per annulus and level, residuals of a low-rank approximation.

    Parameters
    ----------
    dataset : Dataset
        An ADI dataset (3D cube), or ADI+mSDI (4D): then each channel is
        processed alone with the same annuli and the channels' frames are
        averaged.
    levels : sequence of float
        Increasing levels of cumulative explained variance in ``[0, 1]``; per
        annulus, level ``v`` removes the fewest components ``k`` whose
        cumulative explained variance reaches ``v`` (``0`` removes none).
    annulus_width : float
        Width of the annuli in FWHM (``None``: 1).
    inner_radius : float
        Inner radius of the first annulus in FWHM (``None``: 1).
    outer_radius : float, optional
        Outer radius in FWHM; by default as many whole annuli as fit inside the
        largest circle inscribed in the frame. Only whole annuli are processed.
    flip_angles : bool
        Derotate with the negated angles (real sources smear: negatives).
    collapse : {"median", "mean"}
        How each derotated residual cube is collapsed over time.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of the derotation.
    patch : int, optional
        The patch size behind :attr:`MLARFrames.mask` (default
        :func:`patch_size` of the FWHM).
    variance : {"total", "above-median"}
        What the levels are fractions of (:func:`components_for_levels`): the
        annulus's whole variance (SODINN's), or only its part above the median
        eigenvalue, so that noise spread evenly over the components (photon and
        background noise) does not pull in most of them.
    delta : float
        Rotation threshold of the libraries, in FWHM of arc at the annulus's
        mean radius (as :class:`~exobench.algorithms.AnnularPCA`'s ``delta``):
        each frame's residual at level ``k`` is its projection off the first
        ``k`` components of the frames in which a source has moved at least
        that far, so that a companion is not subtracted with its own earlier
        and later images (self-subtraction). ``0`` (default, SODINN's): every
        frame, itself included, shares the annulus's one decomposition. The
        ``k`` of each level is counted on the whole annulus in both cases.

    Returns
    -------
    MLARFrames

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> mlar = mlar_frames(example_dataset(n_frames=10, size=33), levels=(0.0, 0.9, 0.99))
    >>> mlar.frames.shape, mlar.frames.dtype, mlar.ks.shape
    ((3, 33, 33), dtype('float32'), (3, 3))
    >>> bool(np.all(np.diff(mlar.ks, axis=1) >= 0)), int(mlar.ks[:, 0].max())
    (True, 0)
    """
    # long by its documentation only: the code below is under 30 lines
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")
    levels = checked_levels(levels)
    check_choice(variance, "variance", VARIANCE_MODES)
    check_choice(collapse, "collapse", COLLAPSE_METHODS)
    check_choice(derotation, "derotation", ROTATION_METHODS)
    delta = check_number(delta, "delta")
    fwhm = float(np.mean(dataset.fwhm))
    size = patch_size(fwhm) if patch is None else checked_patch_size(patch, "patch")
    cube = np.asarray(dataset.cube)
    if not np.all(np.isfinite(cube)):
        raise ValueError("dataset: expected a cube of finite values, got NaN or infinite pixels")
    bounds = annulus_bounds(cube.shape, fwhm, annulus_width=annulus_width, inner_radius=inner_radius,
                            outer_radius=outer_radius)
    angles = -dataset.angles if flip_angles else dataset.angles
    channels = cube if cube.ndim == 4 else cube[None]
    frames, ks = None, []
    for channel in channels:
        part, k = _channel_frames(channel, angles, bounds, levels, collapse, derotation, variance,
                                  library=(delta, fwhm, dataset.angles))
        frames = part if frames is None else frames + part
        ks.append(k)
    frames /= len(channels)
    region = annuli_region(cube.shape, bounds)
    frames *= region
    ks = np.array(ks) if cube.ndim == 4 else ks[0]
    return MLARFrames(frames=frames, ks=ks, annuli=[tuple(b) for b in bounds], levels=levels, fwhm=fwhm,
                      center=frame_center(cube.shape), flip_angles=bool(flip_angles),
                      mask=region & _inside(cube.shape, size), patch_size=size)


def annulus_bounds(shape, fwhm, *, annulus_width=1.0, inner_radius=1.0, outer_radius=None):
    """``(inner, outer)`` radii in pixels of the whole annuli :func:`mlar_frames` processes.

    Examples
    --------
    >>> annulus_bounds((33, 33), 4.0)
    [(4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]
    """
    width = check_number(1.0 if annulus_width is None else annulus_width, "annulus_width", strict=True)
    inner = check_number(1.0 if inner_radius is None else inner_radius, "inner_radius")
    xc, yc = frame_center(shape)
    ny, nx = shape[-2:]
    edge = min(xc, yc, nx - 1 - xc, ny - 1 - yc) + 0.5
    outer = edge
    if outer_radius is not None:
        outer = check_number(outer_radius, "outer_radius", strict=True) * fwhm
        if outer > edge + 1e-9:
            raise ValueError(f"outer_radius: expected at most the inscribed circle's radius "
                             f"({edge / fwhm:.3g} FWHM = {edge:g} px), got {outer_radius!r} FWHM")
    count = int(np.floor((outer - inner * fwhm) / (width * fwhm) + 1e-9))
    if count < 1:
        raise ValueError(f"inner_radius: leaves no whole annulus of {width:g} FWHM ({width * fwhm:.3g} px) "
                         f"between {inner:g} FWHM and {outer / fwhm:.3g} FWHM ({outer:g} px)")
    edges = inner * fwhm + width * fwhm * np.arange(count + 1)
    return [(float(edges[j]), float(edges[j + 1])) for j in range(count)]


def pixel_positions(mlar):
    """The ``(x, y)`` positions of every pixel of ``mlar.mask``, in row-major order.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> mlar = mlar_frames(example_dataset(n_frames=10, size=33), levels=(0.9,))
    >>> xy = pixel_positions(mlar)
    >>> xy.shape == (int(mlar.mask.sum()), 2), bool(mlar.mask[xy[0, 1], xy[0, 0]])
    (True, True)
    """
    if not isinstance(mlar, MLARFrames):
        raise TypeError(f"mlar: expected MLARFrames, got {type(mlar).__name__}")
    rows, cols = np.nonzero(mlar.mask)
    return np.stack([cols, rows], axis=1).astype(np.int64)



def components_for_levels(eigenvalues, levels, *, variance="total"):
    """Per level, the fewest leading components whose cumulative explained variance reaches it.

    ``eigenvalues`` in descending order; ``level = 0`` gives 0 components.
    With ``variance="above-median"`` each eigenvalue counts only by its excess
    over the median eigenvalue (the level of the noise that spreads evenly over
    the components): in a cube limited by photon or background noise the
    levels then select the few components that carry structure, not most of
    them. Where no eigenvalue exceeds the median, every level gives 0.

    Examples
    --------
    >>> components_for_levels(np.array([6.0, 3.0, 1.0, 0.0]), (0.0, 0.5, 0.6, 0.9, 1.0)).tolist()
    [0, 1, 1, 2, 3]
    >>> components_for_levels(np.array([10.0, 3.0, 1.0, 1.0, 1.0]), (0.5, 0.9), variance="above-median").tolist()
    [1, 2]
    """
    check_choice(variance, "variance", VARIANCE_MODES)
    positive = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    counted = positive if variance == "total" else np.clip(positive - np.median(positive), 0.0, None)
    total = counted.sum()
    if total <= 0:
        return np.zeros(len(levels), dtype=np.int64)
    ratio = np.concatenate([[0.0], np.cumsum(counted) / total])
    ks = np.searchsorted(ratio, np.asarray(levels) - 1e-12, side="left")
    return np.minimum(ks, positive.size).astype(np.int64)


def _channel_frames(cube, angles, bounds, levels, collapse, derotation, variance, *, library=(0.0, 1.0, None)):
    """MLAR frames ``(n_levels, y, x)`` and ks ``(n_annuli, n_levels)`` of one ``(t, y, x)`` cube.

    ``library``: ``(delta, fwhm, angles)`` of the rotation threshold (``delta`` 0: none); the
    dataset's own angles, so that the libraries do not depend on the sense of the derotation.
    """
    t, ny, nx = cube.shape
    flat = cube.reshape(t, ny * nx)
    residuals = np.zeros((t, len(levels), ny * nx), dtype=np.float32)
    ks = np.empty((len(bounds), len(levels)), dtype=np.int64)
    radius = radius_grid(cube.shape).ravel()
    delta, fwhm, library_angles = library
    with one_blas_thread():  # small matrices: threads only cost (and oversubscribe a busy machine)
        for index, (inner, outer) in enumerate(bounds):
            pixels = np.flatnonzero((radius >= inner) & (radius < outer))
            rotation = None if delta == 0 else (library_angles, 0.5 * (inner + outer), delta, fwhm)
            ks[index] = _annulus_residuals(flat[:, pixels], levels, residuals, pixels, variance, rotation)
    rotated = rotate_frames(residuals.reshape(t * len(levels), ny, nx), np.repeat(angles, len(levels)),
                            method=derotation).reshape(t, len(levels), ny, nx)
    if collapse == "mean":
        return rotated.mean(axis=0, dtype=np.float64).astype(np.float32), ks
    return median_frame(rotated), ks


def _annulus_residuals(values, levels, out, pixels, variance, rotation=None):
    """Write the residuals of every level of one annulus into ``out[:, level, pixels]``; return the ks.

    ``rotation``: ``(angles, mean radius, delta, fwhm)`` of per-frame libraries, or None (one for all).
    """
    matrix = np.asarray(values, dtype=np.float64)
    matrix = matrix - matrix.mean(axis=0)
    gram = matrix @ matrix.T
    if rotation is not None:  # the whole annulus's spectrum sets the ks; each library has its own vectors
        ks = components_for_levels(np.linalg.eigvalsh(gram)[::-1], levels, variance=variance)
        allowed = _libraries(rotation, int(ks.max()))
        for level, weights in enumerate(library_weights(gram, allowed, ks)):
            out[:, level, pixels] = matrix - weights @ matrix
        return ks
    eigenvalues, vectors = np.linalg.eigh(gram)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
    ks = components_for_levels(eigenvalues, levels, variance=variance)
    top = vectors[:, :int(ks.max())]
    coefficients = top.T @ matrix
    done = 0
    for level, k in enumerate(ks):
        if k > done:
            matrix -= top[:, done:k] @ coefficients[done:k]
            done = int(k)
        out[:, level, pixels] = matrix
    return ks


def _libraries(rotation, min_frames):
    """``allowed[i, j]``: frame ``j`` has rotated at least the threshold from frame ``i`` (at
    least ``min_frames`` frames each, the threshold lowered where fewer are that far, as
    annular PCA does)."""
    angles, radius, delta, fwhm = rotation
    thresholds, distance = rotation_thresholds(np.asarray(angles, dtype=np.float64), radius, delta, fwhm,
                                               max(1, min_frames))
    return distance >= thresholds[:, None]


def _inside(shape, size):
    """Pixels whose ``size x size`` patch lies in the frame."""
    ny, nx = shape[-2:]
    half = size // 2
    inside = np.zeros((ny, nx), dtype=bool)
    inside[half:ny - half, half:nx - half] = True
    return inside



def checked_levels(levels):
    try:
        values = tuple(float(v) for v in levels)
    except (TypeError, ValueError):
        raise ValueError(f"levels: expected a sequence of fractions in [0, 1], got {levels!r}") from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"levels: expected a non-empty sequence of fractions in [0, 1], got {levels!r}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"levels: expected strictly increasing values, got {levels!r}")
    return values

