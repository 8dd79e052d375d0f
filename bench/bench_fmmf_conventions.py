"""FMMF against VIP's ``fmmf``, one convention at a time: where the two S/N maps part.

    python bench/bench_fmmf_conventions.py [--naco-ring 20] [--big-ring 30] [--big-every 3] [--no-big]

The matched filter written out in numpy (the KLIP residuals of one ring's
annulus and their exact first-order forward model by central differences, as
tests/algorithms/test_fmmf.py's direct formula), starting from exobench's
conventions and switching to VIP's one after the other, each step keeping the
previous ones:

0. exobench: the annulus ``|r - rho| <= FWHM / 2``, each frame's library the
   frames rotated by at least 1 FWHM of arc (at least ``ncomp`` of them),
   pixels centred over time, the filter over the whole annulus of the observed
   frames with each residual frame's variance over the annulus (checked against
   ``FMMF.raw``);
1. VIP's geometry: the annulus ``rho - int(round(FWHM) / 2) <= r < that +
   int(round(FWHM))``, the chord threshold capped at 90 % of half the rotation;
2. VIP's centring: each frame minus its spatial mean over the annulus;
3. VIP's filter region: a ``crop`` x ``crop`` box around the position in the
   derotated (bilinear) residuals and model, the variances unchanged;
4. VIP's variance: each derotated residual frame's over an annulus ``crop``
   px wide;

and, apart, steps 3 and 4 alone on exobench's annulus, library and centring.

Each step's S/N map on the ring is correlated with VIP's (bench/vip_fmmf.py,
the settings of bench/bench_fmmf.py). Prints the table and writes
bench/results/fmmf_conventions.json (``--out``).
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_fmmf import CROP, DELTA, NCOMP, log, vip_rings  # noqa: E402
from bench_loci import naco_dataset  # noqa: E402
from _detection import ROOT  # noqa: E402

import numpy as np  # noqa: E402

STEPS = ("exobench", "+ VIP's annulus and library", "+ spatial centring", "+ derotated 5x5 box",
         "+ VIP's variance")


def libraries(angles, rho, fwhm, geometry):
    """Each frame's reference frames (a boolean row per frame)."""
    from exobench.algorithms.annuli import rotation_thresholds

    if geometry == "exobench":
        thresholds, distance = rotation_thresholds(angles, float(rho), DELTA, fwhm, NCOMP)
        return distance >= thresholds[:, None]
    threshold = np.degrees(2 * np.arctan(DELTA * fwhm / (2 * rho)))
    half = np.abs(angles.max() - angles.min()) / 2
    threshold = min(threshold, 0.9 * half)
    return np.abs(angles[:, None] - angles[None, :]) >= threshold


def annulus(radius, rho, fwhm, geometry):
    if geometry == "exobench":
        return np.abs(radius - rho) <= fwhm / 2
    inner = rho - int(round(fwhm) / 2)
    return (radius >= inner) & (radius < inner + int(round(fwhm)))


def klip(matrix, library, centring):
    """Each frame minus its projection on the first NCOMP KL images of its library."""
    centred = matrix - (matrix.mean(axis=0) if centring == "time" else matrix.mean(axis=1, keepdims=True))
    out = np.empty_like(centred)
    for i, chosen in enumerate(library):
        refs = centred[chosen]
        values, vectors = np.linalg.eigh(refs @ refs.T)
        basis = (vectors[:, -NCOMP:].T @ refs) / np.sqrt(values[-NCOMP:])[:, None]
        out[i] = centred[i] - basis.T @ (basis @ centred[i])
    return out


def ring_maps(dataset, rho, positions, geometry, centring):
    """Per position (y, x): the S/N of the annulus filter, and of the box filter with either variance."""
    from exobench.geometry import derotate_cube, polar_grid
    from exobench.inject import add_stamps, placed_stamps

    cube = np.asarray(dataset.cube, dtype=np.float64)
    angles = np.asarray(dataset.angles, dtype=np.float64)
    fwhm = float(dataset.fwhm)
    t, ny, nx = cube.shape
    radius, theta = polar_grid(cube.shape, center=dataset.center)
    inside = annulus(radius, rho, fwhm, geometry)
    library = libraries(angles, rho, fwhm, geometry)
    data = cube[:, inside]
    residuals = klip(data, library, centring)
    weights = 1.0 / residuals.var(axis=1)
    full = np.zeros_like(cube)
    full[:, inside] = residuals
    derotated = derotate_cube(full, angles, method="bilinear", center=dataset.center)
    inner = rho - CROP // 2
    vip_ring = (radius >= inner) & (radius < inner + CROP)
    vip_weights = 1.0 / derotated[:, vip_ring].var(axis=1)
    step = 1e-4 * np.abs(data).max()
    half = CROP // 2
    out = {"annulus": [], "box": [], "box_vip_variance": []}
    for y, x in positions:
        model_cube = np.zeros_like(cube)
        add_stamps(model_cube, placed_stamps(dataset.normalized_psf, radius[y, x], theta[y, x], angles,
                                             dataset.center), 1.0)
        companion = model_cube[:, inside]
        scale = step / np.abs(companion).max()
        model = (klip(data + scale * companion, library, centring)
                 - klip(data - scale * companion, library, centring)) / (2 * scale)
        out["annulus"].append(np.sum(weights * np.sum(model * residuals, axis=1))
                              / np.sqrt(np.sum(weights * np.sum(model * model, axis=1))))
        full_model = np.zeros_like(cube)
        full_model[:, inside] = model
        model_box = derotate_cube(full_model, angles, method="bilinear", center=dataset.center)[
            :, y - half:y + half + 1, x - half:x + half + 1].reshape(t, -1)
        data_box = derotated[:, y - half:y + half + 1, x - half:x + half + 1].reshape(t, -1)
        for key, w in (("box", weights), ("box_vip_variance", vip_weights)):
            out[key].append(np.sum(w * np.sum(model_box * data_box, axis=1))
                            / np.sqrt(np.sum(w * np.sum(model_box * model_box, axis=1))))
    return {key: np.array(value) for key, value in out.items()}


