"""``exobench contrast``: outputs, one-line errors, outputs checked before any computation."""

import json

import numpy as np
import pytest

import exobench.contrast
from exobench import baselines as bl
from exobench.cli import main
from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phase")
    write_dataset(example_dataset(n_frames=10, size=33), folder)
    return folder


def _one_line_error(capsys, status, code):
    assert status == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_table_json_and_files(phase, tmp_path, capsys):
    assert main(["contrast", "median", str(phase), "--dataset", "example_1", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# contrast at fpf 2.87e-07, relative to the PSF file's flux")
    assert len(lines) == 2 + 3
    assert main(["contrast", "median", str(phase), "--dataset", "example_1", "--sigma", "3", "--json",
                 "-o", str(tmp_path / "out"), "--quiet"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["fpf"] == pytest.approx(1.349898e-3, rel=1e-6) and len(data["contrast"]) == 3
    assert "wrote" in captured.err and "contrast.json" in captured.err
    assert json.loads((tmp_path / "out" / "contrast.json").read_text()) == data
    assert (tmp_path / "out" / "contrast.png").read_bytes()[:4] == b"\x89PNG"


def test_params_file_is_the_baselines(phase, tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("algorithm:\n  ncomp: 2\n")
    argv = ["contrast", "pca", str(phase), "--dataset", "example_1", "--json", "--quiet"]
    assert main(argv + ["--params", str(params)]) == 0
    two = json.loads(capsys.readouterr().out)
    from exobench.algorithms import PCA
    from exobench.contrast import contrast_curve
    from exobench.data.fits_io import read_dataset

    dataset = read_dataset(phase, "example", "1")
    options = dict(bl.load_params(str(params), "pca")["algorithm"])
    expected = contrast_curve(PCA(**options), dataset)
    np.testing.assert_allclose(two["contrast"], expected.contrast, rtol=1e-9)


@pytest.mark.parametrize("args, message", [
    (["nope", "PHASE", "--dataset", "example_1"], "exobench: error: name: expected a baseline among 'median', "),
    (["median", "PHASE", "--dataset", "example"], "exobench: error: dataset: expected INSTRUMENT_K (such as "
                                                  "naco_1), got 'example'"),
    (["median", "PHASE", "--dataset", "naco_2"], "exobench: error: dataset: no naco_cube_2.fits in "),
    (["median", "PHASE", "--dataset", "example_1", "--fpf", "2"],
     "exobench: error: fpf: expected a number in (0, 0.5), got 2.0"),
    (["median", "PHASE/missing", "--dataset", "example_1"], "exobench: error: folder: "),
    (["median", "PHASE", "--dataset", "example_1", "--params", "PHASE/none.yaml"], "exobench: error: params: "),
])
def test_errors_are_one_line(phase, capsys, args, message):
    argv = ["contrast"] + [a.replace("PHASE", str(phase)) for a in args]
    err = _one_line_error(capsys, main(argv), 1)
    assert err.startswith(message.replace("PHASE", str(phase)))


def test_fpf_and_sigma_together_is_a_usage_error(phase, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["contrast", "median", str(phase), "--dataset", "example_1", "--fpf", "1e-3", "--sigma", "3"])
    err = _one_line_error(capsys, exc.value.code, 2)
    assert "argument --sigma: not allowed with argument --fpf" in err


def test_outputs_are_checked_before_any_computation(phase, tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("computed before the output was checked")

    monkeypatch.setattr(exobench.contrast, "contrast_curve", refuse)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "contrast.json").write_text("{}")
    err = _one_line_error(capsys, main(["contrast", "median", str(phase), "--dataset", "example_1",
                                        "-o", str(tmp_path / "out")]), 1)
    assert err.startswith(f"exobench: error: output: folder '{tmp_path / 'out'}' is not empty; pass overwrite=True "
                          "(--overwrite)")
    (tmp_path / "file").write_text("")
    err = _one_line_error(capsys, main(["contrast", "median", str(phase), "--dataset", "example_1",
                                        "-o", str(tmp_path / "file")]), 1)
    assert err.startswith(f"exobench: error: output: '{tmp_path / 'file'}' is a file; give a folder")


class _NoAlgorithm(bl.Baseline):
    algorithm = "exobench.test-no-algorithm"

    @classmethod
    def unavailable_reason(cls):
        return None

    @classmethod
    def default_params(cls):
        return {"baseline": cls.name, "algorithm": {}, "detection_map": "snr", "threshold": None}


def test_a_baseline_without_an_algorithm_is_refused(phase, capsys):
    class Plugin(_NoAlgorithm, name="contrast-test-no-algorithm"):
        """A plug-in that runs no algorithm of exobench.algorithms."""

    try:
        err = _one_line_error(capsys, main(["contrast", "contrast-test-no-algorithm", str(phase), "--dataset",
                                            "example_1"]), 1)
    finally:
        bl.registry._REGISTRY.unregister("contrast-test-no-algorithm")
    assert err == ("exobench: error: name: baseline 'contrast-test-no-algorithm' runs no PSF-subtraction algorithm "
                   "of exobench.algorithms (its algorithm is 'exobench.test-no-algorithm')\n")
