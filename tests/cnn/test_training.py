"""Training CNNs and their model files (exobench.cnn.training)."""

import types
import zipfile

import numpy as np
import pytest

from exobench.cnn._backend import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


def synthetic_samples(n=300, levels=3, size=9, fwhm=4.0, amplitude=2.5, seed=0):
    """Labelled-sample look-alikes: a Gaussian source at the centre of the positives, noise everywhere."""
    rng = np.random.default_rng(seed)
    c = size // 2
    yy, xx = np.mgrid[:size, :size]
    blob = np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / (2 * (fwhm / 2.3548) ** 2))
    x = rng.normal(size=(n, levels, size, size)).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.uint8)
    x[y == 1] += (amplitude * blob).astype(np.float32)
    return types.SimpleNamespace(x=x, y=y, separations=rng.uniform(8, 30, n), fwhm=fwhm,
                                 levels=tuple(np.linspace(0.5, 0.9, levels)), settings={"annulus_width": 1.0},
                                 dataset_checksum="synthetic")


@pytest.fixture(scope="module")
def samples():
    return synthetic_samples()


@pytest.fixture(scope="module")
def trained(samples):
    from exobench.cnn.training import train_model

    return train_model(samples, model="conv3d", size="tiny", epochs=8, batch_size=32, random_state=3)


def test_tiny_model_separates_easy_samples(trained):
    held_out = synthetic_samples(n=200, seed=9)
    p = trained.predict(held_out.x, held_out.separations, held_out.fwhm)
    assert np.mean((p > 0.5) == (held_out.y == 1)) > 0.9
    meta = trained.metadata
    assert meta["metrics"]["accuracy"] > 0.9 and meta["metrics"]["auc"] > 0.95
    assert meta["backend"] == "torch" and meta["device"] == "cpu"
    assert meta["training"]["n_validation"] == 60 and meta["training"]["seed"] == 3
    assert 1 <= meta["best_epoch"] <= meta["epochs_run"] <= 8
    assert meta["levels"] == list(synthetic_samples().levels) and meta["input_shape"] == [3, 9, 9]


@pytest.mark.parametrize("name", ["na-conv3d"])
def test_same_seed_same_model(samples, name):
    from exobench.cnn.training import train_model

    runs = [train_model(samples, model=name, size="tiny", epochs=3, batch_size=32, random_state=11) for _ in range(2)]
    p = [r.predict(samples.x, samples.separations, samples.fwhm) for r in runs]
    np.testing.assert_array_equal(p[0], p[1])
    assert runs[0].metadata["history"] == runs[1].metadata["history"]
    other = train_model(samples, model=name, size="tiny", epochs=3, batch_size=32, random_state=12)
    assert not np.array_equal(other.predict(samples.x, samples.separations, samples.fwhm), p[0])


