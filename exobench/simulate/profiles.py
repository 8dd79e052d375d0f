"""Instrument profiles: what the simulator needs to know about an instrument.

A profile is a YAML file with one section per part of the instrument
(``telescope``, ``wavelength``, ``coronagraph``, ``ao``, ``ncpa``, ``detector``,
``star``, ``observation``, ``simulation``). The profiles shipped with exobench
live in ``exobench/simulate/instruments/``; any other YAML file with the same
sections is a profile too. Every value is validated on loading, and an error
names the profile, the section and the key.
"""

import dataclasses
import math
from pathlib import Path

from .._validate import read_yaml

__all__ = [
    "InstrumentProfile",
    "Telescope",
    "Band",
    "Coronagraph",
    "AdaptiveOptics",
    "Aberrations",
    "Detector",
    "Star",
    "Observation",
    "SimulationSettings",
    "available_instruments",
    "load_profile",
]

PROFILE_DIR = Path(__file__).with_name("instruments")

APERTURES = ("generic", "vlt-ut1", "vlt-ut2", "vlt-ut3", "vlt-ut4", "keck")
CORONAGRAPHS = ("none", "vortex", "lyot", "perfect")


@dataclasses.dataclass(frozen=True)
class Telescope:
    """Primary mirror and site.

    ``aperture`` picks hcipy's model of a real pupil (``vlt-ut1`` ... ``vlt-ut4``,
    ``keck``) or a ``generic`` obstructed disk made from ``diameter_m``,
    ``central_obstruction`` (diameter ratio), ``spiders`` and ``spider_width_m``.
    """

    diameter_m: float
    site_latitude_deg: float
    aperture: str = "generic"
    central_obstruction: float = 0.0
    spiders: int = 0
    spider_width_m: float = 0.0


@dataclasses.dataclass(frozen=True)
class Band:
    """Wavelengths: one broad-band channel, or ``channels`` IFS channels spread
    evenly from ``min_um`` to ``max_um`` (each ``bandwidth_um / channels`` wide)."""

    min_um: float
    max_um: float
    channels: int = 1
    name: str = ""

    @property
    def center_um(self):
        return 0.5 * (self.min_um + self.max_um)

    @property
    def bandwidth_um(self):
        return self.max_um - self.min_um


@dataclasses.dataclass(frozen=True)
class Coronagraph:
    """The coronagraph: ``none``, ``vortex`` (vector vortex or AGPM of ``charge``),
    ``lyot`` (apodised Lyot: a hard occulting spot of ``mask_diameter_arcsec``
    behind a Gaussian pupil apodiser of 1/e radius ``apodizer_radius`` pupil
    radii; 0 for none) or ``perfect`` (removes the on-axis coherent light).
    ``lyot_stop_outer`` and ``lyot_stop_inner`` are the Lyot stop's diameters as
    fractions of the primary's; ``leakage`` is the fraction of the unmasked field
    that leaks through (a real mask's chromatic or retardance error)."""

    type: str = "none"
    charge: int = 2
    mask_diameter_arcsec: float = 0.0
    apodizer_radius: float = 0.0
    lyot_stop_outer: float = 1.0
    lyot_stop_inner: float = 0.0
    leakage: float = 0.0


@dataclasses.dataclass(frozen=True)
class AdaptiveOptics:
    """Residuals of the AO loop.

    Turbulence of Fried parameter ``r0_m`` (at 500 nm) and outer scale
    ``outer_scale_m`` is left untouched beyond the control radius
    (``control_radius`` cycles per pupil, i.e. lambda/D at every wavelength: the
    fitting error) and attenuated inside it so that the total residual is
    ``residual_wfe_nm`` rms. Each Fourier mode decorrelates with time as
    ``exp(-dt / speckle_lifetime_s)``.
    """

    control_radius: float
    residual_wfe_nm: float
    r0_m: float = 0.15
    outer_scale_m: float = 25.0
    speckle_lifetime_s: float = 1.0


@dataclasses.dataclass(frozen=True)
class Aberrations:
    """Non-common-path aberrations: a static part and a quasi-static part that
    decorrelates as ``exp(-dt / lifetime_s)``, both with a power spectrum
    ``f ** power_law`` (rms in nm over the pupil)."""

    static_wfe_nm: float = 0.0
    quasistatic_wfe_nm: float = 0.0
    lifetime_s: float = 3600.0
    power_law: float = -2.0


