"""Compiled kernel of :mod:`exobench.algorithms.fmmf` (imported on first use: numba).

One call per ring of positions: for each position, the matched filter's
numerator ``sum_j <C_j, Q_j>`` and denominator ``sum_jk B_jk <C_j, C_k>`` (the
companion's PSF stamps ``C_j`` in every frame, restricted to the annulus).
Positions are independent: spread over numba's threads, the same numbers for
any number of threads.
"""

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)


@_jit
def ring(q, mask, stamps, ix, iy, offset, b, diagonal, num, den):
    # q: (t, ny, nx) the frames Q_j (0 outside the annulus); mask: (ny, nx) 1.0 in the annulus;
    # stamps: (n_offsets, s, s) the PSF shifted by each sub-pixel offset; ix, iy, offset:
    # (positions, t) the pixel each frame's stamp is centred on and its offset's index;
    # b: (t, t) symmetric. num, den: (positions,) written.
    t, ny, nx = q.shape
    s = stamps.shape[1]
    half = s // 2
    for p in numba.prange(ix.shape[0]):
        numerator = 0.0
        for j in range(t):
            stamp = stamps[offset[p, j]]
            y0 = iy[p, j] - half
            x0 = ix[p, j] - half
            for u in range(max(0, -y0), min(s, ny - y0)):
                for v in range(max(0, -x0), min(s, nx - x0)):
                    numerator += stamp[u, v] * q[j, y0 + u, x0 + v]
        denominator = 0.0
        for j in range(t):
            stamp_j = stamps[offset[p, j]]
            yj = iy[p, j] - half
            xj = ix[p, j] - half
            last = j + 1 if diagonal else t
            for k in range(j, last):
                if b[j, k] == 0.0:
                    continue
                yk = iy[p, k] - half
                xk = ix[p, k] - half
                # the overlap of the two stamps' boxes, inside the frame
                ya = max(yj, yk, 0)
                yb = min(yj + s, yk + s, ny)
                xa = max(xj, xk, 0)
                xb = min(xj + s, xk + s, nx)
                if ya >= yb or xa >= xb:
                    continue
                stamp_k = stamps[offset[p, k]]
                overlap = 0.0
                for y in range(ya, yb):
                    for x in range(xa, xb):
                        overlap += mask[y, x] * stamp_j[y - yj, x - xj] * stamp_k[y - yk, x - xk]
                denominator += (b[j, k] if k == j else 2.0 * b[j, k]) * overlap
        num[p] = numerator
        den[p] = denominator
