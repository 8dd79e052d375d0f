"""PACO: detection with local patch covariances (Flasseur et al. 2018, A&A 618, A138).

The background around each pixel of a frame is modelled by a Gaussian over a
circular patch (diameter ``2 * patch_radius`` FWHM): its mean ``m`` over the
frames and its covariance ``C``, the sample covariance ``S`` of the ``T``
patches shrunk towards its diagonal ``F``, ``C = (1 - rho) S + rho F``, with the
paper's data-driven factor

    rho = (tr(S^2) + tr(S)^2 - 2 sum_i S_ii^2) / ((T + 1) (tr(S^2) - sum_i S_ii^2)),

clipped to [0, 1]. A companion hypothesised on pixel ``phi`` of the final
frame sits in frame ``k`` at ``phi`` rotated by ``-angles[k]``; with its PSF
patch ``h_k`` and the data patch ``r_k`` there,

    a_k = h_k^T C^-1 h_k,   b_k = h_k^T C^-1 (r_k - m),

its maximum-likelihood flux is ``sum b / sum a``, of standard deviation
``1 / sqrt(sum a)``, and the detection statistic (the likelihood-ratio S/N)
``sum b / sqrt(sum a)`` is standard normal under the model's null.

Two variants:

- ``"fast"`` (the paper's fast PACO, the default): the statistics of every
  pixel's patch are computed once, and each hypothesis uses those of the pixel
  nearest to its position in each frame (the PSF patch shifted to the
  sub-pixel offset, ``subpixel=True``, or centred, ``subpixel=False``);
- ``"full"``: for each hypothesis and frame, the statistics are those of the
  patch centred exactly on the hypothesis's position, sampled from every frame
  by bilinear interpolation (no rounding to a pixel; ``T`` times the cost).

The statistic of real data is not exactly calibrated (the patch under test is
one of the ``T`` patches its statistics are estimated from, and real speckles
are not Gaussian): ``normalisation="radial"`` (the default) divides it by its
robust standard deviation in annuli 1 FWHM wide
(:func:`~exobench.algorithms.detector.radial_normalisation`), and multiplies
the flux's standard deviation by the same factor, docs/detectors.md.
"""

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_choice, check_number
from ..geometry import cartesian_to_polar, shift_frames
from ..inject import PlacedCompanions
from .base import adi_cube
from .detector import Detection, Detector, radial_normalisation

__all__ = ["PACO", "patch_offsets", "shrunk_covariance", "unbiased_flux", "VARIANTS", "NORMALISATIONS"]

#: The variants of :class:`PACO`.
VARIANTS = ("fast", "full")
#: The renormalisations of :class:`PACO`'s statistic.
NORMALISATIONS = ("radial", "none")

#: Sub-pixel shifts of the PSF model are taken on a grid of 1 / (2 * _SUBPIXEL_STEPS) px.
_SUBPIXEL_STEPS = 10
#: Largest number of values in the patches and covariances computed at once (memory bound, about 64 MB).
_CHUNK_VALUES = 8_000_000


