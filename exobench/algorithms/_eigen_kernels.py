"""Compiled kernels of :mod:`exobench.algorithms._eigen` (imported on first use: numba).

Module-level functions calling each other as globals, so that numba's disk
cache finds them again in a new process (closures over other compiled
functions are recompiled in every process).
"""

import numba
import numpy as np

# error_model="numpy": a division by zero gives inf / NaN (caught by the residual check), not an exception
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
# No fast-math: with it, LLVM optimised the kernels differently when freshly compiled (the
# chain top -> tridiagonalize inlined into `weights`) than when loaded from the disk cache, so
# a process that compiled them and Dask workers that loaded them disagreed in the 13th digit
# (AVX-512 targets). It bought no measurable speed (tests/algorithms/test_kernel_cache.py).


@_jit
def tridiagonalize(a, d, e, v, tau):
    # a: symmetric, both triangles stored and overwritten. Reflector i:
    # H_i = I - tau[i] u u^T, u = v[i, i+1:] with u[0] = 1; a = Q T Q^T with Q = H_0 H_1 ...
    # The products run over whole contiguous rows (p += a[c] u[c], a[c] -= u w[c] + w u[c]): loops
    # without a running sum, which the compiler vectorises without reordering any addition (a dot
    # product over the upper triangle alone is one serial chain of additions).
    n = a.shape[0]
    p = np.empty(n)
    for i in range(n - 2):
        m0 = i + 1
        norm2 = 0.0
        for r in range(m0 + 1, n):
            norm2 += a[i, r] * a[i, r]
        x0 = a[i, m0]
        d[i] = a[i, i]
        if norm2 == 0.0:
            e[i] = x0
            tau[i] = 0.0
            continue
        alpha = np.sqrt(x0 * x0 + norm2)
        if x0 > 0.0:
            alpha = -alpha
        inverse = 1.0 / (x0 - alpha)
        v[i, m0] = 1.0
        for r in range(m0 + 1, n):
            v[i, r] = a[i, r] * inverse
        t = (alpha - x0) / alpha
        tau[i] = t
        e[i] = alpha
        # on views from m0 with indices from 0: loops the compiler vectorises (not with range(m0, n))
        m = n - m0
        u = v[i, m0:]
        w = p[m0:]
        for r in range(m):
            w[r] = 0.0
        for c in range(m):
            row = a[m0 + c, m0:]
            uc = u[c]
            for r in range(m):
                w[r] += row[r] * uc
        half = 0.0
        for r in range(m):
            w[r] *= t
            half += w[r] * u[r]
        half *= 0.5 * t
        for r in range(m):
            w[r] -= half * u[r]
        for c in range(m):
            row = a[m0 + c, m0:]
            uc = u[c]
            wc = w[c]
            for r in range(m):
                row[r] -= u[r] * wc + w[r] * uc
    if n >= 2:
        d[n - 2] = a[n - 2, n - 2]
        e[n - 2] = a[n - 2, n - 1]
    d[n - 1] = a[n - 1, n - 1]


@_jit
def sturm_counts(d, e2, shifts, pivmin, q, counts):
    # number of eigenvalues below each shift (negative pivots of T - shift I)
    n = d.size
    k = shifts.size
    for j in range(k):
        v = d[0] - shifts[j]
        v = v if abs(v) >= pivmin else -pivmin
        q[j] = v
        counts[j] = v < 0.0
    for i in range(1, n):
        di = d[i]
        ei = e2[i - 1]
        for j in range(k):
            v = di - shifts[j] - ei / q[j]
            v = v if abs(v) >= pivmin else -pivmin
            q[j] = v
            counts[j] += v < 0.0


