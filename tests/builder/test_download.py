"""The EIDC downloader, against a local HTTP server on 127.0.0.1 standing for Zenodo.

The archives are made here from tiny synthetic datasets: a zip of two 3D (phase 1)
datasets in a subfolder, with macOS junk beside them, and a tar.gz of one 4D
(phase 2) dataset.
"""

import hashlib
import io
import socket
import tarfile
import time
import zipfile

import numpy as np
import pytest

from exobench import ExobenchWarning
from exobench._fetch import cache_folder
from exobench.builder import archives as archives_module
from exobench.builder import download
from exobench.builder.download import (
    BASE_URL_ENV,
    CACHE_ENV,
    eidc_sources,
    fetch_eidc,
    layout_sources,
    resolve_base_url,
)
from exobench.data import Dataset
from exobench.data.fits_io import find_datasets, read_dataset, write_dataset

from ..loopback import FileServer

ZIP = "Subchallenge 1.zip"
TGZ = "Subchallenge 2.tar.gz"


# -- data -------------------------------------------------------------------------------


def _psf(sigma=1.5, size=11):
    y, x = np.mgrid[:size, :size]
    return 50.0 * np.exp(-((x - size // 2) ** 2 + (y - size // 2) ** 2) / (2 * sigma**2))


def _dataset_3d(instrument, k, seed):
    cube = np.random.default_rng(seed).normal(size=(5, 21, 21)).astype(np.float32)
    return Dataset(cube, np.linspace(0.0, 40.0, 5), psf=_psf(), pxscale=0.01, instrument=instrument, dataset_id=k)


def _dataset_4d():
    cube = np.random.default_rng(3).normal(size=(3, 5, 21, 21))
    psf = np.stack([_psf(sigma) for sigma in (1.2, 1.4, 1.6)])
    return Dataset(cube, np.linspace(0.0, 30.0, 5), psf=psf, pxscale=0.00746, wavelengths=[1.0, 1.1, 1.2],
                   instrument="sphere_ifs", dataset_id=1)


DATASETS = {1: [_dataset_3d("nirc2", 1, 1), _dataset_3d("sphere_irdis", 2, 2)], 2: [_dataset_4d()]}


def _zip_bytes(files, folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            archive.write(path, f"{folder}/{path.name}")
            archive.writestr(f"__MACOSX/{folder}/._{path.name}", b"resource fork")
        archive.writestr(f"{folder}/.DS_Store", b"junk")
    return buffer.getvalue()


def _tgz_bytes(files, folder):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in files:
            archive.add(path, f"{folder}/{path.name}")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The served files: name -> bytes."""
    root = tmp_path_factory.mktemp("eidc")
    phase_1 = [path for ds in DATASETS[1] for path in write_dataset(ds, root / "p1")]
    phase_2 = write_dataset(DATASETS[2][0], root / "p2")
    return {ZIP: _zip_bytes(phase_1, "Subchallenge 1"), TGZ: _tgz_bytes(phase_2, "sc2")}


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def registry(archives):
    return {name: _sha256(data) for name, data in archives.items()}


# -- a local server ---------------------------------------------------------------------


@pytest.fixture
def server(archives):
    served = FileServer(dict(archives), prefix="eidc")
    yield served
    served.close()


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch):
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    monkeypatch.delenv(CACHE_ENV, raising=False)


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- downloads --------------------------------------------------------------------------


def test_download_and_layout_per_phase(server, registry, tmp_path):
    folders = eidc_sources(registry=registry, base_url=server.url, cache=tmp_path / "cache", dest=tmp_path / "src")
    assert folders == {1: tmp_path / "src" / "phase_1", 2: tmp_path / "src" / "phase_2"}
    assert sorted(server.requests) == ["/eidc/Subchallenge%201.zip", "/eidc/Subchallenge%202.tar.gz"]
    for phase, expected in DATASETS.items():
        assert find_datasets(folders[phase]) == [(ds.instrument, ds.dataset_id) for ds in expected]
        for ds in expected:
            read = read_dataset(folders[phase], ds.instrument, ds.dataset_id)
            assert read.is_4d == (phase == 2)
            assert np.array_equal(read.cube, ds.cube) and np.array_equal(read.angles, ds.angles)
    assert not [name for name in _files(tmp_path / "src") if "MACOSX" in name or "/._" in name or "DS_Store" in name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "src"]  # no temporary folder left


def test_second_call_uses_the_cache_without_a_request(server, registry, tmp_path):
    kwargs = dict(registry=registry, base_url=server.url, cache=tmp_path / "cache", dest=tmp_path / "src")
    first = eidc_sources(**kwargs)
    cube = first[1] / "nirc2_cube_1.fits"
    stamp = cube.stat().st_mtime_ns
    assert eidc_sources(**kwargs) == first
    assert len(server.requests) == 2  # one per archive, all from the first call
    assert cube.stat().st_mtime_ns == stamp  # the layout was reused, not rebuilt


def test_wrong_checksum_is_refused_and_leaves_no_file(server, tmp_path):
    bad = {ZIP: _sha256(b"something else")}
    with pytest.raises(ValueError, match=r"checksum mismatch for 'Subchallenge 1\.zip' downloaded from "
                                         r"'http://127\.0\.0\.1:\d+/eidc/Subchallenge%201\.zip'.*no file kept"):
        eidc_sources(registry=bad, base_url=server.url, cache=tmp_path / "cache", dest=tmp_path / "src")
    assert server.requests == ["/eidc/Subchallenge%201.zip"]
    assert _files(tmp_path) == []


def test_unreachable_server_fails_fast_with_the_url(tmp_path, registry):
    url = f"http://127.0.0.1:{_closed_port()}/"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"url '{url}Subchallenge%201\.zip': server unreachable"):
        fetch_eidc(ZIP, registry=registry, base_url=url, cache=tmp_path / "cache", timeout=2)
    assert time.perf_counter() - start < 3
    assert _files(tmp_path) == []


def test_silent_server_times_out(tmp_path, registry):
    with socket.socket() as sock:  # listens, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        start = time.perf_counter()
        with pytest.raises(ConnectionError, match=r"silent for 0\.3 s while fetching 'Subchallenge 1\.zip'"):
            fetch_eidc(ZIP, registry=registry, base_url=url, cache=tmp_path / "cache", timeout=0.3)
        assert time.perf_counter() - start < 2
    assert _files(tmp_path) == []


def test_missing_file_on_the_server_names_the_status(server, tmp_path):
    with pytest.raises(ConnectionError, match=r"answered HTTP 404 for 'other\.zip'"):
        fetch_eidc("other.zip", registry={"other.zip": _sha256(b"x")}, base_url=server.url, cache=tmp_path)
    assert _files(tmp_path) == []


def test_environment_variable_overrides_the_base_url(server, registry, tmp_path, monkeypatch):
    monkeypatch.setenv(BASE_URL_ENV, server.url.rstrip("/"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    assert resolve_base_url() == server.url
    assert resolve_base_url("https://example.org/x/") == "https://example.org/x/"  # the argument comes first
    paths = fetch_eidc(ZIP, registry=registry)
    assert server.requests == ["/eidc/Subchallenge%201.zip"]
    assert paths == {ZIP: tmp_path / "env-cache" / ZIP}


def test_default_base_url_and_cache(monkeypatch):
    import pooch

    assert resolve_base_url() == "https://zenodo.org/records/3361544/files/"
    assert cache_folder(None, CACHE_ENV) == pooch.os_cache("exobench")
    monkeypatch.setenv(BASE_URL_ENV, "ftp://example.org/")
    with pytest.raises(ValueError, match=r"\$EXOBENCH_EIDC_URL: expected a URL starting with http://"):
        resolve_base_url()


# -- the registry -----------------------------------------------------------------------


def test_unverified_downloads_are_refused_unless_allowed(server, archives, tmp_path):
    with pytest.raises(ValueError, match=r"no checksum for 'Subchallenge 1\.zip'; unverified downloads are refused"):
        fetch_eidc(registry={ZIP: None}, base_url=server.url, cache=tmp_path)
    assert server.requests == []
    with pytest.warns(ExobenchWarning, match="downloading without verification"):
        paths = fetch_eidc(registry={ZIP: None}, base_url=server.url, cache=tmp_path, allow_unverified=True)
    assert paths[ZIP].read_bytes() == archives[ZIP]


def test_default_registry_is_refused_without_checksums(server, tmp_path):
    assert set(download.EIDC_REGISTRY) == {"Subchallenge 1.zip", "Subchallenge 2.zip"}
    with pytest.raises(ValueError, match="unverified downloads are refused"):
        eidc_sources(base_url=server.url, cache=tmp_path)
    assert server.requests == []


@pytest.mark.parametrize(("registry", "names", "message"), [
    ({ZIP: "sha256:abc"}, None, r"registry: checksum of 'Subchallenge 1\.zip': expected None or 'sha256:'"),
    ({ZIP: "crc32:" + "0" * 8}, None, r"registry: checksum of"),
    ({"sub/x.zip": None}, None, r"registry: expected plain file names"),
    ({ZIP: None}, "nope.zip", r"names: unknown file\(s\) 'nope\.zip'; the registry holds 'Subchallenge 1\.zip'"),
    ({ZIP: None}, [], r"names: expected at least one file name"),
])
def test_bad_registries_and_names_fail_before_any_request(server, tmp_path, registry, names, message):
    with pytest.raises(ValueError, match=message):
        fetch_eidc(names, registry=registry, base_url=server.url, cache=tmp_path, allow_unverified=True)
    assert server.requests == []


def test_bad_timeout_names_the_parameter(registry):
    with pytest.raises(ValueError, match="timeout: expected a number > 0, got 0"):
        fetch_eidc(ZIP, registry=registry, timeout=0)


# -- the layout -------------------------------------------------------------------------


def _archive(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_archive_without_a_cube_is_refused_and_leaves_nothing(tmp_path):
    pa = next(p for p in write_dataset(DATASETS[1][0], tmp_path / "files") if p.name == "nirc2_pa_1.fits")
    archive = _archive(tmp_path / "no-cube.zip", {"data/nirc2_pa_1.fits": pa.read_bytes()})
    with pytest.raises(ValueError, match=r"no-cube\.zip' holds no cube file; expected FITS files in the EIDC "
                                         r"layout .* found 1 FITS file\(s\): nirc2_pa_1\.fits"):
        layout_sources([archive], tmp_path / "src")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files", "no-cube.zip"]


def test_not_an_archive_is_refused(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(ValueError, match=r"junk\.zip' cannot be unpacked \(expected a zip or tar archive"):
        layout_sources([junk], tmp_path / "src")


def test_unsafe_tar_member_is_refused(tmp_path):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("../escaped_cube_1.fits")
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(ValueError, match=r"unsafe member '\.\./escaped_cube_1\.fits'"):
        layout_sources([path], tmp_path / "src")
    assert not (tmp_path / "escaped_cube_1.fits").exists()


def test_two_different_files_of_one_name_are_refused(tmp_path, archives):
    first = tmp_path / "a.zip"
    first.write_bytes(archives[ZIP])
    other = write_dataset(_dataset_3d("nirc2", 1, 99), tmp_path / "other")
    second = _archive(tmp_path / "b.zip", {p.name: p.read_bytes() for p in other})
    with pytest.raises(ValueError, match=r"two different files named 'nirc2_\w+_1\.fits', in '.*a\.zip' and "
                                         r"'.*b\.zip'"):
        layout_sources([first, second], tmp_path / "src")
    assert not (tmp_path / "src").exists()


def test_a_wavelength_file_with_a_3d_cube_does_not_validate(tmp_path):
    files = write_dataset(DATASETS[1][0], tmp_path / "files")
    members = {p.name: p.read_bytes() for p in files}
    members["nirc2_wls_1.fits"] = next(p for p in write_dataset(DATASETS[2][0], tmp_path / "w")
                                       if p.name.endswith("_wls_1.fits")).read_bytes()
    archive = _archive(tmp_path / "mixed.zip", members)
    with pytest.raises(ValueError, match=r"dataset nirc2 1 of '.*mixed\.zip' does not read as an EIDC dataset"):
        layout_sources([archive], tmp_path / "src")
    assert not (tmp_path / "src").exists()


def test_fits_files_of_no_dataset_are_left_out_with_a_warning(tmp_path):
    files = write_dataset(DATASETS[1][0], tmp_path / "files")
    members = {p.name: p.read_bytes() for p in files}
    members["readme_positions_7.fits"] = members["nirc2_pa_1.fits"]
    archive = _archive(tmp_path / "extra.zip", members)
    with pytest.warns(ExobenchWarning, match=r"left out 1 FITS file\(s\) of no dataset .*readme_positions_7\.fits"):
        folders = layout_sources([archive], tmp_path / "src")
    assert find_datasets(folders[1]) == [("nirc2", "1")]
    assert not (folders[1] / "readme_positions_7.fits").exists()


def test_an_interrupted_layout_keeps_the_previous_one(tmp_path, archives, monkeypatch):
    first = tmp_path / "p1.zip"
    first.write_bytes(archives[ZIP])
    second = tmp_path / "p2.tar.gz"
    second.write_bytes(archives[TGZ])
    folders = layout_sources([first], tmp_path / "src")
    before = _files(tmp_path / "src")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(archives_module, "_validate_phase", interrupt)
    with pytest.raises(KeyboardInterrupt):
        layout_sources([first, second], tmp_path / "src")
    assert _files(tmp_path / "src") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p1.zip", "p2.tar.gz", "src"]
    monkeypatch.undo()
    assert set(layout_sources([first, second], tmp_path / "src")) == {1, 2}  # other archives: rebuilt
    assert find_datasets(folders[1]) == [("nirc2", "1"), ("sphere_irdis", "2")]


def test_a_foreign_destination_is_refused_before_any_download(server, registry, tmp_path):
    dest = tmp_path / "src"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"dest: '.*src' holds files that were not laid out by exobench"):
        eidc_sources(registry=registry, base_url=server.url, cache=tmp_path / "cache", dest=dest)
    assert server.requests == []
    folders = eidc_sources(registry=registry, base_url=server.url, cache=tmp_path / "cache", dest=dest,
                           overwrite=True)
    assert set(folders) == {1, 2} and not (dest / "mine.txt").exists()
