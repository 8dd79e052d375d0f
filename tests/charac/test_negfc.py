"""The characterisation baselines: negfc and psf-fit recover a bright companion's position and flux."""

import numpy as np
import pytest

from exobench.algorithms import AnnularPCA
from exobench.charac.baselines import charac_params, dump_charac_params, run_charac_baseline
from exobench.charac.model import companion_cube
from exobench.charac.negfc import NegFC, Objective
from exobench.charac.psffit import PSFFit
from exobench.detmap import ring_fluxes
from exobench.examples import example_dataset
from exobench.geometry import derotate_cube, polar_to_cartesian
from exobench.photometry import aperture_flux

SEPARATION, THETA = 16.3, 47.0          # sub-pixel position
OFFSET = (1.3, -1.1)                    # the candidate, as a phase announces it (< 0.5 FWHM)


def _with_companion(dataset, flux, separation=SEPARATION):
    x, y = polar_to_cartesian(separation, THETA, center=dataset.center)
    return dataset.replace(cube=np.asarray(dataset.cube, float) + companion_cube(dataset, x, y, flux)), (x, y)


def _snr(clean, dataset, truth):
    """The companion's S/N in annular PCA's final frame: its flux there (the final frame without it
    subtracted) over the spread of the apertures of its ring in the final frame without it (the
    companion's own self-subtraction lobes, not noise, would dominate a ring of the frame with it)."""
    pca, fwhm = AnnularPCA(ncomp=5), float(dataset.fwhm)
    empty = pca.process(clean).final
    signal = aperture_flux(pca.process(dataset).final - empty, [truth], radius=fwhm / 2)[0]
    return signal / np.std(ring_fluxes(empty, truth, fwhm)[1:], ddof=1)


def _check(clean, dataset, truth, flux, *, negfc_px, negfc_rel, psf_px=None, psf_rel=None):
    assert _snr(clean, dataset, truth) >= 20
    candidate = [(truth[0] + OFFSET[0], truth[1] + OFFSET[1])]
    found = NegFC().fit(dataset, candidate)[0]
    assert np.hypot(found.x - truth[0], found.y - truth[1]) < negfc_px
    assert abs(found.fluxes[0] / flux - 1) < negfc_rel
    if psf_px is None:
        return
    rows, sigmas = PSFFit(n_fakes=3).estimate(dataset, candidate, uncertainties=False)
    assert sigmas is None
    assert np.hypot(rows[0, 0] - truth[0], rows[0, 1] - truth[1]) < psf_px
    assert abs(rows[0, 2] / flux - 1) < psf_rel


def test_synthetic_companion_recovered():
    clean = example_dataset(n_frames=30, size=57, seed=3)
    dataset, truth = _with_companion(clean, 0.01, separation=14.6)
    _check(clean, dataset, truth, 0.01, negfc_px=0.1, negfc_rel=0.03)  # psf-fit: test_psffit.py


def test_naco_companion_recovered(naco):
    dataset, truth = _with_companion(naco, 1000.0)
    _check(naco, dataset, truth, 1000.0, negfc_px=0.1, negfc_rel=0.03, psf_px=0.3, psf_rel=0.10)


def test_aperture_gather_is_the_bilinear_derotation():
    dataset, truth = _with_companion(example_dataset(n_frames=12, size=45, seed=1), 30.0, separation=12.0)
    objective = Objective(dataset, truth, NegFC(aperture_radius=1.5))
    annulus = np.random.default_rng(0).normal(size=(dataset.n_frames, objective.pixels.size))
    t, ny, nx = objective.cube.shape
    frames = np.zeros((t, ny * nx))
    frames[:, objective.pixels] = annulus
    expected = derotate_cube(frames.reshape(t, ny, nx), objective.angles, where=objective.aperture)
    np.testing.assert_allclose(objective._derotated(annulus),
                               expected.reshape(t, -1)[:, objective.aperture_pixels], atol=1e-12)


def test_uncertainties_by_injection_are_positive_and_shaped():
    dataset, truth = _with_companion(example_dataset(n_frames=20, size=45, seed=2), 40.0, separation=12.0)
    rows, sigmas = NegFC(n_fakes=2, passes=1).estimate(dataset, [truth])
    assert rows.shape == sigmas.shape == (1, 3)
    assert np.all(sigmas > 0) and sigmas[0, 2] < 0.5 * rows[0, 2]


