"""The statistical-detector baselines: a detector's own calibrated statistic as the detection map.

A baseline of this family runs one :class:`~exobench.algorithms.Detector` and
submits its detection statistic, which the detector calibrates to a standard
normal distribution where there is no companion: the one threshold of a phase
(default 5) then means the same false-alarm rate on every dataset. 4D datasets
are detected channel by channel and combined for a flat-spectrum companion
(:func:`exobench.algorithms.combine_channels`).

A new detector is one subclass here naming its algorithm and its options.
"""

import textwrap

import numpy as np

from .registry import SNR_THRESHOLD, Baseline

__all__ = ["DetectorBaseline", "STATISTIC_MAP", "AndromedaBaseline", "FMMFBaseline", "PACOBaseline"]

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


class AndromedaBaseline(DetectorBaseline, name="andromeda"):
    """ANDROMEDA, maximum likelihood on angular differences, renormalised S/N (exobench.algorithms.Andromeda)."""

    algorithm = "andromeda"
    defaults = {"delta": 0.5, "n_pairs": 4, "annulus_width": 1.0, "inner_radius": 1.0, "opt_method": "lsq", "roa": 2.0,
                "filtering_fraction": 0.25, "variance": "difference", "stamp_size": 3.0, "radial_width": 1.0}
    notes = {
        "delta": "minimum displacement (FWHM, chord at the annulus's inner radius) of a source between the "
                 "two frames of a difference; each frame is paired with the nearest such frame in the sequence.",
        "n_pairs": "number of partners each frame chooses, the nearest in the sequence beyond delta (1: the "
                   "paper's single pairing); each pair of frames gives one difference.",
        "annulus_width": "width of the annuli in FWHM (one pairing, scaling and noise level per annulus).",
        "inner_radius": "radius in FWHM inside which the map is NaN.",
        "opt_method": "lsq (the second frame of a difference scaled by least squares over the optimisation "
                      "annulus) or no.",
        "roa": "area of the optimisation annulus over the annulus's (>= 1).",
        "filtering_fraction": "cut-off of the Fourier high-pass filter of frames and PSF, fraction of the "
                              "Nyquist frequency; 1: no filter.",
        "variance": "difference (a robust variance per difference and annulus) or homogeneous (one per annulus).",
        "stamp_size": "side of the companion model's box in FWHM (the map is NaN where it leaves the frame).",
        "radial_width": "width in FWHM of the annuli of the S/N's radial renormalisation; null: raw S/N.",
    }

    @classmethod
    def params_header(cls):
        lines = super().params_header().splitlines(keepends=True)
        after = next(i for i, line in enumerate(lines) if "all spelled out" in line) + 1
        notes = [textwrap.fill(f"{key}: {text}", width=100, initial_indent="#   ", subsequent_indent="#       ")
                 + "\n" for key, text in cls.notes.items()]
        return "".join(lines[:after] + notes + lines[after:])


class PACOBaseline(DetectorBaseline, name="paco"):
    """PACO (fast, sub-pixel PSF model, patches of 1 FWHM radius), its radially renormalised S/N."""

    algorithm = "paco"
    defaults = {"patch_radius": 1.0, "variant": "fast", "subpixel": True, "inner_radius": 1.0,
                "refine_flux_above": None, "normalisation": "radial"}


class FMMFBaseline(DetectorBaseline, name="fmmf"):
    """Forward-model matched filter on annular PCA residuals, 3 components (exobench.algorithms.FMMF)."""

    algorithm = "fmmf"
    defaults = {"ncomp": 3, "delta": 1.0, "asize": 1.0, "inner_radius": 1.0, "outer_radius": None,
                "model": "forward", "stamp": 2.0, "normalisation_width": 1.0, "refine_flux_above": None}
