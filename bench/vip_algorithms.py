"""The reference library's side of the algorithms benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_algorithms.py CONFIG.json

``CONFIG.json`` (written by ``bench_algorithms.py``) names the ``.npy`` inputs
and the parameters::

    {"cubes": {"naco": {"cube": ..., "angles": ..., "fwhm": 4.8},
               "big": {"cube": ..., "angles": ..., "fwhm": 4.0}},
     "params": {"pca_ncomp": 10, "annular_ncomp": 5, "annular_asize_px": {...},
                "annular_radius_int_px": {...}, "delta_rot": 1.0, "llsg_rank": 10, ...},
     "algorithms": ["median", "pca", ...], "nproc2": ["loci", "pairwise", "nmf-annular"],
     "default_algorithms": ["median", ...], "snr_frame": "...npy" (or null), "defaults_on": ["naco"],
     "nproc2_on": ["naco"], "repeats": 3, "slow_s": 8.0, "save_dir": "..."}

It prints one JSON document on stdout (versions; best and median wall times
after one warm-up call; a first call longer than ``slow_s`` is the only one) and saves every
final frame under ``save_dir`` as ``vip_<cube>_<algorithm>_<setting>.npy`` for the caller's
agreement checks, xloci's zones as ``vip_<cube>_loci_zones.npz`` (flat pixel indices of
each subtraction and optimisation segment, and its rotation threshold in degrees) and frame_diff's
annuli as ``vip_<cube>_pairwise_annuli.npz`` (the same for each annulus).

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
- ``xloci(cube, angles, fwhm=, dist_threshold=100, delta_rot=, radius_int=, asize=(px, int),
  n_segments=4, solver='lstsq', tol=, optim_scale_fact=, collapse='median')``:
  ``dist_threshold=100`` keeps every frame past the rotation threshold (no distance cut, and no
  distance matrix computed: its fastest setting, whatever ``metric``);
- ``frame_diff(cube, angles, fwhm=, metric='euclidean', dist_threshold=100, n_similar=3,
  delta_rot=, radius_int=, asize=(px, int), collapse='median')``;
- ``nmf(cube, angles, ncomp=, max_iter=, init_svd='nndsvda', random_state=0,
  handle_neg='subtr_min', collapse='median')`` (no ``nproc``);
- ``nmf_annular(cube.copy(), angles, fwhm=, radius_int=, asize=(px, int), n_segments=1, delta_rot=,
  ncomp=, max_iter=, init_svd='nndsvda', random_state=0, handle_neg='subtr_min', min_frames_lib=2,
  collapse='median')``: on a copy, as ``handle_neg='subtr_min'`` shifts the cube it is given in place;
- ``snrmap(frame, fwhm, approximated=False, nproc=1)`` (the exact S/N map, for the end-to-end
  pipeline; timed once, it takes seconds).

The algorithms named in ``nproc2`` are timed once more with ``nproc=2`` on the cubes of
``nproc2_on`` (setting ``nproc2``: VIP's process pool over segments / annuli / frames, the
derotation too).

Settings: ``skimage`` = ``imlib='skimage', interpolation='bilinear'`` (VIP's fastest rotation
here: no opencv), ``default`` = VIP's defaults ``imlib='vip-fft', interpolation='lanczos4'``.
"""

import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_of, force_single_thread, read_config  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

SETTINGS = {"skimage": ("skimage", "bilinear"), "default": ("vip-fft", "lanczos4")}
ALGORITHMS = ("median", "pca", "pca-annular", "llsg", "loci", "pairwise", "nmf", "nmf-annular")


