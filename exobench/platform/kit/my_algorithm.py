"""Your algorithm: edit ``detection_map``, then turn it into a submission.

Usage (from the folder that holds this file, or with its path)::

    python my_algorithm.py PHASE_DIR -o submission.zip [--threshold T] [--reference REF_DIR]

``PHASE_DIR`` is a phase folder of the public data in the EIDC layout
(``{instrument}_cube_{k}.fits``, ``_pa_``, ``_psf_``, ``_pxscale_``, ``_fwhm_``, and
``_wls_`` for 4D cubes): ``public_data/phase_N`` beside this file in a challenge's
starting kit, ``public/phase_N`` of a challenge you built. The command runs :func:`detection_map` on every dataset of
the phase and writes ``submission.zip`` in the EIDC format::

    {instrument}_detmap_{k}.fits    one 2D map per dataset, of the frame's shape
    detection_threshold.fits        one number: map values strictly above it are detections

The zip is checked with the scoring program's own submission validation before
the command says it is done. With ``--reference`` (a phase folder of a reference
tree you built yourself, e.g. ``challenge/reference/phase_1``) it is also scored,
exactly as the platform scores it. Errors are one line on stderr (exit status 1;
2 for a wrong command line); ``--traceback`` shows the whole traceback of an error
raised inside your ``detection_map``.

What to edit: :func:`detection_map` (and :data:`THRESHOLD`, the threshold of the
whole phase). The default is full-frame PCA (5 components; a 4D cube channel by
channel, averaged) followed by the exact S/N map of the final frame, thresholded
at S/N 5: the ``pca`` baseline of exobench.
"""

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exobench.cli import OneLineParser, first_line

#: The detection threshold of the whole phase (one number for every map): values strictly
#: above it are detections. For S/N maps, 5 is the usual choice.
THRESHOLD = 5.0
#: Number of principal components of the default algorithm.
NCOMP = 5
#: Name written in the FITS headers of the maps (informative only).
NAME = "my_algorithm"


def detection_map(dataset):
    """The detection map of one dataset: a 2D array of the frame's shape, larger = more likely a companion.

    Parameters
    ----------
    dataset : exobench.data.Dataset
        ``dataset.cube`` is ``(t, y, x)`` (ADI) or ``(lambda, t, y, x)`` (ADI+mSDI),
        the star on pixel ``n // 2`` of each axis; ``dataset.angles`` the derotation
        angles (rotate frame ``i`` counter-clockwise by ``angles[i]`` to align it with
        the sky); ``dataset.psf``, ``dataset.fwhm`` (pixels; one per channel in 4D),
        ``dataset.pxscale``, ``dataset.wavelengths`` (4D), ``dataset.instrument``,
        ``dataset.dataset_id``.

    Returns
    -------
    ndarray, shape ``dataset.frame_shape[-2:]``
        Indexed ``[y, x]``, in the final (derotated, sky) frame. NaN counts as no
        detection (use it where your map is undefined, e.g. near the star).
    """
    from exobench.algorithms import PCA, PerChannelADI
    from exobench.detmap import snr_map

    if dataset.cube.ndim == 4:  # ADI+mSDI: plain ADI on each channel, final frames averaged
        algorithm = PerChannelADI(algorithm="pca", options={"ncomp": NCOMP})
    else:
        algorithm = PCA(ncomp=NCOMP)
    final = algorithm.process(dataset).final
    return snr_map(final, float(np.mean(dataset.fwhm)))


# -- from maps to a submission (no need to edit below) ------------------------------------------


class KitError(Exception):
    """An error reported as one line."""


def detection_maps(phase_dir, function=None, *, progress=None):
    """Run ``function`` (default :func:`detection_map`) on every dataset of a phase folder.

    Returns
    -------
    dict
        ``(instrument, dataset_id) -> 2D float64 map``, checked to have the frame's shape.
    """
    from exobench.data.fits_io import find_datasets, read_dataset

    function = detection_map if function is None else function
    phase_dir = Path(phase_dir)
    if not phase_dir.is_dir():
        raise KitError(f"PHASE_DIR: {str(phase_dir)!r} is not a folder")
    found = find_datasets(phase_dir)
    if not found:
        raise KitError(f"PHASE_DIR: no {{instrument}}_cube_{{k}}.fits file in {str(phase_dir)!r}; give a phase "
                       f"folder of the public data (e.g. challenge/public/phase_1)")
    maps = {}
    for instrument, k in found:
        name = f"{instrument}_cube_{k}.fits"
        start = time.perf_counter()
        try:
            dataset = read_dataset(phase_dir, instrument, k)
        except (OSError, ValueError) as exc:
            raise KitError(f"{name}: cannot read the dataset: {first_line(exc)}") from exc
        try:
            image = function(dataset)
        except Exception as exc:
            raise KitError(f"detection_map failed on dataset {instrument} {k}: {type(exc).__name__}: "
                           f"{first_line(exc)} (--traceback shows where)") from exc
        maps[instrument, k] = _check_map(image, dataset, instrument, k)
        if progress is not None:
            print(f"  {instrument} {k}: map {maps[instrument, k].shape[1]}x{maps[instrument, k].shape[0]} "
                  f"in {time.perf_counter() - start:.1f} s", file=progress)
    return maps


