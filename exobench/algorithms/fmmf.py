"""Forward-model matched filter (FMMF; Ruffio et al. 2017, the KLIP variant of Dahlqvist et al. 2021).

For every position of the final frame, the companion's signature after the
PSF subtraction (its forward model) is compared with the residuals, frame by
frame, by a matched filter: the maximum-likelihood flux of a companion there
and its standard deviation under a Gaussian noise of one variance per frame
and annulus.

The geometry follows VIP's ``fmmf``: the positions are taken ring by ring
(the pixels at ``round(r) = rho``), and each ring has its own annulus,
``asize`` FWHM wide and centred on ``rho``, where annular PCA with a
rotation-based reference library per frame is computed: the pixels centred
over time (``M``), frame ``i`` minus its projection on the first ``ncomp``
eigenvectors of its library's Gram matrix, ``R = (I - W) M``.

The forward model (``model="forward"``) of a companion of unit flux, whose PSF
stamps are ``C_j`` in frame ``j``, is the derivative of those residuals along
``C`` (Pueyo 2016, first order in the flux): ``m_i = sum_j A_ij C_j - sum_l
alpha_il M_l`` with ``A = (I - W)(I - 1/t)`` (the stamps centred over time,
minus their reconstruction from the library frames that hold them) and
``alpha_i`` the change of frame ``i``'s reconstruction coefficients: the
over-subtraction (the model's projection on the basis), the change of the
library's inner products with the frame, and the eigenvectors' and
eigenvalues' first-order perturbation (``dP = -P E P`` plus the couplings of
the kept and discarded eigenvectors, ``E`` the Gram matrix's change). With
``model="psf"`` the model is the stamps alone (the plain matched filter of the
residuals, whose flux the self-subtraction then lowers).

With ``w_i`` the inverse variance of residual frame ``i`` over the annulus,
the flux is ``a = sum_i w_i <m_i, R_i> / D``, ``D = sum_i w_i <m_i, m_i>``, its
standard deviation ``1 / sqrt(D)``. The parts common to a ring are matrix
products (``Q = A^T diag(w) R``, ``B = A^T diag(w) A``, ``M R^T``, ``M M^T``);
the stamps' products with them and the perturbation are a compiled kernel
over the ring's positions (:mod:`exobench.algorithms._fmmf_kernels`).
"""

import functools

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_choice, check_number
from ..geometry import polar_grid, polar_to_cartesian, shift_frames
from ..inject import stamp_padding
from .annuli import rotation_thresholds
from .base import adi_cube
from .detector import Detection, Detector, radial_normalisation
from .projections import check_ncomp

__all__ = ["FMMF", "MODELS", "psf_stamps"]

#: The companion models of :class:`FMMF`.
MODELS = ("forward", "psf")

#: Sub-pixel steps per pixel of the table of shifted PSF stamps (offsets rounded to 1/16 px).
OVERSAMPLE = 16


