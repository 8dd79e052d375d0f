"""The simulation: profile -> ADI (or ADI+mSDI) dataset of the star alone.

Each image propagates, at every wavelength, the pupil field
``A exp(2 pi i opd / lambda)`` through the coronagraph, where ``opd`` sums the
AO residuals of one instant, the quasi-static aberrations of the frame and the
static ones (see :mod:`exobench.simulate.phase`). The star stays on the
coronagraph and the pupil is fixed on the detector (pupil tracking) while the
sky turns: the returned angles derotate the frames onto the sky. Companions
are added afterwards with :func:`exobench.inject.inject_companions` and the
returned off-axis PSF.

A real frame averages thousands of independent AO realisations (exposures of
minutes, AO speckles living a fraction of a second), far too many to
propagate. A frame is built instead from ``n = simulation.subframes`` instants
over its exposure as::

    frame = alpha * I_n(slow + ao) + (1 - alpha) * (S * (I(slow) - I(0)) + H),
    alpha = sqrt(n / N_eff)

``I_n(slow + ao)`` is the mean image of the ``n`` instants; ``I(slow)`` the
image of the slow (static plus quasi-static) aberrations alone and ``I(0)``
that of a perfect wavefront; ``S = exp(-sigma^2)`` the Strehl factor of the AO
residuals (their phase variance over the pupil, piston removed); ``H`` the
expected image of the AO residuals alone (the mean of
``simulation.halo_samples`` independent realisations, computed once);
``N_eff`` the number of independent AO realisations in the exposure (from
``ao.speckle_lifetime_s``, see :func:`effective_realisations`). The bracket is
the expected frame to first order in the coupling of AO and slow aberrations
(the attenuated coherent image plus the AO halo), so a frame keeps the slowly
evolving speckles at full strength and has the AO speckle noise of ``N_eff``
realisations rather than of ``n`` (``alpha`` scales the fluctuations of the
``n``-instant mean, pinned speckles included, to that level). With
``N_eff <= n``, ``alpha = 1`` and a frame is the plain mean of its instants.
"""

import contextlib
import dataclasses
import math
import time

import numpy as np

from .._progress import progress_bar
from .._threads import one_blas_thread
from ..data import Dataset
from .detector import expose, star_photon_rate
from .observing import SIDEREAL_RATE, hour_angles, parallactic_angle
from .optics import OpticalSystem
from .phase import ScreenProcess, ao_residual_psd, frequency_grid, power_law_psd
from .profiles import load_profile

__all__ = ["Simulation", "simulate", "configured_profile", "effective_realisations", "simulation_memory_bytes"]


@dataclasses.dataclass(frozen=True)
class Simulation:
    """What :func:`simulate` returns.

    Attributes
    ----------
    dataset : Dataset
        Cube in ADU per exposure (float32), derotation angles (deg), off-axis
        PSF in the same units (noise-free), pixel scale, wavelengths (4D).
    profile : InstrumentProfile
        The profile used (after overrides).
    hour_angles : numpy.ndarray
        Hour angle (h) at the middle of each frame.
    parallactic_angles : numpy.ndarray
        Parallactic angle (deg) of each frame.
    star_rate : numpy.ndarray
        The star's detected photo-electrons per second, per channel.
    saturated_pixels : int
        Pixel-frames clipped at the full well.
    timings : dict
        Seconds spent on ``phase_screens``, ``propagation`` and ``noise``.
    """

    dataset: Dataset
    profile: object
    hour_angles: np.ndarray
    parallactic_angles: np.ndarray
    star_rate: np.ndarray
    saturated_pixels: int
    timings: dict


def simulate(instrument, *, seed, frames=None, frame_size=None, overrides=None, noise=True,
             dataset_id=1, progress=False):
    """Simulate an observation of a star (no companion) with an instrument.

    Parameters
    ----------
    instrument : str, path-like or InstrumentProfile
        A shipped profile name (see :func:`available_instruments`), a profile
        YAML file or a profile.
    seed : int or numpy.random.Generator
        Seeds every random draw: the same profile and seed give the same bytes.
    frames, frame_size : int, optional
        Override the profile's ``observation.frames`` and ``frame_size``.
    overrides : dict, optional
        Other profile changes, ``{"section.key": value}``.
    noise : bool
        Add photon, background and read noise (and saturation). Without it the
        frames are the expected star signal, without background.
    dataset_id : int or str
        The dataset's identifier (the ``k`` of EIDC file names).
    progress : bool
        Show a progress bar over the frames (on stderr, when it is a terminal).

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = simulate("naco", seed=1, frames=3, frame_size=33,
    ...                overrides={"simulation.subframes": 2, "simulation.halo_samples": 4,
    ...                           "simulation.band_samples": 1})
    >>> sim.dataset.cube.shape, sim.dataset.cube.dtype, sim.dataset.angles.shape
    ((3, 33, 33), dtype('float32'), (3,))
    """
    # the optics' matrix products are small: threads cost more than they give (and slow down
    # badly when another process shares the cores), and one thread gives the same bytes anywhere
    with one_blas_thread():
        return _simulate(instrument, seed=seed, frames=frames, frame_size=frame_size, overrides=overrides,
                         noise=noise, dataset_id=dataset_id, progress=progress)


