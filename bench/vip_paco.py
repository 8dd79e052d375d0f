"""VIP's side of the PACO benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_paco.py CONFIG.json

``CONFIG.json`` (written by ``bench_paco.py``)::

    {"cases": [{"name": ..., "cube": "x.npy", "angles": "x.npy", "psf": "x.npy", "fwhm": 4.8,
                "subpixel": false, "rows": [lo, hi] or null}], "save_dir": "..."}

For each case: ``FastPACO(cube, angles, psf, fwhm=fwhm, pixscale=1.0)`` and
one timed call of ``PACOCalc(phi0s, use_subpixel_psf_astrometry=subpixel,
cpu=1)`` (vip-hci 2.1.1: ``run()`` does not pass its
``use_subpixel_psf_astrometry`` on, so ``PACOCalc`` is called directly, with
the pixel grid ``run()`` builds). ``rows``: only the hypotheses of those rows
of the frame (a timing on a part of the frame; the statistics of the other
pixels are then not computed, so the maps are not comparable). Saves ``a`` and
``b`` as ``(ny, nx)`` maps (NaN outside ``rows``) under ``save_dir`` and prints
one JSON document: the versions and each case's wall and CPU seconds and hypothesis count.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402


def main(argv):
    import vip_hci
    from vip_hci.invprob.paco import FastPACO

    with open(argv[0]) as handle:
        config = json.load(handle)
    out = {"vip_hci": vip_hci.__version__, "numpy": np.__version__, "cases": {}}
    for case in config["cases"]:
        cube = np.load(case["cube"]).astype(np.float64)
        angles = np.load(case["angles"]).astype(np.float64)
        psf = np.load(case["psf"]).astype(np.float64)
        ny, nx = cube.shape[1:]
        paco = FastPACO(cube, angles, psf, fwhm=case["fwhm"], pixscale=1.0, verbose=False)
        x, y = np.meshgrid(np.arange(0, ny), np.arange(0, nx))  # as PACO.run builds it
        phi0s = np.column_stack((x.flatten(), y.flatten()))
        if case.get("rows"):
            low, high = case["rows"]
            phi0s = phi0s[(phi0s[:, 1] >= low) & (phi0s[:, 1] < high)]
        start, cpu_start = time.perf_counter(), time.process_time()
        a, b = paco.PACOCalc(np.array(phi0s), use_subpixel_psf_astrometry=case["subpixel"], cpu=1)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        a_map = np.full((ny, nx), np.nan)
        b_map = np.full((ny, nx), np.nan)
        a_map[phi0s[:, 1], phi0s[:, 0]] = a
        b_map[phi0s[:, 1], phi0s[:, 0]] = b
        np.save(os.path.join(config["save_dir"], f"{case['name']}_a.npy"), a_map)
        np.save(os.path.join(config["save_dir"], f"{case['name']}_b.npy"), b_map)
        out["cases"][case["name"]] = {"seconds": seconds, "cpu_seconds": cpu_seconds, "hypotheses": int(len(phi0s)), "frame": [ny, nx]}
        print(f"vip {case['name']}: {seconds:.1f} s for {len(phi0s)} hypotheses", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
