"""Benchmark of the CNN baseline against annular PCA, with the scorer.

    python bench/bench_cnn.py [--quick] [--models na-conv3d conv3d] [--no-docs]

Three phases with held-out truth: (1) phase 1 of the default challenge (built
here with `exobench.builder`, the real NACO cube included when
`../shared/data/real` or `$EXOBENCH_REAL_DATA` holds it), (2) that phase's
simulated instruments six times each (independent noise realisations, with the
default challenge's seed and injection recipe: enough companions to measure
what the default phase's four cannot) and (3) eight copies of
the real NACO cube with 2 to 4 companions each, injected by the builder (S/N
1-3 and 3-5, inverse angles, as the EIDC organisers did). On each, annular
PCA's S/N map (the `pca-annular` baseline) and the CNN baseline's significance
maps (`exobench.cnn.pipeline.detection_map`, the baseline's own function: per
dataset labelled samples of the dataset itself, training, the probability map
and its null), scored with `exobench.scoring.curves.roc_by_separation`:
the TPR of each method at equal false positives per dataset, inside and outside
6 FWHM; the CNN's F1 at its calibrated threshold (-log10 fpr) against annular
PCA's best F1 over all thresholds and its F1 at S/N 5. A third detector is a
reference for white-noise-limited data: classical ADI (temporal mean
subtracted, derotated, mean-combined) and the PSF's matched filter over each
annulus's noise (`exobench.cnn.matched_filter.matched_filter_snr`), the optimal
linear detector of a point source in white noise; where it does not reach 2x
annular PCA's TPR, no detector can be expected to. A fourth row recalibrates the
first CNN's own probability maps with ALTERNATIVE (a normal tail above each
group's largest negative, fpr 1e-4; docs/cnn-results.md). A paired
bootstrap over each phase's datasets says how often a resample meets each
target. Timings: samples,
training (CPU), maps, and the network's patches per second. Writes the
"CNN" section of docs/benchmarks.md and bench/results/cnn.json.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread, publish  # noqa: E402

force_single_thread()

from _detection import (  # noqa: E402
    FP_BUDGETS,
    N_BOOTSTRAP,
    SCORE_DEFINITIONS,
    bootstrap_weights,
    build_phases,
    dataset_counts,
    phase_curves,
    resampled_scores,
    score,
    score_cells,
    score_header,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- cnn-benchmark:start -->", "<!-- cnn-benchmark:end -->"
#: Patches per network call when timing the network alone.
PATCH_BATCH = 4096
#: The white-noise reference detector's name in the tables.
MATCHED = "ADI + matched filter (reference)"
#: Another calibration (docs/cnn-results.md), applied to the first model's same probability maps.
ALTERNATIVE = {"calibration_tail": "normal", "fpr": 1e-4}
ALTERNATIVE_NAME = "normal tail, fpr 1e-4 (not the default)"

# -- methods ------------------------------------------------------------------------------------


def run_pca(public):
    from exobench.baselines import run_baseline

    start = time.perf_counter()
    result = run_baseline("pca-annular", public)
    return {"maps": result.maps, "threshold": result.threshold, "seconds": time.perf_counter() - start}


def run_matched_filter(public):
    """Classical ADI (mean) and the PSF's matched filter, in S/N units per annulus: the white-noise reference."""
    import numpy as np

    from exobench.cnn.matched_filter import matched_filter_snr
    from exobench.cnn.mlar import mlar_frames
    from exobench.data.fits_io import find_datasets, read_dataset

    start = time.perf_counter()
    maps = {}
    for instrument, k in find_datasets(public):
        dataset = read_dataset(public, instrument, k)
        # level 0: the mean-subtracted cube, derotated and mean-combined (classical ADI)
        mlar = mlar_frames(dataset, levels=(0.0,), collapse="mean")
        snr = matched_filter_snr(mlar, dataset.psf)[0][0].astype(np.float64)
        region = np.any(mlar.frames != 0, axis=0)
        maps[instrument, k] = np.where(region, snr, np.nan)
    return {"maps": maps, "threshold": 5.0, "seconds": time.perf_counter() - start}


