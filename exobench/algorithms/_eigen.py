"""Compiled small symmetric eigenproblems: the few largest eigenpairs, and per-frame PCA projections.

Annular PCA (and full-frame PCA with frame exclusion) solves one small
eigenproblem per frame and annulus: the ``k`` largest eigenpairs of the Gram
block of the frame's reference library (a few tens of frames, ``k`` about 5).
LAPACK's subset solver (``syevr``) spends most of its time there on the
tridiagonal part and on its Python wrapper; this module solves the same
problem in compiled code, one call per annulus for every frame:

1. Householder reduction to tridiagonal form (upper triangle, row-major);
2. the ``k`` largest eigenvalues of the tridiagonal matrix by bisection on
   Sturm counts (all ``k`` intervals advanced together) to ``1e-7`` of the
   matrix's norm;
3. their eigenvectors by inverse iteration (LU with partial pivoting, three
   steps, reorthogonalised within clusters closer than ``1e-3`` of the norm, as
   LAPACK's ``stein``), the eigenvalues then refined to machine precision by
   Rayleigh quotients;
4. back-transformation by the Householder reflectors.

Every result is checked: when an eigenpair's residual ``|T v - lambda v|`` on
the tridiagonal matrix (the reduction and back-transformation are orthogonal)
or its length's error exceeds ``1e-10`` of the norm (it never did in the
tests), the matrix falls back to numpy's full ``eigh`` (LAPACK ``syevd``). The results agree with
LAPACK's to rounding (about ``1e-15`` of the norm); frames are independent,
so they are spread over numba's threads and do not depend on their number.
"""

import functools

import numpy as np

__all__ = ["projection_weights", "top_eigenpairs", "top_eigenvectors_batch"]


def projection_weights(gram, allowed, ncomp):
    """``W`` such that row ``i`` of ``W @ M`` projects ``M[i]`` onto its library's first components.

    ``gram`` is ``M M^T`` (float64, ``frames x frames``); ``allowed[i, j]`` says
    whether frame ``j`` is in the library of frame ``i``. A library of fewer
    than ``ncomp`` frames contributes all its components. Components whose
    eigenvalue is below ``eps * size * largest`` are left out (numerically null).
    """
    gram = np.ascontiguousarray(gram, dtype=np.float64)
    allowed = np.ascontiguousarray(allowed, dtype=np.bool_)
    weights = np.zeros_like(gram)
    sizes = allowed.sum(axis=1)
    compiled = sizes <= COMPILED_MAX_SIZE
    if compiled.any():
        first, group = _distinct_rows(allowed)
        _kernels()["weights"](gram, allowed, compiled, first, group, int(ncomp), weights)
    for size in np.unique(sizes[~compiled]):
        _lapack_weights(gram, allowed, np.flatnonzero(sizes == size), int(size), ncomp, weights)
    return weights


def _distinct_rows(allowed):
    """Frames with the same library share its eigenpairs: ``(first, group)``, one eigenproblem per group.

    ``first[g]`` is the first frame of the ``g``-th distinct library, ``group[i]`` frame ``i``'s
    (a dictionary of packed rows, cheaper than ``np.unique(axis=0)`` on these few short rows).
    """
    seen = {}
    first = []
    group = np.empty(allowed.shape[0], dtype=np.int64)
    for index, row in enumerate(np.packbits(allowed, axis=1)):
        g = seen.setdefault(row.tobytes(), len(first))
        if g == len(first):
            first.append(index)
        group[index] = g
    return np.array(first, dtype=np.int64), group


#: Largest library solved by the compiled kernel; LAPACK's ``syevr`` is faster on larger ones.
COMPILED_MAX_SIZE = 72


def _lapack_weights(gram, allowed, frames, size, ncomp, out):
    """The rows ``frames`` (libraries of ``size`` frames) of :func:`projection_weights`, with LAPACK."""
    import scipy.linalg

    k = min(ncomp, size)
    library = np.sort(np.argsort(~allowed[frames], axis=1, kind="stable")[:, :size], axis=1)
    blocks = gram[library[:, :, None], library[:, None, :]]
    values = np.empty((frames.size, k))
    vectors = np.empty((frames.size, size, k))
    for index, block in enumerate(blocks):
        values[index], vectors[index] = scipy.linalg.eigh(
            block, subset_by_index=[size - k, size - 1], driver="evr", check_finite=False)
    tolerance = np.finfo(float).eps * size * np.maximum(values[:, -1:], 0.0)
    inverse = np.where(values > tolerance, 1.0 / np.where(values > tolerance, values, 1.0), 0.0)
    cross = gram[library, frames[:, None]]  # (b, size): library rows dotted with the frame
    coefficients = np.einsum("bnk,bn->bk", vectors, cross) * inverse
    out[frames[:, None], library] = np.einsum("bnk,bk->bn", vectors, coefficients)


def top_eigenvectors_batch(matrices, k, *, compiled_max_size=None):
    """``(count, n, k)``: the eigenvectors of the ``k`` largest eigenvalues of each symmetric matrix.

    Compiled (frames spread over numba's threads) up to ``compiled_max_size`` (default
    ``COMPILED_MAX_SIZE``; the compiled solver's cost grows with ``k``, LAPACK's not, so callers
    with few eigenpairs may raise it), LAPACK's batched ``syevd`` above.
    """
    matrices = np.ascontiguousarray(matrices, dtype=np.float64)
    count, n, _ = matrices.shape
    if n > (COMPILED_MAX_SIZE if compiled_max_size is None else compiled_max_size):
        return np.linalg.eigh(matrices)[1][:, :, n - k:]
    out = np.empty((count, k, n))
    _kernels()["batch"](matrices, int(k), out)
    return out.transpose(0, 2, 1)


def top_eigenpairs(matrix, k):
    """The ``k`` largest eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    values, vectors_t = _kernels()["top"](matrix, int(k))
    return values, vectors_t.T


@functools.lru_cache(maxsize=None)
def _kernels():
    from . import _eigen_kernels  # deferred: numba, compiled once and cached on disk

    return {"weights": _eigen_kernels.weights, "top": _eigen_kernels.top, "batch": _eigen_kernels.batch}
