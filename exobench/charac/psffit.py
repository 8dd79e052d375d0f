"""PSF fit on an algorithm's final frame, corrected by the algorithm's throughput.

The final frame of annular PCA is fitted at the candidate by ``amplitude * psf``
Fourier-shifted to ``(x, y)`` (least squares over a disc of ``fit_radius`` FWHM, re-centred
once on the first estimate). The amplitude is the companion's flux times the algorithm's
throughput there, which a fake companion injected at the fitted position measures: its
amplitude fitted the same way on the final frame with it minus the final frame without it,
over its flux. (:mod:`exobench.contrast.throughput` measures a throughput by aperture
photometry; a fit's amplitude shrinks differently from an aperture's flux when the
algorithm also reshapes the companion, so the ratio here is of the fit's own amplitudes.)

The algorithm's components are learnt from the cube less the companion at its current
estimate, then applied to the cube with it; the fit is repeated ``iterations`` times, each
learning from the cube less the previous estimate. A bright companion learnt with the
speckles is partly modelled by the components: its throughput then depends on its own flux
(a fainter one loses less of its light), so fakes of another flux, or at other azimuths in
a cube whose principal components they change, measure another throughput than the
companion's. With the components learnt without it, the final frame is linear in the
companion (up to the median collapse), its throughput the same at any flux, and the fake at
its own position, through the same components, measures exactly its throughput.
"""

import dataclasses

import numpy as np
from scipy import optimize

from .._validate import check_integer, check_number
from ..algorithms import get_algorithm
from ..algorithms.base import finish
from ..geometry import cartesian_to_polar, polar_grid, polar_to_cartesian, shift_frames
from ..inject import stamp_padding
from .model import channel_datasets, check_candidates, companion_cube

__all__ = ["PSFFit", "fit_psf", "fit_psf_fixed", "fake_thetas"]


def fit_psf(image, psf, start, radius):
    """Least-squares fit of ``amplitude * psf`` at ``(x, y)`` to ``image`` in a disc.

    Parameters
    ----------
    image : ndarray, shape ``(ny, nx)``
    psf : ndarray
        The PSF, centred on its pixel ``n // 2``.
    start : (float, float)
        Where to start, and the disc's centre.
    radius : float
        The disc's radius (px); the position is kept within it.

    Returns
    -------
    (x, y, amplitude) : tuple of float
    """
    image = np.asarray(image, dtype=np.float64)
    ny, nx = image.shape
    yy, xx = np.mgrid[:ny, :nx]
    disc = (xx - start[0]) ** 2 + (yy - start[1]) ** 2 <= radius ** 2
    ys, xs = np.nonzero(disc)
    data = image[ys, xs]
    stamp = np.pad(np.asarray(psf, dtype=np.float64), stamp_padding(np.shape(psf)))
    half_y, half_x = stamp.shape[0] // 2, stamp.shape[1] // 2

    def shape_at(x, y):
        ix, iy = int(round(x)), int(round(y))
        shifted = shift_frames(stamp[None], np.array([x - ix]), np.array([y - iy]))[0]
        u, v = xs - ix + half_x, ys - iy + half_y
        inside = (u >= 0) & (u < stamp.shape[1]) & (v >= 0) & (v < stamp.shape[0])
        out = np.zeros(xs.size)
        out[inside] = shifted[v[inside], u[inside]]
        return out

    def amplitude(model):
        norm = float(model @ model)
        return float(data @ model) / norm if norm > 0 else 0.0

    def residuals(p):
        return data - p[2] * shape_at(p[0], p[1])

    x0, y0 = float(start[0]), float(start[1])
    a0 = amplitude(shape_at(x0, y0))
    bounds = ([x0 - radius, y0 - radius, -np.inf], [x0 + radius, y0 + radius, np.inf])
    found = optimize.least_squares(residuals, [x0, y0, a0], bounds=bounds, x_scale=[1.0, 1.0, abs(a0) or 1.0])
    return tuple(float(v) for v in found.x)


def fake_thetas(theta, count):
    """``count`` azimuths (degrees) spread evenly around the circle, away from ``theta``."""
    return (theta + 360.0 * np.arange(1, count + 1) / (count + 1)) % 360.0


