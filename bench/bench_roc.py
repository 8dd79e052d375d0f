"""Side-by-side benchmark of exobench's ROC sweep against the reference library vip-hci.

Same machine, same run: this script builds a seeded phase of detection maps, runs
the reference's side (this very script with ``--vip-side``, in the vip-hci virtual
environment, through a subprocess), times exobench's sweep in this process,
cross-checks the counts of the two, and writes its results table into
``docs/benchmarks.md`` (between ``<!-- roc-benchmark:start -->`` and
``<!-- roc-benchmark:end -->``; the rest of the file is kept) and the raw numbers
under ``bench/results/`` (``roc_<date>.json``, ``roc_latest.json``).

Usage (from the repository root)::

    bash bench/setup_vip_env.sh          # once: bench/.venv-vip with vip-hci
    python bench/bench_roc.py            # about a minute

What is timed (one process, one thread on both sides; one warm-up call, then the
best of the timed calls, see ``bench/_common.py``):

- exobench: ``roc_curve`` of the whole phase at *every* distinct level of its
  maps (the full sweep: a union-find pass per map, every threshold at once), the
  curve, its AUC and partial AUC included;
- vip-hci: ``vip_hci.metrics.compute_binary_map`` (the blob counting of the 2019
  EIDC scorer), which segments each map once per threshold, over 100 thresholds
  from 0 to 10 (the EIDC's S/N sweep) per map;
- for reference, exobench's own ``count_detections`` called once per threshold
  over the same 100 thresholds.

Targets: the full sweep of a phase of 9 maps of 160x160 in
under 1 s, and at least 50x faster than VIP's ``compute_binary_map`` over 100
thresholds.

Cross-checks: the sweep equals ``count_detections`` at VIP's thresholds and at
random levels of the full grid; VIP's counts equal
``count_detections(..., compat="eidc2019")`` (VIP's many-to-one matching), and
where VIP differs from exobench's default counting the report says how.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _common import SINGLE_THREAD_ENV, best_of, force_single_thread, replace_doc_section, write_json  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

START, END = "<!-- roc-benchmark:start -->", "<!-- roc-benchmark:end -->"

SEED = 20190601
N_MAPS = 9
SIZE = 160
FWHM = 4.0
COUNTING = {"npix": 2, "overlap_threshold": 0.7, "max_blob_fact": 2.0}
VIP_THRESHOLDS = np.linspace(0.0, 10.0, 100)  # the EIDC's sweep of S/N maps
SUBMITTED = 3.0  # a threshold for the F1 of the phase results
TARGET_TIME_S = 1.0
TARGET_SPEEDUP = 50.0
N_GRID_CHECKS = 60  # random levels of the full grid checked against count_detections


# --- inputs ------------------------------------------------------------------------------------


def build_phase(seed=SEED, n_maps=N_MAPS, size=SIZE, fwhm=FWHM):
    """Seeded S/N-like maps: correlated unit-variance noise and 1 to 5 companions per map.

    The companions follow the EIDC recipe: separation uniform in [2.5, 6] or [6, 18]
    FWHM with equal odds (at least 2 FWHM inside the frame), position angle uniform,
    peak S/N alternately "hard" (1 to 3) and "soft" (3 to 5). Every map has a
    companion: vip-hci's counting does not handle a map without one.
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    yy, xx = np.indices((size, size))
    centre = size // 2
    maps, positions = [], []
    for _ in range(n_maps):
        noise = gaussian_filter(rng.normal(size=(size, size)), sigma)
        detmap = noise / noise.std()
        n = int(rng.integers(1, 6))
        sep = np.where(rng.random(n) < 0.5, rng.uniform(2.5, 6.0, n), rng.uniform(6.0, 18.0, n)) * fwhm
        theta = rng.uniform(0.0, 2.0 * np.pi, n)
        pos = np.column_stack([centre + sep * np.cos(theta), centre + sep * np.sin(theta)])
        snr = np.where(np.arange(n) % 2 == 0, rng.uniform(1.0, 3.0, n), rng.uniform(3.0, 5.0, n))
        for (x, y), peak in zip(pos, snr):
            detmap += peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2.0 * sigma**2))
        maps.append(detmap)
        positions.append(pos)
    return maps, positions