def _simulate(instrument, *, seed, frames, frame_size, overrides, noise, dataset_id, progress):
    profile = configured_profile(instrument, frames=frames, frame_size=frame_size, overrides=overrides)
    rngs = _random_streams(seed)
    obs, sim = profile.observation, profile.simulation
    optics = OpticalSystem(profile, frame_size=obs.frame_size)
    channels = _channels(profile)
    area = float(np.sum(optics.aperture**2 * optics.pupil_grid.weights))
    rates = [[star_photon_rate(magnitude=profile.star.magnitude, zero_point_jy=profile.star.zero_point_jy,
                               wavelength_um=lam, bandwidth_um=width, collecting_area_m2=area,
                               throughput=profile.detector.throughput) for lam, width in samples]
             for samples in channels]
    hours = hour_angles(frames=obs.frames, start_h=obs.hour_angle_start_h, end_h=obs.hour_angle_end_h)
    times = _frame_times(profile, hours)
    exposure = obs.dit_s * obs.ndit
    alpha = min(1.0, math.sqrt(sim.subframes / effective_realisations(exposure, profile.ao.speckle_lifetime_s)))
    timings = {"phase_screens": 0.0, "propagation": 0.0, "noise": 0.0}
    clock = _Clock(timings)
    adu = [sum(r) * obs.dit_s / profile.detector.gain_e_per_adu for r in rates]  # fraction -> ADU
    with clock("phase_screens"):
        screens = _Screens(profile, optics, rngs[:3] + rngs[4:])
        bank = screens.halo_bank(sim.halo_samples)
        slow0 = screens.slow(times[0])
    with clock("propagation"):
        expected = [_Frames(optics, bank, samples, rates[c], alpha) for c, samples in enumerate(channels)]
        # the PSF stamp has a grid of its own (same pupil), so it may be larger than the frames
        stamp = OpticalSystem(profile, frame_size=sim.psf_size, pupil_pixels=optics.pupil_pixels)
        psf = np.stack([_mean_fraction(stamp, bank + slow0, samples, rates[c], coronagraph=False) * adu[c]
                        for c, samples in enumerate(channels)]).astype(np.float32)
    n = obs.frame_size
    cube = np.empty((len(channels), obs.frames, n, n), dtype=np.float32)
    saturated = 0
    offsets = (np.arange(sim.subframes) + 0.5) / sim.subframes * exposure - exposure / 2
    bar = progress_bar(obs.frames, desc=f"simulate {profile.name}", unit="frame", enabled=progress)
    for i, t in enumerate(times):
        with clock("phase_screens"):
            ao = screens.ao_at(t + offsets)
            slow = screens.slow(t)
        for c in range(len(channels)):
            with clock("propagation"):
                fraction = expected[c].frame(ao, slow)
            with clock("noise"):
                if noise:
                    frame, clipped = expose(fraction, star_rate=sum(rates[c]), detector=profile.detector,
                                            dit=obs.dit_s, ndit=obs.ndit, rng=rngs[3])
                    saturated += clipped
                else:
                    frame = fraction * adu[c]
                cube[c, i] = frame
        bar.update(1)
    bar.close()
    parallactic = parallactic_angle(hours, declination_deg=obs.declination_deg,
                                    latitude_deg=profile.telescope.site_latitude_deg)
    dataset = _dataset(profile, cube, psf, parallactic + obs.pupil_offset_deg, dataset_id, seed, saturated)
    return Simulation(dataset=dataset, profile=profile, hour_angles=hours, parallactic_angles=parallactic,
                      star_rate=np.array([sum(r) for r in rates]), saturated_pixels=saturated, timings=timings)


def effective_realisations(exposure, lifetime):
    """Independent AO realisations in an exposure: the time average over
    ``exposure`` of a process correlated as ``exp(-|dt| / lifetime)`` has the
    variance of the mean of this many independent draws.

    >>> round(effective_realisations(100.0, 0.1), 1)
    500.5
    >>> round(effective_realisations(0.01, 1.0), 2)
    1.0
    """
    x = exposure / lifetime
    if x < 1e-6:
        return 1.0
    return x**2 / (2.0 * (x - 1.0 + math.exp(-x)))


