"""The baseline registry: one small class per reference submission, registered by name.

Every baseline is a subclass of :class:`Baseline` registered by the ``name=`` of
its class statement, naming the algorithm it runs and the options it changes
from that algorithm's defaults::

    class MyPCA(Baseline, name="my-pca"):
        "Full-frame PCA, 10 components."
        algorithm = "pca"
        defaults = {"ncomp": 10}

A baseline whose algorithm is not registered is listed as not available and
refuses to run, so the table follows :func:`exobench.algorithms.available_algorithms`.
Baselines that are not one algorithm of :mod:`exobench.algorithms` (a CNN, for
instance) override the class methods of :class:`Baseline` in a plug-in module
listed in :data:`PLUGIN_MODULES`, imported on the first use of the registry (a
module that does not exist is skipped).
"""

import copy
import inspect
import math

import numpy as np

from .._registry import Registry

__all__ = ["Baseline", "get_baseline", "available_baselines", "list_baselines", "runnable_baseline",
           "DETECTION_MAPS", "SNR_THRESHOLD", "STIM_THRESHOLD", "MAX_MAP_PARTS", "PLUGIN_MODULES"]

#: Detection maps a baseline can build.
DETECTION_MAPS = ("snr", "stim")

#: Threshold of S/N maps (documented rule, overridable with the YAML ``threshold``).
SNR_THRESHOLD = 5.0

#: The most pieces one dataset's map is cut into when a cluster has idle workers (see :func:`run_map_tasks`).
MAX_MAP_PARTS = 4

#: Threshold of normalised STIM maps: the largest value of the inverse STIM map.
STIM_THRESHOLD = 1.0

#: Modules registering more baselines, imported on the first use of the registry (skipped while absent).
PLUGIN_MODULES = ("exobench.cnn.baseline",)

_REGISTRY = Registry("baseline")

_PLUGINS_LOADED = False

#: How ``list_baselines`` describes the ``data`` a baseline takes (others: "3D or 4D").
_DATA_LABELS = {"adi": "ADI (4D: per channel)", "asdi": "4D (ADI+mSDI)"}


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
        _REGISTRY.register_class(cls, name)

    @classmethod
    def description(cls):
        """First line of the class's docstring."""
        return (inspect.getdoc(cls) or "").splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def unavailable_reason(cls):
        """Why the baseline cannot run in this installation, or None when it can."""
        from ..algorithms import available_algorithms

        if cls.algorithm not in available_algorithms():
            return f"not yet available: no algorithm {cls.algorithm!r} in exobench.algorithms"
        return None

    @classmethod
    def algorithm_class(cls):
        from ..algorithms import get_algorithm

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
        runner = cls.make_algorithm(params, dataset)
        if params["detection_map"] == "snr":
            return _snr_detection_map(runner, dataset)
        from ..detmap import stim_from_algorithm

        return np.asarray(stim_from_algorithm(runner, dataset).normalized, dtype=np.float64)

    @classmethod
    def make_algorithm(cls, params, dataset):
        """The algorithm object this baseline runs on ``dataset`` with the full ``params``.

        Its ``algorithm`` with the options of the parameters, or, for a 4D
        dataset given to an ADI baseline, that algorithm on each channel
        (:class:`~exobench.algorithms.PerChannelADI`). What injection-recovery
        (:mod:`exobench.contrast`) runs, so that its results are those of the
        baseline's own maps.

        Raises
        ------
        ValueError
            The baseline runs no algorithm of :mod:`exobench.algorithms` (a plug-in such as the CNN).
        """
        from ..algorithms import available_algorithms

        if cls.algorithm not in available_algorithms():
            raise ValueError(f"name: baseline {cls.name!r} runs no PSF-subtraction algorithm of exobench.algorithms "
                             f"(its algorithm is {cls.algorithm!r})")
        if dataset.cube.ndim == 4 and cls.data == "adi":
            return _per_channel(cls, params)
        return cls._algorithm(params)

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
        from ..detmap import snr_map

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


def _check_threshold(value, label):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{label}: expected a finite number or null (the map's rule), got {value!r}")
    return float(value)


def get_baseline(name):
    """The baseline class registered under ``name``.

    Examples
    --------
    >>> get_baseline("pca-annular").algorithm
    'pca-annular'
    """
    _load_plugins()
    return _REGISTRY.get(name)


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


def runnable_baseline(name):
    cls = get_baseline(name)
    reason = cls.unavailable_reason()
    if reason is not None:
        raise ValueError(f"name: baseline {name!r} is {reason}")
    return cls


def _per_channel(cls, params):
    """An ADI baseline's algorithm run on each channel of a 4D cube, then averaged."""
    from ..algorithms import PerChannelADI

    return PerChannelADI(algorithm=cls.algorithm, options=dict(params["algorithm"]))


def _snr_detection_map(algorithm, dataset):
    from ..detmap import snr_map

    result = algorithm.process(dataset)
    return snr_map(result.final, float(np.mean(dataset.fwhm)))
