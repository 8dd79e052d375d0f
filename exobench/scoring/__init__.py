"""Scoring of detection maps: counting detections, metrics, EIDC scores.

- :mod:`exobench.scoring.counting`: per-dataset counts at one threshold (blobs,
  one-to-one matching to the injections, true negatives), and the 2019 EIDC
  counting (``compat="eidc2019"``);
- :mod:`exobench.scoring.metrics`: TPR, FPR, precision, FDR and F1, micro-averaged
  over a phase, and the EIDC leaderboard scores.

This package imports only numpy, scipy and astropy (and ``exobench._validate``),
so that it can be vendored into a platform scoring program.
"""

from .counting import (
    COMPAT_MODES,
    DEFAULTS,
    DatasetCounts,
    count_detections,
    evaluation_elements,
    label_blobs,
    resolution_element_area,
)
from .metrics import (
    Metrics,
    UndefinedMetricWarning,
    compute_metrics,
    eidc_scores,
    per_dataset_metrics,
)

__all__ = [
    "COMPAT_MODES",
    "DEFAULTS",
    "DatasetCounts",
    "count_detections",
    "evaluation_elements",
    "label_blobs",
    "resolution_element_area",
    "Metrics",
    "UndefinedMetricWarning",
    "compute_metrics",
    "eidc_scores",
    "per_dataset_metrics",
]
