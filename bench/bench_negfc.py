"""NEGFC benchmark: exobench's ``negfc`` against vip-hci's ``firstguess``, and the coverage of its uncertainties.

Usage::

    PYTHONPATH=$PWD python bench/bench_negfc.py [--data-dir DIR] [--vip-python PATH] [--coverage N]
        [--coverage-budget SECONDS] [--coverage-reverse | --coverage-first K] [--json OUT.json]
    PYTHONPATH=$PWD python bench/bench_negfc.py --coverage-logs RUN1.err [RUN2.err ...]

On the real NACO cube (its planet removed; ../shared/data/real), companions are injected
(``flux * psf``, exobench.charac.model) at 3 and 6 FWHM and S/N 5, 10, 20 and 30 (the flux
of a S/N scaled linearly from one injection's S/N in annular PCA's final frame, ncomp 5),
each announced by a candidate moved by a seeded offset uniform in a disc of 0.5 FWHM.

1. Accuracy and speed at matched settings: exobench ``NegFC(ncomp=5, annulus_width=3,
   aperture_radius=1, delta=0, fmerit="sum")`` (one annulus of 3 FWHM centred on the
   candidate, every frame in the library, VIP's sum of absolute values) and VIP 2.1.1's
   ``firstguess`` with the same (``pca_annulus``, ``annulus_width=3 FWHM`` in px,
   ``aperture_radius=1``, ``fmerit='sum'`` with ``mu_sigma=None``, bilinear skimage rotations
   and shifts, median collapse),
   in a subprocess of VIP's venv (bench/vip_negfc.py), one thread each; and exobench's
   defaults (``NegFC()``: sum of squares, delta 1). Errors: position (px) and |flux| (relative).
2. Coverage: ``--coverage N`` more companions (separations 2.5-8 FWHM, S/N 5-30, seeded),
   each fitted as ``NegFC().estimate`` does, with its injection-recovery uncertainties; the
   fraction of coordinates (x, y, flux) whose truth lies within 1 sigma, with a 95 %
   percentile-bootstrap interval over the companions, for the estimator's (polar) position
   uncertainties and the Cartesian RMS of the same fakes' errors. Stops after
   ``--coverage-budget`` seconds with what it has. Each companion is logged on stderr as it
   is done; processes may share the companions (``--coverage-reverse``: from the last;
   ``--coverage-first K``: from the K-th) and ``--coverage-logs`` summarises their logs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NACO = ("naco_betapic_empty_cube.fits", "naco_betapic_empty_pa.fits", "naco_betapic_psf.fits")
SNRS = (5.0, 10.0, 20.0, 30.0)
SEPARATIONS_FWHM = (3.0, 6.0)
MATCHED = {"ncomp": 5, "annulus_width": 3.0, "aperture_radius": 1.0, "delta": 0.0, "fmerit": "sum"}


def naco_dataset(data_dir):
    from astropy.io import fits

    from exobench.data import Dataset

    cube, angles, psf = (np.asarray(fits.getdata(os.path.join(data_dir, name)), dtype=np.float64) for name in NACO)
    return Dataset(cube, angles, psf=psf, pxscale=0.02719, instrument="naco", dataset_id="1")


def flux_for_snr(dataset, position, target, *, probe=1000.0):
    """The flux of S/N ``target`` at ``position``: one injection's S/N, scaled linearly."""
    from exobench.algorithms import AnnularPCA
    from exobench.charac.uncertainty import add_companion
    from exobench.detmap import snr

    final = AnnularPCA(ncomp=5).process(add_companion(dataset, position, [probe])).final
    return probe * target / max(snr(final, position, float(dataset.fwhm)).snr, 0.5)


def draw_cases(dataset, rng, separations_fwhm, snrs, *, flux=True):
    """The cases' positions and candidates drawn from ``rng``, and (``flux``) each one's flux
    (:func:`flux_for_snr`; without, ``None``: the same draws, the flux left for later)."""
    from exobench.geometry import polar_to_cartesian

    fwhm = float(dataset.fwhm)
    cases = []
    for separation in separations_fwhm:
        for target in snrs:
            theta = rng.uniform(0, 360)
            truth = np.array(polar_to_cartesian(separation * fwhm, theta, center=dataset.center))
            radius, angle = 0.5 * fwhm * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            candidate = truth + radius * np.array([np.cos(angle), np.sin(angle)])
            cases.append({"separation_fwhm": float(separation), "snr": float(target), "truth": truth.tolist(),
                          "candidate": candidate.tolist(),
                          "flux": flux_for_snr(dataset, truth, target) if flux else None})
    return cases


def errors(case, x, y, flux):
    return {"position_px": float(np.hypot(x - case["truth"][0], y - case["truth"][1])),
            "flux_rel": float(abs(flux / case["flux"] - 1)), "flux_bias": float(flux / case["flux"] - 1)}


