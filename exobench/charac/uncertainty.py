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

__all__ = ["add_companion", "remove_companion", "fake_positions", "rms_errors", "polar_rms_errors",
           "floor_uncertainties", "injection_fits", "injection_uncertainties"]

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
    scale = np.abs(np.asarray(truths, dtype=float)).mean(axis=0)
    return floor_uncertainties(np.sqrt(np.mean(errors ** 2, axis=0)), scale)


def floor_uncertainties(sigmas, values):
    """``sigmas`` floored at a millionth of each parameter's scale (``|values|``, at least 1): never 0."""
    scale = np.maximum(np.abs(np.asarray(values, dtype=float)), 1.0)
    return np.maximum(np.asarray(sigmas, dtype=float), _FLOOR * scale)


def polar_rms_errors(estimates, truths, position, center):
    """:func:`rms_errors`, the position's measured along each fake's radial and tangential directions.

    A companion's position error is not isotropic: along its radius (the PSF's width) and across
    it (the field rotation's smearing, the speckles' shapes) it differs. The fakes sit at other
    azimuths, where the radial and tangential directions point along other ``x`` and ``y``:
    their ``x`` errors mix both, in proportions that depend on where they are. So each fake's
    error is split into its radial and tangential parts, their mean squares and mean product
    make a covariance in the (radial, tangential) frame, and that covariance is turned to the
    directions at ``position`` before ``x`` and ``y`` are read off it.

    Parameters
    ----------
    estimates, truths : array_like, shape ``(n_fakes, 2 + n_channels)``
    position : (float, float)
        The companion's ``(x, y)``.
    center : (float, float)
        The star's ``(x, y)``.

    Examples
    --------
    Fakes with tangential errors only (the first at azimuth 90 degrees: error along ``x``);
    a companion at azimuth 0 then has all its position uncertainty along ``y``:

    >>> truths = np.array([[0.0, 10.0, 1.0], [-10.0, 0.0, 1.0]])
    >>> estimates = truths + [[-0.2, 0.0, 0.0], [0.0, -0.2, 0.0]]
    >>> np.round(polar_rms_errors(estimates, truths, (10.0, 0.0), (0.0, 0.0)), 3)
    array([0. , 0.2, 0. ])
    """
    estimates, truths = np.asarray(estimates, dtype=float), np.asarray(truths, dtype=float)
    out = rms_errors(estimates, truths)
    errors = estimates[:, :2] - truths[:, :2]
    azimuths = np.arctan2(truths[:, 1] - center[1], truths[:, 0] - center[0])
    cos, sin = np.cos(azimuths), np.sin(azimuths)
    radial = errors[:, 0] * cos + errors[:, 1] * sin
    tangential = -errors[:, 0] * sin + errors[:, 1] * cos
    rr, tt, rt = np.mean(radial ** 2), np.mean(tangential ** 2), np.mean(radial * tangential)
    theta = np.arctan2(position[1] - center[1], position[0] - center[0])
    c, s = np.cos(theta), np.sin(theta)
    variances = np.array([rr * c * c + tt * s * s - 2 * rt * s * c, rr * s * s + tt * c * c + 2 * rt * s * c])
    out[:2] = floor_uncertainties(np.sqrt(np.maximum(variances, 0.0)), np.abs(truths[:, :2]).mean(axis=0))
    return out


def injection_fits(fit, dataset, estimate, candidate, *, count):
    """The fakes of :func:`injection_uncertainties`, fitted: ``(estimates, truths)``, ``(count, 2 + n_channels)``
    each."""
    estimate = np.asarray(estimate, dtype=float)
    clean = remove_companion(dataset, estimate[:2], estimate[2:])
    fluxes = np.abs(estimate[2:])
    found, truths = [], []
    for truth, start in fake_positions(dataset, estimate[:2], candidate, count):
        found.append(np.asarray(fit(add_companion(clean, truth, fluxes), start), dtype=float))
        truths.append(np.concatenate([truth, fluxes]))
    return np.array(found), np.array(truths)


def injection_uncertainties(fit, dataset, estimate, candidate, *, count):
    """1-sigma uncertainties of ``estimate`` (``[x, y, flux_1, ...]``) by injection-recovery
    (:func:`polar_rms_errors` of the fakes' fits).

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
    found, truths = injection_fits(fit, dataset, estimate, candidate, count=count)
    return polar_rms_errors(found, truths, np.asarray(estimate, dtype=float)[:2], dataset.center)
