"""The ``exobench`` command line: a thin layer over library calls.

Every command prints its result on stdout; an error prints one line on stderr
(``exobench: error: ...``) and exits with status 1 (2 for usage errors), never
a traceback.
"""

import json
import os
import sys
import warnings

import numpy as np

from . import __version__
from ._cli_options import OneLineParser, first_line, moved_option
from .parallel.cli import add_executor_options, make_executor

__all__ = ["main", "build_parser", "add_executor_options", "make_executor", "OneLineParser", "first_line"]

# ImportError: an optional extra not installed (its message names the pip command)
_EXPECTED_ERRORS = (ValueError, TypeError, OSError, KeyError, ImportError)


def build_parser():
    """The argument parser of ``exobench`` with all its sub-commands."""
    parser = OneLineParser(
        prog="exobench", description="Benchmarking exoplanet detection in high-contrast imaging."
    )
    parser.add_argument("--version", action="version", version=f"exobench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_inspect(commands)
    _add_score(commands)
    _add_validate(commands)
    _add_ingest(commands)
    _add_datasets(commands)
    _add_baseline(commands)
    _add_bundle(commands)
    _add_simulate(commands)
    _add_build(commands)
    _add_sweep(commands)
    from .contrast.cli import add_commands as add_contrast_commands
    from .leaderboard.cli import add_commands as add_leaderboard_commands
    from .report.cli import add_commands as add_report_commands

    add_contrast_commands(commands)
    add_leaderboard_commands(commands)
    add_report_commands(commands)
    _add_demo(commands)
    return parser


def _add_inspect(commands):
    inspect = commands.add_parser(
        "inspect",
        help="summarise the datasets of a folder in the EIDC layout (or the bundled example)",
        description="Summarise every dataset ({instrument}_cube_{k}.fits, ...) of a folder.",
    )
    source = inspect.add_mutually_exclusive_group(required=True)
    source.add_argument("folder", nargs="?", help="folder in the EIDC layout")
    source.add_argument("--example", action="store_true", help="use the bundled synthetic example")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")
    inspect.add_argument("--plot", metavar="PNG", help="also save a picture of each dataset to this file")
    inspect.set_defaults(handler=_run_inspect)


def _run_inspect(args):
    from ._json import json_default

    datasets = _load_for_inspect(args)
    summaries = [dataset.summary() for dataset in datasets]
    if args.json:
        print(json.dumps(summaries, indent=2, default=json_default))
    else:
        for summary in summaries:
            print(_format_summary(summary))
    if args.plot:
        from .report.previews import plot_datasets

        plot_datasets(datasets, args.plot)
        print(f"saved {args.plot}")


def _load_for_inspect(args):
    if args.example:
        from .examples import example_dataset

        return [example_dataset()]
    from .data.fits_io import find_datasets, read_dataset

    found = find_datasets(args.folder)
    if not found:
        raise ValueError(f"folder: no {{instrument}}_cube_{{k}}.fits file in {args.folder}")
    return [read_dataset(args.folder, instrument, dataset_id) for instrument, dataset_id in found]


def _add_score(commands):
    score = commands.add_parser(
        "score",
        help="score one or several submissions (zip or folder) on a phase of the reference tree",
        description="Score submissions as the platform's scoring program does, and print the scores "
        "(with several, one block per submission, headed '== SUBMISSION =='). A refused submission is an "
        "error naming the file and the problem (with several, the others are still scored, then exit 1).",
    )
    score.add_argument("submission", nargs="+", metavar="SUBMISSION",
                       help="a submission: a zip archive or a folder of FITS files")
    score.add_argument("reference", metavar="REFERENCE_DIR", help="a phase folder of the reference tree")
    score.add_argument("--compat", choices=["eidc2019", "eidc2022"], default=None,
                       help="eidc2019 (detection phases): count and score as the 2019 EIDC program did (participant "
                            "FWHM and options honoured); eidc2022 (characterisation phases): the 2022 leaderboard's "
                            "two numbers, astrometry and spectrophotometry")
    score.add_argument("--phase-suffix", metavar="SUFFIX", default=None,
                       help="score-name suffix (3d, 4d) when REFERENCE_DIR has no phase.json (default 3d)")
    score.add_argument("--json", action="store_true", help="print the scores.json content instead of key: value lines")
    score.add_argument("--output", metavar="DIR",
                       help="also write scores.txt, scores.json and the detailed results to this folder "
                       "(with several submissions, to one subfolder per submission, named after it)")
    score.add_argument("--quiet", action="store_true", help="no progress bar (shown with several submissions)")
    add_executor_options(score)
    score.set_defaults(handler=_run_score)


def _run_score(args):
    from .scoring.batch import score_submissions
    from .scoring.program_output import scores_json, scores_text

    several = len(args.submission) > 1
    with make_executor(args) as executor:
        reports = score_submissions(args.submission, args.reference, executor=executor, compat=args.compat,
                                    phase_suffix=args.phase_suffix, refused="return" if several else "raise",
                                    progress=several and not args.quiet)
    if several:
        _print_reports(args, reports)
        return
    _report_outputs(reports[0], output=args.output)
    print(scores_json(reports[0]) if args.json else scores_text(reports[0]), end="")


def _report_outputs(report, *, output, label=""):
    """Warnings on stderr, and the output files when asked for."""
    from .scoring.program_output import write_outputs

    for note in report.warnings:
        print(f"exobench: warning: {label}{note}", file=sys.stderr)
    if output:
        write_outputs(report, output)


def _print_reports(args, reports):
    from .scoring.program_output import scores_json, scores_text

    folders = _output_names(args.submission)
    refused, collected = 0, {}
    for path, folder, report in zip(args.submission, folders, reports):
        if isinstance(report, Exception):
            refused += 1
            print(f"exobench: error: {path}: {str(report).splitlines()[0]}", file=sys.stderr)
            continue
        if not args.json:
            print(f"== {path} ==")
        _report_outputs(report, output=os.path.join(args.output, folder) if args.output else None,
                        label=f"{path}: ")
        collected[path] = json.loads(scores_json(report))
        if not args.json:
            print(scores_text(report))
    if args.json:
        print(json.dumps(collected, indent=2))
    if refused:
        raise ValueError(f"submission: {refused} of {len(reports)} submissions refused (see above)")


def _output_names(paths):
    """One distinct subfolder name per submission: its file name without ``.zip`` (``-2``, ``-3``... on clashes)."""
    names, seen = [], {}
    for path in paths:
        base = os.path.basename(os.path.normpath(path))
        base = base[:-4] if base.lower().endswith(".zip") else base
        base = base or "submission"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def _add_validate(commands):
    validate = commands.add_parser(
        "validate",
        help="check a submission against a public phase folder, as the scorer's intake would (no truth needed)",
        description="Run the scoring program's intake checks (file names, archive, sizes, map shapes and dtypes, "
        "the threshold) on SUBMISSION against the datasets of PUBLIC_PHASE_DIR; in a characterisation phase (its "
        "folder holds {instrument}_candidates_{k}.fits files) the {instrument}_charac_{k}.fits files: one row per "
        "candidate, x, y and a flux per channel, optional uncertainties. Prints one line per problem "
        "(error:) and per warning (warning:), then the verdict; exits 1 when the scorer would refuse it.",
    )
    validate.add_argument("submission", metavar="SUBMISSION", help="the submission: a .zip archive or a folder")
    validate.add_argument("public_dir", metavar="PUBLIC_PHASE_DIR", help="the phase's public data folder")
    validate.set_defaults(handler=_run_validate)


def _run_validate(args):
    from .workflows.validate import validate_submission

    report = validate_submission(args.submission, args.public_dir)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _add_ingest(commands):
    ingest = commands.add_parser(
        "ingest",
        help="run a code submission (detect.py) on a public phase folder, as a code phase's platform does",
        description="Run the detect(dataset) of CODE_DIR/detect.py on every dataset of PUBLIC_PHASE_DIR, each in "
        "its own process with a time limit, and write the maps and THRESHOLD as a submission zip: what the "
        "platform's ingestion program does in a code phase. A dataset that fails or runs out of time gets no "
        "map (a warning each; scored as an empty map).",
    )
    ingest.add_argument("code", metavar="CODE_DIR", help="the code: a folder (or a .zip) holding detect.py")
    ingest.add_argument("public_dir", metavar="PUBLIC_PHASE_DIR", help="the phase's public data folder")
    ingest.add_argument("-o", "--output", metavar="SUB.zip", required=True, help="the submission zip to write")
    ingest.add_argument("--time-limit", metavar="SECONDS", type=float, default=None,
                        help="seconds per dataset for detect() (default 600)")
    ingest.add_argument("--overwrite", action="store_true", help="replace SUB.zip if it exists")
    ingest.set_defaults(handler=_run_ingest)


def _run_ingest(args):
    from .ingestion import DEFAULT_TIME_LIMIT, ingest

    limit = DEFAULT_TIME_LIMIT if args.time_limit is None else args.time_limit
    report = ingest(args.code, args.public_dir, args.output, time_limit=limit, overwrite=args.overwrite)
    total = len(report.maps) + len(report.failures)
    print(f"wrote {args.output} ({len(report.maps)} of {total} maps, threshold {report.threshold:g})")


def _add_datasets(commands):
    datasets = commands.add_parser(
        "datasets",
        help="public real datasets: list them, or fetch one (checked by SHA-256, cached)",
        description="LIST the registered public real datasets, or FETCH one: its files are taken from "
        "$EXOBENCH_REAL_DATA when they are there with the registered checksums, else downloaded (from the "
        "public source, or $EXOBENCH_DATA_URL) into the cache and checked. Prints the folder holding them.",
    )
    datasets.add_argument("action", choices=["list", "fetch"], help="list, or fetch NAME")
    datasets.add_argument("name", metavar="NAME", nargs="?", help="the dataset to fetch")
    datasets.add_argument("--cache", metavar="DIR", default=None,
                          help="the cache folder (default $EXOBENCH_DATA_CACHE, else the user's cache)")
    datasets.set_defaults(handler=_run_datasets, _parser=datasets)


def _run_datasets(args):
    from .data.registry import fetch_real_dataset, real_datasets

    if args.action == "list":
        for entry in real_datasets():
            size = len(entry.files)
            print(f"{entry.name}: {entry.description} ({size} files; {entry.license}; {entry.notes})")
        return
    if args.name is None:
        args._parser.error("fetch needs NAME (see exobench datasets list)")
    print(fetch_real_dataset(args.name, cache=args.cache))


def _add_baseline(commands):
    baseline = commands.add_parser(
        "baseline",
        help="run a baseline on every dataset of a phase folder and write its submission zip",
        description="Run one baseline (an algorithm, a detection map, one threshold for the phase) on every "
        "dataset of a phase folder in the EIDC layout and write the submission in the EIDC format "
        "({instrument}_detmap_{k}.fits, detection_threshold.fits). S/N maps use the threshold S/N = 5 "
        "unless the parameters' 'threshold' says otherwise.",
    )
    baseline.add_argument("name", metavar="NAME", nargs="?", help="the baseline (see --list)")
    baseline.add_argument("phase_dir", metavar="PHASE_DIR", nargs="?", help="a phase folder in the EIDC layout")
    baseline.add_argument("-o", "--output", metavar="SUBMISSION.zip",
                          help="the submission to write: a .zip archive, or else a new folder")
    baseline.add_argument("--params", metavar="FILE.yaml",
                          help="parameters of the run (defaults: baselines/NAME.yaml, or --show-params)")
    baseline.add_argument("--map", dest="detection_map", metavar="MAP", default=None,
                          help="detection map: snr or stim (the baseline's choices; default: the parameters' "
                          "detection_map, snr)")
    baseline.add_argument("--quiet", action="store_true", help="no progress bar")
    baseline.add_argument("--list", action="store_true", help="list the baselines and exit")
    baseline.add_argument("--overwrite", action="store_true", help="replace SUBMISSION.zip if it exists")
    baseline.add_argument("--show-params", action="store_true",
                          help="print the parameters of the run as YAML (NAME and --params) and exit")
    add_executor_options(baseline)
    baseline.set_defaults(handler=_run_baseline, _parser=baseline)


def _run_baseline(args):
    from . import baselines as baseline
    from .charac.baselines import charac_baselines, get_charac_baseline
    from .submission import check_output

    if args.list:
        rows = baseline.list_baselines()
        rows += [{"name": name, "algorithm": name, "data": "charac 3D/4D", "available": True,
                  "description": get_charac_baseline(name).description()} for name in charac_baselines()]
        _print_baselines(rows)
        return
    if args.name is None:
        args._parser.error("NAME is required (or --list)")
    if args.name in charac_baselines():
        _run_charac_baseline(args)
        return
    if args.show_params:
        params = baseline.resolve_params(args.name, args.params, detection_map=args.detection_map)
        print(baseline.dump_params(params, comments=True), end="")
        return
    if args.phase_dir is None or args.output is None:
        args._parser.error("NAME, PHASE_DIR and -o SUBMISSION.zip are required")
    baseline.resolve_params(args.name, args.params, detection_map=args.detection_map)  # errors first
    baseline.phase_datasets(args.name, args.phase_dir)
    check_output(args.output, overwrite=args.overwrite)
    with make_executor(args) as executor:
        result = baseline.run_baseline(args.name, args.phase_dir, params=args.params,
                                       detection_map=args.detection_map, progress=not args.quiet,
                                       executor=executor)
    path = result.write(args.output, overwrite=args.overwrite)
    print(f"wrote {path} ({len(result.maps)} detection map(s), {result.detection_map} map, "
          f"threshold {result.threshold:g})")


def _run_charac_baseline(args):
    """A characterisation baseline (exobench.charac.baselines): a table per dataset, not a map."""
    from .charac import baselines as charac
    from .submission import check_output

    if args.show_params:
        print(charac.dump_charac_params(charac.charac_params(args.name, args.params)), end="")
        return
    if args.phase_dir is None or args.output is None:
        args._parser.error("NAME, PHASE_DIR and -o SUBMISSION.zip are required")
    if args.detection_map is not None:
        raise ValueError(f"--map: baseline {args.name!r} characterises announced companions; it makes no map")
    charac.charac_params(args.name, args.params)  # errors first
    charac.phase_candidates(args.phase_dir)
    check_output(args.output, overwrite=args.overwrite)
    with make_executor(args) as executor:
        result = charac.run_charac_baseline(args.name, args.phase_dir, params=args.params,
                                            progress=not args.quiet, executor=executor)
    path = result.write(args.output, overwrite=args.overwrite)
    count = sum(len(rows) for rows in result.estimates.values())
    print(f"wrote {path} ({len(result.estimates)} dataset(s), {count} companion(s)"
          f"{', with uncertainties' if result.sigmas else ''})")


def _print_baselines(rows):
    width = max(len(row["name"]) for row in rows)
    algo = max(len(str(row["algorithm"])) for row in rows)
    for row in rows:
        status = "" if row["available"] is True else f" [{row['available']}]"
        print(f"{row['name']:<{width}}  {row['algorithm']:<{algo}}  {row['data']:<13}  "
              f"{row['description']}{status}")


def _add_bundle(commands):
    bundle = commands.add_parser(
        "bundle",
        help="build the competition bundle (Codalab v1.5 or Codabench v2) of a built challenge folder",
        description="Pack a built challenge folder (challenge.yaml, public/phase_N, reference/phase_N, "
        "starting_kit/public_data/; see exobench.platform) and exobench's starting kit (notebook, scripts) into "
        "the zip uploaded to the platform.",
    )
    bundle.add_argument("challenge", metavar="CHALLENGE_DIR", help="the built challenge folder")
    bundle.add_argument("-o", "--output", metavar="BUNDLE.zip", required=True, help="the bundle zip to write")
    bundle.add_argument("--platform", choices=["codalab", "codabench"], default="codalab",
                        help="codalab (v1.5 bundle, default) or codabench (v2 bundle)")
    bundle.add_argument("--overwrite", action="store_true", help="replace BUNDLE.zip if it exists")
    meta = bundle.add_argument_group("competition settings (over challenge.yaml's)")
    meta.add_argument("--title", metavar="TEXT", default=None, help="the competition's title")
    meta.add_argument("--description", metavar="TEXT", default=None, help="one line for the platform's list")
    meta.add_argument("--start", metavar="YYYY-MM-DD", default=None,
                      help="start of phase 1 (default: challenge.yaml's, else today; the phases without "
                      "dates follow, 90 days each)")
    meta.add_argument("--max-submissions", metavar="N", type=int, default=None, help="per participant and phase")
    meta.add_argument("--max-submissions-per-day", metavar="N", type=int, default=None, help="Codabench only")
    meta.add_argument("--time-limit", metavar="SECONDS", type=int, default=None,
                      help="seconds per scoring run (execution_time_limit)")
    bundle.add_argument("--image", metavar="IMAGE", default=None,
                        help="the docker image the platform runs the scoring program in (default: challenge.yaml's "
                        "docker_image, else codalab/codalab-legacy:py39)")
    bundle.set_defaults(handler=_run_bundle)


def _run_bundle(args):
    from .platform import build_bundle

    given = {"name": args.title, "description": args.description, "start": args.start,
             "max_submissions": args.max_submissions, "max_submissions_per_day": args.max_submissions_per_day,
             "execution_time_limit": args.time_limit}
    overrides = {key: value for key, value in given.items() if value is not None}
    result = build_bundle(args.challenge, args.output, platform=args.platform, docker_image=args.image,
                          overrides=overrides, overwrite=args.overwrite)
    phases = ", ".join(f"{p.number} {p.name} ({p.suffix})" for p in result["phases"])
    print(f"wrote {args.output} ({args.platform}; phases {phases}; {len(result['entries'])} entries)")


def _add_simulate(commands):
    simulate = commands.add_parser(
        "simulate",
        help="simulate an ADI (or ADI+mSDI) observation of a star with an instrument profile",
        description="Simulate the star alone (AO residuals, aberrations, coronagraph, field rotation, noise; "
        "optics by hcipy) and write it in the EIDC layout ({instrument}_cube_{k}.fits, _pa_, _psf_, "
        "_pxscale_, _fwhm_, _wls_ for 4D). INSTRUMENT is a shipped profile (see --list) or a profile "
        "YAML file.",
    )
    simulate.add_argument("instrument", metavar="INSTRUMENT", nargs="?", help="profile name or YAML file")
    simulate.add_argument("-o", "--output", metavar="DIR", help="folder to write the dataset into")
    simulate.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    simulate.add_argument("--frames", type=int, metavar="N", help="number of frames (default: the profile's)")
    simulate.add_argument("--size", type=int, metavar="PX", help="frame size in pixels (default: the profile's)")
    simulate.add_argument("--id", dest="dataset_id", default="1", help="dataset number k in file names (default 1)")
    simulate.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                          help="change a profile value, e.g. --set ao.residual_wfe_nm=200 (repeatable)")
    simulate.add_argument("--no-noise", action="store_true", help="expected star signal, without noise")
    simulate.add_argument("--overwrite", action="store_true", help="replace the dataset's existing files")
    simulate.add_argument("--quiet", action="store_true", help="no progress bar")
    simulate.add_argument("--list", action="store_true", help="list the shipped instrument profiles and exit")
    simulate.add_argument("--show-profile", action="store_true", help="print the profile (with --set) as YAML and exit")
    simulate.set_defaults(handler=_run_simulate, _parser=simulate)


