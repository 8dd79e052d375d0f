"""Sub-commands ``exobench contrast`` and ``exobench contrast-grid`` (wired by :mod:`exobench.cli`)."""

import os
import sys

import numpy as np

from ..parallel.cli import add_executor_options, make_executor

__all__ = ["add_commands"]


def add_commands(subparsers):
    """Add ``contrast`` and ``contrast-grid`` to the sub-parsers of ``exobench``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned; each command sets ``handler``.
    """
    _add_contrast(subparsers)
    _add_contrast_grid(subparsers)


def _add_contrast(commands):
    contrast = commands.add_parser(
        "contrast",
        help="the contrast curve of a baseline, or of a code submission, on a dataset (injection-recovery)",
        usage="exobench contrast (NAME | --code DIR_OR_ZIP) PHASE_DIR (--dataset INSTRUMENT_K | --submit ENTRY) "
        "[options]",
        description="The contrast curve of baseline NAME's algorithm (or, with --code, of a participant's code: "
        "its detection map as the final frame) on dataset INSTRUMENT_K of PHASE_DIR: "
        "the noise of non-overlapping resolution elements at each separation (Mawet et al. 2014), the "
        "Student-t threshold with n - 1 degrees of freedom at the false-positive fraction (default: the "
        "5-sigma Gaussian equivalent, 2.87e-7), divided by the throughput measured by injecting fake "
        "companions (one task per branch); relative to the star's flux when the dataset has a "
        "{instrument}_starflux_{k}.fits file, else to the PSF file's flux (see docs/contrast.md). With "
        "--submit ENTRY, PHASE_DIR is CHALLENGE/public/phase_N and the curves of every dataset of the phase "
        "(or of those --dataset names) are stored in the challenge's leaderboard with its latest scored "
        "entry named ENTRY (docs/leaderboard.md).",
    )
    contrast.add_argument("target", nargs="+", metavar="NAME PHASE_DIR",
                          help="the baseline (exobench baseline --list) and a phase folder in the EIDC layout; "
                          "with --code, PHASE_DIR alone")
    contrast.add_argument("--code", metavar="DIR_OR_ZIP", default=None,
                          help="a participant's code submission (a folder holding detect.py, or its zip) instead "
                          "of a baseline")
    contrast.add_argument("--dataset", metavar="INSTRUMENT_K", action="append", default=None,
                          help="the dataset: {instrument}_cube_{k}.fits of PHASE_DIR, e.g. naco_1 (one; with "
                          "--submit, any number, default all)")
    contrast.add_argument("--params", metavar="FILE.yaml", help="the baseline's parameters (as exobench baseline)")
    _add_test_options(contrast)
    contrast.add_argument("--json", action="store_true", help="print the curve as JSON instead of a table")
    contrast.add_argument("-o", "--output", metavar="DIR", default=None,
                          help="write DIR/contrast.json and DIR/contrast.png")
    contrast.add_argument("--overwrite", action="store_true", help="write into DIR even if it holds files")
    contrast.add_argument("--submit", metavar="ENTRY", default=None,
                          help="store the curves in the leaderboard with the latest scored entry of this name")
    contrast.add_argument("--db", metavar="URL", default=None,
                          help="with --submit: SQLAlchemy URL or SQLite file of the leaderboard")
    contrast.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_options(contrast)
    contrast.set_defaults(handler=_run_contrast, usage_check=lambda args: _check_contrast_usage(args, contrast))


def _check_contrast_usage(args, parser):
    expected = 1 if args.code is not None else 2
    if len(args.target) != expected:
        parser.error("expected PHASE_DIR alone with --code" if args.code is not None else
                     "expected NAME PHASE_DIR (or --code DIR_OR_ZIP PHASE_DIR)")
    if args.code is not None and args.params is not None:
        parser.error("--params: a code submission takes no parameters (--params goes with a baseline NAME)")
    if args.submit is None:
        if not args.dataset:
            parser.error("the following arguments are required: --dataset (unless --submit)")
        if len(args.dataset) > 1:
            parser.error("--dataset: expected one dataset (several only with --submit)")
        if args.db is not None:
            parser.error("--db goes with --submit")
        return
    for flag, value in (("--fpf", args.fpf), ("--sigma", args.sigma), ("-o", args.output), ("--json", args.json),
                        ("--statistic", None if args.statistic == "t" else args.statistic)):
        if value not in (None, False):
            parser.error(f"{flag}: not with --submit (the leaderboard's curves are at the 5-sigma-equivalent "
                         f"false-positive fraction and live in its database)")


