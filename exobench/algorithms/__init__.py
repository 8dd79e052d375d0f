"""PSF-subtraction algorithms for ADI cubes.

Each algorithm is a small class: ``__init__`` stores keyword-only options,
``process(dataset)`` returns a :class:`Result` (the derotated residual cube and
the collapsed final frame). They register by name (:func:`get_algorithm`).

========================  ==========================================================
``median_adi``            :class:`MedianADI`: subtract the median frame
``annular_median_adi``    :class:`AnnularMedianADI`: per annulus, median of frames
                          rotated by at least ``delta`` FWHM
``pca``                   :class:`PCA`: full-frame principal component analysis
``annular_pca``           :class:`AnnularPCA`: PCA per annulus with a rotation-based
                          library per frame
``llsg``                  :class:`LLSG`: local low-rank plus sparse plus Gaussian
                          decomposition per annulus segment
========================  ==========================================================

Only ADI (3D) datasets are supported for now.

Examples
--------
>>> from exobench.examples import example_dataset
>>> from exobench.algorithms import get_algorithm
>>> result = get_algorithm("median_adi")(collapse="mean").process(example_dataset(n_frames=10, size=33))
>>> result.final.shape
(33, 33)
"""

from .base import COLLAPSE_METHODS, Algorithm, Result, available_algorithms, get_algorithm
from .llsg import LLSG
from .median import AnnularMedianADI, MedianADI
from .pca import PCA, AnnularPCA

__all__ = [
    "Result",
    "Algorithm",
    "get_algorithm",
    "available_algorithms",
    "COLLAPSE_METHODS",
    "MedianADI",
    "AnnularMedianADI",
    "PCA",
    "AnnularPCA",
    "LLSG",
]
