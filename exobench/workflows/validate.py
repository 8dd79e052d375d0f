"""``exobench validate``: a participant's submission checked against the public data, no truth needed.

The scorer's own intake (:func:`exobench.submission.check_submission`: names,
hostile archives, sizes, shapes, dtypes, the threshold) runs against the datasets
of a public phase folder, whose frame shapes come from the cubes' FITS headers.
Every problem is reported, not only the first.
"""

import dataclasses
import tempfile
from pathlib import Path

__all__ = ["ValidationReport", "PhaseDataset", "validate_submission", "public_datasets"]


@dataclasses.dataclass(frozen=True)
class PhaseDataset:
    """A dataset of a public phase as the intake needs it: its name and its frame shape."""

    instrument: str
    dataset_id: str
    map_shape: tuple


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_submission` found: ``problems`` refuse the submission, ``warnings`` do not."""

    problems: tuple
    warnings: tuple
    datasets: int

    @property
    def ok(self):
        """Whether the scorer would accept the submission."""
        return not self.problems

    def lines(self):
        """One line per problem (``error:``) and per warning (``warning:``), then a verdict."""
        out = [f"error: {p}" for p in self.problems] + [f"warning: {w}" for w in self.warnings]
        verdict = ("valid" if self.ok else f"invalid: {len(self.problems)} problem(s)")
        return out + [f"{verdict} ({self.datasets} dataset(s) in the phase)"]


def public_datasets(public_dir):
    """The :class:`PhaseDataset` of every dataset of a public phase folder (frame shapes from the headers).

    Raises
    ------
    FileNotFoundError, ValueError
        The folder does not exist or holds no dataset (named).
    """
    from astropy.io import fits

    from ..data.fits_io import eidc_path, find_datasets

    found = find_datasets(public_dir)
    if not found:
        raise ValueError(f"public_dir: no {{instrument}}_cube_{{k}}.fits file in {str(public_dir)!r}")
    datasets = []
    for instrument, k in found:
        header = fits.getheader(eidc_path(public_dir, instrument, k, "cube"))
        datasets.append(PhaseDataset(instrument, k, (int(header["NAXIS2"]), int(header["NAXIS1"]))))
    return datasets


def validate_submission(submission, public_dir):
    """Check a submission (zip or folder) against a public phase folder.

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from exobench.examples import example_dataset
    >>> from exobench.data.fits_io import write_dataset
    >>> from exobench.submission import write_submission
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_dataset(example_dataset(n_frames=5, size=21), root / "public")
    >>> sub = write_submission({("example", "1"): np.zeros((21, 21))}, 5.0, root / "sub.zip")
    >>> validate_submission(sub, root / "public").lines()
    ['valid (1 dataset(s) in the phase)']
    """
    from ..submission import SubmissionError, check_submission, open_submission

    datasets = public_datasets(public_dir)
    with tempfile.TemporaryDirectory(prefix="exobench-validate-") as work:
        try:
            folder = open_submission(Path(submission), work)
        except SubmissionError as exc:
            return ValidationReport(problems=(str(exc),), warnings=(), datasets=len(datasets))
        problems, warnings = check_submission(folder, datasets)
    return ValidationReport(problems=tuple(problems), warnings=tuple(warnings), datasets=len(datasets))
