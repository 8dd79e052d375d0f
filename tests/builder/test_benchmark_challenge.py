"""The bundled benchmark challenge: enough datasets, instruments and companions to rank methods,
spread over separation and S/N, checked from its definition without building it."""

import re

import numpy as np
import pytest

pytest.importorskip("hcipy", reason="the benchmark challenge simulates instruments with hcipy")

from exobench.builder import load_challenge  # noqa: E402
from exobench.builder.definition import BUNDLED_CHALLENGES, DEFAULT_CHALLENGE, bundled_challenge  # noqa: E402
from exobench.builder.recipe import draw_companions  # noqa: E402
from exobench.simulate import configured_profile  # noqa: E402


@pytest.fixture(scope="module")
def phase():
    challenge = load_challenge(bundled_challenge("benchmark"))
    assert challenge.name == "exobench-benchmark" and len(challenge.phases) == 1
    return challenge.phases[0]


def _simulated(phase):
    return [s for s in phase.sources if s.kind == "simulate"]


def test_bundled_names_and_the_default_synonym():
    assert list(BUNDLED_CHALLENGES) == ["default", "benchmark"]
    assert bundled_challenge("default") == DEFAULT_CHALLENGE
    assert all(path.is_file() for path in BUNDLED_CHALLENGES.values())


@pytest.mark.parametrize("name", ["nope", "", None, "default.yaml"])
def test_an_unknown_bundled_name_lists_the_names(name):
    expected = f"challenge: expected a bundled challenge, one of default, benchmark, got {name!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        bundled_challenge(name)


def test_the_benchmark_phase_is_adi_with_enough_datasets_and_instruments_without_the_real_data(phase):
    assert phase.kind == "adi"
    simulated = _simulated(phase)
    # the simulated sources alone (the real NACO copies are optional) make the counts
    assert len(simulated) >= 9
    assert len({s.instrument for s in simulated}) >= 3
    real = [s for s in phase.sources if s.kind == "real"]
    assert real and all(s.optional and s.instrument == "naco" for s in real)
    assert len({s.spec.get("seed") for s in simulated if s.instrument == "sphere_irdis"}) > 1  # independent noise


def test_at_least_40_companions_whatever_the_draws(phase):
    low, high = phase.injection.companions
    assert low >= 4 and low * len(_simulated(phase)) >= 40


def test_companions_spread_over_separation_and_snr(phase):
    """The recipe drawn on each simulated source's frame (its FWHM ~ lambda/D) gives easy and hard companions."""
    recipe = phase.injection
    assert any(b[1] > 5 for b in recipe.snr_bands) and any(b[0] < 3 for b in recipe.snr_bands)
    rng = np.random.default_rng(2027)
    separations, snrs = [], []
    for src in _simulated(phase):
        profile = configured_profile(src.spec["profile"], frames=src.spec.get("frames"),
                                     frame_size=src.spec.get("frame_size"), overrides=src.spec.get("overrides"))
        fwhm = profile.lambda_over_d_px(float(np.mean(profile.wavelengths_um)))
        drawn = draw_companions(recipe, fwhm=fwhm, frame_size=profile.observation.frame_size, rng=rng)
        separations += [c.separation / fwhm for c in drawn]
        snrs += [c.target_snr for c in drawn]
    separations, snrs = np.array(separations), np.array(snrs)
    assert len(separations) >= 40
    assert np.sum(separations < 6) >= 10 and np.sum(separations >= 6) >= 10
    assert np.sum(snrs < 3) >= 10 and np.sum(snrs >= 5) >= 10
    assert separations.min() < 3 and separations.max() > 8


def test_frames_stay_small(phase):
    """Every baseline runs on the phase in minutes: small frames, few of them."""
    for src in _simulated(phase):
        assert src.spec["frame_size"] <= 141 and src.spec["frames"] <= 40