def run_cnn(public, options, model, alternative=None):
    """The CNN baseline's map of every dataset (`exobench.cnn.pipeline.detection_map`), timed.

    ``alternative``: calibration options (``cnn`` keys) that also turn the same
    probability maps into significance maps, returned under ``"alternative"``.
    """
    import dataclasses

    from exobench.cnn.pipeline import detection_map, recalibrate
    from exobench.data.fits_io import find_datasets, read_dataset

    options = dataclasses.replace(options, model=model)
    maps, masks, rows, alternative_maps = {}, {}, [], {}
    other = None if alternative is None else dataclasses.replace(options, **alternative)
    for instrument, k in find_datasets(public):
        dataset = read_dataset(public, instrument, k)
        result = detection_map(dataset, options)
        maps[instrument, k] = result.map
        masks[instrument, k] = result.probability.mask
        if other is not None:
            alternative_maps[instrument, k] = recalibrate(result, other, dataset.angles)
        networks = result.networks
        last = networks[-1]
        rows.append({"samples_s": sum(n.samples_s for n in networks), "train_s": sum(n.train_s for n in networks),
                     "maps_s": result.maps_s, "epochs": [n.trained.metadata["epochs_run"] for n in networks],
                     "val_auc": [n.trained.metadata["metrics"]["auc"] for n in networks],
                     "val_accuracy": [n.trained.metadata["metrics"]["accuracy"] for n in networks],
                     "dataset": f"{instrument}_{k}", "shape": list(dataset.cube.shape),
                     "pixels": result.probability.n_patches, "patches_per_s": patch_rate(last.trained, last.samples),
                     "device": last.trained.metadata["device"], "networks": len(networks),
                     "null_maps": len(result.nulls)})
    out = {"maps": maps, "masks": masks, "threshold": options.threshold, "datasets": rows}
    if other is not None:
        out["alternative"] = {"maps": alternative_maps, "threshold": other.threshold}
    return out


#: Noise pixels, for the realised false-positive rate: farther than this (FWHM) from every companion.
NOISE_EXCLUSION = 3.0
#: Significance levels at which the realised per-pixel rate is compared with the promised one.
RATE_LEVELS = (2.0, 3.0)


def noise_exceedance(maps, masks, reference, levels):
    """Per instrument, the share of noise pixels above each significance level, and their count.

    Noise pixels: those of each map's mask farther than :data:`NOISE_EXCLUSION` FWHM from every
    companion of the truth. A calibrated map has about ``10**-level`` of them above ``level``.
    """
    import numpy as np

    out = {}
    for d in reference.datasets:
        key = (d.instrument, d.dataset_id)
        keep = masks[key].copy()
        yy, xx = np.indices(keep.shape)
        for x, y in (np.atleast_2d(d.positions) if d.positions is not None and len(d.positions) else []):
            keep &= np.hypot(xx - x, yy - y) > NOISE_EXCLUSION * float(d.fwhm)
        counts = out.setdefault(d.instrument, {"pixels": 0, **{str(level): 0 for level in levels}})
        counts["pixels"] += int(keep.sum())
        for level in levels:
            counts[str(level)] += int(np.count_nonzero(maps[key][keep] > level))
    return out


def exceedance_line(counts):
    """One line: the realised per-pixel rates of the CNN's significance map against the promised ones."""
    levels = sorted({float(k) for c in counts.values() for k in c if k != "pixels"})
    cells = []
    for instrument, c in sorted(counts.items()):
        rates = ", ".join(f"{c[str(level)] / max(c['pixels'], 1):.1e}" for level in levels)
        cells.append(f"{instrument} {rates} ({c['pixels']} pixels)")
    promised = ", ".join(f"{10 ** -level:.0e} above {level:.3g}" for level in levels)
    return (f"Calibration of the CNN's map (one threshold for every dataset): the share of noise pixels (more than "
            f"{NOISE_EXCLUSION:g} FWHM from every companion) above a significance, which promises {promised}: "
            + "; ".join(cells) + ". Few independent resolution elements (large FWHM) make these shares noisy.")


