"""make_sample_submission.py, and the kit folder as the competition bundle packs it."""

import json
import shutil
import zipfile

import pytest

from .conftest import KIT, KIT_FILES, REPOSITORY_KIT, load_kit_module


def test_sample_submissions_are_the_baseline_and_score(challenge, tmp_path, sample_maker, capsys):
    from exobench.baselines import run_baseline
    from exobench.scoring.program import score_keys

    out = tmp_path / "samples"
    assert sample_maker.main(["--challenge", str(challenge), "-o", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    for n, suffix in ((1, "3d"), (2, "4d")):
        path = out / f"sample_submission_phase_{n}.zip"
        assert f"wrote {path}" in printed
        expected = run_baseline("pca", challenge / "public" / f"phase_{n}").write(tmp_path / f"{n}.zip")
        assert path.read_bytes() == expected.read_bytes()  # exactly `exobench baseline pca`'s zip
        scores = json.loads((out / f"scores_phase_{n}.json").read_text())
        assert list(scores) == score_keys(suffix)
    # the characterisation phase: the first guess of exobench.charac, scored
    from exobench.charac import first_guess_phase
    from exobench.submission import read_characterisation
    from exobench.workflows.validate import characterisation_datasets

    public = challenge / "public" / "phase_3"
    path = out / "sample_submission_phase_3.zip"
    assert f"wrote {path} (" in printed and "companion(s) in 2 dataset(s): the candidates' positions" in printed
    scores = json.loads((out / "scores_phase_3.json").read_text())
    assert list(scores) == score_keys("charac3d")
    unzipped = tmp_path / "unzipped"
    zipfile.ZipFile(path).extractall(unzipped)
    read = read_characterisation(unzipped, characterisation_datasets(public))
    expected = first_guess_phase(public)
    assert read.sigmas is None and list(read.estimates) == list(expected)
    for key, rows in expected.items():
        assert read.estimates[key].tolist() == rows.tolist()


def test_sample_submission_uses_the_environment_and_one_phase(challenge, tmp_path, sample_maker, monkeypatch,
                                                              capsys):
    monkeypatch.setenv("EXOBENCH_CHALLENGE_DIR", str(challenge))
    assert sample_maker.main(["-o", str(tmp_path), "--phase", "2", "--baseline", "sdi-pca", "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample_submission_phase_2.zip", "scores_phase_2.json"]
    assert "F1_4d: " in capsys.readouterr().out


def test_sample_submission_uses_the_kit_public_data_and_validates(challenge, tmp_path, monkeypatch, capsys):
    """In an unzipped starting kit (public data beside the script, no truth), the zips are validated."""
    kit = tmp_path / "kit"
    kit.mkdir()
    shutil.copyfile(KIT / "make_sample_submission.py", kit / "make_sample_submission.py")
    shutil.copytree(challenge / "public" / "phase_1", kit / "public_data" / "phase_1")
    monkeypatch.delenv("EXOBENCH_CHALLENGE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    maker = load_kit_module("make_sample_submission", kit)
    assert maker.challenge_folder() == kit and maker.reference_folder(kit, 1) is None
    results = maker.main(["--quiet"])
    assert results == 0
    assert sorted(p.name for p in (tmp_path / "sample_submissions").iterdir()) == ["sample_submission_phase_1.zip"]
    printed = capsys.readouterr().out
    assert "valid (3 dataset(s) in the phase)" in printed and "F1_3d" not in printed
    monkeypatch.setenv("EXOBENCH_CHALLENGE_DIR", str(challenge))  # the environment wins over the kit's data
    assert maker.challenge_folder() == challenge
    monkeypatch.setenv("EXOBENCH_CHALLENGE_DIR", str(kit / "make_sample_submission.py"))
    with pytest.raises(maker.KitError, match=r"^\$EXOBENCH_CHALLENGE_DIR: '.*make_sample_submission.py' is not a "
                                             r"folder$"):
        maker.challenge_folder()


@pytest.mark.parametrize("argv, message", [
    (["--challenge", "{tmp}/nope"], "--challenge: "),
    (["--challenge", "{tmp}"], "challenge: no public/phase_N or public_data/phase_N folder in "),
    (["--challenge", "{challenge}", "--baseline", "nope"], "--baseline: unknown or unavailable baseline 'nope'"),
    (["--challenge", "{challenge}", "--phase", "9"], "--phase: no phase 9"),
    (["--challenge", "{challenge}", "--baseline", "sdi-pca", "--phase", "1"], "processes ADI+mSDI (4D) datasets only"),
])
def test_sample_submission_errors_are_one_line(argv, message, challenge, tmp_path, sample_maker, capsys):
    argv = [a.format(tmp=tmp_path, challenge=challenge) for a in argv]
    assert sample_maker.main(argv + ["-o", str(tmp_path / "out"), "--quiet"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("make_sample_submission.py: error: ") and message in lines[0]


def test_the_repository_kit_links_to_the_package_kit():
    """One copy of each file: the package's, which a wheel carries; starting_kit/ links to it."""
    assert (REPOSITORY_KIT / "README.md").is_file() and not (REPOSITORY_KIT / "README.md").is_symlink()
    for name in KIT_FILES:
        assert (REPOSITORY_KIT / name).is_symlink(), name
        assert (REPOSITORY_KIT / name).resolve() == (KIT / name).resolve()


def test_kit_files_pass_the_bundle_rules(challenge, tmp_path):
    """A challenge folder without its own starting_kit/ gets the package's kit in its bundle."""
    from exobench.platform import build_bundle

    tracked = {"README.md", *KIT_FILES}
    folder = tmp_path / "challenge"
    for name in ("public", "reference"):
        shutil.copytree(challenge / name, folder / name)
    shutil.copyfile(challenge / "challenge.yaml", folder / "challenge.yaml")
    bundle = build_bundle(folder, tmp_path / "bundle.zip", platform="codabench")["path"]
    with zipfile.ZipFile(bundle) as outer, zipfile.ZipFile(outer.open("starting_kit.zip")) as kit:
        names = set(kit.namelist())
    assert tracked <= names
    assert not any(part.startswith(".") or part in {"__pycache__", "metadata"}
                   for name in names for part in name.split("/"))
