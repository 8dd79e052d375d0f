"""Both characterisation baselines on a built ADI+mSDI characterisation phase, end to end: the
command line's baseline run on the public folder, its submission scored against the reference."""

import json
import zipfile

import numpy as np
import pytest
from astropy.io import fits

from exobench.builder import build_challenge
from exobench.cli import main

from ..builder.test_characterisation import SCALES, _sources

#: One 4D phase, one bright companion (the scores are then those of a detection at S/N 15 to 20).
DEFINITION = """\
name: charac4d
seed: 5
calibration: {azimuths: 1, explained_variance: [0.9]}
injection: {companions: [1, 1], separation_bands_fwhm: [[3, 4]], min_spacing_fwhm: 2, snr_bands: [[15, 20]]}
phases:
  - number: 1
    kind: charac-adi+msdi
    sources:
      - files: {cube: c4.fits, angles: a.fits, psf: p4.fits, wavelengths: w.fits, pxscale: 0.0272}
        instrument: ifs
"""

#: Fast options: enough to check the shapes and that the estimates are close.
PARAMS = {"negfc": "options: {ncomp: 2, passes: 1, n_fakes: 2}\nuncertainties: true\n",
          "psf-fit": "options: {algorithm_options: {ncomp: 2}, iterations: 1, n_fakes: 2}\nuncertainties: true\n"}


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    folder = tmp_path_factory.mktemp("charac4d")
    _sources(folder)
    (folder / "def.yaml").write_text(DEFINITION)
    out = build_challenge(folder / "def.yaml", folder / "out").output
    return folder, out / "public" / "phase_1", out / "reference" / "phase_1"


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_a_baseline_on_a_4d_phase_is_scored(phase, name, capsys):
    folder, public, reference = phase
    params = folder / f"{name}.yaml"
    params.write_text(PARAMS[name])
    archive = folder / f"{name}.zip"
    assert main(["baseline", name, str(public), "-o", str(archive), "--params", str(params), "--quiet"]) == 0
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == ["ifs_charac_1.fits"]
        opened.extractall(folder / name)
    with fits.open(folder / name / "ifs_charac_1.fits") as hdus:
        estimates, sigmas = np.asarray(hdus[0].data), np.asarray(hdus[1].data)
    truth = np.column_stack([fits.getdata(reference / "ifs_positions_1.fits"),
                             fits.getdata(reference / "ifs_fluxes_1.fits")])
    assert estimates.shape == sigmas.shape == truth.shape == (1, 2 + len(SCALES))  # one flux per channel
    assert np.all(sigmas > 0)
    capsys.readouterr()
    assert main(["score", str(archive), str(reference), "--json", "--quiet"]) == 0
    scores = json.loads(capsys.readouterr().out)
    spectro = np.abs(estimates[0, 2:] - truth[0, 2:]).sum()
    assert scores["spectrophotometry_charac4d"] == pytest.approx(spectro, rel=1e-3)  # printed with 8 decimals
    assert scores["astrometry_px_charac4d"] < 0.2 and scores["photometry_rel_charac4d"] < 0.05