# --- the reference's side (runs in bench/.venv-vip) --------------------------------------------


def vip_side(config_path):
    """Time vip-hci's compute_binary_map over the phase; print JSON (versions, timing, counts)."""
    with open(config_path) as handle:
        config = json.load(handle)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import warnings

    import photutils
    import scipy
    import vip_hci
    from vip_hci.metrics import compute_binary_map

    maps = [np.load(path) for path in config["maps"]]
    positions = [np.asarray(p, dtype=float) for p in config["positions"]]
    thresholds = np.asarray(config["thresholds"], dtype=float)
    fwhm = float(config["fwhm"])
    counting = config["counting"]

    def run():
        out = []
        for detmap, pos in zip(maps, positions):
            detections, fps, _ = compute_binary_map(
                detmap, thresholds, pos, fwhm, npix=counting["npix"],
                overlap_threshold=counting["overlap_threshold"], max_blob_fact=counting["max_blob_fact"],
            )
            out.append((list(map(int, detections)), list(map(int, fps))))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timing = best_of(run, repeats=int(config["repeats"]))
    counts = timing.pop("result")
    print(f"[vip] compute_binary_map x {len(maps)} maps: best {timing['best_s']:.3f} s "
          f"({timing['n_timed']} timed)", file=sys.stderr, flush=True)
    print(json.dumps({
        "versions": {
            "python": platform.python_version(),
            "vip_hci": vip_hci.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "photutils": photutils.__version__,
        },
        "timing": timing,
        "counts": counts,
    }))
    return 0


