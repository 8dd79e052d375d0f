"""The plug-in base class of PSF-subtraction algorithms, their result and their registry.

Every algorithm is one small class (scikit-learn style): ``__init__`` takes
keyword-only options and only stores them; ``process(dataset)`` validates them,
runs and returns a :class:`Result`. Subclasses register themselves by name::

    class MyADI(Algorithm, name="my-adi"):
        def __init__(self, *, collapse="median"):
            self.collapse = collapse

        def process(self, dataset):
            ...

and :func:`get_algorithm` finds them again by that name.
"""

import dataclasses
import inspect

import numpy as np

from .._registry import Registry
from .._threads import kernel_threads
from .._validate import check_choice
from ..data import Dataset
from ..geometry import ROTATION_METHODS, annulus_mask, derotate_cube, frame_center

__all__ = ["Result", "Algorithm", "get_algorithm", "available_algorithms", "COLLAPSE_METHODS"]

#: How the derotated residual cube is collapsed into the final frame.
COLLAPSE_METHODS = ("median", "mean")

_REGISTRY = Registry("algorithm")


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """What an algorithm returns.

    Attributes
    ----------
    residuals : ndarray, shape ``(t, y, x)``
        The residual cube after PSF subtraction, derotated (aligned with the sky).
    final : ndarray, shape ``(y, x)``
        The residual cube collapsed along time (mean or median, per the
        algorithm's ``collapse`` option).
    """

    residuals: np.ndarray
    final: np.ndarray


class Algorithm:
    """Base class of the PSF-subtraction algorithms.

    A subclass passes ``name=`` in its class statement to register itself, takes
    keyword-only options in ``__init__`` (stored as attributes of the same name,
    nothing else) and implements :meth:`process`.

    Examples
    --------
    A plug-in (add ``name="mean-adi"`` to the class statement to register it):

    >>> from exobench.examples import example_dataset
    >>> from exobench.geometry import derotate_cube
    >>> class MeanADI(Algorithm):
    ...     def __init__(self, *, collapse="mean"):
    ...         self.collapse = collapse
    ...     def process(self, dataset):
    ...         residuals = derotate_cube(dataset.cube - dataset.cube.mean(axis=0), dataset.angles)
    ...         return Result(residuals, residuals.mean(axis=0))
    >>> MeanADI().process(example_dataset(n_frames=10, size=33)).final.shape
    (33, 33)
    >>> MeanADI(collapse="median").get_params()
    {'collapse': 'median'}
    """

    #: Registry name (set by ``class X(Algorithm, name="x")``).
    name = None

    def __init_subclass__(cls, *, name=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if name is not None:
            _REGISTRY.register(name, cls)
            cls.name = name

    def process(self, dataset):  # pragma: no cover - abstract
        """Subtract the star's PSF from ``dataset`` and return a :class:`Result`."""
        raise NotImplementedError

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self):
        """The options given to ``__init__``, as a dict."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                          if not _same(v, defaults.get(k, inspect.Parameter.empty)))
        return f"{type(self).__name__}({shown})"


def _same(a, b):
    try:
        return bool(a == b)
    except Exception:  # arrays and other ambiguous comparisons
        return a is b


def get_algorithm(name):
    """The algorithm class registered under ``name``.

    Examples
    --------
    >>> get_algorithm("pca")(ncomp=5)
    PCA(ncomp=5)
    """
    return _REGISTRY.get(name)


def available_algorithms():
    """Sorted names of the registered algorithms.

    Examples
    --------
    >>> available_algorithms()
    ['asdi-pca', 'llsg', 'median', 'median-annular', 'pca', 'pca-annular', 'per-channel', 'sdi-pca']
    """
    return sorted(_REGISTRY.names())


# -- helpers shared by the algorithms (inner code: options are checked here once) ---------


def adi_cube(dataset):
    """The dataset's ADI cube as float64, after checking it is a 3D dataset."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")
    if dataset.is_4d:
        raise ValueError(f"dataset: expected an ADI dataset with a 3D (t, y, x) cube, got a 4D "
                         f"(lambda, t, y, x) cube of shape {dataset.cube.shape}; ADI+mSDI is not "
                         f"supported yet (process one channel at a time: dataset.replace(cube=dataset.cube[k], ...))")
    cube = np.asarray(dataset.cube, dtype=np.float64)
    if not np.all(np.isfinite(cube)):
        raise ValueError("dataset: expected a cube of finite values, got NaN or infinite pixels")
    return cube


def is_private_copy(cube, dataset):
    """Whether ``cube`` (from :func:`adi_cube`) is a writable copy, not the caller's data."""
    return bool(cube.flags.writeable) and cube.flags.c_contiguous and \
        not np.may_share_memory(cube, dataset.cube)


