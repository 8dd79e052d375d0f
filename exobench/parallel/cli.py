"""The command-line options of the execution layer, which every sub-command that runs tasks shares."""

__all__ = ["add_executor_options", "make_executor"]


def add_executor_options(parser):
    """Add ``--workers N`` and ``--scheduler ADDRESS`` (mutually exclusive) to a sub-command's parser."""
    group = parser.add_argument_group("execution (see docs/scaling.md)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--workers", type=int, metavar="N", default=None,
                        help="run the tasks on a local Dask cluster of N worker processes (0: in-process)")
    choice.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run the tasks on the Dask scheduler at ADDRESS (tcp://host:8786); default: "
                        "$EXOBENCH_SCHEDULER if set, else in-process")


def make_executor(args):
    """The :class:`exobench.parallel.Executor` the options of :func:`add_executor_options` ask for.

    ``--workers`` or ``--scheduler`` when given, else ``$EXOBENCH_SCHEDULER``
    when set, else in-process. An unreachable scheduler is a ``ConnectionError``
    naming it (one line on the command line).
    """
    from .executor import Executor

    if args.workers is not None:
        return Executor(workers=args.workers)
    if args.scheduler is not None:
        return Executor(scheduler=args.scheduler)
    return Executor()
