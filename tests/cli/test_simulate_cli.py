"""``exobench simulate``: writes an EIDC dataset, one-line errors."""

import pytest
import yaml

from exobench.cli import main
from exobench.data.fits_io import find_datasets, read_dataset

pytest.importorskip("hcipy", reason="the simulator needs hcipy (a dependency of exobench: pip install hcipy)")

SMALL = ["--frames", "3", "--size", "33", "--set", "simulation.subframes=2", "--set", "simulation.halo_samples=4",
         "--set", "simulation.band_samples=1", "--quiet"]


def _error_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_simulate_writes_an_eidc_dataset(tmp_path, capsys):
    out = tmp_path / "naco"
    assert main(["simulate", "naco", "-o", str(out), "--seed", "3", "--id", "2", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote 5 files to {out}: naco #2, cube 3x33x33")
    assert "phase screens" in printed and "propagation" in printed
    assert find_datasets(out) == [("naco", "2")]
    dataset = read_dataset(out, "naco", "2")
    assert dataset.cube.shape == (3, 33, 33) and dataset.meta["seed"] == 3


def test_simulate_list_and_show_profile(capsys):
    assert main(["simulate", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert {line.split()[0] for line in listed} >= {"naco", "sphere_irdis", "nirc2", "lmircam", "sphere_ifs", "gpi"}
    assert main(["simulate", "gpi", "--show-profile", "--set", "ao.residual_wfe_nm=150"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["ao"]["residual_wfe_nm"] == 150 and shown["wavelength"]["channels"] == 37


@pytest.mark.parametrize("args, message", [
    (["hubble", "-o", "x"], "exobench: error: instrument: unknown profile 'hubble'"),
    (["naco", "-o", "x", "--set", "ao.bogus=1"], "exobench: error: ao.bogus: unknown key 'bogus' of section 'ao'"),
    (["naco", "-o", "x", "--set", "novalue"], "exobench: error: --set: expected SECTION.KEY=VALUE, got 'novalue'"),
    (["naco", "-o", "x", "--frames", "0"], "exobench: error: profile 'naco' (updated): observation.frames: expected >= 1"),
])
def test_simulate_errors_are_one_line(tmp_path, capsys, args, message):
    args = [a if a != "x" else str(tmp_path / "out") for a in args]
    assert main(["simulate", *args]) == 1
    assert _error_line(capsys).startswith(message)
    assert not (tmp_path / "out").exists()


def test_simulate_refuses_to_overwrite_without_the_flag(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["simulate", "naco", "-o", out, *SMALL]) == 0
    capsys.readouterr()
    assert main(["simulate", "naco", "-o", out, *SMALL]) == 1
    assert "exobench: error:" in _error_line(capsys)
    assert main(["simulate", "naco", "-o", out, "--overwrite", *SMALL]) == 0


def test_simulate_needs_an_instrument_and_an_output(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["simulate", "naco"])
    assert "-o DIR is required" in capsys.readouterr().err


def test_build_check_and_errors(tmp_path, capsys):
    assert main(["build", "--default", "--check", "-o", str(tmp_path / "x")]) == 0
    assert capsys.readouterr().out.startswith("exobench-default: valid (3 phase(s), 8 source(s), seed 2026)")
    assert main(["build", "--default", "--check", "--seed", "3", "-o", str(tmp_path / "x")]) == 0
    assert "seed 3" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("phases: []\n")
    assert main(["build", str(bad), "-o", str(tmp_path / "x")]) == 1
    assert _error_line(capsys).startswith(f"exobench: error: {bad}: phases: expected a non-empty list")
    assert not (tmp_path / "x").exists()