def _run_simulate(args):
    from .simulate import available_instruments, load_profile

    if args.list:
        for name in available_instruments():
            print(f"{name:<14}{load_profile(name).description}")
        return
    if args.instrument is None:
        args._parser.error("INSTRUMENT is required (or --list)")
    overrides = dict(_parse_setting(text) for text in args.overrides)
    if args.show_profile:
        import yaml

        profile = load_profile(args.instrument).updated(overrides)
        print(yaml.safe_dump(profile.to_dict(), sort_keys=False), end="")
        return
    if args.output is None:
        args._parser.error("-o DIR is required")
    from .data.fits_io import write_dataset
    from .simulate import simulate

    result = simulate(args.instrument, seed=args.seed, frames=args.frames, frame_size=args.size,
                      overrides=overrides, noise=not args.no_noise, dataset_id=args.dataset_id,
                      progress=not args.quiet)
    files = write_dataset(result.dataset, args.output, overwrite=args.overwrite)
    dataset = result.dataset
    spent = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in result.timings.items())
    print(f"wrote {len(files)} files to {args.output}: {dataset.instrument} #{dataset.dataset_id}, cube "
          f"{'x'.join(map(str, dataset.cube.shape))}, {np.ptp(dataset.angles):.1f} deg of rotation ({spent})")
    if result.saturated_pixels:
        print(f"exobench: warning: {result.saturated_pixels} pixel(s) reached the full well and were clipped",
              file=sys.stderr)


