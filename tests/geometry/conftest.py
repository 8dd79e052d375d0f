"""Small helpers shared by the geometry tests (analytic sources, centroids, reference libraries)."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def gaussian(shape, x0, y0, *, sigma=2.0, amplitude=1.0):
    """A circular Gaussian centred on ``(x0, y0)`` (pixel-centre coordinates), ``image[y, x]``."""
    y, x = np.mgrid[: shape[0], : shape[1]].astype(float)
    return amplitude * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2.0 * sigma**2))


def centroid(image, *, around=None, radius=None):
    """Light centroid ``(x, y)``, optionally within ``radius`` of ``around = (x, y)``."""
    y, x = np.mgrid[: image.shape[0], : image.shape[1]].astype(float)
    weights = np.nan_to_num(image)
    if around is not None:
        weights = np.where(np.hypot(x - around[0], y - around[1]) <= radius, weights, 0.0)
    total = weights.sum()
    return float((weights * x).sum() / total), float((weights * y).sum() / total)


def quarter_turn(frame, k, center):
    """Reference rotation by ``k`` quarter turns counter-clockwise (origin lower left) about the
    pixel ``center = (xc, yc)``, by pure index bookkeeping; pixels from outside the frame are 0."""
    ny, nx = frame.shape
    xc, yc = center
    out = np.zeros_like(frame)
    for y in range(ny):
        for x in range(nx):
            dx, dy = x - xc, y - yc
            for _ in range(k % 4):
                dx, dy = -dy, dx  # +90 degrees: (1, 0) -> (0, 1)
            tx, ty = int(xc + dx), int(yc + dy)
            if 0 <= tx < nx and 0 <= ty < ny:
                out[ty, tx] = frame[y, x]
    return out


def run_reference(python_env, default, script, *, what):
    """Run ``script`` under a reference library's interpreter and return its JSON output.

    The interpreter comes from ``$python_env`` or else ``default``; the test is skipped,
    saying why, when neither exists (the reference libraries are not test dependencies).
    """
    python = os.environ.get(python_env) or str(default)
    if not Path(python).is_file():
        pytest.skip(f"{what} not available: no interpreter at {python} (set ${python_env} to one that has it)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    if done.returncode != 0 and "ModuleNotFoundError" in done.stderr:
        pytest.skip(f"{what} not importable with {python}: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
