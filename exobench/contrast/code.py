"""A participant's code submission as an algorithm: its detection map is the final frame.

The contrast curve of a code submission is computed as any algorithm's
(:func:`~exobench.contrast.curve.contrast_curve`): the noise of the rings of
its map without fake companions, and the throughput by injection-recovery of
fake companions measured in its map (the map of the injected cube minus the
map without companions). The curve is thus in units of the map: for an S/N
map or a probability map the throughput says how much the map rises per unit
of companion flux, and the curve is the flux at which the t-test on the map's
apertures would reach the false-positive fraction. The participant's
``THRESHOLD`` plays no part.

Each call of :meth:`CodeAlgorithm.process` writes the dataset (injected or not)
to a temporary folder in the EIDC layout and runs ``detect(dataset)`` there in
a child process (:func:`exobench.ingestion.detect_dataset`): the participant's
code never runs in this process, and it has the ingestion's time limit.

The fake companions cannot be scaled to the noise of the participant's map,
which is in its own units: :func:`code_contrast` injects them at
``injection_snr`` times the noise of median ADI's final frame of the same
dataset (per channel for 4D data; :func:`injection_fluxes`), near the
detection limits of a classical algorithm.
"""

import contextlib
import tempfile

import numpy as np

from ..algorithms.base import Result

__all__ = ["CodeAlgorithm", "code_contrast", "injection_fluxes"]


class CodeAlgorithm:
    """A participant's ``detect.py`` with ``process(dataset) -> Result(residuals=None, final=map)``.

    Parameters
    ----------
    code_dir : str or path-like
        The folder holding ``detect.py`` (:func:`exobench.ingestion.check_code_dir`);
        :meth:`open` also takes a zip.
    time_limit : float, keyword-only
        Seconds per call of ``detect`` (the ingestion's default).
    python : str, keyword-only, optional
        The children's interpreter.

    Notes
    -----
    Not registered (it is no algorithm of :mod:`exobench.algorithms`); it runs in
    the process that calls it, or on workers that see the same code folder.
    """

    def __init__(self, code_dir, *, time_limit=None, python=None):
        from ..ingestion import DEFAULT_TIME_LIMIT, check_code_dir

        self.code_dir = check_code_dir(code_dir).resolve()
        self.time_limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
        self.python = python

    @classmethod
    @contextlib.contextmanager
    def open(cls, code, *, time_limit=None, python=None):
        """A :class:`CodeAlgorithm` of a code folder or zip (unzipped for the duration): a context manager."""
        from ..ingestion import unpacked_code

        with unpacked_code(code) as code_dir:
            yield cls(code_dir, time_limit=time_limit, python=python)

    def __repr__(self):
        return f"CodeAlgorithm({str(self.code_dir)!r})"

    def process(self, dataset):
        """The participant's map of ``dataset`` as the final frame (no residual cube).

        Raises
        ------
        exobench.ingestion.CodeError
            The code failed, ran past its time limit or returned a bad map.
        """
        from ..data.fits_io import write_dataset
        from ..ingestion import detect_dataset

        with tempfile.TemporaryDirectory(prefix="exobench-contrast-code-") as folder:
            write_dataset(dataset, folder)
            image = detect_dataset(self.code_dir, folder, dataset.instrument, dataset.dataset_id,
                                   time_limit=self.time_limit, python=self.python)
        return Result(residuals=None, final=np.asarray(image, dtype=np.float64))


def injection_fluxes(dataset, *, inner=1.0, step=1.0, injection_snr=5.0):
    """The fake companions' fluxes for a detection map in its own units: ``injection_snr`` times the noise
    of median ADI's final frame (per channel for 4D data) at each separation of the curve.

    Returns
    -------
    ndarray
        Cube units, one per separation of :func:`~exobench.contrast.throughput.contrast_separations`.
    """
    from .._validate import check_number
    from ..algorithms import MedianADI, PerChannelADI
    from ._common import mean_fwhm
    from .throughput import contrast_separations, final_frame, ring_noise

    injection_snr = check_number(injection_snr, "injection_snr", strict=True)
    separations = contrast_separations(dataset, inner=inner, step=step)
    algorithm = PerChannelADI(algorithm="median") if dataset.is_4d else MedianADI()
    noise = ring_noise(final_frame(algorithm, dataset), separations, mean_fwhm(dataset), center=dataset.center)
    return injection_snr * noise.std


def code_contrast(code, dataset, *, fpf=None, sigma=None, inner=1.0, step=1.0, injection_snr=5.0, time_limit=None,
                  python=None, executor=None, progress=False, **options):
    """The contrast curve of a participant's code (a folder holding ``detect.py``, or a zip of it) on ``dataset``.

    :func:`~exobench.contrast.curve.contrast_curve` of :class:`CodeAlgorithm`,
    with the fake companions' fluxes of :func:`injection_fluxes`. Other options
    (``branches``, ``theta0``, ``spacing``) as ``contrast_curve`` takes them.

    Returns
    -------
    ContrastCurve
        In the units of the participant's map (see the module's doc); NaN where
        the map is undefined (NaN) on a ring.
    """
    from ._common import check_dataset
    from .curve import contrast_curve

    check_dataset(dataset)
    fluxes = injection_fluxes(dataset, inner=inner, step=step, injection_snr=injection_snr)
    with CodeAlgorithm.open(code, time_limit=time_limit, python=python) as algorithm:
        return contrast_curve(algorithm, dataset, fpf=fpf, sigma=sigma, inner=inner, step=step, fluxes=fluxes,
                              executor=executor, progress=progress, **options)
