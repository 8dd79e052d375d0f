"""The star's flux: the starflux file written by the builder for a source that declares it, read back,
and the contrast relative to the star when it is known, to the PSF file's flux otherwise."""

import numpy as np
import pytest
from astropy.io import fits

from exobench.builder import build_challenge
from exobench.builder.definition import challenge_from_dict
from exobench.contrast import UNIT_PSF, UNIT_STAR, contrast_curve, contrast_unit
from exobench.data.fits_io import read_dataset
from exobench.psf import psf_flux

from .conftest import FWHM, gaussian_psf, noise_dataset

STAR = 5.0e4


def _files(folder, name, *, seed):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {"cube": rng.normal(size=(6, 41, 41)).astype(np.float32), "angles": np.linspace(0.0, 50.0, 6),
              "psf": gaussian_psf()}
    paths = {}
    for role, data in arrays.items():
        paths[role] = str(folder / f"{name}_{role}.fits")
        fits.writeto(paths[role], data)
    return paths


def test_the_builder_writes_the_star_flux_of_a_source_that_declares_it(tmp_path):
    declared = dict(_files(tmp_path / "in", "a", seed=0), star_flux=STAR)
    plain = _files(tmp_path / "in", "b", seed=1)
    data = {"name": "t", "injection": {"companions": [0, 0]},
            "phases": [{"number": 1, "kind": "adi", "sources": [
                {"files": declared, "instrument": "cam"}, {"files": plain, "instrument": "cam"}]}]}
    challenge = challenge_from_dict(data, base=tmp_path, source="t.yaml")
    build_challenge(challenge, tmp_path / "out")
    public = tmp_path / "out" / "public" / "phase_1"
    assert (public / "cam_starflux_1.fits").is_file() and not (public / "cam_starflux_2.fits").exists()
    assert fits.getdata(public / "cam_starflux_1.fits").tolist() == [STAR]
    first, second = read_dataset(public, "cam", 1), read_dataset(public, "cam", 2)
    assert first.star_flux == STAR and contrast_unit(first) == UNIT_STAR
    assert second.star_flux == pytest.approx(psf_flux(gaussian_psf(), second.fwhm)) and contrast_unit(second) == UNIT_PSF
    kit = tmp_path / "out" / "starting_kit" / "public_data" / "phase_1"
    assert (kit / "cam_starflux_1.fits").is_file()


def test_contrast_is_relative_to_the_star_when_known_else_to_the_psf_file(noop):
    known = noise_dataset(seed=2, size=41, star_flux=STAR)
    unknown = noise_dataset(seed=2, size=41)
    assert not unknown.is_given("star_flux")
    to_star, to_psf = (contrast_curve(noop(), dataset, branches=1) for dataset in (known, unknown))
    assert (to_star.contrast_unit, to_psf.contrast_unit) == (UNIT_STAR, UNIT_PSF)
    assert UNIT_STAR == "star's flux (1-FWHM aperture)" and UNIT_PSF == "PSF file's flux (1-FWHM aperture)"
    # contrast = companion flux (in units of the PSF file) x the PSF file's aperture flux / the star's flux
    psf_aperture = psf_flux(gaussian_psf(), FWHM)
    np.testing.assert_allclose(to_star.contrast, to_psf.contrast * psf_aperture / STAR, rtol=1e-9)
    np.testing.assert_allclose(to_psf.contrast * psf_aperture, to_star.contrast * STAR, rtol=1e-9)


def test_the_default_challenges_naco_source_declares_its_star_flux(real_data_dir, monkeypatch):
    """The registry's NACO entry gives the star's flux (its PSF file is not in cube units): the prepared
    source keeps it as declared, so that the build publishes naco_starflux_{k}.fits."""
    from exobench.builder import load_challenge
    from exobench.builder.definition import DEFAULT_CHALLENGE
    from exobench.builder.sources import load_source, prepare
    from exobench.data.registry import REAL_DATA_ENV

    monkeypatch.setenv(REAL_DATA_ENV, str(real_data_dir))
    src = next(s for s in load_challenge(DEFAULT_CHALLENGE).phases[0].sources if s.kind == "real")
    dataset = prepare(load_source(src, seed=0), src)
    assert dataset.is_given("star_flux") and dataset.star_flux == 764939.6
    assert contrast_unit(dataset) == UNIT_STAR
