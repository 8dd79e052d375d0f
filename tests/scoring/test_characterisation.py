"""Characterisation scoring: the pure metrics on hand-computed cases, the intake's refusals, the program."""

import json
import math

import numpy as np
import pytest
from astropy.io import fits

from exobench.challenge import PhaseSettings, write_phase_settings
from exobench.scoring.characterisation import (coverage, eidc2022_scores, flux_errors, gaussian_crps, gaussian_nll,
                                               position_errors, separation_band)
from exobench.scoring.program import run_program, score_keys, score_submission
from exobench.submission import (CharacDataset, SubmissionError, check_characterisation, read_characterisation,
                                 write_characterisation)

# two companions: the first off by (3, 4) px and +25 % in flux, the second exact in x, off by -1 in y, -50 %
TRUE_XY = np.array([[20.0, 30.0], [10.0, 12.0]])
EST_XY = np.array([[23.0, 34.0], [10.0, 11.0]])
TRUE_F = np.array([[2.0], [4.0]])
EST_F = np.array([[2.5], [2.0]])


def test_position_errors_by_hand():
    errors = position_errors(EST_XY, TRUE_XY)
    assert errors["euclidean"].tolist() == [5.0, 1.0]
    assert errors["l1"].tolist() == [7.0, 1.0]
    assert errors["dx"].tolist() == [3.0, 0.0] and errors["dy"].tolist() == [4.0, -1.0]


def test_flux_errors_by_hand():
    errors = flux_errors(EST_F, TRUE_F)
    assert errors["relative"].ravel().tolist() == [0.25, -0.5]
    assert np.allclose(errors["magnitude"].ravel(), [-2.5 * math.log10(1.25), -2.5 * math.log10(0.5)])
    assert errors["spectrophotometry"].tolist() == [0.5, 2.0]
    assert np.isnan(flux_errors([[-1.0]], [[1.0]])["magnitude"][0, 0])  # no magnitude of a negative flux
    with pytest.raises(ValueError, match="true: expected fluxes > 0"):
        flux_errors([[1.0]], [[0.0]])
    with pytest.raises(ValueError, match=r"estimated: expected the shape of the truth \(2, 1\), got \(1, 1\)"):
        flux_errors([[1.0]], TRUE_F)


def test_eidc2022_numbers_by_hand():
    # astrometry: mean(7, 1) = 4; spectrophotometry over two channels: mean(|1-2| + |3-1|, |0-0| + |5-4|) = 2
    astrometry, spectro = eidc2022_scores(EST_XY, TRUE_XY, [[1.0, 3.0], [0.0, 5.0]], [[2.0, 1.0], [1e-9, 4.0]])
    assert astrometry == 4.0
    assert spectro == pytest.approx(2.0, abs=1e-8)


def test_coverage_and_proper_scores_by_hand():
    est = np.column_stack([EST_XY, EST_F])
    true = np.column_stack([TRUE_XY, TRUE_F])
    sigma = np.array([[2.0, 2.0, 0.5], [0.5, 2.0, 1.0]])
    # |z|: (1.5, 2, 1) and (0, 0.5, 2): within 1 sigma 3 of 6, within 2 sigma all 6
    assert coverage(est, true, sigma, 1.0) == 0.5
    assert coverage(est, true, sigma, 2.0) == 1.0
    z = (est - true) / sigma
    expected = np.mean(np.log(sigma) + 0.5 * np.log(2 * np.pi) + 0.5 * z ** 2)
    assert gaussian_nll(est, true, sigma) == pytest.approx(expected)
    assert gaussian_crps([[0.0]], [[0.0]], [[2.0]]) == pytest.approx(2 * (math.sqrt(2) - 1) / math.sqrt(math.pi))
    assert gaussian_crps([[10.0]], [[0.0]], [[1e-3]]) == pytest.approx(10.0, rel=1e-3)  # a sharp miss: the error
    with pytest.raises(ValueError, match="sigma: expected finite uncertainties > 0"):
        coverage(est, true, -sigma)


def test_separation_bands():
    assert [separation_band(s) for s in (0.0, 2.99, 3.0, 9.0, 40.0)] == ["0-3", "0-3", "3-6", "6-10", "10+"]
    with pytest.raises(ValueError, match="separation_fwhm: expected a separation >= 0"):
        separation_band(-1.0)


# -- a reference folder by hand ------------------------------------------------------------------------------


def make_reference(folder, *, channels=1, pxscale=0.01):
    folder.mkdir(parents=True)
    fluxes = TRUE_F if channels == 1 else np.column_stack([TRUE_F, 2 * TRUE_F])
    fits.writeto(folder / "ex_positions_1.fits", TRUE_XY)
    fits.writeto(folder / "ex_fwhm_1.fits", np.array([4.0]))
    fits.writeto(folder / "ex_fluxes_1.fits", fluxes)
    if pxscale:
        fits.writeto(folder / "ex_pxscale_1.fits", np.array([pxscale]))
    suffix = "charac3d" if channels == 1 else "charac4d"
    write_phase_settings(folder / "phase.json", PhaseSettings(suffix=suffix, map_shapes={"ex_1": (41, 41)}))
    return folder, fluxes


