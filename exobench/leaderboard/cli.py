"""Sub-commands ``exobench submit`` and ``exobench leaderboard`` (wired by :mod:`exobench.cli`)."""

import sys

from .._cli_options import moved_option

__all__ = ["add_commands"]


def add_commands(subparsers):
    """Add ``submit``, ``leaderboard`` and ``remove`` to the sub-parsers of ``exobench``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned; each command sets ``handler``.
    """
    _add_submit(subparsers)
    _add_leaderboard(subparsers)
    _add_remove(subparsers)


def _add_remove(commands):
    from .store import DB_ENV

    remove = commands.add_parser(
        "remove", help="remove an entry from a challenge's local leaderboard",
        description="Remove entry ENTRY_ID (the number 'exobench submit' printed, or 'id' in 'exobench "
        "leaderboard --json') with its counts and ROC points; its kept zip goes too when no other entry has "
        "the same bytes.")
    remove.add_argument("challenge", metavar="DIR", help="the challenge folder")
    remove.add_argument("entry_id", metavar="ENTRY_ID", type=int, help="the entry to remove")
    remove.add_argument("--db", metavar="URL", default=None,
                        help=f"SQLAlchemy URL or SQLite file (default ${DB_ENV}, else DIR/leaderboard.sqlite)")
    remove.set_defaults(handler=_run_remove)


def _run_remove(args):
    from .submit import remove_entry

    try:
        entry = remove_entry(args.challenge, args.entry_id, db=args.db)
    except KeyError as exc:
        raise ValueError(str(exc.args[0]) if exc.args else "entry_id: no such entry") from None
    print(f"removed entry {entry.id}: {entry.name!r} on phase {entry.phase} (sha256 {entry.sha256[:12]})")


def _add_submit(commands):
    from .store import DB_ENV

    submit = commands.add_parser(
        "submit",
        help="score a submission on a phase of a challenge and store it in the local leaderboard",
        description="Score SUBMISSION.zip with the code of 'exobench score' on REFERENCE_DIR "
        "(CHALLENGE/reference/phase_N, which names the challenge and the phase) and store the result (scores, per-dataset counts, ROC points, sha256, time) in the leaderboard "
        f"database: CHALLENGE/leaderboard.sqlite, or --db / ${DB_ENV}. The zip is kept as "
        "CHALLENGE/submissions/<sha256>.zip for the report. A refused submission is stored as refused "
        "and reported as an error.",
    )
    submit.add_argument("submission", metavar="SUBMISSION.zip", help="the submission zip")
    submit.add_argument("reference", metavar="REFERENCE_DIR",
                        help="the phase's reference folder, CHALLENGE/reference/phase_N")
    for flag in ("--challenge", "--phase"):
        moved_option(submit, flag, "give the phase's reference folder as the last positional argument: "
                     "exobench submit SUBMISSION.zip CHALLENGE/reference/phase_N --name NAME")
    submit.add_argument("--name", required=True, help="the name shown in the ranking")
    submit.add_argument("--db", metavar="URL", default=None,
                        help=f"SQLAlchemy URL or SQLite file of the leaderboard (default ${DB_ENV}, else "
                        "CHALLENGE/leaderboard.sqlite)")
    submit.add_argument("--no-keep", action="store_true",
                        help="do not keep the zip in CHALLENGE/submissions/ (the report then shows no detection map)")
    submit.add_argument("--contrast", metavar="BASELINE[:PARAMS]", default=None,
                        help="also compute and store the contrast curves, on every dataset of the phase's public "
                        "folder, of the baseline (and parameter file) that made the maps, or of code:DIR_OR_ZIP, a "
                        "participant's code (in-process; see exobench contrast --submit for a cluster)")
    submit.add_argument("--quiet", action="store_true", help="no progress bars (with --contrast)")
    again = submit.add_mutually_exclusive_group()
    again.add_argument("--replace", dest="duplicate", action="store_const", const="replace", default="refuse",
                       help="the same zip already submitted under NAME on the phase: score it again in its place "
                       "(default: refused)")
    again.add_argument("--keep-both", dest="duplicate", action="store_const", const="keep",
                       help="the same zip already submitted under NAME: store it again beside the old entry")
    submit.set_defaults(handler=_run_submit)


