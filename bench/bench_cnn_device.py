"""CNN speed on the CPU and on a GPU: training time and patches per second.

    python bench/bench_cnn_device.py run --out bench/results/cnn_device_cpu.json [--save-reference DIR]
    python bench/bench_cnn_device.py run --out GPU.json --check-reference DIR      (on the GPU machine)
    python bench/bench_cnn_device.py report CPU.json GPU.json [--host-cpu HOST.json]  (docs/benchmarks.md)

``run`` measures, on the machine it runs on and with the device keras' torch
backend picks (a CUDA GPU when torch sees one, else the CPU; the same code),
for each architecture and size of :mod:`exobench.cnn.models` (and the noise-aware
model with matched-filter planes, ``na-conv3d+mf``, the baseline's default), on the real NACO
cube (61 x 99 x 99) with one injected companion:

- labelled samples (``generate_samples``, 2000 by default; CPU work, PCA);
- training: a fixed number of epochs (no early stopping), after one untimed
  warm-up epoch of the same model (kernel selection, first allocations), in
  seconds per epoch;
- the network alone: patches per second at batches of 4096 (inputs prepared);
- the detection map of the dataset (`exobench.cnn.pipeline.detection_map` with
  the trained model: the probability map and the flipped-angle null, MLAR
  residuals on the CPU, then the network, then the calibration), and whether
  the probability map peaks at the injected companion.

``--save-reference DIR`` stores the first model trained and its predictions on
the first 1024 samples; ``--check-reference DIR`` loads that model file where
the benchmark runs and compares its predictions (the same saved model on
another device). ``report`` writes the "CNN on CPU and GPU" section of
docs/benchmarks.md from one CPU run and one GPU run, with the speed-ups.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import force_single_thread, replace_doc_section, write_json  # noqa: E402
from bench_cnn import PATCH_BATCH, patch_rate  # noqa: E402

force_single_thread()

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- cnn-device-benchmark:start -->", "<!-- cnn-device-benchmark:end -->"
#: The injected companion: separation (pixels), angle (degrees), flux (x the median positive flux).
COMPANION = (14.0, 120.0, 5.0)


def real_data(folder=None):
    folder = Path(folder or os.environ.get("EXOBENCH_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
    if not (folder / "naco_betapic_empty_cube.fits").is_file():
        raise SystemExit(f"real NACO data not found in {folder}: give --real DIR or set EXOBENCH_REAL_DATA")
    return folder


def naco_dataset(folder):
    from astropy.io import fits

    from exobench.data import Dataset

    cube = fits.getdata(folder / "naco_betapic_empty_cube.fits").astype("float32")
    angles = fits.getdata(folder / "naco_betapic_empty_pa.fits")
    psf = fits.getdata(folder / "naco_betapic_psf.fits")
    return Dataset(cube, angles, psf=psf, pxscale=0.02719, instrument="naco", dataset_id="1")


def device_info():
    from exobench.cnn._backend import backend_name, device_name

    info = {"backend": backend_name(), "device": device_name()}
    import torch

    info["torch"] = torch.__version__
    info["cuda"] = torch.version.cuda if torch.cuda.is_available() else None
    return info


# -- measurements -------------------------------------------------------------------------------


def time_training(samples, model, size, epochs, threads):
    """Seconds per epoch of ``epochs`` epochs, after a 1-epoch warm-up of the same model."""
    from exobench.cnn.training import train_model

    common = {"model": model, "size": size, "batch_size": 128, "random_state": 0, "threads": threads}
    train_model(samples, epochs=1, **common)
    trained = train_model(samples, epochs=epochs, patience=epochs, **common)
    durations = trained.metadata["durations"]
    return trained, {"fit_s": durations["fit_s"], "epochs": trained.metadata["epochs_run"],
                     "s_per_epoch": durations["fit_s"] / trained.metadata["epochs_run"],
                     "val_auc": trained.metadata["metrics"]["auc"]}


def time_patches(trained, samples, threads):
    """Patches per second of the network alone (best of 3, batches of PATCH_BATCH)."""
    return patch_rate(trained, samples, count=16384, repeats=3, threads=threads)


def time_maps(trained, injected, threads):
    """Seconds for the detection map (the probability map and the flipped-angle null, calibrated, by
    `exobench.cnn.pipeline.detection_map` with this model); does the map peak at the companion?"""
    import numpy as np

    from exobench.cnn.options import CNNOptions
    from exobench.cnn.pipeline import detection_map

    result = detection_map(injected.dataset, CNNOptions(null_permutations=0, threads=threads), models=[trained])
    probability = result.probability.probability
    y, x = np.unravel_index(np.argmax(probability), probability.shape)
    miss = float(np.hypot(x - injected.truth.x[0], y - injected.truth.y[0]))
    return {"maps_s": result.maps_s, "pixels": int(result.probability.n_patches), "peak_offset_px": miss,
            "peak_probability": float(probability.max())}


def reference_check(folder, samples, threads, save):
    """Save (CPU) or compare (elsewhere) one model's predictions on the first 1024 samples."""
    import numpy as np

    from exobench.cnn.training import load_model, save_model

    folder = Path(folder)
    path = folder / "reference.keras"
    n = min(1024, len(samples))
    if save is not None:
        folder.mkdir(parents=True, exist_ok=True)
        save_model(save, path)
        np.savez(folder / "reference.npz", x=samples.x[:n], separations=samples.separations[:n],
                 fwhm=samples.fwhm, p=save.predict(samples.x[:n], samples.separations[:n], samples.fwhm))
        return None
    stored = np.load(folder / "reference.npz")
    loaded = load_model(path)
    p = loaded.predict(stored["x"], stored["separations"], float(stored["fwhm"]), threads=threads)
    diff = np.abs(p - stored["p"])
    return {"n": int(diff.size), "max_abs_diff": float(diff.max()), "same_label_share":
            float(np.mean((p > 0.5) == (stored["p"] > 0.5))), "trained_on": loaded.metadata["device"]}


