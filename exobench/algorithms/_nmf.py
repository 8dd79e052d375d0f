"""Non-negative matrix factorisation of frames: ``X ~ W H`` with ``W, H >= 0``.

Two solvers of the Frobenius problem ``min |X - W H|^2``:

- :func:`sklearn_factorisation`: scikit-learn's coordinate descent
  (``sklearn.decomposition.NMF(solver="cd", init="nndsvda")``), one matrix at a time;
- :func:`multiplicative_factorisation`: Lee & Seung's multiplicative updates
  (2001), batched over many reference libraries of the same frames (the rows
  of ``X`` each library keeps), from an NNDSVDa start (Boutsidis & Gallopoulos
  2008) computed exactly from each library's Gram matrix (or from scikit-learn's
  randomised SVD, ``start="randomized"``, its power iterations run on the same
  Gram matrix). Each library stops on
  its own (every 10 iterations, when its error fell by less than ``tol`` of its
  initial error, scikit-learn's rule), so that its iterations do not depend
  on the libraries solved with it; the errors come from their expansion in
  double precision, without forming ``W H``. The products with the frames are BLAS's,
  one per update for every library at once; the updates themselves (each
  factor multiplied by its numerator over its denominator, and the new
  factor's Gram matrix) and the NNDSVD are compiled
  (:mod:`exobench.algorithms._nmf_kernels`). A single library of every frame
  (full-frame NMF) runs compiled iterations that read the frames once each,
  products included. The working copies (the frames in the updates' precision,
  their transpose, their double-precision copy for the start) come from one
  compiled pass over the frames.

Frames are the rows of ``X`` (samples), pixels its columns: ``H`` holds the
``k`` component images, ``W`` each frame's non-negative weights. A frame outside
a library is projected onto its components by non-negative least squares
(:func:`nonnegative_models`); :func:`multiplicative_weights` solves the
weights again with the components fixed (scikit-learn's ``transform``), which
:func:`multiplicative_factorisation` does from the ``H X^T`` of its last
iteration (``transform=True``: no further pass over the frames).
"""

import functools
import warnings

import numpy as np
import scipy.linalg
import scipy.optimize

from .._threads import kernel_threads
from ._eigen import top_eigenvectors_batch

__all__ = ["NEGATIVES", "nonnegative", "sklearn_factorisation", "multiplicative_factorisation",
           "multiplicative_weights", "nonnegative_models"]

#: How negative pixels are made non-negative (see :func:`nonnegative`).
NEGATIVES = ("shift", "clip")

#: Smallest denominator of a multiplicative update (scikit-learn's, the float32 epsilon).
_EPSILON = float(np.finfo(np.float32).eps)

#: Iterations between two convergence checks (scikit-learn's).
_CHECK_EVERY = 10

#: Largest move of an error of the stopping rule by rounding, in tolerances times the initial error,
#: below which the error's expansion is used (:func:`_expanded_errors`).
_ALLOWED = 0.01

#: Frames of at least this many values spread each iteration of a single library over numba's threads
#: (an iteration of smaller ones takes under about 0.2 ms, not much more than what a parallel region can
#: lose on a busy machine); the bytes are the same either way.
_THREADED_SIZE = 250_000

#: The unit roundoff of double precision.
_UNIT = np.finfo(np.float64).eps / 2

#: Most values of the libraries' Gram blocks diagonalised at once (memory bound, about 4 MB).
_GRAM_VALUES = 500_000

#: Most components whose non-negative least squares try every subset of them (:func:`nonnegative_models`).
_SUBSET_COMPONENTS = 6

#: Largest library whose start solves its few eigenpairs in compiled code (LAPACK's full solver above):
#: with the few components of NMF the compiled solver is the faster up to about this size.
_COMPILED_EIGEN_SIZE = 128


