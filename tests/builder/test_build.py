"""Building a challenge: determinism, calibrated S/N, no leakage, atomic output, clear errors."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

pytest.importorskip("hcipy", reason="the builder's sources here are simulated (a dependency of exobench: pip install hcipy)")

from exobench.builder import build as build_module  # noqa: E402
from exobench.builder import build_challenge, load_challenge  # noqa: E402
from exobench.builder.build import FIXED_MTIME  # noqa: E402
from exobench.builder.definition import DEFAULT_CHALLENGE  # noqa: E402
from exobench.data.fits_io import find_datasets, read_dataset  # noqa: E402
from exobench.scoring.reference import read_reference  # noqa: E402


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def default_build(tmp_path_factory, real_data_dir_or_none):
    out = tmp_path_factory.mktemp("default") / "challenge"
    result = build_challenge(load_challenge(DEFAULT_CHALLENGE), out)
    return out, result


@pytest.fixture(scope="module")
def real_data_dir_or_none():
    import os
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
    if "EXOBENCH_REAL_DATA" not in os.environ and folder.is_dir():
        os.environ["EXOBENCH_REAL_DATA"] = str(folder.resolve())  # the default challenge's real NACO source
    return folder if folder.is_dir() else None


def test_same_definition_and_seed_give_identical_trees(write_definition, tmp_path):
    path = write_definition()
    first = build_challenge(path, tmp_path / "a").output
    second = build_challenge(path, tmp_path / "b").output
    assert _tree(first) == _tree(second)
    other = build_challenge(load_challenge(path).with_seed(6), tmp_path / "c").output
    assert _tree(other)["manifest.json"] != _tree(first)["manifest.json"]


def test_the_tree_has_the_eidc_layout_and_a_true_manifest(default_build):
    out, result = default_build
    assert (out / "challenge.yaml").is_file() and not list(out.parent.glob(".*partial"))
    manifest = json.loads((out / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    assert manifest["definition"]["name"] == "exobench-default" and "numpy" in manifest["versions"]
    for phase, suffix in ((1, "3d"), (2, "4d"), (3, "charac3d")):
        public = out / "public" / f"phase_{phase}"
        datasets = find_datasets(public)
        reference = read_reference(out / "reference" / f"phase_{phase}")
        assert reference.suffix == suffix and len(reference.datasets) == len(datasets) >= 2
        for instrument, k in datasets:
            dataset = read_dataset(public, instrument, k)
            assert dataset.cube.ndim == (4 if phase == 2 else 3) and dataset.meta == {}
            # the characterisation phase announces its companions, one row each
            candidates = public / f"{instrument}_candidates_{k}.fits"
            assert candidates.is_file() == (phase == 3)
        kit = out / "starting_kit" / "public_data" / f"phase_{phase}"
        assert _tree(kit) == _tree(public)
    truth = result.truth
    assert len(truth) == sum(r.n_injections for p in (1, 2, 3)
                             for r in read_reference(out / "reference" / f"phase_{p}").datasets)


def test_positions_are_where_the_companions_are(default_build):
    """The reference (x, y) of a companion is where it appears in the final frame."""
    from exobench.algorithms import AnnularPCA
    from exobench.detmap import snr

    out, result = default_build
    row = result.truth[result.truth.phase == 1].sort_values("target_snr").iloc[-1]
    dataset = read_dataset(out / "public" / "phase_1", row.instrument, str(row.dataset_id))
    final = AnnularPCA(explained_variance=row.explained_variance, collapse="mean").process(dataset).final
    assert snr(final, (row.x, row.y), float(dataset.fwhm)).snr == pytest.approx(row.measured_snr, abs=1e-9)


def test_measured_snr_falls_in_the_requested_bands(default_build, write_definition, tmp_path):
    truth = [default_build[1].truth, build_challenge(write_definition("2, 3"), tmp_path / "x").truth]
    truth = pd.concat(truth)
    low = truth.snr_band.str.split("-").str[0].astype(float)
    high = truth.snr_band.str.split("-").str[1].astype(float)
    inside = (truth.measured_snr >= low) & (truth.measured_snr <= high)
    assert len(truth) >= 10
    assert inside.mean() >= 0.8, truth[["snr_band", "target_snr", "measured_snr"]]
    assert set(truth.snr_band) == {"1-3", "3-5", "5-10"}  # 5-10: the characterisation phase's


def test_public_files_do_not_tell_empty_datasets(write_definition, tmp_path):
    """Built with and without companions, the public trees differ only in the cubes' pixels."""
    with_companions = build_challenge(write_definition("1, 2"), tmp_path / "with").output / "public"
    without = build_challenge(write_definition("0, 0", name="none.yaml"), tmp_path / "without").output / "public"
    a, b = _tree(with_companions), _tree(without)
    assert list(a) == list(b)
    for name in a:
        assert len(a[name]) == len(b[name]), name
        path_a, path_b = with_companions / name, without / name
        assert path_a.stat().st_mtime == path_b.stat().st_mtime == FIXED_MTIME
        with fits.open(path_a) as ha, fits.open(path_b) as hb:
            assert [h.header.tostring() for h in ha] == [h.header.tostring() for h in hb], name
            if "_cube_" not in name:
                assert all(np.array_equal(x.data, y.data) for x, y in zip(ha, hb)), name
    differing = [n for n in a if a[n] != b[n]]
    assert differing and all("_cube_" in n for n in differing)


