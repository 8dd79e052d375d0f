"""One detection threshold for several datasets, calibrated on their flipped-angle negative maps.

A dataset's *negative* map is the model run on its MLAR frames derotated with
the negated angles (``probability_map(..., flip_angles=True)``): a companion of
the sky then smears along its arc and only the noise is left.
:func:`calibrate_threshold` returns the smallest value whose expected
false-positive rate on those maps is at most the target, with one of two rules:

- ``rule="pixel"`` (default): the false-positive rate of a dataset is the share of
  its map's pixels (inside the annuli) strictly above the threshold, and the
  datasets count equally (their mean rate is the target), so that a large frame
  does not impose its noise on the small ones. Every pixel is a sample, so the
  rate is smooth in the threshold.
- ``rule="blob"``: the expected number of false positives per dataset as the
  scorer counts them (4-connected blobs of at least ``npix`` pixels, huge blobs
  counted by area, :func:`exobench.scoring.curves.roc_curve` on the negative maps
  with no injection): ``fpr`` is then a number of false positives per dataset.
  Closer to the score, coarser (a few blobs per map).
"""

import dataclasses
import warnings

import numpy as np

from .._validate import check_choice, check_number, check_range
from .probability import probability_map

__all__ = ["ThresholdCalibration", "calibrate_threshold", "threshold_for_rate", "CALIBRATION_RULES"]

#: Rules of :func:`calibrate_threshold`.
CALIBRATION_RULES = ("pixel", "blob")


@dataclasses.dataclass(frozen=True)
class ThresholdCalibration:
    """What :func:`calibrate_threshold` returns.

    Attributes
    ----------
    threshold : float
        Values strictly above it are detections.
    target : float
        The requested rate (per pixel, or false positives per dataset with ``rule="blob"``).
    rule : {"pixel", "blob"}
    achieved : float
        The rate the threshold gives on the negative maps (at most ``target``).
    per_dataset : tuple of float
        That rate on each negative map.
    n_datasets : int
    n_pixels : int
        Pixels of the negative maps.
    """

    threshold: float
    target: float
    rule: str
    achieved: float
    per_dataset: tuple
    n_datasets: int
    n_pixels: int

    def to_dict(self):
        """A JSON-serialisable dict."""
        return dataclasses.asdict(self)


# -- probability maps ---------------------------------------------------------------------------

def _check_rate(rate, rule):
    """``fpr`` of ``rule``: a rate per pixel in (0, 1), or a number of false positives per dataset >= 0."""
    if rule == "pixel":
        return check_range(rate, "fpr", 0.0, 1.0, closed="neither")
    return check_number(rate, "fpr")


def _pixel_threshold(samples, rate):
    values = np.concatenate(samples)
    weights = np.concatenate([np.full(v.size, 1.0 / (v.size * len(samples))) for v in samples])
    order = np.argsort(-values, kind="stable")
    values, weights = values[order], weights[order]
    levels, first = np.unique(-values, return_index=True)  # distinct values, decreasing
    before = np.concatenate([[0.0], np.cumsum(weights)])[first]  # weight strictly above each level
    ok = np.flatnonzero(before <= rate + 1e-12)
    threshold = float(-levels[ok[-1]])
    rates = tuple(float(np.mean(v > threshold)) for v in samples)
    return threshold, rates


