"""A tiny phase with its reference (3 ADI datasets of 20 x 41 x 41 px), for the scale-out tests."""

from pathlib import Path

import numpy as np
from astropy.io import fits

from exobench.data.fits_io import write_dataset
from exobench.examples import example_dataset
from exobench.inject import inject_companions

SIZE = 41
#: (instrument, id) -> (separations px, thetas deg) of the companions injected.
COMPANIONS = {
    ("nirc2", "1"): ([9.0, 14.0], [30.0, 200.0]),
    ("nirc2", "2"): ([], []),
    ("sphere_irdis", "1"): ([11.0], [120.0]),
}


def make_phase(root):
    """Write ``root/public`` (the datasets) and ``root/reference`` (positions, FWHM); return both folders."""
    root = Path(root)
    public, reference = root / "public", root / "reference"
    public.mkdir(parents=True)
    reference.mkdir()
    for seed, ((instrument, k), (seps, thetas)) in enumerate(COMPANIONS.items()):
        dataset = example_dataset(n_frames=20, size=SIZE, seed=seed).replace(instrument=instrument, dataset_id=k)
        positions = np.zeros((0, 2))
        if seps:
            injection = inject_companions(dataset, separations=seps, thetas=thetas, contrasts=[8e-3] * len(seps))
            dataset, positions = injection.dataset, injection.truth[["x", "y"]].to_numpy()
        write_dataset(dataset, public)
        hdu = fits.PrimaryHDU(positions) if len(positions) else fits.PrimaryHDU()
        hdu.writeto(reference / f"{instrument}_positions_{k}.fits")
        fits.PrimaryHDU(np.array([float(dataset.fwhm)])).writeto(reference / f"{instrument}_fwhm_{k}.fits")
    return public, reference
