"""The challenge-folder module: layout, phase.json, challenge.yaml and the phase-kind registry."""

import copy
import datetime
import json

import pytest

from exobench.challenge import (
    ChallengeConfig,
    ChallengeLayout,
    PhaseEntry,
    PhaseKind,
    PhaseSettings,
    get_phase_kind,
    phase_folder_name,
    phase_kind_for_suffix,
    phase_kinds,
    phase_number,
    read_challenge_config,
    read_phase_settings,
    register_phase_kind,
    write_challenge_config,
    write_phase_settings,
)
from exobench.challenge import kinds as kinds_module

# -- layout --------------------------------------------------------------------------------------------


def test_layout_paths_are_relative_to_the_root(tmp_path):
    layout = ChallengeLayout(tmp_path)
    assert layout.public(3) == tmp_path / "public" / "phase_3"
    assert layout.reference(1) == tmp_path / "reference" / "phase_1"
    assert layout.phase_file(2) == tmp_path / "reference" / "phase_2" / "phase.json"
    assert layout.truth_file(2) == tmp_path / "reference" / "phase_2" / "truth.csv"
    assert layout.kit_public(2) == tmp_path / "starting_kit" / "public_data" / "phase_2"
    assert layout.challenge_file == tmp_path / "challenge.yaml"
    assert layout.manifest_file == tmp_path / "manifest.json"
    assert layout.leaderboard_db == tmp_path / "leaderboard.sqlite"
    assert layout.submissions == tmp_path / "submissions"


@pytest.mark.parametrize("number", [0, -1, 1.0, True, "1"])
def test_phase_folder_name_refuses_what_is_not_a_phase_number(number):
    with pytest.raises(ValueError, match=r"phase: expected a phase number \(an integer >= 1\)"):
        phase_folder_name(number)


@pytest.mark.parametrize("name, expected", [("phase_1", 1), ("phase_10", 10), ("phase_01", None),
                                            ("phase_0", None), ("phase_x", None), ("Phase_1", None)])
def test_phase_number_parses_only_canonical_folder_names(name, expected):
    assert phase_number(name) == expected


def test_phases_present_are_listed_in_order_and_others_ignored(tmp_path):
    for name in ("phase_10", "phase_2", "phase_x", "notes"):
        (tmp_path / "reference" / name).mkdir(parents=True)
    (tmp_path / "reference" / "phase_3").write_text("a file, not a phase")
    (tmp_path / "public" / "phase_2").mkdir(parents=True)
    layout = ChallengeLayout(tmp_path)
    assert layout.reference_phases() == [2, 10]
    assert layout.public_phases() == [2]
    assert ChallengeLayout(tmp_path / "missing").reference_phases() == []


def test_existing_reference_names_the_phases_there(tmp_path):
    (tmp_path / "reference" / "phase_1").mkdir(parents=True)
    layout = ChallengeLayout(tmp_path)
    assert layout.existing_reference(1) == tmp_path / "reference" / "phase_1"
    with pytest.raises(FileNotFoundError, match=r"phase: no reference folder .*phase_2.* \(phases there: 1\)"):
        layout.existing_reference(2)
    with pytest.raises(FileNotFoundError, match=r"phase: no public folder .* \(no public/phase_N folder in"):
        layout.existing_public(1)
    with pytest.raises(FileNotFoundError, match=r"challenge: folder .* does not exist"):
        ChallengeLayout(tmp_path / "nope").existing_reference(1)


# -- phase.json ----------------------------------------------------------------------------------------


def test_phase_settings_round_trip_and_same_bytes(tmp_path):
    settings = PhaseSettings(suffix="4d", map_shapes={"b_1": [5, 7], "a_1": (3, 3)}, counting={"npix": 3},
                             compat="eidc2019", max_fpr=0.05)
    path = write_phase_settings(tmp_path / "phase.json", settings)
    again = read_phase_settings(path)
    assert again == settings
    assert again.map_shapes == {"b_1": (5, 7), "a_1": (3, 3)}
    write_phase_settings(tmp_path / "again.json", again)
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    assert json.loads(path.read_text()) == {"suffix": "4d", "map_shapes": {"a_1": [3, 3], "b_1": [5, 7]},
                                            "counting": {"npix": 3}, "compat": "eidc2019", "max_fpr": 0.05}


def test_missing_phase_file_gives_no_settings(tmp_path):
    settings = read_phase_settings(tmp_path / "phase.json")
    assert settings == PhaseSettings()
    assert settings.effective_max_fpr == 0.01
    assert settings.to_json() == "{}\n"