def main(argv):
    config = read_config(argv, __doc__)
    if config is None:
        return 2
    # VIP prints (e.g. "PA threshold ... is likely too big") on stdout, where the JSON document goes
    report, sys.stdout = sys.stdout, sys.stderr

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    # scikit-learn's centring warns about large float32 values (VIP's scaling='temp-mean'); harmless here
    warnings.filterwarnings("ignore", message="Numerical issues were encountered")
    # nmf_annular's per-frame factorisations stop at max_iter (matched to exobench's), as intended
    warnings.filterwarnings("ignore", message="Maximum number of iterations")

    import vip_hci
    from vip_hci.metrics import snrmap
    from vip_hci.psfsub import frame_diff, llsg, median_sub, nmf, nmf_annular, pca, pca_annular, xloci

    params = config["params"]
    repeats = int(config.get("repeats", 3))
    budget = float(config.get("budget_s", 12.0))
    slow_s = config.get("slow_s")
    algorithms = config.get("algorithms", ALGORITHMS)
    save_dir = config["save_dir"]
    out = {"versions": _versions(vip_hci), "results": {}}

    def calls(cube, angles, fwhm, key, imlib, interp, nproc=1):
        common = {"imlib": imlib, "interpolation": interp, "nproc": nproc, "verbose": False}
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
            "loci": lambda: xloci(
                cube, angles, fwhm=fwhm, metric="manhattan", dist_threshold=100, delta_rot=params["loci_delta_rot"],
                radius_int=params["loci_radius_int_px"][key], asize=params["loci_asize_px"][key],
                n_segments=params["loci_n_segments"], solver="lstsq", tol=params["loci_tol"],
                optim_scale_fact=params["loci_optim_scale_fact"], collapse="median", **common),
            "pairwise": lambda: frame_diff(
                cube, angles, fwhm=fwhm, metric="euclidean", dist_threshold=100,
                n_similar=params["pairwise_n_similar"], delta_rot=params["pairwise_delta_rot"],
                radius_int=params["pairwise_radius_int_px"][key], asize=params["pairwise_asize_px"][key],
                collapse="median", **common),
            "nmf": lambda: nmf(cube, angles, ncomp=params["nmf_ncomp"], max_iter=params["nmf_max_iter"],
                               init_svd="nndsvda", random_state=0, handle_neg="subtr_min", collapse="median",
                               **{k: v for k, v in common.items() if k != "nproc"}),
            "nmf-annular": lambda: nmf_annular(
                cube.copy(), angles, fwhm=fwhm, radius_int=params["nmf_annular_radius_int_px"][key],
                asize=params["nmf_annular_asize_px"][key], n_segments=1,
                delta_rot=params["nmf_annular_delta_rot"], ncomp=params["nmf_annular_ncomp"],
                max_iter=params["nmf_annular_max_iter"], init_svd="nndsvda", random_state=0,
                handle_neg="subtr_min", min_frames_lib=2, collapse="median", **common),
        }

    for key, spec in config["cubes"].items():
        cube = np.load(spec["cube"])
        angles = np.load(spec["angles"])
        fwhm = float(spec["fwhm"])
        settings = (["skimage"] + (["default"] if key in config.get("defaults_on", []) else [])
                    + (["nproc2"] if key in config.get("nproc2_on", []) else []))
        for setting in settings:
            imlib, interp = SETTINGS["skimage" if setting == "nproc2" else setting]
            chosen = {"default": config.get("default_algorithms", algorithms),
                      "nproc2": config.get("nproc2", [])}.get(setting, algorithms)
            nproc = 2 if setting == "nproc2" else 1
            for name, fn in calls(cube, angles, fwhm, key, imlib, interp, nproc).items():
                if name not in algorithms or name not in chosen:
                    continue
                if setting == "default":  # slow (FFT rotation): timed once, imports already warm
                    timing = best_of(fn, repeats=1, warmup=0, budget_s=0.0, min_time_s=0.0)
                else:
                    timing = best_of(fn, repeats=repeats, budget_s=budget, slow_s=slow_s)
                final = np.asarray(timing.pop("result"), dtype=np.float64)
                if setting != "nproc2":  # the same frame as nproc=1
                    np.save(os.path.join(save_dir, f"vip_{key}_{name}_{setting}.npy"), final)
                out["results"].setdefault(key, {}).setdefault(name, {})[setting] = timing
                _log(key, name, setting, timing)
        if "loci" in algorithms:
            np.savez(os.path.join(save_dir, f"vip_{key}_loci_zones.npz"),
                     **loci_zones(cube, angles, fwhm, params, key))
        if "pairwise" in algorithms:
            np.savez(os.path.join(save_dir, f"vip_{key}_pairwise_annuli.npz"),
                     **pairwise_annuli(cube, angles, fwhm, params, key))

    if not config.get("snr_frame"):
        print(json.dumps(out, indent=1), file=report)
        return 0
    frame = np.load(config["snr_frame"])
    timing = best_of(lambda: snrmap(frame, float(config["cubes"]["naco"]["fwhm"]), approximated=False,
                                    nproc=1, verbose=False), repeats=1, warmup=0, budget_s=0.0, min_time_s=0.0)
    np.save(os.path.join(save_dir, "vip_naco_snrmap.npy"), timing.pop("result"))
    out["results"]["snrmap_naco"] = timing
    _log("naco", "snrmap exact", "nproc=1", timing)

    print(json.dumps(out, indent=1), file=report)
    return 0


