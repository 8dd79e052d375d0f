"""A code submission for the code phases: median ADI, then the exact S/N map, thresholded at S/N 5.

Zip this folder's content (``detect.py`` at the top of the zip, with any helper modules
or files it needs) and submit the zip. On Codalab v1.5, add a file named ``metadata``
holding the line ``description: code submission`` (without a ``command``): the platform
takes a zip as code only when it holds one. Try it locally first::

    exobench ingest code_submission public_data/phase_1 -o submission.zip

The ingestion program imports this module in a fresh process for each dataset, calls
``detect(dataset)`` (an :class:`exobench.data.Dataset` read from the phase folder) with a
time limit, and writes the maps and ``THRESHOLD`` as a submission for the scoring program.
"""

import numpy as np

from exobench.algorithms import MedianADI, PerChannelADI
from exobench.detmap import snr_map

#: The phase's detection threshold: map values strictly above it are detections.
THRESHOLD = 5.0


def detect(dataset):
    """The detection map of one dataset: a 2D array of the frame's shape."""
    algorithm = MedianADI() if dataset.cube.ndim == 3 else PerChannelADI(algorithm="median")
    final = algorithm.process(dataset).final
    return snr_map(final, float(np.mean(dataset.fwhm)))