def patch_rate(trained, samples, *, count=8192, repeats=1, threads=1):
    """Patches per second of the network alone (inputs prepared, batches of PATCH_BATCH; best of ``repeats``)."""
    import numpy as np

    x = np.concatenate([samples.x] * max(1, count // len(samples)))
    seps = np.resize(samples.separations, len(x))
    trained.predict(x[:256], seps[:256], samples.fwhm, threads=threads)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        trained.predict(x, seps, samples.fwhm, batch_size=PATCH_BATCH, threads=threads)
        best = min(best, time.perf_counter() - start)
    return len(x) / best


# -- scores -------------------------------------------------------------------------------------


def bootstrap_targets(methods, pca_curves, *, n=N_BOOTSTRAP, seed=0):
    """How often a resample of the phase's datasets meets each target (paired bootstrap).

    ``methods`` maps a name to ``(curves, threshold)``. Resamples the datasets
    with replacement ``n`` times (seeded), recomputes each method's inner TPR
    at each FP budget and its F1 at ``threshold`` (None: its best F1, for the
    reference detector), and annular PCA's inner TPR and best F1
    (re-optimised per resample, as the target asks) once, on the same
    resamples for every method. Returns ``{name: result}``.
    """
    import numpy as np

    pca = dataset_counts(pca_curves)
    weights = bootstrap_weights(len(pca["tp"]), n=n, seed=seed)
    pca_tpr, pca_f1 = resampled_scores(pca, weights)
    out = {}
    for name, (curves, threshold) in methods.items():
        tpr, f1 = resampled_scores(dataset_counts(curves), weights, threshold)
        doubled = np.ones(n, bool)
        for b in FP_BUDGETS:
            doubled &= (tpr[b] >= 2 * pca_tpr[b]) & (tpr[b] > 0)
        valid = ~np.isnan(tpr[FP_BUDGETS[0]])
        difference = f1 - pca_f1
        out[name] = {"n": int(n), "seed": int(seed), "n_with_inner": int(valid.sum()),
                     "share_doubled": float(doubled[valid].mean()) if valid.any() else float("nan"),
                     "share_f1": float(np.mean(difference >= 0)),
                     "f1_difference": [float(v) for v in np.percentile(difference, [5, 50, 95])]}
    return out


def bootstrap_line(boots):
    """One sentence on the bootstraps of :func:`bootstrap_targets`, ``{method: result}`` (CNN first)."""
    parts = []
    for i, (method, boot) in enumerate(boots.items()):
        low, mid, high = boot["f1_difference"]
        f1 = "F1 at its threshold" if i == 0 else "best F1"
        parts.append(f"{method} reaches 2x annular PCA's TPR inside 6 FWHM at every budget in "
                     f"{100 * boot['share_doubled']:.0f} % of the resamples with an inner companion, and annular "
                     f"PCA's best F1 (its {f1}) in {100 * boot['share_f1']:.0f} %, its {f1} minus annular PCA's "
                     f"best being {mid:+.2f} (90 % interval {low:+.2f} to {high:+.2f})")
    boot = next(iter(boots.values()))
    return (f"Bootstrap over the datasets ({boot['n']} resamples with replacement, seed {boot['seed']}, the same "
            f"for every method): " + "; ".join(parts) + ".")


# -- report -------------------------------------------------------------------------------------


def section(results, command, options, load, seconds):
    import exobench
    from bench_core import machine_info

    m = machine_info()
    lines = [START, "## CNN", "", "Generated by `bench/bench_cnn.py`; do not edit this section by hand.", "",
             f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`, "
             f"{seconds / 60:.1f} min in all.",
             f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, "
             f"{m['os']}; no GPU (the CNN runs on the CPU, torch backend, one thread). Load average before / "
             f"after: {load[0]} / {load[1]} (other jobs shared the machine).",
             f"- exobench {exobench.__version__}. CNN options (the `cnn` baseline's): " +
             ", ".join(f"{k}={v}" for k, v in options.items() if k != "model") + ".",
             "- Detection maps: annular PCA = `pca-annular` baseline (S/N map, threshold 5); CNN = significance "
             "map (-log10 of the per-pixel false-positive rate on the dataset's null: its flipped-angle negative map "
             "and `null_permutations` maps derotated with seeded permutations of the angles, pooled; "
             "each annulus's logits first centred and scaled by that annulus's negatives when "
             "`standardize_annuli`, counted in groups of adjacent annuli of at least `calibration_pixels` "
             "negative pixels when that is set, else on the whole map; each pixel's null without the "
             "negatives within `own_image_radius` FWHM of its own flipped-angle image when that is set, the rate "
             "above each group's largest negative extrapolated as `calibration_tail`), "
             "threshold -log10(fpr); ADI + matched filter = classical ADI (temporal mean subtracted, derotated, "
             "mean-combined) correlated with the PSF's core over each 1-FWHM annulus's robust noise (the optimal "
             "linear detector of a point source in white noise: a reference, not a baseline), threshold 5. "
             + SCORE_DEFINITIONS, ""]
    for phase, r in results.items():
        lines += [f"### {phase}: {r['n_datasets']} datasets, {r['n_injections']} companions "
                  f"({r['n_inner']} inside 6 FWHM)", "",
                  *score_header()]
        for method, s in r["scores"].items():
            lines.append("| " + " | ".join([method, *score_cells(s)]) + " |")
        lines += ["", targets(r["scores"])]
        if "exceedance" in r:
            lines += ["", exceedance_line(r["exceedance"])]
        if "bootstrap" in r:
            lines += ["", bootstrap_line(r["bootstrap"])]
        lines += ["",
                  "| CNN model | dataset | cube | samples | training (epochs, val. AUC; per network) | "
                  "maps (pixels; null maps) | network patches/s |", "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
        for model, rows in r["timings"].items():
            for row in rows:
                lines.append(f"| {model} | {row['dataset']} | {'x'.join(map(str, row['shape']))} | "
                             f"{row['samples_s']:.1f} s | {row['train_s']:.1f} s ({_each(row['epochs'], 'd')}, "
                             f"{_each(row['val_auc'], '.3f')}) | {row['maps_s']:.1f} s ({row['pixels']}; {row['null_maps']}) | "
                             f"{row['patches_per_s']:.0f} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def _each(values, spec):
    """One number, or a network's each (an ensemble), as text."""
    values = values if isinstance(values, list) else [values]
    return " / ".join(format(v, spec) for v in values)


def _ratios(method, reference):
    """Inner TPR of ``method`` over ``reference``'s at each false-positive budget, as text."""
    ratios = []
    for b in FP_BUDGETS:
        a, p = method["0-6 FWHM"]["tpr_at_fp"][str(b)], reference["0-6 FWHM"]["tpr_at_fp"][str(b)]
        ratios.append(f"{a / p:.2f}" if p > 0 else ("inf" if a > 0 else "n/a"))
    return ratios


def targets(scores, best="CNN na-conv3d", reference="annular PCA (S/N)"):
    """One line: the targets for the best CNN against annular PCA, met or not."""
    if best not in scores:
        return "Targets: the CNN na-conv3d was not run."
    cnn, pca = scores[best], scores[reference]
    ratios = _ratios(cnn, pca)
    f1, best_pca = cnn["at_threshold"]["f1"], pca["best_f1"]["f1"]
    doubled = all(r == "inf" or (r != "n/a" and float(r) >= 2) for r in ratios)
    return (f"Targets, {best} against annular PCA: TPR inside 6 FWHM at equal false positives per "
            f"dataset ({' / '.join(map(str, FP_BUDGETS))}): {' / '.join(ratios)} times annular PCA's (target 2: "
            f"{'met' if doubled else 'not met'}); "
            f"F1 at the calibrated threshold {f1:.2f} against annular PCA's best {best_pca:.2f} (target: at least "
            f"as high: {'met' if f1 >= best_pca else 'not met'})." +
            (f" The white-noise reference (ADI + matched filter) reaches {' / '.join(_ratios(scores[MATCHED], pca))} "
             f"times annular PCA's TPR inside 6 FWHM, best F1 {scores[MATCHED]['best_f1']['f1']:.2f}."
             if MATCHED in scores else ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and epochs (a smoke run)")
    parser.add_argument("--models", nargs="+", default=["na-conv3d", "conv3d"],
                        help="CNN architectures to train (default: na-conv3d conv3d)")
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")
    args = parser.parse_args(argv)
    import dataclasses

    from exobench.cnn.options import DEFAULT_OPTIONS
    from exobench.scoring.reference import read_reference

    options = DEFAULT_OPTIONS
    if args.quick:
        options = dataclasses.replace(options, n_samples=400, epochs=3, size="tiny")
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("building the phases ...", flush=True)
        for phase, (public, ref) in build_phases(tmp).items():
            reference = read_reference(ref)
            print(f"{phase}: annular PCA ...", flush=True)
            runs = {"annular PCA (S/N)": run_pca(public), MATCHED: run_matched_filter(public)}
            for i, model in enumerate(args.models):
                print(f"{phase}: CNN {model} ...", flush=True)
                runs[f"CNN {model}"] = run_cnn(public, options, model, ALTERNATIVE if i == 0 else None)
                if i == 0:
                    runs[f"CNN {model}, {ALTERNATIVE_NAME}"] = runs[f"CNN {model}"].pop("alternative")
            curves = {name: phase_curves(run["maps"], run["threshold"], reference) for name, run in runs.items()}
            scores = {name: score(curves[name], run["threshold"]) for name, run in runs.items()}
            first = next(iter(scores.values()))
            best = f"CNN {args.models[0]}"
            methods = {best: (curves[best], runs[best]["threshold"]), MATCHED: (curves[MATCHED], None)}
            boot = bootstrap_targets(methods, curves["annular PCA (S/N)"])
            cnn = runs[best]
            results[phase] = {"exceedance": noise_exceedance(cnn["maps"], cnn.pop("masks"), reference,
                                                             RATE_LEVELS + (cnn["threshold"],)),
                              "n_datasets": first["n_datasets"], "n_injections": first["all"]["n_injections"],
                              "n_inner": first["0-6 FWHM"]["n_injections"], "scores": scores,
                              "bootstrap": boot,
                              "timings": {name[4:]: run["datasets"] for name, run in runs.items() if "datasets" in run},
                              "pca_seconds": runs["annular PCA (S/N)"]["seconds"]}
            for name, s in scores.items():
                print(f"  {name}: F1 {s['at_threshold']['f1']:.2f} at threshold, best {s['best_f1']['f1']:.2f}, "
                      f"TPR<6 at 1 FP/dataset {s['0-6 FWHM']['tpr_at_fp']['1.0']:.2f}", flush=True)
    seconds = time.perf_counter() - started
    load = (load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    command = "python bench/bench_cnn.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    text = section(results, command.strip(), options.to_dict(), load, seconds)
    publish(text, {"options": options.to_dict(), "results": results, "seconds": seconds},
            doc=DOC, start=START, end=END, name="cnn.json", no_docs=args.no_docs)


if __name__ == "__main__":
    main()
