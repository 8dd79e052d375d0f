"""The first guess of a characterisation: the candidates' positions, aperture fluxes in units of the PSF."""

import numpy as np
import pytest
from astropy.io import fits

from exobench.charac import aperture_first_guess, first_guess_phase, read_candidates
from exobench.data import Dataset
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions
from exobench.psf import psf_flux


def _with_companion(dataset, flux):
    """``dataset`` with one bright companion 14 px from the star; its truth in units of the PSF file."""
    injected = inject_companions(dataset, separations=[14.0], thetas=[30.0], fluxes=[flux])
    x, y = injected.truth[["x", "y"]].values[0]
    unit = np.atleast_1d(psf_flux(dataset.psf, dataset.fwhm))
    return injected.dataset, (x, y), np.atleast_1d(flux) / unit


def test_the_flux_of_a_bright_companion_is_found_within_a_few_percent_and_not_above():
    dataset, (x, y), truth = _with_companion(example_dataset(n_frames=20, size=45, seed=1), 400.0)
    row = aperture_first_guess(dataset, [(x, y)])
    assert row.shape == (1, 3) and row[0, :2].tolist() == [x, y]  # the candidates' positions, unchanged
    # median ADI over 70 degrees at 3.5 FWHM: some self-subtraction, the flux a little low
    assert 0.8 * truth[0] < row[0, 2] < 1.02 * truth[0]
    # half a FWHM off, as a candidate may be: the aperture misses part of the companion
    off = aperture_first_guess(dataset, [(x + 2.0, y)])
    assert off[0, 2] < row[0, 2]


def test_a_4d_cube_gets_one_flux_per_channel():
    base = example_dataset(n_frames=16, size=45, seed=2)
    cube = np.stack([base.cube, base.cube])
    dataset = Dataset(cube, base.angles, psf=np.stack([base.psf, base.psf]), wavelengths=[1.0, 1.1])
    injected = inject_companions(dataset, separations=[14.0], thetas=[100.0], fluxes=[[200.0, 400.0]])
    x, y = injected.truth[["x", "y"]].values[0]
    row = aperture_first_guess(injected.dataset, [(x, y)])
    assert row.shape == (1, 4)
    assert row[0, 3] / row[0, 2] == pytest.approx(2.0, rel=0.1)  # the spectrum's shape kept


def test_a_phase_folder_and_its_candidates(tmp_path):
    dataset, (x, y), _ = _with_companion(example_dataset(n_frames=12, size=45, seed=3), 300.0)
    write_dataset(dataset.replace(instrument="ex", dataset_id="1"), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"public_dir: no ex_candidates_1.fits in '.*'; a characterisation "
                                                r"phase announces each dataset's companions there"):
        first_guess_phase(tmp_path)
    fits.writeto(tmp_path / "ex_candidates_1.fits", np.array([[x, y], [10.0, 30.0]]))
    assert read_candidates(tmp_path, "ex", "1").tolist() == [[x, y], [10.0, 30.0]]
    guesses = first_guess_phase(tmp_path)
    assert list(guesses) == [("ex", "1")] and guesses[("ex", "1")].shape == (2, 3)
    expected = aperture_first_guess(dataset, [(x, y), (10.0, 30.0)])
    assert np.allclose(guesses[("ex", "1")], expected, rtol=1e-5)  # the cube is float32 on disk
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"public_dir: no \{instrument\}_cube_\{k\}.fits file in"):
        first_guess_phase(tmp_path / "empty")


@pytest.mark.parametrize("data", [np.zeros((2, 3)), np.array([[1.0, np.nan]]), np.zeros(4)])
def test_a_malformed_candidates_file_is_refused(tmp_path, data):
    fits.writeto(tmp_path / "ex_candidates_1.fits", data)
    with pytest.raises(ValueError, match=r"public_dir: ex_candidates_1.fits: expected an \(N, 2\) array of finite "
                                         r"\(x, y\)"):
        read_candidates(tmp_path, "ex", "1")


def test_inputs_are_checked():
    dataset = example_dataset(n_frames=6, size=25)
    with pytest.raises(ValueError, match=r"candidates: expected an \(N, 2\) array of finite \(x, y\), got shape "
                                         r"\(3,\)"):
        aperture_first_guess(dataset, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dataset: expected a dataset with its PSF"):
        aperture_first_guess(dataset.replace(psf=None, fwhm=4.0), [(12.0, 18.0)])
