"""LOCI: coefficients against a per-zone numpy lstsq loop, geometry, stability, detection, errors, baseline."""

import zipfile

import numpy as np
import pytest

from exobench.algorithms import LOCI, get_algorithm
from exobench.cli import main
from exobench.detmap import snr_map
from exobench.examples import example_dataset
from exobench.geometry import annulus_mask, derotate_cube, polar_grid
from exobench.inject import inject_companions

from ..parallel._phase import make_phase


@pytest.fixture(scope="module")
def small():
    """A synthetic float64 ADI dataset: 14 frames of 27 x 27 (FWHM 4 px), 70 degrees of rotation."""
    ds = example_dataset(n_frames=14, size=27, seed=5)
    return ds.replace(cube=ds.cube.astype(np.float64))


def _references(angles, i, radius, delta, fwhm):
    """Frame ``i``'s references written out: the other frames rotated by ``delta`` FWHM at ``radius``."""
    distance = np.abs(angles - angles[i])
    others = np.arange(len(angles)) != i
    chosen = np.flatnonzero(others & (distance >= np.degrees(delta * fwhm / radius)))
    if chosen.size == 0:  # none far enough: the farthest
        chosen = np.flatnonzero(others & (distance >= distance.max()))
    return chosen


def _reference_weights(ds, zone, *, delta, regularization, n_refs):
    """One zone's ``(t, t)`` weights, one frame at a time: numpy lstsq of the ridge-augmented system."""
    t = ds.n_frames
    flat = ds.cube.reshape(t, -1)
    region = flat[:, zone.optimisation]
    weights = np.zeros((t, t))
    for i in range(t):
        refs = _references(ds.angles, i, zone.radius, delta, ds.fwhm)
        if n_refs is not None:  # the n_refs best Pearson-correlated, ties to the earlier frame
            corr = np.corrcoef(region)[i, refs]
            refs = refs[np.argsort(-corr, kind="stable")[:n_refs]]
        a = region[refs].T
        lam = regularization * np.mean(np.sum(a * a, axis=0))
        augmented = np.vstack([a, np.sqrt(lam) * np.eye(len(refs))])
        rhs = np.concatenate([region[i], np.zeros(len(refs))])
        weights[i, refs] = np.linalg.lstsq(augmented, rhs, rcond=None)[0]
    return weights


