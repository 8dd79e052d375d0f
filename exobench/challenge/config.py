"""``challenge.yaml``: a built challenge's name and phases, read strictly and written reproducibly.

The builder writes it; the bundle, the leaderboard and the report read it. Every
key is optional and unknown keys are refused, so that a typo does not pass
unnoticed::

    name: "Exoplanet detection challenge"      # the competition's title
    description: "One line shown in the platform's list"
    start: 2026-01-01                          # start of phase 1 on a platform
    max_submissions: 100                       # per participant and phase
    max_submissions_per_day: 5                 # Codabench only
    execution_time_limit: 600                  # seconds per scoring run
    docker_image: codalab/codalab-legacy:py39  # the platform image that runs the scoring program
    phases:
      - number: 1                              # the N of public/phase_N and reference/phase_N
        name: ADI
        suffix: 3d                             # score names F1_3d...
        start: 2026-01-01
        end: 2026-03-31
        description: "..."
        submission: code                       # results (default: maps) or code (detect.py, run by
        time_limit: 600                        #   the ingestion program: seconds per dataset)

What is not given stays ``None`` here; the platform bundle
(:mod:`exobench.platform`) supplies its documented defaults.
"""

import dataclasses
import datetime
import math
from pathlib import Path

from .._validate import check_suffix
from .layout import CHALLENGE_FILE

__all__ = ["ChallengeConfig", "PhaseEntry", "SUBMISSION_KINDS", "read_challenge_config", "parse_challenge_config", "write_challenge_config"]


@dataclasses.dataclass(frozen=True)
class PhaseEntry:
    """One phase of ``challenge.yaml``; ``None`` where the file gives no value."""

    number: int
    name: str = None
    suffix: str = None
    start: datetime.date = None
    end: datetime.date = None
    description: str = None
    submission: str = None
    time_limit: float = None

    @property
    def takes_code(self):
        """Whether participants submit code (``submission: code``) rather than maps."""
        return self.submission == "code"


#: What a phase's participants submit: maps (``results``, the default) or code run by the ingestion program.
SUBMISSION_KINDS = ("results", "code")


@dataclasses.dataclass(frozen=True)
class ChallengeConfig:
    """The content of ``challenge.yaml``; ``None`` where the file gives no value (``phases``: ``()``)."""

    name: str = None
    description: str = None
    start: datetime.date = None
    max_submissions: int = None
    max_submissions_per_day: int = None
    execution_time_limit: int = None
    docker_image: str = None
    phases: tuple = ()

    def phase(self, number):
        """The entry of phase ``number``, or None."""
        return next((p for p in self.phases if p.number == number), None)

    def to_dict(self):
        """The keys the file gives, in the documented order."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "phases":
                if value:
                    out["phases"] = [_entry_dict(p) for p in value]
            elif value is not None:
                out[field.name] = value
        return out


def _entry_dict(entry):
    return {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if getattr(entry, f.name) is not None}


_CHALLENGE_KEYS = tuple(f.name for f in dataclasses.fields(ChallengeConfig))
_PHASE_KEYS = tuple(f.name for f in dataclasses.fields(PhaseEntry))
_COUNTS = ("max_submissions", "max_submissions_per_day", "execution_time_limit")


def read_challenge_config(path):
    """The :class:`ChallengeConfig` of a ``challenge.yaml`` (every value ``None`` when there is no file).

    Parameters
    ----------
    path : str or path-like
        The file, or the challenge folder holding it.

    Raises
    ------
    ValueError
        Not a YAML mapping, an unknown key, or a value of the wrong kind; the
        message names the file and the key.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHALLENGE_FILE
    if not path.exists():
        return ChallengeConfig()
    return parse_challenge_config(_load(path), where=CHALLENGE_FILE)


