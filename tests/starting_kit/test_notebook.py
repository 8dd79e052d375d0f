"""The starting kit's notebook: committed clean, executes with nbclient, and its submissions score."""

import json
import math

import pytest

from .conftest import KIT

nbformat = pytest.importorskip("nbformat")
NOTEBOOK = KIT / "starting_kit.ipynb"


def _kit_listing():
    return sorted(p.relative_to(KIT).as_posix() for p in KIT.rglob("*"))


def test_committed_notebook_is_valid_and_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code cell"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"outputs left in cell {cell.id}"


def test_notebook_executes_and_its_submissions_score(challenge, tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient

    from exobench.scoring.program import score_keys, score_submission

    out = tmp_path / "out"
    monkeypatch.setenv("EXOBENCH_CHALLENGE_DIR", str(challenge))
    monkeypatch.setenv("EXOBENCH_KIT_OUTPUT", str(out))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    before = _kit_listing()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(KIT)}}).execute()
    assert _kit_listing() == before, "running the notebook left files in starting_kit/"

    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"using the data in {challenge}" in texts
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 5  # a cube frame (3D and 4D), final frame and detection map, thresholded maps, ROC

    scores = json.loads((out / "scores.json").read_text())
    assert set(scores) == {"phase_1", "phase_2", "phase_3", "my_algorithm_phase_1", "my_algorithm_phase_2"}
    for n, suffix in ((1, "3d"), (2, "4d")):
        for key in (f"phase_{n}", f"my_algorithm_phase_{n}"):
            assert list(scores[key]) == score_keys(suffix)
            assert all(math.isfinite(v) for v in scores[key].values())
        # the zip the notebook wrote scores, to the values it reported
        report = score_submission(out / f"pca_phase_{n}.zip", challenge / "reference" / f"phase_{n}")
        assert report.scores == pytest.approx(scores[f"phase_{n}"], rel=1e-12)
        assert (out / f"pca_phase_{n}_scores" / "scores.txt").is_file()
        # the template's default is the pca baseline: same maps, same scores
        assert scores[f"my_algorithm_phase_{n}"] == pytest.approx(scores[f"phase_{n}"], rel=1e-12)
    assert scores["phase_1"]["TPR_3d"] > 0  # the baseline finds something in the default challenge
    # the characterisation phase: the first guess, scored, its positions the candidates' (within half a FWHM)
    assert list(scores["phase_3"]) == score_keys("charac3d")
    report = score_submission(out / "first_guess_phase_3.zip", challenge / "reference" / "phase_3")
    assert report.scores == pytest.approx(scores["phase_3"], rel=1e-12)
    assert 0 < scores["phase_3"]["astrometry_px_charac3d"] < 3
    assert "first_guess_phase_3.zip: ['sphere_irdis_charac_1.fits', 'sphere_irdis_charac_2.fits']" in texts
    assert "phase 3: a characterisation phase; my_algorithm.py makes detection maps" in texts
