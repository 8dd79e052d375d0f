"""A challenge's ``real`` source: a registry entry fetched (from a loopback server), read from the
offline folder, the cache or a fallback copy, cropped around the star, or skipped with one warning."""

import dataclasses
import hashlib
import io
import warnings

import numpy as np
import pytest
from astropy.io import fits

from exobench import ExobenchWarning
from exobench.builder import build as build_module
from exobench.builder.definition import challenge_from_dict, source_problem
from exobench.builder.sources import load_source, locate_real_source, prepare, star_window
from exobench.data import registry
from exobench.data.registry import DATA_CACHE_ENV, DATA_URL_ENV, REAL_DATA_ENV, DatasetCopy, RealDataset

from tests.loopback import FileServer

NAME = "test-real"
FULL_STAR, COPY_STAR = (11, 11), (9, 9)


def _fits_bytes(array):
    buffer = io.BytesIO()
    fits.PrimaryHDU(array).writeto(buffer)
    return buffer.getvalue()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _arrays():
    """A 19 x 19 cube whose star is its centre pixel, the 21 x 21 cube it was cropped from
    (two rows and columns more before it: the star at (11, 11)), angles and a PSF."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:19, :19]
    star = np.exp(-((xx - 9) ** 2 + (yy - 9) ** 2) / 4.0)
    crop = (100 * star + rng.normal(size=(6, 19, 19))).astype(np.float32)
    full = rng.normal(size=(6, 21, 21)).astype(np.float32)
    full[:, 2:, 2:] = crop
    yy, xx = np.mgrid[:15, :15]
    psf = np.exp(-((xx - 7) ** 2 + (yy - 7) ** 2) / (2 * 1.3**2)).astype(np.float32)
    return crop, full, np.linspace(0.0, 40.0, 6).astype(np.float32), psf


CROP, FULL, ANGLES, PSF = _arrays()
FILES = {"t_cube.fits": _fits_bytes(FULL), "t_pa.fits": _fits_bytes(ANGLES), "t_psf.fits": _fits_bytes(PSF)}
COPY_FILES = {"t_cube_crop.fits": _fits_bytes(CROP), "t_pa.fits": FILES["t_pa.fits"],
              "t_psf.fits": FILES["t_psf.fits"]}


@pytest.fixture
def server():
    with FileServer(dict(FILES)) as served:
        yield served


@pytest.fixture
def entry(server, monkeypatch, tmp_path):
    """A test entry whose public source is the loopback server (downloads go to the conftest's
    dead address unless a test points $EXOBENCH_DATA_URL at the server), a cache of the test's own."""
    monkeypatch.delenv(REAL_DATA_ENV, raising=False)
    monkeypatch.setenv(DATA_CACHE_ENV, str(tmp_path / "cache"))
    roles = {"cube": "t_cube.fits", "angles": "t_pa.fits", "psf": "t_psf.fits"}
    copy = DatasetCopy(files={k: _sha256(v) for k, v in COPY_FILES.items()},
                       roles=dict(roles, cube="t_cube_crop.fits"), star=COPY_STAR)
    registered = registry.register_real_dataset(RealDataset(
        name=NAME, description="a synthetic cube", files={k: _sha256(v) for k, v in FILES.items()},
        base_url=server.url, roles=roles, star=FULL_STAR, instrument="testcam",
        numbers={"pxscale": 0.01, "star_flux": 1000.0}, copies=(copy,)))
    yield registered
    registry._DATASETS.unregister(NAME)


def _folder(path, files):
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def _challenge(tmp_path, **source):
    data = {"name": "t", "injection": {"companions": [0, 0]},
            "phases": [{"number": 1, "kind": "adi", "sources": [{"real": NAME, **source}]}]}
    return challenge_from_dict(data, base=tmp_path, source="t.yaml")


def _prepared(challenge):
    src = challenge.phases[0].sources[0]
    return prepare(load_source(src, seed=0), src)


