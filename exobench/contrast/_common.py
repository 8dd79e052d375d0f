"""What the modules of :mod:`exobench.contrast` share: the dataset check and the FWHM of its apertures."""

import numpy as np

from ..data import Dataset

__all__ = ["check_dataset", "mean_fwhm"]


def check_dataset(dataset):
    """Raise ``TypeError`` unless ``dataset`` is an exobench :class:`~exobench.data.Dataset`."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset: expected an exobench Dataset, got {type(dataset).__name__}")


def mean_fwhm(dataset):
    """The apertures' diameter (px): the FWHM, the mean of the channels' for 4D data (as the S/N maps take it)."""
    return float(np.mean(dataset.fwhm))
