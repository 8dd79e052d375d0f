"""The challenge definition: a YAML file that says everything a build needs.

::

    name: my-challenge
    seed: 2026
    description: "..."           # optional, for the platforms (challenge.yaml, exobench bundle):
    start: 2027-01-01            # start of phase 1, submission limits, the scoring program's image
    max_submissions: 100         # (max_submissions_per_day, execution_time_limit, docker_image)
    calibration:                 # flux-to-S/N calibration (all keys optional)
      azimuths: 3                # trial companions per separation
      explained_variance: [0.90, 0.95, 0.99]
      step_fwhm: 1.0             # calibration separations every step from the first band's start
    injection:                   # the default recipe of every phase (all keys optional)
      companions: [0, 5]         # companions per dataset, drawn uniformly (inclusive)
      separation_bands_fwhm: [[2.5, 6], [6, 20]]   # equal odds, uniform within a band
                                 # (capped edge_margin_fwhm inside the frame; a band
                                 # starting beyond that is an error)
      edge_margin_fwhm: 2        # companions stay this far inside the frame's inscribed circle
      min_spacing_fwhm: 3        # between companions of one dataset
      snr_bands: [[1, 3], [3, 5]] # alternate bands, companion by companion
      inverse_angles: true       # the organisers' recipe (docs/conventions.md)
      spectra: flat              # 4D: flat, or a list of files (wavelength_um, flux) to draw from
    phases:
      - number: 1
        name: ADI
        kind: adi                # adi (3D cubes) or adi+msdi (4D cubes); charac-adi, charac-adi+msdi:
                                 # characterisation of announced companions (companions: [1+, ...])
        crop_lod: 20             # optional: crop to a frame 2 x 20 lambda/D wide
        start: 2027-01-01        # optional, for the platforms: the phase's dates and text
        end: 2027-03-31
        description: "..."
        submission: code         # optional: participants submit code (default: results)
        time_limit: 600          # optional, code phases: seconds per dataset for detect()
        injection: {...}         # optional: this phase's changes to the recipe
        sources:
          - simulate: naco       # a simulator profile (name or YAML file)
            frames: 40           # optional: frames, frame_size, overrides, seed
          - folder: data/eidc    # a folder in the EIDC layout ...
            instrument: sphere_irdis
            dataset: 1           # ... and the dataset in it
          - files:               # files of any names (exobench.data.load_dataset)
              cube: naco_betapic_empty_cube.fits
              angles: naco_betapic_empty_pa.fits
              psf: naco_betapic_psf.fits
              pxscale: 0.02719
            instrument: naco
            center: [49, 49]     # optional: the star's (x, y), or "measure"; recentred to n // 2
            bad_frames: [3, 17]  # optional: frames to drop
            optional: true       # skip (with a warning) when the files are absent
          - real: naco-betapic   # a public real dataset (exobench.data.registry), fetched on first use
            frame_size: 99       # optional: crop centred on the star (default: the largest such crop)
            fallback: data/real  # optional: a folder tried before any download, holding the
                                 # dataset's files or a known copy of them (checked by SHA-256)
            optional: true       # skip (with a warning) when the data cannot be found or fetched

A ``real`` source takes its files, their roles, the star's pixel, the instrument, the
pixel scale and the star's flux from its registry entry; it may also say
``instrument`` and ``bad_frames``.

Paths are relative to the definition file, after ``~`` and environment
variables (``$VAR``, ``${VAR}``, ``${VAR:-default}``) are expanded; a
relative default is relative to the working directory. :func:`load_challenge` checks
everything that can be checked without doing the work (unknown keys and
profiles, missing files, 3D sources in a 4D phase, separations outside the
frame, spacings that cannot fit) and raises one ``ValueError`` naming the file,
the phase, the source and the key.
"""

import dataclasses
import math
import os
import re
import typing
from pathlib import Path

import numpy as np

from .._validate import read_yaml
from ..challenge import ChallengeConfig, get_phase_kind, parse_challenge_config, phase_kinds