@pytest.mark.parametrize("content, message", [
    ("not json", r"reference: phase.json: not valid JSON"),
    ("[1, 2]", r"reference: phase.json: expected a JSON object, got list"),
    ('{"sufix": "3d"}', r"reference: phase.json: unknown key\(s\) 'sufix'; expected some of compat, counting"),
    ('{"suffix": "3-d"}', r"reference: phase.json: suffix: expected a short alphanumeric suffix"),
    ('{"suffix": 3}', r"reference: phase.json: suffix: expected a short alphanumeric suffix"),
    ('{"map_shapes": [1]}', r"reference: phase.json: map_shapes: expected an object"),
    ('{"map_shapes": {"a_1": [0, 3]}}', r"reference: phase.json: map_shapes\['a_1'\]: expected \[ny, nx\]"),
    ('{"map_shapes": {"a_1": [3]}}', r"reference: phase.json: map_shapes\['a_1'\]: expected \[ny, nx\]"),
    ('{"counting": 3}', r"reference: phase.json: counting: expected an object of option: number"),
    ('{"counting": {"npix": true}}', r"reference: phase.json: counting.npix: expected a number, got True"),
    ('{"counting": {"npix": NaN}}', r"reference: phase.json: counting.npix: expected a number"),
    ('{"compat": "eidc"}', r"reference: phase.json: compat: expected null or \"eidc2019\", got 'eidc'"),
    ('{"max_fpr": 0}', r"reference: phase.json: max_fpr: expected a number in \(0, 1\], got 0"),
    ('{"max_fpr": 1.5}', r"reference: phase.json: max_fpr: expected a number in \(0, 1\], got 1.5"),
])
def test_malformed_phase_files_are_refused_naming_the_key(tmp_path, content, message):
    path = tmp_path / "phase.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_phase_settings(path)


# -- challenge.yaml ------------------------------------------------------------------------------------


def test_challenge_config_round_trip_and_same_bytes(tmp_path):
    config = ChallengeConfig(name="My challenge", description="Find them.", start=datetime.date(2027, 1, 1),
                             max_submissions=10, phases=(PhaseEntry(number=1, name="ADI", suffix="3d"),
                                                         PhaseEntry(number=3, suffix="4d",
                                                                    end=datetime.date(2027, 6, 1))))
    path = write_challenge_config(tmp_path, config)
    assert path == tmp_path / "challenge.yaml"
    assert read_challenge_config(tmp_path) == config
    write_challenge_config(tmp_path / "again.yaml", read_challenge_config(path))
    assert (tmp_path / "again.yaml").read_bytes() == path.read_bytes()
    assert config.phase(3).suffix == "4d" and config.phase(2) is None


def test_the_builders_challenge_file_is_written_as_before(tmp_path):
    """Only what is given is written, in the documented order."""
    config = ChallengeConfig(name="exobench-default", phases=(PhaseEntry(1, "ADI", "3d"),
                                                               PhaseEntry(2, "ADI+mSDI", "4d")))
    text = write_challenge_config(tmp_path, config).read_text()
    assert text == ("name: exobench-default\nphases:\n- number: 1\n  name: ADI\n  suffix: 3d\n"
                    "- number: 2\n  name: ADI+mSDI\n  suffix: 4d\n")


def test_missing_or_empty_challenge_file_gives_no_values(tmp_path):
    assert read_challenge_config(tmp_path) == ChallengeConfig()
    (tmp_path / "challenge.yaml").write_text("")
    assert read_challenge_config(tmp_path) == ChallengeConfig()


