"""Does the benchmark challenge rank the classical baselines? Scores with bootstrap intervals.

    python bench/bench_ranking.py [--baselines median pca ...] [--keep DIR] [--no-docs] [--render]

Builds the bundled benchmark challenge (``exobench build --challenge benchmark``;
the real NACO cube from ``../shared/data/real`` or ``$EXOBENCH_REAL_DATA`` when
there, timed), runs every classical ADI baseline on its phase 1
(``exobench.baselines.run_baseline``, default parameters, in-process, one
thread, timed) and scores the maps as ``bench/bench_detection.py`` does
(``_detection``): F1 at the baseline's own threshold, best F1, AUC, TPR at 1
false positive per dataset (all companions, and those inside 6 FWHM). A paired
bootstrap over the phase's datasets (the resampling of
``exobench.scoring.bootstrap``: datasets drawn with replacement, counts summed;
the same resamples for every baseline) gives each score's 95 % interval and,
for each pair of baselines, the 95 % interval of their difference: the pair is
separated when it excludes 0. Each baseline's zip is also submitted to the
challenge's leaderboard (``exobench submit``), whose ranking with its intervals
ends the section. Writes the "A benchmark that ranks" section of
docs/benchmarks.md and bench/results/ranking.json; progress lines go to stderr.
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
from bench_detection import REFERENCE, add_common_options, log, parse_common_options, run, warm_up  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
#: The raw results of the last run (git-ignored), which ``--render`` reads.
RESULTS = ROOT / "bench" / "results" / "ranking.json"
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


def section(r, command, load, seconds):
    import exobench
    from bench_core import machine_info

    m = machine_info()
    c = r["composition"]
    instruments = ", ".join(f"{k} x {v}" for k, v in c["instruments"].items())
    bands = ", ".join(f"{k}: {v}" for k, v in sorted(c["snr_bands"].items()))
    slowest = max(r["seconds"], key=r["seconds"].get)
    lines = [START, "## A benchmark that ranks: the baselines on `exobench build --challenge benchmark`", "",
             "Generated by `bench/bench_ranking.py`; do not edit this section by hand.", "",
             f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`, "
             f"{seconds / 60:.1f} min in all.",
             f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, "
             f"{m['os']}. Load average before / after: {load[0]} / {load[1]} (other jobs shared the machine).",
             f"- exobench {exobench.__version__}. **Build**: {r['build_seconds']:.0f} s wall time "
             f"({', '.join(f'{k} {v:.0f} s' for k, v in r['build_timings'].items())}), in-process, "
             f"target < 5 min. Phase 1 (`adi`): {r['n_datasets']} datasets ({instruments}; `naco` x 3 simulated "
             f"and, when found, x 3 the real NACO cube), {c['companions']} companions, {c['inside_6_fwhm']} inside "
             f"6 FWHM, separations {c['separation_fwhm'][0]:.1f} to {c['separation_fwhm'][1]:.1f} FWHM, target S/N "
             f"bands {bands}, measured S/N {c['measured_snr'][0]:.1f} to {c['measured_snr'][1]:.1f}.",
             "- Every classical baseline with its default parameters (`exobench.baselines.run_baseline`, its own "
             "detection map and threshold), in-process, one thread; seconds: its run over the phase (reading, "
             "processing, detection map) after one untimed run on a small synthetic dataset (compilation). "
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser)
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="build the challenge in DIR (which must not exist) and keep it, with its leaderboard")
    parser.add_argument("--render", action="store_true",
                        help=f"write the section again from the last run's {RESULTS} (no run)")
    args, baselines = parse_common_options(parser, argv)
    if args.render:
        import json

        saved = json.loads(RESULTS.read_text())
        publish(section(saved["results"], saved["command"], saved["load"], saved["seconds"]), saved, doc=DOC,
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
        reference = read_reference(ref)
        curves, scores, seconds, thresholds, zips = {}, {}, {}, {}, {}
        for name in baselines:
            log(f"{name} ...")
            out = run(name, public)
            curves[name] = phase_curves(out["maps"], out["threshold"], reference)
            scores[name] = score(curves[name], out["threshold"])
            seconds[name], thresholds[name] = out["seconds"], out["threshold"]
            zips[name] = write_submission(out["maps"], out["threshold"], os.path.join(tmp, f"{name}.zip"))
            s = point_scores(scores[name])
            log(f"  {out['seconds']:.1f} s, F1 {s['f1']:.2f}, AUC {s['auc']:.3f}, TPR at 1 FP {s['tpr']:.2f}")
        log("bootstrap ...")
        samples = resampled(curves, thresholds)
        points = {name: point_scores(s) for name, s in scores.items()}
        log("leaderboard ...")
        board = submit_all(zips, ref)
        results = {"build_seconds": build_seconds, "build_timings": built.timings,
                   "n_datasets": scores[REFERENCE]["n_datasets"], "composition": composition(ref), "points": points,
                   "intervals": intervals(samples), "separations": separations(samples, points),
                   "seconds": seconds, "scores": scores, "leaderboard": board}
    seconds = time.perf_counter() - started
    load = (load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    command = ("python bench/bench_ranking.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    publish(section(results, command, load, seconds), {"results": results, "seconds": seconds, "command": command,
                                                        "load": load, "bands": BANDS},
            doc=DOC, start=START, end=END, name=RESULTS.name, no_docs=args.no_docs, log=log)


if __name__ == "__main__":
    main()