def nonnegative(matrix, negatives, *, overwrite=False):
    """``(positive, offset)``: ``matrix`` made non-negative, and what was added to it.

    ``"shift"`` adds ``offset = -min(matrix)`` when the minimum is negative (one
    constant for the whole matrix: the frames' differences are kept), so that a
    model of ``positive`` minus ``offset`` models ``matrix``; ``"clip"`` sets the
    negative pixels to 0 (``offset`` 0). With ``overwrite``, ``positive`` is
    ``matrix`` itself, changed in place (no copy).

    Examples
    --------
    >>> nonnegative(np.array([[-1.0, 2.0]]), "shift")
    (array([[0., 3.]]), 1.0)
    >>> nonnegative(np.array([[-1.0, 2.0]]), "clip")
    (array([[0., 2.]]), 0.0)
    """
    out = matrix if overwrite else None
    if negatives == "shift":
        offset = max(-float(matrix.min()), 0.0)
        return np.add(matrix, offset, out=out), offset
    return np.clip(matrix, 0.0, None, out=out), 0.0


def sklearn_factorisation(matrix, ncomp, *, max_iter, tol, random_state):
    """``(W, H)`` of ``sklearn.decomposition.NMF(ncomp, init="nndsvda", solver="cd")`` on ``matrix``.

    ``random_state`` seeds the randomised SVD of its initialisation. Stopping at
    ``max_iter`` before ``tol`` is reached is not an error (scikit-learn's
    convergence warning is silenced: a PSF model needs no exact optimum).
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    model = NMF(n_components=ncomp, init="nndsvda", solver="cd", beta_loss="frobenius", max_iter=max_iter,
                tol=tol, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = model.fit_transform(matrix)
    return weights, model.components_


def multiplicative_factorisation(matrix, ncomp, *, rows=None, max_iter, tol, history=False, dtype=np.float64,
                                 start="exact", random_state=0, transform=False):
    """Multiplicative-update NMF of the rows ``rows[l]`` of ``matrix``, every library ``l`` at once.

    Parameters
    ----------
    matrix : ndarray, shape ``(t, p)``
        Non-negative frames by pixels, float64 or float32 (read as they are: a
        float32 matrix is not rounded again in single precision).
    ncomp : int
        Number of components.
    rows : ndarray of bool, shape ``(L, t)``, optional
        The frames of each library (all of them, one library, by default).
    max_iter : int
        Most iterations.
    tol : float
        A library stops when its error fell by less than ``tol`` times its initial
        error over the last 10 iterations (0: always ``max_iter`` iterations).
    history : bool
        Also return, per library, the exact error ``|X_l - W_l H_l|`` at the start and
        after each iteration (a list per library; slow, for tests).
    dtype : {numpy.float64, numpy.float32}
        Precision of the updates (the start is computed in double precision). In single
        precision the stopping rule's errors come from the expansion
        ``|X|^2 - 2 <W X, H> + <W^T W, H H^T>`` summed in double precision
        (:func:`_expanded_errors`), its ``W X`` the product in double precision on the
        iterations that check (a single-precision product would lose the error to
        cancellation; the one library of every frame: the product in single precision
        where its rounding bound allows, the error formed in full elsewhere).
    start : {"exact", "randomized"}
        The NNDSVDa start from each library's exact singular vectors (batched), or
        from scikit-learn's randomised SVD seeded with ``random_state``, one library at
        a time (scikit-learn's own start: where the weaker singular vectors are
        poorly determined, the two starts and so the factorisations differ).
    random_state : int
        Seed of the randomised SVD.
    transform : bool
        Return each library's weights solved again with its components fixed
        (scikit-learn's ``transform``, as :func:`multiplicative_weights`, from the
        ``H X^T`` the last iteration formed: no further pass over the frames)
        instead of the factorisation's.

    Returns
    -------
    W : ndarray, shape ``(L, t, ncomp)``
        Weights, 0 on the rows outside each library.
    H : ndarray, shape ``(L, ncomp, p)``
        Components.
    errors : list of lists of float
        Only with ``history``.
    """
    t, p = matrix.shape
    rows = np.ones((1, t), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    dtype = np.dtype(dtype)
    single = dtype == np.float32
    # the start, the norms and the errors' checks in double precision (a float32 matrix copied exactly)
    frames, pixels_by_frames, double, sums = _working_copies(matrix, dtype)
    gram = double @ double.T  # the frames' Gram matrix: both starts begin with it
    means = _library_means(rows, sums, p)  # the starts' fill value and the second solve's start
    if start == "randomized":
        weights, components = _randomized_nndsvda(double, gram, rows, ncomp, random_state, means=means)
    else:
        weights, components = _nndsvda(double, gram, rows, ncomp, means=means)
    norms = rows @ np.diagonal(gram)  # |X_l|^2, in double precision
    matrix = frames
    weights, components = weights.astype(dtype, copy=False), components.astype(dtype, copy=False)
    kernels = _kernels()
    epsilon = matrix.dtype.type(_EPSILON)
    # weights kept transposed, (L, k, t), and the frames as (p, t) too: every product below is of
    # C-contiguous stacks, which numpy hands to BLAS (half the time of the transposed views)
    weights = np.ascontiguousarray(weights.transpose(0, 2, 1))
    if len(rows) == 1 and rows.all():
        errors, cross = _one_library(matrix, pixels_by_frames, norms[0], weights, components, max_iter, tol, history)
        if transform:
            weights[0] = _transformed_weights(cross, components[0], norms[0], means[0], rows[0], max_iter, tol)
        weights = np.ascontiguousarray(weights.transpose(0, 2, 1))
        return (weights, components, [errors]) if history else (weights, components)
    gram_w, gram_h = np.empty((2, len(rows), ncomp, ncomp), dtype=matrix.dtype)
    kernels.gram(weights, gram_w)
    kernels.gram(components, gram_h)
    errors = [[_exact_error(matrix, rows[l], weights[l], components[l])] for l in range(len(rows))] \
        if history else None
    if single:
        initial = _expanded_errors(matrix, norms, _inner(_stacked(weights.astype(np.float64), double), components),
                                   weights, components, rows, 1e-3, _UNIT)
    else:
        initial = _errors(norms, _stacked(weights, matrix), components, gram_w, gram_h)
    previous = initial.copy()
    active = np.flatnonzero(initial > 0)
    # the working stacks hold the active libraries only: views of the results while every library
    # runs, copies (written back) once some stopped, taken again only when more stop
    w, h, mask, gw, gh = (weights, components, rows, gram_w, gram_h) if active.size == len(rows) else \
        (weights[active], components[active], rows[active], gram_w[active], gram_h[active])
    for iteration in range(1, max_iter + 1):
        if active.size == 0:
            break
        kernels.update(w, _stacked(h, pixels_by_frames), gh, mask, True, epsilon, gw)  # (H X^T), 0 outside
        check = tol > 0 and iteration % _CHECK_EVERY == 0
        # W X; in double precision where single-precision errors are checked
        numerator = _stacked(w.astype(np.float64), double) if single and check else _stacked(w, matrix)
        kernels.update(h, numerator, gw, mask, False, epsilon, gh)
        if history:
            weights[active], components[active] = w, h
            for l in active:
                errors[l].append(_exact_error(matrix, rows[l], weights[l], components[l]))
        if check:
            current = _expanded_errors(matrix, norms[active], _inner(numerator, h), w, h, mask,
                                       _ALLOWED * tol * initial[active], _UNIT) if single \
                else _errors(norms[active], numerator, h, gw, gh)
            going = (previous[active] - current) / initial[active] >= tol
            previous[active] = current
            if not going.all():
                if w is not weights:
                    weights[active], components[active] = w, h
                active = active[going]
                w, h, mask, gw, gh = w[going], h[going], mask[going], gw[going], gh[going]
    if w is not weights and active.size:
        weights[active], components[active] = w, h
    if transform:
        crosses = _stacked(components, pixels_by_frames)  # H_l X^T, (L, k, t)
        for l in range(len(rows)):
            weights[l] = _transformed_weights(crosses[l], components[l], norms[l], means[l], rows[l], max_iter, tol)
    weights = np.ascontiguousarray(weights.transpose(0, 2, 1))
    return (weights, components, errors) if history else (weights, components)


def _working_copies(matrix, dtype):
    """``(frames, pixels_by_frames, double, sums)``: ``matrix`` in ``dtype`` (itself where it is already), its
    transpose ``(p, t)`` in ``dtype``, the matrix in double precision (itself where it is float64) and each
    frame's sum in double precision, in one pass over ``matrix``."""
    t, p = matrix.shape
    source = np.ascontiguousarray(matrix)
    widen = source.dtype != np.float64
    double = np.empty((t, p)) if widen else source
    convert = source.dtype != dtype and dtype != np.float64
    frames = np.empty((t, p), dtype) if convert else double if dtype == np.float64 else source
    pixels_by_frames = np.empty((p, t), dtype)
    sums = np.empty(t)
    _kernels().working_copies(source, frames, pixels_by_frames, double, convert, widen, sums)
    return frames, pixels_by_frames, double, sums


