"""negfc's posterior uncertainties (emcee): reproducible, centred on the truth, and a clear error without emcee."""

import sys

import numpy as np
import pytest

from exobench.charac.baselines import charac_params
from exobench.charac.model import companion_cube
from exobench.charac.negfc import NegFC
from exobench.charac.uncertainty import injection_uncertainties, polar_rms_errors, rms_errors
from exobench.examples import example_dataset
from exobench.geometry import polar_to_cartesian

FLUX = 4.0
SMALL = {"ncomp": 2, "passes": 1, "uncertainty": "posterior", "walkers": 8, "steps": 50, "burnin": 20}


@pytest.fixture(scope="module")
def companion():
    clean = example_dataset(n_frames=12, size=33, seed=5)
    x, y = polar_to_cartesian(9.0, 47.0, center=clean.center)
    dataset = clean.replace(cube=np.asarray(clean.cube, float) + companion_cube(clean, x, y, FLUX))
    return dataset, np.array([x, y, FLUX])


def test_posterior_is_reproducible_and_about_the_truth(companion):
    dataset, truth = companion
    negfc = NegFC(**SMALL)
    start = truth + [0.1, -0.1, 0.1 * FLUX]  # the walkers start off the truth
    state = np.random.get_state()
    first = negfc.posterior(dataset, start, rng=np.random.default_rng(7))
    again = negfc.posterior(dataset, start, rng=np.random.default_rng(7))
    other = negfc.posterior(dataset, start, rng=np.random.default_rng(8))
    assert first.samples.tobytes() == again.samples.tobytes()  # one seed, the same bytes
    assert other.samples.tobytes() != first.samples.tobytes()
    after = np.random.get_state()  # numpy's global generator untouched
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]
    assert first.samples.shape == (8 * (50 - 20), 3)
    assert np.all(np.isfinite(first.sigma)) and np.all(first.sigma > 0)
    assert np.all(first.lower <= first.median) and np.all(first.median <= first.upper)
    assert 0.05 < first.acceptance < 0.95
    assert np.hypot(*(first.median[:2] - truth[:2])) < 0.3
    assert abs(first.median[2] / FLUX - 1) < 0.15
    assert first.noise.shape == (1, 2) and first.noise[0, 1] > 0
    thinned = NegFC(**{**SMALL, "thin": 3}).posterior(dataset, start, rng=np.random.default_rng(7))
    assert thinned.samples.shape == (8 * 10, 3)


def test_estimate_takes_its_uncertainties_from_the_posterior(companion):
    dataset, truth = companion
    negfc = NegFC(**SMALL, seed=3)
    rows, sigmas = negfc.estimate(dataset, [truth[:2] + [0.4, 0.0]])
    assert rows.shape == sigmas.shape == (1, 3)
    assert np.all(np.isfinite(sigmas)) and np.all(sigmas > 0) and sigmas[0, 2] < 0.5 * FLUX
    # the estimate is the simplex's; its uncertainties come from the first child of seed 3
    child = np.random.default_rng(np.random.SeedSequence(3).spawn(1)[0])
    np.testing.assert_array_equal(sigmas[0], negfc.posterior(dataset, rows[0], rng=child).sigma)
    plain, none = negfc.estimate(dataset, [truth[:2] + [0.4, 0.0]], uncertainties=False)
    assert none is None
    np.testing.assert_array_equal(plain, rows)


def test_posterior_needs_positive_fluxes(companion):
    dataset, truth = companion
    with pytest.raises(ValueError, match=r"estimate: expected positive fluxes .* got \[-1.0\]"):
        NegFC(**SMALL).posterior(dataset, [truth[0], truth[1], -1.0])
    with pytest.raises(ValueError, match=r"estimate: expected 3 finite values \[x, y, flux_1, ...\], got shape \(2,\)"):
        NegFC(**SMALL).posterior(dataset, truth[:2])


@pytest.mark.parametrize("kwargs, message", [
    ({"uncertainty": "mcmc"}, "uncertainty: expected one of 'injection', 'posterior', got 'mcmc'"),
    ({"steps": 50, "burnin": 50}, r"burnin: expected an integer from 0 to 49 \(fewer than the steps\), got 50"),
    ({"thin": 0}, "thin: expected an integer >= 1, got 0"),
    ({"flux_prior": 1.0}, "flux_prior: expected a number > 1, got 1.0"),
    ({"prior_width": 0}, "prior_width: expected a number > 0, got 0"),
])
def test_bad_posterior_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NegFC(**kwargs)


