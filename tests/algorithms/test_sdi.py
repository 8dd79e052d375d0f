"""Spectral differential imaging (4D cubes): rescaling, SDI-PCA, ASDI-PCA, per-channel ADI."""

import numpy as np
import pytest
from scipy import ndimage

from exobench.algorithms import (
    ASDIPCA,
    PCA,
    SDIPCA,
    PerChannelADI,
    get_algorithm,
    rescale_frames,
    scale_factors,
)
from exobench.data import Dataset
from exobench.detmap import snr
from exobench.examples import example_dataset
from exobench.geometry import polar_grid
from exobench.inject import inject_companions

#: S/N measured at the companion by the comparison test (printed with ``pytest -s``).
MEASURED = {}

SEPARATION, THETA, CONTRAST = 16.0, 60.0, 3e-3


def speckle_cube_4d(seed=0, *, n_channels=10, n_frames=20, size=51, rotation=10.0, fwhm=3.5,
                    separation=SEPARATION, theta=THETA, contrast=CONTRAST):
    """A 4D dataset whose speckles scale with wavelength, with one flat-spectrum companion.

    Wavelengths 1.0 to 1.3 microns. The speckle field is defined at the longest
    wavelength and magnified by ``lambda / lambda_max`` in each channel (fixed in
    units of lambda/D): a static pattern with a chromatic intensity (a linear
    trend over the band and a second pattern weighted by it), plus a pattern
    that changes from frame to frame (scaling alike), all on a 1/(1 + (r/4)^2)
    halo, plus white noise of unit sigma. The frames keep the detector frame's
    orientation; the field rotates by ``rotation`` degrees in all. The
    companion (contrast ``contrast`` in every channel, a grey spectrum) is
    injected with :func:`exobench.inject.inject_companions`. Returns
    ``(dataset, (x, y))``.
    """
    rng = np.random.default_rng(seed)
    wavelengths = np.linspace(1.0, 1.3, n_channels)
    shrink = wavelengths / wavelengths.max()
    trend = (wavelengths - wavelengths.mean()) / np.ptp(wavelengths)
    radius, _ = polar_grid((size, size))
    star_flux = 1e4
    halo = star_flux * 1e-2 / (1 + (radius / 4.0) ** 2)

    def smooth():
        field = ndimage.gaussian_filter(rng.normal(size=(size, size)), 1.3)
        return field / field.std()

    def scaled(image):  # the same pattern in units of lambda/D in every channel
        return rescale_frames(np.repeat(image[None], n_channels, axis=0), shrink)

    static = (scaled(halo * (1 + 0.8 * smooth())) * (1 + 0.3 * trend)[:, None, None]
              + scaled(halo * 0.5 * smooth()) * trend[:, None, None])
    cube = np.empty((n_channels, n_frames, size, size))
    for step in range(n_frames):
        cube[:, step] = static + scaled(halo * 0.2 * smooth()) + rng.normal(size=(n_channels, size, size))
    half = 7
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    sigmas = fwhm * shrink / (2 * np.sqrt(2 * np.log(2)))
    psf = np.exp(-(xx**2 + yy**2)[None] / (2 * sigmas[:, None, None] ** 2))
    dataset = Dataset(cube, np.linspace(-rotation / 2, rotation / 2, n_frames), psf=psf, wavelengths=wavelengths,
                      fwhm=fwhm * shrink, star_flux=star_flux, instrument="ifs")
    injection = inject_companions(dataset, separations=[separation], thetas=[theta], contrasts=[contrast])
    return injection.dataset, tuple(injection.positions[0])


@pytest.fixture(scope="module")
def cube4d():
    return speckle_cube_4d(0)


# -- rescaling -----------------------------------------------------------------------------------


def test_scale_factors_magnify_to_the_longest_wavelength():
    np.testing.assert_allclose(scale_factors([1.0, 1.2, 1.3]), [1.3, 1.3 / 1.2, 1.0])
    np.testing.assert_allclose(scale_factors([1.0, 2.0], reference=1.0), [1.0, 0.5])
    for bad, name in [([1.0, 0.0], "wavelengths"), ([1.0, np.nan], "wavelengths")]:
        with pytest.raises(ValueError, match=name):
            scale_factors(bad)
    with pytest.raises(ValueError, match="reference"):
        scale_factors([1.0], reference=-1.0)


