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

import contextlib
import contextvars
import dataclasses
import inspect

import numpy as np

from .._registry import Registry
from .._validate import check_choice
from ..data import Dataset
from ..geometry import ROTATION_METHODS, derotate_cube
from .collapse import COLLAPSE_METHODS, derotate_in_place, median_frame

__all__ = ["Result", "Algorithm", "get_algorithm", "available_algorithms", "adi_cube", "is_private_copy",
           "check_common", "finish", "final_pixels"]

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
        _REGISTRY.register_class(cls, name)

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
    ['andromeda', 'asdi-pca', 'fmmf', 'llsg', 'loci', 'median', 'median-annular', 'nmf', 'nmf-annular', 'paco',
     'pairwise', 'pca', 'pca-annular', 'per-channel', 'sdi-pca']
    """
    return sorted(_REGISTRY.names())


def adi_cube(dataset, *, dtype=np.float64):
    """The dataset's ADI cube as ``dtype`` (float64; float32 for the algorithms that compute in single
    precision), after checking it is a 3D dataset of finite values."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")
    if dataset.is_4d:
        raise ValueError(f"dataset: expected an ADI dataset with a 3D (t, y, x) cube, got a 4D "
                         f"(lambda, t, y, x) cube of shape {dataset.cube.shape}; ADI+mSDI is not "
                         f"supported yet (process one channel at a time: dataset.replace(cube=dataset.cube[k], ...))")
    cube = np.asarray(dataset.cube, dtype=dtype)
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


#: The pixels of the final frame that the caller will read (None: all); see final_pixels.
_FINAL_PIXELS = contextvars.ContextVar("exobench_final_pixels", default=None)


@contextlib.contextmanager
def final_pixels(where):
    """Within this context, :func:`finish` computes only the pixels of the final frame where ``where`` is True.

    Those pixels are the same numbers as without it (bit for bit; to rounding
    with the Fourier derotation: :func:`~exobench.geometry.rotate_frames`'s
    ``where``); the other pixels of the final frame and of the derotated
    residuals are 0. What a
    measurement that reads a few apertures of the final frame needs
    (:func:`exobench.contrast.throughput`): the derotation and the collapse
    cost those pixels only (the Fourier derotation: its last shear). Every
    algorithm that ends with :func:`finish` honours it; an algorithm that
    does not computes its whole frame, which is right as well.

    Parameters
    ----------
    where : ndarray of bool, shape ``(y, x)``
        The frames' shape; a cube of another frame shape is finished whole.

    Examples
    --------
    >>> from exobench.algorithms import MedianADI
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=10, size=33)
    >>> where = np.zeros((33, 33), dtype=bool); where[5:9, 20:25] = True
    >>> with final_pixels(where):
    ...     part = MedianADI().process(ds).final
    >>> bool(np.array_equal(part[where], MedianADI().process(ds).final[where])), bool((part[~where] == 0).all())
    (True, True)
    """
    where = np.asarray(where)
    if where.dtype != bool or where.ndim != 2:
        raise ValueError(f"where: expected a 2D boolean array (the frames' y, x), got {where.dtype} of shape "
                         f"{where.shape}")
    token = _FINAL_PIXELS.set(where)
    try:
        yield where
    finally:
        _FINAL_PIXELS.reset(token)


def finish(residuals, dataset, algorithm, *, in_place=False):
    """Derotate the residual cube, collapse it and wrap both in a :class:`Result`.

    With ``in_place`` (the caller owns ``residuals``, a C-contiguous float
    array), the interpolating derotations overwrite ``residuals`` a few frames
    at a time instead of allocating a second cube: the same numbers (each frame
    is resampled alone), a fraction of the memory. Within :func:`final_pixels`,
    only its pixels are derotated and collapsed.
    """
    where = _FINAL_PIXELS.get()
    if where is not None and np.ndim(residuals) == 3 and where.shape == np.shape(residuals)[-2:]:
        derotated = derotate_cube(residuals, dataset.angles, method=algorithm.derotation, where=where)
        if algorithm.collapse == "mean":  # the whole frame's sums (cheap), so that numpy adds in the same order
            return Result(derotated, derotated.mean(axis=0, dtype=np.float64))
        final = np.zeros(where.shape)
        if where.any():  # (t, pixels): each pixel's median is the same numbers as in the whole frame
            final[where] = median_frame(derotated[:, where], dtype=np.float64)
        return Result(derotated, final)
    if in_place and algorithm.derotation != "fft" and residuals.flags.c_contiguous \
            and residuals.dtype.kind == "f" and residuals.dtype.isnative:
        derotated = derotate_in_place(residuals, dataset.angles, method=algorithm.derotation)
    else:
        derotated = derotate_cube(residuals, dataset.angles, method=algorithm.derotation)
    # the final frame in double precision whatever the residuals' precision (a float32 cube's median: that of
    # its float64 copy, without the copy)
    if algorithm.collapse == "mean":
        final = derotated.mean(axis=0, dtype=np.float64)
    else:
        final = median_frame(derotated, dtype=np.float64)
    return Result(derotated, final)
