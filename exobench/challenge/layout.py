"""Where the files of a built challenge folder live: the one place that spells its paths.

A built challenge folder::

    CHALLENGE_DIR/
        challenge.yaml                    the challenge's name and phases (:mod:`exobench.challenge.config`)
        manifest.json                     sha256 of every file, the definition, library versions
        public/phase_N/                   the public data of phase N (EIDC layout)
        reference/phase_N/                the withheld truth of phase N: positions, FWHM,
                                          phase.json (:mod:`exobench.challenge.settings`), truth.csv
        starting_kit/public_data/phase_N/ the participants' copy of the public data
        submissions/, leaderboard.sqlite  what the local leaderboard keeps

A characterisation phase (:mod:`exobench.challenge.kinds`) adds, per dataset::

    public/phase_N/{instrument}_candidates_{k}.fits      (N, 2) approximate (x, y) of its companions
    reference/phase_N/{instrument}_fluxes_{k}.fits       (N, n_channels) true fluxes, in units of the PSF file
    reference/phase_N/{instrument}_pxscale_{k}.fits      the pixel scale (arcsec/px), when known

and its submissions hold ``{instrument}_charac_{k}.fits``; the functions below spell
these names.

Every other module asks :class:`ChallengeLayout` for these paths. This module
uses the standard library only, so that the platform scoring program can carry it.
"""

import dataclasses
import os
import re
from pathlib import Path

__all__ = [
    "ChallengeLayout",
    "reference_phase",
    "CHALLENGE_FILE",
    "MANIFEST_FILE",
    "PHASE_FILE",
    "TRUTH_FILE",
    "LEADERBOARD_FILE",
    "SUBMISSIONS_FOLDER",
    "phase_folder_name",
    "phase_number",
    "candidates_file_name",
    "CANDIDATES_NAME",
    "charac_file_name",
    "fluxes_file_name",
    "pxscale_file_name",
]

#: The challenge's name and phases.
CHALLENGE_FILE = "challenge.yaml"
#: Checksums of every file of the build, the definition and the versions of the libraries.
MANIFEST_FILE = "manifest.json"
#: The scoring settings of one phase, in its reference folder.
PHASE_FILE = "phase.json"
#: Every injected companion of one phase, in its reference folder.
TRUTH_FILE = "truth.csv"
#: The local leaderboard's SQLite database.
LEADERBOARD_FILE = "leaderboard.sqlite"
#: The scored submissions the local leaderboard keeps, as ``<sha256>.zip``.
SUBMISSIONS_FOLDER = "submissions"

_PHASE_FOLDER = re.compile(r"^phase_([1-9][0-9]*)$")


