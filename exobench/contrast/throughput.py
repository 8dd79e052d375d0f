"""Algorithm throughput by injection-recovery of fake companions.

Fake companions are injected into the dataset's cube (:mod:`exobench.inject`)
at separations one step apart (in FWHM) and along several azimuths, the
*branches*; the algorithm processes each injected cube, and the companions'
flux is measured in its final frame by aperture photometry (a 1-FWHM-diameter
aperture at the known position) after subtracting the final frame of the
cube without companions, which removes the residual speckles and noise from
the measurement. The throughput of a separation is

    recovered flux / injected flux

where the injected flux is the companion's flux in the same aperture at the
same position of a frame holding only the companion, as the injection
shifted it: the algorithm's losses, not the pixel phase of the aperture (up to
2 % at 4 px FWHM, docs/conventions.md section 6). Each branch is one task of an
:class:`exobench.parallel.Executor`; within a branch, the separations are
injected in a few rounds so that two companions of one cube are at least
``spacing`` FWHM apart.
"""

import dataclasses
import math

import numpy as np

from .._validate import as_float_array, check_integer, check_number, check_positive
from ..data import Dataset
from ..detmap import ring_fluxes
from ..algorithms.base import final_pixels
from ..geometry import annulus_mask, disk_mask, frame_center, polar_to_cartesian
from ..inject import inject_companions
from ..photometry import aperture_flux
from ._common import check_dataset, mean_fwhm

__all__ = ["Throughput", "throughput", "contrast_separations", "ring_noise", "RingNoise", "final_frame",
           "branch_thetas", "injection_rounds", "reference_frame", "ring_edge"]


@dataclasses.dataclass(frozen=True)
class RingNoise:
    """The resolution elements of the rings of a final frame.

    Attributes
    ----------
    separation_px : ndarray, shape ``(s,)``
    n_apertures : ndarray of int, shape ``(s,)``
        ``n``: the non-overlapping 1-FWHM apertures on each ring (Mawet et al. 2014).
    mean : ndarray, shape ``(s,)``
        The mean of their fluxes.
    std : ndarray, shape ``(s,)``
        The standard deviation of their fluxes (``ddof=1``): the noise.
    laplace_scale : ndarray, shape ``(s,)``
        The maximum-likelihood Laplace scale of their fluxes
        (:func:`exobench.contrast.statistics.laplace_scale`).
    """

    separation_px: np.ndarray
    n_apertures: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    laplace_scale: np.ndarray


def final_frame(algorithm, dataset, *, where=None):
    """The final frame of ``algorithm`` on ``dataset`` (float64): what every measurement here is made on.

    With ``where`` (boolean, the frames' shape), only its pixels are sure to be
    computed, the others may be 0 (:func:`exobench.algorithms.final_pixels`):
    for measurements that read those pixels alone.
    """
    if where is None:
        return np.asarray(algorithm.process(dataset).final, dtype=np.float64)
    with final_pixels(where):
        return np.asarray(algorithm.process(dataset).final, dtype=np.float64)


def reference_frame(algorithm, dataset, *, executor):
    """The final frame of ``algorithm`` on ``dataset`` without companions, computed by one task of ``executor``.

    ``dataset`` may be the handle of :meth:`exobench.parallel.Executor.scatter`, so that it travels once.
    """
    shared = executor.scatter(dataset) if isinstance(dataset, Dataset) else dataset
    [frame] = executor.map(_reference_task, [shared], kwargs={"algorithm": algorithm}, key="contrast_reference")
    return frame


def _reference_task(dataset, *, algorithm):
    return final_frame(algorithm, dataset)


