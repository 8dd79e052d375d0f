"""ANDROMEDA against VIP, one convention at a time: where the two maps differ and by how much.

    python bench/andromeda_conventions.py [--vip-python bench/.venv-vip/bin/python] [--refresh] [--no-docs]

On the real NACO cube, with the matched options of ``bench_andromeda.py``, VIP's maps
(``vip_hci.invprob.andromeda``, ``precision=10``: its fastest setting, whose positions are the
same as at ``precision=50``, see below) are computed once and cached in
``bench/results/andromeda_vip_naco.npz`` (``--refresh`` recomputes them; about a minute on one
core). exobench's computation is then redone with VIP's conventions substituted one at a time,
cumulatively, and each step's maps are correlated with VIP's:

0. exobench's ``Andromeda`` itself; VIP's map read half a pixel off (bilinear), as
   ``bench_andromeda.py`` compares them;
1. the same computation written out here with exobench's conventions (a check of this script:
   it must reproduce step 0);
2. VIP's grid: the cube shifted by half a pixel and cropped to 98 x 98 by VIP's own
   ``subpixel_shift``, the star at (48.5, 48.5); the maps are then compared pixel by pixel;
3. VIP's high-pass filter of the frames (``cube_filter_highpass``: the cut-off rounded to a
   whole frequency index);
4. VIP's model: the PSF shifted and cropped to 16 x 16, filtered on that small grid (which
   zeroes its sum), centred on a pixel corner;
5. VIP's annuli: limits ``floor(2 oversampling_fact (iwa + k annuli_width))`` px, strict at both
   ends, the pairs' minimum rotation at the inner limit, the optimisation annulus from it;
6. VIP's pairs (``create_indices``: each frame's first later partner beyond the minimum rotation,
   else its last earlier one if no frame chose it yet);
7. VIP's scaled frame: the frame that chose its partner (``d = I_partner - gamma I_frame``),
   where exobench scales the later one;
8. VIP's variance: the mean of the per-pixel variance over the whole frame, not the annulus;
9. VIP's positions: the model placed at the companion's position rounded to a whole pixel of
   VIP's grid (``idl_round(frac) * precision`` gives a sub-pixel index 0 or ``precision``, so
   VIP's ``precision`` changes the cost, not the positions);
10. VIP's radial normalisation (``normalize_snr``, ``nsmooth_snr=18``: the robust standard
   deviation over an 18 px ring outwards of each radius) instead of exobench's 1-FWHM annuli.

Then each of VIP's conventions (rows 3 on) alone on VIP's grid, and all of them but that one: its
share of the disagreement.

Writes the "ANDROMEDA against VIP, one convention at a time" section of docs/benchmarks.md and
bench/results/andromeda_conventions.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import SINGLE_THREAD_ENV, force_single_thread, publish  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import scipy.signal  # noqa: E402

from bench_andromeda import BANDS, MATCHED, agreement, datasets, model_psf, on_our_grid, vip_settings  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
START, END = "<!-- andromeda-conventions:start -->", "<!-- andromeda-conventions:end -->"
CACHE = os.path.join(HERE, "results", "andromeda_vip_naco.npz")
OUTPUTS = ("contrast", "snr", "snr_norm")
#: the steps, cumulative: (key, what changes)
STEPS = (
    ("exobench", "exobench's `Andromeda` (VIP's maps read half a pixel off, bilinear)"),
    ("rewritten", "the same, written out in this script (check)"),
    ("grid", "VIP's grid: cube shifted by half a pixel, cropped to 98 x 98, star at (48.5, 48.5)"),
    ("filter", "VIP's high-pass filter of the frames (cut-off rounded to a whole frequency)"),
    ("model", "VIP's model: PSF 16 x 16, filtered on its own grid, centred on a pixel corner"),
    ("annuli", "VIP's annuli (whole-pixel limits, strict), minimum rotation and optimisation annulus"),
    ("pairs", "VIP's pairs (`create_indices`: one partner per frame, later first)"),
    ("scaled", "VIP's scaled frame: the frame that chose, not its partner (`d = I_partner - gamma I_frame`)"),
    ("variance", "VIP's variance: mean over the whole frame, not the annulus"),
    ("positions", "VIP's positions: rounded to a whole pixel of its grid"),
    ("normalisation", "VIP's radial normalisation (`normalize_snr`, 18 px rings outwards)"),
)


def log(line):
    print(line, file=sys.stderr, flush=True)


def vip_maps(vip_python, dataset, refresh):
    """VIP's contrast / snr / snr_norm maps of the NACO cube (98 x 98, VIP's grid), cached, and its seconds.

    Also, as ``fixed_<output>``, the maps of VIP with its sub-pixel index fixed (``subpixel_fix`` of
    ``vip_andromeda.py``).
    """
    names = OUTPUTS + tuple(f"fixed_{name}" for name in OUTPUTS)
    if os.path.exists(CACHE) and not refresh:
        cached = np.load(CACHE)
        if all(name in cached for name in names):
            return {name: cached[name] for name in names}, float(cached["seconds"])
    with tempfile.TemporaryDirectory() as work:
        paths = {name: os.path.join(work, f"naco_{name}.npy") for name in ("cube", "angles", "psf")}
        np.save(paths["cube"], np.asarray(dataset.cube, dtype=np.float64))
        np.save(paths["angles"], np.asarray(dataset.angles, dtype=np.float64))
        np.save(paths["psf"], model_psf(dataset, MATCHED))
        config = {"cubes": {"naco": dict(paths, fwhm=float(dataset.fwhm))},
                  "settings": {"fastest": vip_settings(MATCHED)["fastest"], "fixed": vip_settings(MATCHED)["fastest"]},
                  "subpixel_fix": ["fixed"], "repeats": 1, "slow_s": 0.0, "save_dir": work}
        path = os.path.join(work, "vip_config.json")
        with open(path, "w") as handle:
            json.dump(config, handle)
        proc = subprocess.run([vip_python, os.path.join(HERE, "vip_andromeda.py"), path], cwd=ROOT,
                              env=dict(os.environ, **SINGLE_THREAD_ENV), stdout=subprocess.PIPE, text=True,
                              check=True)
        seconds = json.loads(proc.stdout.strip().splitlines()[-1])["results"]["naco/fastest"]["best_s"]
        maps = {name: np.load(os.path.join(work, f"vip_naco_fastest_{name}.npy")) for name in OUTPUTS}
        maps.update({f"fixed_{name}": np.load(os.path.join(work, f"vip_naco_fixed_{name}.npy")) for name in OUTPUTS})
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    np.savez(CACHE, seconds=seconds, **maps)
    return maps, seconds


def vip_side(vip_python, command, *arrays):
    """Run ``vip_andromeda_steps.py COMMAND`` on ``arrays`` (saved as .npy); its output (npz or npy)."""
    with tempfile.TemporaryDirectory() as work:
        inputs = []
        for k, array in enumerate(arrays):
            inputs.append(os.path.join(work, f"in{k}.npy"))
            np.save(inputs[-1], array)
        out = os.path.join(work, "out.npz" if command == "prepare" else "out.npy")
        subprocess.run([vip_python, os.path.join(HERE, "vip_andromeda_steps.py"), command, *inputs, out], cwd=ROOT,
                       env=dict(os.environ, **SINGLE_THREAD_ENV), check=True, stdout=subprocess.DEVNULL)
        loaded = np.load(out)
        return {key: loaded[key] for key in loaded} if command == "prepare" else loaded


# -- VIP's conventions, as in vip_hci.invprob.andromeda (2.1.1) --------------------------------------------------

def vip_annuli(npix, npixpsf, fwhm, options):
    """VIP's annulus limits in px (``annuli_limits``), with ``oversampling_fact = fwhm / 2``."""
    per_ld = fwhm  # 2 * oversampling_fact
    dmin, dmax = options["inner_radius"], (npix / 2 - npixpsf / 2) / per_ld
    distances = dmin + np.arange(int(np.round(dmax - dmin) / options["annulus_width"] + 1)) * options["annulus_width"]
    distances[-1] = dmax
    limits = np.floor(per_ld * distances).astype(int)
    while dmax * per_ld < limits[-1]:
        limits = limits[:-1]
    return limits


