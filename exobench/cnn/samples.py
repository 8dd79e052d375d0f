"""Labelled samples and their settings: what :func:`exobench.cnn.labels.generate_samples` takes and returns.

:class:`LabelSettings` says how the samples are made (their number, the
companions' S/N band, the MLAR frames' options, the augmentation);
:class:`LabelledSamples` holds the patches, their labels and where they come
from; :func:`dataset_checksum` identifies the source dataset.
"""

import dataclasses
import hashlib

import numpy as np

from .._validate import check_choice, check_integer, check_number, check_range
from ..algorithms.collapse import COLLAPSE_METHODS
from ..data import Dataset
from ..geometry import ROTATION_METHODS
from .mlar import DEFAULT_LEVELS, VARIANCE_MODES, checked_levels

__all__ = ["LabelSettings", "LabelledSamples", "dataset_checksum"]


@dataclasses.dataclass(frozen=True)
class LabelSettings:
    """How :func:`~exobench.cnn.labels.generate_samples` makes labelled samples.

    Parameters
    ----------
    n_samples : int
        Total number of samples, even: half positives, half negatives.
    snr_band : (float, float)
        The companions' target S/N is drawn uniformly in this band, per
        companion, and converted to a flux at its separation. The default
        (1, 4) spans SODINN's 1 to 3 and most of the EIDC's faint companions
        (hard 1-3, soft 3-5): the detections that matter are near the noise,
        and brighter companions are easy for any detector.
    levels : tuple of float
        Levels of cumulative explained variance of the MLAR frames.
    annulus_width, inner_radius : float
        Annuli of the MLAR frames, in FWHM (see :func:`~exobench.cnn.mlar.mlar_frames`).
    outer_radius : float, optional
        Outer radius in FWHM (default: as many whole annuli as fit the frame).
    patch_size : int, optional
        Odd patch side in pixels (default :func:`~exobench.cnn.patches.patch_size`, about 2 FWHM).
    augment : bool
        Sub-pixel offsets of the companions and quarter turns of the patches.
    shifts : float
        Largest sub-pixel offset (px, along x and along y) of a companion from
        its patch's central pixel when augmenting (0.5: any pixel phase).
    rotations : bool
        Random quarter turns of the patches when augmenting.
    mirrors : bool
        Also mirror half of the patches (transposed, before their turn) when
        augmenting with rotations: the eight symmetries of the square instead
        of four. A network then meets both handednesses of the residuals' arcs:
        the flipped-angle frames it trains on derotate the pupil's speckles one
        way round, the dataset's own frames the other way.
    mixed_fraction : float
        Fraction of the negatives made of two patches (sum divided by sqrt(2)).
    flipped_positives : bool
        Positives injected with the inverse angles and cut from flipped-angle
        frames, like the negatives (default); False: SODINN's recipe.
    spacing : float
        Smallest distance between two companions injected in the same cube, in
        patch sizes (at least 0.5; the default 1.5 keeps every companion's
        core out of the other companions' patches).
    variance : {"total", "above-median"}
        What the levels are fractions of (:func:`~exobench.cnn.mlar.mlar_frames`):
        the annulus's whole variance (SODINN's) or its part above the median
        eigenvalue.
    delta : float
        Rotation threshold of the MLAR frames' libraries in FWHM of arc
        (:func:`~exobench.cnn.mlar.mlar_frames`; 0: one decomposition per
        annulus for every frame, SODINN's).
    collapse : {"median", "mean"}
        Collapse of the MLAR frames.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of the MLAR frames' derotation.
    near_fraction : float
        Fraction of the negatives cut near a companion instead of from the
        flipped-angle frames: patches of an injected cube centred
        ``near_offsets`` FWHM from one of its companions, which the patch
        sees off its centre (label 0: no companion *at the centre*). Without
        them a network never meets an off-centre companion in training and
        may score the pixels around a real one as companions (false
        positives next to true detections). 0: none (SODINN's).
    near_offsets : (float, float)
        The distance of those patches' centres from the companion, drawn
        uniformly in this band (FWHM; at least 1, so that they stay apart
        from the companion's own detection).
    matched_filter : bool
        Stack, after the MLAR frames of every level, their matched-filter S/N
        (:func:`~exobench.cnn.matched_filter.matched_filter_snr`: each frame
        correlated with the PSF's core, over the annulus noise of the dataset's
        companion-free flipped-angle frames): patches of ``2 * n_levels``
        planes. False: SODINN's ``n_levels`` planes.

    Examples
    --------
    >>> settings = LabelSettings(n_samples=200, snr_band=(2.0, 5.0))
    >>> settings.n_samples, settings.snr_band, settings.augment
    (200, (2.0, 5.0), True)
    >>> LabelSettings.from_dict(settings.to_dict()) == settings
    True
    """

    n_samples: int = 2000
    snr_band: tuple = (1.0, 4.0)
    levels: tuple = DEFAULT_LEVELS
    annulus_width: float = 1.0
    inner_radius: float = 1.0
    outer_radius: float | None = None
    patch_size: int | None = None
    augment: bool = True
    shifts: float = 0.5
    rotations: bool = True
    mirrors: bool = False
    mixed_fraction: float = 0.25
    flipped_positives: bool = True
    spacing: float = 1.5
    near_fraction: float = 0.0
    near_offsets: tuple = (1.0, 2.0)
    variance: str = "total"
    delta: float = 0.0
    collapse: str = "median"
    derotation: str = "bilinear"
    matched_filter: bool = False

    def __post_init__(self):
        n = check_integer(self.n_samples, "n_samples", minimum=2)
        if n % 2:
            raise ValueError(f"n_samples: expected an even integer >= 2 (half positives), got {n!r}")
        object.__setattr__(self, "n_samples", n)
        band = _pair(self.snr_band, "snr_band")
        if not 0 < band[0] <= band[1]:
            raise ValueError(f"snr_band: expected (low, high) with 0 < low <= high, got {self.snr_band!r}")
        object.__setattr__(self, "snr_band", band)
        object.__setattr__(self, "levels", checked_levels(self.levels))
        for name in ("augment", "rotations", "mirrors", "flipped_positives", "matched_filter"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name}: expected True or False, got {getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))
        check_range(self.shifts, "shifts", 0.0, 0.5)
        check_range(self.mixed_fraction, "mixed_fraction", 0.0, 1.0)
        check_number(self.spacing, "spacing", minimum=0.5)
        check_range(self.near_fraction, "near_fraction", 0.0, 1.0)
        near = _pair(self.near_offsets, "near_offsets")
        if not 1.0 <= near[0] <= near[1]:
            raise ValueError(f"near_offsets: expected (low, high) in FWHM with 1 <= low <= high, "
                             f"got {self.near_offsets!r}")
        object.__setattr__(self, "near_offsets", near)
        check_choice(self.variance, "variance", VARIANCE_MODES)
        check_number(self.delta, "delta")
        check_choice(self.collapse, "collapse", COLLAPSE_METHODS)
        check_choice(self.derotation, "derotation", ROTATION_METHODS)

    def to_dict(self):
        """A JSON-serialisable dict (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values):
        """The settings of :meth:`to_dict` (unknown keys refused, naming them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"settings: unknown field(s) {', '.join(map(repr, unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def mlar_options(self):
        """The keyword options of :func:`~exobench.cnn.mlar.mlar_frames` these settings imply."""
        return {"levels": self.levels, "annulus_width": self.annulus_width, "inner_radius": self.inner_radius,
                "outer_radius": self.outer_radius, "collapse": self.collapse, "derotation": self.derotation,
                "patch": self.patch_size, "variance": self.variance, "delta": self.delta}


@dataclasses.dataclass(frozen=True, eq=False)
class LabelledSamples:
    """Labelled MLAR patches (see :func:`~exobench.cnn.labels.generate_samples`).

    Attributes
    ----------
    x : numpy.ndarray, float32, shape ``(n, n_planes, p, p)``
        The patches: ``n_planes`` is ``n_levels``, or ``2 * n_levels`` with
        ``settings.matched_filter`` (the levels' frames, then their
        matched-filter S/N).
    y : numpy.ndarray, uint8, shape ``(n,)``
        1 for a companion at the patch centre, 0 for none.
    positions : numpy.ndarray, int64, shape ``(n, 2)``
        ``(x, y)`` of the patch's central pixel in the frame (of the first of
        the two patches of a mixed negative).
    separations : numpy.ndarray, float64, shape ``(n,)``
        Separation in pixels: of the companion (positives), of the central pixel (negatives).
    fluxes : numpy.ndarray, float64, shape ``(n,)``
        Injected flux (1-FWHM aperture, cube units); 0 for negatives.
    snr : numpy.ndarray, float64, shape ``(n,)``
        The target S/N of the companion; NaN for negatives.
    settings : LabelSettings
    dataset_checksum : str
        :func:`dataset_checksum` of the source dataset.
    levels : tuple of float
    fwhm : float
    """

    x: np.ndarray
    y: np.ndarray
    positions: np.ndarray
    separations: np.ndarray
    fluxes: np.ndarray
    snr: np.ndarray
    settings: LabelSettings
    dataset_checksum: str
    levels: tuple
    fwhm: float

    def __len__(self):
        return int(self.y.size)

    def __repr__(self):
        return (f"LabelledSamples(n={len(self)}, positives={int(self.y.sum())}, patches={self.x.shape[1:]}, "
                f"levels={self.levels}, fwhm={self.fwhm:.3g}, dataset_checksum={self.dataset_checksum[:12]}...)")


def dataset_checksum(dataset):
    """SHA-256 (hex) of a dataset's cube and angles: their shapes, dtypes and bytes.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=10, size=33)
    >>> dataset_checksum(ds) == dataset_checksum(example_dataset(n_frames=10, size=33))
    True
    >>> dataset_checksum(ds) == dataset_checksum(ds.replace(angles=-ds.angles))
    False
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")
    digest = hashlib.sha256()
    for array in (dataset.cube, dataset.angles):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _pair(value, name):
    try:
        pair = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected two numbers (low, high), got {value!r}") from None
    if len(pair) != 2 or not all(np.isfinite(pair)):
        raise ValueError(f"{name}: expected two finite numbers (low, high), got {value!r}")
    return pair