def check_common(algorithm):
    """Check the ``collapse`` and ``derotation`` options every algorithm has."""
    check_choice(algorithm.collapse, "collapse", COLLAPSE_METHODS)
    check_choice(algorithm.derotation, "derotation", ROTATION_METHODS)


def finish(residuals, dataset, algorithm, *, in_place=False):
    """Derotate the residual cube, collapse it and wrap both in a :class:`Result`.

    With ``in_place`` (the caller owns ``residuals``, a C-contiguous float
    array), the interpolating derotations overwrite ``residuals`` a few frames
    at a time instead of allocating a second cube: the same numbers (each frame
    is resampled alone), a fraction of the memory.
    """
    if in_place and algorithm.derotation != "fft" and residuals.flags.c_contiguous \
            and residuals.dtype.kind == "f" and residuals.dtype.isnative:
        derotated = derotate_in_place(residuals, dataset.angles, method=algorithm.derotation)
    else:
        derotated = derotate_cube(residuals, dataset.angles, method=algorithm.derotation)
    if algorithm.collapse == "mean":
        final = derotated.mean(axis=0)
    else:
        final = median_frame(derotated)
    return Result(derotated, final)


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


def annuli(shape, *, inner_radius, width):
    """Boolean masks of consecutive annuli from ``inner_radius`` (px) to the frame's edge.

    The annuli are ``width`` px wide; the last one reaches the largest circle
    inscribed in the frame (its pixels included) and is wider when the span is
    not a whole number of widths. Returns ``(masks, mean_radii)``.
    """
    xc, yc = frame_center(shape)
    ny, nx = shape[-2:]
    edge = min(xc, yc, nx - 1 - xc, ny - 1 - yc) + 0.5
    if inner_radius >= edge:
        raise ValueError(f"inner_radius: expected less than the frame's half-size ({edge:g} px), "
                         f"got {inner_radius:g} px (inner_radius x fwhm)")
    count = max(1, int(np.floor((edge - inner_radius) / width)))
    bounds = inner_radius + width * np.arange(count + 1)
    bounds[-1] = edge
    masks = [annulus_mask(shape, bounds[j], bounds[j + 1]) for j in range(count)]
    keep = [j for j in range(count) if masks[j].any()]
    return [masks[j] for j in keep], [0.5 * (bounds[j] + bounds[j + 1]) for j in keep]


def vip_annuli(shape, *, inner_radius, width):
    """VIP's annuli (``pca_annular``, vip_hci 2.1): ``(masks, central_radii)``.

    ``int((ny / 2 - inner_radius) / width)`` annuli ``width`` px wide from
    ``inner_radius`` px (``ny`` the frame's height); the last one (even when it
    is the only one) starts 1 px further in (it overlaps the previous one;
    processed last, its residuals are those kept in the overlap). Pixels at ``inner <= r < inner + width`` from the
    frame centre; the radius of each is its centre, ``inner + width / 2``.
    """
    ny = shape[-2]
    count = int((ny / 2 - inner_radius) / width)
    if count < 1:
        raise ValueError(f"inner_radius: expected less than half the frame's height minus one annulus "
                         f"({ny / 2 - width:g} px), got {inner_radius:g} px (inner_radius x fwhm)")
    masks, radii = [], []
    for j in range(count):
        inner = inner_radius + j * width - (1 if j == count - 1 else 0)
        mask = annulus_mask(shape, max(inner, 0.0), inner + width)
        if mask.any():
            masks.append(mask)
            radii.append(inner + width / 2)
    return masks, radii


def rotation_thresholds(angles, mean_radius, delta, fwhm, min_frames, *, formula="arc"):
    """Per-frame minimum rotation (degrees) of the reference frames at ``mean_radius``.

    ``delta * fwhm`` px of arc at the annulus's mean radius (``formula="arc"``:
    ``delta * fwhm / r`` rad; ``"chord"``: ``2 arctan(delta * fwhm / 2r)``, VIP's),
    lowered for a frame that would otherwise have fewer than ``min_frames``
    references to the rotation of its ``min_frames``-th farthest frame.
    """
    if formula == "chord":
        threshold = np.degrees(2.0 * np.arctan(delta * fwhm / (2.0 * max(mean_radius, 1e-12))))
    else:
        threshold = np.degrees(delta * fwhm / max(mean_radius, 1e-12))
    distance = np.abs(angles[:, None] - angles[None, :])
    farthest = -np.sort(-distance, axis=1)[:, min_frames - 1]
    return np.minimum(threshold, farthest), distance

