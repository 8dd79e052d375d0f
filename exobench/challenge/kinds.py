"""Phase kinds: what a phase asks of its data and its submissions, one registry entry each.

A challenge definition names a kind per phase (``kind: adi``); the builder checks
the cubes' dimensions against it, the bundle names and describes the phase from
it, the scoring program names its scores with its suffix (``F1_3d``) and the
demo runs its baselines. A new kind of phase is one :func:`register_phase_kind`
call.

A kind's ``task`` says what participants do: ``detection`` (a detection map and
a threshold per dataset) or ``characterisation`` (every companion is announced
by an approximate position; participants submit its position and flux).
"""

import dataclasses

from .._registry import Registry
from .._validate import check_suffix

__all__ = ["PhaseKind", "register_phase_kind", "get_phase_kind", "phase_kinds", "phase_kind_for_suffix", "TASKS",
           "CHARACTERISATION"]

#: What a phase asks of its participants.
DETECTION = "detection"
CHARACTERISATION = "characterisation"
TASKS = (DETECTION, CHARACTERISATION)


@dataclasses.dataclass(frozen=True)
class PhaseKind:
    """One kind of phase.

    Attributes
    ----------
    name : str
        The key of a challenge definition's ``kind``.
    suffix : str
        Suffix of the phase's score names (``F1_3d``), as the EIDC named them.
    title : str
        Default name of a phase of this kind.
    cube_ndim : int
        Dimensions of the cubes the phase publishes.
    description : str
        One line for the platform pages.
    baselines : tuple of str
        The baselines the demo runs on a phase of this kind.
    task : str
        ``"detection"`` (maps and a threshold) or ``"characterisation"`` (the position and
        flux of announced companions).
    """

    name: str
    suffix: str
    title: str
    cube_ndim: int
    description: str
    baselines: tuple = ()
    task: str = DETECTION

    def __post_init__(self):
        for field in ("name", "suffix", "title", "description"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{field}: expected a non-empty string, got {value!r}")
        check_suffix(self.suffix, "suffix")
        if self.cube_ndim not in (3, 4):
            raise ValueError(f"cube_ndim: expected 3 or 4, got {self.cube_ndim!r}")
        if self.task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        object.__setattr__(self, "baselines", tuple(self.baselines))

    @property
    def is_characterisation(self):
        """Whether participants characterise announced companions rather than detect them."""
        return self.task == CHARACTERISATION


_KINDS = Registry("phase kind")


def register_phase_kind(kind):
    """Add ``kind`` (a :class:`PhaseKind`) to the registry; its name and suffix must be new."""
    if not isinstance(kind, PhaseKind):
        raise ValueError(f"kind: expected a PhaseKind, got {type(kind).__name__}")
    if kind.name in _KINDS:
        raise ValueError(f"kind: a phase kind named {kind.name!r} is already registered")
    if phase_kind_for_suffix(kind.suffix) is not None:
        raise ValueError(f"kind: suffix {kind.suffix!r} is already the suffix of another phase kind")
    return _KINDS.register(kind.name, kind)


def phase_kinds():
    """The registered kinds, ``{name: PhaseKind}`` in registration order.

    >>> list(phase_kinds())
    ['adi', 'adi+msdi', 'charac-adi', 'charac-adi+msdi']
    """
    return dict(_KINDS.items())


def get_phase_kind(name, *, where="kind"):
    """The kind registered as ``name``; the error names ``where`` and the kinds there are.

    >>> get_phase_kind("adi+msdi").suffix
    '4d'
    """
    return _KINDS.get(name, where=where)


def phase_kind_for_suffix(suffix):
    """The kind whose score suffix is ``suffix``, or None.

    >>> phase_kind_for_suffix("3d").title
    'ADI'
    """
    return next((kind for _, kind in _KINDS.items() if kind.suffix == suffix), None)


register_phase_kind(PhaseKind(
    name="adi", suffix="3d", title="ADI", cube_ndim=3,
    description="ADI: 3D cubes (t, y, x) of imagers.",
    baselines=("median", "median-annular", "pca", "pca-annular", "llsg", "pairwise", "loci", "nmf", "nmf-annular",
               "andromeda")))
register_phase_kind(PhaseKind(
    name="adi+msdi", suffix="4d", title="ADI+mSDI", cube_ndim=4,
    description="ADI+mSDI: 4D cubes (lambda, t, y, x) of integral-field spectrographs.",
    baselines=("median", "pca", "sdi-pca", "asdi-pca")))
# Characterisation: one kind per cube dimension, as for detection, so that a kind keeps one
# cube_ndim and one score suffix (``astrometry_px_charac3d``).
register_phase_kind(PhaseKind(
    name="charac-adi", suffix="charac3d", title="Characterisation ADI", cube_ndim=3,
    description="Characterisation, ADI: the position and flux of announced companions in 3D cubes (t, y, x).",
    baselines=("negfc", "psf-fit"), task=CHARACTERISATION))
register_phase_kind(PhaseKind(
    name="charac-adi+msdi", suffix="charac4d", title="Characterisation ADI+mSDI", cube_ndim=4,
    description="Characterisation, ADI+mSDI: the position and spectrum of announced companions in 4D cubes "
                "(lambda, t, y, x).",
    baselines=("negfc", "psf-fit"), task=CHARACTERISATION))
