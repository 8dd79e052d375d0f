"""The CNN's detection map of one dataset, from its options: samples, training, maps, calibration.

:func:`detection_map` runs, on one dataset:

1. labelled samples from the dataset itself, as SODINN does
   (:func:`~exobench.cnn.labels.generate_samples`: injected companions in an
   S/N band, flipped-angle negatives), seeded per dataset
   (:func:`dataset_seeds`), and the training of one network per ``delta``
   (:func:`~exobench.cnn.training.train_model`); or a pretrained model loaded
   from its ``.keras`` file, or models given by the caller;
2. the probability map (:func:`~exobench.cnn.probability.probability_map`),
   the ensemble's maps averaged in log odds;
3. for a significance map, the null (:func:`null_maps`): the same models'
   maps of the residuals derotated with the negated angles and with
   ``null_permutations`` seeded permutations of the angles, where no
   companion adds up;
4. the detection map: each probability as ``-log10`` of the share of the
   dataset's null pixels reaching it
   (:func:`~exobench.cnn.significance.null_significance_map`, calibrated as the
   options say), so that the one threshold ``-log10(fpr)`` means the same
   false-positive rate per pixel in every dataset; or the raw probability map
   (threshold :data:`PROBABILITY_THRESHOLD`, SODINN's).

The ``cnn`` baseline (:class:`~exobench.cnn.baseline.CNNBaseline`) and the
benchmarks in ``bench/`` all call :func:`detection_map`. Outside the annuli
the maps are 0. 4D datasets go through the same steps, their MLAR frames
averaged over the channels.
"""

import dataclasses
import functools
import os
import time
import zlib

import numpy as np

from .._validate import check_choice
from .nulls import permuted_angles
from .options import CNNOptions
from .probability import average_maps, probability_map
from .significance import null_significance_map

__all__ = ["detection_map", "DetectionResult", "Network", "CNN_DETECTION_MAPS", "PROBABILITY_THRESHOLD",
           "dataset_seeds", "null_angles", "null_maps", "ensemble_map", "recalibrate"]

#: The maps the CNN baseline makes (the `detection_map` values it takes).
CNN_DETECTION_MAPS = ("significance", "probability")
#: Threshold of ``probability`` maps (SODINN's).
PROBABILITY_THRESHOLD = 0.9
#: A word of the seed of the null's angle permutations, apart from the samples' and training's seeds.
_PERMUTATION_STREAM = 7919


@dataclasses.dataclass(frozen=True, eq=False)
class Network:
    """One network of the ensemble and how it was made.

    Attributes
    ----------
    trained : exobench.cnn.training.TrainedModel
    samples : exobench.cnn.samples.LabelledSamples or None
        Its training samples (None: a pretrained or given model).
    samples_s, train_s : float
        Wall time of the samples and of the training (0 without training).
    """

    trained: object
    samples: object = None
    samples_s: float = 0.0
    train_s: float = 0.0


@dataclasses.dataclass(frozen=True, eq=False)
class DetectionResult:
    """What :func:`detection_map` returns.

    Attributes
    ----------
    map : numpy.ndarray, float64, shape (y, x)
        The detection map (significance or probability), 0 outside the annuli.
    kind : {"significance", "probability"}
    threshold : float
        The map's default threshold: ``-log10(fpr)``, or :data:`PROBABILITY_THRESHOLD`.
    probability : exobench.cnn.probability.ProbabilityMap
        The ensemble's probability map.
    nulls : list of ProbabilityMap
        The null's maps (flipped-angle first; empty for a probability map).
    networks : list of Network
    maps_s : float
        Wall time of the probability map, the null and the calibration.
    """

    map: np.ndarray
    kind: str
    threshold: float
    probability: object
    nulls: list
    networks: list
    maps_s: float


def detection_map(dataset, options, *, kind="significance", models=None, progress=False):
    """The CNN's detection map of one dataset (the steps of :mod:`exobench.cnn.pipeline`).

    Parameters
    ----------
    dataset : exobench.data.Dataset
    options : CNNOptions
    kind : {"significance", "probability"}
        The detection map.
    models : sequence of TrainedModel, optional
        Trained models to use instead of training on ``dataset`` (or loading
        ``options.model``): the ensemble is these.
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    DetectionResult

    Examples
    --------
    >>> result = detection_map(dataset, CNNOptions(size="tiny"))  # doctest: +SKIP
    >>> detections = result.map > result.threshold  # doctest: +SKIP
    """
    if not isinstance(options, CNNOptions):
        raise TypeError(f"options: expected CNNOptions, got {type(options).__name__}")
    check_choice(kind, "kind", CNN_DETECTION_MAPS)
    if models is None:
        networks = [_network(dataset, options, member, delta, progress) for member, delta in enumerate(options.deltas)]
    else:
        networks = [Network(trained) for trained in models]
        if not networks:
            raise ValueError("models: expected at least one trained model, got none")
    trained = [network.trained for network in networks]
    started = time.perf_counter()
    pmap = ensemble_map(dataset, trained, options, progress=progress)
    if kind == "probability":
        return DetectionResult(map=pmap.probability, kind=kind, threshold=PROBABILITY_THRESHOLD, probability=pmap,
                               nulls=[], networks=networks, maps_s=time.perf_counter() - started)
    nulls = null_maps(dataset, trained, options, progress=progress)
    out = null_significance_map(pmap, nulls, **options.calibration_options(dataset.angles))
    return DetectionResult(map=out, kind=kind, threshold=options.threshold, probability=pmap, nulls=nulls,
                           networks=networks, maps_s=time.perf_counter() - started)