def contrast_separations(dataset, *, inner=1.0, step=1.0, outer=None):
    """Separations (px) one ``step`` FWHM apart, from ``inner`` FWHM to the frame's edge.

    The last one keeps a 1-FWHM aperture on its ring inside the frame (the
    frame's edge, or ``outer`` FWHM when given).

    Parameters
    ----------
    dataset : Dataset
    inner, step : float
        In FWHM (the mean of the channels' FWHM for 4D data); ``inner`` above
        0.58 so that a ring holds at least 3 apertures.
    outer : float, optional
        Largest separation in FWHM.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from exobench.data import Dataset
    >>> ds = Dataset(np.zeros((2, 41, 41)), [0.0, 10.0], fwhm=4.0)
    >>> contrast_separations(ds).tolist()
    [4.0, 8.0, 12.0, 16.0]
    """
    check_dataset(dataset)
    fwhm = mean_fwhm(dataset)
    inner = check_number(inner, "inner", strict=True)
    step = check_number(step, "step", strict=True)
    if inner * fwhm <= fwhm / 2.0 / math.sin(math.pi / 3.0):
        raise ValueError(f"inner: expected more than {0.5 / math.sin(math.pi / 3.0):.3f} FWHM (3 apertures on the "
                         f"ring), got {inner:g}")
    edge = ring_edge(dataset)
    ny, nx = dataset.frame_shape
    if outer is not None:
        edge = min(edge, check_number(outer, "outer", strict=True) * fwhm)
    count = int(math.floor((edge - inner * fwhm) / (step * fwhm) + 1e-9)) + 1
    if count < 1:
        raise ValueError(f"inner: {inner:g} FWHM ({inner * fwhm:.1f} px) leaves no ring inside the "
                         f"{ny}x{nx} frame (its edge allows {edge:.1f} px)")
    return fwhm * (inner + step * np.arange(count))


def ring_edge(dataset):
    """The largest separation (px) whose ring of 1-FWHM apertures stays inside the frame."""
    check_dataset(dataset)
    xc, yc = dataset.center
    ny, nx = dataset.frame_shape
    return min(xc + 0.5, nx - 0.5 - xc, yc + 0.5, ny - 0.5 - yc) - mean_fwhm(dataset) / 2.0


def ring_noise(image, separations, fwhm, *, center=None, theta=0.0):
    """The resolution elements of each ring of ``image``: their number, mean and noise.

    The apertures of :func:`exobench.detmap.ring_fluxes` (diameter ``fwhm``,
    touching, ``n = floor(2 pi / (2 arcsin(fwhm / 2r)))`` of them), the first
    one at polar angle ``theta``.

    Returns
    -------
    RingNoise

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = ring_noise(rng.normal(size=(41, 41)), [4.0, 8.0], 4.0)
    >>> noise.n_apertures.tolist()
    [5, 12]
    """
    image = as_float_array(image, "image")
    separations = np.atleast_1d(as_float_array(separations, "separations")).ravel()
    check_positive(separations, "separations")
    fwhm = float(check_positive(fwhm, "fwhm"))
    center = frame_center(image.shape) if center is None else center
    from .statistics import laplace_scale

    counts, means, stds, scales = [], [], [], []
    for separation in separations:
        x, y = polar_to_cartesian(float(separation), float(theta), center=center)
        fluxes = ring_fluxes(image, (x, y), fwhm, center=center)
        counts.append(fluxes.size)
        means.append(fluxes.mean())
        stds.append(fluxes.std(ddof=1))
        scales.append(laplace_scale(fluxes))
    return RingNoise(separations, np.array(counts, dtype=int), np.array(means), np.array(stds), np.array(scales))


def branch_thetas(branches, theta0=0.0):
    """Polar angles (degrees) of ``branches`` azimuths spread evenly from ``theta0``.

    >>> branch_thetas(3, 30.0).tolist()
    [30.0, 150.0, 270.0]
    """
    branches = check_integer(branches, "branches", minimum=1)
    return (float(theta0) + 360.0 * np.arange(branches) / branches) % 360.0


def injection_rounds(count, step, spacing):
    """The indices of ``count`` separations ``step`` FWHM apart, in rounds of companions ``spacing`` FWHM apart.

    >>> injection_rounds(7, 1.0, 3.0)
    [[0, 3, 6], [1, 4], [2, 5]]
    """
    every = max(1, int(math.ceil(float(spacing) / float(step) - 1e-9)))
    return [list(range(start, count, every)) for start in range(min(every, count))]


