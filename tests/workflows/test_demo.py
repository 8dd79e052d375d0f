"""``exobench demo`` on a tiny definition: each phase's baselines run and scored (characterisation phases by
their own baselines), a phase whose kind names no baseline built and skipped, saying so."""

import textwrap

import numpy as np
from astropy.io import fits

from exobench.examples import example_dataset
from exobench.workflows import demo
from exobench.workflows.demo import demo_baselines, run_demo

TINY = """
name: tiny-demo
seed: 3
calibration: {azimuths: 1, explained_variance: [0.9]}
injection: {companions: [1, 2], separation_bands_fwhm: [[2.5, 4]], min_spacing_fwhm: 2}
phases:
  - number: 1
    kind: adi
    sources:
      - files: {cube: c.fits, angles: a.fits, psf: p.fits, pxscale: 0.0272}
        instrument: ex
  - number: 2
    kind: charac-adi
    sources:
      - files: {cube: c.fits, angles: a.fits, psf: p.fits, pxscale: 0.0272}
        instrument: ex
"""


def test_the_characterisation_kinds_name_their_baselines_and_no_cnn():
    assert demo_baselines("charac-adi") == ("negfc", "psf-fit") == demo_baselines("charac-adi+msdi")
    assert demo_baselines("charac-adi", cnn=True) == ("negfc", "psf-fit")  # the CNN makes detection maps only


def _tiny_definition(tmp_path):
    ds = example_dataset(n_frames=10, size=41, fwhm=4.0, seed=3)
    for name, data in (("c.fits", ds.cube), ("a.fits", ds.angles), ("p.fits", ds.psf)):
        fits.writeto(tmp_path / name, np.asarray(data))
    definition = tmp_path / "tiny.yaml"
    definition.write_text(textwrap.dedent(TINY))
    return definition


def test_both_kinds_of_phase_run_and_are_scored(tmp_path, monkeypatch):
    real = demo.demo_baselines
    monkeypatch.setattr(demo, "demo_baselines", lambda kind, cnn=False: real(kind, cnn=cnn)[-1:])  # one, for speed
    result = run_demo(tmp_path / "out", definition=_tiny_definition(tmp_path), progress=False)
    assert result.skipped == {}
    assert list(result.submissions) == [(1, "andromeda"), (2, "psf-fit")]
    assert "psf-fit" in result.ranking_text and "andromeda" in result.ranking_text
    assert result.report.is_file()


def test_a_phase_without_baseline_is_built_and_skipped(tmp_path, monkeypatch):
    real = demo.demo_baselines
    monkeypatch.setattr(demo, "demo_baselines",
                        lambda kind, cnn=False: () if kind == "charac-adi" else real(kind, cnn=cnn)[:1])
    result = run_demo(tmp_path / "out", definition=_tiny_definition(tmp_path), progress=False)
    assert result.skipped == {2: "no baseline for a charac-adi phase"}
    assert list(result.submissions) == [(1, "median")]
    assert (result.challenge / "public" / "phase_2" / "ex_candidates_1.fits").is_file()  # built all the same
    assert result.report.is_file() and "median" in result.ranking_text


def test_the_command_says_which_phases_it_skipped(tmp_path, monkeypatch, capsys):
    from exobench.cli import main

    done = demo.DemoResult(output=tmp_path, challenge=tmp_path / "challenge", report=tmp_path / "report.html",
                           submissions={}, ranking_text="ranking\n",
                           skipped={3: "no baseline for a charac-adi phase"})
    monkeypatch.setattr(demo, "run_demo", lambda *args, **kwargs: done)
    assert main(["demo", "-o", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == (f"phase 3: skipped (no baseline for a charac-adi phase)\nranking\n"
                                       f"report: {tmp_path / 'report.html'}\n")
