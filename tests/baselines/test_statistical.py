"""Detector baselines: parameters, the statistic as the map, the threshold, 4D datasets."""

import numpy as np
import pytest

from exobench.algorithms import Detection, Detector
from exobench.algorithms import base as algorithms_base
from exobench.algorithms.sdi import example_4d_dataset
from exobench.baselines import registry
from exobench.baselines.statistical import STATISTIC_MAP, DetectorBaseline
from exobench.examples import example_dataset

NAME = "statistical-test-detector"


@pytest.fixture(scope="module")
def baseline():
    class _Scaled(Detector, name=NAME):
        def __init__(self, *, gain=2.0):
            self.gain = gain

        def detect_adi(self, dataset):
            flux = self.gain * dataset.cube.mean(axis=0)
            std = np.ones_like(flux)
            return Detection(flux / std, flux, std)

    class _ScaledBaseline(DetectorBaseline, name=NAME):
        """A toy detector baseline."""

        algorithm = NAME
        defaults = {"gain": 3.0}

    yield _ScaledBaseline
    registry._REGISTRY.unregister(NAME)
    algorithms_base._REGISTRY.unregister(NAME)


def test_default_params_use_the_statistic(baseline):
    params = baseline.default_params()
    assert params == {"baseline": NAME, "algorithm": {"gain": 3.0}, "detection_map": STATISTIC_MAP,
                      "threshold": None}
    assert baseline.default_threshold(params) == 5.0
    assert baseline.detection_maps() == (STATISTIC_MAP,)


def test_snr_map_refused(baseline):
    with pytest.raises(ValueError, match=r"^params: detection_map: expected one of statistic, got 'snr'$"):
        baseline.check_params({"detection_map": "snr"})


def test_map_is_the_statistic(baseline):
    dataset = example_dataset(n_frames=6, size=21)
    params = baseline.check_params({"algorithm": {"gain": 0.5}})
    np.testing.assert_array_equal(baseline.detection_map(dataset, params), 0.5 * dataset.cube.mean(axis=0))
    assert baseline.map_parts(params) == 1


def test_4d_map_combines_channels(baseline):
    dataset = example_4d_dataset(n_channels=2, n_frames=6, size=21)
    params = baseline.default_params()
    expected = 3.0 * dataset.cube.mean(axis=1).mean(axis=0) * np.sqrt(2)  # equal unit stds: mean flux x sqrt(2)
    np.testing.assert_allclose(baseline.detection_map(dataset, params), expected)


def test_params_header_documents_the_statistic(baseline):
    header = baseline.params_header()
    assert "# detection_map: statistic (the detector's own statistic" in header
    assert "snr" not in header.split("# detection_map:")[1]
    assert all(line.startswith("#") for line in header.splitlines())


def test_fmmf_baseline_maps_the_calibrated_statistic():
    from exobench.algorithms import FMMF

    fmmf = registry.get_baseline("fmmf")
    params = fmmf.default_params()
    assert params["algorithm"]["model"] == "forward" and params["detection_map"] == STATISTIC_MAP
    assert fmmf.default_threshold(params) == 5.0
    dataset = example_dataset(n_frames=10, size=25)
    params = fmmf.check_params({"algorithm": {"ncomp": 2, "model": "psf"}})
    np.testing.assert_array_equal(fmmf.detection_map(dataset, params),
                                  FMMF(**params["algorithm"]).detect(dataset).statistic)
