"""``exobench demo``: the whole chain on the default challenge, in one command.

Build the default challenge, run every classical baseline on every phase (the
baselines each phase kind names, :mod:`exobench.challenge.kinds`), score each
submission into the local leaderboard, write the HTML report and return the
ranking: what an organiser does, on a laptop, in a few minutes. A phase whose
kind names no baseline (a characterisation kind without one) is built and
skipped: :attr:`DemoResult.skipped` says why.
"""

import dataclasses
import os
from pathlib import Path

__all__ = ["DemoResult", "run_demo", "demo_baselines"]


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """The demo's folders and its outcome.

    Attributes
    ----------
    output, challenge, report : pathlib.Path
        The demo's folder, the challenge built in it, the HTML report.
    submissions : dict
        ``(phase number, baseline) -> zip`` of every submission made and scored.
    ranking_text : str
    skipped : dict
        ``phase number -> reason`` of the phases built but run by no baseline.
    """

    output: Path
    challenge: Path
    report: Path
    submissions: dict
    ranking_text: str
    skipped: dict = dataclasses.field(default_factory=dict)


def run_demo(output, *, real_data=None, cnn=False, progress=True, definition=None):
    """Build the default challenge in ``output/challenge``, run the baselines,
    score them into ``output/challenge/leaderboard.sqlite`` and write
    ``output/report.html``.

    Parameters
    ----------
    output : str or path-like
        The demo's folder (what an earlier demo left there is replaced).
    real_data : str or path-like, optional
        A folder holding the real NACO files of the registry entry ``naco-betapic``, or
        their 99 x 99 crop (``naco_betapic_empty_*.fits``), set as ``$EXOBENCH_REAL_DATA``;
        by default the default challenge finds them as its build does (the registry: the
        cache, ``../shared/data/real``, a download) or skips them with a warning.
    cnn : bool
        Also run the CNN baseline on every phase (refused, saying why, where it
        cannot run: torch and keras missing). It trains one network per dataset:
        minutes per dataset on a CPU.
    progress : bool
        Progress bars on stderr.
    definition : str or path-like, optional
        Another challenge definition than the default one (a smaller one for the tests).

    Returns
    -------
    DemoResult
    """
    from ..baselines import run_baseline
    from ..builder import build_challenge, load_challenge
    from ..charac.baselines import run_charac_baseline
    from ..challenge import get_phase_kind
    from ..builder.definition import DEFAULT_CHALLENGE
    from ..challenge import ChallengeLayout
    from ..leaderboard import ranking, ranking_text, submit
    from ..report import write_report

    _use_real_data(real_data)  # before the definition is read: it expands $EXOBENCH_REAL_DATA
    challenge = load_challenge(DEFAULT_CHALLENGE if definition is None else definition)
    plan = {phase.number: demo_baselines(phase.kind, cnn=cnn) for phase in challenge.phases}
    skipped = {phase.number: f"no baseline for a {phase.kind} phase" for phase in challenge.phases
               if not plan[phase.number]}
    output = Path(output)
    challenge_dir = output / "challenge"
    build_challenge(challenge, challenge_dir, overwrite=True, progress=progress)
    layout = ChallengeLayout(challenge_dir)
    submissions = {}
    for phase in challenge.phases:
        for name in plan[phase.number]:
            path = output / "submissions" / layout.public(phase.number).name / f"{name}.zip"
            path.parent.mkdir(parents=True, exist_ok=True)
            run = run_charac_baseline if get_phase_kind(phase.kind).is_characterisation else run_baseline
            run(name, layout.public(phase.number), progress=progress).write(path, overwrite=True)
            submit(path, ChallengeLayout(challenge_dir).reference(phase.number), name=name)
            submissions[phase.number, name] = path
    report = write_report(challenge_dir, output / "report.html", overwrite=True)
    return DemoResult(output=output, challenge=challenge_dir, report=Path(report), submissions=submissions,
                      ranking_text=ranking_text(ranking(challenge_dir)), skipped=skipped)


def demo_baselines(kind, *, cnn=False):
    """The baselines the demo runs on a phase of ``kind`` (a name of :func:`exobench.challenge.phase_kinds`).

    The kind's own list (ADI baselines run 4D cubes channel by channel), plus
    ``cnn`` when asked on a detection phase, checked to be able to run here;
    empty for a kind that names none.

    >>> demo_baselines("adi")
    ('median', 'median-annular', 'pca', 'pca-annular', 'llsg', 'pairwise', 'loci', 'nmf', 'nmf-annular', 'andromeda')
    """
    from ..baselines import runnable_baseline
    from ..challenge import get_phase_kind
    from ..charac.baselines import get_charac_baseline

    found = get_phase_kind(kind)
    # the CNN makes detection maps: it has nothing to say on a characterisation phase
    names = found.baselines + (("cnn",) if cnn and not found.is_characterisation else ())
    check = get_charac_baseline if found.is_characterisation else runnable_baseline
    for name in names:
        check(name)
    return names


def _use_real_data(real_data):
    """Point the default challenge's real NACO source at ``real_data`` (or leave the default:
    the build finds the data or says, in one warning, that it skips them)."""
    if real_data is not None:
        folder = Path(real_data)
        if not folder.is_dir():
            raise FileNotFoundError(f"real_data: no folder {folder}")
        os.environ["EXOBENCH_REAL_DATA"] = str(folder.resolve())