@pytest.mark.parametrize("options", [
    dict(delta=0.5, regularization=1e-3, n_segments=4, na=40.0, adaptive=False),
    dict(delta=1.0, regularization=1e-6, n_segments=2, na=15.0, adaptive=False, asize=1.0),
    dict(delta=0.0, regularization=1e-2, n_segments=3, na=60.0, adaptive=False, g=0.5),
    dict(delta=0.5, regularization=1e-3, n_segments=4, na=40.0, adaptive=True, n_refs=4),
    dict(delta=0.75, regularization=1e-4, n_segments=1, na=25.0, adaptive=True, n_refs=20),
])
def test_coefficients_and_residuals_equal_a_per_zone_lstsq_loop(small, options):
    algorithm = LOCI(**options, collapse="mean")
    zones = algorithm.fit(small)
    t = small.n_frames
    flat = small.cube.reshape(t, -1)
    expected = np.zeros_like(flat)
    for zone in zones:
        weights = _reference_weights(small, zone, delta=options["delta"], regularization=options["regularization"],
                                     n_refs=options.get("n_refs") if options["adaptive"] else None)
        np.testing.assert_allclose(zone.weights, weights, rtol=1e-7, atol=1e-9)
        expected[:, zone.subtraction] = flat[:, zone.subtraction] - weights @ flat[:, zone.subtraction]
    expected = derotate_cube(expected.reshape(small.cube.shape), small.angles)
    result = algorithm.process(small)
    scale = np.abs(small.cube).max()
    np.testing.assert_allclose(result.residuals, expected, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(result.final, expected.mean(axis=0), rtol=0, atol=1e-8 * scale)


def test_lstsq_without_regularisation_is_the_limit_on_a_well_posed_zone(small):
    # zones of many more pixels than references: a tiny ridge gives the plain least-squares coefficients
    zones = LOCI(na=80.0, delta=0.5, regularization=1e-12, n_segments=1).fit(small)
    flat = small.cube.reshape(small.n_frames, -1)
    zone = zones[len(zones) // 2]
    assert zone.optimisation.size > 5 * small.n_frames
    for i in range(small.n_frames):
        refs = _references(small.angles, i, zone.radius, 0.5, small.fwhm)
        plain = np.linalg.lstsq(flat[refs][:, zone.optimisation].T, flat[i, zone.optimisation], rcond=None)[0]
        np.testing.assert_allclose(zone.weights[i, refs], plain, rtol=1e-5, atol=1e-8)


def test_zones_tile_the_annuli_and_optimisation_zones_follow_na_and_g():
    ds = example_dataset(n_frames=6, size=121, seed=1)
    fwhm = ds.fwhm
    for g in (1.0, 0.5):
        # segments narrower than the optimisation zones, which are then not widened to them
        zones = LOCI(asize=1.5, n_segments=16, na=30.0, g=g, inner_radius=1.0).fit(ds)
        subtraction = np.concatenate([z.subtraction for z in zones])
        assert np.unique(subtraction).size == subtraction.size  # every pixel subtracted once
        inscribed = annulus_mask(ds.frame_shape, fwhm, 60.5).ravel()
        assert np.array_equal(np.sort(subtraction), np.flatnonzero(inscribed))
        radius, theta = (a.ravel() for a in polar_grid(ds.frame_shape))
        area = 30.0 * np.pi * (fwhm / 2) ** 2
        for zone in zones:
            assert np.isin(zone.subtraction, zone.optimisation).all()
        # a zone away from the star and the edges: area A, radial width over arc length g
        zone = next(z for z in zones if 30 < z.radius < 40 and 90 < theta[z.subtraction].mean() < 270)
        assert abs(zone.optimisation.size - area) < 0.1 * area
        radial = np.ptp(radius[zone.optimisation])
        arc = np.radians(np.ptp(theta[zone.optimisation])) * zone.radius
        assert radial / arc == pytest.approx(g, rel=0.15)


def test_stable_with_fewer_pixels_than_references():
    ds = example_dataset(n_frames=40, size=31, seed=2)
    algorithm = LOCI(na=0.5, asize=0.5, n_segments=8, delta=0.0)
    zones = algorithm.fit(ds)
    assert min(z.optimisation.size for z in zones) < ds.n_frames - 1  # an underdetermined fit
    for zone in zones:
        assert np.all(np.isfinite(zone.weights))
        assert np.abs(zone.weights).sum(axis=1).max() < 10  # no huge cancelling coefficients
    result = algorithm.process(ds)
    assert np.all(np.isfinite(result.residuals)) and np.all(np.isfinite(result.final))
    assert np.abs(result.residuals).max() < np.abs(ds.cube).max()


@pytest.mark.parametrize("adaptive", [False, True])
def test_snr_peaks_at_an_injected_companion_and_stays_below_5_without_one(adaptive):
    ds = example_dataset(n_frames=40, size=65, seed=1)
    injection = inject_companions(ds, separations=[14.0], thetas=[60.0], contrasts=[3e-3])
    algorithm = LOCI(na=100.0, adaptive=adaptive)
    with_companion = snr_map(algorithm.process(injection.dataset).final, ds.fwhm)
    y, x = np.unravel_index(np.nanargmax(with_companion), with_companion.shape)
    truth = injection.truth[["x", "y"]].to_numpy()[0]
    assert np.hypot(x - truth[0], y - truth[1]) < ds.fwhm
    assert np.nanmax(with_companion) > 8
    empty = snr_map(algorithm.process(ds).final, ds.fwhm)
    assert np.nanmax(empty) < 5


def test_same_inputs_same_bytes(small):
    first = LOCI(na=40.0, adaptive=True, n_refs=5).process(small)
    second = LOCI(na=40.0, adaptive=True, n_refs=5).process(small)
    assert first.residuals.tobytes() == second.residuals.tobytes()
    assert first.final.tobytes() == second.final.tobytes()


def test_registered_and_leaves_the_dataset_untouched(small):
    assert get_algorithm("loci") is LOCI
    before = small.cube.copy()
    LOCI(na=40.0).process(small)
    assert np.array_equal(small.cube, before)


@pytest.mark.parametrize("options, message", [
    (dict(asize=0), "asize: expected a number > 0"),
    (dict(asize=-1.0), "asize: expected a number > 0"),
    (dict(delta=-0.1), "delta: expected a number >= 0"),
    (dict(n_segments=0), "n_segments: expected an integer >= 1"),
    (dict(n_segments=2.0), "n_segments: expected an integer"),
    (dict(na=0), "na: expected a number > 0"),
    (dict(g=-1), "g: expected a number > 0"),
    (dict(regularization=0), "regularization: expected a number > 0"),
    (dict(adaptive="yes"), "adaptive: expected True or False"),
    (dict(n_refs=0), "n_refs: expected an integer >= 1"),
    (dict(inner_radius=-1), "inner_radius: expected a number >= 0"),
    (dict(inner_radius=100.0), "inner_radius: expected less than the frame's half-size"),
    (dict(collapse="max"), "collapse: expected one of"),
    (dict(derotation="nearest"), "derotation: expected one of"),
])
def test_errors_name_the_option(small, options, message):
    with pytest.raises(ValueError, match=message):
        LOCI(**options).process(small)


def test_errors_name_the_dataset(small):
    with pytest.raises(ValueError, match="dataset: expected at least 2 frames"):
        LOCI().process(small.replace(cube=small.cube[:1], angles=small.angles[:1]))
    four_d = example_dataset(n_frames=4, size=21)
    four_d = four_d.replace(cube=np.stack([four_d.cube, four_d.cube]), wavelengths=[1.0, 1.2])
    with pytest.raises(ValueError, match="dataset: expected an ADI dataset with a 3D"):
        LOCI().process(four_d)


def test_baseline_command_writes_a_submission(tmp_path):
    public, _ = make_phase(tmp_path / "phase")
    out = tmp_path / "x.zip"
    assert main(["baseline", "loci", str(public), "-o", str(out), "--quiet"]) == 0
    with zipfile.ZipFile(out) as zf:
        names = sorted(zf.namelist())
    assert names == ["detection_threshold.fits", "nirc2_detmap_1.fits", "nirc2_detmap_2.fits",
                     "sphere_irdis_detmap_1.fits"]
