"""Calibration of contrast curves: are companions at the curve's contrast detected as promised?

    python bench/bench_contrast_calibration.py [--azimuths N] [--no-docs]

For each dataset (the real NACO cube, ../shared/data/real or ``$EXOBENCH_REAL_DATA``,
and a seeded synthetic cube of ``exobench.examples``) and each test statistic
(Student's t, the Laplacian bootstrap), with annular PCA at the ``pca-annular``
baseline's parameters:

1. the contrast curve at the 5-sigma-equivalent fpf (2.87e-7; throughput from 4
   branches). The two statistics share the noise and the throughput, so the
   Laplacian curve is the t curve times the ratio of their thresholds (what
   ``contrast_curve(..., statistic="laplace-bootstrap")`` computes);
2. companions injected at the curve's contrast at every separation along
   ``--azimuths`` directions (``throughput(..., rings=True)``: the curve's own
   injection machinery), and each tested two ways:

   - *the curve's threshold* (what the curve promises): the companion's aperture
     flux in the injected final frame against ``tau = m + k sqrt(1 + 1/n) s``, the
     threshold that the curve's ring (``m``, ``s``, ``n`` apertures of the frame
     without companions) sets. The curve places the companion's mean aperture
     flux exactly at ``tau``: the promise is detection *one time in two*;
   - *a detection test* (what a detection map would do): ``T`` of the companion
     against the other ``n - 1`` apertures of its ring, above the statistic's
     threshold with ``n - 1`` apertures (``exobench.contrast.grid``'s test).

3. the false-positive side at fpf 1e-2, where it can be counted: on the final
   frame without companions, every aperture of every ring (rings started every
   1/4 aperture) tested against its ring's others, the fraction above the
   threshold (promised: 1e-2). Overlapping rings are not independent, so its
   interval is wider than the binomial one shown.

Writes the "Contrast-curve calibration" section of docs/benchmarks.md and
bench/results/contrast_calibration.json. Intervals: Clopper-Pearson 95 %.
"""

import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import replace_doc_section, write_json  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
RESULTS = os.path.join(ROOT, "bench", "results", "contrast_calibration.json")
START, END = "<!-- contrast-calibration:start -->", "<!-- contrast-calibration:end -->"
FPF_FALSE = 1e-2
SEED = 0


def datasets():
    from astropy.io import fits

    from exobench.data import Dataset
    from exobench.data.registry import get_real_dataset
    from exobench.examples import example_dataset

    found = {"synthetic (example_dataset 60x99x99, 80 deg)": example_dataset(n_frames=60, size=99, rotation=80.0,
                                                                            seed=1)}
    folder = os.environ.get("EXOBENCH_REAL_DATA") or os.path.join(ROOT, "..", "shared", "data", "real")
    name = os.path.join(folder, "naco_betapic_{}.fits")
    if os.path.exists(name.format("empty_cube")):
        star = get_real_dataset("naco-betapic").numbers["star_flux"]
        found["NACO beta Pic (61x99x99, real)"] = Dataset(
            fits.getdata(name.format("empty_cube")), fits.getdata(name.format("empty_pa")),
            psf=fits.getdata(name.format("psf")), pxscale=0.02719, instrument="naco", dataset_id="1", star_flux=star)
    return found


def interval(hits, total):
    from scipy import stats

    if total == 0:
        return [float("nan"), float("nan")]
    ci = stats.binomtest(int(hits), int(total)).proportion_ci(confidence_level=0.95, method="exact")
    return [float(ci.low), float(ci.high)]


def false_positives(reference, curve, statistic):
    """Apertures of the frame without companions above the threshold at FPF_FALSE, against their ring's others."""
    import numpy as np

    from exobench.contrast import detection_threshold
    from exobench.detmap import ring_fluxes, snr_of_fluxes
    from exobench.geometry import polar_to_cartesian

    hits = total = 0
    for separation, n in zip(curve.separation_px, curve.n_apertures):
        if n < 6:
            continue
        k, _ = detection_threshold(np.array([n - 1]), FPF_FALSE, statistic=statistic, random_state=SEED)
        step = 2.0 * np.degrees(np.arcsin(curve.fwhm / 2.0 / separation)) / 4.0
        for theta in np.arange(0.0, 360.0, step):
            ring = ring_fluxes(reference, polar_to_cartesian(float(separation), float(theta),
                                                             center=_center(reference)), curve.fwhm)
            hits += int(snr_of_fluxes(ring) > k[0])
            total += 1
    return hits, total


def _center(image):
    from exobench.geometry import frame_center

    return frame_center(image.shape)


