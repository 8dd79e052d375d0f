"""The contrast curve of a baseline on one dataset of a phase folder, and its files.

The baseline's algorithm is built from its parameters as the baseline builds it
for its own maps (:meth:`exobench.baselines.Baseline.make_algorithm`), so
``--params FILE`` means the same thing to ``exobench baseline`` and ``exobench
contrast``.
"""

__all__ = ["baseline_contrast", "prepare_contrast", "parse_dataset_name", "check_contrast_output", "write_contrast", "OUTPUT_FILES"]

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