@dataclasses.dataclass(frozen=True)
class Throughput:
    """The throughput of an algorithm by separation and branch.

    Attributes
    ----------
    separation_px : ndarray, shape ``(s,)``
    thetas : ndarray, shape ``(b,)``
        The branches' polar angles (degrees).
    fluxes : ndarray, shape ``(s,)``
        The injected companions' flux at each separation (cube units, a
        1-FWHM-diameter aperture: ``flux`` x the normalised PSF).
    injected : ndarray, shape ``(b, s)``
        Their flux in that aperture of a frame holding only the companion.
    recovered : ndarray, shape ``(b, s)``
        Their flux in that aperture of the final frame minus the final frame
        without companions.
    rings : tuple of tuple of ndarray, optional
        With ``rings=True``: for each branch and separation, the fluxes of the
        companion's ring of apertures (:func:`exobench.detmap.ring_fluxes`, the
        companion's first) in the final frame of the injected cube; ``None``
        otherwise. What a detection test of that companion sees.
    """

    separation_px: np.ndarray
    thetas: np.ndarray
    fluxes: np.ndarray
    injected: np.ndarray
    recovered: np.ndarray
    rings: tuple = None

    @property
    def values(self):
        """``recovered / injected``, shape ``(b, s)``."""
        return self.recovered / self.injected

    @property
    def mean(self):
        """The throughput of each separation: the mean over the branches."""
        return self.values.mean(axis=0)

    @property
    def std(self):
        """The spread over the branches (standard deviation, ``ddof=1``; 0 for one branch)."""
        values = self.values
        return values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])


def throughput(algorithm, dataset, *, separations=None, fluxes=None, injection_snr=5.0, branches=4, theta0=0.0,
               spacing=3.0, inner=1.0, step=1.0, reference=None, executor=None, progress=False, rings=False):
    """The throughput of ``algorithm`` on ``dataset`` by injection-recovery.

    Parameters
    ----------
    algorithm : exobench.algorithms.Algorithm
        Any object with ``process(dataset) -> Result``; picklable to run on Dask.
    dataset : Dataset
        With a PSF (the companions' image).
    separations : array_like, optional
        In pixels; :func:`contrast_separations` (``inner``, ``step``) by default.
    fluxes : float or array_like, optional
        The companions' flux (cube units, 1-FWHM aperture) at each separation;
        by default ``injection_snr`` times the noise of the final frame without
        companions at that separation (:func:`ring_noise`).
    injection_snr : float
        See ``fluxes``.
    branches : int
        Azimuths, ``360 / branches`` degrees apart from ``theta0``; one task each.
    theta0 : float
        Polar angle of the first branch (degrees).
    spacing : float
        Least distance (FWHM) between two companions of one injected cube.
    inner, step : float
        In FWHM, as :func:`contrast_separations` takes them.
    reference : ndarray, optional
        The final frame without companions (:func:`final_frame`), when already computed.
    executor : exobench.parallel.Executor, optional
        In-process by default.
    progress : bool
        A progress bar over the branches.
    rings : bool
        Also keep each companion's ring of aperture fluxes (:attr:`Throughput.rings`).

    Returns
    -------
    Throughput

    Raises
    ------
    ValueError
        A dataset without a PSF, separations outside the frame, fluxes that are
        not positive (a final frame without noise: give ``fluxes``).
    """
    check_dataset(dataset)
    if dataset.psf is None:
        raise ValueError("dataset: a PSF is needed to inject fake companions, got a dataset without one")
    fwhm = mean_fwhm(dataset)
    step = check_number(step, "step", strict=True)
    spacing = check_number(spacing, "spacing", strict=True)
    if separations is None:
        separations = contrast_separations(dataset, inner=inner, step=step)
    separations = np.atleast_1d(as_float_array(separations, "separations")).ravel()
    check_positive(separations, "separations")
    thetas = branch_thetas(branches, theta0)
    if executor is None:
        from ..parallel import Executor

        with Executor(workers=0) as local:
            return throughput(algorithm, dataset, separations=separations, fluxes=fluxes,
                              injection_snr=injection_snr, branches=branches, theta0=theta0, spacing=spacing,
                              reference=reference, executor=local, progress=progress, rings=rings)
    shared = executor.scatter(dataset)
    if reference is None:
        reference = reference_frame(algorithm, shared, executor=executor)
    if fluxes is None:
        injection_snr = check_number(injection_snr, "injection_snr", strict=True)
        fluxes = injection_snr * ring_noise(reference, separations, fwhm, center=dataset.center).std
    fluxes = np.broadcast_to(as_float_array(fluxes, "fluxes"), separations.shape).astype(np.float64)
    if not np.all(np.isfinite(fluxes) & (fluxes > 0)):
        raise ValueError("fluxes: expected positive fluxes at every separation, got "
                         f"{np.round(fluxes, 6).tolist()} (a final frame without noise: give fluxes)")
    order = np.argsort(separations)
    rounds = [[int(order[i]) for i in indices]
              for indices in injection_rounds(len(separations), _least_step(separations[order], fwhm), spacing)]
    results = executor.map(_branch_task, list(thetas), key="contrast_branch", progress=progress,
                           desc="throughput", kwargs={"algorithm": algorithm, "dataset": shared,
                                                      "reference": reference, "separations": separations,
                                                      "fluxes": fluxes, "rounds": rounds, "rings": bool(rings)})
    injected = np.array([result[0] for result in results])
    recovered = np.array([result[1] for result in results])
    kept = tuple(tuple(result[2]) for result in results) if rings else None
    return Throughput(separations, thetas, fluxes, injected, recovered, kept)