def test_save_load_round_trip(trained, samples, tmp_path):
    from exobench.cnn.training import METADATA_ENTRY, load_model, read_metadata, save_model

    path = tmp_path / "model.keras"
    saved = save_model(trained, path)
    assert saved.path == str(path) and [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    assert METADATA_ENTRY in zipfile.ZipFile(path).namelist()
    loaded = load_model(path)
    assert loaded.name == "conv3d" and loaded.metadata == read_metadata(path)
    assert loaded.metadata["metrics"] == trained.metadata["metrics"]
    np.testing.assert_array_equal(loaded.predict(samples.x, samples.separations, samples.fwhm),
                                  trained.predict(samples.x, samples.separations, samples.fwhm))


def test_refusals_name_the_parameter(samples, trained, tmp_path):
    from exobench.cnn.training import load_model, save_model, train_model

    with pytest.raises(ValueError, match="model: expected one of"):
        train_model(samples, model="mlp")
    with pytest.raises(ValueError, match=r"validation_fraction: expected a number in \[0, 1\), got 1.0"):
        train_model(samples, validation_fraction=1.0)
    with pytest.raises(ValueError, match="epochs: expected an integer >= 1, got 0"):
        train_model(samples, epochs=0)
    with pytest.raises(ValueError, match="batch_size: expected an integer >= 1, got 0"):
        train_model(samples, batch_size=0)
    with pytest.raises(ValueError, match="patience: expected an integer >= 0, got -1"):
        train_model(samples, patience=-1)
    with pytest.raises(ValueError, match="learning_rate: expected a number > 0, got nan"):
        train_model(samples, learning_rate=float("nan"))
    with pytest.raises(ValueError, match="threads: expected an integer >= 1 or None, got 0"):
        train_model(samples, threads=0)
    with pytest.raises(ValueError, match="random_state"):
        train_model(samples, random_state=-1)
    one_class = types.SimpleNamespace(x=samples.x, y=np.zeros(len(samples.y), np.uint8))
    with pytest.raises(ValueError, match="positives"):
        train_model(one_class)
    with pytest.raises(ValueError, match="path: expected a file name ending in .keras"):
        save_model(trained, tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="path"):
        load_model(tmp_path / "absent.keras")
    with pytest.raises(ValueError, match="patches"):
        trained.predict(samples.x[:, :2], samples.separations, 4.0)


def test_progress_goes_to_stderr_only(samples, capsys, monkeypatch):
    import sys

    from exobench.cnn.training import train_model

    options = {"model": "conv3d", "size": "tiny", "epochs": 1, "validation_fraction": 0.0, "random_state": 0}
    train_model(samples, progress=True, **options)
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    trained = train_model(samples, progress=True, **options)
    out = capsys.readouterr()
    assert out.out == "" and "training" in out.err and "loss" in out.err
    assert trained.metadata["training"]["n_validation"] == 0 and trained.metadata["metrics"]["auc"] is None


def test_separation_weights_balance_the_bins(samples):
    from exobench.cnn.training import _separation_weights, train_model

    seps = np.array([4.0, 5.0, 9.0, 9.5, 9.9, 10.1])  # bins of 4 px: 1, 1, 2, 2, 2, 2
    w = _separation_weights(seps, 4.0)
    assert w.mean() == pytest.approx(1.0) and w[0] == pytest.approx(2 * w[2])
    trained = train_model(samples, model="conv3d", size="tiny", epochs=2, random_state=0, balance_separations=True)
    assert trained.metadata["training"]["balance_separations"] is True


def test_device_name_follows_keras_torch_device(monkeypatch):
    from exobench.cnn._backend import backend_name, device_name

    if backend_name() != "torch":
        pytest.skip(f"KERAS_TORCH_DEVICE is the torch backend's; keras runs on {backend_name()}")
    monkeypatch.setenv("KERAS_TORCH_DEVICE", "meta")
    assert device_name() == "meta"
    monkeypatch.delenv("KERAS_TORCH_DEVICE")
    assert device_name() == "cpu" or device_name().startswith("cuda:")


def test_seeding_fixes_the_cublas_workspace_unless_set(monkeypatch):
    import os

    from exobench.cnn._backend import seed_everything

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    seed_everything(3)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    seed_everything(3)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_only_the_gpu_max_pool_determinism_warning_is_silenced(samples, monkeypatch):
    import warnings

    from exobench.cnn._backend import import_keras
    from exobench.cnn.training import train_model

    keras = import_keras()
    fit = keras.Model.fit

    def warning_fit(self, *args, **kwargs):  # what torch says on CUDA, and an unrelated warning
        warnings.warn("max_pool3d_with_indices_backward_cuda does not have a deterministic implementation, but "
                      "you set 'torch.use_deterministic_algorithms(True, warn_only=True)'.", UserWarning)
        warnings.warn("something else", UserWarning)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", warning_fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_model(samples, model="conv3d", size="tiny", epochs=1, batch_size=64, random_state=0)
    messages = [str(w.message) for w in caught]
    assert "something else" in messages
    assert not any("max_pool3d" in m for m in messages)