__all__ = ["ChallengeDefinition", "PhaseDefinition", "SourceDefinition", "InjectionRecipe", "CalibrationSettings",
           "BUNDLED_CHALLENGES", "bundled_challenge", "load_challenge", "challenge_from_dict"]

_BUNDLED = Path(__file__).with_name("challenges")
#: The bundled definitions by name (``exobench build --challenge NAME``): ``default``, small and
#: quick (the demo's and the tests'), and ``benchmark``, a phase with enough datasets and
#: companions to rank methods (docs/benchmarks.md).
BUNDLED_CHALLENGES = {"default": _BUNDLED / "default.yaml", "benchmark": _BUNDLED / "benchmark.yaml"}
#: The bundled small challenge (the demo's and the tests').
DEFAULT_CHALLENGE = BUNDLED_CHALLENGES["default"]


def bundled_challenge(name):
    """The path of the bundled challenge definition ``name`` (a key of :data:`BUNDLED_CHALLENGES`).

    Raises
    ------
    ValueError
        ``name`` is not a bundled definition's (the message lists them).
    """
    if not isinstance(name, str) or name not in BUNDLED_CHALLENGES:
        raise ValueError(f"challenge: expected a bundled challenge, one of {', '.join(BUNDLED_CHALLENGES)}, "
                         f"got {name!r}")
    return BUNDLED_CHALLENGES[name]


@dataclasses.dataclass(frozen=True)
class InjectionRecipe:
    """The injection recipe of a phase (see the module)."""

    companions: tuple = (0, 5)
    separation_bands_fwhm: tuple = ((2.5, 6.0), (6.0, 20.0))
    edge_margin_fwhm: float = 2.0
    min_spacing_fwhm: float = 3.0
    snr_bands: tuple = ((1.0, 3.0), (3.0, 5.0))
    inverse_angles: bool = True
    spectra: object = "flat"

    @property
    def max_separation_fwhm(self):
        return max(band[1] for band in self.separation_bands_fwhm)


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
    """How fluxes are calibrated in S/N (see :mod:`exobench.builder.calibration`)."""

    azimuths: int = 3
    explained_variance: tuple = (0.90, 0.95, 0.99)
    step_fwhm: float = 1.0


@dataclasses.dataclass(frozen=True)
class SourceDefinition:
    """One dataset of a phase: simulated, from an EIDC folder, or from named files."""

    kind: str
    label: str
    instrument: str
    spec: dict
    center: object = None
    bad_frames: tuple = ()
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class PhaseDefinition:
    number: int
    name: str
    kind: str
    sources: tuple
    injection: InjectionRecipe
    crop_lod: float | None = None

    @property
    def ndim(self):
        """Dimensions of the phase's cubes (its kind's, :mod:`exobench.challenge.kinds`)."""
        return get_phase_kind(self.kind).cube_ndim

    @property
    def suffix(self):
        """Suffix of the phase's score names (its kind's)."""
        return get_phase_kind(self.kind).suffix


@dataclasses.dataclass(frozen=True)
class ChallengeDefinition:
    name: str
    seed: int
    phases: tuple
    calibration: CalibrationSettings
    definition: dict
    base: Path
    platform: ChallengeConfig = ChallengeConfig()

    def with_seed(self, seed):
        """The same challenge with another seed (what ``exobench build --seed`` does)."""
        definition = dict(self.definition, seed=int(seed))
        return dataclasses.replace(self, seed=int(seed), definition=definition)