def _transformed_weights(cross, components, norm, mean, rows, max_iter, tol):
    """The transposed weights ``(k, t)`` of the frames ``rows`` solved again with ``components`` fixed
    (:func:`multiplicative_weights`), from ``H X^T`` (``cross``, ``(k, t)``), ``|X|^2`` and the mean of
    the library's frames; 0 on the other frames."""
    weights = np.zeros(cross.shape)
    weights[:, rows] = _multiplicative_weights(np.asarray(cross.T[rows], dtype=np.float64),
                                               np.asarray(components, dtype=np.float64), norm, mean,
                                               max_iter=max_iter, tol=tol).T
    return weights


def _stacked(stack, right):
    """``stack[l] @ right`` for every ``l``, as one product of the stacked ``(L k, n)`` rows: the
    frames are read once for all libraries (a product per library reads them ``L`` times, and
    with ``k`` rows each is bound by that reading)."""
    count, rows, _ = stack.shape
    return (stack.reshape(count * rows, -1) @ right).reshape(count, rows, right.shape[1])


def _errors(norms, cross, components, gram_w, gram_h):
    """``|X_l - W_l H_l|`` per library from ``|X_l|^2`` (``norms``), ``W_l X`` (``cross``, ``(L, k, p)``) and
    the factors' Gram matrices, without forming ``W H`` (the weights are 0 outside the library)."""
    squares = norms - 2.0 * np.einsum("lkp,lkp->l", cross, components) + np.einsum("lij,lij->l", gram_w, gram_h)
    return np.sqrt(np.maximum(squares, 0.0))