def _run_contrast(args):
    from . import check_contrast_output, contrast_curve, prepare_contrast, resolve_fpf, write_contrast
    from .statistics import check_draws

    if args.submit is not None:
        return _run_contrast_submit(args)
    phase_dir = args.target[-1]
    fpf = resolve_fpf(args.fpf, args.sigma)  # every error before the work
    check_draws(args.draws)
    [dataset_name] = args.dataset
    if args.code is not None:
        from . import code_contrast, parse_dataset_name
        from ..data.fits_io import read_dataset
        from ..ingestion import unpacked_code

        with unpacked_code(args.code):
            pass
        dataset = read_dataset(phase_dir, *parse_dataset_name(dataset_name, phase_dir))
        label = os.path.basename(os.path.normpath(args.code))
    else:
        algorithm, dataset = prepare_contrast(args.target[0], phase_dir, dataset_name, params=args.params)
        label = args.target[0]
    if args.output is not None:
        check_contrast_output(args.output, overwrite=args.overwrite)
    with make_executor(args) as executor:
        if args.code is not None:
            curve = code_contrast(args.code, dataset, fpf=fpf, executor=executor, progress=not args.quiet,
                                  **_test_options(args))
        else:
            curve = contrast_curve(algorithm, dataset, fpf=fpf, executor=executor, progress=not args.quiet,
                                   **_test_options(args))
    paths = []
    if args.output is not None:
        paths = write_contrast(curve, args.output, overwrite=args.overwrite,
                               title=f"{label} on {dataset_name}, relative to the {curve.contrast_unit}")
    print(curve.to_json() if args.json else curve.table_text(), end="")
    if paths:  # on stderr with --json, so that stdout stays one JSON document
        print(f"wrote {', '.join(str(path) for path in paths)}", file=sys.stderr if args.json else sys.stdout)


def _run_contrast_submit(args):
    from . import CODE_PREFIX, LEADERBOARD_SEPARATIONS, contrast_at
    from ..leaderboard import CONTRAST_COLUMNS, add_contrast
    from ..leaderboard.ranking import contrast_cell

    spec = CODE_PREFIX + args.code if args.code is not None else \
        args.target[0] + (f":{args.params}" if args.params else "")
    with make_executor(args) as executor:
        entry, records = add_contrast(args.target[-1], args.submit, spec, datasets=args.dataset, db=args.db,
                                      executor=executor, progress=not args.quiet)
    heading = ", ".join(f"{sep:g}" for sep in LEADERBOARD_SEPARATIONS)
    for record in records:
        values = ", ".join(contrast_cell(v) or "-" for v in contrast_at(record.curve, LEADERBOARD_SEPARATIONS))
        print(f"{record.instrument}_{record.dataset_id}: contrast at {heading} lambda/D: {values} ({record.source})")
    medians = ", ".join(contrast_cell(getattr(entry, key)) or "-" for key in CONTRAST_COLUMNS)
    print(f"stored with entry {entry.id} ({entry.name!r}, phase {entry.phase}): median contrast at {heading} "
          f"lambda/D: {medians}")


def _add_contrast_inputs(parser):
    """What ``contrast-grid`` takes: the baseline, the dataset, the test."""
    parser.add_argument("name", metavar="NAME", help="the baseline (exobench baseline --list)")
    parser.add_argument("phase_dir", metavar="PHASE_DIR", help="a phase folder in the EIDC layout")
    parser.add_argument("--dataset", metavar="INSTRUMENT_K", required=True,
                        help="the dataset: {instrument}_cube_{k}.fits of PHASE_DIR, e.g. naco_1")
    parser.add_argument("--params", metavar="FILE.yaml", help="the baseline's parameters (as exobench baseline)")
    _add_test_options(parser)


def _add_test_options(parser):
    """The false-positive fraction and the test's null law, which ``contrast`` and ``contrast-grid`` share."""
    from . import DEFAULT_DRAWS, STATISTICS

    level = parser.add_mutually_exclusive_group()
    level.add_argument("--fpf", type=float, metavar="F", default=None,
                       help="false-positive fraction (default 2.87e-7, the 5-sigma Gaussian equivalent)")
    level.add_argument("--sigma", type=float, metavar="S", default=None,
                       help="Gaussian significance, converted to its false-positive fraction")
    parser.add_argument("--statistic", choices=STATISTICS, default="t",
                        help="the test's null law: Student's t (Gaussian noise), or a parametric bootstrap under "
                        "Laplacian noise (heavier tails, a higher threshold; docs/contrast.md)")
    parser.add_argument("--draws", type=int, metavar="N", default=DEFAULT_DRAWS,
                        help=f"simulated noise configurations per ring size for laplace-bootstrap (default "
                        f"{DEFAULT_DRAWS})")
    parser.add_argument("--seed", type=int, metavar="N", default=0, help="the bootstrap's seed (default 0)")