def vip_pairs(angles, min_rotation):
    """VIP's ``create_indices``: ``(scaled, kept)`` frame indices (``d = I_kept - gamma I_scaled``)."""
    angles = np.asarray(angles, dtype=np.float64)
    if angles[-1] < angles[0]:
        angles = -angles
    first, partner = [], []
    for i in range(angles.size):
        later = np.flatnonzero(angles - angles[i] >= min_rotation)
        if later.size:
            first.append(i)
            partner.append(later[0])
        elif i not in partner:
            earlier = np.flatnonzero(angles[i] - angles >= min_rotation)
            if earlier.size:
                first.append(i)
                partner.append(earlier[-1])
    return np.array(first, dtype=int), np.array(partner, dtype=int)


# -- the computation, each convention switchable ------------------------------------------------------------------

def maps(frames, angles, stamp, center, fwhm, options, vip):
    """Maximum-likelihood flux and raw S/N; ``vip``: the set of VIP's conventions switched on.

    ``frames`` filtered, ``stamp`` the model (odd: centred on its middle pixel; even: on the corner
    between its four middle pixels), ``center`` the star's ``(x, y)``. Pure numpy/scipy, loops over
    annuli only; positions read with cubic splines (``map_coordinates``) or, with ``"positions"``,
    rounded to VIP's lattice.
    """
    from exobench.algorithms.andromeda import _min_rotation, pair_frames
    from exobench.algorithms.annuli import annuli

    t, ny, nx = frames.shape
    k = stamp.shape[0]
    offset = 0.0 if k % 2 else 0.5  # the model's centre minus the pixel it is written at
    # correlation[i, y, x] = <model centred at (x + offset, y + offset), frame i>
    lo = (k - 1) / 2 + offset
    full = np.stack([scipy.signal.correlate(frame, stamp, mode="full", method="fft") for frame in frames])
    start = int(round(lo))
    correlation = full[:, start:start + ny, start:start + nx]
    energy = float(np.sum(stamp ** 2))
    autocorrelation = scipy.signal.correlate(stamp, stamp, mode="full", method="fft")
    acy = (autocorrelation.shape[0] - 1) / 2
    xc, yc = center
    yy, xx = np.indices((ny, nx), dtype=float)
    radius = np.hypot(xx - xc, yy - yc)
    phi = np.arctan2(yy - yc, xx - xc)
    flat = frames.reshape(t, -1)
    half = max(1, int(np.ceil(options["stamp_size"] * fwhm / 2)))
    if "annuli" in vip:
        limits = vip_annuli(ny, k, fwhm, options)
        rings = [((radius > a) & (radius < b), float(a), float(b), float(a)) for a, b in zip(limits[:-1], limits[1:])]
    else:
        outer = min(xc, yc, nx - 1 - xc, ny - 1 - yc) - half
        masks, _ = annuli((ny, nx), inner_radius=options["inner_radius"] * fwhm, width=options["annulus_width"] * fwhm)
        rings = []
        for mask in masks:
            mask = mask & (radius <= outer)
            if mask.any():
                r_in, r_out = float(radius[mask].min()), float(radius[mask].max())
                rings.append((mask, r_in, r_out, max(r_in, 0.5)))
    flux = np.full((ny, nx), np.nan)
    snr = np.full((ny, nx), np.nan)
    for mask, r_in, r_out, r_pairs in rings:
        pixels = np.flatnonzero(mask)
        if pixels.size == 0:
            continue
        rotation = _min_rotation(options["delta"] * fwhm, r_pairs)
        if "pairs" in vip:
            chose, partner = vip_pairs(angles, rotation)
        else:  # exobench's pairs: first < second, the second scaled
            chose, partner = pair_frames(angles, rotation, 1)
        if "scaled" in vip:  # VIP scales the frame that chose its partner
            scaled, kept = chose, partner
        else:  # exobench scales the later frame of the pair
            kept, scaled = np.minimum(chose, partner), np.maximum(chose, partner)
        if kept.size == 0:
            continue
        r_opt = np.sqrt(options["roa"] * r_out ** 2 - (options["roa"] - 1) * r_in ** 2)
        area = np.flatnonzero(((radius > r_in) if "annuli" in vip else (radius >= r_in)) & (radius <= r_opt))
        a, b = flat[kept[:, None], area], flat[scaled[:, None], area]
        gamma = np.einsum("ij,ij->i", a, b) / np.einsum("ij,ij->i", b, b)
        if "variance" in vip:
            differences = flat[kept] - gamma[:, None] * flat[scaled]
        else:
            differences = flat[kept[:, None], pixels] - gamma[:, None] * flat[scaled[:, None], pixels]
        variance = float(np.mean(np.var(differences, axis=0))) if kept.size > 1 else 1.0
        # the companion's position in each frame of each pair
        r, p = radius.ravel()[pixels][None, :], phi.ravel()[pixels][None, :]
        positions = []  # (x, y) indices into the correlation maps of the model's centre in each frame of each pair
        for index in (kept, scaled):
            theta = np.radians(angles[index])[:, None]
            x, y = xc - offset + r * np.cos(p - theta), yc - offset + r * np.sin(p - theta)
            if "positions" in vip:  # VIP: floor + idl_round(fraction), half up, to the nearest lattice point
                x, y = np.floor(x + 0.5), np.floor(y + 0.5)
            positions.append((x, y))

        def read(indices, x, y):
            out = np.empty(x.shape)
            for row, i in enumerate(indices):
                out[row] = scipy.ndimage.map_coordinates(correlation[i], [y[row], x[row]],
                                                         order=0 if "positions" in vip else 3, mode="constant")
            return out

        (xa, ya), (xb, yb) = positions
        g = gamma[:, None]
        numerator = (read(kept, xa, ya) - g * read(scaled, xa, ya) - g * read(kept, xb, yb)
                     + g ** 2 * read(scaled, xb, yb))
        shift = np.stack([(acy + (ya - yb)).ravel(), (acy + (xa - xb)).ravel()])
        overlap = scipy.ndimage.map_coordinates(autocorrelation, shift, order=3, mode="constant").reshape(xa.shape)
        denominator = (1.0 + g ** 2) * energy - 2.0 * g * overlap
        total = np.sum(denominator, axis=0) / variance
        flux.ravel()[pixels] = np.sum(numerator, axis=0) / variance / total
        snr.ravel()[pixels] = np.sum(numerator, axis=0) / variance / np.sqrt(total)
    return flux, snr