def calibrate(name, dataset, algorithm, azimuths):
    import numpy as np

    from exobench.contrast import contrast_curve, detection_threshold, reference_frame, throughput
    from exobench.detmap import snr_of_fluxes
    from exobench.parallel import Executor

    started = time.perf_counter()
    rows = []
    with Executor(workers=0) as executor:
        t_curve = contrast_curve(algorithm, dataset, branches=4, statistic="t", executor=executor)
        reference = reference_frame(algorithm, dataset, executor=executor)
        per_star = float(np.mean(1.0 / np.atleast_1d(np.asarray(dataset.star_flux, dtype=float))))
        good = np.isfinite(t_curve.contrast)
        for statistic in ("t", "laplace-bootstrap"):
            k, _ = detection_threshold(t_curve.n_apertures, t_curve.fpf, statistic=statistic, random_state=SEED)
            contrast = t_curve.contrast * k / t_curve.threshold
            separations = t_curve.separation_px[good]
            measured = throughput(algorithm, dataset, separations=separations, fluxes=contrast[good] / per_star,
                                  branches=azimuths, theta0=7.0, reference=reference, executor=executor,
                                  rings=True)
            n = t_curve.n_apertures[good]
            tau = t_curve.noise_mean[good] + k[good] * np.sqrt(1.0 + 1.0 / n) * t_curve.noise[good]
            flux = np.array([[ring[0] for ring in branch] for branch in measured.rings])  # (a, s)
            promise = flux > tau[None, :]
            k_test, _ = detection_threshold(n - 1, t_curve.fpf, statistic=statistic, random_state=SEED)
            values = np.array([[snr_of_fluxes(ring) for ring in branch] for branch in measured.rings])
            test = values > k_test[None, :]
            fp_hits, fp_total = false_positives(reference, t_curve, statistic)
            rows.append({
                "dataset": name, "statistic": statistic,
                "separation_fwhm": t_curve.separation_fwhm[good].tolist(),
                "contrast": contrast[good].tolist(), "threshold": k[good].tolist(),
                "non_gaussian": t_curve.non_gaussian[good].tolist(), "kurtosis": t_curve.kurtosis[good].tolist(),
                "promise_per_separation": promise.mean(axis=0).tolist(),
                "promise_hits": int(promise.sum()), "test_hits": int(test.sum()), "total": int(promise.size),
                "promise_ci": interval(promise.sum(), promise.size), "test_ci": interval(test.sum(), test.size),
                "fp_hits": fp_hits, "fp_total": fp_total, "fp_ci": interval(fp_hits, fp_total),
            })
    return rows, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--azimuths", type=int, default=8)
    parser.add_argument("--no-docs", action="store_true", help="print the section only")
    args = parser.parse_args(argv)

    from exobench.algorithms import AnnularPCA
    from exobench.baselines import default_params

    algorithm = AnnularPCA(**default_params("pca-annular")["algorithm"])
    report = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
              "azimuths": args.azimuths, "rows": [], "seconds": {}}
    for name, dataset in datasets().items():
        rows, seconds = calibrate(name, dataset, algorithm, args.azimuths)
        report["rows"] += rows
        report["seconds"][name] = seconds
        print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    section = render(report)
    if args.no_docs:
        print(section)
        return
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    write_json(RESULTS, report)
    replace_doc_section(DOC, section, START, END)
    print(section)


def _fraction(hits, total, ci):
    return f"{hits}/{total} = {hits / total:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def render(report):
    lines = [
        START,
        "## Contrast-curve calibration",
        "",
        "Generated by `bench/bench_contrast_calibration.py`; do not edit this section by hand.",
        "",
        f"- Run: {report['date']}, command `python bench/bench_contrast_calibration.py --azimuths "
        f"{report['azimuths']}`; "
        + ", ".join(f"{name}: {seconds:.0f} s" for name, seconds in report["seconds"].items()),
        "- Annular PCA (the `pca-annular` baseline's parameters); curves at the 5-sigma-equivalent fpf "
        "(2.87e-7), throughput from 4 branches; companions injected at the curve's contrast at every "
        f"separation (1 FWHM steps) along {report['azimuths']} azimuths. Intervals: Clopper-Pearson 95 %.",
        "- *curve's threshold*: the companion's aperture above the curve's own threshold "
        "`m + k sqrt(1 + 1/n) s` (promised: 0.50, the curve's definition). *detection test*: its `T` against "
        "the other n - 1 apertures of its ring above the statistic's threshold (the grid's test). "
        f"*false positives*: apertures of the frame without companions above the threshold at fpf {FPF_FALSE:g} "
        f"(promised: {FPF_FALSE:g}; overlapping rings, so the true interval is wider).",
        "",
        "| dataset | test | curve's threshold (promised 0.50) | detection test | false positives at fpf 0.01 "
        "| rings flagged non-Gaussian |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        flagged = f"{sum(row['non_gaussian'])}/{len(row['non_gaussian'])}"
        lines.append(f"| {row['dataset']} | {row['statistic']} | "
                     f"{_fraction(row['promise_hits'], row['total'], row['promise_ci'])} | "
                     f"{_fraction(row['test_hits'], row['total'], row['test_ci'])} | "
                     f"{row['fp_hits']}/{row['fp_total']} = {row['fp_hits'] / max(row['fp_total'], 1):.4f} "
                     f"[{row['fp_ci'][0]:.4f}, {row['fp_ci'][1]:.4f}] | {flagged} |")
    lines += ["", "Per separation (FWHM): the fraction above the curve's threshold.", ""]
    for row in report["rows"]:
        cells = ", ".join(f"{s:.0f}: {p:.2f}" for s, p in zip(row["separation_fwhm"], row["promise_per_separation"]))
        lines.append(f"- {row['dataset']}, {row['statistic']}: {cells}")
    lines.append(END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