def _add_build(commands):
    build = commands.add_parser(
        "build",
        help="build a challenge (public data, held-out reference, manifest) from a definition",
        description="Build a challenge from its YAML definition (see exobench.builder.definition; "
        "--challenge NAME for a bundled one: default, small and quick, or benchmark, enough companions to rank "
        "methods; --default is --challenge default): load or simulate the sources, calibrate companion fluxes "
        "in S/N, inject them and write OUT/public, OUT/reference, OUT/starting_kit, challenge.yaml and "
        "manifest.json. The folder appears only once complete.",
    )
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("definition", metavar="CHALLENGE.yaml", nargs="?", help="the challenge definition")
    source.add_argument("--challenge", metavar="NAME", default=None,
                        help="a bundled challenge definition by name (default, benchmark)")
    source.add_argument("--default", dest="challenge", action="store_const", const="default",
                        help="the bundled default challenge (as --challenge default)")
    build.add_argument("-o", "--output", metavar="OUT", default=None,
                       help="the challenge folder to create (required unless --check)")
    build.add_argument("--seed", type=int, help="seed of the build (overrides the definition's)")
    build.add_argument("--overwrite", action="store_true", help="replace OUT once the new build is complete")
    build.add_argument("--cache", metavar="DIR", help="keep flux calibrations in DIR across builds")
    build.add_argument("--check", action="store_true",
                       help="only run the build's checks (keys, types, profile overrides, source files and sizes) "
                       "and exit; with -o, OUT is checked too")
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    add_executor_options(build)
    build.set_defaults(handler=_run_build, usage_check=lambda args: _check_build_usage(args, build))


