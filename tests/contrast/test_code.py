"""A participant's code submission as an algorithm: its map is the final frame, its code runs in a child."""

import shutil
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import exobench
from exobench.cli import main
from exobench.contrast import CodeAlgorithm, code_contrast, contrast_curve, injection_fluxes
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.ingestion import CodeError

from .conftest import noise_dataset

KIT = Path(exobench.__file__).parent / "platform" / "kit" / "code_submission"

#: A participant's code that subtracts nothing: the mean of the frames (numpy only, a fast child).
MEAN_CODE = '''
import numpy as np

THRESHOLD = 5.0


def detect(dataset):
    return np.asarray(dataset.cube, dtype=float).mean(axis=0)
'''


def _code(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "detect.py").write_text(textwrap.dedent(text))
    return folder


#: Rotating frames: median ADI's noise (which scales the fake companions) is not zero.
ANGLES = [0.0, 20.0, 40.0, 60.0]


def test_a_linear_code_gives_the_algorithms_own_curve(noop, tmp_path):
    dataset = noise_dataset(size=33, angles=ANGLES)
    code = _code(tmp_path / "mean", MEAN_CODE)
    fluxes = injection_fluxes(dataset)
    ours = code_contrast(code, dataset, branches=1, spacing=1.0)
    # the same fake companions given to the registered no-op algorithm (the mean of frames that do not rotate)
    direct = contrast_curve(noop(), dataset, branches=1, spacing=1.0, fluxes=fluxes)
    np.testing.assert_allclose(ours.contrast, direct.contrast, rtol=1e-9)
    np.testing.assert_allclose(ours.throughput, direct.throughput, rtol=1e-9)
    assert np.all((ours.throughput > 0.1) & (ours.throughput < 1.0))  # the companion smeared by the rotation


def test_the_kits_example_runs_from_its_zip(tmp_path):
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(KIT / "detect.py", "detect.py")
    dataset = example_dataset(n_frames=10, size=33)
    curve = code_contrast(archive, dataset, branches=1, spacing=1.0)
    # its S/N map is undefined (NaN) near the star and the edge; at 2 FWHM it has a limit, near median ADI's
    assert curve.separation_fwhm.tolist() == [1.0, 2.0, 3.0]
    assert np.isfinite(curve.contrast[1]) and 0.0 < curve.contrast[1] < 0.1


def test_code_errors_name_the_dataset_and_reason(tmp_path):
    dataset = noise_dataset(size=33, angles=ANGLES)
    bad = _code(tmp_path / "bad", "THRESHOLD = 1.0\n\ndef detect(dataset):\n    raise RuntimeError('no map today')\n")
    with pytest.raises(CodeError, match=r"code: unknown_1: RuntimeError: no map today"):
        CodeAlgorithm(bad).process(dataset)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="code: no detect.py in"):
        CodeAlgorithm(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="code: folder .* does not exist"):
        code_contrast(tmp_path / "none", dataset)


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phase")
    write_dataset(noise_dataset(size=33, angles=ANGLES, instrument="noise"), folder)
    return folder


def test_the_command_takes_code(phase, tmp_path, capsys):
    code = _code(tmp_path / "mean", MEAN_CODE)
    assert main(["contrast", "--code", str(code), str(phase), "--dataset", "noise_1", "--json", "--quiet"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert len(data["contrast"]) == 3 and all(0.1 < t < 1.0 for t in data["throughput"])


@pytest.mark.parametrize("argv, message", [
    (["--code", "CODE", "median", "PHASE", "--dataset", "noise_1"], "expected PHASE_DIR alone with --code"),
    (["--code", "CODE", "PHASE", "--dataset", "noise_1", "--params", "p.yaml"],
     "--params: a code submission takes no parameters"),
    (["PHASE", "--dataset", "noise_1"], "expected NAME PHASE_DIR (or --code DIR_OR_ZIP PHASE_DIR)"),
    (["median", "PHASE"], "the following arguments are required: --dataset (unless --submit)"),
    (["median", "PHASE", "--dataset", "noise_1", "--dataset", "noise_2"], "--dataset: expected one dataset"),
])
def test_command_usage_errors_are_one_line(phase, tmp_path, capsys, argv, message):
    code = _code(tmp_path / "mean", MEAN_CODE)
    with pytest.raises(SystemExit) as stop:
        main(["contrast"] + [a.replace("CODE", str(code)).replace("PHASE", str(phase)) for a in argv])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and message in err


def test_command_code_errors_are_one_line(phase, tmp_path, capsys):
    status = main(["contrast", "--code", str(tmp_path / "none"), str(phase), "--dataset", "noise_1"])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "code: folder" in err and "does not exist" in err
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_phase_contrast_takes_one_source(phase, tmp_path):
    from exobench.contrast import phase_contrast

    with pytest.raises(ValueError, match="baseline, code: expected exactly one of them"):
        phase_contrast(phase)
    with pytest.raises(ValueError, match="params: a participant's code takes no parameters"):
        phase_contrast(phase, code=tmp_path, params={})
    with pytest.raises(FileNotFoundError, match="phase_dir: folder .* does not exist"):
        phase_contrast(tmp_path / "none", baseline="median")
