"""Principal component analysis (Soummer et al. 2012; Amara & Quanz 2012): full frame and annular.

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

Annular (:class:`AnnularPCA`): the same per annulus, with a reference library
per frame that leaves out the frames too close in parallactic angle (where a
companion would not have moved by ``delta`` FWHM), to limit self-subtraction.

Linear algebra is in float64. With fewer frames than pixels (the usual case)
the components come from the small ``frames x frames`` Gram matrix: with
``C = M M^T = U diag(lambda) U^T``, the projection of the rows of ``M`` onto
the first ``k`` components is ``U_k U_k^T M`` (VIP's ``svd_mode="eigen"``). In
the annular case a frame's library ``L = M[J]`` has the Gram matrix ``C[J, J]``
and the frame's projection is ``(c^T U_k diag(1/lambda_k) U_k^T) L`` with
``c = C[J, i]``: one small eigenproblem per distinct library (compiled, see
:mod:`exobench.algorithms._eigen`, frames spread over numba's threads) and
one matrix product per annulus, never an SVD of a pixel matrix.

Memory: the in-memory full-frame PCA computes the residuals in its float64
copy of the cube (in place when the cube is not already float64), derotates
them in place a few frames at a time and takes the median by blocks of
pixels: its peak is the float64 residual cube plus small buffers (about 2.2
times a float32 cube, measured).
"""

import numpy as np
import scipy.linalg

from .._threads import kernel_threads, one_blas_thread
from .._validate import check_choice, check_integer, check_number, check_range
from ..data import Dataset
from ._eigen import _distinct_rows, projection_weights
from .base import (
    Algorithm,
    adi_cube,
    annuli,
    check_common,
    finish,
    is_private_copy,
    rotation_thresholds,
    vip_annuli,
)

__all__ = ["PCA", "AnnularPCA", "AnnularProjections", "CONVENTIONS"]

#: Geometry conventions of :class:`AnnularPCA`.
CONVENTIONS = ("exobench", "vip")


def _check_ncomp(ncomp, n_frames):
    return check_integer(ncomp, "ncomp", minimum=1, maximum=n_frames, what="the number of frames")


def _components_count(eigenvalues, explained_variance):
    """Smallest number of components whose cumulative explained variance reaches the target."""
    positive = np.clip(eigenvalues, 0.0, None)
    ratio = np.cumsum(positive) / positive.sum()
    return int(min(np.searchsorted(ratio, explained_variance - 1e-12) + 1, ratio.size))


def subtract_components(matrix, *, ncomp=None, explained_variance=None):
    """Residuals of the rows of a mean-centred matrix after removing its first principal components.

    Parameters
    ----------
    matrix : ndarray, shape ``(n, p)``, float64
        Mean-centred rows (frames) by columns (pixels).
    ncomp : int, optional
        Number of components removed.
    explained_variance : float, optional
        Instead of ``ncomp``: remove the fewest components whose cumulative
        explained variance reaches this fraction.

    Returns
    -------
    residuals : ndarray, shape ``(n, p)``
    ncomp : int
        The number of components removed.
    """
    n, p = matrix.shape
    if n <= p:  # small Gram matrix: eigen-decomposition, descending order
        eigenvalues, vectors = np.linalg.eigh(matrix @ matrix.T)
        eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
        k = ncomp if ncomp is not None else _components_count(eigenvalues, explained_variance)
        u = vectors[:, :k]
        return matrix - u @ (u.T @ matrix), k
    _, singular, vt = scipy.linalg.svd(matrix, full_matrices=False, check_finite=False)
    k = ncomp if ncomp is not None else _components_count(singular**2, explained_variance)
    v = vt[:k]
    return matrix - (matrix @ v.T) @ v, k


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
        return _check_ncomp(1 if self.ncomp is None else self.ncomp, n_frames), None

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
        k = ncomp if ncomp is not None else _components_count(eigenvalues, explained)
        top = vectors[:, :k]
        for start in range(0, p, _PROJECTION_BLOCK):
            part = matrix[:, start:start + _PROJECTION_BLOCK]
            part -= top @ (top.T @ part)
        return matrix
    with one_blas_thread():
        weights = _projection_weights(matrix @ matrix.T, allowed, ncomp)
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
            weights = _projection_weights(gram, allowed, ncomp)
    else:
        eigenvalues, vectors = np.linalg.eigh(gram)
        eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
        k = ncomp if ncomp is not None else _components_count(eigenvalues, explained)
        top = vectors[:, :k]
        weights = top @ top.T
    residuals = np.zeros((t, n_pixels))
    for block in blocks:
        values = centred(block)
        residuals[:, block] = values - weights @ values
    return residuals


