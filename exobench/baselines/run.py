"""Running a baseline over a phase folder: one task per dataset, one threshold per phase.

Every dataset is one task of an :class:`exobench.parallel.Executor` (in-process
by default, ``executor=`` for a local Dask cluster or a scheduler): the task reads
its own dataset from the phase folder, so only file names and the parameters
travel, and the maps are byte-identical whichever backend ran them.

Threshold rule
--------------
``snr`` maps (the exact S/N map of the final frame, :func:`exobench.detmap.snr_map`
with the dataset's FWHM, NaN where the S/N is undefined: near the star and the
frame's edge) use S/N = 5 (:data:`~exobench.baselines.SNR_THRESHOLD`) for every
dataset of the phase. ``stim`` maps are the normalised STIM maps (Pairet et al.
2019, :func:`exobench.detmap.stim_from_algorithm`): each dataset's STIM map divided
by the largest value of its inverse STIM map (the same residuals derotated with
the opposite angles, where no companion adds up), NaN outside the inscribed
circle; the STIM-calibrated level is then 1 (:data:`~exobench.baselines.STIM_THRESHOLD`)
for every dataset. The YAML ``threshold`` overrides either rule. The S/N map of a
4D dataset's final frame uses the mean of its channels' FWHM.
"""

import dataclasses

import numpy as np

from .params import resolve_params
from .registry import get_baseline, runnable_baseline

__all__ = ["BaselineResult", "run_baseline", "phase_datasets", "assemble_result", "run_map_tasks"]


@dataclasses.dataclass(frozen=True, eq=False)
class BaselineResult:
    """What :func:`run_baseline` returns.

    Attributes
    ----------
    name : str
        The baseline.
    params : dict
        The full parameters of the run (as :func:`load_params` returns them).
    maps : dict
        ``(instrument, dataset_id) -> 2D float64 detection map``, in the order of
        :func:`exobench.data.fits_io.find_datasets`.
    threshold : float
        The phase's detection threshold (values strictly above it are detections).
    detection_map : str
        ``"snr"`` or ``"stim"``.
    """

    name: str
    params: dict
    maps: dict
    threshold: float
    detection_map: str

    @property
    def header(self):
        """The FITS cards every file of the submission carries: the baseline and its kind of map."""
        return {"BASELINE": (self.name, "exobench baseline"), "DETMAP": (self.detection_map, "detection map")}

    def write(self, path, *, overwrite=False):
        """Write the submission (:func:`exobench.submission.write_submission`: a zip or a folder); returns ``path``."""
        from ..submission import write_submission

        return write_submission(self.maps, self.threshold, path, header=self.header, overwrite=overwrite)


def run_baseline(name, phase_dir, *, params=None, detection_map=None, progress=False, executor=None):
    """Run baseline ``name`` on every dataset of a phase folder in the EIDC layout.

    Each dataset is one task of ``executor``: the task reads the dataset from
    the phase folder and returns its detection map, so the folder must be
    readable by every worker (a shared file system on a cluster).

    Parameters
    ----------
    name : str
        A baseline of :func:`available_baselines`.
    phase_dir : str or path-like
        Folder of ``{instrument}_cube_{k}.fits`` (and ``pa``, ``psf``...) files.
    params : str, path-like or mapping, optional
        Parameters (a YAML file or its content, see :func:`load_params`); the
        baseline's defaults otherwise.
    detection_map : str, optional
        Overrides the parameters' ``detection_map`` (one of the baseline's
        ``detection_maps()``: ``"snr"`` or ``"stim"`` for the classical ones).
    progress : bool
        Show a progress bar over the datasets on stderr (the command line turns it on).
    executor : exobench.parallel.Executor, optional
        Where the tasks run; by default in-process (``Executor(workers=0)``,
        one BLAS thread per task, so that the maps are byte-identical to those
        of any other backend).

    Returns
    -------
    BaselineResult

    Examples
    --------
    >>> import tempfile
    >>> from exobench.examples import example_dataset
    >>> from exobench.data.fits_io import write_dataset
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_dataset(example_dataset(n_frames=10, size=33), folder)
    >>> result = run_baseline("median", folder, progress=False)
    >>> list(result.maps), result.maps["example", "1"].shape, result.threshold
    ([('example', '1')], (33, 33), 5.0)
    """
    params = resolve_params(name, params, detection_map=detection_map)
    found = phase_datasets(name, phase_dir)
    maps = run_map_tasks(name, phase_dir, found, [params], executor=executor, progress=progress,
                         desc=f"baseline {name}")
    return assemble_result(name, params, found, maps)


def phase_datasets(name, phase_dir):
    """``[(instrument, dataset_id), ...]`` of a phase folder, checked against the kind of data baseline ``name`` takes.

    Raises
    ------
    ValueError
        The folder holds no dataset, or one the baseline cannot process (named).
    """
    from ..data.fits_io import find_datasets

    cls = runnable_baseline(name)
    found = find_datasets(phase_dir)
    if not found:
        raise ValueError(f"phase_dir: no {{instrument}}_cube_{{k}}.fits file in {str(phase_dir)!r}")
    for instrument, k in found:
        _refuse_kind(phase_dir, instrument, k, cls, _cube_ndim(phase_dir, instrument, k))
    return found


def assemble_result(name, params, found, maps):
    """The :class:`BaselineResult` of the maps of ``found`` (in that order) and the threshold rule."""
    cls = get_baseline(name)
    threshold = params["threshold"]
    if threshold is None:
        threshold = cls.default_threshold(params)
    return BaselineResult(name=name, params=params, maps=dict(zip(found, maps)), threshold=float(threshold),
                          detection_map=params["detection_map"])


