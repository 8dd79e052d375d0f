"""Reading a submission's files against a phase's reference.

- maps: 2D (leading axes of length 1 are dropped), of the dataset's frame shape
  when the reference knows it, else at least ``min_map_side`` and at most
  ``max_map_side`` pixels a side;
- values: NaN is no detection (stored as ``-inf``); ``+inf`` is a detection at
  every threshold and ``-inf`` at none, as the rule "strictly above the
  threshold" says for any finite threshold;
- ``detection_threshold.fits`` must hold exactly one finite number;
- option files must hold one finite number in their range (``npix`` a whole number
  >= 1, ``overlap_threshold`` in (0, 1], ``max_blob_fact`` > 0, FWHM > 0);
- a missing map is not an error (partial submissions are allowed): it is scored
  as an empty map, every injection of its dataset a false negative, with a warning.

Files of other names are ignored with a warning.
"""

import dataclasses
import math


import numpy as np

from .fits import read_bounded_fits, read_bounded_scalar
from .archive import list_submission_files
from .limits import DEFAULT_LIMITS, SubmissionError
from .names import DETMAP_NAME, FWHM_NAME, OPTION_FILES, THRESHOLD_FILE, detmap_file_name, fwhm_file_name

__all__ = ["Submission", "read_submission", "check_submission"]


@dataclasses.dataclass(frozen=True, eq=False)
class Submission:
    """A validated submission of one phase.

    Attributes
    ----------
    threshold : float
        The detection threshold (finite).
    detmaps : dict
        ``(instrument, dataset_id) -> 2D float64 array`` for every dataset of the
        reference, NaN replaced by ``-inf``; a missing map is an empty map (all
        ``-inf``) listed in ``missing``.
    missing : tuple of (str, str)
        Datasets without a map.
    fwhms : dict
        The participant's FWHM per dataset, when given (used only with ``compat="eidc2019"``).
    options : dict
        Counting options the participant gave (``npix``, ``overlap_threshold``,
        ``max_blob_fact``).
    files : dict
        ``name -> path`` of the files read.
    warnings : tuple of str
    """

    threshold: float
    detmaps: dict
    missing: tuple
    fwhms: dict
    options: dict
    files: dict
    warnings: tuple


def read_submission(folder, reference, *, compat=None, limits=DEFAULT_LIMITS):
    """Validate and read the files of a submission folder against a reference phase.

    Parameters
    ----------
    folder : str or path-like
        A folder of submission files (see :func:`open_submission` for zips).
    reference : exobench.scoring.reference.Reference
        The phase: its datasets and, where known, their frame shapes.
    compat : None or "eidc2019"
        Only changes which warnings are given about the FWHM and option files
        (they are read and validated in both modes).
    limits : Limits

    Returns
    -------
    Submission

    Raises
    ------
    SubmissionError
    """
    files = list_submission_files(folder, limits=limits)
    warnings = []
    threshold = _read_threshold(files, limits)
    wanted = {(d.instrument, d.dataset_id): d for d in reference.datasets}
    maps, fwhms, options, used, ignored, nan_counts = _read_files(files, wanted, limits, warnings)
    warnings.extend(_file_warnings(ignored, nan_counts, wanted))
    if not maps:
        expected = ", ".join(sorted(f"{i}_detmap_{k}.fits" for i, k in wanted)[:4])
        archives = [n for n in ignored if n.lower().endswith(".zip")]
        hint = (f"; found {archives[0]!r}: zip the FITS files themselves, not an archive of archives"
                if archives else "")
        raise SubmissionError(f"submission: no detection map of this phase found (expected names such as "
                              f"{expected}){hint}; nothing to score")
    missing = tuple(key for key in wanted if key not in maps)
    for key in missing:
        shape = _empty_shape(wanted[key], key, maps)
        maps[key] = np.full(shape, -np.inf)
        warnings.append(f"{key[0]}_detmap_{key[1]}.fits: missing; scored as an empty map "
                        f"(its {wanted[key].n_injections} injection(s) count as false negatives)")
    if compat != "eidc2019":
        if fwhms:
            warnings.append("participant FWHM files ignored: the reference FWHM is used (they count only "
                            "with compat='eidc')")
        if options:
            listed = ", ".join(sorted(options))
            warnings.append(f"participant counting options ignored ({listed}): the phase's options are used "
                            f"(they count only with compat='eidc')")
    ordered = {key: maps[key] for key in wanted}
    return Submission(threshold=threshold, detmaps=ordered, missing=missing, fwhms=fwhms, options=options,
                      files={name: files[name] for name in sorted(used)}, warnings=tuple(warnings))


