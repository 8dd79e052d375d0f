"""Scoring a submission for the local leaderboard and storing the result."""

import hashlib
import shutil
from pathlib import Path

from .._atomic import atomic_path
from .._validate import check_choice
from ..challenge.layout import SUBMISSIONS_FOLDER as SUBMISSIONS_DIR
from ..challenge.layout import ChallengeLayout, reference_phase
from ..scoring.program import score_submission
from ..submission import SubmissionError
from .store import Leaderboard, database_url

__all__ = ["MAX_NAME_LENGTH", "SUBMISSIONS_DIR", "DUPLICATE_POLICIES", "submit", "add_contrast", "remove_entry",
           "stored_submission", "sha256_file"]

#: Longest submission name accepted.
MAX_NAME_LENGTH = 200


def sha256_file(path, *, chunk=1 << 20):
    """The SHA-256 of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_challenge(challenge):
    folder = Path(challenge)
    if not folder.is_dir():
        raise FileNotFoundError(f"challenge: folder {str(folder)!r} does not exist")
    return folder


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"name: expected a string, got {type(name).__name__}")
    text = name.strip()
    if not text:
        raise ValueError("name: expected a non-empty name for the submission")
    if len(text) > MAX_NAME_LENGTH:
        raise ValueError(f"name: expected at most {MAX_NAME_LENGTH} characters, got {len(text)}")
    if not text.isprintable():
        raise ValueError(f"name: expected printable characters on one line, got {name!r}")
    return text


def _check_submission(submission):
    path = Path(submission)
    if not path.exists():
        raise FileNotFoundError(f"submission: file {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"submission: {str(path)!r} is not a file; give the submission zip")
    return path


def stored_submission(challenge, sha256):
    """Path of a kept submission: ``CHALLENGE/submissions/<sha256>.zip`` (it may not exist)."""
    if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        raise ValueError(f"sha256: expected 64 lower-case hex digits, got {sha256!r}")
    return ChallengeLayout(challenge).submissions / f"{sha256}.zip"


def _handle_duplicates(url, phase, name, sha256, policy):
    """Refuse, or remove, the scored entries of the same name and bytes on the phase (``keep``: leave them)."""
    if policy == "keep":
        return
    with Leaderboard(url) as board:
        same = [e for e in board.entries(phase=phase, status="scored") if e.name == name and e.sha256 == sha256]
        if same and policy == "refuse":
            raise ValueError(f"submission: {name!r} with these bytes (sha256 {sha256[:12]}) is already on phase "
                             f"{phase}'s leaderboard (entry {same[0].id}); pass duplicate='replace' (--replace) to "
                             f"score it again, or duplicate='keep' to keep both")
        for entry in same:
            board.remove(entry.id)


def remove_entry(challenge, entry_id, *, db=None):
    """Remove an entry from a challenge's leaderboard, and its kept zip when no other entry has those bytes.

    Returns
    -------
    exobench.leaderboard.Entry
        What was removed.
    """
    folder = _check_challenge(challenge)
    with Leaderboard(database_url(folder, db), create=False) as board:
        entry = board.remove(entry_id)
        still_used = any(e.sha256 == entry.sha256 for e in board.entries())
    kept = stored_submission(folder, entry.sha256)
    if not still_used and kept.is_file():
        kept.unlink()
    return entry


def _keep(path, challenge, sha256):
    target = stored_submission(challenge, sha256)
    if target.is_file():
        return target  # content-addressed: the same bytes are there already
    target.parent.mkdir(exist_ok=True)
    with atomic_path(target) as tmp:
        shutil.copyfile(path, tmp)
    return target


#: What :func:`submit` does with the same bytes submitted again under the same name on the same phase.
DUPLICATE_POLICIES = ("refuse", "replace", "keep")


def submit(submission, reference_dir, *, name, db=None, keep=True, work_dir=None, duplicate="refuse", contrast=None,
           executor=None, progress=False):
    """Score a submission on a phase of a challenge and store the result in its leaderboard.

    The scoring is that of ``exobench score``:
    :func:`~exobench.scoring.program.score_submission` on the reference
    phase folder, in the phase's scoring mode.

    Parameters
    ----------
    submission : str or path-like
        The submission zip.
    reference_dir : str or path-like
        The phase's reference folder, ``CHALLENGE/reference/phase_N``: it names the
        challenge (whose leaderboard and kept zips are used) and the phase ``N``.
    name : str
        The name shown in the ranking (one line, at most 200 characters).
    db : str, optional
        SQLAlchemy URL or SQLite file of the leaderboard (see
        :func:`~exobench.leaderboard.database_url`); default
        ``$EXOBENCH_LEADERBOARD_DB``, else ``CHALLENGE/leaderboard.sqlite``.
    keep : bool, optional
        Copy a scored submission to ``CHALLENGE/submissions/<sha256>.zip``
        (default True; the HTML report draws its detection maps from there).
    work_dir : str or path-like, optional
        Where the zip is extracted while scoring (default: the system's temporary folder).
    duplicate : {"refuse", "replace", "keep"}
        The same bytes under the same name on the same phase again: refused
        (default, before any scoring), scored again in place of the old entries,
        or stored beside them.
    contrast : str, optional
        Also compute and store the contrast curves, on every dataset of the
        phase's public folder, of what made the maps: ``BASELINE[:PARAMS]`` (a
        baseline and its parameter file) or ``code:DIR_OR_ZIP`` (a participant's
        code; :func:`exobench.contrast.contrast_source`). A submission zip does
        not say which parameters made it, so it is given here. Checked before
        the scoring; the entry and its curves are stored together, at the
        5-sigma-equivalent false-positive fraction.
    executor : exobench.parallel.Executor, optional
        Where the contrast curves' branches run (in-process by default).
    progress : bool
        Progress bars of the contrast curves.

    Returns
    -------
    Entry
        The stored entry (status ``"scored"``).

    Raises
    ------
    SubmissionError
        The submission is refused; it is stored first, with status ``"refused"``
        and the reason, and not kept.
    FileNotFoundError, ValueError, TypeError
        A missing file or folder, an unknown phase, a bad name, or the same
        submission (name and sha256) already on the phase with ``duplicate="refuse"``.
    DatabaseError
        The database cannot be written.
    """
    layout, phase = reference_phase(reference_dir)
    folder, reference = layout.root, layout.reference(phase)
    name = _check_name(name)
    path = _check_submission(submission)
    if not isinstance(keep, bool):
        raise TypeError(f"keep: expected True or False, got {keep!r}")
    check_choice(duplicate, "duplicate", DUPLICATE_POLICIES)
    url = database_url(folder, db)
    source = None
    if contrast is not None:
        from ..contrast import contrast_source

        public = layout.existing_public(phase)
        source = contrast_source(contrast, public)
    sha256 = sha256_file(path)
    _handle_duplicates(url, phase, name, sha256, duplicate)
    try:
        report = score_submission(path, reference, work_dir=work_dir)
    except SubmissionError as exc:
        with Leaderboard(url) as board:
            board.add_refused(phase=phase, name=name, sha256=sha256, filename=path.name, error=exc)
        raise
    curves = None
    if source is not None:
        curves = {"curves": _phase_curves(public, source, executor=executor, progress=progress),
                  "source": source["source"], "params": source["params"]}
    if keep:
        _keep(path, folder, sha256)
    with Leaderboard(url) as board:
        return board.add_scored(phase=phase, name=name, sha256=sha256, filename=path.name, report=report,
                                contrast=curves)


def _phase_curves(public, source, *, datasets=None, executor=None, progress=False):
    """The contrast curves of ``source`` (:func:`exobench.contrast.contrast_source`) on the phase's datasets."""
    from ..contrast import phase_contrast

    return phase_contrast(public, baseline=source["baseline"], params=source["params"], code=source["code"],
                          datasets=datasets, executor=executor, progress=progress)


