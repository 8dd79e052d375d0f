"""Make the sample submissions: one zip per phase, made by an exobench baseline.

Usage::

    python make_sample_submission.py [-o OUT_DIR] [--challenge CHALLENGE_DIR] [--baseline pca] [--phase N]

The data, by priority (:func:`challenge_folder`, which the notebook uses too):

1. ``--challenge CHALLENGE_DIR``: a challenge built by ``exobench build`` (``public/phase_N/``
   and, for organisers and for a challenge you built yourself, ``reference/phase_N/``), or a
   folder of public data alone (``public_data/phase_N/``, as in a challenge's starting kit);
2. ``$EXOBENCH_CHALLENGE_DIR``, the same (the default challenge is built there when it
   does not exist);
3. the starting kit's own ``public_data/phase_N/``, beside this script;
4. the default challenge, built into ``OUT_DIR/challenge`` (about 10 s) unless it is
   already there.

For every phase ``N`` it writes ``OUT_DIR/sample_submission_phase_N.zip`` (default
``OUT_DIR``: ``sample_submissions`` in the current folder; replaced when it exists): on a
detection phase exactly what
``exobench baseline pca PUBLIC_PHASE_DIR -o OUT_DIR/sample_submission_phase_N.zip``
writes; on a characterisation phase (its folder holds ``{instrument}_candidates_{k}.fits``
files) a first guess of every announced companion, :func:`exobench.charac.first_guess_phase`:
the candidates' positions and the aperture flux on a median-ADI final frame in units of the
PSF file (``--baseline`` is not used there). Where the reference is there it scores it as the platform does and writes
the scores to ``OUT_DIR/scores_phase_N.json``; where it is not (public data only), it
validates it as ``exobench validate`` does, against the phase's public data.

The sample submissions are made on your machine rather than shipped: the data
themselves are built on your machine, and a zip of float64 maps of both phases
weighs some 250 to 300 kB.
"""

import os
import re
import sys
import tempfile
from pathlib import Path

from exobench.cli import OneLineParser, first_line

#: The environment variable naming an existing built challenge.
CHALLENGE_ENV = "EXOBENCH_CHALLENGE_DIR"
_PHASE = re.compile(r"^phase_([1-9][0-9]*)$")
#: The folder of this script: in a starting kit, its ``public_data/`` is beside it.
KIT_DIR = Path(__file__).absolute().parent


class KitError(Exception):
    """An error reported as one line."""


def challenge_folder(given=None, out_dir=None, *, progress=True):
    """The data to use: ``given``, else ``$EXOBENCH_CHALLENGE_DIR``, else this kit's ``public_data/``, else the
    default challenge built in ``out_dir/challenge`` (``out_dir``: a new temporary folder when None).

    Returns
    -------
    pathlib.Path
        A folder that :func:`phase_folders` reads.
    """
    if given is not None:
        folder = Path(given)
        if not folder.is_dir():
            raise KitError(f"--challenge: {str(folder)!r} is not a folder")
        return folder
    if os.environ.get(CHALLENGE_ENV):
        folder = Path(os.environ[CHALLENGE_ENV])
        if folder.is_dir():
            return folder
        if folder.exists():
            raise KitError(f"${CHALLENGE_ENV}: {str(folder)!r} is not a folder")
        return _build_default(folder, progress)
    if _phases_in(KIT_DIR / "public_data"):
        return KIT_DIR
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="exobench-kit-")
    folder = Path(out_dir) / "challenge"
    if (folder / "public").is_dir():
        return folder
    return _build_default(folder, progress)


def _build_default(folder, progress):
    from exobench.builder import build_challenge
    from exobench.builder.definition import DEFAULT_CHALLENGE

    if progress:
        print(f"building the default challenge in {folder} (about 10 s)", file=sys.stderr)
    build_challenge(DEFAULT_CHALLENGE, folder)
    return folder


def _phases_in(base):
    """``{N: base/phase_N}`` of the phase folders in ``base`` (empty when there is none)."""
    if not base.is_dir():
        return {}
    return dict(sorted((int(m[1]), p) for p in base.iterdir() if p.is_dir() and (m := _PHASE.match(p.name))))


def phase_folders(challenge):
    """``{N: public phase folder}`` of a built challenge (``public/``) or of public data alone (``public_data/``)."""
    for name in ("public", "public_data", "starting_kit/public_data"):
        phases = _phases_in(Path(challenge) / name)
        if phases:
            return phases
    raise KitError(f"challenge: no public/phase_N or public_data/phase_N folder in {str(challenge)!r}; give a "
                   f"challenge built by exobench build or a starting kit's folder")


def reference_folder(challenge, number):
    """``reference/phase_N`` of a built challenge, or None where the truth is not there (public data alone)."""
    folder = Path(challenge) / "reference" / f"phase_{number}"
    return folder if folder.is_dir() else None


