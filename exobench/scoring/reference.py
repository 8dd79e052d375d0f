"""The reference data of a phase: where the companions were injected, and the FWHM.

A phase folder of the reference tree (``input/ref`` on the platforms) holds, per
dataset,

- ``{instrument}_positions_{k}.fits``: the injections as an ``(N, 2)`` array of
  **(x, y)** pixel positions in the final (derotated) frame; ``N = 0`` is allowed,
  as empty arrays of shape ``(0,)``, ``(0, 2)`` or a file with no data; a single
  position may also be stored with shape ``(2,)``;
- ``{instrument}_fwhm_{k}.fits``: the reference FWHM in pixels, one number
  (shape ``(1,)``, or ``NAXIS = 0`` with the value in a ``FWHM`` or ``VALUE`` card);

in a characterisation phase (:mod:`exobench.challenge.kinds`) also

- ``{instrument}_fluxes_{k}.fits``: the true fluxes, ``(N, n_channels)``, in units of
  the public PSF file;
- ``{instrument}_pxscale_{k}.fits``: the pixel scale in arcsec per pixel (optional);

and optionally one ``phase.json``, the phase's scoring settings (score suffix,
frame shapes, counting options, default scoring mode, partial-AUC bound; see
:mod:`exobench.challenge.settings`). Without one, the score suffix is the
``phase_suffix`` argument, by default ``"3d"``; both given and different is an
error.

The reference is the organisers' data: errors here are plain
``ValueError``/``FileNotFoundError``, not :class:`~exobench.submission.SubmissionError`,
and never reach a participant with the positions in them.
"""

import dataclasses
import math
import re
from pathlib import Path

import numpy as np

from .._validate import check_suffix
from ..challenge.kinds import phase_kind_for_suffix
from ..challenge.layout import PHASE_FILE, fluxes_file_name, pxscale_file_name
from ..challenge.settings import read_phase_settings
from ..submission.fits import read_bounded_fits, read_bounded_scalar
from ..submission.limits import Limits, SubmissionError
from ..submission.names import DATASET_ID_PATTERN, INSTRUMENT_PATTERN, fwhm_file_name
from .counting import COUNTING_OPTIONS

__all__ = ["ReferenceDataset", "Reference", "read_reference", "DEFAULT_SUFFIX"]

DEFAULT_SUFFIX = "3d"
_POSITIONS_NAME = re.compile(rf"^{INSTRUMENT_PATTERN}_positions_{DATASET_ID_PATTERN}\.fits$")
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
    fluxes : ndarray, shape (N, n_channels), or None
        A characterisation phase's true fluxes (units of the public PSF file).
    pxscale : float or None
        Arcsec per pixel, when a characterisation phase gives it.
    """

    instrument: str
    dataset_id: str
    positions: np.ndarray
    fwhm: float
    map_shape: tuple = None
    fluxes: np.ndarray = None
    pxscale: float = None

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
    submission : str or None
        ``"code"`` for a code phase (``phase.json``'s ``submission``), else ``"results"`` or None.
    """

    datasets: tuple
    suffix: str = DEFAULT_SUFFIX
    counting: dict = dataclasses.field(default_factory=dict)
    compat: str = None
    max_fpr: float = 0.01
    folder: Path = None
    submission: str = None

    @property
    def is_characterisation(self):
        """Whether the phase's kind (from its suffix) is a characterisation one."""
        kind = phase_kind_for_suffix(self.suffix)
        return kind is not None and kind.is_characterisation


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
    phase = read_phase_settings(folder / PHASE_FILE)
    _check_counting_keys(phase.counting or {})
    suffix = _suffix(phase, phase_suffix, folder)
    shapes = phase.map_shapes or {}
    found = sorted(
        (m["instrument"], m["k"]) for m in (_POSITIONS_NAME.match(p.name) for p in folder.iterdir()) if m
    )
    if not found:
        hint = ("; it holds cubes: a public phase folder, whose truth is withheld (exobench validate SUBMISSION "
                "PUBLIC_PHASE_DIR checks a submission against it)" if any(folder.glob("*_cube_*.fits")) else "")
        raise FileNotFoundError(f"reference: no {{instrument}}_positions_{{k}}.fits file in {str(folder)!r}{hint}")
    found.sort(key=lambda pair: (pair[0], (0, int(pair[1]), "") if pair[1].isdigit() else (1, 0, pair[1])))
    datasets = []
    for instrument, k in found:
        positions = _read_positions(folder / f"{instrument}_positions_{k}.fits")
        fwhm_path = folder / fwhm_file_name(instrument, k)
        if not fwhm_path.is_file():
            raise FileNotFoundError(f"reference: {fwhm_path.name} missing in {str(folder)!r} (the FWHM of "
                                    f"dataset {instrument} {k})")
        fwhm = _reference_call(read_bounded_scalar, fwhm_path, cards=("FWHM", "VALUE"))
        if not (math.isfinite(fwhm) and fwhm > 0):
            raise ValueError(f"reference: {fwhm_path.name}: expected a FWHM > 0, got {fwhm!r}")
        shape = shapes.get(f"{instrument}_{k}")
        fluxes, pxscale = _characterisation_truth(folder, instrument, k, len(positions), suffix)
        datasets.append(ReferenceDataset(instrument, k, positions, fwhm, tuple(shape) if shape else None,
                                         fluxes=fluxes, pxscale=pxscale))
    unknown = set(shapes) - {f"{d.instrument}_{d.dataset_id}" for d in datasets}
    if unknown:
        raise ValueError(f"reference: {PHASE_FILE}: map_shapes names datasets with no positions file: "
                         f"{', '.join(sorted(unknown))}")
    return Reference(datasets=tuple(datasets), suffix=suffix, counting=dict(phase.counting or {}),
                     compat=phase.compat, max_fpr=phase.effective_max_fpr, folder=folder,
                     submission=phase.submission)


