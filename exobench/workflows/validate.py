"""``exobench validate``: a participant's submission checked against the public data, no truth needed.

The scorer's own intake (:func:`exobench.submission.check_submission`: names,
hostile archives, sizes, shapes, dtypes, the threshold) runs against the datasets
of a public phase folder, whose frame shapes come from the cubes' FITS headers.
Every problem is reported, not only the first. A public folder with
``{instrument}_candidates_{k}.fits`` files is a characterisation phase: its
submission is checked by :func:`exobench.submission.check_characterisation`
(one file per dataset, one row per candidate, a flux per channel).
"""

import dataclasses
import tempfile
from pathlib import Path

__all__ = ["ValidationReport", "PhaseDataset", "validate_submission", "public_datasets", "characterisation_datasets"]


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


def characterisation_datasets(public_dir):
    """The :class:`~exobench.submission.CharacDataset` of every dataset of a public characterisation phase
    folder (companions from its candidates file, channels from its cube's header), or None when the folder
    holds no candidates file (a detection phase).

    Raises
    ------
    ValueError
        Some datasets have a candidates file and others not, or one is not an (N, 2) array.
    """
    from astropy.io import fits

    from ..challenge.layout import candidates_file_name
    from ..data.fits_io import eidc_path, find_datasets
    from ..submission import CharacDataset

    found = find_datasets(public_dir)
    paths = {key: Path(public_dir) / candidates_file_name(*key) for key in found}
    have = [key for key, path in paths.items() if path.is_file()]
    if not have:
        return None
    if len(have) != len(found):
        missing = sorted(paths[key].name for key in found if key not in have)
        raise ValueError(f"public_dir: a characterisation phase without {', '.join(missing)}")
    datasets = []
    for key in found:
        candidates = fits.getdata(paths[key])
        if candidates is None or candidates.ndim != 2 or candidates.shape[1] != 2:
            raise ValueError(f"public_dir: {paths[key].name}: expected an (N, 2) array of (x, y)")
        header = fits.getheader(eidc_path(public_dir, *key, "cube"))
        channels = int(header["NAXIS4"]) if header["NAXIS"] == 4 else 1
        datasets.append(CharacDataset(*key, len(candidates), channels))
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
    from ..submission import SubmissionError, check_characterisation, check_submission, open_submission

    datasets = public_datasets(public_dir)
    characterised = characterisation_datasets(public_dir)
    with tempfile.TemporaryDirectory(prefix="exobench-validate-") as work:
        try:
            folder = open_submission(Path(submission), work)
        except SubmissionError as exc:
            return ValidationReport(problems=(str(exc),), warnings=(), datasets=len(datasets))
        if characterised is None:
            problems, warnings = check_submission(folder, datasets)
        else:
            problems, warnings = check_characterisation(folder, characterised)
    return ValidationReport(problems=tuple(problems), warnings=tuple(warnings), datasets=len(datasets))
