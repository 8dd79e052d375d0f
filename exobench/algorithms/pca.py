"""Full-frame principal component analysis (Soummer et al. 2012; Amara & Quanz 2012).

Full frame (:class:`PCA`): the frames, mean-centred pixel by pixel, form a
``frames x pixels`` matrix; its first ``k`` principal components (right
singular vectors) model the star's PSF, and each frame's residual is the frame
minus its projection onto them. The residual cube is derotated and collapsed.

Two options of the full-frame PCA: ``delta`` leaves out of each frame's
reference library the frames too close to it in parallactic angle (rotation
below ``delta`` FWHM of arc at the separation ``exclusion_radius``), and
``batch_size`` streams the cube by blocks of pixels for cubes that do not fit
in memory as float64 (the ``frames x frames`` Gram matrix ``M M^T`` is a sum
over pixel blocks, so it is accumulated block by block, decomposed, and the
projection applied block by block again: the same result as in memory, with
working memory ``O(t^2 + t * batch_size)`` beyond the residual cube).

The linear algebra is :mod:`exobench.algorithms.projections`'s.

Memory: the in-memory full-frame PCA computes the residuals in its float64
copy of the cube (in place when the cube is not already float64), derotates
them in place a few frames at a time and takes the median by blocks of
pixels: its peak is the float64 residual cube plus small buffers (about 2.2
times a float32 cube, measured).
"""

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_integer, check_number, check_range
from ..data import Dataset
from ._eigen import projection_weights
from .annuli import rotation_thresholds
from .base import Algorithm, adi_cube, check_common, finish, is_private_copy
from .projections import check_ncomp, components_count, subtract_components

__all__ = ["PCA"]


class PCA(Algorithm, name="pca"):
    """Full-frame PCA PSF subtraction.

    Parameters
    ----------
    ncomp : int, optional
        Number of principal components removed (1 when neither this nor
        ``explained_variance`` is given). At most the number of frames.
    explained_variance : float in (0, 1], optional
        Instead of ``ncomp``: remove the fewest components whose cumulative
        explained variance reaches this fraction. Give at most one of the two.
    inner_radius : float, optional
        In FWHM. When given, only the pixels at ``r >= inner_radius * fwhm``
        from the star (to the frame's corners) enter the PCA; those inside are
        0 in the residuals. By default the whole frame is used (as VIP does).
    delta : float, optional
        Exclusion of the frames too close in angle, in FWHM of arc (as VIP's
        ``delta_rot`` with ``source_xy``). When given, each frame ``i`` gets
        its own reference library: the frames ``j`` with
        ``|angles[j] - angles[i]| >= delta / exclusion_radius`` radians, i.e.
        those in which a source at ``exclusion_radius`` FWHM from the star has
        moved by at least ``delta`` FWHM of arc (where that leaves fewer than
        ``ncomp`` frames, the threshold is lowered to the ``ncomp``-th largest
        rotation from frame ``i``, ties included). The pixels are still
        mean-centred over all frames; frame ``i``'s ``ncomp`` first components
        are those of its library. One
        threshold for the whole frame: it protects the companion at
        ``exclusion_radius`` (closer in, sources move less and are less
        protected; farther out, more). ``delta=0`` keeps every frame, the frame
        itself included: plain PCA. Needs ``ncomp`` (not ``explained_variance``).
    exclusion_radius : float, optional
        The separation (in FWHM) at which ``delta`` is measured; required with ``delta``.
    batch_size : int, optional
        Incremental mode for cubes that do not fit in memory (for example a
        ``numpy.memmap`` cube): the cube is read ``batch_size`` pixels (of
        every frame) at a time, twice, in its own dtype, and only each block
        is converted to float64. The ``frames x frames`` Gram matrix is
        accumulated over the blocks, decomposed, and the projection applied
        block by block: the same result as the in-memory computation (to
        float rounding), with working memory ``O(t^2 + t * batch_size)``
        besides the float64 residual cube that the result holds.
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = PCA(ncomp=3).process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    >>> bool(result.final.std() < 0.2 * ds.cube.mean(axis=0).std())
    True
    >>> streamed = PCA(ncomp=3, batch_size=100).process(ds)
    >>> bool(np.allclose(streamed.final, result.final, rtol=0, atol=1e-9))
    True
    >>> PCA(ncomp=3, delta=1.0, exclusion_radius=3.0).process(ds).final.shape
    (33, 33)
    """

    def __init__(self, *, ncomp=None, explained_variance=None, inner_radius=None, delta=None,
                 exclusion_radius=None, batch_size=None, collapse="median", derotation="bilinear"):
        self.ncomp = ncomp
        self.explained_variance = explained_variance
        self.inner_radius = inner_radius
        self.delta = delta
        self.exclusion_radius = exclusion_radius
        self.batch_size = batch_size
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
        """
        batch = self._checked_batch_size()
        if batch is None:
            cube = adi_cube(dataset)
        else:  # the same checks as adi_cube without converting (nor reading) the whole cube
            if not isinstance(dataset, Dataset) or dataset.is_4d:
                adi_cube(dataset)  # raises the usual error
            cube = dataset.cube
        check_common(self)
        t, ny, nx = cube.shape
        ncomp, explained = self._checked_components(t)
        inner = check_number(self.inner_radius, "inner_radius", allow_none=True)
        allowed = self._library(dataset, ncomp, explained)
        flat = cube.reshape(t, ny * nx)
        if inner is None:
            selected = None
        else:
            xc, yc = dataset.center
            radius = np.hypot(np.arange(nx)[None, :] - xc, np.arange(ny)[:, None] - yc).ravel()
            selected = np.flatnonzero(radius >= inner * dataset.fwhm)
            if selected.size == 0:
                raise ValueError(f"inner_radius: leaves no pixel in the frame, got {inner:g} FWHM")
        if batch is not None:
            residuals = _streamed_residuals(flat, selected, batch, ncomp, explained, allowed)
        elif selected is None:
            if is_private_copy(cube, dataset):  # our own float64 copy: centre and subtract in place
                matrix = flat
                matrix -= flat.mean(axis=0)
            else:  # adi_cube did not copy: never modify the caller's array
                matrix = flat - flat.mean(axis=0)
            residuals = _residuals(matrix, ncomp, explained, allowed, in_place=True)
        else:
            matrix = flat[:, selected]
            matrix = matrix - matrix.mean(axis=0)
            residuals = np.zeros_like(flat)
            residuals[:, selected] = _residuals(matrix, ncomp, explained, allowed)
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)

    def _checked_components(self, n_frames):
        if self.ncomp is not None and self.explained_variance is not None:
            raise ValueError(f"ncomp, explained_variance: expected at most one of them, got both "
                             f"(ncomp={self.ncomp!r}, explained_variance={self.explained_variance!r})")
        if self.explained_variance is not None:
            return None, check_range(self.explained_variance, "explained_variance", 0, 1, closed="high")
        return check_ncomp(1 if self.ncomp is None else self.ncomp, n_frames), None

    def _checked_batch_size(self):
        return check_integer(self.batch_size, "batch_size", minimum=1, allow_none=True, what="pixels per block")

    def _library(self, dataset, ncomp, explained):
        """``allowed[i, j]``: frame ``j`` is in frame ``i``'s library (None: every frame, plain PCA)."""
        delta = check_number(self.delta, "delta", allow_none=True)
        radius = check_number(self.exclusion_radius, "exclusion_radius", allow_none=True, strict=True)
        if delta is None:
            if radius is not None:
                raise ValueError(f"exclusion_radius: only used with delta, got exclusion_radius={radius:g} "
                                 f"and delta=None")
            return None
        if radius is None:
            raise ValueError("exclusion_radius: expected a separation > 0 (in FWHM) where delta is "
                             "measured, got None")
        if explained is not None:
            raise ValueError("explained_variance: not supported with delta (per-frame libraries remove "
                             "ncomp components), give ncomp instead")
        fwhm = float(dataset.fwhm)
        thresholds, distance = rotation_thresholds(np.asarray(dataset.angles, dtype=np.float64),
                                                   radius * fwhm, delta, fwhm, ncomp)
        return distance >= thresholds[:, None]

