"""ANDROMEDA: the statistic against a brute-force one, its calibration, the flux of a companion, the checks."""

import numpy as np
import pytest

from exobench.algorithms import Andromeda, get_algorithm
from exobench.algorithms.andromeda import highpass_filter, likelihood_maps, model_stamp, pair_frames
from exobench.algorithms.annuli import annuli
from exobench.data import Dataset
from exobench.geometry import frame_center, polar_grid
from exobench.inject import add_stamps, inject_companions, placed_stamps


def gaussian_psf(fwhm, size=21):
    y, x = np.mgrid[:size, :size] - size // 2
    return np.exp(-4 * np.log(2) * (x ** 2 + y ** 2) / fwhm ** 2)


def white_noise(n_frames=40, size=61, fwhm=4.0, rotation=90.0, seed=0):
    rng = np.random.default_rng(seed)
    cube = rng.normal(size=(n_frames, size, size))
    return Dataset(cube, np.linspace(-rotation / 2, rotation / 2, n_frames), psf=gaussian_psf(fwhm))


def speckled(n_frames=30, size=45, fwhm=4.0, seed=1):
    """A cube with a smooth quasi-static halo, slowly varying, plus white noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] - size // 2
    halo = 50.0 * np.exp(-np.hypot(x, y) / 6.0)
    drift = 1.0 + 0.05 * rng.normal(size=(n_frames, 1, 1))
    cube = halo * drift + rng.normal(size=(n_frames, size, size))
    return Dataset(cube, np.linspace(-40.0, 40.0, n_frames), psf=gaussian_psf(fwhm))


def options_of(detector):
    return detector._checked()


def brute_force(dataset, options, y, x):
    """The paper's formula at pixel ``(y, x)``, each term built directly in the frames."""
    cube = np.asarray(dataset.cube, dtype=np.float64)
    angles = np.asarray(dataset.angles, dtype=np.float64)
    t, ny, nx = cube.shape
    fwhm = float(dataset.fwhm)
    frames = highpass_filter(cube, options["filtering_fraction"])
    half = int(np.ceil(options["stamp_size"] * fwhm / 2))
    stamp = model_stamp(dataset.normalized_psf, half, options["filtering_fraction"], (ny, nx))
    radius, theta = polar_grid((ny, nx))
    xc, yc = frame_center((ny, nx))
    outer = min(xc, yc, nx - 1 - xc, ny - 1 - yc) - half
    masks, _ = annuli((ny, nx), inner_radius=options["inner_radius"] * fwhm, width=options["annulus_width"] * fwhm)
    mask = next(m for m in masks if m[y, x]) & (radius <= outer)
    r_in, r_out = radius[mask].min(), radius[mask].max()
    rotation = np.degrees(2 * np.arcsin(min(1.0, options["delta"] * fwhm / (2 * r_in))))
    first, second = pair_frames(angles, rotation, options["n_pairs"])
    r_opt = np.sqrt(options["roa"] * r_out ** 2 - (options["roa"] - 1) * r_in ** 2)
    area = (radius >= r_in) & (radius <= r_opt)
    # the companion's model in every frame: the model stamp shifted to its position there
    models = np.zeros_like(frames)
    add_stamps(models, placed_stamps(stamp, radius[y, x], theta[y, x], angles, (xc, yc)), 1.0)
    numerator = denominator = 0.0
    for a, b in zip(first, second):
        gamma = np.sum(frames[a][area] * frames[b][area]) / np.sum(frames[b][area] ** 2)
        difference = frames[a] - gamma * frames[b]
        values = difference[mask]
        sigma = 1.4826 * np.median(np.abs(values - np.median(values)))
        signature = models[a] - gamma * models[b]
        numerator += np.sum(signature * difference) / sigma ** 2
        denominator += np.sum(signature ** 2) / sigma ** 2
    return numerator / denominator, 1 / np.sqrt(denominator)


@pytest.mark.parametrize("y, x, n_pairs", [(22, 33, 1), (10, 18, 4), (30, 9, 2)])
def test_flux_and_std_match_the_brute_force(y, x, n_pairs):
    dataset = speckled()
    detector = Andromeda(delta=1.0, n_pairs=n_pairs)
    flux, std = likelihood_maps(np.asarray(dataset.cube, float), dataset.angles, dataset.normalized_psf,
                                float(dataset.fwhm), options_of(detector))
    expected_flux, expected_std = brute_force(dataset, options_of(detector), y, x)
    assert std[y, x] == pytest.approx(expected_std, rel=2e-3)
    # the correlation maps are read between pixels by bicubic interpolation: within 1 % or a twentieth of the noise
    assert flux[y, x] == pytest.approx(expected_flux, rel=0.01, abs=0.05 * expected_std)


