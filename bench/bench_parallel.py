"""Benchmark of the execution layer: 2 local Dask workers against the in-process loop.

    python bench/bench_parallel.py [--quick] [--no-docs]

Measures, on seeded synthetic datasets written to a temporary folder:

1. a 9-dataset annular-PCA baseline run (``exobench baseline pca-annular``,
   datasets of 100 x 101 x 101, about 1 s each), in-process against a
   2-worker local cluster (warm: workers already started and used once; cold:
   cluster start, first imports and close included);
2. a parameter sweep (``exobench sweep``: 4 parameter sets x 3 datasets, and
   the scoring of the 4 submissions), the same way;
3. the scheduling overhead per task: ``map`` of a trivial function over 200
   items, in-process and on the cluster;
4. the peak memory (RSS) of each worker after the runs (``ru_maxrss``, via
   ``client.run``) and its idle memory after start-up.

Writes the "Scale-out" section of docs/benchmarks.md and
bench/results/parallel.json. Run it alone on the machine (the load average
before and after is recorded).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import replace_doc_section, write_json  # noqa: E402
from bench_core import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- parallel-benchmark:start -->", "<!-- parallel-benchmark:end -->"
GRID = {"algorithm.ncomp": [2, 3, 4, 5]}


def make_phase(folder, n_datasets, *, frames, size):
    """``n_datasets`` seeded datasets (2 companions each) in ``folder/public``, their truth in ``folder/reference``."""
    import numpy as np
    from astropy.io import fits

    from exobench.data.fits_io import write_dataset
    from exobench.examples import example_dataset
    from exobench.inject import inject_companions

    public, reference = Path(folder) / "public", Path(folder) / "reference"
    public.mkdir(parents=True)
    reference.mkdir()
    for k in range(1, n_datasets + 1):
        dataset = example_dataset(n_frames=frames, size=size, seed=k).replace(dataset_id=str(k))
        injection = inject_companions(dataset, separations=[12.0, 25.0], thetas=[40.0 * k, 40.0 * k + 150.0],
                                      contrasts=[2e-3, 1e-3])
        write_dataset(injection.dataset, public)
        positions = injection.truth[["x", "y"]].to_numpy()
        fits.PrimaryHDU(positions).writeto(reference / f"example_positions_{k}.fits")
        fits.PrimaryHDU(np.array([float(dataset.fwhm)])).writeto(reference / f"example_fwhm_{k}.fits")
    return public, reference


def timed(fn, repeats):
    """Best and all wall times of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def baseline_run(public, executor):
    from exobench.baselines import run_baseline

    return run_baseline("pca-annular", public, executor=executor)


def sweep_run(public, reference, executor):
    from exobench.workflows.sweep import run_sweep

    return run_sweep("pca-annular", public, GRID, reference, executor=executor)


def noop(item):
    """A trivial task."""
    return item


def numba_threads():
    import numba

    return numba.get_num_threads()


class one_numba_thread:
    """Within the block, numba's parallel kernels use one thread (as on Dask workers)."""

    def __enter__(self):
        import numba

        self.before = numba.get_num_threads()
        numba.set_num_threads(1)

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self.before)


_SOLO = """
import sys, time
import numba
from exobench.baselines import run_baseline
numba.set_num_threads(1)
run_baseline("pca-annular", sys.argv[1])  # warm-up
start = time.perf_counter()
run_baseline("pca-annular", sys.argv[1])
print(time.perf_counter() - start)
"""


def hardware_scaling(public):
    """Wall time of the in-process run (one numba thread) in one process alone, and in each of two at once.

    No Dask: how far two processes on this machine's cores slow each other down
    (shared caches, memory bandwidth, or cores that are hyper-threads).
    """
    import subprocess

    def launch():
        return subprocess.Popen([sys.executable, "-c", _SOLO, str(public)], stdout=subprocess.PIPE, text=True)

    alone = float(launch().communicate()[0])
    pair = [launch(), launch()]
    together = [float(proc.communicate()[0]) for proc in pair]
    return alone, max(together)