@_jit
def top_tridiagonal(d, e, k, values, vectors):
    # the k largest eigenvalues (ascending) of the tridiagonal (d, e) and its eigenvectors (rows).
    # One long function on purpose: numba compiles it into one loop nest without calls, and the
    # bisection, the inverse iteration and the reorthogonalisation share their work arrays.
    n = d.size
    eps = 2.220446049250313e-16
    safemin = 2.2250738585072014e-308
    e2 = np.empty(max(n - 1, 1))
    low = d[0]
    high = d[0]
    for i in range(n):
        off = 0.0
        if i > 0:
            off += abs(e[i - 1])
        if i < n - 1:
            off += abs(e[i])
        low = min(low, d[i] - off)
        high = max(high, d[i] + off)
    norm = max(abs(low), abs(high))
    pivmin = safemin * max(1.0, norm * norm)
    for i in range(n - 1):
        e2[i] = e[i] * e[i]
        pivmin = max(pivmin, safemin * e2[i])
    low -= 2.0 * eps * norm * n + 2.0 * pivmin
    high += 2.0 * eps * norm * n + 2.0 * pivmin
    tolerance = 1e-7 * norm + pivmin
    lo = np.full(k, low)
    hi = np.full(k, high)
    mid = np.empty(k)
    q = np.empty(k)
    counts = np.empty(k, dtype=np.int64)
    for _ in range(256):
        done = True
        for j in range(k):
            mid[j] = 0.5 * (lo[j] + hi[j])
            if hi[j] - lo[j] > tolerance:
                done = False
        if done:
            break
        sturm_counts(d, e2, mid, pivmin, q, counts)
        for j in range(k):
            if counts[j] <= n - k + j:
                lo[j] = mid[j]
            else:
                hi[j] = mid[j]
    # inverse iteration on T - lambda I, factorised with partial pivoting (rows i, i+1 swap)
    x = np.empty(n)
    diag_u = np.empty(n)
    sup1 = np.empty(n)
    sup2 = np.empty(n)
    mult = np.empty(n)
    swap = np.zeros(n, dtype=np.bool_)
    tiny = eps * norm if norm > 0.0 else 1.0  # the zero matrix: any vector will do
    cluster = 0
    for j in range(k):
        lam = 0.5 * (lo[j] + hi[j])
        if j > 0 and lam - values[j - 1] > 1e-3 * norm:
            cluster = j
        diag = d[0] - lam
        sup = e[0] if n > 1 else 0.0
        for i in range(n - 1):
            sub = e[i]
            next_diag = d[i + 1] - lam
            next_sup = e[i + 1] if i + 1 < n - 1 else 0.0
            if abs(diag) >= abs(sub):
                swap[i] = False
                pivot = diag if diag != 0.0 else tiny
                m = sub / pivot
                mult[i] = m
                diag_u[i] = pivot
                sup1[i] = sup
                sup2[i] = 0.0
                diag = next_diag - m * sup
                sup = next_sup
            else:
                swap[i] = True
                m = diag / sub
                mult[i] = m
                diag_u[i] = sub
                sup1[i] = next_diag
                sup2[i] = next_sup
                diag = sup - m * next_diag
                sup = -m * next_sup
        diag_u[n - 1] = diag
        for i in range(n):
            if abs(diag_u[i]) < tiny:
                diag_u[i] = tiny if diag_u[i] >= 0.0 else -tiny
        for i in range(n):  # a fixed start vector, far from any simple structure
            x[i] = 1.0 + 0.5 * np.sin(1.0 + 2.3 * i + 0.7 * j)
        for _ in range(3):
            for i in range(n - 1):
                if swap[i]:
                    first = x[i]
                    x[i] = x[i + 1]
                    x[i + 1] = first - mult[i] * x[i]
                else:
                    x[i + 1] -= mult[i] * x[i]
            x[n - 1] /= diag_u[n - 1]
            if n > 1:
                x[n - 2] = (x[n - 2] - sup1[n - 2] * x[n - 1]) / diag_u[n - 2]
            for i in range(n - 3, -1, -1):
                x[i] = (x[i] - sup1[i] * x[i + 1] - sup2[i] * x[i + 2]) / diag_u[i]
            for p in range(cluster, j):
                dot = 0.0
                for i in range(n):
                    dot += x[i] * vectors[p, i]
                for i in range(n):
                    x[i] -= dot * vectors[p, i]
            scale = 0.0
            for i in range(n):
                scale += x[i] * x[i]
            scale = 1.0 / np.sqrt(scale)
            for i in range(n):
                x[i] *= scale
        quotient = d[n - 1] * x[n - 1] * x[n - 1]
        for i in range(n - 1):
            quotient += d[i] * x[i] * x[i] + 2.0 * e[i] * x[i] * x[i + 1]
        values[j] = quotient
        for i in range(n):
            vectors[j, i] = x[i]
    return norm


