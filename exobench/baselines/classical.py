"""The classical baselines: one PSF-subtraction algorithm each, with the options they change.

The ADI baselines (``median``, ``median-annular``, ``pca``, ``pca-annular``,
``llsg``, ``loci``, ``pairwise``, ``nmf``, ``nmf-annular``) take any cube: a
3D ``(t, y, x)`` cube directly, a 4D ``(lambda, t, y, x)`` cube channel by
channel, averaged over the channels (:class:`exobench.algorithms.PerChannelADI`
with the baseline's algorithm and options: no spectral information used). The
ADI+mSDI baselines (``sdi-pca``, ``asdi-pca``) take 4D cubes only, and refuse a
phase holding a 3D dataset, naming it.
"""

import textwrap

from .registry import Baseline

__all__ = ["MedianBaseline", "AnnularMedianBaseline", "PCABaseline", "AnnularPCABaseline", "LLSGBaseline",
           "SDIPCABaseline", "ASDIPCABaseline", "LOCIBaseline", "PairwiseBaseline", "NMFBaseline",
           "AnnularNMFBaseline"]


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


class LOCIBaseline(Baseline, name="loci"):
    """Locally optimised combination of images, 100-PSF-core optimisation zones (exobench.algorithms.LOCI)."""

    algorithm = "loci"
    # 100 PSF cores rather than the paper's 300: the default challenge's frames (81 to 121 px)
    # would otherwise make most optimisation zones the whole frame.
    defaults = {"asize": 1.5, "n_segments": 4, "na": 100.0, "g": 1.0, "delta": 0.5, "regularization": 1e-3,
                "adaptive": False, "n_refs": 20, "inner_radius": 0.0, "collapse": "median",
                "derotation": "bilinear"}

    @classmethod
    def params_header(cls):
        """The common header, then one line per option of the algorithm."""
        return super().params_header() + """\
#   asize: radial width of the subtraction zones (annuli) in FWHM (the paper's dr).
#   n_segments: azimuthal segments per annulus (subtraction zones per annulus).
#   na: area of each optimisation zone in PSF cores of pi (FWHM/2)^2 (the paper's N_A).
#   g: radial width over azimuthal length of the optimisation zone (the paper's g).
#   delta: minimum rotation of the references at the zone's radius, in FWHM (the paper's N_delta).
#   regularization: ridge parameter relative to the references' mean squared norm over the zone (> 0).
#   adaptive: true keeps only the n_refs references best correlated with the frame (xLOCI-like).
#   n_refs: references kept per frame and zone when adaptive is true (unused otherwise).
#   inner_radius: inner radius of the first annulus in FWHM; collapse: median or mean of the
#   derotated residuals; derotation: bilinear, bicubic or fft interpolation.
"""


class _CommentedOptions(Baseline):
    """A classical baseline whose parameter file says what each option does (``notes``: option -> text)."""

    notes = {}

    @classmethod
    def params_header(cls):
        lines = super().params_header().splitlines(keepends=True)
        after = next(i for i, line in enumerate(lines) if "all spelled out" in line) + 1
        notes = [textwrap.fill(f"{key}: {text}", width=100, initial_indent="#   ", subsequent_indent="#       ") + "\n"
                 for key, text in cls.notes.items()]
        return "".join(lines[:after] + notes + lines[after:])


#: What the options of the annular algorithms mean, shared by their parameter files.
_ANNULI_NOTES = {
    "asize": "width of the annuli in FWHM.",
    "inner_radius": "inner radius of the first annulus in FWHM (pixels closer to the star are 0).",
    "delta": "rotation threshold in FWHM of arc at each annulus's mean radius: a frame's references are "
             "the frames where a source there moved by at least this much (lowered where too few qualify).",
}
_FINISH_NOTES = {
    "collapse": "median or mean of the derotated residual cube.",
    "derotation": "interpolation of the derotation: bilinear, bicubic or fft.",
}
_NMF_NOTES = {
    "negatives": "shift (subtract the minimum of the factorised pixels when negative, added back to the "
                 "model) or clip (negative pixels set to 0 for the factorisation); nmf-annular also frame "
                 "(vip-hci's handle_neg='subtr_min': each frame shifted by its own minimum, not added back).",
    "solver": "sklearn (scikit-learn's coordinate descent, one factorisation at a time) or multiplicative "
              "(exobench's multiplicative updates, every library of an annulus at once); docs/benchmarks.md.",
    "max_iter": "most iterations of the solver (stopping there is not an error).",
    "tol": "stop when the error fell by less than this fraction of its initial value (0: max_iter).",
    "random_state": "seed of scikit-learn's randomised SVD at initialisation (same seed, same bytes).",
}
_PRECISION_NOTE = {
    "precision": "double or single: floating-point precision of the factorisation (single: faster on full frames).",
}


class PairwiseBaseline(_CommentedOptions, name="pairwise"):
    """Pairwise frame differencing, median of the 3 best matches per annulus (exobench.algorithms.PairwiseADI)."""

    algorithm = "pairwise"
    defaults = {"n_pairs": 3, "asize": 1.0, "inner_radius": 0.0, "delta": 1.0, "collapse": "median",
                "derotation": "bilinear"}
    notes = {"n_pairs": "number of best-matching frames (smallest sum of squared differences in the annulus) "
                        "whose median is subtracted; 1: plain pairwise differencing.",
             **_ANNULI_NOTES, **_FINISH_NOTES}


class NMFBaseline(_CommentedOptions, name="nmf"):
    """Full-frame non-negative matrix factorisation, 5 components (exobench.algorithms.NMF)."""

    algorithm = "nmf"
    defaults = {"ncomp": 5, "negatives": "shift", "solver": "sklearn", "max_iter": 200, "tol": 1e-4,
                "random_state": 0, "weights": "fit", "precision": "double", "start": "exact",
                "inner_radius": None, "collapse": "median", "derotation": "bilinear"}
    notes = {"ncomp": "number of non-negative components of the frames' model.", **_NMF_NOTES,
             "weights": "fit (the factorisation's weights) or transform (solved again with the components "
                        "fixed, as scikit-learn's transform and vip-hci's nmf).",
             **_PRECISION_NOTE,
             "start": "exact or randomized: the multiplicative solver's NNDSVDa start from exact singular vectors "
                      "or from scikit-learn's randomised SVD (seeded with random_state).",
             "inner_radius": "null (every pixel) or a radius in FWHM: only pixels beyond it are factorised.",
             **_FINISH_NOTES}


class AnnularNMFBaseline(_CommentedOptions, name="nmf-annular"):
    """Annular NMF, 3 components, 1-FWHM rotation threshold (exobench.algorithms.AnnularNMF)."""

    algorithm = "nmf-annular"
    defaults = {"ncomp": 3, "negatives": "shift", "solver": "multiplicative", "max_iter": 200, "tol": 1e-4,
                "random_state": 0, "precision": "double", "asize": 1.0, "inner_radius": 0.0, "delta": 1.0,
                "convention": "exobench", "collapse": "median", "derotation": "bilinear"}
    notes = {"ncomp": "number of non-negative components of each frame's library, per annulus.", **_NMF_NOTES,
             **_PRECISION_NOTE, **_ANNULI_NOTES,
             "convention": "exobench or vip (vip-hci's annuli, 2 arctan rotation threshold, libraries of 2 "
                           "frames or more).",
             **_FINISH_NOTES}
