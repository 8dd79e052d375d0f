"""The scoring program's core: a submission and a reference phase in, scores and reports out.

The same code runs on the platforms (``scoring_program/score.py``, called by the
Codalab v1.5 worker as ``python $program/score.py $input $output`` and by Codabench
from ``metadata.yaml``) and locally (``exobench score``).

Outputs, in the output folder (each written atomically):

``scores.txt``
    one ``key: value`` line per leaderboard column (what Codalab parses with
    ``split(":")`` and ``float()``): ``F1_3d``, ``Precision_3d``, ``Recall_3d``,
    ``FalsePositives_3d`` (the EIDC's), ``TPR_3d``, ``FPR_3d``, ``AUC_3d`` (``_4d``
    for the ADI+mSDI phase; the suffix comes from the reference, see
    :mod:`exobench.scoring.reference`). Values are finite decimals with a point
    (``0.5``, ``29.0``: readable by ``float()`` and as YAML floats). **An undefined
    metric** (a denominator of 0: precision without any detection, FPR without
    elements, ...) **is written as 0**, as the EIDC did; the keys concerned are
    listed in ``detailed_results.json`` under ``undefined``.
``scores.json``
    the same keys and values as a flat JSON object (what Codabench reads first;
    it stores every value as a number, so none is null there).
``detailed_results.json``
    everything else: the metrics with ``null`` where undefined, per-dataset counts,
    the ROC curve, the counting options used, the warnings.
``detailed_results.html``
    a self-contained page: the scores, a per-dataset table, the warnings, and the
    ROC curve as inline SVG (no plotting library is needed on the platform).

Scoring modes (``compat``):

- ``None`` (default): the corrected counting of :mod:`exobench.scoring.counting`
  with the **reference** FWHM and the **phase's** counting options (those of
  ``phase.json``, else the EIDC defaults ``npix = 2``, ``overlap_threshold = 0.7``,
  ``max_blob_fact = 2``). Participant ``{instrument}_fwhm_{k}.fits``, ``npix.fits``,
  ``overlap_threshold.fits`` and ``max_blob_fact.fits`` are validated but not used
  (with a warning): letting each participant loosen the matching rules would make
  the leaderboard incomparable.
- ``"eidc2019"``: the 2019 counting (``compat="eidc2019"`` of the counting module) and
  formulas, honouring the participant's FWHM and option files as the 2019 program
  did, to reproduce published numbers. ``TPR``, ``FPR`` and ``AUC`` are not
  EIDC scores: TPR and FPR come from the same (2019) counts, the ROC sweep behind
  ``AUC`` always uses the corrected counting (with the same FWHM and options).

Exit statuses of the platform program: 0 scored; 1 the submission was refused (the
reason on stderr, one line); 2 the reference or the program is at fault.
"""

import argparse
import dataclasses
import math
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from .._validate import check_choice
from .counting import COMPAT_MODES, DEFAULTS, count_detections
from .program_output import finite_or_none, scores_text, thinned_roc, write_outputs
from .reference import read_reference
from ..submission import DEFAULT_LIMITS, SubmissionError, open_submission, read_submission

__all__ = [
    "SCORE_NAMES",
    "COMPAT_CHOICES",
    "score_keys",
    "DatasetResult",
    "ScoreReport",
    "score_submission",
    "score_folder",
    "run_program",
    "main",
]

#: Leaderboard scores, in column order; keys are ``{name}_{suffix}``.
SCORE_NAMES = ("F1", "Precision", "Recall", "FalsePositives", "TPR", "FPR", "AUC")
#: Accepted ``compat`` values: the counting modes.
COMPAT_CHOICES = COMPAT_MODES
_EIDC_OPTIONS = ("npix", "overlap_threshold", "max_blob_fact")


def score_keys(suffix="3d"):
    """The leaderboard keys of a phase, in column order (a characterisation kind's suffix: its own keys,
    :data:`~exobench.scoring.charac_program.CHARAC_SCORE_NAMES`).

    >>> score_keys("4d")[:2]
    ['F1_4d', 'Precision_4d']
    >>> score_keys("charac3d")[:2]
    ['astrometry_px_charac3d', 'astrometry_l1_px_charac3d']
    """
    from ..challenge.kinds import phase_kind_for_suffix
    from .charac_program import CHARAC_SCORE_NAMES

    kind = phase_kind_for_suffix(suffix) if suffix else None
    names = CHARAC_SCORE_NAMES if kind is not None and kind.is_characterisation else SCORE_NAMES
    end = f"_{suffix}" if suffix else ""
    return [f"{name}{end}" for name in names]