@dataclasses.dataclass(frozen=True)
class Detector:
    """Detector and throughput. Rates are per pixel; ``throughput`` is the
    whole system's (atmosphere, telescope, instrument, quantum efficiency)."""

    gain_e_per_adu: float = 1.0
    read_noise_e: float = 0.0
    dark_e_per_s: float = 0.0
    background_e_per_s: float = 0.0
    full_well_e: float = math.inf
    throughput: float = 0.3


@dataclasses.dataclass(frozen=True)
class Star:
    """The star: its magnitude in the band and the band's zero point (Jy)."""

    magnitude: float = 5.0
    zero_point_jy: float = 1000.0


@dataclasses.dataclass(frozen=True)
class Observation:
    """The sequence: frames of ``ndit`` co-added exposures of ``dit_s``, spread
    evenly over hour angles ``hour_angle_start_h`` to ``hour_angle_end_h`` of a
    target at ``declination_deg``; ``pupil_offset_deg`` is added to the
    parallactic angles to give the derotation angles."""

    frames: int
    frame_size: int
    dit_s: float
    ndit: int
    declination_deg: float
    hour_angle_start_h: float
    hour_angle_end_h: float
    pupil_offset_deg: float = 0.0


@dataclasses.dataclass(frozen=True)
class SimulationSettings:
    """Numerical settings: ``subframes`` instantaneous AO realisations per
    frame, ``halo_samples`` independent AO realisations for the expected AO
    halo (computed once; see :func:`exobench.simulate.simulate`), ``band_samples`` wavelengths across a broad band (one-channel
    instruments: the band's speckles smear radially), ``pupil_pixels`` across the pupil (0: enough for the field of
    view, see :func:`exobench.simulate.optics.pupil_sampling`), ``psf_size`` of
    the off-axis PSF stamp (odd)."""

    subframes: int = 8
    halo_samples: int = 100
    band_samples: int = 1
    pupil_pixels: int = 0
    psf_size: int = 39


_SECTIONS = {
    "telescope": Telescope,
    "wavelength": Band,
    "coronagraph": Coronagraph,
    "ao": AdaptiveOptics,
    "ncpa": Aberrations,
    "detector": Detector,
    "star": Star,
    "observation": Observation,
    "simulation": SimulationSettings,
}


@dataclasses.dataclass(frozen=True)
class InstrumentProfile:
    """Everything the simulator needs about one instrument (see the module).

    Examples
    --------
    >>> naco = load_profile("naco")
    >>> naco.telescope.aperture, naco.coronagraph.type, naco.wavelength.channels
    ('vlt-ut4', 'vortex', 1)
    >>> round(naco.lambda_over_d_px(), 2)
    3.55
    >>> naco.updated({"ao.residual_wfe_nm": 200}).ao.residual_wfe_nm
    200.0
    """

    name: str
    pixel_scale_arcsec: float
    telescope: Telescope
    wavelength: Band
    coronagraph: Coronagraph
    ao: AdaptiveOptics
    ncpa: Aberrations
    detector: Detector
    star: Star
    observation: Observation
    simulation: SimulationSettings
    description: str = ""

    def __post_init__(self):
        _check_profile(self)

    @property
    def wavelengths_um(self):
        """The channel centres in microns (one value for broad-band imagers)."""
        band = self.wavelength
        if band.channels == 1:
            return [band.center_um]
        step = (band.max_um - band.min_um) / (band.channels - 1)
        return [band.min_um + i * step for i in range(band.channels)]

    def lambda_over_d_px(self, wavelength_um=None):
        """lambda/D in pixels (at the band centre unless ``wavelength_um`` is given)."""
        wavelength_um = self.wavelength.center_um if wavelength_um is None else wavelength_um
        radians = wavelength_um * 1e-6 / self.telescope.diameter_m
        return radians * 206264.80624709636 / self.pixel_scale_arcsec

    def to_dict(self):
        """The profile as plain data (what :func:`load_profile` reads back)."""
        out = {"name": self.name, "description": self.description, "pixel_scale_arcsec": self.pixel_scale_arcsec}
        for section in _SECTIONS:
            out[section] = dataclasses.asdict(getattr(self, section))
        return out

    def updated(self, changes):
        """A copy with ``{"section.key": value}`` changes applied (validated)."""
        data = self.to_dict()
        for dotted, value in dict(changes).items():
            section, _, key = str(dotted).partition(".")
            if section in _SECTIONS and key:
                if key not in {f.name for f in dataclasses.fields(_SECTIONS[section])}:
                    raise ValueError(f"{dotted}: unknown key {key!r} of section {section!r}")
                data[section][key] = value
            elif section in ("name", "description", "pixel_scale_arcsec") and not key:
                data[section] = value
            else:
                raise ValueError(f"{dotted}: expected 'section.key' with a section among {', '.join(_SECTIONS)}")
        return profile_from_dict(data, source=f"profile {self.name!r} (updated)")


