"""Labelled samples in HDF5 files: :func:`save_samples` and :func:`load_samples`."""

import json
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from .samples import LabelledSamples, LabelSettings

__all__ = ["save_samples", "load_samples"]

#: ``format`` attribute of a samples file, and the version of its layout.
SAMPLES_FORMAT = "exobench.cnn.samples"
SAMPLES_VERSION = 1

_ARRAYS = ("x", "y", "positions", "separations", "fluxes", "snr")


def save_samples(samples, path, *, overwrite=False):
    """Write labelled samples to an HDF5 file, atomically (temporary file, then rename).

    One dataset per array (``x``, ``y``, ``positions``, ``separations``,
    ``fluxes``, ``snr``); attributes ``format``, ``format_version``,
    ``settings`` (JSON), ``dataset_checksum``, ``exobench_version``,
    ``levels`` and ``fwhm``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from exobench.cnn.labels import generate_samples
    >>> from exobench.cnn.samples import LabelSettings
    >>> from exobench.examples import example_dataset
    >>> samples = generate_samples(example_dataset(n_frames=16, size=41),
    ...                            LabelSettings(n_samples=8, levels=(0.9,)), random_state=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "samples.h5"
    >>> save_samples(samples, path)
    >>> bool(np.array_equal(load_samples(path).x, samples.x))
    True
    """
    import h5py

    from .. import __version__

    if not isinstance(samples, LabelledSamples):
        raise TypeError(f"samples: expected LabelledSamples, got {type(samples).__name__}")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass overwrite=True to replace it)")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as fh:
            for name in _ARRAYS:
                fh.create_dataset(name, data=getattr(samples, name))
            fh.attrs.update({"format": SAMPLES_FORMAT, "format_version": SAMPLES_VERSION,
                             "settings": json.dumps(samples.settings.to_dict()),
                             "dataset_checksum": samples.dataset_checksum, "exobench_version": __version__,
                             "levels": np.asarray(samples.levels, dtype=np.float64),
                             "fwhm": float(samples.fwhm)})


def load_samples(path):
    """Read the labelled samples of :func:`save_samples`.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming
    the file for one that is not a samples file or lacks an array or attribute.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such samples file")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not an HDF5 samples file ({exc})") from None
    with fh:
        if fh.attrs.get("format") != SAMPLES_FORMAT:
            raise ValueError(f"{path}: not an exobench samples file (attribute format is "
                             f"{fh.attrs.get('format')!r}, expected {SAMPLES_FORMAT!r})")
        version = int(fh.attrs.get("format_version", -1))
        if version != SAMPLES_VERSION:
            raise ValueError(f"{path}: samples file format_version {version}, this exobench reads {SAMPLES_VERSION}")
        for name in ("settings", "dataset_checksum", "levels", "fwhm"):
            if name not in fh.attrs:
                raise ValueError(f"{path}: missing attribute {name!r} of a samples file")
        missing = [name for name in _ARRAYS if name not in fh]
        if missing:
            raise ValueError(f"{path}: missing dataset(s) {', '.join(map(repr, missing))} of a samples file")
        arrays = {name: fh[name][()] for name in _ARRAYS}
        settings = LabelSettings.from_dict(json.loads(fh.attrs["settings"]))
        checksum = str(fh.attrs["dataset_checksum"])
        levels = tuple(float(v) for v in fh.attrs["levels"])
        fwhm = float(fh.attrs["fwhm"])
    return LabelledSamples(**arrays, settings=settings, dataset_checksum=checksum, levels=levels, fwhm=fwhm)
