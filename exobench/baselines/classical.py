"""The classical baselines: one PSF-subtraction algorithm each, with the options they change.

The ADI baselines (``median``, ``median-annular``, ``pca``, ``pca-annular``,
``llsg``) take any cube: a 3D ``(t, y, x)`` cube directly, a 4D
``(lambda, t, y, x)`` cube channel by channel, averaged over the channels
(:class:`exobench.algorithms.PerChannelADI` with the baseline's algorithm and
options: no spectral information used). The ADI+mSDI baselines (``sdi-pca``,
``asdi-pca``) take 4D cubes only, and refuse a phase holding a 3D dataset,
naming it.
"""

from .registry import Baseline

__all__ = ["MedianBaseline", "AnnularMedianBaseline", "PCABaseline", "AnnularPCABaseline", "LLSGBaseline",
           "SDIPCABaseline", "ASDIPCABaseline"]


class MedianBaseline(Baseline, name="median"):
    """Full-frame median ADI (exobench.algorithms.MedianADI)."""

    algorithm = "median"
    defaults = {"collapse": "median", "derotation": "bilinear"}


class AnnularMedianBaseline(Baseline, name="median-annular"):
    """Annular median ADI with a rotation threshold (exobench.algorithms.AnnularMedianADI)."""

    algorithm = "median-annular"
    defaults = {"asize": 1.5, "inner_radius": 0.0, "delta": 1.0, "n_references": None,
                "collapse": "median", "derotation": "bilinear"}


class PCABaseline(Baseline, name="pca"):
    """Full-frame PCA, 5 components (exobench.algorithms.PCA)."""

    algorithm = "pca"
    defaults = {"ncomp": 5, "explained_variance": None, "inner_radius": None,
                "collapse": "median", "derotation": "bilinear"}


class AnnularPCABaseline(Baseline, name="pca-annular"):
    """Annular PCA, 3 components, 1-FWHM rotation threshold (exobench.algorithms.AnnularPCA)."""

    algorithm = "pca-annular"
    defaults = {"ncomp": 3, "asize": 1.0, "inner_radius": 0.0, "delta": 1.0,
                "collapse": "median", "derotation": "bilinear"}


class LLSGBaseline(Baseline, name="llsg"):
    """Local low-rank plus sparse plus Gaussian decomposition (exobench.algorithms, "llsg")."""

    algorithm = "llsg"


class SDIPCABaseline(Baseline, name="sdi-pca"):
    """Spectral differential imaging, PCA of 1 component per time step (exobench.algorithms.SDIPCA)."""

    algorithm = "sdi-pca"
    data = "asdi"
    defaults = {"ncomp": 1, "rescaling": "bicubic", "collapse": "median", "derotation": "bilinear"}


class ASDIPCABaseline(Baseline, name="asdi-pca"):
    """Angular and spectral differential imaging, one PCA of 5 components (exobench.algorithms.ASDIPCA)."""

    algorithm = "asdi-pca"
    data = "asdi"
    defaults = {"steps": 1, "ncomp": 5, "ncomp_adi": 1, "rescaling": "bicubic", "collapse": "median",
                "derotation": "bilinear"}
