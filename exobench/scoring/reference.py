"""The reference data of a phase: where the companions were injected, and the FWHM.

A phase folder of the reference tree (``input/ref`` on the platforms) holds, per
dataset,

- ``{instrument}_positions_{k}.fits``: the injections as an ``(N, 2)`` array of
  **(x, y)** pixel positions in the final (derotated) frame; ``N = 0`` is allowed,
  as empty arrays of shape ``(0,)``, ``(0, 2)`` or a file with no data; a single
  position may also be stored with shape ``(2,)``;
- ``{instrument}_fwhm_{k}.fits``: the reference FWHM in pixels, one number
  (shape ``(1,)``, or ``NAXIS = 0`` with the value in a ``FWHM`` or ``VALUE`` card);

and optionally one ``phase.json``, a JSON object with the keys (all optional)

``suffix``
    the suffix of the score names, ``"3d"`` (ADI) or ``"4d"`` (ADI+mSDI), as in
    the EIDC's ``F1_3d``; without a ``phase.json`` it is the ``phase_suffix``
    argument, by default ``"3d"``; both given and different is an error;
``map_shapes``
    ``{"{instrument}_{k}": [ny, nx]}``: the frame shape of a dataset; its map must
    have exactly that shape (otherwise any 2D map within the limits is accepted);
``counting``
    counting options of the phase for :func:`~exobench.scoring.counting.count_detections`
    (``npix``, ``overlap_threshold``, ``max_blob_fact``, ``inner_radius``);
``compat``
    ``null`` or ``"eidc"``: the scoring mode used when the scorer is not told one;
``max_fpr``
    the FPR bound of the partial AUC (default 0.01).

Other keys are refused (a typo would otherwise pass unnoticed). The reference is
the organisers' data: errors here are plain ``ValueError``/``FileNotFoundError``,
not :class:`~exobench.scoring.submission.SubmissionError`, and never reach a
participant with the positions in them.
"""

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np

from .submission import _DATASET_ID, _INSTRUMENT, Limits, SubmissionError, read_fits_array, read_fits_scalar

__all__ = ["ReferenceDataset", "Reference", "read_reference", "PHASE_FILE", "DEFAULT_SUFFIX"]

PHASE_FILE = "phase.json"
DEFAULT_SUFFIX = "3d"
COUNTING_KEYS = ("npix", "overlap_threshold", "max_blob_fact", "inner_radius")
_PHASE_KEYS = {"suffix", "map_shapes", "counting", "compat", "max_fpr"}
_POSITIONS_NAME = re.compile(rf"^{_INSTRUMENT}_positions_{_DATASET_ID}\.fits$")
#: The reference is trusted, but read with the same bounded reader (generous limits).
_REFERENCE_LIMITS = Limits(max_map_pixels=10**7, max_header_blocks=1000, max_hdus=16)


@dataclasses.dataclass(frozen=True, eq=False)
class ReferenceDataset:
    """The truth of one dataset.

    Attributes
    ----------
    instrument, dataset_id : str
    positions : ndarray, shape (N, 2)
        Injections as (x, y) pixels, float64; ``N`` may be 0.
    fwhm : float
        Reference FWHM in pixels.
    map_shape : tuple of int or None
        ``(ny, nx)`` of the frame, when the phase gives it.
    """

    instrument: str
    dataset_id: str
    positions: np.ndarray
    fwhm: float
    map_shape: tuple = None

    @property
    def n_injections(self):
        return len(self.positions)

    @property
    def key(self):
        return (self.instrument, self.dataset_id)


@dataclasses.dataclass(frozen=True, eq=False)
class Reference:
    """A phase of the reference tree.

    Attributes
    ----------
    datasets : tuple of ReferenceDataset
        Sorted by instrument, then dataset id (numerically where ids are numbers).
    suffix : str
        Suffix of the score names (``"3d"``, ``"4d"``).
    counting : dict
        Counting options of the phase (empty: the defaults of ``count_detections``).
    compat : str or None
        The phase's default scoring mode.
    max_fpr : float
        FPR bound of the partial AUC.
    folder : pathlib.Path
    """

    datasets: tuple
    suffix: str = DEFAULT_SUFFIX
    counting: dict = dataclasses.field(default_factory=dict)
    compat: str = None
    max_fpr: float = 0.01
    folder: Path = None