def worker_memory(client):
    """``{worker: (current RSS MiB, peak RSS MiB)}`` of each worker process."""
    return client.run(_rss_mib)


def _rss_mib():
    import resource

    import psutil

    return psutil.Process().memory_info().rss / 2**20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(public, sweep_public, reference, repeats):
    from exobench.parallel import Executor

    out = {}
    with Executor() as ex:
        print("in-process baseline run ...", flush=True)
        baseline_run(public, ex)  # warm-up: imports, compiled kernels
        out["baseline_in_process_s"], out["baseline_in_process_all_s"], local_result = timed(
            lambda: baseline_run(public, ex), repeats)
        print("in-process sweep ...", flush=True)
        out["sweep_in_process_s"], _, local_sweep = timed(lambda: sweep_run(sweep_public, reference, ex), 1)
        out["numba_threads"] = numba_threads()
        with one_numba_thread():
            print("in-process baseline run, one numba thread ...", flush=True)
            out["baseline_in_process_1t_s"] = timed(lambda: baseline_run(public, ex), repeats)[0]
            out["sweep_in_process_1t_s"] = timed(lambda: sweep_run(sweep_public, reference, ex), 1)[0]
        out["overhead_in_process_ms"] = min(timed(lambda: ex.map(noop, range(200)), 3)[1]) / 200 * 1e3
    with Executor(blas_threads=None) as ex:
        out["overhead_in_process_no_blas_limit_ms"] = min(timed(lambda: ex.map(noop, range(200)), 3)[1]) / 200 * 1e3
    print("2-worker cluster: cold baseline run ...", flush=True)
    start = time.perf_counter()
    with Executor(workers=2) as ex:
        out["cluster_start_s"] = time.perf_counter() - start
        out["idle_worker_mib"] = {k: v[0] for k, v in worker_memory(ex.client).items()}
        first = time.perf_counter()
        baseline_run(public, ex)
        out["baseline_cluster_first_run_s"] = time.perf_counter() - first
    out["baseline_cluster_cold_s"] = time.perf_counter() - start
    with Executor(workers=2) as ex:
        baseline_run(public, ex)  # warm the workers
        print("2-worker cluster: warm baseline runs ...", flush=True)
        out["baseline_cluster_s"], out["baseline_cluster_all_s"], remote_result = timed(
            lambda: baseline_run(public, ex), repeats)
        print("2-worker cluster: sweep ...", flush=True)
        out["sweep_cluster_s"], _, remote_sweep = timed(lambda: sweep_run(sweep_public, reference, ex), 1)
        out["overhead_cluster_ms"] = min(timed(lambda: ex.map(noop, range(200)), 3)[1]) / 200 * 1e3
        memory = worker_memory(ex.client)
        out["worker_rss_mib"] = {k: v[0] for k, v in memory.items()}
        out["worker_peak_rss_mib"] = {k: v[1] for k, v in memory.items()}
    print("two independent processes at once ...", flush=True)
    out["solo_process_s"], out["pair_of_processes_s"] = hardware_scaling(public)
    out["identical_maps"] = all(local_result.maps[k].tobytes() == remote_result.maps[k].tobytes()
                                for k in local_result.maps)
    out["identical_sweep_table"] = local_sweep.csv_text() == remote_sweep.csv_text()
    out["sweep_table"] = local_sweep.csv_text()
    out["baseline_speedup"] = out["baseline_in_process_s"] / out["baseline_cluster_s"]
    out["baseline_speedup_cold"] = out["baseline_in_process_s"] / out["baseline_cluster_cold_s"]
    out["sweep_speedup"] = out["sweep_in_process_s"] / out["sweep_cluster_s"]
    out["baseline_speedup_1t"] = out["baseline_in_process_1t_s"] / out["baseline_cluster_s"]
    out["sweep_speedup_1t"] = out["sweep_in_process_1t_s"] / out["sweep_cluster_s"]
    return out


