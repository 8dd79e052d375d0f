"""Baselines: reference submissions made by one method on every dataset of a phase.

A baseline runs one method (a PSF-subtraction algorithm of :mod:`exobench.algorithms`,
or a plug-in such as the CNN) on every dataset of a phase folder in the EIDC
layout, turns each result into a detection map, chooses one detection threshold
for the whole phase and writes a submission (:mod:`exobench.submission`)::

    result = run_baseline("pca-annular", "challenge/public/phase_1")
    result.write("pca-annular.zip")

- :mod:`~exobench.baselines.registry`: the :class:`Baseline` base class (its
  plug-in interface) and the registry of names;
- :mod:`~exobench.baselines.classical`: median ADI, PCA, annular PCA, LLSG,
  SDI/ASDI PCA, one small class each;
- :mod:`~exobench.baselines.statistical`: the statistical detectors' baselines,
  whose map is the detector's own calibrated statistic;
- :mod:`~exobench.baselines.params`: the YAML parameters of a run;
- :mod:`~exobench.baselines.run`: running over a phase folder on any executor.
"""

from . import classical  # noqa: F401  (registers the classical baselines first)
from . import statistical  # noqa: F401  (then the statistical detectors)
from .params import PARAM_KEYS, default_params, dump_params, load_params, resolve_params
from .registry import (DETECTION_MAPS, MAX_MAP_PARTS, PLUGIN_MODULES, SNR_THRESHOLD, STIM_THRESHOLD, Baseline,
                       available_baselines, get_baseline, list_baselines, runnable_baseline)
from .run import BaselineResult, assemble_result, phase_datasets, run_baseline, run_map_tasks

__all__ = [
    "Baseline", "BaselineResult", "get_baseline", "available_baselines", "list_baselines", "runnable_baseline",
    "default_params", "load_params", "dump_params", "resolve_params", "run_baseline", "phase_datasets",
    "assemble_result", "run_map_tasks", "DETECTION_MAPS", "PLUGIN_MODULES", "SNR_THRESHOLD", "STIM_THRESHOLD",
    "MAX_MAP_PARTS", "PARAM_KEYS",
]