#: A model spec ending in this suffix trains on samples with matched-filter planes (the baseline's default).
MATCHED_SUFFIX = "+mf"


def parse_spec(spec):
    """``"na-conv3d+mf"`` -> ``("na-conv3d", True)``; ``"conv3d"`` -> ``("conv3d", False)``."""
    if spec.endswith(MATCHED_SUFFIX):
        return spec[: -len(MATCHED_SUFFIX)], True
    return spec, False


def run(args):
    import numpy as np

    from exobench.cnn.labels import generate_samples
    from exobench.cnn.samples import LabelSettings
    from exobench.inject import inject_companions

    started = time.perf_counter()
    dataset = naco_dataset(real_data(args.real))
    info = device_info()
    print(f"device: {info['device']} ({info['backend']}, torch {info['torch']})", flush=True)
    sample_sets, samples_s = {}, {}
    for matched in sorted({parse_spec(spec)[1] for spec in args.models}):
        t0 = time.perf_counter()
        settings = LabelSettings(n_samples=args.n_samples, matched_filter=matched)
        sample_sets[matched] = generate_samples(dataset, settings, random_state=0)
        samples_s[matched] = time.perf_counter() - t0
        print(f"samples (matched filter {matched}): {len(sample_sets[matched])} in {samples_s[matched]:.1f} s",
              flush=True)
    first_set = next(iter(sample_sets.values()))
    sep, theta, scale = COMPANION
    flux = scale * float(np.median(first_set.fluxes[first_set.y == 1]))
    injected = inject_companions(dataset, separations=[sep], thetas=[theta], fluxes=[flux])
    rows, first = [], None
    for spec in args.models:
        model, matched = parse_spec(spec)
        samples = sample_sets[matched]
        for size in args.sizes:
            trained, row = time_training(samples, model, size, args.epochs, args.threads)
            row.update(model=spec, size=size, patches_per_s=time_patches(trained, samples, args.threads))
            row.update(time_maps(trained, injected, args.threads))
            rows.append(row)
            if first is None and not matched:
                first = (trained, samples)
            print(f"{spec} {size}: {row['s_per_epoch']:.2f} s/epoch, {row['patches_per_s']:.0f} patches/s, "
                  f"maps {row['maps_s']:.1f} s, peak offset {row['peak_offset_px']:.1f} px", flush=True)
    report = {"info": info, "cpu": _machine(), "n_samples": len(first_set),
              "samples_s": samples_s.get(False, samples_s.get(True)), "samples_s_by_matched": {
                  str(k): v for k, v in samples_s.items()},
              "epochs": args.epochs, "threads": args.threads, "rows": rows,
              "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    if args.save_reference and first is not None:
        reference_check(args.save_reference, first[1], args.threads, save=first[0])
    if args.check_reference:
        report["reference"] = reference_check(args.check_reference, first_set, args.threads, save=None)
        print(f"saved model from {report['reference']['trained_on']}: max |p - p_ref| "
              f"{report['reference']['max_abs_diff']:.2e}", flush=True)
    report["seconds"] = time.perf_counter() - started
    write_json(args.out, report)
    print(f"wrote {args.out} ({report['seconds']:.0f} s)")


def _machine():
    from bench_core import machine_info

    return machine_info()


# -- report -------------------------------------------------------------------------------------


def section(cpu, gpu, host=None, note=None):
    c, g = cpu["cpu"], gpu["cpu"]
    lines = [START, "## CNN on CPU and GPU", "",
             "Generated by `bench/bench_cnn_device.py report`; do not edit this section by hand.", "",
             f"- CPU here: {cpu['created']}, `python bench/bench_cnn_device.py run` on {c['cpu']}, "
             f"{c['affinity']} cores usable, torch {cpu['info']['torch']}, {cpu['threads']} thread (the "
             "baseline's default).",
             f"- GPU: {gpu['created']}, the same command on {gpu['info']['device']}, torch "
             f"{gpu['info']['torch']} (CUDA {gpu['info']['cuda']}); host {g['cpu']}, {g['affinity']} cores."]
    if host is not None:
        lines.append(f"- GPU machine's CPU: the same command with `KERAS_TORCH_DEVICE=cpu --threads "
                     f"{host['threads']}` (torch on all {host['cpu']['affinity']} cores of the GPU's host), "
                     "the fairest CPU against that GPU.")
    if note:
        lines.append(f"- Note: {note}")
    lines += ["- Data: the real NACO cube (61 x 99 x 99) with one injected companion (five times the median flux "
              "of the positive samples, whose S/N band is 1-4); "
              f"{cpu['n_samples']} labelled samples (CPU work: {cpu['samples_s']:.1f} s here, "
              f"{gpu['samples_s']:.1f} s on the GPU's host); training: {cpu['epochs']} epochs of batches of 128 "
              f"after one warm-up epoch; network: batches of {PATCH_BATCH} prepared patches (best of 3); maps: "
              "the detection map of the cube: its probability map and flipped-angle negative map (MLAR "
              "residuals, about 0.05 s, patch extraction and the network) and their calibration.", ""]
    cols = ["CPU here", "GPU"] if host is None else ["CPU here", "host CPU", "GPU"]
    runs = [cpu, gpu] if host is None else [cpu, host, gpu]
    lines += [f"| model | size | training s/epoch {' / '.join(cols)} | network patches/s {' / '.join(cols)} | "
              f"maps s {' / '.join(cols)} | map peak at the companion (offset) {' / '.join(cols)} |",
              "| --- | --- | --- | --- | --- | --- |"]
    keyed = [{(r["model"], r["size"]): r for r in run["rows"]} for run in runs]
    for r in cpu["rows"]:
        key = (r["model"], r["size"])
        rows = [k.get(key) for k in keyed]
        q = rows[-1]
        if q is None:
            continue
        lines.append(f"| {_model_label(key[0])} | {key[1]} | {_values(rows, 's_per_epoch', '{:.2f}')} "
                     f"(**{r['s_per_epoch'] / q['s_per_epoch']:.1f}x**) | {_values(rows, 'patches_per_s', '{:.0f}')} "
                     f"(**{q['patches_per_s'] / r['patches_per_s']:.0f}x**) | {_values(rows, 'maps_s', '{:.1f}')} "
                     f"({r['maps_s'] / q['maps_s']:.0f}x) | {_values(rows, 'peak_offset_px', '{:.1f} px')} |")
    lines += ["", "Speed-ups in brackets: GPU against the CPU here (one thread)."]
    ref = gpu.get("reference")
    if ref:
        lines += ["", f"The same saved model (trained on the {ref['trained_on']} here, `exobench.cnn.save_model`) "
                  f"loaded on the GPU: largest difference of its {ref['n']} probabilities {ref['max_abs_diff']:.1e}, "
                  f"same label (p > 0.5) for {100 * ref['same_label_share']:.1f} % of them."]
    lines += ["", "Training on the GPU is bound by the per-batch overhead at these sizes (1600 training samples, "
              "batches of 128: the same time per epoch for the small and the full network); the noise-aware "
              "model's patches/s are bound by its input features, computed with NumPy on the CPU before the "
              "network; with matched-filter planes its maps also correlate every MLAR level with the PSF "
              "(SciPy, CPU). A peak offset above 2 px means the map's brightest pixel is a false positive brighter "
              "than the companion (SODINN's own models here).", END]
    return "\n".join(lines) + "\n"


def _model_label(spec):
    model, matched = parse_spec(spec)
    return f"{model} + matched filter (the baseline's default)" if matched else model


def _values(rows, key, fmt):
    return " / ".join("-" if row is None else fmt.format(row[key]) for row in rows)


def report(args):
    cpu, gpu = (json.loads(Path(p).read_text()) for p in (args.cpu, args.gpu))
    host = json.loads(Path(args.host_cpu).read_text()) if args.host_cpu else None
    text = section(cpu, gpu, host, args.note)
    replace_doc_section(str(DOC), text, START, END)
    print(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    measure = sub.add_parser("run", help="measure on this machine")
    measure.add_argument("--out", required=True, help="JSON file of the results")
    measure.add_argument("--real", help="folder of the real NACO files (default: ../shared/data/real)")
    measure.add_argument("--models", nargs="+", default=["na-conv3d+mf", "na-conv3d", "conv3d", "convlstm"],
                         help="architectures; a '+mf' suffix adds matched-filter planes (the baseline's default)")
    measure.add_argument("--sizes", nargs="+", default=["small", "full"])
    measure.add_argument("--epochs", type=int, default=5)
    measure.add_argument("--n-samples", type=int, default=2000)
    measure.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, the baseline's)")
    measure.add_argument("--save-reference", help="folder: store the first model and its predictions")
    measure.add_argument("--check-reference", help="folder: compare with a stored model's predictions")
    both = sub.add_parser("report", help="write the docs section from a CPU and a GPU run")
    both.add_argument("cpu")
    both.add_argument("gpu")
    both.add_argument("--host-cpu", help="a run on the GPU machine's CPU (KERAS_TORCH_DEVICE=cpu)")
    both.add_argument("--note", help="one line on the conditions of the runs (another job beside them, say)")
    args = parser.parse_args(argv)
    (run if args.command == "run" else report)(args)


if __name__ == "__main__":
    main()
