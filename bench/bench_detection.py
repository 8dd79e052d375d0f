"""Detection quality of every classical baseline and statistical detector, scored, against annular PCA.

    python bench/bench_detection.py [--phases default simulated naco] [--baselines median pca ...]
                                    [--naco N] [--naco-seed SEED] [--quick] [--no-docs]

The phases of ``bench_cnn.py`` (``_detection.build_phases``): the default
challenge's phase 1, that phase's simulated instruments several times each
(independent noise realisations) and copies of the real NACO cube with injected
companions (from ``../shared/data/real`` or ``$EXOBENCH_REAL_DATA``; skipped
without it; ``--naco-seed`` draws another, independent set of copies). On
each, every classical ADI baseline and every statistical detector's baseline
(``exobench.baselines.run_baseline``, default parameters, in-process, one
thread) makes its detection maps, timed; the maps are scored with
``exobench.scoring.curves.roc_by_separation``: TPR at equal false positives
per dataset inside 6 FWHM and from 6 to 20 FWHM, AUC, F1 at the baseline's own
threshold, best F1. A paired bootstrap over each phase's datasets (the same
resamples for every baseline) gives the 90 % interval of each baseline's AUC,
TPR inside 6 FWHM at 1 false positive per dataset minus annular PCA's, and of
its F1 at its own threshold minus annular PCA's best F1.
Writes the "Detection quality of the baselines" section of docs/benchmarks.md
and bench/results/detection.json; progress lines go to stderr.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread, publish  # noqa: E402

force_single_thread()

from _detection import (  # noqa: E402
    N_BOOTSTRAP,
    N_NACO,
    N_REALISATIONS,
    NACO_SEED,
    PHASES,
    ROOT,
    SCORE_DEFINITIONS,
    bootstrap_weights,
    build_phases,
    compact_counts,
    dataset_counts,
    phase_curves,
    resampled_auc,
    resampled_scores,
    score,
    score_cells,
    score_header,
)

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- detection-benchmark:start -->", "<!-- detection-benchmark:end -->"
#: The classical baselines of ADI data (``exobench baseline --list``; the CNN has its own bench).
CLASSICAL = ("median", "median-annular", "pca", "pca-annular", "llsg", "pairwise", "loci", "nmf", "nmf-annular")


def detector_baselines():
    """The statistical detectors' baselines in the registry, so that a new one is measured without an edit here."""
    from exobench.baselines import available_baselines, get_baseline
    from exobench.baselines.statistical import DetectorBaseline

    return tuple(name for name in available_baselines() if issubclass(get_baseline(name), DetectorBaseline))


#: Every baseline measured: the classical ones and the statistical detectors'.
BASELINES = CLASSICAL + detector_baselines()
#: The baseline every other one is compared with in the bootstrap (always run).
REFERENCE = "pca-annular"
#: The FP budget (per dataset) of the bootstrapped TPR inside 6 FWHM.
BOOTSTRAP_BUDGET = 1.0
#: Simulated realisations and NACO copies of ``--quick`` (a smoke run).
QUICK_REALISATIONS, QUICK_NACO = 1, 2


def log(line):
    print(line, file=sys.stderr, flush=True)


def check_baselines(names):
    """``names`` with the reference added first if missing; a ValueError names an unknown one."""
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise ValueError(f"--baselines: expected names among {', '.join(BASELINES)}, got {', '.join(unknown)}")
    names = list(dict.fromkeys(names))
    return names if REFERENCE in names else [REFERENCE, *names]


def add_common_options(parser):
    """``--baselines`` and ``--no-docs``, the options of the benchmarks that run every baseline."""
    parser.add_argument("--baselines", nargs="+", default=list(BASELINES), metavar="NAME",
                        help=f"baselines to run (default: all classical ones and the detectors'; {REFERENCE} is always run)")
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")


def parse_common_options(parser, argv):
    """The parsed arguments and the checked baselines (a usage error names an unknown one)."""
    args = parser.parse_args(argv)
    try:
        return args, check_baselines(args.baselines)
    except ValueError as error:
        parser.error(str(error))