def test_an_interrupted_build_leaves_nothing_that_looks_complete(write_definition, tmp_path, monkeypatch):
    path = write_definition()
    out = tmp_path / "challenge"
    calls = []
    relation = build_module.Calibrator.relation

    def counting(self, *args, **kwargs):
        calls.append(1)
        return relation(self, *args, **kwargs)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module.Calibrator, "relation", counting)
    monkeypatch.setattr(build_module, "_write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_challenge(path, out)
    assert not out.exists() and (tmp_path / ".challenge.partial").is_dir()
    first_calls = len(calls)
    monkeypatch.undo()
    monkeypatch.setattr(build_module.Calibrator, "relation", counting)
    with pytest.warns(UserWarning, match="an interrupted build; starting over"):
        build_challenge(path, out)
    assert len(calls) == first_calls  # every calibration came from the kept cache
    assert _tree(out) == _tree(build_challenge(path, tmp_path / "fresh").output)
    assert not (tmp_path / ".challenge.partial").exists()
    with pytest.raises(FileExistsError, match="output: .* exists; pass overwrite=True"):
        build_challenge(path, out)


def test_a_failed_build_leaves_no_hidden_folder_unless_it_holds_calibrations(write_definition, tmp_path,
                                                                             monkeypatch):
    path = write_definition()
    out = tmp_path / "challenge"

    def failing(job, **kwargs):
        raise ValueError(f"tiny: phase {job.phase}: a source that cannot be built")

    monkeypatch.setattr(build_module, "_build_job", failing)
    with pytest.raises(ValueError, match="tiny: phase 1: a source that cannot be built"):
        build_challenge(path, out)
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
    cache = tmp_path / ".challenge.partial" / "cache"
    cache.mkdir(parents=True)
    (cache / "calibration.json").write_text("{}")  # what an earlier attempt calibrated
    with pytest.warns(UserWarning, match=r"challenge.partial: the failed build's flux calibrations are kept"):
        with pytest.raises(ValueError):
            build_challenge(path, out)
    assert sorted(p.name for p in (tmp_path / ".challenge.partial").iterdir()) == ["cache"]


def test_scored_end_to_end(default_build, tmp_path):
    """A baseline's submission on the built public data scores against the built reference."""
    from exobench.baselines import run_baseline
    from exobench.scoring.program import score_submission

    out, _ = default_build
    result = run_baseline("pca", out / "public" / "phase_1")
    submission = result.write(tmp_path / "submission.zip")
    report = score_submission(submission, out / "reference" / "phase_1")
    assert set(report.scores) >= {"F1_3d", "TPR_3d", "FPR_3d"}
