"""Companion injection: position and flux accuracy after derotation, inverse angles, errors."""

import numpy as np
import pytest

from exobench.data import Dataset
from exobench.geometry import derotate_cube
from exobench.inject import inject_companions
from exobench.photometry import aperture_flux
from exobench.psf import fit_gaussian

from ..helpers import gaussian_psf

SEPARATIONS = [7.3, 12.8, 18.1]
THETAS = [17.0, 143.5, 281.2]
FLUXES = [50.0, 20.0, 8.0]


def measured(final, x, y, fwhm):
    """Centroid (Gaussian fit on a stamp) and 1-FWHM aperture flux of a source near (x, y)."""
    ix, iy = int(round(x)), int(round(y))
    stamp = final[iy - 4:iy + 5, ix - 4:ix + 5]
    fit = fit_gaussian(stamp)
    flux = aperture_flux(final, [(x, y)], radius=fwhm / 2)[0]
    return fit.x + ix - 4, fit.y + iy - 4, flux


def assert_companions_recovered(difference_cube, angles, truth, fwhm):
    final = derotate_cube(difference_cube, angles, method="fft").mean(axis=0)
    for row in truth.itertuples():
        x, y, flux = measured(final, row.x, row.y, fwhm)
        assert np.hypot(x - row.x, y - row.y) < 0.1
        assert flux == pytest.approx(row.flux, rel=0.02)


@pytest.mark.parametrize("size", [47, 48])
def test_3d_injection_lands_at_truth_with_its_flux(size):
    ds = Dataset(np.zeros((24, size, size), dtype=np.float32), np.linspace(-30, 50, 24),
                 psf=gaussian_psf(size=15, fwhm=4.0, amplitude=3.0))
    result = inject_companions(ds, separations=SEPARATIONS, thetas=THETAS, fluxes=FLUXES)
    truth = result.truth
    assert list(truth.columns) == ["x", "y", "separation", "theta", "flux", "contrast"]
    center = size // 2
    np.testing.assert_allclose(truth.x, center + np.array(SEPARATIONS) * np.cos(np.radians(THETAS)))
    np.testing.assert_allclose(truth.y, center + np.array(SEPARATIONS) * np.sin(np.radians(THETAS)))
    np.testing.assert_allclose(truth.contrast, np.array(FLUXES) / ds.star_flux)
    assert_companions_recovered(result.dataset.cube, ds.angles, truth, ds.fwhm)


@pytest.mark.parametrize("size", [41, 42])
def test_4d_injection_with_a_spectrum_and_per_channel_psfs(size):
    # SPHERE-IFS-like sampling. Below ~3.5 px FWHM the 1-FWHM aperture flux of a *sampled* PSF
    # itself varies by 2-4 % with its sub-pixel position, so 2 % cannot be asked of any injection.
    fwhms = [4.0, 4.6, 5.2]
    psf = np.stack([gaussian_psf(size=19, fwhm=f, amplitude=a) for f, a in zip(fwhms, (1.0, 2.0, 3.0))])
    ds = Dataset(np.zeros((3, 16, size, size)), np.linspace(0, 70, 16), psf=psf,
                 wavelengths=[1.6, 1.9, 2.2], fwhm=fwhms)
    spectrum = np.array([[30.0, 20.0, 10.0], [5.0, 15.0, 25.0]])
    result = inject_companions(ds, separations=[9.0, 14.5], thetas=[200.0, 65.0], fluxes=spectrum)
    np.testing.assert_array_equal(result.fluxes, spectrum)
    np.testing.assert_allclose(result.truth.flux, spectrum.mean(axis=1))
    for channel in range(3):
        final = derotate_cube(result.dataset.cube[channel], ds.angles, method="fft").mean(axis=0)
        for row, expected in zip(result.truth.itertuples(), spectrum[:, channel]):
            x, y, flux = measured(final, row.x, row.y, fwhms[channel])
            assert np.hypot(x - row.x, y - row.y) < 0.1
            assert flux == pytest.approx(expected, rel=0.02)


def test_contrasts_scale_with_the_star_flux_per_channel():
    psf = np.stack([gaussian_psf(size=15, fwhm=3.0, amplitude=a) for a in (1.0, 4.0)])
    ds = Dataset(np.zeros((2, 8, 31, 31)), np.linspace(0, 40, 8), psf=psf, wavelengths=[1.0, 1.1])
    result = inject_companions(ds, separations=[8.0], thetas=[0.0], contrasts=[1e-2])
    np.testing.assert_allclose(result.fluxes[0], 1e-2 * ds.star_flux)
    assert result.truth.contrast[0] == pytest.approx(1e-2)


def test_injection_on_the_real_naco_cube(naco):
    result = inject_companions(naco, separations=[12.3, 20.7, 33.1], thetas=[10.0, 135.5, 260.2],
                               fluxes=[300.0, 200.0, 100.0])
    # the speckles are real; measure on what the injection added
    assert_companions_recovered(result.dataset.cube - naco.cube, naco.angles, result.truth, naco.fwhm)


def test_inverse_angles_smear_a_companion_under_normal_derotation(naco):
    normal = inject_companions(naco, separations=[20.0], thetas=[45.0], fluxes=[500.0])
    inverse = inject_companions(naco, separations=[20.0], thetas=[45.0], fluxes=[500.0], inverse_angles=True)
    np.testing.assert_array_equal(inverse.dataset.angles, -naco.angles)  # published angles: the inverse ones
    sharp = derotate_cube(normal.dataset.cube - naco.cube, naco.angles).mean(axis=0)
    smeared = derotate_cube(inverse.dataset.cube - naco.cube, naco.angles).mean(axis=0)
    # 82 degrees of rotation at 20 px: an arc of ~57 px instead of a 4.8-px spot
    assert smeared.max() < 0.2 * sharp.max()
    # while with the dataset's own (inverse) angles the companion is as sharp as ever
    own = derotate_cube(inverse.dataset.cube - naco.cube, inverse.dataset.angles).mean(axis=0)
    assert own.max() == pytest.approx(sharp.max(), rel=0.02)