@_jit
def back_transform(v, tau, vectors):
    n = v.shape[0]
    k = vectors.shape[0]
    # the vectors as columns (one row per coordinate): the k dot products of a reflector advance
    # together, k independent chains of additions (each in the same order as one dot product alone)
    columns = np.empty((n, k))
    for col in range(k):
        for r in range(n):
            columns[r, col] = vectors[col, r]
    s = np.empty(k)
    for i in range(n - 3, -1, -1):
        t = tau[i]
        if t == 0.0:
            continue
        for col in range(k):
            s[col] = 0.0
        for r in range(i + 1, n):
            vr = v[i, r]
            for col in range(k):
                s[col] += vr * columns[r, col]
        for col in range(k):
            s[col] *= t
        for r in range(i + 1, n):
            vr = v[i, r]
            for col in range(k):
                columns[r, col] -= vr * s[col]
    for col in range(k):
        for r in range(n):
            vectors[col, r] = columns[r, col]


@_jit
def top(matrix, k):
    # the k largest eigenpairs of a symmetric matrix: values ascending, vectors as rows
    n = matrix.shape[0]
    values = np.empty(k)
    vectors = np.empty((k, n))
    if n == 1:
        values[0] = matrix[0, 0]
        vectors[0, 0] = 1.0
        return values, vectors
    a = matrix.copy()
    d = np.empty(n)
    e = np.empty(n - 1)
    v = np.zeros((n, n))
    tau = np.zeros(n)
    tridiagonalize(a, d, e, v, tau)
    norm = top_tridiagonal(d, e, k, values, vectors)
    # check every pair on the tridiagonal matrix (the reduction and the back-transformation are
    # orthogonal and backward stable); fall back on LAPACK's full solver if one is off
    worst = 0.0
    for j in range(k):
        for r in range(n):
            acc = (d[r] - values[j]) * vectors[j, r]
            if r > 0:
                acc += e[r - 1] * vectors[j, r - 1]
            if r < n - 1:
                acc += e[r] * vectors[j, r + 1]
            worst = max(worst, abs(acc))
        length = 0.0
        for r in range(n):
            length += vectors[j, r] * vectors[j, r]
        worst = max(worst, abs(length - 1.0) * norm)
    back_transform(v, tau, vectors)
    if not worst <= 1e-10 * max(norm, 1e-300):
        all_values, all_vectors = np.linalg.eigh(matrix)
        for j in range(k):
            values[j] = all_values[n - k + j]
            for r in range(n):
                vectors[j, r] = all_vectors[r, n - k + j]
    return values, vectors


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def weights(gram, allowed, selected, first, group, ncomp, out):
    # first[g]: a frame whose library is the g-th distinct one; group[i]: frame i's library
    n_frames = gram.shape[0]
    n_groups = first.size
    eps = 2.220446049250313e-16
    all_values = np.zeros((n_groups, ncomp))
    all_vectors = np.zeros((n_groups, ncomp, n_frames))  # by library position
    counts = np.zeros(n_groups, dtype=np.int64)
    for g in numba.prange(n_groups):
        i = first[g]
        if not selected[i]:
            continue
        size = 0
        for j in range(n_frames):
            size += allowed[i, j]
        if size == 0:
            continue
        library = np.empty(size, dtype=np.int64)
        m = 0
        for j in range(n_frames):
            if allowed[i, j]:
                library[m] = j
                m += 1
        block = np.empty((size, size))
        for r in range(size):
            for c in range(size):
                block[r, c] = gram[library[r], library[c]]
        k = min(ncomp, size)
        values, vectors = top(block, k)
        counts[g] = k
        for j in range(k):
            all_values[g, j] = values[j]
            for r in range(size):
                all_vectors[g, j, r] = vectors[j, r]
    for i in numba.prange(n_frames):
        g = group[i]
        k = counts[g]
        if not selected[i] or k == 0:
            continue
        library = np.flatnonzero(allowed[i])
        size = library.size
        tolerance = eps * size * max(all_values[g, k - 1], 0.0)
        for j in range(k):
            if all_values[g, j] > tolerance:
                coefficient = 0.0
                for r in range(size):
                    coefficient += all_vectors[g, j, r] * gram[library[r], i]
                coefficient /= all_values[g, j]
                for r in range(size):
                    out[i, library[r]] += all_vectors[g, j, r] * coefficient


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def batch(matrices, k, out):
    for index in numba.prange(matrices.shape[0]):
        _, vectors = top(matrices[index], k)
        out[index] = vectors
