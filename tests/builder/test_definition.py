"""Challenge definitions: every mistake refused before any work, naming where it is."""

import pytest

pytest.importorskip("hcipy", reason="the definitions here name simulator profiles")

from exobench.builder import load_challenge  # noqa: E402
from exobench.builder.definition import DEFAULT_CHALLENGE, resolve_path  # noqa: E402
from exobench.builder.recipe import draw_companions  # noqa: E402

from .conftest import SMALL  # noqa: E402


def test_the_small_definition_loads(write_definition):
    challenge = load_challenge(write_definition())
    assert [p.kind for p in challenge.phases] == ["adi", "adi+msdi"]
    assert challenge.phases[0].injection.companions == (1, 3)
    assert challenge.calibration.explained_variance == (0.9, 0.99)
    assert challenge.with_seed(9).seed == 9 and challenge.with_seed(9).definition["seed"] == 9


def test_the_default_challenge_is_valid():
    challenge = load_challenge(DEFAULT_CHALLENGE)
    assert [p.kind for p in challenge.phases] == ["adi", "adi+msdi", "charac-adi"]
    assert [len(p.sources) for p in challenge.phases] == [3, 3, 2]
    assert challenge.phases[2].injection.companions[0] >= 1  # a characterisation phase announces companions


@pytest.mark.parametrize("old, new, message", [
    ("simulate: lmircam", "simulate: hubble", r"sources\[1\] \(simulate hubble\): instrument: unknown profile 'hubble'"),
    ("[[2.5, 5], [5, 9]]", "[[2.5, 5], [40, 60]]", r"separation band \[40.0, 60.0\] FWHM starts at .* outside the frame"),
    ("min_spacing_fwhm: 3", "min_spacing_fwhm: 9", r"injection: 3 companions 9 FWHM apart do not fit"),
    ("kind: adi+msdi", "kind: adi", r"sources\[0\] \(simulate sphere_ifs\): a 4D cube in phase 2 \(adi\)"),
    ("      - simulate: sphere_ifs\n        frames: 12\n        frame_size: 71\n        overrides: {wavelength.channels: 3, ",
     "      - simulate: lmircam\n        frames: 12\n        frame_size: 71\n        overrides: {",
     r"a 3D cube in phase 2 \(adi\+msdi\), which takes 4D"),
    ("seed: 5", "seed: -1", r"seed: expected an integer >= 0, got -1"),
    ("kind: adi\n", "kind: adi\n    colour: red\n", r"phases\[0\].colour: unknown key"),
    ("frames: 16\n        frame_size: 71", "frames: 16\n        frame_size: 71\n        bogus: 1",
     r"phases\[0\].sources\[0\].bogus: unknown key"),
    ("companions: [1, 3]", "companions: [3, 1]", r"injection.companions: expected \[min, max\] integers"),
    ("seed: 5", "seed: 5\nstart: soon", r"start: expected a date YYYY-MM-DD, got 'soon'"),
    ("frames: 16", "frames: twenty", r"sources\[0\] \(simulate sphere_irdis\): .*observation.frames: expected an "
                                    r"integer, got 'twenty'"),
    ("simulation.subframes: 2", "simulation.bogus: 2", r"sources\[0\] \(simulate sphere_irdis\): simulation.bogus: "
                                                      r"unknown key 'bogus' of section 'simulation'"),
    ("seed: 5", "seed: 5\nmax_submissions: 0", r"max_submissions: expected an integer >= 1, got 0"),
    ("kind: adi\n", "kind: adi\n    start: 2027-03-01\n    end: 2027-02-01\n",
     r"phases\[0\]: end \(2027-02-01\) must be after start \(2027-03-01\)"),
    ("frames: 16\n        frame_size: 71", "frames: 16\n        frame_size: 2049",
     r"sources\[0\] \(simulate sphere_irdis\): frames of 2049 x 2049 px in phase 1: larger than the scoring "
     r"program accepts for a detection map \(2048 x 2048 px at most\)"),
    ("snr_bands", "snr_bands", None),
])
def test_bad_definitions_fail_with_one_message(write_definition, old, new, message):
    text = SMALL.replace("COMPANIONS", "1, 3")
    if message is None:
        text = text.replace("  min_spacing_fwhm: 3", "  min_spacing_fwhm: 3\n  snr_bands: [[3, 1]]")
        message = r"injection.snr_bands: expected 0 <= low < high"
    else:
        assert old in text, old
        text = text.replace(old, new, 1)
    with pytest.raises(ValueError, match=message) as info:
        load_challenge(write_definition(text=text))
    assert str(info.value).startswith(str(write_definition(text=text)))
    assert "\n" not in str(info.value)


def test_options_a_read_source_would_ignore_are_refused(write_definition):
    text = SMALL.replace("COMPANIONS", "1, 3").replace(
        "      - simulate: lmircam", "      - folder: somewhere\n        instrument: x\n        frame_size: 2000\n"
        "      - simulate: lmircam", 1)
    with pytest.raises(ValueError, match=r"phases\[0\].sources\[1\].frame_size: only a simulated source takes "
                                         r"frame_size \(a folder source is read as it is"):
        load_challenge(write_definition(text=text))


