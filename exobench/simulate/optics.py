"""The optical train, built with hcipy: pupil, apodiser, coronagraph, Lyot stop
and Fraunhofer propagation onto the detector's pixels.

The focal plane is sampled in radians on the sky (focal length 1), so that one
grid serves every wavelength and a speckle at ``k`` cycles per pupil lands at
``k lambda / D``. Intensities are returned as the fraction of the star's light
(entering the telescope pupil) that falls on each pixel.
"""

import math

import numpy as np

__all__ = ["OpticalSystem", "pupil_sampling", "ARCSEC"]

ARCSEC = math.pi / (180.0 * 3600.0)


def pupil_sampling(*, frame_size, pixel_scale_arcsec, grid_diameter_m, min_wavelength_m):
    """Pixels across the pupil grid so that the focal field does not alias.

    The field from a pupil sampled with spacing ``dx`` repeats every
    ``lambda / dx`` radians; the frame's corners must lie within half of that at
    the shortest wavelength. Rounded up to a multiple of 8 (at least 32).

    >>> pupil_sampling(frame_size=99, pixel_scale_arcsec=0.02719, grid_diameter_m=8.12,
    ...                min_wavelength_m=3.49e-6)
    48
    """
    corner = frame_size / math.sqrt(2.0) * pixel_scale_arcsec * ARCSEC
    needed = 2.0 * corner * grid_diameter_m / min_wavelength_m
    return max(32, 8 * math.ceil(needed / 8.0))


class OpticalSystem:
    """The instrument's optics for one frame size.

    Parameters
    ----------
    profile : InstrumentProfile
    frame_size : int
        Detector frame size in pixels (the star on pixel ``frame_size // 2``).
    pupil_pixels : int, optional
        Samples across the pupil grid; by default :func:`pupil_sampling`.

    Attributes
    ----------
    pupil_grid : hcipy.Grid
        The pupil plane; ``opd`` arrays passed to the methods are ``(n, m, m)``
        with ``m = pupil_grid.dims[0]`` (or flattened ``(n, m*m)``).
    """

    def __init__(self, profile, *, frame_size, pupil_pixels=None):
        import hcipy

        self.profile = profile
        self.frame_size = int(frame_size)
        tel, cor = profile.telescope, profile.coronagraph
        self.grid_diameter = tel.diameter_m * max(1.0, cor.lyot_stop_outer) * 1.02
        if not pupil_pixels:
            pupil_pixels = profile.simulation.pupil_pixels or pupil_sampling(
                frame_size=self.frame_size, pixel_scale_arcsec=profile.pixel_scale_arcsec,
                grid_diameter_m=self.grid_diameter, min_wavelength_m=min(profile.wavelengths_um) * 1e-6)
        self.pupil_pixels = int(pupil_pixels)
        self.pupil_grid = hcipy.make_pupil_grid(self.pupil_pixels, self.grid_diameter)
        self.aperture = hcipy.evaluate_supersampled(_aperture(hcipy, tel), self.pupil_grid, 4)
        self.amplitude = self.aperture * _apodizer(self.pupil_grid, tel.diameter_m, cor.apodizer_radius)
        lyot = _lyot_stop(hcipy, tel.diameter_m, cor)
        self.lyot_stop = None if lyot is None else hcipy.evaluate_supersampled(lyot, self.pupil_grid, 4)
        self.focal_grid = _detector_grid(hcipy, self.frame_size, profile.pixel_scale_arcsec * ARCSEC)
        self.propagator = hcipy.FraunhoferPropagator(self.pupil_grid, self.focal_grid, focal_length=1)
        self.coronagraph = _coronagraph(hcipy, self, cor)
        # hcipy's Fraunhofer propagation keeps the power summed over pixels equal to the pupil's
        # power (integrated over its area): the ratio is the fraction of the star's light per pixel
        self._norm = 1.0 / float(np.sum(self.aperture**2 * self.pupil_grid.weights))
        self._hcipy = hcipy

    @property
    def pupil_shape(self):
        return (self.pupil_pixels, self.pupil_pixels)

    def images(self, opd, wavelength_m, *, coronagraph=True):
        """Intensity images ``(n, frame_size, frame_size)`` for a stack of OPD maps (m).

        With ``coronagraph=False`` the star is imaged as an off-axis source (no
        focal-plane mask; the apodiser and the Lyot stop stay).
        """
        hcipy = self._hcipy
        opd = np.asarray(opd).reshape(-1, self.pupil_grid.size)
        field = self.amplitude * np.exp((2j * np.pi / wavelength_m) * opd)
        wavefront = hcipy.Wavefront(hcipy.Field(field, self.pupil_grid), wavelength_m)
        leakage = self.profile.coronagraph.leakage
        if coronagraph and self.coronagraph is not None:
            power = self._focal_power(self.coronagraph(wavefront))
            if leakage > 0:
                power = (1 - leakage) * power + leakage * self._focal_power(self._through_lyot(wavefront))
        else:
            power = self._focal_power(self._through_lyot(wavefront))
        n = self.frame_size
        return (power * self._norm).reshape(-1, n, n)

    def _through_lyot(self, wavefront):
        if self.lyot_stop is None:
            return wavefront
        out = wavefront.copy()
        out.electric_field *= self.lyot_stop
        return out

    def _focal_power(self, wavefront):
        return np.asarray(self.propagator(wavefront).power)