def conventions(name, dataset, rho, every, tmp):
    from exobench.algorithms import FMMF

    fwhm = float(dataset.fwhm)
    log(f"{name}: VIP's ring {rho} ...")
    _, vip_snr, vip_seconds, version = vip_rings(dataset, [rho], tmp)
    raw = FMMF(ncomp=NCOMP, delta=DELTA, asize=1.0, normalisation_width=None, inner_radius=rho / fwhm,
               outer_radius=rho / fwhm).raw(dataset)
    both = np.isfinite(vip_snr) & np.isfinite(raw.statistic)
    positions = np.argwhere(both)[::every]
    vip = vip_snr[tuple(positions.T)]
    ours = raw.statistic[tuple(positions.T)]
    rows = []
    start = time.process_time()
    maps = {}
    for geometry, centring in (("exobench", "time"), ("vip", "time"), ("vip", "space")):
        maps[geometry, centring] = ring_maps(dataset, rho, positions, geometry, centring)
        log(f"{name}: {geometry} geometry, {centring} centring done ({time.process_time() - start:.0f} CPU s)")
    steps = [maps["exobench", "time"]["annulus"], maps["vip", "time"]["annulus"], maps["vip", "space"]["annulus"],
             maps["vip", "space"]["box"], maps["vip", "space"]["box_vip_variance"]]
    # the filter region alone, on exobench's annulus, library and centring
    labels = STEPS + ("exobench + derotated 5x5 box only", "exobench + 5x5 box and VIP's variance only")
    steps += [maps["exobench", "time"]["box"], maps["exobench", "time"]["box_vip_variance"]]
    for label, snr in zip(labels, steps):
        rows.append({"step": label, "snr_correlation_with_vip": float(np.corrcoef(snr, vip)[0, 1]),
                     "snr_std_ratio": float(np.std(snr) / np.std(vip))})
        log(f"{name}: {label}: correlation {rows[-1]['snr_correlation_with_vip']:.3f}, "
            f"std ratio {rows[-1]['snr_std_ratio']:.2f}")
    return {"shape": list(np.shape(dataset.cube)), "ring": int(rho), "positions": int(len(positions)),
            "vip_hci": version, "vip_cpu_s": vip_seconds[rho],
            "fmmf_raw_correlation_with_vip": float(np.corrcoef(ours, vip)[0, 1]),
            "step0_correlation_with_fmmf_raw": float(np.corrcoef(steps[0], ours)[0, 1]),
            "steps": rows, "load_average": os.getloadavg()[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naco-ring", type=int, default=20, help="the NACO ring (px)")
    parser.add_argument("--naco-every", type=int, default=1, help="every n-th position of the NACO ring")
    parser.add_argument("--big-ring", type=int, default=30, help="the ring of the 100 x 201 x 201 cube (px)")
    parser.add_argument("--big-every", type=int, default=3, help="every n-th position of that ring")
    parser.add_argument("--no-big", action="store_true", help="skip the 100 x 201 x 201 cube")
    parser.add_argument("--no-naco", action="store_true", help="skip the NACO cube")
    parser.add_argument("--out", default="fmmf_conventions.json", help="file name under bench/results")
    args = parser.parse_args(argv)
    from exobench.examples import example_dataset

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_naco:
            results["NACO"] = conventions("NACO", naco_dataset(), args.naco_ring, args.naco_every, tmp)
        if not args.no_big:
            big = example_dataset(n_frames=100, size=201, fwhm=4.0, seed=0)
            results["synthetic"] = conventions("synthetic", big, args.big_ring, args.big_every, tmp)
    out = ROOT / "bench" / "results" / args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