def _one_library(matrix, pixels_by_frames, norm, weights, components, max_iter, tol, history):
    """The iterations of :func:`multiplicative_factorisation` for one library of every frame, in place
    (the weights transposed, ``(1, k, t)``; ``pixels_by_frames`` the frames transposed); returns the errors
    of ``history`` (else None) and ``H X^T`` of the last components, ``(k, t)``.

    Each iteration reads the frames once (:func:`._nmf_kernels.iterate`: every
    block of pixels updated, and its share of the next ``H X^T`` formed, while the
    block is in cache) where the two BLAS products of the batched updates read
    them twice; the errors of the stopping rule come from its ``<W X, H>``
    (:func:`_expanded_errors`).
    """
    kernels = _kernels()
    rows = np.ones((1, matrix.shape[0]), dtype=bool)
    w, h = weights[0], components[0]
    epsilon = matrix.dtype.type(_EPSILON)
    gram_h, gram_w = np.empty((2, 1) + (len(h),) * 2, dtype=matrix.dtype)
    kernels.gram(components, gram_h)
    cross = h @ pixels_by_frames  # H X^T, (k, t)
    errors = [_exact_error(matrix, rows[0], w, h)] if history else None
    unit = np.finfo(matrix.dtype).eps / 2
    initial = _expanded_errors(matrix, [norm], _inner(_stacked(weights, matrix), components), weights, components,
                               rows, 1e-3, unit)[0]
    previous = initial
    threaded = kernel_threads() > 1 and matrix.size >= _THREADED_SIZE
    for iteration in range(1, max_iter + 1 if initial > 0 else 1):
        check = tol > 0 and iteration % _CHECK_EVERY == 0
        inner = kernels.iterate(matrix, pixels_by_frames, w, h, gram_h[0], cross, epsilon, gram_w[0], check,
                                threaded)
        if history:
            errors.append(_exact_error(matrix, rows[0], w, h))
        if check:
            current = _expanded_errors(matrix, [norm], np.array([inner]), weights, components, rows,
                                       _ALLOWED * tol * initial, unit)[0]
            if (previous - current) / initial < tol:
                break
            previous = current
    return errors, cross


