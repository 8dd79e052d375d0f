"""The compiled loops of exact circular photometry (numba), at module level so
that numba's on-disk cache holds them across processes; imported on first use."""

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def primitive(t, radius):
    t = min(max(t, -radius), radius)
    # (R - t)(R + t) and atan2 stay accurate near |t| = R, where R^2 - t^2 and asin(t / R) do not
    chord = np.sqrt(max((radius - t) * (radius + t), 0.0))
    return 0.5 * (t * chord + radius * radius * np.arctan2(t, chord))

@jit
def overlap_stamp(ux, uy, radius, sa, sw, vw, weights):
    # the pixels whose square meets the circle's bounding box: columns i0 .. i0 + mx - 1,
    # rows j0 .. j0 + my - 1 (never more: a cell beyond them could be outside the image)
    i0 = int(np.ceil(ux - radius - 0.5))
    j0 = int(np.ceil(uy - radius - 0.5))
    mx = int(np.floor(ux + radius + 0.5)) - i0 + 1
    my = int(np.floor(uy + radius + 0.5)) - j0 + 1
    s_r = 0.25 * np.pi * radius * radius
    for e in range(mx + 1):
        sa[e] = primitive(i0 - 0.5 + e - ux, radius)
    for f in range(my + 1):
        v = j0 - 0.5 + f - uy
        w = np.sqrt(max((radius - v) * (radius + v), 0.0))
        vw[f, 0] = v
        vw[f, 1] = w
        sw[f] = primitive(w, radius)
    # corner values F(u_e, v_f) into weights[f, e] (an (my+1) x (mx+1) grid)
    for f in range(my + 1):
        v, w, s_w = vw[f, 0], vw[f, 1], sw[f]
        for e in range(mx + 1):
            s_a = sa[e]
            s_b = min(max(s_a, -s_w), s_w)
            a = min(max(i0 - 0.5 + e - ux, -radius), radius)
            b = min(max(a, -w), w)
            middle = v * (b + w) + s_b + s_w
            if v >= 0.0:
                weights[f, e] = 2.0 * (min(s_a, -s_w) + s_r) + middle + 2.0 * (max(s_a, s_w) - s_w)
            else:
                weights[f, e] = middle
    # pixel overlaps: differences of the four corners, in place (row f, column e); exactly 0 for
    # pixels that do not meet the circle (their difference is rounding, not area, and it would make
    # a sum read pixels that the aperture does not touch)
    for f in range(my):
        dy = max(abs(j0 + f - uy) - 0.5, 0.0)
        for e in range(mx):
            dx = max(abs(i0 + e - ux) - 0.5, 0.0)
            if dx * dx + dy * dy >= radius * radius:
                weights[f, e] = 0.0
            else:
                weights[f, e] = weights[f + 1, e + 1] - weights[f, e + 1] - weights[f + 1, e] + weights[f, e]
    return i0, j0, mx, my

@jit
def aperture_sums(image, positions, radius, out):
    size = int(2 * radius + 3)
    sa = np.empty(size + 1)
    sw = np.empty(size + 1)
    vw = np.empty((size + 1, 2))
    weights = np.empty((size + 1, size + 1))
    for p in range(positions.shape[0]):
        i0, j0, mx, my = overlap_stamp(positions[p, 0], positions[p, 1], radius, sa, sw, vw, weights)
        total = 0.0
        for f in range(my):
            for e in range(mx):
                w = weights[f, e]
                if w > 0.0:
                    total += w * image[j0 + f, i0 + e]
        out[p] = total
