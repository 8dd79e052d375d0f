"""The contrast curve of a baseline on one dataset of a phase folder, and its files.

The baseline's algorithm is built from its parameters as the baseline builds it
for its own maps (:meth:`exobench.baselines.Baseline.make_algorithm`), so
``--params FILE`` means the same thing to ``exobench baseline`` and ``exobench
contrast``. A curve's file format is :meth:`ContrastCurve.to_dict
<exobench.contrast.curve.ContrastCurve.to_dict>` as JSON, read back by
:func:`curve_from_dict` (``contrast.json``, and the leaderboard's stored curves).
"""

import dataclasses
from pathlib import Path

import numpy as np

__all__ = ["baseline_contrast", "prepare_contrast", "parse_dataset_name", "check_contrast_output", "write_contrast",
           "OUTPUT_FILES", "curve_from_dict", "read_contrast", "phase_contrast", "CODE_PREFIX", "contrast_source"]

#: The prefix of a code submission in :func:`contrast_source`'s text: ``code:DIR_OR_ZIP``.
CODE_PREFIX = "code:"

#: The files ``write_contrast`` writes into its folder.
OUTPUT_FILES = ("contrast.json", "contrast.png")


def parse_dataset_name(text, phase_dir):
    """``(instrument, k)`` of ``INSTRUMENT_K`` (``naco_1``, ``sphere_irdis_2``), checked against the phase folder.

    Raises
    ------
    ValueError
        Not of that form, or no such dataset in the folder (the message lists those there).
    """
    from ..data.fits_io import find_datasets

    instrument, sep, k = str(text).rpartition("_")
    if not sep or not instrument or not k:
        raise ValueError(f"dataset: expected INSTRUMENT_K (such as naco_1), got {text!r}")
    found = find_datasets(phase_dir)
    if (instrument, k) not in found:
        listed = ", ".join(f"{i}_{j}" for i, j in found[:10]) + (", ..." if len(found) > 10 else "")
        raise ValueError(f"dataset: no {instrument}_cube_{k}.fits in {str(phase_dir)!r}; datasets there: "
                         f"{listed or 'none'}")
    return instrument, k


def prepare_contrast(name, phase_dir, dataset, *, params=None):
    """Every input of a baseline's contrast curve, checked: ``(algorithm, dataset)``.

    The parameters (:func:`exobench.baselines.resolve_params`), the phase folder
    and the dataset named ``INSTRUMENT_K`` (read), and the baseline's algorithm
    built for it (:meth:`exobench.baselines.Baseline.make_algorithm`).

    Raises
    ------
    ValueError, FileNotFoundError
        Naming the parameter or the file.
    """
    from ..baselines import get_baseline, phase_datasets, resolve_params
    from ..data.fits_io import read_dataset

    params = resolve_params(name, params)
    phase_datasets(name, phase_dir)
    instrument, k = parse_dataset_name(dataset, phase_dir)
    data = read_dataset(phase_dir, instrument, k)
    return get_baseline(name).make_algorithm(params, data), data


def baseline_contrast(name, phase_dir, dataset, *, params=None, fpf=None, sigma=None, executor=None,
                      progress=False, **options):
    """The contrast curve of baseline ``name`` on dataset ``INSTRUMENT_K`` of a phase folder.

    Parameters
    ----------
    name : str
        A baseline that runs an algorithm of :mod:`exobench.algorithms`.
    phase_dir : str or path-like
        A phase folder in the EIDC layout.
    dataset : str
        ``INSTRUMENT_K``, the dataset's ``{instrument}_cube_{k}.fits``.
    params : str, path-like or mapping, optional
        The baseline's parameters (:func:`exobench.baselines.load_params`).
    fpf, sigma, executor, progress, **options
        As :func:`~exobench.contrast.curve.contrast_curve` takes them.

    Returns
    -------
    ContrastCurve
    """
    from .curve import contrast_curve, resolve_fpf

    fpf = resolve_fpf(fpf, sigma)
    algorithm, data = prepare_contrast(name, phase_dir, dataset, params=params)
    return contrast_curve(algorithm, data, fpf=fpf, executor=executor, progress=progress, **options)