def _blob_threshold(maps, masks, fwhms, rate, npix):
    from ..scoring.curves import roc_curve

    detmaps = [np.where(m, p, -np.inf) for p, m in zip(maps, masks)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = roc_curve(detmaps, [np.zeros((0, 2))] * len(detmaps), list(fwhms), npix=npix)
    thresholds, mean_fp = curve.thresholds, curve.mean_fp
    finite = np.isfinite(thresholds)
    above = np.flatnonzero(finite & ~(mean_fp <= rate + 1e-12))
    stop = above[0] if above.size else np.flatnonzero(finite)[-1] + 1
    threshold = float(thresholds[max(stop - 1, 0)])
    per_dataset = tuple(float(s.at([threshold]).fp[0]) for s in curve.per_dataset)
    return threshold, per_dataset


def threshold_for_rate(maps, masks, rate, *, rule="pixel", fwhms=None, npix=2):
    """The smallest threshold whose false-positive rate on negative maps is at most ``rate``.

    Parameters
    ----------
    maps : sequence of 2D arrays
        Negative (companion-free) probability maps.
    masks : sequence of 2D bool arrays
        Their predicted pixels.
    rate : float
        Per pixel (``rule="pixel"``, in (0, 1)), or false positives per dataset (``"blob"``).
    rule : {"pixel", "blob"}
        See :mod:`exobench.cnn.threshold`.
    fwhms : sequence of float
        FWHM of each map (``"blob"`` only).
    npix : int
        Smallest blob (``"blob"`` only).

    Returns
    -------
    (float, tuple of float)
        The threshold and each map's rate there.

    Examples
    --------
    >>> maps = [np.linspace(0, 1, 100).reshape(10, 10), np.linspace(0, 0.5, 100).reshape(10, 10)]
    >>> masks = [np.ones((10, 10), bool)] * 2
    >>> t, rates = threshold_for_rate(maps, masks, 0.05)
    >>> round(t, 3), rates
    (0.899, (0.1, 0.0))
    """
    check_choice(rule, "rule", CALIBRATION_RULES)
    rate = _check_rate(rate, rule)
    maps = [np.asarray(m, dtype=np.float64) for m in maps]
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if not maps or len(maps) != len(masks) or any(m.shape != k.shape for m, k in zip(maps, masks)):
        raise ValueError("maps: expected one mask of the same shape per map, and at least one map")
    if any(not k.any() for k in masks):
        raise ValueError("masks: expected at least one predicted pixel in every map")
    if rule == "pixel":
        return _pixel_threshold([m[k] for m, k in zip(maps, masks)], rate)
    if fwhms is None or len(fwhms) != len(maps):
        raise ValueError("fwhms: expected one FWHM per map with rule='blob'")
    return _blob_threshold(maps, masks, fwhms, rate, npix)


def calibrate_threshold(datasets, trained, *, fpr=1e-3, rule="pixel", npix=2, batch_size=4096,
                        negative_maps=None, threads=1, progress=False):
    """One detection threshold for every dataset, from their flipped-angle negative maps.

    Parameters
    ----------
    datasets : Dataset or sequence of Dataset
    trained : exobench.cnn.training.TrainedModel
    fpr : float
        Target: false-positive rate per pixel (``rule="pixel"``) or false
        positives per dataset (``rule="blob"``).
    rule : {"pixel", "blob"}
        See :mod:`exobench.cnn.threshold`.
    npix : int
        Smallest blob counted (``"blob"``; the scorer's default 2).
    batch_size : int
    negative_maps : sequence of ProbabilityMap, optional
        Negative maps already computed (``probability_map(..., flip_angles=True)``);
        then ``datasets`` is only used for their count and may be None.
    threads : int or None
        CPU threads of the torch backend (None: torch's default).
    progress : bool

    Returns
    -------
    ThresholdCalibration

    Examples
    --------
    >>> calibrate_threshold([dataset], trained, fpr=1e-3).threshold  # doctest: +SKIP
    0.97...
    """
    check_choice(rule, "rule", CALIBRATION_RULES)
    fpr = _check_rate(fpr, rule)
    if negative_maps is None:
        from ..data import Dataset

        datasets = [datasets] if isinstance(datasets, Dataset) else list(datasets)
        if not datasets:
            raise ValueError("datasets: expected at least one dataset")
        negative_maps = [probability_map(d, trained, batch_size=batch_size, flip_angles=True, threads=threads,
                                         progress=progress) for d in datasets]
    maps = [m.probability for m in negative_maps]
    masks = [m.mask for m in negative_maps]
    threshold, rates = threshold_for_rate(maps, masks, fpr, rule=rule, fwhms=[m.fwhm for m in negative_maps],
                                          npix=npix)
    return ThresholdCalibration(threshold=threshold, target=fpr, rule=rule, achieved=float(np.mean(rates)),
                                per_dataset=rates, n_datasets=len(maps), n_pixels=int(sum(k.sum() for k in masks)))
