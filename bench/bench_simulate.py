"""Benchmark of the instrument simulator, and its realism against the real NACO cube.

    python bench/bench_simulate.py [--quick]

Times one simulation per shipped instrument at the sizes of a data challenge (ADI:
100 frames of 201 x 201 px; ADI+mSDI: 40 frames of 121 x 121 px in every
channel), each in a fresh process (wall time, the split between phase
screens, propagation and noise, peak resident memory); then simulates the
default ``naco`` sequence (61 frames of 99 x 99 px, seed 0) and compares it
with the real cube of ../shared/data/real: raw contrast profile and PCA noise
gain, with a figure in docs/figures/simulator_naco.png. Writes the
"Instrument simulator" section of docs/benchmarks.md and
bench/results/simulate.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import replace_doc_section, write_json  # noqa: E402
from bench_core import machine_info  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
FIGURE = os.path.join(ROOT, "docs", "figures", "simulator_naco.png")
REAL = os.path.join(ROOT, "..", "shared", "data", "real")
START, END = "<!-- simulate-benchmark:start -->", "<!-- simulate-benchmark:end -->"
NACO_STAR_FLUX = 764939.6  # see tests/simulate/test_realism.py

RUNS = [  # instrument, frames, frame size, target (s)
    ("naco", 100, 201, 60), ("sphere_irdis", 100, 201, 60), ("nirc2", 100, 201, 60), ("lmircam", 100, 201, 60),
    ("sphere_ifs", 40, 121, 300), ("gpi", 40, 121, 300),
]

CHILD = """
import json, resource, sys, time
from exobench.simulate import simulate
name, frames, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
sim = simulate(name, seed=0, frames=frames, frame_size=size)
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "timings": sim.timings, "shape": list(sim.dataset.cube.shape),
                  "cube_mb": sim.dataset.cube.nbytes / 2**20,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def time_instrument(name, frames, size):
    out = subprocess.run([sys.executable, "-c", CHILD, name, str(frames), str(size)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def realism():
    from astropy.io import fits

    from exobench.data import Dataset
    from exobench.simulate import load_profile, simulate
    from exobench.simulate.realism import pca_noise_gain, raw_contrast_profile

    real = Dataset(fits.getdata(os.path.join(REAL, "naco_betapic_empty_cube.fits")),
                   fits.getdata(os.path.join(REAL, "naco_betapic_empty_pa.fits")),
                   psf=fits.getdata(os.path.join(REAL, "naco_betapic_psf.fits")), pxscale=0.02719,
                   star_flux=NACO_STAR_FLUX)
    simulated = simulate("naco", seed=0).dataset
    lod = load_profile("naco").lambda_over_d_px()
    separations = np.arange(2, 11)
    fine = np.linspace(1.5, 13, 47)
    result = {
        "lambda_over_d_px": lod,
        "separations_lod": separations.tolist(),
        "real": raw_contrast_profile(real, separations * lod).tolist(),
        "simulated": raw_contrast_profile(simulated, separations * lod).tolist(),
        "pca_gain_real": pca_noise_gain(real, 5 * lod),
        "pca_gain_simulated": pca_noise_gain(simulated, 5 * lod),
    }
    plot(real, simulated, fine, lod, raw_contrast_profile(real, fine * lod),
         raw_contrast_profile(simulated, fine * lod), result)
    return result


def plot(real, simulated, fine, lod, real_profile, sim_profile, result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1.4, 1, 1]})
    ax = axes[0]
    ax.semilogy(fine, real_profile, "k-", label="real NACO cube (beta Pic, planet removed)")
    ax.semilogy(fine, sim_profile, "C1-", label="exobench simulate naco (seed 0)")
    ax.fill_between(fine, real_profile / 3, real_profile * 3, color="0.85", label="factor 3 of the real cube")
    ax.axvspan(2, 10, color="C0", alpha=0.06)
    ax.set_xlabel("separation (lambda/D)")
    ax.set_ylabel("raw contrast (azimuthal std / star peak)")
    ax.set_title(f"PCA (10 comp.) noise gain at 5 lambda/D: real {result['pca_gain_real']:.1f}, "
                 f"simulated {result['pca_gain_simulated']:.1f}", fontsize=9)
    ax.legend(fontsize=8)
    for axis, dataset, title in ((axes[1], real, "real frame 0"), (axes[2], simulated, "simulated frame 0")):
        frame = np.asarray(dataset.cube[0], dtype=float)
        peak = np.asarray(dataset.normalized_psf).max() * float(dataset.star_flux)
        image = axis.imshow(np.log10(np.clip(frame / peak, 1e-6, None)), origin="lower", vmin=-5.5, vmax=-1.5,
                            cmap="inferno")
        axis.set_title(title)
        axis.set_xticks([])
        axis.set_yticks([])
    fig.colorbar(image, ax=axes[1:], label="log10 contrast", shrink=0.85)
    os.makedirs(os.path.dirname(FIGURE), exist_ok=True)
    fig.savefig(FIGURE + ".tmp.png", dpi=110, bbox_inches="tight")
    os.replace(FIGURE + ".tmp.png", FIGURE)
    plt.close(fig)


