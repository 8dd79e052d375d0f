"""The ``cnn`` baseline: SODINN-style supervised detection, one network per dataset.

``exobench baseline cnn PHASE_DIR -o cnn.zip`` runs, on every dataset of the
phase (one task each, as every baseline of :mod:`exobench.baselines`), the
steps of :func:`exobench.cnn.pipeline.detection_map` with the ``cnn`` options
of the parameters (:class:`~exobench.cnn.options.CNNOptions`). This module
imports keras only inside the steps that need it;
:meth:`CNNBaseline.unavailable_reason` says what to install.
"""

import math

from ..baselines.registry import Baseline
from .options import DEFAULT_OPTIONS, CNNOptions, options_header
from .pipeline import CNN_DETECTION_MAPS, PROBABILITY_THRESHOLD
from .pipeline import detection_map as pipeline_map

__all__ = ["CNNBaseline"]


class CNNBaseline(Baseline, name="cnn"):
    """SODINN-style CNN trained per dataset on its own labelled MLAR patches (exobench.cnn)."""

    options_key = "cnn"
    #: Shown in ``exobench baseline --list`` (no algorithm of exobench.algorithms).
    algorithm = "exobench.cnn"
    #: Any cube: 3D, or 4D with the MLAR frames averaged over the channels (not the
    #: channel-by-channel path of the algorithm baselines).
    data = "any"

    @classmethod
    def unavailable_reason(cls):
        from ._backend import unavailable_reason

        return unavailable_reason()

    @classmethod
    def default_params(cls):
        return {"baseline": cls.name, "cnn": DEFAULT_OPTIONS.to_dict(), "detection_map": "significance",
                "threshold": None}

    @classmethod
    def detection_maps(cls):
        return CNN_DETECTION_MAPS

    @classmethod
    def default_threshold(cls, params):
        if params["detection_map"] == "probability":
            return PROBABILITY_THRESHOLD
        return -math.log10(params["cnn"]["fpr"])

    @classmethod
    def check_params(cls, data, *, where="params"):
        params = super().check_params(data, where=where)
        CNNOptions.from_mapping(params["cnn"], where=f"{where}: cnn")
        return params

    @classmethod
    def params_header(cls):
        return f"""\
# exobench baseline {cls.name!r}: {cls.description()}
# Run: exobench baseline {cls.name} PHASE_DIR -o {cls.name}.zip --params THIS_FILE.yaml   (docs/cnn.md)
{options_header()}\
# detection_map: significance (-log10 of the per-pixel false-positive rate on the dataset's null:
#            its flipped-angle and permuted-angle maps) or probability (the network's raw output).
# threshold: one threshold for every map of the phase (values strictly above it are detections);
#            null = -log10(fpr) for significance maps, {PROBABILITY_THRESHOLD:g} for probability maps.
"""

    @classmethod
    def detection_map(cls, dataset, params, *, progress=False):
        options = CNNOptions.from_mapping(params["cnn"])
        return pipeline_map(dataset, options, kind=params["detection_map"], progress=progress).map
