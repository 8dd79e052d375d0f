"""The CNN architectures and their inputs (exobench.cnn.models)."""

import numpy as np
import pytest

from exobench.cnn._backend import unavailable_reason
from exobench.cnn.models import (
    MODEL_NAMES,
    build_model,
    model_inputs,
    n_patch_features,
    patch_features,
    standardize_patches,
)

needs_keras = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@needs_keras
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_models_map_patches_to_one_probability(name):
    model = build_model(name, (3, 9, 9), size="tiny")
    inputs = model_inputs(name, np.random.default_rng(0).normal(size=(5, 3, 9, 9)), np.full(5, 12.0), 4.0)
    out = np.asarray(model.predict_on_batch(inputs))
    assert out.shape == (5, 1)
    assert np.all((out >= 0) & (out <= 1))


@needs_keras
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_seeded_model_does_not_depend_on_pythons_global_random_state(name):
    import random

    random.seed(1)
    first = build_model(name, (3, 9, 9), size="tiny", seed=5).get_weights()
    random.seed(2)  # what another thread drawing from the random module does to keras' default seeds
    second = build_model(name, (3, 9, 9), size="tiny", seed=5).get_weights()
    other = build_model(name, (3, 9, 9), size="tiny", seed=6).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@needs_keras
def test_full_models_have_sodinn_layers():
    conv3d = build_model("conv3d", (4, 11, 11))
    filters = [layer.filters for layer in conv3d.layers if hasattr(layer, "filters")]
    assert filters == [40, 80]
    assert [layer.kernel_size for layer in conv3d.layers if hasattr(layer, "filters")] == [(3, 3, 3), (2, 2, 2)]
    lstm = build_model("convlstm", (4, 11, 11))
    assert [layer.filters for layer in lstm.layers if hasattr(layer, "filters")] == [40, 80]
    assert conv3d.get_layer("dense").units == lstm.get_layer("dense").units == 128
    assert conv3d.get_layer("probability").activation.__name__ == "sigmoid"
    assert [tuple(i.shape) for i in build_model("na-conv3d", (4, 11, 11)).inputs] == [(None, 4, 11, 11), (None, 8)]


def test_unknown_options_are_named():
    with pytest.raises(ValueError, match="name: expected one of"):
        build_model("vgg", (3, 9, 9))
    if unavailable_reason() is None:
        with pytest.raises(ValueError, match="size: expected one of 'full', 'small', 'tiny', got 'huge'"):
            build_model("conv3d", (3, 9, 9), size="huge")
        with pytest.raises(ValueError, match=r"dropout: expected a number in \[0, 1\), got 1.5"):
            build_model("conv3d", (3, 9, 9), dropout=1.5)
        with pytest.raises(ValueError, match="input_shape"):
            build_model("conv3d", (9, 9))


def test_features_are_scale_free_and_see_a_centred_source():
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(200, 3, 9, 9))
    yy, xx = np.mgrid[:9, :9]
    blob = np.exp(-((xx - 4) ** 2 + (yy - 4) ** 2) / 4.0)
    with_source = noise + 5 * blob
    seps = np.full(200, 20.0)
    f_noise, f_source = patch_features(noise, seps, 4.0), patch_features(with_source, seps, 4.0)
    assert f_noise.shape == (200, n_patch_features(3))
    assert f_source[:, :3].mean() > f_noise[:, :3].mean() + 2  # the centre's S/N
    np.testing.assert_allclose(patch_features(1e3 * with_source + 7, seps, 4.0), f_source, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(standardize_patches(1e3 * noise + 7, 4.0), standardize_patches(noise, 4.0),
                               rtol=1e-4, atol=1e-4)
    assert np.allclose(f_source[:, -1], 0.5)  # separation 20 px = 5 FWHM, over 10
    with pytest.raises(ValueError, match="separations"):
        patch_features(noise, seps[:3], 4.0)


def test_matched_filter_inputs_split_the_planes():
    rng = np.random.default_rng(2)
    frames, snr = rng.normal(size=(6, 3, 9, 9)), rng.normal(size=(6, 3, 9, 9))
    snr[:, :, 4, 4] += 10.0
    seps = np.full(6, 20.0)
    patches, features = model_inputs("na-conv3d", np.concatenate([frames, snr], axis=1), seps, 4.0,
                                     matched_filter=True)
    plain_patches, plain_features = model_inputs("na-conv3d", frames, seps, 4.0)
    assert features.shape == (6, n_patch_features(3, matched_filter=True)) == (6, 12)
    np.testing.assert_array_equal(patches, plain_patches)
    np.testing.assert_array_equal(features[:, :6], plain_features)
    np.testing.assert_allclose(features[:, 6:9], snr[:, :, 4, 4], rtol=1e-6)
    np.testing.assert_allclose(features[:, 9:], snr[:, :, 3:6, 3:6].max(axis=(-2, -1)), rtol=1e-6)
    # SODINN's models take every plane alike
    assert model_inputs("conv3d", np.concatenate([frames, snr], axis=1), seps, 4.0, matched_filter=True).shape == (
        6, 6, 9, 9)
    with pytest.raises(ValueError, match="patches: expected an even number of planes"):
        model_inputs("na-conv3d", frames, seps, 4.0, matched_filter=True)


@needs_keras
def test_noise_aware_model_with_matched_filter_planes():
    model = build_model("na-conv3d", (6, 9, 9), size="tiny", seed=0, matched_filter=True)
    assert [tuple(i.shape[1:]) for i in model.inputs] == [(3, 9, 9), (12,)]
    x = model_inputs("na-conv3d", np.random.default_rng(0).normal(size=(4, 6, 9, 9)), np.full(4, 20.0), 4.0,
                     matched_filter=True)
    assert model.predict(x, verbose=0).shape == (4, 1)
    assert build_model("conv3d", (6, 9, 9), size="tiny", matched_filter=True).inputs[0].shape[1:] == (6, 9, 9)
    with pytest.raises(ValueError, match="input_shape: expected an even number of planes"):
        build_model("na-conv3d", (5, 9, 9), size="tiny", matched_filter=True)
