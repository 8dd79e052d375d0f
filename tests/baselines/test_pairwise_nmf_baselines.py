"""The pairwise, nmf and nmf-annular baselines: their parameter files, 3D and 4D phases from the command line."""

import zipfile

import numpy as np
import pytest

from exobench import baselines as bl
from exobench.cli import main
from exobench.data import Dataset
from exobench.data.fits_io import read_dataset, write_dataset
from exobench.examples import example_dataset
from tests.parallel._phase import make_phase

NAMES = ("pairwise", "nmf", "nmf-annular")


@pytest.mark.parametrize("name", NAMES)
def test_every_option_is_commented_in_the_parameter_file(name):
    cls = bl.get_baseline(name)
    options = bl.default_params(name)["algorithm"]
    assert list(cls.notes) == list(options)
    header = cls.params_header()
    for option in options:
        assert f"#   {option}: " in header
    assert bl.load_params(bl.default_params(name), name) == bl.default_params(name)


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    public, _ = make_phase(tmp_path_factory.mktemp("phase"))
    return public


@pytest.mark.parametrize("name", NAMES)
def test_baseline_writes_a_submission_from_the_command_line(name, phase, tmp_path, capsys):
    archive = tmp_path / "x.zip"
    assert main(["baseline", name, str(phase), "-o", str(archive), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {archive} (3 detection map(s), snr map, threshold 5)")
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["detection_threshold.fits", "nirc2_detmap_1.fits", "nirc2_detmap_2.fits",
                                         "sphere_irdis_detmap_1.fits"]
    result = bl.run_baseline(name, phase, progress=False)
    # the brightest pixel of the dataset with one companion is that companion (11 px, 120 degrees)
    image = result.maps["sphere_irdis", "1"]
    y, x = np.unravel_index(np.nanargmax(image), image.shape)
    expected = 20 + 11 * np.cos(np.radians(120.0)), 20 + 11 * np.sin(np.radians(120.0))
    assert np.hypot(x - expected[0], y - expected[1]) <= 4.0 and np.nanmax(image) > 5


@pytest.mark.parametrize("name", NAMES)
def test_4d_phases_run_channel_by_channel(name, tmp_path):
    from exobench.algorithms import PerChannelADI
    from exobench.detmap import snr_map

    ds = example_dataset(n_frames=10, size=31, seed=2)
    write_dataset(Dataset(np.stack([ds.cube, 1.1 * ds.cube]), ds.angles, psf=np.stack([ds.psf, ds.psf]),
                          wavelengths=[1.6, 1.65], instrument="ifs", dataset_id="1"), tmp_path)
    result = bl.run_baseline(name, tmp_path, progress=False)
    dataset = read_dataset(tmp_path, "ifs", "1")
    final = PerChannelADI(algorithm=name, options=result.params["algorithm"]).process(dataset).final
    np.testing.assert_array_equal(result.maps["ifs", "1"], snr_map(final, float(np.mean(dataset.fwhm))))