def load_challenge(path, *, check_sources=True):
    """Read and validate a challenge definition (see the module).

    Parameters
    ----------
    path : str or path-like
        The YAML file.
    check_sources : bool
        Also open the sources' headers and PSFs to check dimensions, frame sizes
        and separations (no cube is read in full).

    Returns
    -------
    ChallengeDefinition
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"challenge: no definition file {path}")
    return challenge_from_dict(read_yaml(path), base=path.parent, source=str(path), check_sources=check_sources)


def challenge_from_dict(data, *, base=".", source="challenge", check_sources=True):
    """Build and validate a :class:`ChallengeDefinition` from plain data."""
    where = _Where(source)
    _mapping(data, where.root, {"name", "seed", "phases", "injection", "calibration", *_PLATFORM_KEYS})
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        where.fail("seed", f"expected an integer >= 0, got {seed!r}")
    calibration = _calibration(data.get("calibration") or {}, where)
    default = _injection(data.get("injection") or {}, InjectionRecipe(), where, "injection")
    phases = data.get("phases")
    if not isinstance(phases, list) or not phases:
        where.fail("phases", "expected a non-empty list of phases")
    parsed = tuple(_phase(p, i, default, Path(base), where) for i, p in enumerate(phases))
    numbers = [p.number for p in parsed]
    if len(set(numbers)) != len(numbers):
        where.fail("phases", f"phase numbers must be distinct, got {numbers}")
    challenge = ChallengeDefinition(name=str(data.get("name", "challenge")), seed=seed, phases=parsed,
                                    calibration=calibration, definition=data, base=Path(base),
                                    platform=_platform(data, parsed, where))
    if check_sources:
        for phase in parsed:
            for src in phase.sources:
                _check_source(phase, src, where)
    return challenge


#: What a definition may say for the platforms (``challenge.yaml``'s keys), at the top and per phase.
_PLATFORM_KEYS = ("description", "start", "max_submissions", "max_submissions_per_day", "execution_time_limit",
                  "docker_image")
_PHASE_PLATFORM_KEYS = ("start", "end", "description", "submission", "time_limit")


def _platform(data, phases, where):
    """The definition's platform settings as a :class:`~exobench.challenge.ChallengeConfig` (checked)."""
    values = {key: data[key] for key in _PLATFORM_KEYS if key in data}
    values["phases"] = [{"number": phase.number, **{key: raw[key] for key in _PHASE_PLATFORM_KEYS if key in raw}}
                        for phase, raw in zip(phases, data["phases"])]
    return parse_challenge_config(values, where=where.source)


class _Where:
    def __init__(self, source):
        self.source = source
        self.root = ""

    def fail(self, key, message):
        raise ValueError(f"{self.source}: {key}: {message}")


def _mapping(value, key, allowed, where=None):
    label = key or "the definition"
    if not isinstance(value, dict):
        raise ValueError(f"{where.source if where else 'challenge'}: {label}: expected a mapping, "
                         f"got {type(value).__name__}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        name = f"{key}.{unknown[0]}" if key else unknown[0]
        raise ValueError(f"{where.source if where else 'challenge'}: {name}: unknown key; expected one of "
                         f"{', '.join(sorted(allowed))}")


def _calibration(values, where):
    _mapping(values, "calibration", {f.name for f in dataclasses.fields(CalibrationSettings)}, where)
    out = CalibrationSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    if not isinstance(out.azimuths, int) or out.azimuths < 1:
        where.fail("calibration.azimuths", f"expected an integer >= 1, got {out.azimuths!r}")
    levels = np.atleast_1d(np.asarray(out.explained_variance, dtype=float))
    if levels.size == 0 or np.any((levels <= 0) | (levels >= 1)):
        where.fail("calibration.explained_variance", f"expected values in (0, 1), got {out.explained_variance!r}")
    if not (isinstance(out.step_fwhm, (int, float)) and out.step_fwhm > 0):
        where.fail("calibration.step_fwhm", f"expected a number > 0, got {out.step_fwhm!r}")
    return dataclasses.replace(out, explained_variance=tuple(float(v) for v in levels))


def _pairs(value, key, where):
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value)):
        where.fail(key, f"expected a list of [low, high] pairs, got {value!r}")
    pairs = tuple((float(a), float(b)) for a, b in value)
    if any(not (0 <= a < b) for a, b in pairs):
        where.fail(key, f"expected 0 <= low < high in every pair, got {value!r}")
    return pairs