def validate_zip(path, public):
    """Check a submission zip against a public phase folder as ``exobench validate`` does (no truth needed).

    Returns
    -------
    exobench.workflows.validate.ValidationReport
        Its ``ok`` says whether the platform would accept the zip; ``lines()`` says why not.
    """
    from exobench.workflows.validate import validate_submission

    return validate_submission(path, public)


def is_characterisation(public):
    """Whether a public phase folder is a characterisation phase (it announces its companions)."""
    from exobench.workflows.validate import characterisation_datasets

    return characterisation_datasets(public) is not None


def write_sample(public, path, *, baseline="pca", progress=True):
    """Write the sample submission of one public phase folder to ``path`` (a zip, replaced): the detection
    maps of ``baseline``, or on a characterisation phase the first guess of every candidate.

    Returns
    -------
    pathlib.Path, str
        The zip and one line saying what it holds.
    """
    if is_characterisation(public):
        from exobench.charac import first_guess_phase
        from exobench.submission import write_characterisation

        estimates = first_guess_phase(public)
        path = write_characterisation(estimates, path, overwrite=True)
        companions = sum(len(rows) for rows in estimates.values())
        return path, (f"{companions} companion(s) in {len(estimates)} dataset(s): the candidates' positions, "
                      f"aperture fluxes on a median-ADI final frame")
    from exobench.baselines import run_baseline

    result = run_baseline(baseline, public, progress=progress)
    path = result.write(path, overwrite=True)
    return path, f"{len(result.maps)} detection map(s), threshold {result.threshold:g}"


def make_samples(challenge, out_dir, *, baseline="pca", phases=None, progress=True):
    """Write ``sample_submission_phase_N.zip`` for every phase (or those of ``phases``, :func:`write_sample`);
    score those whose reference is there, validate the others against their public data.

    Returns
    -------
    dict
        ``N -> (zip path, report)``: the ``ScoreReport`` where the reference is there, else the
        ``ValidationReport``.
    """
    from exobench.scoring.program import score_submission
    from exobench.scoring.program_output import scores_json, scores_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folders = phase_folders(challenge)
    unknown = sorted(set(phases or ()) - set(folders))
    if unknown:
        raise KitError(f"--phase: no phase {unknown[0]} in {str(challenge)!r} (phases: "
                       f"{', '.join(map(str, folders))})")
    results = {}
    for number, public in folders.items():
        if phases and number not in phases:
            continue
        try:
            path, what = write_sample(public, out_dir / f"sample_submission_phase_{number}.zip", baseline=baseline,
                                      progress=progress)
        except (OSError, ValueError) as exc:
            raise KitError(f"sample submission of phase {number}: {first_line(exc)}") from exc
        print(f"wrote {path} ({what})")
        reference = reference_folder(challenge, number)
        if reference is not None:
            report = score_submission(path, reference)
            (out_dir / f"scores_phase_{number}.json").write_text(scores_json(report), encoding="utf-8")
            sys.stdout.write(scores_text(report))
        else:  # public data alone: the platform scores it; here it is checked as the platform will read it
            report = validate_zip(path, public)
            print("\n".join(report.lines()))
            if not report.ok:
                raise KitError(f"{path.name} would be refused: {report.problems[0]}")
        results[number] = (path, report)
    return results


def main(argv=None):
    parser = OneLineParser(prog="make_sample_submission.py",
                     description="Run an exobench baseline on every phase of a built challenge and write one "
                                 "sample submission zip per phase (scored when the reference is there, else "
                                 "validated against the public data).")
    parser.add_argument("-o", "--output", default="sample_submissions", metavar="OUT_DIR",
                        help="folder of the zips (default: sample_submissions)")
    parser.add_argument("--challenge", metavar="CHALLENGE_DIR",
                        help=f"a built challenge or a folder holding public_data/phase_N (default: "
                             f"${CHALLENGE_ENV}, else the kit's public_data/ beside this script, else the default "
                             f"challenge built in OUT_DIR/challenge)")
    parser.add_argument("--baseline", default="pca",
                        help="the baseline of the detection phases (exobench baseline --list; default pca)")
    parser.add_argument("--phase", type=int, action="append", metavar="N",
                        help="only this phase (repeatable; default: every phase)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        from exobench.baselines import available_baselines

        if args.baseline not in available_baselines():
            raise KitError(f"--baseline: unknown or unavailable baseline {args.baseline!r}; expected one of "
                           f"{', '.join(available_baselines())}")
        out_dir = Path(args.output)
        if out_dir.exists() and not out_dir.is_dir():
            raise KitError(f"--output: {str(out_dir)!r} is a file")
        challenge = challenge_folder(args.challenge, out_dir, progress=not args.quiet)
        make_samples(challenge, out_dir, baseline=args.baseline, phases=args.phase, progress=not args.quiet)
    except KitError as exc:
        print(f"make_sample_submission.py: error: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"make_sample_submission.py: error: {type(exc).__name__}: {first_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
