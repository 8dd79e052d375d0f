"""The reference library's side of the contrast-curve benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_contrast.py CONFIG.json

``CONFIG.json`` (written by ``bench_contrast_vip.py``)::

    {"cube": ..npy, "angles": ..npy, "psf": ..npy, "fwhm": 4.8, "pxscale": 0.02719, "starphot": ...,
     "sigma": 5, "fc_rad_sep": 3, "fc_snr": 5,
     "runs": {"pca": {"algo": "pca", "nbranch": 4, "repeats": 3, "settings": {...}}, ...}}

``"frames"`` (optional): ``{name: path}`` of exobench's final frames without
companions, whose noise VIP's ``noise_per_annulus`` measures (its apertures,
``np.std``), so that the noise's definitions and the frames can be told apart.

It prints one JSON document: the versions and, per run, the curve
(``distance`` px, ``sensitivity_student``, ``throughput``, ``noise``,
``sigma corr``) and the best and median wall time of ``contrast_curve``.

The call (vip-hci 2.1.1, ``vip_hci/metrics/contrcurve.py``)::

    contrast_curve(cube, angles, psf, fwhm, pxscale, starphot, algo, sigma=5, nbranch=B, theta=0,
                   inner_rad=1, fc_rad_sep=3, noise_sep=None, fc_snr=5, student=True, smooth=False,
                   interp_order=None, plot=False, verbose=False, **settings)

``noise_sep=None`` and ``interp_order=None``: the noise and the throughput at
the same separations, 1 FWHM apart from 1 FWHM (no spline of the throughput
onto a 1-px grid); ``smooth=False``: no Savitzky-Golay smoothing of the noise.
``contrast_curve`` passes ``fwhm`` to the algorithm itself.

A run with ``"fixed_scaling": true`` gives ``contrast_curve`` the algorithm
with its ``scaling`` bound inside a wrapper rather than among the keyword
arguments: vip-hci 2.1.1's ``throughput`` processes the cube without
companions with ``algo_dict``'s ``scaling``, then ``algo_dict.pop("scaling")``
drops it, so that every cube with companions is processed with the
algorithm's default ``scaling=None`` (no centring of the pixels) and the
recovered flux is (unscaled frame with companions - scaled frame without):
two different algorithms. Bound in the wrapper, the scaling is the same for
both frames.
"""

import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402


def with_scaling(algo, scaling):
    """``algo`` with ``scaling`` bound: ``contrast_curve`` sees an external algorithm and never drops it."""
    def bound(cube, angle_list, fwhm, verbose=False, **kwargs):
        return algo(cube=cube, angle_list=angle_list, fwhm=fwhm, verbose=verbose, scaling=scaling, **kwargs)

    bound.__name__ = algo.__name__
    return bound


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as handle:
        config = json.load(handle)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import vip_hci
    from vip_hci.metrics import contrast_curve, noise_per_annulus
    from vip_hci.psfsub import pca, pca_annular

    warnings.simplefilter("ignore")
    cube = np.load(config["cube"])
    angles = np.load(config["angles"])
    psf = np.load(config["psf"])
    algos = {"pca": pca, "pca-annular": pca_annular}
    out = {"versions": {"vip_hci": vip_hci.__version__, "numpy": np.__version__}, "algorithms": {}}
    for name, spec in config["runs"].items():
        settings = dict(spec["settings"])
        algo = algos[spec["algo"]]
        if spec.get("fixed_scaling"):
            algo = with_scaling(algo, settings.pop("scaling", None))

        def run():
            return contrast_curve(cube, angles, psf, config["fwhm"], config["pxscale"], config["starphot"],
                                  algo, sigma=config["sigma"], nbranch=spec["nbranch"], theta=0,
                                  inner_rad=1, fc_rad_sep=config["fc_rad_sep"], noise_sep=None,
                                  fc_snr=config["fc_snr"], student=True, smooth=False, interp_order=None,
                                  plot=False, verbose=False, **settings)

        times, frame = [], None
        for _ in range(spec["repeats"]):
            start = time.perf_counter()
            frame = run()
            times.append(time.perf_counter() - start)
        out["algorithms"][name] = {
            "best_s": min(times), "median_s": float(np.median(times)), "times_s": times,
            "curve": {key: [float(v) for v in frame[key]] for key in
                      ("distance", "sensitivity_student", "sensitivity_gaussian", "throughput", "noise",
                       "sigma corr", "residual_level")},
        }
        print(f"[vip] {name}: best {min(times):.2f} s", file=sys.stderr, flush=True)
    out["frame_noise"] = {}
    for name, path in config.get("frames", {}).items():
        noise, _, radii = noise_per_annulus(np.load(path), separation=config["fwhm"], fwhm=config["fwhm"])
        out["frame_noise"][name] = {"distance": [float(r) for r in radii], "noise": [float(v) for v in noise]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
