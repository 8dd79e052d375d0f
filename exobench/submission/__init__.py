"""Submissions: the EIDC file format, written and read back, hostile until proven otherwise.

A submission of a phase is a flat set of FITS files (usually zipped): one 2D
detection map per dataset and one detection threshold for the phase, plus
optional files that only the 2019-compatible scoring mode reads.

- :mod:`~exobench.submission.names`: the file names, spelled once;
- :mod:`~exobench.submission.write`: :func:`write_submission` (maps and a threshold
  to a reproducible zip or a folder);
- :mod:`~exobench.submission.archive`: opening a zip or folder with every intake
  check (paths, links, sizes, zip bombs);
- :mod:`~exobench.submission.fits`: a header-first FITS reader that checks sizes
  before it reads;
- :mod:`~exobench.submission.read`: :func:`read_submission`, the maps and the
  threshold checked against a phase's reference;
- :mod:`~exobench.submission.charac`: characterisation submissions (the position and
  flux of every announced companion): written, read and checked;
- :mod:`~exobench.submission.limits`: :class:`Limits` and :class:`SubmissionError`.

Every refusal raises a :class:`SubmissionError` whose message names the file
and the problem. The package needs numpy and astropy only, so that the platform
scoring program can carry it.
"""

from .charac import (CharacDataset, Characterisation, characterisation_files, check_characterisation,
                     read_characterisation, write_characterisation)
from .archive import extract_zip, list_submission_files, open_submission
from .fits import read_bounded_fits, read_bounded_images, read_bounded_scalar
from .limits import DEFAULT_LIMITS, Limits, SubmissionError
from .names import OPTION_FILES, THRESHOLD_FILE, detmap_file_name, fwhm_file_name
from .read import Submission, check_submission, read_submission
from .write import check_output, submission_files, write_submission

__all__ = [
    "SubmissionError", "Limits", "DEFAULT_LIMITS",
    "open_submission", "extract_zip", "list_submission_files",
    "read_bounded_fits", "read_bounded_images", "read_bounded_scalar",
    "CharacDataset", "Characterisation", "characterisation_files", "write_characterisation",
    "read_characterisation", "check_characterisation",
    "Submission", "read_submission", "check_submission",
    "submission_files", "write_submission", "check_output",
    "THRESHOLD_FILE", "OPTION_FILES", "detmap_file_name", "fwhm_file_name",
]