class PACO(Detector, name="paco"):
    """PACO: a Gaussian model of each patch's background, its likelihood-ratio S/N and flux.

    Parameters
    ----------
    patch_radius : float
        Radius of the circular patch in FWHM: the pixels whose centre lies
        within ``patch_radius * fwhm`` of the patch's centre.
    variant : {"fast", "full"}
        ``"fast"``: statistics computed once per pixel and reused by every
        hypothesis whose patch is centred there; ``"full"``: statistics of the
        patch centred exactly on each hypothesis's position in each frame
        (bilinear interpolation), ``T`` times the cost.
    subpixel : bool
        Fast variant: the PSF model of each frame shifted to the sub-pixel
        offset between the hypothesis's position and the patch's centre
        (False: centred, faster, a small loss of flux and S/N).
    inner_radius : float
        Hypotheses closer than ``inner_radius`` FWHM to the star are undefined (NaN).
    refine_flux_above : float or None
        Where the statistic is at least this, the flux is the paper's unbiased
        estimate: iterated, with the background statistics estimated from the
        patches less the companion's forward model at the current flux (the
        companion's own light otherwise enters the mean and covariance and
        lowers the flux by tens of per cent); ``None``: never.
    normalisation : {"radial", "none"}
        ``"radial"``: the statistic divided by its robust standard deviation
        in annuli 1 FWHM wide (the flux's standard deviation multiplied by the
        same factor); ``"none"``: the raw likelihood-ratio S/N.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> detection = PACO().detect(example_dataset(n_frames=12, size=41))
    >>> detection.statistic.shape, bool(np.isnan(detection.statistic[20, 20]))
    ((41, 41), True)
    """

    def __init__(self, *, patch_radius=1.0, variant="fast", subpixel=True, inner_radius=1.0,
                 refine_flux_above=3.0, normalisation="radial"):
        self.patch_radius = patch_radius
        self.variant = variant
        self.subpixel = subpixel
        self.inner_radius = inner_radius
        self.refine_flux_above = refine_flux_above
        self.normalisation = normalisation
        self._check()

    def _check(self):
        check_number(self.patch_radius, "patch_radius", strict=True)
        check_choice(self.variant, "variant", VARIANTS)
        if not isinstance(self.subpixel, (bool, np.bool_)):
            raise ValueError(f"subpixel: expected True or False, got {self.subpixel!r}")
        check_number(self.inner_radius, "inner_radius")
        check_number(self.refine_flux_above, "refine_flux_above", minimum=None, allow_none=True)
        check_choice(self.normalisation, "normalisation", NORMALISATIONS)

    def detect_adi(self, dataset):
        """The :class:`~exobench.algorithms.Detection` of a 3D dataset (NaN where undefined)."""
        self._check()
        cube = adi_cube(dataset)
        fwhm = float(dataset.fwhm)
        offsets = patch_offsets(self.patch_radius * fwhm)
        geometry = _Hypotheses(cube.shape, dataset.center, dataset.angles, offsets,
                               inner=self.inner_radius * fwhm)
        if self.variant == "full":
            a, b = _full_terms(cube, geometry, _psf_patches(dataset.normalized_psf, offsets, centred=True)[0][0])
        else:
            a, b = _fast_terms(cube, geometry, dataset.normalized_psf, subpixel=self.subpixel)
        ny, nx = cube.shape[1:]
        sum_a = np.full(ny * nx, np.nan)
        sum_b = np.full(ny * nx, np.nan)
        sum_a[geometry.index] = a
        sum_b[geometry.index] = b
        with np.errstate(divide="ignore", invalid="ignore"):
            flux = (sum_b / sum_a).reshape(ny, nx)
            flux_std = (1.0 / np.sqrt(sum_a)).reshape(ny, nx)
            statistic = (sum_b / np.sqrt(sum_a)).reshape(ny, nx)
        undefined = ~(np.isfinite(statistic) & (flux_std > 0))
        for array in (flux, flux_std, statistic):
            array[undefined] = np.nan
        if self.normalisation == "radial":
            statistic, flux_std = _renormalise(statistic, flux_std, width=fwhm)
        if self.refine_flux_above is not None:
            refine = np.flatnonzero(statistic.ravel() >= self.refine_flux_above)
            for pixel in refine:
                flux.flat[pixel], std = unbiased_flux(dataset, pixel % nx, pixel // nx,
                                                      patch_radius=self.patch_radius, cube=cube)
                flux_std.flat[pixel] = std * flux_std.flat[pixel] * np.sqrt(sum_a[pixel])
        return Detection(statistic, flux, flux_std)


def patch_offsets(radius):
    """``(n, 2)`` integer ``(dy, dx)`` of the pixels whose centre lies within ``radius`` px of the origin.

    Examples
    --------
    >>> patch_offsets(1.0).tolist()
    [[-1, 0], [0, -1], [0, 0], [0, 1], [1, 0]]
    """
    reach = int(np.floor(radius))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    inside = dy ** 2 + dx ** 2 <= radius ** 2 + 1e-9
    return np.stack([dy[inside], dx[inside]], axis=1)


