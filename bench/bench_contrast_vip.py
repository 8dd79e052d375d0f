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
final frame without companions subtracted. VIP's noise is also measured on
exobench's final frame (``noise_per_annulus``), which separates the frames
from the noise's definitions.

A defect of vip-hci 2.1.1 is avoided: its ``throughput`` processes the cube
without companions with the ``scaling`` given to ``contrast_curve``, then
drops it (``algo_dict.pop("scaling")``), so that the cubes with companions are
processed without centring the pixels (``scaling=None``) and the recovered
flux compares two different algorithms. The matched run binds the scaling to
the algorithm (``vip_contrast.with_scaling``); ``--as-is`` also runs VIP as
documented, once, to show the defect's size.

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
#: exobench's default derotation, timed besides the matched 'fft'
DEFAULT_DEROTATION = "bilinear"
LABELS = {"pca": f"full-frame PCA ({PCA_NCOMP} comp.)", "pca-annular": f"annular PCA ({ANNULAR_NCOMP} comp.)"}
#: Shares of exobench's CPU time (per part, one thread, the matched settings), quoted in the section's reading
PROFILE = {"pca_rotation": "60 %", "pca_injection": "20 %", "annular_weights": "30 %", "annular_rotation": "40 %"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side (best of)")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data", "real"))
    parser.add_argument("--vip-python", default=os.path.join(HERE, ".venv-vip", "bin", "python"))
    parser.add_argument("--algorithms", nargs="+", default=list(BRANCHES), choices=list(BRANCHES))
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--as-is", nargs="*", default=["pca-annular"], choices=list(BRANCHES),
                        help="algorithms also run once on VIP's side as documented, `scaling` among "
                             "contrast_curve's keywords (which its throughput drops for the cubes with companions)")
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
        exo = run_exobench_side(naco, params, args)
        frames = {}
        for name in args.algorithms:
            frames[name] = os.path.join(work, f"frame-{name}.npy")
            np.save(frames[name], exobench_reference(_algorithm(name, params), naco))
        config = vip_config(naco, params, work, args, frames)
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


def _algorithm(name, params, derotation="fft"):
    from exobench.algorithms import get_algorithm

    return get_algorithm(name)(**dict(params["exobench"]["naco"][name], derotation=derotation))


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
        default = _algorithm(name, params, DEFAULT_DEROTATION)
        contrast_curve(default, naco, sigma=SIGMA, branches=1, spacing=FC_RAD_SEP)  # warm-up
        default_times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            contrast_curve(default, naco, sigma=SIGMA, branches=BRANCHES[name], theta0=0.0, spacing=FC_RAD_SEP,
                           injection_snr=INJECTION_SNR)
            default_times.append(time.perf_counter() - start)
        out[name] = {"best_s": min(times), "median_s": float(np.median(times)), "times_s": times,
                     "default_best_s": min(default_times), "curve": curve.to_dict()}
        print(f"[exobench] {name}: best {min(times):.2f} s", file=sys.stderr, flush=True)
    return out


def exobench_reference(algorithm, naco):
    """exobench's final frame without companions (the one its curve's noise is measured on)."""
    from exobench.contrast import final_frame

    return final_frame(algorithm, naco)


