"""Supervised detection with convolutional networks, SODINN-like (Gomez Gonzalez et al. 2018).

- :mod:`exobench.cnn.mlar`: MLAR frames (multi-level low-rank approximation
  residuals per annulus, derotated and collapsed);
- :mod:`exobench.cnn.patches`: vectorised patch extraction;
- :mod:`exobench.cnn.matched_filter`: the MLAR frames' matched-filter S/N planes;
- :mod:`exobench.cnn.samples`: the settings of labelled samples and the samples themselves;
- :mod:`exobench.cnn.labels`: balanced, seeded labelled samples (injected
  companions at calibrated S/N; flipped-angle negatives);
- :mod:`exobench.cnn.samples_file`: labelled samples in HDF5 files.

Those need numpy, scipy and h5py only (no deep-learning framework); see docs/cnn.md.

- :mod:`exobench.cnn.models`: SODINN's Conv3D and ConvLSTM2D networks and a
  noise-aware Conv3D (keras 3, torch backend by default);
- :mod:`exobench.cnn.training`: seeded training with early stopping, ``.keras``
  model files with their metadata;
- :mod:`exobench.cnn.probability`: probability maps, ensembles averaged in log odds;
- :mod:`exobench.cnn.nulls`: the permuted-angle derotations whose maps join the null;
- :mod:`exobench.cnn.significance`: probability maps calibrated on their dataset's null;
- :mod:`exobench.cnn.threshold`: one threshold calibrated on flipped-angle negatives;
- :mod:`exobench.cnn.predictions`: probability maps in HDF5 files;
- :mod:`exobench.cnn.options`: :class:`CNNOptions`, the options of the baseline;
- :mod:`exobench.cnn.pipeline`: :func:`detection_map`, one dataset's map from its options;
- :mod:`exobench.cnn.baseline`: the ``cnn`` baseline (``exobench baseline cnn``).

Importing this package imports no deep-learning framework: keras (and its
backend) is imported when a model is built, trained or loaded.
"""

from .mlar import DEFAULT_LEVELS, MLARFrames, mlar_frames, pixel_positions
from .patches import extract_patches, patch_size
from .samples import LabelledSamples, LabelSettings, dataset_checksum
from .labels import generate_samples
from .samples_file import load_samples, save_samples
from .models import MODEL_NAMES, build_model, model_inputs, noise_aware_conv3d, sodinn_conv3d, sodinn_convlstm
from .training import TrainedModel, load_model, read_metadata, save_model, train_model
from .probability import ProbabilityMap, average_maps, probability_map
from .nulls import permuted_angles
from .significance import null_significance_map
from .threshold import ThresholdCalibration, calibrate_threshold, threshold_for_rate
from .predictions import load_predictions, save_predictions
from .options import CNNOptions
from .pipeline import DetectionResult, detection_map

__all__ = [
    "DEFAULT_LEVELS",
    "MLARFrames",
    "mlar_frames",
    "patch_size",
    "extract_patches",
    "pixel_positions",
    "LabelSettings",
    "LabelledSamples",
    "generate_samples",
    "save_samples",
    "load_samples",
    "dataset_checksum",
    "MODEL_NAMES",
    "build_model",
    "model_inputs",
    "sodinn_conv3d",
    "sodinn_convlstm",
    "noise_aware_conv3d",
    "TrainedModel",
    "train_model",
    "save_model",
    "load_model",
    "read_metadata",
    "ProbabilityMap",
    "probability_map",
    "average_maps",
    "permuted_angles",
    "null_significance_map",
    "ThresholdCalibration",
    "calibrate_threshold",
    "threshold_for_rate",
    "save_predictions",
    "load_predictions",
    "CNNOptions",
    "detection_map",
    "DetectionResult",
]
