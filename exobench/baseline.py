"""Baselines: reference submissions made by one algorithm on every dataset of a phase.

A baseline runs one PSF-subtraction algorithm (:mod:`exobench.algorithms`) on
every dataset of a phase folder in the EIDC layout, turns each final frame into
a detection map, chooses one detection threshold for the whole phase and writes
a submission exactly in the EIDC format::

    {instrument}_detmap_{k}.fits    one 2D detection map per dataset
    detection_threshold.fits        one number; map values strictly above it are detections

Every baseline is one small class registered by name (the ``name=`` of its class
statement), naming the algorithm it runs and the options it changes from that
algorithm's defaults::

    class MyPCA(Baseline, name="my-pca"):
        "Full-frame PCA, 10 components."
        algorithm = "pca"
        defaults = {"ncomp": 10}

A baseline whose algorithm is not registered (yet) is listed as not available
and refuses to run, so the table follows :func:`exobench.algorithms.available_algorithms`.

Baselines that are not one algorithm of :mod:`exobench.algorithms` (a CNN, for
instance) override the class methods of :class:`Baseline` (``default_params``,
``check_params``, ``detection_maps``, ``detection_map``, ``default_threshold``,
``unavailable_reason``) in a plug-in module listed in :data:`PLUGIN_MODULES`,
imported on the first use of the registry (a module that does not exist is
skipped).

Every dataset is one task of an :class:`exobench.parallel.Executor` (in-process
by default, ``executor=`` for a local Dask cluster or a scheduler): the task
reads its own dataset from the phase folder, so only file names and the
parameters travel, and the maps are byte-identical whichever backend ran them.

Parameters
----------
A run is fully described by its parameters, a small YAML file (the defaults of
each baseline are in ``baselines/{name}.yaml`` of the repository, and
``exobench baseline NAME --show-params`` prints them)::

    baseline: pca-annular       # optional; when given, must be the baseline run
    algorithm:                  # options of the algorithm (exobench.algorithms), each optional
      ncomp: 3
      asize: 1.0
    detection_map: snr          # snr or stim
    threshold: 5.0              # optional; null = the map's documented rule

Keys left out keep their defaults; unknown keys are errors naming them.

Threshold rule
--------------
``snr`` maps (the exact S/N map of the final frame, :func:`exobench.detmap.snr_map`
with the dataset's FWHM, NaN where the S/N is undefined: near the star and the
frame's edge) use S/N = 5 (:data:`SNR_THRESHOLD`) for every dataset of the phase.
``stim`` maps are the normalised STIM maps (Pairet et al. 2019,
:func:`exobench.detmap.stim_from_algorithm`): each dataset's STIM map divided
by the largest value of its inverse STIM map (the same residuals derotated with
the opposite angles, where no companion adds up), NaN outside the inscribed
circle; the STIM-calibrated level is then 1 (:data:`STIM_THRESHOLD`) for every
dataset: a detection is a value above the highest one noise reached in the
inverse map. The YAML ``threshold`` overrides either rule.

The ADI baselines (``median``, ``median-annular``, ``pca``, ``pca-annular``,
``llsg``) take any cube: a 3D ``(t, y, x)`` cube directly, a 4D
``(lambda, t, y, x)`` cube channel by channel, averaged over the channels
(:class:`exobench.algorithms.PerChannelADI` with the baseline's algorithm and
options: no spectral information used). The ADI+mSDI baselines (``sdi-pca``,
``asdi-pca``) take 4D cubes only, and refuse a phase holding a 3D dataset,
naming it. The S/N map of a 4D dataset's final frame uses the mean of its
channels' FWHM.
"""

import copy
import dataclasses
import inspect
import io
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "Baseline",
    "BaselineResult",
    "get_baseline",
    "available_baselines",
    "list_baselines",
    "default_params",
    "load_params",
    "dump_params",
    "run_baseline",
    "resolve_params",
    "phase_datasets",
    "assemble_result",
    "run_map_tasks",
    "write_submission",
    "DETECTION_MAPS",
    "PLUGIN_MODULES",
    "SNR_THRESHOLD",
    "STIM_THRESHOLD",
    "MAX_MAP_PARTS",
]

