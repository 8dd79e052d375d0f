"""Prediction files (exobench.cnn.predictions)."""

import numpy as np
import pytest

from exobench.cnn._backend import unavailable_reason

needs_keras = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
from exobench.cnn.predictions import load_predictions, save_predictions
from exobench.cnn.probability import mlar_options, probability_map
from exobench.cnn.threshold import calibrate_threshold


@needs_keras
def test_predictions_round_trip(trained, dataset, tmp_path):
    pmap = probability_map(dataset, trained)
    negative = probability_map(dataset, trained, flip_angles=True)
    calibration = calibrate_threshold(None, trained, fpr=0.05, negative_maps=[negative])
    path = save_predictions(tmp_path / "pred.h5", [pmap, negative], trained=trained, calibration=calibration,
                            attrs={"phase": 1})
    back = load_predictions(path)
    assert [m.key for m in back["maps"]] == [pmap.key, negative.key] and back["attrs"] == {"phase": 1}
    np.testing.assert_array_equal(back["maps"][0].probability, pmap.probability)
    assert back["maps"][1].flip_angles and back["calibration"]["threshold"] == calibration.threshold
    assert back["model_metadata"]["model"] == "na-conv3d"
    assert mlar_options(trained)["levels"] == (0.5, 0.8, 0.95)
    assert mlar_options(trained)["variance"] == "total"  # the label settings' (of the samples fixture)
    with pytest.raises(ValueError, match="two maps named"):
        save_predictions(tmp_path / "twice.h5", [pmap, pmap])