@pytest.mark.parametrize("content, message", [
    ("a: [", r"challenge.yaml: not valid YAML"),
    ("- 1\n- 2\n", r"challenge.yaml: expected a mapping, got list"),
    ("nmae: x\n", r"challenge.yaml: unknown key\(s\) nmae; expected some of description, docker_image, "
                    r"execution_time_limit"),
    ("name: ''\n", r"challenge.yaml: name: expected a non-empty string, got ''"),
    ("start: soon\n", r"challenge.yaml: start: expected a date YYYY-MM-DD, got 'soon'"),
    ("max_submissions: 0\n", r"challenge.yaml: max_submissions: expected an integer >= 1, got 0"),
    ("execution_time_limit: true\n", r"challenge.yaml: execution_time_limit: expected an integer >= 1"),
    ("phases: []\n", r"challenge.yaml: phases: expected a non-empty list of phases"),
    ("phases: [3]\n", r"challenge.yaml: phases\[0\]: expected a mapping, got 3"),
    ("phases: [{number: 1, kind: adi}]\n", r"challenge.yaml: phases\[0\]: unknown key\(s\) kind"),
    ("phases: [{number: 0}]\n", r"challenge.yaml: phases\[0\]: number: expected an integer >= 1, got 0"),
    ("phases: [{number: 2}, {number: 1}]\n", r"challenge.yaml: phases: numbers must increase, got 2 then 1"),
    ("phases: [{suffix: 3-d}]\n", r"challenge.yaml: phases\[0\]: suffix: expected a short alphanumeric"),
    ("phases: [{start: 2027-02-01, end: 2027-01-01}]\n",
     r"challenge.yaml: phases\[0\]: end \(2027-01-01\) must be after start \(2027-02-01\)"),
])
def test_malformed_challenge_files_are_refused_naming_the_key(tmp_path, content, message):
    (tmp_path / "challenge.yaml").write_text(content)
    with pytest.raises(ValueError, match=message):
        read_challenge_config(tmp_path)


def test_integer_suffixes_and_datetimes_are_read_as_written(tmp_path):
    (tmp_path / "challenge.yaml").write_text("start: 2027-01-02 10:00:00\nphases: [{suffix: 3}]\n")
    config = read_challenge_config(tmp_path)
    assert config.start == datetime.date(2027, 1, 2)
    assert config.phases[0].suffix == "3" and config.phases[0].number == 1


# -- phase kinds ---------------------------------------------------------------------------------------


def test_the_kinds_of_the_eidc():
    kinds = phase_kinds()
    assert list(kinds) == ["adi", "adi+msdi", "charac-adi", "charac-adi+msdi"]
    assert [kinds[name].task for name in kinds] == ["detection", "detection", "characterisation", "characterisation"]
    assert (kinds["charac-adi"].cube_ndim, kinds["charac-adi+msdi"].cube_ndim) == (3, 4)
    assert phase_kind_for_suffix("charac4d").is_characterisation and not kinds["adi"].is_characterisation
    assert (kinds["adi"].suffix, kinds["adi"].cube_ndim, kinds["adi"].title) == ("3d", 3, "ADI")
    assert (kinds["adi+msdi"].suffix, kinds["adi+msdi"].cube_ndim) == ("4d", 4)
    assert phase_kind_for_suffix("4d") is kinds["adi+msdi"]
    assert phase_kind_for_suffix("5d") is None


def test_unknown_kind_is_named_with_the_kinds_there_are():
    with pytest.raises(ValueError, match=r"phases\[0\].kind: expected a phase kind among 'adi', 'adi\+msdi', "
                                         r"'charac-adi', 'charac-adi\+msdi', got 'rdi'"):
        get_phase_kind("rdi", where="phases[0].kind")


def test_a_new_kind_is_one_registration(monkeypatch):
    monkeypatch.setattr(kinds_module, "_KINDS", copy.deepcopy(kinds_module._KINDS))
    kind = register_phase_kind(PhaseKind(name="rdi", suffix="rdi", title="RDI", cube_ndim=3,
                                         description="Reference-star differential imaging.",
                                         baselines=["median"]))
    assert get_phase_kind("rdi") is kind and kind.baselines == ("median",)
    assert phase_kind_for_suffix("rdi") is kind
    with pytest.raises(ValueError, match="kind: a phase kind named 'rdi' is already registered"):
        register_phase_kind(kind)
    with pytest.raises(ValueError, match="kind: suffix '3d' is already the suffix of another phase kind"):
        register_phase_kind(PhaseKind(name="other", suffix="3d", title="X", cube_ndim=3, description="x"))
    with pytest.raises(ValueError, match="kind: expected a PhaseKind, got str"):
        register_phase_kind("rdi")


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "name: expected a non-empty string"),
    ("suffix", "3-d", "suffix: expected a short alphanumeric suffix"),
    ("cube_ndim", 5, "cube_ndim: expected 3 or 4, got 5"),
    ("task", "fitting", "task: expected one of detection, characterisation, got 'fitting'"),
])
def test_phase_kinds_are_checked(field, value, message):
    values = {"name": "x", "suffix": "x", "title": "X", "cube_ndim": 3, "description": "x"}
    values[field] = value
    with pytest.raises(ValueError, match=message):
        PhaseKind(**values)
