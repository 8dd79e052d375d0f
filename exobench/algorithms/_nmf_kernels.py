"""Compiled kernels of :mod:`exobench.algorithms._nmf` (imported on first use: numba).

The multiplicative updates of a stack of factorisations, one library per
index of the first axis, in place: a factor's update, its denominator (the
small ``k x k`` Gram matrix of the other factor times the factor) and the Gram
matrix of the updated factor, without the temporaries of numpy's batched
products and divisions. The updates run on one thread: called twice per
iteration, each a fraction of a millisecond, a parallel region per call costs
more than it gives on a busy machine (every region waits for its slowest,
perhaps preempted, thread); the Gram matrices, the
NNDSVD and the single-precision errors spread libraries or frames over
numba's threads, which does not change their results. No fast-math (as
:mod:`exobench.algorithms._eigen_kernels`): the bytes must not depend on how
LLVM inlined the kernels; sums run in four fixed partial sums instead.
"""

import numba
import numpy as np

# error_model="numpy": a 0/0 gives NaN as numpy's division does, not an exception
_parallel = numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _dot(a, b):
    # sum of a[i] * b[i] in double precision, in four partial sums (independent additions)
    n = a.size
    s0 = s1 = s2 = s3 = 0.0
    quarter = n - n % 4
    for i in range(0, quarter, 4):
        s0 += np.float64(a[i]) * np.float64(b[i])
        s1 += np.float64(a[i + 1]) * np.float64(b[i + 1])
        s2 += np.float64(a[i + 2]) * np.float64(b[i + 2])
        s3 += np.float64(a[i + 3]) * np.float64(b[i + 3])
    for i in range(quarter, n):
        s0 += np.float64(a[i]) * np.float64(b[i])
    return (s0 + s1) + (s2 + s3)


@_jit
def _gram_of(stack, out):
    # out = stack @ stack.T for one (k, n) factor, summed in double precision
    k = stack.shape[0]
    for c in range(k):
        for d in range(c + 1):
            value = _dot(stack[c], stack[d])
            out[c, d] = value
            out[d, c] = value


@_jit
def _update_one(factor, numerator, gram, mask, masked, epsilon, denominator):
    # factor (k, n) <- factor * numerator / (gram @ factor), a 0 denominator replaced by epsilon,
    # the numerator 0 where mask[j] is False (when masked). The denominators (scratch, (k, n))
    # are formed in full before any value is written.
    k, n = factor.shape
    for c in range(k):
        g = gram[c, 0]
        for j in range(n):
            denominator[c, j] = g * factor[0, j]
        for d in range(1, k):
            g = gram[c, d]
            for j in range(n):
                denominator[c, j] += g * factor[d, j]
    for c in range(k):
        for j in range(n):
            below = denominator[c, j]
            if below == 0:
                below = epsilon
            above = numerator[c, j]
            if masked and not mask[j]:
                above = above * 0
            factor[c, j] = factor[c, j] * (above / below)


@_jit
def update(factor, numerator, gram, mask, masked, epsilon, gram_out):
    # _update_one of every library l of the stacks (L, k, n), and gram_out[l]: the updated factor's
    # Gram matrix. One thread: see the module's text
    count, k, n = factor.shape
    for l in range(count):
        denominator = np.empty((k, n), dtype=factor.dtype)
        _update_one(factor[l], numerator[l], gram[l], mask[l], masked, epsilon, denominator)
        _gram_of(factor[l], gram_out[l])


@_jit
def _squared_residual(matrix, weights, components, j, row):
    # |matrix[j] - weights[:, j] @ components|^2 in double precision (row: scratch of p values)
    p = matrix.shape[1]
    for i in range(p):
        row[i] = matrix[j, i]
    for c in range(weights.shape[0]):
        w = np.float64(weights[c, j])
        for i in range(p):
            row[i] -= w * components[c, i]
    return _dot(row, row)


@_parallel
def gram(stack, out):
    # out[l] = stack[l] @ stack[l].T, summed in double precision (as `update` does)
    for l in numba.prange(stack.shape[0]):
        _gram_of(stack[l], out[l])


@_parallel
def squared_residuals(matrix, weights, components, rows, out):
    # out[l, j] = |matrix[j] - weights[l, :, j] @ components[l]|^2 in double precision for the
    # frames j of library l (0 elsewhere), without forming the model (one row at a time)
    count, k, t = weights.shape
    for index in numba.prange(count * t):
        l = index // t
        j = index - l * t
        out[l, j] = _squared_residual(matrix, weights[l], components[l], j, np.empty(matrix.shape[1])) \
            if rows[l, j] else 0.0


@_jit
def _part_norm(values, sign):
    # |max(sign * values, 0)| in double precision
    total = 0.0
    for i in range(values.size):
        x = sign * np.float64(values[i])
        if x > 0:
            total += x * x
    return np.sqrt(total)


@_jit
def _fill(out, values, sign, absolute, norm, scale, mean, keep):
    # out[i] = the chosen part of values[i] / norm * scale, 0 below 1e-6 (NNDSVD's cut), then
    # the library's mean in place of 0 where keep[i]
    for i in range(values.size):
        x = np.float64(values[i])
        x = abs(x) if absolute else max(sign * x, 0.0)
        x = x / norm * scale
        if x < 1e-6:
            x = 0.0
        if x == 0 and keep[i]:
            x = mean
        out[i] = x


@_parallel
def nndsvd(left, singular, right, rows, means, weights, components):
    # NNDSVDa factors of each library from its singular triplets: left (L, k, t), singular (L, k),
    # right (L, k, p) -> weights (L, k, t) (0 outside the library), components (L, k, p). The first
    # pair: absolute values; the others: the positive or the negative parts of both vectors,
    # whichever pair has the larger product of norms, scaled to sqrt(singular * that product).
    count, k, t = left.shape
    everywhere = np.ones(right.shape[2], dtype=np.bool_)
    for l in numba.prange(count):
        for c in range(k):
            s = np.float64(singular[l, c])
            if c == 0:
                _fill(weights[l, 0], left[l, 0], 1.0, True, 1.0, np.sqrt(s), means[l], rows[l])
                _fill(components[l, 0], right[l, 0], 1.0, True, 1.0, np.sqrt(s), means[l], everywhere)
                continue
            pu, pv = _part_norm(left[l, c], 1.0), _part_norm(right[l, c], 1.0)
            nu, nv = _part_norm(left[l, c], -1.0), _part_norm(right[l, c], -1.0)
            if pu * pv >= nu * nv:
                sign, nu, nv, mass = 1.0, pu, pv, pu * pv
            else:
                sign, mass = -1.0, nu * nv
            scale = np.sqrt(s * mass)
            _fill(weights[l, c], left[l, c], sign, False, nu if nu > 0 else 1.0, scale, means[l], rows[l])
            _fill(components[l, c], right[l, c], sign, False, nv if nv > 0 else 1.0, scale, means[l], everywhere)