def check_submission(folder, datasets, *, limits=DEFAULT_LIMITS):
    """Every problem the scorer's intake finds in a submission folder, without the truth.

    The same checks as :func:`read_submission` (names, sizes, shapes, dtypes, the
    threshold), but each file's problem is collected instead of stopping at the first.

    Parameters
    ----------
    folder : str or path-like
        A folder of submission files (see :func:`open_submission` for zips).
    datasets : sequence
        The phase's datasets: objects with ``instrument``, ``dataset_id`` and
        ``map_shape`` (the frame shape, or None).
    limits : Limits

    Returns
    -------
    problems, warnings : list of str
        One line each; the scorer refuses a submission with any problem.
    """
    try:
        files = list_submission_files(folder, limits=limits)
    except SubmissionError as exc:
        return [str(exc)], []
    problems, warnings = [], []
    try:
        _read_threshold(files, limits)
    except SubmissionError as exc:
        problems.append(str(exc))
    wanted = {(d.instrument, d.dataset_id): d for d in datasets}
    maps, _, _, _, ignored, nan_counts = _read_files(files, wanted, limits, warnings, problems)
    warnings.extend(_file_warnings(ignored, nan_counts, wanted))
    read = set(maps) | {key for key in wanted if any(line.startswith(detmap_file_name(*key)) for line in problems)}
    if not read:
        problems.append("submission: no detection map of this phase found (expected names such as "
                        f"{', '.join(sorted(detmap_file_name(*key) for key in wanted)[:4])})")
    for key in wanted:
        if key not in read:
            warnings.append(f"{detmap_file_name(*key)}: missing; the scorer counts it as an empty map")
    return problems, warnings


def _file_warnings(ignored, nan_counts, wanted):
    """The warnings about NaN values and about files the format does not name."""
    out = []
    if nan_counts:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(nan_counts.items()))
        out.append(f"NaN values, counted as no detection: {listed}")
    if ignored:
        shown = ", ".join(repr(n) + _case_hint(n, {}, expected=_expected_names(wanted)) for n in ignored[:10])
        more = f" and {len(ignored) - 10} more" if len(ignored) > 10 else ""
        out.append(f"ignored files not part of the submission format: {shown}{more}")
    return out


def _read_threshold(files, limits):
    if THRESHOLD_FILE not in files:
        hint = _case_hint(THRESHOLD_FILE, files)
        raise SubmissionError(f"{THRESHOLD_FILE}: missing; a submission needs one detection threshold{hint}")
    threshold = read_bounded_scalar(files[THRESHOLD_FILE], name=THRESHOLD_FILE, limits=limits)
    if not math.isfinite(threshold):
        raise SubmissionError(f"{THRESHOLD_FILE}: expected a finite number, got {threshold!r}")
    return threshold


def _read_files(files, wanted, limits, warnings, problems=None):
    """The maps, FWHM and option files among ``files``; a file's problem raises, or goes to ``problems``."""
    maps, fwhms, options, used, ignored, nan_counts = {}, {}, {}, {THRESHOLD_FILE}, [], {}
    for name, path in files.items():
        if name in used:
            continue
        try:
            _read_one(name, path, wanted, limits, warnings, (maps, fwhms, options, used, ignored, nan_counts))
        except SubmissionError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
    return maps, fwhms, options, used, ignored, nan_counts


