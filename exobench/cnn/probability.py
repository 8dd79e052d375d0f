"""Probability maps: a trained network evaluated at every pixel of every annulus of a dataset.

:func:`probability_map` computes the MLAR frames once, with the settings the
model was trained with (levels, annuli, collapse: read from its metadata),
cuts the patches in batches (bounded memory) and fills the map with the
model's probabilities. **Outside the annuli** (near the star, beyond the last
whole annulus and where a patch would leave the frame) the map is **0**: a
finite value that no threshold in ``[0, 1)`` detects, so the maps stay finite
for any reader. :func:`average_maps` combines the maps of an ensemble in log
odds.
"""

import dataclasses
import time

import numpy as np

from .._progress import progress_bar
from .._validate import check_integer

__all__ = ["ProbabilityMap", "probability_map", "average_maps", "mlar_options", "logit"]

#: Options of :func:`exobench.cnn.mlar.mlar_frames` read from a model's label settings.
_MLAR_KEYS = ("annulus_width", "inner_radius", "outer_radius", "collapse", "derotation", "variance", "delta")


@dataclasses.dataclass(frozen=True, eq=False)
class ProbabilityMap:
    """A dataset's map of companion probabilities.

    Attributes
    ----------
    probability : numpy.ndarray, float64, shape (y, x)
        The model's probability at every pixel of :attr:`mask`; 0 elsewhere.
    mask : numpy.ndarray, bool, shape (y, x)
        The pixels that were predicted (inside the annuli, patch inside the frame).
    instrument, dataset_id : str
        The dataset's.
    flip_angles : bool
        True for a negative map (residuals derotated with the negated angles).
    levels : tuple of float
    ks : numpy.ndarray
        Components removed per annulus and level.
    annuli : list of (float, float)
        Radii of the annuli in pixels.
    fwhm : float
    n_patches : int
    seconds : float
        Wall time of the map (MLAR frames and prediction).
    """

    probability: np.ndarray
    mask: np.ndarray
    instrument: str
    dataset_id: str
    flip_angles: bool
    levels: tuple
    ks: np.ndarray
    annuli: list
    fwhm: float
    n_patches: int
    seconds: float

    @property
    def key(self):
        """``(instrument, dataset_id)``."""
        return self.instrument, self.dataset_id

    def values(self):
        """The probabilities of the predicted pixels (1D)."""
        return self.probability[self.mask]




def mlar_options(trained, dataset=None):
    """Keyword arguments of :func:`~exobench.cnn.mlar.mlar_frames` for ``trained``'s inputs.

    The levels and what they count (``variance``), annuli (in FWHM), collapse
    and derotation of the labelled data the model was trained on, and the model's patch size. With ``dataset``, an
    outer radius beyond its frame is cut to the frame.
    """
    settings = trained.label_settings
    options = {key: settings[key] for key in _MLAR_KEYS if settings.get(key) is not None}
    levels = trained.metadata.get("levels") or settings.get("levels")
    if levels is None:
        raise ValueError("trained: its metadata name no MLAR levels (train it on LabelledSamples)")
    options["levels"] = tuple(float(v) for v in levels)
    options["patch"] = trained.patch_size
    if dataset is not None and options.get("outer_radius") is not None:
        from ..geometry import frame_center

        shape = dataset.cube.shape
        xc, yc = frame_center(shape)
        edge = (min(xc, yc, shape[-1] - 1 - xc, shape[-2] - 1 - yc) + 0.5) / float(np.mean(dataset.fwhm))
        options["outer_radius"] = min(float(options["outer_radius"]), edge)
    return options


def probability_map(dataset, trained, *, batch_size=4096, flip_angles=False, threads=1, progress=False):
    """The probability map of a dataset: the model at every pixel of every annulus.

    Parameters
    ----------
    dataset : exobench.data.Dataset
    trained : exobench.cnn.training.TrainedModel
    batch_size : int
        Patches cut and predicted at once (memory: ``batch_size * n_levels * p * p``
        float32 values).
    flip_angles : bool
        Derotate the residuals with the negated angles: a negative map (see
        :func:`calibrate_threshold`).
    threads : int or None
        CPU threads of the torch backend (None: torch's default).
    progress : bool
        A progress bar over the batches on stderr.

    Returns
    -------
    ProbabilityMap
        0 outside the annuli.

    Examples
    --------
    >>> pmap = probability_map(dataset, trained)  # doctest: +SKIP
    >>> pmap.probability.shape == dataset.frame_shape  # doctest: +SKIP
    True
    """
    from .mlar import mlar_frames, pixel_positions
    from .patches import extract_patches

    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    started = time.perf_counter()
    options = mlar_options(trained, dataset)
    mlar = mlar_frames(dataset, flip_angles=flip_angles, **options)
    planes = _model_planes(dataset, trained, mlar, options)
    xy = pixel_positions(mlar)
    separations = np.hypot(xy[:, 0] - mlar.center[0], xy[:, 1] - mlar.center[1])
    values = np.empty(xy.shape[0], dtype=np.float64)
    starts = range(0, xy.shape[0], batch_size)
    with progress_bar(len(starts), desc=f"inference {dataset.instrument} {dataset.dataset_id}", unit="batch",
                      enabled=progress) as bar:
        for start in starts:
            stop = start + batch_size
            patches = extract_patches(planes, xy[start:stop], trained.patch_size)
            values[start:stop] = trained.predict(patches, separations[start:stop], mlar.fwhm,
                                                 batch_size=batch_size, threads=threads)
            bar.update(1)
    probability = np.zeros(mlar.mask.shape, dtype=np.float64)
    probability[xy[:, 1], xy[:, 0]] = values
    return ProbabilityMap(probability=probability, mask=mlar.mask.copy(), instrument=dataset.instrument,
                          dataset_id=dataset.dataset_id, flip_angles=bool(flip_angles), levels=mlar.levels,
                          ks=np.asarray(mlar.ks), annuli=list(mlar.annuli), fwhm=mlar.fwhm,
                          n_patches=int(xy.shape[0]), seconds=time.perf_counter() - started)