def section(runs, real, command, load_before, load_after):
    import exobench
    import hcipy

    m = machine_info()
    lines = [START, "## Instrument simulator", "",
             "Generated by `bench/bench_simulate.py`; do not edit this section by hand.", "",
             f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`",
             f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, "
             f"{m['os']}. Load average before / after: {load_before} / {load_after}.",
             f"- exobench {exobench.__version__}, hcipy {hcipy.__version__}, numpy {np.__version__}. "
             "Each simulation in a fresh process (seed 0, the profile's defaults otherwise, noise on); "
             "peak memory is the process's maximum resident set (Python, hcipy and the cube included).", "",
             "| instrument | cube | wall time | phase screens | propagation | noise | peak memory | target | result |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for name, frames, size, target, r in runs:
        t = r["timings"]
        ok = r["wall_s"] < target and r["peak_rss_mb"] < 4096
        lines.append(f"| {name} | {'x'.join(map(str, r['shape']))} | {r['wall_s']:.1f} s | "
                     f"{t['phase_screens']:.1f} s | {t['propagation']:.1f} s | {t['noise']:.1f} s | "
                     f"{r['peak_rss_mb']:.0f} MB | < {target} s, < 4 GB | {'PASS' if ok else 'FAIL'} |")
    if real is not None:
        ratios = np.array(real["simulated"]) / np.array(real["real"])
        gain = real["pca_gain_simulated"] / real["pca_gain_real"]
        lines += ["", "Realism of `naco` (61 x 99 x 99, seed 0) against the real NACO cube "
                  f"(lambda/D = {real['lambda_over_d_px']:.2f} px; the real star's peak from its 1-FWHM "
                  f"aperture flux {NACO_STAR_FLUX:g} and the normalised PSF). Figure: "
                  "[docs/figures/simulator_naco.png](figures/simulator_naco.png).", "",
                  "| separation (lambda/D) | " + " | ".join(str(s) for s in real["separations_lod"]) + " |",
                  "| --- |" + " ---: |" * len(ratios),
                  "| raw contrast, real | " + " | ".join(f"{v:.2e}" for v in real["real"]) + " |",
                  "| raw contrast, simulated | " + " | ".join(f"{v:.2e}" for v in real["simulated"]) + " |",
                  "| simulated / real (target 1/3 to 3) | " + " | ".join(f"{v:.2f}" for v in ratios) + " |", "",
                  f"PCA (10 components) lowers the noise at 5 lambda/D by {real['pca_gain_real']:.2f}x in the "
                  f"real cube and {real['pca_gain_simulated']:.2f}x in the simulated one (ratio {gain:.2f}, "
                  f"target 0.5 to 2: {'PASS' if 0.5 < gain < 2 else 'FAIL'}); raw contrast "
                  f"{'PASS' if np.all((ratios > 1 / 3) & (ratios < 3)) else 'FAIL'}."]
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only naco and sphere_ifs, no realism")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    runs = []
    for name, frames, size, target in RUNS:
        if args.quick and name not in ("naco", "sphere_ifs"):
            continue
        print(f"simulating {name} ({frames} frames of {size} px) ...", flush=True)
        result = time_instrument(name, frames, size)
        print(f"  {result['wall_s']:.1f} s, {result['peak_rss_mb']:.0f} MB", flush=True)
        runs.append((name, frames, size, target, result))
    real = None if args.quick or not os.path.isdir(REAL) else realism()
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
    command = "python bench/bench_simulate.py" + (" --quick" if args.quick else "")
    replace_doc_section(DOC, section(runs, real, command, load_before, load_after), START, END)
    write_json(os.path.join(ROOT, "bench", "results", "simulate.json"),
               {"runs": [dict(name=n, frames=f, size=s, target_s=t, **r) for n, f, s, t, r in runs], "realism": real})
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