def parse_challenge_config(data, *, where=CHALLENGE_FILE, phase_keys=None):
    """The :class:`ChallengeConfig` of a mapping with the keys of ``challenge.yaml``.

    Parameters
    ----------
    data : dict
    where : str
        What the messages name (the file).
    phase_keys : collection of str, optional
        Other keys a phase entry may hold (ignored here: a challenge definition's
        phases also say how to build them).

    Raises
    ------
    ValueError
        An unknown key or a value of the wrong kind, named.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    _refuse_unknown(data, _CHALLENGE_KEYS, where)
    values = {"name": _text(data.get("name"), f"{where}: name"),
              "description": _text(data.get("description"), f"{where}: description"),
              "start": _date(data.get("start"), f"{where}: start"),
              "docker_image": _text(data.get("docker_image"), f"{where}: docker_image"),
              "phases": _phases(data.get("phases"), where, phase_keys or ())}
    for key in _COUNTS:
        values[key] = _count(data.get(key), f"{where}: {key}")
    return ChallengeConfig(**values)


def _load(path):
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{CHALLENGE_FILE}: not valid YAML ({' '.join(str(exc).split())})") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"{CHALLENGE_FILE}: expected a mapping, got {type(data).__name__}")
    return data


def _refuse_unknown(data, keys, where):
    unknown = set(data) - set(keys)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; expected some of "
                         f"{', '.join(sorted(keys))}")


def _phases(entries, where, extra_keys=()):
    if entries is None:
        return ()
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{where}: phases: expected a non-empty list of phases")
    phases = tuple(_phase(entry, i, where, extra_keys) for i, entry in enumerate(entries))
    for before, after in zip(phases, phases[1:]):
        if after.number <= before.number:
            raise ValueError(f"{where}: phases: numbers must increase, got {before.number} then {after.number}")
    return phases


def _phase(entry, index, where, extra_keys=()):
    where = f"{where}: phases[{index}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping, got {entry!r}")
    _refuse_unknown(entry, _PHASE_KEYS + tuple(extra_keys), where)
    entry = {key: value for key, value in entry.items() if key in _PHASE_KEYS}
    number = entry.get("number", index + 1)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"{where}: number: expected an integer >= 1, got {number!r}")
    suffix = entry.get("suffix")
    if suffix is not None:
        suffix = check_suffix(str(suffix) if isinstance(suffix, int) else suffix, f"{where}: suffix")
    start, end = _date(entry.get("start"), f"{where}: start"), _date(entry.get("end"), f"{where}: end")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"{where}: end ({end}) must be after start ({start})")
    submission, time_limit = _submission(entry, where)
    return PhaseEntry(number=number, name=_text(entry.get("name"), f"{where}: name"), suffix=suffix,
                      start=start, end=end, description=_text(entry.get("description"), f"{where}: description"),
                      submission=submission, time_limit=time_limit)


def _submission(entry, where):
    """``submission`` and ``time_limit`` of a phase entry, checked (a time limit only for a code phase)."""
    submission = entry.get("submission")
    if submission is not None and submission not in SUBMISSION_KINDS:
        raise ValueError(f"{where}: submission: expected one of {', '.join(SUBMISSION_KINDS)}, got {submission!r}")
    limit = entry.get("time_limit")
    if limit is None:
        return submission, None
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit <= 0:
        raise ValueError(f"{where}: time_limit: expected a number of seconds > 0, got {limit!r}")
    if submission != "code":
        raise ValueError(f"{where}: time_limit: only a code phase (submission: code) has one")
    return submission, limit


def _text(value, name):
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
    return value.strip()


def _date(value, name):
    if value is None or (isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)):
        return value
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a date YYYY-MM-DD, got {value!r}")


def _count(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def write_challenge_config(path, config):
    """Write ``config`` (a :class:`ChallengeConfig`) as YAML to ``path`` (a file or the challenge folder), atomically.

    Keys in the documented order, values not given left out: the same
    configuration gives the same bytes.
    """
    import yaml

    from .._atomic import atomic_write

    path = Path(path)
    if path.is_dir():
        path = path / CHALLENGE_FILE
    with atomic_write(path, "w") as handle:
        yaml.safe_dump(config.to_dict(), handle, sort_keys=False)
    return path
