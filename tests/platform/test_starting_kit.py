"""The bundle's starting kit as a participant gets it: unzipped into an empty folder, its notebook run
there on the kit's own public data; and the wheel that carries the kit's files to a non-editable install."""

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from exobench.platform import build_bundle
from exobench.platform.competition import PACKAGE_KIT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: The kit's files, package data.
KIT_FILES = ("make_sample_submission.py", "my_algorithm.py", "starting_kit.ipynb", "code_submission/detect.py")
#: A challenge of one small dataset per phase (ADI, ADI+mSDI, then characterisation ADI): a few seconds to build.
SMALL = """
name: tiny-kit
seed: 5
calibration: {azimuths: 2, explained_variance: [0.9, 0.99]}
injection:
  companions: [1, 2]
  separation_bands_fwhm: [[2.5, 4]]
  min_spacing_fwhm: 3
phases:
  - number: 1
    kind: adi
    sources:
      - simulate: sphere_irdis
        frames: 8
        frame_size: 45
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12}
  - number: 2
    kind: adi+msdi
    sources:
      - simulate: sphere_ifs
        frames: 8
        frame_size: 45
        overrides: {wavelength.channels: 3, simulation.subframes: 2, simulation.halo_samples: 12}
  - number: 3
    kind: charac-adi
    sources:
      - simulate: sphere_irdis
        frames: 8
        frame_size: 45
        seed: 4
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12}
"""


@pytest.fixture(scope="module")
def unzipped_kit(tmp_path_factory):
    """The starting_kit.zip of a small built challenge's bundle, unzipped into an empty folder."""
    pytest.importorskip("hcipy", reason="the challenge simulates its instruments (a dependency of exobench: "
                                        "pip install hcipy)")
    from exobench.builder import build_challenge

    root = tmp_path_factory.mktemp("kit_bundle")
    definition = root / "tiny.yaml"
    definition.write_text(textwrap.dedent(SMALL))
    build_challenge(definition, root / "challenge")
    bundle = build_bundle(root / "challenge", root / "bundle.zip", platform="codabench")["path"]
    kit = root / "kit"
    kit.mkdir()
    with zipfile.ZipFile(bundle) as outer, zipfile.ZipFile(outer.open("starting_kit.zip")) as inner:
        names = inner.namelist()
        inner.extractall(kit)
    assert {"README.md", *KIT_FILES} <= set(names)
    assert {"public_data/phase_1/sphere_irdis_cube_1.fits", "public_data/phase_2/sphere_ifs_wls_1.fits",
            "public_data/phase_3/sphere_irdis_candidates_1.fits"} <= set(names)
    assert not any(part in {"__pycache__", ".ipynb_checkpoints"} or part.endswith(".pyc")
                   for name in names for part in name.split("/"))
    assert not any("reference" in name or "positions" in name for name in names)  # no truth in the kit
    return kit


def test_the_unzipped_kit_notebook_validates_its_submissions(unzipped_kit, monkeypatch):
    """Run in the kit's folder with no setting, the notebook uses ./public_data, writes submissions/ and
    validates them (the truth is held out); running it again replaces its zips."""
    nbformat = pytest.importorskip("nbformat", reason="the test extra: pip install -e '.[test]'")
    pytest.importorskip("nbclient", reason="the test extra: pip install -e '.[test]'")
    pytest.importorskip("ipykernel", reason="the test extra: pip install -e '.[test]'")
    from nbclient import NotebookClient

    from exobench.workflows.validate import validate_submission

    for name in ("EXOBENCH_CHALLENGE_DIR", "EXOBENCH_KIT_OUTPUT", "EXOBENCH_KIT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(unzipped_kit)  # the kernel starts here too: the notebook's ./ is the kit
    nb = nbformat.read(unzipped_kit / "starting_kit.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(unzipped_kit)}})
    writes = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and ".zip\"" in cell.source]
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        first = {p.name: p.stat().st_ino for p in (unzipped_kit / "submissions").iterdir()}
        for index in writes:  # what writes the zips runs again: replaced, no FileExistsError
            client.execute_cell(nb.cells[index], index)
        for index, cell in enumerate(nb.cells):  # the checks, on the zips written again
            if index > max(writes) and cell.cell_type == "code":
                client.execute_cell(cell, index)

    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"using the data in {unzipped_kit}" in texts
    assert "public data only: the submissions are validated here" in texts
    assert "F1_3d" not in texts  # nothing scored: the kit holds no truth
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "validate_zip" in last.source  # the notebook ends by validating what it wrote
    # pca and my_algorithm on the detection phases, the first guess on the characterisation phase
    assert "".join(o.get("text", "") for o in last.outputs).count("valid (1 dataset(s) in the phase)") == 5
    assert "first_guess_phase_3.zip: ['sphere_irdis_charac_1.fits']" in texts
    assert "phase 3: a characterisation phase; my_algorithm.py makes detection maps" in texts

    submissions = unzipped_kit / "submissions"
    assert sorted(first) == sorted([f"{kind}_phase_{n}.zip" for kind in ("pca", "my_algorithm") for n in (1, 2)]
                                   + ["first_guess_phase_3.zip"])
    assert all(p.stat().st_ino != first[p.name] for p in submissions.iterdir())  # written anew (atomically)
    for n in (1, 2):
        for kind in ("pca", "my_algorithm"):
            report = validate_submission(submissions / f"{kind}_phase_{n}.zip", unzipped_kit / "public_data" /
                                         f"phase_{n}")
            assert report.ok and report.datasets == 1, report.lines()
    report = validate_submission(submissions / "first_guess_phase_3.zip", unzipped_kit / "public_data" / "phase_3")
    assert report.ok and report.datasets == 1, report.lines()


def test_a_wheel_carries_the_kit(tmp_path):
    """The kit's files are package data: a wheel built from the source (a non-editable install) holds them."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    shutil.copytree(ROOT / "exobench", source / "exobench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", ".", "-w", str(tmp_path / "wheels")], cwd=source, capture_output=True,
                          text=True)
    if done.returncode != 0 and "No module named" in done.stderr:
        pytest.skip(f"cannot build a wheel here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "wheels").glob("exobench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = PACKAGE_KIT.relative_to(ROOT).as_posix()
    assert package == "exobench/platform/kit"
    assert {f"{package}/{name}" for name in KIT_FILES} <= names
    assert not any(name.startswith(f"{package}/") and name[len(package) + 1:] not in KIT_FILES for name in names)
    for name in KIT_FILES:  # one copy: the package's, byte for byte
        assert zipfile.ZipFile(wheel).read(f"{package}/{name}") == (PACKAGE_KIT / name).read_bytes()
    # installed from the wheel alone (no source tree beside it), the platform programs can be laid out
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        import exobench
        from exobench.platform.competition import PACKAGE_KIT
        from exobench.platform.vendor import vendor_program
        assert Path(exobench.__file__).is_relative_to(Path(sys.argv[1])), exobench.__file__
        assert (PACKAGE_KIT / "starting_kit.ipynb").is_file()
        for program in ("scoring", "ingestion"):
            written = vendor_program(Path(sys.argv[2]) / program, program=program)
            print(program, len(written))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(site), str(tmp_path / "programs")], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "programs" / "scoring" / "score.py").read_bytes() == (ROOT / "scoring_program" /
                                                                              "score.py").read_bytes()
    assert (tmp_path / "programs" / "ingestion" / "ingest.py").is_file()
