"""Parameter sweeps: a baseline run over a grid of parameters, each run scored against the reference.

A grid is a small YAML file mapping *dotted parameter names* to lists of
values; the sweep runs the Cartesian product::

    algorithm.ncomp: [2, 5, 10]     # an option of the baseline's algorithm
    algorithm.asize: [1.0, 2.0]
    threshold: [3.0, 5.0]           # also: detection_map: [snr, stim]

Every (parameter set, dataset) pair is one task of an
:class:`exobench.parallel.Executor` (so that every worker stays busy whatever
the number of parameter sets), then every parameter set's submission is scored
against the reference phase with the scoring program's code
(:func:`exobench.scoring.batch.score_submissions`, one task per parameter set).
:func:`write_sweep` writes ``sweep.csv`` (one row per parameter set: its values
and its scores), ``sweep.json`` (the same, the grid, the base parameters and
the library versions) and ``sweep.png`` (F1 and AUC against each swept
parameter), each atomically.

Examples
--------
>>> grid = load_grid({"algorithm.ncomp": [2, 5], "threshold": [4.0]}, "pca-annular")
>>> grid
{'algorithm.ncomp': [2, 5], 'threshold': [4.0]}
>>> [p["algorithm"]["ncomp"] for p in parameter_sets("pca-annular", grid)]
[2, 5]
>>> load_grid({"algorithm.ncomp": []}, "pca-annular")
Traceback (most recent call last):
...
ValueError: grid: algorithm.ncomp: expected a non-empty list of values, got []
"""

import copy
import csv
import dataclasses
import io
import itertools
import json
import math
import os
import tempfile
from pathlib import Path

__all__ = ["SweepResult", "load_grid", "parameter_sets", "run_sweep", "write_sweep", "check_reference_matches",
           "SCORE_COLUMNS"]

#: Score columns of the table, after the swept parameters.
SCORE_COLUMNS = ("F1", "Precision", "Recall", "FalsePositives", "TPR", "FPR", "AUC", "pAUC", "TP", "FP", "FN",
                 "threshold_used")
_TOP_LEVEL = ("detection_map", "threshold")