def _run_submit(args):
    from ..challenge.layout import reference_phase
    from ..submission import SubmissionError
    from .ranking import ranking
    from .submit import submit

    layout, number = reference_phase(args.reference)
    try:
        entry = submit(args.submission, args.reference, name=args.name, db=args.db,
                       keep=not args.no_keep, duplicate=args.duplicate, contrast=args.contrast,
                       progress=not args.quiet)
    except SubmissionError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
        raise SubmissionError(f"submission refused (stored as refused): {text}") from None
    for note in _warnings(entry, layout.root, args.db):
        print(f"exobench: warning: {note}", file=sys.stderr)
    (phase,) = ranking(layout.root, phase=number, db=args.db)
    rank = next(e.rank for e in phase.entries if e.id == entry.id)
    print(f"scored {entry.name!r} on phase {entry.phase}: F1 {_fmt(entry.f1)}, AUC {_fmt(entry.auc)}, "
          f"partial AUC {_fmt(entry.partial_auc)}, TPR at FPR <= {entry.max_fpr:g} {_fmt(entry.tpr_at_max_fpr)}; "
          f"rank {rank} of {len(phase.entries)} by F1 (entry {entry.id}, sha256 {entry.sha256[:12]})")
    if args.contrast is not None:
        from .ranking import contrast_cell
        from .store import CONTRAST_COLUMNS

        ranked = next(e for e in phase.entries if e.id == entry.id)
        values = ", ".join(f"{sep:g} lambda/D {contrast_cell(getattr(ranked, key)) or '-'}"
                           for key, sep in CONTRAST_COLUMNS.items())
        print(f"contrast (median over the phase's datasets): {values}")


def _warnings(entry, challenge, db):
    """The scorer's warnings of a stored entry (as ``exobench score`` prints them)."""
    from .store import Leaderboard, database_url

    with Leaderboard(database_url(challenge, db), create=False) as board:
        return (board.details(entry.id) or {}).get("warnings", [])


def _fmt(value):
    return "undefined" if value is None else f"{value:.4f}"


def _add_leaderboard(commands):
    from .ranking import SORT_KEYS
    from .store import DB_ENV

    board = commands.add_parser(
        "leaderboard",
        help="print the ranking of a challenge's local leaderboard, per phase",
        description="Print the ranking table of each phase (a rich table on a terminal, plain text otherwise, "
        "JSON with --json, CSV with --csv). Sort keys: f1 (at the submitted threshold), auc (area under the ROC curve), "
        "pauc (partial AUC over FPR <= max_fpr, divided by max_fpr), tpr (best TPR at FPR <= max_fpr). "
        "F1 and AUC come with 95 % bootstrap intervals over the phase's datasets (seeded; docs/leaderboard.md).",
    )
    board.add_argument("challenge", metavar="DIR", help="the challenge folder")
    board.add_argument("--phase", metavar="N", type=int, default=None, help="only this phase")
    board.add_argument("--sort", choices=list(SORT_KEYS), default="f1", help="ranking key (default f1)")
    board.add_argument("--best", action="store_true", help="only the best submission of each name")
    output = board.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of tables")
    output.add_argument("--csv", action="store_true", help="print CSV, one row per ranked entry")
    board.add_argument("--db", metavar="URL", default=None,
                       help=f"SQLAlchemy URL or SQLite file (default ${DB_ENV}, else DIR/leaderboard.sqlite)")
    board.set_defaults(handler=_run_leaderboard)


def _run_leaderboard(args):
    from .ranking import ranking, ranking_csv, ranking_json, ranking_tables, ranking_text

    rankings = ranking(args.challenge, phase=args.phase, sort=args.sort, db=args.db, best=args.best)
    if args.json:
        sys.stdout.write(ranking_json(rankings))
    elif args.csv:
        sys.stdout.write(ranking_csv(rankings))
    elif sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        for item in ranking_tables(rankings):
            console.print(item)
    else:
        sys.stdout.write(ranking_text(rankings))
