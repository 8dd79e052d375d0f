"""The competition bundle: built from a tiny challenge, unzipped and run as the platforms' workers run it.

The worker emulation (bare environment, import blocker, Codalab's command substitution and
``scores.txt`` parsing) is that of ``test_worker.py``; here the program, the reference and the
submission come from the bundle itself.
"""

import io
import json
import os
import shlex
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from exobench import cli
from exobench.platform import build_bundle, logo_png, read_competition
from exobench.scoring.program import score_keys

from ..phase_data import write_fits
from .test_worker import _check_imports, _codalab_run, _codalab_scores, _environment

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the worker emulation uses POSIX shell shims")

SHAPE = (32, 32)
FWHM = 3.0
#: (x, y) injections per phase and dataset id.
TRUTH = {1: {"1": [(8.0, 10.0), (24.0, 21.0)], "2": [(11.0, 24.0)]},
         2: {"1": [(22.0, 9.0)], "2": []}}
CHALLENGE_YAML = """\
name: Tiny detection challenge
description: A test challenge.
start: 2026-02-01
max_submissions: 20
phases:
  - number: 1
    name: ADI
    suffix: 3d
  - number: 2
    name: ADI+mSDI
    suffix: 4d
    end: 2026-12-31
"""


def make_challenge(root, *, config=CHALLENGE_YAML, kit=True):
    """A built challenge: 2 phases of 2 datasets (32 x 32 frames), reference positions and FWHM."""
    root = Path(root)
    for phase, datasets in TRUTH.items():
        public, reference = root / "public" / f"phase_{phase}", root / "reference" / f"phase_{phase}"
        public.mkdir(parents=True)
        reference.mkdir(parents=True)
        for k, positions in datasets.items():
            shape = (4, *SHAPE) if phase == 1 else (3, 4, *SHAPE)
            write_fits(public / f"inst_cube_{k}.fits", np.zeros(shape, dtype=np.float32))
            write_fits(public / f"inst_pa_{k}.fits", np.linspace(0.0, 30.0, 4))
            write_fits(public / f"inst_psf_{k}.fits", np.ones(shape[:-3] + (5, 5)))
            write_fits(public / f"inst_pxscale_{k}.fits", np.array([0.01225]))
            if phase == 2:
                write_fits(public / f"inst_wls_{k}.fits", np.array([1.0, 1.1, 1.2]))
            write_fits(reference / f"inst_positions_{k}.fits", np.array(positions, dtype=float).reshape(-1, 2))
            write_fits(reference / f"inst_fwhm_{k}.fits", np.array([FWHM]))
    if config is not None:
        (root / "challenge.yaml").write_text(config)
    if kit:
        (root / "starting_kit").mkdir()
        (root / "starting_kit" / "README.md").write_text("# Starting kit\n")
    return root


def submission_zip(path, phase):
    """Detection maps with a 3x3 blob on the first truth of each dataset and one false blob; threshold 5."""
    entries = {}
    for k, positions in TRUTH[phase].items():
        detmap = np.zeros(SHAPE)
        for x, y in positions[:1] + [(4.0, 28.0)]:
            detmap[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 10.0
        entries[f"inst_detmap_{k}.fits"] = detmap
    entries["detection_threshold.fits"] = np.array([5.0])
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            buffer = io.BytesIO()
            from astropy.io import fits

            fits.PrimaryHDU(data).writeto(buffer)
            zf.writestr(name, buffer.getvalue())
    return path


def unzip(data_or_path, dest):
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with zipfile.ZipFile(source) as zf:
        zf.extractall(dest)
    return Path(dest)


@pytest.fixture(scope="module", autouse=True)
def no_repository_kit(tmp_path_factory):
    """These tests pack their own kits: exobench's own starting kit is left out
    (test_package_kit_is_merged_with_the_challenges checks it)."""
    import exobench.platform.competition

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exobench.platform.competition, "PACKAGE_KIT", tmp_path_factory.mktemp("no_kit"))
        yield


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, no_repository_kit):
    root = tmp_path_factory.mktemp("bundle")
    challenge = make_challenge(root / "challenge")
    out = {}
    for platform in ("codalab", "codabench"):
        path = root / f"{platform}.zip"
        build_bundle(challenge, path, platform=platform)
        out[platform] = unzip(path, root / platform)
    out["challenge"] = challenge
    return out