def recalibrate(result, options, angles):
    """``result``'s probability map calibrated on its null with other calibration ``options``.

    The same networks' maps, so only the calibration options (``fpr``,
    ``standardize_annuli``, ``calibration_tail``, ``calibration_pixels``,
    ``own_image_radius``) of ``options`` matter.

    Parameters
    ----------
    result : DetectionResult
        Of a significance map.
    options : CNNOptions
    angles : array_like
        The dataset's derotation angles.

    Returns
    -------
    numpy.ndarray
    """
    if not result.nulls:
        raise ValueError("result: expected the result of a significance map (with its null), got a probability map")
    return null_significance_map(result.probability, result.nulls, **options.calibration_options(angles))


def ensemble_map(dataset, models, options, *, flip_angles=False, progress=False):
    """The probability map of ``dataset`` by each of ``models``, averaged in log odds."""
    return average_maps([probability_map(dataset, model, flip_angles=flip_angles, threads=options.threads,
                                         progress=progress) for model in models])


def null_maps(dataset, models, options, *, progress=False):
    """The null of ``dataset``'s map: its maps where no companion adds up, each averaged over ``models``.

    The flipped-angle map first, then one map per :func:`null_angles` permutation.
    """
    flipped = ensemble_map(dataset, models, options, flip_angles=True, progress=progress)
    return [flipped] + [ensemble_map(dataset.replace(angles=angles), models, options, progress=progress)
                        for angles in null_angles(dataset, options)]


def null_angles(dataset, options):
    """The ``null_permutations`` seeded permutations of ``dataset``'s angles whose maps join the null.

    Seeded by the options' ``seed``, the dataset's instrument and id: the same
    for a dataset whatever the phase around it.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=10, size=33)
    >>> len(null_angles(ds, CNNOptions())), null_angles(ds, CNNOptions(null_permutations=0))
    (4, [])
    """
    if options.null_permutations == 0:
        return []
    words = [int(options.seed), zlib.crc32(dataset.instrument.encode()),
             zlib.crc32(str(dataset.dataset_id).encode()), _PERMUTATION_STREAM]
    return permuted_angles(dataset.angles, int(options.null_permutations), kind=options.permutation_kind,
                           random_state=np.random.SeedSequence(words))


def dataset_seeds(seed, dataset, member=0):
    """``(samples_rng, training_seed)`` of one dataset: independent of the order of the phase.

    ``member`` (the index of a network of the ensemble): 0 gives the seeds of
    a single network, the others their own.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> rng, seed = dataset_seeds(0, example_dataset(n_frames=10, size=33))
    >>> seed == dataset_seeds(0, example_dataset(n_frames=10, size=33))[1]
    True
    """
    words = [int(seed), zlib.crc32(dataset.instrument.encode()), zlib.crc32(str(dataset.dataset_id).encode())]
    words += [int(member)] if member else []
    sequence = np.random.SeedSequence(words)
    samples, training = sequence.spawn(2)
    return np.random.default_rng(samples), int(training.generate_state(1)[0] >> 1)


def _network(dataset, options, member, delta, progress):
    """The pretrained model of ``options.model``, or a network trained on ``dataset``'s own samples."""
    if options.pretrained:
        path = os.path.abspath(os.path.expanduser(options.model))
        return Network(_load_cached(path, os.path.getmtime(path)))
    from .labels import generate_samples
    from .training import train_model

    rng, seed = dataset_seeds(options.seed, dataset, member)
    started = time.perf_counter()
    samples = generate_samples(dataset, options.label_settings(delta), random_state=rng, progress=progress)
    sampled = time.perf_counter()
    trained = train_model(samples, random_state=seed, progress=progress, **options.training_options())
    return Network(trained, samples, samples_s=sampled - started, train_s=time.perf_counter() - sampled)


@functools.lru_cache(maxsize=4)
def _load_cached(path, mtime):
    """A model file loaded once per path and modification time."""
    from .training import load_model

    return load_model(path)
