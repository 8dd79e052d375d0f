"""Detection maps: S/N of sources, exact S/N maps and their significance, STIM maps."""

from .snr import (
    SNRResult,
    aperture_count_map,
    ring_fluxes,
    ring_positions,
    significance_map,
    snr,
    snr_map,
    snr_of_fluxes,
    snr_to_significance,
)
from .stim import StimResult, stim_from_algorithm, stim_from_derotated, stim_map, stim_maps

__all__ = [
    "SNRResult",
    "snr",
    "snr_map",
    "aperture_count_map",
    "snr_to_significance",
    "significance_map",
    "ring_positions",
    "ring_fluxes",
    "snr_of_fluxes",
    "StimResult",
    "stim_map",
    "stim_maps",
    "stim_from_derotated",
    "stim_from_algorithm",
]