def run_steps(dataset, vip, vip_python):
    """The correlations of each step (cumulative), and of each convention alone and left out."""
    from exobench.algorithms import Andromeda, radial_normalisation
    from exobench.algorithms.andromeda import highpass_filter, model_stamp

    fwhm = float(dataset.fwhm)
    options = MATCHED
    rows = {}
    # 0: exobench itself, VIP's maps read on its grid
    ours = Andromeda(**options).detect(dataset)
    raw = Andromeda(**dict(options, radial_width=None)).detect(dataset)
    theirs = {name: on_our_grid(vip[name], dataset.frame_shape) for name in OUTPUTS}
    radius = np.hypot(*(np.indices(dataset.frame_shape) - np.array(dataset.center)[::-1, None, None])) / fwhm
    rows["exobench"] = agreement({"snr": raw.statistic, "statistic": ours.statistic, "flux": ours.flux}, theirs,
                                 radius)

    def normalised(snr, center):
        return radial_normalisation(snr, width=options["radial_width"] * fwhm, center=center[::-1])

    # 1: the computation written out here
    cube = np.asarray(dataset.cube, dtype=np.float64)
    half = max(1, int(np.ceil(options["stamp_size"] * fwhm / 2)))
    stamp = model_stamp(dataset.normalized_psf, half, options["filtering_fraction"], dataset.frame_shape)
    flux, snr = maps(highpass_filter(cube, options["filtering_fraction"]), dataset.angles, stamp, dataset.center,
                     fwhm, options, set())
    mine = {"snr": snr, "statistic": normalised(snr, dataset.center), "flux": flux}
    rows["rewritten"] = agreement(mine, theirs, radius)
    both = np.isfinite(mine["statistic"]) & np.isfinite(ours.statistic)
    rows["rewritten"]["against_exobench"] = float(np.corrcoef(mine["statistic"][both], ours.statistic[both])[0, 1])
    # 2-: VIP's grid and inputs from its own pre-processing
    prepared = vip_side(vip_python, "prepare", cube, model_psf(dataset, options))
    vip_center = ((prepared["cube"].shape[-1] - 1) / 2,) * 2
    vip_radius = np.hypot(*(np.indices(prepared["cube"].shape[1:]) - vip_center[0])) / fwhm
    frames = {False: highpass_filter(prepared["cube"], options["filtering_fraction"]), True: prepared["filtered"]}
    # exobench's model on the shifted grid: the normalised PSF filtered on the frame's grid, in an odd box; VIP's:
    # its own, back in the normalised PSF's unit (VIP's flux factor)
    models = {False: model_stamp(dataset.normalized_psf, half, options["filtering_fraction"],
                                 prepared["cube"].shape[1:]), True: prepared["psf"] * prepared["psf_scale"]}
    computed = {}

    def on_vip_grid(switched, reference=vip):
        key = frozenset(switched - {"normalisation"})
        if key not in computed:
            computed[key] = maps(frames["filter" in switched], dataset.angles, models["model" in switched], vip_center,
                                 fwhm, options, switched)
        flux_map, snr_map = computed[key]
        if "normalisation" in switched:
            snr_norm = vip_side(vip_python, "normalise", np.nan_to_num(snr_map))
            snr_norm = np.where(snr_norm != 0, snr_norm, np.nan)
        else:
            snr_norm = normalised(snr_map, vip_center)
        return agreement({"snr": snr_map, "statistic": snr_norm, "flux": flux_map}, reference, vip_radius)

    switched = set()
    for key, _ in STEPS[2:]:
        if key != "grid":
            switched.add(key)
        rows[key] = on_vip_grid(switched)
        log(f"{key}: {rows[key]['snr_norm']['all']:.3f}")
    conventions = [key for key, _ in STEPS[3:]]
    alone = {key: on_vip_grid({key}) for key in conventions}
    left_out = {key: on_vip_grid(set(conventions) - {key}) for key in conventions}
    # VIP with its sub-pixel index fixed against this script with all VIP's conventions but the rounding
    fixed = {name: vip[f"fixed_{name}"] for name in OUTPUTS}
    rows["fixed"] = {"against_vip": agreement({"snr": vip["snr"], "statistic": vip["snr_norm"],
                                               "flux": vip["contrast"]}, fixed, vip_radius),
                     "against_exact": on_vip_grid(set(conventions) - {"positions"}, fixed)}
    return rows, alone, left_out


