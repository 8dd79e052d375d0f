import sys

import numpy as np
import pytest

from exobench.data.fits_io import read_dataset, write_dataset
from exobench.simulate import parallactic_angle, simulate
from exobench.simulate.observing import SIDEREAL_RATE
from exobench.simulate.simulation import effective_realisations

from .conftest import FAST


def _small(name="naco", *, seed=1, frames=4, size=33, noise=True, **changes):
    return simulate(name, seed=seed, frames=frames, frame_size=size, overrides={**FAST, **changes}, noise=noise)


def test_same_seed_same_bytes(tmp_path):
    first, second = _small(seed=7), _small(seed=7)
    for field in ("cube", "psf", "angles"):
        a, b = getattr(first.dataset, field), getattr(second.dataset, field)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    write_dataset(first.dataset, tmp_path / "a")
    write_dataset(second.dataset, tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_other_seed_other_cube_and_generator_seeds():
    assert not np.array_equal(_small(seed=7).dataset.cube, _small(seed=8).dataset.cube)
    a = _small(seed=np.random.default_rng(5)).dataset.cube
    b = _small(seed=np.random.default_rng(5)).dataset.cube
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seed: expected an integer or a numpy.random.Generator, got 1.5"):
        simulate("naco", seed=1.5)


def test_noise_changes_only_the_noise_stream():
    """The noise has its own random stream: the noiseless cube is the expectation
    of the noisy one, the same optics underneath."""
    noisy = _small(seed=3, frames=6).dataset
    clean = _small(seed=3, frames=6, noise=False).dataset
    residual = (noisy.cube - clean.cube).astype(float)
    assert abs(residual.mean()) < 0.05 * residual.std()
    np.testing.assert_array_equal(noisy.psf, clean.psf)


def test_dataset_fields_follow_the_profile():
    sim = _small("naco", frames=5)
    ds = sim.dataset
    assert ds.cube.shape == (5, 33, 33) and ds.cube.dtype == np.float32
    assert ds.instrument == "naco" and ds.pxscale == sim.profile.pixel_scale_arcsec
    assert ds.psf.shape == (39, 39) and np.unravel_index(np.argmax(ds.psf), ds.psf.shape) == (19, 19)
    assert ds.meta["seed"] == 1 and ds.meta["profile"] == "naco"
    assert ds.star_flux > 0 and sim.star_rate.shape == (1,)


def test_angles_follow_the_parallactic_angle_formula():
    sim = _small("naco", frames=7, **{"observation.pupil_offset_deg": -104.84})
    obs = sim.profile.observation
    np.testing.assert_allclose(sim.hour_angles, np.linspace(obs.hour_angle_start_h, obs.hour_angle_end_h, 7))
    expected = parallactic_angle(sim.hour_angles, declination_deg=obs.declination_deg,
                                 latitude_deg=sim.profile.telescope.site_latitude_deg)
    np.testing.assert_allclose(sim.dataset.angles, expected - 104.84)
    # beta Pic from Paranal over +-1.5 h: about 83 deg of rotation, increasing
    assert np.all(np.diff(sim.dataset.angles) > 0)


def test_frames_that_do_not_fit_the_hour_angle_range_are_refused():
    with pytest.raises(ValueError, match=r"observation: 4 frames of 7200 s \(dit_s \* ndit\) do not fit"):
        _small(**{"observation.dit_s": 3600.0, "observation.ndit": 2})


def test_effective_realisations_limits():
    assert effective_realisations(1000.0, 1.0) == pytest.approx(500, rel=0.01)  # T / (2 tau)
    assert effective_realisations(1e-3, 1.0) == pytest.approx(1.0, abs=1e-3)


def _annulus_correlations(cube, inner, outer):
    n = cube.shape[-1]
    y, x = np.indices((n, n)) - n // 2
    r = np.hypot(x, y)
    ring = (r >= inner) & (r < outer)
    values = cube[:, ring].astype(float)
    values -= values.mean(axis=1, keepdims=True)
    return np.array([np.corrcoef(values[0], v)[0, 1] for v in values])


def _time_series(**changes):
    """Short exposures 0.25 s apart, noiseless: the speckle field's own evolution."""
    frames = 9
    span_h = (frames - 1) * 0.25 / 3600.0 * SIDEREAL_RATE
    settings = {"observation.dit_s": 0.01, "observation.ndit": 1, "observation.hour_angle_start_h": 0.0,
                "observation.hour_angle_end_h": span_h, "simulation.subframes": 1, **changes}
    cube = _small("sphere_irdis", frames=frames, size=48, noise=False, **settings).dataset.cube
    return _annulus_correlations(cube, 5, 20)


def test_ao_speckles_decorrelate_and_quasistatic_ones_stay():
    ao = _time_series(**{"ao.speckle_lifetime_s": 0.5, "ncpa.static_wfe_nm": 0.0, "ncpa.quasistatic_wfe_nm": 0.0})
    slow = _time_series(**{"ao.r0_m": 2.0, "ao.residual_wfe_nm": 5.0, "ncpa.static_wfe_nm": 0.0,
                           "ncpa.quasistatic_wfe_nm": 60.0, "ncpa.lifetime_s": 600.0})
    assert ao[1] > 0.5 and ao[-1] < 0.3  # 2 s = 4 lifetimes
    assert np.all(np.diff(ao[:4]) < 0)
    assert slow.min() > 0.95


def _log(values):
    return np.log(np.maximum(values, 1e-9 * values.max()))


def test_speckles_scale_with_wavelength_in_4d_cubes():
    from scipy.ndimage import affine_transform

    changes = {"wavelength.channels": 2, "wavelength.min_um": 1.0, "wavelength.max_um": 1.3,
               "ncpa.static_wfe_nm": 80.0, "simulation.psf_size": 25, "coronagraph.type": "none"}
    cube = simulate("sphere_ifs", seed=2, frames=1, frame_size=96, overrides={**FAST, **changes},
                    noise=False).dataset.cube
    short, long = cube[0, 0].astype(float), cube[1, 0].astype(float)
    n, c = short.shape[0], short.shape[0] // 2
    y, x = np.indices(short.shape) - c
    ring = (np.hypot(x, y) > 10) & (np.hypot(x, y) < 35)
    scores = {}
    for scale in np.arange(1.20, 1.41, 0.01):
        # magnify the short-wavelength image by `scale` about the centre pixel
        stretched = affine_transform(short, np.eye(2) / scale, offset=c - c / scale, order=3)
        scores[round(scale, 2)] = np.corrcoef(_log(stretched[ring]), _log(long[ring]))[0, 1]
    best = max(scores, key=scores.get)
    assert best == pytest.approx(1.3, abs=0.02)


def test_background_noise_matches_the_detector_model():
    """A faint star: the frame noise is the background's photon noise and the
    read noise, in ADU per exposure (mean of the co-adds)."""
    changes = {"star.magnitude": 30.0, "detector.background_e_per_s": 2000.0, "detector.dark_e_per_s": 0.0,
               "detector.read_noise_e": 20.0, "detector.gain_e_per_adu": 4.0,
               "observation.dit_s": 0.5, "observation.ndit": 10}
    cube = _small("lmircam", frames=3, size=64, **changes).dataset.cube
    electrons = 2000.0 * 0.5 * 10
    expected = np.sqrt(electrons + 20.0**2 * 10) / 10 / 4.0
    assert cube.std() == pytest.approx(expected, rel=0.03)
    assert abs(cube.mean()) < 0.02 * expected


def test_saturated_pixels_are_clipped_at_the_full_well():
    changes = {"star.magnitude": -3.0, "detector.full_well_e": 50000.0}
    sim = _small("lmircam", frames=2, size=41, noise=True, **changes)
    detector = sim.profile.detector
    floor = (detector.background_e_per_s + detector.dark_e_per_s) * sim.profile.observation.dit_s
    assert sim.saturated_pixels > 0 and sim.dataset.meta["saturated"] == sim.saturated_pixels
    # a saturated pixel reads the full well (and its photon noise): at most a few sigma above it
    ceiling = (50000.0 - floor) / detector.gain_e_per_adu
    assert sim.dataset.cube.max() < ceiling * 1.01
    assert sim.dataset.cube[:, 20, 20].min() > ceiling * 0.98


def test_progress_bar_is_shown_on_request(capsys, monkeypatch):
    simulate("naco", seed=1, frames=2, frame_size=17, overrides=FAST, progress=True)
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _small(frames=2, size=17)
    assert "simulate naco" not in capsys.readouterr().err
    simulate("naco", seed=1, frames=2, frame_size=17, overrides=FAST, progress=True)
    assert "simulate naco" in capsys.readouterr().err
