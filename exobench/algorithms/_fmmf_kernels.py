"""Compiled kernel of :mod:`exobench.algorithms.fmmf` (imported on first use: numba).

One call per ring of positions: for each position, the matched filter's
numerator and denominator (see :mod:`exobench.algorithms.fmmf` for the
formulas). Positions are independent: spread over numba's threads, the same
numbers for any number of threads.
"""

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_parallel = numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)


@_jit
def stamp_dot(stamp, frame, y0, x0):
    # <stamp, frame> with the stamp's corner at (y0, x0), the parts outside the frame left out
    s = stamp.shape[0]
    ny, nx = frame.shape
    total = 0.0
    for u in range(max(0, -y0), min(s, ny - y0)):
        for v in range(max(0, -x0), min(s, nx - x0)):
            total += stamp[u, v] * frame[y0 + u, x0 + v]
    return total


@_jit
def stamp_products(frames, stamps, ix, iy, offset, out):
    # out[j, l] = <C_j, frames[l]>: the stamp of frame j against every frame l
    half = stamps.shape[1] // 2
    for j in range(ix.shape[0]):
        for l in range(frames.shape[0]):
            out[j, l] = stamp_dot(stamps[offset[j]], frames[l], iy[j] - half, ix[j] - half)


@_jit
def stamp_trace(frames, stamps, ix, iy, offset):
    # sum_j <C_j, frames[j]>
    half = stamps.shape[1] // 2
    total = 0.0
    for j in range(frames.shape[0]):
        total += stamp_dot(stamps[offset[j]], frames[j], iy[j] - half, ix[j] - half)
    return total


@_jit
def stamp_gram(mask, stamps, ix, iy, offset, b, diagonal):
    # sum_jk b[j, k] <C_j, C_k> over the annulus (b symmetric)
    t = ix.shape[0]
    ny, nx = mask.shape
    s = stamps.shape[1]
    half = s // 2
    total = 0.0
    for j in range(t):
        stamp_j = stamps[offset[j]]
        yj = iy[j] - half
        xj = ix[j] - half
        last = j + 1 if diagonal else t
        for k in range(j, last):
            if b[j, k] == 0.0:
                continue
            yk = iy[k] - half
            xk = ix[k] - half
            # the overlap of the two stamps' boxes, inside the frame
            ya = max(yj, yk, 0)
            yb = min(yj + s, yk + s, ny)
            xa = max(xj, xk, 0)
            xb = min(xj + s, xk + s, nx)
            if ya >= yb or xa >= xb:
                continue
            stamp_k = stamps[offset[k]]
            overlap = 0.0
            for y in range(ya, yb):
                for x in range(xa, xb):
                    overlap += mask[y, x] * stamp_j[y - yj, x - xj] * stamp_k[y - yk, x - xk]
            total += (b[j, k] if k == j else 2.0 * b[j, k]) * overlap
    return total


@_jit
def basis_perturbation(yc, lib, nlib, ncomp, values, vectors_t, ghat, alpha):
    # alpha[i, :nlib[i]]: the first-order change of frame i's reconstruction coefficients over its
    # library's (centred) data frames when the companion's stamps are added to the cube:
    # P (u + v) + g^T dP, dP = -P E P + the top/rest couplings E_mk / (l_k (l_k - l_m)).
    # vectors_t[i, m, :]: the m-th eigenvector of frame i's library (rows: contiguous loops).
    t = yc.shape[0]
    e = np.empty((t, t))
    ev = np.empty((t, t))
    et = np.empty((t, t))
    u = np.empty(t)
    gamma = np.empty(t)
    for i in range(t):
        n = nlib[i]
        k_top = ncomp[i]
        for a in range(n):
            u[a] = yc[lib[i, a], i] + yc[i, lib[i, a]]
            for c in range(n):
                e[a, c] = yc[lib[i, a], lib[i, c]] + yc[lib[i, c], lib[i, a]]
        # ev[k, :] = E v_k, et[k, m] = v_m^T E v_k
        for k in range(k_top):
            for a in range(n):
                total = 0.0
                for c in range(n):
                    total += e[a, c] * vectors_t[i, k, c]
                ev[k, a] = total
            for m in range(n):
                total = 0.0
                for a in range(n):
                    total += vectors_t[i, m, a] * ev[k, a]
                et[k, m] = total
        for m in range(n):
            gamma[m] = 0.0
        for k in range(k_top):
            uk = 0.0
            for a in range(n):
                uk += vectors_t[i, k, a] * u[a]
            gamma[k] += uk / values[i, k]
            for k2 in range(k_top):
                gamma[k2] -= ghat[i, k] * et[k, k2] / (values[i, k] * values[i, k2])
            for m in range(k_top, n):
                coupling = et[k, m] / (values[i, k] * (values[i, k] - values[i, m]))
                gamma[k] += ghat[i, m] * coupling
                gamma[m] += ghat[i, k] * coupling
        for a in range(n):
            alpha[i, a] = 0.0
        for m in range(n):
            for a in range(n):
                alpha[i, a] += gamma[m] * vectors_t[i, m, a]


@_parallel
def ring(q, mc, mask, stamps, ix, iy, offset, b, diagonal, forward, lib, nlib, ncomp, values, vectors_t, ghat,
         a, w, h, s_gram, num, den):
    # q: (t, ny, nx) the frames Q_j (0 outside the annulus); mc: (t, ny, nx) the centred data
    # frames (0 outside); mask: (ny, nx) 1.0 in the annulus; stamps: (n_offsets, s, s);
    # ix, iy, offset: (positions, t); b = A^T diag(w) A. With ``forward``, the basis
    # perturbation's terms: the libraries (lib, nlib), their eigenpairs (descending values,
    # ncomp of them used), ghat = V^T g, a = A, w, h = Mc R^T, s_gram = Mc Mc^T.
    t = q.shape[0]
    for p in numba.prange(ix.shape[0]):
        numerator = stamp_trace(q, stamps, ix[p], iy[p], offset[p])
        denominator = stamp_gram(mask, stamps, ix[p], iy[p], offset[p], b, diagonal)
        if forward:
            y = np.empty((t, t))
            stamp_products(mc, stamps, ix[p], iy[p], offset[p], y)
            ay = a @ y  # ay[i, l] = <sum_j A_ij C_j, Mc_l>
            yc = np.empty((t, t))
            for l in range(t):
                mean = 0.0
                for j in range(t):
                    mean += y[j, l]
                mean /= t
                for j in range(t):
                    yc[j, l] = y[j, l] - mean
            alpha = np.zeros((t, t))
            basis_perturbation(yc, lib, nlib, ncomp, values, vectors_t, ghat, alpha)
            # the model of frame i is sum_j A_ij C_j - sum_l alpha_il Mc_l
            for i in range(t):
                n = nlib[i]
                cross = 0.0
                quad = 0.0
                data = 0.0
                for c in range(n):
                    l = lib[i, c]
                    data += alpha[i, c] * h[l, i]
                    cross += alpha[i, c] * ay[i, l]
                    inner = 0.0
                    for c2 in range(n):
                        inner += alpha[i, c2] * s_gram[l, lib[i, c2]]
                    quad += alpha[i, c] * inner
                numerator -= w[i] * data
                denominator += w[i] * (quad - 2.0 * cross)
        num[p] = numerator
        den[p] = denominator