def test_missing_emcee_names_the_extra(monkeypatch, tmp_path, capsys):
    from exobench.cli import main

    monkeypatch.setitem(sys.modules, "emcee", None)  # import emcee now fails as if not installed
    hint = r"uncertainty='posterior' needs emcee >= 3.1: pip install 'exobench\[emcee\]'"
    with pytest.raises(ImportError, match=hint):
        NegFC(uncertainty="posterior")
    NegFC()  # the default needs no emcee
    params = tmp_path / "posterior.yaml"
    params.write_text("options:\n  uncertainty: posterior\n")
    with pytest.raises(ImportError, match=hint):
        charac_params("negfc", params)
    assert main(["baseline", "negfc", "--show-params", "--params", str(params)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exobench: error: uncertainty='posterior' needs emcee") and err.count("\n") == 1


def test_polar_uncertainties_follow_the_companion_azimuth():
    # fakes whose errors are 0.3 px tangential and 0.1 px radial, at four azimuths
    center = np.array([20.0, 20.0])
    azimuths = np.radians([0.0, 90.0, 180.0, 270.0])
    radial = np.stack([np.cos(azimuths), np.sin(azimuths)], axis=1)
    tangential = np.stack([-np.sin(azimuths), np.cos(azimuths)], axis=1)
    truths = np.column_stack([center + 8.0 * radial, np.full(4, 5.0)])
    errors = 0.1 * radial * [[1], [-1], [1], [-1]] + 0.3 * tangential * [[1], [1], [-1], [-1]]
    estimates = truths + np.column_stack([errors, [0.5, -0.5, 0.5, -0.5]])
    on_x = polar_rms_errors(estimates, truths, center + [8.0, 0.0], center)
    on_y = polar_rms_errors(estimates, truths, center + [0.0, 8.0], center)
    np.testing.assert_allclose(on_x, [0.1, 0.3, 0.5])   # at azimuth 0, x is radial and y tangential
    np.testing.assert_allclose(on_y, [0.3, 0.1, 0.5])   # at 90 degrees the other way round
    np.testing.assert_allclose(rms_errors(estimates, truths), [np.sqrt(0.05)] * 2 + [0.5])  # mixed
    diagonal = polar_rms_errors(estimates, truths, center + [5.0, 5.0], center)
    np.testing.assert_allclose(diagonal[:2], [np.sqrt(0.05)] * 2)


def test_injection_uncertainties_use_the_polar_reduction(companion):
    dataset, truth = companion
    found = []

    def fit(data, start):  # a fake estimator: a fixed tangential error of 0.2 px
        x, y = start
        r = np.hypot(x - dataset.center[0], y - dataset.center[1])
        found.append((x, y))
        return [x - 0.2 * (y - dataset.center[1]) / r, y + 0.2 * (x - dataset.center[0]) / r, FLUX]

    sigma = injection_uncertainties(fit, dataset, truth, truth[:2], count=4)
    theta = np.arctan2(truth[1] - dataset.center[1], truth[0] - dataset.center[0])
    np.testing.assert_allclose(sigma[:2], 0.2 * np.abs([np.sin(theta), np.cos(theta)]), atol=1e-9)
    assert len(found) == 4


def test_negfc_parameter_file_is_the_defaults():
    from pathlib import Path

    from exobench.charac.baselines import dump_charac_params

    path = Path(__file__).resolve().parents[2] / "baselines" / "negfc.yaml"
    assert path.read_text() == dump_charac_params(charac_params("negfc")), (
        f"{path} differs from the code's defaults: rewrite it with "
        "`exobench baseline negfc --show-params > baselines/negfc.yaml`")
    assert charac_params("negfc", path)["options"]["uncertainty"] == "injection"


def test_4d_posterior_shares_the_position():
    from exobench.algorithms.sdi import example_4d_dataset
    from exobench.charac.model import channel_datasets

    dataset = example_4d_dataset(n_channels=2, n_frames=10, size=33, rotation=60.0, seed=1)
    x, y = polar_to_cartesian(9.0, 47.0, center=dataset.center)
    fluxes = np.array([20.0, 30.0]) / dataset.psf.max()
    cube = np.array(dataset.cube, float)
    for c, channel in enumerate(channel_datasets(dataset)):
        cube[c] += companion_cube(channel, x, y, fluxes[c])
    posterior = NegFC(**{**SMALL, "walkers": 4, "steps": 30, "burnin": 10}).posterior(
        dataset.replace(cube=cube), [x, y, *fluxes], rng=np.random.default_rng(0))
    assert posterior.samples.shape == (10 * 20, 4)  # at least 2 * 4 + 2 walkers, whatever asked
    assert posterior.noise.shape == (2, 2) and np.all(posterior.sigma > 0)
    assert np.hypot(*(posterior.median[:2] - [x, y])) < 0.5
    np.testing.assert_allclose(posterior.median[2:], fluxes, rtol=0.2)
