"""One threshold calibrated on flipped-angle negative maps (exobench.cnn.threshold)."""

import numpy as np
import pytest

from exobench.cnn._backend import unavailable_reason

needs_keras = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
from exobench.cnn.probability import probability_map
from exobench.cnn.threshold import ThresholdCalibration, calibrate_threshold, threshold_for_rate


@needs_keras
def test_calibrated_threshold_gives_the_rate_on_negatives(trained, dataset):
    from exobench.examples import example_dataset

    other = example_dataset(n_frames=20, size=45, seed=5)
    calibration = calibrate_threshold([dataset, other], trained, fpr=0.02)
    assert isinstance(calibration, ThresholdCalibration) and calibration.n_datasets == 2
    negatives = [probability_map(d, trained, flip_angles=True) for d in (dataset, other)]
    rates = [np.mean(m.values() > calibration.threshold) for m in negatives]
    assert np.mean(rates) <= 0.02 and np.mean(rates) > 0.01
    assert calibration.per_dataset == pytest.approx(rates) and calibration.achieved == pytest.approx(np.mean(rates))
    blob = calibrate_threshold(None, trained, fpr=1.0, rule="blob", negative_maps=negatives)
    assert blob.achieved <= 1.0 and 0.0 <= blob.threshold <= 1.0


def test_threshold_for_rate_weights_datasets_equally():
    rng = np.random.default_rng(0)
    maps = [rng.uniform(size=(20, 20)), rng.uniform(size=(60, 60)) ** 3]
    masks = [np.ones((20, 20), bool), np.ones((60, 60), bool)]
    t, rates = threshold_for_rate(maps, masks, 0.05)
    assert np.mean(rates) <= 0.05 and np.mean(rates) > 0.045
    assert rates == tuple(float(np.mean(m > t)) for m in maps)
    with pytest.raises(ValueError, match=r"fpr: expected a number in \(0, 1\), got 1.5"):
        threshold_for_rate(maps, masks, 1.5)
    with pytest.raises(ValueError, match="fpr: expected a number >= 0, got -1"):
        threshold_for_rate(maps, masks, -1, rule="blob", fwhms=[4.0, 4.0])
    with pytest.raises(ValueError, match="rule"):
        threshold_for_rate(maps, masks, 0.1, rule="dataset")
    with pytest.raises(ValueError, match="fwhms"):
        threshold_for_rate(maps, masks, 0.1, rule="blob")


def test_blob_rule_counts_false_positive_blobs():
    detmap = np.zeros((40, 40))
    detmap[5, 5:7] = 0.9   # one blob of 2 pixels
    detmap[30, 30:32] = 0.8
    detmap[20, 20] = 0.95  # a single pixel: below npix, never a false positive
    mask = np.ones_like(detmap, bool)
    t, per_dataset = threshold_for_rate([detmap], [mask], 1.0, rule="blob", fwhms=[4.0])
    assert t == 0.8 and per_dataset == (1.0,)
    t, per_dataset = threshold_for_rate([detmap], [mask], 0.0, rule="blob", fwhms=[4.0])
    assert t == 0.9 and per_dataset == (0.0,)
