"""Labelled samples (exobench.cnn.samples, .labels, .samples_file): positives, negatives, balance, seeds, HDF5."""

import dataclasses
import sys

import h5py
import numpy as np
import pytest

from exobench.cnn import labels
from exobench.cnn.labels import generate_samples
from exobench.cnn.mlar import mlar_frames
from exobench.cnn.patches import extract_patches
from exobench.cnn.samples import LabelledSamples, LabelSettings, dataset_checksum
from exobench.cnn.samples_file import load_samples, save_samples
from exobench.data import Dataset
from exobench.examples import example_dataset

LEVELS = (0.5, 0.8, 0.95)


@pytest.fixture(scope="module")
def dataset():
    return example_dataset(n_frames=24, size=41, seed=2)


@pytest.fixture(scope="module")
def samples(dataset):
    return generate_samples(dataset, LabelSettings(n_samples=160, levels=LEVELS, snr_band=(2.0, 5.0)),
                            random_state=7)


@pytest.fixture(scope="module")
def plain(dataset):
    """No augmentation, no mixed negatives: every patch traceable to its frames."""
    settings = LabelSettings(n_samples=40, levels=LEVELS, augment=False, mixed_fraction=0.0)
    return generate_samples(dataset, settings, random_state=3)


def central_excess(patches):
    """The mean patch's centre minus its median, and the standard error of the centre."""
    mean = patches.mean(axis=1)  # over levels
    c = mean.shape[-1] // 2
    average = mean.mean(axis=0)
    return average[c, c] - np.median(average), mean[:, c, c].std(ddof=1) / np.sqrt(len(mean))


