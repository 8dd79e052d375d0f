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


def test_statistic_option_and_seed(phase, capsys):
    argv = ["contrast", "median", str(phase), "--dataset", "example_1", "--json", "--quiet", "--sigma", "3"]
    assert main(argv) == 0
    t_curve = json.loads(capsys.readouterr().out)
    assert t_curve["statistic"] == "t" and t_curve["threshold"] == pytest.approx(t_curve["t_quantile"])
    laplace = argv + ["--statistic", "laplace-bootstrap", "--draws", "5000", "--seed", "3"]
    assert main(laplace) == 0
    first = capsys.readouterr().out
    assert main(laplace) == 0
    assert capsys.readouterr().out == first
    data = json.loads(first)
    assert data["statistic"] == "laplace-bootstrap"
    assert all(b > t for b, t in zip(data["threshold"], data["t_quantile"]))
    assert all(c > d for c, d in zip(data["contrast"], t_curve["contrast"]))
    for key in ("kurtosis", "gaussian_p", "non_gaussian", "laplace_scale", "threshold_se"):
        assert len(data[key]) == len(data["contrast"])


def test_contrast_grid_command(phase, tmp_path, capsys):
    argv = ["contrast-grid", "median", str(phase), "--dataset", "example_1", "--sigma", "3", "--azimuths", "2",
            "--contrasts", "1e-3,1e-2,1e-1", "--quiet"]
    assert main(argv + ["-o", str(tmp_path / "g")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# true-positive fraction at fpf 0.00135 (t), 2 azimuths")
    assert len(lines) == 2 + 3 + 1 and lines[-1].startswith("wrote ")
    data = json.loads((tmp_path / "g" / "grid.json").read_text())
    assert data["contrast"] == pytest.approx([1e-3, 1e-2, 1e-1]) and len(data["tpf"]) == 3
    assert data["curve"]["separation_fwhm"] == pytest.approx(data["separation_fwhm"])
    assert (tmp_path / "g" / "grid.png").read_bytes()[:4] == b"\x89PNG"
    assert main(argv[:-1] + ["--separations", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["separation_fwhm"] == [2.0] and np.asarray(data["detected"]).shape == (1, 3, 2)


@pytest.mark.parametrize("args, message", [
    (["--contrasts", "a,b"], "exobench: error: contrasts: expected comma-separated numbers, got 'a,b'"),
    (["--separations", ""], "exobench: error: separations: expected comma-separated numbers, got ''"),
    (["--azimuths", "0"], "exobench: error: azimuths: expected an integer >= 1, got 0"),
    (["--draws", "10"], "exobench: error: draws: expected an integer >= 1000, got 10"),
    (["--separations", "9"], "exobench: error: separations: expected at most 3.62 FWHM (a ring inside the frame), "
                             "got 9"),
    (["-o", "PHASE"], "exobench: error: "),
])
def test_contrast_grid_errors_are_one_line(phase, capsys, args, message):
    argv = ["contrast-grid", "median", str(phase), "--dataset", "example_1", "--quiet", "--contrasts", "0.01"]
    err = _one_line_error(capsys, main(argv + [a.replace("PHASE", str(phase)) for a in args]), 1)
    assert err.startswith(message)


def test_unknown_statistic_is_a_usage_error(phase, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["contrast", "median", str(phase), "--dataset", "example_1", "--statistic", "gauss"])
    err = _one_line_error(capsys, exc.value.code, 2)
    assert "argument --statistic: invalid choice: 'gauss'" in err


def test_contrast_draws_checked_before_the_work(phase, capsys):
    argv = ["contrast", "median", str(phase), "--dataset", "example_1", "--quiet", "--statistic",
            "laplace-bootstrap", "--draws", "999"]
    err = _one_line_error(capsys, main(argv), 1)
    assert err.startswith("exobench: error: draws: expected an integer >= 1000, got 999")
