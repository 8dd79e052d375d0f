"""The bundled scoring program on every platform Python: same submission, same scores?

Builds (or reuses) a challenge, makes one baseline submission per phase, builds its
Codabench bundle, unpacks the scoring program and each phase's reference as a worker
does, and runs the program under every Python from 3.7 up that pyenv offers, each in
a virtual environment holding only numpy, scipy and astropy (the ones the platform
tests keep under ``$EXOBENCH_PLATFORM_VENVS``, default
``~/.cache/exobench/platform-venvs``; made here when missing). Reports each Python's
package versions, its scores and its run time, and whether the scores equal those of
this process's exobench to the last digit.

Usage (from the repository root)::

    python bench/bench_platform_pythons.py [--challenge DIR] [--baseline pca]

It writes its table into ``docs/benchmarks.md`` between
``<!-- platform-pythons:start -->`` and ``<!-- platform-pythons:end -->``.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import replace_doc_section  # noqa: E402

from exobench.baselines import run_baseline  # noqa: E402
from exobench.challenge import ChallengeLayout  # noqa: E402
from exobench.platform import build_bundle  # noqa: E402
from exobench.scoring.program import score_submission  # noqa: E402
from exobench.scoring.program_output import scores_json  # noqa: E402

START, END = "<!-- platform-pythons:start -->", "<!-- platform-pythons:end -->"
VERSIONS = "import sys, numpy, scipy, astropy; print(sys.version.split()[0], numpy.__version__, " \
           "scipy.__version__, astropy.__version__)"


def pyenv_pythons(oldest=(3, 7)):
    """``{(major, minor): interpreter}``, the newest patch of each pyenv version from ``oldest`` up."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return {}
    listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout.split()
    root = Path(subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip())
    found = {}
    for version in listed:
        parts = version.split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            key, patch = (int(parts[0]), int(parts[1])), int(parts[2])
            interpreter = root / "versions" / version / "bin" / "python"
            if key >= oldest and interpreter.is_file() and (key not in found or patch > found[key][0]):
                found[key] = (patch, interpreter)
    return {key: found[key][1] for key in sorted(found)}


def venv_python(key, interpreter):
    base = Path(os.environ.get("EXOBENCH_PLATFORM_VENVS") or Path.home() / ".cache" / "exobench" / "platform-venvs")
    folder = base / f"py{key[0]}.{key[1]}"
    python = folder / "bin" / "python"
    if subprocess.run([str(python), "-c", "import numpy, scipy, astropy"], capture_output=True).returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([str(interpreter), "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "numpy", "scipy", "astropy"], check=True)
    return python


def worker_tree(challenge, baseline, work):
    """Unpack the bundle as a worker does; per phase (input folder, expected scores)."""
    layout = ChallengeLayout(challenge)
    bundle = build_bundle(challenge, work / "bundle.zip", platform="codabench")["path"]
    with zipfile.ZipFile(bundle) as outer:
        outer.extractall(work / "bundle")
    with zipfile.ZipFile(work / "bundle" / "scoring_program.zip") as program:
        program.extractall(work / "program")
    phases = {}
    for number in layout.reference_phases():
        inputs = work / f"input_{number}"
        with zipfile.ZipFile(work / "bundle" / f"reference_data_{number}.zip") as reference:
            reference.extractall(inputs / "ref")
        submission = run_baseline(baseline, layout.public(number)).write(work / f"{baseline}_{number}.zip")
        with zipfile.ZipFile(submission) as archive:
            archive.extractall(inputs / "res")
        phases[number] = (inputs, json.loads(scores_json(score_submission(submission, layout.reference(number)))))
    return work / "program", phases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--challenge", help="a built challenge (default: the default challenge, built here)")
    parser.add_argument("--baseline", default="pca")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="platform-pythons-") as tmp:
        work = Path(tmp)
        challenge = Path(args.challenge) if args.challenge else work / "challenge"
        if not args.challenge:
            subprocess.run([sys.executable, "-m", "exobench", "build", "--default", "-o", str(challenge), "--quiet"],
                           check=True)
        program, phases = worker_tree(challenge, args.baseline, work)
        rows = []
        for key, interpreter in pyenv_pythons().items():
            python = venv_python(key, interpreter)
            versions = subprocess.run([str(python), "-c", VERSIONS], capture_output=True, text=True).stdout.split()
            for number, (inputs, expected) in phases.items():
                output = work / f"out_{key[0]}.{key[1]}_{number}"
                output.mkdir()
                start = time.perf_counter()
                run = subprocess.run([str(python), "score.py", str(inputs), str(output)], cwd=program,
                                     capture_output=True, text=True,
                                     env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1", "HOME": tmp})
                spent = time.perf_counter() - start
                scores = json.loads((output / "scores.json").read_text()) if run.returncode == 0 else None
                rows.append({"python": versions[0], "numpy": versions[1], "scipy": versions[2],
                             "astropy": versions[3], "phase": number, "seconds": round(spent, 2),
                             "scores": scores, "same": scores == expected, "error": run.stderr[-300:] or None})
                print(f"Python {versions[0]} phase {number}: {'same scores' if scores == expected else 'DIFFERENT'} "
                      f"in {spent:.1f} s: {scores}", flush=True)
    report = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "command": "python bench/bench_platform_pythons.py" + (f" --baseline {args.baseline}"
                                                                     if args.baseline != "pca" else ""),
              "baseline": args.baseline, "rows": rows}
    if not args.no_doc:
        root = Path(__file__).resolve().parents[1]
        replace_doc_section(root / "docs" / "benchmarks.md", doc_section(report), START, END)
    return 0 if all(r["same"] for r in rows) else 1


def doc_section(report):
    lines = [START, f"## The scoring program on the platform Pythons ({report['date']})", "",
             f"`{report['command']}` ({report['machine']}): the default challenge's `{report['baseline']}` "
             "submission of each phase, scored by the Codabench bundle's scoring program unpacked as a worker "
             "does, under each Python in a virtual environment holding only numpy, scipy and astropy. "
             "\"same\": the scores equal those of the development environment's exobench to the last digit.", "",
             "| Python | numpy | scipy | astropy | phase | time | same | scores |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["rows"]:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in (r["scores"] or {}).items() if k.split("_")[0] in
                           ("F1", "AUC", "TPR", "FPR"))
        lines.append(f"| {r['python']} | {r['numpy']} | {r['scipy']} | {r['astropy']} | {r['phase']} | "
                     f"{r['seconds']:.1f} s | {'yes' if r['same'] else 'NO'} | {scores or r['error']} |")
    lines += [END, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
