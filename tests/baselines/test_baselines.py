"""Baselines: reference submissions from the command line, in the EIDC submission format."""

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.io import fits

from exobench import baselines as bl
from exobench.algorithms import available_algorithms
from exobench.cli import main
from exobench.data import Dataset
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions
from exobench.scoring.reference import Reference, ReferenceDataset
from exobench.submission import extract_zip, read_submission

REPO = Path(__file__).resolve().parents[2]
SIZE = 49
#: (instrument, id) -> (separations px, thetas deg) of the companions injected.
COMPANIONS = {
    ("nirc2", "1"): ([10.0, 16.0], [30.0, 200.0]),
    ("nirc2", "2"): ([], []),
    ("sphere_irdis", "1"): ([13.0], [120.0]),
}


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    """A phase folder of 3 small ADI datasets (one without companions) and their truth."""
    folder = tmp_path_factory.mktemp("phase")
    truth = {}
    for seed, ((instrument, k), (seps, thetas)) in enumerate(COMPANIONS.items()):
        dataset = example_dataset(n_frames=24, size=SIZE, seed=seed).replace(instrument=instrument, dataset_id=k)
        if seps:
            injection = inject_companions(dataset, separations=seps, thetas=thetas, contrasts=[6e-3] * len(seps))
            dataset, positions = injection.dataset, injection.truth[["x", "y"]].to_numpy()
        else:
            positions = np.zeros((0, 2))
        write_dataset(dataset, folder)
        truth[instrument, k] = (positions, float(dataset.fwhm))
    return folder, truth


def _reference(truth):
    return Reference(datasets=tuple(ReferenceDataset(i, k, pos, fwhm, (SIZE, SIZE))
                                    for (i, k), (pos, fwhm) in truth.items()))


def _read_zip(archive, dest, truth):
    dest.mkdir()
    extract_zip(archive, dest)
    return read_submission(dest, _reference(truth))


def _names(truth):
    return sorted([f"{i}_detmap_{k}.fits" for i, k in truth] + ["detection_threshold.fits"])


@pytest.mark.parametrize("name", [n for n in bl.available_baselines() if bl.get_baseline(n).data == "adi"])
def test_each_baseline_writes_a_submission_the_scorer_accepts(name, phase, tmp_path, capsys):
    folder, truth = phase
    archive = tmp_path / f"{name}.zip"
    assert main(["baseline", name, str(folder), "-o", str(archive), "--quiet"]) == 0
    out = capsys.readouterr()
    kind = bl.default_params(name)["detection_map"]  # snr, or a detector's own statistic
    assert out.out.startswith(f"wrote {archive} (3 detection map(s), {kind} map, threshold 5)")
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == _names(truth)  # flat, sorted, exactly the EIDC names
    submission = _read_zip(archive, tmp_path / "unzipped", truth)
    assert submission.threshold == bl.SNR_THRESHOLD and not submission.missing
    expected = bl.run_baseline(name, folder, progress=False)
    assert list(expected.maps) == list(truth)
    for key, image in expected.maps.items():
        assert image.shape == (SIZE, SIZE) and np.isfinite(image).any()
        # the scorer reads NaN (undefined S/N) as -inf: no detection
        np.testing.assert_array_equal(submission.detmaps[key], np.where(np.isnan(image), -np.inf, image))
        np.testing.assert_array_equal(fits.getdata(tmp_path / "unzipped" / f"{key[0]}_detmap_{key[1]}.fits"), image)


