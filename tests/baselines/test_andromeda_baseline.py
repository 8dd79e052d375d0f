"""The andromeda baseline: its parameters, its map (the detector's statistic), 4D datasets."""

import numpy as np

from exobench import baselines as bl
from exobench.algorithms import Andromeda
from exobench.algorithms.sdi import example_4d_dataset
from exobench.baselines.statistical import STATISTIC_MAP, AndromedaBaseline
from exobench.examples import example_dataset


def test_registered_with_every_option_of_the_detector():
    baseline = bl.get_baseline("andromeda")
    assert baseline is AndromedaBaseline
    params = baseline.default_params()
    assert params["detection_map"] == STATISTIC_MAP and params["threshold"] is None
    assert params["algorithm"] == Andromeda().get_params()
    assert baseline.default_threshold(params) == 5.0


def test_parameter_file_explains_every_option():
    header = AndromedaBaseline.params_header()
    for option in AndromedaBaseline.defaults:
        assert f"#   {option}: " in header
    assert all(line.startswith("#") for line in header.splitlines())


def test_map_is_the_detector_statistic():
    dataset = example_dataset(n_frames=16, size=41)
    params = AndromedaBaseline.check_params({"algorithm": {"delta": 1.0}})
    expected = Andromeda(**params["algorithm"]).detect(dataset).statistic
    np.testing.assert_array_equal(AndromedaBaseline.detection_map(dataset, params), expected)
    assert np.isfinite(expected).sum() > 100


def test_4d_map_combines_the_channels():
    dataset = example_4d_dataset(n_channels=2, n_frames=12, size=41)
    detection = AndromedaBaseline.detection_map(dataset, AndromedaBaseline.default_params())
    assert detection.shape == (41, 41) and np.isfinite(detection).sum() > 100
