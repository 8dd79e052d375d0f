"""The ``cnn`` baseline: SODINN-style supervised detection, one network per dataset.

``exobench baseline cnn PHASE_DIR -o cnn.zip`` runs, on every dataset of the
phase (one task each, as every baseline of :mod:`exobench.baseline`):

1. labelled samples from the dataset itself, as SODINN does
   (:func:`exobench.cnn.labels.generate_samples`: injected companions in an
   S/N band, flipped-angle negatives);
2. training of the network (:func:`exobench.cnn.training.train_model`, early
   stopping, seeded per dataset) -- or, with ``cnn: {model: PATH.keras}``, a
   pretrained model loaded from its file and no training;
3. the probability map (:func:`exobench.cnn.probability.probability_map`) and
   the null (:func:`null_maps`): the same model's maps of the residuals
   derotated with the negated angles and with ``null_permutations`` seeded
   permutations of the angles, where no companion adds up;
4. the detection map: with ``detection_map: significance`` (default) each
   probability becomes ``-log10`` of the share of that dataset's null
   pixels reaching it (:func:`exobench.cnn.significance.significance_map`),
   after each annulus's logits are centred and scaled by that annulus's own
   negatives (``standardise_annuli``: the inner annuli, where a few speckles
   make heavy tails, get their own scale, as an S/N gives them), the rate
   counted separately in groups of adjacent annuli of at least
   ``calibration_pixels`` pixels of each null map (null: on the whole map),
   optionally each pixel's null without the negatives within
   ``own_image_radius`` FWHM of its own image (where a source at that pixel
   smears to in the flipped map; with that map alone), and above a group's largest
   negative the rate extrapolated as ``exp(-z)`` (``calibration_tail``), so
   that the one threshold
   ``-log10(fpr)`` of the phase means the same false-positive rate per pixel
   in every dataset; with ``probability`` the raw map, threshold 0.9 (SODINN's).

Outside the annuli the maps are 0 (never a detection at the default
thresholds). 4D datasets go through the same steps, their MLAR frames averaged
over the channels. This module imports keras only inside the methods that
need it; :meth:`CNNBaseline.unavailable_reason` says what to install.
"""

import copy
import functools
import math
import numbers
import os
import zlib

import numpy as np

from ..baseline import Baseline
from .labels import LabelSettings

__all__ = ["CNNBaseline", "CNN_DEFAULTS", "PROBABILITY_THRESHOLD", "dataset_seeds", "calibration_options",
           "ensemble_map", "ensemble_members", "label_settings", "null_angles", "null_maps"]

#: A word of the seed of the null's angle permutations (apart from the samples' and training's seeds).
_PERMUTATION_STREAM = 7919
#: Threshold of ``detection_map: probability`` maps (SODINN's).
PROBABILITY_THRESHOLD = 0.9
_LABELS = LabelSettings()
#: Options of the ``cnn`` section of the parameters, and their defaults.
CNN_DEFAULTS = {
    "model": "na-conv3d",
    "size": "small",
    "n_samples": 5000,
    "snr_band": [float(v) for v in _LABELS.snr_band],
    "levels": [0.5, 0.7, 0.9, 0.95, 0.99],
    "variance": "above-median",
    "delta": [0.0, 1.0],
    "matched_filter": True,
    "near_fraction": 0.0,
    "mirrors": False,
    "epochs": 20,
    "batch_size": 128,
    "patience": 3,
    "learning_rate": 0.003,
    "validation_fraction": 0.2,
    "fpr": 0.0002,
    "standardise_annuli": True,
    "calibration_tail": "exponential",
    "calibration_pixels": 7500,
    "own_image_radius": None,
    "null_permutations": 4,
    "permutation_kind": "random",
    "seed": 0,
    "threads": 1,
}


