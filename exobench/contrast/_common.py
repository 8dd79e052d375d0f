"""What the modules of :mod:`exobench.contrast` share: the dataset check, the FWHM of its apertures, JSON's NaN."""

import numpy as np

from ..data import Dataset

__all__ = ["check_dataset", "mean_fwhm", "finite_or_none", "write_json_and_png"]


def check_dataset(dataset):
    """Raise ``TypeError`` unless ``dataset`` is an exobench :class:`~exobench.data.Dataset`."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")


def mean_fwhm(dataset):
    """The apertures' diameter (px): the FWHM, the mean of the channels' for 4D data (as the S/N maps take it)."""
    return float(np.mean(dataset.fwhm))


def finite_or_none(value):
    """``value`` (a JSON-ready value or list of them) with every non-finite float replaced by None (``null``)."""
    if isinstance(value, list):
        return [finite_or_none(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json_and_png(output, names, text, draw, *, overwrite=False):
    """Write ``text`` and the figure ``draw(path)`` draws as the files ``names`` (JSON, PNG) of the folder
    ``output``, each atomically, after the overwrite check of :func:`exobench._atomic.check_new_folder`.

    Returns
    -------
    list of pathlib.Path
    """
    from pathlib import Path

    from .._atomic import atomic_path, atomic_write, check_new_folder

    output = check_new_folder(output, overwrite=overwrite)
    output.mkdir(parents=True, exist_ok=True)
    json_path, png_path = (Path(output) / name for name in names)
    with atomic_write(json_path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    with atomic_path(png_path) as tmp:
        draw(tmp)
    return [json_path, png_path]
