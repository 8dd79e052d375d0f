"""Scoring several submissions on the execution layer: one task per submission.

The scoring itself is the scoring program's (:func:`exobench.scoring.program.score_submission`);
this module only spreads it over an :class:`exobench.parallel.Executor`. The
scoring program does not import it, so the vendored program stays free of the
execution layer.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from astropy.io import fits
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("ref", "a", "b"):
...     (root / name).mkdir()
>>> fits.writeto(root / "ref" / "inst_positions_1.fits", np.array([[20.0, 12.0]]))
>>> fits.writeto(root / "ref" / "inst_fwhm_1.fits", np.array([4.0]))
>>> detmap = np.zeros((41, 41)); detmap[11:14, 19:22] = 10.0
>>> for name, threshold in (("a", 5.0), ("b", 20.0)):
...     fits.writeto(root / name / "inst_detmap_1.fits", detmap)
...     fits.writeto(root / name / "detection_threshold.fits", np.array([threshold]))
>>> reports = score_submissions([root / "a", root / "b"], root / "ref")
>>> [report.scores["TPR_3d"] for report in reports]
[1.0, 0.0]
"""

__all__ = ["score_submissions"]


def score_submissions(submissions, reference_dir, *, executor=None, compat=None, phase_suffix=None,
                      limits=None, refused="raise", progress=False):
    """Score several submissions on one reference phase, one task per submission.

    Parameters
    ----------
    submissions : iterable of str or path-like
        Zip archives or folders of submission files, readable by every worker.
    reference_dir : str or path-like
        A phase folder of the reference tree (read by each task).
    executor : exobench.parallel.Executor, optional
        Where the tasks run; in-process by default.
    compat, phase_suffix, limits
        As for :func:`exobench.scoring.program.score_submission` (``limits``
        None: its defaults).
    refused : {"raise", "return"}
        What to do with a submission the scorer refuses
        (:class:`~exobench.submission.SubmissionError`): raise it
        (the other tasks are cancelled), or return the exception in its place.
    progress : bool
        A progress bar over the submissions on stderr.

    Returns
    -------
    list
        One :class:`~exobench.scoring.program.ScoreReport` per submission, in
        input order (or the ``SubmissionError`` with ``refused="return"``);
        identical whichever backend ran them, except ``elapsed_s``.

    Raises
    ------
    ValueError
        An invalid ``refused``.
    SubmissionError
        A refused submission (``refused="raise"``), naming the file and the problem.
    FileNotFoundError, ValueError
        A missing or malformed reference.
    """
    if refused not in ("raise", "return"):
        raise ValueError(f"refused: expected 'raise' or 'return', got {refused!r}")
    if executor is None:
        from ..parallel import Executor

        with Executor(workers=0) as local:
            return score_submissions(submissions, reference_dir, executor=local, compat=compat,
                                     phase_suffix=phase_suffix, limits=limits, refused=refused, progress=progress)
    paths = [executor.task_path(path) for path in submissions]
    options = {"reference_dir": executor.task_path(reference_dir), "compat": compat, "phase_suffix": phase_suffix,
               "limits": limits, "refused": refused}
    return executor.map(_score_one, paths, kwargs=options, key="score", progress=progress, desc="scoring")


def _score_one(path, *, reference_dir, compat, phase_suffix, limits, refused):
    """One task: the report of one submission (or its refusal, with ``refused="return"``)."""
    from .program import score_submission
    from ..submission import DEFAULT_LIMITS, SubmissionError

    try:
        return score_submission(path, reference_dir, compat=compat, phase_suffix=phase_suffix,
                                limits=DEFAULT_LIMITS if limits is None else limits)
    except SubmissionError as exc:
        if refused == "raise":
            raise
        return exc
