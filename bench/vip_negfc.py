"""VIP's side of the NEGFC benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_negfc.py CONFIG.json

``CONFIG.json`` (written by ``bench_negfc.py``): ``{"cubes": [path of each (t, y, x) .npy cube
with its companion], "angles": path, "psfn": path (the PSF divided by its 1-FWHM aperture flux),
"fwhm": float, "candidates": [[x, y], ...] (one per cube), "ncomp": int, "annulus_width_px": float,
"aperture_radius_fwhm": float, "fmerit": "sum"}``; optional ``"imlib"`` (default ``"skimage"``:
bilinear shifts and rotations; ``"vip-fft"``: Fourier ones, as exobench's injection).

Per cube, one call of vip_hci 2.1.1's ``firstguess(cube, angles, psfn, [candidate], ncomp=,
fwhm=, annulus_width=, aperture_radius=, fmerit=, imlib='skimage', interpolation='bilinear',
collapse='median', algo=pca_annulus, simplex=True, mu_sigma=None, verbose=False)``: its flux
grid at the candidate, then its Nelder-Mead simplex on (r, theta, flux). ``mu_sigma=None``
(the config's ``"mu_sigma"``, ``null`` unless given): ``fmerit`` is then the figure of merit;
with VIP's default ``mu_sigma=True`` it is ignored and ``firstguess`` minimises instead the
chi-square of the aperture's pixels about ``mu``, the mean of an annulus's wedge measured
with the companion still in the cube (its PCA imprint), which biases the flux. Prints one JSON document: per
cube, ``x, y`` (from VIP's r, theta about the frame centre) and ``flux`` (in psfn units) and
the call's wall and CPU times (one thread: the CPU time does not depend on the machine's load).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402


def main(argv):
    with open(argv[1]) as handle:
        config = json.load(handle)
    report, sys.stdout = sys.stdout, sys.stderr  # VIP prints on stdout, where the JSON goes
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import vip_hci
    from vip_hci.fm import firstguess
    from vip_hci.psfsub import pca_annulus

    angles = np.load(config["angles"])
    psfn = np.load(config["psfn"])
    out = {"version": vip_hci.__version__, "results": []}
    for path, candidate in zip(config["cubes"], config["candidates"]):
        cube = np.load(path)
        start, cpu = time.perf_counter(), time.process_time()
        r, theta, flux = firstguess(cube, angles, psfn, np.array([candidate]), ncomp=config["ncomp"],
                                    fwhm=config["fwhm"], annulus_width=config["annulus_width_px"],
                                    aperture_radius=config["aperture_radius_fwhm"], fmerit=config["fmerit"],
                                    imlib=config.get("imlib", "skimage"), interpolation="bilinear",
                                    collapse="median",
                                    algo=pca_annulus, simplex=True, mu_sigma=config.get("mu_sigma"),
                                    verbose=False)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        cy, cx = (s // 2 for s in cube.shape[-2:])
        x = cx + float(r[0]) * np.cos(np.radians(float(theta[0])))
        y = cy + float(r[0]) * np.sin(np.radians(float(theta[0])))
        out["results"].append({"x": x, "y": y, "flux": float(flux[0]), "seconds": elapsed, "cpu_seconds": cpu})
    report.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
