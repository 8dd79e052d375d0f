"""VIP's side of bench/bench_fmmf.py (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_fmmf.py CONFIG.json

``CONFIG.json`` names ``.npy`` inputs (``cube``, ``angles``, ``psf``: the PSF
normalised to unit 1-FWHM aperture flux, so that VIP's flux is in exobench's
companion-flux unit), ``fwhm``, the rings ``min_r`` to ``max_r`` (VIP computes
``range(min_r, max_r)``), ``ncomp``, ``delta_rot``, ``crop``, ``imlib``,
``interpolation`` and ``out`` (a ``.npz`` written with VIP's ``flux`` and
``snr`` maps). Prints one JSON line: the version, the wall and CPU seconds of the call.

VIP's call (vip-hci 2.1.1, read from vip_hci/invprob/fmmf.py): ``fmmf(cube=,
angle_list=, psf=, fwhm=, min_r=, max_r=, model="KLIP", var="FR",
param={"ncomp":, "tolerance":, "delta_rot":}, crop=, imlib=, interpolation=,
nproc=1, verbose=False)`` returns ``(flux_matrix, snr_matrix)``.
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
    import vip_hci
    from vip_hci.invprob import fmmf

    with open(argv[0]) as handle:
        config = json.load(handle)
    cube, angles, psf = (np.load(config[key]) for key in ("cube", "angles", "psf"))
    start, cpu = time.perf_counter(), time.process_time()
    flux, snr = fmmf(cube=cube, angle_list=angles, psf=psf, fwhm=config["fwhm"], min_r=config["min_r"],
                     max_r=config["max_r"], model="KLIP", var="FR",
                     param={"ncomp": config["ncomp"], "tolerance": 5e-3, "delta_rot": config["delta_rot"]},
                     crop=config["crop"], imlib=config["imlib"], interpolation=config["interpolation"], nproc=1,
                     verbose=False)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.savez(config["out"], flux=flux, snr=snr)
    print(json.dumps({"vip_hci": vip_hci.__version__, "seconds": seconds, "cpu_seconds": cpu}))


if __name__ == "__main__":
    main(sys.argv[1:])
