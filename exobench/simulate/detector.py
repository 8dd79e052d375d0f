"""Photons and detector: from fractions of the star's light to counts.

The star's photon rate follows from its magnitude and the band's zero point;
a frame co-adds ``ndit`` exposures of ``dit_s`` with photon noise on the star
and on the sky/thermal background and dark current, read noise on every
read, and saturation at the full well. Frames are returned as reduced data
are: in ADU per exposure (the mean of the co-adds), with the expected
background and dark level subtracted (a sky subtraction leaves their noise).
"""

import numpy as np
from astropy import constants

__all__ = ["star_photon_rate", "expose"]


def star_photon_rate(*, magnitude, zero_point_jy, wavelength_um, bandwidth_um, collecting_area_m2, throughput):
    """Detected photo-electrons per second from the star in a band.

    A flat spectrum in frequency over the band: ``F_nu = zp * 10^(-0.4 m)``,
    ``N = F_nu / h * (dlambda / lambda) * area * throughput`` (photons per unit
    frequency ``F_nu / (h nu)`` over ``dnu = nu dlambda / lambda``).

    >>> rate = star_photon_rate(magnitude=0.0, zero_point_jy=248.0, wavelength_um=3.8,
    ...                         bandwidth_um=0.62, collecting_area_m2=1.0, throughput=1.0)
    >>> f"{rate:.3e}"
    '6.107e+08'
    """
    f_nu = zero_point_jy * 1e-26 * 10 ** (-0.4 * magnitude)  # W m^-2 Hz^-1
    photons = f_nu / constants.h.value * (bandwidth_um / wavelength_um)  # m^-2 s^-1
    return photons * collecting_area_m2 * throughput


def expose(fraction, *, star_rate, detector, dit, ndit, rng):
    """A reduced frame (ADU per exposure) from the star light's distribution.

    Parameters
    ----------
    fraction : numpy.ndarray
        Fraction of the star's light falling on each pixel (mean over the frame).
    star_rate : float
        The star's detected photo-electrons per second (all pixels).
    detector : Detector
        Gain, read noise, dark, background, full well.
    dit : float
        Exposure time of one read (s).
    ndit : int
        Exposures co-added in the frame.
    rng : numpy.random.Generator

    Returns
    -------
    frame : numpy.ndarray (float64)
    saturated : int
        Pixels whose mean exposure reached the full well (clipped there).
    """
    floor = (detector.background_e_per_s + detector.dark_e_per_s) * dit
    electrons = fraction * (star_rate * dit) + floor  # per exposure
    saturated = int(np.count_nonzero(electrons > detector.full_well_e))
    electrons = np.minimum(electrons, detector.full_well_e)
    counts = rng.poisson(electrons * ndit).astype(np.float64)
    if detector.read_noise_e > 0:
        counts += rng.normal(0.0, detector.read_noise_e * np.sqrt(ndit), size=counts.shape)
    return (counts / ndit - floor) / detector.gain_e_per_adu, saturated
