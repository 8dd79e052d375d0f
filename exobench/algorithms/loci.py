"""LOCI: locally optimised combination of images (Lafreniere et al. 2007), and an adaptive variant.

Each frame's PSF is modelled, zone by zone, as the linear combination of the
other frames that best matches the frame over a large *optimisation zone*, and
subtracted in a smaller *subtraction zone* inside it.

Geometry
--------
Subtraction zones ``S``: the annuli of :func:`~exobench.algorithms.annuli.annuli`,
``asize`` FWHM wide (the paper's ``dr``) from ``inner_radius`` FWHM to the
largest circle inscribed in the frame, each cut into ``n_segments`` azimuthal
segments (:func:`~exobench.algorithms.annuli.annulus_segments`; segment ``k``
spans ``360 k / n <= theta < 360 (k + 1) / n`` degrees). They tile the annuli:
every pixel there is subtracted once; pixels outside them are 0.

Optimisation zone ``O`` of a subtraction zone of mean radius ``r`` and central
azimuth ``theta_c``: an annular sector centred on ``(r, theta_c)`` of area
``A = na * pi * (fwhm / 2) ** 2`` (``na`` PSF cores, the paper's ``N_A``) whose
radial width over its azimuthal length at ``r`` is ``g`` (the paper's aspect
ratio): azimuthal extent ``d_theta = sqrt(A / g) / r`` radians and radial width
``d_r = A / (r d_theta)`` (``sqrt(g A)``). The azimuthal extent is at least the
segment's (``2 pi / n_segments``) and at most the full circle, and the radial width
at least ``asize`` FWHM; ``O`` holds the pixels with ``|radius - r| <= d_r / 2``
and an azimuth within ``d_theta / 2`` of ``theta_c``, anywhere in the frame
(so it is cut by the star and by the frame's edges, near which it holds fewer
than ``A`` pixels), and always the whole subtraction zone.

References and coefficients
---------------------------
For a frame ``i`` and a zone of mean radius ``r``, the references are the other
frames whose rotation relative to ``i`` moves a source at ``r`` by at least
``delta`` FWHM of arc (the paper's ``N_delta``: ``|angles[j] - angles[i]| >=
delta * fwhm / r`` radians; where no frame qualifies, the farthest frame in
angle, :func:`~exobench.algorithms.annuli.rotation_thresholds`). With
``adaptive=True`` (xLOCI-like: VIP's ``xloci`` likewise keeps the references
nearest to the frame in a metric such as the correlation), they are only the
``n_refs`` of those frames whose pixels in ``O`` correlate best (Pearson) with
frame ``i``'s, ties to the earlier frame.

The coefficients ``c`` minimise ``|T_O - R_O c|^2 + lam |c|^2`` (``T_O`` the
frame's pixels in ``O``, ``R_O`` its references'): a ridge (Tikhonov)
regularisation with ``lam = regularization * mean_j |R_O[:, j]|^2``, the mean
squared norm of the references over the zone, so that the solution stays
finite and bounded when ``O`` has fewer pixels than there are references (a
singular least-squares problem), and equals the least-squares one as
``regularization`` tends to 0 on a well-posed problem. The residual in ``S`` is
``T_S - R_S c``; the residual cube is derotated and collapsed.

Per zone, the ``(t, t)`` Gram matrix of the frames over ``O`` is computed once;
each frame's normal equations ``(R^T R + lam I) c = R^T T`` are its
sub-matrix, and the frames' systems are solved in one batched
:func:`numpy.linalg.solve` (a block of frames at a time); the subtraction is one
matrix product per zone.
"""

import dataclasses

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_integer, check_number
from ..geometry import polar_grid
from .annuli import annuli, annulus_segments, rotation_thresholds
from .base import Algorithm, adi_cube, check_common, finish

__all__ = ["LOCI", "LOCIZone"]

#: Elements of the stacked normal matrices solved at once (bounds the memory of a zone's solve).
_SOLVE_BLOCK = 4_000_000


