"""Characterisation submissions: the position and flux of every announced companion.

A characterisation phase announces each dataset's companions by approximate
positions (the public ``{instrument}_candidates_{k}.fits``, N rows of (x, y)). A
submission holds, for every dataset of the phase, ``{instrument}_charac_{k}.fits``:

- primary HDU: an ``(N, 2 + n_channels)`` float array, one row per candidate in the
  order of the candidates file: ``x, y`` (pixels, final derotated frame, integer
  coordinates at pixel centres) and the flux in each channel (1 channel for ADI),
  in units of the public PSF file (the companion is ``flux * psf`` centred at (x, y));
- optionally a second HDU (an image extension) of the same shape: the 1-sigma
  uncertainties, finite and > 0. Either every file has one or none has.

Nothing else: a missing or extra file, a wrong shape, a non-finite value, a
non-positive uncertainty, a table, a third array or an array larger than the
expected shape (checked from the header, before reading) refuse the submission
with a :class:`SubmissionError` naming the file.
"""

import dataclasses
import re

import numpy as np

from ..challenge.layout import charac_file_name
from .archive import list_submission_files
from .fits import read_bounded_images
from .limits import DEFAULT_LIMITS, SubmissionError
from .names import DATASET_ID_PATTERN, INSTRUMENT_PATTERN
from .write import check_output, fits_bytes, write_files

__all__ = ["CharacDataset", "Characterisation", "characterisation_files", "write_characterisation",
           "read_characterisation", "check_characterisation", "CHARAC_NAME", "estimate_columns"]

CHARAC_NAME = re.compile(rf"^{INSTRUMENT_PATTERN}_charac_{DATASET_ID_PATTERN}\.fits$")


@dataclasses.dataclass(frozen=True)
class CharacDataset:
    """A dataset of a characterisation phase as the intake needs it: its name, its number of
    announced companions and of channels (1 for ADI)."""

    instrument: str
    dataset_id: str
    n_companions: int
    n_channels: int = 1

    @property
    def key(self):
        return (self.instrument, self.dataset_id)


def estimate_columns(n_channels):
    """The columns of a characterisation file.

    >>> estimate_columns(1), estimate_columns(2)
    (['x', 'y', 'flux'], ['x', 'y', 'flux_1', 'flux_2'])
    """
    fluxes = ["flux"] if n_channels == 1 else [f"flux_{c + 1}" for c in range(n_channels)]
    return ["x", "y", *fluxes]


@dataclasses.dataclass(frozen=True, eq=False)
class Characterisation:
    """A characterisation submission as read: per dataset key, the estimates and (or None) the uncertainties.

    Attributes
    ----------
    estimates : dict
        ``(instrument, dataset_id) -> (N, 2 + n_channels)`` float64 array.
    sigmas : dict or None
        The same keys and shapes: the 1-sigma uncertainties, or None when the submission gives none.
    files : dict
        File name -> path of the files read.
    warnings : tuple of str
    """

    estimates: dict
    sigmas: dict
    files: dict
    warnings: tuple = ()


def characterisation_files(estimates, *, sigmas=None, header=None):
    """``{file name: FITS bytes}`` of a characterisation submission, sorted by name.

    Parameters
    ----------
    estimates : mapping
        ``(instrument, dataset_id) -> (N, 2 + n_channels)`` array: x, y, flux per channel.
    sigmas : mapping, optional
        The same keys: 1-sigma uncertainties of the same shape (finite, > 0).
    header : mapping, optional
        FITS cards added to every primary header.

    Examples
    --------
    >>> files = characterisation_files({("naco", "1"): [[10.0, 12.0, 3.5]]})
    >>> list(files)
    ['naco_charac_1.fits']
    """
    sigmas = {} if sigmas is None else dict(sigmas)
    if sigmas and set(sigmas) != set(estimates):
        raise ValueError("sigmas: expected the keys of estimates (uncertainties for every dataset or none)")
    out = {}
    for key, values in estimates.items():
        _check_key(key)
        values = _checked_array(values, f"estimates[{key!r}]")
        extensions = ()
        if sigmas:
            sigma = _checked_array(sigmas[key], f"sigmas[{key!r}]", shape=values.shape)
            if np.any(sigma <= 0):
                raise ValueError(f"sigmas[{key!r}]: expected uncertainties > 0")
            extensions = (sigma,)
        out[charac_file_name(*key)] = fits_bytes(values, header, extensions=extensions)
    return dict(sorted(out.items()))


def write_characterisation(estimates, path, *, sigmas=None, header=None, overwrite=False):
    """Write a characterisation submission, atomically, as a zip (``path`` ending in ``.zip``) or a new folder.

    See :func:`characterisation_files` for the parameters and
    :func:`~exobench.submission.write_submission` for ``path`` and ``overwrite``.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "charac.zip"
    >>> _ = write_characterisation({("naco", "1"): [[10.0, 12.0, 3.5]]}, target, sigmas={("naco", "1"): [[.1, .1, .2]]})
    >>> zipfile.ZipFile(target).namelist()
    ['naco_charac_1.fits']
    """
    check_output(path, overwrite=overwrite)
    return write_files(characterisation_files(estimates, sigmas=sigmas, header=header), path)