def _read_one(name, path, wanted, limits, warnings, found):
    maps, fwhms, options, used, ignored, nan_counts = found
    detmap, fwhm = DETMAP_NAME.match(name), FWHM_NAME.match(name)
    if detmap or fwhm:
        key = ((detmap or fwhm)["instrument"], (detmap or fwhm)["k"])
        if key not in wanted:
            warnings.append(f"{name}: no dataset {key[0]} {key[1]} in this phase; ignored")
            return
        if detmap:
            maps[key] = _read_map(path, name, wanted[key].map_shape, limits, warnings, nan_counts)
        else:
            fwhms[key] = _read_option(path, name, "fwhm", limits)
        used.add(name)
    elif name in OPTION_FILES:
        options[OPTION_FILES[name]] = _read_option(path, name, OPTION_FILES[name], limits)
        used.add(name)
    else:
        ignored.append(name)


def _expected_names(wanted):
    names = {THRESHOLD_FILE, *OPTION_FILES}
    for instrument, k in wanted:
        names.update({detmap_file_name(instrument, k), fwhm_file_name(instrument, k)})
    return names


def _case_hint(name, files, *, expected=()):
    """`` (did you mean ...?)`` when a name differs from an expected one only in case."""
    pool = list(files) if files else list(expected)
    for other in pool:
        if other != name and other.lower() == name.lower():
            return f" (did you mean {other!r}? names are case-sensitive)"
    return ""


def _empty_shape(dataset, key, maps):
    """Shape of the empty map standing for a missing one."""
    if dataset.map_shape is not None:
        return tuple(dataset.map_shape)
    same = [m.shape for (instrument, _), m in maps.items() if instrument == key[0]]
    ny, nx = same[0] if same else next(iter(maps.values())).shape
    if dataset.n_injections:  # large enough to hold every injection
        x_max, y_max = np.max(dataset.positions, axis=0)
        ny, nx = max(ny, int(math.ceil(y_max + 0.5)) + 1), max(nx, int(math.ceil(x_max + 0.5)) + 1)
    return (ny, nx)


def _read_map(path, name, expected_shape, limits, warnings, nan_counts):
    data = read_bounded_fits(path, name=name, limits=limits, max_values=limits.max_map_pixels)
    shape = data.shape
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise SubmissionError(f"{name}: expected a 2D detection map, got an array of shape {shape}")
    if data.ndim != len(shape):
        warnings.append(f"{name}: array of shape {shape} read as a 2D map of shape {data.shape}")
    if expected_shape is not None:
        if tuple(data.shape) != tuple(expected_shape):
            raise SubmissionError(f"{name}: expected a map of shape {tuple(expected_shape)} (the dataset's "
                                  f"frame), got {data.shape}")
    else:
        ny, nx = data.shape
        if min(ny, nx) < limits.min_map_side or max(ny, nx) > limits.max_map_side:
            raise SubmissionError(f"{name}: map of shape {data.shape}; expected sides of "
                                  f"{limits.min_map_side} to {limits.max_map_side} pixels")
    nan = np.isnan(data)
    n_nan = int(np.count_nonzero(nan))
    if n_nan:
        data = np.where(nan, -np.inf, data)
        nan_counts[name] = n_nan
    return np.ascontiguousarray(data, dtype=np.float64)


_OPTION_RULES = {
    "npix": ("a whole number >= 1", lambda v: v >= 1 and v == round(v) and v <= 1e6),
    "overlap_threshold": ("a number in (0, 1]", lambda v: 0.0 < v <= 1.0),
    "max_blob_fact": ("a number > 0", lambda v: v > 0),
    "fwhm": ("a number of pixels > 0", lambda v: 0 < v < 1e4),
}


def _read_option(path, name, option, limits):
    value = read_bounded_scalar(path, name=name, limits=limits)
    expected, rule = _OPTION_RULES[option]
    if not math.isfinite(value) or not rule(value):
        raise SubmissionError(f"{name}: expected {expected}, got {value!r}")
    return int(round(value)) if option == "npix" else value