class FMMF(Detector, name="fmmf"):
    """Forward-model matched filter on annular PCA residuals (see the module's docstring).

    Parameters
    ----------
    ncomp : int
        Principal components removed per annulus and frame.
    delta : float
        Minimum rotation of a frame's reference library, in FWHM of arc at the
        ring's radius (lowered where fewer than ``ncomp`` frames qualify).
    asize : float
        Width of each ring's PCA annulus in FWHM (VIP: 1 FWHM).
    inner_radius : float
        Smallest ring radius in FWHM (the statistic is NaN closer to the star).
    outer_radius : float or None
        Largest ring radius in FWHM (``None``: as far as the annuli fit in the frame).
    model : {"forward", "psf"}
        The companion's signature in the residuals: the forward model through
        the PCA projection, or the PSF alone (cheaper; flux biased low).
    stamp : float
        Side of the PSF stamp in FWHM (rounded to an odd number of pixels, at
        least 3): the part of the PSF the matched filter uses.
    normalisation_width : float or None
        Width in FWHM of the annuli of the radial renormalisation
        (:func:`~exobench.algorithms.radial_normalisation`) that calibrates the
        statistic; ``None`` leaves the raw ``flux / flux_std``.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> detection = FMMF(ncomp=2).detect(example_dataset(n_frames=10, size=33))
    >>> detection.statistic.shape
    (33, 33)
    """

    def __init__(self, *, ncomp=3, delta=1.0, asize=1.0, inner_radius=1.0, outer_radius=None, model="forward",
                 stamp=2.0, normalisation_width=1.0):
        self.ncomp = ncomp
        self.delta = delta
        self.asize = asize
        self.inner_radius = inner_radius
        self.outer_radius = outer_radius
        self.model = model
        self.stamp = stamp
        self.normalisation_width = normalisation_width

    def detect_adi(self, dataset):
        """The :class:`~exobench.algorithms.Detection` of a 3D dataset (its PSF required)."""
        raw = self.raw(dataset)
        if self.normalisation_width is None:
            return raw
        width = check_number(self.normalisation_width, "normalisation_width", strict=True) * float(dataset.fwhm)
        statistic = radial_normalisation(raw.statistic, width=width, center=_center(dataset))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(raw.statistic != 0, raw.statistic / statistic, 1.0)
        flux_std = raw.flux_std * scale
        undefined = ~np.isfinite(statistic)
        flux = raw.flux.copy()
        flux[undefined] = np.nan
        flux_std[undefined] = np.nan
        return Detection(statistic, flux, flux_std)

    def raw(self, dataset):
        """The matched filter before the radial renormalisation: ``flux / flux_std`` as the statistic."""
        cube = adi_cube(dataset)
        if dataset.psf is None:
            raise ValueError("dataset: FMMF needs the dataset's PSF, got a dataset without one")
        t, ny, nx = cube.shape
        ncomp = check_ncomp(self.ncomp, t)
        delta = check_number(self.delta, "delta")
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        outer = check_number(self.outer_radius, "outer_radius", strict=True, allow_none=True)
        check_choice(self.model, "model", MODELS)
        stamp = check_number(self.stamp, "stamp", strict=True)
        if self.normalisation_width is not None:
            check_number(self.normalisation_width, "normalisation_width", strict=True)
        fwhm = float(dataset.fwhm)
        center = _center(dataset)
        stamps = psf_stamps(dataset.normalized_psf, max(3, 2 * int(round(stamp * fwhm / 2)) + 1))
        angles = np.asarray(dataset.angles, dtype=np.float64)
        radius, theta = polar_grid(cube.shape, center=center)
        ring_of = np.rint(radius).astype(np.intp)
        half = asize * fwhm / 2
        xc, yc = center
        edge = min(xc, yc, nx - 1 - xc, ny - 1 - yc)
        first = max(1, int(np.ceil(inner * fwhm)))
        last = int(np.floor(edge - half))
        if outer is not None:
            last = min(last, int(np.floor(outer * fwhm)))
        flat = cube.reshape(t, -1)
        buffers = np.zeros((2, t, ny, nx))  # Q and the centred data, 0 outside each ring's annulus
        num = np.full(ny * nx, np.nan)
        den = np.full(ny * nx, np.nan)
        kernel = _kernel()
        forward = self.model == "forward"
        with one_blas_thread():
            for rho in range(first, last + 1):
                annulus = np.flatnonzero((np.abs(radius - rho) <= half).ravel())
                positions = np.flatnonzero(ring_of.ravel() == rho)
                if positions.size == 0 or annulus.size < 2:
                    continue
                ring = _Ring(flat[:, annulus], angles, rho, delta, fwhm, ncomp, forward)
                buffers[0].reshape(t, -1)[:, annulus] = ring.q
                buffers[1].reshape(t, -1)[:, annulus] = ring.centred
                mask = np.zeros(ny * nx)
                mask[annulus] = 1.0
                ix, iy, offset = _placements(radius.ravel()[positions], theta.ravel()[positions], angles, center)
                out_num, out_den = np.empty(positions.size), np.empty(positions.size)
                kernel(buffers[0], buffers[1], mask.reshape(ny, nx), stamps, ix, iy, offset, ring.b, not forward,
                       forward, *ring.libraries, ring.a, ring.w, ring.h, ring.gram, out_num, out_den)
                buffers.reshape(2, t, -1)[:, :, annulus] = 0.0
                num[positions], den[positions] = out_num, out_den
        with np.errstate(divide="ignore", invalid="ignore"):
            good = den > 0
            flux = np.where(good, num / den, np.nan).reshape(ny, nx)
            flux_std = np.where(good, 1.0 / np.sqrt(den), np.nan).reshape(ny, nx)
        return Detection(flux / flux_std, flux, flux_std)