def test_balanced_shapes_and_fields(samples, dataset):
    n = 160
    assert isinstance(samples, LabelledSamples) and len(samples) == n
    assert repr(samples).startswith("LabelledSamples(n=160, positives=80, patches=(3, 9, 9)")
    assert samples.x.shape == (n, 3, 9, 9) and samples.x.dtype == np.float32
    assert samples.y.dtype == np.uint8 and int(samples.y.sum()) == n // 2
    assert samples.positions.shape == (n, 2) and samples.positions.dtype == np.int64
    positive = samples.y == 1
    assert np.all(samples.fluxes[positive] > 0) and np.all(samples.fluxes[~positive] == 0)
    assert np.all((samples.snr[positive] >= 2.0) & (samples.snr[positive] <= 5.0))
    assert np.all(np.isnan(samples.snr[~positive]))
    assert samples.levels == LEVELS and samples.fwhm == pytest.approx(dataset.fwhm)
    assert samples.dataset_checksum == dataset_checksum(dataset) and len(samples.dataset_checksum) == 64
    assert 0.2 < positive[: n // 2].mean() < 0.8  # shuffled
    mask = mlar_frames(dataset, levels=LEVELS).mask
    assert np.all(mask[samples.positions[:, 1], samples.positions[:, 0]])  # (x, y), whole patches


def test_positives_peak_at_the_patch_centre_negatives_do_not(samples):
    positives, negatives = samples.x[samples.y == 1], samples.x[samples.y == 0]
    mean = positives.mean(axis=(0, 1))
    assert np.unravel_index(np.argmax(mean), mean.shape) == (4, 4)
    for level in range(3):  # on every level
        per_level = positives[:, level].mean(axis=0)
        assert np.unravel_index(np.argmax(per_level), per_level.shape) == (4, 4)
    excess, error = central_excess(positives)
    assert excess > 3 * error
    excess, error = central_excess(negatives)
    assert excess < 3 * error


def test_radial_distribution_is_shared_by_the_classes(samples, dataset):
    noise = mlar_frames(dataset, levels=LEVELS, flip_angles=True)
    annulus = labels._annulus_index(noise, samples.positions)
    np.testing.assert_array_equal(np.bincount(annulus[samples.y == 1], minlength=4),
                                  np.bincount(annulus[samples.y == 0], minlength=4))


def test_negatives_are_patches_of_the_flipped_angle_frames(plain, dataset):
    noise = mlar_frames(dataset, levels=LEVELS, flip_angles=True)
    negatives = plain.y == 0
    expected = extract_patches(noise.frames, plain.positions[negatives], noise.patch_size)
    np.testing.assert_array_equal(plain.x[negatives], expected)
    separations = np.hypot(*(plain.positions[negatives] - np.array(dataset.center)).T)
    np.testing.assert_allclose(plain.separations[negatives], separations)


def test_positions_and_subpixel_offsets(plain, samples, dataset):
    center = np.array(dataset.center)
    on_pixel = np.hypot(*(plain.positions[plain.y == 1] - center).T)
    np.testing.assert_allclose(plain.separations[plain.y == 1], on_pixel, atol=1e-9)  # no augmentation
    shifted = np.hypot(*(samples.positions[samples.y == 1] - center).T)
    offsets = np.abs(samples.separations[samples.y == 1] - shifted)
    assert offsets.max() <= 0.5 * np.sqrt(2) + 1e-9 and offsets.max() > 0.05


def test_positives_are_the_injected_companions(dataset):
    """With flipped_positives=False (SODINN's recipe) a positive is a patch of the dataset's
    own-angle frames after injection: minus the same patch without it, a centred source."""
    settings = LabelSettings(n_samples=20, levels=LEVELS, augment=False, flipped_positives=False)
    samples = generate_samples(dataset, settings, random_state=5)
    normal = mlar_frames(dataset, levels=LEVELS)
    positives = samples.y == 1
    background = extract_patches(normal.frames, samples.positions[positives], normal.patch_size)
    signal = (samples.x[positives] - background).mean(axis=(0, 1))
    assert np.unravel_index(np.argmax(signal), signal.shape) == (4, 4)


def test_mixed_negatives_keep_the_noise_level(dataset):
    def negatives(fraction):
        settings = LabelSettings(n_samples=120, levels=(0.8,), mixed_fraction=fraction)
        samples = generate_samples(dataset, settings, random_state=11)
        return samples.x[samples.y == 0]

    plain, mixed = negatives(0.0), negatives(1.0)
    ratio = mixed.std() / plain.std()
    assert 0.75 < ratio < 1.3
    assert not np.array_equal(plain, mixed)


def test_trial_positions_are_well_separated_and_inside_the_mask(dataset):
    settings = LabelSettings(n_samples=2)
    noise = mlar_frames(dataset, levels=LEVELS, flip_angles=True)
    rng = np.random.default_rng(0)
    for _ in range(5):
        pixels, xy = labels._trial_positions(noise, settings, rng)
        assert len(pixels) >= 3
        assert np.all(noise.mask[pixels[:, 1], pixels[:, 0]])
        distance = np.hypot(*(pixels[:, None, :] - pixels[None, :, :]).transpose(2, 0, 1))
        assert np.all(distance[~np.eye(len(pixels), dtype=bool)] >= 1.5 * noise.patch_size)
        assert np.all(np.abs(xy - pixels) <= 0.5)


def test_same_seed_same_bytes_other_seed_other_samples(dataset):
    settings = LabelSettings(n_samples=24, levels=(0.6, 0.9))
    first = generate_samples(dataset, settings, random_state=1)
    again = generate_samples(dataset, settings, random_state=np.random.default_rng(1))
    other = generate_samples(dataset, settings, random_state=2)
    for name in ("x", "y", "positions", "separations", "fluxes", "snr"):
        assert getattr(first, name).tobytes() == getattr(again, name).tobytes(), name
    assert first.x.tobytes() != other.x.tobytes()
    assert not np.array_equal(first.positions, other.positions)


def test_near_negatives_see_a_companion_off_their_centre(dataset):
    """near_fraction: negatives cut 1 to 2 FWHM from an injected companion are brighter at their
    edges than at their centre; flipped-angle negatives are not."""
    def negatives(fraction):
        settings = LabelSettings(n_samples=400, levels=(0.5,), snr_band=(15.0, 20.0), near_fraction=fraction,
                                 near_offsets=(1.0, 1.2), mixed_fraction=0.0)
        samples = generate_samples(dataset, settings, random_state=4)
        assert int(samples.y.sum()) == 200 and len(samples) == 400  # still balanced
        return samples.x[samples.y == 0][:, 0]

    def edge_minus_centre(patches):
        p = patches.shape[-1]
        edge = np.ones((p, p), bool)
        edge[1:-1, 1:-1] = False
        return patches[:, edge].mean(axis=1) - patches[:, p // 2, p // 2]

    near, flipped = edge_minus_centre(negatives(1.0)), edge_minus_centre(negatives(0.0))
    error = np.hypot(near.std(ddof=1), flipped.std(ddof=1)) / np.sqrt(len(near))
    assert near.mean() - flipped.mean() > 3 * error
    assert abs(flipped.mean()) < 3 * flipped.std(ddof=1) / np.sqrt(len(flipped))


def test_near_pixels_keep_their_distance_from_every_companion(dataset):
    settings = LabelSettings(n_samples=2, near_fraction=1.0, near_offsets=(1.0, 1.5))
    noise = mlar_frames(dataset, levels=LEVELS, flip_angles=True)
    rng = np.random.default_rng(1)
    pixels, xy = labels._trial_positions(noise, settings, rng)
    near, annuli = labels._near_pixels(noise, settings, pixels, xy, len(xy), rng)
    assert 0 < len(near) <= len(xy) and len(annuli) == len(near)
    assert np.all(noise.mask[near[:, 1], near[:, 0]])
    distance = np.hypot(*(near[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) / noise.fwhm
    assert np.all(distance >= 1.0)
    assert np.all(distance.min(axis=1) <= 1.5 + 0.75 / noise.fwhm)  # next to one companion (rounding)
    assert len(labels._near_pixels(noise, settings, pixels, xy, 0, rng)[0]) == 0


def test_no_near_negatives_same_bytes_as_before(dataset):
    settings = LabelSettings(n_samples=24, levels=(0.9,))
    assert settings == dataclasses.replace(settings, near_fraction=0.0)
    near = generate_samples(dataset, dataclasses.replace(settings, near_fraction=0.5), random_state=1)
    again = generate_samples(dataset, dataclasses.replace(settings, near_fraction=0.5), random_state=1)
    assert near.x.tobytes() == again.x.tobytes()
    assert near.x.tobytes() != generate_samples(dataset, settings, random_state=1).x.tobytes()


def test_progress_bar_goes_to_stderr(dataset, capsys, monkeypatch):
    settings = LabelSettings(n_samples=4, levels=(0.9,))
    generate_samples(dataset, settings, random_state=0, progress=True)
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    generate_samples(dataset, settings, random_state=0, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "labelled samples" in captured.err


def test_hdf5_round_trip(samples, tmp_path):
    path = tmp_path / "samples.h5"
    save_samples(samples, path)
    loaded = load_samples(path)
    for name in ("x", "y", "positions", "separations", "fluxes", "snr"):
        expected, got = getattr(samples, name), getattr(loaded, name)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), name
    assert loaded.settings == samples.settings
    assert loaded.dataset_checksum == samples.dataset_checksum
    assert loaded.levels == samples.levels and loaded.fwhm == samples.fwhm
    with h5py.File(path, "r") as fh:
        assert fh.attrs["format"] == "exobench.cnn.samples" and "exobench_version" in fh.attrs
    with pytest.raises(FileExistsError, match="samples.h5"):
        save_samples(samples, path)
    save_samples(samples, path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.h5"]  # no temporary file left
    with pytest.raises(TypeError, match="samples"):
        save_samples(samples.x, tmp_path / "other.h5")


def test_load_errors_name_the_file(samples, tmp_path):
    missing = tmp_path / "missing.h5"
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        load_samples(missing)
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match="notes.h5: not an HDF5"):
        load_samples(text)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as fh:
        fh.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="foreign.h5: not an exobench samples file"):
        load_samples(foreign)
    broken = tmp_path / "broken.h5"
    save_samples(samples, broken)
    with h5py.File(broken, "a") as fh:
        del fh["snr"]
    with pytest.raises(ValueError, match=r"broken.h5: missing dataset\(s\) 'snr'"):
        load_samples(broken)
    with h5py.File(broken, "a") as fh:
        del fh.attrs["settings"]
    with pytest.raises(ValueError, match="broken.h5: missing attribute 'settings'"):
        load_samples(broken)


@pytest.mark.parametrize("field, value", [
    ("n_samples", 11), ("n_samples", 0), ("n_samples", 2.0), ("snr_band", (3.0, 1.0)), ("snr_band", (1.0,)),
    ("levels", (0.9, 0.5)), ("shifts", 0.7), ("mixed_fraction", 1.5), ("augment", "yes"),
    ("spacing", -1.0), ("collapse", "max"), ("derotation", "nearest"), ("variance", "median"),
    ("matched_filter", "yes"), ("near_fraction", 1.5), ("near_fraction", -0.1), ("near_offsets", (0.5, 2.0)),
    ("near_offsets", (2.0, 1.0)), ("near_offsets", (1.0,)),
])
def test_settings_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        LabelSettings(**{field: value})


@pytest.mark.parametrize("field, value, message", [
    ("n_samples", 2.0, "n_samples: expected an integer >= 2, got 2.0"),
    ("n_samples", 11, r"n_samples: expected an even integer >= 2 \(half positives\), got 11"),
    ("shifts", 0.7, r"shifts: expected a number in \[0, 0.5\], got 0.7"),
    ("mixed_fraction", True, r"mixed_fraction: expected a number in \[0, 1\], got True"),
    ("spacing", 0.25, "spacing: expected a number >= 0.5, got 0.25"),
    ("near_fraction", -0.1, r"near_fraction: expected a number in \[0, 1\], got -0.1"),
    ("delta", -1.0, "delta: expected a number >= 0, got -1.0"),
])
def test_settings_errors_say_what_is_expected(field, value, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        LabelSettings(**{field: value})


def test_settings_round_trip_and_errors(dataset):
    settings = LabelSettings(n_samples=10, outer_radius=3.0, patch_size=7)
    assert LabelSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown field"):
        LabelSettings.from_dict({"n_sample": 10})
    # settings written before ``variance`` existed meant SODINN's total variance
    assert LabelSettings.from_dict({"n_samples": 10}).variance == "total"
    assert LabelSettings.from_dict({"n_samples": 10}).matched_filter is False  # nor matched-filter planes
    assert LabelSettings(variance="above-median").mlar_options()["variance"] == "above-median"
    with pytest.raises(TypeError, match="settings"):
        generate_samples(dataset, {"n_samples": 10})
    with pytest.raises(TypeError, match="dataset"):
        generate_samples(dataset.cube)
    no_psf = Dataset(dataset.cube, dataset.angles, fwhm=4.0)
    with pytest.raises(ValueError, match="dataset: a PSF"):
        generate_samples(no_psf, LabelSettings(n_samples=2))
    small = generate_samples(dataset, dataclasses.replace(settings, levels=(0.9,)), random_state=0)
    assert small.x.shape == (10, 1, 7, 7)


def test_matched_filter_planes_follow_the_levels(dataset, samples):
    settings = LabelSettings(n_samples=160, levels=LEVELS, snr_band=(2.0, 5.0), matched_filter=True)
    stacked = generate_samples(dataset, settings, random_state=7)
    n = len(LEVELS)
    assert stacked.x.shape == (160, 2 * n, *samples.x.shape[2:]) and stacked.levels == LEVELS
    # the same draws: the first planes are the samples without matched-filter planes
    np.testing.assert_array_equal(stacked.x[:, :n], samples.x)
    c = stacked.x.shape[-1] // 2
    snr = stacked.x[:, n:, c, c]
    positives, negatives = snr[stacked.y == 1], snr[stacked.y == 0]
    # negatives: unit noise (scaled by the flipped frames' annulus noise); positives: companions at S/N 2-5
    assert abs(np.median(negatives)) < 0.5 and 0.6 < negatives.std() < 1.6
    assert np.median(positives) > np.median(negatives) + 1.0
    excess, error = central_excess(stacked.x[stacked.y == 1][:, n:])
    assert excess > 5 * error


def test_dataset_checksum(dataset):
    assert dataset_checksum(dataset) == dataset_checksum(dataset.replace(meta={"a": 1}))
    assert dataset_checksum(dataset) != dataset_checksum(dataset.replace(cube=dataset.cube.astype(np.float64)))
    cube = dataset.cube.copy()
    cube[0, 0, 0] += 1
    assert dataset_checksum(dataset) != dataset_checksum(dataset.replace(cube=cube))
    with pytest.raises(TypeError, match="dataset"):
        dataset_checksum(dataset.cube)


def test_4d_dataset(dataset):
    cube = np.stack([dataset.cube, 1.1 * dataset.cube])
    ds4 = Dataset(cube, dataset.angles, psf=dataset.psf, wavelengths=[1.6, 1.7])
    samples = generate_samples(ds4, LabelSettings(n_samples=8, levels=(0.9,)), random_state=0)
    assert samples.x.shape == (8, 1, 9, 9) and int(samples.y.sum()) == 4
    stacked = generate_samples(ds4, LabelSettings(n_samples=8, levels=(0.9,), matched_filter=True), random_state=0)
    assert stacked.x.shape == (8, 2, 9, 9)  # the channels' PSFs averaged, like their frames


def test_naco_positives_peak_negatives_do_not(naco):
    crop = naco.replace(cube=naco.cube[:, 24:75, 24:75])  # star on pixel 25 of 51
    samples = generate_samples(crop, LabelSettings(n_samples=80, levels=(0.7, 0.9, 0.99)), random_state=0)
    positives, negatives = samples.x[samples.y == 1], samples.x[samples.y == 0]
    mean = positives.mean(axis=(0, 1))
    c = mean.shape[0] // 2
    assert np.unravel_index(np.argmax(mean), mean.shape) == (c, c)
    excess, error = central_excess(positives)
    assert excess > 3 * error
    excess, error = central_excess(negatives)
    assert excess < 3 * error


def test_inputs_and_labels_import_no_deep_learning_framework():
    import subprocess

    code = ("import sys, exobench.cnn.labels, exobench.cnn.samples_file; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'torch', 'tensorflow', 'jax')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("mirrors, variants", [(False, 4), (True, 8)])
def test_augmentation_turns_and_mirrors_patches_exactly(mirrors, variants):
    """Quarter turns give the four rotations of a patch; with mirrors its eight symmetries, half mirrored."""
    patch = np.arange(18, dtype=np.float32).reshape(2, 3, 3)  # no symmetry: every variant differs
    settings = LabelSettings(n_samples=2, mirrors=mirrors)
    out = labels._augmented_turns(np.repeat(patch[None], 400, axis=0), settings, np.random.default_rng(0))
    rotations = [np.rot90(p, k, axes=(-2, -1)) for p in (patch, np.swapaxes(patch, -2, -1)) for k in range(4)]
    which = [next(i for i, r in enumerate(rotations) if np.array_equal(o, r)) for o in out]
    assert sorted(set(which)) == list(range(variants))
    assert np.mean(np.array(which) >= 4) == pytest.approx(0.5 if mirrors else 0.0, abs=0.08)
    with pytest.raises(ValueError, match="mirrors: expected True or False, got 1"):
        LabelSettings(mirrors=1)
