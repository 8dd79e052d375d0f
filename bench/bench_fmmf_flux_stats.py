"""FMMF's refined flux at the map's maximum: bias and scatter over many companions, by S/N and separation.

    python bench/bench_fmmf_flux_stats.py run --cube naco --cubes 8 --out fmmf_flux_naco.jsonl
    python bench/bench_fmmf_flux_stats.py run --cube synthetic --cubes 8 --out fmmf_flux_synthetic.jsonl
    python bench/bench_fmmf_flux_stats.py table fmmf_flux_naco.jsonl fmmf_flux_synthetic.jsonl

``run`` injects ``--per-cube`` companions into each of ``--cubes`` cubes: the
real NACO cube (``../shared/data/real`` or ``$EXOBENCH_REAL_DATA``, the planet
removed; the cubes differ by the companions' positions only) or the synthetic
``example_dataset(n_frames=30, size=81, seed=...)`` (one noise seed per cube).
The separations are uniform in 2.5-8 FWHM with at least 2 FWHM between the
companions of a cube (so that no companion enters another's PCA annulus or
matched-filter stamp), the azimuths uniform (so the sub-pixel offsets are
random), and the flux is a log-uniform ``--snr`` range times ``FMMF()``'s
``flux_std`` at that pixel of the cube without companions (the reported S/N
is lower where the first-order flux is). ``FMMF(refine_flux_above=None)`` runs
on the rings of 2-8.6 FWHM; near each companion the highest local maximum of
the statistic within 1 FWHM is taken (none: not detected), and its flux is
refined exactly as ``FMMF()`` refines it (the maximum located to 1/16 px, then
the root of the plain matched filter's signal), the other pixels left out
(each pixel's refinement is independent of the others'). One JSON line per
companion goes to ``--out`` as it is measured, so an interrupted run keeps
what it measured.

``table`` prints, per cube and for both, by the statistic at the maximum (5-10,
10-15, 15-20, 20-30, 30 and more) and by separation (S/N at least 10): the median of the refined
flux over the injected and its 95 % bootstrap interval, the fraction within
10 % and its interval, the normalised error ``(flux - injected) / flux_std``
(``flux_std`` at the maximum, FMMF's own): its mean and standard deviation
with their intervals (0 and 1 for an unbiased estimator with an honest error
bar); the same of ``(flux / injected - 1) x S/N``, the relative error over the
first-order estimate's (``flux_std / first-order flux``: the refinement scales
the first-order flux up by the inverse of the companion's throughput, and its
noise with it); and the ratio's scatter (1.4826 times its median absolute
deviation) against the ones the noise predicts (the root mean squares of
``flux_std / injected`` and of ``1 / S/N``). Hand-written reading: docs/benchmarks.md, "FMMF flux over many
companions".
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

#: Separations (FWHM) of the companions, and the least radial gap between two in one cube.
SEPARATIONS = (2.5, 8.0)
GAP = 2.0
#: The rings FMMF runs on (FWHM): the companions' range, with room for the normalisation's annuli.
RINGS = (2.0, 8.6)
#: Bins of the statistic at the maximum, and bands of separation (FWHM), of the table.
SNR_BINS = ((10, 15), (15, 20), (20, 30))
SEPARATION_BANDS = ((2.5, 4.0), (4.0, 6.0), (6.0, 8.0))
BOOTSTRAP = 2000


def load_cube(kind, seed):
    """The companion-free dataset of ``kind`` (``naco`` or ``synthetic``) and seed."""
    if kind == "naco":
        from bench_loci import naco_dataset

        return naco_dataset()
    from exobench.examples import example_dataset

    return example_dataset(n_frames=30, size=81, seed=seed)


def draw_companions(rng, n, fwhm, snr_range):
    """``n`` separations (px, at least ``GAP`` FWHM apart), azimuths (degrees) and target S/N."""
    low, high = SEPARATIONS
    spare = (high - low) - GAP * (n - 1)
    if spare < 0:
        raise ValueError(f"per_cube: at most {int((high - low) / GAP) + 1} companions fit, got {n}")
    separations = (low + np.sort(rng.uniform(0, spare, n)) + GAP * np.arange(n)) * fwhm
    thetas = rng.uniform(0, 360, n)
    snr = np.exp(rng.uniform(*np.log(snr_range), n))
    return separations, thetas, snr


def nearest_maximum(statistic, x, y, reach):
    """The flat index of the highest local maximum of ``statistic`` within ``reach`` px of ``(x, y)``, or None."""
    from exobench.algorithms.fmmf import _local_maxima

    ny, nx = statistic.shape
    yy, xx = np.mgrid[:ny, :nx]
    near = (np.hypot(xx - x, yy - y) <= reach) & _local_maxima(statistic)
    if not near.any():
        return None
    return int(np.flatnonzero(near.ravel())[np.argmax(statistic.ravel()[near.ravel()])])


def measure(kind, index, args, empty_std):
    """The JSON records of the companions of cube ``index`` (see the module's docstring)."""
    from exobench.algorithms import FMMF
    from exobench.algorithms.detector import Detection
    from exobench.geometry import polar_to_cartesian
    from exobench.inject import inject_companions

    seed = args.seed + index
    empty = load_cube(kind, seed)
    fwhm = float(empty.fwhm)
    options = {"inner_radius": RINGS[0], "outer_radius": RINGS[1]}
    if empty_std is None:  # synthetic: each seed its own noise
        empty_std = FMMF(**options, refine_flux_above=None).detect(empty).flux_std
    rng = np.random.default_rng([seed, 7])
    separations, thetas, snr = draw_companions(rng, args.per_cube, fwhm, args.snr)
    xs, ys = polar_to_cartesian(separations, thetas, center=empty.center)
    fluxes = snr * empty_std[np.rint(ys).astype(int), np.rint(xs).astype(int)]
    dataset = inject_companions(empty, separations=separations, thetas=thetas, fluxes=fluxes).dataset
    detector = FMMF(**options)
    start = time.process_time()
    first = FMMF(**options, refine_flux_above=None).detect(dataset)
    setup = detector._setup(dataset)
    peaks = [nearest_maximum(first.statistic, x, y, fwhm) for x, y in zip(xs, ys)]
    chosen = np.full(first.statistic.size, np.nan)  # the maxima alone: each one refined as FMMF() refines it
    for peak in peaks:
        if peak is not None:
            chosen[peak] = first.statistic.flat[peak]
    refined = detector._refine(setup, Detection(chosen.reshape(first.statistic.shape), first.flux, first.flux_std))
    cpu = time.process_time() - start
    records = []
    for k, peak in enumerate(peaks):
        record = {"cube": kind, "seed": seed, "separation_px": float(separations[k]),
                  "separation_fwhm": float(separations[k] / fwhm), "theta": float(thetas[k]),
                  "flux": float(fluxes[k]), "snr_injected": float(snr[k]), "cpu_s_cube": cpu}
        if peak is not None:
            my, mx = divmod(peak, first.statistic.shape[1])
            record.update({"snr": float(first.statistic.flat[peak]),
                           "offset_px": [mx - float(xs[k]), my - float(ys[k])],
                           "first_order": float(first.flux.flat[peak]), "refined": float(refined.flux.flat[peak]),
                           "flux_std": float(first.flux_std.flat[peak])})
        records.append(record)
    return records


def run(args):
    from exobench.algorithms import FMMF

    empty_std = None
    if args.cube == "naco":  # one cube: its companion-free flux_std once
        options = {"inner_radius": RINGS[0], "outer_radius": RINGS[1], "refine_flux_above": None}
        empty_std = FMMF(**options).detect(load_cube("naco", 0)).flux_std
    for index in range(args.cubes):
        for record in measure(args.cube, index, args, empty_std):
            with open(args.out, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            ratio = record.get("refined", np.nan) / record["flux"]
            print(f"{record['cube']} seed {record['seed']} sep {record['separation_fwhm']:.2f} FWHM "
                  f"S/N {record.get('snr', np.nan):.1f} ratio {ratio:.3f} cpu {record['cpu_s_cube']:.0f} s", flush=True)
    return 0


def interval(values, statistic, rng):
    """``statistic(values)`` and its 95 % percentile-bootstrap interval, as text."""
    values = np.asarray(values)
    draws = rng.integers(0, values.size, (BOOTSTRAP, values.size))
    boot = np.array([statistic(values[d]) for d in draws])
    low, high = np.percentile(boot, [2.5, 97.5])
    return f"{statistic(values):.3f} [{low:.3f}, {high:.3f}]"


def row(label, records, rng):
    """One markdown row of the table (see the module's docstring)."""
    if not records:
        return f"| {label} | 0 | | | | | | | |"
    flux, refined, flux_std, snr = (np.array([r[key] for r in records])
                                    for key in ("flux", "refined", "flux_std", "snr"))
    ratio = refined / flux
    error = (refined - flux) / flux_std
    relative = (ratio - 1) * snr
    scatter = 1.4826 * np.median(np.abs(ratio - np.median(ratio)))
    within = (np.abs(ratio - 1) <= 0.1).astype(float)

    def spread(values):
        return np.std(values, ddof=1) if values.size > 1 else np.nan

    return (f"| {label} | {ratio.size} | {interval(ratio, np.median, rng)} | {interval(within, np.mean, rng)} | "
            f"{interval(error, np.mean, rng)} | {interval(error, spread, rng)} | "
            f"{interval(relative, np.mean, rng)} | {interval(relative, spread, rng)} | "
            f"{scatter:.3f} / {np.sqrt(np.mean((flux_std / flux) ** 2)):.3f} / {np.sqrt(np.mean(snr ** -2.0)):.3f} |")


def table(args):
    records = []
    for name in args.results:
        with open(name) as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    rng = np.random.default_rng(0)
    print("| cube, bin | companions | median flux / injected [95 %] | within 10 % [95 %] | "
          "mean (flux - injected) / flux_std [95 %] | its std [95 %] | mean (flux / injected - 1) x S/N [95 %] | "
          "its std [95 %] | ratio's scatter / rms flux_std / injected / rms 1/S/N |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for cube in sorted({r["cube"] for r in records}) + ["both"]:
        mine = [r for r in records if cube in ("both", r["cube"])]
        found = [r for r in mine if "snr" in r]
        print(f"| **{cube}**: {len(mine)} injected, {len(found)} with a maximum within 1 FWHM, "
              f"{sum(r['snr'] < 10 for r in found)} of them at S/N < 10 | | | | | | | | |")
        print(row(f"{cube}, S/N 5-10 (below the requirement's)", [r for r in found if 5 <= r["snr"] < 10], rng))
        for low, high in SNR_BINS:
            print(row(f"{cube}, S/N {low}-{high}", [r for r in found if low <= r["snr"] < high], rng))
        print(row(f"{cube}, S/N >= {SNR_BINS[-1][1]}", [r for r in found if r["snr"] >= SNR_BINS[-1][1]], rng))
        for low, high in SEPARATION_BANDS:
            print(row(f"{cube}, {low}-{high} FWHM, S/N >= 10",
                      [r for r in found if r["snr"] >= 10 and low <= r["separation_fwhm"] < high], rng))
        print(row(f"{cube}, all at S/N >= 10", [r for r in found if r["snr"] >= 10], rng))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    measure_parser = commands.add_parser("run", help="inject, detect and refine; append JSON lines to --out")
    measure_parser.add_argument("--cube", choices=("naco", "synthetic"), required=True)
    measure_parser.add_argument("--cubes", type=int, default=8)
    measure_parser.add_argument("--per-cube", type=int, default=3)
    measure_parser.add_argument("--seed", type=int, default=100, help="the first cube's seed (then +1 per cube)")
    measure_parser.add_argument("--snr", type=float, nargs=2, default=(12.0, 100.0),
                                help="range of the injected flux over the empty cube's flux_std")
    measure_parser.add_argument("--out", required=True)
    table_parser = commands.add_parser("table", help="the markdown table of JSON-line results")
    table_parser.add_argument("results", nargs="+")
    args = parser.parse_args(argv)
    return run(args) if args.command == "run" else table(args)


if __name__ == "__main__":
    sys.exit(main())
