"""The statistical-detector baselines: a detector's own calibrated statistic as the detection map.

A baseline of this family runs one :class:`~exobench.algorithms.Detector` and
submits its detection statistic, which the detector calibrates to a standard
normal distribution where there is no companion: the one threshold of a phase
(default 5) then means the same false-alarm rate on every dataset. 4D datasets
are detected channel by channel and combined for a flat-spectrum companion
(:func:`exobench.algorithms.combine_channels`).

A new detector is one subclass here naming its algorithm and its options.
"""

import numpy as np

from .registry import SNR_THRESHOLD, Baseline

__all__ = ["DetectorBaseline", "FMMFBaseline", "STATISTIC_MAP"]

#: The ``detection_map`` of a detector baseline: the detector's calibrated statistic.
STATISTIC_MAP = "statistic"


class DetectorBaseline(Baseline):
    """Base of the baselines that submit a statistical detector's calibrated statistic."""

    @classmethod
    def default_params(cls):
        params = super().default_params()
        params["detection_map"] = STATISTIC_MAP
        return params

    @classmethod
    def detection_maps(cls):
        return (STATISTIC_MAP,)

    @classmethod
    def default_threshold(cls, params):
        # The statistic is standard normal under the null: the same 5-sigma rule as S/N maps.
        return SNR_THRESHOLD

    @classmethod
    def detection_map(cls, dataset, params, *, progress=False):
        """The detector's calibrated statistic on ``dataset`` (3D, or 4D channel by channel, combined)."""
        return np.asarray(cls._algorithm(params).detect(dataset).statistic, dtype=np.float64)

    @classmethod
    def make_algorithm(cls, params, dataset):
        """The detector this baseline runs (4D datasets are handled by its ``detect``)."""
        return cls._algorithm(params)

    @classmethod
    def params_header(cls):
        common = super().params_header().split("# detection_map:")[0]
        return common + f"""\
# detection_map: {STATISTIC_MAP} (the detector's own statistic, calibrated to a standard normal
#            distribution where there is no companion; NaN where undefined).
# threshold: one threshold for every map of the phase (values strictly above it are detections);
#            null = {SNR_THRESHOLD:g}, 5 sigma of the calibrated statistic.
"""


class FMMFBaseline(DetectorBaseline, name="fmmf"):
    """Forward-model matched filter on annular PCA residuals, 3 components (exobench.algorithms.FMMF)."""

    algorithm = "fmmf"
    defaults = {"ncomp": 3, "delta": 1.0, "asize": 1.0, "inner_radius": 1.0, "outer_radius": None,
                "model": "forward", "stamp": 2.0, "normalisation_width": 1.0}
