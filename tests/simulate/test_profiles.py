import math

import pytest
import yaml

from exobench.simulate import available_instruments, load_profile
from exobench.simulate.profiles import profile_from_dict

REQUIRED = {"naco": 1, "sphere_irdis": 1, "nirc2": 1, "lmircam": 1, "sphere_ifs": 39, "gpi": 37}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_shipped_profiles_load_with_their_channels(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.wavelength.channels == REQUIRED[name]
    assert len(profile.wavelengths_um) == REQUIRED[name]
    assert profile.pixel_scale_arcsec > 0 and profile.description


def test_available_instruments_lists_the_shipped_files():
    assert set(REQUIRED) <= set(available_instruments())


def test_coronagraph_types_of_the_shipped_profiles():
    kinds = {name: load_profile(name).coronagraph.type for name in REQUIRED}
    assert kinds == {"naco": "vortex", "sphere_irdis": "lyot", "nirc2": "vortex", "lmircam": "none",
                     "sphere_ifs": "lyot", "gpi": "lyot"}


def test_lambda_over_d_in_pixels():
    naco = load_profile("naco")
    expected = 3.8e-6 / 8.1196 * 206264.806 / 0.02719
    assert naco.lambda_over_d_px() == pytest.approx(expected, rel=1e-6)
    assert naco.lambda_over_d_px(1.9) == pytest.approx(expected / 2, rel=1e-6)


def test_round_trip_through_plain_data_and_yaml(tmp_path):
    gpi = load_profile("gpi")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(gpi.to_dict()))
    again = load_profile(path)
    assert again == gpi


def test_updated_changes_one_value_and_validates():
    naco = load_profile("naco")
    changed = naco.updated({"ao.residual_wfe_nm": 200, "observation.frames": 10})
    assert changed.ao.residual_wfe_nm == 200.0 and changed.observation.frames == 10
    assert naco.ao.residual_wfe_nm != 200.0  # the original is untouched
    with pytest.raises(ValueError, match=r"ao.resid: unknown key 'resid' of section 'ao'"):
        naco.updated({"ao.resid": 1})
    with pytest.raises(ValueError, match=r"optics.x: expected 'section.key'"):
        naco.updated({"optics.x": 1})
    with pytest.raises(ValueError, match=r"observation.frames: expected >= 1, got 0"):
        naco.updated({"observation.frames": 0})
    with pytest.raises(ValueError, match=r"observation.frames: expected an integer, got 2.5"):
        naco.updated({"observation.frames": 2.5})


def _data():
    return load_profile("lmircam").to_dict()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["ao"].update(bogus=1), r"ao.bogus: unknown key; expected one of control_radius"),
    (lambda d: d["ao"].pop("control_radius"), r"ao.control_radius: missing"),
    (lambda d: d.update(optics={}), r"unknown section 'optics'"),
    (lambda d: d.pop("pixel_scale_arcsec"), r"pixel_scale_arcsec: missing"),
    (lambda d: d["telescope"].update(aperture="hubble"), r"telescope.aperture: expected one of generic, vlt-ut1"),
    (lambda d: d["coronagraph"].update(type="fqpm"), r"coronagraph.type: expected one of none, vortex"),
    (lambda d: d["coronagraph"].update(type="lyot"), r"coronagraph.mask_diameter_arcsec: a lyot coronagraph"),
    (lambda d: d["coronagraph"].update(type="vortex", charge=3), r"coronagraph.charge: expected an even charge"),
    (lambda d: d["detector"].update(throughput=1.5), r"detector.throughput: expected 0 < value <= 1"),
    (lambda d: d["detector"].update(read_noise_e="lots"), r"detector.read_noise_e: expected a number, got 'lots'"),
    (lambda d: d["wavelength"].update(min_um=5.0), r"wavelength: expected 0 < min_um <= max_um"),
    (lambda d: d["simulation"].update(psf_size=20), r"simulation.psf_size: expected an odd size >= 5, got 20"),
    (lambda d: d["observation"].update(declination_deg=95), r"observation.declination_deg: expected -90 to 90"),
    (lambda d: d["ncpa"].update(power_law=1.0), r"ncpa.power_law: expected a negative exponent"),
])
def test_invalid_profiles_name_the_key(change, message):
    data = _data()
    change(data)
    with pytest.raises(ValueError, match=message):
        profile_from_dict(data, source="mine.yaml")


def test_errors_name_the_source():
    data = _data()
    data["ao"]["speckle_lifetime_s"] = 0
    with pytest.raises(ValueError, match=r"^mine.yaml: ao.speckle_lifetime_s: expected a value > 0"):
        profile_from_dict(data, source="mine.yaml")


def test_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"instrument: unknown profile 'hubble'; expected one of .*naco"):
        load_profile("hubble")


def test_missing_and_malformed_profile_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="instrument: no profile file"):
        load_profile(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ao: [unclosed")
    with pytest.raises(ValueError, match=r"bad.yaml: not valid YAML"):
        load_profile(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match=r"list.yaml: expected a mapping of sections, got list"):
        load_profile(listed)


def test_infinite_full_well_reads_from_yaml(tmp_path):
    data = _data()
    data["detector"]["full_well_e"] = ".inf"
    assert math.isinf(profile_from_dict(data).detector.full_well_e)


def test_the_docs_table_matches_the_profiles():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in text.splitlines()
            if line.startswith("| `")}
    assert set(REQUIRED) <= set(rows)
    for name in REQUIRED:
        profile = load_profile(name)
        row = rows[name]
        assert f"{profile.ao.control_radius:g} lambda/D, {profile.ao.residual_wfe_nm:g} nm" in row, name
        assert f"{profile.pixel_scale_arcsec * 1000:g} mas" in row, name
