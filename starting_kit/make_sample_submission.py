"""Make the sample submissions: one zip per phase, made by an exobench baseline.

Usage::

    python make_sample_submission.py [-o OUT_DIR] [--challenge CHALLENGE_DIR] [--baseline pca] [--phase N]

``CHALLENGE_DIR`` is a challenge built by ``exobench build`` (with ``public/phase_N/``
and, for organisers and for a challenge you built yourself, ``reference/phase_N/``);
by default ``$EXOBENCH_CHALLENGE_DIR``, else the default challenge, built into
``OUT_DIR/challenge`` (about 10 s) unless it is already there. A folder of public
data alone (``public_data/phase_N/``, as in a challenge's starting kit) works too.

For every phase ``N`` it writes ``OUT_DIR/sample_submission_phase_N.zip`` (default
``OUT_DIR``: ``sample_submissions`` in the current folder), exactly what
``exobench baseline pca CHALLENGE_DIR/public/phase_N -o OUT_DIR/sample_submission_phase_N.zip``
writes, and, where the reference is there, scores it as the platform does and
writes the scores to ``OUT_DIR/scores_phase_N.json``.

The sample submissions are made on your machine rather than shipped: the data
themselves are built on your machine, and a zip of float64 maps of both phases
weighs some 250 to 300 kB.
"""

import argparse
import os
import re
import sys
from pathlib import Path

#: The environment variable naming an existing built challenge.
CHALLENGE_ENV = "EXOBENCH_CHALLENGE_DIR"
_PHASE = re.compile(r"^phase_([1-9][0-9]*)$")


class KitError(Exception):
    """An error reported as one line."""


def challenge_folder(given, out_dir, *, progress=True):
    """The challenge to use: ``given``, else ``$EXOBENCH_CHALLENGE_DIR``, else the default one built in ``out_dir``."""
    if given is None and os.environ.get(CHALLENGE_ENV):
        given, where = os.environ[CHALLENGE_ENV], f"${CHALLENGE_ENV}"
    else:
        where = "--challenge"
    if given is not None:
        folder = Path(given)
        if not folder.is_dir():
            raise KitError(f"{where}: {str(folder)!r} is not a folder")
        return folder
    folder = Path(out_dir) / "challenge"
    if (folder / "public").is_dir():
        return folder
    from exobench.builder import build_challenge
    from exobench.builder.definition import DEFAULT_CHALLENGE

    if progress:
        print(f"building the default challenge in {folder} (about 10 s)", file=sys.stderr)
    build_challenge(DEFAULT_CHALLENGE, folder)
    return folder


def phase_folders(challenge):
    """``{N: public phase folder}`` of a built challenge (``public/`` or ``public_data/``)."""
    for name in ("public", "public_data", "starting_kit/public_data"):
        base = Path(challenge) / name
        if base.is_dir():
            phases = {int(m[1]): p for p in base.iterdir() if p.is_dir() and (m := _PHASE.match(p.name))}
            if phases:
                return dict(sorted(phases.items()))
    raise KitError(f"challenge: no public/phase_N folder in {str(challenge)!r}; give a challenge built by "
                   f"exobench build")


def make_samples(challenge, out_dir, *, baseline="pca", phases=None, progress=True):
    """Write ``sample_submission_phase_N.zip`` for every phase (or those of ``phases``); score those whose
    reference is there.

    Returns
    -------
    dict
        ``N -> (zip path, ScoreReport or None)``.
    """
    from exobench.baselines import run_baseline
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
            result = run_baseline(baseline, public, progress=progress)
        except (OSError, ValueError) as exc:
            raise KitError(f"baseline {baseline} on phase {number}: {_one_line(exc)}") from exc
        path = result.write(out_dir / f"sample_submission_phase_{number}.zip", overwrite=True)
        print(f"wrote {path} ({len(result.maps)} detection map(s), threshold {result.threshold:g})")
        reference = Path(challenge) / "reference" / f"phase_{number}"
        report = None
        if reference.is_dir():
            report = score_submission(path, reference)
            (out_dir / f"scores_phase_{number}.json").write_text(scores_json(report), encoding="utf-8")
            sys.stdout.write(scores_text(report))
        results[number] = (path, report)
    return results


def _one_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv=None):
    parser = _Parser(prog="make_sample_submission.py",
                     description="Run an exobench baseline on every phase of a built challenge and write one "
                                 "sample submission zip per phase (scored when the reference is there).")
    parser.add_argument("-o", "--output", default="sample_submissions", metavar="OUT_DIR",
                        help="folder of the zips (default: sample_submissions)")
    parser.add_argument("--challenge", metavar="CHALLENGE_DIR",
                        help=f"a built challenge (default: ${CHALLENGE_ENV}, else the default challenge built "
                             f"in OUT_DIR/challenge)")
    parser.add_argument("--baseline", default="pca", help="the baseline (exobench baseline --list; default pca)")
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
        print(f"make_sample_submission.py: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