def test_a_perfect_and_a_perturbed_submission_are_scored(tmp_path):
    ref, fluxes = make_reference(tmp_path / "ref")
    truth = np.column_stack([TRUE_XY, fluxes])
    write_characterisation({("ex", "1"): truth}, tmp_path / "perfect.zip")
    perfect = score_submission(tmp_path / "perfect.zip", ref)
    assert list(perfect.scores) == score_keys("charac3d")
    assert all(value == 0.0 for value in perfect.scores.values())
    assert perfect.undefined == ("coverage_1sigma_charac3d", "coverage_2sigma_charac3d", "nll_charac3d")

    sigma = np.array([[2.0, 2.0, 0.5], [0.5, 2.0, 1.0]])
    write_characterisation({("ex", "1"): np.column_stack([EST_XY, EST_F])}, tmp_path / "off.zip",
                           sigmas={("ex", "1"): sigma})
    report = score_submission(tmp_path / "off.zip", ref)
    scores = report.scores
    assert scores["astrometry_px_charac3d"] == 3.0  # mean(5, 1)
    assert scores["astrometry_l1_px_charac3d"] == 4.0  # the EIDC 2022 astrometry: mean(7, 1)
    assert scores["astrometry_mas_charac3d"] == pytest.approx(30.0)  # 3 px at 10 mas/px
    assert scores["photometry_rel_charac3d"] == 0.375  # mean(0.25, 0.5)
    assert scores["spectrophotometry_charac3d"] == 1.25  # mean(0.5, 2.0)
    assert scores["coverage_1sigma_charac3d"] == 0.5
    assert scores["coverage_2sigma_charac3d"] == 1.0
    assert report.undefined == ()
    first = report.companions[0]
    assert (first["x_true"], first["x"], first["error_px"], first["sigma_x"]) == (20.0, 23.0, 5.0, 2.0)
    # the separation from the frame centre (20, 20) in FWHM: 10 px / 4
    assert first["separation_fwhm"] == 2.5 and set(report.metrics["by_separation"]) == {"0-3", "3-6"}


def test_the_platform_program_writes_the_charac_keys(tmp_path):
    ref, fluxes = make_reference(tmp_path / "input" / "ref", channels=2, pxscale=None)
    res = tmp_path / "input" / "res"
    write_characterisation({("ex", "1"): np.column_stack([EST_XY, fluxes])}, res)
    assert run_program(tmp_path / "input", tmp_path / "out") == 0
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert list(scores) == score_keys("charac4d")
    assert scores["astrometry_l1_px_charac4d"] == 4.0 and scores["spectrophotometry_charac4d"] == 0.0
    details = json.loads((tmp_path / "out" / "detailed_results.json").read_text())
    assert "astrometry_mas_charac4d" in details["undefined"]  # no pixel scale
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "<svg" in page and "(20.00, 30.00)" in page


# -- the intake -------------------------------------------------------------------------------------------------

DATASETS = [CharacDataset("ex", "1", 2, 1)]


def _write(folder, data, *extra_hdus, name="ex_charac_1.fits"):
    folder.mkdir(exist_ok=True)
    hdus = [fits.PrimaryHDU(data)] + list(extra_hdus)
    fits.HDUList(hdus).writeto(folder / name)
    return folder


GOOD = np.column_stack([EST_XY, EST_F])


@pytest.mark.parametrize("data, extras, message", [
    (GOOD[:1], (), r"ex_charac_1.fits: estimates: expected an array of shape \(2, 3\) \(one row per candidate: "
                   r"x, y, flux\), got shape \(1, 3\)"),
    (np.where(GOOD == 2.0, np.nan, GOOD), (), r"ex_charac_1.fits: estimates: 1 non-finite value\(s\)"),
    (GOOD, (fits.ImageHDU(-np.ones((2, 3))),), r"uncertainties \(HDU 1\): expected 1-sigma values > 0, got 6"),
    (GOOD, (fits.ImageHDU(np.ones((2, 2))),), r"uncertainties \(HDU 1\): expected an array of shape \(2, 3\)"),
    (GOOD, (fits.ImageHDU(np.ones((2, 3))), fits.ImageHDU(np.ones((2, 3)))), "3 arrays; expected the estimates"),
    (GOOD, (fits.BinTableHDU.from_columns([fits.Column(name="x", format="D", array=[1.0])]),),
     r"holds a table \(HDU 1\)"),
    (None, (fits.ImageHDU(GOOD),), "expected an array of shape .* in the primary HDU, found its first array in HDU 1"),
    (np.zeros((1000, 1000)), (), r"header claims an array of shape \(1000, 1000\)"),
])
def test_malformed_files_are_refused(tmp_path, data, extras, message):
    folder = _write(tmp_path / "sub", data, *extras)
    with pytest.raises(SubmissionError, match=message):
        read_characterisation(folder, DATASETS)
    problems, _ = check_characterisation(folder, DATASETS)
    assert len(problems) == 1 and SubmissionError(problems[0]).args[0].startswith("ex_charac_1.fits")