def simulation_memory_bytes(profile):
    """About the most memory :func:`simulate` takes for ``profile``, in bytes (an estimate, to refuse
    impossible sizes before any work): the bank of halo realisations on the detector's grid, about 32
    bytes per pixel and sample, and the float32 cube.

    >>> profile = configured_profile("naco", frames=10, frame_size=101)
    >>> simulation_memory_bytes(profile) == 101**2 * (32 * profile.simulation.halo_samples + 4 * 10)
    True
    """
    n = profile.observation.frame_size
    return n * n * (32 * profile.simulation.halo_samples + 4 * profile.wavelength.channels * profile.observation.frames)


def configured_profile(instrument, *, frames=None, frame_size=None, overrides=None):
    """The profile a simulation with these options runs: ``instrument`` (a name, a YAML file or a
    profile) with ``frames``, ``frame_size`` and ``overrides`` (``{"section.key": value}``) applied and
    checked, as :func:`simulate` applies them.

    >>> configured_profile("naco", frames=5, frame_size=33).observation.frame_size
    33
    """
    profile = load_profile(instrument)
    changes = dict(overrides or {})
    if frames is not None:
        changes["observation.frames"] = frames
    if frame_size is not None:
        changes["observation.frame_size"] = frame_size
    return profile.updated(changes) if changes else profile


def _random_streams(seed):
    """Five independent generators (AO, static, quasi-static, noise, halo bank), so
    that changing one part of a simulation leaves the others' draws alone."""
    if isinstance(seed, np.random.Generator):
        return seed.spawn(5)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed: expected an integer or a numpy.random.Generator, got {seed!r}")
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5)]


def _channels(profile):
    """Per channel, the (wavelength, bandwidth) samples in microns."""
    band = profile.wavelength
    if band.channels > 1:
        width = band.bandwidth_um / (band.channels - 1)
        return [[(lam, width)] for lam in profile.wavelengths_um]
    k = profile.simulation.band_samples
    width = band.bandwidth_um / k
    return [[(band.min_um + (j + 0.5) * width, width) for j in range(k)]]


def _frame_times(profile, hours):
    obs = profile.observation
    times = (hours - hours[0]) * 3600.0 / SIDEREAL_RATE
    exposure = obs.dit_s * obs.ndit
    if len(times) > 1 and np.min(np.diff(times)) < exposure * (1 - 1e-9):
        raise ValueError(f"observation: {obs.frames} frames of {exposure:g} s (dit_s * ndit) do not fit "
                         f"between hour angles {obs.hour_angle_start_h:g} and {obs.hour_angle_end_h:g} h")
    return times


class _Clock:
    """Adds the time spent in ``with clock(name):`` blocks to ``timings[name]``."""

    def __init__(self, timings):
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] += time.perf_counter() - start


class _Screens:
    """AO, quasi-static and static OPD screens (m) on the pupil grid."""

    def __init__(self, profile, optics, rngs):
        m = 2 * optics.pupil_pixels
        dx = optics.grid_diameter / optics.pupil_pixels
        df = 1.0 / (m * dx)
        f = frequency_grid(m, dx)
        ao, ncpa, diameter = profile.ao, profile.ncpa, profile.telescope.diameter_m
        self.pupil_pixels = optics.pupil_pixels
        self._dx = dx
        self._ao_psd = ao_residual_psd(f, r0=ao.r0_m, outer_scale=ao.outer_scale_m,
                                       cutoff=ao.control_radius / diameter,
                                       residual_rms=ao.residual_wfe_nm * 1e-9, df=df)
        self.ao = ScreenProcess(self._ao_psd, dx, lifetime=ao.speckle_lifetime_s, rng=rngs[0])
        shape = dict(exponent=ncpa.power_law, df=df, min_frequency=1.0 / diameter)
        static = ScreenProcess(power_law_psd(f, rms=ncpa.static_wfe_nm * 1e-9, **shape), dx,
                               lifetime=math.inf, rng=rngs[1])
        self.static = self._crop(static.sample([0.0]))[0]
        self.quasistatic = ScreenProcess(power_law_psd(f, rms=ncpa.quasistatic_wfe_nm * 1e-9, **shape), dx,
                                         lifetime=ncpa.lifetime_s, rng=rngs[2])
        self._bank_rng = rngs[3]
        shape = optics.pupil_shape
        self._weights = np.asarray(optics.aperture).reshape(shape)
        self._modes = np.stack([np.ones(shape), np.asarray(optics.pupil_grid.x).reshape(shape),
                                np.asarray(optics.pupil_grid.y).reshape(shape)])
        self.static = self._without_tilt(self.static)

    def _tilts(self, screens):
        """Piston and tip-tilt coefficients of each screen over the aperture, ``(k, 3)``."""
        w = self._weights.ravel()
        modes = self._modes.reshape(3, -1)
        flat = screens.reshape(len(screens), -1)
        return np.linalg.lstsq((modes * w).T, (flat * w).T, rcond=None)[0].T

    def _without_tilt(self, screen):
        """The screen less its piston and tip-tilt over the aperture: a slow tilt is
        a pointing error, which the instrument's centring loop keeps the star free of."""
        return screen - np.tensordot(self._tilts(screen[None])[0], self._modes, axes=1)

    def _crop(self, screens):
        n = self.pupil_pixels
        return screens[:, :n, :n]

    def ao_at(self, instants):
        """AO residual screens at increasing ``instants`` (s), ``(len(instants), n, n)``."""
        return self._crop(self.ao.sample(instants))

    def slow(self, frame_time):
        """The static plus quasi-static aberrations of the frame at ``frame_time`` (s)."""
        return self._without_tilt(self._crop(self.quasistatic.sample([frame_time]))[0]) + self.static

    def halo_bank(self, count):
        """``count`` independent AO realisations, from their own random stream."""
        bank = ScreenProcess(self._ao_psd, self._dx, lifetime=1.0, rng=self._bank_rng)
        screens = self._crop(bank.sample(np.arange(count) * 1e3))
        # keep the jitter but not the bank's mean pointing, so that the long-exposure PSF is centred
        return screens - np.tensordot(self._tilts(screens).mean(axis=0), self._modes, axes=1)


