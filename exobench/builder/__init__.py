"""The challenge builder: from instrument cubes to a published challenge with held-out truth.

A YAML definition (:mod:`exobench.builder.definition`) names the phases, their
sources (real data or the simulator) and the injection recipe;
:func:`build_challenge` calibrates companion fluxes in S/N
(:mod:`exobench.builder.calibration`), injects them and writes the public data,
the reference truth, a manifest and the starting kit's copy of the data
(``exobench build``). :mod:`exobench.builder.download` fetches the published
EIDC data as sources.
"""

from .build import BuildResult, build_challenge
from .calibration import FluxCalibration, calibrate_fluxes
from .definition import ChallengeDefinition, load_challenge

__all__ = ["BuildResult", "ChallengeDefinition", "FluxCalibration", "build_challenge", "calibrate_fluxes",
           "load_challenge"]
