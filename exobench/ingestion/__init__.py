"""Code submissions: the ingestion program that runs a participant's ``detect.py`` on a public phase.

- :mod:`~exobench.ingestion.program`: :func:`ingest` (``exobench ingest``), :func:`run_detect`,
  :func:`detect_dataset` (one dataset's map, as the contrast curves of code submissions take it)
  and the platform program (``ingestion_program/ingest.py``);
- :mod:`~exobench.ingestion.child`: the child process in which the participant's code runs.
"""

from .program import (DEFAULT_TIME_LIMIT, CodeError, IngestionReport, check_code_dir, detect_dataset, ingest, run_detect,
                      unpacked_code)

__all__ = ["DEFAULT_TIME_LIMIT", "CodeError", "IngestionReport", "check_code_dir", "detect_dataset", "ingest",
           "run_detect", "unpacked_code"]
