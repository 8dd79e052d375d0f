"""The CNN's options: defaults, checks and documentation in one dataclass (exobench.cnn.options)."""

import dataclasses
import inspect

import pytest

from exobench import baselines as bl
from exobench.cnn.options import DEFAULT_OPTIONS, CNNOptions, options_header


def test_the_parameter_file_holds_the_dataclass_defaults_and_documents_every_option():
    params = bl.default_params("cnn")
    assert params["cnn"] == DEFAULT_OPTIONS.to_dict()
    assert CNNOptions.from_mapping(params["cnn"]) == DEFAULT_OPTIONS
    header = options_header()
    for field in dataclasses.fields(CNNOptions):
        assert f"#   {field.name}: " in header and field.metadata["doc"]
    assert header in bl.dump_params(params, comments=True)


def test_unknown_options_and_bad_values_are_errors_naming_them():
    with pytest.raises(ValueError, match="cnn: unknown option 'depth', 'width'"):
        CNNOptions.from_mapping({"depth": 3, "width": 2})
    with pytest.raises(ValueError, match="where: epochs: expected an integer >= 1, got 0"):
        CNNOptions.from_mapping({"epochs": 0}, where="where")
    with pytest.raises(ValueError, match="threads: expected an integer >= 1"):
        CNNOptions(threads=0)
    with pytest.raises(ValueError, match="cnn: expected a mapping"):
        CNNOptions.from_mapping([1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_OPTIONS.epochs = 3


@pytest.mark.parametrize("option, value, message", [
    ("n_samples", 1, "n_samples: expected an integer >= 2, got 1"),
    ("n_samples", 3, r"n_samples: expected an even integer >= 2 \(half positives\), got 3"),
    ("epochs", "x", "epochs: expected an integer >= 1, got 'x'"),
    ("patience", -1, "patience: expected an integer >= 0, got -1"),
    ("calibration_pixels", 0, "calibration_pixels: expected an integer >= 1 or None, got 0"),
    ("threads", 1.0, "threads: expected an integer >= 1 or None, got 1.0"),
    ("learning_rate", 0.0, "learning_rate: expected a number > 0, got 0.0"),
    ("validation_fraction", 1.0, r"validation_fraction: expected a number in \[0, 1\), got 1.0"),
    ("fpr", 0.0, r"fpr: expected a number in \(0, 1\), got 0.0"),
    ("own_image_radius", -1.0, "own_image_radius: expected a number > 0 or None, got -1.0"),
    ("size", "huge", "size: expected one of 'full', 'small', 'tiny', got 'huge'"),
    ("calibration_tail", "gpd", "calibration_tail: expected one of 'exponential', 'normal', got 'gpd'"),
    ("permutation_kind", "blocks", "permutation_kind: expected one of 'random', 'reversed-runs', got 'blocks'"),
    ("delta", [0.0, -1.0], r"delta: expected a rotation threshold >= 0 \(FWHM of arc\) or a list of distinct"),
])
def test_each_check_names_the_option_and_what_it_expects(option, value, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        CNNOptions(**{option: value})


def test_derived_options():
    assert CNNOptions(delta=0.5).deltas == (0.5,)
    assert DEFAULT_OPTIONS.threshold == pytest.approx(3.69897, abs=1e-5)
    assert DEFAULT_OPTIONS.training_options()["model"] == DEFAULT_OPTIONS.model


def test_train_model_takes_its_defaults_from_the_options():
    from exobench.cnn.training import train_model

    parameters = inspect.signature(train_model).parameters
    for name, value in DEFAULT_OPTIONS.training_options().items():
        assert parameters[name].default == value, name


def test_detection_map_checks_its_kind():
    from exobench.cnn.pipeline import detection_map
    from exobench.examples import example_dataset

    with pytest.raises(ValueError, match="kind: expected one of 'significance', 'probability', got 'snr'"):
        detection_map(example_dataset(n_frames=10, size=33), CNNOptions(), kind="snr")
