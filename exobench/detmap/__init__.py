"""Detection maps: S/N of sources, exact S/N maps and their significance."""

from .snr import (
    SNRResult,
    aperture_count_map,
    ring_positions,
    significance_map,
    snr,
    snr_map,
    snr_to_significance,
)

__all__ = [
    "SNRResult",
    "snr",
    "snr_map",
    "aperture_count_map",
    "snr_to_significance",
    "significance_map",
    "ring_positions",
]
