"""Probability maps and their ensemble average (exobench.cnn.probability)."""

import numpy as np
import pytest

from exobench.cnn._backend import unavailable_reason

needs_keras = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))
from exobench.cnn.probability import average_maps, probability_map


@needs_keras
def test_tiny_model_separates_labelled_samples(trained, dataset):
    from exobench.cnn.labels import generate_samples
    from exobench.cnn.samples import LabelSettings

    held_out = generate_samples(dataset, LabelSettings(n_samples=200, snr_band=(6.0, 10.0), levels=(0.5, 0.8, 0.95)),
                                random_state=99)
    p = trained.predict(held_out.x, held_out.separations, held_out.fwhm)
    assert np.mean((p > 0.5) == (held_out.y == 1)) > 0.9


@needs_keras
def test_map_peaks_at_an_injected_companion(trained, samples, dataset):
    from exobench.inject import inject_companions

    flux = 1.5 * np.median(samples.fluxes[samples.y == 1])
    injected = inject_companions(dataset, separations=[11.0], thetas=[130.0], fluxes=[flux])
    pmap = probability_map(injected.dataset, trained, batch_size=300)
    assert pmap.probability.shape == dataset.frame_shape and pmap.n_patches == int(pmap.mask.sum())
    assert np.all(np.isfinite(pmap.probability)) and np.all(pmap.probability[~pmap.mask] == 0)
    y, x = np.unravel_index(np.argmax(pmap.probability), pmap.probability.shape)
    assert np.hypot(x - injected.truth.x[0], y - injected.truth.y[0]) <= 2.0
    assert pmap.probability.max() > 0.9
    same = probability_map(injected.dataset, trained, batch_size=7000)  # batches do not change the map
    np.testing.assert_allclose(same.probability, pmap.probability, rtol=0, atol=1e-6)


def _pmap(probability, mask, **changes):
    from exobench.cnn.probability import ProbabilityMap

    values = dict(probability=probability, mask=mask, instrument="sim", dataset_id="1", flip_angles=False,
                  levels=(0.5,), ks=np.zeros((1, 1), dtype=int), annuli=[(1.0, 4.0)], fwhm=2.0,
                  n_patches=int(mask.sum()), seconds=1.5)
    values.update(changes)
    return ProbabilityMap(**values)


def test_average_maps_averages_the_members_logits():

    rng = np.random.default_rng(5)
    mask = rng.random((9, 9)) > 0.3
    logits = rng.normal(0, 3, (3, 9, 9))
    members = [_pmap(np.where(mask, 1 / (1 + np.exp(-z)), 0.0), mask) for z in logits]
    mean = average_maps(members)
    expected = 1 / (1 + np.exp(-logits.mean(axis=0)))  # brute force: the mean log odds, per pixel
    np.testing.assert_allclose(mean.probability[mask], expected[mask], rtol=1e-12)
    assert np.all(mean.probability[~mask] == 0) and np.array_equal(mean.mask, mask)
    assert mean.seconds == 4.5 and mean.key == ("sim", "1")
    np.testing.assert_allclose(average_maps(members[:1]).probability, members[0].probability, rtol=1e-12)
    # a confident member outweighs an undecided one, as log odds do (not the mean probability)
    pair = average_maps([_pmap(np.array([[0.9999]]), np.ones((1, 1), bool)),
                         _pmap(np.array([[0.5]]), np.ones((1, 1), bool))])
    assert pair.probability[0, 0] == pytest.approx(0.99, abs=1e-4)


@pytest.mark.parametrize("maps, error, message", [
    ([], TypeError, "maps: expected a non-empty sequence of ProbabilityMap"),
    ("map", TypeError, "maps: expected a non-empty sequence of ProbabilityMap"),
    ([dict(dataset_id="2")], ValueError, r"maps: expected maps of one dataset .*\('sim', '2'\)"),
    ([dict(flip_angles=True)], ValueError, "flip_angles=True"),
    ([dict(mask=np.eye(4, dtype=bool))], ValueError, "the same pixels"),
])
def test_average_maps_errors(maps, error, message):

    first = _pmap(np.full((4, 4), 0.5), np.ones((4, 4), bool))
    if isinstance(maps, list) and maps:
        changes = dict(maps[0])
        maps = [first, _pmap(np.full((4, 4), 0.5), changes.pop("mask", np.ones((4, 4), bool)), **changes)]
    with pytest.raises(error, match=message):
        average_maps(maps)


@needs_keras
def test_a_matched_filter_model_maps_a_companion_and_keeps_its_planes_when_saved(dataset, tmp_path):
    from exobench.cnn.labels import generate_samples
    from exobench.cnn.samples import LabelSettings
    from exobench.cnn.training import load_model, save_model, train_model
    from exobench.data import Dataset
    from exobench.inject import inject_companions

    settings = LabelSettings(n_samples=400, snr_band=(6.0, 10.0), levels=(0.5, 0.8, 0.95), matched_filter=True)
    samples = generate_samples(dataset, settings, random_state=0)
    trained = train_model(samples, model="na-conv3d", size="tiny", epochs=10, batch_size=32, random_state=0)
    assert trained.matched_filter and trained.input_shape == (6, *samples.x.shape[2:])
    flux = 1.5 * np.median(samples.fluxes[samples.y == 1])
    injected = inject_companions(dataset, separations=[11.0], thetas=[130.0], fluxes=[flux])
    pmap = probability_map(injected.dataset, trained)
    y, x = np.unravel_index(np.argmax(pmap.probability), pmap.probability.shape)
    assert np.hypot(x - injected.truth.x[0], y - injected.truth.y[0]) <= 2.0
    save_model(trained, tmp_path / "mf.keras")
    loaded = load_model(tmp_path / "mf.keras")
    assert loaded.matched_filter
    np.testing.assert_allclose(probability_map(injected.dataset, loaded).probability, pmap.probability, atol=1e-5)
    no_psf = Dataset(dataset.cube, dataset.angles, fwhm=float(np.mean(dataset.fwhm)))
    with pytest.raises(ValueError, match="dataset: the model uses matched-filter planes, which need the dataset's PSF"):
        probability_map(no_psf, trained)


@needs_keras
def test_progress_bar_counts_the_batches_on_stderr(trained, dataset, capsys, monkeypatch):
    import sys

    probability_map(dataset, trained, batch_size=500, progress=True)
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    probability_map(dataset, trained, batch_size=500, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and f"inference {dataset.instrument} {dataset.dataset_id}" in captured.err
    assert "batch" in captured.err


@needs_keras
def test_batch_size_is_an_integer(trained, dataset):
    with pytest.raises(ValueError, match="batch_size: expected an integer >= 1, got 0"):
        probability_map(dataset, trained, batch_size=0)
