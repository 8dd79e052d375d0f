"""The dataset model and its persistence (FITS in the EIDC layout, HDF5)."""

from .dataset import Dataset
from .fits_arrays import read_fits_array, read_scalar
from .fits_io import find_datasets, load_dataset, read_dataset, write_dataset
from .hdf5_io import list_datasets, load_attrs, load_datasets, save_datasets

__all__ = [
    "Dataset",
    "read_dataset",
    "write_dataset",
    "load_dataset",
    "find_datasets",
    "read_fits_array",
    "read_scalar",
    "save_datasets",
    "load_datasets",
    "list_datasets",
    "load_attrs",
]