def interleaved(phases, repeats):
    """Best wall times of the baseline on each phase, the runs of the three kinds interleaved.

    Kinds: in-process (default numba threads), 2 workers, and 2 workers with
    the last round's tasks left whole (``exobench.baselines.run._piece_counts``
    forced to 1: what the cut saves). Each repetition runs in-process with no
    cluster alive (idle Dask processes still take some CPU), then starts a
    2-worker cluster, warms it with one untimed run, times the two cluster
    kinds and closes it. Interleaving spreads any slow spell of the machine
    over the three kinds alike.
    """
    import exobench.baselines.run as bl
    from exobench.parallel import Executor

    cut = bl._piece_counts
    uncut = lambda tasks, slots: [1] * len(tasks)  # noqa: E731
    rows = []
    for label, public in phases:
        print(f"interleaved runs: {label} ...", flush=True)
        times = {"in_process": [], "cluster": [], "cluster_uncut": []}
        with Executor() as local:
            baseline_run(public, local)
        for _ in range(repeats):
            with Executor() as local:
                times["in_process"].append(timed(lambda: baseline_run(public, local), 1)[0])
            with Executor(workers=2) as cluster:
                baseline_run(public, cluster)
                for kind, counts in (("cluster", cut), ("cluster_uncut", uncut)):
                    bl._piece_counts = counts
                    try:
                        times[kind].append(timed(lambda: baseline_run(public, cluster), 1)[0])
                    finally:
                        bl._piece_counts = cut
        best = {kind: min(values) for kind, values in times.items()}
        rows.append({"label": label, **{f"{k}_s": v for k, v in best.items()},
                     "speedup": best["in_process"] / best["cluster"],
                     "speedup_uncut": best["in_process"] / best["cluster_uncut"]})
    return rows


def interleaved_lines(rows, repeats):
    lines = ["", f"Interleaved runs (best of {repeats} of each kind, taken in turn: in-process with no cluster alive, "
             "then a fresh warmed 2-worker cluster with the last round's datasets cut into pieces, as `run_baseline` "
             "does, and without):", "",
             "| baseline `pca-annular` on | in-process | 2 workers | speed-up | 2 workers, uncut | speed-up |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['in_process_s']:.2f} s | {r['cluster_s']:.2f} s | **{r['speedup']:.2f}x** | "
                     f"{r['cluster_uncut_s']:.2f} s | {r['speedup_uncut']:.2f}x |")
    return lines