@dataclasses.dataclass(frozen=True)
class DatasetResult:
    """Counts of one dataset at the participant's threshold."""

    instrument: str
    dataset_id: str
    map_given: bool
    shape: tuple
    fwhm: float
    n_injections: int
    tp: int
    fp: int
    fn: int
    tn: int
    n_elements: int
    huge_blobs: int


@dataclasses.dataclass(frozen=True, eq=False)
class ScoreReport:
    """The result of scoring one submission on one phase.

    Attributes
    ----------
    scores : dict
        Leaderboard key -> finite float (undefined metrics as 0), in column order.
    undefined : tuple of str
        Keys of ``scores`` whose metric is undefined (written as 0).
    metrics : dict
        Micro-averaged metrics of the phase, None where undefined, plus ``auc``,
        ``partial_auc`` and ``max_fpr``.
    datasets : tuple of DatasetResult
    roc : object or None
        The :func:`~exobench.scoring.curves.roc_curve` result.
    threshold : float
    suffix : str
    compat : str or None
    counting : dict
        The counting options used (``compat="eidc2019"``: the participant's, where given).
    warnings : tuple of str
    elapsed_s : float
    """

    scores: dict
    undefined: tuple
    metrics: dict
    datasets: tuple
    roc: object
    threshold: float
    suffix: str
    compat: str
    counting: dict
    warnings: tuple
    elapsed_s: float = 0.0

    def details(self):
        """Everything as JSON-serialisable data (``detailed_results.json``)."""
        return {
            "scores": self.scores,
            "undefined": list(self.undefined),
            "metrics": self.metrics,
            "threshold": self.threshold,
            "suffix": self.suffix,
            "compat": self.compat,
            "counting": self.counting,
            "datasets": [dataclasses.asdict(d) for d in self.datasets],
            "roc": thinned_roc(self.roc),
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
        }


# -- scoring ------------------------------------------------------------------------------


def score_submission(submission, reference_dir, *, compat=None, phase_suffix=None, limits=DEFAULT_LIMITS,
                     work_dir=None):
    """Score a submission (zip or folder) on a reference phase folder, end to end.

    A zip is extracted into a temporary folder inside ``work_dir`` (default: the
    system's), removed afterwards.

    Parameters
    ----------
    submission : str or path-like
        A zip archive or a folder of submission files.
    reference_dir : str or path-like
        A phase folder of the reference tree.
    compat : {None, "eidc2019"}, optional
        Scoring mode (default: the phase's ``compat``, else None); see the module doc.
    phase_suffix : str, optional
        Score-name suffix when the reference has no ``phase.json`` (default "3d").
    limits : Limits
    work_dir : str or path-like, optional

    Returns
    -------
    ScoreReport

    Raises
    ------
    SubmissionError
        The submission is refused (the message names the file and the problem).
    FileNotFoundError, ValueError
        The reference is missing or malformed.
    """
    start = time.perf_counter()
    reference = read_reference(reference_dir, phase_suffix=phase_suffix)
    with tempfile.TemporaryDirectory(prefix="exobench-score-", dir=work_dir) as tmp:
        folder = open_submission(submission, tmp, limits=limits)
        report = score_folder(folder, reference, compat=compat, limits=limits)
    return dataclasses.replace(report, elapsed_s=time.perf_counter() - start)