def _aperture(hcipy, tel):
    if tel.aperture.startswith("vlt-"):
        return hcipy.make_vlt_aperture(telescope=tel.aperture[4:], with_spiders=tel.spiders > 0)
    if tel.aperture == "keck":
        return hcipy.make_keck_aperture(with_spiders=tel.spiders > 0, gap_padding=1)
    return hcipy.make_obstructed_circular_aperture(
        tel.diameter_m, tel.central_obstruction, num_spiders=tel.spiders,
        spider_width=tel.spider_width_m)


def _apodizer(grid, diameter, radius_fraction):
    if radius_fraction <= 0:
        return 1.0
    r = np.hypot(grid.x, grid.y) / (diameter / 2)
    return np.exp(-((r / radius_fraction) ** 2))


def _lyot_stop(hcipy, diameter, cor):
    if cor.type in ("none", "perfect") and cor.lyot_stop_outer == 1 and cor.lyot_stop_inner == 0:
        return None
    if cor.lyot_stop_inner > 0:
        return hcipy.make_obstructed_circular_aperture(diameter * cor.lyot_stop_outer,
                                                       cor.lyot_stop_inner / cor.lyot_stop_outer)
    return hcipy.make_circular_aperture(diameter * cor.lyot_stop_outer)


def _detector_grid(hcipy, n, pixel_rad):
    # the star (angle 0) on pixel n // 2 of each axis, as everywhere in exobench
    offset = ((n - 1) / 2 - n // 2) * pixel_rad
    return hcipy.make_uniform_grid([n, n], [n * pixel_rad, n * pixel_rad], center=[offset, offset])


def _coronagraph(hcipy, system, cor):
    grid = system.pupil_grid
    lyot = system.lyot_stop
    if cor.type == "none":
        return None
    if cor.type == "perfect":
        perfect = hcipy.PerfectCoronagraph(system.amplitude, order=2)
        if lyot is None:
            return perfect
        return _Chain(perfect, hcipy.Apodizer(lyot))
    if cor.type == "vortex":
        # q = 32 samples per lambda/D at the finest level: within 1e-5 of a far finer sampling, at a fraction of its cost
        return hcipy.VortexCoronagraph(grid, cor.charge, lyot_stop=lyot, q=32)
    radius = 0.5 * cor.mask_diameter_arcsec * ARCSEC
    mask_grid = hcipy.make_uniform_grid([64, 64], [2.2 * radius, 2.2 * radius])
    transmission = 1 - hcipy.evaluate_supersampled(hcipy.make_circular_aperture(2 * radius), mask_grid, 4)
    return hcipy.LyotCoronagraph(grid, transmission, lyot_stop=lyot, focal_length=1)


class _Chain:
    """Optical elements applied in turn."""

    def __init__(self, *elements):
        self.elements = elements

    def __call__(self, wavefront):
        for element in self.elements:
            wavefront = element(wavefront)
        return wavefront
