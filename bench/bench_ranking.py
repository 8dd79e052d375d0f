"""Does the benchmark challenge rank the classical baselines? Scores with bootstrap intervals.

    python bench/bench_ranking.py [--baselines median pca ...] [--add] [--keep DIR] [--no-docs] [--render]

Builds the bundled benchmark challenge (``exobench build --challenge benchmark``;
the real NACO cube from ``../shared/data/real`` or ``$EXOBENCH_REAL_DATA`` when
there, timed), runs every ADI baseline, the classical ones and the statistical
detectors', on its phase 1 (``exobench.baselines.run_baseline``, default
parameters, in-process, one thread, timed) and scores the maps as ``bench/bench_detection.py`` does
(``_detection``): F1 at the baseline's own threshold, best F1, AUC, TPR at 1
false positive per dataset (all companions, and those inside 6 FWHM). A paired
bootstrap over the phase's datasets (the resampling of
``exobench.scoring.bootstrap``: datasets drawn with replacement, counts summed;
the same resamples for every baseline) gives each score's 95 % interval and,
for each pair of baselines, the 95 % interval of their difference: the pair is
separated when it excludes 0. Each baseline's zip is also submitted to the
challenge's leaderboard (``exobench submit``), whose ranking with its intervals
ends the section. Writes the "A benchmark that ranks" section of
docs/benchmarks.md, bench/results/ranking.json and each baseline's zip in
bench/results/ranking/; progress lines go to stderr.

``--add`` runs only the baselines named and ranks them with those of the last
run, read back from their zips: the challenge is built again (the same seed
makes the same datasets, checked against the last run's truth), so a slow
baseline joins the table without running the others again. The last run's
results are read when the run ends, so runs with ``--add`` may overlap.
"""

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread, publish  # noqa: E402

force_single_thread()

from _detection import (  # noqa: E402
    BANDS,
    ROOT,
    SCORE_DEFINITIONS,
    bootstrap_weights,
    compact_counts,
    dataset_counts,
    phase_curves,
    real_data,
    resampled_auc,
    resampled_scores,
    score,
)
from bench_detection import add_common_options, log, parse_common_options, run, warm_up  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
#: The raw results of the last run (git-ignored), which ``--render`` reads.
RESULTS = ROOT / "bench" / "results" / "ranking.json"
#: The last run's submission of each baseline (``NAME.zip``), which ``--add`` scores again.
ZIPS = RESULTS.with_suffix("")
START, END = "<!-- ranking-benchmark:start -->", "<!-- ranking-benchmark:end -->"
#: Bootstrap resamples of the phase's datasets, their seed and the intervals' level.
N_BOOTSTRAP, SEED, LEVEL = 1000, 0, 0.95
#: The false positives per dataset at which the TPR is read.
BUDGET = 1.0
#: The scores of the table and of the separation test: key, label, digits.
METRICS = (("f1", "F1 at its threshold", 2), ("best_f1", "best F1", 2), ("auc", "AUC", 3),
           ("tpr", f"TPR at {BUDGET:g} FP/dataset", 2), ("inner_tpr", f"TPR < 6 FWHM at {BUDGET:g} FP/dataset", 2))


def build(folder):
    """Build the benchmark challenge into ``folder``; its phase 1's public and reference folders, the seconds."""
    from exobench.builder import build_challenge, load_challenge
    from exobench.builder.definition import bundled_challenge

    real = real_data()
    if real is not None:  # the definition's NACO sources fall back on this folder (no download)
        os.environ.setdefault("EXOBENCH_REAL_DATA", str(real))
    start = time.perf_counter()
    result = build_challenge(load_challenge(bundled_challenge("benchmark")), folder, progress=False)
    seconds = time.perf_counter() - start
    return Path(folder) / "public" / "phase_1", Path(folder) / "reference" / "phase_1", seconds, result