@pytest.mark.parametrize("method, tolerance", [("bicubic", 5e-3), ("bilinear", 6e-2)])
def test_rescale_there_and_back_recovers_a_smooth_image(method, tolerance):
    size = 41
    y, x = np.mgrid[:size, :size]
    image = np.exp(-((x - 26.0) ** 2 + (y - 15.0) ** 2) / (2 * 2.5**2))
    there = rescale_frames(image, 1.3, method=method)
    back = rescale_frames(there, 1 / 1.3, method=method)
    np.testing.assert_allclose(back, image, atol=tolerance)
    # magnified about the centre (20, 20): the source at (26, 15) goes to (20 + 6 * 1.3, 20 - 5 * 1.3)
    cy, cx = ndimage.center_of_mass(there)
    assert abs(cx - (20 + 6 * 1.3)) < 0.05 and abs(cy - (20 - 5 * 1.3)) < 0.05
    # pixel values are kept (no 1 / s**2): the total flux grows by s**2
    assert there.sum() / image.sum() == pytest.approx(1.3**2, rel=1e-2)


def test_rescale_by_one_is_the_identity_and_shapes_are_kept():
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(3, 12, 13))
    np.testing.assert_array_equal(rescale_frames(frames, [1.0, 1.0, 1.0]), frames)
    assert rescale_frames(frames[0], 1.2).shape == (12, 13)
    assert rescale_frames(frames.astype(np.float32), 1.2).dtype == np.float32
    with pytest.raises(ValueError, match="scales: expected 3 factors"):
        rescale_frames(frames, [1.0, 2.0])
    with pytest.raises(ValueError, match="scales"):
        rescale_frames(frames, 0.0)
    with pytest.raises(ValueError, match="method"):
        rescale_frames(frames, 1.1, method="fft")
    with pytest.raises(ValueError, match="frames"):
        rescale_frames(frames[None], 1.1)


# -- the algorithms ------------------------------------------------------------------------------


def test_sdi_and_asdi_beat_per_channel_adi_at_small_rotation():
    """10 degrees of field rotation: ADI alone self-subtracts and leaves evolving speckles."""
    for seed in (0, 1):
        dataset, position = speckle_cube_4d(seed)
        fwhm = float(np.mean(dataset.fwhm))
        runs = {
            "sdi-pca(1)": SDIPCA(ncomp=1),
            "asdi-pca(steps=1, 5)": ASDIPCA(steps=1, ncomp=5),
            "asdi-pca(steps=2, 1, 1)": ASDIPCA(steps=2, ncomp=1, ncomp_adi=1),
        }
        runs.update({f"per-channel(pca {k})": PerChannelADI(algorithm="pca", options={"ncomp": k})
                     for k in (1, 3, 5)})
        measured = {}
        for label, algorithm in runs.items():
            result = algorithm.process(dataset)
            assert result.residuals.shape == dataset.cube.shape[1:] and result.final.shape == dataset.frame_shape
            measured[label] = snr(result.final, position, fwhm)
        MEASURED[seed] = {label: (round(m.snr, 2), round(m.background_std, 3)) for label, m in measured.items()}
        best_adi = max(m.snr for label, m in measured.items() if label.startswith("per-channel"))
        least_adi_noise = min(m.background_std for label, m in measured.items() if label.startswith("per-channel"))
        assert measured["sdi-pca(1)"].snr > 1.5 * best_adi, MEASURED[seed]
        assert measured["asdi-pca(steps=1, 5)"].snr > 1.2 * best_adi, MEASURED[seed]
        # two steps: the ADI step self-subtracts at 10 degrees, but the residual noise is far lower
        assert measured["asdi-pca(steps=2, 1, 1)"].background_std < least_adi_noise / 4, MEASURED[seed]
    print("\nS/N and background std at the companion (sep 16 px, 10 deg):", MEASURED)


