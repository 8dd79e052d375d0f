"""Detection limits: throughput by injection-recovery and contrast curves (docs/contrast.md).

- :mod:`~exobench.contrast.throughput`: the separations, the resolution
  elements of a ring (Mawet et al. 2014) and an algorithm's throughput by
  injection-recovery, one task per branch of an :class:`exobench.parallel.Executor`;
- :mod:`~exobench.contrast.curve`: the contrast at a false-positive fraction
  with the small-sample Student-t correction (:class:`ContrastCurve`);
- :mod:`~exobench.contrast.statistics`: the test's null law (Student's t, or a
  parametric bootstrap under Laplacian noise) and a Gaussianity diagnostic;
- :mod:`~exobench.contrast.grid`: detection confidence and completeness over a
  grid of separations and contrasts (:class:`ContrastGrid`);
- :mod:`~exobench.contrast.plot`: the figures;
- :mod:`~exobench.contrast.run`: a baseline's curve on one dataset of a phase
  folder (``exobench contrast``), the curves of a phase (``phase_contrast``) and
  the curve's file format (``write_contrast``, ``curve_from_dict``);
- :mod:`~exobench.contrast.code`: a participant's code submission as an algorithm
  whose final frame is its detection map (``code_contrast``);
- :mod:`~exobench.contrast.summary`: a curve read at separations in lambda/D
  and the median over a phase's datasets (the leaderboard's columns).
"""

from .curve import (FPF_5_SIGMA, UNIT_PSF, UNIT_STAR, ContrastCurve, contrast_curve, contrast_unit, resolve_fpf,
                    student_factor, student_quantile)
from .code import CodeAlgorithm, code_contrast, injection_fluxes
from .grid import (ContrastGrid, check_grid_output, check_grid_separations, completeness_contrast, contrast_grid,
                   grid_contrasts, write_grid)
from .plot import plot_contrast, plot_grid
from .run import (CODE_PREFIX, baseline_contrast, check_contrast_output, contrast_source, curve_from_dict,
                  parse_dataset_name, phase_contrast, prepare_contrast, read_contrast, write_contrast)
from .statistics import (DEFAULT_DRAWS, STATISTICS, Gaussianity, bootstrap_sf, bootstrap_threshold, detection_threshold,
                         gaussianity, laplace_scale, ring_gaussianity, statistic_sf)
from .summary import LEADERBOARD_SEPARATIONS, contrast_at, median_contrast
from .throughput import (RingNoise, Throughput, branch_thetas, contrast_separations, final_frame, injection_rounds,
                         reference_frame, ring_noise, throughput)

__all__ = [
    "ContrastCurve", "contrast_curve", "contrast_unit", "resolve_fpf", "student_factor", "student_quantile",
    "FPF_5_SIGMA", "UNIT_STAR", "UNIT_PSF", "plot_contrast", "baseline_contrast", "check_contrast_output",
    "parse_dataset_name", "prepare_contrast", "write_contrast", "RingNoise", "Throughput", "branch_thetas", "contrast_separations",
    "final_frame", "injection_rounds", "reference_frame", "ring_noise", "throughput", "CodeAlgorithm", "code_contrast",
    "injection_fluxes", "curve_from_dict", "read_contrast", "phase_contrast", "LEADERBOARD_SEPARATIONS", "contrast_at",
    "median_contrast", "CODE_PREFIX", "contrast_source",
    "STATISTICS", "DEFAULT_DRAWS", "Gaussianity", "bootstrap_sf", "bootstrap_threshold", "detection_threshold",
    "gaussianity", "laplace_scale", "ring_gaussianity", "statistic_sf",
    "ContrastGrid", "check_grid_separations", "check_grid_output", "completeness_contrast", "contrast_grid",
    "grid_contrasts", "write_grid", "plot_grid",
]