def test_input_is_never_modified(naco):
    before = naco.cube.copy()
    angles = naco.angles.copy()
    inject_companions(naco, separations=[15.0], thetas=[0.0], fluxes=[1e3], inverse_angles=True)
    np.testing.assert_array_equal(naco.cube, before)
    np.testing.assert_array_equal(naco.angles, angles)


def test_companion_near_the_edge_is_clipped_not_wrapped():
    ds = Dataset(np.zeros((4, 31, 31)), [0.0, 10.0, 20.0, 30.0], psf=gaussian_psf(size=15, fwhm=3.0))
    result = inject_companions(ds, separations=[14.5], thetas=[0.0], fluxes=[10.0])
    cube = result.dataset.cube
    assert cube[:, :, :8].max() < 1e-6 * cube.max()  # nothing wrapped to the opposite side


def test_injection_errors():
    ds = Dataset(np.zeros((4, 31, 31)), [0.0, 10.0, 20.0, 30.0], psf=gaussian_psf(size=15, fwhm=3.0))
    with pytest.raises(ValueError, match="fluxes, contrasts: expected exactly one of them, got neither"):
        inject_companions(ds, separations=[5.0], thetas=[0.0])
    with pytest.raises(ValueError, match="got both"):
        inject_companions(ds, separations=[5.0], thetas=[0.0], fluxes=[1.0], contrasts=[1.0])
    with pytest.raises(ValueError, match=r"thetas: expected 2 values \(one per separation\), got 1"):
        inject_companions(ds, separations=[5.0, 6.0], thetas=[0.0], fluxes=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"fluxes: expected 1 values \(one per companion\), got 2"):
        inject_companions(ds, separations=[5.0], thetas=[0.0], fluxes=[1.0, 2.0])
    with pytest.raises(ValueError, match="separations: expected a value > 0"):
        inject_companions(ds, separations=[-5.0], thetas=[0.0], fluxes=[1.0])
    with pytest.raises(ValueError, match=r"separations: companion 0 at \(x, y\) = \(55.0, 15.0\) lies outside"):
        inject_companions(ds, separations=[40.0], thetas=[0.0], fluxes=[1.0])
    with pytest.raises(TypeError, match="dataset: expected an exobench Dataset, got ndarray"):
        inject_companions(np.zeros((4, 31, 31)), separations=[5.0], thetas=[0.0], fluxes=[1.0])
    no_psf = Dataset(np.zeros((4, 31, 31)), [0.0, 10.0, 20.0, 30.0], fwhm=3.0)
    with pytest.raises(ValueError, match="dataset: a PSF is needed"):
        inject_companions(no_psf, separations=[5.0], thetas=[0.0], fluxes=[1.0])


@pytest.mark.parametrize("ndim", [3, 4])
@pytest.mark.parametrize("budget", [None, 0, 1])
def test_placed_companions_give_the_bytes_of_a_fresh_injection(monkeypatch, rng, ndim, budget):
    from exobench.inject import PlacedCompanions

    if budget is not None:  # no stamp kept, or a budget below one stamp: shifted again at each injection
        monkeypatch.setattr(PlacedCompanions, "MAX_KEPT_BYTES", budget)
    shape = (3, 10, 41, 41) if ndim == 4 else (10, 41, 41)
    psf = gaussian_psf(size=11, fwhm=3.0, amplitude=2.0)
    ds = Dataset(rng.normal(size=shape).astype(np.float32), np.linspace(-20, 40, 10),
                 psf=np.stack([psf] * 3) if ndim == 4 else psf, wavelengths=[1.0, 1.1, 1.2] if ndim == 4 else None)
    placed = PlacedCompanions(ds, separations=[8.0, 13.5], thetas=[30.0, 250.0], inverse_angles=True)
    for fluxes in ([5.0, 2.0], [0.0, 7.5], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] if ndim == 4 else [3.0, 3.0]):
        again = placed.inject(fluxes=fluxes)
        fresh = inject_companions(ds, separations=[8.0, 13.5], thetas=[30.0, 250.0], fluxes=fluxes,
                                  inverse_angles=True)
        assert again.dataset.cube.tobytes() == fresh.dataset.cube.tobytes()
        np.testing.assert_array_equal(again.dataset.angles, fresh.dataset.angles)
        assert again.truth.equals(fresh.truth)
    assert np.all(ds.cube == placed.dataset.cube)  # the source is untouched


def test_placed_companions_refuse_what_inject_refuses():
    from exobench.inject import PlacedCompanions

    ds = Dataset(np.zeros((4, 21, 21)), np.arange(4.0), psf=gaussian_psf(size=7, fwhm=2.0))
    with pytest.raises(ValueError, match="separations: companion 0 at"):
        PlacedCompanions(ds, separations=[30.0], thetas=[0.0])
    with pytest.raises(ValueError, match="thetas: expected 1 values"):
        PlacedCompanions(ds, separations=[3.0], thetas=[0.0, 1.0])
    with pytest.raises(TypeError, match="dataset: expected an exobench Dataset"):
        PlacedCompanions(ds.cube, separations=[3.0], thetas=[0.0])
    placed = PlacedCompanions(ds, separations=[3.0], thetas=[0.0])
    with pytest.raises(ValueError, match="fluxes: expected 1 values"):
        placed.inject(fluxes=[1.0, 2.0])