def phase_folder_name(number):
    """The folder name of phase ``number`` (``phase_N``).

    >>> phase_folder_name(2)
    'phase_2'
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"phase: expected a phase number (an integer >= 1), got {number!r}")
    return f"phase_{number}"


def phase_number(name):
    """The phase number of a folder name ``phase_N``, or None when the name is not one.

    >>> phase_number("phase_12"), phase_number("phase_0"), phase_number("notes")
    (12, None, None)
    """
    match = _PHASE_FOLDER.match(name)
    return int(match.group(1)) if match else None


#: The name of a candidates file (``{instrument}_candidates_{k}.fits``): what tells a characterisation phase.
CANDIDATES_NAME = re.compile(r"^(?P<instrument>.+)_candidates_(?P<k>[^_]+)\.fits$")


def candidates_file_name(instrument, dataset_id):
    """The public file of a characterisation dataset's announced companions (approximate (x, y), N x 2).

    >>> candidates_file_name("naco", "1")
    'naco_candidates_1.fits'
    """
    return f"{instrument}_candidates_{dataset_id}.fits"


def charac_file_name(instrument, dataset_id):
    """A characterisation submission's file of one dataset (x, y, flux per channel; N rows).

    >>> charac_file_name("naco", "1")
    'naco_charac_1.fits'
    """
    return f"{instrument}_charac_{dataset_id}.fits"


def fluxes_file_name(instrument, dataset_id):
    """The reference file of a characterisation dataset's true fluxes (N x n_channels).

    >>> fluxes_file_name("naco", "1")
    'naco_fluxes_1.fits'
    """
    return f"{instrument}_fluxes_{dataset_id}.fits"


def pxscale_file_name(instrument, dataset_id):
    """A dataset's pixel scale (arcsec per pixel), in the public data and a characterisation reference.

    >>> pxscale_file_name("naco", "1")
    'naco_pxscale_1.fits'
    """
    return f"{instrument}_pxscale_{dataset_id}.fits"


@dataclasses.dataclass(frozen=True)
class ChallengeLayout:
    """The paths of a built challenge folder rooted at ``root`` (nothing is read or created).

    Examples
    --------
    >>> layout = ChallengeLayout("out")
    >>> layout.public(1).as_posix(), layout.reference(2).as_posix()
    ('out/public/phase_1', 'out/reference/phase_2')
    >>> layout.kit_public(1).as_posix()
    'out/starting_kit/public_data/phase_1'
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def challenge_file(self):
        """``challenge.yaml``."""
        return self.root / CHALLENGE_FILE

    @property
    def manifest_file(self):
        """``manifest.json``."""
        return self.root / MANIFEST_FILE

    @property
    def public_root(self):
        """``public/``: every phase's public data."""
        return self.root / "public"

    @property
    def reference_root(self):
        """``reference/``: every phase's withheld truth."""
        return self.root / "reference"

    @property
    def starting_kit(self):
        """``starting_kit/``: what participants get beside the data."""
        return self.root / "starting_kit"

    @property
    def submissions(self):
        """``submissions/``: the zips the local leaderboard keeps."""
        return self.root / SUBMISSIONS_FOLDER

    @property
    def leaderboard_db(self):
        """``leaderboard.sqlite``: the local leaderboard's default database."""
        return self.root / LEADERBOARD_FILE

    def public(self, number):
        """``public/phase_N``."""
        return self.public_root / phase_folder_name(number)

    def reference(self, number):
        """``reference/phase_N``."""
        return self.reference_root / phase_folder_name(number)

    def phase_file(self, number):
        """``reference/phase_N/phase.json``."""
        return self.reference(number) / PHASE_FILE

    def truth_file(self, number):
        """``reference/phase_N/truth.csv``."""
        return self.reference(number) / TRUTH_FILE

    def kit_public(self, number):
        """``starting_kit/public_data/phase_N``: the participants' copy of phase N's public data."""
        return self.starting_kit / "public_data" / phase_folder_name(number)

    def reference_phases(self):
        """The numbers of the ``reference/phase_N`` folders present, increasing."""
        return self._phases(self.reference_root)

    def public_phases(self):
        """The numbers of the ``public/phase_N`` folders present, increasing."""
        return self._phases(self.public_root)

    @staticmethod
    def _phases(folder):
        if not folder.is_dir():
            return []
        numbers = (phase_number(path.name) for path in folder.iterdir() if path.is_dir())
        return sorted(n for n in numbers if n is not None)

    def existing_reference(self, number):
        """``reference/phase_N``, checked to exist; the error lists the phases there.

        Raises
        ------
        FileNotFoundError
            The challenge folder or the phase's reference folder is missing.
        """
        return self._existing(number, self.reference(number), self.reference_phases(), "reference")

    def existing_public(self, number):
        """``public/phase_N``, checked to exist; the error lists the phases there."""
        return self._existing(number, self.public(number), self.public_phases(), "public")

    def _existing(self, number, path, found, what):
        if not self.root.is_dir():
            raise FileNotFoundError(f"challenge: folder {str(self.root)!r} does not exist")
        if not path.is_dir():
            where = (f"phases there: {', '.join(map(str, found))}" if found
                     else f"no {what}/phase_N folder in {str(self.root)!r}")
            raise FileNotFoundError(f"phase: no {what} folder {str(path)!r} ({where})")
        return path


def reference_phase(reference_dir):
    """The challenge and the phase number of ``CHALLENGE/reference/phase_N``: how every command that is
    given a reference phase folder finds the challenge it belongs to (its leaderboard, its public data).

    Parameters
    ----------
    reference_dir : str or path-like
        A reference phase folder of a built challenge.

    Returns
    -------
    (ChallengeLayout, int)

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    ValueError
        The folder is not ``reference/phase_N`` of a challenge folder.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "reference" / "phase_2").mkdir(parents=True)
    >>> layout, number = reference_phase(root / "reference" / "phase_2")
    >>> layout.root == root, number
    (True, 2)
    """
    folder = Path(os.path.abspath(reference_dir))  # '.' and '..' named; symbolic links kept as given
    number = phase_number(folder.name)
    inside = number is not None and folder.parent.name == "reference"
    if not folder.is_dir():
        found = ChallengeLayout(folder.parent.parent).reference_phases() if inside else []
        where = f" (phases there: {', '.join(map(str, found))})" if found else ""
        raise FileNotFoundError(f"reference_dir: folder {str(reference_dir)!r} does not exist{where}")
    if not inside:
        raise ValueError(f"reference_dir: expected a phase folder of a challenge's reference tree "
                         f"(CHALLENGE/reference/phase_N), got {str(reference_dir)!r}")
    return ChallengeLayout(folder.parent.parent), number

