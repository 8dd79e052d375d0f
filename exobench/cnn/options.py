"""The options of the CNN baseline: one frozen dataclass with their defaults, checks and documentation.

:class:`CNNOptions` is the ``cnn`` section of the baseline's parameters
(``baselines/cnn.yaml``). Each field carries its default, its check (in
``__post_init__``, errors naming the option) and its documentation
(``metadata["doc"]``), from which the parameter file's header is written
(:func:`options_header`). :func:`exobench.cnn.training.train_model` takes its
defaults from here too.
"""

import dataclasses
import math
import os
import textwrap

from .samples import LabelSettings
from .._validate import check_choice, check_integer, check_number, check_range
from .models import MODEL_NAMES, MODEL_SIZES
from .nulls import PERMUTATION_KINDS
from .significance import SIGNIFICANCE_TAILS

__all__ = ["CNNOptions", "DEFAULT_OPTIONS", "options_header"]


def _option(default, doc):
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class CNNOptions:
    """Options of the ``cnn`` baseline: the samples, the network, its training and the map's calibration.

    Every field is documented in its ``metadata["doc"]`` (also the header of
    ``baselines/cnn.yaml``). List-valued options are stored as tuples.

    Raises
    ------
    ValueError
        On a value out of its range or of the wrong type, naming the option.

    Examples
    --------
    >>> options = CNNOptions(epochs=5, delta=[0.0, 1.0])
    >>> options.epochs, options.delta, options.deltas
    (5, (0.0, 1.0), (0.0, 1.0))
    >>> CNNOptions(fpr=2.0)
    Traceback (most recent call last):
    ...
    ValueError: fpr: expected a number in (0, 1), got 2.0
    """

    model: str = _option(
        "na-conv3d", "an architecture trained on each dataset's own labelled samples (conv3d, convlstm: "
        "SODINN's; na-conv3d: noise-aware, see exobench.cnn.models) or a PATH.keras of exobench.cnn.save_model "
        "(pretrained: no training).")
    size: str = _option("small", "filters and dense units of the network: full (SODINN's 40/80/128), small, tiny.")
    n_samples: int = _option(5000, "labelled samples per network, half positives (exobench.cnn.LabelSettings).")
    snr_band: tuple = _option(LabelSettings().snr_band,
                              "S/N band of the companions injected into the positive samples.")
    levels: tuple = _option((0.5, 0.7, 0.9, 0.95, 0.99),
                            "levels of explained variance of the MLAR frames (one input plane each).")
    variance: str = _option(
        "above-median", "what the levels are fractions of: total (SODINN's) or above-median (each annulus's "
        "variance above its median eigenvalue, so that photon noise does not pull in most components).")
    delta: tuple = _option(
        (0.0, 1.0), "rotation threshold of the MLAR frames' PCA libraries in FWHM of arc (0: every frame in one "
        "decomposition, SODINN's; 1: each frame's library leaves out the frames where a source has moved less, "
        "so that a companion keeps its flux), or a list: one network per value, their maps' logits averaged "
        "(an ensemble).")
    matched_filter: bool = _option(
        True, "also give the network the matched-filter S/N of each level (the frames correlated with the PSF, "
        "over their annulus noise) as inputs (false: SODINN's inputs).")
    near_fraction: float = _option(
        0.0, "share of the negatives cut 1 to 2 FWHM from an injected companion (0: all from the flipped-angle "
        "frames).")
    mirrors: bool = _option(
        False, "the samples' augmentation also mirrors half of the patches (the square's eight symmetries, not "
        "its four turns).")
    epochs: int = _option(20, "most training epochs (exobench.cnn.train_model).")
    batch_size: int = _option(128, "training samples per batch.")
    patience: int = _option(3, "epochs without a better validation loss before training stops (best weights kept).")
    learning_rate: float = _option(0.003, "Adam's learning rate.")
    validation_fraction: float = _option(
        0.2, "share of each class held out for validation and early stopping, in [0, 1).")
    fpr: float = _option(
        0.0002, "false-positive rate per pixel on the dataset's null that the default threshold means "
        "(threshold -log10(fpr)).")
    standardize_annuli: bool = _option(
        True, "centre and scale each annulus's logits by its own negatives (mean, standard deviation) before "
        "the calibration, as an S/N does.")
    calibration_tail: str = _option(
        "exponential", "how the rate falls above the largest negative: exponential (in the standardised logit) "
        "or normal (needs standardize_annuli; lighter: more detections and more false positives).")
    calibration_pixels: int = _option(
        7500, "calibrate the map separately in groups of adjacent annuli (from the star outwards) of at least "
        "this many negative pixels (null: the whole map at once).")
    own_image_radius: float = _option(
        None, "leave out of each pixel's null the negatives within this many FWHM of its own image in the "
        "flipped-angle map, where a source there smears to (null: keep them all).")
    null_permutations: int = _option(
        4, "maps of the residuals derotated with that many seeded permutations of the angles (a companion "
        "smears) join the flipped-angle map in the null: more negatives, finer rates (needs own_image_radius: "
        "null; 0: the flipped-angle map alone).")
    permutation_kind: str = _option(
        "random", "random (any permutation) or reversed-runs (runs of consecutive frames, each reversed, "
        "shuffled: neighbouring frames keep neighbouring angles).")
    seed: int = _option(0, "seed of every draw (per dataset: seed, instrument, dataset id).")
    threads: int = _option(1, "CPU threads of torch (null: torch's default).")

    def __post_init__(self):
        for name in ("snr_band", "levels", "delta"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self._check_model()
        for name, low in (("n_samples", 2), ("epochs", 1), ("batch_size", 1), ("patience", 0), ("seed", 0),
                          ("null_permutations", 0)):
            check_integer(getattr(self, name), name, minimum=low)
        for name in ("threads", "calibration_pixels"):
            check_integer(getattr(self, name), name, minimum=1, allow_none=True)
        for name in ("standardize_annuli", "mirrors", "matched_filter"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        check_number(self.learning_rate, "learning_rate", strict=True)
        check_range(self.validation_fraction, "validation_fraction", 0.0, 1.0, closed="low")
        check_range(self.fpr, "fpr", 0.0, 1.0, closed="neither")
        check_number(self.own_image_radius, "own_image_radius", strict=True, allow_none=True)
        self._check_calibration()
        self._check_delta()
        for delta in self.deltas:
            self.label_settings(delta)

    def _check_model(self):
        model = self.model
        if not isinstance(model, str) or not (model in MODEL_NAMES or model.endswith(".keras")):
            raise ValueError(f"model: expected one of {', '.join(MODEL_NAMES)} or a path to a .keras file, "
                             f"got {model!r}")
        if self.pretrained and not os.path.isfile(os.path.expanduser(model)):
            raise ValueError(f"model: pretrained model file {model!r} not found")
        check_choice(self.size, "size", tuple(MODEL_SIZES))

    def _check_calibration(self):
        check_choice(self.calibration_tail, "calibration_tail", SIGNIFICANCE_TAILS)
        if self.calibration_tail == "normal" and not self.standardize_annuli:
            raise ValueError("calibration_tail: 'normal' needs standardize_annuli: true (its z-scores)")
        check_choice(self.permutation_kind, "permutation_kind", PERMUTATION_KINDS)
        if self.null_permutations and self.own_image_radius is not None:
            raise ValueError("null_permutations: the permuted-angle maps need own_image_radius: null "
                             "(the own image is defined on the flipped-angle map alone)")

    def _check_delta(self):
        values = self.delta if isinstance(self.delta, tuple) else [self.delta]
        ok = len(values) > 0 and all(_nonnegative(v) for v in values)
        if not ok or len(set(values)) != len(values):
            raise ValueError(f"delta: expected a rotation threshold >= 0 (FWHM of arc) or a list of distinct ones "
                             f"(one network each), got {_listed(self.delta)!r}")

    # -- derived ---------------------------------------------------------------------------------

    @property
    def pretrained(self):
        """Whether ``model`` is a ``.keras`` file (no training)."""
        return self.model.endswith(".keras")

    @property
    def deltas(self):
        """The ``delta`` of each network of the ensemble (a pretrained model: the first alone)."""
        values = self.delta if isinstance(self.delta, tuple) else (self.delta,)
        return tuple(float(v) for v in values[:1 if self.pretrained else None])

    @property
    def threshold(self):
        """The significance threshold the options mean: ``-log10(fpr)``."""
        return -math.log10(self.fpr)

    def label_settings(self, delta):
        """The :class:`~exobench.cnn.samples.LabelSettings` of the network of ``delta`` (one of :attr:`deltas`)."""
        return LabelSettings(n_samples=self.n_samples, snr_band=tuple(self.snr_band), levels=tuple(self.levels),
                             variance=self.variance, delta=delta, matched_filter=self.matched_filter,
                             near_fraction=self.near_fraction, mirrors=self.mirrors)

    def training_options(self):
        """Keyword options of :func:`~exobench.cnn.training.train_model` (all but ``random_state``)."""
        return {"model": self.model, "size": self.size, "epochs": self.epochs, "batch_size": self.batch_size,
                "validation_fraction": self.validation_fraction, "patience": self.patience,
                "learning_rate": self.learning_rate, "threads": self.threads}

    def calibration_options(self, angles):
        """Keyword options of :func:`~exobench.cnn.significance.null_significance_map` for a dataset's ``angles``.

        Examples
        --------
        >>> CNNOptions(calibration_pixels=1500, standardize_annuli=False).calibration_options([0.0, 10.0])
        {'by_annulus': True, 'min_pixels': 1500, 'standardize': False, 'tail': 'exponential'}
        >>> options = CNNOptions(calibration_pixels=None, null_permutations=0, own_image_radius=1.0)
        >>> options.calibration_options([0.0, 10.0])["own_image_radius"]
        1.0
        """
        pixels = self.calibration_pixels
        out = {"by_annulus": pixels is not None, "min_pixels": 0 if pixels is None else int(pixels),
               "standardize": bool(self.standardize_annuli), "tail": self.calibration_tail}
        if self.own_image_radius is not None:
            out.update(angles=angles, own_image_radius=float(self.own_image_radius))
        return out

    # -- mappings --------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, values, *, where="cnn"):
        """The options of a mapping (the ``cnn`` section of the parameters), the defaults for the keys it lacks.

        Unknown keys and invalid values are ``ValueError`` naming ``where`` and the key.

        Examples
        --------
        >>> CNNOptions.from_mapping({"epochs": 5}).epochs
        5
        >>> CNNOptions.from_mapping({"depth": 3})
        Traceback (most recent call last):
        ...
        ValueError: cnn: unknown option 'depth'; expected some of model, size, ..., seed, threads
        """
        if not isinstance(values, dict):
            raise ValueError(f"{where}: expected a mapping of options, got {type(values).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [str(key) for key in values if key not in names]
        if unknown:
            shown = ", ".join(names[:2] + ["..."] + names[-2:])
            raise ValueError(f"{where}: unknown option {', '.join(map(repr, unknown))}; expected some of {shown}")
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def to_dict(self):
        """The options as plain YAML values (tuples as lists), in the fields' order.

        >>> CNNOptions().to_dict()["delta"]
        [0.0, 1.0]
        """
        return {f.name: _listed(getattr(self, f.name)) for f in dataclasses.fields(self)}


def options_header(*, width=110):
    """Comment lines (``# ...``) documenting every option of :class:`CNNOptions`, for the parameter file."""
    lines = ["# cnn: options of exobench.cnn.CNNOptions:"]
    for f in dataclasses.fields(CNNOptions):
        lines += textwrap.wrap(f.metadata["doc"], width, initial_indent=f"#   {f.name}: ",
                               subsequent_indent="#       ", break_on_hyphens=False)
    return "\n".join(lines) + "\n"


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


def _nonnegative(value):
    """Whether ``value`` is a finite number >= 0 (one rotation threshold of a list)."""
    try:
        check_number(value, "delta")
    except ValueError:
        return False
    return True


#: The default options.
DEFAULT_OPTIONS = CNNOptions()
