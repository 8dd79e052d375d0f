"""Pupil-plane wavefront errors: AO residuals and non-common-path aberrations.

Every screen is optical path difference in metres (achromatic: the phase at
wavelength ``lambda`` is ``2 pi opd / lambda``, so speckles scale with
wavelength). A screen is white Gaussian noise filtered by the square root of a
power spectral density (PSD); it evolves in time as an Ornstein-Uhlenbeck
process, so that its correlation after a time ``dt`` is ``exp(-dt / lifetime)``
at every spatial frequency while its statistics stay those of the PSD.

The screens live on a periodic grid twice the pupil's size, so that the pupil
sees spatial frequencies down to half a cycle per pupil.
"""

import numpy as np
import scipy.fft

__all__ = [
    "frequency_grid",
    "von_karman_psd",
    "ao_residual_psd",
    "power_law_psd",
    "ScreenProcess",
]

#: Wavelength (m) at which the Fried parameter r0 is given.
R0_WAVELENGTH = 500e-9


def frequency_grid(n, dx):
    """Spatial frequencies (cycles/m) of an ``n x n`` FFT grid of spacing ``dx`` (m)."""
    f = scipy.fft.fftfreq(n, dx)
    return np.hypot(f[:, None], f[None, :])


def von_karman_psd(f, *, r0, outer_scale):
    """Von Karman turbulence PSD of the optical path, m^2 per (cycles/m)^2.

    ``0.023 r0^(-5/3) (f^2 + L0^-2)^(-11/6)`` rad^2 at 500 nm (``r0`` in m at
    500 nm), converted to optical path.
    """
    phase_psd = 0.023 * r0 ** (-5.0 / 3.0) * (f**2 + outer_scale**-2.0) ** (-11.0 / 6.0)
    return phase_psd * (R0_WAVELENGTH / (2 * np.pi)) ** 2


def ao_residual_psd(f, *, r0, outer_scale, cutoff, residual_rms, df):
    """PSD of AO residuals with a total rms of ``residual_rms`` (m).

    Beyond the control frequency ``cutoff`` (cycles/m) the turbulence is
    untouched (fitting error). Inside it, the corrected turbulence keeps the
    shape of a servo-lag error, ``PSD * (f / cutoff)^2``, scaled so that the
    total variance (``sum(PSD) * df**2`` over the grid, piston excluded) is
    ``residual_rms**2``.

    Raises
    ------
    ValueError
        When ``residual_rms`` is below the fitting error alone, which no AO
        system can reach with this control radius and seeing.
    """
    turbulence = von_karman_psd(f, r0=r0, outer_scale=outer_scale)
    inside = f < cutoff
    shape_inside = np.where(inside, turbulence * (f / cutoff) ** 2, 0.0)
    psd = np.where(inside, 0.0, turbulence)
    psd.flat[0] = 0.0
    fitting = psd.sum() * df**2
    wanted = residual_rms**2
    if wanted < fitting:
        raise ValueError(f"ao.residual_wfe_nm: {residual_rms * 1e9:.0f} nm is below the fitting error "
                         f"({np.sqrt(fitting) * 1e9:.0f} nm for this r0 and control radius); raise it, "
                         "the control radius or r0")
    inner = shape_inside.sum() * df**2
    if inner > 0:
        psd = psd + shape_inside * ((wanted - fitting) / inner)
    return psd


def power_law_psd(f, *, exponent, rms, df, min_frequency):
    """A power-law PSD ``f ** exponent`` above ``min_frequency`` with total rms ``rms``."""
    above = f >= min_frequency
    psd = np.zeros_like(f)
    psd[above] = f[above] ** exponent
    total = psd.sum() * df**2
    return psd * (rms**2 / total) if total > 0 else psd


class ScreenProcess:
    """A stack of phase screens evolving as an Ornstein-Uhlenbeck process.

    Parameters
    ----------
    psd : numpy.ndarray, shape ``(m, m)``
        PSD on the FFT grid of :func:`frequency_grid` (m^2 per (cycles/m)^2).
    dx : float
        Grid spacing in metres.
    lifetime : float
        Correlation time in seconds (``inf``: a static screen).
    rng : numpy.random.Generator

    Examples
    --------
    >>> f = frequency_grid(32, 0.25)
    >>> psd = power_law_psd(f, exponent=-2, rms=50e-9, df=1 / (32 * 0.25), min_frequency=0.1)
    >>> process = ScreenProcess(psd, 0.25, lifetime=10.0, rng=np.random.default_rng(1))
    >>> screens = process.sample([0.0, 0.1, 100.0])
    >>> screens.shape
    (3, 32, 32)
    >>> bool(np.corrcoef(screens[0].ravel(), screens[1].ravel())[0, 1] > 0.95)
    True
    """

    def __init__(self, psd, dx, *, lifetime, rng):
        self.dx = float(dx)
        self.lifetime = float(lifetime)
        self._filter = np.sqrt(psd) / self.dx  # variance per pixel = mean(filter^2) = sum(psd) df^2
        self._rng = rng
        self._noise = None
        self._time = None

    @property
    def size(self):
        return self._filter.shape[0]

    def sample(self, times):
        """Screens (m) at increasing ``times`` (s), continuing from the last call."""
        times = np.asarray(times, dtype=float)
        if times.ndim != 1 or np.any(np.diff(times) < 0):
            raise ValueError("times: expected a 1D array of increasing times")
        shape = self._filter.shape
        noise = np.empty((len(times),) + shape)
        for k, t in enumerate(times):
            if self._noise is None:
                self._noise = self._rng.standard_normal(shape)
            elif t > self._time:
                rho = np.exp(-(t - self._time) / self.lifetime)
                if rho > 0:
                    self._noise *= rho
                    self._noise += np.sqrt(1 - rho**2) * self._rng.standard_normal(shape)
                else:
                    self._noise = self._rng.standard_normal(shape)
            self._time = t
            noise[k] = self._noise
        spectrum = scipy.fft.rfft2(noise, workers=-1)
        spectrum *= self._filter[:, : spectrum.shape[-1]]
        return scipy.fft.irfft2(spectrum, s=shape, workers=-1)
