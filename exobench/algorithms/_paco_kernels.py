"""Compiled kernel of :mod:`exobench.algorithms.paco` (imported on first use: numba).

At module level so that numba's disk cache finds it again in a new process.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def subpixel_terms(cube, rows, cols, slots, shifts, offsets_y, offsets_x, means, inverses, psfs, a, b):
    """PACO's sums over frames of ``a_k = h_k^T C^-1 h_k`` and ``b_k = h_k^T C^-1 (r_k - m)``.

    Hypothesis ``i`` has, in frame ``k``, its patch centred on pixel
    ``(rows[i, k], cols[i, k])`` whose statistics (mean ``means[j]``, inverse
    covariance ``inverses[j]``) are those of slot ``j = slots[i, k]``, and its
    PSF patch ``psfs[shifts[i, k]]``. Hypotheses are independent: spread over
    numba's threads, the sums do not depend on their number.
    """
    n, t = slots.shape
    p = offsets_y.size
    for i in numba.prange(n):
        v = np.empty(p)
        sum_a = 0.0
        sum_b = 0.0
        for k in range(t):
            j = slots[i, k]
            h = psfs[shifts[i, k]]
            inverse = inverses[j]
            for r in range(p):
                acc = 0.0
                for c in range(p):
                    acc += inverse[r, c] * h[c]
                v[r] = acc
            y0 = rows[i, k]
            x0 = cols[i, k]
            for r in range(p):
                sum_a += h[r] * v[r]
                sum_b += v[r] * (cube[k, y0 + offsets_y[r], x0 + offsets_x[r]] - means[j, r])
        a[i] = sum_a
        b[i] = sum_b