class CNNBaseline(Baseline, name="cnn"):
    """SODINN-style CNN trained per dataset on its own labelled MLAR patches (exobench.cnn)."""

    options_key = "cnn"
    #: Shown in ``exobench baseline --list`` (no algorithm of exobench.algorithms).
    algorithm = "exobench.cnn"
    #: Any cube: 3D, or 4D with the MLAR frames averaged over the channels (not the
    #: channel-by-channel path of the algorithm baselines).
    data = "any"

    @classmethod
    def unavailable_reason(cls):
        from ._backend import unavailable_reason

        return unavailable_reason()

    @classmethod
    def default_params(cls):
        return {"baseline": cls.name, "cnn": copy.deepcopy(CNN_DEFAULTS), "detection_map": "significance",
                "threshold": None}

    @classmethod
    def detection_maps(cls):
        return ("significance", "probability")

    @classmethod
    def default_threshold(cls, params):
        if params["detection_map"] == "probability":
            return PROBABILITY_THRESHOLD
        return -math.log10(params["cnn"]["fpr"])

    @classmethod
    def check_params(cls, data, *, where="params"):
        params = super().check_params(data, where=where)
        _check_cnn(params["cnn"], f"{where}: cnn")
        return params

    @classmethod
    def params_header(cls):
        return f"""\
# exobench baseline {cls.name!r}: {cls.description()}
# Run: exobench baseline {cls.name} PHASE_DIR -o {cls.name}.zip --params THIS_FILE.yaml   (docs/cnn.md)
# cnn: model: an architecture trained on each dataset's own labelled samples (conv3d, convlstm:
#            SODINN's; na-conv3d: noise-aware, see exobench.cnn.models) or a PATH.keras of
#            exobench.cnn.save_model (pretrained: no training); size: full (SODINN's 40/80/128),
#            small, tiny; n_samples, snr_band, levels: exobench.cnn.labels.LabelSettings; variance:
#            what the levels are fractions of, total (SODINN's) or above-median (each annulus's
#            variance above its median eigenvalue, so photon noise does not pull in most
#            components); delta: rotation threshold of the MLAR frames' PCA libraries in FWHM of arc
#            (0: every frame in one decomposition, SODINN's; 1: each frame's library leaves out
#            the frames where a source has moved less, so a companion keeps its flux), or a list:
#            one network per value, their maps' logits averaged (an ensemble); matched_filter:
#            also the matched-filter S/N of each level (the frames correlated with the PSF, over
#            their annulus noise) as inputs (false: SODINN's); mirrors: the samples' augmentation
#            also mirrors half of the patches (the square's eight symmetries, not its four turns);
#            near_fraction: share of the negatives
#            cut 1 to 2 FWHM from an injected companion (0: all from the flipped-angle frames); epochs,
#            batch_size, patience, learning_rate, validation_fraction: exobench.cnn.train_model;
#            fpr: false-positive rate per pixel on the flipped-angle negatives that the default
#            threshold means; standardise_annuli: each annulus's logits first centred and scaled
#            by its own negatives (mean, standard deviation), as an S/N is; calibration_tail: how the
#            rate falls above the largest negative, exponential (in the standardised logit) or
#            normal (needs standardise_annuli; lighter: more detections and false positives);
#            calibration_pixels: the
#            map is calibrated separately in groups of adjacent annuli (from the star outwards) of
#            at least this many negative pixels (null: the whole map at once); own_image_radius:
#            each pixel's null leaves out the negatives within this many FWHM of its own image in
#            the negative map (where a source there smears to; null: keep them all);
#            null_permutations: that many maps of the residuals derotated with seeded permutations
#            of the angles (a companion smears) join the flipped-angle map in the null: more
#            negatives, finer rates (needs own_image_radius: null; 0: the flipped map alone);
#            permutation_kind: random (any permutation) or reversed-runs (runs of consecutive
#            frames, each reversed, shuffled: neighbouring frames keep neighbouring angles);
#            seed: of every draw (per dataset: seed, instrument, dataset id);
#            threads: CPU threads of torch (null: torch's default).
# detection_map: significance (-log10 of the per-pixel false-positive rate on the dataset's
#            flipped-angle negative map) or probability (the network's raw output).
# threshold: one threshold for every map of the phase (values strictly above it are detections);
#            null = -log10(fpr) for significance maps, {PROBABILITY_THRESHOLD:g} for probability maps.
"""

    @classmethod
    def detection_map(cls, dataset, params, *, progress=False):
        from .significance import significance_map

        options = params["cnn"]
        models = [_model_for(dataset, member, progress) for member in ensemble_members(options)]
        pmap = ensemble_map(dataset, models, options, progress=progress)
        if params["detection_map"] == "probability":
            return pmap.probability
        return significance_map(pmap, null_maps(dataset, models, options, progress=progress),
                                **calibration_options(options, dataset.angles))


def null_maps(dataset, models, options, *, progress=False):
    """The null of ``dataset``'s map: its maps where no companion adds up, each averaged over ``models``.

    The flipped-angle map first, then one map per :func:`null_angles`
    permutation (``null_permutations``); for
    :func:`~exobench.cnn.significance.significance_map`.
    """
    flipped = ensemble_map(dataset, models, options, flip_angles=True, progress=progress)
    return [flipped] + [ensemble_map(dataset.replace(angles=angles), models, options, progress=progress)
                        for angles in null_angles(options, dataset)]


