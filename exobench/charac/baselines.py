"""Characterisation baselines: ``negfc`` and ``psf-fit``, run over a characterisation phase folder.

A detection baseline (:mod:`exobench.baselines`) makes one detection map per dataset and a
threshold per phase, and its registry, parameters, sweeps and contrast curves build on that
map. A characterisation baseline instead writes a table per dataset (the position and fluxes
of each announced companion, with uncertainties), so it has this small registry of its own;
``exobench baseline NAME`` runs either kind (the command line looks here first).

Parameters (``baselines/{name}.yaml``, ``exobench baseline NAME --show-params``)::

    baseline: negfc
    options:            # the estimator's options (exobench.charac.NegFC / PSFFit), each optional
      ncomp: 5
      uncertainty: injection  # negfc: or posterior (emcee, the exobench[emcee] extra)
    uncertainties: true # 1-sigma uncertainties (the file's second HDU)
"""

import copy
import dataclasses
import inspect
from pathlib import Path

from .._registry import Registry

__all__ = ["CharacBaseline", "get_charac_baseline", "charac_baselines", "charac_params", "dump_charac_params",
           "run_charac_baseline", "CharacResult", "PARAM_KEYS"]

#: Keys of a characterisation baseline's parameter file.
PARAM_KEYS = ("baseline", "options", "uncertainties")

_REGISTRY = Registry("characterisation baseline")


class CharacBaseline:
    """A characterisation baseline: an estimator class with ``estimate(dataset, candidates,
    uncertainties=...) -> (estimates, sigmas)`` and the options it changes from its defaults."""

    name = None
    defaults = {}

    def __init_subclass__(cls, *, name=None, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY.register_class(cls, name)

    @classmethod
    def description(cls):
        return (inspect.getdoc(cls) or "").splitlines()[0]

    @classmethod
    def estimator_class(cls):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def default_params(cls):
        estimator = cls.estimator_class()
        if dataclasses.is_dataclass(estimator):
            options = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                       for f in dataclasses.fields(estimator)}
        else:
            options = {p.name: p.default for p in inspect.signature(estimator.__init__).parameters.values()
                       if p.kind is p.KEYWORD_ONLY}
        options.update(copy.deepcopy(cls.defaults))
        return {"baseline": cls.name, "options": options, "uncertainties": True}

    @classmethod
    def make(cls, params):
        """The estimator of the (checked) parameters."""
        return cls.estimator_class()(**params["options"])


class NegFCBaseline(CharacBaseline, name="negfc"):
    """Negative fake companions: simplex on (x, y, flux) of the residuals in an aperture (annular PCA)."""

    @classmethod
    def estimator_class(cls):
        from .negfc import NegFC

        return NegFC


class PSFFitBaseline(CharacBaseline, name="psf-fit"):
    """PSF fit on annular PCA's final frame (components learnt without the companion), throughput-corrected."""

    @classmethod
    def estimator_class(cls):
        from .psffit import PSFFit

        return PSFFit


def get_charac_baseline(name):
    """The class of characterisation baseline ``name`` (``ValueError`` naming the known ones)."""
    return _REGISTRY.get(name)


def charac_baselines():
    """The names of the characterisation baselines."""
    return sorted(_REGISTRY.names())


