"""A characterisation phase bundled and scored by the vendored scoring program in a bare worker."""

import datetime
import io
import zipfile

import numpy as np
import yaml

from exobench.challenge import PhaseSettings, write_phase_settings
from exobench.platform import build_bundle
from exobench.scoring.program import score_keys
from exobench.submission import write_characterisation

from ..phase_data import write_fits
from .test_bundle import TRUTH, make_challenge
from .test_worker import _check_imports, _codalab_run, _codalab_scores, _environment

FLUXES = {"1": [[2.0], [3.0]], "2": [[4.0]]}


def _characterisation_challenge(root):
    """The bundle tests' challenge with phase 1 turned into a characterisation phase."""
    make_challenge(root, config=None, kit=False)  # the kit README: exobench's
    public, reference = root / "public" / "phase_1", root / "reference" / "phase_1"
    for k, positions in TRUTH[1].items():
        write_fits(public / f"inst_candidates_{k}.fits", np.array(positions) + 0.5)
        write_fits(reference / f"inst_fluxes_{k}.fits", np.array(FLUXES[k]))
        write_fits(reference / f"inst_pxscale_{k}.fits", np.array([0.01225]))
    write_phase_settings(reference / "phase.json", PhaseSettings(suffix="charac3d"))
    return root


def test_a_characterisation_phase_is_bundled_and_scored_on_the_worker(tmp_path):
    challenge = _characterisation_challenge(tmp_path / "challenge")
    bundle = tmp_path / "bundle.zip"
    build_bundle(challenge, bundle, today=datetime.date(2027, 1, 1))
    root = tmp_path / "run"
    with zipfile.ZipFile(bundle) as zf:
        competition = yaml.safe_load(zf.read("competition.yaml"))
        readme = zipfile.ZipFile(io.BytesIO(zf.read("starting_kit.zip"))).read("README.md").decode()
        for name, folder in (("scoring_program.zip", "program"), ("reference_data_1.zip", "input/ref")):
            (tmp_path / name).write_bytes(zf.read(name))
            zipfile.ZipFile(tmp_path / name).extractall(root / folder)
    columns = competition["leaderboard"]["columns"]
    assert list(columns)[:len(score_keys("charac3d"))] == score_keys("charac3d") and "F1_4d" in columns
    assert columns["astrometry_l1_px_charac3d"]["sort"] == "asc" and columns["F1_4d"]["sort"] == "desc"
    assert "## Characterisation phases" in readme and "Phase(s) 1 announce every companion" in readme

    truth = {("inst", k): np.column_stack([np.array(p), FLUXES[k]]) for k, p in TRUTH[1].items()}
    off = {key: value + np.array([0.0, 1.0, 0.0]) for key, value in truth.items()}  # y off by 1 px
    write_characterisation(off, root / "input" / "res")
    (root / "output").mkdir()
    env = _environment(tmp_path, root / "program")
    result = _codalab_run(root, env)
    assert result.returncode == 0, result.stderr
    scores = _codalab_scores(root / "output" / "scores.txt")
    assert list(scores) == score_keys("charac3d")
    assert scores["astrometry_px_charac3d"] == 1.0 and scores["astrometry_mas_charac3d"] == 12.25
    assert scores["photometry_rel_charac3d"] == 0.0
    _check_imports(tmp_path, root / "program")
