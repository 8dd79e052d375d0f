"""Benchmark of the scoring program end to end: unzip, validate, score, write the outputs.

The target: scoring a submission end to end in under 3 s, for a phase of 9
detection maps of 160x160 with a few injections each, submitted as a zip.

Usage (from the repository root)::

    python bench/bench_scoring.py            # about half a minute

The phase is the ROC benchmark's (``bench_roc.build_phase``: seeded S/N-like maps,
1 to 5 companions each, FWHM 4 px), named as 3 instruments x 3 datasets, written as
a reference phase folder (positions, FWHM, ``phase.json``) and a submission zip
(float64 maps, threshold 3). Two ways are timed, in one process, one thread (one
warm-up call, then the best of the timed calls, see ``bench/_common.py``):

- **in-process**: ``score_submission(zip, reference)`` (extract and validate the
  zip, read the reference, count, sweep the ROC curve) then ``write_outputs``
  (``scores.txt``, ``scores.json``, ``detailed_results.json`` and ``.html``), with a
  breakdown by stage;
- **fresh process**, as a platform worker runs it: unzip the submission into
  ``input/res`` (the worker's job, timed too), then a new interpreter running the
  vendored ``score.py input output`` (start-up and imports included); and the
  start-up alone (``score.py --help``, which imports the program).

The results go to ``docs/benchmarks.md`` (between ``<!-- scoring-benchmark:start -->``
and ``<!-- scoring-benchmark:end -->``; the rest of the file is kept) and
``bench/results/`` (``scoring_<date>.json``, ``scoring_latest.json``).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from _common import SINGLE_THREAD_ENV, best_of, force_single_thread, replace_doc_section, write_json  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

START, END = "<!-- scoring-benchmark:start -->", "<!-- scoring-benchmark:end -->"
TARGET_S = 3.0
THRESHOLD = 3.0
INSTRUMENTS = ("sphere_irdis", "nirc2", "lmircam")


# --- inputs ------------------------------------------------------------------------------------


def build_inputs(work):
    """The reference phase folder and the submission zip; returns (ref_dir, zip_path, n_injections, zip bytes)."""
    from astropy.io import fits

    from bench_roc import FWHM, SIZE, build_phase

    maps, positions = build_phase()
    ref = os.path.join(work, "ref")
    os.makedirs(ref)
    names = [(inst, str(k)) for inst in INSTRUMENTS for k in (1, 2, 3)]
    shapes = {}
    for (inst, k), pos in zip(names, positions):
        fits.PrimaryHDU(np.asarray(pos, dtype=float)).writeto(os.path.join(ref, f"{inst}_positions_{k}.fits"))
        fits.PrimaryHDU(np.array([FWHM])).writeto(os.path.join(ref, f"{inst}_fwhm_{k}.fits"))
        shapes[f"{inst}_{k}"] = [SIZE, SIZE]
    with open(os.path.join(ref, "phase.json"), "w") as handle:
        json.dump({"suffix": "3d", "map_shapes": shapes}, handle)
    archive = os.path.join(work, "submission.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for (inst, k), detmap in zip(names, maps):
            zf.writestr(f"{inst}_detmap_{k}.fits", _fits_bytes(detmap.astype(np.float64)))
        zf.writestr("detection_threshold.fits", _fits_bytes(np.array([THRESHOLD])))
    return ref, archive, sum(len(p) for p in positions), os.path.getsize(archive)


def _fits_bytes(data):
    import io

    from astropy.io import fits

    buffer = io.BytesIO()
    fits.PrimaryHDU(data).writeto(buffer)
    return buffer.getvalue()


# --- timings -----------------------------------------------------------------------------------


def time_in_process(ref, archive, work, repeats):
    from exobench.scoring.program import score_folder, score_submission
    from exobench.scoring.program_output import scores_text, write_outputs
    from exobench.scoring.reference import read_reference
    from exobench.submission import open_submission

    counter = [0]

    def fresh_dir(prefix):
        counter[0] += 1
        return os.path.join(work, f"{prefix}{counter[0]}")

    def end_to_end():
        report = score_submission(archive, ref, work_dir=work)
        write_outputs(report, fresh_dir("out"))
        return report

    total = best_of(end_to_end, repeats=repeats)
    report = total.pop("result")

    def extract():
        target = fresh_dir("unz")
        os.makedirs(target)
        return open_submission(archive, target)

    folder = extract()
    reference = read_reference(ref)
    stages = {
        "unzip and list the files (open_submission)": best_of(extract, repeats=repeats),
        "read the reference": best_of(lambda: read_reference(ref), repeats=repeats),
        "validate the maps, count, sweep the ROC (score_folder)": best_of(
            lambda: score_folder(folder, reference), repeats=repeats),
        "write the four outputs": best_of(lambda: write_outputs(report, fresh_dir("w")), repeats=repeats),
    }
    for timing in stages.values():
        timing.pop("result", None)
    return total, stages, scores_text(report), report


def time_fresh_process(ref, archive, work, repeats):
    from exobench.platform.vendor import vendor_program

    program = os.path.join(work, "program")
    vendor_program(program)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(SINGLE_THREAD_ENV, PYTHONDONTWRITEBYTECODE="1")
    counter = [0]
    last = {}

    def worker():
        counter[0] += 1
        run = os.path.join(work, f"run{counter[0]}")
        os.makedirs(os.path.join(run, "input"))
        os.symlink(ref, os.path.join(run, "input", "ref"))
        with zipfile.ZipFile(archive) as zf:  # the worker unzips the submission into input/res
            zf.extractall(os.path.join(run, "input", "res"))
        result = subprocess.run([sys.executable, os.path.join(program, "score.py"), os.path.join(run, "input"),
                                 os.path.join(run, "output")], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"score.py failed: {result.stderr.strip()}")
        last["scores"] = open(os.path.join(run, "output", "scores.txt")).read()
        return result

    def startup():
        subprocess.run([sys.executable, os.path.join(program, "score.py"), "--help"], env=env, check=True,
                       capture_output=True)

    total = best_of(worker, repeats=repeats, min_time_s=0)
    total.pop("result")
    start = best_of(startup, repeats=repeats, min_time_s=0)
    start.pop("result")
    return total, start, last["scores"]


# --- report ------------------------------------------------------------------------------------


def _fmt_s(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render_markdown(report):
    m, v, inp = report["machine"], report["versions"], report["inputs"]
    ip, fp, st = report["in_process"], report["fresh_process"], report["startup"]
    lines = [
        START,
        "## Scoring a submission end to end",
        "",
        "Generated by `bench/bench_scoring.py`; do not edit this section by hand.",
        "",
        f"- Run: {report['started']}, command `{report['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, {m['os']}. "
        f"Load average before the run: {m['load_before']}.",
        f"- exobench {v['exobench']} (Python {v['python']}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"astropy {v['astropy']}).",
        f"- Inputs: the ROC benchmark's phase: {inp['n_maps']} seeded S/N-like maps of {inp['size']}x{inp['size']} "
        f"(float64, {inp['n_injections']} injections in all, FWHM {inp['fwhm_px']:g} px), 3 instruments x 3 "
        f"datasets, as a deflated zip of {inp['zip_bytes'] / 1e6:.1f} MB; threshold {THRESHOLD:g}; the reference "
        "phase with `map_shapes`.",
        "- One thread; one warm-up call, then the best of the timed calls (median in brackets).",
        "",
        "| what | time (best) | median | calls | target | result |",
        "| --- | ---: | ---: | ---: | --- | --- |",
        f"| in-process: `score_submission` (unzip, validate, count, ROC sweep) + `write_outputs` | "
        f"{_fmt_s(ip['best_s'])} | {_fmt_s(ip['median_s'])} | {ip['n_timed']} | < {TARGET_S:g} s | "
        f"{'PASS' if ip['best_s'] < TARGET_S else 'FAIL'} |",
        f"| fresh process, as a worker: unzip into `input/res`, then `python score.py input output` "
        f"(vendored program) | {_fmt_s(fp['best_s'])} | {_fmt_s(fp['median_s'])} | {fp['n_timed']} | "
        f"< {TARGET_S:g} s | {'PASS' if fp['best_s'] < TARGET_S else 'FAIL'} |",
        f"| of which the interpreter's start-up and imports (`score.py --help`) | {_fmt_s(st['best_s'])} | "
        f"{_fmt_s(st['median_s'])} | {st['n_timed']} | | |",
        "",
        "In-process stages (each timed on its own):",
        "",
        "| stage | time (best) |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {_fmt_s(t['best_s'])} |" for name, t in report["stages"].items()]
    lines += [
        "",
        f"Scores of this submission (identical in-process and in the fresh process: "
        f"{'yes' if report['checks']['same_scores'] else 'NO'}): "
        + ", ".join(f"`{line}`" for line in report["scores"].strip().splitlines()) + ".",
        END,
    ]
    return "\n".join(lines) + "\n"


def replace_section(path, section):
    """Replace this benchmark's section of the markdown file (see _common.replace_doc_section)."""
    replace_doc_section(path, section, START, END)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls of each measurement (at least)")
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                        help="markdown file whose scoring-benchmark section is replaced")
    parser.add_argument("--no-docs", action="store_true", help="do not touch the markdown file nor *_latest.json")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import astropy
    import scipy

    import exobench
    from bench_core import machine_info
    from bench_roc import FWHM, N_MAPS, SIZE

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results_dir = os.path.join(HERE, "results")
    os.makedirs(results_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scoring-") as work:
        ref, archive, n_injections, zip_bytes = build_inputs(work)
        scratch = os.path.join(work, "scratch")
        os.makedirs(scratch)
        total, stages, scores, _ = time_in_process(ref, archive, scratch, args.repeats)
        fresh, startup, fresh_scores = time_fresh_process(ref, archive, scratch, args.repeats)
        shutil.rmtree(scratch, ignore_errors=True)
    report = {
        "started": started,
        "command": " ".join(["python bench/bench_scoring.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": dict(machine_info(), load_before=load_before),
        "versions": {"exobench": exobench.__version__, "python": sys.version.split()[0], "numpy": np.__version__,
                     "scipy": scipy.__version__, "astropy": astropy.__version__},
        "inputs": {"n_maps": N_MAPS, "size": SIZE, "fwhm_px": FWHM, "n_injections": n_injections,
                   "zip_bytes": zip_bytes, "threshold": THRESHOLD},
        "in_process": total,
        "stages": stages,
        "fresh_process": fresh,
        "startup": startup,
        "scores": scores,
        "checks": {"same_scores": scores == fresh_scores},
        "verdicts": {"in_process_under_3s": total["best_s"] < TARGET_S,
                     "fresh_process_under_3s": fresh["best_s"] < TARGET_S},
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (f"scoring_{stamp}.json",) + (() if args.no_docs else ("scoring_latest.json",)):
        write_json(os.path.join(results_dir, name), report)
    markdown = render_markdown(report)
    print(markdown)
    if not args.no_docs:
        replace_section(args.docs, markdown)
        print(f"wrote {os.path.relpath(args.docs, ROOT)} and bench/results/scoring_{stamp}.json", file=sys.stderr)
    return 0 if all(report["verdicts"].values()) and report["checks"]["same_scores"] else 1


if __name__ == "__main__":
    sys.exit(main())
