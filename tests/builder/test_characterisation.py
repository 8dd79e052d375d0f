"""A characterisation phase end to end: built from small files, its truth consistent with the injection,
its public data free of the truth, a perfect and a perturbed submission scored and validated."""

import textwrap

import numpy as np
import pytest
from astropy.io import fits

from exobench.builder import build_challenge, load_challenge
from exobench.builder.build import CANDIDATE_OFFSET_FWHM
from exobench.data import load_dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions
from exobench.psf import psf_flux
from exobench.scoring.program import score_submission
from exobench.submission import write_characterisation
from exobench.workflows.validate import validate_submission

SCALES = (1.0, 0.9, 0.8)  # the 4D source's channels

DEFINITION = """
name: charac
seed: 4
calibration: {azimuths: 1, explained_variance: [0.9]}
injection: {companions: [1, 2], separation_bands_fwhm: [[2.5, 4]], min_spacing_fwhm: 2}
phases:
  - number: 1
    kind: KIND3
    sources:
      - files: {cube: c3.fits, angles: a.fits, psf: p3.fits, pxscale: 0.0272}
        instrument: ex
  - number: 2
    kind: KIND4
    sources:
      - files: {cube: c4.fits, angles: a.fits, psf: p4.fits, wavelengths: w.fits, pxscale: 0.0272}
        instrument: ifs
"""


def _sources(folder):
    ds = example_dataset(n_frames=12, size=45, fwhm=4.0, seed=3)
    fits.writeto(folder / "c3.fits", ds.cube)
    fits.writeto(folder / "a.fits", ds.angles)
    fits.writeto(folder / "p3.fits", ds.psf)
    fits.writeto(folder / "c4.fits", np.stack([ds.cube * s for s in SCALES]).astype(np.float32))
    fits.writeto(folder / "p4.fits", np.stack([ds.psf * s for s in SCALES]))
    fits.writeto(folder / "w.fits", np.array([1.0, 1.1, 1.2]))


def _definition(folder, kinds=("charac-adi", "charac-adi+msdi"), name="def.yaml", companions=None):
    text = DEFINITION.replace("KIND3", kinds[0]).replace("KIND4", kinds[1])
    if companions:
        text = text.replace("companions: [1, 2]", f"companions: {companions}")
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("charac")
    _sources(folder)
    out = build_challenge(_definition(folder), folder / "out").output
    return folder, out


PHASES = [(1, "ex", "c3.fits", "p3.fits", None), (2, "ifs", "c4.fits", "p4.fits", "w.fits")]


@pytest.mark.parametrize("number, instrument, cube, psf, wavelengths", PHASES)
def test_the_truth_reinjected_into_the_clean_cube_gives_the_public_cube(built, number, instrument, cube, psf,
                                                                        wavelengths):
    folder, out = built
    public, reference = out / "public" / f"phase_{number}", out / "reference" / f"phase_{number}"
    clean = load_dataset(folder / cube, folder / "a.fits", psf=folder / psf, pxscale=0.0272,
                         wavelengths=folder / wavelengths if wavelengths else None)
    published = fits.getdata(public / f"{instrument}_cube_1.fits")
    public_psf = fits.getdata(public / f"{instrument}_psf_1.fits")
    positions = fits.getdata(reference / f"{instrument}_positions_1.fits")
    fluxes = fits.getdata(reference / f"{instrument}_fluxes_1.fits")
    assert fluxes.shape == (len(positions), 3 if wavelengths else 1)
    # fluxes in units of the public PSF file: flux * psf is the companion (1-FWHM aperture flux: times psf_flux)
    source = clean.replace(psf=public_psf)
    aperture = fluxes * np.atleast_1d(psf_flux(public_psf, source.fwhm))[None, :]
    cx, cy = clean.center
    separations = np.hypot(positions[:, 0] - cx, positions[:, 1] - cy)
    thetas = np.degrees(np.arctan2(positions[:, 1] - cy, positions[:, 0] - cx))
    again = inject_companions(source, separations=separations, thetas=thetas,
                              fluxes=aperture if wavelengths else aperture[:, 0], inverse_angles=True)
    added = published.astype(float) - clean.cube
    assert np.abs(added).max() > 0.5  # the companions are there
    np.testing.assert_allclose(again.dataset.cube, published, rtol=0, atol=1e-6 * np.abs(published).max())
    # and, independently of the injection code: the first frame received flux * psf's total in each channel
    frames = added[:, 0] if wavelengths else added[:1]
    stack = public_psf.reshape(-1, *public_psf.shape[-2:])
    np.testing.assert_allclose(frames.sum(axis=(1, 2)), fluxes.sum(axis=0) * stack.sum(axis=(1, 2)), rtol=1e-4)


