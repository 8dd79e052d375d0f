"""Sub-command ``exobench report`` (wired by :mod:`exobench.cli`)."""

__all__ = ["add_commands"]


def add_commands(subparsers):
    """Add ``report`` to the sub-parsers of ``exobench``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned; the command sets ``handler``.
    """
    from ..leaderboard.ranking import SORT_KEYS
    from ..leaderboard.store import DB_ENV
    from .page import DEFAULT_MAX_MAPS

    report = subparsers.add_parser(
        "report",
        help="write the HTML report of a challenge's local leaderboard",
        description="Write one self-contained HTML page (inline images, no network): per phase the ranking, "
        "the ROC curves of all submissions, TPR by separation and by contrast, detection maps with truth and "
        "detections marked, and the metric definitions. Detection maps come from DIR/submissions/<sha256>.zip "
        "(kept by exobench submit).",
    )
    report.add_argument("challenge", metavar="DIR", help="the challenge folder")
    report.add_argument("-o", "--output", metavar="REPORT.html", required=True, help="the HTML file to write")
    report.add_argument("--overwrite", action="store_true", help="replace REPORT.html if it exists")
    report.add_argument("--sort", choices=list(SORT_KEYS), default="f1", help="ranking key (default f1)")
    report.add_argument("--maps", metavar="N", type=int, default=DEFAULT_MAX_MAPS,
                        help=f"detection maps of the N best submissions per phase (default {DEFAULT_MAX_MAPS})")
    report.add_argument("--db", metavar="URL", default=None,
                        help=f"SQLAlchemy URL or SQLite file (default ${DB_ENV}, else DIR/leaderboard.sqlite)")
    report.set_defaults(handler=_run_report)


def _run_report(args):
    from .page import write_report

    path = write_report(args.challenge, args.output, db=args.db, sort=args.sort, max_maps=args.maps,
                        overwrite=args.overwrite)
    print(f"wrote {path}")
