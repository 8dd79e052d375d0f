"""Command-line options shared by the sub-commands of every package (kept at the bottom layer so that
``exobench.leaderboard`` and ``exobench.report`` can add them as ``exobench.cli`` does)."""

import argparse

__all__ = ["moved_option", "OneLineParser", "first_line"]


class _MovedOption(argparse.Action):
    """An option that is no longer taken: using it is a usage error that gives the new spelling."""

    def __init__(self, option_strings, dest, *, hint, **kwargs):
        super().__init__(option_strings, dest, nargs=1, help=argparse.SUPPRESS, **kwargs)
        self.hint = hint

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} is no longer taken; {self.hint}")


def moved_option(parser, flag, hint):
    """Add ``flag`` (hidden from the help) to ``parser`` as an option that is refused with ``hint``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    flag : str
        The old option, e.g. ``"--reference"``; it takes one value.
    hint : str
        How to say it now (the error is ``FLAG is no longer taken; HINT``).
    """
    parser.add_argument(flag, dest=f"moved_{flag.lstrip('-').replace('-', '_')}", action=_MovedOption, hint=hint,
                        default=None)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (status 2) that points to ``--help``;
    its sub-command parsers are of the same class."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def first_line(exc):
    """The first line of an exception's message, else its type's name: what a command prints.

    >>> first_line(ValueError("bad value\\nmore detail")), first_line(KeyError())
    ('bad value', 'KeyError')
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