def add_contrast(public_dir, entry_name, contrast, *, datasets=None, db=None, executor=None, progress=False):
    """Compute contrast curves on a public phase and store them with the latest scored entry named ``entry_name``.

    Parameters
    ----------
    public_dir : str or path-like
        The phase's public folder, ``CHALLENGE/public/phase_N``: it names the
        challenge and the phase.
    entry_name : str
        The name the submission was scored under on that phase (its latest scored entry).
    contrast : str
        ``BASELINE[:PARAMS]`` or ``code:DIR_OR_ZIP`` (:func:`exobench.contrast.contrast_source`).
    datasets : list of str, optional
        ``INSTRUMENT_K`` names; every dataset of the phase by default. Curves
        already stored for other datasets are kept; those of these datasets are replaced.
    db, executor, progress
        As :func:`submit` takes them.

    Returns
    -------
    (Entry, list of ContrastRecord)
        The entry, with its contrast columns, and all its stored curves.

    Raises
    ------
    ValueError, FileNotFoundError
        Not a public phase folder, no scored entry of that name on the phase
        (the message lists the names there), a bad ``contrast`` or dataset.
    """
    from ..challenge.layout import public_phase
    from ..contrast import contrast_source
    from ..contrast.run import parse_dataset_name

    layout, phase = public_phase(public_dir)
    name = _check_name(entry_name)
    public = layout.public(phase)
    source = contrast_source(contrast, public)
    if datasets is not None:
        datasets = [datasets] if isinstance(datasets, str) else list(datasets)
        for text in datasets:
            parse_dataset_name(text, public)
    url = database_url(layout.root, db)
    with Leaderboard(url, create=False) as board:
        scored = board.entries(phase=phase, status="scored")
    mine = [e for e in scored if e.name == name]
    if not mine:
        names = ", ".join(sorted({repr(e.name) for e in scored})) or "none"
        raise ValueError(f"submit: no scored entry named {name!r} on phase {phase} (names there: {names})")
    curves = _phase_curves(public, source, datasets=datasets, executor=executor, progress=progress)
    with Leaderboard(url) as board:
        records = board.add_contrast(mine[-1].id, curves, source=source["source"], params=source["params"])
        entry = next(e for e in board.entries(phase=phase) if e.id == mine[-1].id)
    return entry, records
