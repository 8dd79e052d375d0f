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


def test_derived_options():
    assert CNNOptions(delta=0.5).deltas == (0.5,)
    assert DEFAULT_OPTIONS.threshold == pytest.approx(3.69897, abs=1e-5)
    assert DEFAULT_OPTIONS.training_options()["model"] == DEFAULT_OPTIONS.model


def test_train_model_takes_its_defaults_from_the_options():
    from exobench.cnn.training import train_model

    parameters = inspect.signature(train_model).parameters
    for name, value in DEFAULT_OPTIONS.training_options().items():
        assert parameters[name].default == value, name
