"""Inference: probability maps, a threshold calibrated on flipped-angle negatives, HDF5 output.

:func:`probability_map` runs a trained model on every pixel of every annulus
of a dataset: the MLAR frames are computed once with the settings the model was
trained with (levels, annuli, collapse: read from its metadata), the patches
are cut in batches (bounded memory) by a vectorised extraction, and the model's
probabilities fill the map. **Outside the annuli** (near the star, beyond the
last whole annulus and where a patch would leave the frame) the map is **0**:
a finite value (the scoring program takes NaN as "no detection" too, but 0
keeps the maps finite for any reader) that no threshold in ``[0, 1)`` detects.

:func:`calibrate_threshold` makes one threshold work across datasets: each
dataset's *negative* map is the model run on its MLAR frames derotated with the
negated angles (``flip_angles=True``): a companion of the sky then smears
along its arc and only the noise is left. The threshold is the smallest value
whose expected false-positive rate on those maps is at most the target, with
one of two rules:

- ``rule="pixel"`` (default): the false-positive rate of a dataset is the share of
  its map's pixels (inside the annuli) strictly above the threshold, and the
  datasets count equally (their mean rate is the target), so that a large frame
  does not impose its noise on the small ones. Smooth (every pixel is a sample)
  and what makes a per-pixel probability comparable across datasets.
- ``rule="blob"``: the expected number of false positives per dataset as the
  scorer counts them (4-connected blobs of at least ``npix`` pixels, huge blobs
  counted by area, :func:`exobench.scoring.roc.roc_curve` on the negative maps
  with no injection): ``fpr`` is then a number of false positives per dataset.
  Closer to the score, coarser (a few blobs per map).

:func:`save_predictions` writes maps to HDF5 with the model and the settings
that made them (:func:`load_predictions` reads them back).
"""

import dataclasses
import datetime
import json
import sys
import time
import warnings

import numpy as np

from .._validate import check_choice

__all__ = [
    "ProbabilityMap",
    "Calibration",
    "probability_map",
    "calibrate_threshold",
    "threshold_for_rate",
    "significance_map",
    "average_maps",
    "save_predictions",
    "load_predictions",
    "mlar_options",
    "CALIBRATION_RULES",
    "SIGNIFICANCE_TAILS",
    "PERMUTATION_KINDS",
    "permuted_angles",
    "PREDICTIONS_FORMAT",
]

#: Rules of :func:`calibrate_threshold`.
CALIBRATION_RULES = ("pixel", "blob")
#: Shapes of the null's tail above its largest value (:func:`significance_map`).
SIGNIFICANCE_TAILS = ("exponential", "normal")
#: ``format`` attribute of prediction files.
PREDICTIONS_FORMAT = "exobench-cnn-predictions/1"
#: Options of :func:`exobench.cnn.features.mlar_frames` read from a model's label settings.
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