@dataclasses.dataclass(frozen=True)
class PSFFit:
    """The ``psf-fit`` baseline's estimator.

    Parameters
    ----------
    algorithm : str
        The algorithm whose final frame is fitted (registry name): one that learns its
        components from one cube and applies them to another (``pca-annular``).
    algorithm_options : dict
        Its options.
    fit_radius : float
        Radius of the fitted disc, in FWHM.
    iterations : int
        Fits after the first, each with the components learnt from the cube less the previous
        estimate of the companion (the first learns them from the cube as it is).
    n_fakes : int
        Fake companions of the uncertainties (injection-recovery, one per azimuth).

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=12, size=41)
    >>> rows, sigmas = PSFFit(iterations=1).estimate(ds, [(28.0, 20.0)], uncertainties=False)
    >>> rows.shape, sigmas is None
    ((1, 3), True)
    """

    algorithm: str = "pca-annular"
    algorithm_options: dict = dataclasses.field(default_factory=lambda: {"ncomp": 5})
    fit_radius: float = 1.0
    iterations: int = 3
    n_fakes: int = 6

    def __post_init__(self):
        check_number(self.fit_radius, "fit_radius", strict=True)
        check_integer(self.iterations, "iterations", minimum=0)
        check_integer(self.n_fakes, "n_fakes", minimum=1)
        if not callable(getattr(self.make_algorithm(), "projections", None)):
            raise ValueError(f"algorithm: expected an algorithm that learns its components from one cube and "
                             f"applies them to another ('pca-annular'), got {self.algorithm!r}")

    def make_algorithm(self):
        """The algorithm, with its options."""
        cls = get_algorithm(self.algorithm)
        try:
            return cls(**dict(self.algorithm_options))
        except TypeError as error:  # an option the algorithm does not take
            raise ValueError(f"algorithm_options: not options of {self.algorithm!r}: {error}") from None

    def estimate(self, dataset, candidates, *, uncertainties=True):
        """Fit every candidate: ``(N, 2 + n_channels)`` estimates and (or None) their 1-sigma
        uncertainties by injection-recovery of ``n_fakes`` fakes each, every fake fitted like
        the companion (:func:`exobench.charac.uncertainty.injection_uncertainties`)."""
        from .uncertainty import injection_uncertainties

        candidates = check_candidates(candidates)
        rows = np.array([self.fit(dataset, candidate) for candidate in candidates])
        if not uncertainties:
            return rows, None
        sigmas = [injection_uncertainties(self.fit, dataset, row, candidate, count=self.n_fakes)
                  for row, candidate in zip(rows, candidates)]
        return rows, np.array(sigmas)

    def fit(self, dataset, candidate):
        """One candidate: ``[x, y, flux_1, ...]`` (3D or 4D ``dataset``).

        Each pass learns the components (without the companion, after the first), fits the
        final frame (:meth:`raw_fit`), and injects a fake at the fitted position through the
        same components: its amplitude over its flux is the throughput that corrects the
        amplitudes, and its fitted position's radial and azimuthal offsets from where it was
        injected correct the position (a companion that loses part of its wings drifts, as
        the fake does)."""
        from .uncertainty import remove_companion

        channels = channel_datasets(dataset)
        start = (float(candidate[0]), float(candidate[1]))
        position, fluxes = start, None
        for _ in range(self.iterations + 1):
            learn = dataset if fluxes is None else remove_companion(dataset, position, np.maximum(fluxes, 0.0))
            learnt = self._learnt(learn, position)
            finals = self._finals(channels, learnt, [c.cube for c in channels])
            x, y, amplitudes = self.raw_fit(dataset, finals, start)
            injected = _fake_fluxes(np.abs(amplitudes) if fluxes is None else fluxes)
            cubes = [np.asarray(c.cube, dtype=np.float64) + companion_cube(c, x, y, f)
                     for c, f in zip(channels, injected)]
            fx, fy, fitted = self.raw_fit(dataset, self._finals(channels, learnt, cubes) - finals, (x, y))
            throughput = fitted / injected
            radial, azimuthal = _polar_offset(dataset, (fx, fy), (x, y))
            position = _unbiased(dataset, (x, y), (radial, azimuthal))
            # a throughput of about 0 (a fake the components remove) would blow the flux up
            fluxes = amplitudes / np.where(np.abs(throughput) > 1e-3, throughput, 1e-3)
            start = (x, y)
        return np.concatenate([position, fluxes])

    def _learnt(self, dataset, position):
        """Per channel of ``dataset``: the algorithm and its components learnt there, in the
        annuli that reach the fit's discs about ``position`` (the others are not fitted)."""
        out = []
        for channel in channel_datasets(dataset):
            algorithm = self.make_algorithm()
            separation, _ = cartesian_to_polar(*position, center=channel.center)
            # a disc re-centred once reaches 2 radii from the start; 2 px more for the derotation's neighbours
            reach = 2.0 * self.fit_radius * float(channel.fwhm) + 2.0
            radii, _ = polar_grid(channel.frame_shape, center=channel.center)
            near = [index for index, pixels in enumerate(algorithm.annulus_pixels(channel))
                    if np.any(np.abs(radii.ravel()[pixels] - separation) <= reach)]
            out.append((algorithm, algorithm.projections(channel, annuli=near), near))
        return out

    @staticmethod
    def _finals(channels, learnt, cubes):
        """``(n_channels, ny, nx)``: each channel's final frame of ``cubes`` through the learnt components."""
        return np.stack([finish(projections.subtract(np.asarray(cube, dtype=np.float64), annuli=near), channel,
                                algorithm, in_place=True).final
                         for channel, (algorithm, projections, near), cube in zip(channels, learnt, cubes)])

    def raw_fit(self, dataset, finals, start):
        """``(x, y, amplitudes)`` of a PSF fit at ``start``: the position on the channels' mean
        final frame (twice: the disc re-centred on the first estimate), then each channel's
        amplitude with the position fixed."""
        channels = channel_datasets(dataset)
        fwhm = float(np.mean(dataset.fwhm))
        psf_mean = np.mean([c.psf for c in channels], axis=0)
        x, y = start
        for _ in range(2):
            x, y, _ = fit_psf(finals.mean(axis=0), psf_mean, (x, y), self.fit_radius * fwhm)
        amplitudes = [fit_psf_fixed(final, c.psf, (x, y), self.fit_radius * float(c.fwhm))
                      for final, c in zip(finals, channels)]
        return x, y, np.array(amplitudes)


