"""PSF fit on an algorithm's final frame, corrected by the algorithm's throughput.

The final frame of an algorithm (annular PCA by default) is fitted at the candidate by
``amplitude * psf`` Fourier-shifted to ``(x, y)`` (least squares over a disc of
``fit_radius`` FWHM, re-centred once on the first estimate). The amplitude is
the companion's flux times the algorithm's throughput there, which fake companions of
known flux injected at the same separation measure: each fake's amplitude fitted the
same way on the final frame minus the final frame without it (the speckles cancel), over
its flux. (:mod:`exobench.contrast.throughput` measures a throughput by aperture
photometry; a fit's amplitude shrinks differently from an aperture's flux when the
algorithm also reshapes the companion, so the ratio here is of the fit's own amplitudes.)
"""

import dataclasses

import numpy as np
from scipy import optimize

from .._validate import check_integer, check_number
from ..algorithms import get_algorithm
from ..geometry import cartesian_to_polar, polar_to_cartesian, shift_frames
from ..inject import stamp_padding
from .model import channel_datasets, companion_cube

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
        The algorithm whose final frame is fitted (registry name).
    algorithm_options : dict
        Its options.
    fit_radius : float
        Radius of the fitted disc, in FWHM.
    n_fakes : int
        Fake companions of the throughput (and of the uncertainties), one per azimuth.
    """

    algorithm: str = "pca-annular"
    algorithm_options: dict = dataclasses.field(default_factory=lambda: {"ncomp": 5})
    fit_radius: float = 1.0
    n_fakes: int = 6

    def __post_init__(self):
        check_number(self.fit_radius, "fit_radius", strict=True)
        check_integer(self.n_fakes, "n_fakes", minimum=1)
        self.make_algorithm()

    def make_algorithm(self):
        return get_algorithm(self.algorithm)(**dict(self.algorithm_options))

    def final(self, dataset):
        """The final frame of each channel: ``(n_channels, ny, nx)``."""
        algorithm = self.make_algorithm()
        return np.stack([algorithm.process(channel).final for channel in channel_datasets(dataset)])

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

    def estimate(self, dataset, candidates, *, uncertainties=True):
        """Fit every candidate: ``(N, 2 + n_channels)`` estimates and (or None) 1-sigma uncertainties.

        The raw fit's amplitudes are divided by the throughput and its position moved by the
        fakes' median radial and azimuthal offsets (a companion self-subtracted by the
        algorithm loses its azimuthal wings and its fit drifts, as the fakes' fits do). The
        throughput is measured twice: fakes at the raw amplitudes first (2 of them), then
        ``n_fakes`` at the fluxes that first throughput gives, so that the companion is
        removed and the fakes are injected at about its flux.
        """
        finals = self.final(dataset)
        rows, sigmas = [], []
        for candidate in np.asarray(candidates, dtype=float).reshape(-1, 2):
            x, y, amplitudes = self.raw_fit(dataset, finals, candidate)
            rough, _, _ = self.calibrate(dataset, (x, y), np.abs(amplitudes), candidate, min(2, self.n_fakes),
                                         uncertainties=False)
            fluxes = np.abs(amplitudes) / np.maximum(rough, 1e-3)
            throughput, bias, errors = self.calibrate(dataset, (x, y), fluxes, candidate, self.n_fakes,
                                                      uncertainties=uncertainties, amplitudes=amplitudes)
            rows.append(np.concatenate([_unbiased(dataset, (x, y), bias), amplitudes / throughput]))
            sigmas.append(errors)
        return np.array(rows), (np.array(sigmas) if uncertainties else None)

    def calibrate(self, dataset, estimate, fluxes, candidate, count, *, uncertainties, amplitudes=None):
        """Fakes of ``fluxes`` at the estimate's separation, the companion removed at ``fluxes``:
        per channel the throughput (their fitted amplitude over their flux, median), the median
        ``(radial, azimuthal)`` offset of their fitted positions (px, degrees) and, with
        ``uncertainties``, the RMS errors of their corrected estimates (x, y, fluxes)."""
        from .uncertainty import add_companion, fake_positions, remove_companion, rms_errors

        fluxes = np.maximum(np.asarray(fluxes, dtype=float), 1e-12)
        clean = remove_companion(dataset, estimate, fluxes)
        clean_finals = self.final(clean)
        ratios, offsets, raws, truths = [], [], [], []
        for truth, start in fake_positions(dataset, estimate, candidate, count):
            injected = add_companion(clean, truth, fluxes)
            fake_finals = self.final(injected)
            fx, fy, fitted = self.raw_fit(injected, fake_finals - clean_finals, truth)
            ratios.append(fitted / fluxes)
            offsets.append(_polar_offset(dataset, (fx, fy), truth))
            if uncertainties:
                raws.append(self.raw_fit(injected, fake_finals, start))
            truths.append(np.concatenate([truth, fluxes]))
        throughput, bias = np.median(ratios, axis=0), np.median(offsets, axis=0)
        if not uncertainties:
            return throughput, bias, None
        estimates = [np.concatenate([_unbiased(dataset, (x, y), bias), raw / throughput]) for x, y, raw in raws]
        return throughput, bias, rms_errors(np.array(estimates), np.array(truths))


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