def _check_build_usage(args, parser):
    if args.output is None and not args.check:
        parser.error("the following arguments are required: -o/--output (unless --check)")


def _run_build(args):
    from .builder import build_challenge, load_challenge
    from .builder.build import check_output
    from .builder.definition import bundled_challenge

    challenge = load_challenge(args.definition if args.challenge is None else bundled_challenge(args.challenge))
    if args.seed is not None:
        challenge = challenge.with_seed(args.seed)
    if args.check:
        if args.output is not None:
            check_output(args.output, overwrite=args.overwrite)
        sources = sum(len(p.sources) for p in challenge.phases)
        print(f"{challenge.name}: valid ({len(challenge.phases)} phase(s), {sources} source(s), seed {challenge.seed})")
        return
    options = {"overwrite": args.overwrite, "progress": not args.quiet, "cache": args.cache}
    if _takes_executor(build_challenge, args):
        with make_executor(args) as executor:
            result = build_challenge(challenge, args.output, executor=executor, **options)
    else:
        result = build_challenge(challenge, args.output, **options)
    truth = result.truth
    spent = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    print(f"wrote {result.output}: {result.datasets} dataset(s), {len(truth)} companion(s) ({spent})")


def _takes_executor(function, args):
    """Whether ``function`` has an ``executor`` parameter; a warning when not and an executor option was given."""
    import inspect

    if "executor" in inspect.signature(function).parameters:
        return True
    if args.workers or args.scheduler:
        warnings.warn("--workers/--scheduler: this version of the builder runs in-process; the option is ignored")
    return False