@dataclasses.dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate_threshold` returns.

    Attributes
    ----------
    threshold : float
        Values strictly above it are detections.
    target : float
        The requested rate (per pixel, or false positives per dataset with ``rule="blob"``).
    rule : {"pixel", "blob"}
    achieved : float
        The rate the threshold gives on the negative maps (at most ``target``).
    per_dataset : tuple of float
        That rate on each negative map.
    n_datasets : int
    n_pixels : int
        Pixels of the negative maps.
    """

    threshold: float
    target: float
    rule: str
    achieved: float
    per_dataset: tuple
    n_datasets: int
    n_pixels: int

    def to_dict(self):
        """A JSON-serialisable dict."""
        return dataclasses.asdict(self)


# -- probability maps ---------------------------------------------------------------------------


def mlar_options(trained, dataset=None):
    """Keyword arguments of :func:`~exobench.cnn.features.mlar_frames` for ``trained``'s inputs.

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


def _check_batch(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    return int(batch_size)


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
    from .features import extract_patches, mlar_frames, pixel_positions

    batch_size = _check_batch(batch_size)
    started = time.perf_counter()
    options = mlar_options(trained, dataset)
    mlar = mlar_frames(dataset, flip_angles=flip_angles, **options)
    planes = _model_planes(dataset, trained, mlar, options)
    xy = pixel_positions(mlar)
    separations = np.hypot(xy[:, 0] - mlar.center[0], xy[:, 1] - mlar.center[1])
    values = np.empty(xy.shape[0], dtype=np.float64)
    starts = range(0, xy.shape[0], batch_size)
    for start in _bar(starts, f"inference {dataset.instrument} {dataset.dataset_id}", progress):
        stop = start + batch_size
        patches = extract_patches(planes, xy[start:stop], trained.patch_size)
        values[start:stop] = trained.predict(patches, separations[start:stop], mlar.fwhm, batch_size=batch_size,
                                             threads=threads)
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
    mean = np.mean([_logit(m.probability[first.mask]) for m in maps], axis=0)
    probability = np.zeros(first.mask.shape, dtype=np.float64)
    probability[first.mask] = 1.0 / (1.0 + np.exp(-mean))
    return dataclasses.replace(first, probability=probability, mask=first.mask.copy(),
                               seconds=float(sum(m.seconds for m in maps)))


def _model_planes(dataset, trained, mlar, options):
    """The planes the model's patches are cut from: the MLAR frames, and their matched-filter S/N if it uses them.

    The S/N is scaled by the annulus noise of the dataset's flipped-angle
    frames (companion-free), as in training, whichever map is made.
    """
    from .features import matched_filter_snr, mlar_frames, stacked_planes

    if not trained.matched_filter:
        return mlar.frames
    if dataset.psf is None:
        raise ValueError("dataset: the model uses matched-filter planes, which need the dataset's PSF; got a "
                         "dataset without one")
    reference = mlar if mlar.flip_angles else mlar_frames(dataset, flip_angles=True, **options)
    _, noise = matched_filter_snr(reference, dataset.psf)
    return stacked_planes(mlar, dataset.psf, noise=noise)


def _bar(items, desc, enabled):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="batch", file=sys.stderr, leave=False)


# -- calibration ----------------------------------------------------------------------------------


def _check_rate(rate, rule):
    ok = isinstance(rate, (int, float, np.floating)) and not isinstance(rate, bool) and np.isfinite(rate)
    if rule == "pixel" and not (ok and 0 < rate < 1):
        raise ValueError(f"fpr: expected a false-positive rate per pixel in (0, 1), got {rate!r}")
    if rule == "blob" and not (ok and rate >= 0):
        raise ValueError(f"fpr: expected a number of false positives per dataset >= 0, got {rate!r}")
    return float(rate)


def _pixel_threshold(samples, rate):
    values = np.concatenate(samples)
    weights = np.concatenate([np.full(v.size, 1.0 / (v.size * len(samples))) for v in samples])
    order = np.argsort(-values, kind="stable")
    values, weights = values[order], weights[order]
    levels, first = np.unique(-values, return_index=True)  # distinct values, decreasing
    before = np.concatenate([[0.0], np.cumsum(weights)])[first]  # weight strictly above each level
    ok = np.flatnonzero(before <= rate + 1e-12)
    threshold = float(-levels[ok[-1]])
    rates = tuple(float(np.mean(v > threshold)) for v in samples)
    return threshold, rates


def _blob_threshold(maps, masks, fwhms, rate, npix):
    from ..scoring.curves import roc_curve

    detmaps = [np.where(m, p, -np.inf) for p, m in zip(maps, masks)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = roc_curve(detmaps, [np.zeros((0, 2))] * len(detmaps), list(fwhms), npix=npix)
    thresholds, mean_fp = curve.thresholds, curve.mean_fp
    finite = np.isfinite(thresholds)
    above = np.flatnonzero(finite & ~(mean_fp <= rate + 1e-12))
    stop = above[0] if above.size else np.flatnonzero(finite)[-1] + 1
    threshold = float(thresholds[max(stop - 1, 0)])
    per_dataset = tuple(float(s.at([threshold]).fp[0]) for s in curve.per_dataset)
    return threshold, per_dataset


def threshold_for_rate(maps, masks, rate, *, rule="pixel", fwhms=None, npix=2):
    """The smallest threshold whose false-positive rate on negative maps is at most ``rate``.

    Parameters
    ----------
    maps : sequence of 2D arrays
        Negative (companion-free) probability maps.
    masks : sequence of 2D bool arrays
        Their predicted pixels.
    rate : float
        Per pixel (``rule="pixel"``, in (0, 1)), or false positives per dataset (``"blob"``).
    rule : {"pixel", "blob"}
        See :mod:`exobench.cnn.inference`.
    fwhms : sequence of float
        FWHM of each map (``"blob"`` only).
    npix : int
        Smallest blob (``"blob"`` only).

    Returns
    -------
    (float, tuple of float)
        The threshold and each map's rate there.

    Examples
    --------
    >>> maps = [np.linspace(0, 1, 100).reshape(10, 10), np.linspace(0, 0.5, 100).reshape(10, 10)]
    >>> masks = [np.ones((10, 10), bool)] * 2
    >>> t, rates = threshold_for_rate(maps, masks, 0.05)
    >>> round(t, 3), rates
    (0.899, (0.1, 0.0))
    """
    check_choice(rule, "rule", CALIBRATION_RULES)
    rate = _check_rate(rate, rule)
    maps = [np.asarray(m, dtype=np.float64) for m in maps]
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if not maps or len(maps) != len(masks) or any(m.shape != k.shape for m, k in zip(maps, masks)):
        raise ValueError("maps: expected one mask of the same shape per map, and at least one map")
    if any(not k.any() for k in masks):
        raise ValueError("masks: expected at least one predicted pixel in every map")
    if rule == "pixel":
        return _pixel_threshold([m[k] for m, k in zip(maps, masks)], rate)
    if fwhms is None or len(fwhms) != len(maps):
        raise ValueError("fwhms: expected one FWHM per map with rule='blob'")
    return _blob_threshold(maps, masks, fwhms, rate, npix)


def calibrate_threshold(datasets, trained, *, fpr=1e-3, rule="pixel", npix=2, batch_size=4096,
                        negative_maps=None, threads=1, progress=False):
    """One detection threshold for every dataset, from their flipped-angle negative maps.

    Parameters
    ----------
    datasets : Dataset or sequence of Dataset
    trained : exobench.cnn.training.TrainedModel
    fpr : float
        Target: false-positive rate per pixel (``rule="pixel"``) or false
        positives per dataset (``rule="blob"``).
    rule : {"pixel", "blob"}
        See :mod:`exobench.cnn.inference`.
    npix : int
        Smallest blob counted (``"blob"``; the scorer's default 2).
    batch_size : int
    negative_maps : sequence of ProbabilityMap, optional
        Negative maps already computed (``probability_map(..., flip_angles=True)``);
        then ``datasets`` is only used for their count and may be None.
    threads : int or None
        CPU threads of the torch backend (None: torch's default).
    progress : bool

    Returns
    -------
    Calibration

    Examples
    --------
    >>> calibrate_threshold([dataset], trained, fpr=1e-3).threshold  # doctest: +SKIP
    0.97...
    """
    check_choice(rule, "rule", CALIBRATION_RULES)
    fpr = _check_rate(fpr, rule)
    if negative_maps is None:
        from ..data import Dataset

        datasets = [datasets] if isinstance(datasets, Dataset) else list(datasets)
        if not datasets:
            raise ValueError("datasets: expected at least one dataset")
        negative_maps = [probability_map(d, trained, batch_size=batch_size, flip_angles=True, threads=threads,
                                         progress=progress) for d in datasets]
    maps = [m.probability for m in negative_maps]
    masks = [m.mask for m in negative_maps]
    threshold, rates = threshold_for_rate(maps, masks, fpr, rule=rule, fwhms=[m.fwhm for m in negative_maps],
                                          npix=npix)
    return Calibration(threshold=threshold, target=fpr, rule=rule, achieved=float(np.mean(rates)),
                       per_dataset=rates, n_datasets=len(maps), n_pixels=int(sum(k.sum() for k in masks)))


def _logit(p):
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1.0 - 1e-12)
    return np.log(p) - np.log1p(-p)


def significance_map(pmap, negative, *, by_annulus=False, min_pixels=0, standardise=False, angles=None,
                     own_image_radius=1.0, tail="exponential"):
    """A probability map calibrated on its dataset's negative map: ``-log10`` of the false-positive rate.

    Each probability ``p`` becomes ``-log10((m + 1) / (N + 1))`` where ``m`` of the
    ``N`` pixels of the flipped-angle negative map reach ``p``: a value ``s``
    is reached by a fraction ``10**-s`` of the companion-free pixels *of the
    same dataset*, so one threshold ``-log10(fpr)`` means the same false-positive
    rate per pixel in every dataset, whatever the model's calibration there.
    Above the negative map's largest value the rate is extrapolated (``tail``),
    by default as ``exp(-logit)`` (a logistic tail): ``log10(N + 1)`` plus the
    logit's excess over that largest value, divided by ``ln 10``, so the
    brightest sources stay ranked. Outside the map's mask the result is 0 (no
    pixel of the mask is below 0).

    Parameters
    ----------
    pmap : ProbabilityMap
    negative : ProbabilityMap or sequence of ProbabilityMap
        The same dataset with ``flip_angles=True`` (same model); or several
        companion-free maps of it (for instance that one and maps derotated
        with permutations of the angles, :func:`permuted_angles`), pooled into
        one null: more independent negatives resolve smaller rates (a large
        FWHM leaves one map few independent resolution elements). They must
        share ``pmap``'s geometry; ``angles`` (the own image) needs one map.
    by_annulus : bool
        Calibrate each annulus of ``pmap.annuli`` on the negatives of the same
        annulus (the rate is then per pixel *of each separation*: the inner
        annuli, where few speckles make heavy tails, get their own scale).
    min_pixels : int
        With ``by_annulus``, adjacent annuli are pooled (from the star outwards)
        until each group holds at least this many negative pixels (of each
        negative map, when there are several).
    standardise : bool
        First put every annulus of ``pmap.annuli`` on one scale: the logits of
        both maps, minus the mean of the negatives' logits in that annulus,
        over their standard deviation there. Each separation's own noise
        regime then sets its scale, as an S/N does, while the false-positive
        rate is counted on the negatives of the whole map (or of each group):
        an annulus of a few hundred pixels, too few to count rates of 1e-4 on,
        still gets its own scale. Above the largest negative the tail is
        ``exp(-z)`` (``tail="exponential"``) or the normal one (``"normal"``).
    angles : array-like, optional
        The dataset's derotation angles (degrees). When given, each pixel's
        null leaves out the negative pixels within ``own_image_radius`` FWHM
        of that pixel's *own image* in the negative map: a source at polar
        angle ``theta`` sits at ``theta - angles[i]`` in frame ``i`` and the
        negated derotation puts it at ``theta - 2 angles[i]``, an arc at the
        same separation. A bright companion's arc is smeared, not gone, and
        the network may score it as high as the companion itself: counted
        in the companion's own null, it would hide the companion (the
        S/N's exclusion of the candidate's own aperture, for the negative
        map). Pixels whose null would then be empty keep the whole null.
    own_image_radius : float
        Radius (FWHM) around the arc of the own image left out with ``angles``
        (a patch of 2 FWHM sees light up to about 1 FWHM from its centre).
    tail : {"exponential", "normal"}
        How the rate falls above the largest negative ``top`` of a null of
        ``N`` pixels, from ``1 / (N + 1)`` there: ``"exponential"`` in the
        logit (or in the standardised value), a heavy tail that ranks the
        brightest sources without claiming much beyond the null; ``"normal"``
        (needs ``standardise``) as the normal distribution's tail,
        ``rate(z) = Q(z) / (Q(top) (N + 1))`` with ``Q`` the normal survival
        function. The standardised logits of flipped-angle negatives fall off
        faster than ``exp(-z)`` near their largest values but are heavier than
        normal: the normal tail gives more detections and more false
        positives; on the benchmark the exponential one scored better
        (docs/cnn.md, "The null's tail").

    Returns
    -------
    numpy.ndarray, float64, shape (y, x)

    Examples
    --------
    >>> import types
    >>> mask = np.ones((1, 4), bool)
    >>> neg = types.SimpleNamespace(probability=np.array([[0.1, 0.2, 0.3, 0.4]]), mask=mask)
    >>> pos = types.SimpleNamespace(probability=np.array([[0.05, 0.3, 0.4, 0.5]]), mask=mask)
    >>> significance_map(pos, neg).round(3).tolist()
    [[0.0, 0.222, 0.398, 0.875]]
    """
    check_choice(tail, "tail", SIGNIFICANCE_TAILS)
    if tail == "normal" and not standardise:
        raise ValueError("tail: 'normal' needs standardise=True (the standardised logits are its z-scores)")
    nulls = _negative_maps(negative, pmap)
    if angles is not None and len(nulls) > 1:
        raise ValueError(f"angles: the own-image exclusion needs one negative map, got {len(nulls)}; "
                         "pass angles=None to pool several")
    negative = nulls[0]
    out = np.zeros(pmap.probability.shape, dtype=np.float64)
    values, null_values = pmap.probability, [n.probability for n in nulls]
    if standardise:
        values, null_values = _standardised(pmap, nulls)
    negatives = null_values[0]
    # the tail's log-rate as a function of the values compared (probabilities or z-scores)
    tail = _normal if tail == "normal" else (_same if standardise else _logit)
    image = None
    if angles is not None:
        from ..algorithms.base import check_number

        radius = check_number(own_image_radius, "own_image_radius", strict=True)
        image = _OwnImage(_own_image_offsets(angles), radius * float(np.mean(pmap.fwhm)), pmap.probability.shape)
    for region in _calibration_regions(pmap, negative, by_annulus, min_pixels):
        own, noise = pmap.mask & region, negative.mask & region
        if image is None:
            null = np.concatenate([v[n.mask & region] for n, v in zip(nulls, null_values)])
            out[own] = _significance(values[own], null, tail)
        else:
            out[own] = image.significance(values, own, negatives, noise, tail)
    return out


def _radius(shape):
    from ..geometry import polar_grid

    return polar_grid(shape)[0]


def _negative_maps(negative, pmap):
    """``negative`` as a non-empty list of maps of ``pmap``'s shape."""
    nulls = [negative] if hasattr(negative, "probability") else list(negative)
    if not nulls:
        raise ValueError("negative: expected a negative map or several, got none")
    for null in nulls:
        if np.shape(null.probability) != np.shape(pmap.probability):
            raise ValueError(f"negative: expected maps of shape {np.shape(pmap.probability)}, "
                             f"got {np.shape(null.probability)}")
    return nulls


def _standardised_logits(pmap, negative):
    """Both maps' logits, each annulus centred and scaled by its negatives' mean and standard deviation."""
    values, (negatives,) = _standardised(pmap, [negative])
    return values, negatives


def _standardised(pmap, nulls):
    """The logits of ``pmap`` and of every negative map, each annulus centred and scaled by the
    mean and standard deviation of all the negatives' logits there."""
    radius = _radius(pmap.probability.shape)
    values = np.zeros(pmap.probability.shape, dtype=np.float64)
    negatives = [np.zeros(pmap.probability.shape, dtype=np.float64) for _ in nulls]
    for inner, outer in pmap.annuli:
        ring = (radius >= inner) & (radius < outer)
        reference = np.concatenate([_logit(n.probability[n.mask & ring]) for n in nulls])
        if reference.size == 0:
            raise ValueError("negative: expected predicted pixels in every annulus of the map, got none "
                             f"between {inner:g} and {outer:g} px")
        centre, spread = _centre_spread(reference)
        for source, out in zip([pmap, *nulls], [values, *negatives]):
            pick = source.mask & ring
            out[pick] = (_logit(source.probability[pick]) - centre) / spread
    return values, negatives


#: Kinds of :func:`permuted_angles`.
PERMUTATION_KINDS = ("random", "reversed-runs")
#: Most runs of a ``reversed-runs`` permutation, and the fewest frames in one.
_MAX_RUNS, _MIN_RUN = 5, 2


def permuted_angles(angles, count, *, kind="random", random_state=None):
    """``count`` seeded permutations of ``angles``, none the identity: derotated with them, a
    dataset's companions smear (each frame turned by another frame's angle) while the noise keeps
    its statistics (the same set of rotations), so their maps are further negatives for
    :func:`significance_map`.

    Parameters
    ----------
    angles : array_like, shape (t,)
        The frames' derotation angles, in time order.
    count : int
    kind : {"random", "reversed-runs"}
        ``random``: any permutation; it scatters a residual that lives over a
        few frames into blobs, and leaves each companion a faint ghost at its
        place (two random angles often differ little). ``reversed-runs``: the
        frames cut into 1 to 5 runs of consecutive frames (at least 2 each),
        each run's angles reversed and the runs shuffled, so neighbouring
        frames keep neighbouring angles (such a residual stays an arc, as in
        the real map) while a companion's frames sweep an arc, with no ghost.
        Distinct where the frames allow that many.
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator

    Returns
    -------
    list of numpy.ndarray

    Examples
    --------
    >>> [p.tolist() for p in permuted_angles([0.0, 10.0, 20.0], 2, random_state=0)]
    [[20.0, 0.0, 10.0], [20.0, 10.0, 0.0]]
    >>> permuted_angles([0.0, 10.0, 20.0, 30.0], 1, kind="reversed-runs", random_state=0)[0].tolist()
    [10.0, 0.0, 30.0, 20.0]
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 1 or angles.size < 2:
        raise ValueError(f"angles: expected a 1D array of at least 2 angles, got shape {angles.shape}")
    if kind not in PERMUTATION_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(PERMUTATION_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(random_state)
    draw = _reversed_runs if kind == "reversed-runs" else _random_order
    orders, tries = [], 0
    while len(orders) < count:
        order, tries = draw(angles.size, rng), tries + 1
        identity = np.array_equal(order, np.arange(angles.size))
        repeated = any(np.array_equal(order, seen) for seen in orders) and tries < 100 * count
        if not identity and not repeated:
            orders.append(order)
    return [angles[order] for order in orders]


def _random_order(n, rng):
    return rng.permutation(n)


def _reversed_runs(n, rng):
    """Frame order: 1 to ``_MAX_RUNS`` runs of consecutive frames, each reversed, shuffled.

    >>> _reversed_runs(6, np.random.default_rng(1)).tolist()
    [5, 4, 3, 2, 1, 0]
    """
    most = max(1, min(_MAX_RUNS, n // _MIN_RUN))
    runs = int(rng.integers(1, most + 1))
    # the runs' lengths beyond _MIN_RUN: runs - 1 bars among the spare frames (stars and bars)
    slots = n - runs * _MIN_RUN + runs - 1
    bars = np.sort(rng.choice(slots, runs - 1, replace=False)).astype(np.int64)
    lengths = np.diff(np.concatenate([[-1], bars, [slots]])) - 1 + _MIN_RUN
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces = [np.arange(start, start + length)[::-1] for start, length in zip(starts, lengths)]
    return np.concatenate([pieces[k] for k in rng.permutation(runs)])


def _centre_spread(values):
    """Mean and standard deviation (1 for a constant annulus: unscaled).

    >>> _centre_spread(np.array([1.0, 3.0])), _centre_spread(np.array([2.0, 2.0]))
    ((2.0, 1.0), (2.0, 1.0))
    """
    spread = float(np.std(values))
    return float(np.mean(values)), spread if spread > 0 else 1.0


def _same(values):
    return np.asarray(values, dtype=np.float64)


def _normal(values):
    """``-ln Q(z)``, the normal tail's log-rate (``Q`` the survival function), accurate far out.

    >>> _normal(np.array([0.0, 5.0])).round(4).tolist()
    [0.6931, 15.065]
    """
    from scipy.special import log_ndtr

    return -log_ndtr(-np.asarray(values, dtype=np.float64))


def _calibration_regions(pmap, negative, by_annulus, min_pixels):
    if not by_annulus:
        return [np.ones(pmap.probability.shape, dtype=bool)]
    radius = _radius(pmap.probability.shape)
    edges = [inner for inner, _ in pmap.annuli] + [pmap.annuli[-1][1]]
    regions, start = [], 0
    for j in range(1, len(edges)):
        region = (radius >= edges[start]) & (radius < edges[j])
        last = j == len(edges) - 1
        if np.count_nonzero(negative.mask & region) >= max(min_pixels, 1) or last:
            if last and regions and np.count_nonzero(negative.mask & region) < min_pixels:
                regions[-1] = regions[-1] | region
            else:
                regions.append(region)
            start = j
    return regions


def _significance(values, negatives, tail=_logit):
    negatives = np.sort(negatives)
    if negatives.size == 0:
        raise ValueError("negative: expected a map with predicted pixels (in every calibration region)")
    n = np.full(np.shape(values), negatives.size)
    reached = negatives.size - np.searchsorted(negatives, values, side="left")
    return _rate_score(values, reached, n, np.full(np.shape(values), negatives[-1]), tail)


def _own_image_offsets(angles):
    """Sorted polar-angle offsets (radians, in [0, 2 pi)) of a source's own image in the
    negative map: ``-2 angles[i]`` (see :func:`significance_map`).

    >>> np.degrees(_own_image_offsets([10.0, -30.0])).round(6).tolist()
    [60.0, 340.0]
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 1 or angles.size == 0 or not np.all(np.isfinite(angles)):
        raise ValueError(f"angles: expected a non-empty 1D array of finite derotation angles (deg), "
                         f"got shape {angles.shape}")
    return np.sort(np.mod(-2.0 * np.radians(angles), 2.0 * np.pi))


def _angular_gap(alpha, offsets):
    """``min_i |alpha - offsets[i]|`` on the circle (radians), for every ``alpha``.

    >>> _angular_gap(np.array([0.1, 6.2]), np.array([0.0, 1.0])).round(4).tolist()
    [0.1, 0.0832]
    """
    alpha = np.mod(alpha, 2.0 * np.pi)
    index = np.searchsorted(offsets, alpha)
    below = offsets[(index - 1) % offsets.size]
    above = offsets[index % offsets.size]
    return np.minimum(np.mod(alpha - below, 2.0 * np.pi), np.mod(above - alpha, 2.0 * np.pi))


class _OwnImage:
    """Per-pixel nulls without the pixel's own image (``significance_map(..., angles=...)``).

    Only negatives within ``radius`` of a pixel's separation can be near its arc,
    so pixels are taken in blocks of similar separation and tested against that
    band of negatives alone; the rest of the null counts whole (sorted once).
    """

    #: Pixels per block of pairwise tests.
    BLOCK = 256

    def __init__(self, offsets, radius, shape):
        from ..geometry import polar_grid

        self.offsets, self.radius = offsets, float(radius)
        self.r, theta = polar_grid(shape)
        self.theta = np.radians(theta)

    def significance(self, values, own, negatives, noise, tail):
        """The rates of ``values[own]`` against ``negatives[noise]``, each without its own image."""
        if not np.any(noise):
            raise ValueError("negative: expected a map with predicted pixels (in every calibration region)")
        by_radius = np.argsort(self.r[noise], kind="stable")
        null, null_r, null_theta = (a[noise][by_radius] for a in (negatives, self.r, self.theta))
        ranked = np.sort(null)
        # the largest negative before / after each position of the radius order
        before = np.concatenate([[-np.inf], np.maximum.accumulate(null)])
        after = np.concatenate([np.maximum.accumulate(null[::-1])[::-1], [-np.inf]])
        order = np.argsort(self.r[own], kind="stable")
        v, r, theta = (a[own][order] for a in (values, self.r, self.theta))
        score = np.empty(v.size)
        for start in range(0, v.size, self.BLOCK):
            part = slice(start, start + self.BLOCK)
            lo = np.searchsorted(null_r, r[part][0] - self.radius, side="left")
            hi = np.searchsorted(null_r, r[part][-1] + self.radius, side="right")
            band, band_r = null[lo:hi], null_r[lo:hi]
            gap = _angular_gap(null_theta[lo:hi][None, :] - theta[part, None], self.offsets)
            distance2 = band_r[None, :] ** 2 + r[part, None] ** 2 - 2.0 * band_r[None, :] * r[part, None] * np.cos(gap)
            near = distance2 <= self.radius ** 2
            near[near.sum(axis=1) == null.size] = False  # nothing would be left: the whole null
            n = null.size - near.sum(axis=1)
            reached = null.size - np.searchsorted(ranked, v[part], side="left")
            reached -= (near & (band[None, :] >= v[part, None])).sum(axis=1)
            outside = max(before[lo], after[hi])
            top = np.maximum(np.where(near, -np.inf, band[None, :]).max(axis=1, initial=-np.inf), outside)
            score[part] = _rate_score(v[part], reached, n, top, tail)
        out = np.empty(v.size)
        out[order] = score
        return out


def _rate_score(values, reached, n, top, tail):
    """``-log10((m + 1) / (N + 1))``, and the tail (a log-rate, natural log) above the largest negative ``top``."""
    score = 0.0 - np.log10((reached + 1.0) / (n + 1.0))
    beyond = values > top
    score[beyond] = np.log10(n[beyond] + 1.0) + (tail(values[beyond]) - tail(top[beyond])) / np.log(10.0)
    return score


# -- files ------------------------------------------------------------------------------------------


def save_predictions(path, maps, *, trained=None, calibration=None, attrs=None):
    """Write probability maps to HDF5, atomically, with the model and settings that made them.

    Layout: root attributes ``format``, ``created``, ``model_path``,
    ``model_metadata`` (JSON), ``calibration`` (JSON) and ``attrs`` (JSON, free);
    one group per map, ``maps/{instrument}_{dataset_id}[_flipped]``, with the
    datasets ``probability`` and ``mask`` and the map's settings as attributes.

    Parameters
    ----------
    path : str or path-like
    maps : sequence of ProbabilityMap
    trained : TrainedModel, optional
    calibration : Calibration, optional
    attrs : dict, optional
        More JSON-serialisable information.

    Returns
    -------
    pathlib.Path
    """
    import h5py

    from .._atomic import atomic_path
    from .training import _jsonable

    maps = list(maps)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.attrs["format"] = PREDICTIONS_FORMAT
            handle.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            handle.attrs["model_path"] = "" if trained is None or trained.path is None else str(trained.path)
            handle.attrs["model_metadata"] = json.dumps(_jsonable(trained.metadata) if trained else None)
            handle.attrs["calibration"] = json.dumps(calibration.to_dict() if calibration else None)
            handle.attrs["attrs"] = json.dumps(_jsonable(attrs or {}))
            group = handle.create_group("maps")
            for pmap in maps:
                _write_map(group, pmap)
    from pathlib import Path

    return Path(path)


def _map_name(pmap):
    return f"{pmap.instrument}_{pmap.dataset_id}" + ("_flipped" if pmap.flip_angles else "")


def _write_map(group, pmap):
    name = _map_name(pmap)
    if name in group:
        raise ValueError(f"maps: two maps named {name!r} (instrument, dataset_id, flip_angles)")
    sub = group.create_group(name)
    sub.create_dataset("probability", data=pmap.probability, compression="gzip")
    sub.create_dataset("mask", data=pmap.mask, compression="gzip")
    sub.create_dataset("ks", data=np.asarray(pmap.ks))
    sub.create_dataset("annuli", data=np.asarray(pmap.annuli, dtype=np.float64).reshape(-1, 2))
    for key in ("instrument", "dataset_id", "flip_angles", "fwhm", "n_patches", "seconds"):
        sub.attrs[key] = getattr(pmap, key)
    sub.attrs["levels"] = np.asarray(pmap.levels, dtype=np.float64)


def load_predictions(path):
    """Read a file of :func:`save_predictions`.

    Returns
    -------
    dict
        ``maps`` (list of ProbabilityMap), ``model_path``, ``model_metadata``,
        ``calibration`` (dicts or None), ``attrs``, ``created``.
    """
    import h5py

    with h5py.File(path, "r") as handle:
        if handle.attrs.get("format") != PREDICTIONS_FORMAT:
            raise ValueError(f"path: {str(path)!r} is not an exobench predictions file "
                             f"(format {handle.attrs.get('format')!r})")
        maps = [_read_map(handle["maps"][name]) for name in handle["maps"]]
        return {"maps": maps, "model_path": str(handle.attrs["model_path"]) or None,
                "model_metadata": json.loads(handle.attrs["model_metadata"]),
                "calibration": json.loads(handle.attrs["calibration"]),
                "attrs": json.loads(handle.attrs["attrs"]), "created": str(handle.attrs["created"])}


def _read_map(sub):
    a = sub.attrs
    return ProbabilityMap(probability=sub["probability"][()], mask=sub["mask"][()].astype(bool),
                          instrument=str(a["instrument"]), dataset_id=str(a["dataset_id"]),
                          flip_angles=bool(a["flip_angles"]), levels=tuple(float(v) for v in a["levels"]),
                          ks=sub["ks"][()], annuli=[tuple(map(float, r)) for r in sub["annuli"][()]],
                          fwhm=float(a["fwhm"]), n_patches=int(a["n_patches"]), seconds=float(a["seconds"]))