def _with_4d_companion():
    """A 3-channel dataset with a companion of another flux in each channel, its ``(x, y)`` and fluxes."""
    from exobench.algorithms.sdi import example_4d_dataset
    from exobench.charac.model import channel_datasets

    dataset = example_4d_dataset(n_channels=3, n_frames=16, size=41, rotation=60.0, seed=1)
    x, y = polar_to_cartesian(11.0, THETA, center=dataset.center)
    fluxes = np.array([20.0, 30.0, 40.0]) / dataset.psf.max()
    cube = np.array(dataset.cube, float)
    for c, channel in enumerate(channel_datasets(dataset)):
        cube[c] += companion_cube(channel, x, y, fluxes[c])
    return dataset.replace(cube=cube), (x, y), fluxes


def test_4d_fluxes_per_channel():
    dataset, (x, y), fluxes = _with_4d_companion()
    found = NegFC(ncomp=2).fit(dataset, [(x + 0.8, y - 0.5)])[0]
    assert found.fluxes.shape == (3,)
    assert np.hypot(found.x - x, found.y - y) < 0.3
    np.testing.assert_allclose(found.fluxes, fluxes, rtol=0.1)


@pytest.mark.parametrize("kwargs, message", [
    ({"fmerit": "chi2"}, "fmerit: expected one of 'sumsq', 'sum', 'std', got 'chi2'"),
    ({"method": "slow"}, "method: expected one of 'fast', 'full', 'algorithm', got 'slow'"),
    ({"method": "algorithm", "algorithm": "nope"}, "nope"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NegFC(**kwargs)


def test_bad_candidates():
    with pytest.raises(ValueError, match=r"candidates: expected an \(N, 2\) array of finite \(x, y\), got shape \(3,\)"):
        NegFC().fit(example_dataset(n_frames=8, size=33), [1.0, 2.0, 3.0])


def test_params_checked_and_dumped(tmp_path):
    params = charac_params("negfc", {"options": {"ncomp": 3}, "uncertainties": False})
    assert params["options"]["ncomp"] == 3 and params["uncertainties"] is False
    assert "baseline: negfc" in dump_charac_params(params)
    with pytest.raises(ValueError, match="params: unknown key 'threshold'; expected some of baseline, options"):
        charac_params("negfc", {"threshold": 1})
    with pytest.raises(ValueError, match="params: options: unknown option 'ncmp' of baseline 'psf-fit'"):
        charac_params("psf-fit", {"options": {"ncmp": 3}})
    with pytest.raises(ValueError, match="params: uncertainties: expected true or false, got 'yes'"):
        charac_params("negfc", {"uncertainties": "yes"})
    with pytest.raises(FileNotFoundError, match="params: .* not found"):
        charac_params("negfc", tmp_path / "none.yaml")


def test_phase_folder_without_candidates(tmp_path):
    from exobench.data.fits_io import write_dataset

    write_dataset(example_dataset(n_frames=8, size=33), tmp_path)
    with pytest.raises(FileNotFoundError, match="example_candidates_1.fits not found"):
        run_charac_baseline("negfc", tmp_path)


def test_command_line_writes_the_table(tmp_path, capsys):
    from astropy.io import fits

    from exobench.cli import main
    from exobench.data.fits_io import write_dataset

    dataset, truth = _with_companion(example_dataset(n_frames=12, size=41, seed=4), 0.01, separation=11.0)
    phase = tmp_path / "phase"
    write_dataset(dataset, phase)
    fits.writeto(phase / "example_candidates_1.fits", np.array([[truth[0] + 0.5, truth[1]]]))
    params = tmp_path / "fast.yaml"
    params.write_text("options:\n  passes: 1\n  ncomp: 2\nuncertainties: false\n")
    assert main(["baseline", "negfc", str(phase), "-o", str(tmp_path / "sub.zip"), "--params", str(params),
                 "--quiet"]) in (0, None)
    assert "1 dataset(s), 1 companion(s)" in capsys.readouterr().out
    import zipfile

    with zipfile.ZipFile(tmp_path / "sub.zip") as archive:
        assert archive.namelist() == ["example_charac_1.fits"]
        archive.extractall(tmp_path / "out")
    row = fits.getdata(tmp_path / "out" / "example_charac_1.fits")
    assert row.shape == (1, 3) and np.hypot(row[0, 0] - truth[0], row[0, 1] - truth[1]) < 0.5
