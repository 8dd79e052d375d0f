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

The model is computed from the data that hold the companion, which bends the
basis towards it: the first-order flux of a detected companion is low. Where
the statistic is significant (``refine_flux_above``) the flux is refined to the
root of ``g(a)``, the plain matched filter (the PSF as the model) of the
residuals of the data minus ``a`` times the companion's PSF (each trial
recomputes the ring's PCA): the flux whose removal leaves no signal. The PSF
model, not the forward one, measures that signal: the forward model's
eigenvector couplings jump as ``a`` changes where eigenvalues are nearly
degenerate, which gives ``g`` spurious roots, while the plain filter of the
residuals is smooth in ``a`` and vanishes, like any linear filter, where the
companion is gone. Each ring has its own PCA and noise model, so the map's
maximum can lie a pixel or two from a companion; at a local maximum of the
statistic the companion's position is therefore fitted first (the maximum of
the forward model's first-order statistic over sub-pixel positions, all with
one ring's PCA), and the flux refined there.
"""

import functools

import numpy as np
import scipy.ndimage

from .._threads import one_blas_thread
from .._validate import check_choice, check_number
from ..geometry import cartesian_to_polar, polar_grid, polar_to_cartesian, shift_frames
from ..inject import add_stamps, placed_stamps, stamp_padding
from .annuli import rotation_thresholds
from .base import adi_cube
from .detector import Detection, Detector, radial_normalisation
from .projections import check_ncomp

__all__ = ["FMMF", "MODELS", "psf_stamps"]

#: The companion models of :class:`FMMF`.
MODELS = ("forward", "psf")

#: Sub-pixel steps per pixel of the table of shifted PSF stamps (offsets rounded to 1/16 px).
OVERSAMPLE = 16

#: The search of a companion's position around a local maximum of the statistic: its reach (FWHM)
#: and the coarse grid's step (px; the fine grid's is a quarter of it).
LOCATE_REACH = 0.75
LOCATE_STEP = 0.25

#: Most evaluations of each stage of the flux's refinement, and its tolerance (in ``flux_std``).
REFINE_ITERATIONS = 30
REFINE_TOLERANCE = 0.02


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
        the PCA projection, or the PSF alone (cheaper; its first-order flux biased low).
    stamp : float
        Side of the PSF stamp in FWHM (rounded to an odd number of pixels, at
        least 3): the part of the PSF the matched filter uses.
    normalisation_width : float or None
        Width in FWHM of the annuli of the radial renormalisation
        (:func:`~exobench.algorithms.radial_normalisation`) that calibrates the
        statistic; ``None`` leaves the raw ``flux / flux_std``.
    refine_flux_above : float or None
        Where the statistic is at least this, the flux is re-estimated: the
        flux ``a`` such that subtracting ``a`` times the PSF leaves no signal
        for the plain (PSF) matched filter of the residuals (each step
        recomputes the ring's PCA). At a local maximum of the statistic (its 8
        neighbours' no higher) the companion is first located to 1/16 px
        within ``LOCATE_REACH`` FWHM, and the flux is that of a companion
        there: the flux a user reads at a detection. The first-order estimate
        is low for a detected companion: its model is computed from data that
        hold the companion, which bends the basis towards it. ``None``: the
        first-order flux everywhere. The statistic and ``flux_std`` are not
        changed.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> detection = FMMF(ncomp=2).detect(example_dataset(n_frames=10, size=33))
    >>> detection.statistic.shape
    (33, 33)
    """

    def __init__(self, *, ncomp=3, delta=1.0, asize=1.0, inner_radius=1.0, outer_radius=None, model="forward",
                 stamp=2.0, normalisation_width=1.0, refine_flux_above=5.0):
        self.ncomp = ncomp
        self.delta = delta
        self.asize = asize
        self.inner_radius = inner_radius
        self.outer_radius = outer_radius
        self.model = model
        self.stamp = stamp
        self.normalisation_width = normalisation_width
        self.refine_flux_above = refine_flux_above

    def detect_adi(self, dataset):
        """The :class:`~exobench.algorithms.Detection` of a 3D dataset (its PSF required)."""
        setup = self._setup(dataset)
        raw = self._raw(setup)
        if self.normalisation_width is None:
            return self._refine(setup, raw)
        width = check_number(self.normalisation_width, "normalisation_width", strict=True) * float(dataset.fwhm)
        statistic = radial_normalisation(raw.statistic, width=width, center=_center(dataset))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(raw.statistic != 0, raw.statistic / statistic, 1.0)
        flux_std = raw.flux_std * scale
        undefined = ~np.isfinite(statistic)
        flux = raw.flux.copy()
        flux[undefined] = np.nan
        flux_std[undefined] = np.nan
        return self._refine(setup, Detection(statistic, flux, flux_std))

    def raw(self, dataset):
        """The first-order matched filter before the radial renormalisation and the flux's refinement:
        ``flux / flux_std`` as the statistic."""
        return self._raw(self._setup(dataset))

    def _raw(self, setup):
        t, ny, nx = setup.shape
        num = np.full(ny * nx, np.nan)
        den = np.full(ny * nx, np.nan)
        with one_blas_thread():
            for rho in range(setup.first, setup.last + 1):
                positions = np.flatnonzero(setup.ring_of == rho)
                if positions.size:
                    num[positions], den[positions] = setup.filter(setup.flat, rho, setup.radius[positions],
                                                                  setup.theta[positions])
        with np.errstate(divide="ignore", invalid="ignore"):
            good = den > 0
            flux = np.where(good, num / den, np.nan).reshape(ny, nx)
            flux_std = np.where(good, 1.0 / np.sqrt(den), np.nan).reshape(ny, nx)
        return Detection(flux / flux_std, flux, flux_std)

    def _setup(self, dataset):
        cube = adi_cube(dataset)
        if dataset.psf is None:
            raise ValueError("dataset: FMMF needs the dataset's PSF, got a dataset without one")
        t = cube.shape[0]
        ncomp = check_ncomp(self.ncomp, t)
        delta = check_number(self.delta, "delta")
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        outer = check_number(self.outer_radius, "outer_radius", strict=True, allow_none=True)
        check_choice(self.model, "model", MODELS)
        stamp = check_number(self.stamp, "stamp", strict=True)
        if self.normalisation_width is not None:
            check_number(self.normalisation_width, "normalisation_width", strict=True)
        check_number(self.refine_flux_above, "refine_flux_above", minimum=None, allow_none=True)
        return _Setup(dataset, cube, ncomp=ncomp, delta=delta, asize=asize, inner=inner, outer=outer,
                      forward=self.model == "forward", stamp=stamp)

    def _refine(self, setup, detection):
        """``detection`` with its flux re-estimated where ``statistic >= refine_flux_above`` (see the class)."""
        if self.refine_flux_above is None:
            return detection
        above = detection.statistic >= self.refine_flux_above
        chosen = np.flatnonzero(above.ravel())
        if chosen.size == 0:
            return detection
        maxima = _local_maxima(detection.statistic).ravel()
        flux = detection.flux.copy()
        with one_blas_thread():
            for position in chosen:
                radius, theta, first = setup.radius[position], setup.theta[position], detection.flux.flat[position]
                if maxima[position]:  # the flux of the companion located near the pixel
                    located = setup.locate(position)
                    if np.isfinite(located[2]):
                        radius, theta, first = located
                flux.flat[position] = setup.fixed_point(radius, theta, first, detection.flux_std.flat[position])
        return Detection(detection.statistic, flux, detection.flux_std)