def _check_key(key):
    if (not isinstance(key, tuple) or len(key) != 2
            or not all(isinstance(part, str) and part for part in key)):
        raise ValueError(f"estimates: expected keys (instrument, dataset_id) of two strings, got {key!r}")


def _checked_array(values, name, *, shape=None):
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 3:
        raise ValueError(f"{name}: expected an (N, 2 + n_channels) array of x, y and fluxes, got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name}: expected the shape of the estimates {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values")
    return array


# -- reading ------------------------------------------------------------------------------------


def read_characterisation(folder, datasets, *, limits=DEFAULT_LIMITS):
    """Read a characterisation submission folder against the phase's datasets; refuse it at the first problem.

    Parameters
    ----------
    folder : str or path-like
        A folder of submission files (:func:`~exobench.submission.open_submission` for zips).
    datasets : sequence of CharacDataset
    limits : Limits

    Returns
    -------
    Characterisation

    Raises
    ------
    SubmissionError
    """
    return _read(folder, datasets, limits, stop=True)[1]  # the first problem raised


def check_characterisation(folder, datasets, *, limits=DEFAULT_LIMITS):
    """Every problem :func:`read_characterisation` would refuse a submission for, one line each.

    Returns
    -------
    problems, warnings : list of str
    """
    problems, found = _read(folder, datasets, limits, stop=False)
    return problems, list(found.warnings) if found is not None else []


def _read(folder, datasets, limits, *, stop):
    problems = []

    def problem(message):
        if stop:
            raise SubmissionError(message)
        problems.append(message)

    try:
        files = list_submission_files(folder, limits=limits)
    except SubmissionError as exc:
        if stop:
            raise
        return [str(exc)], None
    wanted = {charac_file_name(d.instrument, d.dataset_id): d for d in datasets}
    for name in sorted(set(files) - set(wanted)):
        match = CHARAC_NAME.match(name)
        why = (f"no dataset {match['instrument']} {match['k']} in this phase" if match
               else "not part of a characterisation submission")
        problem(f"{name}: {why}; a characterisation submission holds only "
                f"{{instrument}}_charac_{{k}}.fits files, one per dataset (expected {_some(wanted)})")
    for name in sorted(set(wanted) - set(files)):
        problem(f"{name}: missing; every dataset of the phase needs its file ({wanted[name].n_companions} row(s), "
                f"one per candidate)")
    estimates, sigmas = {}, {}
    for name, dataset in wanted.items():
        if name not in files:
            continue
        try:
            values, sigma = _read_file(files[name], name, dataset, limits)
        except SubmissionError as exc:
            problem(str(exc))
            continue
        estimates[dataset.key] = values
        if sigma is not None:
            sigmas[dataset.key] = sigma
    if sigmas and set(sigmas) != set(estimates):
        without = sorted(charac_file_name(*key) for key in set(estimates) - set(sigmas))
        problem(f"{', '.join(without[:4])}: no uncertainties, while other files give them; give them in every "
                f"file or in none")
    ordered = {d.key: estimates[d.key] for d in datasets if d.key in estimates}
    found = Characterisation(estimates=ordered, sigmas={k: sigmas[k] for k in ordered} if sigmas else None,
                             files={name: files[name] for name in wanted if name in files})
    return problems, found


def _some(wanted):
    names = sorted(wanted)
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _read_file(path, name, dataset, limits):
    """The estimates and the uncertainties (or None) of one file, checked."""
    columns = 2 + dataset.n_channels
    shape = (dataset.n_companions, columns)
    expected = (f"an array of shape ({dataset.n_companions}, {columns}) (one row per candidate: "
                f"{', '.join(estimate_columns(dataset.n_channels))})")
    # an array much larger than expected is refused from its header, unread
    images = read_bounded_images(path, name=name, limits=limits, max_values=max(4 * shape[0] * shape[1], 4096))
    if not images or images[0][0] != 0:
        raise SubmissionError(f"{name}: expected {expected} in the primary HDU, found "
                              + ("no data" if not images else f"its first array in HDU {images[0][0]}"))
    if len(images) > 2:
        raise SubmissionError(f"{name}: {len(images)} arrays; expected the estimates and, optionally, their "
                              f"uncertainties (2 at most)")
    values = _checked_values(images[0][1], name, "estimates", shape, expected)
    if len(images) == 1:
        return values, None
    sigma = _checked_values(images[1][1], name, f"uncertainties (HDU {images[1][0]})", shape, expected)
    if np.any(sigma <= 0):
        raise SubmissionError(f"{name}: uncertainties (HDU {images[1][0]}): expected 1-sigma values > 0, got "
                              f"{int(np.count_nonzero(sigma <= 0))} value(s) <= 0")
    return values, sigma


def _checked_values(array, name, what, shape, expected):
    if array.shape == shape[1:] and shape[0] == 1:  # one companion written as a flat row
        array = array.reshape(shape)
    if array.shape != shape:
        raise SubmissionError(f"{name}: {what}: expected {expected}, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if np.any(bad):
        raise SubmissionError(f"{name}: {what}: {int(np.count_nonzero(bad))} non-finite value(s) (NaN or "
                              f"infinite); every value must be a finite number")
    return np.ascontiguousarray(array, dtype=np.float64)