def run_vip_side(vip_python, config_path):
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    env.pop("PYTHONPATH", None)
    print(f"[bench] running the reference side: {vip_python} bench/bench_roc.py --vip-side", file=sys.stderr,
          flush=True)
    proc = subprocess.run(
        [vip_python, os.path.abspath(__file__), "--vip-side", config_path],
        env=env, stdout=subprocess.PIPE, text=True, check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"the vip-hci side failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- exobench's side ----------------------------------------------------------------------------


def run_exobench_side(maps, positions, repeats):
    import scipy

    import exobench
    from exobench.scoring.counting import count_detections
    from exobench.scoring.curves import roc_curve

    out = {"versions": {"python": platform.python_version(), "exobench": exobench.__version__,
                        "numpy": np.__version__, "scipy": scipy.__version__}}
    timing = best_of(lambda: roc_curve(maps, positions, FWHM, include=SUBMITTED, **COUNTING), repeats)
    curve = timing.pop("result")
    out["sweep"] = dict(timing, n_thresholds=len(curve))
    _log("roc_curve, every level", timing)

    def per_threshold():
        return [[count_detections(m, t, p, FWHM, **COUNTING) for t in VIP_THRESHOLDS]
                for m, p in zip(maps, positions)]

    timing = best_of(per_threshold, repeats=3)
    timing.pop("result")
    out["per_threshold"] = timing
    _log("count_detections x 100", timing)
    return out, curve


def _log(name, timing):
    print(f"[exobench] {name:26s} best {timing['best_s']:.4f} s ({timing['n_timed']} timed)",
          file=sys.stderr, flush=True)


# --- cross-checks ------------------------------------------------------------------------------


def cross_checks(maps, positions, curve, vip_counts):
    from exobench.scoring.counting import count_detections
    from exobench.scoring.sweep import sweep_counts

    checks = {}
    # 1. the sweep at VIP's thresholds equals count_detections there
    same = total = 0
    ours = []
    for detmap, pos in zip(maps, positions):
        s = sweep_counts(detmap, pos, FWHM, thresholds=VIP_THRESHOLDS, **COUNTING)
        rows = {float(t): (int(a), int(b), int(c), int(d))
                for t, a, b, c, d in zip(s.thresholds, s.tp, s.fp, s.fn, s.tn)}
        mine = []
        for t in VIP_THRESHOLDS:
            c = count_detections(detmap, t, pos, FWHM, **COUNTING)
            total += 1
            same += rows[float(t)] == (c.tp, c.fp, c.fn, c.tn)
            mine.append(rows[float(t)])
        ours.append(mine)
    checks["sweep == count_detections at the 100 thresholds"] = {"pairs": total, "equal": same,
                                                                  "agree": same == total}
    # 2. the phase curve equals the summed count_detections at random levels of the full grid
    rng = np.random.default_rng(SEED + 1)
    picks = rng.choice(len(curve), size=min(N_GRID_CHECKS, len(curve)), replace=False)
    same = 0
    for i in picks:
        t = float(curve.thresholds[i])
        if not np.isfinite(t):
            t = min(float(np.min(m)) for m in maps) - 1.0
        per = [count_detections(m, t, p, FWHM, **COUNTING) for m, p in zip(maps, positions)]
        same += (int(curve.tp[i]), int(curve.fp[i]), int(curve.tn[i])) == (
            sum(c.tp for c in per), sum(c.fp for c in per), sum(c.tn for c in per))
    checks["phase curve == summed count_detections at random levels"] = {
        "levels": len(picks), "equal": same, "agree": same == len(picks)}
    # 3. VIP's counts equal the 2019 counting (many-to-one matching), and how they differ from ours
    same_2019 = same_default = total = 0
    differences = []
    for k, (detmap, pos) in enumerate(zip(maps, positions)):
        detections, fps = vip_counts[k]
        for i, t in enumerate(VIP_THRESHOLDS):
            c = count_detections(detmap, t, pos, FWHM, compat="eidc2019", **COUNTING)
            total += 1
            same_2019 += (detections[i], fps[i]) == (c.tp, c.fp)
            tp, fp = ours[k][i][:2]
            if (detections[i], fps[i]) == (tp, fp):
                same_default += 1
            elif len(differences) < 5:
                differences.append(f"map {k}, threshold {t:.3f}: VIP TP {detections[i]} FP {fps[i]}, "
                                   f"exobench TP {tp} FP {fp}")
    checks["VIP compute_binary_map == count_detections(compat='eidc2019')"] = {
        "pairs": total, "equal": same_2019, "agree": same_2019 == total}
    checks["VIP compute_binary_map == exobench default counting"] = {
        "pairs": total, "equal": same_default, "examples_of_differences": differences}
    return checks


# --- report -------------------------------------------------------------------------------------


def phase_results(curve, maps, positions):
    from exobench.scoring.counting import count_detections
    from exobench.scoring.metrics import compute_metrics
    from exobench.scoring.bootstrap import bootstrap_ci

    counts = [count_detections(m, SUBMITTED, p, FWHM, **COUNTING) for m, p in zip(maps, positions)]
    t0 = time.perf_counter()
    auc_ci = bootstrap_ci(curve, statistic="auc", n_boot=200, rng=SEED)
    auc_boot_s = time.perf_counter() - t0
    return {
        "n_datasets": curve.n_datasets,
        "n_injections": curve.n_injections,
        "auc": curve.auc,
        "partial_auc": curve.partial_auc,
        "max_fpr": curve.max_fpr,
        "auc_ci95": auc_ci,
        "auc_ci_n_boot": 200,
        "auc_ci_seconds": auc_boot_s,
        "threshold": SUBMITTED,
        "f1": compute_metrics(counts).f1,
        "f1_ci95": bootstrap_ci(counts, statistic="f1", n_boot=1000, rng=SEED),
    }


def _fmt_s(seconds):
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.1f} ms"


