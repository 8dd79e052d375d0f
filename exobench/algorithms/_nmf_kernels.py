"""Compiled kernels of :mod:`exobench.algorithms._nmf` (imported on first use: numba).

The multiplicative updates of a stack of factorisations, one library per
index of the first axis, in place: a factor's update, its denominator (the
small ``k x k`` Gram matrix of the other factor times the factor) and the Gram
matrix of the updated factor in one pass over the factor, instead of the
temporaries of numpy's batched products and divisions. Libraries are
independent, spread over numba's threads: the results do not depend on their
number. No fast-math (as :mod:`exobench.algorithms._eigen_kernels`): the bytes
must not depend on how LLVM inlined the kernels.
"""

import numba
import numpy as np

# error_model="numpy": a 0/0 gives NaN as numpy's division does, not an exception
_parallel = numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")


@_parallel
def update(factor, numerator, gram, mask, masked, epsilon, gram_out):
    # factor (L, k, n) <- factor * numerator / (gram @ factor), a 0 denominator replaced by
    # epsilon, the numerator 0 where mask[l, j] is False (when masked); gram_out[l]: the updated
    # factor's Gram matrix, summed in double precision. Per column j the k old values are read
    # before any is written (the denominator of each needs all of them).
    count, k, n = factor.shape
    for l in numba.prange(count):
        old = np.empty(k, dtype=factor.dtype)
        products = np.zeros((k, k))
        for j in range(n):
            for c in range(k):
                old[c] = factor[l, c, j]
            keep = (not masked) or mask[l, j]
            for c in range(k):
                denominator = gram[l, c, 0] * old[0]
                for d in range(1, k):
                    denominator += gram[l, c, d] * old[d]
                if denominator == 0:
                    denominator = epsilon
                value = numerator[l, c, j] if keep else numerator[l, c, j] * 0
                factor[l, c, j] = old[c] * (value / denominator)
            for c in range(k):
                fc = np.float64(factor[l, c, j])
                for d in range(c + 1):
                    products[c, d] += fc * np.float64(factor[l, d, j])
        for c in range(k):
            for d in range(c + 1):
                gram_out[l, c, d] = products[c, d]
                gram_out[l, d, c] = products[c, d]


@_parallel
def gram(stack, out):
    # out[l] = stack[l] @ stack[l].T, summed in double precision (as `update` does)
    count, k, n = stack.shape
    for l in numba.prange(count):
        products = np.zeros((k, k))
        for j in range(n):
            for c in range(k):
                fc = np.float64(stack[l, c, j])
                for d in range(c + 1):
                    products[c, d] += fc * np.float64(stack[l, d, j])
        for c in range(k):
            for d in range(c + 1):
                out[l, c, d] = products[c, d]
                out[l, d, c] = products[c, d]


@_parallel
def squared_residuals(matrix, weights, components, rows, out):
    # out[l, j] = |matrix[j] - weights[l, :, j] @ components[l]|^2 in double precision for the
    # frames j of library l (0 elsewhere), without forming the model: one row at a time, in
    # four partial sums (a single running sum would wait on each addition)
    count, k, t = weights.shape
    p = matrix.shape[1]
    for index in numba.prange(count * t):
        l = index // t
        j = index - l * t
        if not rows[l, j]:
            out[l, j] = 0.0
            continue
        row = np.empty(p)
        for i in range(p):
            row[i] = matrix[j, i]
        for c in range(k):
            w = np.float64(weights[l, c, j])
            for i in range(p):
                row[i] -= w * components[l, c, i]
        s0 = s1 = s2 = s3 = 0.0
        quarter = p - p % 4
        for i in range(0, quarter, 4):
            s0 += row[i] * row[i]
            s1 += row[i + 1] * row[i + 1]
            s2 += row[i + 2] * row[i + 2]
            s3 += row[i + 3] * row[i + 3]
        for i in range(quarter, p):
            s0 += row[i] * row[i]
        out[l, j] = (s0 + s1) + (s2 + s3)
