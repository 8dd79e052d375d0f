"""Annular principal component analysis.

The full-frame PCA (:class:`~exobench.algorithms.PCA`) per annulus, with a reference library
per frame that leaves out the frames too close in parallactic angle (where a
companion would not have moved by ``delta`` FWHM), to limit self-subtraction.

Each distinct library's small eigenproblem is compiled (:mod:`exobench.algorithms._eigen`,
frames spread over numba's threads), and each annulus is one matrix product
(:mod:`exobench.algorithms.projections`).
"""

import numpy as np

from .._threads import kernel_threads, one_blas_thread
from .._validate import check_choice, check_integer, check_number
from ._eigen import projection_weights
from .annuli import annuli, rotation_thresholds, vip_annuli
from .base import Algorithm, adi_cube, check_common, finish
from .projections import check_explained_variance, check_ncomp, variance_weights

__all__ = ["AnnularPCA", "AnnularProjections", "subtract_each", "CONVENTIONS"]

#: Geometry conventions of :class:`AnnularPCA`.
CONVENTIONS = ("exobench", "vip")


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
        level = check_explained_variance(self.explained_variance, allow_none=True)
        if level is not None:
            return self.projections_by_level(dataset, [level], annuli=annuli)[level]
        pixels, weights, shape = [], [], None
        for shape, pix, matrix, allowed, ncomp in self._annuli(dataset, self.ncomp, only=annuli):
            pixels.append(pix)
            weights.append(None if matrix is None else projection_weights(matrix @ matrix.T, allowed, ncomp))
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
        levels = [check_explained_variance(level) for level in levels]
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
        ncomp = check_ncomp(ncomp, t)
        check_explained_variance(self.explained_variance, allow_none=True)
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


def _solve_annuli(jobs, levels):
    """``{index: variance_weights(...)}`` of ``{index: (matrix, allowed)}``, annuli spread
    over numba's threads (LAPACK releases the GIL; each annulus alone, so the
    results do not depend on the number of threads)."""
    if not jobs:
        return {}

    def solve(item):
        matrix, allowed = item
        return variance_weights(matrix @ matrix.T, allowed, levels)

    threads = min(len(jobs), kernel_threads())
    with one_blas_thread():
        if threads <= 1:
            return {index: solve(job) for index, job in jobs.items()}
        from concurrent.futures import ThreadPoolExecutor

        with one_blas_thread(), ThreadPoolExecutor(threads) as pool:
            return dict(zip(jobs, pool.map(solve, jobs.values())))