def _inner(left, right):
    """``<left[l], right[l]>`` per library of two ``(L, k, n)`` stacks, summed in double precision."""
    out = np.empty(len(left))
    _kernels().inner(left, right, out)
    return out


def _expanded_errors(matrix, norms, cross, weights, components, rows, allowed, unit):
    """``|X_l - W_l H_l|`` per library from ``|X_l|^2`` (``norms``) and ``<W_l X, H_l>`` (``cross``), both in double
    precision, where the expansion's rounding cannot move the error by more than ``allowed`` (relative to the
    error where ``allowed`` is a number, as for the initial error; absolute where it is an array, one per
    library); the error formed in full (:func:`_exact_errors`) elsewhere.

    The expansion ``|X|^2 - 2 <W X, H> + <W^T W, H H^T>`` subtracts nearly equal
    numbers where the model is good. Each value of the products ``W X`` is a sum of
    ``t`` non-negative products, so rounded by at most ``(t + 1) u`` of itself (``u``,
    ``unit``, the unit roundoff of their precision): ``<W X, H>`` by at most
    ``(t + 1) u`` of itself too; the rest is summed in double precision.
    """
    count, ncomp = components.shape[:2]
    kernels = _kernels()
    gram_w, gram_h = np.empty((2, count, ncomp, ncomp))
    kernels.gram(weights, gram_w)
    kernels.gram(components, gram_h)
    squares = np.maximum(np.asarray(norms) - 2.0 * cross + np.einsum("lij,lij->l", gram_w, gram_h), 0.0)
    errors = np.sqrt(squares)
    # the square moves by at most 2 (t + 1) u <W X, H>, the error by that over twice the error
    moved = (weights.shape[2] + 1) * unit * cross / np.maximum(errors, np.finfo(float).tiny)
    exact = ~(moved <= (allowed * errors if np.ndim(allowed) == 0 else allowed))
    if exact.any():
        errors[exact] = _exact_errors(matrix, weights[exact], components[exact], rows[exact])
    return errors


def _exact_errors(matrix, weights, components, rows):
    """``|X_l - W_l H_l|`` per library, from the transposed weights ``(L, k, t)``, each residual formed
    in double precision one frame at a time (compiled: no ``(L, t, p)`` model in memory)."""
    squares = np.empty(rows.shape)
    _kernels().squared_residuals(matrix, weights, components, rows, squares)
    return np.sqrt(squares.sum(axis=1))


def _exact_error(matrix, rows, weights, components):
    """``|X_l - W_l H_l|`` formed in full, from the transposed weights ``(k, t)``."""
    return float(np.linalg.norm(matrix[rows] - weights.T[rows] @ components))