class _Ring:
    """What one ring's positions share: its annulus's PCA (per frame: the library, its
    eigenpairs, the projection ``W``), the residuals' inverse variances ``w``, the operators
    ``A``, ``Q = A^T diag(w) R``, ``B = A^T diag(w) A`` and the Gram blocks of the kernel."""

    def __init__(self, matrix, angles, rho, delta, fwhm, ncomp, forward):
        t = matrix.shape[0]
        self.centred = matrix - matrix.mean(axis=0)
        self.gram = self.centred @ self.centred.T
        thresholds, distance = rotation_thresholds(angles, float(rho), delta, fwhm, ncomp)
        allowed = distance >= thresholds[:, None]
        lib = np.zeros((t, t), dtype=np.int64)
        nlib = allowed.sum(axis=1).astype(np.int64)
        counts = np.zeros(t, dtype=np.int64)
        values = np.zeros((t, t))
        vectors = np.zeros((t, t, t))  # per frame, the eigenvectors as rows
        ghat = np.zeros((t, t))
        weights = np.zeros((t, t))
        solved = {}
        for i in range(t):
            members = np.flatnonzero(allowed[i])
            n = members.size
            lib[i, :n] = members
            key = members.tobytes()
            if key not in solved:  # frames with the same library share its eigenpairs
                found, basis = np.linalg.eigh(self.gram[np.ix_(members, members)])
                solved[key] = (found[::-1], basis[:, ::-1])
            found, basis = solved[key]
            # numerically null components left out, as exobench.algorithms._eigen does
            tolerance = np.finfo(float).eps * n * max(found[0], 0.0)
            counts[i] = min(ncomp, int(np.count_nonzero(found > tolerance)))
            values[i, :n], vectors[i, :n, :n] = found, basis.T
            ghat[i, :n] = basis.T @ self.gram[members, i]
            k = counts[i]
            weights[i, members] = basis[:, :k] @ (ghat[i, :k] / found[:k])
        residuals = self.centred - weights @ self.centred
        variance = residuals.var(axis=1)
        self.w = np.where(variance > 0, 1.0 / np.where(variance > 0, variance, 1.0), 0.0)
        self.libraries = (lib, nlib, counts, values, vectors, ghat)
        if forward:
            self.a = (np.eye(t) - weights) - (1.0 - weights.sum(axis=1))[:, None] / t
        else:
            self.a = np.eye(t)
        weighted = self.w[:, None] * self.a
        self.q = weighted.T @ residuals
        self.b = self.a.T @ weighted
        self.h = self.centred @ residuals.T


def psf_stamps(psf, size):
    """The PSF's central ``size`` x ``size`` stamp shifted by every sub-pixel offset of a grid.

    Offsets ``k / OVERSAMPLE - 1/2`` px along each axis (``k = 0 .. OVERSAMPLE``),
    Fourier-shifted as :func:`exobench.inject.placed_stamps` shifts a companion;
    entry ``ky * (OVERSAMPLE + 1) + kx`` is shifted by ``(kx, ky)``'s offsets.
    """
    psf = np.asarray(psf, dtype=np.float64)
    half, (py, px) = size // 2, psf.shape
    grow = max(0, half - py // 2, half - px // 2)
    psf = np.pad(psf, grow)
    cy, cx = psf.shape[0] // 2, psf.shape[1] // 2
    crop = psf[cy - half:cy + half + 1, cx - half:cx + half + 1]
    padding = stamp_padding(crop.shape)
    padded = np.pad(crop, padding)
    steps = np.arange(OVERSAMPLE + 1) / OVERSAMPLE - 0.5
    dy, dx = (grid.ravel() for grid in np.meshgrid(steps, steps, indexing="ij"))
    shifted = shift_frames(np.broadcast_to(padded, (dx.size, *padded.shape)), dx, dy)
    (top, _), (left, _) = padding
    return np.ascontiguousarray(shifted[:, top:top + size, left:left + size])


def _placements(radii, thetas, angles, center):
    """Per position and frame: the pixel the companion's stamp is centred on and its offset's index."""
    x, y = polar_to_cartesian(radii[:, None], thetas[:, None] - angles[None, :], center=center)
    ix, iy = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
    kx = np.rint((x - ix + 0.5) * OVERSAMPLE).astype(np.int64)
    ky = np.rint((y - iy + 0.5) * OVERSAMPLE).astype(np.int64)
    return ix, iy, ky * (OVERSAMPLE + 1) + kx


def _center(dataset):
    return tuple(float(c) for c in dataset.center)


@functools.lru_cache(maxsize=None)
def _kernel():
    from . import _fmmf_kernels  # deferred: numba, compiled once and cached on disk

    return _fmmf_kernels.ring
