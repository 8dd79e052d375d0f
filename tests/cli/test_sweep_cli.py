"""``exobench sweep``: grid validation (one-line errors naming the file and the key) and the plug-in registry."""

import sys
import types

import pytest

from exobench import baselines as bl
from exobench.cli import main
from exobench.workflows.sweep import load_grid, parameter_sets

from ..parallel._phase import make_phase


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    return make_phase(tmp_path_factory.mktemp("sweep_cli"))


@pytest.mark.parametrize("text, message", [
    ("algorithm.ncmp: [1, 2]\n", "algorithm.ncmp: unknown parameter of baseline 'pca-annular'; expected "
                                 "detection_map, threshold or algorithm.OPTION with OPTION among asize,"),
    ("ncomp: [1]\n", "ncomp: unknown parameter of baseline 'pca-annular'"),
    ("baseline: [pca]\n", "baseline: unknown parameter"),
    ("algorithm.ncomp: []\n", "algorithm.ncomp: expected a non-empty list of values, got []"),
    ("algorithm.ncomp: 3\n", "algorithm.ncomp: expected a non-empty list of values, got 3"),
    ("algorithm.ncomp: [2, 2]\n", "algorithm.ncomp: a value is repeated in [2, 2]"),
    ("algorithm.ncomp: [2, x]\n", "algorithm: ncomp: expected an integer (like the default 3), got 'x'"),
    ("algorithm.asize: [1.0, true]\n", "algorithm: asize: expected a number (like the default 1.0), got True"),
    ("threshold: [5, inf]\n", "threshold: expected a finite number or null"),
    ("detection_map: [snr, peaks]\n", "detection_map: expected one of snr, stim, got 'peaks'"),
    ("[1, 2]\n", "expected a mapping of dotted parameter names"),
    ("", "expected a mapping of dotted parameter names"),
])
def test_grid_errors_are_one_line_naming_the_file_and_key(text, message, phase, tmp_path, capsys):
    public, reference = phase
    grid = tmp_path / "grid.yaml"
    grid.write_text(text)
    argv = ["sweep", "pca-annular", str(public), str(reference), "--grid", str(grid),
            "-o", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"exobench: error: {grid}: ") and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_missing_grid_file_is_named(phase, tmp_path, capsys):
    public, reference = phase
    argv = ["sweep", "pca", str(public), str(reference), "--grid", str(tmp_path / "nope.yaml"),
            "-o", str(tmp_path / "out")]
    assert main(argv) == 1
    assert "nope.yaml" in capsys.readouterr().err


