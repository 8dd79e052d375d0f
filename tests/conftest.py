"""Fixtures shared by the whole test suite."""

import os
from pathlib import Path

import pytest

#: Environment variable that points to the folder of real instrument data.
REAL_DATA_ENV = "EXOBENCH_REAL_DATA"
#: A loopback port where nothing listens (discard): a download there fails at once.
DEAD_URL = "http://127.0.0.1:9/"


@pytest.fixture(scope="session", autouse=True)
def no_network_downloads(tmp_path_factory):
    """Downloads of the registry of real datasets go to a dead loopback address and a
    temporary cache, unless a test says otherwise: no test touches the network or the
    user's cache. Session-wide, so that module-scoped fixtures see it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXOBENCH_DATA_URL", DEAD_URL)
        patch.setenv("EXOBENCH_DATA_CACHE", str(tmp_path_factory.mktemp("data_cache")))
        yield


@pytest.fixture(scope="session")
def real_data_dir():
    """The folder of real instrument data (read-only); skips the test when it is absent.

    Looked up in ``$EXOBENCH_REAL_DATA``, else at ``../shared/data/real`` beside
    the repository root.
    """
    if os.environ.get(REAL_DATA_ENV):
        folder = Path(os.environ[REAL_DATA_ENV])
        origin = f"${REAL_DATA_ENV}"
    else:
        folder = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
        origin = "the default location beside the repository"
    if not folder.is_dir():
        pytest.skip(f"real instrument data not found at {folder} ({origin}); set {REAL_DATA_ENV} to run this test")
    return folder.resolve()


@pytest.fixture(scope="session")
def naco(real_data_dir):
    """The real VLT/NACO beta Pic ADI dataset (61 x 99 x 99, its planet removed)."""
    from astropy.io import fits

    from exobench.data import Dataset

    cube = fits.getdata(real_data_dir / "naco_betapic_empty_cube.fits")
    angles = fits.getdata(real_data_dir / "naco_betapic_empty_pa.fits")
    psf = fits.getdata(real_data_dir / "naco_betapic_psf.fits")
    return Dataset(cube, angles, psf=psf, pxscale=0.02719, instrument="naco", dataset_id="1")


@pytest.fixture
def rng():
    """A seeded generator: every test draws the same numbers on every run."""
    import numpy as np

    return np.random.default_rng(20261125)
