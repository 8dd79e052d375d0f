"""Compiled kernels of :mod:`exobench.algorithms._nmf` (imported on first use: numba).

The multiplicative updates of a stack of factorisations, one library per
index of the first axis, in place: a factor's update, its denominator (the
small ``k x k`` Gram matrix of the other factor times the factor) and the Gram
matrix of the updated factor, without the temporaries of numpy's batched
products and divisions. These updates run on one thread: called twice per
iteration, each a fraction of a millisecond, a parallel region per call costs
more than it gives on a busy machine (every region waits for its slowest,
perhaps preempted, thread). The iteration of a single library of every frame
(:func:`iterate`: its products too, one pass over the frames) spreads a fixed
number of parts of the pixels over numba's threads; the Gram matrices, the
NNDSVD, the errors formed in full and the non-negative least squares spread
libraries or frames over them; none of this changes their results. No fast-math (as
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
def inner(left, right, out):
    # out[l] = the sum of left[l] * right[l], (L, k, n) stacks, in double precision
    for l in numba.prange(left.shape[0]):
        out[l] = _dot(left[l].ravel(), right[l].ravel())


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


#: Pixels per block of :func:`iterate`: a block of the frames (frames x block) stays in the core's cache
#: between the two products that read it.
_BLOCK = 128

#: Parts of the pixels :func:`iterate` spreads over numba's threads: a fixed number (each part's sums
#: added in part order), so that the bytes do not depend on the number of threads.
_PARTS = 8


@_jit
def iterate(frames, pixels_by_frames, weights, components, gram_h, cross, epsilon, gram_w, check, threaded):
    # One multiplicative iteration of a single factorisation, every frame in the library: the frames
    # (t, p) and their transpose (p, t), the weights transposed (k, t), the components (k, p), in place.
    # On entry gram_h = H H^T and cross = H X^T (k, t) of the current components; W is updated from them
    # (as `update`), then H block of pixels by block, each block's W X read from the frames and its
    # contribution to the updated H X^T from their transpose while both are in cache: the frames are
    # read once per iteration, not twice. The blocks form _PARTS parts, spread over numba's threads where
    # threaded (else one after the other: no parallel region, whose start costs on one thread). On
    # return gram_w = W W^T, gram_h and cross of the updated factors (cross summed in double precision
    # over the blocks, each block in the working precision, as a blocked matrix product), and, with
    # check, <W X, H> in double precision (else 0).
    k, t = weights.shape
    _update_one(weights, cross, gram_h, np.ones(t, np.bool_), False, epsilon, np.empty((k, t), weights.dtype))
    _gram_of(weights, gram_w)
    totals = np.zeros((_PARTS, k, t))
    squares = np.zeros((_PARTS, k * k, _BLOCK))  # H H^T, lane by lane (vectorised), summed at the end
    inners = np.zeros(_PARTS)
    if threaded:
        _update_parts_threaded(frames, pixels_by_frames, weights, components, gram_w, epsilon, check, totals,
                               squares, inners)
    else:
        for part in range(_PARTS):
            _update_part(frames, pixels_by_frames, weights, components, gram_w, epsilon, check, totals, squares,
                         inners, part)
    inner = 0.0
    for part in range(_PARTS):
        inner += inners[part]
    for c in range(k):
        for j in range(t):
            value = 0.0
            for part in range(_PARTS):
                value += totals[part, c, j]
            cross[c, j] = value
        for d in range(c + 1):
            value = 0.0
            for part in range(_PARTS):
                value += _dot(squares[part, c * k + d], np.ones(_BLOCK))
            gram_h[c, d] = value
            gram_h[d, c] = value
    return inner


@_parallel
def _update_parts_threaded(frames, pixels_by_frames, weights, components, gram_w, epsilon, check, totals, squares,
                           inners):
    # _update_part of every part, spread over numba's threads
    for part in numba.prange(_PARTS):
        _update_part(frames, pixels_by_frames, weights, components, gram_w, epsilon, check, totals, squares,
                     inners, part)


@_jit
def _update_part(frames, pixels_by_frames, weights, components, gram_w, epsilon, check, totals, squares, inners,
                 part):
    # the blocks of part `part` of the pixels: their sums into totals[part], squares[part], inners[part]
    blocks = (frames.shape[1] + _BLOCK - 1) // _BLOCK
    first, last = part * blocks // _PARTS, (part + 1) * blocks // _PARTS
    inners[part] = _update_blocks(frames, pixels_by_frames, weights, components, gram_w, epsilon, check,
                                  first * _BLOCK, min(last * _BLOCK, frames.shape[1]), totals[part], squares[part])


@_jit
def _update_blocks(frames, pixels_by_frames, weights, components, gram_w, epsilon, check, begin, end, total,
                   squares):
    # iterate's update of the pixels begin:end, block by block; adds to total (H X^T, (k, t)) and squares
    # (H H^T's lanes); returns the part's <W X, H> with check (else 0)
    k, t = weights.shape
    product = np.empty((k, _BLOCK), frames.dtype)
    below = np.empty((k, _BLOCK), frames.dtype)
    partial = np.empty((k, t), frames.dtype)
    inner = 0.0
    t4 = t - t % 4
    for start in range(begin, end, _BLOCK):
        n = min(_BLOCK, end - start)
        # W X of the block: four frames at a time (a quarter of the loads and stores of `product`)
        product[:] = 0
        for j in range(0, t4, 4):
            x0, x1 = frames[j, start:start + n], frames[j + 1, start:start + n]
            x2, x3 = frames[j + 2, start:start + n], frames[j + 3, start:start + n]
            for c in range(k):
                w0, w1, w2, w3 = weights[c, j], weights[c, j + 1], weights[c, j + 2], weights[c, j + 3]
                row = product[c]
                for i in range(n):
                    row[i] += (w0 * x0[i] + w1 * x1[i]) + (w2 * x2[i] + w3 * x3[i])
        for j in range(t4, t):
            x0 = frames[j, start:start + n]
            for c in range(k):
                w0 = weights[c, j]
                row = product[c]
                for i in range(n):
                    row[i] += w0 * x0[i]
        # the denominators (W^T W) H of the block, then its update
        for c in range(k):
            level = below[c]
            g = gram_w[c, 0]
            h = components[0, start:start + n]
            for i in range(n):
                level[i] = g * h[i]
            for d in range(1, k):
                g = gram_w[c, d]
                h = components[d, start:start + n]
                for i in range(n):
                    level[i] += g * h[i]
        for c in range(k):
            h, above, level = components[c, start:start + n], product[c], below[c]
            for i in range(n):
                b = level[i]
                if b == 0:
                    b = epsilon
                h[i] = h[i] * (above[i] / b)
            if check:
                inner += _dot(above[:n], h)
            for d in range(c + 1):
                lanes, other = squares[c * k + d], components[d, start:start + n]
                for i in range(n):
                    lanes[i] += np.float64(h[i]) * np.float64(other[i])
        # the updated block's H X^T, from the transposed frames: four pixels at a time
        partial[:] = 0
        n4 = n - n % 4
        for i in range(0, n4, 4):
            y0, y1 = pixels_by_frames[start + i], pixels_by_frames[start + i + 1]
            y2, y3 = pixels_by_frames[start + i + 2], pixels_by_frames[start + i + 3]
            for c in range(k):
                h0, h1 = components[c, start + i], components[c, start + i + 1]
                h2, h3 = components[c, start + i + 2], components[c, start + i + 3]
                row = partial[c]
                for j in range(t):
                    row[j] += (h0 * y0[j] + h1 * y1[j]) + (h2 * y2[j] + h3 * y3[j])
        for i in range(n4, n):
            y0 = pixels_by_frames[start + i]
            for c in range(k):
                h0 = components[c, start + i]
                row = partial[c]
                for j in range(t):
                    row[j] += h0 * y0[j]
        for c in range(k):
            for j in range(t):
                total[c, j] += partial[c, j]
    return inner


@_jit
def _solve_subset(gram, right, members, count, solution, scratch):
    # solution[:count] = the solution of gram[S, S] w = right[S] (S = members[:count]) by Cholesky in
    # double precision; False where gram[S, S] is not positive definite to rounding (dependent components)
    for a in range(count):
        for b in range(a + 1):
            value = gram[members[a], members[b]]
            for c in range(b):
                value -= scratch[a, c] * scratch[b, c]
            if a == b:
                if not value > 1e-12 * gram[members[a], members[a]]:
                    return False
                scratch[a, a] = np.sqrt(value)
            else:
                scratch[a, b] = value / scratch[b, b]
    for a in range(count):  # forward, then backward substitution
        value = right[members[a]]
        for c in range(a):
            value -= scratch[a, c] * solution[c]
        solution[a] = value / scratch[a, a]
    for a in range(count - 1, -1, -1):
        value = solution[a]
        for c in range(a + 1, count):
            value -= scratch[c, a] * solution[c]
        solution[a] = value / scratch[a, a]
    return True


@_parallel
def nonnegative_models(frames, components, library, out):
    # out[i] = w @ components[library[i]], w >= 0 minimising |frames[i] - w @ components[library[i]]|:
    # the exact non-negative least squares, the best of the least-squares solutions on every subset of
    # the components whose coefficients are all positive (the optimum is one of them: its positive
    # coefficients solve the least-squares problem on their components); 2^k - 1 small solves of the
    # normal equations in double precision per frame, for the few components of NMF. Frames are spread
    # over numba's threads (each alone: the result does not depend on their number).
    n, p = frames.shape
    k = components.shape[1]
    for i in numba.prange(n):
        basis, frame = components[library[i]], frames[i]
        gram = np.empty((k, k))
        right = np.empty(k)
        for c in range(k):
            right[c] = _dot(basis[c], frame)
            for d in range(c + 1):
                gram[c, d] = gram[d, c] = _dot(basis[c], basis[d])
        members = np.empty(k, np.int64)
        solution, best = np.empty(k), np.zeros(k)
        scratch = np.empty((k, k))
        lowest = 0.0  # |frame - model|^2 - |frame|^2 of the empty model
        for subset in range(1, 2 ** k):
            count = 0
            for c in range(k):
                if subset >> c & 1:
                    members[count] = c
                    count += 1
            if not _solve_subset(gram, right, members, count, solution, scratch):
                continue
            value = 0.0
            feasible = True
            for a in range(count):
                feasible = feasible and solution[a] > 0
                value -= solution[a] * right[members[a]]  # at the least-squares solution
            if feasible and value < lowest:
                lowest = value
                best[:] = 0
                for a in range(count):
                    best[members[a]] = solution[a]
        row = out[i]
        for j in range(p):
            row[j] = 0.0
        for c in range(k):
            w = best[c]
            if w != 0:
                for j in range(p):
                    row[j] += w * basis[c, j]


#: Pixels per block of :func:`working_copies`: the block of the transpose being written stays in the cache.
_COPY_BLOCK = 64


@_jit
def working_copies(matrix, frames, pixels_by_frames, double, convert, widen, sums):
    # pixels_by_frames = matrix.T, with convert frames = matrix, with widen double = matrix, each in its own
    # precision (the stores cast), a block of pixels at a time; sums[j] = the sum of matrix[j] in double
    # precision (four partial sums per block: independent additions)
    t, p = matrix.shape
    sums[:] = 0
    for start in range(0, p, _COPY_BLOCK):
        stop = min(start + _COPY_BLOCK, p)
        quarter = start + (stop - start) // 4 * 4
        for j in range(t):
            for i in range(start, stop):
                pixels_by_frames[i, j] = matrix[j, i]
            s0 = s1 = s2 = s3 = 0.0
            for i in range(start, quarter, 4):
                s0 += np.float64(matrix[j, i])
                s1 += np.float64(matrix[j, i + 1])
                s2 += np.float64(matrix[j, i + 2])
                s3 += np.float64(matrix[j, i + 3])
            for i in range(quarter, stop):
                s0 += np.float64(matrix[j, i])
            sums[j] += (s0 + s1) + (s2 + s3)
            if convert:
                for i in range(start, stop):
                    frames[j, i] = matrix[j, i]
            if widen:
                for i in range(start, stop):
                    double[j, i] = matrix[j, i]