#: Detection maps a baseline can build.
DETECTION_MAPS = ("snr", "stim")
#: Threshold of S/N maps (documented rule, overridable with the YAML ``threshold``).
SNR_THRESHOLD = 5.0
#: The most pieces one dataset's map is cut into when a cluster has idle workers (see :func:`run_map_tasks`).
MAX_MAP_PARTS = 4
#: Threshold of normalised STIM maps: the largest value of the inverse STIM map.
STIM_THRESHOLD = 1.0
#: Keys of a parameter file.
PARAM_KEYS = ("baseline", "algorithm", "detection_map", "threshold")
#: Name of the threshold file of a submission.
THRESHOLD_FILE = "detection_threshold.fits"
#: Timestamp of every zip entry (the earliest a zip can hold), for reproducible archives.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

#: Modules registering more baselines, imported on the first use of the registry (skipped while absent).
PLUGIN_MODULES = ("exobench.cnn.baseline",)

_REGISTRY = {}
_PLUGINS_LOADED = False
#: How ``list_baselines`` describes the ``data`` a baseline takes (others: "3D or 4D").
_DATA_LABELS = {"adi": "ADI (4D: per channel)", "asdi": "4D (ADI+mSDI)"}


# -- the baselines ----------------------------------------------------------------------


class Baseline:
    """A reference submission: one algorithm, one detection map, one threshold.

    Subclasses register with ``name=`` in their class statement and set:

    Attributes
    ----------
    algorithm : str
        Registry name of the algorithm (:func:`exobench.algorithms.get_algorithm`).
    defaults : dict
        Options given to the algorithm, over the algorithm's own defaults.
    data : {"adi", "asdi"}
        The cubes it processes: ``"adi"`` any (4D ones channel by channel),
        ``"asdi"`` 4D ``(lambda, t, y, x)`` only.
    options_key : str
        Name of the options section of the parameters (``"algorithm"``).

    Notes
    -----
    **Plug-in interface.** A baseline that is not one algorithm of
    :mod:`exobench.algorithms` (a CNN, say) subclasses ``Baseline`` and
    overrides these class methods; everything else (the registry, the command
    line, :func:`run_baseline` on any executor, :func:`write_submission`,
    ``exobench sweep``) then works unchanged:

    - ``default_params()``: the full parameters of a default run, a dict with
      ``"baseline"`` (its name), its options section (named by
      ``options_key``), ``"detection_map"`` and ``"threshold"`` (``None``: the
      rule of :meth:`default_threshold`);
    - ``check_params(data, *, where="params")``: the full parameters from a
      partial mapping of the user's (defaults updated, every key and value
      checked), raising ``ValueError`` naming ``where`` and the key; the
      default checks the options against the algorithm's options and the types
      of their defaults;
    - ``detection_maps()``: the ``detection_map`` values it accepts (default
      ``("snr", "stim")``);
    - ``detection_map(dataset, params, *, progress=False)``: the 2D float64
      map of one :class:`~exobench.data.Dataset` (called inside a task: a pure
      function of its arguments, picklable results, no printing);
    - ``default_threshold(params)``: the threshold when ``params["threshold"]``
      is ``None``;
    - ``unavailable_reason()``: why it cannot run here (a missing optional
      dependency, no trained model), or ``None``;
    - optionally, ``map_parts(params)`` (default 1), ``detection_map_part(dataset,
      params, part, parts)`` and ``combine_map_parts(dataset, params, pieces)``:
      a map cut into independent pieces, which :func:`run_map_tasks` uses to
      keep every worker busy when the datasets do not fill the last round
      (combined, the pieces must give :meth:`detection_map`'s bytes exactly).

    Plug-in modules are listed in :data:`PLUGIN_MODULES` and imported on the
    first use of the registry, so workers of a cluster find the class by name.

    Examples
    --------
    >>> cls = get_baseline("pca")
    >>> cls.detection_maps(), cls.default_threshold({"detection_map": "snr"})
    (('snr', 'stim'), 5.0)
    >>> cls.check_params({"algorithm": {"ncomp": 8}})["algorithm"]["ncomp"]
    8
    """

    name = None
    algorithm = None
    defaults = {}
    data = "adi"
    options_key = "algorithm"

    def __init_subclass__(cls, *, name=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if name is not None:
            if name in _REGISTRY and _REGISTRY[name] is not cls:
                raise ValueError(f"name: a baseline named {name!r} is already registered "
                                 f"({_REGISTRY[name].__qualname__})")
            cls.name = name
            _REGISTRY[name] = cls

    @classmethod
    def description(cls):
        """First line of the class's docstring."""
        return (inspect.getdoc(cls) or "").splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def unavailable_reason(cls):
        """Why the baseline cannot run in this installation, or None when it can."""
        from .algorithms import available_algorithms

        if cls.algorithm not in available_algorithms():
            return f"not yet available: no algorithm {cls.algorithm!r} in exobench.algorithms"
        return None

    @classmethod
    def algorithm_class(cls):
        from .algorithms import get_algorithm

        return get_algorithm(cls.algorithm)

    @classmethod
    def param_keys(cls):
        """Top-level keys of the parameters, in the documented order."""
        return ("baseline", cls.options_key, "detection_map", "threshold")

    @classmethod
    def default_params(cls):
        """The full parameters of a default run (every algorithm option spelled out)."""
        algo = cls.algorithm_class()
        signature = inspect.signature(algo.__init__)
        options = {p.name: p.default for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}
        options.update(copy.deepcopy(cls.defaults))
        return {"baseline": cls.name, "algorithm": options, "detection_map": "snr", "threshold": None}

    @classmethod
    def check_params(cls, data, *, where="params"):
        """The full parameters: the defaults updated with ``data`` (a partial mapping), checked.

        Unknown keys and options, values of another type than the option's
        default (``None`` defaults take anything), an unknown detection map or
        a threshold that is not a finite number are ``ValueError`` naming
        ``where`` and the key.
        """
        keys = cls.param_keys()
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a mapping of {', '.join(keys)}, got {type(data).__name__}")
        unknown = [str(key) for key in data if key not in keys]
        if unknown:
            raise ValueError(f"{where}: unknown key {', '.join(map(repr, unknown))}; "
                             f"expected some of {', '.join(keys)}")
        params = copy.deepcopy(cls.default_params())
        section = cls.options_key
        if data.get(section) is not None:
            params[section].update(cls._check_options(data[section], params[section], where=where))
        if "detection_map" in data:
            kind = data["detection_map"]
            if kind not in cls.detection_maps():
                raise ValueError(f"{where}: detection_map: expected one of {', '.join(cls.detection_maps())}, "
                                 f"got {kind!r}")
            params["detection_map"] = kind
        if "threshold" in data:
            params["threshold"] = _check_threshold(data["threshold"], f"{where}: threshold")
        return params

    @classmethod
    def _check_options(cls, options, known, *, where):
        section = cls.options_key
        if not isinstance(options, dict):
            raise ValueError(f"{where}: {section}: expected a mapping of options, got {type(options).__name__}")
        wrong = [str(key) for key in options if key not in known]
        if wrong:
            raise ValueError(f"{where}: {section}: unknown option {', '.join(map(repr, wrong))} of baseline "
                             f"{cls.name!r} (algorithm {cls.algorithm!r}); expected some of {', '.join(sorted(known))}")
        for key, value in options.items():
            _check_like_default(value, known[key], f"{where}: {section}: {key}")
        return options

    @classmethod
    def detection_maps(cls):
        """The ``detection_map`` values this baseline can build."""
        return DETECTION_MAPS

    @classmethod
    def default_threshold(cls, params):
        """The phase's threshold when ``params["threshold"]`` is None (the map's documented rule)."""
        return SNR_THRESHOLD if params["detection_map"] == "snr" else STIM_THRESHOLD

    @classmethod
    def detection_map(cls, dataset, params, *, progress=False):
        """The 2D float64 detection map of one dataset (S/N or normalised STIM map of the algorithm's result)."""
        if dataset.cube.ndim == 4 and cls.data == "adi":
            runner = _per_channel(cls, params)
        else:
            runner = cls._algorithm(params)
        if params["detection_map"] == "snr":
            return _snr_detection_map(runner, dataset)
        return np.asarray(_stim_functions()(runner, dataset).normalized, dtype=np.float64)

    @classmethod
    def map_parts(cls, params):
        """Into how many independent pieces one 3D dataset's map can be cut (1: not at all).

        S/N maps of algorithms whose residuals come in independent pieces
        (annular PCA: groups of annuli, see
        :meth:`~exobench.algorithms.AnnularPCA.residual_part`), up to
        :data:`MAX_MAP_PARTS`; a plug-in that overrides :meth:`detection_map`
        gets 1 unless it overrides this too.
        """
        if cls.detection_map.__func__ is not Baseline.detection_map.__func__ or params["detection_map"] != "snr":
            return 1
        return MAX_MAP_PARTS if hasattr(cls.algorithm_class(), "residual_part") else 1

    @classmethod
    def detection_map_part(cls, dataset, params, part, parts):
        """Piece ``part`` of ``parts`` of a 3D dataset's map (see :meth:`map_parts`)."""
        return cls._algorithm(params).residual_part(dataset, part, parts)

    @classmethod
    def _algorithm(cls, params):
        return cls.algorithm_class()(**params[cls.options_key])

    @classmethod
    def combine_map_parts(cls, dataset, params, pieces):
        """The map from all its pieces: :meth:`detection_map`'s, bit for bit."""
        from .detmap import snr_map

        result = cls._algorithm(params).process_parts(dataset, pieces)
        return snr_map(result.final, float(np.mean(dataset.fwhm)))

    @classmethod
    def params_header(cls):
        """Comment lines (``# ...``) that head the baseline's parameter file."""
        return f"""\
# exobench baseline {cls.name!r}: {cls.description()}
# Run: exobench baseline {cls.name} PHASE_DIR -o {cls.name}.zip --params THIS_FILE.yaml
# algorithm: options of exobench.algorithms.{cls.algorithm_class().__name__} (see its docstring),
#            all spelled out so that a run does not depend on that class's defaults.
# detection_map: snr (exact S/N map of the final frame, exobench.detmap.snr_map with the
#            dataset's FWHM, NaN where undefined) or stim (normalised STIM map); --map overrides it.
# threshold: one threshold for every map of the phase (values strictly above it are detections);
#            null = the map's rule: S/N {SNR_THRESHOLD:g} for snr maps, {STIM_THRESHOLD:g} for stim maps.
"""


def _check_like_default(value, default, label):
    """``value`` of the same kind as an option's default (bool, integer, number, string; None: anything)."""
    if default is None or value is None:
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise ValueError(f"{label}: expected {kind} (like the default {default!r}), got {value!r}")


class MedianBaseline(Baseline, name="median"):
    """Full-frame median ADI (exobench.algorithms.MedianADI)."""

    algorithm = "median_adi"
    defaults = {"collapse": "median", "derotation": "bilinear"}


class AnnularMedianBaseline(Baseline, name="median-annular"):
    """Annular median ADI with a rotation threshold (exobench.algorithms.AnnularMedianADI)."""

    algorithm = "annular_median_adi"
    defaults = {"asize": 1.5, "inner_radius": 0.0, "delta": 1.0, "n_references": None,
                "collapse": "median", "derotation": "bilinear"}


class PCABaseline(Baseline, name="pca"):
    """Full-frame PCA, 5 components (exobench.algorithms.PCA)."""

    algorithm = "pca"
    defaults = {"ncomp": 5, "explained_variance": None, "inner_radius": None,
                "collapse": "median", "derotation": "bilinear"}


class AnnularPCABaseline(Baseline, name="pca-annular"):
    """Annular PCA, 3 components, 1-FWHM rotation threshold (exobench.algorithms.AnnularPCA)."""

    algorithm = "annular_pca"
    defaults = {"ncomp": 3, "asize": 1.0, "inner_radius": 0.0, "delta": 1.0,
                "collapse": "median", "derotation": "bilinear"}


class LLSGBaseline(Baseline, name="llsg"):
    """Local low-rank plus sparse plus Gaussian decomposition (exobench.algorithms, "llsg")."""

    algorithm = "llsg"


class SDIPCABaseline(Baseline, name="sdi-pca"):
    """Spectral differential imaging, PCA of 1 component per time step (exobench.algorithms.SDIPCA)."""

    algorithm = "sdi_pca"
    data = "asdi"
    defaults = {"ncomp": 1, "rescaling": "bicubic", "collapse": "median", "derotation": "bilinear"}


class ASDIPCABaseline(Baseline, name="asdi-pca"):
    """Angular and spectral differential imaging, one PCA of 5 components (exobench.algorithms.ASDIPCA)."""

    algorithm = "asdi_pca"
    data = "asdi"
    defaults = {"steps": 1, "ncomp": 5, "ncomp_adi": 1, "rescaling": "bicubic", "collapse": "median",
                "derotation": "bilinear"}


def get_baseline(name):
    """The baseline class registered under ``name``.

    Examples
    --------
    >>> get_baseline("pca-annular").algorithm
    'annular_pca'
    """
    _load_plugins()
    if name not in _REGISTRY:
        raise ValueError(f"name: expected a baseline among {', '.join(map(repr, _REGISTRY))}, got {name!r}")
    return _REGISTRY[name]


def available_baselines():
    """Names of the baselines that can run in this installation, in registration order.

    Examples
    --------
    >>> available_baselines()[:4]
    ['median', 'median-annular', 'pca', 'pca-annular']
    """
    _load_plugins()
    return [name for name, cls in _REGISTRY.items() if cls.unavailable_reason() is None]


def list_baselines():
    """One row per registered baseline: ``name``, ``algorithm``, ``data``, ``available``, ``description``.

    ``available`` is True or the reason it is not.
    """
    _load_plugins()
    rows = []
    for name, cls in _REGISTRY.items():
        reason = cls.unavailable_reason()
        rows.append({"name": name, "algorithm": cls.algorithm,
                     "data": _DATA_LABELS.get(cls.data, "3D or 4D"),
                     "available": True if reason is None else reason, "description": cls.description()})
    return rows


def _load_plugins():
    """Import the modules of :data:`PLUGIN_MODULES` once (each registers its baselines).

    A module that does not exist is skipped; any other import error propagates.
    """
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    import importlib

    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
                _PLUGINS_LOADED = False
                raise


def _runnable(name):
    cls = get_baseline(name)
    reason = cls.unavailable_reason()
    if reason is not None:
        raise ValueError(f"name: baseline {name!r} is {reason}")
    return cls


# -- parameters ---------------------------------------------------------------------------


def default_params(name):
    """The parameters of a default run of baseline ``name`` (a dict, as in its YAML file).

    Examples
    --------
    >>> params = default_params("pca")
    >>> params["algorithm"]["ncomp"], params["detection_map"], params["threshold"]
    (5, 'snr', None)
    """
    return _runnable(name).default_params()


def load_params(source, name=None):
    """Read and check baseline parameters from a YAML file (or a mapping).

    Parameters
    ----------
    source : str, path-like or mapping
        A YAML file, or its content already parsed.
    name : str, optional
        The baseline the parameters are for: the result is its defaults
        updated with ``source``, every key checked against its algorithm's
        options; without it, only the structure is checked and ``source``
        must name its baseline.

    Returns
    -------
    dict
        Full parameters: ``baseline``, ``algorithm`` (every option), ``detection_map``, ``threshold``.

    Raises
    ------
    ValueError
        On an unknown key (named), a wrong type, or a file for another baseline.

    Examples
    --------
    >>> load_params({"algorithm": {"ncomp": 8}, "threshold": 4}, "pca")["algorithm"]["ncomp"]
    8
    >>> load_params({"algorithm": {"ncmp": 8}}, "pca")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: params: algorithm: unknown option 'ncmp' of baseline 'pca' (algorithm 'pca'); expected some of ...
    """
    where = "params"
    if isinstance(source, (str, os.PathLike)):
        where = str(source)
        data = _read_yaml(source)
    else:
        data = source
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping of {', '.join(PARAM_KEYS)}, got {type(data).__name__}")
    given = data.get("baseline")
    if given is not None and name is not None and given != name:
        raise ValueError(f"{where}: baseline: the file is for baseline {given!r}, not {name!r}")
    name = name if name is not None else given
    if name is None:
        raise ValueError(f"{where}: baseline: not given; name the baseline the parameters are for")
    return _runnable(name).check_params(data, where=where)


def _check_threshold(value, label):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{label}: expected a finite number or null (the map's rule), got {value!r}")
    return float(value)


def _read_yaml(path):
    from ._validate import read_yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params: {str(path)!r} not found")
    return read_yaml(path)


def dump_params(params, *, comments=False):
    """The parameters as YAML text (keys in the documented order), ready for ``--params``.

    With ``comments``, a header of comments says what the keys mean (the
    files of ``baselines/`` are this text for the default parameters).

    Examples
    --------
    >>> print(dump_params(default_params("median")), end="")
    baseline: median
    algorithm:
      collapse: median
      derotation: bilinear
    detection_map: snr
    threshold: null
    """
    import yaml

    cls = get_baseline(params["baseline"])
    ordered = {key: params[key] for key in cls.param_keys() if key in params}
    text = yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False)
    if not comments:
        return text
    return cls.params_header() + text


# -- running --------------------------------------------------------------------------------


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

    def files(self):
        """``file name -> array`` of the submission, sorted by name."""
        out = {f"{instrument}_detmap_{k}.fits": image for (instrument, k), image in self.maps.items()}
        out[THRESHOLD_FILE] = np.array([self.threshold], dtype=np.float64)
        return dict(sorted(out.items()))


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


def resolve_params(name, params=None, *, detection_map=None):
    """The full, checked parameters of a run of baseline ``name`` (``params`` as :func:`run_baseline` takes them).

    Examples
    --------
    >>> resolve_params("pca", {"threshold": 4}, detection_map="stim")["detection_map"]
    'stim'
    """
    cls = _runnable(name)
    params = load_params(params if params is not None else {}, name)
    if detection_map is not None:
        if detection_map not in cls.detection_maps():
            raise ValueError(f"detection_map: expected one of {', '.join(cls.detection_maps())}, "
                             f"got {detection_map!r}")
        params["detection_map"] = detection_map
    return params


def phase_datasets(name, phase_dir):
    """``[(instrument, dataset_id), ...]`` of a phase folder, checked against the kind of data baseline ``name`` takes.

    Raises
    ------
    ValueError
        The folder holds no dataset, or one the baseline cannot process (named).
    """
    from .data.fits_io import find_datasets

    cls = _runnable(name)
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
        from .parallel import Executor

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
            counts[index] = max(1, min(share, _runnable(name).map_parts(params)))
    return counts


def _dataset_map(phase_dir, instrument, k, name, params):
    """The detection map of one dataset of a phase folder (one task: a pure function of its arguments)."""
    cls, dataset = _task_dataset(phase_dir, instrument, k, name)
    image = cls.detection_map(dataset, params, progress=False)
    return np.asarray(image, dtype=np.float64)


def _task_dataset(phase_dir, instrument, k, name):
    """``(baseline class, dataset)`` of a task, the dataset read and checked against the baseline's kind."""
    from .data.fits_io import read_dataset

    cls = _runnable(name)
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

    from .data.fits_io import eidc_path

    try:
        with fits.open(eidc_path(folder, instrument, k, "cube"), memmap=True, lazy_load_hdus=True) as hdus:
            for hdu in hdus:
                naxis = hdu.header.get("NAXIS", 0)
                if naxis:
                    return int(naxis)
    except Exception:  # the reader of the dataset itself names the problem later
        return None
    return None


def _per_channel(cls, params):
    """An ADI baseline's algorithm run on each channel of a 4D cube, then averaged."""
    from .algorithms import PerChannelADI

    return PerChannelADI(algorithm=cls.algorithm, options=dict(params["algorithm"]))


def _refuse_kind(folder, instrument, k, cls, ndim):
    where = f"phase_dir: dataset {instrument} {k} ({instrument}_cube_{k}.fits in {str(folder)!r})"
    if cls.data == "asdi" and ndim == 3:
        raise ValueError(f"{where} has a 3D (t, y, x) cube; baseline {cls.name!r} processes ADI+mSDI (4D) "
                         f"datasets only (use an ADI baseline such as pca for 3D datasets)")


def _snr_detection_map(algorithm, dataset):
    from .detmap import snr_map

    result = algorithm.process(dataset)
    return snr_map(result.final, float(np.mean(dataset.fwhm)))


def _stim_functions():
    from . import detmap

    function = getattr(detmap, "stim_from_algorithm", None)
    if function is None:
        raise ValueError("detection_map: 'stim' is not available yet (exobench.detmap has no STIM maps); use 'snr'")
    return function


# -- writing ----------------------------------------------------------------------------------


def write_submission(result, path):
    """Write a submission in the EIDC format, atomically: a zip archive or a folder.

    Parameters
    ----------
    result : BaselineResult
    path : str or path-like
        Ending in ``.zip``: a flat zip archive (replaced if it exists) whose
        bytes depend only on the maps and threshold (entries sorted by name,
        fixed timestamps and permissions). Otherwise a folder, which must not
        exist or be empty; it appears only once every file is written.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    files = {name: _fits_bytes(data, result) for name, data in result.files().items()}
    if path.suffix.lower() == ".zip":
        from ._atomic import atomic_path

        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w") as archive:
                for name, content in files.items():
                    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.create_system = 3
                    info.external_attr = 0o644 << 16
                    archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        what = "a file" if not path.is_dir() else "a folder that is not empty"
        raise FileExistsError(f"output: {str(path)!r} is {what}; give a new folder or a .zip path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output: folder {str(path.parent)!r} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _fits_bytes(data, result):
    from astropy.io import fits

    header = fits.Header()
    header["BASELINE"] = (result.name, "exobench baseline")
    header["DETMAP"] = (result.detection_map, "detection map")
    buffer = io.BytesIO()
    hdu = fits.PrimaryHDU(data=np.asarray(data, dtype=np.float64), header=header)
    hdu.writeto(buffer, output_verify="exception")
    return buffer.getvalue()