@dataclasses.dataclass(frozen=True, eq=False)
class LOCIZone:
    """One subtraction zone of :class:`LOCI` and what was learnt there.

    Attributes
    ----------
    subtraction : ndarray of int
        Flat pixel indices of the subtraction zone ``S``.
    optimisation : ndarray of int
        Flat pixel indices of the optimisation zone ``O`` (``S`` included).
    radius : float
        Mean radius of the zone's annulus in pixels (that of the frame exclusion).
    weights : ndarray, shape ``(t, t)``
        Row ``i`` holds frame ``i``'s coefficients ``c`` on its references
        (0 for the other frames): the residual in ``S`` is ``T_S - weights @ T_S``.
    """

    subtraction: np.ndarray
    optimisation: np.ndarray
    radius: float
    weights: np.ndarray


class LOCI(Algorithm, name="loci"):
    """Locally optimised combination of images (Lafreniere et al. 2007).

    See :mod:`exobench.algorithms.loci` for the geometry of the zones, the
    choice of references and the regularised solution.

    Parameters
    ----------
    asize : float
        Radial width of the subtraction zones (annuli) in FWHM (the paper's ``dr``).
    n_segments : int
        Azimuthal segments per annulus (subtraction zones per annulus).
    na : float
        Area of the optimisation zone in PSF cores of area ``pi (fwhm / 2)^2``
        (the paper's ``N_A``, 300 there).
    g : float
        Radial width over azimuthal length of the optimisation zone (the paper's ``g``).
    delta : float
        Minimum rotation of the reference frames at the zone's radius, in FWHM
        of arc (the paper's ``N_delta``; 0 keeps every other frame).
    regularization : float
        Ridge parameter relative to the mean squared norm of the references over
        the optimisation zone (> 0).
    adaptive : bool
        Keep only the ``n_refs`` references best correlated with the frame over
        the optimisation zone (xLOCI-like).
    n_refs : int
        Number of references kept per frame and zone with ``adaptive=True`` (unused otherwise).
    inner_radius : float
        Inner radius of the first annulus in FWHM (pixels inside are 0 in the residuals).
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = LOCI(na=100, delta=0.75).process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    """

    def __init__(self, *, asize=1.5, n_segments=4, na=300.0, g=1.0, delta=0.5, regularization=1e-3,
                 adaptive=False, n_refs=20, inner_radius=0.0, collapse="median", derotation="bilinear"):
        self.asize = asize
        self.n_segments = n_segments
        self.na = na
        self.g = g
        self.delta = delta
        self.regularization = regularization
        self.adaptive = adaptive
        self.n_refs = n_refs
        self.inner_radius = inner_radius
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
        """
        cube = adi_cube(dataset)
        zones = self._fit(cube, dataset)
        t = cube.shape[0]
        flat = cube.reshape(t, -1)
        residuals = np.zeros_like(flat)
        with one_blas_thread():
            for zone in zones:
                target = flat[:, zone.subtraction]
                residuals[:, zone.subtraction] = target - zone.weights @ target
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)

    def fit(self, dataset):
        """The zones and per-frame coefficients learnt from ``dataset``, a list of :class:`LOCIZone`."""
        return self._fit(adi_cube(dataset), dataset)

    def _checked(self, t):
        """The checked options as a dict (errors name the option)."""
        check_common(self)
        if t < 2:
            raise ValueError(f"dataset: expected at least 2 frames (LOCI combines other frames), got {t}")
        if not isinstance(self.adaptive, bool):
            raise ValueError(f"adaptive: expected True or False, got {self.adaptive!r}")
        return {
            "asize": check_number(self.asize, "asize", strict=True),
            "n_segments": check_integer(self.n_segments, "n_segments", minimum=1),
            "na": check_number(self.na, "na", strict=True),
            "g": check_number(self.g, "g", strict=True),
            "delta": check_number(self.delta, "delta"),
            "regularization": check_number(self.regularization, "regularization", strict=True),
            "n_refs": check_integer(self.n_refs, "n_refs", minimum=1),
            "inner": check_number(self.inner_radius, "inner_radius"),
        }

    def _fit(self, cube, dataset):
        t, ny, nx = cube.shape
        options = self._checked(t)
        fwhm = float(dataset.fwhm)
        angles = np.asarray(dataset.angles, dtype=np.float64)
        flat = cube.reshape(t, ny * nx)
        zones = []
        with one_blas_thread():  # small Gram matrices and batched solves: threads only cost (and oversubscribe)
            for subtraction, optimisation, radius in _zones(cube.shape, fwhm, options):
                thresholds, distance = rotation_thresholds(angles, radius, options["delta"], fwhm, 1)
                allowed = (distance >= thresholds[:, None]) & ~np.eye(t, dtype=bool)
                weights = _coefficients(flat[:, optimisation], allowed, options["regularization"],
                                        options["n_refs"] if self.adaptive else None)
                zones.append(LOCIZone(subtraction=subtraction, optimisation=optimisation, radius=radius,
                                      weights=weights))
        return zones


def _zones(shape, fwhm, options):
    """``(subtraction pixels, optimisation pixels, mean radius)`` of each zone (see the module)."""
    ny, nx = shape[-2:]
    masks, radii = annuli(shape, inner_radius=options["inner"] * fwhm, width=options["asize"] * fwhm)
    radius_px, theta = (a.ravel() for a in polar_grid((ny, nx)))
    n = options["n_segments"]
    area = options["na"] * np.pi * (fwhm / 2.0) ** 2
    for index, k, subtraction in annulus_segments(masks, (ny, nx), n):
        r = max(radii[index], 1e-12)
        span = min(max(np.sqrt(area / options["g"]) / r, 2.0 * np.pi / n), 2.0 * np.pi)
        width = max(area / (r * span), options["asize"] * fwhm)
        centre = 360.0 * (k + 0.5) / n
        offset = np.abs((theta - centre + 180.0) % 360.0 - 180.0)  # azimuthal distance, degrees
        inside = (np.abs(radius_px - r) <= width / 2.0) & (offset <= np.degrees(span) / 2.0)
        inside[subtraction] = True
        yield subtraction, np.flatnonzero(inside), radii[index]


def _coefficients(matrix, allowed, regularization, n_refs):
    """The ``(t, t)`` weights of one zone: row ``i`` solves frame ``i``'s ridge problem on its references.

    ``matrix`` is ``(t, pixels of O)``, ``allowed[i, j]`` whether frame ``j`` may
    be a reference of frame ``i``; ``n_refs`` (or None) keeps the best-correlated ones.
    """
    t = matrix.shape[0]
    gram = matrix @ matrix.T
    if n_refs is not None:
        score = np.where(allowed, _correlation(matrix), -np.inf)
        order = np.argsort(-score, axis=1, kind="stable")[:, :n_refs]
    else:  # the allowed frames first, in frame order
        order = np.argsort(~allowed, axis=1, kind="stable")
    valid = np.take_along_axis(allowed, order, axis=1)
    size = int(valid.sum(axis=1).max())
    order, valid = order[:, :size], valid[:, :size]
    weights = np.zeros((t, t))
    block = max(1, _SOLVE_BLOCK // (size * size))
    for start in range(0, t, block):
        rows = slice(start, min(t, start + block))
        index, keep = order[rows], valid[rows].astype(np.float64)
        normal = gram[index[:, :, None], index[:, None, :]] * (keep[:, :, None] * keep[:, None, :])
        rhs = gram[index, np.arange(rows.start, rows.stop)[:, None]] * keep
        diagonal = np.einsum("fkk->fk", normal)  # masked: the references' squared norms, 0 elsewhere
        lam = regularization * diagonal.sum(axis=1) / keep.sum(axis=1)
        lam[lam <= 0] = 1.0  # references all 0 over the zone: coefficients 0
        # excluded slots get a unit diagonal and a zero right-hand side: their coefficient is exactly 0
        normal[:, np.arange(size), np.arange(size)] += np.where(keep > 0, lam[:, None], 1.0)
        solved = np.linalg.solve(normal, rhs[:, :, None])[:, :, 0] * keep
        np.put_along_axis(weights[rows], index, solved, axis=1)
    return weights


def _correlation(matrix):
    """Pearson correlation of the frames (rows of ``matrix``) over the zone's pixels."""
    centred = matrix - matrix.mean(axis=1, keepdims=True)
    covariance = centred @ centred.T
    norm = np.sqrt(np.diag(covariance))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = covariance / np.outer(norm, norm)
    return np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)  # a constant frame correlates with none