def _phase_layout(run, bundle, number, tmp_path):
    """program/, input/ref, input/res, output/ under ``run``, from the bundle's own zips."""
    unzip(bundle / "scoring_program.zip", run / "program")
    unzip(bundle / f"reference_data_{number}.zip", run / "input" / "ref")
    unzip(submission_zip(tmp_path / f"submission_{number}.zip", number), run / "input" / "res")
    (run / "output").mkdir()
    return run / "program"


# -- Codalab v1.5 -----------------------------------------------------------------------------------------------


def test_codalab_yaml_structure(bundles):
    bundle = bundles["codalab"]
    names = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    assert names == ["competition.yaml", "data.html", "evaluation.html", "logo.png", "overview.html",
                     "public_data_1.zip", "public_data_2.zip", "reference_data_1.zip", "reference_data_2.zip",
                     "scoring_program.zip", "starting_kit.zip", "terms_and_conditions.html"]
    comp = yaml.safe_load((bundle / "competition.yaml").read_text())
    assert comp["title"] == "Tiny detection challenge" and comp["image"] == "logo.png"
    assert comp["competition_docker_image"] == "codalab/codalab-legacy:py39"  # the default image
    for page in comp["html"].values():
        assert (bundle / page).is_file()
    assert sorted(comp["phases"]) == [1, 2]
    for number, suffix in ((1, "3d"), (2, "4d")):
        phase = comp["phases"][number]
        assert phase["phasenumber"] == number and phase["max_submissions"] == 20
        for key in ("scoring_program", "reference_data", "public_data", "starting_kit"):
            assert (bundle / phase[key]).is_file()
        assert phase["execution_time_limit"] > 0
    assert str(comp["phases"][1]["start_date"]) == "2026-02-01"
    assert comp["phases"][2]["label"] == "ADI+mSDI"
    columns = comp["leaderboard"]["columns"]
    assert list(columns) == score_keys("3d") + score_keys("4d")
    boards = comp["leaderboard"]["leaderboards"]
    assert [b["label"] for b in boards.values()] == ["ADI", "ADI+mSDI"]
    for key, column in columns.items():
        assert column["leaderboard"] in boards.values()
        assert column["sort"] in ("asc", "desc") and isinstance(column["numeric_format"], int)
        assert column["label"] and isinstance(column["rank"], int)
    assert [k for k, c in columns.items() if c["leaderboard"]["label"] == "ADI"] == score_keys("3d")


@pytest.mark.parametrize("number,suffix", [(1, "3d"), (2, "4d")])
def test_codalab_worker_runs_the_bundle(bundles, tmp_path, number, suffix):
    bundle = bundles["codalab"]
    run = tmp_path / "run"
    program = _phase_layout(run, bundle, number, tmp_path)
    env = _environment(tmp_path, program)
    result = _codalab_run(run, env)
    assert result.returncode == 0, result.stderr
    scores = _codalab_scores(run / "output" / "scores.txt")
    comp = yaml.safe_load((bundle / "competition.yaml").read_text())
    label = comp["phases"][number]["label"]
    columns = [k for k, c in comp["leaderboard"]["columns"].items() if c["leaderboard"]["label"] == label]
    assert columns == score_keys(suffix) and set(scores) == set(columns)
    for column in columns:  # every leaderboard column of the phase gets a finite value
        assert np.isfinite(scores[column])
    n_truth = sum(len(p) for p in TRUTH[number].values())
    assert scores[f"Recall_{suffix}"] == pytest.approx(len([p for p in TRUTH[number].values() if p]) / n_truth)
    assert scores[f"FalsePositives_{suffix}"] == 2.0
    _check_imports(tmp_path, program)


# -- Codabench v2 -----------------------------------------------------------------------------------------------