def check_contrast_output(output, *, overwrite=False):
    """Check, before any work, that ``contrast.json`` and ``contrast.png`` can be written into ``output``.

    Returns
    -------
    pathlib.Path
    """
    from .._atomic import check_new_folder

    return check_new_folder(output, overwrite=overwrite)


def write_contrast(curve, output, *, overwrite=False, title=None):
    """Write ``contrast.json`` and ``contrast.png`` into the folder ``output``, each atomically.

    Returns
    -------
    list of pathlib.Path
    """
    from ._common import write_json_and_png
    from .plot import plot_contrast

    return write_json_and_png(output, OUTPUT_FILES, curve.to_json(),
                              lambda path: plot_contrast(curve, path, title=title), overwrite=overwrite)


def curve_from_dict(data):
    """The :class:`~exobench.contrast.curve.ContrastCurve` of :meth:`ContrastCurve.to_dict
    <exobench.contrast.curve.ContrastCurve.to_dict>`'s output (``None`` back to NaN).

    Raises
    ------
    ValueError
        Not a mapping, or a field of the curve missing (the message names it).
    """
    from .curve import ContrastCurve

    if not isinstance(data, dict):
        raise ValueError(f"curve: expected a mapping of a contrast curve's fields, got {type(data).__name__}")
    values = {}
    for field in dataclasses.fields(ContrastCurve):
        if field.name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ValueError(f"curve: no {field.name!r} in the stored contrast curve")
            continue
        value = data[field.name]
        if isinstance(value, list) and field.name == "non_gaussian":  # flags stay flags (never None)
            value = np.array([bool(v) for v in value], dtype=bool)
        elif isinstance(value, list):
            kind = int if field.name == "n_apertures" else float
            value = np.array([np.nan if v is None else v for v in value], dtype=kind)
        elif value is None and field.type in (float, "float"):
            value = float("nan")
        values[field.name] = value
    return ContrastCurve(**values)


def read_contrast(path):
    """The curve of a ``contrast.json`` file (:func:`write_contrast`).

    Raises
    ------
    FileNotFoundError, ValueError
        No such file, or not a contrast curve's JSON (the message names the file).
    """
    import json

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no contrast curve file {str(path)!r}")
    try:
        return curve_from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"path: {str(path)!r} is not a contrast curve's JSON ({exc})") from None


def phase_contrast(phase_dir, *, baseline=None, params=None, code=None, datasets=None, fpf=None, executor=None,
                   progress=False, **options):
    """The contrast curves of a baseline, or of a participant's code, on datasets of a phase folder.

    Parameters
    ----------
    phase_dir : str or path-like
        A public phase folder in the EIDC layout.
    baseline : str, optional
        A baseline (its algorithm, built from ``params``); exactly one of ``baseline`` and ``code``.
    params : str, path-like or mapping, optional
        The baseline's parameters.
    code : str or path-like, optional
        A participant's code (a folder holding ``detect.py``, or a zip of it):
        :func:`~exobench.contrast.code.code_contrast`.
    datasets : list of str, optional
        ``INSTRUMENT_K`` names; every dataset of the folder by default.
    fpf, executor, progress, **options
        As :func:`~exobench.contrast.curve.contrast_curve` takes them (the 5-sigma
        equivalent fpf by default).

    Returns
    -------
    dict
        ``(instrument, k) -> ContrastCurve``, in the order of the datasets.
    """
    from ..data.fits_io import read_dataset
    from .curve import contrast_curve, resolve_fpf

    fpf = resolve_fpf(fpf)
    if (baseline is None) == (code is None):
        raise ValueError("baseline, code: expected exactly one of them")
    if code is not None and params is not None:
        raise ValueError("params: a participant's code takes no parameters; give params with a baseline only")
    names = _phase_dataset_names(phase_dir, datasets)
    if baseline is not None:
        made = {name: prepare_contrast(baseline, phase_dir, f"{name[0]}_{name[1]}", params=params) for name in names}
        return {name: contrast_curve(algorithm, data, fpf=fpf, executor=executor, progress=progress, **options)
                for name, (algorithm, data) in made.items()}
    from .code import code_contrast

    return {name: code_contrast(code, read_dataset(phase_dir, *name), fpf=fpf, executor=executor, progress=progress,
                                **options) for name in names}


