"""The dataset model and its persistence (FITS in the EIDC layout, HDF5)."""

from .dataset import Dataset

__all__ = ["Dataset"]