def read_reference(folder, *, phase_suffix=None):
    """Read a phase folder of the reference tree.

    Parameters
    ----------
    folder : str or path-like
    phase_suffix : str, optional
        Suffix of the score names when the folder has no ``phase.json`` (default ``"3d"``).

    Returns
    -------
    Reference

    Raises
    ------
    FileNotFoundError
        When the folder or a dataset's FWHM file is missing, or no positions file is there.
    ValueError
        On malformed files or ``phase.json``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"reference: folder {str(folder)!r} does not exist")
    phase = _read_phase(folder / PHASE_FILE)
    suffix = _suffix(phase, phase_suffix, folder)
    shapes = phase.get("map_shapes", {})
    found = sorted(
        (m["instrument"], m["k"]) for m in (_POSITIONS_NAME.match(p.name) for p in folder.iterdir()) if m
    )
    if not found:
        raise FileNotFoundError(f"reference: no {{instrument}}_positions_{{k}}.fits file in {str(folder)!r}")
    found.sort(key=lambda pair: (pair[0], (0, int(pair[1]), "") if pair[1].isdigit() else (1, 0, pair[1])))
    datasets = []
    for instrument, k in found:
        positions = _read_positions(folder / f"{instrument}_positions_{k}.fits")
        fwhm_path = folder / f"{instrument}_fwhm_{k}.fits"
        if not fwhm_path.is_file():
            raise FileNotFoundError(f"reference: {fwhm_path.name} missing in {str(folder)!r} (the FWHM of "
                                    f"dataset {instrument} {k})")
        fwhm = _reference_call(read_fits_scalar, fwhm_path, cards=("FWHM", "VALUE"))
        if not (math.isfinite(fwhm) and fwhm > 0):
            raise ValueError(f"reference: {fwhm_path.name}: expected a FWHM > 0, got {fwhm!r}")
        shape = shapes.get(f"{instrument}_{k}")
        datasets.append(ReferenceDataset(instrument, k, positions, fwhm, tuple(shape) if shape else None))
    unknown = set(shapes) - {f"{d.instrument}_{d.dataset_id}" for d in datasets}
    if unknown:
        raise ValueError(f"reference: {PHASE_FILE}: map_shapes names datasets with no positions file: "
                         f"{', '.join(sorted(unknown))}")
    return Reference(datasets=tuple(datasets), suffix=suffix, counting=dict(phase.get("counting", {})),
                     compat=phase.get("compat"), max_fpr=float(phase.get("max_fpr", 0.01)), folder=folder)


def _reference_call(reader, path, **kwargs):
    try:
        return reader(path, name=f"reference: {path.name}", limits=_REFERENCE_LIMITS, **kwargs)
    except SubmissionError as exc:  # the reference is not the participant's fault
        raise ValueError(str(exc)) from None


def _read_positions(path):
    array = _reference_call(read_fits_array, path, max_values=_REFERENCE_LIMITS.max_map_pixels, cards=())
    if array.size == 0:
        return np.zeros((0, 2))
    if array.shape == (2,):
        array = array.reshape(1, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"reference: {path.name}: expected an (N, 2) array of (x, y) positions, "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"reference: {path.name}: non-finite positions")
    return np.ascontiguousarray(array, dtype=np.float64)


def _read_phase(path):
    if not path.exists():
        return {}
    try:
        phase = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"reference: {PHASE_FILE}: not valid JSON ({exc})") from None
    if not isinstance(phase, dict):
        raise ValueError(f"reference: {PHASE_FILE}: expected a JSON object, got {type(phase).__name__}")
    unknown = set(phase) - _PHASE_KEYS
    if unknown:
        raise ValueError(f"reference: {PHASE_FILE}: unknown key(s) {', '.join(sorted(map(repr, unknown)))}; "
                         f"expected some of {', '.join(sorted(_PHASE_KEYS))}")
    if "suffix" in phase:
        _check_suffix(phase["suffix"], f"reference: {PHASE_FILE}: suffix")
    shapes = phase.get("map_shapes", {})
    if not isinstance(shapes, dict):
        raise ValueError(f"reference: {PHASE_FILE}: map_shapes: expected an object {{\"inst_1\": [ny, nx]}}")
    for key, shape in shapes.items():
        if (not isinstance(shape, list) or len(shape) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
            raise ValueError(f"reference: {PHASE_FILE}: map_shapes[{key!r}]: expected [ny, nx], got {shape!r}")
    counting = phase.get("counting", {})
    if not isinstance(counting, dict) or set(counting) - set(COUNTING_KEYS):
        raise ValueError(f"reference: {PHASE_FILE}: counting: expected an object with some of "
                         f"{', '.join(COUNTING_KEYS)}, got {counting!r}")
    for key, value in counting.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"reference: {PHASE_FILE}: counting.{key}: expected a number, got {value!r}")
    if phase.get("compat") not in (None, "eidc", "eidc2019"):
        raise ValueError(f"reference: {PHASE_FILE}: compat: expected null or \"eidc\", got {phase['compat']!r}")
    max_fpr = phase.get("max_fpr", 0.01)
    if isinstance(max_fpr, bool) or not isinstance(max_fpr, (int, float)) or not 0 < max_fpr <= 1:
        raise ValueError(f"reference: {PHASE_FILE}: max_fpr: expected a number in (0, 1], got {max_fpr!r}")
    return phase


def _check_suffix(suffix, name):
    if not isinstance(suffix, str) or not suffix.isascii() or not suffix.isalnum():
        raise ValueError(f"{name}: expected a short alphanumeric suffix such as '3d' or '4d', got {suffix!r}")
    return suffix


def _suffix(phase, phase_suffix, folder):
    if phase_suffix is not None:
        _check_suffix(phase_suffix, "phase_suffix")
    if "suffix" in phase:
        if phase_suffix is not None and phase_suffix != phase["suffix"]:
            raise ValueError(f"phase_suffix: {phase_suffix!r} given, but {PHASE_FILE} of {str(folder)!r} says "
                             f"{phase['suffix']!r}")
        return phase["suffix"]
    return phase_suffix if phase_suffix is not None else DEFAULT_SUFFIX