def _injection(values, base, where, key):
    _mapping(values, key, {f.name for f in dataclasses.fields(InjectionRecipe)}, where)
    out = dataclasses.replace(base, **values)
    low_high = out.companions
    if (not isinstance(low_high, (list, tuple)) or len(low_high) != 2
            or not all(isinstance(v, int) and v >= 0 for v in low_high) or low_high[0] > low_high[1]):
        where.fail(f"{key}.companions", f"expected [min, max] integers with 0 <= min <= max, got {low_high!r}")
    bands = _pairs(out.separation_bands_fwhm, f"{key}.separation_bands_fwhm", where)
    snr = _pairs(out.snr_bands, f"{key}.snr_bands", where)
    for name in ("edge_margin_fwhm", "min_spacing_fwhm"):
        value = getattr(out, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            where.fail(f"{key}.{name}", f"expected a number >= 0, got {value!r}")
    if not isinstance(out.inverse_angles, bool):
        where.fail(f"{key}.inverse_angles", f"expected true or false, got {out.inverse_angles!r}")
    spectra = out.spectra
    if spectra != "flat" and not (isinstance(spectra, (list, tuple)) and spectra
                                  and all(isinstance(s, str) for s in spectra)):
        where.fail(f"{key}.spectra", f"expected 'flat' or a list of spectrum files, got {spectra!r}")
    return dataclasses.replace(out, companions=tuple(low_high), separation_bands_fwhm=bands, snr_bands=snr,
                               spectra=spectra if spectra == "flat" else tuple(spectra))


def _phase(values, index, default, base, where):
    key = f"phases[{index}]"
    _mapping(values, key, {"number", "name", "kind", "sources", "injection", "crop_lod", *_PHASE_PLATFORM_KEYS},
             where)
    number = values.get("number", index + 1)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        where.fail(f"{key}.number", f"expected an integer >= 1, got {number!r}")
    kind = values.get("kind", "adi")
    if kind not in phase_kinds():
        where.fail(f"{key}.kind", f"expected one of {', '.join(phase_kinds())}, got {kind!r}")
    crop = values.get("crop_lod")
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, (int, float)) or crop <= 0):
        where.fail(f"{key}.crop_lod", f"expected a number > 0, got {crop!r}")
    injection = _injection(values.get("injection") or {}, default, where, f"{key}.injection")
    if get_phase_kind(kind).is_characterisation and injection.companions[0] < 1:
        where.fail(f"{key}.injection.companions", f"a {kind} phase characterises companions: every dataset needs "
                                                  f"at least one, got {list(injection.companions)!r}")
    if injection.spectra != "flat":
        resolved = tuple(str(resolve_path(s, base)) for s in injection.spectra)
        for path in resolved:
            if not Path(path).is_file():
                where.fail(f"{key}.injection.spectra", f"no spectrum file {path}")
        injection = dataclasses.replace(injection, spectra=resolved)
    sources = values.get("sources")
    if not isinstance(sources, list) or not sources:
        where.fail(f"{key}.sources", "expected a non-empty list of sources")
    parsed = tuple(_source(s, f"{key}.sources[{j}]", base, where) for j, s in enumerate(sources))
    return PhaseDefinition(number=number, name=str(values.get("name", get_phase_kind(kind).title)),
                           kind=kind, sources=parsed, injection=injection,
                           crop_lod=None if crop is None else float(crop))


_SOURCE_KEYS = {"simulate", "folder", "files", "real", "instrument", "dataset", "frames", "frame_size", "overrides",
                "seed", "center", "bad_frames", "optional", "fallback"}
#: The keys a ``real`` source takes (its entry says the rest).
_REAL_KEYS = {"real", "frame_size", "fallback", "instrument", "bad_frames", "optional"}


_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


