"""Instrument simulator: realistic ADI and ADI+mSDI cubes for named instruments.

Instrument profiles (YAML) describe the telescope, the coronagraph, the AO
system, the aberrations, the detector and the observation; :func:`simulate`
turns a profile and a seed into a :class:`~exobench.data.Dataset` with hcipy
doing the optics (pupils, coronagraphs, Fraunhofer propagation). hcipy is
imported only when a simulation runs, so that ``import exobench`` stays light.
"""

from .observing import hour_angles, parallactic_angle
from .profiles import InstrumentProfile, available_instruments, load_profile
from .simulation import Simulation, configured_profile, simulate

__all__ = [
    "InstrumentProfile",
    "Simulation",
    "available_instruments",
    "hour_angles",
    "load_profile",
    "parallactic_angle",
    "simulate",
    "configured_profile",
]
