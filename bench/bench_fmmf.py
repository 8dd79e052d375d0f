"""FMMF side by side with vip-hci's ``fmmf``: speed and agreement of the S/N and flux maps.

    python bench/bench_fmmf.py [--rings 12 20 30] [--big-rings 30] [--no-big] [--no-docs]

On the real NACO cube (``../shared/data/real`` or ``$EXOBENCH_REAL_DATA``) and
a synthetic 100 x 201 x 201 cube (``exobench.examples.example_dataset``), at
matched settings (KLIP, 3 components, a 1-FWHM rotation threshold, 1-FWHM
annuli, VIP's fastest rotation: ``imlib="skimage"``, bilinear), VIP's
``fmmf`` (bench/vip_fmmf.py, in its own environment bench/.venv-vip) computes
a few rings of positions (it costs seconds per position) and exobench's
:class:`~exobench.algorithms.FMMF` the same rings (and NACO's whole map). Times are
CPU seconds of the process (the machine is shared: wall times depend on the
other jobs), per position, and VIP's whole map is extrapolated from its rings.
Agreement: Pearson correlation of VIP's S/N map with exobench's raw
statistic (``FMMF.raw``, before the radial renormalisation) on the rings, and
the median ratio of the flux maps (VIP is given the PSF normalised to unit
1-FWHM aperture flux, so that both fluxes are in exobench's companion unit).
Writes the "FMMF against VIP" section of docs/benchmarks.md and
bench/results/fmmf.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import publish  # noqa: E402
from bench_loci import naco_dataset  # noqa: E402
from _detection import ROOT  # noqa: E402

import numpy as np  # noqa: E402

VIP_PYTHON = ROOT / "bench" / ".venv-vip" / "bin" / "python"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- fmmf-benchmark:start -->", "<!-- fmmf-benchmark:end -->"
#: The settings both sides use.
NCOMP, DELTA, CROP, IMLIB, INTERPOLATION = 3, 1.0, 5, "skimage", "bilinear"


def log(line):
    print(line, file=sys.stderr, flush=True)


def cpu_seconds(fn):
    start = time.process_time()
    value = fn()
    return value, time.process_time() - start


def vip_rings(dataset, rings, tmp):
    """VIP's flux and S/N maps on ``rings`` (one call per ring) and its CPU seconds per ring."""
    paths = {}
    for key, array in (("cube", dataset.cube), ("angles", dataset.angles), ("psf", dataset.normalized_psf)):
        paths[key] = os.path.join(tmp, f"{key}.npy")
        np.save(paths[key], np.asarray(array, dtype=np.float64))
    flux = np.full(dataset.frame_shape, np.nan)
    snr = np.full(dataset.frame_shape, np.nan)
    seconds = {}
    for ring in rings:
        config = {**paths, "fwhm": float(dataset.fwhm), "min_r": int(ring), "max_r": int(ring) + 1, "ncomp": NCOMP,
                  "delta_rot": DELTA, "crop": CROP, "imlib": IMLIB, "interpolation": INTERPOLATION,
                  "out": os.path.join(tmp, f"vip_{ring}.npz")}
        with open(os.path.join(tmp, "config.json"), "w") as handle:
            json.dump(config, handle)
        done = subprocess.run([str(VIP_PYTHON), str(ROOT / "bench" / "vip_fmmf.py"),
                               os.path.join(tmp, "config.json")], check=True, capture_output=True, text=True)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        seconds[ring] = report["cpu_seconds"]
        out = np.load(config["out"])
        chosen = out["snr"] != 0
        flux[chosen], snr[chosen] = out["flux"][chosen], out["snr"][chosen]
        log(f"  VIP ring {ring}: {report['cpu_seconds']:.1f} CPU s, {int(chosen.sum())} positions")
    return flux, snr, seconds, report["vip_hci"]