def test_sizes_beyond_this_machine_are_refused_naming_the_source(write_definition, monkeypatch):
    from exobench.builder import definition

    text = SMALL.replace("COMPANIONS", "1, 3")
    monkeypatch.setattr(definition, "_physical_memory", lambda: 2**30)
    assert load_challenge(write_definition(text=text))  # the small definition fits in 1 GiB
    big = text.replace("frames: 16\n        frame_size: 71", "frames: 16\n        frame_size: 1201", 1)
    with pytest.raises(ValueError, match=r"sources\[0\] \(simulate sphere_irdis\): phase 1: frames of 1201 x 1201 px "
                                         r"\(23,078,416 values\) need about [0-9.]+ GiB of memory to build, more than "
                                         r"this machine's 1.0 GiB; use a smaller frame_size or fewer frames"):
        load_challenge(write_definition(text=big))
    monkeypatch.setattr(definition, "_physical_memory", lambda: None)  # the system does not say: no limit
    assert load_challenge(write_definition(text=big))


def test_missing_source_files_and_definition(tmp_path, write_definition):
    text = SMALL.replace("COMPANIONS", "1, 3").replace(
        "      - simulate: lmircam", "      - files: {cube: nothere.fits, angles: pa.fits}\n        instrument: x\n"
        "      - simulate: lmircam", 1)
    with pytest.raises(ValueError, match=r"files nothere.fits\): missing source file .*nothere.fits"):
        load_challenge(write_definition(text=text))
    optional = text.replace("instrument: x\n", "instrument: x\n        optional: true\n")
    assert load_challenge(write_definition(text=optional, name="opt.yaml"))  # skipped at build time
    with pytest.raises(FileNotFoundError, match="challenge: no definition file"):
        load_challenge(tmp_path / "absent.yaml")


def test_paths_expand_variables_with_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("EXOBENCH_TEST_DIR", "/data/eidc")
    assert str(resolve_path("${EXOBENCH_TEST_DIR:-x}/cube.fits", tmp_path)) == "/data/eidc/cube.fits"
    monkeypatch.delenv("EXOBENCH_TEST_DIR")
    assert resolve_path("${EXOBENCH_TEST_DIR:-rel}/c.fits", tmp_path).is_absolute()
    assert resolve_path("c.fits", tmp_path) == tmp_path / "c.fits"


def test_companion_draws_follow_the_recipe():
    import numpy as np

    from exobench.builder.definition import InjectionRecipe

    recipe = InjectionRecipe(companions=(2, 4), separation_bands_fwhm=((2.5, 6.0), (6.0, 20.0)), min_spacing_fwhm=3.0)
    rng = np.random.default_rng(0)
    counts, separations, bands = [], [], []
    for _ in range(200):
        drawn = draw_companions(recipe, fwhm=4.0, frame_size=201, rng=rng)
        counts.append(len(drawn))
        separations += [c.separation / 4.0 for c in drawn]
        bands += [c.snr_band for c in drawn]
        for i, a in enumerate(drawn):  # spacing kept
            for b in drawn[i + 1:]:
                d = np.hypot(a.separation * np.cos(np.radians(a.theta)) - b.separation * np.cos(np.radians(b.theta)),
                             a.separation * np.sin(np.radians(a.theta)) - b.separation * np.sin(np.radians(b.theta)))
                assert d >= 12.0 - 1e-9
            assert a.snr_band[0] <= a.target_snr <= a.snr_band[1]
        # S/N bands alternate companion by companion
        assert all(drawn[i].snr_band != drawn[i + 1].snr_band for i in range(len(drawn) - 1))
    assert set(counts) == {2, 3, 4}
    separations = np.array(separations)
    room = 100 / 4.0 - 2.0
    assert separations.min() >= 2.5 and separations.max() <= min(20.0, room)
    assert 0.35 < np.mean(separations < 6.0) < 0.65  # equal odds of the two bands


def test_platform_settings_go_from_the_definition_to_challenge_yaml(write_definition):
    import datetime

    text = SMALL.replace("seed: 5", "seed: 5\ndescription: Find them.\nstart: 2027-01-04\nmax_submissions: 7\n"
                                    "docker_image: my/image:py37")
    text = text.replace("kind: adi\n", "kind: adi\n    end: 2027-02-01\n    description: The ADI phase.\n", 1)
    platform = load_challenge(write_definition(text=text)).platform
    assert (platform.description, platform.start, platform.max_submissions, platform.docker_image) == (
        "Find them.", datetime.date(2027, 1, 4), 7, "my/image:py37")
    assert platform.phase(1).end == datetime.date(2027, 2, 1) and platform.phase(1).description == "The ADI phase."
    assert platform.phase(2).end is None
    assert load_challenge(DEFAULT_CHALLENGE).platform.start is None


def test_the_build_writes_the_platform_settings_into_challenge_yaml(write_definition, tmp_path):
    import datetime

    from exobench.builder.build import _write_challenge_files
    from exobench.challenge import read_challenge_config

    text = SMALL.replace("seed: 5", "seed: 5\nstart: 2027-01-04").replace(
        "kind: adi\n", "kind: adi\n    end: 2027-02-01\n", 1)
    _write_challenge_files(tmp_path, load_challenge(write_definition(text=text)))
    config = read_challenge_config(tmp_path)
    assert config.name == "tiny" and config.start == datetime.date(2027, 1, 4)
    assert [(p.number, p.name, p.suffix, p.end) for p in config.phases] == [
        (1, "ADI", "3d", datetime.date(2027, 2, 1)), (2, "ADI+mSDI", "4d", None)]