def vip_config(naco, params, work, args, frames):
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
    runs.update({name + AS_IS: {"algo": name, "nbranch": BRANCHES[name], "repeats": 1, "settings": settings[name],
                                "fixed_scaling": False} for name in args.algorithms if name in args.as_is})
    config = {**paths, "fwhm": float(naco.fwhm), "pxscale": float(naco.pxscale), "starphot": float(naco.star_flux),
              "sigma": SIGMA, "fc_rad_sep": FC_RAD_SEP, "fc_snr": INJECTION_SNR, "runs": runs, "frames": frames}
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
        measured = vip.get("frame_noise", {}).get(name)
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
            if measured is not None:
                # exobench's frame, VIP's noise: what is left of the noise ratio is the frames'
                k = int(np.argmin(np.abs(np.asarray(measured["distance"]) - sep_px)))
                same = measured["noise"][k] if abs(measured["distance"][k] - sep_px) < 1e-6 * fwhm + 1e-9 else None
                rows[-1].update({"frame_noise_ratio": _ratio(same, v["noise"][i]),
                                 "ratio_same_noise": _ratio(None if same is None else
                                                            c["contrast"][j] * same / c["noise"][j],
                                                            v["sensitivity_student"][i])})
            if as_is is not None:
                rows[-1].update({"vip_as_is": as_is["curve"]["sensitivity_student"][i],
                                 "ratio_as_is": _ratio(c["contrast"][j], as_is["curve"]["sensitivity_student"][i]),
                                 "throughput_ratio_as_is": _ratio(c["throughput"][j],
                                                                  as_is["curve"]["throughput"][i])})
        speed = theirs["best_s"] / ours["best_s"]
        inside = [r for r in rows if 2.0 - 1e-9 <= r["separation_fwhm"] <= 10.0 + 1e-9 and r["ratio"] is not None]
        worst = max((abs(r["ratio"] - 1.0) for r in inside), default=None)
        same = [abs(r["ratio_same_noise"] - 1.0) for r in inside if r.get("ratio_same_noise") is not None]
        out[name] = {"rows": rows, "speedup": speed, "worst_deviation_2_10": worst,
                     "as_is_best_s": None if as_is is None else as_is["best_s"],
                     "worst_same_noise_2_10": max(same, default=None),
                     "default_s": ours.get("default_best_s"),
                     "curve_target_met": worst is not None and worst <= CURVE_TARGET,
                     "speed_target_met": speed >= SPEED_TARGET}
    return out


def _ratio(a, b):
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return None
    return float(a / b)


def _f(value, fmt=".3f"):
    return "-" if value is None else format(value, fmt)