def render_markdown(report):
    m, v = report["machine"], report["versions"]
    exo, vip = report["exobench"], report["vip"]
    sweep, per_thr, vip_t = exo["sweep"], exo["per_threshold"], vip["timing"]
    n_maps = report["inputs"]["n_maps"]
    speedup = vip_t["best_s"] / sweep["best_s"]
    res = report["phase"]
    lines = [
        START,
        "## ROC sweep: exobench vs vip-hci (side by side)",
        "",
        "Generated by `bench/bench_roc.py`; do not edit this section by hand.",
        "",
        f"- Run: {report['started']}, command `{report['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, {m['os']}. "
        f"Load average before the run: {m['load_before']}.",
        f"- exobench {v['exobench']['exobench']} (Python {v['exobench']['python']}, numpy {v['exobench']['numpy']}, "
        f"scipy {v['exobench']['scipy']}); vip-hci {v['vip']['vip_hci']} in `bench/.venv-vip` (Python "
        f"{v['vip']['python']}, numpy {v['vip']['numpy']}, scipy {v['vip']['scipy']}, photutils "
        f"{v['vip']['photutils']}).",
        f"- Inputs: a phase of {n_maps} seeded S/N-like maps of {SIZE}x{SIZE} (correlated unit-variance noise, "
        f"FWHM {FWHM:g} px; 1 to 5 companions per map, {report['phase']['n_injections']} in all, at 2.5-6 or "
        "6-18 FWHM, peak S/N alternately 1-3 and 3-5). Counting: npix 2, overlap threshold 0.7, huge "
        "blobs above 2 resolution elements (the EIDC's).",
        "- One process, one thread on both sides; one warm-up call, then the best of the timed calls "
        f"(exobench's sweep: {sweep['n_timed']} calls; VIP: {vip_t['n_timed']}).",
        "",
        "| operation | thresholds per map | time (phase) | per map | target | result |",
        "| --- | ---: | ---: | ---: | --- | --- |",
        f"| exobench `roc_curve`: full sweep, every distinct level (curve and AUCs included) | all "
        f"({sweep['n_thresholds']:,} on the phase's grid) | {_fmt_s(sweep['best_s'])} | "
        f"{_fmt_s(sweep['best_s'] / n_maps)} | < {TARGET_TIME_S:g} s | "
        f"{'PASS' if sweep['best_s'] < TARGET_TIME_S else 'FAIL'} |",
        f"| vip-hci `compute_binary_map`, one segmentation per threshold | 100 (0 to 10) | "
        f"{_fmt_s(vip_t['best_s'])} | {_fmt_s(vip_t['best_s'] / n_maps)} | | |",
        f"| exobench `count_detections` once per threshold (for reference) | 100 (0 to 10) | "
        f"{_fmt_s(per_thr['best_s'])} | {_fmt_s(per_thr['best_s'] / n_maps)} | | |",
        f"| **speed-up**: VIP over 100 thresholds / exobench over every level | | {speedup:.1f}x | | "
        f">= {TARGET_SPEEDUP:g}x | {'PASS' if speedup >= TARGET_SPEEDUP else 'FAIL'} |",
        "",
        f"Phase results (exobench): AUC {res['auc']:.4f} (95 % bootstrap interval over datasets "
        f"[{res['auc_ci95'][0]:.4f}, {res['auc_ci95'][1]:.4f}], {res['auc_ci_n_boot']} resamples, "
        f"{res['auc_ci_seconds']:.1f} s); partial AUC at FPR <= {res['max_fpr']:g}: {res['partial_auc']:.4f}; "
        f"F1 at threshold {res['threshold']:g}: {res['f1']:.4f} (95 % interval [{res['f1_ci95'][0]:.4f}, "
        f"{res['f1_ci95'][1]:.4f}], 1000 resamples).",
        "",
        "Cross-checks:",
        "",
    ]
    for name, check in report["checks"].items():
        status = ""
        if "agree" in check:
            status = " — agree" if check["agree"] else " — **DISAGREE**"
        detail = ", ".join(f"{k} = {x}" for k, x in check.items() if k not in ("agree", "examples_of_differences"))
        lines.append(f"- {name}: {detail}{status}")
        for example in check.get("examples_of_differences", []):
            lines.append(f"  - {example}")
    default = report["checks"]["VIP compute_binary_map == exobench default counting"]
    lines += [
        "",
        "VIP counts many-to-one (two blobs on one injection are two true positives; its `compute_binary_map` is "
        "what the 2019 scorer ran), exobench one-to-one by default, so the two may differ where two blobs "
        f"fall on one injection ({default['pairs'] - default['equal']} of {default['pairs']} (map, threshold) "
        "pairs here); with `compat=\"eidc2019\"`, `count_detections` reproduces VIP's counts.",
        END,
    ]
    return "\n".join(lines) + "\n"