def available_instruments():
    """The names of the profiles shipped with exobench, sorted.

    >>> "naco" in available_instruments() and "sphere_ifs" in available_instruments()
    True
    """
    return sorted(path.stem for path in PROFILE_DIR.glob("*.yaml"))


def load_profile(name_or_path):
    """Load a shipped profile by name or any profile YAML file by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`available_instruments`, or a path to a YAML file.

    Returns
    -------
    InstrumentProfile
    """
    if isinstance(name_or_path, InstrumentProfile):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{text}.yaml"
        if not path.is_file():
            raise ValueError(f"instrument: unknown profile {text!r}; expected one of "
                             f"{', '.join(available_instruments())} or a YAML file")
    if not path.is_file():
        raise FileNotFoundError(f"instrument: no profile file {path}")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    return profile_from_dict(data, source=str(path))


def profile_from_dict(data, *, source="profile"):
    """Build and validate a profile from plain data (as read from YAML)."""
    data = dict(data)
    known = set(_SECTIONS) | {"name", "description", "pixel_scale_arcsec"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{source}: unknown section {unknown[0]!r}; expected {', '.join(sorted(known))}")
    if "pixel_scale_arcsec" not in data:
        raise ValueError(f"{source}: pixel_scale_arcsec: missing")
    sections = {}
    for section, cls in _SECTIONS.items():
        sections[section] = _build_section(cls, data.get(section) or {}, f"{source}: {section}")
    scale = _number(data["pixel_scale_arcsec"], f"{source}: pixel_scale_arcsec")
    try:
        return InstrumentProfile(name=str(data.get("name", "custom")), pixel_scale_arcsec=scale,
                                 description=str(data.get("description", "")), **sections)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _build_section(cls, values, where):
    if not isinstance(values, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key; expected one of {', '.join(fields)}")
    kwargs = {}
    for name, field in fields.items():
        required = field.default is dataclasses.MISSING
        if name not in values:
            if required:
                raise ValueError(f"{where}.{name}: missing")
            continue
        kwargs[name] = _coerce(values[name], field, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value, field, where):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return value
    return _number(value, where)


def _number(value, where):
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, str) and value.strip().lower() in ("inf", ".inf"):
        return math.inf
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if math.isnan(number):
        raise ValueError(f"{where}: expected a number, got NaN")
    return number


def _require(condition, message):
    if not condition:
        raise ValueError(message)


def _check_profile(p):
    t, band, cor, ao, nc, det, obs, sim = (p.telescope, p.wavelength, p.coronagraph, p.ao, p.ncpa,
                                           p.detector, p.observation, p.simulation)
    _require(p.pixel_scale_arcsec > 0 and math.isfinite(p.pixel_scale_arcsec),
             f"pixel_scale_arcsec: expected a value > 0, got {p.pixel_scale_arcsec}")
    _require(t.aperture in APERTURES, f"telescope.aperture: expected one of {', '.join(APERTURES)}, got {t.aperture!r}")
    _require(t.diameter_m > 0, f"telescope.diameter_m: expected a value > 0, got {t.diameter_m}")
    _require(-90 <= t.site_latitude_deg <= 90, f"telescope.site_latitude_deg: expected -90 to 90, got {t.site_latitude_deg}")
    _require(0 <= t.central_obstruction < 1, f"telescope.central_obstruction: expected 0 <= value < 1, got {t.central_obstruction}")
    _require(t.spiders >= 0 and t.spider_width_m >= 0, "telescope.spiders, spider_width_m: expected values >= 0")
    _require(0 < band.min_um <= band.max_um, f"wavelength: expected 0 < min_um <= max_um, got {band.min_um}, {band.max_um}")
    _require(band.channels >= 1, f"wavelength.channels: expected >= 1, got {band.channels}")
    _require(band.channels == 1 or band.max_um > band.min_um, "wavelength: several channels need max_um > min_um")
    _require(cor.type in CORONAGRAPHS, f"coronagraph.type: expected one of {', '.join(CORONAGRAPHS)}, got {cor.type!r}")
    _require(cor.type != "lyot" or cor.mask_diameter_arcsec > 0,
             f"coronagraph.mask_diameter_arcsec: a lyot coronagraph needs a value > 0, got {cor.mask_diameter_arcsec}")
    _require(cor.type != "vortex" or (cor.charge > 0 and cor.charge % 2 == 0),
             f"coronagraph.charge: expected an even charge > 0, got {cor.charge}")
    _require(0 <= cor.lyot_stop_inner < cor.lyot_stop_outer <= 1.2,
             f"coronagraph: expected 0 <= lyot_stop_inner < lyot_stop_outer <= 1.2, got {cor.lyot_stop_inner}, {cor.lyot_stop_outer}")
    _require(0 <= cor.leakage < 1, f"coronagraph.leakage: expected 0 <= value < 1, got {cor.leakage}")
    _require(cor.apodizer_radius >= 0, f"coronagraph.apodizer_radius: expected >= 0, got {cor.apodizer_radius}")
    _require(ao.control_radius > 0, f"ao.control_radius: expected a value > 0, got {ao.control_radius}")
    for key in ("residual_wfe_nm",):
        _require(getattr(ao, key) >= 0, f"ao.{key}: expected a value >= 0, got {getattr(ao, key)}")
    for key in ("r0_m", "outer_scale_m", "speckle_lifetime_s"):
        _require(getattr(ao, key) > 0, f"ao.{key}: expected a value > 0, got {getattr(ao, key)}")
    _require(nc.static_wfe_nm >= 0 and nc.quasistatic_wfe_nm >= 0, "ncpa: expected wavefront errors >= 0")
    _require(nc.lifetime_s > 0, f"ncpa.lifetime_s: expected a value > 0, got {nc.lifetime_s}")
    _require(nc.power_law < 0, f"ncpa.power_law: expected a negative exponent, got {nc.power_law}")
    for key in ("gain_e_per_adu", "full_well_e"):
        _require(getattr(det, key) > 0, f"detector.{key}: expected a value > 0, got {getattr(det, key)}")
    for key in ("read_noise_e", "dark_e_per_s", "background_e_per_s"):
        _require(getattr(det, key) >= 0, f"detector.{key}: expected a value >= 0, got {getattr(det, key)}")
    _require(0 < det.throughput <= 1, f"detector.throughput: expected 0 < value <= 1, got {det.throughput}")
    _require(p.star.zero_point_jy > 0, f"star.zero_point_jy: expected a value > 0, got {p.star.zero_point_jy}")
    _require(obs.frames >= 1, f"observation.frames: expected >= 1, got {obs.frames}")
    _require(obs.frame_size >= 8, f"observation.frame_size: expected >= 8 pixels, got {obs.frame_size}")
    _require(obs.dit_s > 0 and obs.ndit >= 1, "observation: expected dit_s > 0 and ndit >= 1")
    _require(-90 < obs.declination_deg < 90, f"observation.declination_deg: expected -90 to 90, got {obs.declination_deg}")
    _require(obs.hour_angle_end_h >= obs.hour_angle_start_h,
             "observation: expected hour_angle_end_h >= hour_angle_start_h")
    _require(sim.subframes >= 1, f"simulation.subframes: expected >= 1, got {sim.subframes}")
    _require(sim.halo_samples >= 1, f"simulation.halo_samples: expected >= 1, got {sim.halo_samples}")
    _require(sim.band_samples >= 1, f"simulation.band_samples: expected >= 1, got {sim.band_samples}")
    _require(sim.pupil_pixels == 0 or sim.pupil_pixels >= 16,
             f"simulation.pupil_pixels: expected 0 (automatic) or >= 16, got {sim.pupil_pixels}")
    _require(sim.psf_size >= 5 and sim.psf_size % 2 == 1, f"simulation.psf_size: expected an odd size >= 5, got {sim.psf_size}")
