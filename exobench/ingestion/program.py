"""The ingestion program of code phases: a participant's ``detect.py`` run on every dataset of a public phase.

The participant's code
----------------------
A folder (or a zip of one) holding ``detect.py`` (:data:`~exobench.ingestion.child.MODULE`) at
its top (or in its one top folder), which defines

- ``detect(dataset)``: takes an :class:`exobench.data.Dataset` (read from the phase folder
  with :func:`exobench.data.fits_io.read_dataset`) and returns the detection map, a 2D array
  of the frame's shape (a tuple whose first item is the map is accepted too);
- ``THRESHOLD``: a module-level finite number, the phase's detection threshold (values
  strictly above it are detections), the same for every dataset.

Other files of the folder (helper modules, weights) sit beside it; the folder is first on
``sys.path`` and the working directory of the code.

The run
-------
Nothing of the participant's runs in this process. A first child process imports
``detect.py``, checks ``detect`` and ``THRESHOLD`` and lists the phase's datasets (a failure
there refuses the code: :class:`CodeError`). Then each dataset gets its own child process
(:mod:`exobench.ingestion.child`, run with the same Python). The time limit is that of
``detect(dataset)``: a child whose ``detect`` runs past ``time_limit`` seconds is killed
with its process group; importing the code and reading the dataset get
:data:`STARTUP_LIMIT` seconds more (the first child, which calls no ``detect``, gets both
for its import). A dataset whose child times out, raises, dies or
returns a bad map (not 2D, not of the frame's shape, not numbers) gets no map, with an
:class:`~exobench.ExobenchWarning` naming the dataset and the reason (the first line of the
exception); the others are done all the same, and the scorer counts a missing map as an
empty one. The maps and the threshold are written with
:func:`exobench.submission.write_submission`.

The children import the complete exobench of the environment (this process's own, when it
is complete; the platform's image otherwise): the platform copy of this program
(:func:`exobench.platform.vendor.vendor_program`) carries only what the parent needs (numpy,
scipy, astropy), so a code phase's image must have exobench and the participants'
dependencies installed.

On the platforms
----------------
``ingestion_program/ingest.py INPUT OUTPUT PROGRAM SUBMISSION [--time-limit SECONDS]``
(:func:`main`): Codalab v1.5 runs ``python $ingestion_program/ingest.py $input $output
$ingestion_program $submission_program`` (the phase's ``input_data`` in ``$input``, the
unzipped code in ``$submission_program``); Codabench runs it with ``/app/input_data
/app/output /app/program /app/ingested_program``. ``OUTPUT`` becomes the scoring program's
``res`` folder. Exit status 0: done (even if some datasets failed); 1: the code was refused;
2: the input or the program is at fault.

This module uses the standard library, numpy and the exobench modules the scoring program
carries (it runs on the platforms' Pythons, from 3.7).
"""

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .. import ExobenchWarning
from .._atomic import check_new_file

__all__ = ["DEFAULT_TIME_LIMIT", "STARTUP_LIMIT", "CodeError", "IngestionReport", "run_detect", "detect_dataset",
           "unpacked_code", "ingest", "check_code_dir", "run_program", "main"]

#: Seconds a dataset may take (the participant's import, the reading and ``detect``) when none is given.
DEFAULT_TIME_LIMIT = 600.0
#: Seconds a child gets, besides the time limit, to import the participant's code and read its dataset.
STARTUP_LIMIT = 120.0
_CHILD = Path(__file__).resolve().with_name("child.py")
_POLL = 0.05
_MODULE_FILE = "detect.py"


class CodeError(ValueError):
    """The participant's code cannot run at all (no ``detect.py``, no ``detect``, no finite ``THRESHOLD``...)."""


@dataclasses.dataclass(frozen=True, eq=False)
class IngestionReport:
    """What :func:`run_detect` returns.

    Attributes
    ----------
    maps : dict
        ``(instrument, dataset_id) -> 2D float64 map`` of the datasets done, in the phase's order.
    threshold : float
    failures : dict
        ``(instrument, dataset_id) -> reason`` of the datasets without a map.
    seconds : dict
        ``(instrument, dataset_id) -> wall seconds`` of each dataset's child.
    """

    maps: dict
    threshold: float
    failures: dict
    seconds: dict


def _check_time_limit(time_limit):
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not math.isfinite(time_limit) \
            or time_limit <= 0:
        raise ValueError(f"time_limit: expected a number of seconds > 0, got {time_limit!r}")
    return float(time_limit)