class _Setup:
    """A dataset's checked inputs and geometry, and the matched filter of one ring's positions."""

    def __init__(self, dataset, cube, *, ncomp, delta, asize, inner, outer, forward, stamp):
        t, ny, nx = self.shape = cube.shape
        self.fwhm = fwhm = float(dataset.fwhm)
        self.center = _center(dataset)
        self.psf = dataset.normalized_psf
        self.stamps = psf_stamps(self.psf, max(3, 2 * int(round(stamp * fwhm / 2)) + 1))
        self.angles = np.asarray(dataset.angles, dtype=np.float64)
        radius, theta = polar_grid(cube.shape, center=self.center)
        self.radius, self.theta = radius.ravel(), theta.ravel()
        self.ring_of = np.rint(self.radius).astype(np.intp)
        self.half = asize * fwhm / 2
        xc, yc = self.center
        edge = min(xc, yc, nx - 1 - xc, ny - 1 - yc)
        self.first = max(1, int(np.ceil(inner * fwhm)))
        self.last = int(np.floor(edge - self.half))
        if outer is not None:
            self.last = min(self.last, int(np.floor(outer * fwhm)))
        self.flat = cube.reshape(t, -1)
        self.ncomp, self.delta, self.forward = ncomp, delta, forward
        self.kernel = _kernel()

    def annulus(self, rho):
        return np.flatnonzero(np.abs(self.radius - rho) <= self.half)

    def filter(self, flat, rho, radii, thetas, *, forward=None):
        """The matched filter's numerators and denominators at the positions ``(radii, thetas)``
        (final frame, sub-pixel) with ring ``rho``'s annulus and PCA, on the frames ``flat``
        (``(t, ny * nx)``, read on the annulus only); ``forward``: the model (``None``: the option's)."""
        t, ny, nx = self.shape
        forward = self.forward if forward is None else forward
        annulus = self.annulus(rho)
        if annulus.size < 2:
            return np.full(np.size(radii), np.nan), np.full(np.size(radii), np.nan)
        ring = _Ring(flat[:, annulus], self.angles, rho, self.delta, self.fwhm, self.ncomp, forward)
        buffers = np.zeros((2, t, ny * nx))  # Q and the centred data, 0 outside the annulus
        buffers[0][:, annulus] = ring.q
        buffers[1][:, annulus] = ring.centred
        mask = np.zeros(ny * nx)
        mask[annulus] = 1.0
        ix, iy, offset = _placements(np.asarray(radii, dtype=np.float64), np.asarray(thetas, dtype=np.float64),
                                     self.angles, self.center)
        num, den = np.empty(ix.shape[0]), np.empty(ix.shape[0])
        self.kernel(buffers[0].reshape(t, ny, nx), buffers[1].reshape(t, ny, nx), mask.reshape(ny, nx), self.stamps,
                    ix, iy, offset, ring.b, not forward, forward, *ring.libraries, ring.a, ring.w, ring.h,
                    ring.gram, num, den)
        return num, den

    def locate(self, position):
        """The companion's sub-pixel position near pixel ``position`` (a flat index) and its
        first-order flux there, ``(radius, theta, flux)``: the maximum of the forward model's
        first-order statistic on a grid of ``LOCATE_STEP`` px within ``LOCATE_REACH`` FWHM of the
        pixel, every candidate with the pixel's ring (one PCA and noise model: the statistics of
        neighbouring rings differ by more than a pixel's shift does), then on a grid 4 times finer
        within ``LOCATE_STEP`` of the best, with the best's ring."""
        y, x = divmod(int(position), self.shape[2])
        rho = int(self.ring_of[position])
        first = np.nan
        for reach, step in ((LOCATE_REACH * self.fwhm, LOCATE_STEP), (LOCATE_STEP, LOCATE_STEP / 4)):
            n = int(reach / step + 1e-9)
            dy, dx = (grid.ravel() * step for grid in np.mgrid[-n:n + 1, -n:n + 1])
            inside = np.hypot(dx, dy) <= n * step
            radius, theta = cartesian_to_polar(x + dx[inside], y + dy[inside], center=self.center)
            num, den = self.filter(self.flat, rho, radius, theta, forward=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                statistic = np.where(den > 0, num / np.sqrt(den), np.nan)
            if not np.any(np.isfinite(statistic)):
                break
            best = int(np.nanargmax(statistic))
            x, y = x + dx[inside][best], y + dy[inside][best]
            first = num[best] / den[best]
            rho = int(np.clip(np.rint(radius[best]), self.first, self.last))
        radius, theta = cartesian_to_polar(x, y, center=self.center)
        return float(radius), float(theta), first

    def fixed_point(self, radius, theta, flux, flux_std):
        """The flux ``a`` at which the companion's removal (``a`` times its PSF, whole, at ``(radius,
        theta)``, ring ``round(radius)``) leaves no signal ``g(a)`` for the plain matched filter of
        the residuals: from ``flux`` (the first-order estimate), steps of ``g`` doubled until ``g``
        changes sign, then the Illinois variant of regula falsi inside the bracket (``g`` bends
        where the PCA absorbs part of the companion). ``flux`` where no root is bracketed or the
        filter is undefined."""
        rho = int(np.rint(radius))
        annulus = self.annulus(rho)
        unit = np.zeros(self.shape)
        add_stamps(unit, placed_stamps(self.psf, radius, theta, self.angles, self.center), 1.0)
        data, companion = self.flat[:, annulus], unit.reshape(self.shape[0], -1)[:, annulus]
        frames = np.zeros_like(self.flat)
        radii, thetas = np.array([radius]), np.array([theta])

        def signal(a):
            frames[:, annulus] = data - a * companion
            num, den = self.filter(frames, rho, radii, thetas, forward=False)
            return num[0] / den[0] if den[0] > 0 else np.nan

        tolerance = REFINE_TOLERANCE * flux_std
        a, g = flux, signal(flux)
        b, h = a, g
        step = g
        for _ in range(REFINE_ITERATIONS):  # bracket the root
            if not np.isfinite(h) or abs(h) <= tolerance:
                return b if np.isfinite(h) else flux
            a, g = b, h
            b = a + step
            h = signal(b)
            if np.sign(h) != np.sign(g):
                break
            step *= 2.0
        else:
            return flux
        for _ in range(REFINE_ITERATIONS):  # Illinois: regula falsi, halving a retained end's value
            if abs(b - a) <= tolerance:
                break
            c = b - h * (b - a) / (h - g)
            k = signal(c)
            if not np.isfinite(k):
                return flux
            if abs(k) <= tolerance:
                return c
            if np.sign(k) != np.sign(h):
                a, g = b, h
            else:
                g /= 2.0
            b, h = c, k
        return b - h * (b - a) / (h - g)


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


def _local_maxima(statistic):
    """Where the finite ``statistic`` is at least each of its 8 neighbours (NaN: no neighbour)."""
    filled = np.where(np.isfinite(statistic), statistic, -np.inf)
    peak = scipy.ndimage.maximum_filter(filled, size=3, mode="constant", cval=-np.inf)
    return np.isfinite(statistic) & (filled >= peak)


def _center(dataset):
    return tuple(float(c) for c in dataset.center)


@functools.lru_cache(maxsize=None)
def _kernel():
    from . import _fmmf_kernels  # deferred: numba, compiled once and cached on disk

    return _fmmf_kernels.ring
