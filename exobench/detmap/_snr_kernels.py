"""The compiled exact S/N map (numba), at module level so that numba's on-disk
cache holds it across processes; imported on first use."""

import numba
import numpy as np

from .._photometry_kernels import overlap_stamp


# error_model="numpy": a background of zero spread gives inf (or NaN for 0/0), as snr() does
@numba.njit(cache=True, nogil=True, error_model="numpy")
def kernel(image, xc, yc, fwhm, r_min, r_max, exclude_adjacent, out):
    radius = fwhm / 2.0
    size = int(2 * radius + 3)
    sa = np.empty(size + 1)
    sw = np.empty(size + 1)
    vw = np.empty((size + 1, 2))
    weights = np.empty((size + 1, size + 1))
    reach = int(np.floor(r_max))
    max_count = int(np.floor(np.pi / np.arcsin(min(1.0, radius / r_max)))) + 1
    sums = np.empty((4, max_count))
    # One quadrant (dx > 0, dy >= 0); the other three are its quarter turns.
    for dy in range(0, reach + 1):
        for dx in range(1, reach + 1):
            sep = np.sqrt(dx * dx + dy * dy)
            if sep < r_min or sep > r_max:
                continue
            step = 2.0 * np.arcsin(radius / sep)
            count = int(np.floor(2.0 * np.pi / step))
            phi0 = np.arctan2(dy, dx)
            for k in range(count):
                ux = sep * np.cos(phi0 - k * step)
                uy = sep * np.sin(phi0 - k * step)
                i0, j0, mx, my = overlap_stamp(ux, uy, radius, sa, sw, vw, weights)
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                for f in range(my):
                    py = j0 + f
                    for e in range(mx):
                        w = weights[f, e]
                        if w > 0.0:
                            px = i0 + e
                            s0 += w * image[yc + py, xc + px]
                            s1 += w * image[yc + px, xc - py]
                            s2 += w * image[yc - py, xc - px]
                            s3 += w * image[yc - px, xc + py]
                sums[0, k] = s0
                sums[1, k] = s1
                sums[2, k] = s2
                sums[3, k] = s3
            first = 2 if exclude_adjacent else 1
            last = count - 1 if exclude_adjacent else count
            n_bg = last - first
            if n_bg < 2:
                continue
            for g in range(4):
                mean = 0.0
                for k in range(first, last):
                    mean += sums[g, k]
                mean /= n_bg
                var = 0.0
                for k in range(first, last):
                    var += (sums[g, k] - mean) ** 2
                std = np.sqrt(var / (n_bg - 1))
                value = (sums[g, 0] - mean) / (std * np.sqrt(1.0 + 1.0 / n_bg))
                if g == 0:
                    out[yc + dy, xc + dx] = value
                elif g == 1:
                    out[yc + dx, xc - dy] = value
                elif g == 2:
                    out[yc - dy, xc - dx] = value
                else:
                    out[yc - dx, xc + dy] = value