def _library_means(rows, sums, pixels):
    """The mean of each library's frames, from each frame's sum (``sums``) and its ``pixels``."""
    return (rows @ sums) / (np.maximum(rows.sum(axis=1), 1) * pixels)


def _nndsvda(matrix, gram, rows, ncomp, *, means=None):
    """NNDSVD starts (Boutsidis & Gallopoulos 2008) of every library, zeros filled with the library's mean.

    The singular triplets come from each library's block of the frames' Gram
    matrix ``gram`` (exact, not randomised): ``U`` its eigenvectors, ``V = X^T U / s``.
    Libraries are taken a block at a time, so that their ``(t, t)`` Gram blocks
    stay within :data:`_GRAM_VALUES` values.
    """
    step = max(1, _GRAM_VALUES // gram.size)
    means = _library_means(rows, matrix.sum(axis=1), matrix.shape[1]) if means is None else means
    blocks = [_nndsvda_block(matrix, gram, rows[start:start + step], ncomp, means[start:start + step])
              for start in range(0, len(rows), step)]
    return tuple(np.concatenate(parts) for parts in zip(*blocks))


def _nndsvda_block(matrix, gram, rows, ncomp, means):
    """:func:`_nndsvda` of the libraries ``rows``, given the frames' Gram matrix."""
    masked = gram[None] * (rows[:, :, None] & rows[:, None, :])
    # the k largest eigenpairs only (compiled, :mod:`._eigen`), largest first; the eigenvalues: the
    # vectors' Rayleigh quotients
    vectors = top_eigenvectors_batch(masked, ncomp, compiled_max_size=_COMPILED_EIGEN_SIZE)[:, :, ::-1]
    vectors *= rows[:, :, None]
    left = np.ascontiguousarray(vectors.transpose(0, 2, 1))  # (L, k, t)
    values = np.einsum("lkt,lkt->lk", left, np.matmul(left, masked))
    singular = np.sqrt(np.maximum(values, 0.0))
    scale = np.where(singular > 0, 1.0 / np.where(singular > 0, singular, 1.0), 0.0)
    right = _stacked(left, matrix) * scale[:, :, None]  # V^T = U^T X / s, (L, k, p)
    return _nndsvd(matrix, rows, left, singular, right, means)


def _randomized_nndsvda(matrix, gram, rows, ncomp, random_state, *, means=None):
    """:func:`_nndsvda` from scikit-learn's randomised SVD of each library (:func:`_randomized_svd`, what
    ``NMF(init="nndsvda", random_state=random_state)`` starts from), one library at a time."""
    count, t = rows.shape
    left, singular = np.zeros((count, ncomp, t)), np.zeros((count, ncomp))
    right = np.zeros((count, ncomp, matrix.shape[1]))
    for index, members in enumerate(rows):
        every = members.all()  # no copy of the frames
        u, s, v = _randomized_svd(matrix if every else matrix[members],
                                  gram if every else gram[np.ix_(members, members)], ncomp, random_state)
        left[index][:, members], singular[index], right[index] = u.T, s, v
    means = _library_means(rows, matrix.sum(axis=1), matrix.shape[1]) if means is None else means
    return _nndsvd(matrix, rows, left, singular, right, means)


def _randomized_svd(matrix, gram, ncomp, random_state):
    """``(U, s, Vt)``: scikit-learn's ``randomized_svd(matrix, ncomp, random_state=random_state)``, its
    power iterations run on a Gram matrix.

    scikit-learn (its defaults) draws ``ncomp + 10`` normal vectors from
    ``numpy.random.RandomState(random_state)``, multiplies them 7 times (4 when
    ``ncomp`` exceeds a tenth of the smaller side) by ``M^T M`` (``M`` the matrix,
    transposed when it is wider than tall), one product with ``M`` or ``M^T`` at a time
    with an LU normalisation after each, then takes the SVD of ``M`` projected
    onto the span of ``M`` times the result. The span only depends on the products, not on
    their normalisations: here the iterations multiply by the smaller side's Gram
    matrix (``gram``, the rows' when the matrix is wider than tall) with a QR
    normalisation. A matrix wider than tall is then read once more only
    (:func:`_projected_svd_from_gram`); a taller one three times, for
    scikit-learn's projection. In double precision, this is scikit-learn's result on the same matrix to
    rounding; on a float32 matrix scikit-learn computes in single precision and
    its singular vectors differ from these by its rounding. The signs may differ
    from scikit-learn's (NNDSVD does not depend on them).
    """
    oversampled = ncomp + 10
    iterations = 7 if ncomp < 0.1 * min(matrix.shape) else 4
    wide = matrix.shape[0] < matrix.shape[1]
    side = matrix.T if wide else matrix  # scikit-learn's M
    if not wide:
        gram = matrix.T @ matrix
    vectors = np.random.RandomState(random_state).normal(size=(side.shape[1], oversampled))
    for _ in range(iterations):
        vectors = scipy.linalg.qr(gram @ vectors, mode="economic", check_finite=False)[0]
    if wide:
        found = _projected_svd_from_gram(matrix, gram, vectors, ncomp)
        if found is not None:
            return found
    basis = scipy.linalg.qr(side @ vectors, mode="economic", check_finite=False)[0]
    small_left, singular, right = scipy.linalg.svd(basis.T @ side, full_matrices=False, check_finite=False)
    left = basis @ small_left[:, :ncomp]
    if wide:
        return right[:ncomp].T, singular[:ncomp], left.T
    return left, singular[:ncomp], right[:ncomp]


#: Smallest eigenvalue, relative to the largest, of the Gram matrix of the projected basis for which
#: :func:`_projected_svd_from_gram` is used (its rounding grows as their ratio's inverse: 1e-8 at most).
_GRAM_CONDITION = 1e-8


def _projected_svd_from_gram(matrix, gram, vectors, ncomp):
    """``(U, s, Vt)`` of the frames ``X`` (``matrix``, wider than tall) projected onto the span of ``X^T Y``
    (``Y``: ``vectors``, orthonormal), as scikit-learn's randomised SVD takes it, from ``G = X X^T``
    (``gram``) and one product with ``X``; None where ``Y^T G Y`` is too poorly conditioned.

    With ``Z = G Y`` and ``M = Y^T G Y`` (the Gram matrix of ``X^T Y``), the projection
    ``P`` onto that span gives ``X P X^T = Z M^-1 Z^T``: the left singular vectors and
    singular values are those of ``Z M^-1/2``, and the right ones
    ``P X^T u / s = X^T Y M^-1 Z^T u / s``. Forming ``M`` squares the basis's
    condition number, which is why the QR of scikit-learn's route takes over
    where ``M``'s smallest eigenvalue is below :data:`_GRAM_CONDITION` of its largest
    (a nearly rank-deficient matrix).
    """
    images = gram @ vectors
    small = vectors.T @ images
    values, eigenvectors = scipy.linalg.eigh(0.5 * (small + small.T), check_finite=False)
    if not values[0] > _GRAM_CONDITION * values[-1]:
        return None
    half = eigenvectors / np.sqrt(values)  # M^-1/2 = E D^-1/2 E^T, its E^T left out (the SVD does not need it)
    left, singular, _ = scipy.linalg.svd(images @ half, full_matrices=False, check_finite=False)
    left, singular = left[:, :ncomp], singular[:ncomp]
    coefficients = vectors @ (half @ (half.T @ (images.T @ left))) / singular  # Y M^-1 Z^T u / s, (t, k)
    return left, singular, coefficients.T @ matrix


def _nndsvd(matrix, rows, left, singular, right, means):
    """NNDSVDa factors ``(W, H)``, ``(L, t, k)`` and ``(L, k, p)``, from the singular triplets ``left (L, k, t)``
    (0 outside each library), ``singular (L, k)``, ``right (L, k, p)``; zeros filled with the library's mean
    (``means``, :func:`_library_means`)."""
    weights, components = np.empty(left.shape, matrix.dtype), np.empty(right.shape, matrix.dtype)
    _kernels().nndsvd(np.ascontiguousarray(left), np.ascontiguousarray(singular), np.ascontiguousarray(right),
                      np.ascontiguousarray(rows), means, weights, components)
    return np.ascontiguousarray(weights.transpose(0, 2, 1)), components


def multiplicative_weights(matrix, components, *, max_iter, tol):
    """The weights ``W >= 0`` of ``matrix ~ W components`` by multiplicative updates of ``W`` alone.

    scikit-learn's ``NMF(solver="mu").transform``: every weight starts at
    ``sqrt(mean(matrix) / k)``, ``W`` is updated at most ``max_iter`` times and
    stops when the error fell by less than ``tol`` of its initial value over
    the last 10 iterations. The updates need only ``X H^T`` and ``H H^T``
    (computed once) and the errors only ``|X|^2`` more.
    """
    cross = matrix @ components.T  # X H^T, (t, k)
    norm = float(np.einsum("ij,ij->", matrix, matrix))
    return _multiplicative_weights(cross, components, norm, float(matrix.mean()), max_iter=max_iter, tol=tol)


def _multiplicative_weights(cross, components, norm, mean, *, max_iter, tol):
    """:func:`multiplicative_weights` from ``X H^T`` (``cross``, ``(t, k)``), ``|X|^2`` (``norm``) and the
    mean of ``X``."""
    ncomp = components.shape[0]
    weights = np.full(cross.shape, np.sqrt(max(mean, 0.0) / ncomp), dtype=np.result_type(cross, np.float64))
    gram = components @ components.T

    def error():
        return np.sqrt(max(norm - 2.0 * np.einsum("ij,ij->", weights, cross)
                           + np.einsum("ij,ij->", weights.T @ weights, gram), 0.0))

    initial = previous = error()
    for iteration in range(1, max_iter + 1):
        denominator = weights @ gram
        denominator[denominator == 0] = _EPSILON
        weights *= cross / denominator
        if tol > 0 and iteration % _CHECK_EVERY == 0:
            current = error()
            if initial == 0 or (previous - current) / initial < tol:
                break
            previous = current
    return weights


def nonnegative_models(frames, components, library):
    """Row ``i``: ``w components[library[i]]``, its non-negative weights ``w >= 0`` minimising
    ``|frames[i] - w components[library[i]]|`` (non-negative least squares).

    ``frames`` is ``(n, p)``, ``components`` ``(L, k, p)``, ``library`` ``(n,)`` indices.
    Up to :data:`_SUBSET_COMPONENTS` components, compiled: each frame's optimum is
    the best of its least-squares fits on every subset of the components (``2^k - 1``
    small solves) whose weights are all positive; above, scipy's active-set NNLS
    (Lawson & Hanson), one problem per frame.
    """
    frames = np.ascontiguousarray(frames, dtype=np.float64)
    library = np.asarray(library, dtype=np.int64)
    out = np.empty(frames.shape)
    if components.shape[1] <= _SUBSET_COMPONENTS:
        _kernels().nonnegative_models(frames, np.ascontiguousarray(components, dtype=np.float64), library, out)
        return out
    for index, frame in enumerate(frames):
        basis = components[library[index]]
        out[index] = scipy.optimize.nnls(np.ascontiguousarray(basis.T), frame)[0] @ basis
    return out


@functools.lru_cache(maxsize=None)
def _kernels():
    from . import _nmf_kernels  # deferred: numba, compiled once and cached on disk

    return _nmf_kernels