def section(r, command, load_before, load_after, shape, sweep_shape):
    import exobench

    m = machine_info()
    peak = max(r["worker_peak_rss_mib"].values())
    idle = max(r["idle_worker_mib"].values())
    cube_mib = shape[0] * shape[1] * shape[2] * 8 / 2**20
    lines = [
        START, "## Scale-out", "",
        "Generated by `bench/bench_parallel.py`; do not edit this section by hand.", "",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, command `{command}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['affinity']} usable), {m['memory_gb']:.0f} GB, {m['os']}. "
        f"Load average before / after: {load_before} / {load_after}.",
        f"- exobench {exobench.__version__}. Datasets: seeded `exobench.examples.example_dataset` cubes of "
        f"{shape[0]} x {shape[1]} x {shape[2]} with 2 injected companions each. Every backend runs tasks with one "
        "BLAS thread (`Executor(blas_threads=1)`, the default); the local cluster has 2 worker processes of one "
        "thread each. Warm: the cluster is started and has run the baseline once (imports, compiled kernels "
        "loaded); cold: cluster start, first run and close included. Outputs identical to the in-process run: "
        f"maps {'yes' if r['identical_maps'] else 'NO'}, sweep table {'yes' if r['identical_sweep_table'] else 'NO'}.",
        "",
        f"In-process runs use numba's default threads ({r['numba_threads']}: the compiled kernels of annular "
        "PCA and the derotation are parallel loops) or one numba thread (the single-core reference, and what "
        "each worker runs with).", "",
        "| run | tasks | in-process (numba threads: default / 1) | 2 workers | speed-up (vs default / vs 1 thread) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| baseline `pca-annular`, 9 datasets (warm) | 9 | {r['baseline_in_process_s']:.2f} s / "
        f"{r['baseline_in_process_1t_s']:.2f} s | {r['baseline_cluster_s']:.2f} s | "
        f"**{r['baseline_speedup']:.2f}x** / {r['baseline_speedup_1t']:.2f}x |",
        f"| the same, cold (start {r['cluster_start_s']:.1f} s, first run {r['baseline_cluster_first_run_s']:.1f} s, "
        f"close) | 9 | {r['baseline_in_process_s']:.2f} s | {r['baseline_cluster_cold_s']:.2f} s | "
        f"{r['baseline_speedup_cold']:.2f}x |",
        f"| sweep `pca-annular`, ncomp 2-5 x {sweep_shape[0]} datasets, scored (warm) | 12 + 4 | "
        f"{r['sweep_in_process_s']:.2f} s / {r['sweep_in_process_1t_s']:.2f} s | {r['sweep_cluster_s']:.2f} s | "
        f"**{r['sweep_speedup']:.2f}x** / {r['sweep_speedup_1t']:.2f}x |",
        "",
        f"Without Dask, the same in-process run (one numba thread) takes {r['solo_process_s']:.2f} s in one "
        f"process alone and {r['pair_of_processes_s']:.2f} s in each of two processes started together: the "
        f"machine itself runs two such processes at once {2 * r['solo_process_s'] / r['pair_of_processes_s']:.2f}x "
        "as fast as one, the ceiling of any 2-process speed-up here.", "",
        "| scheduling overhead, `map` of a trivial function over 200 items | per task |",
        "| --- | ---: |",
        f"| in-process (`blas_threads=1`: a threadpoolctl context per task) | {r['overhead_in_process_ms']:.3f} ms |",
        f"| in-process (`blas_threads=None`) | {r['overhead_in_process_no_blas_limit_ms']:.4f} ms |",
        f"| local cluster, 2 workers | {r['overhead_cluster_ms']:.2f} ms |",
        "",
        f"Memory per worker (RSS): {idle:.0f} MiB idle after start-up; peak {peak:.0f} MiB after the runs "
        f"(the larger of the 2 workers' `ru_maxrss`, read with `client.run`), with cubes of {cube_mib:.1f} MiB in "
        "float64 and one task at a time per worker. The peak holds exobench, numpy, scipy, astropy and numba "
        "with their compiled kernels (about 230 MiB, see docs/scaling.md) plus one task's dataset and working "
        "memory (annular PCA: about 3 x the cube).",
        *interleaved_lines(r["interleaved"], r["interleaved_repeats"]),
        END,
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cubes (40 x 65 x 65), one timed run")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write the docs")
    args = parser.parse_args(argv)
    shape = (40, 65, 65) if args.quick else (100, 101, 101)
    repeats = 1 if args.quick else 3
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        print("writing the datasets ...", flush=True)
        public, _ = make_phase(Path(tmp) / "nine", 9, frames=shape[0], size=shape[1])
        sweep_public, reference = make_phase(Path(tmp) / "three", 3, frames=shape[0], size=shape[1])
        result = measure(public, sweep_public, reference, repeats)
        big = (shape[0], 161, 161) if not args.quick else shape
        label = f"{{n}} datasets of {big[0]} x {big[1]} x {big[2]}"
        nine_big, _ = make_phase(Path(tmp) / "nine_big", 9, frames=big[0], size=big[1])
        three_big, _ = make_phase(Path(tmp) / "three_big", 3, frames=big[0], size=big[1])
        phases = [(label.format(n=9) + " (EIDC-sized)", nine_big), (label.format(n=3) + " (the default challenge's count)",
                  three_big), (f"9 datasets of {shape[0]} x {shape[1]} x {shape[2]}", public)]
        result["interleaved_repeats"] = 2 if args.quick else 5
        result["interleaved"] = interleaved(phases, result["interleaved_repeats"])
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
    command = "python bench/bench_parallel.py" + (" --quick" if args.quick else "")
    text = section(result, command, load_before, load_after, shape, (3,))
    print(text)
    if not args.no_docs:
        replace_doc_section(str(DOC), text, START, END)
        write_json(str(ROOT / "bench" / "results" / "parallel.json"), {"shape": shape, **result})
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
