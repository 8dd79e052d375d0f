"""Public real datasets: fetched from a (loopback) server, checked by SHA-256, cached, or read offline."""

import hashlib

import pytest

from exobench import cli
from exobench.data import registry
from exobench.data.registry import (
    DATA_CACHE_ENV,
    DATA_URL_ENV,
    REAL_DATA_ENV,
    RealDataset,
    fetch_real_dataset,
    get_real_dataset,
    offline_folder,
    real_datasets,
    register_real_dataset,
)

from tests.loopback import FileServer

FILES = {"tiny_cube.fits": b"SIMPLE  = T" + b" " * 100, "tiny_pa.fits": b"angles" * 20}


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    served = FileServer(dict(FILES))
    yield served
    served.close()


@pytest.fixture
def tiny(monkeypatch, server):
    """A registered test entry whose public source is the loopback server; no environment overrides."""
    for env in (DATA_URL_ENV, REAL_DATA_ENV, DATA_CACHE_ENV):
        monkeypatch.delenv(env, raising=False)
    entry = RealDataset(name="tiny-test", description="two small files", files={k: _sha256(v) for k, v in FILES.items()},
                        base_url=server.url)
    register_real_dataset(entry)
    yield entry
    registry._DATASETS.unregister("tiny-test")


def test_the_eidc_sample_is_registered_with_its_checksums():
    entry = get_real_dataset("naco-betapic")
    assert entry in real_datasets()
    assert set(entry.files) == {"naco_betapic_cube.fits", "naco_betapic_pa.fits", "naco_betapic_psf.fits"}
    assert entry.files["naco_betapic_cube.fits"].startswith("caf11576")


def test_a_fetch_downloads_checks_and_caches(tiny, server, tmp_path):
    folder = fetch_real_dataset("tiny-test", cache=tmp_path / "cache")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == FILES
    count = len(server.requests)
    assert fetch_real_dataset("tiny-test", cache=tmp_path / "cache") == folder
    assert len(server.requests) == count  # cached: nothing downloaded again


def test_a_mirror_replaces_the_public_source(tiny, server, tmp_path, monkeypatch):
    mirror = FileServer(dict(FILES))
    try:
        monkeypatch.setenv(DATA_URL_ENV, mirror.url)
        fetch_real_dataset("tiny-test", cache=tmp_path / "cache")
        assert len(mirror.requests) == 2 and server.requests == []
    finally:
        mirror.close()


def test_a_wrong_checksum_is_refused_and_nothing_kept(tiny, server, tmp_path):
    server.files["tiny_pa.fits"] = b"tampered"
    with pytest.raises(ValueError, match=r"registry: checksum mismatch for 'tiny_pa.fits'"):
        fetch_real_dataset("tiny-test", cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "real" / "tiny-test" / "tiny_pa.fits").exists()


def test_a_missing_file_on_the_server_names_the_url(tiny, server, tmp_path):
    del server.files["tiny_cube.fits"]
    with pytest.raises(ConnectionError, match=r"url '.*tiny_cube.fits': the server answered HTTP 404"):
        fetch_real_dataset("tiny-test", cache=tmp_path / "cache")


def test_an_offline_folder_with_the_right_files_is_used_without_a_download(tiny, server, tmp_path, monkeypatch):
    offline = tmp_path / "offline"
    offline.mkdir()
    for name, data in FILES.items():
        (offline / name).write_bytes(data)
    monkeypatch.setenv(REAL_DATA_ENV, str(offline))
    assert fetch_real_dataset("tiny-test", cache=tmp_path / "cache") == offline
    assert server.requests == []
    (offline / "tiny_pa.fits").write_bytes(b"other bytes")  # not the registered file: downloaded instead
    assert offline_folder(tiny) is None
    assert fetch_real_dataset("tiny-test", cache=tmp_path / "cache") != offline


def test_the_command_line_lists_and_fetches(tiny, tmp_path, capsys):
    assert cli.main(["datasets", "list"]) == 0
    listed = capsys.readouterr().out
    assert "naco-betapic: VLT/NACO ADI sequence of beta Pictoris" in listed and "tiny-test: two small files" in listed
    assert cli.main(["datasets", "fetch", "tiny-test", "--cache", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "c" / "real" / "tiny-test")
    assert cli.main(["datasets", "fetch", "nope"]) == 1
    assert "exobench: error: name: expected a real dataset among 'naco-betapic'" in capsys.readouterr().err


@pytest.mark.parametrize("files, base_url, message", [
    ({"a.fits": "abc"}, "http://x/", r"files\['a.fits'\]: expected a SHA-256 of 64 lower-case hex digits"),
    ({"a.fits": "0" * 64}, "http://x", r"base_url: expected a folder URL ending with '/'"),
])
def test_entries_are_checked(files, base_url, message):
    with pytest.raises(ValueError, match=message):
        RealDataset(name="x", description="x", files=files, base_url=base_url)
