"""Non-negative matrix factorisation (NMF) PSF subtraction (Lee & Seung 1999; Ren et al. 2018).

The frames, made non-negative, form a ``frames x pixels`` matrix ``X``; its
factorisation ``X ~ W H`` (``W, H >= 0``, ``H`` holding ``ncomp`` component
images) models the star's PSF, and each frame's residual is the frame minus
its model. The residual cube is derotated and collapsed.

Negative pixels (background-subtracted data) are made non-negative by one
offset per matrix (``negatives="shift"``: the matrix's minimum is subtracted,
and added back to the model, so that the frames' differences are kept; a
per-frame offset would add a frame-to-frame constant drawn from each frame's
noise that the components would then have to model) or by clipping them to 0
(``"clip"``: the model of the clipped frames is subtracted from the frames as
they are).

A third handling, for :class:`AnnularNMF` only, reproduces vip-hci's
``nmf_annular(handle_neg="subtr_min")`` (``negatives="frame"``): the cube is
shifted by its minimum, then in each annulus the library by the annulus's
minimum and each frame by its own minimum before its projection, and the model
is subtracted from the frame without shifting it back. Each residual frame then
keeps a constant, its own minimum over the annulus, which differs from annulus
to annulus and from frame to frame; collapsed, these constants leave a ring of
its own level in each annulus of the final frame, which is why it is not the
default (measured against vip-hci 2.1.1 on the NACO cube, docs/benchmarks.md:
the default ``"shift"`` gives a final frame correlated at 0.16 with VIP's, all of the gap being
these constants; ``negatives="frame"`` with ``convention="vip"`` 0.996).

Full frame (:class:`NMF`): one factorisation of every frame; a frame's model
is its row of ``W H`` (``weights="fit"``) or its weights solved again with the
components fixed (``weights="transform"``, scikit-learn's ``transform``, as
vip-hci's ``nmf``: the multiplicative updates stop early, so the two differ).
Annular (:class:`AnnularNMF`): per annulus, each frame's
reference library leaves out the frames too close in parallactic angle (as
annular PCA), the library is factorised, and the frame's model is its
non-negative least-squares projection onto the library's components (its row
of ``W H`` when it belongs to its library, ``delta=0``).

Two solvers (:mod:`exobench.algorithms._nmf`): scikit-learn's coordinate
descent (``solver="sklearn"``, one factorisation at a time) and multiplicative
updates written here (``solver="multiplicative"``), which factorise every
library of an annulus in one batch of matrix products; docs/benchmarks.md
compares them.
"""

import numpy as np

from .._threads import kernel_threads, one_blas_thread
from .._validate import check_choice, check_integer, check_number
from ..geometry import polar_grid
from ._eigen import _distinct_rows
from ._nmf import (NEGATIVES, multiplicative_factorisation, multiplicative_weights, nonnegative,
                   nonnegative_models, sklearn_factorisation)
from .annuli import annuli, rotation_thresholds, vip_annuli
from .base import Algorithm, adi_cube, check_common, finish, is_private_copy
from .pca_annular import CONVENTIONS
from .projections import check_ncomp

__all__ = ["NMF", "AnnularNMF", "SOLVERS", "PRECISIONS", "WEIGHTS", "STARTS"]

#: The factorisation solvers of :class:`NMF` and :class:`AnnularNMF`.
SOLVERS = ("sklearn", "multiplicative")

#: The floating-point precisions of the factorisation (numpy types).
PRECISIONS = {"double": np.float64, "single": np.float32}

#: Where :class:`NMF` takes the frames' weights from.
WEIGHTS = ("fit", "transform")

#: The starts of :class:`NMF`'s multiplicative solver.
STARTS = ("exact", "randomized")