def check_code_dir(code_dir):
    """The folder of a participant's code, checked: the folder, or its one sub-folder, that holds ``detect.py``.

    Participants often zip the folder rather than its content: ``detect.py`` in the one
    top folder (with nothing else beside it but hidden files) is accepted.

    Raises
    ------
    FileNotFoundError
        No such folder, or no ``detect.py`` in it.
    """
    code_dir = Path(code_dir)
    if not code_dir.is_dir():
        raise FileNotFoundError(f"code: folder {str(code_dir)!r} does not exist")
    if (code_dir / _MODULE_FILE).is_file():
        return code_dir
    tops = [p for p in code_dir.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(tops) == 1 and (tops[0] / _MODULE_FILE).is_file():
        return tops[0]
    raise FileNotFoundError(f"code: no {_MODULE_FILE} in {str(code_dir)!r}; put the module that defines "
                            f"detect(dataset) and THRESHOLD at the top of the folder")


def _check_phase_dir(phase_dir):
    phase_dir = Path(phase_dir)
    if not phase_dir.is_dir():
        raise FileNotFoundError(f"phase_dir: folder {str(phase_dir)!r} does not exist")
    if not any(phase_dir.glob("*_cube_*.fits")):
        raise FileNotFoundError(f"phase_dir: no {{instrument}}_cube_{{k}}.fits file in {str(phase_dir)!r}; give a "
                                f"public phase folder")
    return phase_dir


def _child_environment():
    """This environment, with this process's exobench first on ``PYTHONPATH`` when it is complete.

    A vendored copy (the platform's) lacks ``exobench.data``: the children then use the
    image's installed exobench.
    """
    env = dict(os.environ)
    package = Path(__file__).resolve().parents[1]
    if (package / "data" / "fits_io.py").is_file():
        paths = [str(package.parent)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _run_child(args, *, cwd, time_limit, env, python, started=None):
    """Run the child; ``(error or None, seconds)``. Past its limits its whole process group is killed.

    The child gets :data:`STARTUP_LIMIT` seconds to import the code and read its data;
    when ``started`` is given (a file the child makes just before ``detect``), ``time_limit``
    seconds more from then, else ``time_limit`` more in all.
    """
    start = time.perf_counter()
    posix = os.name == "posix"
    process = subprocess.Popen([python, str(_CHILD)] + [str(a) for a in args], cwd=str(cwd), env=env,
                               stdin=subprocess.DEVNULL, start_new_session=posix)
    try:
        status, late = _wait(process, time_limit, started)
    except BaseException:
        _kill(process, posix)
        raise
    seconds = time.perf_counter() - start
    if late:
        _kill(process, posix)
        return late, seconds
    if posix:  # what the child left running in its group goes with it
        _kill_group(process.pid)
    error_file = Path(str(args[3]) + ".error")
    if error_file.is_file():
        try:
            return json.loads(error_file.read_text(encoding="utf-8"))["error"], seconds
        except (OSError, ValueError, KeyError, TypeError):
            return "the code failed (its error could not be read)", seconds
    if status != 0:
        how = f"killed by signal {-status}" if status < 0 else f"exited with status {status}"
        return f"the process {how} without a result", seconds
    return None, seconds


def _wait(process, time_limit, started):
    """``(status, None)`` once the child exits, or ``(None, reason)`` when it runs past a limit."""
    begin = time.monotonic()
    deadline = begin + STARTUP_LIMIT + (0.0 if started is not None else time_limit)
    detecting = False
    while True:
        status = process.poll()
        if status is not None:
            return status, None
        now = time.monotonic()
        if started is not None and not detecting and started.exists():
            detecting, deadline = True, now + time_limit
        if now >= deadline:
            if detecting or started is None and now - begin >= STARTUP_LIMIT:
                return None, f"timed out after {time_limit:g} s (killed)"
            return None, f"did not start within {STARTUP_LIMIT:g} s (importing the code and reading the data; killed)"
        time.sleep(_POLL)


def _kill(process, posix):
    if posix:
        _kill_group(process.pid)
    else:  # pragma: no cover - no process groups
        process.kill()
    process.wait()


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_detect(code_dir, phase_dir, *, time_limit=DEFAULT_TIME_LIMIT, python=None):
    """Run the participant's ``detect`` on every dataset of a public phase folder, each in a child process.

    Parameters
    ----------
    code_dir : str or path-like
        The folder holding ``detect.py`` (see the module doc).
    phase_dir : str or path-like
        A public phase folder in the EIDC layout.
    time_limit : float
        Seconds per dataset (and for the first import); a child past it is killed.
    python : str, optional
        The interpreter of the children (default: this one, ``sys.executable``).

    Returns
    -------
    IngestionReport

    Raises
    ------
    CodeError
        The code cannot be imported, has no ``detect`` or no finite ``THRESHOLD``, or
        the phase holds no dataset (the message is the child's, one line).
    FileNotFoundError, ValueError
        Missing folders, a bad ``time_limit``.
    """
    time_limit = _check_time_limit(time_limit)
    code_dir = check_code_dir(code_dir).resolve()
    phase_dir = _check_phase_dir(phase_dir).resolve()
    python = python or sys.executable
    env = _child_environment()
    with tempfile.TemporaryDirectory(prefix="exobench-ingest-") as tmp:
        probe = Path(tmp) / "probe.json"
        error, _ = _run_child(["probe", code_dir, phase_dir, probe], cwd=code_dir, time_limit=time_limit, env=env,
                              python=python)
        if error is not None:
            raise CodeError(f"code: {error}")
        found = json.loads(probe.read_text(encoding="utf-8"))
        datasets = [tuple(pair) for pair in found["datasets"]]
        if not datasets:
            raise CodeError(f"phase_dir: no dataset in {str(phase_dir)!r}")
        maps, failures, seconds = {}, {}, {}
        for instrument, dataset_id in datasets:
            image, error, seconds[instrument, dataset_id] = _detect_in_child(
                code_dir, phase_dir, instrument, dataset_id, time_limit=time_limit, python=python, env=env)
            if error is None:
                maps[instrument, dataset_id] = image
            else:
                failures[instrument, dataset_id] = error
                warnings.warn(f"{instrument}_{dataset_id}: no map ({error})", ExobenchWarning, stacklevel=2)
    return IngestionReport(maps=maps, threshold=float(found["threshold"]), failures=failures, seconds=seconds)


def _detect_in_child(code_dir, phase_dir, instrument, dataset_id, *, time_limit, python, env):
    """``(map or None, error or None, seconds)`` of one dataset's child."""
    with tempfile.TemporaryDirectory(prefix="exobench-detect-") as tmp:
        result = Path(tmp) / "map.npy"
        error, seconds = _run_child(["detect", code_dir, phase_dir, result, instrument, dataset_id], cwd=code_dir,
                                    time_limit=time_limit, env=env, python=python,
                                    started=Path(str(result) + ".started"))
        if error is not None:
            return None, error, seconds
        with open(result, "rb") as handle:
            return np.load(handle, allow_pickle=False), None, seconds


def detect_dataset(code_dir, phase_dir, instrument, dataset_id, *, time_limit=DEFAULT_TIME_LIMIT, python=None):
    """The participant's detection map of one dataset of a phase folder, computed in a child process.

    The same child as :func:`run_detect`'s (the participant's code never runs in this
    process), with the same limits, without the first child's checks of ``THRESHOLD``.

    Parameters
    ----------
    code_dir : str or path-like
        The folder holding ``detect.py``.
    phase_dir : str or path-like
        A folder in the EIDC layout that holds the dataset.
    instrument, dataset_id : str
        The dataset's ``{instrument}_cube_{dataset_id}.fits``.
    time_limit : float
        Seconds for ``detect``.
    python : str, optional
        The child's interpreter (default ``sys.executable``).

    Returns
    -------
    ndarray
        The map, 2D float64 of the frame's shape.

    Raises
    ------
    CodeError
        The code failed, timed out or returned a bad map (the child's one line).
    """
    time_limit = _check_time_limit(time_limit)
    code_dir = check_code_dir(code_dir).resolve()
    phase_dir = _check_phase_dir(phase_dir).resolve()
    image, error, _ = _detect_in_child(code_dir, phase_dir, str(instrument), str(dataset_id), time_limit=time_limit,
                                       python=python or sys.executable, env=_child_environment())
    if error is not None:
        raise CodeError(f"code: {instrument}_{dataset_id}: {error}")
    return image


@contextlib.contextmanager
def unpacked_code(code):
    """The folder of a participant's code, given as a folder or a ``.zip`` (extracted, paths checked, into a
    temporary folder removed on exit): a context manager.

    Raises
    ------
    FileNotFoundError
        No such folder or zip, or no ``detect.py`` in it.
    ValueError
        A zip entry that leaves the folder.
    """
    code = Path(code)
    if code.is_file() and code.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="exobench-code-") as tmp:
            yield _unzip_code(code, Path(tmp))
    else:
        yield check_code_dir(code)


def ingest(code, phase_dir, output, *, time_limit=DEFAULT_TIME_LIMIT, overwrite=False, python=None):
    """Run a participant's code on a public phase and write the submission: ``exobench ingest``.

    Parameters
    ----------
    code : str or path-like
        The code folder (holding ``detect.py``) or a ``.zip`` of it (``detect.py`` at the top
        or in one top folder).
    phase_dir : str or path-like
        A public phase folder.
    output : str or path-like
        The submission zip to write (``.zip``; its folder must exist).
    time_limit : float
        Seconds per dataset.
    overwrite : bool
        Replace an existing ``output`` (refused otherwise, before any work).
    python : str, optional
        The children's interpreter (default ``sys.executable``).

    Returns
    -------
    IngestionReport
        The maps written (datasets without a map are left out, with a warning each).
    """
    output = check_new_file(output, overwrite=overwrite, suffix=".zip")
    _check_time_limit(time_limit)
    _check_phase_dir(phase_dir)
    with unpacked_code(code) as code_dir:
        report = run_detect(code_dir, phase_dir, time_limit=time_limit, python=python)
    from ..submission import write_submission

    write_submission(report.maps, report.threshold, output, overwrite=overwrite)
    return report


def _unzip_code(archive, dest):
    """Extract a code zip (paths checked) into ``dest``; the folder holding ``detect.py``."""
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            parts = Path(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise ValueError(f"code: {str(archive)!r}: entry {name!r} leaves the folder")
        zf.extractall(dest)
    try:
        return check_code_dir(dest)
    except FileNotFoundError:
        raise FileNotFoundError(f"code: no {_MODULE_FILE} at the top of {str(archive)!r} (nor in its one top "
                                f"folder)") from None


# -- the platform program -----------------------------------------------------------------


def _data_folder(input_dir):
    """The folder of the datasets: ``input_dir``, or its one sub-folder that holds cubes."""
    if any(input_dir.glob("*_cube_*.fits")):
        return input_dir
    inside = [p for p in sorted(input_dir.iterdir()) if p.is_dir() and any(p.glob("*_cube_*.fits"))] \
        if input_dir.is_dir() else []
    return inside[0] if len(inside) == 1 else input_dir


def _write_into(folder, report):
    """The submission's files into ``folder`` (which may already hold the platform's files)."""
    from ..submission import write_submission

    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".exobench-ingest-", dir=str(folder)))
    try:
        written = write_submission(report.maps, report.threshold, staging / "submission")
        for path in sorted(written.iterdir()):
            os.replace(str(path), str(folder / path.name))
    finally:
        shutil.rmtree(str(staging), ignore_errors=True)