def test_the_registry_files_are_downloaded_and_cropped_around_the_star(entry, server, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_URL_ENV, server.url)
    dataset = _prepared(_challenge(tmp_path))
    assert sorted(server.requests) == sorted(f"/data/{name}" for name in FILES)
    # the default crop is the largest one centred on the star: exactly the 19 x 19 crop, same bytes
    assert dataset.cube.dtype == np.float32 and dataset.cube.flags.c_contiguous
    assert dataset.cube.tobytes() == CROP.astype(np.float32).tobytes()
    assert dataset.instrument == "testcam" and dataset.pxscale == 0.01 and float(dataset.star_flux) == 1000.0
    np.testing.assert_array_equal(dataset.angles, ANGLES)
    small = _prepared(_challenge(tmp_path, frame_size=11))
    np.testing.assert_array_equal(small.cube, CROP[:, 4:15, 4:15])
    assert len(server.requests) == 3  # the second build found the files in the cache


def test_the_offline_folder_is_used_without_the_network(entry, server, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_URL_ENV, server.url)
    monkeypatch.setenv(REAL_DATA_ENV, str(_folder(tmp_path / "offline", FILES)))
    challenge = _challenge(tmp_path, frame_size=19)
    assert locate_real_source(challenge.phases[0].sources[0]).origin.startswith("$EXOBENCH_REAL_DATA")
    np.testing.assert_array_equal(_prepared(challenge).cube, CROP)
    assert server.requests == []


def test_a_fallback_copy_is_used_before_any_download(entry, server, tmp_path, monkeypatch):
    fallback = _folder(tmp_path / "copy", COPY_FILES)
    monkeypatch.setenv(DATA_URL_ENV, server.url)
    challenge = _challenge(tmp_path, fallback="copy", frame_size=19)
    located = locate_real_source(challenge.phases[0].sources[0])
    assert located.origin == f"the fallback folder {fallback}" and located.star == COPY_STAR
    assert _prepared(challenge).cube.tobytes() == CROP.tobytes()
    assert server.requests == []
    (fallback / "t_cube_crop.fits").write_bytes(_fits_bytes(CROP + 1))  # not the known copy: downloaded
    assert locate_real_source(challenge.phases[0].sources[0]).origin.endswith("(downloaded)")


def test_the_fallback_copy_serves_when_the_server_is_dead(entry, server, tmp_path):
    _folder(tmp_path / "copy", COPY_FILES)
    dataset = _prepared(_challenge(tmp_path, fallback="copy"))
    assert dataset.cube.tobytes() == CROP.tobytes() and server.requests == []