def _characterisation_truth(folder, instrument, k, count, suffix):
    """The fluxes ``(N, n_channels)`` and the pixel scale (or None) of a characterisation dataset;
    ``(None, None)`` in a detection phase."""
    kind = phase_kind_for_suffix(suffix)
    if kind is None or not kind.is_characterisation:
        return None, None
    path = folder / fluxes_file_name(instrument, k)
    if not path.is_file():
        raise FileNotFoundError(f"reference: {path.name} missing in {str(folder)!r} (the true fluxes of dataset "
                                f"{instrument} {k} of a characterisation phase)")
    fluxes = _reference_call(read_bounded_fits, path, max_values=_REFERENCE_LIMITS.max_map_pixels, cards=())
    if fluxes.ndim == 1 and count:
        fluxes = fluxes.reshape(count, -1)
    if fluxes.ndim != 2 or fluxes.shape[0] != count or not count or not np.all(np.isfinite(fluxes)):
        raise ValueError(f"reference: {path.name}: expected a finite ({count}, n_channels) array (one row per "
                         f"companion; a characterisation dataset has at least one), got shape {fluxes.shape}")
    scale_path = folder / pxscale_file_name(instrument, k)
    pxscale = None
    if scale_path.is_file():
        pxscale = _reference_call(read_bounded_scalar, scale_path)
        if not (math.isfinite(pxscale) and pxscale > 0):
            raise ValueError(f"reference: {scale_path.name}: expected a pixel scale > 0, got {pxscale!r}")
    return np.ascontiguousarray(fluxes, dtype=np.float64), pxscale


def _reference_call(reader, path, **kwargs):
    try:
        return reader(path, name=f"reference: {path.name}", limits=_REFERENCE_LIMITS, **kwargs)
    except SubmissionError as exc:  # the reference is not the participant's fault
        raise ValueError(str(exc)) from None


def _read_positions(path):
    array = _reference_call(read_bounded_fits, path, max_values=_REFERENCE_LIMITS.max_map_pixels, cards=())
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


def _check_counting_keys(counting):
    unknown = set(counting) - set(COUNTING_OPTIONS)
    if unknown:
        raise ValueError(f"reference: {PHASE_FILE}: counting: unknown option(s) {', '.join(sorted(unknown))}; "
                         f"expected some of {', '.join(COUNTING_OPTIONS)}")


def _suffix(phase, phase_suffix, folder):
    if phase_suffix is not None:
        check_suffix(phase_suffix, "phase_suffix")
    if phase.suffix is not None:
        if phase_suffix is not None and phase_suffix != phase.suffix:
            raise ValueError(f"phase_suffix: {phase_suffix!r} given, but {PHASE_FILE} of {str(folder)!r} says "
                             f"{phase.suffix!r}")
        return phase.suffix
    return phase_suffix if phase_suffix is not None else DEFAULT_SUFFIX