class _Frames:
    """The frames of one channel (see the module): ``H``, ``I(0)`` and ``S`` of
    each wavelength sample, computed once, then one frame at a time."""

    def __init__(self, optics, bank, samples, rates, alpha):
        self.optics, self.alpha = optics, alpha
        total = sum(rates)
        self.samples = [(lam * 1e-6, rate / total) for (lam, _), rate in zip(samples, rates)]
        if alpha < 1:
            variance = _pupil_variance(optics, bank)
            self.strehl = [math.exp(-variance * (2 * math.pi / lam) ** 2) for lam, _ in self.samples]
            self.halo = [_mean_image(optics, bank, lam) for lam, _ in self.samples]
            self.perfect = [_mean_image(optics, np.zeros_like(bank[:1]), lam) for lam, _ in self.samples]

    def frame(self, ao, slow):
        """Fraction of the star's light per pixel in a frame with AO instants ``ao``."""
        image = 0.0
        for j, (lam, weight) in enumerate(self.samples):
            sampled = _mean_image(self.optics, ao + slow, lam)
            if self.alpha < 1:
                coherent = _mean_image(self.optics, slow[None], lam)
                mean = self.strehl[j] * (coherent - self.perfect[j]) + self.halo[j]
                sampled = np.maximum(self.alpha * sampled + (1 - self.alpha) * mean, 0.0)
            image = image + weight * sampled
        return image


def _pupil_variance(optics, screens):
    """Mean over ``screens`` of their variance over the pupil (piston removed)."""
    weights = np.asarray(optics.aperture).reshape(optics.pupil_shape)
    weights = weights / weights.sum()
    means = np.einsum("kij,ij->k", screens, weights)
    return float(np.mean(np.einsum("kij,ij->k", screens**2, weights) - means**2))


def _mean_image(optics, opd, wavelength_m, *, coronagraph=True, batch=32):
    """The mean image of a stack of OPD maps at one wavelength."""
    total = 0.0
    for start in range(0, len(opd), batch):
        total = total + optics.images(opd[start:start + batch], wavelength_m, coronagraph=coronagraph).sum(axis=0)
    return total / len(opd)


def _mean_fraction(optics, opd, samples, rates, *, coronagraph=True):
    """The rate-weighted mean image of OPD maps over the band's samples."""
    total = sum(rates)
    return sum(_mean_image(optics, opd, lam * 1e-6, coronagraph=coronagraph) * (rate / total)
               for (lam, _), rate in zip(samples, rates))


def _dataset(profile, cube, psf, angles, dataset_id, seed, saturated):
    four_d = profile.wavelength.channels > 1
    meta = {"simulator": "exobench", "profile": profile.name, "saturated": int(saturated)}
    if not isinstance(seed, np.random.Generator):
        meta["seed"] = int(seed)
    return Dataset(
        cube if four_d else cube[0], np.asarray(angles, dtype=np.float64), psf=psf if four_d else psf[0],
        pxscale=profile.pixel_scale_arcsec, instrument=profile.name, dataset_id=str(dataset_id),
        wavelengths=np.asarray(profile.wavelengths_um) if four_d else None, meta=meta)