class _Factorisation(Algorithm):
    """The options and checks the two NMF classes share."""

    #: The accepted values of ``negatives``.
    _NEGATIVES = NEGATIVES

    def _checked(self, dataset, *, in_precision=False):
        """``(cube, ncomp, max_iter, tol)``: the cube (float64, or in ``precision`` with ``in_precision``) and the
        options, after checking them all."""
        check_choice(self.precision, "precision", tuple(PRECISIONS))
        cube = adi_cube(dataset, dtype=PRECISIONS[self.precision] if in_precision else np.float64)
        check_common(self)
        ncomp = check_ncomp(self.ncomp, cube.shape[0])
        check_choice(self.negatives, "negatives", self._NEGATIVES)
        check_choice(self.solver, "solver", SOLVERS)
        max_iter = check_integer(self.max_iter, "max_iter", minimum=1)
        tol = check_number(self.tol, "tol")
        check_integer(self.random_state, "random_state", minimum=0, maximum=2**32 - 1,
                      what="a seed of numpy's legacy generator")
        return cube, ncomp, max_iter, tol

    def _factorise(self, matrix, ncomp, max_iter, tol, libraries, start="exact", transform=False):
        """``(W, H)``, shapes ``(L, t, k)`` and ``(L, k, p)``: the factorisation of each library (rows); with
        ``transform``, the weights of each library's frames solved again with its components fixed."""
        dtype = PRECISIONS[self.precision]
        if self.solver == "multiplicative":
            return multiplicative_factorisation(matrix, ncomp, rows=libraries, max_iter=max_iter, tol=tol,
                                                dtype=dtype, start=start, random_state=self.random_state,
                                                transform=transform)
        weights = np.zeros((len(libraries), matrix.shape[0], ncomp))
        components = np.zeros((len(libraries), ncomp, matrix.shape[1]), dtype=dtype)
        for index, rows in enumerate(libraries):
            frames = matrix[rows].astype(dtype, copy=False)
            weights[index, rows], components[index] = sklearn_factorisation(
                frames, ncomp, max_iter=max_iter, tol=tol, random_state=self.random_state)
            if transform:
                weights[index, rows] = multiplicative_weights(frames, components[index], max_iter=max_iter, tol=tol)
        return weights, components

    def _residuals(self, values, allowed, ncomp, max_iter, tol, *, transform=False, start="exact", overwrite=False):
        """Residuals (a new array, of ``values``'s precision) of the ``(t, p)`` ``values``; ``allowed[i, j]``: frame
        ``j`` in ``i``'s library (``transform``: the weights of the frames of their own library solved again,
        :func:`multiplicative_weights`; ``overwrite``: ``values`` is the caller's own copy, which the shift may change
        in place)."""
        per_frame = self.negatives == "frame"
        if per_frame:  # the minimum subtracted whatever its sign: every matrix, the frames too, starts at 0
            positive, offset = values - values.min(), 0.0
        else:  # shifted in place where allowed: only the shifted frames are used from here on
            positive, offset = nonnegative(values, self.negatives, overwrite=overwrite and self.negatives == "shift")
        if not positive.any():  # no light (padding, a masked region): nothing to model
            return positive if positive is values else values + offset
        ncomp = min(ncomp, values.shape[1])
        first, group = _distinct_rows(allowed)
        weights, components = self._factorise(positive, ncomp, max_iter, tol, allowed[first], start, transform)
        if per_frame:  # every frame, shifted by its own minimum, projected; the model not shifted back
            model = nonnegative_models(values - values.min(axis=1, keepdims=True), components, group)
            np.subtract(values, model, out=model)
            return model
        model = np.empty_like(values)
        outside = ~np.diagonal(allowed)
        if outside.any():  # frames outside their library: projected onto its components
            model[outside] = nonnegative_models(positive[outside], components, group[outside])
        for index in range(first.size):  # per library: a loop over libraries (at most the frames), not pixels
            members = np.flatnonzero(group == index)
            inside = members[allowed[members, members]]
            every = inside.size == len(values)  # one library of every frame (full frame): no copies
            if every:  # frames of their own library: their rows of W H
                np.matmul(weights[index].astype(model.dtype, copy=False), components[index].astype(model.dtype),
                          out=model)
            elif inside.size:
                model[inside] = weights[index, inside] @ components[index]
        if offset:  # the model of the shifted frames: the residuals are the shifted frames minus it
            np.subtract(positive, model, out=model)
        else:
            np.subtract(values, model, out=model)  # the residuals, in the model's memory
        return model