def composition(reference):
    """Datasets per instrument, companions inside / beyond 6 FWHM and per S/N band, from truth.csv."""
    import csv

    with open(reference / "truth.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    instruments = {}
    for path in sorted(reference.glob("*_positions_*.fits")):
        name = path.name.split("_positions_")[0]
        instruments[name] = instruments.get(name, 0) + 1
    bands = {}
    for row in rows:
        bands[row["snr_band"]] = bands.get(row["snr_band"], 0) + 1
    separations = [float(row["separation_fwhm"]) for row in rows]
    snrs = [float(row["measured_snr"]) for row in rows]
    return {"instruments": instruments, "companions": len(rows),
            "inside_6_fwhm": sum(s < 6 for s in separations), "separation_fwhm": [min(separations), max(separations)],
            "snr_bands": bands, "measured_snr": [min(snrs), max(snrs)]}


def fingerprint(reference):
    """SHA-256 of the phase's truth (``truth.csv``): two builds of the challenge are the same when it is."""
    import hashlib

    return hashlib.sha256((Path(reference) / "truth.csv").read_bytes()).hexdigest()


def saved_runs(reference, skip, tmp):
    """The last run's baselines but ``skip``: ``{name: (maps, threshold, seconds)}`` and that run's record.

    Read from :data:`RESULTS` and the zips of :data:`ZIPS`; empty without a
    last run. A ValueError says when the last run's challenge was not this
    build (another seed or definition) or a zip is missing.
    """
    import json

    from exobench.scoring.reference import read_reference
    from exobench.submission import open_submission, read_submission

    if not RESULTS.is_file():
        return {}, None
    saved = json.loads(RESULTS.read_text())
    if saved.get("fingerprint") != fingerprint(reference):
        raise ValueError(f"{RESULTS}: the last run's challenge is not this build (its truth differs): "
                         "run every baseline again, without --add")
    phase = read_reference(reference)
    out = {}
    for name, seconds in saved["results"]["seconds"].items():
        if name in skip:
            continue
        path = ZIPS / f"{name}.zip"
        if not path.is_file():
            raise ValueError(f"{path}: the last run's submission of {name!r} is missing: run it again with --add")
        submission = read_submission(open_submission(path, tmp), phase)
        out[name] = (submission.detmaps, submission.threshold, seconds)
    return out, saved


def resampled(curves, thresholds, *, n=N_BOOTSTRAP, seed=SEED):
    """``{baseline: {metric: values per resample}}``, on one set of resamples of the datasets (paired)."""
    counts = {name: compact_counts(dataset_counts(c), keep=(thresholds[name],)) for name, c in curves.items()}
    weights = bootstrap_weights(len(next(iter(counts.values()))["tp"]), n=n, seed=seed)
    out = {}
    for name, c in counts.items():
        inner, f1 = resampled_scores(c, weights, thresholds[name])
        everything, best = resampled_scores(c, weights, band="all")
        out[name] = {"f1": f1, "best_f1": best, "auc": resampled_auc(c, weights), "tpr": everything[BUDGET],
                     "inner_tpr": inner[BUDGET]}
    return out


def _interval(values):
    import numpy as np

    values = values[~np.isnan(values)]
    if not values.size:
        return None
    low, high = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return [float(low), float(high)]


def intervals(samples):
    """The 95 % interval of each baseline's scores."""
    return {name: {key: _interval(values) for key, values in metrics.items()} for name, metrics in samples.items()}


def separations(samples, points):
    """Per metric: the baselines by decreasing score, and every pair's difference interval and verdict."""
    out = {}
    for key, _, _ in METRICS:
        order = sorted(samples, key=lambda name: -points[name][key])
        pairs = []
        for a, b in itertools.combinations(order, 2):
            difference = _interval(samples[a][key] - samples[b][key])
            separated = difference is not None and (difference[0] > 0 or difference[1] < 0)
            pairs.append({"better": a, "worse": b, "difference": difference, "separated": separated})
        out[key] = {"order": order, "pairs": pairs}
    return out


def point_scores(s):
    """The table's scores of one baseline from ``_detection.score``."""
    return {"f1": s["at_threshold"]["f1"], "best_f1": s["best_f1"]["f1"], "auc": s["all"]["auc"],
            "tpr": s["all"]["tpr_at_fp"][str(BUDGET)], "inner_tpr": s["0-6 FWHM"]["tpr_at_fp"][str(BUDGET)]}


def submit_all(zips, reference):
    """Submit each baseline's zip to the challenge's leaderboard; its ranking as text (the intervals included)."""
    from exobench.leaderboard import ranking, ranking_text, submit

    for name, path in zips.items():
        submit(path, reference, name=name)
    return ranking_text(ranking(reference.parents[1], phase=1))


def section(r, runs):
    import exobench
    from bench_core import machine_info

    m = machine_info()
    c = r["composition"]
    instruments = ", ".join(f"{k} x {v}" for k, v in c["instruments"].items())
    bands = ", ".join(f"{k}: {v}" for k, v in sorted(c["snr_bands"].items()))
    slowest = max(r["seconds"], key=r["seconds"].get)
    lines = [START, "## A benchmark that ranks: the baselines on `exobench build --challenge benchmark`", "",
             "Generated by `bench/bench_ranking.py`; do not edit this section by hand.", ""]
    for i, entry in enumerate(runs):
        lines.append(f"- {'Run' if i == 0 else 'Added by the run'}: {entry['when'] or 'date not recorded'}, "
                     f"command `{entry['command']}`, {entry['seconds'] / 60:.1f} min in all, ran "
                     f"{', '.join(f'`{n}`' for n in entry['baselines'])}; load average before / after: "
                     f"{entry['load'][0]} / {entry['load'][1]}.")
    lines += [f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, "
              f"{m['os']}; other jobs shared it (the load averages above), so the seconds are those of a loaded "
              "machine.",
              f"- exobench {exobench.__version__}. **Build**: {r['build_seconds']:.0f} s wall time "
              f"({', '.join(f'{k} {v:.0f} s' for k, v in r['build_timings'].items())}), in-process, "
              f"target < 5 min. Phase 1 (`adi`): {r['n_datasets']} datasets ({instruments}; `naco` x 3 simulated "
              f"and, when found, x 3 the real NACO cube), {c['companions']} companions, {c['inside_6_fwhm']} inside "
              f"6 FWHM, separations {c['separation_fwhm'][0]:.1f} to {c['separation_fwhm'][1]:.1f} FWHM, target S/N "
              f"bands {bands}, measured S/N {c['measured_snr'][0]:.1f} to {c['measured_snr'][1]:.1f}.",
              "- Every baseline, the classical ones and the statistical detectors', with its default parameters "
              "(`exobench.baselines.run_baseline`, its own detection map and threshold), in-process, one thread; "
              "seconds: its run over the phase (reading, processing, detection map) after one untimed run on a "
              "small synthetic dataset (compilation). A baseline added by a later run is ranked from its zip with "
              "those of the earlier runs, read back on the same build. "
              f"Slowest: `{slowest}`, {r['seconds'][slowest]:.0f} s. The `cnn` baseline is left out: it trains "
              "a network first (`bench/bench_cnn.py`, docs/cnn.md), beyond minutes on these cores. "
              + SCORE_DEFINITIONS,
              f"- Intervals: {LEVEL:.0%} percentile bootstrap over the phase's **datasets** ({N_BOOTSTRAP} resamples "
              f"with replacement, seed {SEED}, as `exobench.scoring.bootstrap`: a resample's counts are summed), the "
              "same resamples for every baseline. The F1 interval at the threshold is the one `exobench leaderboard` "
              "shows (same resamples, same counts).", ""]
    names = ["method"] + [f"{label} [{LEVEL:.0%}]" for _, label, _ in METRICS] + ["seconds"]
    lines += ["| " + " | ".join(names) + " |", "| --- |" + " ---: |" * (len(names) - 1)]
    order = r["separations"]["f1"]["order"]
    for name in order:
        cells = [f"`{name}`"]
        for key, _, digits in METRICS:
            value, span = r["points"][name][key], r["intervals"][name][key]
            cells.append(f"{value:.{digits}f}" + (f" [{span[0]:.{digits}f}, {span[1]:.{digits}f}]" if span else ""))
        cells.append(f"{r['seconds'][name]:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Rows by F1 at the threshold. **Is the ranking decided by the intervals?** A pair of baselines is "
              f"separated when the {LEVEL:.0%} bootstrap interval of their paired difference excludes 0:", ""]
    n_pairs = len(order) * (len(order) - 1) // 2
    for key, label, digits in METRICS:
        verdict = r["separations"][key]
        separated = [p for p in verdict["pairs"] if p["separated"]]
        ranked = verdict["order"]
        adjacent = []
        for a, b in zip(ranked, ranked[1:]):
            pair = next(p for p in verdict["pairs"] if p["better"] == a and p["worse"] == b)
            adjacent.append(f"`{a}` {'>' if pair['separated'] else '~'} `{b}`")
        listed = ", ".join(f"`{p['better']}` > `{p['worse']}`" for p in separated) or "none"
        lines.append(f"- {label}: {len(separated)} of {n_pairs} pairs separated ({listed}); neighbours in order: "
                     f"{', '.join(adjacent)} (`>`: separated, `~`: not).")
    lines += ["", "The leaderboard of the built challenge after `exobench submit` of each baseline's zip "
              "(`exobench leaderboard OUT`; 95 % intervals over the datasets, seeded):", "", "```",
              r["leaderboard"].rstrip(), "```", "", END]
    return "\n".join(lines) + "\n"


def keep_zips(zips, *, fresh):
    """Copy this run's zips into :data:`ZIPS` (atomically each); ``fresh``: remove the others first."""
    import shutil

    from exobench._atomic import atomic_write

    ZIPS.mkdir(parents=True, exist_ok=True)
    if fresh:
        for path in ZIPS.glob("*.zip"):
            if path.stem not in zips:
                path.unlink()
    for name, path in zips.items():
        if Path(path).parent != ZIPS:
            with open(path, "rb") as source, atomic_write(ZIPS / f"{name}.zip") as target:
                shutil.copyfileobj(source, target)


def check_same_build(reference):
    """Exit with one line when the last run's challenge is not this build (before running anything)."""
    import json

    if RESULTS.is_file() and json.loads(RESULTS.read_text()).get("fingerprint") != fingerprint(reference):
        sys.exit(f"bench_ranking.py: {RESULTS}: the last run's challenge is not this build (its truth differs): "
                 "run every baseline again, without --add")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser)
    parser.add_argument("--add", action="store_true",
                        help="run only the baselines of --baselines and rank them with the last run's ones "
                             f"(their zips in {ZIPS}; the challenge built again, checked to be the same)")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="build the challenge in DIR (which must not exist) and keep it, with its leaderboard")
    parser.add_argument("--render", action="store_true",
                        help=f"write the section again from the last run's {RESULTS} (no run)")
    args, baselines = parse_common_options(parser, argv)
    if args.add:  # the reference of the comparisons comes from the last run when it has it
        baselines = list(dict.fromkeys(args.baselines))
    if args.render:
        import json

        saved = json.loads(RESULTS.read_text())
        publish(section(saved["results"], history(saved)), saved, doc=DOC,
                start=START, end=END, name=RESULTS.name, no_docs=args.no_docs, log=log)
        return
    if args.keep is not None and os.path.exists(args.keep):
        parser.error(f"--keep: {args.keep!r} exists; give a new folder")
    from exobench.scoring.reference import read_reference
    from exobench.submission import write_submission

    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(baselines, tmp)
        log("building the benchmark challenge ...")
        public, ref, build_seconds, built = build(args.keep or os.path.join(tmp, "benchmark"))
        log(f"  {build_seconds:.1f} s")
        if args.add:
            check_same_build(ref)
        reference = read_reference(ref)
        runs, zips = {}, {}
        for name in baselines:
            log(f"{name} ...")
            out = run(name, public)
            runs[name] = (out["maps"], out["threshold"], out["seconds"])
            zips[name] = write_submission(out["maps"], out["threshold"], os.path.join(tmp, f"{name}.zip"))
            log(f"  {out['seconds']:.1f} s")
        saved = None
        if args.add:  # read when this run ends: another run with --add may have finished meanwhile
            log("the last run's baselines ...")
            try:
                earlier, saved = saved_runs(ref, runs, tmp)
            except ValueError as error:
                sys.exit(f"bench_ranking.py: {error}")
            runs.update(earlier)
            zips.update({name: ZIPS / f"{name}.zip" for name in earlier})
        curves, scores, seconds, thresholds = {}, {}, {}, {}
        for name, (maps, threshold, spent) in runs.items():
            curves[name] = phase_curves(maps, threshold, reference)
            scores[name] = score(curves[name], threshold)
            seconds[name], thresholds[name] = spent, threshold
            s = point_scores(scores[name])
            log(f"{name}: F1 {s['f1']:.2f}, AUC {s['auc']:.3f}, TPR at 1 FP {s['tpr']:.2f}")
        log("bootstrap ...")
        samples = resampled(curves, thresholds)
        points = {name: point_scores(s) for name, s in scores.items()}
        log("leaderboard ...")
        board = submit_all(zips, ref)
        first = saved["results"] if saved else {"build_seconds": build_seconds, "build_timings": built.timings}
        results = {"build_seconds": first["build_seconds"], "build_timings": first["build_timings"],
                   "n_datasets": next(iter(scores.values()))["n_datasets"], "composition": composition(ref),
                   "points": points, "intervals": intervals(samples), "separations": separations(samples, points),
                   "seconds": seconds, "scores": scores, "leaderboard": board}
        if not args.no_docs:
            keep_zips({name: zips[name] for name in baselines}, fresh=not args.add)
        checked = fingerprint(ref)
    seconds = time.perf_counter() - started
    load = (load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    command = ("python bench/bench_ranking.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    this = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "command": command, "load": load,
            "seconds": seconds, "baselines": baselines}
    report = {"results": results, "seconds": seconds, "command": command, "load": load, "bands": BANDS,
              "fingerprint": checked, "runs": (history(saved) if saved else []) + [this]}
    publish(section(results, report["runs"]), report, doc=DOC, start=START, end=END, name=RESULTS.name,
            no_docs=args.no_docs, log=log)


def history(saved):
    """The runs that made a saved result: ``[{when, command, load, seconds, baselines}]``, the first first."""
    return saved.get("runs") or [{"when": None, "command": saved["command"], "load": saved["load"],
                                  "seconds": saved["seconds"], "baselines": list(saved["results"]["seconds"])}]


if __name__ == "__main__":
    main()
