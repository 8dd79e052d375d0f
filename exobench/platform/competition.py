"""A built challenge folder read as a competition: the phases with their platform settings.

The folder's layout is :mod:`exobench.challenge.layout`'s; its ``challenge.yaml``
(:mod:`exobench.challenge.config`, every key optional) gives the title, the
pages' text, the limits and the phases. What it leaves out takes the defaults
below. Without ``challenge.yaml``, or without its ``phases``, the phases are the
folders ``reference/phase_N`` (N = 1, 2, ...), in order. A phase's score suffix
is, by priority: ``suffix`` in ``challenge.yaml``; ``suffix`` of its
``reference/phase_N/phase.json``; ``4d`` when its public folder holds wavelength
files (``*_wls_*.fits``, ``*_wl_*``, ``*_wvs_*``: the suffix of the phase kind of 4D
cubes); else that of 3D cubes (``3d``). Both given and
different is an error. Phases are sequential (each starts when the previous
ends): Codabench requires it, and on Codalab v1.5 the next phase's start closes
the previous one.
"""

import dataclasses
import datetime
import re
from pathlib import Path

from ..challenge import (ChallengeLayout, parse_challenge_config, phase_kind_for_suffix, phase_kinds,
                         read_challenge_config, read_phase_settings)
from ..challenge.layout import CANDIDATES_NAME, PHASE_FILE

__all__ = ["Competition", "CompetitionPhase", "read_competition", "DEFAULT_PHASE_DAYS",
           "PACKAGE_KIT", "DOCKER_IMAGE"]

#: The image the platforms run the scoring program in when ``challenge.yaml`` names none: Codalab's
#: stock Python 3.9 image with numpy, scipy and astropy (the program runs on Python 3.7 and up).
DOCKER_IMAGE = "codalab/codalab-legacy:py39"
#: Length of a phase when ``challenge.yaml`` gives no end.
DEFAULT_PHASE_DAYS = 90
_DEFAULT_NAME = "Exoplanet detection challenge"
_DEFAULT_DESCRIPTION = "Detect faint companions in high-contrast imaging sequences."
_DEFAULT_LIMITS = {"max_submissions": 100, "max_submissions_per_day": 5, "execution_time_limit": 600}
_WAVELENGTH_FILE = re.compile(r"^.+_(wls|wl|wvs)_[^_]+\.fits$")
#: The starting kit's files (notebook, template, sample-submission script), package data installed with
#: exobench and packed into every bundle; the repository's ``starting_kit/`` links to them.
PACKAGE_KIT = Path(__file__).resolve().parent / "kit"


@dataclasses.dataclass(frozen=True)
class CompetitionPhase:
    """One phase of a competition: number, name, score suffix, dates, text, folders, and what is submitted.

    ``submission`` is ``"results"`` (maps) or ``"code"`` (``detect.py``, run by the ingestion
    program with ``time_limit`` seconds per dataset, :mod:`exobench.ingestion`).
    """

    number: int
    name: str
    suffix: str
    start: datetime.date
    end: datetime.date
    description: str
    public: Path
    reference: Path
    submission: str = "results"
    time_limit: float = None

    @property
    def takes_code(self):
        """Whether participants submit code, run by the ingestion program (``submission: code``)."""
        return self.submission == "code"

    @property
    def keys(self):
        """The score names of the phase (``F1_3d``, ...), the leaderboard's columns."""
        from ..scoring.program import score_keys

        return score_keys(self.suffix)


@dataclasses.dataclass(frozen=True)
class Competition:
    """A built challenge folder, read and checked (:func:`read_competition`)."""

    folder: Path
    name: str
    description: str
    phases: tuple
    max_submissions: int
    max_submissions_per_day: int
    execution_time_limit: int
    starting_kit: tuple
    docker_image: str = None