class NMF(_Factorisation, name="nmf"):
    """Full-frame NMF PSF subtraction: one factorisation of every frame.

    Each frame's model is its row of ``W H`` (``ncomp`` non-negative
    components); the residuals are the frames minus their models (see the
    module's text for the handling of negative pixels).

    Parameters
    ----------
    ncomp : int
        Number of components. At most the number of frames.
    negatives : {"shift", "clip"}
        How negative pixels are made non-negative: subtract the matrix's minimum
        (added back to the model) or set them to 0.
    solver : {"sklearn", "multiplicative"}
        scikit-learn's coordinate descent (``NMF(init="nndsvda", solver="cd")``)
        or the multiplicative updates of :mod:`exobench.algorithms._nmf` (from an exact NNDSVDa start).
    max_iter : int
        Most iterations of the solver (stopping there is not an error).
    tol : float
        Stop when the error fell by less than ``tol`` of its initial value over
        10 iterations (multiplicative) or scikit-learn's ``tol`` (coordinate descent).
    random_state : int
        Seed of scikit-learn's randomised SVD at initialisation (the
        multiplicative solver's start is exact and needs none).
    weights : {"fit", "transform"}
        The frames' weights: their rows of the factorisation's ``W``, or solved
        again with the components fixed by multiplicative updates from a
        constant start (scikit-learn's ``NMF(solver="mu").transform``, what
        vip-hci's ``nmf`` does; the updates stop by ``tol`` as the fit's do, so
        the weights differ from the fit's).
    precision : {"double", "single"}
        Floating-point precision. Single, as vip-hci's float32 cube: the cube is
        read, shifted and factorised, and the residual cube derotated, in single
        precision (``Result.residuals`` is float32; the final frame, its median or
        mean, float64), faster than double; the start and the errors of the
        stopping rule are computed in double precision either way.
    start : {"exact", "randomized"}
        The multiplicative solver's NNDSVDa start: from the exact singular
        vectors, or from scikit-learn's randomised SVD seeded with
        ``random_state`` (scikit-learn's own start, as in vip-hci's ``nmf``; the
        weaker components, poorly determined, then differ).
    inner_radius : float, optional
        In FWHM. When given, only the pixels at ``r >= inner_radius * fwhm``
        enter the factorisation (the star's core would otherwise dominate the
        squared error); those inside are 0 in the residuals.
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> result = NMF(ncomp=3).process(ds)
    >>> result.residuals.shape, result.final.shape
    ((20, 33, 33), (33, 33))
    """

    def __init__(self, *, ncomp=5, negatives="shift", solver="sklearn", max_iter=200, tol=1e-4, random_state=0,
                 weights="fit", precision="double", start="exact", inner_radius=None, collapse="median",
                 derotation="bilinear"):
        self.ncomp = ncomp
        self.negatives = negatives
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.weights = weights
        self.precision = precision
        self.start = start
        self.inner_radius = inner_radius
        self.collapse = collapse
        self.derotation = derotation

    def process(self, dataset):
        """Subtract the PSF from ``dataset`` (an ADI :class:`~exobench.data.Dataset`).

        Returns
        -------
        Result
        """
        cube, ncomp, max_iter, tol = self._checked(dataset, in_precision=True)
        t, ny, nx = cube.shape
        inner = check_number(self.inner_radius, "inner_radius", allow_none=True)
        check_choice(self.weights, "weights", WEIGHTS)
        transform = self.weights == "transform"
        check_choice(self.start, "start", STARTS)
        options = {"transform": transform, "start": self.start}
        flat = cube.reshape(t, ny * nx)
        if inner is not None:
            radius, _ = polar_grid(cube.shape)
            selected = np.flatnonzero(radius.ravel() >= inner * dataset.fwhm)
            if selected.size == 0:
                raise ValueError(f"inner_radius: leaves no pixel in the frame, got {inner:g} FWHM")
        everyone = np.ones((t, t), dtype=bool)
        with one_blas_thread():  # the same bytes on any machine
            if inner is None:  # the cube, where it is our own copy, shifted in place
                residuals = self._residuals(flat, everyone, ncomp, max_iter, tol, **options,
                                            overwrite=is_private_copy(cube, dataset))
            else:
                residuals = np.zeros_like(flat)
                residuals[:, selected] = self._residuals(flat[:, selected], everyone, ncomp, max_iter, tol, **options)
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)


