"""The reference library's side of the algorithms benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_algorithms.py CONFIG.json

``CONFIG.json`` (written by ``bench_algorithms.py``) names the ``.npy`` inputs
and the parameters::

    {"cubes": {"naco": {"cube": ..., "angles": ..., "fwhm": 4.8},
               "big": {"cube": ..., "angles": ..., "fwhm": 4.0}},
     "params": {"pca_ncomp": 10, "annular_ncomp": 5, "annular_asize_px": {...},
                "annular_radius_int_px": {...}, "delta_rot": 1.0, "llsg_rank": 10, ...},
     "snr_frame": "...npy", "defaults_on": ["naco"], "repeats": 3, "save_dir": "..."}

It prints one JSON document on stdout (versions; best and median wall times
after one warm-up call) and saves every final frame under ``save_dir`` as
``vip_<cube>_<algorithm>_<setting>.npy`` for the caller's agreement checks.

VIP's calls (vip-hci 2.1.1, read from its source), one process, one thread,
``nproc=1``, ``verbose=False``:

- ``median_sub(cube, angles, fwhm=, mode='fullfr', imlib=, interpolation=, collapse='median')``;
- ``pca(cube, angles, ncomp=10, svd_mode='lapack', scaling='temp-mean', imlib=, interpolation=,
  collapse='median')``: ``scaling='temp-mean'`` subtracts the temporal mean of each pixel as
  exobench does (VIP's default ``scaling=None`` decomposes the uncentred matrix);
- ``pca_annular(cube, angles, fwhm=, radius_int=, asize=(px), delta_rot=, ncomp=5,
  svd_mode='lapack', scaling='temp-mean', min_frames_lib=2, imlib=, interpolation=,
  collapse='median')``;
- ``llsg(cube, angles, fwhm=, rank=10, thresh=1, max_iter=10, asize=(px, int), n_segments=4,
  radius_int=0, random_seed=0, imlib=, interpolation=, collapse=)``;
- ``snrmap(frame, fwhm, approximated=False, nproc=1)`` (the exact S/N map, for the end-to-end
  pipeline; timed once, it takes seconds).

Settings: ``skimage`` = ``imlib='skimage', interpolation='bilinear'`` (VIP's fastest rotation
here: no opencv), ``default`` = VIP's defaults ``imlib='vip-fft', interpolation='lanczos4'``.
"""

import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_of, force_single_thread  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

SETTINGS = {"skimage": ("skimage", "bilinear"), "default": ("vip-fft", "lanczos4")}
ALGORITHMS = ("median", "pca", "pca-annular", "llsg")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as handle:
        config = json.load(handle)

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    # scikit-learn's centring warns about large float32 values (VIP's scaling='temp-mean'); harmless here
    warnings.filterwarnings("ignore", message="Numerical issues were encountered")

    import vip_hci
    from vip_hci.metrics import snrmap
    from vip_hci.psfsub import llsg, median_sub, pca, pca_annular

    params = config["params"]
    repeats = int(config.get("repeats", 3))
    budget = float(config.get("budget_s", 12.0))
    save_dir = config["save_dir"]
    out = {"versions": _versions(vip_hci), "results": {}}

    def calls(cube, angles, fwhm, key, imlib, interp):
        common = {"imlib": imlib, "interpolation": interp, "nproc": 1, "verbose": False}
        return {
            "median": lambda: median_sub(cube, angles, fwhm=fwhm, mode="fullfr", collapse="median",
                                             **common),
            "pca": lambda: pca(cube, angles, ncomp=params["pca_ncomp"], svd_mode="lapack",
                               scaling="temp-mean", collapse="median", **common),
            "pca-annular": lambda: pca_annular(
                cube, angles, fwhm=fwhm, radius_int=params["annular_radius_int_px"][key],
                asize=params["annular_asize_px"][key], delta_rot=params["delta_rot"],
                ncomp=params["annular_ncomp"], svd_mode="lapack", scaling="temp-mean",
                min_frames_lib=2, collapse="median", **common),
            "llsg": lambda: llsg(cube, angles, fwhm=fwhm, rank=params["llsg_rank"],
                                 thresh=params["llsg_thresh"], max_iter=params["llsg_max_iter"],
                                 asize=params["llsg_asize_px"][key], n_segments=params["llsg_n_segments"],
                                 radius_int=0, random_seed=0, collapse=params["llsg_collapse"], **common),
        }

    for key, spec in config["cubes"].items():
        cube = np.load(spec["cube"])
        angles = np.load(spec["angles"])
        fwhm = float(spec["fwhm"])
        settings = ["skimage"] + (["default"] if key in config.get("defaults_on", []) else [])
        for setting in settings:
            imlib, interp = SETTINGS[setting]
            for name, fn in calls(cube, angles, fwhm, key, imlib, interp).items():
                if setting == "default":  # slow (FFT rotation): timed once, imports already warm
                    timing = best_of(fn, repeats=1, warmup=0, budget_s=0.0, min_time_s=0.0)
                else:
                    timing = best_of(fn, repeats=repeats, budget_s=budget)
                final = np.asarray(timing.pop("result"), dtype=np.float64)
                np.save(os.path.join(save_dir, f"vip_{key}_{name}_{setting}.npy"), final)
                out["results"].setdefault(key, {}).setdefault(name, {})[setting] = timing
                _log(key, name, setting, timing)

    frame = np.load(config["snr_frame"])
    timing = best_of(lambda: snrmap(frame, float(config["cubes"]["naco"]["fwhm"]), approximated=False,
                                    nproc=1, verbose=False), repeats=1, warmup=0, budget_s=0.0, min_time_s=0.0)
    np.save(os.path.join(save_dir, "vip_naco_snrmap.npy"), timing.pop("result"))
    out["results"]["snrmap_naco"] = timing
    _log("naco", "snrmap exact", "nproc=1", timing)

    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


def _versions(vip_hci):
    import platform

    import scipy
    import skimage

    try:
        import cv2  # noqa: F401

        opencv = True
    except ImportError:
        opencv = False
    return {
        "python": platform.python_version(),
        "vip_hci": vip_hci.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skimage": skimage.__version__,
        "opencv_installed": opencv,
    }


def _log(key, name, setting, timing):
    print(f"[vip] {key:5s} {name:12s} {setting:8s} best {timing['best_s']:.3f} s ({timing['n_timed']} timed)",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