def _test_options(args):
    return {"statistic": args.statistic, "draws": args.draws, "random_state": args.seed}


def _add_contrast_grid(commands):
    grid = commands.add_parser(
        "contrast-grid",
        help="true-positive fraction and 50 %% completeness of a baseline over separations x contrasts",
        description="Inject companions into dataset INSTRUMENT_K of PHASE_DIR over a grid of separations "
        "(FWHM) and contrasts, AZIMUTHS per cell (one task each), run baseline NAME's algorithm, and test "
        "each companion against the other apertures of its ring at the false-positive fraction: the "
        "median false-positive fraction and the true-positive fraction per cell, the contrast detected "
        "half of the time per separation, and the contrast curve (docs/contrast.md).",
    )
    _add_contrast_inputs(grid)
    grid.add_argument("--contrasts", metavar="C1,C2,...", default=None,
                      help="the grid's contrasts (default: 10 from a fifth of the curve's deepest value to 5 "
                      "times its shallowest, evenly in log)")
    grid.add_argument("--separations", metavar="S1,S2,...", default=None,
                      help="the grid's separations in FWHM (default: the curve's, 1 FWHM apart)")
    grid.add_argument("--azimuths", type=int, metavar="N", default=6, help="injections per cell (default 6)")
    grid.add_argument("--json", action="store_true", help="print the grid as JSON instead of a table")
    grid.add_argument("-o", "--output", metavar="DIR", default=None, help="write DIR/grid.json and DIR/grid.png")
    grid.add_argument("--overwrite", action="store_true", help="write into DIR even if it holds files")
    grid.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_options(grid)
    grid.set_defaults(handler=_run_contrast_grid)


def _float_list(text, name):
    try:
        values = [float(item) for item in str(text).split(",") if item.strip()]
    except ValueError:
        values = []
    if not values:
        raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}")
    return values


def _run_contrast_grid(args):
    from . import (check_grid_output, contrast_curve, contrast_grid, grid_contrasts, prepare_contrast,
                           resolve_fpf, write_grid)
    from .._validate import check_integer
    from .grid import check_grid_separations
    from .statistics import check_draws, check_statistic

    # every error before the work
    fpf = resolve_fpf(args.fpf, args.sigma)
    check_statistic(args.statistic)
    contrasts = None if args.contrasts is None else _float_list(args.contrasts, "contrasts")
    separations = None if args.separations is None else _float_list(args.separations, "separations")
    check_integer(args.azimuths, "azimuths", minimum=1)
    check_draws(args.draws)
    algorithm, dataset = prepare_contrast(args.name, args.phase_dir, args.dataset, params=args.params)
    if separations is not None:
        check_grid_separations(dataset, separations)
    if args.output is not None:
        check_grid_output(args.output, overwrite=args.overwrite)
    with make_executor(args) as executor:
        curve = contrast_curve(algorithm, dataset, fpf=fpf, executor=executor, progress=not args.quiet,
                               **_test_options(args))
        if contrasts is None:
            kept = curve.contrast[np.isfinite(curve.contrast) & (curve.contrast > 0)]
            if kept.size == 0:
                raise ValueError("contrasts: the curve has no finite contrast to place a grid around; give --contrasts")
            contrasts = grid_contrasts(kept.min() / 5.0, kept.max() * 5.0, 10)
        grid = contrast_grid(algorithm, dataset, contrasts=contrasts, separations=separations,
                             azimuths=args.azimuths, fpf=fpf, executor=executor, progress=not args.quiet,
                             **_test_options(args))
    paths = []
    if args.output is not None:
        paths = write_grid(grid, args.output, curve=curve, overwrite=args.overwrite,
                           title=f"{args.name} on {args.dataset}, relative to the {grid.contrast_unit}")
    print(grid.to_json(curve=curve) if args.json else grid.table_text(), end="")
    if paths:  # on stderr with --json, so that stdout stays one JSON document
        print(f"wrote {', '.join(str(path) for path in paths)}", file=sys.stderr if args.json else sys.stdout)
