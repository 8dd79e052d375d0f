"""The statistical-detector base: Detection, the 4D combination, the radial renormalisation."""

import numpy as np
import pytest

from exobench.algorithms import Detection, Detector, combine_channels, radial_normalisation
from exobench.algorithms.sdi import example_4d_dataset
from exobench.examples import example_dataset


class _MeanFrame(Detector):
    """Statistic = mean frame / its global robust std: enough to follow the plumbing."""

    def __init__(self, *, scale=1.0):
        self.scale = scale

    def detect_adi(self, dataset):
        flux = self.scale * dataset.cube.mean(axis=0)
        std = np.full_like(flux, 1.4826 * np.median(np.abs(flux - np.median(flux))))
        return Detection(flux / std, flux, std)


def test_detection_checks_shapes():
    with pytest.raises(ValueError, match=r"^flux: expected a 2D \(y, x\) map, got shape \(3,\)$"):
        Detection(np.zeros((2, 2)), np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^statistic, flux, flux_std: expected maps of one shape"):
        Detection(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)))


def test_detection_maps_are_float64():
    detection = Detection(np.zeros((2, 2), np.float32), np.ones((2, 2), int), np.ones((2, 2)))
    assert {d.dtype for d in (detection.statistic, detection.flux, detection.flux_std)} == {np.dtype(np.float64)}


def test_detector_has_no_residual_cube():
    with pytest.raises(TypeError, match="_MeanFrame is a statistical detector: it has no residual cube"):
        _MeanFrame().process(example_dataset(n_frames=4, size=15))


def test_3d_detection_is_detect_adi():
    dataset = example_dataset(n_frames=6, size=21)
    detection = _MeanFrame().detect(dataset)
    np.testing.assert_array_equal(detection.flux, dataset.cube.mean(axis=0))


def test_4d_detection_combines_the_channels_by_inverse_variance():
    dataset = example_4d_dataset(n_channels=3, n_frames=6, size=21)
    per_channel = [_MeanFrame().detect_adi(dataset.replace(cube=dataset.cube[k], wavelengths=None,
                                                           psf=dataset.psf[k], fwhm=float(dataset.fwhm[k])))
                   for k in range(3)]
    detection = _MeanFrame().detect(dataset)
    # Brute force, pixel by pixel.
    y, x = 4, 13
    w = np.array([1 / d.flux_std[y, x] ** 2 for d in per_channel])
    f = np.array([d.flux[y, x] for d in per_channel])
    assert detection.flux[y, x] == pytest.approx((w * f).sum() / w.sum())
    assert detection.flux_std[y, x] == pytest.approx(1 / np.sqrt(w.sum()))
    assert detection.statistic[y, x] == pytest.approx(detection.flux[y, x] / detection.flux_std[y, x])


def test_combined_statistic_stays_standard_normal():
    rng = np.random.default_rng(1)
    stds = [0.5, 2.0, 7.0]
    detections = [Detection(rng.normal(size=(200, 200)), s * rng.normal(size=(200, 200)), np.full((200, 200), s))
                  for s in stds]
    detections = [Detection(d.flux / d.flux_std, d.flux, d.flux_std) for d in detections]
    statistic = combine_channels(detections).statistic
    assert abs(statistic.mean()) < 0.01 and abs(statistic.std() - 1) < 0.01


def test_undefined_in_one_channel_is_undefined():
    good = Detection(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)))
    flux_std = np.ones((2, 2))
    flux_std[0, 1] = np.nan
    bad = Detection(np.ones((2, 2)), np.ones((2, 2)), flux_std)
    combined = combine_channels([good, bad])
    assert np.isnan(combined.statistic[0, 1]) and np.isnan(combined.flux[0, 1])
    assert np.isfinite(combined.statistic[1, 1])


def test_combine_channels_refuses_other_things():
    with pytest.raises(ValueError, match=r"^detections: expected one or more Detection, got \[\]$"):
        combine_channels([])
    with pytest.raises(ValueError, match=r"^detections: expected one or more Detection, got \['int'\]$"):
        combine_channels([1])


def test_radial_normalisation_against_brute_force():
    rng = np.random.default_rng(2)
    yy, xx = np.indices((41, 41))
    r = np.hypot(yy - 20, xx - 20)
    statistic = rng.normal(size=(41, 41)) * (1 + r / 5)  # noise growing with radius
    out = radial_normalisation(statistic, width=5)
    ring = (r // 5).astype(int)
    for index in (1, 3):
        values = statistic[ring == index]
        mad = 1.4826 * np.median(np.abs(values - np.median(values)))
        np.testing.assert_allclose(out[ring == index], values / mad)
    assert np.isnan(radial_normalisation(statistic, width=1)[20, 20])  # 1 pixel: too few for a robust scale


def test_radial_normalisation_errors():
    with pytest.raises(ValueError, match=r"^statistic: expected a 2D \(y, x\) map, got shape \(3,\)$"):
        radial_normalisation(np.zeros(3), width=2)
    with pytest.raises(ValueError, match="^width: "):
        radial_normalisation(np.zeros((5, 5)), width=0)