def section(report):
    lines = [START, "### ANDROMEDA against VIP, one convention at a time", "",
             "Generated by `bench/andromeda_conventions.py`; do not edit this section by hand.", "",
             f"- Run: {report['date']}, command `{report['command']}`; load average before / after: "
             f"{report['load'][0]} / {report['load'][1]} (other jobs shared the machine; nothing here is timed).",
             "- The real NACO cube, the matched options of the table above; VIP's maps at `precision=10` "
             f"(cached in bench/results/, {report['vip_seconds']:.0f} s to compute). Each row adds one of VIP's "
             "conventions to the previous row's computation (rows 1 on: this script's own, vectorised "
             "numpy/scipy computation, its first row a check that it reproduces exobench's). From row 2 on both "
             "maps are on VIP's grid, compared pixel by pixel.",
             "- Pearson correlation with VIP's map over the pixels both define, overall and by separation "
             "(1-3 / 3-6 / 6+ FWHM); flux ratio: median of this flux over VIP's contrast where both raw S/N exceed 3.",
             "",
             "| step | raw S/N | normalised S/N (1-3 / 3-6 / 6+ FWHM) | flux | flux ratio | pixels |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    for number, (key, what) in enumerate(STEPS):
        row = report["steps"][key]
        by_band = [row["snr_norm"][f"{a:g}-{b:g}"] for a, b in BANDS]
        bands = " / ".join("n/a" if value is None else f"{value:.3f}" for value in by_band)
        ratio = row["flux_ratio_where_snr_above_3"]
        lines.append(f"| {number}. {what} | {row['snr']['all']:.3f} | {row['snr_norm']['all']:.3f} ({bands}) | "
                     f"{row['flux']['all']:.3f} | {'n/a' if ratio is None else f'{ratio:.3f}'} | "
                     f"{row['snr_norm']['pixels']} |")
    check = report["steps"]["rewritten"]["against_exobench"]
    fixed = report["steps"]["fixed"]
    triple = {kind: " / ".join(f"{fixed[kind][name]['all']:.3f}" for name in ("snr", "snr_norm", "flux"))
              for kind in ("against_vip", "against_exact")}
    lines += ["", f"Row 1 against exobench's own normalised S/N: correlation {check:.4f}.", "",
              "VIP with its sub-pixel index computed as `round(fraction * precision)` (a patch of this benchmark's, "
              "`subpixel_fix` in bench/vip_andromeda.py) against VIP as released: raw S/N / normalised S/N / flux "
              f"{triple['against_vip']}; against row 10 without its rounding (exact positions): "
              f"{triple['against_exact']}.", "",
              "Each convention alone (added to row 2 only) and left out (all of VIP's conventions but that one): "
              "correlation of the raw S/N / normalised S/N / flux with VIP's.", "",
              "| convention (row) | alone | all but this one |", "| --- | --- | --- |"]
    for number, (key, _) in enumerate(STEPS):
        if key in report["alone"]:
            cells = [" / ".join(f"{report[kind][key][name]['all']:.3f}" for name in ("snr", "snr_norm", "flux"))
                     for kind in ("alone", "left_out")]
            lines.append(f"| {key} ({number}) | {cells[0]} | {cells[1]} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vip-python", default=os.path.join(HERE, ".venv-vip", "bin", "python"))
    parser.add_argument("--refresh", action="store_true", help="recompute VIP's cached maps")
    parser.add_argument("--no-docs", action="store_true", help="print the section instead of writing the docs")
    args = parser.parse_args(argv)
    if not os.path.exists(args.vip_python):
        parser.error(f"--vip-python: {args.vip_python} not found (run bash bench/setup_vip_env.sh)")
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    dataset = datasets((2, 21, 21))["naco"]
    vip, seconds = vip_maps(args.vip_python, dataset, args.refresh)
    steps, alone, left_out = run_steps(dataset, vip, args.vip_python)
    report = {"steps": steps, "alone": alone, "left_out": left_out, "vip_seconds": seconds, "options": MATCHED}
    report["load"] = (load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    report["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    report["command"] = ("python bench/andromeda_conventions.py " + " ".join(
        argv if argv is not None else sys.argv[1:])).strip()
    publish(section(report), report, doc=DOC, start=START, end=END, name="andromeda_conventions.json",
            no_docs=args.no_docs, log=log)


if __name__ == "__main__":
    main()
