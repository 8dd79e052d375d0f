"""Pure task functions for the parallel tests (module level, so that workers import them by name)."""

import os
import time

import numpy as np


def seeded_arrays(seed):
    """A deterministic computation per item: float64, float32 and complex arrays (BLAS, FFT, sorting)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(64, 64))
    b = a @ a.T + np.eye(64)
    eigenvalues = np.linalg.eigvalsh(b)
    spectrum = np.fft.rfft2(a.astype(np.float32))
    return {"seed": seed, "product": b, "eigenvalues": eigenvalues, "spectrum": spectrum,
            "sorted": np.sort(rng.normal(size=1000).astype(np.float32))}


def sleep_then_return(item):
    """Sleeps ``item[1]`` seconds and returns ``item[0]`` (later items may finish first)."""
    value, seconds = item
    time.sleep(seconds)
    return value


def fail_on(item, *, bad, delay=0.2):
    """Raises a ValueError naming the item when it equals ``bad``; takes ``delay`` seconds otherwise."""
    if item == bad:
        raise ValueError(f"task failed on item {item}")
    time.sleep(delay)
    return item


def rows_sum(rows, *, array):
    """The sum of ``array[rows[0]:rows[1]]`` (``array`` scattered once)."""
    start, stop = rows
    return float(array[start:stop].sum(dtype=np.float64))


def from_item_tuple(item):
    """Takes ``(array, index)``: the scattered array arrives inside an item."""
    array, index = item
    return float(array[index].sum(dtype=np.float64))


def pca_final(ncomp, *, dataset, algorithm):
    """exobench's PCA (``"pca"`` or ``"pca-annular"``) on a (scattered) dataset."""
    from exobench.algorithms import get_algorithm

    result = get_algorithm(algorithm)(ncomp=ncomp).process(dataset)
    return result.final, result.residuals


def noop(item):
    """Does nothing (scheduling overhead)."""
    return item


def slow_square(item):
    """Sleeps 0.5 s and returns ``item ** 2`` (tasks in flight when a worker is killed)."""
    time.sleep(0.5)
    return item * item


def pid(_):
    """The worker's process id."""
    return os.getpid()