def test_nothing_available_skips_the_source_with_one_line(entry, tmp_path):
    challenge = _challenge(tmp_path, fallback="absent", optional=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert build_module._dataset_jobs(challenge) == []
    assert len(caught) == 1 and caught[0].category is ExobenchWarning
    message = str(caught[0].message)
    assert "\n" not in message
    assert message.startswith("phases[0].sources[0] (real test-real): real dataset 'test-real': not in "
                              f"$EXOBENCH_REAL_DATA (unset), the cache {tmp_path / 'cache' / 'real' / NAME}, ")
    assert f"the fallback folder {tmp_path / 'absent'}, and not downloaded (url 'http://127.0.0.1:9/" in message
    assert message.endswith("run `exobench datasets fetch test-real`, or set $EXOBENCH_REAL_DATA to a folder "
                            "holding its files; the source is skipped")


def test_a_required_source_that_is_nowhere_is_an_error(entry, tmp_path):
    with pytest.raises(ValueError, match=r"^t\.yaml: phases\[0\]\.sources\[0\] \(real test-real\): real dataset "
                                         r"'test-real': not in .*exobench datasets fetch test-real"):
        _challenge(tmp_path)


def test_a_checksum_mismatch_is_refused(entry, server, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_URL_ENV, server.url)
    server.files["t_cube.fits"] = _fits_bytes(FULL + 1)
    challenge = _challenge(tmp_path, optional=True)
    problem = source_problem(challenge.phases[0].sources[0])
    assert "registry: checksum mismatch for 't_cube.fits'" in problem
    assert not (tmp_path / "cache" / "real" / NAME / "t_cube.fits").exists()


@pytest.mark.parametrize("source, message", [
    ({"real": "nope"}, r"phases\[0\]\.sources\[0\]\.real: expected a real dataset among .*'naco-betapic'"),
    ({"center": [1, 1]}, r"phases\[0\]\.sources\[0\]\.center: not a key of a real source"),
    ({"frame_size": 0}, r"phases\[0\]\.sources\[0\]\.frame_size: expected an integer >= 1, got 0"),
    ({"fallback": 3}, r"phases\[0\]\.sources\[0\]\.fallback: expected a folder, got 3"),
    ({"frame_size": 21}, r"phases\[0\]\.sources\[0\] \(real test-real\): frame_size \(t_cube\.fits from "
                         r"\$EXOBENCH_REAL_DATA .*\): expected a size that fits around the star at "
                         r"\(x, y\) = \(11, 11\) in 21 x 21 frames \(at most 19\), got 21"),
])
def test_definition_errors_name_the_file_the_source_and_the_key(entry, tmp_path, monkeypatch, source, message):
    monkeypatch.setenv(REAL_DATA_ENV, str(_folder(tmp_path / "offline", FILES)))
    with pytest.raises(ValueError, match=r"^t\.yaml: " + message):
        _challenge(tmp_path, **source)


def test_a_fallback_belongs_to_real_sources(tmp_path):
    data = {"phases": [{"sources": [{"files": {"cube": "c.fits", "angles": "a.fits"}, "fallback": "x"}]}]}
    with pytest.raises(ValueError, match=r"^t\.yaml: phases\[0\]\.sources\[0\]\.fallback: only a real source"):
        challenge_from_dict(data, source="t.yaml")


def test_star_window_refuses_a_crop_off_the_frame():
    assert star_window((3, 5), (10, 8)) == (2, 0, 7)
    assert star_window((4, 4), (10, 10), 4) == (2, 2, 4)  # even: the star on pixel size // 2
    with pytest.raises(ValueError, match=r"^frame_size: expected a size that fits .* \(at most 7\), got 9"):
        star_window((3, 5), (10, 8), 9)


@pytest.mark.parametrize("change, message", [
    ({"roles": {"cube": "t_cube.fits", "angles": "other.fits"}}, r"roles\['angles'\]: 'other.fits' is not one"),
    ({"roles": {"cube": "t_cube.fits"}}, r"roles: expected at least cube and angles"),
    ({"roles": {"cube": "t_cube.fits", "angles": "t_pa.fits", "dark": "t_psf.fits"}}, r"roles: unknown role 'dark'"),
    ({"star": (1.5, 2)}, r"star: expected the \(x, y\) pixel of the star, integers >= 0"),
    ({"star": None}, r"star: an entry read as a dataset \(with roles\) needs the star"),
    ({"copies": ("x",)}, r"copies: expected a tuple of DatasetCopy"),
])
def test_entries_with_roles_are_checked(entry, change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(entry, **change)


def test_the_default_challenge_reads_the_shared_copy(real_data_dir, monkeypatch):
    """With the workspace's 99 x 99 copy as the fallback and no download possible, the NACO
    source is that copy, pixel for pixel (the registry's 101 x 101 files, cropped around
    the star, give the same pixels: the copy is their crop)."""
    from exobench.builder import load_challenge
    from exobench.builder.definition import DEFAULT_CHALLENGE

    monkeypatch.setenv(REAL_DATA_ENV, str(real_data_dir))
    challenge = load_challenge(DEFAULT_CHALLENGE)
    src = next(s for s in challenge.phases[0].sources if s.kind == "real")
    located = locate_real_source(src)
    if located.origin.startswith("the fallback folder"):
        assert located.star == (49, 49) and located.paths["cube"].name == "naco_betapic_empty_cube.fits"
    dataset = prepare(load_source(src, seed=0), src)
    expected = fits.getdata(real_data_dir / "naco_betapic_empty_cube.fits")
    assert dataset.cube.shape == (61, 99, 99) and dataset.cube.dtype == np.float32
    np.testing.assert_array_equal(dataset.cube, expected)