#: Pixels per block of the in-place projection (bounds its temporary to frames x this).
_PROJECTION_BLOCK = 4096


def _residuals(matrix, ncomp, explained, allowed, in_place=False):
    """Residuals of a mean-centred ``frames x pixels`` matrix (per-frame libraries when ``allowed``).

    With ``in_place``, ``matrix`` is overwritten with the residuals (block by
    block: no temporary of the matrix's size) and returned.
    """
    n, p = matrix.shape
    if allowed is None:
        if not in_place or n > p:
            return subtract_components(matrix, ncomp=ncomp, explained_variance=explained)[0]
        eigenvalues, vectors = np.linalg.eigh(matrix @ matrix.T)
        eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
        k = ncomp if ncomp is not None else components_count(eigenvalues, explained)
        top = vectors[:, :k]
        for start in range(0, p, _PROJECTION_BLOCK):
            part = matrix[:, start:start + _PROJECTION_BLOCK]
            part -= top @ (top.T @ part)
        return matrix
    with one_blas_thread():
        weights = projection_weights(matrix @ matrix.T, allowed, ncomp)
    if not in_place:
        return matrix - weights @ matrix
    for start in range(0, p, _PROJECTION_BLOCK):
        part = matrix[:, start:start + _PROJECTION_BLOCK]
        part[...] = part - weights @ part
    return matrix


def _streamed_residuals(flat, selected, batch, ncomp, explained, allowed):
    """:func:`_residuals` of the mean-centred ``flat[:, selected]``, reading ``batch`` pixels at a time.

    Pass 1 accumulates the Gram matrix ``M M^T`` of the mean-centred blocks;
    pass 2 applies the projection ``W`` (``U_k U_k^T``, or the per-frame weights)
    to each block: ``R = M - W M`` column block by column block.
    """
    t, n_pixels = flat.shape
    columns = np.arange(n_pixels) if selected is None else selected
    blocks = [columns[start:start + batch] for start in range(0, columns.size, batch)]

    def centred(block):
        values = np.asarray(flat[:, block], dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("dataset: expected a cube of finite values, got NaN or infinite pixels")
        return values - values.mean(axis=0)

    gram = np.zeros((t, t))
    for block in blocks:
        values = centred(block)
        gram += values @ values.T
    if allowed is not None:
        with one_blas_thread():
            weights = projection_weights(gram, allowed, ncomp)
    else:
        eigenvalues, vectors = np.linalg.eigh(gram)
        eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
        k = ncomp if ncomp is not None else components_count(eigenvalues, explained)
        top = vectors[:, :k]
        weights = top @ top.T
    residuals = np.zeros((t, n_pixels))
    for block in blocks:
        values = centred(block)
        residuals[:, block] = values - weights @ values
    return residuals