def loci_zones(cube, angles, fwhm, params, key):
    """xloci's segments, as its ``_leastsq_adi`` builds them (vip-hci 2.1.1), as flat pixel indices.

    Keys ``<annulus>_<segment>_S`` (subtraction segment), ``_O`` (optimisation segment: same inner
    radius and azimuths, ``optim_scale_fact`` times as wide) and ``_thr`` (rotation threshold,
    degrees, from ``_define_annuli``: ``2 arctan(delta_rot fwhm / 2 r)`` at the annulus's centre,
    the last annulus's centre 1 px further in, capped at 90 % of half the rotation).
    """
    from vip_hci.preproc.derotation import _define_annuli
    from vip_hci.var import get_annulus_segments

    radius_int, asize = params["loci_radius_int_px"][key], params["loci_asize_px"][key]
    n_segments, shape = params["loci_n_segments"], cube.shape[1:]
    n_annuli = int((shape[0] / 2 - radius_int) / asize)
    out = {}
    for ann in range(n_annuli):
        threshold = _define_annuli(angles, ann, n_annuli, fwhm, radius_int, asize, params["loci_delta_rot"],
                                   n_segments, False)[0]
        inner = radius_int + ann * asize
        subtraction = get_annulus_segments(shape, inner_radius=inner, width=asize, nsegm=n_segments)
        optimisation = get_annulus_segments(shape, inner_radius=inner, width=asize, nsegm=n_segments,
                                            optim_scale_fact=params["loci_optim_scale_fact"])
        for seg in range(n_segments):
            out[f"{ann}_{seg}_S"] = np.ravel_multi_index(subtraction[seg], shape)
            out[f"{ann}_{seg}_O"] = np.ravel_multi_index(optimisation[seg], shape)
            out[f"{ann}_{seg}_thr"] = np.array(float(threshold))
    return out


def pairwise_annuli(cube, angles, fwhm, params, key):
    """frame_diff's annuli, as its ``_pairwise_ann`` builds them (vip-hci 2.1.1), as flat pixel indices.

    Keys ``<annulus>_px`` (the annulus's pixels, in ``get_annulus_segments``'s order) and ``<annulus>_thr``
    (its rotation threshold, degrees, from ``_define_annuli``: ``2 arctan(delta_rot fwhm / 2 r)`` at the
    annulus's centre, the last annulus 1 px further in, capped at 90 % of half the rotation).
    """
    from vip_hci.preproc.derotation import _define_annuli
    from vip_hci.var import get_annulus_segments

    radius_int, asize = params["pairwise_radius_int_px"][key], params["pairwise_asize_px"][key]
    shape = cube.shape[1:]
    n_annuli = int((shape[0] / 2 - radius_int) / asize)
    out = {}
    for ann in range(n_annuli):
        threshold, inner, _ = _define_annuli(angles, ann, n_annuli, fwhm, radius_int, asize,
                                             params["pairwise_delta_rot"], 1, False)
        pixels = get_annulus_segments(cube[0], inner_radius=inner, width=asize, nsegm=1)[0]
        out[f"{ann}_px"] = np.ravel_multi_index(pixels, shape)
        out[f"{ann}_thr"] = np.array(float(threshold))
    return out


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
