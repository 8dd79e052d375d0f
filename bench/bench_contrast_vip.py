"""Contrast curves side by side with vip-hci's ``contrast_curve`` on the real NACO cube.

Usage::

    bash bench/setup_vip_env.sh                       # once: bench/.venv-vip with vip-hci 2.1.1
    python bench/bench_contrast_vip.py [--repeats 3] [--data-dir ../shared/data/real] [--no-doc]

The same algorithm with the same parameters on both sides, one process and one
thread each (BLAS, numba; VIP ``nproc=1``): full-frame PCA (10 components) and
annular PCA (5 components, annuli 1 FWHM wide, VIP's annuli and rotation
threshold), both with a median collapse and Fourier rotations and shifts:
VIP's ``contrast_curve`` gives its ``imlib`` to the algorithm's derotation and to
the injection's shifts alike, and the only library both accept without opencv
is its default ``'vip-fft'`` (exobench: ``derotation='fft'``, and its injection's
Fourier shift). The contrast curves are matched as far as their definitions
allow:

- the same FWHM (exobench's Gaussian fit of the PSF, given to VIP), the same
  star flux (the registry's, in cube units: VIP's ``starphot``), the same
  separations (1 FWHM apart from 1 FWHM: VIP ``noise_sep=None, inner_rad=1``,
  and no spline of the throughput, ``interp_order=None``, nor smoothing of the
  noise, ``smooth=False``), the same branches (azimuths from polar angle 0) and
  companions 3 FWHM apart (``fc_rad_sep=3``) at 5 times the noise
  (``fc_snr=5``, exobench's ``injection_snr=5``);
- the same false-positive fraction: VIP's ``sigma=5`` with ``student=True`` is
  ``t.ppf(norm.cdf(5), n - 1) sqrt(1 + 1/n)``, exobench's default fpf is
  ``norm.sf(5)``.

What differs by definition (docs/benchmarks.md lists the numbers): VIP's noise
is ``np.std`` of the apertures with ``ddof=0`` (the t-test's ``s`` has
``ddof=1``), its apertures are ``int(2 pi r / FWHM)`` points spaced
``FWHM`` along the circle (the last gap wider), and it counts
``floor(2 pi r / FWHM)`` resolution elements; exobench's are touching,
non-overlapping apertures (``floor(pi / arcsin(FWHM / 2r))``). VIP's throughput
is clipped at 0, and its contrast at 1. Both measure the throughput with the
final frame without companions subtracted.

It writes ``bench/results/contrast_vip.json`` and its section of
docs/benchmarks.md (between the ``contrast-vip-benchmark`` markers).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from bench_algorithms import ANNULAR_NCOMP, DELTA, PCA_NCOMP, build_inputs, matching_params  # noqa: E402
from _common import SINGLE_THREAD_ENV, force_single_thread, replace_doc_section  # noqa: E402

force_single_thread()  # numba too: both sides on one thread

import numpy as np  # noqa: E402

START, END = "<!-- contrast-vip-benchmark:start -->", "<!-- contrast-vip-benchmark:end -->"
SIGMA = 5.0
FC_RAD_SEP = 3
INJECTION_SNR = 5.0
#: branches per algorithm (the same on both sides): VIP's annular PCA takes minutes per curve
BRANCHES = {"pca": 4, "pca-annular": 1}
CURVE_TARGET = 0.20
SPEED_TARGET = 20.0
#: suffix of VIP's runs called as documented, `scaling` among the keywords (dropped for the cubes with companions)
AS_IS = "@as-is"
LABELS = {"pca": f"full-frame PCA ({PCA_NCOMP} comp.)", "pca-annular": f"annular PCA ({ANNULAR_NCOMP} comp.)"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side (best of)")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "real"))
    parser.add_argument("--vip-python", default=os.path.join(HERE, ".venv-vip", "bin", "python"))
    parser.add_argument("--algorithms", nargs="+", default=list(BRANCHES), choices=list(BRANCHES))
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--as-is-repeats", type=int, default=1,
                        help="timed calls of VIP with `scaling` among contrast_curve's keywords (0: skip)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.vip_python):
        parser.error(f"no {args.vip_python}: run bash bench/setup_vip_env.sh first")
    from exobench.data.registry import get_real_dataset

    # the star's 1-FWHM aperture flux in cube units, as the registry declares it (the PSF file is not in those units)
    star_flux = get_real_dataset("naco-betapic").numbers["star_flux"]
    naco = build_inputs(args.data_dir, (2, 11, 11))["naco"].replace(star_flux=star_flux)
    params = matching_params({"naco": naco})
    results_dir = os.path.join(HERE, "results")
    os.makedirs(results_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="contrast-vip-", dir=results_dir) as work:
        config = vip_config(naco, params, work, args)
        exo = run_exobench_side(naco, params, args)
        vip = run_vip_side(args.vip_python, config)
    report = {"machine": machine(), "command": "python bench/bench_contrast_vip.py " + " ".join(argv or sys.argv[1:]),
              "fwhm": float(naco.fwhm), "star_flux": float(naco.star_flux), "branches": BRANCHES,
              "exobench": exo, "vip": vip, "comparison": compare(exo, vip, float(naco.fwhm))}
    with open(os.path.join(results_dir, "contrast_vip.json"), "w") as handle:
        json.dump(report, handle, indent=1)
    section = render_markdown(report)
    print(section)
    if not args.no_doc:
        replace_doc_section(os.path.join(ROOT, "docs", "benchmarks.md"), section, START, END)
    return 0


def machine():
    import numpy

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": platform.processor() or platform.machine(), "cores": cores, "python": platform.python_version(),
            "numpy": numpy.__version__, "platform": platform.platform(),
            "load_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _algorithm(name, params):
    from exobench.algorithms import get_algorithm

    return get_algorithm(name)(**dict(params["exobench"]["naco"][name], derotation="fft"))


def run_exobench_side(naco, params, args):
    from exobench.contrast import contrast_curve

    out = {}
    for name in args.algorithms:
        algorithm = _algorithm(name, params)
        contrast_curve(algorithm, naco, sigma=SIGMA, branches=1, spacing=FC_RAD_SEP)  # warm-up (numba, caches)
        times, curve = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            curve = contrast_curve(algorithm, naco, sigma=SIGMA, branches=BRANCHES[name], theta0=0.0,
                                   spacing=FC_RAD_SEP, injection_snr=INJECTION_SNR)
            times.append(time.perf_counter() - start)
        out[name] = {"best_s": min(times), "median_s": float(np.median(times)), "times_s": times,
                     "curve": curve.to_dict()}
        print(f"[exobench] {name}: best {min(times):.2f} s", file=sys.stderr, flush=True)
    return out


def vip_config(naco, params, work, args):
    paths = {}
    for key, array in (("cube", naco.cube), ("angles", naco.angles), ("psf", naco.psf)):
        paths[key] = os.path.join(work, f"{key}.npy")
        np.save(paths[key], np.asarray(array))
    vip = params["vip"]
    common = {"imlib": "vip-fft", "interpolation": "lanczos4", "collapse": "median", "nproc": 1}
    settings = {
        "pca": {"ncomp": vip["pca_ncomp"], "svd_mode": "lapack", "scaling": "temp-mean", **common},
        "pca-annular": {"radius_int": vip["annular_radius_int_px"]["naco"], "asize": vip["annular_asize_px"]["naco"],
                        "delta_rot": DELTA, "ncomp": vip["annular_ncomp"], "svd_mode": "lapack",
                        "scaling": "temp-mean", "min_frames_lib": 2, **common},
    }
    # matched: the scaling bound to the algorithm, so that VIP's throughput keeps it for the cubes with companions
    runs = {name: {"algo": name, "nbranch": BRANCHES[name], "repeats": args.repeats, "settings": settings[name],
                   "fixed_scaling": True} for name in args.algorithms}
    if args.as_is_repeats > 0:
        runs.update({name + AS_IS: {"algo": name, "nbranch": BRANCHES[name], "repeats": args.as_is_repeats,
                                    "settings": settings[name], "fixed_scaling": False} for name in args.algorithms})
    config = {**paths, "fwhm": float(naco.fwhm), "pxscale": float(naco.pxscale), "starphot": float(naco.star_flux),
              "sigma": SIGMA, "fc_rad_sep": FC_RAD_SEP, "fc_snr": INJECTION_SNR, "runs": runs}
    path = os.path.join(work, "config.json")
    with open(path, "w") as handle:
        json.dump(config, handle)
    return path


def run_vip_side(vip_python, config_path):
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    env.pop("PYTHONPATH", None)
    print(f"[bench] running the reference side: {vip_python} bench/vip_contrast.py", file=sys.stderr, flush=True)
    proc = subprocess.run([vip_python, os.path.join(HERE, "vip_contrast.py"), config_path], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout)


def compare(exo, vip, fwhm):
    """Per algorithm and separation (in FWHM, where both curves have one): the ratios exobench / VIP of the
    contrast and of what makes it (threshold factor, noise, throughput)."""
    out = {}
    for name, ours in exo.items():
        theirs = vip["algorithms"].get(name)
        if theirs is None:
            continue
        as_is = vip["algorithms"].get(name + AS_IS)
        c, v = ours["curve"], theirs["curve"]
        rows = []
        for i, sep_px in enumerate(v["distance"]):
            match = [j for j, s in enumerate(c["separation_px"]) if abs(s - sep_px) < 1e-6 * fwhm + 1e-9]
            if not match:
                continue
            j = match[0]
            n = c["n_apertures"][j]
            factor_ours = c["t_quantile"][j] * np.sqrt(1.0 + 1.0 / n)
            rows.append({
                "separation_fwhm": sep_px / fwhm, "separation_px": sep_px,
                "exobench": c["contrast"][j], "vip": v["sensitivity_student"][i],
                "ratio": _ratio(c["contrast"][j], v["sensitivity_student"][i]),
                "factor_ratio": _ratio(factor_ours, v["sigma corr"][i]),
                "noise_ratio": _ratio(c["noise"][j], v["noise"][i]),
                "ddof_part": float(np.sqrt(n / (n - 1.0))),
                "throughput_ratio": _ratio(c["throughput"][j], v["throughput"][i]),
                "n_exobench": int(n), "n_vip": int(np.floor(sep_px / fwhm * 2 * np.pi)),
                "vip_residual_level": v["residual_level"][i],
            })
            if as_is is not None:
                rows[-1].update({"vip_as_is": as_is["curve"]["sensitivity_student"][i],
                                 "ratio_as_is": _ratio(c["contrast"][j], as_is["curve"]["sensitivity_student"][i]),
                                 "throughput_ratio_as_is": _ratio(c["throughput"][j],
                                                                  as_is["curve"]["throughput"][i])})
        speed = theirs["best_s"] / ours["best_s"]
        inside = [r for r in rows if 2.0 - 1e-9 <= r["separation_fwhm"] <= 10.0 + 1e-9 and r["ratio"] is not None]
        worst = max((abs(r["ratio"] - 1.0) for r in inside), default=None)
        out[name] = {"rows": rows, "speedup": speed, "worst_deviation_2_10": worst,
                     "as_is_best_s": None if as_is is None else as_is["best_s"],
                     "curve_target_met": worst is not None and worst <= CURVE_TARGET,
                     "speed_target_met": speed >= SPEED_TARGET}
    return out


def _ratio(a, b):
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return None
    return float(a / b)


def _f(value, fmt=".3f"):
    return "-" if value is None else format(value, fmt)


def render_markdown(report):
    m, cmp = report["machine"], report["comparison"]
    lines = [START, "## Contrast curves against vip-hci's `contrast_curve`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores (load {_f(m['load_1min'], '.1f')} at the start, shared), "
             f"Python {m['python']}, numpy {m['numpy']}; vip-hci {report['vip']['versions']['vip_hci']} in "
             f"`bench/.venv-vip`. One process and one thread per side. Command: `{report['command']}`.", "",
             f"The real NACO cube (61 x 99 x 99, `../shared/data/real`), FWHM {report['fwhm']:.3f} px (exobench's "
             "fit, given to VIP), contrast relative to the star's 1-FWHM aperture flux in cube units "
             f"({report['star_flux']:.1f}, the registry entry `naco-betapic`'s; VIP's `starphot`), 5 sigma with the Student-t correction (VIP "
             "`sigma=5, student=True`; exobench `fpf=norm.sf(5)`), companions at 5 times the noise, 3 FWHM apart, "
             "separations 1 FWHM apart from 1 FWHM (VIP `noise_sep=None, interp_order=None, smooth=False`), "
             "median collapse, Fourier rotations and shifts (VIP `imlib='vip-fft'`, the one library its "
             "derotation and its injection both accept without opencv; exobench `derotation='fft'`). Branches: "
             + ", ".join(f"{LABELS[k]} {v}" for k, v in report["branches"].items() if k in report["exobench"])
             + " (the same on both sides). VIP's cube reaches 8 FWHM (its last annulus stops 2 FWHM inside the "
             "frame), so the table stops there, short of 10 lambda/D (lambda/D = FWHM).", ""]
    for name, result in cmp.items():
        if name not in LABELS:
            continue
        ours, theirs = report["exobench"][name], report["vip"]["algorithms"][name]
        lines += [f"### {LABELS[name]}", "",
                  f"Time of one curve, best of {len(ours['times_s'])} in the same run: exobench "
                  f"{ours['best_s']:.2f} s, VIP {theirs['best_s']:.2f} s: **{result['speedup']:.1f}x** "
                  f"(target {SPEED_TARGET:g}x: {'met' if result['speed_target_met'] else 'not met'}). "
                  f"Largest |exobench / VIP - 1| of the contrast from 2 to 8 FWHM: "
                  f"{_f(result['worst_deviation_2_10'], '.1%')} (target {CURVE_TARGET:.0%}: "
                  f"{'met' if result['curve_target_met'] else 'not met'}).", "",
                  "| sep (FWHM) | exobench | VIP | ratio | t-factor ratio | noise ratio | of which ddof | "
                  "throughput ratio | n (exobench / VIP) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in result["rows"]:
            if r["separation_fwhm"] < 2.0 - 1e-9:
                continue
            lines.append(f"| {r['separation_fwhm']:.0f} | {_f(r['exobench'], '.3g')} | {_f(r['vip'], '.3g')} | "
                         f"{_f(r['ratio'])} | {_f(r['factor_ratio'])} | {_f(r['noise_ratio'])} | "
                         f"{r['ddof_part']:.3f} | {_f(r['throughput_ratio'])} | {r['n_exobench']} / {r['n_vip']} |")
        lines.append("")
    lines += ["Ratios are exobench / VIP. The contrast is (t-factor x noise / throughput) on both sides, so the "
              "ratio is the t-factor ratio x the noise ratio / the throughput ratio. The t-factors agree (both "
              "`t_{1-fpf, n-1} sqrt(1 + 1/n)`, where VIP's `n = floor(2 pi r / FWHM)` equals exobench's count of "
              "touching apertures at these separations): in vip-hci 2.1.1 the degrees of freedom of the "
              "threshold are not off by one; its off-by-one is in the noise, `np.std` with `ddof=0` where the "
              "t law assumes the sample standard deviation (`ddof=1`). The noise differs by VIP's `np.std` with `ddof=0` "
              "(\"of which ddof\": `sqrt(n / (n - 1))`, by which exobench's is larger: the sample standard "
              "deviation that the t-test's law assumes) and by where the apertures sit (VIP's spaced 1 FWHM along "
              "the arc, the last gap wider; exobench's touching). The throughput differs by the injection: "
              "VIP injects the PSF cropped to 3 FWHM (`normalize_psf(size=3 FWHM)`, no wings beyond it) and "
              "divides the recovered flux by the aperture flux of one copy shifted to the final position with "
              "the same `imlib` (so its throughput depends on the shift method: `vip-fft` here, the only one its "
              "derotation and injection share without opencv), while exobench injects the whole PSF and divides "
              "by the flux of the companion as its own Fourier shift placed it; and by the frames themselves "
              "(the two FFT rotations and PCA implementations agree closely, not to the bit). VIP 2.1.1 no longer adds the mean residual "
              "level to the threshold (`res_lev_samp` is set to 0), so the over-subtraction of PCA does not "
              "enter either side.", "", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
