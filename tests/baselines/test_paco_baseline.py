"""The PACO baseline: its parameters and its map, PACO's calibrated statistic."""

import numpy as np

from exobench.algorithms import PACO
from exobench.baselines import default_params, registry
from exobench.baselines.statistical import STATISTIC_MAP, PACOBaseline
from exobench.examples import example_dataset


def test_registered_with_the_statistic_as_map():
    assert registry.get_baseline("paco") is PACOBaseline
    params = default_params("paco")
    assert params["detection_map"] == STATISTIC_MAP and params["algorithm"]["variant"] == "fast"
    assert params["algorithm"]["refine_flux_above"] is None  # the map needs no flux
    assert PACOBaseline.default_threshold(params) == 5.0


def test_map_is_pacos_statistic():
    dataset = example_dataset(n_frames=10, size=33)
    params = PACOBaseline.check_params({"algorithm": {"subpixel": False}})
    expected = PACO(**params["algorithm"]).detect(dataset).statistic
    np.testing.assert_array_equal(PACOBaseline.detection_map(dataset, params), expected)
    assert np.isfinite(expected).sum() > 100
