"""Scoring of detection maps: counting detections, metrics, ROC curves, EIDC scores.

- :mod:`exobench.scoring.counting`: the counting rules (:class:`CountingRules`) and
  per-dataset counts at one threshold (blobs, one-to-one matching to the
  injections, true negatives), and the 2019 EIDC counting (``compat="eidc2019"``);
- :mod:`exobench.scoring.sweep`: one dataset's counts at every threshold of a sweep
  (the engine is :mod:`exobench.scoring.basins`);
- :mod:`exobench.scoring.curves`: ROC curves of a phase, AUC, partial AUC,
  separation bands;
- :mod:`exobench.scoring.bootstrap`: bootstrap confidence intervals over datasets;
- :mod:`exobench.scoring.metrics`: TPR, FPR, precision, FDR and F1, micro-averaged
  over a phase, and the EIDC leaderboard scores;
- :mod:`exobench.scoring.reference`: the withheld truth of a phase;
- :mod:`exobench.scoring.program`: the platform scoring program (its outputs in
  :mod:`exobench.scoring.program_output`);
- :mod:`exobench.scoring.batch`: several submissions on the execution layer.

The program imports numpy, scipy, astropy and exobench modules that need nothing
more (:mod:`exobench.challenge`, :mod:`exobench.submission`, the frame centre of
:mod:`exobench.geometry`, layer 0), so that it can be laid out as a self-contained
platform scoring program (:mod:`exobench.platform.vendor`).
"""

from .bootstrap import DEFAULT_SEED, bootstrap_ci
from .counting import (
    COMPAT_MODES,
    DEFAULTS,
    CountingRules,
    DatasetCounts,
    count_detections,
    evaluation_elements,
    label_blobs,
    resolution_element_area,
)
from .curves import (
    DEFAULT_BANDS,
    DEFAULT_MAX_FPR,
    ROCCurve,
    auc,
    partial_auc,
    roc_by_separation,
    roc_curve,
    roc_from_counts,
)
from .metrics import (
    Metrics,
    UndefinedMetricWarning,
    compute_metrics,
    eidc_scores,
    per_dataset_metrics,
)
from .sweep import SweepCounts, sweep_counts

__all__ = [
    "COMPAT_MODES",
    "DEFAULTS",
    "CountingRules",
    "DatasetCounts",
    "count_detections",
    "evaluation_elements",
    "label_blobs",
    "resolution_element_area",
    "SweepCounts",
    "sweep_counts",
    "ROCCurve",
    "roc_curve",
    "roc_by_separation",
    "roc_from_counts",
    "auc",
    "partial_auc",
    "DEFAULT_BANDS",
    "DEFAULT_MAX_FPR",
    "bootstrap_ci",
    "DEFAULT_SEED",
    "Metrics",
    "UndefinedMetricWarning",
    "compute_metrics",
    "eidc_scores",
    "per_dataset_metrics",
]