def shrunk_covariance(samples):
    """Mean and shrunk covariance of ``samples`` of shape ``(..., T, P)``: ``(mean, C)``.

    ``C = (1 - rho) S + rho diag(S)`` with ``S`` the sample covariance (divided
    by ``T``) and ``rho`` the data-driven factor of Flasseur et al. (2018),
    clipped to [0, 1] (1 where ``S`` is diagonal).

    Examples
    --------
    >>> samples = np.random.default_rng(0).normal(size=(40, 3))
    >>> mean, cov = shrunk_covariance(samples)
    >>> mean.shape, cov.shape, bool(np.all(np.linalg.eigvalsh(cov) > 0))
    ((3,), (3, 3), True)
    """
    t = samples.shape[-2]
    mean = samples.mean(axis=-2)
    centred = samples - mean[..., None, :]
    sample = np.matmul(np.swapaxes(centred, -1, -2), centred) / t  # batched BLAS, not einsum's loops
    diagonal = np.einsum("...pp->...p", sample)
    trace = diagonal.sum(axis=-1)
    trace_sq = np.einsum("...pq,...pq->...", sample, sample)  # tr(S^2) of a symmetric S
    diagonal_sq = (diagonal ** 2).sum(axis=-1)
    denominator = (t + 1.0) * (trace_sq - diagonal_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (trace_sq + trace ** 2 - 2.0 * diagonal_sq) / denominator
    rho = np.where(denominator > 0, np.clip(rho, 0.0, 1.0), 1.0)
    cov = (1.0 - rho)[..., None, None] * sample
    cov[..., np.arange(sample.shape[-1]), np.arange(sample.shape[-1])] = diagonal
    return mean, cov


def unbiased_flux(dataset, x, y, *, patch_radius=1.0, cube=None, iterations=30, tolerance=1e-4):
    """The unbiased flux of a companion at ``(x, y)`` of the final frame: ``(alpha, std)``.

    Flasseur et al. (2018), section 3.3: the flux ``alpha`` is iterated, each
    time with the statistics of the patches on the companion's nearest pixel in
    every frame estimated from the data less ``alpha`` times the companion's
    forward model (:class:`exobench.inject.PlacedCompanions`, unit flux: the
    flux unit of the injections), until it changes by less than ``tolerance``
    times its standard deviation; ``std`` is ``1 / sqrt(sum a)`` under the
    final statistics. ``cube``: the dataset's cube as float64, when the caller
    has it. NaN where a patch leaves the frame or is constant.
    """
    cube = adi_cube(dataset) if cube is None else cube
    t, ny, nx = cube.shape
    offsets = patch_offsets(patch_radius * float(dataset.fwhm))
    center = dataset.center
    fy, fx = _frame_positions(center, dataset.angles, np.array([x - center[0]]), np.array([y - center[1]]))
    rows = np.rint(fy[0]).astype(np.intp)[:, None] + offsets[:, 0]
    cols = np.rint(fx[0]).astype(np.intp)[:, None] + offsets[:, 1]
    if rows.min() < 0 or cols.min() < 0 or rows.max() > ny - 1 or cols.max() > nx - 1:
        return np.nan, np.nan
    separation, theta = cartesian_to_polar(x, y, center=center)
    model = PlacedCompanions(dataset, separations=[separation], thetas=[theta]).inject(fluxes=[1.0])
    model = np.asarray(model.dataset.cube, dtype=np.float64) - cube
    frames = np.arange(t)
    data = np.moveaxis(cube[:, rows, cols], 0, 1)  # (position k, frame l, P)
    light = np.moveaxis(model[:, rows, cols], 0, 1)
    h = light[frames, frames]  # the companion's patch in frame k at its own position
    alpha, std = 0.0, np.inf
    with one_blas_thread():
        for _ in range(iterations):
            mean, cov = shrunk_covariance(data - alpha * light)
            cov, degenerate = _regularised(cov)
            if np.any(degenerate):
                return np.nan, np.nan
            solved = np.linalg.solve(cov, h[..., None])[..., 0]
            sum_a = np.einsum("kp,kp->", h, solved)
            sum_b = np.einsum("kp,kp->", data[frames, frames] - mean, solved)
            previous, alpha, std = alpha, sum_b / sum_a, 1.0 / np.sqrt(sum_a)
            if abs(alpha - previous) < tolerance * std:
                break
    return float(alpha), float(std)


class _Hypotheses:
    """Where each companion hypothesis of the final frame sits in every frame.

    ``index``: the flat pixels of the defined hypotheses (outside ``inner`` px,
    every frame's patch inside the frame); ``y``, ``x``: their ``(n, T)``
    positions in the frames.
    """

    def __init__(self, shape, center, angles, offsets, *, inner):
        t, ny, nx = shape
        xc, yc = center
        yy, xx = np.indices((ny, nx))
        dx, dy = (xx - xc).ravel(), (yy - yc).ravel()
        y, x = _frame_positions(center, angles, dx, dy)
        reach = np.abs(offsets).max()
        inside = ((y.min(axis=1) - reach >= 0) & (y.max(axis=1) + reach <= ny - 1)
                  & (x.min(axis=1) - reach >= 0) & (x.max(axis=1) + reach <= nx - 1))
        defined = inside & (np.hypot(dx, dy) >= inner)
        self.index = np.flatnonzero(defined)
        self.y, self.x = y[defined], x[defined]
        self.offsets = offsets
        self.shape = (ny, nx)


def _frame_positions(center, angles, dx, dy):
    """``(y, x)``, each ``(n, T)``: where the final frame's offsets ``(dx, dy)`` from the star lie in every frame."""
    xc, yc = center
    radians = np.deg2rad(np.asarray(angles, dtype=np.float64))
    cos, sin = np.cos(radians), np.sin(radians)
    # a source at theta sits at theta - angles[k] in frame k: its offset rotated by -angles[k]
    x = xc + dx[:, None] * cos + dy[:, None] * sin
    y = yc - dx[:, None] * sin + dy[:, None] * cos
    return y, x


def _chunk(t, p):
    return max(1, _CHUNK_VALUES // (p * (t + p)))


def _fast_terms(cube, geometry, psf, *, subpixel):
    """``(sum a, sum b)`` of each hypothesis, from per-pixel statistics computed once."""
    t, ny, nx = cube.shape
    offsets = geometry.offsets
    p = offsets.shape[0]
    rows = np.rint(geometry.y).astype(np.intp)
    cols = np.rint(geometry.x).astype(np.intp)
    pixels, slots = np.unique(rows * nx + cols, return_inverse=True)
    slots = slots.reshape(rows.shape)
    n = pixels.size
    psfs, shifts = _psf_patches(psf, offsets, centred=not subpixel, y=geometry.y - rows, x=geometry.x - cols)
    if subpixel:
        means = np.empty((n, p))
        inverses = np.empty((n, p, p))
    else:
        slot_a = np.empty(n)
        slot_b = np.empty((n, t))  # h^T C^-1 (r_k - m) of every pixel and frame
    step = _chunk(t, p)
    with one_blas_thread():
        for start in range(0, n, step):
            part = pixels[start:start + step]
            patches = cube[:, (part // nx)[:, None] + offsets[:, 0], (part % nx)[:, None] + offsets[:, 1]]
            patches = np.moveaxis(patches, 0, 1)  # (pixels, T, P)
            mean, cov = shrunk_covariance(patches)
            inverse = _inverse(cov)
            if subpixel:
                means[start:start + step] = mean
                inverses[start:start + step] = inverse
            else:
                u = inverse @ psfs[0]
                slot_a[start:start + step] = u @ psfs[0]
                slot_b[start:start + step] = np.matmul(patches - mean[:, None, :], u[:, :, None])[..., 0]
    if not subpixel:
        return slot_a[slots].sum(axis=1), slot_b[slots, np.arange(t)].sum(axis=1)
    from . import _paco_kernels  # deferred: numba, compiled once and cached on disk

    a = np.empty(slots.shape[0])
    b = np.empty(slots.shape[0])
    _paco_kernels.subpixel_terms(cube, rows, cols, slots, shifts, offsets[:, 0].copy(), offsets[:, 1].copy(),
                                 means, inverses, psfs, a, b)
    return a, b


def _full_terms(cube, geometry, h):
    """``(sum a, sum b)`` of each hypothesis, with statistics at its exact position in every frame."""
    t, ny, nx = cube.shape
    offsets = geometry.offsets
    p = offsets.shape[0]
    n = geometry.index.size
    a = np.empty(n)
    b = np.empty(n)
    step = max(1, _chunk(t, p) // t)
    frames = np.arange(t)
    with one_blas_thread():
        for start in range(0, n, step):
            ys = geometry.y[start:start + step, :, None] + offsets[:, 0]  # (n, T, P)
            xs = geometry.x[start:start + step, :, None] + offsets[:, 1]
            samples = np.moveaxis(_bilinear(cube, ys, xs), 0, -2)  # (n, T positions, T frames, P)
            mean, cov = shrunk_covariance(samples)
            residual = samples[:, frames, frames, :] - mean  # frame k's patch at its own position
            rhs = np.stack([np.broadcast_to(h, residual.shape), residual], axis=-1)
            cov, degenerate = _regularised(cov)
            solved = np.linalg.solve(cov, rhs)  # C^-1 h and C^-1 (r_k - m)
            solved[degenerate] = np.nan
            a[start:start + step] = np.einsum("p,ntp->n", h, solved[..., 0])
            b[start:start + step] = np.einsum("p,ntp->n", h, solved[..., 1])
    return a, b


def _bilinear(cube, ys, xs):
    """``cube`` sampled at ``(ys, xs)`` (inside the frames) in every frame: shape ``(T,) + ys.shape``."""
    ny, nx = cube.shape[1:]
    y0 = np.minimum(np.floor(ys).astype(np.intp), ny - 2)
    x0 = np.minimum(np.floor(xs).astype(np.intp), nx - 2)
    fy, fx = ys - y0, xs - x0
    return ((1 - fy) * ((1 - fx) * cube[:, y0, x0] + fx * cube[:, y0, x0 + 1])
            + fy * ((1 - fx) * cube[:, y0 + 1, x0] + fx * cube[:, y0 + 1, x0 + 1]))


def _regularised(cov):
    """``(cov, degenerate)``: the identity in place of a matrix whose diagonal has a zero (a constant
    patch, say outside a mask), and which those are, so that their hypotheses become NaN."""
    degenerate = ~np.all(np.einsum("...pp->...p", cov) > 0, axis=-1)
    if np.any(degenerate):
        cov = cov.copy()
        cov[degenerate] = np.eye(cov.shape[-1])
    return cov, degenerate


def _inverse(cov):
    """Batched inverse, NaN for a degenerate matrix."""
    cov, degenerate = _regularised(cov)
    inverse = np.linalg.inv(cov)
    inverse[degenerate] = np.nan
    return inverse


def _psf_patches(psf, offsets, *, centred, y=None, x=None):
    """The PSF model's patches and, per hypothesis and frame, which one applies.

    Centred: one patch, index 0 everywhere. Otherwise the PSF shifted by every
    sub-pixel offset of a grid of step ``1 / (2 * _SUBPIXEL_STEPS)`` px in
    ``[-0.5, 0.5]`` (Fourier shifts of the zero-padded stamp), and for each
    offset ``(y, x)`` (of shape ``(n, T)``) the index of the nearest.
    """
    psf = np.asarray(psf, dtype=np.float64)
    reach = int(np.abs(offsets).max())
    pad = max(2, reach + 2 - min(psf.shape) // 2)
    stamp = np.pad(psf, pad)
    cy, cx = stamp.shape[0] // 2, stamp.shape[1] // 2
    if centred:
        patches = stamp[cy + offsets[:, 0], cx + offsets[:, 1]][None]
        shifts = None if y is None else np.zeros(np.shape(y), dtype=np.intp)
        return patches, shifts
    steps = 2 * _SUBPIXEL_STEPS + 1
    grid = np.linspace(-0.5, 0.5, steps)
    dy, dx = np.meshgrid(grid, grid, indexing="ij")
    shifted = shift_frames(np.broadcast_to(stamp, (steps * steps,) + stamp.shape), dx.ravel(), dy.ravel(),
                           method="fft")
    patches = np.ascontiguousarray(shifted[:, cy + offsets[:, 0], cx + offsets[:, 1]])
    iy = np.clip(np.rint((y + 0.5) * (steps - 1)).astype(np.intp), 0, steps - 1)
    ix = np.clip(np.rint((x + 0.5) * (steps - 1)).astype(np.intp), 0, steps - 1)
    return patches, iy * steps + ix


def _renormalise(statistic, flux_std, *, width):
    """Radial renormalisation of the statistic, the flux's standard deviation scaled alike."""
    normalised = radial_normalisation(statistic, width=width)
    ny, nx = statistic.shape
    yy, xx = np.indices(statistic.shape)
    ring = (np.hypot(yy - ny // 2, xx - nx // 2) // width).astype(np.intp).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (statistic / normalised).ravel()
    usable = np.isfinite(factor) & (factor > 0)
    # one factor per annulus (every pixel of the annulus has it; a statistic of exactly 0 does not show it)
    per_ring = np.full(ring.max() + 1, np.nan)
    per_ring[ring[usable]] = factor[usable]
    scaled = flux_std * per_ring[ring].reshape(ny, nx)
    scaled[~np.isfinite(normalised)] = np.nan
    return normalised, scaled
