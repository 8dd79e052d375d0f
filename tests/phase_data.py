"""A small reference phase and submissions to score against it, shared by the scoring, submission,
platform and command-line tests."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from astropy.io import fits

#: (x, y) injections of the small test phase, per dataset id; dataset 3 has none.
POSITIONS = {"1": [(20.0, 40.0), (45.0, 22.0)], "2": [(30.0, 12.0)], "3": []}
SHAPE = (64, 64)
FWHM = 4.0


def write_fits(path, data, header=None):
    fits.PrimaryHDU(np.asarray(data), header=header).writeto(path, overwrite=True)
    return path


def make_reference(folder, *, positions=POSITIONS, fwhm=FWHM, instrument="inst", phase=None):
    """A reference phase folder: positions (x, y) and FWHM per dataset, optional phase.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, pos in positions.items():
        write_fits(folder / f"{instrument}_positions_{k}.fits", np.array(pos, dtype=float).reshape(-1, 2))
        write_fits(folder / f"{instrument}_fwhm_{k}.fits", np.array([fwhm]))
    if phase is not None:
        (folder / "phase.json").write_text(json.dumps(phase))
    return folder


def blob_map(positions, shape=SHAPE, value=10.0, noise=0.0, seed=0):
    """A map with a 3x3 blob of ``value`` on each (x, y)."""
    rng = np.random.default_rng(seed)
    detmap = rng.normal(0, noise, shape) if noise else np.zeros(shape)
    for x, y in positions:
        xi, yi = int(round(x)), int(round(y))
        detmap[yi - 1:yi + 2, xi - 1:xi + 2] = value
    return detmap


def make_submission(folder, *, maps=None, threshold=5.0, instrument="inst", extra=None):
    """A submission folder: one map per dataset (blobs on every injection by default) and the threshold."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    maps = {k: blob_map(pos) for k, pos in POSITIONS.items()} if maps is None else maps
    for k, detmap in maps.items():
        write_fits(folder / f"{instrument}_detmap_{k}.fits", detmap)
    if threshold is not None:
        write_fits(folder / "detection_threshold.fits", np.array([threshold]))
    for name, data in (extra or {}).items():
        write_fits(folder / name, data)
    return folder


def zip_folder(folder, archive, *, prefix=""):
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(Path(folder).iterdir()):
            zf.write(path, prefix + path.name)
    return archive


def fits_bytes(data):
    buffer = io.BytesIO()
    fits.PrimaryHDU(np.asarray(data)).writeto(buffer)
    return buffer.getvalue()