def _check_map(image, dataset, instrument, k):
    where = f"detection_map of dataset {instrument} {k}"
    try:
        image = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise KitError(f"{where}: expected a 2D array of numbers, got {type(image).__name__} "
                       f"({first_line(exc)})") from None
    image = image.reshape(image.shape[-2:]) if image.ndim > 2 and all(n == 1 for n in image.shape[:-2]) else image
    shape = tuple(dataset.frame_shape[-2:])
    if image.ndim != 2:
        raise KitError(f"{where}: expected a 2D array [y, x], got shape {image.shape}")
    if image.shape != shape:
        raise KitError(f"{where}: expected the frame's shape {shape}, got {image.shape}")
    return image


def make_submission(maps, output, threshold=THRESHOLD):
    """Write ``maps`` and the threshold as a submission zip in the EIDC format, and validate it.

    Parameters
    ----------
    maps : dict
        ``(instrument, dataset_id) -> 2D map`` (as :func:`detection_maps` returns).
    output : str or path-like
        The zip to write (replaced if it exists).
    threshold : float
        One finite number for the whole phase.

    Returns
    -------
    pathlib.Path
    """
    from exobench.submission import write_submission

    threshold = _check_threshold(threshold)
    output = Path(output)
    if output.suffix.lower() != ".zip":
        raise KitError(f"--output: expected a .zip path, got {str(output)!r}")
    if not output.parent.is_dir():
        raise KitError(f"--output: folder {str(output.parent)!r} does not exist")
    if output.is_dir():
        raise KitError(f"--output: {str(output)!r} is a folder")
    if not maps:
        raise KitError("maps: no detection map to write")
    maps = {(str(i), str(k)): np.asarray(m, dtype=np.float64) for (i, k), m in maps.items()}
    header = {"BASELINE": (NAME, "exobench baseline"), "DETMAP": ("custom", "detection map")}
    try:
        write_submission(maps, threshold, output, header=header, overwrite=True)
    except OSError as exc:
        raise KitError(f"--output: cannot write {str(output)!r}: {first_line(exc)}") from exc
    validate_submission(output, {key: m.shape for key, m in maps.items()})
    return output


def _check_threshold(threshold):
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise KitError(f"--threshold: expected a number, got {threshold!r}") from None
    if isinstance(threshold, bool) or not math.isfinite(value):
        raise KitError(f"--threshold: expected a finite number, got {threshold!r}")
    return value


def validate_submission(path, shapes):
    """Check a submission with the scoring program's validation (names, shapes, threshold), as the platform will.

    Parameters
    ----------
    path : str or path-like
        The zip (or folder).
    shapes : dict
        ``(instrument, dataset_id) -> (ny, nx)`` of the phase's datasets.

    Returns
    -------
    exobench.submission.Submission
    """
    from exobench.scoring.reference import Reference, ReferenceDataset
    from exobench.submission import SubmissionError, open_submission, read_submission

    phase = Reference(datasets=tuple(ReferenceDataset(i, k, np.zeros((0, 2)), 1.0, tuple(shape))
                                     for (i, k), shape in shapes.items()))
    with tempfile.TemporaryDirectory(prefix="my-algorithm-") as tmp:
        try:
            submission = read_submission(open_submission(path, tmp), phase)
        except SubmissionError as exc:
            raise KitError(f"the submission would be refused: {first_line(exc)}") from exc
    if submission.missing:
        listed = ", ".join(f"{i}_detmap_{k}.fits" for i, k in submission.missing)
        raise KitError(f"the submission lacks {listed}")
    return submission


def score(submission, reference_dir):
    """Score a submission on a reference phase folder as the platform does; returns the ScoreReport."""
    from exobench.scoring.program import score_submission
    from exobench.submission import SubmissionError

    if not Path(reference_dir).is_dir():
        raise KitError(f"--reference: {str(reference_dir)!r} is not a folder")
    try:
        return score_submission(submission, reference_dir)
    except SubmissionError as exc:
        raise KitError(f"submission refused: {first_line(exc)}") from exc
    except (OSError, ValueError) as exc:
        raise KitError(f"--reference: {first_line(exc)}") from exc


def main(argv=None):
    parser = OneLineParser(prog="my_algorithm.py",
                     description="Run detection_map on every dataset of a phase folder and write a submission zip "
                                 "in the EIDC format ({instrument}_detmap_{k}.fits, detection_threshold.fits).")
    parser.add_argument("phase_dir", metavar="PHASE_DIR", help="a phase folder of the public data (EIDC layout)")
    parser.add_argument("-o", "--output", required=True, metavar="SUBMISSION.zip", help="the zip to write")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"detection threshold of the phase (default {THRESHOLD:g})")
    parser.add_argument("--reference", metavar="REF_DIR",
                        help="also score the submission on this reference phase folder (a challenge you built)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    args = parser.parse_args(argv)
    progress = None if args.quiet else sys.stderr
    try:
        threshold = _check_threshold(args.threshold)
        output = Path(args.output)
        if output.suffix.lower() != ".zip":
            raise KitError(f"--output: expected a .zip path, got {str(output)!r}")
        if not output.parent.is_dir():
            raise KitError(f"--output: folder {str(output.parent)!r} does not exist")
        if args.reference is not None and not Path(args.reference).is_dir():
            raise KitError(f"--reference: {str(args.reference)!r} is not a folder")
        maps = detection_maps(args.phase_dir, progress=progress)
        make_submission(maps, output, threshold)
        print(f"wrote {output} ({len(maps)} detection map(s), threshold {threshold:g})")
        if args.reference is not None:
            from exobench.scoring.program_output import scores_text

            report = score(output, args.reference)
            for note in report.warnings:
                print(f"warning: {note}", file=sys.stderr)
            sys.stdout.write(scores_text(report))
    except KitError as exc:
        if args.traceback:
            raise
        print(f"my_algorithm.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
