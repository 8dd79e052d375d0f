"""The command line: real commands, one-line errors, exit codes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from exobench.cli import main
from exobench.examples import example_dataset


def test_inspect_example_prints_a_summary(capsys):
    assert main(["inspect", "--example"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("example #1")
    assert "cube_shape          (40, 65, 65)" in out
    assert "field_rotation_deg  70" in out


def test_inspect_json_and_plot(tmp_path, capsys):
    png = tmp_path / "example.png"
    assert main(["inspect", "--example", "--json", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    summaries = json.loads(out[: out.rindex("]") + 1])
    assert summaries[0]["frames"] == 40 and summaries[0]["center_xy"] == [32.0, 32.0]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_a_folder_in_the_eidc_layout(tmp_path, capsys):
    from exobench.data.fits_io import write_dataset

    write_dataset(example_dataset(n_frames=8, size=33), tmp_path)
    assert main(["inspect", str(tmp_path)]) == 0
    assert "cube_shape          (8, 33, 33)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["inspect", "/no/such/folder"], "exobench: error: "),
        (["inspect", "EMPTY"], "exobench: error: folder: no {instrument}_cube_{k}.fits file in"),
    ],
)
def test_errors_are_one_line_and_exit_1(argv, message, tmp_path, capsys):
    argv = [str(tmp_path) if a == "EMPTY" else a for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_corrupt_file_gives_one_line_naming_it(tmp_path, capsys):
    from exobench.data.fits_io import write_dataset

    write_dataset(example_dataset(n_frames=8, size=33), tmp_path)
    (tmp_path / "example_pa_1.fits").write_bytes(b"this is not FITS")
    assert main(["inspect", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "example_pa_1.fits" in err and err.count("\n") == 1


def test_module_entry_point_and_usage_errors():
    run = subprocess.run([sys.executable, "-m", "exobench", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("exobench ")
    run = subprocess.run([sys.executable, "-m", "exobench", "inspect"], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr == ("exobench inspect: error: one of the arguments folder --example is required "
                          "(see exobench inspect --help)\n")
    for argv in (["build", "--check"], ["nope"], ["score", "--json"], ["baseline", "pca", "x", "-o"]):
        run = subprocess.run([sys.executable, "-m", "exobench", *argv], capture_output=True, text=True)
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and run.stderr.startswith("exobench"), argv


def test_example_dataset_is_reproducible():
    first, second = example_dataset(seed=4), example_dataset(seed=4)
    assert first.cube.tobytes() == second.cube.tobytes()
    assert not np.array_equal(first.cube, example_dataset(seed=5).cube)


def test_a_closed_pipe_ends_quietly():
    """``exobench ... | head``: the reader leaves early; no traceback, no message, status 0."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "exobench", "baseline", "--list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything is written
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0
    assert err.decode() == ""


def test_build_challenge_names_a_bundled_definition(capsys):
    pytest.importorskip("hcipy", reason="the bundled challenges simulate instruments with hcipy")
    assert main(["build", "--challenge", "benchmark", "--check"]) == 0
    assert capsys.readouterr().out.startswith("exobench-benchmark: valid (1 phase(s), 14 source(s)")
    assert main(["build", "--challenge", "default", "--check"]) == 0
    assert capsys.readouterr().out.startswith("exobench-default: valid (3 phase(s)")
    assert main(["build", "--challenge", "nope", "--check"]) == 1
    err = capsys.readouterr().err
    assert err == "exobench: error: challenge: expected a bundled challenge, one of default, benchmark, got 'nope'\n"


@pytest.mark.parametrize("argv, other", [(["--default", "--challenge", "benchmark"], "--default"),
                                         (["x.yaml", "--challenge", "default"], "CHALLENGE.yaml")])
def test_build_takes_one_definition(argv, other, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["build", *argv, "--check"])
    assert stop.value.code == 2
    assert f"argument --challenge: not allowed with argument {other}" in capsys.readouterr().err


def test_build_check_needs_no_output_and_checks_one_when_given(tmp_path, capsys):
    pytest.importorskip("hcipy", reason="the default challenge simulates instruments with hcipy")
    assert main(["build", "--default", "--check"]) == 0
    assert capsys.readouterr().out.startswith("exobench-default: valid (3 phase(s)")
    assert main(["build", "--default", "--check", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "output: " in err and "exists; pass overwrite=True (--overwrite)" in err
    with pytest.raises(SystemExit) as stop:
        main(["build", "--default"])
    assert stop.value.code == 2
    assert "the following arguments are required: -o/--output (unless --check)" in capsys.readouterr().err