def _add_sweep(commands):
    sweep = commands.add_parser(
        "sweep",
        help="run a baseline over a grid of parameters, score each run and tabulate and plot the scores",
        description="Run baseline BASELINE on every dataset of PHASE_DIR for every parameter set of the grid "
        "(the Cartesian product of the lists of GRID.yaml, e.g. 'algorithm.ncomp: [2, 5, 10]'; one task "
        "per parameter set and dataset), score each run against the reference phase with the scoring "
        "program, and write OUT/sweep.csv, OUT/sweep.json and OUT/sweep.png (F1 and AUC against each "
        "parameter).",
    )
    sweep.add_argument("name", metavar="BASELINE", help="the baseline (exobench baseline --list)")
    sweep.add_argument("phase_dir", metavar="PHASE_DIR", help="a public phase folder in the EIDC layout")
    sweep.add_argument("reference", metavar="REFERENCE_DIR",
                       help="the reference phase folder of PHASE_DIR, which the runs are scored against")
    sweep.add_argument("--grid", metavar="GRID.yaml", required=True,
                       help="the grid: dotted parameter names -> lists of values (see baselines/grids/)")
    moved_option(sweep, "--reference", "give REFERENCE_DIR as the last positional argument: "
                 "exobench sweep BASELINE PHASE_DIR REFERENCE_DIR --grid GRID.yaml -o OUT_DIR")
    sweep.add_argument("-o", "--output", metavar="OUT_DIR", required=True, help="folder of the sweep's files")
    sweep.add_argument("--params", metavar="FILE.yaml", help="parameters the grid starts from (default: the baseline's)")
    sweep.add_argument("--compat", choices=["eidc2019"], default=None, help="score as the 2019 EIDC program did")
    sweep.add_argument("--work-dir", metavar="DIR", default=None,
                       help="where the submissions to score are written (default: the system's temporary folder; "
                       "on a cluster, a folder every worker sees)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--overwrite", action="store_true", help="write into OUT_DIR even if it holds files")
    add_executor_options(sweep)
    sweep.set_defaults(handler=_run_sweep)