def _as_is_text(report):
    """The size of VIP's defect where it was run as is: its throughput over exobench's, per algorithm."""
    parts = []
    for name, result in report["comparison"].items():
        inverse = [1.0 / r["throughput_ratio_as_is"] for r in result["rows"]
                   if r["separation_fwhm"] >= 2.0 - 1e-9 and r.get("throughput_ratio_as_is")]
        if inverse:
            parts.append(f"{LABELS[name]}: {min(inverse):.2f} to {max(inverse):.2f} times exobench's")
    if not parts:
        return ""
    return ": called as documented, VIP's throughput from 2 FWHM is, " + "; ".join(parts) + \
        " (\"VIP as is\" columns)"


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
                  f"{'met' if result['curve_target_met'] else 'not met'}); with VIP's noise measured on both "
                  f"frames: {_f(result['worst_same_noise_2_10'], '.1%')}."
                  + ("" if result["as_is_best_s"] is None else
                     f" VIP as is (`scaling` among `contrast_curve`'s keywords): {result['as_is_best_s']:.2f} s.")
                  + ("" if result["default_s"] is None else
                     f" exobench with `derotation='{DEFAULT_DEROTATION}'`, its default: {result['default_s']:.2f} s "
                     f"({theirs['best_s'] / result['default_s']:.0f}x)."), "",
                  "| sep (FWHM) | exobench | VIP | ratio | t-factor ratio | noise ratio | of which ddof | "
                  "noise ratio, VIP's noise on both frames | ratio with VIP's noise | throughput ratio | "
                  "VIP as is: ratio | VIP as is: throughput ratio | n (exobench / VIP) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in result["rows"]:
            if r["separation_fwhm"] < 2.0 - 1e-9:
                continue
            lines.append(f"| {r['separation_fwhm']:.0f} | {_f(r['exobench'], '.3g')} | {_f(r['vip'], '.3g')} | "
                         f"{_f(r['ratio'])} | {_f(r['factor_ratio'])} | {_f(r['noise_ratio'])} | "
                         f"{r['ddof_part']:.3f} | {_f(r.get('frame_noise_ratio'))} | {_f(r.get('ratio_same_noise'))} | "
                         f"{_f(r['throughput_ratio'])} | {_f(r.get('ratio_as_is'))} | "
                         f"{_f(r.get('throughput_ratio_as_is'))} | {r['n_exobench']} / {r['n_vip']} |")
        lines.append("")
    lines += ["Ratios are exobench / VIP. The contrast is (t-factor x noise / throughput) on both sides, so the "
              "ratio is the t-factor ratio x the noise ratio / the throughput ratio.", "",
              "**Throughput.** vip-hci 2.1.1's `throughput` (`vip_hci/metrics/contrcurve.py`) processes the cube "
              "without companions with the `scaling` given to `contrast_curve` (here `'temp-mean'`, the centring "
              "of each pixel that exobench's PCA does), then drops it (`algo_dict.pop(\"scaling\", None)`), so "
              "that every cube with companions is processed with the algorithm's default `scaling=None` "
              "(no centring): its recovered flux is (uncentred frame with companions - centred frame without), "
              "two different algorithms. Uncentred, the first component goes to the mean frame and the companion "
              "is less self-subtracted, most with few components" + _as_is_text(report) + ". The matched "
              "run binds `scaling='temp-mean'` to the algorithm in a wrapper (`bench/vip_contrast.py`, "
              "`with_scaling`), so that both frames are centred; the throughputs then agree within a few per "
              "cent. What is left: VIP injects the PSF cropped to 3 FWHM (`normalize_psf(size=3 FWHM)`, no "
              "wings) and divides by the aperture flux of one copy shifted with the same `imlib`, exobench "
              "injects the whole PSF and divides by the flux of the companion as its own Fourier shift placed "
              "it; the frames themselves (two FFT rotations and PCA implementations) agree closely, not to the "
              "bit.", "",
              "**Noise.** The t-factors agree (both `t_{1-fpf, n-1} sqrt(1 + 1/n)`, VIP's "
              "`n = floor(2 pi r / FWHM)` equals exobench's count of touching apertures at these separations). "
              "The noise differs by definition: VIP's `np.std` has `ddof=0` where the t law assumes the sample "
              "standard deviation, `ddof=1` (\"of which ddof\": `sqrt(n / (n - 1))`), and its apertures are "
              "spaced 1 FWHM along the arc with a wider last gap, exobench's touching: on a ring of a dozen "
              "apertures, other apertures sample other speckles. \"VIP's noise on both frames\" measures "
              "exobench's final frame with VIP's own `noise_per_annulus`: that ratio is the frames' part, "
              "and \"ratio with VIP's noise\" the contrast exobench would give with VIP's noise definition. "
              "VIP 2.1.1 no longer adds the mean residual level to the threshold (`res_lev_samp` is set to 0), "
              "so the over-subtraction of PCA does not enter either side.", "",
              "**Speed.** Both sides process the cube once without companions and once per branch and round "
              "of injections (3 rounds of companions 3 FWHM apart); VIP as is processes it once more without "
              "scaling, for the noise (`noise_noscal`) that sets its companions' flux, which the matched run "
              "does not need (so VIP as is is slower and its companions' flux is 5 times another frame's "
              "noise). The rounds read their final frames at the companions' apertures only, and exobench "
              "computes them there alone (`exobench.algorithms.final_pixels`: the derotation and the median "
              "of those pixels; the same numbers as whole frames, to rounding with the Fourier rotation), "
              "where VIP derotates and collapses whole frames. exobench's time with `derotation='fft'` is "
              f"still mostly the Fourier rotation: measured in CPU time per part (one thread, NACO), the "
              f"full-frame PCA curve (4 branches) spends about {PROFILE['pca_rotation']} of its time in the "
              f"three shears and about {PROFILE['pca_injection']} injecting the companions; the annular PCA "
              f"curve about {PROFILE['annular_weights']} in the projection weights of its per-frame libraries "
              f"(one eigen-decomposition per distinct library and annulus) and {PROFILE['annular_rotation']} "
              "in the rotation. Whatever pixels are read, the first shear moves the 99 rows that hold data "
              "(the padded odd square is 189 x 189 per 99 x 99 frame); its Fourier ringing spreads over whole "
              "rows, so every column enters the middle shear. Without companions the middle shear transforms "
              "all 189 columns; a round, which reads a few rows, sums the middle shear at those rows alone "
              "(a direct sum with the Dirichlet kernel of the Fourier shift, no column transformed) and moves "
              "only them in the last shear. Every transformed shear runs along the contiguous axis "
              "(the middle one on the transposed square), with a compiled phase kernel (one `sincos` per "
              "line, not per bin): the three shears of the whole padded square to 1e-12 "
              "(`tests/geometry/test_rotate.py`). The time with exobench's default "
              "bilinear derotation is given besides each table (VIP's own default is `vip-fft`).", "", END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
