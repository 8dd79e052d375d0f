"""Detection quality measured the same way by the detection benchmarks.

Imported by ``bench_cnn.py`` (the CNN against annular PCA) and
``bench_detection.py`` (every classical baseline): the phases with held-out
truth, the ROC curves of a phase's maps by separation band, the scores read
from them (TPR at equal false positives per dataset, AUC, F1), the paired
bootstrap over a phase's datasets, and the table rows of the scores.
"""

import os
from pathlib import Path

__all__ = [
    "BANDS",
    "FP_BUDGETS",
    "N_BOOTSTRAP",
    "NACO_SEED",
    "N_NACO",
    "N_REALISATIONS",
    "PHASES",
    "ROOT",
    "SCORE_DEFINITIONS",
    "bootstrap_weights",
    "build_phases",
    "compact_counts",
    "dataset_counts",
    "phase_curves",
    "real_data",
    "resampled_auc",
    "resampled_scores",
    "score",
    "score_cells",
    "score_header",
]

ROOT = Path(__file__).resolve().parents[1]
#: Separation bands of the injections (FWHM): inside 6, 6 to 20, and the whole map (last).
BANDS = ((0.0, 6.0), (6.0, 20.0), (0.0, 1000.0))
#: False positives per dataset at which the TPR is read.
FP_BUDGETS = (0.5, 1.0, 2.0, 5.0)
#: Copies of the real NACO cube, each with 2 to 4 injected companions.
N_NACO = 8
#: Seed of the NACO phase's build: each copy's injections follow from it and the copy's index, so
#: another seed gives an independent set of copies (the first copies of two runs with the same seed
#: are the same datasets, whatever their number).
NACO_SEED = 11
#: Realisations of each simulated instrument of the default challenge's phase 1: four
#: companions (that phase's count) cannot tell two methods apart, independent noise can.
N_REALISATIONS = 6
#: Bootstrap resamples of a phase's datasets (paired: the same resample for every method).
N_BOOTSTRAP = 1000
#: The phases :func:`build_phases` can build, by the short name of the command lines.
PHASES = ("default", "simulated", "naco")
#: How the tables' columns are read (a sentence of each section).
SCORE_DEFINITIONS = (
    "TPR at a false-positive budget: the best TPR of the thresholds whose false positives (whole map, "
    "scorer's counting) average at most the budget per dataset; the bands are the injections' separations "
    "(false positives of the whole map)."
)

NACO_PHASE = """
name: cnn-bench-naco
seed: {seed}
injection:
  companions: [2, 4]
  separation_bands_fwhm: [[2.5, 6], [6, 12]]
  edge_margin_fwhm: 2
  min_spacing_fwhm: 3
  snr_bands: [[1, 3], [3, 5]]
  inverse_angles: true
phases:
  - number: 1
    name: NACO with injections
    kind: adi
    sources:
{sources}
"""
NACO_SOURCE = """      - files:
          cube: {real}/naco_betapic_empty_cube.fits
          angles: {real}/naco_betapic_empty_pa.fits
          psf: {real}/naco_betapic_psf.fits
          pxscale: 0.02719
          star_flux: 764939.6
        instrument: naco
"""


# -- phases -------------------------------------------------------------------------------------


