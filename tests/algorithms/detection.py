"""One check shared by the algorithm tests: a bright injected companion is the S/N map's maximum, and
the same cube without it has no pixel above S/N 5."""

import functools

import numpy as np

from exobench.detmap import snr_map
from exobench.examples import example_dataset
from exobench.inject import inject_companions


@functools.lru_cache(maxsize=None)
def companion_cubes():
    """``(empty, with_companion, (x, y))``: 30 frames of 49 x 49 (FWHM 4 px), a contrast-3e-3 companion at 12 px."""
    empty = example_dataset(n_frames=30, size=49, seed=1)
    injection = inject_companions(empty, separations=[12.0], thetas=[40.0], contrasts=[3e-3])
    return empty, injection.dataset, tuple(injection.positions[0])


def assert_detects_the_companion_only(algorithm):
    """The S/N map's maximum lies within 1 FWHM of the companion; without it, no pixel exceeds S/N 5.

    At S/N 5 (Student's t with the few apertures of a ring) the expected number
    of false alarms over this map's few hundred resolution elements is below 0.1.
    """
    empty, injected, (x, y) = companion_cubes()
    snr = snr_map(algorithm.process(injected).final, injected.fwhm)
    peak_y, peak_x = np.unravel_index(np.nanargmax(snr), snr.shape)
    assert np.hypot(peak_x - x, peak_y - y) <= injected.fwhm, (algorithm, (peak_x, peak_y), (x, y))
    assert np.nanmax(snr) > 5, algorithm
    noise = snr_map(algorithm.process(empty).final, empty.fwhm)
    assert np.count_nonzero(noise > 5) == 0, (algorithm, np.nanmax(noise))