def resolve_path(text, base):
    """A definition's path: ``~`` and variables expanded, then relative to ``base``.

    >>> str(resolve_path("${EXOBENCH_NOT_SET_ANYWHERE:-/data}/x.fits", Path("/defs")))
    '/data/x.fits'
    >>> str(resolve_path("cubes/x.fits", Path("/defs")))
    '/defs/cubes/x.fits'
    """
    text = _DEFAULTED.sub(lambda m: os.environ.get(m.group(1)) or str(Path(m.group(2)).absolute()), str(text))
    path = Path(os.path.expanduser(os.path.expandvars(text)))
    return path if path.is_absolute() else base / path


def _source(values, key, base, where):
    _mapping(values, key, _SOURCE_KEYS, where)
    kinds = [k for k in ("simulate", "folder", "files", "real") if k in values]
    if len(kinds) != 1:
        where.fail(key, f"expected exactly one of simulate, folder, files, real; got {kinds or 'none'}")
    kind = kinds[0]
    if kind != "real" and "fallback" in values:
        where.fail(f"{key}.fallback", "only a real source takes a fallback folder")
    if kind in ("folder", "files"):  # a cube read as it is: these would be silently ignored
        for option in ("frames", "frame_size", "overrides", "seed"):
            if option in values:
                where.fail(f"{key}.{option}", f"only a simulated source takes {option} (a {kind} source is read "
                                              "as it is; a real source takes frame_size)")
    spec = {k: values[k] for k in ("frames", "frame_size", "overrides", "seed", "dataset") if k in values}
    if kind == "real":
        spec, instrument, label = _real_source(values, key, base, where)
    elif kind == "simulate":
        spec["profile"] = values["simulate"]
        if str(spec["profile"]).endswith((".yaml", ".yml")):
            spec["profile"] = str(resolve_path(spec["profile"], base))
        instrument = values.get("instrument", Path(str(values["simulate"])).stem)
        label = f"simulate {values['simulate']}"
    elif kind == "folder":
        spec["folder"] = str(resolve_path(values["folder"], base))
        if "instrument" not in values:
            where.fail(f"{key}.instrument", "a folder source needs the instrument of its files")
        instrument = values["instrument"]
        spec.setdefault("dataset", 1)
        label = f"folder {values['folder']} ({instrument} #{spec['dataset']})"
    else:
        files = values["files"]
        if not isinstance(files, dict) or "cube" not in files or "angles" not in files:
            where.fail(f"{key}.files", "expected a mapping with at least cube and angles")
        spec["files"] = {k: (str(resolve_path(v, base)) if isinstance(v, str) else v) for k, v in files.items()}
        instrument = values.get("instrument", "unknown")
        label = f"files {Path(files['cube']).name}"
    center = values.get("center")
    if center is not None and center != "measure" and not (
            isinstance(center, (list, tuple)) and len(center) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in center)):
        where.fail(f"{key}.center", f"expected [x, y] or 'measure', got {center!r}")
    bad = values.get("bad_frames", [])
    if not isinstance(bad, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in bad):
        where.fail(f"{key}.bad_frames", f"expected a list of frame indices >= 0, got {bad!r}")
    if not isinstance(values.get("optional", False), bool):
        where.fail(f"{key}.optional", "expected true or false")
    return SourceDefinition(kind=kind, label=f"{key} ({label})", instrument=str(instrument), spec=spec,
                            center=center, bad_frames=tuple(bad), optional=values.get("optional", False))