def _branch_task(theta, *, algorithm, dataset, reference, separations, fluxes, rounds, rings=False):
    """``(injected, recovered, ring fluxes or None)`` of one branch's companions (one task: a pure function)."""
    fwhm = mean_fwhm(dataset)
    radius = fwhm / 2.0
    injected = np.empty(len(separations))
    recovered = np.empty(len(separations))
    found = [None] * len(separations)
    # a frame holding only the companions, as the injection shifts them: the pixel phase of each aperture
    alone = dataset.replace(cube=np.zeros((*dataset.cube.shape[:-3], 1, *dataset.frame_shape)), angles=[0.0])
    for indices in rounds:
        thetas = np.full(len(indices), theta)
        ideal = inject_companions(alone, separations=separations[indices], thetas=thetas, fluxes=fluxes[indices])
        positions = ideal.positions
        image = ideal.dataset.cube.reshape(-1, *dataset.frame_shape).mean(axis=0)
        injected[indices] = aperture_flux(image, positions, radius=radius)
        fake = inject_companions(dataset, separations=separations[indices], thetas=thetas, fluxes=fluxes[indices])
        read = _pixels_read(dataset.frame_shape, positions, radius,
                            rings=(separations[indices], fwhm, dataset.center) if rings else None)
        residual = final_frame(algorithm, fake.dataset, where=read) - reference
        recovered[indices] = aperture_flux(residual, positions, radius=radius)
        if rings:
            for index, position in zip(indices, positions):
                found[index] = ring_fluxes(residual + reference, tuple(position), fwhm, center=dataset.center)
    return injected, recovered, (found if rings else None)


#: A pixel's square meets a circle of radius r only if the pixel's centre is within r + sqrt(1/2) of the circle's.
_PIXEL_REACH = math.sqrt(0.5) + 1e-6


def _pixels_read(shape, positions, radius, *, rings=None):
    """The pixels that apertures of ``radius`` at ``positions`` read (a superset: their squares may meet a circle),
    and with ``rings=(separations, fwhm, center)`` those of the rings of 1-FWHM apertures at those separations."""
    where = np.zeros(shape, dtype=bool)
    for x, y in np.reshape(positions, (-1, 2)):
        where |= disk_mask(shape, radius + _PIXEL_REACH, center=(float(x), float(y)))
    if rings is not None:
        separations, fwhm, center = rings
        for separation in np.atleast_1d(separations):
            reach = fwhm / 2.0 + _PIXEL_REACH
            where |= annulus_mask(shape, max(float(separation) - reach, 0.0), float(separation) + reach, center=center)
    return where


def _least_step(separations, fwhm):
    """The smallest gap between sorted separations, in FWHM (any value for one separation)."""
    if len(separations) < 2:
        return 1.0
    return max(float(np.min(np.diff(separations))) / fwhm, 1e-6)