def test_statistic_is_flux_over_its_std_and_nan_where_undefined():
    dataset = white_noise()
    detection = Andromeda(inner_radius=2.0).detect(dataset)
    finite = np.isfinite(detection.statistic)
    np.testing.assert_allclose(detection.statistic[finite], (detection.flux / detection.flux_std)[finite])
    assert np.all(detection.flux_std[finite] > 0)
    radius, _ = polar_grid(dataset.frame_shape)
    assert not finite[radius < 2.0 * dataset.fwhm].any()
    half = int(np.ceil(3.0 * dataset.fwhm / 2))
    assert not finite[radius > 30 - half].any()
    assert finite[(radius > 10) & (radius < 20)].all()
    assert np.array_equal(np.isfinite(detection.flux), finite)


def test_raw_snr_without_renormalisation():
    dataset = white_noise(n_frames=20, size=41)
    raw = Andromeda(radial_width=None).detect(dataset)
    normalised = Andromeda().detect(dataset)
    np.testing.assert_array_equal(raw.flux[np.isfinite(normalised.flux)],
                                  normalised.flux[np.isfinite(normalised.flux)])
    finite = np.isfinite(raw.statistic)
    np.testing.assert_allclose(raw.statistic[finite], (raw.flux / raw.flux_std)[finite])


def null_moments(statistic, dataset, bands):
    radius, _ = polar_grid(dataset.frame_shape)
    out = []
    for low, high in bands:
        values = statistic[(radius >= low * dataset.fwhm) & (radius < high * dataset.fwhm)]
        values = values[np.isfinite(values)]
        out.append((values.size, values.mean(), values.std(), (values > 3).mean(), (values > 5).mean()))
    return out


@pytest.mark.parametrize("variance", ["difference", "homogeneous"])
def test_white_noise_statistic_is_standard_normal_by_separation(variance):
    statistics = [Andromeda(variance=variance).detect(white_noise(seed=seed)).statistic for seed in range(3)]
    dataset = white_noise()
    for statistic in statistics:
        for size, mean, std, above3, above5 in null_moments(statistic, dataset, [(1, 3), (3, 5), (5, 7)]):
            assert size > 300
            assert abs(mean) < 0.15 and abs(std - 1) < 0.1
            assert above5 == 0
    values = np.concatenate([s[np.isfinite(s)] for s in statistics])
    assert abs(values.mean()) < 0.05 and abs(values.std() - 1) < 0.05
    assert (values > 3).mean() == pytest.approx(1.35e-3, abs=1.5e-3)


def test_real_naco_statistic_is_close_to_standard_normal_by_separation(naco):
    statistic = Andromeda().detect(naco).statistic
    for size, mean, std, above3, above5 in null_moments(statistic, naco, [(1, 3), (3, 5), (5, 9)]):
        assert size > 200
        assert abs(mean) < 0.2 and abs(std - 1) < 0.15
        # speckles leave heavier tails than a Gaussian's, not much heavier
        assert above3 < 0.02 and above5 < 0.002


def test_injected_companion_detected_with_its_flux(naco):
    # S/N about 20 to 30: a 10 % error is then 2 to 3 standard deviations
    separations, thetas, fluxes = [15.0, 25.0, 35.0], [40.0, 160.0, 280.0], [600.0, 400.0, 240.0]
    injection = inject_companions(naco, separations=separations, thetas=thetas, fluxes=fluxes)
    detection = Andromeda().detect(injection.dataset)
    for (x, y), flux in zip(injection.positions, fluxes):
        iy, ix = int(round(y)), int(round(x))
        window = detection.statistic[iy - 2:iy + 3, ix - 2:ix + 3]
        by, bx = np.unravel_index(np.nanargmax(window), window.shape)
        py, px = iy - 2 + by, ix - 2 + bx
        assert detection.statistic[py, px] >= 10
        assert abs(py - y) <= 1.5 and abs(px - x) <= 1.5
        assert detection.flux[iy, ix] / detection.flux_std[iy, ix] >= 10
        assert detection.flux[iy, ix] == pytest.approx(flux, rel=0.1)
        assert abs(detection.flux[iy, ix] - flux) < 3 * detection.flux_std[iy, ix]


