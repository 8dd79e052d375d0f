"""A small built challenge and submissions, shared by the leaderboard and report tests."""

import argparse
import dataclasses
import shutil
import textwrap
from pathlib import Path

import numpy as np

TINY = """
name: tiny-leaderboard
seed: 5
calibration: {azimuths: 2, explained_variance: [0.9, 0.99]}
injection:
  companions: [1, 3]
  separation_bands_fwhm: [[2.5, 5], [5, 9]]
  min_spacing_fwhm: 3
phases:
  - number: 1
    kind: adi
    sources:
      - simulate: sphere_irdis
        frames: 16
        frame_size: 71
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12}
      - simulate: sphere_irdis
        frames: 16
        frame_size: 71
        seed: 3
        overrides: {simulation.subframes: 2, simulation.halo_samples: 12}
  - number: 2
    kind: adi+msdi
    sources:
      - simulate: sphere_ifs
        frames: 12
        frame_size: 71
        overrides: {wavelength.channels: 3, simulation.subframes: 2, simulation.halo_samples: 12}
"""


def built_challenge(tmp_path_factory):
    """The tiny challenge and its submissions, built once per test session (about 6 s).

    Returns ``(challenge_dir, {phase: {name: zip_path}})``; treat both as read-only
    (copy the challenge with :func:`fresh_challenge` before submitting to it).
    """
    base = tmp_path_factory.getbasetemp() / "exobench-leaderboard-data"
    challenge = base / "challenge"
    subs = base / "submissions"
    if not (subs / "done").is_file():
        from exobench.builder import build_challenge, load_challenge

        base.mkdir(exist_ok=True)
        definition = base / "tiny.yaml"
        definition.write_text(textwrap.dedent(TINY))
        build_challenge(load_challenge(definition), challenge, overwrite=True)
        subs.mkdir(exist_ok=True)
        for phase in (1, 2):
            make_submissions(challenge, phase, subs / f"phase_{phase}")
        (subs / "done").write_text("ok")
    zips = {phase: {p.stem: p for p in sorted((subs / f"phase_{phase}").glob("*.zip"))} for phase in (1, 2)}
    return challenge, zips


def make_submissions(challenge, phase, folder):
    """Write ``median``, ``pca``, ``median-low`` (threshold S/N 2) and ``oracle`` zips of a phase."""
    from exobench.baselines import BaselineResult, run_baseline
    from exobench.scoring.reference import read_reference

    folder.mkdir(parents=True, exist_ok=True)
    public = Path(challenge) / "public" / f"phase_{phase}"
    median = run_baseline("median", public)
    median.write(folder / "median.zip")
    run_baseline("pca", public).write(folder / "pca.zip")
    dataclasses.replace(median, threshold=2.0).write(folder / "median-low.zip")
    reference = read_reference(Path(challenge) / "reference" / f"phase_{phase}")
    maps = {}
    for d in reference.datasets:
        detmap = np.zeros(median.maps[d.key].shape)
        for x, y in d.positions:  # a 3x3 blob on each companion: every one found, no false positive
            xi, yi = int(round(x)), int(round(y))
            detmap[yi - 1:yi + 2, xi - 1:xi + 2] = 10.0
        maps[d.key] = detmap
    oracle = BaselineResult(name="oracle", params={}, maps=maps, threshold=5.0, detection_map="snr")
    oracle.write(folder / "oracle.zip")


def fresh_challenge(source, dest):
    """A copy of the challenge folder without leaderboard nor kept submissions."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("leaderboard.sqlite*", "submissions"))
    return dest


def run_cli(argv, monkeypatch):
    """Run ``exobench.cli.main`` with the leaderboard and report commands wired in; returns the exit status."""
    import exobench.cli as cli

    from exobench.leaderboard.cli import add_commands as add_leaderboard
    from exobench.report.cli import add_commands as add_report

    original = cli.build_parser

    def build_parser():
        parser = original()
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "submit" not in subparsers.choices:
            add_leaderboard(subparsers)
            add_report(subparsers)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    return cli.main([str(a) for a in argv])


# -- fixtures, imported by the conftest of tests/leaderboard and tests/report -------------------

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _no_db_from_environment():
    """Tests choose their database: $EXOBENCH_LEADERBOARD_DB is ignored."""
    from exobench.leaderboard import DB_ENV

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(DB_ENV, raising=False)
        yield


@pytest.fixture(scope="session")
def challenge_data(tmp_path_factory):
    """(challenge folder, {phase: {name: zip}}), read-only, built once per session."""
    return built_challenge(tmp_path_factory)


@pytest.fixture(scope="module")
def filled(challenge_data, tmp_path_factory):
    """A copy of the challenge with every submission of both phases in its leaderboard."""
    from exobench.leaderboard import submit

    source, zips = challenge_data
    challenge = fresh_challenge(source, tmp_path_factory.mktemp("filled") / "challenge")
    for phase, named in zips.items():
        for name, path in named.items():
            submit(path, challenge / "reference" / f"phase_{phase}", name=name)
    return challenge, zips


@pytest.fixture
def empty(challenge_data, tmp_path):
    """A copy of the challenge with no leaderboard yet."""
    source, zips = challenge_data
    return fresh_challenge(source, tmp_path / "challenge"), zips