def run(name, public):
    """Baseline ``name``'s maps of every dataset of ``public``, its threshold and the seconds it took."""
    from exobench.baselines import run_baseline

    start = time.perf_counter()
    result = run_baseline(name, public)
    return {"maps": result.maps, "threshold": result.threshold, "seconds": time.perf_counter() - start}


def warm_up(names, tmp):
    """Run each baseline once on a small synthetic dataset: compilation is not part of the timings."""
    from exobench.data.fits_io import write_dataset
    from exobench.examples import example_dataset

    folder = os.path.join(tmp, "warm-up")
    os.makedirs(folder)
    write_dataset(example_dataset(n_frames=20, size=41), folder)
    for name in names:
        log(f"warm-up: {name} ...")
        run(name, folder)


def paired_differences(curves, thresholds, *, n=N_BOOTSTRAP, seed=0):
    """5th, 50th and 95th percentiles of each baseline's scores minus the reference's, on the same resamples.

    ``curves``: ``{baseline: phase curves}``; ``thresholds``: ``{baseline: its
    own threshold}``. The differences: AUC, TPR inside 6 FWHM at
    :data:`BOOTSTRAP_BUDGET` FP/dataset, and F1 at the baseline's threshold
    minus the reference's best F1 (what a detector must reach without choosing
    its threshold on the truth). One set of resamples of the datasets for every
    baseline (paired); resamples that leave a statistic undefined (no inner
    companion drawn) are left out of that statistic.
    """
    import numpy as np

    # the compacted grids give the same scores of every resample, for a fraction of the cost on long grids
    counts = {name: compact_counts(dataset_counts(c), keep=(thresholds[name],)) for name, c in curves.items()}
    weights = bootstrap_weights(len(counts[REFERENCE]["tp"]), n=n, seed=seed)

    def statistics(c, threshold):
        tpr, f1 = resampled_scores(c, weights, threshold)
        return resampled_auc(c, weights), tpr[BOOTSTRAP_BUDGET], f1

    reference = statistics(counts[REFERENCE], None)  # its F1: the best of each resample
    out = {}
    for name, c in counts.items():
        row = {"n": int(n), "seed": int(seed)}
        for key, mine, ref in zip(("auc", "inner_tpr", "f1_vs_best"), statistics(c, thresholds[name]), reference):
            difference = (mine - ref)[~np.isnan(mine - ref)]
            row[key] = [float(v) for v in np.percentile(difference, [5, 50, 95])] if difference.size else None
            row[f"{key}_resamples"] = int(difference.size)
        out[name] = row
    return out


def _interval(values):
    return "n/a" if values is None else f"{values[1]:+.3f} ({values[0]:+.3f} to {values[2]:+.3f})"


