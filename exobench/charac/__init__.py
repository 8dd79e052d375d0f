"""Characterisation: the position and flux of announced companions, and the baselines that estimate them.

A characterisation phase announces approximate ``(x, y)`` of every companion
(``{instrument}_candidates_{k}.fits``) and asks for their position and flux (one
per channel for 4D cubes), in units of the public PSF file
(:mod:`exobench.submission.charac` writes and reads the submission).

- :mod:`~exobench.charac.first_guess`: the candidates file read, and a first
  guess (announced positions, aperture flux on a median-ADI final frame): the
  starting kit's sample;
- :mod:`~exobench.charac.model`: a companion ``flux * psf`` placed in every frame;
- :mod:`~exobench.charac.negfc`: negative fake companions fitted by simplex
  (:class:`NegFC`);
- :mod:`~exobench.charac.psffit`: a PSF fit on annular PCA's final frame (its components
  learnt without the companion) corrected by the throughput of an injected fake (:class:`PSFFit`);
- :mod:`~exobench.charac.uncertainty`: 1-sigma uncertainties by injection-recovery;
- :mod:`~exobench.charac.posterior`: negfc's uncertainties from a posterior sampled with
  emcee (optional: ``pip install 'exobench[emcee]'``);
- :mod:`~exobench.charac.baselines`: the ``negfc`` and ``psf-fit`` baselines
  (``exobench baseline negfc PHASE_DIR -o SUB.zip``).
"""

from .first_guess import aperture_first_guess, first_guess_phase, read_candidates
from .negfc import NegFC
from .psffit import PSFFit

__all__ = ["read_candidates", "aperture_first_guess", "first_guess_phase", "NegFC", "PSFFit"]
