"""``phase.json``: the scoring settings of one phase, read strictly and written reproducibly.

A phase's reference folder may hold one ``phase.json``, a JSON object whose keys
are all optional:

``suffix``
    suffix of the score names (``"3d"`` for ADI, ``"4d"`` for ADI+mSDI, as the
    EIDC's ``F1_3d``; see :mod:`exobench.challenge.kinds`);
``map_shapes``
    ``{"{instrument}_{k}": [ny, nx]}``: the frame shape of each dataset; its map
    must have exactly that shape;
``counting``
    counting options of the phase (``npix``, ``overlap_threshold``,
    ``max_blob_fact``, ``inner_radius``; the scoring package checks the names);
``compat``
    ``null`` or ``"eidc2019"``: the scoring mode used when the scorer is told none;
``max_fpr``
    the FPR bound of the partial AUC (default 0.01);
``submission``
    ``"results"`` (the default) or ``"code"``: in a code phase the platform's ingestion
    program writes the submission, and the platform worker's own ``metadata`` file beside
    it is not the participant's (the scoring program leaves it out).

Other keys are refused, so that a typo does not pass unnoticed. Errors name the
file and the key. This module uses the standard library only (the scoring program
carries it).
"""

import dataclasses
import json
import math
from pathlib import Path

from .._validate import check_suffix
from .layout import PHASE_FILE

__all__ = ["PhaseSettings", "read_phase_settings", "write_phase_settings", "COMPAT_MODES",
           "DEFAULT_MAX_FPR"]

#: Scoring modes a phase may default to: ``None`` (the corrected rules) or the 2019 program's.
COMPAT_MODES = (None, "eidc2019")
#: FPR bound of the partial AUC when ``phase.json`` gives none.
DEFAULT_MAX_FPR = 0.01
_KEYS = ("compat", "counting", "map_shapes", "max_fpr", "suffix", "submission")
_SUBMISSIONS = ("results", "code")


@dataclasses.dataclass(frozen=True)
class PhaseSettings:
    """The content of a ``phase.json``; ``None`` where the file gives no value.

    Examples
    --------
    >>> settings = PhaseSettings(suffix="3d", map_shapes={"naco_1": (99, 99)})
    >>> print(settings.to_json(), end="")
    {
      "map_shapes": {
        "naco_1": [
          99,
          99
        ]
      },
      "suffix": "3d"
    }
    """

    suffix: str = None
    map_shapes: dict = None
    counting: dict = None
    compat: str = None
    max_fpr: float = None
    submission: str = None

    def __post_init__(self):
        where = f"reference: {PHASE_FILE}"
        if self.suffix is not None:
            check_suffix(self.suffix, f"{where}: suffix")
        if self.map_shapes is not None:
            object.__setattr__(self, "map_shapes", _checked_shapes(self.map_shapes, where))
        if self.counting is not None:
            object.__setattr__(self, "counting", _checked_counting(self.counting, where))
        if self.compat not in COMPAT_MODES:
            raise ValueError(f"{where}: compat: expected null or \"eidc2019\", got {self.compat!r}")
        if self.max_fpr is not None and (isinstance(self.max_fpr, bool) or not isinstance(self.max_fpr, (int, float))
                                         or not 0 < self.max_fpr <= 1):
            raise ValueError(f"{where}: max_fpr: expected a number in (0, 1], got {self.max_fpr!r}")
        if self.submission is not None and self.submission not in _SUBMISSIONS:
            raise ValueError(f"{where}: submission: expected \"results\" or \"code\", got {self.submission!r}")

    @property
    def effective_max_fpr(self):
        """``max_fpr``, or :data:`DEFAULT_MAX_FPR` when the file gives none."""
        return DEFAULT_MAX_FPR if self.max_fpr is None else float(self.max_fpr)

    def to_dict(self):
        """The keys the file gives, as JSON values (shapes as lists)."""
        out = {}
        for key in _KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if key == "map_shapes":
                value = {name: list(shape) for name, shape in value.items()}
            out[key] = value
        return out

    def to_json(self):
        """The file's text: keys sorted, two-space indents, a final newline (same settings, same bytes)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _checked_shapes(shapes, where):
    if not isinstance(shapes, dict):
        raise ValueError(f"{where}: map_shapes: expected an object {{\"inst_1\": [ny, nx]}}")
    checked = {}
    for key, shape in shapes.items():
        if (not isinstance(shape, (list, tuple)) or len(shape) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
            raise ValueError(f"{where}: map_shapes[{key!r}]: expected [ny, nx], got {shape!r}")
        checked[str(key)] = (int(shape[0]), int(shape[1]))
    return checked


def _checked_counting(counting, where):
    if not isinstance(counting, dict):
        raise ValueError(f"{where}: counting: expected an object of option: number, got {counting!r}")
    for key, value in counting.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: counting.{key}: expected a number, got {value!r}")
    return dict(counting)


def read_phase_settings(path):
    """The :class:`PhaseSettings` of a ``phase.json`` file (all ``None`` when there is no file).

    Raises
    ------
    ValueError
        The file is not a JSON object, or a key or value is not one of those documented (named).
    """
    path = Path(path)
    if not path.exists():
        return PhaseSettings()
    where = f"reference: {PHASE_FILE}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - set(_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(repr, unknown)))}; "
                         f"expected some of {', '.join(_KEYS)}")
    return PhaseSettings(**data)


def write_phase_settings(path, settings):
    """Write ``settings`` (a :class:`PhaseSettings`) to ``path`` atomically; returns the path."""
    from .._atomic import atomic_write

    path = Path(path)
    with atomic_write(path, "w") as handle:
        handle.write(settings.to_json())
    return path