class AnnularPCA(Algorithm, name="pca-annular"):
    """Annular PCA with a rotation-based reference library per frame (VIP's ``pca_annular``).

    The frame is cut into annuli ``asize`` FWHM wide from ``inner_radius`` FWHM
    to the largest circle inscribed in the frame (pixels outside the annuli are 0
    in the residuals). In each annulus the pixels are mean-centred over time;
    for each frame, the reference library is the frames whose rotation relative
    to it moves a source at the annulus's mean radius ``r`` by at least
    ``delta`` FWHM of arc (``|angles[j] - angles[i]| >= delta * fwhm / r``
    radians). Where that leaves fewer than ``ncomp`` frames the threshold is
    lowered to keep the ``ncomp`` frames farthest in angle. The ``ncomp`` first
    principal components of the library are projected out of the frame.

    ``convention="vip"`` reproduces the geometry of VIP's ``pca_annular``
    (vip_hci 2.1) for side-by-side comparisons, three differences in all:

    - the rotation threshold is ``2 arctan(delta * fwhm / (2 r))`` (the angle
      whose chord, rather than arc, at ``r`` is ``delta`` FWHM; the same to
      first order, a little smaller close to the star), ``r`` the annulus's
      central radius;
    - the annuli stop at half the frame size: ``int((ny / 2 - inner) / width)``
      annuli of ``width`` px from ``inner`` px (``ny`` the frame's height),
      the last one moved 1 px inwards (it overlaps the previous one by 1 px and
      its residuals are those kept there), pixels beyond it 0;
    - libraries are not widened to ``ncomp`` frames: a library of fewer frames
      gives all its components (VIP's ``min_frames_lib=2``: a frame with fewer
      than 2 qualifying frames keeps the 2 farthest in angle, where VIP raises
      an error).

    Everything else (centring, libraries, projections) is the same, up to ties:
    a frame exactly at the threshold is kept here on both sides, by VIP only
    on the earlier side. Measured against vip_hci 2.1.1 (bench/bench_algorithms.py):
    final frames with a correlation of 1.0000 on the NACO and synthetic cubes.

    Parameters
    ----------
    ncomp : int
        Number of principal components removed per annulus and frame.
    explained_variance : float, optional
        Instead of ``ncomp``: per annulus, the fewest components whose cumulative
        explained variance over the annulus's frames reaches this fraction; each
        frame's library removes that many (the EIDC organisers' calibration used
        0.90, 0.95 and 0.99).
    asize : float
        Width of the annuli in FWHM (1 FWHM = VIP's default of 4 px at its default 4 px FWHM).
    inner_radius : float
        Inner radius of the first annulus in FWHM.
    delta : float
        Minimum rotation of the reference frames, in FWHM of arc (0 keeps every
        frame, the frame itself included: full-frame PCA per annulus).
    convention : {"exobench", "vip"}
        The annuli, rotation threshold and smallest library: exobench's
        (default, above) or VIP's (see above).
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = AnnularPCA(ncomp=2, delta=0.5).process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    """

    def __init__(self, *, ncomp=1, explained_variance=None, asize=1.0, inner_radius=0.0, delta=1.0,
                 convention="exobench", collapse="median", derotation="bilinear"):
        self.ncomp = ncomp
        self.explained_variance = explained_variance
        self.asize = asize
        self.inner_radius = inner_radius
        self.delta = delta
        self.convention = convention
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
        """
        residuals = self.projections(dataset).subtract(adi_cube(dataset))  # a new array: derotated in place
        return finish(residuals, dataset, self, in_place=True)

    def projections(self, dataset, *, annuli=None):
        """The annuli and per-frame projections learnt from ``dataset``, as
        :class:`AnnularProjections`; ``projections(ds).subtract(ds.cube)`` are
        :meth:`process`'s residuals before derotation.

        Applied to another cube, the same projections subtract what the
        dataset's libraries model: linear in that cube (flux calibration injects
        faint companions this way without recomputing any component).

        ``annuli`` (indices into :meth:`annulus_pixels`) learns those annuli
        only (the others get no projection): each annulus's projections are the
        same whichever others are learnt with it.
        """
        level = _check_level(self.explained_variance, allow_none=True)
        if level is not None:
            return self.projections_by_level(dataset, [level], annuli=annuli)[level]
        pixels, weights, shape = [], [], None
        for shape, pix, matrix, allowed, ncomp in self._annuli(dataset, self.ncomp, only=annuli):
            pixels.append(pix)
            weights.append(None if matrix is None else _projection_weights(matrix @ matrix.T, allowed, ncomp))
        return AnnularProjections(shape=shape, pixels=tuple(pixels), weights=tuple(weights))

    def residual_part(self, dataset, part, parts):
        """Piece ``part`` of ``parts`` of :meth:`process`'s residuals: the annuli
        ``part, part + parts, ...`` (interleaved, so that pieces cost about the
        same: outer annuli have more pixels and larger libraries).

        Pieces are independent (one task each on a cluster);
        :meth:`process_parts` assembles them into exactly :meth:`process`'s result.

        Returns
        -------
        list of (int, ndarray, ndarray)
            Per annulus of the piece: its index, its flat pixel indices and its
            ``(t, pixels)`` residuals.

        Examples
        --------
        >>> import numpy as np
        >>> from exobench.examples import example_dataset
        >>> ds = example_dataset(n_frames=20, size=33)
        >>> pca = AnnularPCA(ncomp=2)
        >>> pieces = [pca.residual_part(ds, part, 2) for part in range(2)]
        >>> np.array_equal(pca.process_parts(ds, pieces).final, pca.process(ds).final)
        True
        """
        check_integer(parts, "parts")
        check_integer(part, "part")
        if parts < 1 or not 0 <= part < parts:
            raise ValueError(f"part, parts: expected 0 <= part < parts, got part={part!r}, parts={parts!r}")
        cube = adi_cube(dataset)
        chosen = list(range(part, len(self.annulus_pixels(dataset)), parts))
        projections = self.projections(dataset, annuli=chosen)
        flat = projections.subtract(cube, annuli=chosen).reshape(cube.shape[0], -1)
        return [(index, projections.pixels[index], flat[:, projections.pixels[index]]) for index in chosen]

    def process_parts(self, dataset, pieces):
        """:meth:`process`'s result from all the pieces of :meth:`residual_part`
        (the same numbers, bit for bit)."""
        expected = len(self.annulus_pixels(dataset))  # (checks the dataset)
        shape = np.shape(dataset.cube)
        residuals = np.zeros(shape, dtype=np.float64)
        flat = residuals.reshape(shape[0], -1)
        annuli = sorted((entry for piece in pieces for entry in piece), key=lambda entry: entry[0])
        if [entry[0] for entry in annuli] != list(range(expected)):
            raise ValueError(f"pieces: expected the residuals of each of the dataset's {expected} annuli once, "
                             f"got annuli {[entry[0] for entry in annuli]}")
        for _, pixels, values in annuli:  # in annulus order: a later annulus wins where two overlap
            flat[:, pixels] = values
        return finish(residuals, dataset, self, in_place=True)

    def projections_by_level(self, dataset, levels, *, previous=None, annuli=None):
        """:meth:`projections` for several explained-variance levels at once
        (``explained_variance`` and ``ncomp`` ignored): each library is
        diagonalised once for all levels. Returns ``{level: AnnularProjections}``.

        ``previous`` may be ``(cube, projections_by_level_result)`` from a cube
        of the same shape and angles: annuli whose pixels are equal in both
        cubes keep their projections (exact; what re-fitting after injecting a
        few companions needs, which change only their own annuli).

        ``annuli`` (indices into :meth:`annulus_pixels`) limits the work to
        those annuli; the others get no projection (``None``) and zero
        residuals. Annuli are independent, so they are solved on numba's
        threads (as many as cores, or ``NUMBA_NUM_THREADS``), one BLAS thread each.
        """
        levels = [_check_level(level) for level in levels]
        old_flat = None if previous is None else np.asarray(previous[0]).reshape(np.shape(dataset.cube)[0], -1)
        new_flat = np.asarray(dataset.cube).reshape(np.shape(dataset.cube)[0], -1)
        pixels, jobs, weights, shape = [], {}, {level: [] for level in levels}, None
        for index, (shape, pix, matrix, allowed, _) in enumerate(self._annuli(dataset, 1, only=annuli)):
            pixels.append(pix)
            if matrix is None:
                continue
            old = None if old_flat is None else [previous[1][level].weights[index] for level in levels]
            if old is not None and all(w is not None for w in old) and np.array_equal(old_flat[:, pix],
                                                                                     new_flat[:, pix]):
                jobs[index] = old
            else:
                jobs[index] = (matrix, allowed)
        solved = _solve_annuli({i: job for i, job in jobs.items() if isinstance(job, tuple)}, levels)
        for index in range(len(pixels)):
            out = solved.get(index, jobs.get(index))
            for position, level in enumerate(levels):
                weights[level].append(None if out is None else out[position])
        return {level: AnnularProjections(shape=shape, pixels=tuple(pixels), weights=tuple(weights[level]))
                for level in levels}

    def annulus_pixels(self, dataset):
        """The flat pixel indices of each annulus, in the order of :meth:`projections_by_level`."""
        return [pix for _, pix, _, _, _ in self._annuli(dataset, 1, only=())]

    def _annuli(self, dataset, ncomp, *, only=None):
        """Per annulus: the cube's shape, its pixels, its centred ``(t, pixels)``
        matrix, the libraries (at least ``ncomp`` frames each) and the checked ``ncomp``
        (matrix and libraries ``None`` for annuli not in ``only``, when given)."""
        cube = adi_cube(dataset)
        check_common(self)
        t, ny, nx = cube.shape
        ncomp = _check_ncomp(ncomp, t)
        _check_level(self.explained_variance, allow_none=True)
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        delta = check_number(self.delta, "delta")
        check_choice(self.convention, "convention", CONVENTIONS)
        vip = self.convention == "vip"
        fwhm = float(dataset.fwhm)
        if vip:
            masks, radii = vip_annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        else:
            masks, radii = annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        flat = cube.reshape(t, ny * nx)
        angles = np.asarray(dataset.angles, dtype=np.float64)
        # Small eigenproblems run faster on one BLAS thread (threads cost more than they give
        # at this size, and fight with any other process on the cores).
        with one_blas_thread():
            for index, (mask, radius) in enumerate(zip(masks, radii)):
                pixels = np.flatnonzero(mask.ravel())
                if only is not None and index not in only:
                    yield cube.shape, pixels, None, None, ncomp
                    continue
                matrix = flat[:, pixels]
                matrix = matrix - matrix.mean(axis=0)
                if vip:  # the chord formula, libraries of at least min(2, t) frames
                    thresholds, distance = rotation_thresholds(angles, radius, delta, fwhm, min(2, t),
                                                               formula="chord")
                else:
                    thresholds, distance = rotation_thresholds(angles, radius, delta, fwhm, ncomp)
                yield cube.shape, pixels, matrix, distance >= thresholds[:, None], ncomp


def _check_level(level, *, allow_none=False):
    return check_range(level, "explained_variance", 0, 1, closed="neither", allow_none=allow_none)


class AnnularProjections:
    """What annular PCA learnt from a dataset: per annulus, its pixels and the
    ``(t, t)`` matrix ``W`` whose row ``i`` projects frame ``i`` onto the first
    components of its library (see :meth:`AnnularPCA.projections`)."""

    def __init__(self, *, shape, pixels, weights):
        self.shape = tuple(shape)
        self.pixels = pixels
        self.weights = weights

    def subtract(self, cube, *, annuli=None):
        """Residuals of ``cube`` (same shape as the dataset's), a new float64 array:
        in each annulus the cube's own temporal mean is removed and ``W @ M``
        subtracted; pixels outside the annuli (or in annuli without projections,
        or not in ``annuli``, indices of the annuli to compute, when given) are 0."""
        return subtract_each([self], cube, annuli=annuli)[0]


def subtract_each(projections, cube, *, annuli=None, out=None, threads=1):
    """``[p.subtract(cube, annuli=annuli) for p in projections]``, the same bytes, with each
    annulus of ``cube`` read and centred once for all (projections of the same annuli, for
    example one per explained-variance level of :meth:`AnnularPCA.projections_by_level`).

    ``out``, one float64 C-contiguous array of the cube's shape per projection, receives
    the residuals instead of new arrays: every pixel of the annuli computed is written
    (0 where the result is 0) and the others keep their values, so buffers serve many
    calls that read only the annuli they compute (no fresh pages to clear at each).

    ``threads``: annuli computed at once (``None``: as many as numba's threads, which Dask
    workers limit to 1), each on one BLAS thread; the same bytes for any number.
    """
    first = projections[0]
    cube = np.asarray(cube)
    if cube.shape != first.shape:
        raise ValueError(f"cube: expected shape {first.shape} (the dataset's), got {cube.shape}")
    t = first.shape[0]
    flat = cube.reshape(t, -1)
    if out is None:
        residuals, reused = [np.zeros((t, flat.shape[1]), dtype=np.float64) for _ in projections], False
    else:
        residuals, reused = [_flat_out(o, first.shape, len(projections), len(out)) for o in out], True
    chosen = range(len(first.pixels)) if annuli is None else annuli
    # left out: annuli without projections (AnnularPCA.projections_by_level)
    indices = [i for i in chosen if any(p.weights[i] is not None for p in projections)]

    def subtract(index):
        """One annulus: ``(pixels, values)`` to write into every output (``None``: no light)."""
        pixels = first.pixels[index]
        matrix = flat[:, pixels].astype(np.float64, copy=False)  # fancy indexing copied already
        lit = matrix.any(axis=0)
        if not lit.any():  # an annulus without light (a companions-only cube): residuals 0
            return pixels, None
        matrix = matrix[:, lit]
        matrix -= matrix.mean(axis=0)
        return pixels[lit], [None if p.weights[index] is None else matrix - p.weights[index] @ matrix
                             for p in projections]

    def write(index, pixels, values):  # in annulus order: where annuli overlap (vip), the later wins
        whole = first.pixels[index]
        for k, target in enumerate(residuals):
            value = None if values is None else values[k]
            if value is None:  # no light, or no projection: 0 (new arrays are 0 already)
                if reused:
                    target[:, whole] = 0.0
                continue
            if pixels.size != whole.size:  # dark pixels: 0, what the product gives a zero column
                target[:, whole] = 0.0
            target[:, pixels] = value

    # annuli are independent: computed on several threads (one BLAS thread each), written in order
    threads = min(len(indices), kernel_threads() if threads is None else int(threads))
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with one_blas_thread(), ThreadPoolExecutor(threads) as pool:
            for index, (pixels, values) in zip(indices, pool.map(subtract, indices)):
                write(index, pixels, values)
    else:
        for index in indices:
            write(index, *subtract(index))
    return list(out) if reused else [r.reshape(first.shape) for r in residuals]


def _flat_out(array, shape, expected, given):
    """One buffer of ``subtract_each(..., out=...)``, checked, as a ``(t, pixels)`` view."""
    if given != expected:
        raise ValueError(f"out: expected {expected} arrays (one per projection), got {given}")
    if not (isinstance(array, np.ndarray) and array.shape == tuple(shape) and array.dtype == np.float64
            and array.flags.c_contiguous and array.flags.writeable):
        raise ValueError(f"out: expected writeable C-contiguous float64 arrays of shape {tuple(shape)}, got "
                         f"{getattr(array, 'dtype', type(array).__name__)} of shape {getattr(array, 'shape', None)}")
    return array.reshape(shape[0], -1)


def _variance_weights(gram, allowed, levels):
    """For each of ``levels``, the weights of :func:`_projection_weights` with the
    number of components set per annulus: the fewest whose cumulative explained
    variance over all the annulus's frames reaches the level (a library of fewer
    frames gives all of its components)."""
    spectrum = np.linalg.eigvalsh(gram)[::-1]
    return library_weights(gram, allowed, [_components_count(spectrum, level) for level in levels])


def library_weights(gram, allowed, counts):
    """For each number of components in ``counts``, the ``(t, t)`` matrix ``W``
    whose row ``i`` projects frame ``i`` onto the first components of its library.

    ``gram`` is ``M M^T`` of the centred ``(t, pixels)`` matrix ``M``;
    ``allowed[i, j]`` says whether frame ``j`` is in frame ``i``'s library. Each
    distinct library is diagonalised once (``eigh``, batched by library size)
    for every count; a library of fewer frames than a count gives all of its
    components, and numerically null components are left out.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = rng.normal(size=(6, 40))
    >>> everyone = np.ones((6, 6), dtype=bool)
    >>> w0, w6 = library_weights(m @ m.T, everyone, [0, 6])
    >>> bool(np.all(w0 == 0)), bool(np.allclose(w6 @ m, m))
    (True, True)
    """
    gram = np.asarray(gram, dtype=np.float64)
    allowed = np.asarray(allowed, dtype=bool)
    first, group = _distinct_rows(allowed)
    outputs = [np.zeros_like(gram) for _ in counts]
    sizes = allowed[first].sum(axis=1)
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        libraries = np.nonzero(allowed[first[members]])[1].reshape(members.size, size)
        values, vectors = np.linalg.eigh(gram[libraries[:, :, None], libraries[:, None, :]])
        values, vectors = values[:, ::-1], vectors[:, :, ::-1]  # largest first
        floor = np.finfo(float).eps * size * np.maximum(values[:, :1], 0.0)
        inverse = np.where(values > floor, 1.0 / np.where(values > floor, values, 1.0), 0.0)
        # every frame whose library is one of these, with its library's eigenpairs
        slot = np.full(first.size, -1)
        slot[members] = np.arange(members.size)
        frames = np.flatnonzero(slot[group] >= 0)
        which = slot[group[frames]]
        basis, library = vectors[which], libraries[which]
        cross = gram[library, frames[:, None]]  # (frames, size): the frame against its library
        coefficients = (basis.transpose(0, 2, 1) @ cross[:, :, None])[:, :, 0] * inverse[which]
        for out, k in zip(outputs, counts):
            out[frames[:, None], library] = (basis[:, :, :k] @ coefficients[:, :k, None])[:, :, 0]
    return outputs


def _solve_annuli(jobs, levels):
    """``{index: _variance_weights(...)}`` of ``{index: (matrix, allowed)}``, annuli spread
    over numba's threads (LAPACK releases the GIL; each annulus alone, so the
    results do not depend on the number of threads)."""
    if not jobs:
        return {}

    def solve(item):
        matrix, allowed = item
        return _variance_weights(matrix @ matrix.T, allowed, levels)

    threads = min(len(jobs), kernel_threads())
    with one_blas_thread():
        if threads <= 1:
            return {index: solve(job) for index, job in jobs.items()}
        from concurrent.futures import ThreadPoolExecutor

        with one_blas_thread(), ThreadPoolExecutor(threads) as pool:
            return dict(zip(jobs, pool.map(solve, jobs.values())))


def _projection_weights(gram, allowed, ncomp):
    """``W`` such that row ``i`` of ``W @ M`` projects ``M[i]`` onto its library's first components.

    ``gram`` is ``M M^T``; ``allowed[i, j]`` says whether frame ``j`` is in the
    library of frame ``i``. One compiled call per matrix: a small eigenproblem
    per frame (the ``ncomp`` largest eigenpairs of the library's Gram block,
    see :mod:`exobench.algorithms._eigen`), frames spread over numba's threads.
    """
    return projection_weights(gram, allowed, ncomp)
