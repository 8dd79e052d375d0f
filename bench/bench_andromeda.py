"""ANDROMEDA side by side with vip-hci's ``andromeda``: speed and agreement of the maps.

    python bench/bench_andromeda.py [--vip-python bench/.venv-vip/bin/python] [--big T N] [--no-docs]

On the real NACO cube (``../shared/data/real`` or ``$EXOBENCH_REAL_DATA``) and the seeded
synthetic cube of ``bench_algorithms.py`` (100 x 201 x 201, a Gaussian PSF of 4 px FWHM, a
companion at 40 px), both libraries run ANDROMEDA with matched options, one thread each:
exobench's ``Andromeda`` in this process (after one untimed call: compilation), VIP's
``vip_hci.invprob.andromeda`` in its own environment (``vip_andromeda.py``), with
``oversampling_fact = fwhm / 2`` so that VIP's lambda/D is one FWHM, the PSF given to both the
normalised PSF cropped to exobench's model box (so that VIP's "contrast" is exobench's flux unit
and both models have the same extent). VIP runs at the matched setting (``precision=50``, its
default) and at its fastest (``precision=10``: fewer sub-pixel PSFs to precompute; the maps are the
same, VIP placing its model at whole pixels whatever ``precision``: ``andromeda_conventions.py``).

VIP works on even frames: an odd cube is shifted by half a pixel and cropped, so its maps are read
half a pixel off exobench's grid (bilinear interpolation) before the comparison: Pearson correlation
of the raw S/N, normalised S/N and flux maps over the pixels both define, overall and by
separation, and the median ratio of the flux maps where the S/N exceeds 3 in both.
Then the calibration table: the realised rates of the statistic above 3 and 5 against a standard
normal's on companion-free cubes of each instrument (the real NACO cube, the default challenge's
simulated instruments).
Writes the "ANDROMEDA against VIP" section of docs/benchmarks.md and bench/results/andromeda.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import SINGLE_THREAD_ENV, best_of, force_single_thread, publish  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
START, END = "<!-- andromeda-benchmark:start -->", "<!-- andromeda-benchmark:end -->"
#: exobench's options of the comparison (VIP's equivalents in :func:`vip_settings`).
MATCHED = {"delta": 0.5, "n_pairs": 1, "annulus_width": 1.0, "inner_radius": 1.0, "opt_method": "lsq", "roa": 2.0,
           "filtering_fraction": 0.25, "variance": "homogeneous", "stamp_size": 3.0, "radial_width": 1.0}
#: Separation bands (FWHM) of the agreement.
BANDS = ((1.0, 3.0), (3.0, 6.0), (6.0, 100.0))
SPEED_TARGET = 10.0
CORRELATION_TARGET = 0.95


def log(line):
    print(line, file=sys.stderr, flush=True)


def vip_settings(options):
    """VIP's keyword arguments matching exobench's ``options``: the matched setting and its fastest."""
    matched = {"filtering_fraction": options["filtering_fraction"], "min_sep": options["delta"],
               "annuli_width": options["annulus_width"], "roa": options["roa"], "opt_method": options["opt_method"],
               "nsmooth_snr": 18, "iwa": options["inner_radius"], "owa": None, "precision": 50, "fast": False,
               "homogeneous_variance": options["variance"] == "homogeneous", "ditimg": 1.0, "ditpsf": None,
               "tnd": 1.0, "total": False, "multiply_gamma": True}
    return {"matched": matched, "fastest": dict(matched, precision=10)}


def datasets(big_shape):
    from bench_algorithms import BIG_FWHM, build_inputs
    from _detection import real_data

    real = real_data()
    if real is None:
        raise SystemExit("no real NACO data ($EXOBENCH_REAL_DATA or ../shared/data/real)")
    inputs = build_inputs(str(real), big_shape)
    half = int(np.ceil(3 * BIG_FWHM))
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    psf = np.exp(-4 * np.log(2) * (x ** 2 + y ** 2) / BIG_FWHM ** 2)
    inputs["big"] = inputs["big"].replace(psf=psf)
    return inputs


def model_psf(dataset, options):
    """The normalised PSF cropped to exobench's model box (what VIP is given)."""
    half = max(1, int(np.ceil(options["stamp_size"] * float(dataset.fwhm) / 2)))
    psf = dataset.normalized_psf
    cy, cx = (n // 2 for n in psf.shape)
    return psf[cy - half:cy + half + 1, cx - half:cx + half + 1]


def on_our_grid(vip_map, shape):
    """VIP's map of an odd frame (shifted by half a pixel and cropped) read at exobench's pixels."""
    from scipy.ndimage import map_coordinates

    if vip_map.shape == shape:
        return vip_map
    yy, xx = np.indices(shape, dtype=float)
    values = map_coordinates(vip_map, [yy.ravel() - 0.5, xx.ravel() - 0.5], order=1, mode="constant", cval=np.nan)
    return values.reshape(shape)


def agreement(ours, theirs, radius):
    """Correlations of the maps over the pixels both define, overall and by separation band.

    ``ours``: ``snr``, ``statistic`` and ``flux`` maps; ``theirs``: VIP's ``snr``, ``snr_norm`` and
    ``contrast`` on the same grid; ``radius``: each pixel's separation in FWHM.
    """
    out = {}
    for name, (a, b) in {"snr": (ours["snr"], theirs["snr"]), "snr_norm": (ours["statistic"], theirs["snr_norm"]),
                         "flux": (ours["flux"], theirs["contrast"])}.items():
        both = np.isfinite(a) & np.isfinite(b) & (b != 0)
        row = {"pixels": int(both.sum()), "all": float(np.corrcoef(a[both], b[both])[0, 1])}
        for low, high in BANDS:
            band = both & (radius >= low) & (radius < high)
            row[f"{low:g}-{high:g}"] = float(np.corrcoef(a[band], b[band])[0, 1]) if band.sum() > 10 else None
        out[name] = row
    strong = np.isfinite(ours["snr"]) & np.isfinite(theirs["snr"]) & (ours["snr"] > 3) & (theirs["snr"] > 3)
    out["flux_ratio_where_snr_above_3"] = float(np.median(ours["flux"][strong] / theirs["contrast"][strong])) \
        if strong.any() else None
    return out


def run_ours(dataset, options, repeats):
    from exobench.algorithms import Andromeda

    detector = Andromeda(**options)
    timing = best_of(lambda: detector.detect(dataset), repeats=repeats)
    detection = timing.pop("result")
    raw = Andromeda(**dict(options, radial_width=None)).detect(dataset)
    maps = {"statistic": detection.statistic, "flux": detection.flux, "snr": raw.statistic}
    return timing, maps


def run_vip(vip_python, inputs, options, work, repeats):
    cubes = {}
    for key, dataset in inputs.items():
        paths = {name: os.path.join(work, f"{key}_{name}.npy") for name in ("cube", "angles", "psf")}
        np.save(paths["cube"], np.asarray(dataset.cube, dtype=np.float64))
        np.save(paths["angles"], np.asarray(dataset.angles, dtype=np.float64))
        np.save(paths["psf"], model_psf(dataset, options))
        cubes[key] = dict(paths, fwhm=float(dataset.fwhm))
    settings = vip_settings(options)
    # VIP's matched setting on the big cube would take tens of minutes: its fastest one only there
    config = {"cubes": cubes, "settings": settings, "only": {"big": ["fastest"]}, "repeats": repeats,
              "slow_s": 8.0, "save_dir": work}
    path = os.path.join(work, "vip_config.json")
    with open(path, "w") as handle:
        json.dump(config, handle)
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    proc = subprocess.run([vip_python, os.path.join(HERE, "vip_andromeda.py"), path], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def calibration(inputs, seeds):
    """Realised rates of the default detector's statistic above 3 and 5 on companion-free cubes, per instrument.

    The real NACO cube (its planet removed) and the simulated instruments of the default challenge's
    phase 1 (as that phase simulates them, companion-free, ``seeds`` noise realisations each).
    """
    import yaml
    from scipy.stats import norm

    from exobench.algorithms import Andromeda
    from exobench.builder.definition import DEFAULT_CHALLENGE
    from exobench.simulate import simulate

    definition = yaml.safe_load(DEFAULT_CHALLENGE.read_text())
    phase = next(p for p in definition["phases"] if p["number"] == 1)
    cubes = {"naco (real)": [inputs["naco"]]}
    for source in phase["sources"]:
        if "simulate" in source:
            log(f"simulating {source['simulate']} x {seeds} ...")
            cubes[f"{source['simulate']} (simulated)"] = [
                simulate(source["simulate"], seed=seed, frames=source.get("frames"),
                         frame_size=source.get("frame_size"), overrides=source.get("overrides")).dataset
                for seed in range(seeds)]
    rows = {}
    for name, datasets in cubes.items():
        values = np.concatenate([v[np.isfinite(v)] for v in (Andromeda().detect(d).statistic for d in datasets)])
        rows[name] = {"datasets": len(datasets), "shape": "x".join(map(str, datasets[0].cube.shape)),
                      "pixels": int(values.size), "mean": float(values.mean()), "std": float(values.std()),
                      **{f"above_{k}": float((values > k).mean()) for k in (3, 5)},
                      **{f"promised_{k}": float(norm.sf(k)) for k in (3, 5)}}
        log(f"{name}: {rows[name]}")
    return rows


def calibration_lines(rows):
    lines = ["", "#### Calibration of the statistic", "",
             "The default `Andromeda()` on companion-free cubes: the real NACO cube (its planet removed) and the "
             "simulated instruments of the default challenge's phase 1, simulated as that phase does without "
             "companions, several seeds. Realised rate: the fraction of the pixels where the statistic is defined "
             "that exceed the threshold; promised: a standard normal's tail (neighbouring pixels are correlated "
             "over a FWHM, so a few clusters make the realised rates).", "",
             "| instrument | datasets (shape) | pixels | mean | std | rate > 3 (promised) | rate > 5 (promised) |",
             "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['datasets']} ({r['shape']}) | {r['pixels']} | {r['mean']:+.3f} | "
                     f"{r['std']:.3f} | {r['above_3']:.2e} ({r['promised_3']:.2e}) | "
                     f"{r['above_5']:.2e} ({r['promised_5']:.2e}) |")
    return lines


def section(report):
    import exobench
    from bench_core import machine_info

    m = machine_info()
    lines = [START, "### ANDROMEDA against VIP", "",
             "Generated by `bench/bench_andromeda.py`; do not edit this section by hand.", "",
             f"- Run: {report['date']}, command `{report['command']}`.",
             f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, "
             f"{m['os']}. Load average before / after: {report['load'][0]} / {report['load'][1]} "
             "(other jobs shared the machine).",
             f"- exobench {exobench.__version__}, vip-hci {report['vip']['versions']['vip_hci']}; one thread each. "
             f"exobench `Andromeda({', '.join(f'{k}={v!r}' for k, v in MATCHED.items())})`; VIP "
             "`andromeda(oversampling_fact=fwhm/2, min_sep=0.5, annuli_width=1, roa=2, opt_method='lsq', "
             "filtering_fraction=0.25, iwa=1, homogeneous_variance=True, nsmooth_snr=18, precision=50 "
             "(matched) or 10 (fastest), nproc=1)`, both given the normalised PSF cropped to exobench's model box.",
             "- VIP's matched setting is not run on the big cube (tens of minutes); its maps there are those "
             "of the fastest setting (`precision=10`).",
             "- Correlation: Pearson, over the pixels both maps define (VIP's maps read half a pixel off, "
             "see the script); flux ratio: median of exobench's flux over VIP's contrast where both raw S/N "
             "exceed 3.", "",
             "| cube | exobench (s) | VIP matched (s) | VIP fastest (s) | speed-up vs fastest | "
             "corr. raw S/N | corr. normalised S/N (1-3 / 3-6 / 6+ FWHM) | corr. flux | flux ratio |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for key, row in report["cubes"].items():
        a = row["agreement"]
        by_band = [a["snr_norm"][f"{low:g}-{high:g}"] for low, high in BANDS]
        bands = " / ".join("n/a" if value is None else f"{value:.3f}" for value in by_band)
        ratio = "n/a" if a["flux_ratio_where_snr_above_3"] is None else f"{a['flux_ratio_where_snr_above_3']:.3f}"
        matched = "not run" if row["vip_matched_s"] is None else f"{row['vip_matched_s']:.1f}"
        lines.append(f"| {key} {row['shape']} | {row['ours_s']:.2f} | {matched} | "
                     f"{row['vip_fastest_s']:.1f} | {row['speedup']:.0f}x | {a['snr']['all']:.3f} | "
                     f"{a['snr_norm']['all']:.3f} ({bands}) | {a['flux']['all']:.3f} | {ratio} |")
    lines += ["", f"Targets: at least {SPEED_TARGET:g}x faster than VIP's fastest setting, maps correlated at "
              f"{CORRELATION_TARGET} or more. How and why the two differ by design: docs/detectors.md, "
              "section `andromeda`."]
    if report.get("calibration"):
        lines += calibration_lines(report["calibration"])
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv=None):
    from exobench.geometry import polar_grid

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vip-python", default=os.path.join(HERE, ".venv-vip", "bin", "python"))
    parser.add_argument("--big", nargs=2, type=int, default=(100, 201), metavar=("T", "N"),
                        help="frames and side of the synthetic cube (default 100 201)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="noise realisations of each simulated instrument")
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")
    args = parser.parse_args(argv)
    if not os.path.exists(args.vip_python):
        parser.error(f"--vip-python: {args.vip_python} not found (run bash bench/setup_vip_env.sh)")
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    inputs = datasets((args.big[0], args.big[1], args.big[1]))
    report = {"cubes": {}, "options": MATCHED}
    with tempfile.TemporaryDirectory() as work:
        log("VIP ...")
        vip = run_vip(args.vip_python, inputs, MATCHED, work, args.repeats)
        for key, dataset in inputs.items():
            log(f"exobench {key} ...")
            timing, ours = run_ours(dataset, MATCHED, args.repeats)
            compared = "matched" if f"{key}/matched" in vip["results"] else "fastest"
            theirs = {name: on_our_grid(np.load(os.path.join(work, f"vip_{key}_{compared}_{name}.npy")),
                                        dataset.frame_shape) for name in ("contrast", "snr", "snr_norm")}
            fastest = vip["results"][f"{key}/fastest"]["best_s"]
            matched = vip["results"].get(f"{key}/matched", {}).get("best_s")
            report["cubes"][key] = {
                "shape": "x".join(map(str, dataset.cube.shape)), "ours_s": timing["best_s"],
                "ours_median_s": timing["median_s"], "vip_matched_s": matched, "vip_compared": compared,
                "vip_fastest_s": fastest, "speedup": fastest / timing["best_s"],
                "agreement": agreement(ours, theirs, polar_grid(dataset.frame_shape)[0] / float(dataset.fwhm))}
            log(json.dumps(report["cubes"][key]))
    report["vip"] = vip
    report["calibration"] = calibration(inputs, args.seeds)
    report["load"] = (load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    report["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    report["command"] = "python bench/bench_andromeda.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report["command"] = report["command"].strip()
    publish(section(report), report, doc=DOC, start=START, end=END, name="andromeda.json", no_docs=args.no_docs,
            log=log)


if __name__ == "__main__":
    main()
