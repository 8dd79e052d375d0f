"""Helpers shared by both sides of the core benchmark.

This module is imported by ``bench_core.py`` (the project's Python) *and* by
``vip_side.py`` (the vip-hci virtual environment), so it needs only numpy,
scipy and photutils, which both environments have. Timing and the accuracy
measurement of injected companions are therefore the very same code on both
sides.
"""

import os
import tempfile
import time

# One process, one thread: set before numpy / scipy / numba are imported.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def read_config(argv, usage):
    """The JSON configuration named by a reference-library script's one argument, or None (usage printed)."""
    import json
    import sys

    if len(argv) != 2:
        print(usage, file=sys.stderr)
        return None
    with open(argv[1]) as handle:
        return json.load(handle)


def force_single_thread():
    """Set the thread variables to 1 (call before importing numpy)."""
    for key, value in SINGLE_THREAD_ENV.items():
        os.environ[key] = value


#: after one warm-up call, calls are repeated up to ``repeats`` times, but stop
#: once this many seconds have been spent on timed calls (long operations) ...
TIME_BUDGET_S = 20.0
#: ... and fast operations are repeated (up to MAX_CALLS) until this many seconds
MIN_TIME_S = 1.0
MAX_CALLS = 100


def best_of(fn, repeats=7, warmup=1, budget_s=TIME_BUDGET_S, min_time_s=MIN_TIME_S, slow_s=None):
    """Time ``fn()``: ``warmup`` untimed calls, then timed calls; report the best.

    At least ``repeats`` timed calls, more (up to ``MAX_CALLS``) while less than
    ``min_time_s`` has been spent, and fewer once ``budget_s`` has been spent.
    With ``slow_s``, a first warm-up call longer than ``slow_s`` seconds is the
    only call, reported as timed (``warmup`` 0): a call that long gains nothing
    measurable from a warm-up once the process's imports are warm, and a second
    one would double the run. Returns a dict with the best (minimum) and median
    wall times in seconds, the number of timed calls, and the last call's result
    under ``"result"``.
    """
    result = None
    for index in range(warmup):
        t0 = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t0
        if index == 0 and slow_s is not None and elapsed > slow_s:
            return {"best_s": elapsed, "median_s": elapsed, "n_timed": 1, "warmup": 0, "result": result}
    times = []
    spent = 0.0
    while True:
        t0 = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        spent += elapsed
        if spent >= budget_s or len(times) >= MAX_CALLS:
            break
        if len(times) >= repeats and spent >= min_time_s:
            break
    times.sort()
    return {
        "best_s": times[0],
        "median_s": times[len(times) // 2],
        "n_timed": len(times),
        "warmup": warmup,
        "result": result,
    }


def gaussian_centroid(image, x0, y0, fwhm):
    """Centroid ``(x, y)`` of a point source by a least-squares circular 2D Gaussian fit.

    The fit uses the pixels within ``fwhm`` of ``(x0, y0)`` (rounded) and no
    background term: it is meant for companion-only images (injected minus
    original), which have no background.
    """
    import numpy as np
    from scipy.optimize import least_squares

    half = int(np.ceil(fwhm))
    ix, iy = int(round(x0)), int(round(y0))
    ys, xs = np.mgrid[iy - half:iy + half + 1, ix - half:ix + half + 1]
    stamp = image[iy - half:iy + half + 1, ix - half:ix + half + 1].astype(float)
    sigma0 = fwhm / 2.3548

    def residual(p):
        amp, xc, yc, sig = p
        return (amp * np.exp(-((xs - xc) ** 2 + (ys - yc) ** 2) / (2 * sig**2)) - stamp).ravel()

    start = [float(stamp.max()), float(ix), float(iy), sigma0]
    fit = least_squares(residual, start, method="lm")
    return float(fit.x[1]), float(fit.x[2])


def aperture_flux(image, x, y, fwhm):
    """Flux in a circular aperture of diameter ``fwhm`` (exact pixel overlap)."""
    from photutils.aperture import CircularAperture

    aperture = CircularAperture([(x, y)], r=fwhm / 2.0)
    flux, _ = aperture.do_photometry(image, method="exact")
    return float(flux[0])


def companion_accuracy(final, truth, fwhm):
    """Accuracy of injected companions in a derotated, collapsed companion-only image.

    Parameters
    ----------
    final : 2D array
        Mean over frames of the derotated (injected - original) cube.
    truth : list of dict
        One dict per companion with ``x``, ``y`` (px) and ``flux``.
    fwhm : float

    Returns
    -------
    dict with per-companion lists (``centroid_error_px``, ``flux_error_pct``,
    measured ``x``, ``y``, ``flux``) and their maxima of absolute values.
    """
    import numpy as np

    rows = []
    for comp in truth:
        xm, ym = gaussian_centroid(final, comp["x"], comp["y"], fwhm)
        flux = aperture_flux(final, comp["x"], comp["y"], fwhm)
        rows.append(
            {
                "x": xm,
                "y": ym,
                "flux": flux,
                "centroid_error_px": float(np.hypot(xm - comp["x"], ym - comp["y"])),
                "flux_error_pct": float(100.0 * (flux - comp["flux"]) / comp["flux"]),
            }
        )
    return {
        "companions": rows,
        "max_centroid_error_px": max(r["centroid_error_px"] for r in rows),
        "max_abs_flux_error_pct": max(abs(r["flux_error_pct"]) for r in rows),
    }


def companion_truth(separations, thetas, fluxes, shape):
    """Truth ``x``, ``y`` of companions in the final frame (centre pixel ``n // 2``)."""
    import numpy as np

    ny, nx = shape[-2:]
    xc, yc = nx // 2, ny // 2
    out = []
    for sep, theta, flux in zip(separations, thetas, fluxes):
        out.append(
            {
                "x": xc + sep * np.cos(np.radians(theta)),
                "y": yc + sep * np.sin(np.radians(theta)),
                "separation": float(sep),
                "theta": float(theta),
                "flux": float(flux),
            }
        )
    return out


def replace_doc_section(path, section, start, end):
    """Put ``section`` between a benchmark's ``start``/``end`` markers of a markdown file.

    The section replaces the text between the markers, or is appended (with a
    ``# Benchmarks`` title for a new file); the other benchmarks' sections are
    untouched, and the file is replaced atomically (temporary file, then rename).
    """
    text = ""
    if os.path.exists(path):
        with open(path) as handle:
            text = handle.read()
    if start in text and end in text and text.index(start) < text.index(end):
        after = text[text.index(end) + len(end):]
        new = text[: text.index(start)] + section + (after[1:] if after.startswith("\n") else after)
    else:
        header = "" if text else "# Benchmarks\n\n"
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        new = text + sep + header + section
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(new)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, report):
    """Write a benchmark's raw results as JSON, atomically (NumPy numbers as floats)."""
    import json

    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps(report, indent=1, default=float) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def publish(text, report, *, doc, start, end, name, no_docs=False, log=print):
    """Print a benchmark's section (``no_docs``), or write it into ``doc`` and ``report`` as ``bench/results/NAME``."""
    if no_docs:
        print(text)
        return
    replace_doc_section(str(doc), text, start, end)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, name), report)
    log(f"wrote {doc}")