def charac_params(name, params=None, *, where="params"):
    """The full parameters of baseline ``name``: its defaults updated with ``params`` (a YAML file,
    or a mapping), checked (unknown keys and options are ``ValueError`` naming them; the
    estimator checks the values)."""
    cls = get_charac_baseline(name)
    full = cls.default_params()
    if params is None:
        return full
    if isinstance(params, (str, Path)):
        from .._validate import read_yaml

        if not Path(params).is_file():
            raise FileNotFoundError(f"params: {str(params)!r} not found")
        where, params = str(params), read_yaml(params) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{where}: expected a mapping of {', '.join(PARAM_KEYS)}, got {type(params).__name__}")
    unknown = [str(key) for key in params if key not in PARAM_KEYS]
    if unknown:
        raise ValueError(f"{where}: unknown key {', '.join(map(repr, unknown))}; expected some of "
                         f"{', '.join(PARAM_KEYS)}")
    if params.get("baseline", name) != name:
        raise ValueError(f"{where}: baseline: expected {name!r} (the baseline run), got {params['baseline']!r}")
    options = params.get("options") or {}
    if not isinstance(options, dict):
        raise ValueError(f"{where}: options: expected a mapping, got {type(options).__name__}")
    wrong = [str(key) for key in options if key not in full["options"]]
    if wrong:
        raise ValueError(f"{where}: options: unknown option {', '.join(map(repr, wrong))} of baseline {name!r}; "
                         f"expected some of {', '.join(sorted(full['options']))}")
    full["options"].update(options)
    if "uncertainties" in params:
        if not isinstance(params["uncertainties"], bool):
            raise ValueError(f"{where}: uncertainties: expected true or false, got {params['uncertainties']!r}")
        full["uncertainties"] = params["uncertainties"]
    cls.make(full)  # the estimator checks the values
    return full


def dump_charac_params(params):
    """The parameters as YAML text, a comment header first (what ``--show-params`` prints)."""
    import yaml

    header = ("# characterisation baseline parameters (exobench baseline NAME --params FILE.yaml)\n"
              "# options: the estimator's (exobench.charac); uncertainties: 1-sigma, the second HDU\n")
    ordered = {key: params[key] for key in PARAM_KEYS}
    return header + yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False)


@dataclasses.dataclass(frozen=True, eq=False)
class CharacResult:
    """A characterisation baseline's run: per ``(instrument, dataset_id)``, the ``(N, 2 + n_channels)``
    estimates and (or None) uncertainties."""

    name: str
    params: dict
    estimates: dict
    sigmas: dict

    def write(self, path, *, overwrite=False):
        """Write the submission (:func:`exobench.submission.write_characterisation`); returns ``path``."""
        from ..submission.charac import write_characterisation

        return write_characterisation(self.estimates, path, sigmas=self.sigmas or None,
                                      header={"BASELINE": (self.name, "exobench baseline")}, overwrite=overwrite)


def phase_candidates(phase_dir):
    """``[(instrument, dataset_id), ...]`` of a characterisation phase folder; each must have a
    candidates file."""
    from ..challenge.layout import candidates_file_name
    from ..data.fits_io import find_datasets

    found = find_datasets(phase_dir)
    if not found:
        raise FileNotFoundError(f"phase_dir: no *_cube_*.fits dataset in {str(phase_dir)!r}")
    for instrument, k in found:
        if not (Path(phase_dir) / candidates_file_name(instrument, k)).is_file():
            raise FileNotFoundError(f"phase_dir: {candidates_file_name(instrument, k)} not found in "
                                    f"{str(phase_dir)!r} (a characterisation phase announces its companions there)")
    return found


def _dataset_task(key, *, name, phase_dir, params):
    from ..data.fits_io import read_dataset
    from .first_guess import read_candidates

    dataset = read_dataset(phase_dir, *key)
    candidates = read_candidates(phase_dir, *key)
    estimator = get_charac_baseline(name).make(params)
    return estimator.estimate(dataset, candidates, uncertainties=params["uncertainties"])


def run_charac_baseline(name, phase_dir, *, params=None, progress=False, executor=None):
    """Run characterisation baseline ``name`` on every dataset of a phase folder (one task each).

    Returns
    -------
    CharacResult
    """
    from ..parallel import Executor

    params = charac_params(name, params)
    found = phase_candidates(phase_dir)
    executor = executor or Executor(workers=0)
    results = executor.map(_dataset_task, found, kwargs={"name": name, "phase_dir": str(phase_dir),
                                                         "params": params},
                           progress=progress, desc=f"baseline {name}")
    estimates = {key: rows for key, (rows, _) in zip(found, results)}
    sigmas = {key: s for key, (_, s) in zip(found, results)} if params["uncertainties"] else {}
    return CharacResult(name, params, estimates, sigmas)
