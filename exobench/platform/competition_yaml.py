"""``competition.yaml`` of a Codalab v1.5 or a Codabench v2 bundle.

One leaderboard per distinct score suffix (``ADI`` and ``ADI+mSDI`` in the EIDC's
case, shared by phases of the same suffix), whose columns are keyed exactly by
:func:`~exobench.scoring.program.score_keys` of that suffix, in that order, so that
every line of ``scores.txt`` / key of ``scores.json`` has its column. Dates are
written as ISO dates (YAML dates). A code phase also names its ingestion program and
its input data (the public data): ``ingestion_program`` and ``input_data``, per phase
on Codalab v1.5 (with ``is_scoring_only: false``) and per task on Codabench.
"""

import json

from .pages import PAGES, column_spec

__all__ = ["codalab_yaml", "codabench_yaml"]



def _q(text):
    """A YAML scalar: a JSON string is a valid YAML double-quoted string."""
    return json.dumps(str(text), ensure_ascii=False)


def _leaderboards(challenge):
    """``[(key, label, suffix)]``: one leaderboard per distinct suffix, in phase order."""
    boards, seen = [], set()
    for phase in challenge.phases:
        if phase.suffix not in seen:
            seen.add(phase.suffix)
            names = [p.name for p in challenge.phases if p.suffix == phase.suffix]
            label = " / ".join(dict.fromkeys(names))
            boards.append((f"results_{phase.suffix}", label, phase.suffix))
    return boards


def _code_keys(phase, files, indent):
    """A code phase's ingestion program and its input data (the public data), as both platforms name them."""
    if not phase.takes_code:
        return []
    return [f"{indent}ingestion_program: {files['ingestion'][phase.number]}",
            f"{indent}input_data: {files['public'][phase.number]}"]


def codalab_yaml(challenge, files):
    """``competition.yaml`` of a Codalab v1.5 bundle."""
    from ..scoring.program import score_keys

    lines = ["# Codalab v1.5 competition bundle, written by `exobench bundle`.",
             f"title: {_q(challenge.name)}", f"description: {_q(challenge.description)}", "image: logo.png",
             f"competition_docker_image: {challenge.docker_image}",
             "has_registration: true", "force_submission_to_leaderboard: true", "enable_detailed_results: true",
             f"end_date: {challenge.phases[-1].end.isoformat()}", "html:"]
    lines += [f"  {key}: {codalab}" for key, _, _, codalab, _ in PAGES]
    lines.append("phases:")
    for phase in challenge.phases:
        lines += [f"  {phase.number}:", f"    phasenumber: {phase.number}", f"    label: {_q(phase.name)}",
                  f"    description: {_q(phase.description)}", f"    start_date: {phase.start.isoformat()}",
                  f"    max_submissions: {challenge.max_submissions}",
                  f"    execution_time_limit: {challenge.execution_time_limit}",
                  "    scoring_program: scoring_program.zip",
                  f"    reference_data: {files['reference'][phase.number]}",
                  f"    public_data: {files['public'][phase.number]}",
                  f"    starting_kit: {files['starting_kit']}"]
        lines += _code_keys(phase, files, "    ")
        lines += [f"    is_scoring_only: {'false' if phase.takes_code else 'true'}", "    auto_migration: false"]
    lines += ["leaderboard:", "  leaderboards:"]
    boards = _leaderboards(challenge)
    for rank, (key, label, _) in enumerate(boards, 1):
        lines += [f"    {key}: &{key}", f"      label: {_q(label)}", f"      rank: {rank}"]
    lines.append("  columns:")
    for key, label, suffix in boards:
        for rank, column in enumerate(score_keys(suffix), 1):
            name, sort, decimals, _ = column_spec(column)
            lines += [f"    {column}:", f"      leaderboard: *{key}", f"      label: {_q(f'{name} ({label})')}",
                      f"      rank: {rank}", f"      numeric_format: {decimals}", f"      sort: {sort}"]
    return "\n".join(lines) + "\n"


def codabench_yaml(challenge, files):
    """``competition.yaml`` of a Codabench v2 bundle."""
    from ..scoring.program import score_keys

    lines = ["# Codabench (v2) competition bundle, written by `exobench bundle`.", "version: 2",
             f"title: {_q(challenge.name)}", f"description: {_q(challenge.description)}", "image: logo.png",
             "registration_auto_approve: false", f"docker_image: {challenge.docker_image}", "enable_detailed_results: true",
             "terms: pages/terms.md", "pages:"]
    lines += [f"  - title: {_q(title)}\n    file: {bench}" for key, title, _, _, bench in PAGES if key != "terms"]
    lines.append("tasks:")
    for i, phase in enumerate(challenge.phases):
        lines += [f"  - index: {i}", f"    name: {_q(f'Phase {phase.number}: {phase.name}')}",
                  f"    description: {_q(phase.description)}", "    is_public: false",
                  "    scoring_program: scoring_program.zip",
                  f"    reference_data: {files['reference'][phase.number]}"]
        lines += _code_keys(phase, files, "    ")
    lines.append("phases:")
    for i, phase in enumerate(challenge.phases):
        lines += [f"  - index: {i}", f"    name: {_q(phase.name)}", f"    description: {_q(phase.description)}",
                  f"    start: {phase.start.isoformat()}", f"    end: {phase.end.isoformat()}",
                  f"    max_submissions_per_day: {challenge.max_submissions_per_day}",
                  f"    max_submissions: {challenge.max_submissions}",
                  f"    execution_time_limit: {challenge.execution_time_limit}",
                  f"    starting_kit: {files['starting_kit']}",
                  f"    public_data: {files['public'][phase.number]}",
                  "    tasks:", f"      - {i}"]
    lines.append("leaderboards:")
    for index, (key, label, suffix) in enumerate(_leaderboards(challenge)):
        lines += [f"  - index: {index}", f"    title: {_q(label)}", f"    key: {key}",
                  "    submission_rule: Add_And_Delete", "    columns:"]
        for i, column in enumerate(score_keys(suffix)):
            name, sort, decimals, _ = column_spec(column)
            lines += [f"      - title: {_q(name)}", f"        key: {column}", f"        index: {i}",
                      f"        sorting: {sort}", f"        precision: {decimals}"]
    return "\n".join(lines) + "\n"