def ensemble_map(dataset, models, options, *, flip_angles=False, progress=False):
    """The probability map of ``dataset`` by each of ``models``, averaged in log odds."""
    from .probability import average_maps, probability_map

    return average_maps([probability_map(dataset, model, flip_angles=flip_angles, threads=options["threads"],
                                         progress=progress) for model in models])


def null_angles(options, dataset):
    """The ``null_permutations`` seeded permutations of ``dataset``'s angles whose maps join the null.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=10, size=33)
    >>> len(null_angles(CNN_DEFAULTS, ds)), null_angles(dict(CNN_DEFAULTS, null_permutations=0), ds)
    (4, [])
    """
    from .nulls import permuted_angles

    count = int(options["null_permutations"])
    if count == 0:
        return []
    words = [int(options["seed"]), zlib.crc32(dataset.instrument.encode()),
             zlib.crc32(str(dataset.dataset_id).encode()), _PERMUTATION_STREAM]
    return permuted_angles(dataset.angles, count, kind=options["permutation_kind"],
                           random_state=np.random.SeedSequence(words))


def ensemble_members(options):
    """The ``cnn`` options of each network of the ensemble: one per value of ``delta``.

    A single ``delta`` (or a pretrained ``model``) gives one network. Member
    ``i`` gets ``member: i`` (its own seeds, :func:`dataset_seeds`).

    Examples
    --------
    >>> [(m["delta"], m["member"]) for m in ensemble_members(dict(CNN_DEFAULTS, delta=[0.0, 1.0]))]
    [(0.0, 0), (1.0, 1)]
    >>> len(ensemble_members(dict(CNN_DEFAULTS, delta=0.5)))
    1
    """
    deltas = options["delta"] if isinstance(options["delta"], (list, tuple)) else [options["delta"]]
    if str(options["model"]).endswith(".keras"):
        deltas = deltas[:1]
    return [dict(options, delta=float(delta), member=i) for i, delta in enumerate(deltas)]


def calibration_options(options, angles):
    """Keyword options of :func:`~exobench.cnn.significance.significance_map` from the ``cnn``
    options and the dataset's derotation ``angles``.

    Examples
    --------
    >>> calibration_options({"calibration_pixels": 1500, "standardise_annuli": False,
    ...                      "calibration_tail": "exponential", "own_image_radius": None}, [0.0, 10.0])
    {'by_annulus': True, 'min_pixels': 1500, 'standardise': False, 'tail': 'exponential'}
    >>> options = calibration_options({"calibration_pixels": None, "standardise_annuli": True,
    ...                                "calibration_tail": "normal", "own_image_radius": 1.0}, [0.0, 10.0])
    >>> options["by_annulus"], options["tail"], options["angles"], options["own_image_radius"]
    (False, 'normal', [0.0, 10.0], 1.0)
    """
    pixels = options["calibration_pixels"]
    out = {"by_annulus": pixels is not None, "min_pixels": 0 if pixels is None else int(pixels),
           "standardise": bool(options["standardise_annuli"]), "tail": options["calibration_tail"]}
    if options["own_image_radius"] is not None:
        out.update(angles=angles, own_image_radius=float(options["own_image_radius"]))
    return out


# -- running -----------------------------------------------------------------------------


def dataset_seeds(seed, dataset, member=0):
    """``(samples_rng, training_seed)`` of one dataset: independent of the order of the phase.

    ``member`` (of an ensemble, :func:`ensemble_members`): 0 gives the seeds of
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


def label_settings(options):
    """The :class:`~exobench.cnn.labels.LabelSettings` of one network's ``cnn`` options
    (:func:`ensemble_members`: one ``delta``).

    Examples
    --------
    >>> settings = label_settings(ensemble_members(CNN_DEFAULTS)[0])
    >>> settings.variance, settings.matched_filter, settings.delta
    ('above-median', True, 0.0)
    """
    return LabelSettings(n_samples=options["n_samples"], snr_band=tuple(options["snr_band"]),
                         levels=tuple(options["levels"]), variance=options["variance"], delta=options["delta"],
                         matched_filter=options["matched_filter"], near_fraction=options["near_fraction"],
                         mirrors=options["mirrors"])


def _model_for(dataset, options, progress):
    """The pretrained model of ``options["model"]``, or a model trained on ``dataset``'s own samples."""
    if str(options["model"]).endswith(".keras"):
        path = os.path.abspath(os.path.expanduser(options["model"]))
        return _load_cached(path, os.path.getmtime(path))
    from .labels import generate_samples
    from .training import train_model

    rng, seed = dataset_seeds(options["seed"], dataset, options.get("member", 0))
    samples = generate_samples(dataset, label_settings(options), random_state=rng, progress=progress)
    return train_model(samples, model=options["model"], size=options["size"], epochs=options["epochs"],
                       batch_size=options["batch_size"], validation_fraction=options["validation_fraction"],
                       patience=options["patience"], learning_rate=options["learning_rate"], random_state=seed,
                       threads=options["threads"], progress=progress)