def test_codabench_yaml_structure(bundles):
    bundle = bundles["codabench"]
    comp = yaml.safe_load((bundle / "competition.yaml").read_text())
    assert comp["version"] == 2 and comp["docker_image"] == "codalab/codalab-legacy:py39"
    assert (bundle / comp["image"]).is_file() and (bundle / comp["terms"]).is_file()
    assert [p["title"] for p in comp["pages"]] == ["Overview", "Evaluation", "Data"]
    for page in comp["pages"]:
        assert (bundle / page["file"]).read_text().startswith(f"# {page['title']}")
    assert [t["index"] for t in comp["tasks"]] == [0, 1]
    for task in comp["tasks"]:
        assert (bundle / task["scoring_program"]).is_file() and (bundle / task["reference_data"]).is_file()
    phases = comp["phases"]
    assert [(p["index"], p["name"], p["tasks"]) for p in phases] == [(0, "ADI", [0]), (1, "ADI+mSDI", [1])]
    assert str(phases[0]["start"]) == "2026-02-01" and str(phases[1]["end"]) == "2026-12-31"
    assert phases[0]["end"] <= phases[1]["start"]  # sequential
    for phase in phases:
        assert (bundle / phase["public_data"]).is_file() and (bundle / phase["starting_kit"]).is_file()
    boards = comp["leaderboards"]
    assert [[c["key"] for c in b["columns"]] for b in boards] == [score_keys("3d"), score_keys("4d")]
    for board in boards:
        assert [c["index"] for c in board["columns"]] == list(range(len(score_keys())))
        for column in board["columns"]:
            assert column["title"] and column["sorting"] in ("asc", "desc") and isinstance(column["precision"], int)
            assert "computation" not in column


@pytest.mark.parametrize("number,suffix", [(1, "3d"), (2, "4d")])
def test_codabench_worker_runs_the_bundle(bundles, tmp_path, number, suffix):
    bundle = bundles["codabench"]
    app = tmp_path / "app"  # stands for /app
    program = _phase_layout(app, bundle, number, tmp_path)
    env = _environment(tmp_path, program)
    metadata = yaml.safe_load((program / "metadata.yaml").read_text())
    command = metadata["command"].replace("/app/", f"{app}/")
    result = subprocess.run(shlex.split(command), cwd=program, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    scores = json.loads((app / "output" / "scores.json").read_text())  # what Codabench reads first
    comp = yaml.safe_load((bundle / "competition.yaml").read_text())
    columns = [c["key"] for c in comp["leaderboards"][number - 1]["columns"]]
    assert columns == score_keys(suffix) and set(scores) == set(columns)
    for column in columns:
        assert isinstance(scores[column], float) and np.isfinite(scores[column])
    assert yaml.safe_load((app / "output" / "scores.txt").read_text()) == scores
    _check_imports(tmp_path, program)


# -- content ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["codalab", "codabench"])
def test_no_metadata_file_outside_the_scoring_program(bundles, platform):
    bundle = bundles[platform]
    for path in bundle.rglob("*"):
        assert path.name != "metadata"
        if path.suffix == ".zip":
            names = [n.rsplit("/", 1)[-1] for n in zipfile.ZipFile(path).namelist()]
            assert ("metadata" in names) == (path.name == "scoring_program.zip"), path.name
    program = zipfile.ZipFile(bundle / "scoring_program.zip").namelist()
    assert {"score.py", "metadata", "metadata.yaml", "exobench/scoring/program.py"} <= set(program)


def test_data_and_reference_zips(bundles):
    bundle = bundles["codalab"]
    public = zipfile.ZipFile(bundle / "public_data_2.zip").namelist()
    assert "inst_wls_1.fits" in public and "inst_cube_2.fits" in public and all("/" not in n for n in public)
    reference = zipfile.ZipFile(bundle / "reference_data_2.zip")
    assert json.loads(reference.read("phase.json")) == {"suffix": "4d"}  # added: the scores are named _4d
    assert sorted(reference.namelist()) == ["inst_fwhm_1.fits", "inst_fwhm_2.fits", "inst_positions_1.fits",
                                            "inst_positions_2.fits", "phase.json"]
    kit = zipfile.ZipFile(bundle / "starting_kit.zip")
    assert kit.namelist() == ["README.md"]


def test_pages_define_the_metrics_and_conventions(bundles):
    evaluation = (bundles["codalab"] / "evaluation.html").read_text()
    for text in ("strictly", "4-connected", "one to one", "2 TP / (TP + FP + N)", "FP / (FP + TN)",
                 "TP / (TP + FP)", "reported as 0", "envelope", "<code>n // 2</code>"):
        assert text in evaluation, text
    data = (bundles["codabench"] / "pages" / "data.md").read_text()
    for text in ("**(x, y)**", "`n // 2`", "derotation angles", "`theta - angles[i]`", "`inst` 1"):
        assert text in data, text
    assert "<strong>" not in data and "**" not in evaluation


def test_logo_is_a_png():
    data = logo_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data == logo_png()
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert image.shape == (128, 128, 3)


def test_the_bundle_is_deterministic(tmp_path):
    challenge = make_challenge(tmp_path / "challenge")
    for platform in ("codalab", "codabench"):
        first, second = tmp_path / f"a_{platform}.zip", tmp_path / f"b_{platform}.zip"
        build_bundle(challenge, first, platform=platform)
        build_bundle(challenge, second, platform=platform)
        assert first.read_bytes() == second.read_bytes()
        infos = zipfile.ZipFile(first).infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_phases_are_inferred_without_challenge_yaml(tmp_path):
    challenge = read_competition(make_challenge(tmp_path / "c", config=None, kit=False))
    assert [(p.number, p.name, p.suffix) for p in challenge.phases] == [(1, "ADI", "3d"), (2, "ADI+mSDI", "4d")]
    assert challenge.phases[0].end == challenge.phases[1].start
    build_bundle(tmp_path / "c", tmp_path / "b.zip", platform="codabench")
    kit = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(tmp_path / "b.zip").read("starting_kit.zip")))
    assert kit.namelist() == ["README.md"] and b"detection_threshold.fits" in kit.read("README.md")