def real_data():
    """The folder of the real NACO cube (``$EXOBENCH_REAL_DATA`` or ``../shared/data/real``), or None."""
    folder = Path(os.environ.get("EXOBENCH_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
    return folder.resolve() if (folder / "naco_betapic_empty_cube.fits").is_file() else None


def build_phases(tmp, *, phases=PHASES, realisations=N_REALISATIONS, naco=N_NACO, naco_seed=NACO_SEED, log=None):
    """``{label: (public_dir, reference_dir)}`` of the phases measured, built under ``tmp``.

    ``phases``: short names of :data:`PHASES`: ``default`` (the default
    challenge's phase 1, the real NACO cube included when :func:`real_data`
    finds it), ``simulated`` (that phase's simulated instruments, each
    ``realisations`` times: every source draws its own simulation seed, so
    these are independent noise realisations) and ``naco`` (``naco`` copies of
    the real NACO cube with 2 to 4 companions each, S/N 1-3 and 3-5, inverse
    angles, as the EIDC organisers did; skipped without the real data).
    ``naco_seed``: the seed of the NACO phase's build (:data:`NACO_SEED`).
    ``log``: called with a line before each build.
    """
    import yaml

    from exobench.builder import build_challenge, load_challenge
    from exobench.builder.definition import DEFAULT_CHALLENGE

    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        raise ValueError(f"phases: expected names among {', '.join(PHASES)}, got {', '.join(unknown)}")
    log = log or (lambda line: None)
    tmp = Path(tmp)
    real = real_data()
    if real is not None:
        # the default challenge's NACO source falls back on this folder (no download)
        os.environ.setdefault("EXOBENCH_REAL_DATA", str(real))
    definition = yaml.safe_load(DEFAULT_CHALLENGE.read_text())
    phase = next(p for p in definition["phases"] if p["number"] == 1)
    built = {}

    def build(name, text, label):
        log(f"building {label} ...")
        path = tmp / f"{name}.yaml"
        path.write_text(text)
        build_challenge(load_challenge(path), tmp / name)
        built[label] = (tmp / name / "public" / "phase_1", tmp / name / "reference" / "phase_1")

    if "default" in phases:
        build("default", yaml.safe_dump(dict(definition, phases=[phase])), "default challenge, phase 1")
    if "simulated" in phases:
        simulated = [source for source in phase["sources"] if "simulate" in source]
        text = yaml.safe_dump(dict(definition, phases=[dict(phase, sources=simulated * realisations)]))
        build("simulated", text, f"default challenge, phase 1's simulated instruments x {realisations}")
    if "naco" in phases:
        if real is None:
            log("no real NACO data ($EXOBENCH_REAL_DATA or ../shared/data/real): NACO phase skipped")
        else:
            text = NACO_PHASE.format(seed=int(naco_seed), sources=NACO_SOURCE.format(real=real) * naco)
            seeded = "" if naco_seed == NACO_SEED else f" (seed {naco_seed})"
            build("naco", text, f"real NACO x {naco}, injected{seeded}")
    return built


# -- scores -------------------------------------------------------------------------------------


def phase_curves(maps, threshold, reference):
    """The ROC curves of a phase's maps per band of :data:`BANDS` (the threshold in their grid).

    The maps go to the scorer as they are: its counting never detects NaN and
    ``-inf`` pixels, so maps in memory (NaN where masked) and maps read back from
    a submission (NaN stored as ``-inf``) give the same curves, the leaderboard's.
    """
    import warnings

    from exobench.scoring.curves import roc_by_separation

    detmaps = [maps[d.key] for d in reference.datasets]
    positions = [d.positions for d in reference.datasets]
    fwhms = [d.fwhm for d in reference.datasets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return roc_by_separation(detmaps, positions, fwhms, bands=BANDS, include=threshold)


def score(curves, threshold):
    """TPR at FP budgets per band, F1 at the threshold, best F1, AUC of each band."""
    import numpy as np

    n_datasets = curves[BANDS[-1]].n_datasets
    total_fp = curves[BANDS[-1]].fp / n_datasets
    out = {"n_datasets": n_datasets}
    for band, curve in curves.items():
        name = "all" if band == BANDS[-1] else f"{band[0]:g}-{band[1]:g} FWHM"
        tpr = np.nan_to_num(curve.tpr)
        out[name] = {"n_injections": curve.n_injections, "auc": float(curve.auc),
                     "tpr_at_fp": {str(b): float(tpr[total_fp <= b].max(initial=0.0)) for b in FP_BUDGETS}}
    whole = curves[BANDS[-1]]
    f1 = 2 * whole.tp / np.maximum(2 * whole.tp + whole.fp + whole.fn, 1)
    i = whole.index(threshold)
    out["at_threshold"] = {"threshold": float(threshold), "tp": int(whole.tp[i]), "fp": int(whole.fp[i]),
                           "fn": int(whole.fn[i]), "f1": float(f1[i])}
    best = int(np.argmax(f1))
    out["best_f1"] = {"threshold": float(whole.thresholds[best]), "f1": float(f1[best]), "tp": int(whole.tp[best]),
                      "fp": int(whole.fp[best])}
    return out


def score_header(extra=()):
    """The header and alignment lines of a table of :func:`score_cells` rows, ``extra`` columns last."""
    names = ["method", "TPR < 6 FWHM at FP/dataset " + " / ".join(map(str, FP_BUDGETS)), "TPR >= 6 FWHM at same",
             "AUC (all)", "F1 at its threshold (TP, FP)", "best F1 (threshold)", *extra]
    align = ["---", "---", "---", "---:", "---", "---"] + ["---:"] * len(extra)
    return ["| " + " | ".join(names) + " |", "| " + " | ".join(align) + " |"]


def score_cells(scores):
    """The cells of one method's :func:`score` in the columns of :func:`score_header`."""
    inner = " / ".join(f"{scores['0-6 FWHM']['tpr_at_fp'][str(b)]:.2f}" for b in FP_BUDGETS)
    outer = " / ".join(f"{scores['6-20 FWHM']['tpr_at_fp'][str(b)]:.2f}" for b in FP_BUDGETS)
    at, best = scores["at_threshold"], scores["best_f1"]
    return [inner, outer, f"{scores['all']['auc']:.3f}",
            f"{at['f1']:.2f} ({at['tp']}, {at['fp']}) at {at['threshold']:g}",
            f"{best['f1']:.2f} ({best['threshold']:.3g})"]


# -- paired bootstrap over a phase's datasets ---------------------------------------------------


def bootstrap_weights(n_datasets, *, n=N_BOOTSTRAP, seed=0):
    """``(n, n_datasets)`` multiplicities: how often each dataset is drawn in each resample (seeded).

    The same weights for every method of a phase make the bootstrap paired.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_datasets, size=(n, n_datasets))
    weights = np.zeros((n, n_datasets))
    np.add.at(weights, (np.repeat(np.arange(n), n_datasets), picks.ravel()), 1.0)
    return weights


def dataset_counts(curves):
    """Per-dataset counts on the phase's grid: inner TP, whole-map TP / FP / FN / FP + TN, inner injections."""
    import numpy as np

    whole, inner = curves[BANDS[-1]], curves[BANDS[0]]
    grid = whole.thresholds

    def stack(curve, name):
        return np.array([getattr(s.at(grid), name) for s in curve.per_dataset], dtype=np.float64)

    return {"grid": grid, "inner_tp": stack(inner, "tp"), "tp": stack(whole, "tp"), "fp": stack(whole, "fp"),
            "fn": stack(whole, "fn"), "negatives": stack(whole, "fp") + stack(whole, "tn"),
            "n_inner": np.array([s.n_injections for s in inner.per_dataset], float),
            "n_all": np.array([s.n_injections for s in whole.per_dataset], float)}


def compact_counts(counts, keep=()):
    """:func:`dataset_counts` without the thresholds whose counts (every dataset's) are those of the
    threshold before them, except the thresholds of ``keep``: the same scores of every resample
    (the same points of every curve, fewer times over), for a fraction of the cost on long grids."""
    import numpy as np

    per_threshold = ("inner_tp", "tp", "fp", "fn", "negatives")
    stack = np.concatenate([counts[key] for key in per_threshold])
    kept = np.ones(stack.shape[1], dtype=bool)
    kept[1:] = np.any(stack[:, 1:] != stack[:, :-1], axis=0)
    kept |= np.isin(counts["grid"], np.asarray(keep, dtype=float))
    return {key: (value[..., kept] if key in per_threshold or key == "grid" else value)
            for key, value in counts.items()}


def resampled_scores(counts, weights, threshold=None, *, band="inner", chunk=100):
    """TPR at each FP budget, and the F1 at ``threshold`` (None: the best F1), per resample.

    ``band``: the TPR of the companions inside 6 FWHM (``"inner"``) or of all of them (``"all"``).
    """
    import numpy as np

    if band not in ("inner", "all"):
        raise ValueError(f"band: expected 'inner' or 'all', got {band!r}")
    n_datasets = weights.shape[1]
    tp_key, n_key = ("inner_tp", "n_inner") if band == "inner" else ("tp", "n_all")
    column = None if threshold is None else int(np.flatnonzero(counts["grid"] == threshold)[0])
    tpr = {b: np.empty(len(weights)) for b in FP_BUDGETS}
    f1 = np.empty(len(weights))
    for start in range(0, len(weights), chunk):  # a block of resamples at a time: memory (long grids)
        w = weights[start:start + chunk]
        fp = w @ counts["fp"]
        band_tp, n_band = w @ counts[tp_key], w @ counts[n_key]
        for b in FP_BUDGETS:
            reached = np.where(fp / n_datasets <= b + 1e-12, band_tp, 0.0).max(axis=1)
            tpr[b][start:start + chunk] = np.divide(reached, n_band, out=np.full(len(reached), np.nan),
                                                    where=n_band > 0)
        tp = w @ counts["tp"]
        f1s = 2 * tp / np.maximum(2 * tp + fp + w @ counts["fn"], 1)
        f1[start:start + chunk] = f1s.max(axis=1) if column is None else f1s[:, column]
    return tpr, f1


def resampled_auc(counts, weights, *, chunk=100):
    """The whole map's AUC of each resample (:func:`exobench.scoring.curves.auc`; NaN where undefined)."""
    import numpy as np

    from exobench.scoring.curves import auc

    out = np.empty(len(weights))
    for start in range(0, len(weights), chunk):  # a block of resamples at a time: memory
        w = weights[start:start + chunk]
        n, negatives = w @ counts["n_all"], w @ counts["negatives"]
        with np.errstate(invalid="ignore", divide="ignore"):
            tpr = np.where(n[:, None] > 0, (w @ counts["tp"]) / n[:, None], np.nan)
            fpr = np.where(negatives > 0, (w @ counts["fp"]) / np.where(negatives > 0, negatives, 1.0), np.nan)
        out[start:start + chunk] = auc(fpr, tpr)
    return out
