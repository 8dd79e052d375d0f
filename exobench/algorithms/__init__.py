"""PSF-subtraction algorithms for ADI cubes.

Each algorithm is a small class: ``__init__`` stores keyword-only options,
``process(dataset)`` returns a:class:`Result` (the derotated residual cube and
the collapsed final frame). They register by name (:func:`get_algorithm`).

========================  ==========================================================
``median``                :class:`MedianADI`: subtract the median frame
``median-annular``        :class:`AnnularMedianADI`: per annulus, median of frames
                          rotated by at least ``delta`` FWHM
``pca``                   :class:`PCA`: full-frame principal component analysis
``pca-annular``           :class:`AnnularPCA`: PCA per annulus with a rotation-based
                          library per frame
``llsg``                  :class:`LLSG`: local low-rank plus sparse plus Gaussian
                          decomposition per annulus segment
``sdi-pca``               :class:`SDIPCA`: 4D cubes; per time step, PCA over the
                          channels rescaled by wavelength
``asdi-pca``              :class:`ASDIPCA`: 4D cubes; one joint PCA over the rescaled
                          lambda x t frames, or spectral then angular PCA
``per-channel``           :class:`PerChannelADI`: 4D cubes; a 3D algorithm on each
                          channel, averaged over the channels
``loci``                  :class:`LOCI`: locally optimised combination of images per
                          zone (Lafreniere et al. 2007), optionally adaptive
``pairwise``              :class:`PairwiseADI`: per annulus, subtract the best-matching
                          frame(s) among those rotated by at least ``delta`` FWHM
``nmf``                   :class:`NMF`: full-frame non-negative matrix factorisation
``nmf-annular``           :class:`AnnularNMF`: NMF per annulus with a rotation-based
                          library per frame
``paco``                  :class:`PACO` (a detector): local patch covariances, the
                          likelihood-ratio S/N and flux (Flasseur et al. 2018)
``fmmf``                  :class:`FMMF`: forward-model matched filter on annular PCA
                          residuals (a statistical detector)
========================  ==========================================================

Statistical detectors (:class:`Detector`, :mod:`exobench.algorithms.detector`;
``andromeda``: :class:`Andromeda`, maximum likelihood on angular differences)
register in the same registry but return a :class:`Detection` (a calibrated
detection statistic, the flux estimate and its standard deviation) from
``detect(dataset)`` instead of residuals.

``sdi-pca``, ``asdi-pca`` and ``per-channel`` take ADI+mSDI (4D) datasets
(:mod:`exobench.algorithms.sdi`), the others ADI (3D) datasets; each refuses
the other kind with a message saying so.

Examples
--------
>>> from exobench.examples import example_dataset
>>> from exobench.algorithms import get_algorithm
>>> result = get_algorithm("median")(collapse="mean").process(example_dataset(n_frames=10, size=33))
>>> result.final.shape
(33, 33)
"""

from .base import Algorithm, Result, available_algorithms, final_pixels, get_algorithm
from .collapse import COLLAPSE_METHODS
from .llsg import LLSG
from .loci import LOCI
from .median import AnnularMedianADI, MedianADI
from .pca import PCA
from .pca_annular import AnnularPCA
from .sdi import ASDIPCA, SDIPCA, PerChannelADI, rescale_frames, scale_factors
from .pairwise import PairwiseADI
from .nmf import NMF, AnnularNMF
from .detector import Detection, Detector, combine_channels, radial_normalisation
from .andromeda import Andromeda
from .paco import PACO
from .fmmf import FMMF

__all__ = [
    "Result",
    "Detection",
    "Detector",
    "combine_channels",
    "radial_normalisation",
    "Andromeda",
    "Algorithm",
    "get_algorithm",
    "available_algorithms",
    "final_pixels",
    "COLLAPSE_METHODS",
    "MedianADI",
    "AnnularMedianADI",
    "PCA",
    "AnnularPCA",
    "LLSG",
    "SDIPCA",
    "ASDIPCA",
    "PerChannelADI",
    "rescale_frames",
    "scale_factors",
    "LOCI",
    "PairwiseADI",
    "NMF",
    "AnnularNMF",
    "PACO",
    "FMMF",
]
