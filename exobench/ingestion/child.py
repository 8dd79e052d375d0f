"""The child process of the ingestion program: the participant's code runs here, never in the parent.

Run as a script, by its path (``python .../exobench/ingestion/child.py MODE ...``), so
that ``import exobench`` finds the complete exobench of the environment (or of
``PYTHONPATH``), not the partial copy vendored beside the platform's ingestion
program. Two modes:

``probe CODE_DIR PHASE_DIR RESULT``
    imports the participant's module, checks ``detect`` and ``THRESHOLD``, lists the
    phase's datasets; writes ``{"threshold": float, "datasets": [[instrument, k], ...]}``
    as JSON to ``RESULT``.
``detect CODE_DIR PHASE_DIR RESULT INSTRUMENT K``
    reads the dataset, makes the empty file ``RESULT.started`` (the time limit of
    ``detect`` runs from there), calls ``detect(dataset)`` and checks the map; writes the
    map as ``.npy`` to ``RESULT``.

A failure writes ``{"error": "one line"}`` to ``RESULT.error`` and exits 1; what the
participant's code prints goes to the inherited stdout and stderr. This file uses the
standard library and numpy at import time (it runs on the platforms' Pythons, from 3.7).
"""

import importlib
import json
import math
import os
import sys

__all__ = ["MODULE", "DETECT", "THRESHOLD", "load_participant", "participant_threshold", "detection_map", "main"]

#: The participant's module: ``detect.py`` at the top of the code folder.
MODULE = "detect"
#: The function the module exposes: ``detect(dataset) -> 2D map`` (or a tuple whose first item is the map).
DETECT = "detect"
#: The module-level float: the phase's detection threshold (values strictly above it are detections).
THRESHOLD = "THRESHOLD"


def load_participant(code_dir):
    """Import ``detect.py`` of ``code_dir`` (first on ``sys.path``, so that its helper modules import too)."""
    code_dir = os.path.abspath(code_dir)
    path = os.path.join(code_dir, MODULE + ".py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"code: no {MODULE}.py in {code_dir!r}")
    sys.path.insert(0, code_dir)
    module = importlib.import_module(MODULE)
    if not callable(getattr(module, DETECT, None)):
        raise ValueError(f"{MODULE}.py: no function {DETECT}(dataset); define one that returns the detection map")
    return module


def participant_threshold(module):
    """``module.THRESHOLD`` as a finite float, else a ValueError naming it."""
    if not hasattr(module, THRESHOLD):
        raise ValueError(f"{MODULE}.py: no {THRESHOLD}; set a module-level {THRESHOLD} = <float>, the phase's "
                         f"detection threshold")
    value = getattr(module, THRESHOLD)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{MODULE}.py: {THRESHOLD}: expected a finite number, got {value!r}")
    return number


def detection_map(module, dataset):
    """Call ``detect(dataset)`` and check what it returns: a real 2D array of the frame's shape, as float64."""
    import numpy as np

    result = getattr(module, DETECT)(dataset)
    if isinstance(result, tuple):
        if not result:
            raise ValueError(f"{DETECT}() returned an empty tuple; return the detection map")
        result = result[0]
    try:
        image = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{DETECT}() returned {type(result).__name__}, not an array of numbers") from None
    shape = tuple(dataset.cube.shape[-2:])
    if image.shape != shape:
        raise ValueError(f"{DETECT}() returned a map of shape {image.shape}; expected the frame's shape {shape}")
    return image


def _one_line(exc):
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _probe(code_dir, phase_dir, result):
    module = load_participant(code_dir)
    threshold = participant_threshold(module)
    from exobench.data.fits_io import find_datasets

    found = [list(pair) for pair in find_datasets(phase_dir)]
    with open(result, "w") as handle:
        json.dump({"threshold": threshold, "datasets": found}, handle)


def _detect(code_dir, phase_dir, result, instrument, dataset_id):
    import numpy as np

    from exobench.data.fits_io import read_dataset

    module = load_participant(code_dir)
    dataset = read_dataset(phase_dir, instrument, dataset_id)
    open(result + ".started", "w").close()  # the parent's time limit runs from here
    image = detection_map(module, dataset)
    with open(result, "wb") as handle:
        np.save(handle, image, allow_pickle=False)


def main(argv=None):
    """``child.py probe CODE_DIR PHASE_DIR RESULT`` or ``child.py detect CODE_DIR PHASE_DIR RESULT INSTRUMENT K``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    result = argv[3] if len(argv) > 3 else None
    try:
        if len(argv) == 4 and argv[0] == "probe":
            _probe(*argv[1:])
        elif len(argv) == 6 and argv[0] == "detect":
            _detect(*argv[1:])
        else:
            raise ValueError(f"usage: child.py probe|detect CODE_DIR PHASE_DIR RESULT [INSTRUMENT K], got {argv!r}")
    except BaseException as exc:  # the participant's code may raise anything, SystemExit included
        if result is not None:
            with open(result + ".error", "w") as handle:
                json.dump({"error": _one_line(exc)}, handle)
        return 1
    return 0


if __name__ == "__main__":
    # Run by path, this folder is first on sys.path; exobench must come from the environment.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.exit(main())