def test_asdi_one_step_on_one_channel_is_full_frame_pca():
    ds = example_dataset(n_frames=12, size=25, seed=2)
    one = Dataset(ds.cube[None].astype(np.float64), ds.angles, psf=ds.psf[None], wavelengths=[1.6])
    result = ASDIPCA(steps=1, ncomp=3).process(one)
    expected = PCA(ncomp=3).process(ds.replace(cube=ds.cube.astype(np.float64)))
    np.testing.assert_allclose(result.residuals, expected.residuals, atol=1e-9 * np.abs(ds.cube).max())
    np.testing.assert_allclose(result.final, expected.final, atol=1e-9 * np.abs(ds.cube).max())


def test_per_channel_adi_is_the_mean_of_the_channels_runs(cube4d):
    dataset, _ = cube4d
    small = dataset.replace(cube=dataset.cube[:3], psf=dataset.psf[:3], wavelengths=dataset.wavelengths[:3],
                            fwhm=dataset.fwhm[:3], star_flux=dataset.star_flux[:3])
    result = PerChannelADI(algorithm="pca", options={"ncomp": 2}).process(small)
    runs = [PCA(ncomp=2).process(Dataset(small.cube[c], small.angles, fwhm=float(small.fwhm[c])))
            for c in range(3)]
    np.testing.assert_allclose(result.final, np.mean([r.final for r in runs], axis=0), atol=1e-9)
    np.testing.assert_allclose(result.residuals, np.mean([r.residuals for r in runs], axis=0), atol=1e-9)


def test_registry_and_params():
    assert get_algorithm("sdi-pca") is SDIPCA and get_algorithm("asdi-pca") is ASDIPCA
    assert get_algorithm("per-channel") is PerChannelADI
    assert ASDIPCA(steps=1, ncomp=4).get_params() == {"steps": 1, "ncomp": 4, "ncomp_adi": 1, "rescaling": "bicubic",
                                                      "collapse": "median", "derotation": "bilinear"}
    assert repr(SDIPCA(ncomp=2)) == "SDIPCA(ncomp=2)"


@pytest.mark.parametrize("algorithm, named", [
    (SDIPCA(ncomp=0), "ncomp"),
    (SDIPCA(ncomp=11), "ncomp: expected an integer from 1 to 10"),
    (SDIPCA(ncomp=1.5), "ncomp"),
    (SDIPCA(rescaling="fft"), "rescaling"),
    (SDIPCA(collapse="sum"), "collapse"),
    (SDIPCA(derotation="nearest"), "derotation"),
    (ASDIPCA(steps=3), "steps"),
    (ASDIPCA(steps=True), "steps"),
    (ASDIPCA(steps=2, ncomp=11), "ncomp"),
    (ASDIPCA(steps=2, ncomp_adi=0), "ncomp_adi"),
    (ASDIPCA(steps=2, ncomp_adi=21), "ncomp_adi"),
    (ASDIPCA(steps=1, ncomp=201), "ncomp: expected an integer from 1 to 200"),
    (PerChannelADI(algorithm="nope"), "algorithm"),
    (PerChannelADI(algorithm="sdi-pca"), "algorithm"),
    (PerChannelADI(options={"ncmp": 2}), "options"),
    (PerChannelADI(options=[1]), "options"),
])
def test_options_are_checked_naming_the_parameter(cube4d, algorithm, named):
    dataset, _ = cube4d
    with pytest.raises(ValueError, match=named):
        algorithm.process(dataset)


@pytest.mark.parametrize("algorithm", [SDIPCA(), ASDIPCA(), ASDIPCA(steps=1), PerChannelADI()])
def test_a_3d_dataset_is_refused(algorithm):
    with pytest.raises(ValueError, match=r"dataset: expected an ADI\+mSDI dataset with a 4D .*got a 3D"):
        algorithm.process(example_dataset(n_frames=6, size=21))
    with pytest.raises(TypeError, match="dataset"):
        algorithm.process(np.zeros((2, 3, 9, 9)))


def test_adi_algorithms_still_refuse_4d(cube4d):
    dataset, _ = cube4d
    with pytest.raises(ValueError, match="4D"):
        PCA(ncomp=1).process(dataset)