@dataclasses.dataclass(frozen=True, eq=False)
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes
    ----------
    name : str
        The baseline.
    grid : dict
        Dotted parameter name -> list of values, as checked by :func:`load_grid`.
    base_params : dict
        The full parameters the grid changes.
    rows : list of dict
        One per parameter set, in the order of :func:`parameter_sets`: the
        swept values (dotted names) then :data:`SCORE_COLUMNS`.
    versions : dict
        Library versions of the run.
    """

    name: str
    grid: dict
    base_params: dict
    rows: list
    versions: dict

    @property
    def columns(self):
        """Column names of the table: the swept parameters, then the scores."""
        return list(self.grid) + list(SCORE_COLUMNS)

    def csv_text(self):
        """``sweep.csv``: a header and one row per parameter set (numbers in full precision)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if row[c] is None else row[c] for c in self.columns])
        return buffer.getvalue()

    def json_text(self):
        """``sweep.json``: the baseline, grid, base parameters, rows and versions."""
        content = {"baseline": self.name, "grid": self.grid, "base_params": self.base_params,
                   "columns": self.columns, "rows": self.rows, "versions": self.versions}
        return json.dumps(content, indent=2, allow_nan=False) + "\n"

    def table_text(self):
        """The table for a terminal: the swept values, F1, TPR, FP and AUC of each parameter set."""
        shown = list(self.grid) + ["F1", "TPR", "FalsePositives", "AUC"]
        cells = [[_cell(row[c]) for c in shown] for row in self.rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(shown)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(shown, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(lines) + "\n"


def _cell(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- the grid -----------------------------------------------------------------------------


def load_grid(source, name, *, params=None):
    """Read and check a grid of parameters of baseline ``name``.

    Parameters
    ----------
    source : str, path-like or mapping
        A YAML file, or its content: dotted parameter names
        (``algorithm.OPTION``, ``detection_map``, ``threshold``; the options
        section is the baseline's ``options_key``) -> non-empty lists of values.
    name : str
        The baseline.
    params : str, path-like or mapping, optional
        Parameters the grid starts from (:func:`exobench.baselines.load_params`).

    Returns
    -------
    dict
        Dotted name -> list of values, in the file's order.

    Raises
    ------
    ValueError
        Naming the file and the key: an unknown parameter, an empty or
        repeated list, a value the baseline's own parameter check refuses.
    FileNotFoundError
        ``source`` is a path that does not exist.

    Examples
    --------
    >>> load_grid({"algorithm.ncmp": [1]}, "pca")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: grid: algorithm.ncmp: unknown parameter of baseline 'pca'; expected detection_map, threshold or ...
    >>> load_grid({"algorithm.ncomp": [2, "x"]}, "pca")
    Traceback (most recent call last):
    ...
    ValueError: grid: algorithm: ncomp: expected an integer (like the default 5), got 'x'
    """
    from ..baselines import get_baseline

    where, data = _read_grid(source)
    cls = get_baseline(name)
    base = _base_params(name, params)
    grid = {}
    for key, values in data.items():
        path = _grid_key(key, cls, base, where)
        if not isinstance(values, list) or not values:
            raise ValueError(f"{where}: {key}: expected a non-empty list of values, got {values!r}")
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            raise ValueError(f"{where}: {key}: a value is repeated in {values!r}")
        for value in values:
            cls.check_params(_with_value(base, path, value), where=where)
        grid[key] = list(values)
    return grid


def _read_grid(source):
    if isinstance(source, (str, os.PathLike)):
        from .._validate import read_yaml

        if not Path(source).is_file():
            raise FileNotFoundError(f"grid: {str(source)!r} not found")
        where, data = str(source), read_yaml(Path(source))
    else:
        where, data = "grid", source
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{where}: expected a mapping of dotted parameter names (such as algorithm.ncomp) "
                         f"to lists of values, got {data!r}")
    return where, data


def _base_params(name, params):
    from ..baselines import resolve_params

    return resolve_params(name, params)


def _grid_key(key, cls, base, where):
    """The path (tuple of keys) of a dotted parameter name, checked against the baseline's parameters."""
    section = cls.options_key
    options = base.get(section) or {}
    if isinstance(key, str):
        if key in _TOP_LEVEL:
            return (key,)
        head, dot, option = key.partition(".")
        if dot and head == section and option in options:
            return (section, option)
    raise ValueError(f"{where}: {key}: unknown parameter of baseline {cls.name!r}; expected "
                     f"{', '.join(_TOP_LEVEL)} or {section}.OPTION with OPTION among {', '.join(sorted(options))}")


def _with_value(params, path, value):
    out = copy.deepcopy(params)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def parameter_sets(name, grid, *, params=None):
    """The full parameters of every point of the grid (Cartesian product, last key varying fastest).

    Parameters
    ----------
    name : str
    grid : dict
        As :func:`load_grid` returns it.
    params : str, path-like or mapping, optional
        Parameters the grid starts from.

    Returns
    -------
    list of dict
    """
    from ..baselines import get_baseline

    cls = get_baseline(name)
    base = _base_params(name, params)
    paths = [_grid_key(key, cls, base, "grid") for key in grid]
    sets = []
    for values in itertools.product(*grid.values()):
        point = base
        for path, value in zip(paths, values):
            point = _with_value(point, path, value)
        sets.append(cls.check_params(point, where="grid"))
    return sets


# -- running ------------------------------------------------------------------------------


def run_sweep(name, phase_dir, grid, reference_dir, *, params=None, compat=None, phase_suffix=None,
              executor=None, progress=False, work_dir=None):
    """Run baseline ``name`` for every parameter set of ``grid`` and score each run.

    Parameters
    ----------
    name : str
        A baseline of :func:`exobench.baselines.available_baselines`.
    phase_dir : str or path-like
        The public phase folder (EIDC layout).
    grid : str, path-like or mapping
        The grid (:func:`load_grid`).
    reference_dir : str or path-like
        The reference phase folder of ``phase_dir``.
    params : str, path-like or mapping, optional
        Parameters the grid starts from (default: the baseline's).
    compat, phase_suffix
        Scoring mode and score suffix (:func:`exobench.scoring.program.score_submission`).
    executor : exobench.parallel.Executor, optional
        Where the tasks run (one per parameter set and dataset, then one per
        parameter set for the scoring); in-process by default.
    progress : bool
        Progress bars over the tasks on stderr.
    work_dir : str or path-like, optional
        Where the submissions are written for the scorer (a temporary folder
        inside it, removed afterwards); workers must see it (a shared file
        system on a cluster). Default: the system's temporary folder.

    Returns
    -------
    SweepResult
        Identical whichever backend ran it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from exobench.data.fits_io import write_dataset
    >>> from exobench.examples import example_dataset
    >>> from exobench.inject import inject_companions
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "public").mkdir(); (root / "ref").mkdir()
    >>> injected = inject_companions(example_dataset(n_frames=12, size=33), separations=[9.0], thetas=[45.0],
    ...                              contrasts=[1e-2])
    >>> _ = write_dataset(injected.dataset, root / "public")
    >>> fits.writeto(root / "ref" / "example_positions_1.fits", injected.truth[["x", "y"]].to_numpy())
    >>> fits.writeto(root / "ref" / "example_fwhm_1.fits", np.array([4.0]))
    >>> result = run_sweep("pca", root / "public", {"algorithm.ncomp": [1, 2]}, root / "ref")
    >>> [(row["algorithm.ncomp"], row["TP"]) for row in result.rows]
    [(1, 1), (2, 1)]
    >>> [path.name for path in write_sweep(result, root / "sweep")]
    ['sweep.csv', 'sweep.json', 'sweep.png']
    """
    from ..baselines import assemble_result, phase_datasets, run_map_tasks

    grid = load_grid(grid, name, params=params)
    sets = parameter_sets(name, grid, params=params)
    found = phase_datasets(name, phase_dir)
    check_reference_matches(reference_dir, phase_dir, found, phase_suffix=phase_suffix)
    maps = run_map_tasks(name, phase_dir, found, sets, executor=executor, progress=progress, desc=f"sweep {name}")
    results = [assemble_result(name, point, found, maps[i * len(found):(i + 1) * len(found)])
               for i, point in enumerate(sets)]
    reports = _score(results, reference_dir, compat=compat, phase_suffix=phase_suffix, executor=executor,
                     progress=progress, work_dir=work_dir)
    points = itertools.product(*grid.values())
    rows = [_row(grid, values, result, report) for values, result, report in zip(points, results, reports)]
    return SweepResult(name=name, grid=grid, base_params=_base_params(name, params), rows=rows,
                       versions=_versions())


def check_reference_matches(reference_dir, phase_dir, found, *, phase_suffix=None):
    """Refuse a reference phase whose datasets are not those of the public phase, before any run.

    Parameters
    ----------
    reference_dir, phase_dir : str or path-like
    found : list of (instrument, dataset_id)
        The datasets of ``phase_dir``.

    Raises
    ------
    ValueError
        The reference names other datasets (the differences named), or gives a frame shape that
        is not the public cube's.
    """
    from ..scoring.reference import read_reference
    from .validate import public_datasets

    reference = read_reference(reference_dir, phase_suffix=phase_suffix)
    truth = {d.key: d.map_shape for d in reference.datasets}
    public = set(found)
    if set(truth) != public:
        only_ref = ", ".join(f"{i}_{k}" for i, k in sorted(set(truth) - public)) or "none"
        only_pub = ", ".join(f"{i}_{k}" for i, k in sorted(public - set(truth))) or "none"
        raise ValueError(f"reference_dir: {str(reference_dir)!r} is not the reference of {str(phase_dir)!r} "
                         f"(datasets only in the reference: {only_ref}; only in the public phase: {only_pub})")
    for dataset in public_datasets(phase_dir):
        shape = truth[(dataset.instrument, dataset.dataset_id)]
        if shape is not None and tuple(shape) != tuple(dataset.map_shape):
            raise ValueError(f"reference_dir: {str(reference_dir)!r} is not the reference of {str(phase_dir)!r} "
                             f"(dataset {dataset.instrument}_{dataset.dataset_id}: frames {dataset.map_shape[0]}x"
                             f"{dataset.map_shape[1]} in the public phase, {shape[0]}x{shape[1]} in the reference)")


def _score(results, reference_dir, *, compat, phase_suffix, executor, progress, work_dir):
    from ..scoring.batch import score_submissions

    with tempfile.TemporaryDirectory(prefix="exobench-sweep-", dir=work_dir) as tmp:
        folders = [result.write(Path(tmp) / f"set_{i}") for i, result in enumerate(results)]
        return score_submissions(folders, reference_dir, executor=executor, compat=compat,
                                 phase_suffix=phase_suffix, progress=progress)


def _row(grid, values, result, report):
    row = dict(zip(grid, values))
    suffix = f"_{report.suffix}" if report.suffix else ""
    for name in ("F1", "Precision", "Recall", "FalsePositives", "TPR", "FPR", "AUC"):
        row[name] = float(report.scores[f"{name}{suffix}"])
    partial = report.metrics.get("partial_auc")
    row["pAUC"] = None if partial is None or not math.isfinite(partial) else float(partial)
    row.update(TP=int(report.metrics["tp"]), FP=int(report.metrics["fp"]), FN=int(report.metrics["fn"]))
    row["threshold_used"] = float(result.threshold)
    return row


def _versions():
    import dask
    import distributed
    import numpy
    import scipy

    from .. import __version__

    return {"exobench": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "dask": dask.__version__, "distributed": distributed.__version__}


# -- writing ------------------------------------------------------------------------------


def write_sweep(result, output_dir, *, overwrite=False):
    """Write ``sweep.csv``, ``sweep.json`` and ``sweep.png`` into ``output_dir`` (created if needed;
    one that holds files only with ``overwrite``).

    Each file is written atomically (it appears whole or not at all).

    Returns
    -------
    list of pathlib.Path
    """
    from .._atomic import atomic_path, atomic_write, check_new_folder

    output_dir = check_new_folder(output_dir, overwrite=overwrite)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (("sweep.csv", result.csv_text()), ("sweep.json", result.json_text())):
        with atomic_write(output_dir / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        paths.append(output_dir / name)
    with atomic_path(output_dir / "sweep.png") as tmp:
        _plot(result, tmp)
    paths.append(output_dir / "sweep.png")
    return paths


def _plot(result, path):
    """F1 and AUC against each swept parameter, one panel each (every run a dot, the best per value a line)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    keys = list(result.grid)
    figure = Figure(figsize=(4.0 * len(keys), 3.4), layout="constrained")
    axes = figure.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        values = result.grid[key]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        position = {json.dumps(v, default=str): (v if numeric else i) for i, v in enumerate(values)}
        for score, color in (("F1", "tab:blue"), ("AUC", "tab:orange")):
            xs = [position[json.dumps(row[key], default=str)] for row in result.rows]
            ys = [row[score] for row in result.rows]
            ax.plot(xs, ys, "o", color=color, alpha=0.4, markersize=4)
            best = [max(y for x, y in zip(xs, ys) if x == p) for p in position.values()]
            ax.plot(list(position.values()), best, "-", color=color, label=f"{score} (best)")
        if not numeric or len(values) <= 12:
            ax.set_xticks(list(position.values()), [str(v) for v in values])
        ax.margins(x=0.1)
        ax.set_xlabel(key)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("score")
    axes[0].legend(loc="best", fontsize=8)
    figure.suptitle(f"exobench sweep: {result.name}", fontsize=10)
    figure.savefig(path, format="png", dpi=100)
