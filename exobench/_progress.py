"""The one progress-bar factory: tqdm on stderr, quiet unless a person is watching.

A bar is shown only when it is asked for (``enabled``) and stderr is a
terminal: logs, pipes and captured output never receive bar updates.
"""

import sys

__all__ = ["progress_bar"]


def progress_bar(total=None, *, desc, unit, enabled=True, leave=False):
    """A progress bar over ``total`` steps, or a quiet stand-in with the same methods.

    Parameters
    ----------
    total : int, optional
        The number of steps (unknown when None).
    desc : str
        The bar's label.
    unit : str
        What a step is ("task", "frame").
    enabled : bool
        Whether the caller wants a bar at all.
    leave : bool
        Keep the finished bar on screen.

    Returns
    -------
    tqdm.tqdm or object
        Has ``update(n)`` and ``close()`` and is a context manager (closes on exit).

    Examples
    --------
    >>> with progress_bar(3, desc="steps", unit="step", enabled=False) as bar:
    ...     bar.update(1)
    """
    if not (enabled and sys.stderr.isatty()):
        return _QuietBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave)


class _QuietBar:
    """A bar that shows nothing (tqdm is not even imported)."""

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