def compare(name, dataset, rings, tmp, *, whole_map):
    from exobench.algorithms import FMMF
    from exobench.geometry import polar_grid

    log(f"{name}: exobench ...")
    fwhm = float(dataset.fwhm)
    options = {"ncomp": NCOMP, "delta": DELTA, "asize": 1.0, "normalisation_width": None}
    FMMF(**options, inner_radius=rings[0] / fwhm, outer_radius=rings[0] / fwhm).raw(dataset)  # compilation
    ours_flux = np.full(dataset.frame_shape, np.nan)
    ours_snr = np.full(dataset.frame_shape, np.nan)
    ours_seconds = {}
    for ring in rings:
        one, ours_seconds[ring] = cpu_seconds(
            lambda: FMMF(**options, inner_radius=ring / fwhm, outer_radius=ring / fwhm).raw(dataset))
        chosen = np.isfinite(one.statistic)
        ours_flux[chosen], ours_snr[chosen] = one.flux[chosen], one.statistic[chosen]
    radius, _ = polar_grid(dataset.cube.shape, center=dataset.center)
    ring_of = np.rint(radius)
    if whole_map:
        whole, whole_seconds = cpu_seconds(lambda: FMMF(**options).raw(dataset))
        positions_map = int(np.isfinite(whole.statistic).sum())
    log(f"{name}: VIP ...")
    vip_flux, vip_snr, vip_seconds, version = vip_rings(dataset, rings, tmp)
    on = np.isfinite(vip_snr) & np.isfinite(ours_snr)
    positions_rings = int(np.isin(ring_of, rings).sum())
    vip_per_position = sum(vip_seconds.values()) / positions_rings
    ours_per_position = sum(ours_seconds.values()) / positions_rings
    row = {
        "shape": list(np.shape(dataset.cube)), "rings": [int(r) for r in rings], "vip_hci": version,
        "positions_rings": positions_rings, "compared": int(on.sum()),
        "vip_cpu_s_rings": sum(vip_seconds.values()), "ours_cpu_s_rings": sum(ours_seconds.values()),
        "speed_ratio_rings": vip_per_position / ours_per_position,
        "snr_correlation": float(np.corrcoef(vip_snr[on], ours_snr[on])[0, 1]),
        "flux_correlation": float(np.corrcoef(vip_flux[on], ours_flux[on])[0, 1]),
        "snr_std_ratio": float(np.std(ours_snr[on]) / np.std(vip_snr[on])),
        "flux_slope": float(np.polyfit(vip_flux[on], ours_flux[on], 1)[0]),
    }
    if whole_map:
        row.update({"positions_map": positions_map, "ours_cpu_s_map": whole_seconds,
                    "vip_cpu_s_map_extrapolated": vip_per_position * positions_map,
                    "speed_ratio_map": vip_per_position * positions_map / whole_seconds})
    log(f"{name}: {json.dumps(row)}")
    return row


def section(results, command):
    from bench_core import machine_info

    m = machine_info()
    lines = [START, "## FMMF against VIP", "",
             "Generated by `bench/bench_fmmf.py`; do not edit this section by hand.", "",
             f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`.",
             f"- Machine: {m['cpu']}, {m['cores']} cores, {m['os']}; load average {os.getloadavg()[0]:.1f} "
             "(shared: times are CPU seconds of each process, VIP's in one process, exobench's numba threads "
             "summed).",
             f"- Settings on both sides: KLIP/PCA with {NCOMP} components, a {DELTA:g}-FWHM rotation threshold, "
             f"1-FWHM annuli, one ring of positions per integer radius; VIP `fmmf(model='KLIP', var='FR', "
             f"crop={CROP}, imlib='{IMLIB}', interpolation='{INTERPOLATION}', nproc=1)`, given the PSF normalised "
             "to unit 1-FWHM aperture flux; exobench `FMMF(ncomp=3, delta=1, asize=1).raw` (before the radial "
             "renormalisation). VIP's whole map is extrapolated from its rings (CPU seconds per position).", "",
             "| cube | rings (px) | positions (rings / map) | VIP CPU s (rings) | exobench CPU s (rings) | "
             "speed ratio (rings) | exobench CPU s (map) | VIP CPU s (map, extrapolated) | speed ratio (map) | "
             "S/N correlation | flux correlation | flux slope (exobench / VIP) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        whole = ([f"{r['ours_cpu_s_map']:.1f}", f"{r['vip_cpu_s_map_extrapolated']:.0f}", f"{r['speed_ratio_map']:.0f}"]
                 if "ours_cpu_s_map" in r else ["not run"] * 3)
        lines.append(
            f"| {name} {'x'.join(map(str, r['shape']))} | {', '.join(map(str, r['rings']))} | "
            f"{r['positions_rings']} / {r.get('positions_map', 'n/a')} | {r['vip_cpu_s_rings']:.1f} | "
            f"{r['ours_cpu_s_rings']:.2f} | {r['speed_ratio_rings']:.0f} | " + " | ".join(whole) + " | "
            f"{r['snr_correlation']:.3f} | {r['flux_correlation']:.3f} | {r['flux_slope']:.2f} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rings", nargs="+", type=int, default=[12, 20, 30], help="NACO rings VIP computes (px)")
    parser.add_argument("--big-rings", nargs="+", type=int, default=[30], help="rings of the 201 px cube (px)")
    parser.add_argument("--no-big", action="store_true", help="skip the 100 x 201 x 201 cube")
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")
    args = parser.parse_args(argv)
    if not VIP_PYTHON.is_file():
        parser.error(f"{VIP_PYTHON}: not found; run `bash bench/setup_vip_env.sh` first")
    from exobench.examples import example_dataset

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["NACO"] = compare("NACO", naco_dataset(), sorted(args.rings), tmp, whole_map=True)
        if not args.no_big:
            big = example_dataset(n_frames=100, size=201, fwhm=4.0, seed=0)
            results["synthetic"] = compare("synthetic", big, sorted(args.big_rings), tmp, whole_map=False)
    command = "python bench/bench_fmmf.py " + " ".join(argv if argv is not None else sys.argv[1:])
    publish(section(results, command.strip()), results, doc=DOC, start=START, end=END, name="fmmf",
            no_docs=args.no_docs, log=log)


if __name__ == "__main__":
    main()
