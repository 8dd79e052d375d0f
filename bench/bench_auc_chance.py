"""What AUC the scorer gives to maps that carry no information, and to an oracle.

Phases of 8 datasets of 64x64 pixels, FWHM 4 px, 5 companions each at 8 to 26 px
from the star (uniform in angle), seeded; for each kind of map, many phases, each
scored with ``roc_curve`` (the scorer's AUC: the envelope floored at chance) and
with the same envelope without the floor (the area of :func:`envelope` alone), so
that the table shows what the floor changes. Reported: the mean AUC over phases
with a 95 % bootstrap interval of that mean (resampling phases), and the range.

Maps: constant (0), all NaN, all -inf, white Gaussian noise, Gaussian noise
smoothed to the FWHM (a speckle-like field), the exact S/N map of white noise (what
a baseline's detection map of pure noise looks like), and an oracle (a Gaussian
bump on each companion, nothing else).

Usage (from the repository root)::

    python bench/bench_auc_chance.py [--phases 200]

It writes its table into ``docs/benchmarks.md`` between
``<!-- auc-chance:start -->`` and ``<!-- auc-chance:end -->`` and the raw numbers
to ``bench/results/auc_chance_latest.json``.
"""

import argparse
import datetime
import os
import platform
import sys
import warnings

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import replace_doc_section, write_json  # noqa: E402

from exobench.detmap import snr_map  # noqa: E402
from exobench.scoring.curves import envelope, roc_curve  # noqa: E402

SIZE, FWHM, DATASETS, COMPANIONS = 64, 4.0, 8, 5
START, END = "<!-- auc-chance:start -->", "<!-- auc-chance:end -->"


def phase_positions(rng):
    c = SIZE // 2
    out = []
    for _ in range(DATASETS):
        r = np.arange(8.0, 28.0, 4.0)  # spaced radii: the oracle's bumps never merge
        t = rng.uniform(0, 2 * np.pi, COMPANIONS)
        out.append(np.c_[c + r * np.cos(t), c + r * np.sin(t)])
    return out


def make_maps(kind, positions, rng):
    shape = (SIZE, SIZE)
    if kind == "constant":
        return [np.zeros(shape) for _ in positions]
    if kind == "all NaN":
        return [np.full(shape, np.nan) for _ in positions]
    if kind == "all -inf":
        return [np.full(shape, -np.inf) for _ in positions]
    noise = [rng.normal(size=shape) for _ in positions]
    if kind == "white noise":
        return noise
    if kind == "smoothed noise":
        return [ndimage.gaussian_filter(m, FWHM / 2.3548) for m in noise]
    if kind == "S/N map of noise":
        return [snr_map(m, FWHM) for m in noise]
    yy, xx = np.indices(shape)
    return [np.max([np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2 / 1.7**2) for x, y in p], axis=0)
            for p in positions]


def unfloored_auc(curve):
    x, y, _ = envelope(curve.fpr, curve.tpr)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def summary(values, rng, n_boot=2000):
    values = np.asarray(values)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return {"mean": float(values.mean()), "ci95": [float(low), float(high)],
            "min": float(values.min()), "max": float(values.max())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=200, help="phases per kind of map (default 200)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    kinds = ["constant", "all NaN", "all -inf", "white noise", "smoothed noise", "S/N map of noise", "oracle"]
    rng = np.random.default_rng(args.seed)
    results = {}
    warnings.simplefilter("ignore")
    for kind in kinds:
        floored, plain = [], []
        phases = 1 if kind in ("constant", "all NaN", "all -inf") else args.phases
        for _ in range(phases):
            positions = phase_positions(rng)
            curve = roc_curve(make_maps(kind, positions, rng), positions, FWHM)
            floored.append(curve.auc)
            plain.append(unfloored_auc(curve))
        results[kind] = {"phases": phases, "auc": summary(floored, rng), "without_floor": summary(plain, rng)}
        print(f"{kind:>18}: AUC {results[kind]['auc']['mean']:.4f} (without the floor "
              f"{results[kind]['without_floor']['mean']:.4f}), {phases} phase(s)", flush=True)
    report = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "command": "python bench/bench_auc_chance.py "
              f"--phases {args.phases} --seed {args.seed}", "results": results}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.makedirs(os.path.join(root, "bench", "results"), exist_ok=True)
    write_json(os.path.join(root, "bench", "results", "auc_chance_latest.json"), report)
    if not args.no_doc:
        replace_doc_section(os.path.join(root, "docs", "benchmarks.md"), doc_section(report), START, END)


def doc_section(report):
    lines = [START, f"## AUC of uninformative maps ({report['date']})", "",
             f"`{report['command']}` ({report['machine']}, Python {report['python']}). Phases of "
             f"{DATASETS} maps of {SIZE}x{SIZE} px, FWHM {FWHM:g} px, {COMPANIONS} companions each at 8 to 26 px; "
             "the scorer's AUC (the ROC envelope floored at the chance diagonal) against the same envelope "
             "without the floor. Mean over phases, 95 % bootstrap interval of the mean (phases resampled), range.",
             "", "| map | phases | AUC (scorer) | 95 % interval | range | without the floor |",
             "| --- | --- | --- | --- | --- | --- |"]
    for kind, r in report["results"].items():
        a, p = r["auc"], r["without_floor"]
        lines.append(f"| {kind} | {r['phases']} | {a['mean']:.4f} | [{a['ci95'][0]:.4f}, {a['ci95'][1]:.4f}] | "
                     f"{a['min']:.3f} to {a['max']:.3f} | {p['mean']:.4f} |")
    lines += ["", "Without the floor the blob counting scores a map without information below 0.5: a constant "
              "map has only the points (0, 0) and the huge blob's (1, 0), hence AUC 0, and noise loses its "
              "companions to huge blobs and its false positives outnumber the resolution elements at low "
              "thresholds. With the floor every uninformative map scores 0.5, noise slightly above by the chance "
              "fluctuations of its points, and the oracle 1.", END, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
