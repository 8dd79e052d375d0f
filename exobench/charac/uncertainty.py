"""Uncertainties of a characterisation by injection-recovery of fake companions.

The companion is removed from the cube at its estimate (a negative companion), fake
companions of the estimated flux are injected one at a time at the same separation and
other azimuths (:func:`fake_positions`), each is fitted like the companion (starting as far
from its truth as the companion's candidate was from the estimate), and the 1-sigma
uncertainty of each parameter is the root mean square of the fakes' errors (their bias
included, so that a biased estimator does not claim a precision it lacks).
"""

import numpy as np

from ..geometry import cartesian_to_polar, polar_to_cartesian
from .model import channel_datasets, companion_cube, offset_start

__all__ = ["add_companion", "remove_companion", "fake_positions", "rms_errors", "injection_uncertainties"]

#: The smallest uncertainty reported, relative to a parameter's scale (px, flux): never 0.
_FLOOR = 1e-6


def add_companion(dataset, position, fluxes):
    """``dataset`` with a companion of ``fluxes`` (one per channel) at ``position`` added."""
    fluxes = np.atleast_1d(np.asarray(fluxes, dtype=float))
    if not dataset.is_4d:
        return dataset.replace(cube=np.asarray(dataset.cube, dtype=np.float64)
                               + companion_cube(dataset, *position, float(fluxes[0])))
    cube = np.array(dataset.cube, dtype=np.float64)
    for c, channel in enumerate(channel_datasets(dataset)):
        cube[c] += companion_cube(channel, *position, float(fluxes[c]))
    return dataset.replace(cube=cube)


def remove_companion(dataset, position, fluxes):
    """``dataset`` with the companion of ``fluxes`` at ``position`` subtracted."""
    return add_companion(dataset, position, -np.atleast_1d(np.asarray(fluxes, dtype=float)))


def fake_positions(dataset, estimate, candidate, count):
    """``[(truth, start), ...]``: ``count`` fakes at the estimate's separation, evenly spread in
    azimuth away from it, and where each one's fit starts (:func:`offset_start`)."""
    from .psffit import fake_thetas

    separation, theta = cartesian_to_polar(*estimate, center=dataset.center)
    out = []
    for azimuth in fake_thetas(theta, count):
        truth = polar_to_cartesian(separation, azimuth, center=dataset.center)
        out.append((np.array(truth), np.array(offset_start(dataset, estimate, candidate, truth))))
    return out


def rms_errors(estimates, truths):
    """Per parameter, the root mean square of ``estimates - truths`` (rows: fakes), floored above 0."""
    errors = np.asarray(estimates, dtype=float) - np.asarray(truths, dtype=float)
    rms = np.sqrt(np.mean(errors ** 2, axis=0))
    scale = np.maximum(np.abs(np.asarray(truths, dtype=float)).mean(axis=0), 1.0)
    return np.maximum(rms, _FLOOR * scale)


def injection_uncertainties(fit, dataset, estimate, candidate, *, count):
    """1-sigma uncertainties of ``estimate`` (``[x, y, flux_1, ...]``) by injection-recovery.

    Parameters
    ----------
    fit : callable
        ``fit(dataset, start) -> [x, y, flux_1, ...]``: the estimator.
    dataset : Dataset
        The data with the companion.
    estimate : array_like
        The companion's estimate.
    candidate : (float, float)
        Where the companion's fit started.
    count : int
        Fake companions.

    Returns
    -------
    ndarray, the shape of ``estimate``
    """
    estimate = np.asarray(estimate, dtype=float)
    clean = remove_companion(dataset, estimate[:2], estimate[2:])
    fluxes = np.abs(estimate[2:])
    found, truths = [], []
    for truth, start in fake_positions(dataset, estimate[:2], candidate, count):
        found.append(np.asarray(fit(add_companion(clean, truth, fluxes), start), dtype=float))
        truths.append(np.concatenate([truth, fluxes]))
    return rms_errors(np.array(found), np.array(truths))
