"""The compiled kernels give the same bytes freshly compiled and loaded from numba's disk cache.

A Dask run compares the bytes of a process that compiled the kernels (the client's
in-process run) with those of workers that loaded them from the cache it wrote. With
fast-math flags on the eigen kernels, LLVM optimised a freshly compiled chain of calls
(inlined into one another) differently from the cached one, and the residuals of annular
PCA differed by 1e-13 on AVX-512 targets (2026-11-27). Fast-math is allowed only where the
results do not depend on such context; this test holds that on the kernels the pipeline
runs.
"""

import json
import os
import subprocess
import sys

import pytest

numba = pytest.importorskip("numba")

# what a child process computes with every compiled kernel of the pipeline: derotation
# (bilinear, bicubic), full-frame and annular PCA (per-frame libraries: the eigen kernels)
_SCRIPT = """
import hashlib, json
import numpy as np
from threadpoolctl import threadpool_limits
from exobench.algorithms import get_algorithm
from exobench.examples import example_dataset
from exobench.geometry.rotate import derotate_cube

dataset = example_dataset(n_frames=30, size=45, seed=3)
digests = {}
with threadpool_limits(1, user_api="blas"):
    for method in ("bilinear", "bicubic"):
        digests[method] = derotate_cube(dataset.cube, dataset.angles, method=method)
    for ncomp in (1, 3):
        digests[f"pca-annular {ncomp}"] = get_algorithm("pca-annular")(ncomp=ncomp).process(dataset).residuals
        digests[f"pca {ncomp}"] = get_algorithm("pca")(ncomp=ncomp).process(dataset).residuals
print(json.dumps({name: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() for name, a in digests.items()}))
"""


def _avx512_target():
    """``skylake-avx512`` (where the difference was seen) when this processor runs its code, else None."""
    from llvmlite import binding

    features = binding.get_host_cpu_features()
    needed = ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd")
    return "skylake-avx512" if all(features.get(name, False) for name in needed) else None


def _digests(cache_dir, cpu_name):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env.pop("NUMBA_DISABLE_JIT", None)
    if cpu_name:
        env["NUMBA_CPU_NAME"] = cpu_name
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_fresh_and_cached_kernels_give_the_same_bytes(tmp_path):
    # on an AVX-512 processor, compiled for the target where the difference was seen; else for this one
    cpu_name = _avx512_target()
    cache = tmp_path / "numba-cache"
    fresh = _digests(cache, cpu_name)
    cached_files = list(cache.rglob("*.nbc"))
    assert cached_files, "the first run wrote no numba cache: the second would not load from it"
    stamps = {path: path.stat().st_mtime_ns for path in cached_files}
    loaded = _digests(cache, cpu_name)
    assert {path: path.stat().st_mtime_ns for path in cached_files} == stamps, "the second run recompiled"
    assert len(fresh) == 6
    assert loaded == fresh