@pytest.mark.parametrize("number, instrument", [(1, "ex"), (2, "ifs")])
def test_candidates_are_near_the_truth_but_not_on_it(built, number, instrument):
    _, out = built
    candidates = fits.getdata(out / "public" / f"phase_{number}" / f"{instrument}_candidates_1.fits")
    positions = fits.getdata(out / "reference" / f"phase_{number}" / f"{instrument}_positions_1.fits")
    fwhm = float(fits.getdata(out / "reference" / f"phase_{number}" / f"{instrument}_fwhm_1.fits")[0])
    assert candidates.shape == positions.shape and candidates.dtype == np.dtype(">f8")
    offsets = np.hypot(*(candidates - positions).T)
    assert np.all(offsets <= CANDIDATE_OFFSET_FWHM * fwhm) and np.all(offsets > 0)
    kit = out / "starting_kit" / "public_data" / f"phase_{number}" / f"{instrument}_candidates_1.fits"
    assert kit.read_bytes() == (out / "public" / f"phase_{number}" / f"{instrument}_candidates_1.fits").read_bytes()


def test_the_public_data_hold_no_truth(built, tmp_path):
    """The same sources and seed built as detection phases: the public files are the same bytes, but for the
    candidates file, the only one added (the fluxes and exact positions stay in the reference)."""
    folder, out = built
    detection = build_challenge(_definition(folder, kinds=("adi", "adi+msdi"), name="det.yaml"),
                                tmp_path / "det").output
    for number in (1, 2):
        charac = {p.name: p.read_bytes() for p in (out / "public" / f"phase_{number}").iterdir()}
        plain = {p.name: p.read_bytes() for p in (detection / "public" / f"phase_{number}").iterdir()}
        added = sorted(set(charac) - set(plain))
        assert added == [f"{'ex' if number == 1 else 'ifs'}_candidates_1.fits"] and set(plain) <= set(charac)
        assert all(charac[name] == plain[name] for name in plain)
        reference = {p.name for p in (out / "reference" / f"phase_{number}").iterdir()}
        assert any("_fluxes_" in name for name in reference) and not any("_fluxes_" in name for name in charac)


@pytest.mark.parametrize("number, instrument, suffix", [(1, "ex", "charac3d"), (2, "ifs", "charac4d")])
def test_a_perfect_and_a_perturbed_submission(built, tmp_path, number, instrument, suffix):
    _, out = built
    reference = out / "reference" / f"phase_{number}"
    positions = fits.getdata(reference / f"{instrument}_positions_1.fits")
    fluxes = fits.getdata(reference / f"{instrument}_fluxes_1.fits")
    truth = np.column_stack([positions, fluxes])
    perfect = write_characterisation({(instrument, "1"): truth}, tmp_path / "perfect.zip")
    assert validate_submission(perfect, out / "public" / f"phase_{number}").ok
    scores = score_submission(perfect, reference).scores
    assert scores[f"astrometry_px_{suffix}"] == 0.0 and scores[f"photometry_rel_{suffix}"] == 0.0
    off = truth.copy()
    off[:, 0] += 0.3
    off[:, 1] -= 0.4
    off[:, 2:] *= 1.2
    perturbed = write_characterisation({(instrument, "1"): off}, tmp_path / "off.zip",
                                       sigmas={(instrument, "1"): np.full_like(truth, 1.0)})
    scores = score_submission(perturbed, reference).scores
    assert scores[f"astrometry_px_{suffix}"] == pytest.approx(0.5)
    assert scores[f"astrometry_l1_px_{suffix}"] == pytest.approx(0.7)
    assert scores[f"astrometry_mas_{suffix}"] == pytest.approx(0.5 * 27.2)
    assert scores[f"photometry_rel_{suffix}"] == pytest.approx(0.2)
    assert scores[f"spectrophotometry_{suffix}"] == pytest.approx(0.2 * fluxes.sum(axis=1).mean())
    wrong = write_characterisation({(instrument, "1"): truth[:, :3] if number == 2 else truth[:, :2].repeat(2, 1)},
                                   tmp_path / "wrong.zip")
    report = validate_submission(wrong, out / "public" / f"phase_{number}")
    assert not report.ok and report.problems[0].startswith(f"{instrument}_charac_1.fits: estimates: expected an "
                                                           f"array of shape ({len(truth)}, {truth.shape[1]})")


def test_a_characterisation_phase_needs_companions_in_every_dataset(tmp_path):
    _sources(tmp_path)
    with pytest.raises(ValueError, match=r"phases\[0\].injection.companions: a charac-adi phase characterises "
                                         r"companions: every dataset needs at least one, got \[0, 2\]"):
        load_challenge(_definition(tmp_path, companions="[0, 2]"))
