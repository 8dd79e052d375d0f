"""PACO: side by side with VIP's FastPACO, and the calibration of its statistic per instrument.

    python bench/bench_paco.py [--skip-vip] [--realisations N] [--no-docs]

1. Speed and agreement with vip-hci (its own venv, ``bench/.venv-vip/bin/python``,
   ``bench/vip_paco.py`` in a subprocess), one thread on both sides, CPU seconds
   (the machine is shared: wall times are printed too): the real NACO cube
   cropped to 98x98 (an even frame: VIP rotates about ``n / 2``, which is the
   star only for even ``n``) and a seeded 100x201x201 white-noise cube with
   the NACO PSF. Matched settings: patches of ``int(fwhm)`` px radius (VIP's),
   the PSF model centred (VIP's fastest, ``use_subpixel_psf_astrometry=False``)
   or shifted (``True``). VIP's slow cases are timed on a band of rows and
   extrapolated to the frame (its cost is per hypothesis). Correlation of the
   raw S/N maps (exobench ``normalisation="none"``, VIP ``b / sqrt(a)``) where
   both are defined, and the ratio of the flux maps' spreads.
2. Calibration: the realised rate of pixels above 3 and 5 against the promised
   one (the standard normal's tail), per instrument, on the real NACO cube
   (no companion) and the default challenge's phase 1 simulated instruments
   (their injected companions masked, 2 FWHM around each), for the radially
   renormalised statistic (default) and the raw one.

Writes the "PACO" section of docs/benchmarks.md and bench/results/paco.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread, publish  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402
from bench_loci import naco_dataset  # noqa: E402

from _detection import ROOT, build_phases  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- paco-benchmark:start -->", "<!-- paco-benchmark:end -->"
VIP_PYTHON = ROOT / "bench" / ".venv-vip" / "bin" / "python"
BIG_SHAPE = (100, 201, 201)
SEED = 20261207
#: Rows of the frame VIP's slow cases are timed on (then extrapolated).
VIP_BAND = {"naco-subpixel": (40, 44), "big-centred": (98, 102), "big-subpixel": (99, 100)}
THRESHOLDS = (3.0, 5.0)


def log(line):
    print(line, file=sys.stderr, flush=True)


def datasets():
    """``{name: Dataset}``: the NACO cube cropped to 98x98 and the seeded 100x201x201 white-noise cube."""
    naco = naco_dataset()
    cropped = naco.replace(cube=np.asarray(naco.cube, dtype=np.float64)[:, :98, :98])
    rng = np.random.default_rng(SEED)
    angles = np.sort(np.linspace(-20.0, 60.0, BIG_SHAPE[0]) + rng.normal(scale=0.1, size=BIG_SHAPE[0]))
    big = naco.replace(cube=rng.normal(size=BIG_SHAPE), angles=angles)
    return {"naco": cropped, "big": big}


def ours(dataset, subpixel):
    """exobench's raw PACO at VIP's settings: ``(detection, CPU seconds, wall seconds)``, after a warm-up."""
    from exobench.algorithms import PACO

    radius = int(dataset.fwhm) / dataset.fwhm  # VIP's patch: int(fwhm) px
    paco = PACO(patch_radius=radius, subpixel=subpixel, normalisation="none", refine_flux_above=None)
    paco.detect(dataset.replace(cube=dataset.cube[:10, :41, :41], angles=dataset.angles[:10]))  # compile, untimed
    start, cpu = time.perf_counter(), time.process_time()
    detection = paco.detect(dataset)
    return detection, time.process_time() - cpu, time.perf_counter() - start


def vip(cases, data, tmp):
    """Run ``bench/vip_paco.py`` on ``cases``: ``{case: {seconds, cpu_seconds, hypotheses, a, b}}``.

    ``tmp`` keeps VIP's outputs: a second run with the same folder reuses them (VIP takes most of the time).
    """
    path = os.path.join(tmp, "vip_paco.json")
    done = os.path.join(tmp, "vip_paco.out.json")
    if os.path.exists(done):
        with open(done) as handle:
            out = json.load(handle)
        return _with_maps(out, tmp)
    config = {"cases": [], "save_dir": tmp}
    for name, dataset, subpixel, rows in cases:
        paths = {}
        for key, array in (("cube", dataset.cube), ("angles", dataset.angles), ("psf", dataset.psf)):
            paths[key] = os.path.join(tmp, f"{name}_{key}.npy")
            np.save(paths[key], np.asarray(array, dtype=np.float64))
        config["cases"].append({"name": name, **paths, "fwhm": float(dataset.fwhm), "subpixel": subpixel,
                                "rows": rows})
    with open(path, "w") as handle:
        json.dump(config, handle)
    run = subprocess.run([str(VIP_PYTHON), str(ROOT / "bench" / "vip_paco.py"), path], check=True,
                         capture_output=True, text=True)
    out = json.loads(run.stdout.strip().splitlines()[-1])
    with open(done, "w") as handle:
        json.dump(out, handle)
    return _with_maps(out, tmp)


def _with_maps(out, tmp):
    for name, case in out["cases"].items():
        case["a"] = np.load(os.path.join(tmp, f"{name}_a.npy"))
        case["b"] = np.load(os.path.join(tmp, f"{name}_b.npy"))
    return out


def with_vip_conventions(dataset):
    """exobench's raw statistic with VIP's two conventions substituted: a diagnostic of agreement.

    VIP truncates each frame's position (``int()``) where exobench rounds it, and
    its shrinkage factor has ``tr(S)^2 - tr(S^2)`` in its numerator. Fed those
    (the positions lowered by half a pixel before exobench's rounding, the
    factor swapped in for the call), exobench's kernels should give VIP's map
    but for its ``sqrt(2)`` scale: what is left of the difference is then by design.
    """
    from exobench.algorithms import PACO
    from exobench.algorithms import paco as module

    def vip_shrinkage(samples):
        t = samples.shape[-2]
        mean = samples.mean(axis=-2)
        centred = samples - mean[..., None, :]
        sample = np.matmul(np.swapaxes(centred, -1, -2), centred) / t
        diagonal = np.einsum("...pp->...p", sample)
        trace_sq = np.einsum("...pq,...pq->...", sample, sample)
        rho = np.clip((diagonal.sum(-1) ** 2 - trace_sq) / ((t + 1) * (trace_sq - (diagonal ** 2).sum(-1))), 0, 1)
        cov = (1 - rho)[..., None, None] * sample
        cov[..., np.arange(sample.shape[-1]), np.arange(sample.shape[-1])] = diagonal
        return mean, cov

    class Truncated(module._Hypotheses):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.y, self.x = self.y - 0.5 + 1e-9, self.x - 0.5 + 1e-9  # rint(p - 0.5 + eps) = floor(p)

    saved = module._Hypotheses, module.shrunk_covariance
    module._Hypotheses, module.shrunk_covariance = Truncated, vip_shrinkage
    try:
        radius = int(dataset.fwhm) / dataset.fwhm
        return PACO(patch_radius=radius, subpixel=False, normalisation="none",
                    refine_flux_above=None).detect(dataset).statistic
    finally:
        module._Hypotheses, module.shrunk_covariance = saved


def correlation(mine, theirs):
    both = np.isfinite(mine) & np.isfinite(theirs)
    return float(np.corrcoef(mine[both], theirs[both])[0, 1]), int(both.sum())


def side_by_side(data, tmp):
    """The timings and agreement of section 1."""
    rows = {}
    cases = [("naco-centred", data["naco"], False, None),
             ("naco-subpixel", data["naco"], True, VIP_BAND["naco-subpixel"]),
             ("big-centred", data["big"], False, VIP_BAND["big-centred"]),
             ("big-subpixel", data["big"], True, VIP_BAND["big-subpixel"])]
    log("VIP ...")
    theirs = vip(cases, data, tmp)
    for name, dataset, subpixel, band in cases:
        log(f"exobench {name} ...")
        detection, cpu, wall = ours(dataset, subpixel)
        case = theirs["cases"][name]
        ny = dataset.cube.shape[1]
        scale = ny * dataset.cube.shape[2] / case["hypotheses"]  # VIP's cost is per hypothesis
        row = {"ours_cpu": cpu, "ours_wall": wall, "vip_cpu": case["cpu_seconds"] * scale,
               "vip_wall": case["seconds"] * scale, "vip_extrapolated": band is not None,
               "vip_hypotheses": case["hypotheses"]}
        if band is None:
            snr = case["b"] / np.sqrt(case["a"])
            row["correlation"], row["pixels"] = correlation(detection.statistic, snr)
            flux = case["b"] / case["a"]
            both = np.isfinite(detection.flux) & np.isfinite(flux)
            row["snr_spread_ratio"] = float(np.std(snr[both]) / np.std(detection.statistic[both]))
            row["flux_spread_ratio"] = float(np.std(flux[both]) / np.std(detection.flux[both]))
            if not subpixel:
                row["correlation_vip_conventions"] = correlation(with_vip_conventions(dataset), snr)[0]
        rows[name] = row
        log(f"  ours {cpu:.1f} s CPU, VIP {row['vip_cpu']:.1f} s CPU" + (" (extrapolated)" if band else "")
            + (f", correlation {row['correlation']:.3f}" if "correlation" in row else "")
            + (f" ({row['correlation_vip_conventions']:.4f} with VIP's conventions)"
               if "correlation_vip_conventions" in row else ""))
    return {"vip_hci": theirs["vip_hci"], "cases": rows}


def false_alarm_rates(statistic, fwhm, truth=()):
    """Pixels above each threshold over the defined ones, companions (2 FWHM around each) left out."""
    keep = np.isfinite(statistic)
    yy, xx = np.indices(statistic.shape)
    for x, y in truth:
        keep &= np.hypot(xx - x, yy - y) > 2 * fwhm
    values = statistic[keep]
    return {"pixels": int(values.size), **{f"{t:g}": int(np.count_nonzero(values > t)) for t in THRESHOLDS}}


def calibration(realisations, tmp):
    """Section 2: ``{instrument: {"radial": counts, "none": counts}}`` summed over its datasets."""
    from exobench.algorithms import PACO, radial_normalisation
    from exobench.data.fits_io import find_datasets, read_dataset
    from exobench.scoring.reference import read_reference

    table = {}

    def add(instrument, dataset, truth):
        raw = PACO(normalisation="none", refine_flux_above=None).detect(dataset).statistic
        # the default's statistic is the raw one renormalised so (PACO's normalisation="radial")
        for normalisation, statistic in (("radial", radial_normalisation(raw, width=dataset.fwhm)), ("none", raw)):
            counts = false_alarm_rates(statistic, dataset.fwhm, truth)
            total = table.setdefault(instrument, {}).setdefault(normalisation, {"datasets": 0})
            total["datasets"] += 1
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value

    log("calibration: real NACO ...")
    add("naco (real, no companion)", naco_dataset(), ())
    phases = build_phases(tmp, phases=["simulated"], realisations=realisations, log=log)
    for public, ref in phases.values():
        reference = {d.key: d for d in read_reference(ref).datasets}
        for instrument, k in find_datasets(public):
            log(f"calibration: {instrument} {k} ...")
            add(f"{instrument} (simulated)", read_dataset(public, instrument, k), reference[(instrument, k)].positions)
    return table


def section(results, command, seconds):
    from scipy.stats import norm

    from bench_core import machine_info

    m = machine_info()
    lines = [START, "## PACO", "", "Generated by `bench/bench_paco.py`; do not edit this section by hand.", "",
             f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`, "
             f"{seconds / 60:.1f} min in all. Machine: {m['cpu']}, {m['cores']} cores, shared with other jobs: "
             "times are CPU seconds of one thread (wall seconds in bench/results/paco.json).", ""]
    if "vip" in results:
        v = results["vip"]
        lines += [f"### Side by side with vip-hci {v['vip_hci']} (`FastPACO.PACOCalc`, `cpu=1`)", "",
                  "Matched settings: patches of `int(fwhm)` px radius, the PSF model centred (VIP's fastest) or "
                  "shifted to the sub-pixel position (`subpixel=True`, `use_subpixel_psf_astrometry=True`). "
                  "VIP's times marked * are measured on a band of rows and scaled to the frame. Correlation: "
                  "Pearson, raw S/N maps, pixels defined in both; in brackets, exobench's kernels with VIP's two "
                  "conventions substituted (positions truncated, not rounded; its shrinkage factor): "
                  "what remains of the difference is by design (docs/detectors.md, section paco).", "",
                  "| case | exobench (s) | VIP (s) | VIP / exobench | S/N correlation | VIP / exobench spread: S/N, "
                  "flux |", "| --- | --- | --- | --- | --- | --- |"]
        for name, r in v["cases"].items():
            star = "*" if r["vip_extrapolated"] else ""
            emulated = f" ({r['correlation_vip_conventions']:.4f})" if "correlation_vip_conventions" in r else ""
            agree = (f"{r['correlation']:.3f}{emulated}, {r['pixels']} px", f"{r['snr_spread_ratio']:.2f}, "
                     f"{r['flux_spread_ratio']:.2f}") if "correlation" in r else ("", "")
            lines.append(f"| {name} | {r['ours_cpu']:.1f} | {r['vip_cpu']:.0f}{star} | "
                         f"{r['vip_cpu'] / r['ours_cpu']:.0f}x | {agree[0]} | {agree[1]} |")
        lines.append("")
    lines += ["### Calibration: realised false-alarm rate against the promised one", "",
              "Per pixel: the fraction of defined pixels above the threshold (companions masked), against the "
              "standard normal's tail (promised: "
              + ", ".join(f"{norm.sf(t):.2e} above {t:g}" for t in THRESHOLDS) + ").", "",
              "| instrument | datasets | pixels | statistic | > 3: realised (promised 1.35e-03) | > 5: realised "
              "(promised 2.87e-07) |", "| --- | --- | --- | --- | --- | --- |"]
    for instrument, rows in results["calibration"].items():
        for normalisation, r in rows.items():
            rates = [f"{r[f'{t:g}'] / r['pixels']:.2e} ({r[f'{t:g}']} px)" for t in THRESHOLDS]
            lines.append(f"| {instrument} | {r['datasets']} | {r['pixels']} | {normalisation} | "
                         f"{rates[0]} | {rates[1]} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-vip", action="store_true", help="calibration only")
    parser.add_argument("--realisations", type=int, default=2,
                        help="realisations of each simulated instrument (default 2)")
    parser.add_argument("--vip-dir", default=None,
                        help="folder keeping VIP's outputs, reused by a later run (default: a temporary one)")
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")
    args = parser.parse_args(argv)
    if args.realisations < 1:
        parser.error("--realisations: expected an integer >= 1")
    if not args.skip_vip and not VIP_PYTHON.exists():
        parser.error(f"no VIP environment at {VIP_PYTHON}: run `bash bench/setup_vip_env.sh` or pass --skip-vip")
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_vip:
            if args.vip_dir:
                os.makedirs(args.vip_dir, exist_ok=True)
            results["vip"] = side_by_side(datasets(), args.vip_dir or tmp)
        results["calibration"] = calibration(args.realisations, tmp)
    seconds = time.perf_counter() - started
    command = "python bench/bench_paco.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = section(results, command.strip(), seconds)
    publish(text, {"results": results, "seconds": seconds, "command": command.strip()},
            doc=DOC, start=START, end=END, name="paco.json", no_docs=args.no_docs, log=log)


if __name__ == "__main__":
    main()