def run_exobench(dataset, cases, options):
    from exobench.charac.negfc import NegFC
    from exobench.charac.uncertainty import add_companion

    out = []
    for case in cases:
        data = add_companion(dataset, case["truth"], [case["flux"]])
        start, cpu = time.perf_counter(), time.process_time()
        found = NegFC(**options).fit(data, [case["candidate"]])[0]
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        out.append({**errors(case, found.x, found.y, found.fluxes[0]), "seconds": seconds, "cpu_seconds": cpu})
    return out


def run_vip(vip_python, dataset, cases, work):
    from exobench.charac.uncertainty import add_companion
    from exobench.psf import psf_flux

    unit = float(psf_flux(dataset.psf, dataset.fwhm))
    paths = []
    for number, case in enumerate(cases):
        path = os.path.join(work, f"cube_{number}.npy")
        np.save(path, add_companion(dataset, case["truth"], [case["flux"]]).cube)
        paths.append(path)
    np.save(os.path.join(work, "angles.npy"), np.asarray(dataset.angles, dtype=np.float64))
    np.save(os.path.join(work, "psfn.npy"), np.asarray(dataset.psf) / unit)
    config = {"cubes": paths, "angles": os.path.join(work, "angles.npy"), "psfn": os.path.join(work, "psfn.npy"),
              "fwhm": float(dataset.fwhm), "candidates": [c["candidate"] for c in cases], "ncomp": MATCHED["ncomp"],
              "annulus_width_px": MATCHED["annulus_width"] * float(dataset.fwhm),
              "aperture_radius_fwhm": MATCHED["aperture_radius"], "fmerit": MATCHED["fmerit"],
              # VIP's default mu_sigma=True would replace fmerit by a chi-square about the mean of
              # a wedge of the annulus measured with the companion in (bench/vip_negfc.py)
              "mu_sigma": None}
    config_path = os.path.join(work, "vip.json")
    with open(config_path, "w") as handle:
        json.dump(config, handle)
    proc = subprocess.run([vip_python, os.path.join(HERE, "vip_negfc.py"), config_path], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True)
    document = json.loads(proc.stdout.strip().splitlines()[-1])
    # VIP's flux is in psfn units (the PSF over its 1-FWHM aperture flux): back to PSF units
    return document["version"], [{**errors(case, r["x"], r["y"], r["flux"] / unit), "seconds": r["seconds"],
                                  "cpu_seconds": r["cpu_seconds"]}
                                 for case, r in zip(cases, document["results"])]


def run_coverage(dataset, count, budget, seed, progress, *, reverse=False, first=0):
    from exobench.charac.negfc import NegFC
    from exobench.charac.uncertainty import add_companion, injection_fits, polar_rms_errors, rms_errors

    rng = np.random.default_rng(seed)
    negfc = NegFC()
    cases = [draw_cases(dataset, rng, [rng.uniform(2.5, 8.0)], [rng.uniform(5.0, 30.0)], flux=False)[0]
             for _ in range(count)]
    inside, rows, start = [], [], time.perf_counter()
    # several processes share the companions: one from the first, one from the last (reverse), one
    # from the middle (first), each companion an independent draw of the same seeded sequence
    order = range(count - 1, -1, -1) if reverse else range(first, count)
    for index in order:
        case = cases[index]
        case["flux"] = flux_for_snr(dataset, np.array(case["truth"]), case["snr"])
        if time.perf_counter() - start > budget:
            break
        data = add_companion(dataset, case["truth"], [case["flux"]])
        # NegFC().estimate's steps, the fakes' fits kept: the uncertainties of both reductions
        # (polar, the estimator's; Cartesian RMS, the earlier one) from the same fits
        estimate = negfc.fit(data, [case["candidate"]])[0].row
        fakes, truths = injection_fits(lambda d, start: negfc.fit(d, [start])[0].row, data, estimate,
                                       case["candidate"], count=negfc.n_fakes)
        sigma = polar_rms_errors(fakes, truths, estimate[:2], dataset.center)
        truth = np.array([*case["truth"], case["flux"]])
        inside.append(np.abs(estimate - truth) <= sigma)
        rows.append({"index": index, "snr": case["snr"], "separation_fwhm": case["separation_fwhm"],
                     "truth": truth.tolist(), "candidate": case["candidate"], "error": (estimate - truth).tolist(),
                     "sigma": sigma.tolist(), "sigma_cartesian": rms_errors(fakes, truths).tolist(),
                     "fake_errors": (fakes - truths).tolist(), "fake_truths": truths.tolist()})
        progress(f"coverage {len(rows)}/{count}: inside {inside[-1].tolist()} {json.dumps(rows[-1])}")
    inside = np.array(inside, dtype=float).reshape(-1, 3)
    return {"companions": len(rows), "requested": count,
            "fraction_1sigma": inside.mean(axis=0).tolist() if len(rows) else None,
            "fraction_1sigma_all": float(inside.mean()) if len(rows) else None, "rows": rows}