def read_competition(folder, *, overrides=None, today=None):
    """Read and check a built challenge folder (see the module doc).

    Parameters
    ----------
    folder : str or path-like
    overrides : dict, optional
        Top-level keys of ``challenge.yaml`` (``name``, ``description``, ``start``,
        ``max_submissions``, ``max_submissions_per_day``, ``execution_time_limit``,
        ``docker_image``) that replace the file's, checked as the file's are.
    today : datetime.date, optional
        The start of phase 1 when neither ``challenge.yaml`` nor ``overrides`` give
        one (default: today's date, so that a bundle made without dates opens now; give
        a start for a bundle whose bytes do not depend on the day it is made).

    Returns
    -------
    Competition

    Raises
    ------
    FileNotFoundError
        The folder, a phase's public or reference folder is missing.
    ValueError
        ``challenge.yaml`` is malformed, or the phases are inconsistent.
    """
    layout = ChallengeLayout(folder)
    if not layout.root.is_dir():
        raise FileNotFoundError(f"challenge: folder {str(layout.root)!r} does not exist")
    config = read_challenge_config(layout.challenge_file)
    if overrides:
        config = parse_challenge_config({**config.to_dict(), **overrides}, where="overrides")
    entries = config.phases or tuple(_bare_entry(n) for n in _phase_numbers(layout))
    phases, previous_end = [], None
    for index, entry in enumerate(entries):
        phase = _phase(layout, entry, index, previous_end or config.start or today or datetime.date.today())
        if previous_end is not None and phase.start < previous_end:
            raise ValueError(f"challenge.yaml: phase {phase.number} starts ({phase.start}) before phase "
                             f"{phases[-1].number} ends ({previous_end}); phases are sequential")
        phases.append(phase)
        previous_end = phase.end
    limits = {key: getattr(config, key) or default for key, default in _DEFAULT_LIMITS.items()}
    return Competition(folder=layout.root, name=config.name or _DEFAULT_NAME,
                       description=config.description or _DEFAULT_DESCRIPTION, phases=tuple(phases),
                       starting_kit=_starting_kit(layout), docker_image=config.docker_image or DOCKER_IMAGE,
                       **limits)


def _bare_entry(number):
    from ..challenge import PhaseEntry

    return PhaseEntry(number=number)


def _phase_numbers(layout):
    numbers = layout.reference_phases()
    if not numbers:
        raise FileNotFoundError(f"challenge: no reference/phase_N folder in {str(layout.root)!r} (and no phases in "
                                f"challenge.yaml)")
    return numbers


def _phase(layout, entry, index, default_start):
    number = entry.number
    public, reference = layout.public(number), layout.reference(number)
    for path in (public, reference):
        if not path.is_dir():
            raise FileNotFoundError(f"challenge: phase {number}: folder {path.parent.name}/{path.name} missing in "
                                    f"{str(layout.root)!r}")
    suffix = _phase_suffix(entry.suffix, reference, public, number)
    kind = phase_kind_for_suffix(suffix)
    start = entry.start or default_start
    end = entry.end or start + datetime.timedelta(days=DEFAULT_PHASE_DAYS)
    if end <= start:
        raise ValueError(f"challenge.yaml: phases[{index}]: end ({end}) must be after start ({start})")
    name = entry.name or (kind.title if kind else f"Phase {number}")
    description = entry.description or (kind.description if kind else f"Phase {number}.")
    if entry.takes_code:
        from ..ingestion.program import DEFAULT_TIME_LIMIT

        return CompetitionPhase(number, name, suffix, start, end, description, public, reference, "code",
                                entry.time_limit or DEFAULT_TIME_LIMIT)
    return CompetitionPhase(number, name, suffix, start, end, description, public, reference)


def _phase_suffix(given, reference, public, number):
    stored = read_phase_settings(reference / PHASE_FILE).suffix
    if given is not None:
        if stored is not None and stored != given:
            raise ValueError(f"challenge: phase {number}: challenge.yaml says suffix {given!r}, "
                             f"{reference.parent.name}/{reference.name}/{PHASE_FILE} says {stored!r}")
        return given
    if stored is not None:
        return stored
    names = [p.name for p in public.iterdir()]
    ndim = 4 if any(_WAVELENGTH_FILE.match(name) for name in names) else 3
    characterised = any(CANDIDATES_NAME.match(name) for name in names)
    return next(kind.suffix for kind in phase_kinds().values()
                if kind.cube_ndim == ndim and kind.is_characterisation == characterised)


def _starting_kit(layout):
    """The folders whose files make the starting kit, later ones winning on a name clash."""
    from .bundle import folder_files

    folders = [PACKAGE_KIT] if PACKAGE_KIT.is_dir() and folder_files(PACKAGE_KIT) else []
    if layout.starting_kit.is_dir():
        folders.append(layout.starting_kit)
    return tuple(folders) or None
