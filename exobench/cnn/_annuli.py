"""The annuli of MLAR frames as pixel masks and labels (shared by the MLAR and matched-filter modules)."""

import numpy as np

from ..geometry import polar_grid


def radius_grid(shape):
    """Each pixel's distance from the frame centre (of the last two axes of ``shape``)."""
    return polar_grid(shape)[0]


def annuli_region(shape, bounds):
    """The pixels of the annuli ``bounds`` (``(inner, outer)`` radii, contiguous): ``inner <= r < outer``."""
    radius = radius_grid(shape)
    return (radius >= bounds[0][0]) & (radius < bounds[-1][1])


def annulus_labels(shape, annuli):
    """Index of each pixel's annulus, -1 outside the annuli (``inner <= r < outer``)."""
    radius = radius_grid(shape)
    labels = np.full(radius.shape, -1, dtype=np.int64)
    for j, (inner, outer) in enumerate(annuli):
        labels[(radius >= inner) & (radius < outer)] = j
    return labels
