"""The reference library's side of the ANDROMEDA benchmark (run with bench/.venv-vip/bin/python).

Usage::

    bench/.venv-vip/bin/python bench/vip_andromeda.py CONFIG.json

``CONFIG.json`` (written by ``bench_andromeda.py``)::

    {"cubes": {"naco": {"cube": ..., "angles": ..., "psf": ..., "fwhm": 4.8}, ...},
     "settings": {"matched": {...andromeda keyword arguments...}, "fastest": {...}},
     "only": {"big": ["fastest"]}, "slow_s": 8.0, "repeats": 2, "save_dir": "..."}

(``only``: the settings run on a cube, all by default. ``subpixel_fix``: settings run with VIP's
sub-pixel index computed as ``round(fraction * precision)`` instead of its ``round(fraction) *
precision``, which places the model at whole pixels whatever ``precision``; a check of that
reading, not a setting of VIP's.)

For each cube and setting, ``vip_hci.invprob.andromeda(cube, oversampling_fact=fwhm / 2, angle_list=angles,
psf=psf, nproc=1, verbose=False, **setting)`` is timed (one warm-up call unless the first takes longer than
``slow_s``) and its outputs (contrast, snr, snr_norm, stdcontrast, stdcontrast_norm) saved as
``vip_<cube>_<setting>_<output>.npy`` under ``save_dir``. ``oversampling_fact = fwhm / 2`` makes VIP's
lambda/D one FWHM, the unit of exobench's options. One JSON document on stdout: versions and timings.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_of, force_single_thread, read_config  # noqa: E402

force_single_thread()

import numpy as np  # noqa: E402

OUTPUTS = ("contrast", "snr", "snr_norm", "stdcontrast", "stdcontrast_norm")


def main(argv):
    config = read_config(argv, __doc__)
    if config is None:
        return 2
    report, sys.stdout = sys.stdout, sys.stderr  # VIP prints on stdout, where the JSON document goes

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import vip_hci
    from vip_hci.invprob import andromeda
    from vip_hci.invprob.utils_andro import idl_round

    module = sys.modules["vip_hci.invprob.andromeda"]

    out = {"versions": {"vip_hci": vip_hci.__version__, "numpy": np.__version__}, "results": {}}
    for key, spec in config["cubes"].items():
        cube = np.load(spec["cube"]).astype(np.float64)
        angles = np.load(spec["angles"]).astype(np.float64)
        psf = np.load(spec["psf"]).astype(np.float64)
        for setting, kwargs in config["settings"].items():
            if setting not in config.get("only", {}).get(key, config["settings"]):
                continue
            def call():
                return andromeda(cube=cube, oversampling_fact=spec["fwhm"] / 2.0, angle_list=angles.copy(),
                                 psf=psf.copy(), nproc=1, verbose=False, **kwargs)

            if setting in config.get("subpixel_fix", ()):
                precision = int(kwargs["precision"])
                module.idl_round = lambda x, p=precision: np.trunc(x * p + 0.5) / p  # only its sub-pixel use
            timing = best_of(call, repeats=int(config.get("repeats", 2)), slow_s=config.get("slow_s", 8.0),
                             budget_s=float(config.get("budget_s", 30.0)))
            module.idl_round = idl_round
            result = timing.pop("result")
            for name, array in zip(OUTPUTS, result[:5]):
                np.save(os.path.join(config["save_dir"], f"vip_{key}_{setting}_{name}.npy"), np.asarray(array))
            out["results"][f"{key}/{setting}"] = dict(timing, ext_radius=float(result[6]))
            print(f"vip {key} {setting}: {timing['best_s']:.1f} s", file=sys.stderr, flush=True)
    report.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