def _run_sweep(args):
    from .baselines import phase_datasets
    from .workflows.sweep import check_reference_matches, load_grid, run_sweep, write_sweep

    from ._atomic import check_new_folder

    load_grid(args.grid, args.name, params=args.params)  # errors before any cluster starts
    check_reference_matches(args.reference, args.phase_dir, phase_datasets(args.name, args.phase_dir))
    check_new_folder(args.output, overwrite=args.overwrite)
    with make_executor(args) as executor:
        result = run_sweep(args.name, args.phase_dir, args.grid, args.reference, params=args.params,
                           compat=args.compat, executor=executor, progress=not args.quiet, work_dir=args.work_dir)
    paths = write_sweep(result, args.output, overwrite=args.overwrite)
    print(result.table_text(), end="")
    print(f"wrote {', '.join(str(p) for p in paths)}")


def _add_demo(commands):
    demo = commands.add_parser(
        "demo",
        help="the whole chain on the default challenge: build, baselines, scores, leaderboard, report",
        description="Build the default challenge (simulated instruments, and the real NACO cube when "
        "$EXOBENCH_REAL_DATA or ../shared/data/real holds it), run every classical baseline on every "
        "phase, score them into the local leaderboard, write the HTML report, print the ranking.",
    )
    demo.add_argument("-o", "--output", metavar="DIR", default="exobench-demo",
                      help="folder of the demo (default ./exobench-demo; rebuilt if it exists)")
    demo.add_argument("--real-data", metavar="DIR", help="folder holding the real NACO cube (optional)")
    demo.add_argument("--cnn", action="store_true", help="also run the CNN baseline (minutes per dataset on a CPU)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(handler=_run_demo)


def _run_demo(args):
    from .workflows.demo import run_demo

    result = run_demo(args.output, real_data=args.real_data, cnn=args.cnn, progress=not args.quiet)
    for number, reason in result.skipped.items():
        print(f"phase {number}: skipped ({reason})")
    print(result.ranking_text, end="" if result.ranking_text.endswith("\n") else "\n")
    print(f"report: {result.report}")


def _parse_setting(text):
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set: expected SECTION.KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise ValueError(f"--set {key}: cannot read the value {value!r}") from None


def _format_summary(summary):
    width = max(len(key) for key in summary)
    lines = [f"{summary['instrument']} #{summary['dataset_id']}"]
    for key, value in summary.items():
        if key in ("instrument", "dataset_id"):
            continue
        lines.append(f"  {key:<{width}}  {_format_value(value)}")
    return "\n".join(lines)


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple) and value and all(isinstance(v, float) for v in value):
        return "(" + ", ".join(f"{v:.6g}" for v in value) + ")"
    return str(value)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings on the command line: one line each, no source line."""
    print(f"exobench: warning: {message}", file=sys.stderr)


def _expected_errors():
    from .parallel import ExecutionError

    return _EXPECTED_ERRORS + (ExecutionError,)


def _silence_stdout():
    """Point stdout at /dev/null: the reader of a pipe left (``| head``); nothing more to say."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "usage_check", None):
        args.usage_check(args)  # what argparse cannot say: options required only without another
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            status = args.handler(args)
            sys.stdout.flush()  # a closed pipe (| head) shows here, not at the interpreter's exit
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except _expected_errors() as exc:
        message = first_line(exc)
        if isinstance(exc, FileNotFoundError) and exc.filename and exc.filename not in message:
            message = f"{message}: {exc.filename}"
        print(f"exobench: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("exobench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, with a way to get the traceback
        if os.environ.get("EXOBENCH_DEBUG"):
            raise
        print(f"exobench: internal error: {type(exc).__name__}: {exc} "
              "(set EXOBENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0 if status is None else status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