def test_a_reference_of_another_phase_is_refused_before_any_run(phase, tmp_path, capsys, monkeypatch):
    import shutil

    from exobench import baselines

    public, reference = phase
    other = tmp_path / "other_ref"
    shutil.copytree(reference, other)
    for kind in ("positions", "fwhm"):  # the first dataset renamed: another phase's
        moved = sorted(other.glob(f"*_{kind}_*.fits"))[0]
        moved.rename(moved.with_name(moved.name.replace(f"_{kind}_", f"_{kind}_9")))
    (other / "phase.json").unlink(missing_ok=True)
    grid = tmp_path / "grid.yaml"
    grid.write_text("algorithm.ncomp: [1, 2]\n")

    def no_run(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(baselines, "run_map_tasks", no_run)
    argv = ["sweep", "pca", str(public), str(other), "--grid", str(grid), "-o", str(tmp_path / "out")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"reference_dir: {str(other)!r} is not the reference of {str(public)!r}" in err
    assert "datasets only in the reference: " in err and "only in the public phase: " in err
    assert not (tmp_path / "out").exists()


def test_the_old_reference_option_is_refused_with_the_new_spelling(phase, tmp_path, capsys):
    public, reference = phase
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "pca", str(public), "--reference", str(reference), "--grid", "g.yaml", "-o", "out"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert "--reference is no longer taken; give REFERENCE_DIR as the last positional argument" in err


def test_the_grid_starts_from_the_params_and_keeps_its_order():
    grid = load_grid({"threshold": [4, 6], "algorithm.ncomp": [1, 2, 3]}, "pca", params={"algorithm": {"ncomp": 9}})
    sets = parameter_sets("pca", grid, params={"algorithm": {"explained_variance": None, "inner_radius": 2.0}})
    assert [(p["threshold"], p["algorithm"]["ncomp"]) for p in sets] == [
        (4.0, 1), (4.0, 2), (4.0, 3), (6.0, 1), (6.0, 2), (6.0, 3)]
    assert all(p["algorithm"]["inner_radius"] == 2.0 for p in sets)


def test_the_shipped_example_grid_is_valid():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "baselines" / "grids"
    grids = sorted(folder.glob("*.yaml"))
    assert grids
    for path in grids:
        assert load_grid(path, path.stem)


# -- the plug-in registry -----------------------------------------------------------------


class _Constant(bl.Baseline):
    """A plug-in that is not an exobench algorithm: a constant map."""

    options_key = "model"

    @classmethod
    def unavailable_reason(cls):
        return None

    @classmethod
    def default_params(cls):
        return {"baseline": cls.name, "model": {"level": 0.5}, "detection_map": "probability", "threshold": None}

    @classmethod
    def detection_maps(cls):
        return ("probability",)

    @classmethod
    def default_threshold(cls, params):
        return 0.9

    @classmethod
    def detection_map(cls, dataset, params, *, progress=False):
        import numpy as np

        return np.full(dataset.cube.shape[-2:], params["model"]["level"])

    @classmethod
    def params_header(cls):
        return "# a test plug-in\n"


@pytest.fixture
def plugin(monkeypatch):
    """Register a plug-in module that defines baseline 'constant-test' on first registry access."""
    module = types.ModuleType("exobench_test_plugin")
    exec("from tests.cli.test_sweep_cli import _Constant\n"
         "class Constant(_Constant, name='constant-test'):\n    'A constant map (test plug-in).'\n",
         module.__dict__)
    monkeypatch.setitem(sys.modules, "exobench_test_plugin", module)
    monkeypatch.setattr(bl.registry, "PLUGIN_MODULES", ("exobench_test_plugin",))
    monkeypatch.setattr(bl.registry, "_PLUGINS_LOADED", False)
    yield "constant-test"
    bl.registry._REGISTRY.unregister("constant-test")


def test_a_plug_in_baseline_runs_through_the_whole_interface(plugin, phase, tmp_path, capsys):
    public, reference = phase
    assert plugin in bl.available_baselines()
    params = bl.load_params({"model": {"level": 0.95}}, plugin)
    assert params == {"baseline": plugin, "model": {"level": 0.95}, "detection_map": "probability", "threshold": None}
    with pytest.raises(ValueError, match="model: level: expected a number"):
        bl.load_params({"model": {"level": "high"}}, plugin)
    with pytest.raises(ValueError, match="detection_map: expected one of probability"):
        bl.run_baseline(plugin, public, detection_map="snr")
    assert bl.dump_params(params, comments=True).startswith("# a test plug-in\nbaseline: constant-test\nmodel:\n")
    result = bl.run_baseline(plugin, public, params=params)
    assert result.threshold == 0.9 and all((m == 0.95).all() for m in result.maps.values())
    grid = tmp_path / "grid.yaml"
    grid.write_text("model.level: [0.5, 0.95]\n")
    argv = ["sweep", plugin, str(public), str(reference), "--grid", str(grid),
            "-o", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 0
    assert "model.level" in capsys.readouterr().out


def test_missing_plug_in_modules_are_skipped_and_other_errors_propagate(monkeypatch):
    monkeypatch.setattr(bl.registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(bl.registry, "PLUGIN_MODULES", ("exobench.no_such_package.baseline",))
    assert "pca" in bl.available_baselines()
    monkeypatch.setattr(bl.registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(bl.registry, "PLUGIN_MODULES", ("exobench_broken_plugin_that_imports_torch",))

    def fake_import(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'torch_not_installed'", name="torch_not_installed")

    monkeypatch.setattr("importlib.import_module", fake_import)
    with pytest.raises(ModuleNotFoundError, match="torch_not_installed"):
        bl.get_baseline("pca")
