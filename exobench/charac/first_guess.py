"""A first guess of a characterisation: the candidates' positions, fluxes by aperture photometry.

A characterisation phase announces each companion by an approximate position (the public
``{instrument}_candidates_{k}.fits``) and asks for its position and flux in units of the
public PSF file (the companion is ``flux * psf``). The simplest fair answer, the starting
kit's sample submission, keeps the announced position and measures

    flux = aperture_flux(final, (x, y), r = FWHM / 2) / psf_flux(psf, FWHM)

per channel, ``final`` the final frame of a PSF-subtraction algorithm (median ADI by
default, run channel by channel on 4D cubes) and the aperture 1 FWHM across, the one the
builder's fluxes are defined with. It is a first guess, biased: the announced position is
up to half a FWHM off, so the aperture misses part of the companion, and ADI subtracts part
of the companion with the star's halo (self-subtraction, worse near the star). Both bias
the flux low; a negative fake companion or a PSF fit does better.
"""

from pathlib import Path

import numpy as np

from ..algorithms import get_algorithm
from ..algorithms.sdi import channel_dataset
from ..challenge.layout import candidates_file_name
from ..data.fits_io import find_datasets, read_dataset
from ..photometry import aperture_flux
from ..psf import psf_flux

__all__ = ["read_candidates", "aperture_first_guess", "first_guess_phase"]


def read_candidates(public_dir, instrument, dataset_id):
    """The ``(N, 2)`` float64 array of announced ``(x, y)`` of a dataset of a public characterisation phase.

    Raises
    ------
    FileNotFoundError
        The phase folder has no ``{instrument}_candidates_{k}.fits`` (a detection phase).
    ValueError
        The file does not hold an ``(N, 2)`` array of finite values.
    """
    from astropy.io import fits

    path = Path(public_dir) / candidates_file_name(instrument, dataset_id)
    if not path.is_file():
        raise FileNotFoundError(f"public_dir: no {path.name} in {str(public_dir)!r}; a characterisation phase "
                                f"announces each dataset's companions there")
    array = fits.getdata(path)
    array = None if array is None else np.asarray(array, dtype=np.float64)
    if array is None or array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise ValueError(f"public_dir: {path.name}: expected an (N, 2) array of finite (x, y)")
    return array


def aperture_first_guess(dataset, candidates, *, algorithm="median"):
    """Position and flux of each candidate by aperture photometry on a final frame (see the module).

    Parameters
    ----------
    dataset : exobench.data.Dataset
        A 3D or 4D dataset with its PSF.
    candidates : array_like, shape ``(N, 2)``
        The announced ``(x, y)`` (pixels, final derotated frame).
    algorithm : str
        A registered ADI algorithm (:func:`exobench.algorithms.available_algorithms`), run with
        its defaults, channel by channel on a 4D cube.

    Returns
    -------
    ndarray, shape ``(N, 2 + n_channels)``
        ``x, y`` (the candidates') and the flux in each channel, in units of the PSF file:
        a row of a characterisation submission.

    Examples
    --------
    >>> from exobench.examples import example_dataset
    >>> ds = example_dataset(n_frames=10, size=33)
    >>> aperture_first_guess(ds, [(20.0, 16.0)]).shape
    (1, 3)
    """
    if dataset.psf is None:
        raise ValueError("dataset: expected a dataset with its PSF (fluxes are in units of the PSF file)")
    positions = np.asarray(candidates, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 2 or not np.all(np.isfinite(positions)):
        raise ValueError(f"candidates: expected an (N, 2) array of finite (x, y), got shape {positions.shape}")
    method = get_algorithm(algorithm)()
    channels = [channel_dataset(dataset, c) for c in range(dataset.n_channels)] if dataset.is_4d else [dataset]
    fluxes = np.empty((len(positions), len(channels)))
    for c, single in enumerate(channels):
        final = method.process(single).final
        radius = float(single.fwhm) / 2.0
        fluxes[:, c] = aperture_flux(final, positions, radius=radius) / psf_flux(single.psf, float(single.fwhm))
    return np.column_stack([positions, fluxes])


def first_guess_phase(public_dir, *, algorithm="median"):
    """:func:`aperture_first_guess` on every dataset of a public characterisation phase folder.

    Returns
    -------
    dict
        ``(instrument, dataset_id) -> (N, 2 + n_channels)`` array, what
        :func:`exobench.submission.write_characterisation` writes.

    Raises
    ------
    FileNotFoundError
        A dataset has no candidates file, or the folder no dataset.
    """
    found = find_datasets(public_dir)
    if not found:
        raise FileNotFoundError(f"public_dir: no {{instrument}}_cube_{{k}}.fits file in {str(public_dir)!r}")
    return {(instrument, k): aperture_first_guess(read_dataset(public_dir, instrument, k),
                                                  read_candidates(public_dir, instrument, k), algorithm=algorithm)
            for instrument, k in found}
