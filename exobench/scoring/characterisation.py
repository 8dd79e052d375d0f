"""Characterisation metrics: how far estimated positions and fluxes of known companions are from the truth.

Pure functions of arrays (one row per companion); :mod:`exobench.scoring.charac_program`
reads the files and names the scores.

Definitions (``e`` an estimate, ``t`` the truth, ``s`` a 1-sigma uncertainty):

- position error: ``dx = x_e - x_t``, ``dy = y_e - y_t``; Euclidean ``hypot(dx, dy)`` and
  L1 ``|dx| + |dy|`` (the EIDC 2022 astrometry), pixels; times the pixel scale for
  milliarcseconds;
- flux error, per channel: relative ``(f_e - f_t) / f_t`` and in magnitudes
  ``-2.5 log10(f_e / f_t)`` (undefined when ``f_e <= 0``); the EIDC 2022
  spectrophotometry is ``sum over channels |f_e - f_t|`` per companion;
- coverage, **per coordinate**: each of x, y and every channel's flux counts as one
  Gaussian marginal; ``coverage_k`` is the fraction of all these coordinates with
  ``|e - t| <= k s`` (0.683 and 0.954 for calibrated Gaussian errors);
- proper scores, per coordinate and averaged: the Gaussian negative log-likelihood
  ``log(s) + 0.5 log(2 pi) + z^2 / 2`` and the CRPS of a Gaussian
  ``s (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))``, with ``z = (e - t) / s`` (lower is better).

Examples
--------
>>> import numpy as np
>>> position_errors([[1.0, 2.0]], [[4.0, 6.0]])["euclidean"].tolist()
[5.0]
"""

import math

import numpy as np

__all__ = ["position_errors", "flux_errors", "coverage", "gaussian_nll", "gaussian_crps",
           "eidc2022_scores", "SEPARATION_BANDS_FWHM", "separation_band"]

#: Separation bands of the by-separation summaries, in FWHM.
SEPARATION_BANDS_FWHM = ((0.0, 3.0), (3.0, 6.0), (6.0, 10.0), (10.0, math.inf))


def _pairs(estimated, true, name):
    estimated = np.asarray(estimated, dtype=float)
    true = np.asarray(true, dtype=float)
    if estimated.shape != true.shape:
        raise ValueError(f"{name}: expected the shape of the truth {true.shape}, got {estimated.shape}")
    return estimated, true


def position_errors(estimated, true):
    """Per companion: ``dx``, ``dy``, ``euclidean`` and ``l1`` errors (pixels) of ``(N, 2)`` (x, y) arrays.

    >>> e = position_errors([[10.0, 10.0], [0.0, 0.0]], [[13.0, 14.0], [1.0, 0.0]])
    >>> e["euclidean"].tolist(), e["l1"].tolist()
    ([5.0, 1.0], [7.0, 1.0])
    """
    estimated, true = _pairs(estimated, true, "estimated")
    dx, dy = estimated[:, 0] - true[:, 0], estimated[:, 1] - true[:, 1]
    return {"dx": dx, "dy": dy, "euclidean": np.hypot(dx, dy), "l1": np.abs(dx) + np.abs(dy)}


def flux_errors(estimated, true):
    """Per companion and channel (``(N, C)`` arrays): ``relative`` error, ``magnitude`` error (NaN where
    the estimate is not positive), ``absolute`` error; per companion ``spectrophotometry`` (the sum over
    channels of the absolute error).

    >>> e = flux_errors([[2.0], [0.5]], [[1.0], [1.0]])
    >>> e["relative"].ravel().tolist(), np.round(e["magnitude"].ravel(), 4).tolist()
    ([1.0, -0.5], [-0.7526, 0.7526])
    """
    estimated, true = _pairs(estimated, true, "estimated")
    if np.any(true <= 0):
        raise ValueError("true: expected fluxes > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.where(estimated > 0, -2.5 * np.log10(np.where(estimated > 0, estimated, 1.0) / true), np.nan)
    absolute = np.abs(estimated - true)
    return {"relative": (estimated - true) / true, "magnitude": magnitude, "absolute": absolute,
            "spectrophotometry": absolute.sum(axis=1)}


def _z(estimated, true, sigma):
    estimated, true = _pairs(estimated, true, "estimated")
    sigma = np.asarray(sigma, dtype=float)
    if sigma.shape != true.shape:
        raise ValueError(f"sigma: expected the shape of the truth {true.shape}, got {sigma.shape}")
    if not np.all(np.isfinite(sigma) & (sigma > 0)):
        raise ValueError("sigma: expected finite uncertainties > 0")
    return (estimated - true) / sigma, sigma


def coverage(estimated, true, sigma, k=1.0):
    """The fraction of coordinates whose truth lies within ``k`` sigma of the estimate (per coordinate).

    >>> coverage([[0.0, 0.0], [3.0, 0.0]], [[0.5, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]])
    0.75
    """
    z, _ = _z(estimated, true, sigma)
    return float(np.mean(np.abs(z) <= k)) if z.size else math.nan


def gaussian_nll(estimated, true, sigma):
    """The mean Gaussian negative log-likelihood of the truth, per coordinate.

    >>> round(gaussian_nll([[0.0]], [[0.0]], [[1.0]]), 6)  # 0.5 log(2 pi)
    0.918939
    """
    z, sigma = _z(estimated, true, sigma)
    return float(np.mean(np.log(sigma) + 0.5 * math.log(2 * math.pi) + 0.5 * z ** 2)) if z.size else math.nan


def gaussian_crps(estimated, true, sigma):
    """The mean continuous ranked probability score of a Gaussian forecast, per coordinate (units of the data).

    >>> round(gaussian_crps([[0.0]], [[0.0]], [[1.0]]), 6)  # (sqrt(2) - 1) / sqrt(pi)
    0.233695
    """
    z, sigma = _z(estimated, true, sigma)
    if not z.size:
        return math.nan
    erf = np.vectorize(math.erf)
    cdf = 0.5 * (1.0 + erf(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)
    return float(np.mean(sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))))


def eidc2022_scores(estimated_positions, true_positions, estimated_fluxes, true_fluxes):
    """The two numbers of the 2022 EIDC phase 2 leaderboard: the mean over companions of ``|dx| + |dy|``
    (astrometry, px) and of ``sum over channels |f_e - f_t|`` (spectrophotometry).

    >>> eidc2022_scores([[1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 3.0]], [[1.0, 2.0], [3.0, 3.0]],
    ...                 [[1.5, 2.0], [1.0, 1.0]])
    (2.5, 2.25)
    """
    positions = position_errors(estimated_positions, true_positions)
    fluxes = flux_errors(estimated_fluxes, true_fluxes)
    return float(np.mean(positions["l1"])), float(np.mean(fluxes["spectrophotometry"]))


def separation_band(separation_fwhm):
    """The label of the band of :data:`SEPARATION_BANDS_FWHM` a separation (FWHM) falls in.

    >>> separation_band(2.0), separation_band(12.5)
    ('0-3', '10+')
    """
    for low, high in SEPARATION_BANDS_FWHM:
        if low <= separation_fwhm < high:
            return f"{low:g}+" if math.isinf(high) else f"{low:g}-{high:g}"
    raise ValueError(f"separation_fwhm: expected a separation >= 0, got {separation_fwhm!r}")