def test_missing_and_extra_files_are_refused(tmp_path):
    folder = _write(tmp_path / "sub", GOOD, name="ex_charac_2.fits")
    (folder / "notes.txt").write_text("hello")
    problems, _ = check_characterisation(folder, DATASETS)
    assert problems == [
        "ex_charac_2.fits: no dataset ex 2 in this phase; a characterisation submission holds only "
        "{instrument}_charac_{k}.fits files, one per dataset (expected ex_charac_1.fits)",
        "notes.txt: not part of a characterisation submission; a characterisation submission holds only "
        "{instrument}_charac_{k}.fits files, one per dataset (expected ex_charac_1.fits)",
        "ex_charac_1.fits: missing; every dataset of the phase needs its file (2 row(s), one per candidate)"]
    with pytest.raises(SubmissionError, match="ex_charac_2.fits: no dataset ex 2 in this phase"):
        read_characterisation(folder, DATASETS)


def test_uncertainties_in_every_file_or_none(tmp_path):
    datasets = DATASETS + [CharacDataset("ex", "2", 2, 1)]
    folder = _write(tmp_path / "sub", GOOD, fits.ImageHDU(np.ones((2, 3))))
    _write(folder, GOOD, name="ex_charac_2.fits")
    with pytest.raises(SubmissionError, match="ex_charac_2.fits: no uncertainties, while other files give them"):
        read_characterisation(folder, datasets)


def test_the_writer_checks_its_inputs(tmp_path):
    with pytest.raises(ValueError, match=r"estimates\[\('ex', '1'\)\]: expected an \(N, 2 \+ n_channels\) array"):
        write_characterisation({("ex", "1"): [1.0, 2.0, 3.0]}, tmp_path / "a.zip")
    with pytest.raises(ValueError, match=r"sigmas\[\('ex', '1'\)\]: expected uncertainties > 0"):
        write_characterisation({("ex", "1"): GOOD}, tmp_path / "a.zip", sigmas={("ex", "1"): np.zeros((2, 3))})
    with pytest.raises(ValueError, match="sigmas: expected the keys of estimates"):
        write_characterisation({("ex", "1"): GOOD}, tmp_path / "a.zip", sigmas={("ex", "2"): GOOD})
    with pytest.raises(ValueError, match="estimates: expected keys"):
        write_characterisation({"ex": GOOD}, tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()
    written = write_characterisation({("ex", "1"): GOOD}, tmp_path / "a.zip", sigmas={("ex", "1"): np.ones((2, 3))})
    found = read_characterisation(_unzip(written, tmp_path / "x"), DATASETS)
    assert np.array_equal(found.estimates[("ex", "1")], GOOD) and np.array_equal(found.sigmas[("ex", "1")],
                                                                                 np.ones((2, 3)))


def test_a_detection_compat_mode_is_refused_on_a_characterisation_phase(tmp_path):
    ref, fluxes = make_reference(tmp_path / "ref")
    write_characterisation({("ex", "1"): np.column_stack([TRUE_XY, fluxes])}, tmp_path / "p.zip")
    with pytest.raises(ValueError, match="compat: 'eidc2019' is a detection scoring mode"):
        score_submission(tmp_path / "p.zip", ref, compat="eidc2019")


def _unzip(archive, folder):
    import zipfile

    zipfile.ZipFile(archive).extractall(folder)
    return folder


def test_too_many_hdus_are_refused(tmp_path):
    from exobench.submission import Limits, read_bounded_images

    path = _write(tmp_path / "sub", GOOD, *[fits.ImageHDU(np.ones((2, 3))) for _ in range(3)]) / "ex_charac_1.fits"
    assert [index for index, _ in read_bounded_images(path)] == [0, 1, 2, 3]
    with pytest.raises(SubmissionError, match="ex_charac_1.fits: more than 2 HDUs"):
        read_bounded_images(path, limits=Limits(max_hdus=2))


def test_validate_reads_a_characterisation_phase_from_its_public_folder(tmp_path):
    from exobench.data.fits_io import write_dataset
    from exobench.examples import example_dataset
    from exobench.workflows.validate import characterisation_datasets, validate_submission

    public = tmp_path / "public"
    for k in ("1", "2"):
        write_dataset(example_dataset(n_frames=4, size=21).replace(dataset_id=k), public)
    assert characterisation_datasets(public) is None  # a detection phase
    fits.writeto(public / "example_candidates_1.fits", TRUE_XY)
    with pytest.raises(ValueError, match="public_dir: a characterisation phase without example_candidates_2.fits"):
        characterisation_datasets(public)
    fits.writeto(public / "example_candidates_2.fits", TRUE_XY[:1])
    assert characterisation_datasets(public) == [CharacDataset("example", "1", 2, 1),
                                                 CharacDataset("example", "2", 1, 1)]
    sub = write_characterisation({("example", "1"): GOOD, ("example", "2"): GOOD}, tmp_path / "sub.zip")
    report = validate_submission(sub, public)
    assert report.problems == ("example_charac_2.fits: estimates: expected an array of shape (1, 3) (one row per "
                               "candidate: x, y, flux), got shape (2, 3)",)