def run_map_tasks(name, phase_dir, found, param_sets, *, executor=None, progress=False, desc=None):
    """The detection maps of every (parameter set, dataset) pair, one task each.

    Parameters
    ----------
    name : str
    phase_dir : str or path-like
    found : list of (instrument, dataset_id)
        As :func:`phase_datasets` returns them.
    param_sets : list of dict
        Full parameters (:func:`resolve_params`).
    executor : exobench.parallel.Executor, optional
        In-process (``Executor(workers=0)``) by default.
    progress : bool
    desc : str, optional

    Returns
    -------
    list of numpy.ndarray
        The maps, parameter set by parameter set, datasets in the order of ``found``.
    """
    if executor is None:
        from ..parallel import Executor

        with Executor(workers=0) as local:
            return run_map_tasks(name, phase_dir, found, param_sets, executor=local, progress=progress, desc=desc)
    folder = executor.task_path(phase_dir)
    tasks = [(folder, instrument, k, name, params) for params in param_sets for instrument, k in found]
    counts = _piece_counts(tasks, executor.slots)
    if all(count == 1 for count in counts):
        return executor.map(_dataset_map_task, tasks, key="baseline_map", progress=progress, desc=desc)
    items, groups = [], []
    for task, count in zip(tasks, counts):
        groups.append(list(range(len(items), len(items) + count)))
        items.extend((*task, part, count) for part in range(count))
    return executor.map_combine(_dataset_piece_task, items, _combine_pieces_task, groups, key="baseline_map",
                                progress=progress, desc=desc)


def _piece_counts(tasks, slots):
    """Pieces per task: 1, except for the tasks of an incomplete last round.

    ``n`` equal tasks on ``slots`` workers take ``ceil(n / slots)`` rounds, the
    last one with idle workers (9 datasets on 2 workers: 5 rounds, the last at
    half speed). The last ``n % slots`` tasks are cut into enough pieces to
    fill that round, when their baseline allows it (:meth:`Baseline.map_parts`;
    3D datasets): the same maps, sooner.
    """
    counts = [1] * len(tasks)
    tail = len(tasks) % slots if slots > 1 else 0
    if not tail:
        return counts
    share = -(-slots // tail)
    for index in range(len(tasks) - tail, len(tasks)):
        folder, instrument, k, name, params = tasks[index]
        if _cube_ndim(folder, instrument, k) == 3:
            counts[index] = max(1, min(share, runnable_baseline(name).map_parts(params)))
    return counts


def _dataset_map(phase_dir, instrument, k, name, params):
    """The detection map of one dataset of a phase folder (one task: a pure function of its arguments)."""
    cls, dataset = _task_dataset(phase_dir, instrument, k, name)
    image = cls.detection_map(dataset, params, progress=False)
    return np.asarray(image, dtype=np.float64)


def _task_dataset(phase_dir, instrument, k, name):
    """``(baseline class, dataset)`` of a task, the dataset read and checked against the baseline's kind."""
    from ..data.fits_io import read_dataset

    cls = runnable_baseline(name)
    dataset = read_dataset(phase_dir, instrument, k)
    _refuse_kind(phase_dir, instrument, k, cls, dataset.cube.ndim)
    return cls, dataset


def _dataset_map_task(item):
    """:func:`_dataset_map` of one ``(phase_dir, instrument, k, name, params)`` item."""
    return _dataset_map(*item)


def _dataset_piece_task(item):
    """``(item, piece)``: piece ``part`` of ``parts`` of one ``(phase_dir, instrument, k, name, params,
    part, parts)`` item's map (the whole map when ``parts`` is 1)."""
    folder, instrument, k, name, params, part, parts = item
    if parts == 1:
        return item, _dataset_map(folder, instrument, k, name, params)
    cls, dataset = _task_dataset(folder, instrument, k, name)
    return item, cls.detection_map_part(dataset, params, part, parts)


def _combine_pieces_task(results):
    """One dataset's map from the ``(item, piece)`` results of :func:`_dataset_piece_task`."""
    (folder, instrument, k, name, params, _, parts), first = results[0]
    if parts == 1:
        return first
    cls, dataset = _task_dataset(folder, instrument, k, name)
    image = cls.combine_map_parts(dataset, params, [piece for _, piece in results])
    return np.asarray(image, dtype=np.float64)


def _cube_ndim(folder, instrument, k):
    """Dimensions of a dataset's cube from its FITS header (None when it cannot be told cheaply)."""
    from astropy.io import fits

    from ..data.fits_io import eidc_path

    try:
        with fits.open(eidc_path(folder, instrument, k, "cube"), memmap=True, lazy_load_hdus=True) as hdus:
            for hdu in hdus:
                naxis = hdu.header.get("NAXIS", 0)
                if naxis:
                    return int(naxis)
    except Exception:  # the reader of the dataset itself names the problem later
        return None
    return None


def _refuse_kind(folder, instrument, k, cls, ndim):
    where = f"phase_dir: dataset {instrument} {k} ({instrument}_cube_{k}.fits in {str(folder)!r})"
    if cls.data == "asdi" and ndim == 3:
        raise ValueError(f"{where} has a 3D (t, y, x) cube; baseline {cls.name!r} processes ADI+mSDI (4D) "
                         f"datasets only (use an ADI baseline such as pca for 3D datasets)")