def coverage_summary(rows, *, n_boot=2000, seed=0):
    """Per coordinate (x, y, flux) and all together, the fraction of truths within 1 sigma and its
    95 % percentile-bootstrap interval (companions resampled with replacement, seeded), for the
    estimator's uncertainties (``sigma``) and, where the rows have them, the Cartesian RMS of the
    same fakes' errors (``sigma_cartesian``)."""
    out = {"companions": len(rows)}
    rng = np.random.default_rng(seed)
    draws = rng.integers(len(rows), size=(n_boot, len(rows))) if rows else None
    for key in ("sigma", "sigma_cartesian"):
        if not rows or key not in rows[0]:
            continue
        inside = np.array([np.abs(row["error"]) <= np.array(row[key]) for row in rows], dtype=float)
        summary = {}
        for name, values in (("x", inside[:, 0]), ("y", inside[:, 1]), ("flux", inside[:, 2]),
                             ("all", inside.mean(axis=1))):
            boot = values[draws].mean(axis=1)
            summary[name] = [float(values.mean()), *map(float, np.percentile(boot, [2.5, 97.5]))]
        out[key] = summary
    return out


def read_coverage_logs(paths):
    """The coverage rows logged on stderr by one or more runs (``coverage i/N: ... {json}``), one per
    companion index, in index order."""
    rows = {}
    for path in paths:
        with open(path) as handle:
            for line in handle:
                if line.startswith("coverage ") and "{" in line:
                    row = json.loads(line[line.index("{"):])
                    rows[row["index"]] = row
    return [rows[index] for index in sorted(rows)]


def render_coverage(summary):
    lines = ["| uncertainties | x | y | flux | all |", "| --- | --- | --- | --- | --- |"]
    names = {"sigma": "polar (the estimator's)", "sigma_cartesian": "Cartesian RMS (earlier)"}
    for key, label in names.items():
        if key in summary:
            cells = [f"{v:.2f} [{lo:.2f}, {hi:.2f}]" for v, lo, hi in (summary[key][n] for n in
                                                                          ("x", "y", "flux", "all"))]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(report):
    lines = ["| S/N | sep. (FWHM) | VIP pos. err (px) | exobench matched | exobench default | "
             "VIP flux err | exobench matched | exobench default | VIP CPU (s) | exobench matched CPU (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for case, vip, ours, default in zip(report["cases"], report["vip"], report["matched"], report["default"]):
        lines.append(f"| {case['snr']:g} | {case['separation_fwhm']:g} | {vip['position_px']:.3f} | "
                     f"{ours['position_px']:.3f} | {default['position_px']:.3f} | {vip['flux_rel']:.1%} | "
                     f"{ours['flux_rel']:.1%} | {default['flux_rel']:.1%} | {vip['cpu_seconds']:.1f} | "
                     f"{ours['cpu_seconds']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "real"))
    parser.add_argument("--vip-python", default=os.path.join(HERE, ".venv-vip", "bin", "python"))
    parser.add_argument("--coverage", type=int, default=50)
    parser.add_argument("--coverage-budget", type=float, default=3600.0)
    parser.add_argument("--coverage-reverse", action="store_true",
                        help="the coverage's companions from the last (a second process meets the first)")
    parser.add_argument("--coverage-first", type=int, default=0,
                        help="the coverage's first companion (another process has the earlier ones)")
    parser.add_argument("--skip-comparison", action="store_true")
    parser.add_argument("--separations", type=float, nargs="+", default=list(SEPARATIONS_FWHM))
    parser.add_argument("--snrs", type=float, nargs="+", default=list(SNRS))
    parser.add_argument("--coverage-logs", nargs="+", default=None,
                        help="summarise the coverage rows logged (stderr) by earlier runs, and stop")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.coverage_logs:
        summary = coverage_summary(read_coverage_logs(args.coverage_logs))
        print(f"coverage: {summary['companions']} companions, fraction within 1 sigma [95 % bootstrap interval]")
        print(render_coverage(summary))
        return 0
    dataset = naco_dataset(args.data_dir)

    def progress(text):
        print(text, file=sys.stderr, flush=True)

    report = {}
    if not args.skip_comparison:
        cases = draw_cases(dataset, np.random.default_rng(0), args.separations, args.snrs)
        report["cases"] = cases
        with tempfile.TemporaryDirectory() as work:
            report["vip_version"], report["vip"] = run_vip(args.vip_python, dataset, cases, work)
        progress("vip done")
        print(json.dumps(report["vip"]), file=sys.stderr, flush=True)
        report["matched"] = run_exobench(dataset, cases, MATCHED)
        progress("matched done")
        report["default"] = run_exobench(dataset, cases, {})
        print(render(report))
    if args.coverage:
        report["coverage"] = run_coverage(dataset, args.coverage, args.coverage_budget, 1, progress,
                                          reverse=args.coverage_reverse, first=args.coverage_first)
        cov = report["coverage"]
        cov["summary"] = coverage_summary(cov["rows"])
        print(f"coverage: {cov['companions']} companions, fraction within 1 sigma [95 % bootstrap interval]")
        print(render_coverage(cov["summary"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