def _fake_fluxes(fluxes):
    """The fluxes of a throughput's fake: ``fluxes``, floored at a thousandth of the largest
    (1 where all are 0), so that every channel's fake is measurable."""
    fluxes = np.asarray(fluxes, dtype=float)
    largest = float(np.max(fluxes)) if fluxes.size else 0.0
    return np.maximum(fluxes, 1e-3 * largest) if largest > 0 else np.ones_like(fluxes)


def _polar_offset(dataset, position, truth):
    """``(radial px, azimuthal degrees)`` of ``position`` from ``truth`` about the star."""
    r, t = cartesian_to_polar(*position, center=dataset.center)
    r0, t0 = cartesian_to_polar(*truth, center=dataset.center)
    return r - r0, (t - t0 + 180.0) % 360.0 - 180.0


def _unbiased(dataset, position, bias):
    """``position`` less a ``(radial, azimuthal)`` bias."""
    r, t = cartesian_to_polar(*position, center=dataset.center)
    return np.array(polar_to_cartesian(r - bias[0], t - bias[1], center=dataset.center))


def fit_psf_fixed(image, psf, position, radius):
    """The amplitude of ``psf`` at a fixed ``position`` that fits ``image`` in a disc (linear least squares)."""
    image = np.asarray(image, dtype=np.float64)
    ny, nx = image.shape
    yy, xx = np.mgrid[:ny, :nx]
    x, y = position
    disc = (xx - x) ** 2 + (yy - y) ** 2 <= radius ** 2
    model = _shifted_psf(psf, position, image.shape)[disc]
    norm = float(model @ model)
    return float(image[disc] @ model) / norm if norm > 0 else 0.0


def _shifted_psf(psf, position, shape):
    """``psf`` Fourier-shifted to ``position`` in a frame of ``shape`` (one frame, angle 0)."""
    from ..data import Dataset

    frame = Dataset(np.zeros((1, *shape)), np.zeros(1), psf=psf, recenter_psf=False)
    return companion_cube(frame, *position)[0]