def test_flux_unbiased_on_white_noise_with_a_gaussian_psf():
    dataset = white_noise(n_frames=40, size=61, seed=4)
    injection = inject_companions(dataset, separations=[18.0], thetas=[70.0], fluxes=[30.0])
    detection = Andromeda(filtering_fraction=1.0, opt_method="no").detect(injection.dataset)
    (x, y), = injection.positions
    assert detection.flux[int(round(y)), int(round(x))] == pytest.approx(30.0, rel=0.1)


def test_registered_and_parameters():
    detector = get_algorithm("andromeda")(delta=1.0)
    assert isinstance(detector, Andromeda)
    assert detector.get_params()["delta"] == 1.0


def test_several_partners_per_frame_give_each_pair_once():
    first, second = pair_frames(np.arange(6.0), 2.0, 2)
    pairs = list(zip(first.tolist(), second.tolist()))
    assert pairs == [(0, 2), (0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (3, 5)]
    assert all(abs(b - a) >= 2 for a, b in pairs)


def test_pairs_leave_out_frames_without_partner():
    first, second = pair_frames(np.array([0.0, 1.0, 10.0]), 5.0)
    assert first.tolist() == [0, 1] and second.tolist() == [2, 2]  # (2, 1) repeats (1, 2)
    first, second = pair_frames(np.array([0.0, 1.0, 2.0]), 5.0)
    assert first.size == 0 and second.size == 0


def test_highpass_keeps_high_frequencies_and_is_off_at_one():
    checker = np.indices((8, 8)).sum(axis=0) % 2 * 2.0 - 1.0
    np.testing.assert_allclose(highpass_filter(checker, 0.5), checker, atol=1e-12)
    frames = np.random.default_rng(0).normal(size=(2, 8, 8))
    np.testing.assert_array_equal(highpass_filter(frames, 1.0), frames)


@pytest.mark.parametrize("options, message", [
    ({"delta": 0}, r"^delta: expected a number > 0, got 0$"),
    ({"n_pairs": 0}, r"^n_pairs: expected an integer >= 1, got 0$"),
    ({"annulus_width": -1}, r"^annulus_width: expected a number > 0, got -1$"),
    ({"inner_radius": -1}, r"^inner_radius: expected a number >= 0, got -1$"),
    ({"opt_method": "l1"}, r"^opt_method: expected one of 'lsq', 'no', got 'l1'$"),
    ({"roa": 0.5}, r"^roa: expected a number >= 1, got 0.5$"),
    ({"filtering_fraction": 0}, r"^filtering_fraction: expected a number in \(0, 1\], got 0$"),
    ({"variance": "pixel"}, r"^variance: expected one of 'difference', 'homogeneous', got 'pixel'$"),
    ({"stamp_size": 0}, r"^stamp_size: expected a number > 0, got 0$"),
    ({"radial_width": 0}, r"^radial_width: expected a number > 0 or None, got 0$"),
    ({"inner_radius": 6.0}, r"^inner_radius: expected less than 4 FWHM \(the frame's half-size minus half "
                            r"the model's box, stamp_size\), got 6$"),
])
def test_options_checked(options, message):
    with pytest.raises(ValueError, match=message):
        Andromeda(**options).detect(white_noise(n_frames=6, size=45))


def test_dataset_checked():
    dataset = white_noise(n_frames=6, size=45)
    with pytest.raises(ValueError, match=r"^dataset: ANDROMEDA needs the PSF to model a companion, got a dataset "
                                         r"without one$"):
        Andromeda().detect(Dataset(dataset.cube, dataset.angles, fwhm=4.0))
    with pytest.raises(ValueError, match=r"^dataset: expected at least 2 frames for angular differences, got 1$"):
        Andromeda().detect(Dataset(dataset.cube[:1], dataset.angles[:1], psf=dataset.psf))


def test_noiseless_differences_carry_no_weight():
    # identical frames: every difference is 0, no noise level, no information on a companion
    dataset = white_noise(n_frames=8, size=45)
    frozen = Dataset(np.repeat(dataset.cube[:1], 8, axis=0), dataset.angles, psf=dataset.psf)
    with np.errstate(all="raise"):
        detection = Andromeda().detect(frozen)
    assert np.isnan(detection.statistic).all() and np.isnan(detection.flux).all()
