"""NMF solvers: scikit-learn's coordinate descent against exobench's batched multiplicative updates.

Times, on one thread, the two solvers of :mod:`exobench.algorithms.nmf` on the
same inputs: one full-frame factorisation, every per-frame library of one
annulus, and the whole ``nmf`` / ``nmf-annular`` algorithms; prints a Markdown
table (pasted into docs/benchmarks.md by hand) with the relative reconstruction
error reached. The real NACO cube is read from ``$EXOBENCH_REAL_DATA`` or
``../shared/data/real`` when present; a seeded synthetic cube otherwise.

    python bench/bench_nmf.py
"""

import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, force_single_thread  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

from exobench.algorithms import AnnularNMF, NMF  # noqa: E402
from exobench.algorithms._nmf import (multiplicative_factorisation, nonnegative,  # noqa: E402
                                      sklearn_factorisation)
from exobench.algorithms.annuli import annuli, rotation_thresholds  # noqa: E402
from exobench.examples import example_dataset  # noqa: E402

SETTINGS = dict(max_iter=200, tol=1e-4)


def _datasets():
    found = {"synthetic 30x49x49": example_dataset(n_frames=30, size=49, seed=1)}
    folder = Path(os.environ.get("EXOBENCH_REAL_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" /
                                 "data" / "real"))
    if (folder / "naco_betapic_empty_cube.fits").is_file():
        from astropy.io import fits

        from exobench.data import Dataset

        found["NACO 61x99x99"] = Dataset(fits.getdata(folder / "naco_betapic_empty_cube.fits"),
                                         fits.getdata(folder / "naco_betapic_empty_pa.fits"),
                                         psf=fits.getdata(folder / "naco_betapic_psf.fits"))
    return found


def _relative(matrix, model):
    return float(np.linalg.norm(matrix - model) / np.linalg.norm(matrix))


def main():
    rows = []
    for label, ds in _datasets().items():
        cube = np.asarray(ds.cube, dtype=np.float64)
        t = cube.shape[0]
        full, _ = nonnegative(cube.reshape(t, -1), "shift")
        ncomp = 5
        timed = best_of(lambda: sklearn_factorisation(full, ncomp, random_state=0, **SETTINGS), repeats=3)
        w, h = timed["result"]
        rows.append((label, f"one full-frame factorisation {t}x{full.shape[1]}, 5 components", "sklearn cd",
                     timed["best_s"], _relative(full, w @ h)))
        timed = best_of(lambda: multiplicative_factorisation(full, ncomp, **SETTINGS), repeats=3)
        w, h = timed["result"]
        rows.append((label, "", "multiplicative", timed["best_s"], _relative(full, w[0] @ h[0])))
        target = rows[-2][-1]
        for iterations in (400, 800, 1600, 3200):  # the multiplicative updates to coordinate descent's error
            timed = best_of(lambda: multiplicative_factorisation(full, ncomp, max_iter=iterations, tol=0), repeats=1)
            w, h = timed["result"]
            if _relative(full, w[0] @ h[0]) <= target:
                break
        rows.append((label, "", f"multiplicative, {iterations} iterations", timed["best_s"],
                     _relative(full, w[0] @ h[0])))
        # the per-frame libraries of the annulus at about 4 FWHM (delta 1), 3 components
        masks, radii = annuli(cube.shape, inner_radius=0.0, width=float(ds.fwhm))
        index = int(np.argmin(np.abs(np.asarray(radii) - 4 * ds.fwhm)))
        values, _ = nonnegative(cube.reshape(t, -1)[:, masks[index].ravel()], "shift")
        thresholds, distance = rotation_thresholds(np.asarray(ds.angles, float), radii[index], 1.0, float(ds.fwhm), 3)
        allowed = distance >= thresholds[:, None]

        def loop():
            return [sklearn_factorisation(values[rows_], 3, random_state=0, **SETTINGS) for rows_ in allowed]

        timed = best_of(loop, repeats=3)
        error = np.mean([_relative(values[r], w @ h) for r, (w, h) in zip(allowed, timed["result"])])
        rows.append((label, f"{t} libraries of the annulus at r = {radii[index]:.1f} px ({values.shape[1]} px), "
                            f"3 components", "sklearn cd", timed["best_s"], error))
        timed = best_of(lambda: multiplicative_factorisation(values, 3, rows=allowed, **SETTINGS), repeats=3)
        w, h = timed["result"]
        error = np.mean([_relative(values[r], w[i][r] @ h[i]) for i, r in enumerate(allowed)])
        rows.append((label, "", "multiplicative", timed["best_s"], error))
        for name, algorithm in (("NMF(ncomp=5)", NMF), ("AnnularNMF(ncomp=3)", AnnularNMF)):
            k = 5 if algorithm is NMF else 3
            for solver in ("sklearn", "multiplicative"):
                timed = best_of(lambda: algorithm(ncomp=k, solver=solver).process(ds), repeats=3)
                rows.append((label, name if solver == "sklearn" else "", solver, timed["best_s"], None))
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, one thread; "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    print("\n| data | operation | solver | time | relative error |\n| --- | --- | --- | ---: | ---: |")
    for label, what, solver, seconds, error in rows:
        shown = "" if error is None else f"{error:.4f}"
        print(f"| {label} | {what} | {solver} | {seconds:.3f} s | {shown} |")


if __name__ == "__main__":
    main()