def replace_section(path, section):
    """Replace this benchmark's section of the markdown file (see _common.replace_doc_section)."""
    replace_doc_section(path, section, START, END)


# --- main ---------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls of exobench's sweep (at least)")
    parser.add_argument("--vip-repeats", type=int, default=3, help="timed calls of VIP's counting (at least)")
    parser.add_argument("--vip-python", default=os.path.join(HERE, ".venv-vip", "bin", "python"))
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                        help="markdown file whose roc-benchmark section is replaced")
    parser.add_argument("--no-docs", action="store_true", help="do not touch the markdown file")
    parser.add_argument("--vip-side", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vip_side:
        return vip_side(args.vip_side)

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if not os.path.exists(args.vip_python):
        sys.exit(f"{args.vip_python} not found: run `bash bench/setup_vip_env.sh` first")
    from bench_core import machine_info  # the core benchmark's description of the machine

    maps, positions = build_phase()
    results_dir = os.path.join(HERE, "results")
    os.makedirs(results_dir, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="roc-", dir=results_dir) as work:
        paths = []
        for k, detmap in enumerate(maps):
            paths.append(os.path.join(work, f"map_{k}.npy"))
            np.save(paths[-1], detmap)
        config = {"maps": paths, "positions": [p.tolist() for p in positions], "fwhm": FWHM,
                  "thresholds": VIP_THRESHOLDS.tolist(), "counting": COUNTING, "repeats": args.vip_repeats}
        config_path = os.path.join(work, "vip_config.json")
        with open(config_path, "w") as handle:
            json.dump(config, handle)
        vip = run_vip_side(args.vip_python, config_path)
    exo, curve = run_exobench_side(maps, positions, args.repeats)
    versions = {"exobench": exo.pop("versions"), "vip": vip.pop("versions")}
    vip_counts = vip.pop("counts")
    report = {
        "started": started,
        "command": " ".join(["python bench/bench_roc.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": dict(machine_info(), load_before=load_before),
        "versions": versions,
        "inputs": {"n_maps": len(maps), "size": SIZE, "fwhm_px": FWHM, "seed": SEED, "counting": COUNTING,
                   "n_injections": sum(len(p) for p in positions), "vip_thresholds": "linspace(0, 10, 100)"},
        "exobench": exo,
        "vip": vip,
        "checks": cross_checks(maps, positions, curve, vip_counts),
        "phase": phase_results(curve, maps, positions),
    }
    speedup = vip["timing"]["best_s"] / exo["sweep"]["best_s"]
    report["verdicts"] = {
        "full_sweep_under_1s": exo["sweep"]["best_s"] < TARGET_TIME_S,
        "speedup": speedup,
        "speedup_at_least_50x": speedup >= TARGET_SPEEDUP,
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (f"roc_{stamp}.json",) + (() if args.no_docs else ("roc_latest.json",)):
        write_json(os.path.join(results_dir, name), report)
    markdown = render_markdown(report)
    print(markdown)
    if not args.no_docs:
        replace_section(args.docs, markdown)
        print(f"wrote {os.path.relpath(args.docs, ROOT)} and bench/results/roc_{stamp}.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