def score_folder(folder, reference, *, compat=None, limits=DEFAULT_LIMITS):
    """Score a submission folder on a :class:`~exobench.scoring.reference.Reference` (a characterisation
    phase: :func:`~exobench.scoring.charac_program.score_characterisation`, a
    :class:`~exobench.scoring.charac_program.CharacReport`)."""
    start = time.perf_counter()
    check_choice(compat, "compat", COMPAT_CHOICES)
    if reference.is_characterisation:
        if compat is not None:
            raise ValueError(f"compat: {compat!r} is a detection scoring mode; a characterisation phase has one "
                             f"(its scores include the EIDC 2022 astrometry and spectrophotometry)")
        from .charac_program import score_characterisation

        return score_characterisation(folder, reference, limits=limits)
    mode = reference.compat if compat is None else compat
    submission = read_submission(folder, reference, compat=mode, limits=limits)
    counting = dict(reference.counting)
    if mode:
        counting.update({k: submission.options[k] for k in _EIDC_OPTIONS if k in submission.options})
    if "npix" in counting:
        counting["npix"] = int(counting["npix"])

    counts, rows, fwhms = [], [], []
    for dataset in reference.datasets:
        detmap = submission.detmaps[dataset.key]
        fwhm = submission.fwhms.get(dataset.key, dataset.fwhm) if mode else dataset.fwhm
        _check_covers(detmap, dataset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = count_detections(detmap, submission.threshold, dataset.positions, fwhm, compat=mode, **counting)
        counts.append(c)
        fwhms.append(fwhm)
        rows.append(DatasetResult(dataset.instrument, dataset.dataset_id, dataset.key not in submission.missing,
                                  tuple(detmap.shape), float(fwhm), c.n_injections, c.tp, c.fp, c.fn, c.tn,
                                  c.n_elements, len(c.huge_blobs)))
    notes = list(submission.warnings)
    if mode and any(d.n_injections == 0 for d in reference.datasets):
        notes.append("compat='eidc2019': datasets without injection are counted with the corrected rules (the "
                     "2019 program did not score them)")
    scores, undefined, metrics, roc = _phase_scores(counts, submission, reference, fwhms, counting, mode)
    return ScoreReport(scores=scores, undefined=tuple(undefined), metrics=metrics, datasets=tuple(rows), roc=roc,
                       threshold=submission.threshold, suffix=reference.suffix, compat=mode,
                       counting={**DEFAULTS, **counting}, warnings=tuple(notes),
                       elapsed_s=time.perf_counter() - start)


def _check_covers(detmap, dataset):
    """A map must cover every injection of its dataset (else its shape is wrong); no position is revealed."""
    if not dataset.n_injections:
        return
    ny, nx = detmap.shape
    x, y = dataset.positions[:, 0], dataset.positions[:, 1]
    if np.any((x < -0.5) | (x > nx - 0.5) | (y < -0.5) | (y > ny - 0.5)):
        raise SubmissionError(f"{dataset.instrument}_detmap_{dataset.dataset_id}.fits: a map of shape {(ny, nx)} "
                              f"is smaller than the dataset's frame; give a map of the frame's shape")


def _phase_scores(counts, submission, reference, fwhms, counting, mode):
    from .metrics import compute_metrics, eidc_scores

    suffix = reference.suffix
    keys = score_keys(suffix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eidc = eidc_scores(counts, suffix=suffix, compat=mode)
        metrics = compute_metrics(counts)
        roc = _roc(submission, reference, fwhms, counting, mode)
    values = dict(eidc)
    values[keys[4]] = metrics.tpr
    values[keys[5]] = metrics.fpr
    auc = _roc_value(roc, "auc")
    values[keys[6]] = auc
    # The EIDC formulas (compat) give 0 where undefined; the corrected ones NaN.
    undefined = [key for key in keys if values.get(key) is None or not math.isfinite(values[key])]
    if mode:
        undefined += [k for k, (num, den) in _eidc_denominators(metrics, suffix).items() if den == 0]
    scores = {key: (0.0 if key in undefined else float(values[key])) for key in keys}
    details = {name: finite_or_none(getattr(metrics, name)) for name in
               ("tpr", "fpr", "precision", "fdr", "f1")}
    details.update({name: int(getattr(metrics, name)) for name in ("tp", "fp", "fn", "tn", "n_injections")})
    details.update(auc=finite_or_none(auc), partial_auc=finite_or_none(_roc_value(roc, "partial_auc")),
                   max_fpr=reference.max_fpr, confidence_intervals=_bootstrap_intervals(counts, roc))
    return scores, sorted(set(undefined), key=keys.index), details, roc


#: Bootstrap resamples of the phase's datasets behind the confidence intervals of F1 and AUC.
BOOTSTRAP_F1 = 1000
BOOTSTRAP_AUC = 200
#: Thresholds of the AUC bootstrap: quantiles of the phase's levels (the full sweep is too slow
#: to re-grid 200 times within the platform's time budget; the point AUC uses every level).
BOOTSTRAP_AUC_LEVELS = 256


def _bootstrap_intervals(counts, roc):
    """95 % percentile-bootstrap intervals of F1 and AUC over the phase's datasets (seeded: reproducible)."""
    from .bootstrap import bootstrap_ci

    levels = roc.thresholds[np.isfinite(roc.thresholds)]
    grid = np.unique(np.quantile(levels, np.linspace(0.0, 1.0, BOOTSTRAP_AUC_LEVELS))) if levels.size else levels
    grid = np.concatenate([grid, [-np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f1 = bootstrap_ci(counts, statistic="f1", n_boot=BOOTSTRAP_F1)
        auc = bootstrap_ci(roc, statistic="auc", thresholds=grid, n_boot=BOOTSTRAP_AUC)
    return {"level": 0.95, "f1": [finite_or_none(v) for v in f1], "auc": [finite_or_none(v) for v in auc],
            "resamples": {"f1": BOOTSTRAP_F1, "auc": BOOTSTRAP_AUC}, "auc_levels": int(grid.size)}


def _eidc_denominators(metrics, suffix):
    end = f"_{suffix}" if suffix else ""
    n, tp, fp = metrics.n_injections, metrics.tp, metrics.fp
    return {f"Recall{end}": (tp, n), f"Precision{end}": (tp, tp + fp), f"F1{end}": (tp, tp + fp + n)}


def _roc(submission, reference, fwhms, counting, mode):
    from .curves import roc_curve

    detmaps = [submission.detmaps[d.key] for d in reference.datasets]
    positions = [d.positions for d in reference.datasets]
    # The ROC sweep always uses the corrected counting (the EIDC had no ROC on its leaderboard).
    return roc_curve(detmaps, positions, fwhms, max_fpr=reference.max_fpr, include=submission.threshold,
                     **counting)


def _roc_value(roc, name):
    value = getattr(roc, name, None)
    return None if value is None else float(value)


# -- the platform program -----------------------------------------------------------------


def run_program(input_dir, output_dir, *, compat=None, phase_suffix=None, stdout=None, stderr=None):
    """Score ``input_dir/res`` against ``input_dir/ref`` into ``output_dir``, as the platforms expect.

    Returns the exit status: 0 scored, 1 submission refused, 2 reference or program at fault.
    Messages: the scores and warnings on stdout, an error as one line on stderr.
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    try:
        reference = read_reference(input_dir / "ref", phase_suffix=phase_suffix)
    except (OSError, ValueError) as exc:
        print(f"scoring program error: {_one_line(exc)}", file=stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="exobench-res-") as tmp:
            res = _without_worker_metadata(input_dir / "res", reference, Path(tmp))
            report = score_folder(res, reference, compat=compat)
    except SubmissionError as exc:
        print(f"submission refused: {_one_line(exc)}", file=stderr)
        return 1
    except (OSError, ValueError, TypeError) as exc:
        print(f"scoring program error: {type(exc).__name__}: {_one_line(exc)}", file=stderr)
        return 2
    try:
        write_outputs(report, output_dir)
    except OSError as exc:
        print(f"scoring program error: cannot write the outputs: {_one_line(exc)}", file=stderr)
        return 2
    for note in report.warnings:
        print(f"warning: {note}", file=stdout)
    stdout.write(scores_text(report))
    return 0


def _without_worker_metadata(res, reference, work):
    """``res``, or in a code phase a copy of it without the ``metadata`` file the platform's worker wrote there.

    Codalab v1.5 writes its run status as ``metadata`` into the output of a code
    submission's prediction step, which becomes ``res``; in a results phase such a file is
    the participant's, and refused.
    """
    marker = res / "metadata"
    if reference.submission != "code" or marker.is_symlink() or not marker.is_file():
        return res
    others = [p for p in res.iterdir() if p.name != "metadata"]
    if any(p.is_symlink() or not p.is_file() for p in others):
        return res  # anything but plain files: the intake judges the folder as it is
    copy = work / "res"
    copy.mkdir()
    for path in others:
        shutil.copyfile(str(path), str(copy / path.name))
    return copy


def _one_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv=None):
    """Command line of ``scoring_program/score.py``: ``score.py [INPUT OUTPUT] [--compat eidc2019]``."""
    parser = argparse.ArgumentParser(prog="score.py", description="Score an exobench submission (Codalab/Codabench).")
    parser.add_argument("input", nargs="?", help="folder holding ref/ and res/ (default /app/input)")
    parser.add_argument("output", nargs="?", help="output folder (default /app/output)")
    parser.add_argument("--compat", choices=["eidc2019"], default=None, help="score as the 2019 EIDC program did")
    parser.add_argument("--phase-suffix", default=None, help="score-name suffix when ref/ has no phase.json")
    args = parser.parse_args(argv)
    input_dir = args.input or "/app/input"
    output_dir = args.output or "/app/output"
    return run_program(input_dir, output_dir, compat=args.compat, phase_suffix=args.phase_suffix)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