def _phase_dataset_names(phase_dir, datasets):
    """The ``(instrument, k)`` pairs asked for (every dataset of the folder by default), checked."""
    from ..data.fits_io import find_datasets

    if not Path(phase_dir).is_dir():
        raise FileNotFoundError(f"phase_dir: folder {str(phase_dir)!r} does not exist")
    if datasets is None:
        found = [tuple(pair) for pair in find_datasets(phase_dir)]
        if not found:
            raise ValueError(f"phase_dir: no {{instrument}}_cube_{{k}}.fits in {str(phase_dir)!r}")
        return found
    if isinstance(datasets, str):
        datasets = [datasets]
    return list(dict.fromkeys(parse_dataset_name(text, phase_dir) for text in datasets))


def contrast_source(text, phase_dir):
    """What computes a phase's contrast curves, from ``BASELINE[:PARAMS]`` or ``code:DIR_OR_ZIP``, checked.

    ``BASELINE`` is a baseline's name, ``PARAMS`` its parameter file (its defaults
    without it); ``code:`` names a participant's code folder or zip. The baseline
    and its parameters are checked against the phase folder's data, the code's
    folder or zip to exist, before any work.

    Returns
    -------
    dict
        ``{"baseline", "params", "code", "source"}``: the keyword arguments of
        :func:`phase_contrast` (``baseline``, ``params``, ``code``) and the text
        a stored curve names its source with (``"baseline NAME"`` or ``"code FILE"``);
        ``params`` are the baseline's full parameters.

    Raises
    ------
    ValueError, FileNotFoundError
        Naming ``contrast`` and what was expected.

    Examples
    --------
    >>> import tempfile
    >>> from exobench.examples import example_dataset
    >>> from exobench.data.fits_io import write_dataset
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_dataset(example_dataset(n_frames=10, size=33), folder)
    >>> found = contrast_source("pca", folder)
    >>> found["baseline"], found["source"], found["params"]["algorithm"]["ncomp"]
    ('pca', 'baseline pca', 5)
    """
    from ..baselines import available_baselines, phase_datasets, resolve_params

    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"contrast: expected BASELINE[:PARAMS] or {CODE_PREFIX}DIR_OR_ZIP, got {text!r}")
    text = text.strip()
    if text.startswith(CODE_PREFIX):
        from ..ingestion import unpacked_code

        code = text[len(CODE_PREFIX):]
        if not code:
            raise ValueError(f"contrast: expected {CODE_PREFIX}DIR_OR_ZIP (a code folder or zip), got {text!r}")
        with unpacked_code(code):
            pass
        return {"baseline": None, "params": None, "code": code, "source": f"code {Path(code).name}"}
    name, _, params = text.partition(":")
    if name not in available_baselines():
        raise ValueError(f"contrast: no baseline {name!r}; expected BASELINE[:PARAMS] with one of "
                         f"{', '.join(available_baselines())}, or {CODE_PREFIX}DIR_OR_ZIP")
    if params and not Path(params).is_file():
        raise FileNotFoundError(f"contrast: no parameter file {params!r} (BASELINE:PARAMS)")
    full = resolve_params(name, params or None)
    phase_datasets(name, phase_dir)
    return {"baseline": name, "params": full, "code": None, "source": f"baseline {name}"}