@functools.lru_cache(maxsize=4)
def _load_cached(path, mtime):
    from .training import load_model

    return load_model(path)


# -- checks -------------------------------------------------------------------------------


def _check_cnn(options, where):
    from .models import MODEL_NAMES, MODEL_SIZES

    model = options["model"]
    if not isinstance(model, str) or not (model in MODEL_NAMES or model.endswith(".keras")):
        raise ValueError(f"{where}: model: expected one of {', '.join(MODEL_NAMES)} or a path to a .keras "
                         f"file, got {model!r}")
    if model.endswith(".keras") and not os.path.isfile(os.path.expanduser(model)):
        raise ValueError(f"{where}: model: pretrained model file {model!r} not found")
    if options["size"] not in MODEL_SIZES:
        raise ValueError(f"{where}: size: expected one of {', '.join(MODEL_SIZES)}, got {options['size']!r}")
    for key, low in (("n_samples", 2), ("epochs", 1), ("batch_size", 1), ("patience", 0), ("seed", 0)):
        _integer(options[key], f"{where}: {key}", low)
    if options["threads"] is not None:
        _integer(options["threads"], f"{where}: threads", 1)
    for key in ("standardise_annuli", "mirrors"):
        if not isinstance(options[key], bool):
            raise ValueError(f"{where}: {key}: expected true or false, got {options[key]!r}")
    if options["calibration_pixels"] is not None:
        _integer(options["calibration_pixels"], f"{where}: calibration_pixels", 1)
    _check_tail(options, where)
    _check_delta(options["delta"], where)
    _fraction(options["learning_rate"], f"{where}: learning_rate", 0.0, math.inf)
    _fraction(options["validation_fraction"], f"{where}: validation_fraction", 0.0, 1.0, closed_low=True)
    _fraction(options["fpr"], f"{where}: fpr", 0.0, 1.0)
    if options["own_image_radius"] is not None:
        _fraction(options["own_image_radius"], f"{where}: own_image_radius", 0.0, math.inf)
    _integer(options["null_permutations"], f"{where}: null_permutations", 0)
    _check_permutation_kind(options["permutation_kind"], where)
    if options["null_permutations"] and options["own_image_radius"] is not None:
        raise ValueError(f"{where}: null_permutations: the permuted-angle maps need own_image_radius: null "
                         f"(the own image is defined on the flipped-angle map alone)")
    try:
        for member in ensemble_members(options):
            label_settings(member)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _check_delta(delta, where):
    values = delta if isinstance(delta, (list, tuple)) else [delta]
    ok = len(values) > 0 and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                                 and v >= 0 for v in values)
    if not ok or len(set(values)) != len(values):
        raise ValueError(f"{where}: delta: expected a rotation threshold >= 0 (FWHM of arc) or a list of distinct "
                         f"ones (one network each), got {delta!r}")


def _check_tail(options, where):
    from .significance import SIGNIFICANCE_TAILS

    tail = options["calibration_tail"]
    if tail not in SIGNIFICANCE_TAILS:
        raise ValueError(f"{where}: calibration_tail: expected one of {', '.join(SIGNIFICANCE_TAILS)}, got {tail!r}")
    if tail == "normal" and not options["standardise_annuli"]:
        raise ValueError(f"{where}: calibration_tail: 'normal' needs standardise_annuli: true (its z-scores)")


def _check_permutation_kind(kind, where):
    from .nulls import PERMUTATION_KINDS

    if kind not in PERMUTATION_KINDS:
        raise ValueError(f"{where}: permutation_kind: expected one of {', '.join(PERMUTATION_KINDS)}, got {kind!r}")


def _integer(value, label, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{label}: expected an integer >= {low}, got {value!r}")


def _fraction(value, label, low, high, *, closed_low=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    inside = ok and (low <= value if closed_low else low < value) and value < high
    if not inside:
        bounds = f"{'[' if closed_low else '('}{low:g}, {high:g})"
        raise ValueError(f"{label}: expected a number in {bounds}, got {value!r}")
