"""The reference library's side of the core benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_side.py CONFIG.json

``CONFIG.json`` (written by ``bench_core.py``) names ``.npy`` inputs and what to
time::

    {"inputs": {"naco_cube": ..., "naco_angles": ..., "psf_norm": ...,
                "big_cube": ..., "big_angles": ..., "snr_99": ..., "snr_201": ...},
     "fwhm": 4.8,
     "companions": {"separations": [...], "thetas": [...], "fluxes": [...]},
     "repeats": 5, "ops": ["derotate_naco", ...], "save_dir": "..."}

It prints one JSON document on stdout: the versions, and for every operation
and setting the best and median wall time of the timed calls (after one
warm-up call), plus the accuracy of the injected companions. Outputs that the
caller cross-checks against exobench (derotated cubes, final injection
images, S/N maps) are saved as ``.npy`` files under ``save_dir``.

VIP's calls (vip-hci 2.1.1, read from its source):

- ``cube_derotate(cube, angles, imlib=..., interpolation=..., nproc=1)``:
  ``imlib='skimage'`` with ``interpolation='bilinear'`` (order 1) or
  ``'bicubic'`` (order 3) is the fastest rotation here (no opencv); the
  default is ``imlib='vip-fft'`` (Larkin's three-shear FFT rotation on a frame
  padded 4x, the flux-preserving one).
- ``cube_inject_companions(cube, psf_norm, angles, flevel, rad_dists, theta=,
  imlib=, interpolation=, nproc=1)``: one call per companion (a call injects
  one flux at one theta); the first call copies the cube, the next ones add in
  place (``copy_array=False``). ``imlib='vip-fft'`` (default) shifts the PSF
  with a padded Fourier shift, ``imlib='skimage'`` with ``scipy.ndimage.shift``
  of the given order.
- ``snrmap(frame, fwhm, approximated=False, nproc=1)``: the exact S/N map
  (photutils exact apertures at every pixel).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_of, companion_accuracy, companion_truth, force_single_thread, read_config  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

DEROTATE_SETTINGS = {
    # name: (imlib, interpolation, order of the interpolation)
    "skimage-bilinear": ("skimage", "bilinear"),
    "skimage-bicubic": ("skimage", "bicubic"),
    "default-vip-fft": ("vip-fft", "lanczos4"),
}

INJECT_SETTINGS = {
    "skimage-bilinear": ("skimage", "bilinear"),
    "skimage-bicubic": ("skimage", "bicubic"),
    "default-vip-fft": ("vip-fft", "lanczos4"),
}


def main(argv):
    config = read_config(argv, __doc__)
    if config is None:
        return 2

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    import vip_hci
    from vip_hci.fm import cube_inject_companions
    from vip_hci.metrics import snrmap
    from vip_hci.preproc import cube_derotate

    inputs = {key: np.load(path) for key, path in config["inputs"].items()}
    repeats = int(config.get("repeats", 5))
    ops = config.get("ops") or ["derotate_naco", "derotate_big", "inject_naco", "snrmap_99", "snrmap_201"]
    save_dir = config.get("save_dir")
    fwhm = float(config["fwhm"])
    out = {"versions": _versions(vip_hci), "results": {}}

    def save(name, array):
        if save_dir:
            np.save(os.path.join(save_dir, name + ".npy"), array)

    for op in ops:
        res = out["results"].setdefault(op, {})
        if op.startswith("derotate_"):
            key = op.split("_", 1)[1]
            cube, angles = inputs[f"{key}_cube"], inputs[f"{key}_angles"]
            for name, (imlib, interp) in DEROTATE_SETTINGS.items():
                timing = best_of(
                    lambda: cube_derotate(cube, angles, imlib=imlib, interpolation=interp, nproc=1),
                    repeats,
                )
                save(f"vip_{op}_{name}", timing.pop("result"))
                res[name] = timing
                _log(op, name, timing)
        elif op == "inject_naco":
            cube, angles, psf = inputs["naco_cube"], inputs["naco_angles"], inputs["psf_norm"]
            comps = config["companions"]
            truth = companion_truth(comps["separations"], comps["thetas"], comps["fluxes"], cube.shape)

            for name, (imlib, interp) in INJECT_SETTINGS.items():

                def inject():
                    new = cube
                    for i, (sep, theta, flux) in enumerate(
                        zip(comps["separations"], comps["thetas"], comps["fluxes"])
                    ):
                        new = cube_inject_companions(
                            new, psf, angles, flevel=flux, rad_dists=[sep], theta=theta,
                            imlib=imlib, interpolation=interp, nproc=1, copy_array=(i == 0),
                        )
                    return new

                timing = best_of(inject, repeats)
                injected = timing.pop("result")
                # accuracy: derotate (injected - original) with the accurate (default) method
                diff = (injected.astype(np.float64) - cube.astype(np.float64))
                final = cube_derotate(diff, angles, imlib="vip-fft", nproc=1).mean(axis=0)
                timing["accuracy"] = companion_accuracy(final, truth, fwhm)
                save(f"vip_inject_final_{name}", final)
                res[name] = timing
                _log(op, name, timing)
        elif op.startswith("snrmap_"):
            frame = inputs[op.replace("snrmap", "snr")]
            timing = best_of(
                lambda: snrmap(frame, fwhm, approximated=False, nproc=1, verbose=False), repeats
            )
            save(f"vip_{op}", timing.pop("result"))
            res["exact"] = timing
            _log(op, "exact", timing)
        else:
            raise ValueError(f"unknown operation {op!r}")

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
    try:
        import photutils

        phot = photutils.__version__
    except ImportError:
        phot = None
    return {
        "python": platform.python_version(),
        "vip_hci": vip_hci.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "skimage": skimage.__version__,
        "photutils": phot,
        "opencv_installed": opencv,
    }


def _log(op, name, timing):
    print(f"[vip] {op:14s} {name:18s} best {timing['best_s']:.4f} s ({timing['n_timed']} timed)",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
