"""The linear algebra of PCA: a frame's projection onto the first components of its reference library.

With fewer frames than pixels (the usual case) the components come from the
small ``frames x frames`` Gram matrix: with ``C = M M^T = U diag(lambda) U^T``,
the projection of the rows of ``M`` onto the first ``k`` components is
``U_k U_k^T M`` (VIP's ``svd_mode="eigen"``). A frame's library ``L = M[J]`` has
the Gram matrix ``C[J, J]`` and the frame's projection is
``(c^T U_k diag(1/lambda_k) U_k^T) L`` with ``c = C[J, i]``: one small
eigenproblem per distinct library (compiled, :mod:`exobench.algorithms._eigen`),
never an SVD of a pixel matrix. Linear algebra is in float64.
"""

import numpy as np
import scipy.linalg

from .._validate import check_integer, check_range
from ._eigen import _distinct_rows

__all__ = ["check_ncomp", "check_explained_variance", "components_count", "subtract_components", "library_weights",
           "variance_weights"]


def check_ncomp(ncomp, n_frames):
    return check_integer(ncomp, "ncomp", minimum=1, maximum=n_frames, what="the number of frames")


def check_explained_variance(level, *, allow_none=False):
    return check_range(level, "explained_variance", 0, 1, closed="neither", allow_none=allow_none)


def components_count(eigenvalues, explained_variance):
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
        k = ncomp if ncomp is not None else components_count(eigenvalues, explained_variance)
        u = vectors[:, :k]
        return matrix - u @ (u.T @ matrix), k
    _, singular, vt = scipy.linalg.svd(matrix, full_matrices=False, check_finite=False)
    k = ncomp if ncomp is not None else components_count(singular**2, explained_variance)
    v = vt[:k]
    return matrix - (matrix @ v.T) @ v, k


def variance_weights(gram, allowed, levels):
    """For each of ``levels``, the weights of :func:`~exobench.algorithms._eigen.projection_weights` with the
    number of components set per annulus: the fewest whose cumulative explained
    variance over all the annulus's frames reaches the level (a library of fewer
    frames gives all of its components)."""
    spectrum = np.linalg.eigvalsh(gram)[::-1]
    return library_weights(gram, allowed, [components_count(spectrum, level) for level in levels])


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