def section(results, command, load, seconds, realisations, naco):
    import exobench
    from bench_core import machine_info

    m = machine_info()
    budget = f"{BOOTSTRAP_BUDGET:g}"
    lines = [START, "## Detection quality of the baselines", "",
             "Generated by `bench/bench_detection.py`; do not edit this section by hand.", "",
             f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`, "
             f"{seconds / 60:.1f} min in all.",
             f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, "
             f"{m['os']}. Load average before / after: {load[0]} / {load[1]} (other jobs shared the machine).",
             f"- exobench {exobench.__version__}. Every baseline with its default parameters "
             "(`exobench.baselines.run_baseline`, its own detection map and threshold), in-process, one thread; "
             "seconds: the baseline's run over the phase's datasets (reading, processing, detection map), after "
             "one untimed run on a small synthetic dataset (compilation). "
             f"Phases as `bench/bench_cnn.py`'s: the simulated instruments x {realisations}"
             + (f", the real NACO cube x {naco} with injections." if naco else ".") + " " + SCORE_DEFINITIONS,
             f"- Paired bootstrap over each phase's datasets ({N_BOOTSTRAP} resamples with replacement, seed 0, the "
             "same for every baseline): median (5th to 95th percentile, the 90 % interval) of the baseline's AUC and "
             f"TPR inside 6 FWHM at {budget} FP/dataset minus annular PCA's (`{REFERENCE}`) on the same resample, "
             "and of its F1 at its own threshold minus annular PCA's best F1 (the best threshold of each resample); "
             "resamples with no companion inside 6 FWHM are left out of the TPR.", ""]
    extra = ("seconds", "AUC - annular PCA's (90 %)", f"TPR < 6 FWHM at {budget} FP - annular PCA's (90 %)",
             "F1 at its threshold - annular PCA's best F1 (90 %)")
    for phase, r in results.items():
        lines += [f"### {phase}: {r['n_datasets']} datasets, {r['n_injections']} companions "
                  f"({r['n_inner']} inside 6 FWHM)", "", *score_header(extra)]
        for name, s in r["scores"].items():
            boot = r["bootstrap"][name]
            differences = (["reference"] * 2 if name == REFERENCE
                           else [_interval(boot["auc"]), _interval(boot["inner_tpr"])])
            differences.append(_interval(boot.get("f1_vs_best")))
            lines.append("| " + " | ".join([f"`{name}`", *score_cells(s), f"{r['seconds'][name]:.1f}",
                                            *differences]) + " |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES,
                        help="phases to measure (default: all)")
    add_common_options(parser)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REALISATIONS} realisation(s) of the simulated instruments and "
                             f"{QUICK_NACO} NACO copies (a smoke run)")
    parser.add_argument("--realisations", type=int, default=None,
                        help=f"realisations of each simulated instrument (default {N_REALISATIONS})")
    parser.add_argument("--naco", type=int, default=None, help=f"injected copies of the NACO cube (default {N_NACO})")
    parser.add_argument("--naco-seed", type=int, default=NACO_SEED,
                        help=f"seed of the NACO copies' build (default {NACO_SEED}); the first copies of two runs "
                             "with the same seed are the same datasets, another seed gives independent ones")
    args, baselines = parse_common_options(parser, argv)
    if args.realisations is None:
        args.realisations = QUICK_REALISATIONS if args.quick else N_REALISATIONS
    if args.naco is None:
        args.naco = QUICK_NACO if args.quick else N_NACO
    realisations, naco = args.realisations, args.naco
    if realisations < 1 or naco < 1:
        parser.error("--realisations and --naco: expected integers >= 1")
    if args.naco_seed < 0:
        parser.error(f"--naco-seed: expected an integer >= 0, got {args.naco_seed}")
    from exobench.scoring.reference import read_reference

    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(baselines, tmp)
        phases = build_phases(tmp, phases=args.phases, realisations=realisations, naco=naco,
                              naco_seed=args.naco_seed, log=log)
        for phase, (public, ref) in phases.items():
            reference = read_reference(ref)
            curves, scores, seconds, thresholds = {}, {}, {}, {}
            for name in baselines:
                log(f"{phase}: {name} ...")
                out = run(name, public)
                curves[name] = phase_curves(out["maps"], out["threshold"], reference)
                scores[name] = score(curves[name], out["threshold"])
                seconds[name] = out["seconds"]
                thresholds[name] = out["threshold"]
                s = scores[name]
                log(f"  {out['seconds']:.1f} s, AUC {s['all']['auc']:.3f}, TPR<6 at 1 FP/dataset "
                    f"{s['0-6 FWHM']['tpr_at_fp']['1.0']:.2f}, F1 at threshold {s['at_threshold']['f1']:.2f}, "
                    f"best {s['best_f1']['f1']:.2f}")
            log(f"{phase}: paired bootstrap ...")
            first = scores[REFERENCE]
            results[phase] = {"n_datasets": first["n_datasets"], "n_injections": first["all"]["n_injections"],
                              "n_inner": first["0-6 FWHM"]["n_injections"], "scores": scores, "seconds": seconds,
                              "bootstrap": paired_differences(curves, thresholds)}
    seconds = time.perf_counter() - started
    load = (load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    command = "python bench/bench_detection.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = section(results, command.strip(), load, seconds, realisations,
                   naco if "naco" in args.phases and any("NACO" in p for p in results) else 0)
    publish(text, {"results": results, "seconds": seconds, "command": command.strip(), "load": load},
            doc=DOC, start=START, end=END, name="detection.json", no_docs=args.no_docs, log=log)


if __name__ == "__main__":
    main()