def test_bad_challenges_are_refused(tmp_path):
    root = make_challenge(tmp_path / "c")
    (root / "public" / "phase_1" / "metadata").write_text("command: evil")
    with pytest.raises(ValueError, match="metadata"):
        build_bundle(root, tmp_path / "b.zip")
    (root / "public" / "phase_1" / "metadata").unlink()
    (root / "challenge.yaml").write_text(CHALLENGE_YAML.replace("suffix: 4d", "suffix: 3d"))
    (root / "reference" / "phase_2" / "phase.json").write_text('{"suffix": "4d"}')
    with pytest.raises(ValueError, match="suffix"):
        build_bundle(root, tmp_path / "b.zip")
    (root / "challenge.yaml").write_text("nmae: typo\n")
    with pytest.raises(ValueError, match="unknown key"):
        build_bundle(root, tmp_path / "b.zip")
    (root / "challenge.yaml").write_text("phases:\n  - number: 3\n")
    with pytest.raises(FileNotFoundError, match="phase_3"):
        build_bundle(root, tmp_path / "b.zip")
    assert not (tmp_path / "b.zip").exists()


def test_cli_bundle(tmp_path, capsys):
    root = make_challenge(tmp_path / "c")
    assert cli.main(["bundle", str(root), "-o", str(tmp_path / "b.zip"), "--platform", "codabench"]) == 0
    assert "wrote" in capsys.readouterr().out and zipfile.is_zipfile(tmp_path / "b.zip")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["bundle", str(tmp_path / "missing"), "-o", str(tmp_path / "b.zip")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: ") and "does not exist" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as info:
        cli.main(["bundle", str(tmp_path), "-o", str(tmp_path / "b.zip"), "--platform", "kaggle"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err
    root = make_challenge(tmp_path / "c")
    assert cli.main(["bundle", str(root), "-o", str(tmp_path / "nowhere" / "b.zip")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_package_kit_is_merged_with_the_challenges(tmp_path, monkeypatch):
    import exobench.platform.competition

    package_kit = tmp_path / "package_kit"
    for name in ("sub/my_algorithm.py", "notebook.ipynb", "__pycache__/my_algorithm.cpython-311.pyc",
                 "sub/__pycache__/x.pyc", ".ipynb_checkpoints/notebook-checkpoint.ipynb", "stale.pyc"):
        (package_kit / name).parent.mkdir(parents=True, exist_ok=True)
        (package_kit / name).write_text("pass\n")
    monkeypatch.setattr(exobench.platform.competition, "PACKAGE_KIT", package_kit)
    root = make_challenge(tmp_path / "c")  # its own starting_kit/README.md wins over the generated one
    (root / "starting_kit" / "notebook.ipynb").write_text("{}")  # and its files over the package's
    build_bundle(root, tmp_path / "b.zip", platform="codabench")
    kit = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(tmp_path / "b.zip").read("starting_kit.zip")))
    assert kit.namelist() == ["README.md", "notebook.ipynb", "sub/my_algorithm.py"]  # no cache, no checkpoint
    assert kit.read("README.md") == b"# Starting kit\n" and kit.read("notebook.ipynb") == b"{}"


@pytest.mark.parametrize("platform, key", [("codalab", "competition_docker_image"), ("codabench", "docker_image")])
def test_the_image_comes_from_challenge_yaml_or_the_caller(tmp_path, platform, key):
    challenge = make_challenge(tmp_path / "c", config=CHALLENGE_YAML + "docker_image: my/image:py37\n", kit=False)
    read = yaml.safe_load(zipfile.ZipFile(build_bundle(challenge, tmp_path / "a.zip", platform=platform)["path"])
                          .read("competition.yaml"))
    assert read[key] == "my/image:py37"
    given = build_bundle(challenge, tmp_path / "b.zip", platform=platform, docker_image="other/image:1")["path"]
    assert yaml.safe_load(zipfile.ZipFile(given).read("competition.yaml"))[key] == "other/image:1"
    with pytest.raises(ValueError, match="docker_image: expected an image name such as"):
        build_bundle(challenge, tmp_path / "c.zip", platform=platform, docker_image="has space")
    assert not (tmp_path / "c.zip").exists()


def test_an_existing_bundle_or_a_name_without_zip_is_refused_before_any_work(tmp_path, capsys):
    challenge = make_challenge(tmp_path / "c", kit=False)
    with pytest.raises(ValueError, match=r"output: expected a .zip file, got .*bundle'"):
        build_bundle(challenge, tmp_path / "bundle")
    first = build_bundle(challenge, tmp_path / "b.zip")["path"]
    before = first.read_bytes()
    with pytest.raises(FileExistsError, match=r"b.zip' exists; pass overwrite=True \(--overwrite\)"):
        build_bundle(challenge, first)
    assert cli.main(["bundle", str(challenge), "-o", str(first)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert cli.main(["bundle", str(challenge), "-o", str(first), "--overwrite"]) == 0
    assert first.read_bytes() == before  # the same challenge, the same bytes


def test_command_line_settings_override_challenge_yaml_and_ended_phases_warn(tmp_path, capsys):
    import datetime

    from exobench import ExobenchWarning

    challenge = make_challenge(tmp_path / "c", config="name: Tiny\nstart: 2026-02-01\n", kit=False)
    argv = ["bundle", str(challenge), "-o", str(tmp_path / "b.zip"), "--platform", "codabench", "--title", "New",
            "--start", "2031-01-05", "--max-submissions", "3", "--time-limit", "90"]
    assert cli.main(argv) == 0
    comp = yaml.safe_load(zipfile.ZipFile(tmp_path / "b.zip").read("competition.yaml"))
    assert comp["title"] == "New"
    phases = comp["phases"]
    assert [str(p["start"]) for p in phases] == ["2031-01-05", "2031-04-05"]  # sequential, 90 days each
    assert {p["max_submissions"] for p in phases} == {3} and {p["execution_time_limit"] for p in phases} == {90}
    with pytest.warns(ExobenchWarning, match=r"phase 1 \(ADI\) ended on 2026-05-02, .*nobody could submit to it"):
        build_bundle(challenge, tmp_path / "old.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_bundle(challenge, tmp_path / "new.zip", today=datetime.date(2025, 12, 1))
    assert cli.main(argv[:4] + ["--start", "soon", "--overwrite"]) == 1
    assert "exobench: error: overrides: start: expected a date YYYY-MM-DD, got 'soon'" in capsys.readouterr().err


def test_the_kit_readme_is_written_for_the_challenge(tmp_path, monkeypatch):
    import exobench.platform.competition

    package_kit = tmp_path / "package_kit"
    package_kit.mkdir()
    (package_kit / "notebook.ipynb").write_text("{}")
    monkeypatch.setattr(exobench.platform.competition, "PACKAGE_KIT", package_kit)
    one_phase = "name: One phase\nphases:\n  - number: 1\n    name: NACO\n"
    root = make_challenge(tmp_path / "c", config=one_phase, kit=False)
    shutil.rmtree(root / "public" / "phase_2")
    shutil.rmtree(root / "reference" / "phase_2")
    build_bundle(root, tmp_path / "b.zip", platform="codabench")
    kit = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(tmp_path / "b.zip").read("starting_kit.zip")))
    assert kit.namelist() == ["README.md", "notebook.ipynb"]
    readme = kit.read("README.md").decode()
    assert readme.startswith("# One phase: starting kit")
    assert "pip install exobench" in readme and "use `./public_data` beside them" in readme
    assert "| 1 | NACO | 3D cubes `(t, y, x)` | inst 1, inst 2 |" in readme and "| 2 |" not in readme
    assert "exobench validate my_phase_1.zip public_data/phase_1" in readme
    assert "exobench baseline pca public_data/phase_1 -o pca_phase_1.zip" in readme