def run_program(input_dir, output_dir, program_dir, submission_dir, *, time_limit=DEFAULT_TIME_LIMIT, stdout=None,
                stderr=None):
    """Run the code of ``submission_dir`` on the datasets of ``input_dir``; the submission into ``output_dir``.

    Returns the exit status: 0 done (some datasets may lack a map: one ``warning:`` line
    each on stdout), 1 the code was refused, 2 the input or the program is at fault (one
    line on stderr). ``program_dir`` is the platform's folder of this program (unused: the
    child is found beside this module).
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    start = time.perf_counter()
    try:
        phase_dir = _check_phase_dir(_data_folder(Path(input_dir)))
    except (OSError, ValueError) as exc:
        print(f"ingestion program error: {_one_line(exc)}", file=stderr)
        return 2
    try:
        code_dir = check_code_dir(submission_dir)
    except (OSError, ValueError) as exc:
        print(f"code refused: {_one_line(exc)}", file=stderr)
        return 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExobenchWarning)  # reported below, one line each
            report = run_detect(code_dir, phase_dir, time_limit=time_limit)
    except CodeError as exc:
        print(f"code refused: {_one_line(exc)}", file=stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"ingestion program error: {_one_line(exc)}", file=stderr)
        return 2
    try:
        _write_into(Path(output_dir), report)
    except (OSError, ValueError) as exc:
        print(f"ingestion program error: cannot write the submission: {_one_line(exc)}", file=stderr)
        return 2
    for (instrument, dataset_id), reason in report.failures.items():
        print(f"warning: {instrument}_{dataset_id}: no map ({reason})", file=stdout)
    total = len(report.maps) + len(report.failures)
    print(f"{len(report.maps)} of {total} maps, threshold {report.threshold:g}, "
          f"{time.perf_counter() - start:.1f} s", file=stdout)
    return 0


def _one_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv=None):
    """Command line of ``ingestion_program/ingest.py``: ``ingest.py INPUT OUTPUT PROGRAM SUBMISSION [--time-limit S]``."""
    parser = argparse.ArgumentParser(prog="ingest.py", description="Run an exobench code submission "
                                     "(Codalab/Codabench ingestion program).")
    parser.add_argument("input", nargs="?", default="/app/input_data", help="the public phase data")
    parser.add_argument("output", nargs="?", default="/app/output", help="where the submission is written")
    parser.add_argument("program", nargs="?", default="/app/program", help="this program's folder")
    parser.add_argument("submission", nargs="?", default="/app/ingested_program", help="the participant's code")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                        help=f"seconds per dataset (default {DEFAULT_TIME_LIMIT:g})")
    args = parser.parse_args(argv)
    try:
        time_limit = _check_time_limit(args.time_limit)
    except ValueError as exc:
        print(f"ingestion program error: {exc}", file=sys.stderr)
        return 2
    return run_program(args.input, args.output, args.program, args.submission, time_limit=time_limit)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