def test_list_shows_every_baseline_and_what_is_not_available(capsys):
    assert main(["baseline", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert list(rows)[:4] == ["median", "median-annular", "pca", "pca-annular"]
    for name in ("median", "median-annular", "pca", "pca-annular"):
        assert "not yet available" not in rows[name]
    for name in ("sdi-pca", "asdi-pca"):  # 4D baselines: tests/baselines/test_baselines_4d.py
        assert "not yet available" not in rows[name] and "4D" in rows[name]
    assert ("llsg" in bl.available_baselines()) == ("llsg" in available_algorithms())
    assert ("not yet available" in rows["llsg"]) == ("llsg" not in available_algorithms())


def test_unavailable_and_unknown_baselines_are_one_line_errors(phase, tmp_path, capsys):
    folder, _ = phase
    for name, message in [("sdi-pca", "processes ADI+mSDI (4D) datasets only"), ("nope", "expected a baseline among")]:
        assert main(["baseline", name, str(folder), "-o", str(tmp_path / "x.zip"), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("exobench: error: ") and message in err
    assert not (tmp_path / "x.zip").exists()


def test_missing_arguments_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["baseline", "pca"])
    assert exit_info.value.code == 2
    assert "PHASE_DIR" in capsys.readouterr().err


def test_params_yaml_overrides_the_defaults(phase, tmp_path, capsys):
    folder, truth = phase
    params = tmp_path / "params.yaml"
    params.write_text("algorithm:\n  ncomp: 2\nthreshold: 4.5\n")
    archive = tmp_path / "pca.zip"
    assert main(["baseline", "pca", str(folder), "-o", str(archive), "--params", str(params), "--quiet"]) == 0
    submission = _read_zip(archive, tmp_path / "unzipped", truth)
    assert submission.threshold == 4.5
    expected = bl.run_baseline("pca", folder, params={"algorithm": {"ncomp": 2}}, progress=False)
    default = bl.run_baseline("pca", folder, progress=False)
    key = ("nirc2", "1")
    np.testing.assert_array_equal(submission.detmaps[key], np.nan_to_num(expected.maps[key], nan=-np.inf))
    assert not np.array_equal(expected.maps[key], default.maps[key], equal_nan=True)
    capsys.readouterr()
    assert main(["baseline", "pca", "--params", str(params), "--show-params"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["algorithm"]["ncomp"] == 2 and shown["threshold"] == 4.5 and shown["baseline"] == "pca"


@pytest.mark.parametrize("text, named", [
    ("algorithm:\n  ncmp: 2\n", "'ncmp'"),
    ("treshold: 4\n", "'treshold'"),
    ("baseline: median\n", "'median'"),
    ("detection_map: peaks\n", "detection_map"),
    ("threshold: [1, 2]\n", "threshold"),
    ("algorithm: [1]\n", "algorithm"),
])
def test_bad_params_are_one_line_errors_naming_the_key(text, named, phase, tmp_path, capsys):
    folder, _ = phase
    params = tmp_path / "params.yaml"
    params.write_text(text)
    argv = ["baseline", "pca", str(folder), "-o", str(tmp_path / "x.zip"), "--params", str(params), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and str(params) in err
    assert not (tmp_path / "x.zip").exists()


def test_default_files_in_baselines_folder_equal_the_defaults():
    for name in bl.available_baselines():
        path = REPO / "baselines" / f"{name}.yaml"
        assert path.is_file(), (f"{path} missing: write it with "
                                f"`exobench baseline {name} --show-params > baselines/{name}.yaml`")
        assert path.read_text() == bl.dump_params(bl.default_params(name), comments=True), (
            f"{path} differs from the code's defaults: rewrite it with "
            f"`exobench baseline {name} --show-params > baselines/{name}.yaml`")
        assert bl.load_params(path) == bl.default_params(name)


def test_zip_is_deterministic_and_a_folder_holds_the_same_files(phase, tmp_path):
    folder, _ = phase
    result = bl.run_baseline("median", folder, progress=False)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    result.write(first)
    bl.run_baseline("median", folder, progress=False).write(second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in zf.infolist())
        contents = {name: zf.read(name) for name in zf.namelist()}
    out = result.write(tmp_path / "submission")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == contents
    with pytest.raises(FileExistsError, match="not empty"):
        result.write(out)
    assert fits.getdata(out / "detection_threshold.fits").tolist() == [5.0]


def test_a_mixed_phase_is_refused_by_a_4d_baseline_naming_the_3d_dataset(phase, tmp_path, capsys):
    folder, _ = phase
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in folder.iterdir():
        (mixed / path.name).write_bytes(path.read_bytes())
    ds = example_dataset(n_frames=6, size=25)
    cube4d = np.stack([ds.cube, ds.cube])
    write_dataset(Dataset(cube4d, ds.angles, psf=np.stack([ds.psf, ds.psf]), wavelengths=[1.6, 1.65],
                          instrument="gpi", dataset_id="3"), mixed)
    assert main(["baseline", "sdi-pca", str(mixed), "-o", str(tmp_path / "x.zip"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3D" in err and "_cube_" in err
    assert not (tmp_path / "x.zip").exists()


def test_empty_phase_folder_is_an_error(tmp_path, capsys):
    assert main(["baseline", "median", str(tmp_path), "-o", str(tmp_path / "x.zip"), "--quiet"]) == 1
    assert "no {instrument}_cube_{k}.fits" in capsys.readouterr().err


def test_pca_annular_gives_the_injected_companions_a_high_snr(phase):
    folder, truth = phase
    result = bl.run_baseline("pca-annular", folder, progress=False)
    for key, (positions, _) in truth.items():
        image = result.maps[key]
        for x, y in positions:
            xi, yi = int(round(x)), int(round(y))
            peak = np.nanmax(image[yi - 1:yi + 2, xi - 1:xi + 2])
            assert peak > result.threshold, (key, x, y, peak)  # detected at S/N 5


def test_stim_map_or_its_refusal(phase, tmp_path, capsys):
    from exobench import detmap

    folder, truth = phase
    archive = tmp_path / "stim.zip"
    status = main(["baseline", "pca-annular", str(folder), "-o", str(archive), "--map", "stim", "--quiet"])
    if not hasattr(detmap, "stim_from_algorithm"):
        assert status == 1 and "'stim' is not available" in capsys.readouterr().err
        return
    assert status == 0
    submission = _read_zip(archive, tmp_path / "unzipped", truth)
    assert submission.threshold == bl.STIM_THRESHOLD
    positions, _ = truth["nirc2", "1"]
    image = submission.detmaps["nirc2", "1"]
    x, y = positions[1]
    assert np.max(image[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2]) > 1


def test_progress_bar_goes_to_stderr(phase, tmp_path, capsys, monkeypatch):
    folder, _ = phase
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # bars are shown on a terminal only
    assert main(["baseline", "median", str(folder), "-o", str(tmp_path / "m.zip")]) == 0
    captured = capsys.readouterr()
    assert "3/3" in captured.err and "3/3" not in captured.out


def test_exobench_score_scores_a_baseline_zip(phase, tmp_path, capsys):
    folder, truth = phase
    reference = tmp_path / "reference"
    reference.mkdir()
    for (instrument, k), (positions, fwhm) in truth.items():
        hdu = fits.PrimaryHDU(positions) if len(positions) else fits.PrimaryHDU()
        hdu.writeto(reference / f"{instrument}_positions_{k}.fits")
        fits.PrimaryHDU(np.array([fwhm])).writeto(reference / f"{instrument}_fwhm_{k}.fits")
    archive = tmp_path / "pca-annular.zip"
    assert main(["baseline", "pca-annular", str(folder), "-o", str(archive), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["score", str(archive), str(reference), "--json"]) == 0
    assert capsys.readouterr().out.strip().startswith("{")