def _real_source(values, key, base, where):
    """The spec, instrument and label of a ``real`` source (its registry entry checked)."""
    from ..data.registry import get_real_dataset

    unknown = sorted(set(values) - _REAL_KEYS)
    if unknown:
        where.fail(f"{key}.{unknown[0]}", f"not a key of a real source (its registry entry says it); expected one "
                                          f"of {', '.join(sorted(_REAL_KEYS))}")
    try:
        entry = get_real_dataset(values["real"], where=f"{key}.real")
    except ValueError as exc:
        raise ValueError(f"{where.source}: {exc}") from None
    if not entry.roles:
        where.fail(f"{key}.real", f"the real dataset {entry.name!r} does not say which file is its cube")
    size = values.get("frame_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        where.fail(f"{key}.frame_size", f"expected an integer >= 1, got {size!r}")
    fallback = values.get("fallback")
    if fallback is not None and not isinstance(fallback, str):
        where.fail(f"{key}.fallback", f"expected a folder, got {fallback!r}")
    spec = {"real": entry.name, "frame_size": size,
            "fallback": None if fallback is None else str(resolve_path(fallback, base))}
    return spec, values.get("instrument", entry.instrument or entry.name), f"real {entry.name}"


def source_problem(src):
    """None when the data of a source are there (simulated sources always are), else what is
    missing, in one line (a real source's says what was tried and how to get its data)."""
    if src.kind == "folder":
        return None if Path(src.spec["folder"]).is_dir() else f"missing source folder {src.spec['folder']}"
    if src.kind == "files":
        missing = [v for v in src.spec["files"].values() if isinstance(v, str) and not Path(v).is_file()]
        return f"missing source file {missing[0]}" if missing else None
    if src.kind == "real":
        from .sources import locate_real_source

        try:
            locate_real_source(src)
        except FileNotFoundError as exc:
            return str(exc)
    return None


def _check_source(phase, src, where):
    """Check a source's dimensions and that the injection recipe fits its frames."""
    problem = source_problem(src)
    if problem is not None:
        if src.optional:  # the build says it skips it
            return
        where.fail(src.label, problem)
    geometry = _source_geometry(src, where)
    ndim, frame_size, fwhm = geometry.ndim, geometry.frame_size, geometry.fwhm
    _check_size(phase, src, geometry, where)
    if ndim != phase.ndim:
        where.fail(src.label, f"a {ndim}D cube in phase {phase.number} ({phase.kind}), which takes "
                              f"{phase.ndim}D cubes")
    if phase.crop_lod is not None:
        frame_size = min(frame_size, crop_size(frame_size, phase.crop_lod, fwhm))
    recipe = phase.injection
    room = (frame_size - 1) / 2 - recipe.edge_margin_fwhm * fwhm
    outside = [band for band in recipe.separation_bands_fwhm if band[0] * fwhm >= room]
    if recipe.companions[1] > 0 and outside:
        where.fail(src.label, f"separation band {list(outside[0])} FWHM starts at {outside[0][0] * fwhm:.1f} px, "
                              f"outside the frame ({frame_size} px, FWHM {fwhm:.2f} px, "
                              f"{recipe.edge_margin_fwhm:g} FWHM margin: {max(room, 0):.1f} px)")
    check_spacing(recipe, where=f"{where.source}: {src.label}")


def crop_size(frame_size, crop_lod, fwhm):
    """The odd frame size holding ``crop_lod`` lambda/D on each side of the star
    (lambda/D taken as the FWHM), at most ``frame_size``."""
    half = int(math.ceil(crop_lod * fwhm))
    return min(frame_size, 2 * half + 1)


def check_spacing(recipe, *, where):
    """Refuse recipes whose companions cannot all keep their spacing.

    The most companions of a dataset must fit, ``min_spacing`` apart, on the
    separations allowed: at least one placement exists when the bands' total
    area holds that many disks of radius ``min_spacing / 2``.
    """
    count = recipe.companions[1]
    if count < 2 or recipe.min_spacing_fwhm == 0:
        return
    area = sum(math.pi * (b**2 - a**2) for a, b in recipe.separation_bands_fwhm)
    needed = count * math.pi * (recipe.min_spacing_fwhm / 2) ** 2 * 2.0  # random packing wastes about half
    if needed > area:
        raise ValueError(f"{where}: injection: {count} companions {recipe.min_spacing_fwhm:g} FWHM apart do not fit "
                         f"in separation bands {list(recipe.separation_bands_fwhm)} FWHM")


def _source_geometry(src, where):
    """A source's :class:`_Geometry`, without reading its cube."""
    if src.kind == "simulate":
        from ..simulate import configured_profile
        from ..simulate.simulation import simulation_memory_bytes

        try:  # frames, frame_size and overrides applied and checked as the simulation will
            profile = configured_profile(src.spec["profile"], frames=src.spec.get("frames"),
                                         frame_size=src.spec.get("frame_size"), overrides=src.spec.get("overrides"))
        except (ValueError, FileNotFoundError, TypeError) as exc:
            where.fail(src.label, str(exc))
        channels = profile.wavelength.channels
        ndim = 4 if channels > 1 else 3
        size = int(profile.observation.frame_size)
        return _Geometry(ndim, size, profile.lambda_over_d_px(float(np.mean(profile.wavelengths_um))),
                         channels * profile.observation.frames * size * size, simulation_memory_bytes(profile))
    if src.kind == "real":
        from .sources import real_source_files

        try:
            files, (_, _, size) = real_source_files(src)
        except ValueError as exc:
            where.fail(src.label, str(exc))
        whole = _files_geometry(files, src, where)
        per_frame = whole.values // max(whole.frame_size, 1) ** 2  # frames (x channels) of the cropped cube
        return whole._replace(frame_size=size, values=per_frame * size * size)
    if src.kind == "folder":
        from ..data.fits_io import read_dataset

        try:
            dataset = read_dataset(src.spec["folder"], src.instrument, str(src.spec["dataset"]))
        except (ValueError, FileNotFoundError, OSError) as exc:
            where.fail(src.label, str(exc))
        return _Geometry(dataset.cube.ndim, dataset.frame_shape[-1], float(np.mean(dataset.fwhm)), dataset.cube.size)
    return _files_geometry(src.spec["files"], src, where)


def _files_geometry(files, src, where):
    """The :class:`_Geometry` of a dataset of named files, its cube's header read."""
    from astropy.io import fits

    with fits.open(files["cube"], memmap=True) as hdul:
        header = next((h.header for h in hdul if h.header.get("NAXIS", 0) > 0), hdul[0].header)
    ndim, size = header.get("NAXIS", 0), header.get("NAXIS1", 0)
    values = int(np.prod([header.get(f"NAXIS{i}", 0) for i in range(1, ndim + 1)])) if ndim else 0
    fwhm = files.get("fwhm")
    if isinstance(fwhm, (int, float)):
        return _Geometry(ndim, size, float(fwhm), values)
    if "psf" not in files:
        where.fail(src.label, "a files source needs a psf or a fwhm")
    from ..psf import fit_fwhm

    psf = np.asarray(fits.getdata(files["psf"]), dtype=float)
    return _Geometry(ndim, size, float(np.mean(fit_fwhm(psf))), values)


class _Geometry(typing.NamedTuple):
    """What the checks need of a source: cube dimensions, frame size (px), FWHM (px), number of
    values of its cube, and the memory its simulation takes (0 for files)."""

    ndim: int
    frame_size: int
    fwhm: float
    values: int
    simulation_bytes: int = 0


#: Copies of a dataset's cube (in float64) that building it holds at once: the source, the
#: injected cube, the calibration's projections and residuals, the files written.
BUILD_WORKING_COPIES = 8


def _check_size(phase, src, geometry, where):
    """Refuse sizes the build cannot finish on this machine, or whose maps no submission could give."""
    from ..submission.limits import DEFAULT_LIMITS

    size = geometry.frame_size
    if size * size > DEFAULT_LIMITS.max_map_pixels:
        side = int(math.isqrt(DEFAULT_LIMITS.max_map_pixels))
        where.fail(src.label, f"frames of {size} x {size} px in phase {phase.number}: larger than the scoring "
                              f"program accepts for a detection map ({side} x {side} px at most)")
    needed = max(geometry.simulation_bytes, geometry.values * 8 * BUILD_WORKING_COPIES)
    memory = _physical_memory()
    if memory and needed > memory:
        where.fail(src.label, f"phase {phase.number}: frames of {size} x {size} px ({geometry.values:,} values) "
                              f"need about {needed / 2**30:.1f} GiB of memory to build, more than this "
                              f"machine's {memory / 2**30:.1f} GiB; use a smaller frame_size or fewer frames")


def _physical_memory():
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