def average_maps(maps):
    """One map from the maps of several models on the same dataset (an ensemble): their logits averaged.

    Averaging log odds rather than probabilities keeps a confident member's
    evidence (a probability of 0.9999 against 0.5 is not 0.75 but 0.99), and
    the mean of independent members' noise has a smaller spread than each.

    Parameters
    ----------
    maps : sequence of ProbabilityMap
        The same dataset's maps (same ``key``, ``flip_angles`` and ``mask``),
        one per model.

    Returns
    -------
    ProbabilityMap
        0 outside the mask; ``levels``, ``ks`` and ``annuli`` of the first map,
        ``seconds`` the sum.

    Examples
    --------
    >>> import dataclasses
    >>> mask = np.ones((1, 2), dtype=bool)
    >>> one = ProbabilityMap(probability=np.array([[0.5, 0.9]]), mask=mask, instrument="sim", dataset_id="1",
    ...                      flip_angles=False, levels=(0.5,), ks=np.zeros((1, 1)), annuli=[(1.0, 2.0)], fwhm=1.0,
    ...                      n_patches=2, seconds=1.0)
    >>> two = dataclasses.replace(one, probability=np.array([[0.5, 0.1]]))
    >>> average_maps([one, two]).probability.round(6).tolist()
    [[0.5, 0.5]]
    """
    maps = list(maps) if not isinstance(maps, ProbabilityMap) else None
    if not maps or not all(isinstance(m, ProbabilityMap) for m in maps):
        raise TypeError("maps: expected a non-empty sequence of ProbabilityMap")
    first = maps[0]
    for m in maps[1:]:
        if m.key != first.key or m.flip_angles != first.flip_angles or not np.array_equal(m.mask, first.mask):
            raise ValueError(f"maps: expected maps of one dataset with the same pixels and flip_angles; "
                             f"{first.key} (flip_angles={first.flip_angles}) and {m.key} "
                             f"(flip_angles={m.flip_angles}) differ")
    if len(maps) == 1:  # nothing to average: the map as it is (no round trip through clipped logits)
        return first
    mean = np.mean([logit(m.probability[first.mask]) for m in maps], axis=0)
    probability = np.zeros(first.mask.shape, dtype=np.float64)
    probability[first.mask] = 1.0 / (1.0 + np.exp(-mean))
    return dataclasses.replace(first, probability=probability, mask=first.mask.copy(),
                               seconds=float(sum(m.seconds for m in maps)))


def _model_planes(dataset, trained, mlar, options):
    """The planes the model's patches are cut from: the MLAR frames, and their matched-filter S/N if it uses them.

    The S/N is scaled by the annulus noise of the dataset's flipped-angle
    frames (companion-free), as in training, whichever map is made.
    """
    from .matched_filter import matched_filter_snr, stacked_planes
    from .mlar import mlar_frames

    if not trained.matched_filter:
        return mlar.frames
    if dataset.psf is None:
        raise ValueError("dataset: the model uses matched-filter planes, which need the dataset's PSF; got a "
                         "dataset without one")
    reference = mlar if mlar.flip_angles else mlar_frames(dataset, flip_angles=True, **options)
    _, noise = matched_filter_snr(reference, dataset.psf)
    return stacked_planes(mlar, dataset.psf, noise=noise)


def logit(p):
    """Log odds of probabilities, clipped to ``[1e-12, 1 - 1e-12]`` so that 0 and 1 stay finite.

    >>> logit([0.5, 1.0]).round(3).tolist()
    [0.0, 27.631]
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1.0 - 1e-12)
    return np.log(p) - np.log1p(-p)