class AnnularNMF(_Factorisation, name="nmf-annular"):
    """Annular NMF with a rotation-based reference library per frame.

    The frame is cut into annuli ``asize`` FWHM wide from ``inner_radius`` FWHM
    to the largest circle inscribed in the frame (pixels outside are 0 in the
    residuals). In each annulus, frame ``i``'s library is the frames ``j`` with
    ``|angles[j] - angles[i]| >= delta * fwhm / r`` radians (``r`` the annulus's
    mean radius; lowered to keep the ``ncomp`` frames farthest in angle where
    fewer qualify), as in :class:`~exobench.algorithms.AnnularPCA`. Each
    distinct library is factorised (``ncomp`` components, at most the annulus's
    pixel count) and frame ``i``'s model is its non-negative least-squares
    projection onto its library's components; with ``delta=0`` every frame is
    in one library and its model is its row of ``W H``.

    ``convention="vip"`` takes VIP's annuli and rotation threshold (as
    :class:`~exobench.algorithms.AnnularPCA`'s: ``int((ny / 2 - inner) / width)``
    annuli, the last 1 px further in; ``2 arctan(delta * fwhm / 2r)``; libraries
    of at least 2 frames, not ``ncomp``). With ``negatives="frame"`` it reproduces
    vip-hci's ``nmf_annular(n_segments=1, handle_neg="subtr_min")`` up to the
    solver's start (exact here, randomised there), the library's offset (the
    annulus's minimum here, each library's own there) and the projection
    (non-negative least squares here, multiplicative updates there), and its PA threshold cap
    (90 % of half the total rotation, which VIP applies to the innermost annuli
    of cubes with little rotation).

    The per-frame libraries cost one factorisation per frame and annulus
    (libraries are distinct as soon as ``delta > 0``), which the multiplicative
    solver computes in one batch per annulus; docs/benchmarks.md gives the
    run times of both solvers.

    Parameters
    ----------
    ncomp : int
        Number of components per library. At most the number of frames.
    negatives : {"shift", "clip", "frame"}
        How negative pixels are made non-negative (per annulus): subtract the
        annulus's minimum over the frames (added back to the model), set them to
        0, or vip-hci's convention (see the module's text: each frame shifted by
        its own minimum, the model not shifted back).
    solver : {"sklearn", "multiplicative"}
        scikit-learn's coordinate descent, one library at a time, or the
        multiplicative updates, every library of an annulus at once.
    max_iter : int
        Most iterations of the solver per library.
    tol : float
        Stopping tolerance of the solver (see :class:`NMF`).
    random_state : int
        Seed of scikit-learn's randomised SVD at initialisation.
    precision : {"double", "single"}
        Floating-point precision of the factorisations (see :class:`NMF`; single:
        faster, as the products with the frames are; the start, the errors of the
        stopping rule and the projections are computed in double precision).
    asize : float
        Width of the annuli in FWHM.
    inner_radius : float
        Inner radius of the first annulus in FWHM.
    delta : float
        Minimum rotation of the reference frames, in FWHM of arc (0 keeps every
        frame, the frame itself included: one factorisation per annulus).
    convention : {"exobench", "vip"}
        The annuli and rotation threshold: exobench's or VIP's (see above).
    collapse : {"median", "mean"}
        How the derotated residual cube is collapsed into the final frame.
    derotation : {"bilinear", "bicubic", "fft"}
        Interpolation of :func:`exobench.geometry.derotate_cube`.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=20, size=33)
    >>> AnnularNMF(ncomp=2, delta=0.5).process(ds).final.shape
    (33, 33)
    """

    _NEGATIVES = NEGATIVES + ("frame",)

    def __init__(self, *, ncomp=3, negatives="shift", solver="multiplicative", max_iter=200, tol=1e-4,
                 random_state=0, precision="double", asize=1.0, inner_radius=0.0, delta=1.0, convention="exobench",
                 collapse="median", derotation="bilinear"):
        self.ncomp = ncomp
        self.negatives = negatives
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.precision = precision
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
        cube, ncomp, max_iter, tol = self._checked(dataset)
        t, ny, nx = cube.shape
        asize = check_number(self.asize, "asize", strict=True)
        inner = check_number(self.inner_radius, "inner_radius")
        delta = check_number(self.delta, "delta")
        check_choice(self.convention, "convention", CONVENTIONS)
        vip = self.convention == "vip"
        fwhm = float(dataset.fwhm)
        angles = np.asarray(dataset.angles, dtype=np.float64)
        if vip:
            masks, radii = vip_annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        else:
            masks, radii = annuli(cube.shape, inner_radius=inner * fwhm, width=asize * fwhm)
        flat = cube.reshape(t, ny * nx)
        if self.negatives == "frame":  # the cube shifted by its minimum first; the residuals keep the shift
            flat = flat - flat.min()
        jobs = []
        for mask, radius in zip(masks, radii):
            if vip:  # the chord formula, libraries of at least min(2, t) frames
                thresholds, distance = rotation_thresholds(angles, radius, delta, fwhm, min(2, t), formula="chord")
            else:
                thresholds, distance = rotation_thresholds(angles, radius, delta, fwhm, ncomp)
            jobs.append((np.flatnonzero(mask.ravel()), distance >= thresholds[:, None]))

        def solve(job):
            pixels, allowed = job
            return self._residuals(flat[:, pixels], allowed, ncomp, max_iter, tol, overwrite=True)  # a copy

        residuals = np.zeros_like(flat)
        # annuli are independent: spread over numba's threads (one BLAS thread each: many small products,
        # faster on one thread), each computed alone, so that the bytes depend on neither the machine nor
        # the number of threads; written in annulus order (where VIP's annuli overlap, the later wins)
        threads = min(len(jobs), kernel_threads())
        with one_blas_thread():
            if threads > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(threads) as pool:
                    for (pixels, _), values in zip(jobs, pool.map(solve, jobs)):
                        residuals[:, pixels] = values
            else:
                for pixels, allowed in jobs:
                    residuals[:, pixels] = solve((pixels, allowed))
        return finish(residuals.reshape(cube.shape), dataset, self, in_place=True)
