"""Building a challenge: sources -> injected public data + held-out reference.

``OUT/`` after a build::

    challenge.yaml                 name and phases (what ``exobench bundle`` reads)
    manifest.json                  sha256 of every file, the exact definition, library versions
    public/phase_N/                EIDC layout: {instrument}_cube_{k}.fits, _pa_, _psf_, _pxscale_,
                                   _fwhm_ (and _wls_ in 4D; _starflux_ for sources that declare the
                                   star's flux); nothing that reveals the truth
    reference/phase_N/             {instrument}_positions_{k}.fits ((x, y), N x 2), _fwhm_{k},
                                   phase.json, truth.csv (every companion: separation, angle,
                                   flux, contrast, target and measured S/N)
    starting_kit/public_data/phase_N/   the participants' copy of the public data

A characterisation phase (kind ``charac-adi`` or ``charac-adi+msdi``) adds, per dataset,
the public ``{instrument}_candidates_{k}.fits`` (the companions' (x, y) moved by a
seeded offset of up to half a FWHM: every companion is announced, none located
exactly) and the reference's ``{instrument}_fluxes_{k}.fits`` (N x n_channels: the
true flux of each companion in units of the public PSF file, i.e. the companion is
``flux * psf`` centred on its position in every frame) and, when known,
``{instrument}_pxscale_{k}.fits``.

The build happens in a hidden sibling folder ``.OUT.partial`` and is renamed to
``OUT`` only when complete, so an interrupted build never leaves a challenge
that looks complete. A new build starts over in that folder but keeps its
``cache/`` of flux calibrations (one file per dataset and settings), so that an
interrupted build resumes its most expensive part.

Public files do not tell datasets with companions from those without: the
same files, dtypes, shapes and header cards, no metadata of the source, the
same modification time.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ExobenchWarning, __version__
from .._atomic import atomic_write, atomic_write_fits
from ..data import Dataset
from ..challenge import (ChallengeLayout, PhaseEntry, PhaseSettings, candidates_file_name, fluxes_file_name,
                         get_phase_kind, pxscale_file_name, write_challenge_config, write_phase_settings)
from ..data.fits_io import write_dataset
from .calibration import Calibrator, FluxCalibration
from .definition import load_challenge, source_problem
from .recipe import draw_companions, spectrum_for
from .sources import load_source, prepare

__all__ = ["BuildResult", "build_challenge", "check_output", "characterisation_truth", "FIXED_MTIME",
           "CANDIDATE_OFFSET_FWHM"]

#: Modification time of every file written (2000-01-01): timestamps tell nothing.
FIXED_MTIME = 946684800
TRUTH_COLUMNS = ["phase", "instrument", "dataset_id", "x", "y", "separation_px", "separation_fwhm", "theta_deg",
                 "flux", "contrast", "snr_band", "target_snr", "measured_snr", "grid_flux", "explained_variance"]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What :func:`build_challenge` returns: the output folder, the truth of
    every phase (one row per companion), the time spent by stage (s)."""

    output: Path
    truth: pd.DataFrame
    timings: dict
    datasets: int


def build_challenge(challenge, output, *, overwrite=False, progress=False, cache=None, executor=None):
    """Build a challenge (see the module) from a definition.

    Parameters
    ----------
    challenge : ChallengeDefinition, str or path-like
        A loaded definition or its YAML file.
    output : str or path-like
        The challenge folder to create.
    overwrite : bool
        Replace an existing challenge folder (only once the new one is complete).
    progress : bool
        Show a progress bar over the datasets.
    cache : str or path-like, optional
        A folder keeping flux calibrations across builds (by default they live
        in the partial build folder: kept across interrupted builds, removed
        with it once the build is complete).
    executor : exobench.parallel.Executor, optional
        Runs the datasets (each one task: source, calibration, injection,
        files) in-process (the default), on a local Dask cluster or on a
        scheduler; the challenge is the same, byte for byte, whichever runs it.
        The folders must be on a file system the workers share.

    Returns
    -------
    BuildResult
    """
    from ..parallel import Executor

    if not hasattr(challenge, "phases"):
        challenge = load_challenge(challenge)
    output = check_output(output, overwrite=overwrite)
    partial = output.parent / f".{output.name}.partial"
    _fresh_partial(partial)
    cache = Path(cache).absolute() if cache is not None else partial / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    jobs = _dataset_jobs(challenge)
    own = executor is None
    executor = Executor(workers=0) if own else executor
    try:
        results = executor.map(_build_job, jobs, kwargs={"challenge": challenge, "partial": str(partial),
                                                         "cache": str(cache)},
                               key="build-dataset", progress=progress, desc="build datasets")
    except Exception:
        _abandon_partial(partial)
        raise
    finally:
        if own:
            executor.close()
    timings = {"sources": 0.0, "calibration": 0.0, "injection": 0.0, "writing": 0.0}
    rows = []
    for phase in challenge.phases:
        done = [(job, result) for job, result in zip(jobs, results) if job.phase == phase.number]
        phase_rows = [row for _, result in done for row in result["rows"]]
        shapes = {f"{job.instrument}_{job.dataset_id}": result["shape"] for job, result in done}
        _write_phase_files(partial, phase, phase_rows, shapes)
        rows += phase_rows
    for result in results:
        for stage, seconds in result["timings"].items():
            timings[stage] += seconds
    start = time.perf_counter()
    truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    _write_challenge_files(partial, challenge)
    _copy_starting_kit(partial, challenge)
    _write_manifest(partial, challenge)
    _finish(partial, output, overwrite)
    timings["writing"] += time.perf_counter() - start
    return BuildResult(output=output, truth=truth, timings=timings, datasets=len(jobs))


@dataclasses.dataclass(frozen=True)
class _Job:
    """One dataset of a build: the ``index``-th available source of phase ``phase``."""

    phase: int
    index: int
    instrument: str
    dataset_id: str


def _dataset_jobs(challenge):
    """Every dataset to build, in the published order (numbers per instrument and phase)."""
    jobs = []
    for phase in challenge.phases:
        numbers = {}
        for index, src in enumerate(phase.sources):
            problem = source_problem(src) if src.optional else None  # a required source fails in its task
            if problem is not None:
                warnings.warn(f"{src.label}: {problem}; the source is skipped", ExobenchWarning, stacklevel=3)
                continue
            numbers[src.instrument] = numbers.get(src.instrument, 0) + 1
            jobs.append(_Job(phase.number, index, src.instrument, str(numbers[src.instrument])))
    return jobs


def _build_job(job, *, challenge, partial, cache):
    """Build one dataset (a pure task of :func:`build_challenge`): its source,
    calibration, injection and files. Returns its truth rows, frame shape and timings."""
    phase = next(p for p in challenge.phases if p.number == job.phase)
    src = phase.sources[job.index]
    timings = {"sources": 0.0, "calibration": 0.0, "injection": 0.0, "writing": 0.0}
    # the third seed (the candidates' offsets of a characterisation phase) leaves the first two as they were
    seeds = np.random.SeedSequence([challenge.seed, phase.number, job.index]).spawn(3)
    start = time.perf_counter()
    try:
        raw = load_source(src, seed=int(seeds[0].generate_state(1)[0]))
        dataset = prepare(raw, src, crop_lod=phase.crop_lod)
        _check_dimensions(dataset, phase, src)
        timings["sources"] += time.perf_counter() - start
        rows = _build_dataset(dataset, src, phase, job.dataset_id, challenge, Path(partial), Path(cache),
                              np.random.default_rng(seeds[1]), timings, offsets=np.random.default_rng(seeds[2]))
    except (ValueError, MemoryError) as exc:  # the message names the challenge, the phase and the source
        message = str(exc) or type(exc).__name__
        raise ValueError(message if message.startswith(f"{challenge.name}: ")
                         else f"{challenge.name}: phase {phase.number}: {src.label}: {message}") from exc
    return {"rows": rows, "shape": list(dataset.frame_shape[-2:]), "timings": timings}


def check_output(output, *, overwrite=False):
    """The absolute path of a build's output folder, checked before any work: unless ``overwrite``,
    it does not exist yet (missing parent folders are created by the build).

    Raises
    ------
    FileExistsError
    """
    output = Path(output).absolute()
    if output.exists() and not overwrite:
        raise FileExistsError(f"output: {output} exists; pass overwrite=True (--overwrite) to replace it")
    return output


def _abandon_partial(partial):
    """After a failed build: the unfinished folder goes, unless it holds flux calibrations, which the
    next build of the same definition reuses (then a warning names it)."""
    cache = partial / "cache"
    if cache.is_dir() and any(cache.iterdir()):
        for entry in partial.iterdir():
            if entry.name != "cache":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        warnings.warn(f"{partial}: the failed build's flux calibrations are kept there for the next build "
                      "(remove the folder to drop them)", ExobenchWarning, stacklevel=3)
    else:
        shutil.rmtree(partial, ignore_errors=True)


def _fresh_partial(partial):
    """Start over in ``partial``, keeping only its calibration cache."""
    if partial.exists():
        warnings.warn(f"{partial}: an interrupted build; starting over (calibrations kept)", ExobenchWarning,
                      stacklevel=3)
        for entry in partial.iterdir():
            if entry.name != "cache":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (partial / "cache").mkdir(parents=True, exist_ok=True)


def _check_dimensions(dataset, phase, src):
    if dataset.cube.ndim != phase.ndim:
        raise ValueError(f"{src.label}: a {dataset.cube.ndim}D cube in phase {phase.number} ({phase.kind})")


def _build_dataset(dataset, src, phase, k, challenge, partial, cache, rng, timings, *, offsets=None):
    recipe = phase.injection
    fwhm = float(np.mean(dataset.fwhm))
    start = time.perf_counter()
    companions = draw_companions(recipe, fwhm=fwhm, frame_size=dataset.frame_shape[-1], rng=rng)
    spectra = [spectrum_for(recipe, dataset.wavelengths, rng) for _ in companions] if dataset.cube.ndim == 4 else []
    fluxes, grid, levels, measured = [], [], [], []
    if companions:
        # calibrate with the angles the published dataset carries, so that calibration and
        # measurement see the same residuals
        seen = dataset.replace(angles=-np.asarray(dataset.angles)) if recipe.inverse_angles else dataset
        settings = challenge.calibration
        calibrator = Calibrator(seen, explained_variance=settings.explained_variance)
        relation = _relation(calibrator, seen, recipe, settings, cache, companions)
        grid = [relation.flux_for_snr(c.separation, c.target_snr) for c in companions]
        fluxes, levels, measured, injected, table = _solve_fluxes(calibrator, dataset, companions, spectra,
                                                                  grid, recipe.inverse_angles)
    timings["calibration"] += time.perf_counter() - start
    start = time.perf_counter()
    if not companions:  # the published angles and dtype go through the same path as with companions
        injected, table = _inject(dataset, companions, fluxes, spectra, recipe.inverse_angles)
    timings["injection"] += time.perf_counter() - start
    start = time.perf_counter()
    # a source that declares its star's flux (the PSF file not in cube units) publishes it: the starflux file
    star_flux = dataset.star_flux if dataset.is_given("star_flux") else None
    public = Dataset(np.asarray(injected.cube).astype(np.asarray(dataset.cube).dtype, copy=False), injected.angles,
                     psf=dataset.psf, pxscale=dataset.pxscale, wavelengths=dataset.wavelengths,
                     instrument=src.instrument, dataset_id=k, star_flux=star_flux)
    layout = ChallengeLayout(partial)
    write_dataset(public, layout.public(phase.number))
    reference = layout.reference(phase.number)
    reference.mkdir(parents=True, exist_ok=True)
    positions = table[["x", "y"]].to_numpy(dtype=np.float64).reshape(-1, 2)
    atomic_write_fits(reference / f"{src.instrument}_positions_{k}.fits",
                      positions if len(positions) else _empty_fits())
    atomic_write_fits(reference / f"{src.instrument}_fwhm_{k}.fits", np.array([fwhm]))
    if get_phase_kind(phase.kind).is_characterisation:
        _write_characterisation(layout, phase.number, src.instrument, k, dataset, positions,
                                _per_channel(dataset, fluxes, spectra), offsets)
    timings["writing"] += time.perf_counter() - start
    rows = []
    for c, (_, row), flux, snr_value, grid_flux, level in zip(companions, table.iterrows(), fluxes, measured, grid,
                                                             levels):
        rows.append({"phase": phase.number, "instrument": src.instrument, "dataset_id": k, "x": row.x, "y": row.y,
                     "separation_px": c.separation, "separation_fwhm": c.separation / fwhm, "theta_deg": c.theta,
                     "flux": flux, "contrast": flux / float(np.mean(dataset.star_flux)),
                     "snr_band": f"{c.snr_band[0]:g}-{c.snr_band[1]:g}", "target_snr": c.target_snr,
                     "measured_snr": snr_value, "grid_flux": grid_flux, "explained_variance": level})
    return rows


def _solve_fluxes(calibrator, dataset, companions, spectra, grid, inverse, *, rounds=6, tolerance=0.1):
    """The companions' fluxes at their exact positions, the S/N they measure, and
    the dataset injected with them (and its truth table).

    Starting from the grid's fluxes, up to ``rounds`` times: the companions are
    injected, annular PCA learns its projections from that dataset at every
    explained-variance level (their self-subtraction included, which grows with
    the number of components and with the flux) and their S/N is measured
    there. The first round picks each companion's level, the one of best S/N
    (the EIDC's "best S/N kept"). Unless every S/N is within ``tolerance`` of its
    target, each flux takes a secant step on its measured S/N (the first from
    the S/N at zero flux, the dataset's own at that position).
    """
    separations, thetas = [c.separation for c in companions], [c.theta for c in companions]
    targets = np.array([c.target_snr for c in companions])
    fluxes = np.maximum(np.asarray(grid, dtype=float), 0.0)
    levels = previous = None
    again = calibrator
    placed = _placed(dataset, companions, inverse)  # the PSFs shifted once, for every round
    for round_ in range(rounds):
        injected, table = _inject(dataset, companions, fluxes, spectra, inverse, placed=placed)
        # from the last round's projections: the annuli of companions that kept their flux are reused
        again = Calibrator(injected, explained_variance=calibrator.levels if levels is None else sorted(set(levels)),
                           previous=again)
        if levels is None:
            by_level = {level: again.snr_at(separations, thetas, [level] * len(companions))
                        for level in calibrator.levels}
            levels = [max(calibrator.levels, key=lambda level: by_level[level][j]) for j in range(len(companions))]
            previous = (np.zeros_like(fluxes), calibrator.snr_at(separations, thetas, levels))
        measured = again.snr_at(separations, thetas, levels)
        if np.all(np.abs(measured - targets) <= tolerance) or round_ == rounds - 1:
            break
        f_prev, m_prev = previous
        rise, run = measured - m_prev, fluxes - f_prev
        slope = np.divide(rise, run, out=np.zeros_like(fluxes), where=np.abs(run) > 0)
        # a flat or falling secant (noise at tiny fluxes): double the flux instead
        step = np.where(slope > 0, (targets - measured) / np.where(slope > 0, slope, 1.0),
                        np.where(measured < targets, np.maximum(fluxes, 1e-12), 0.0))
        # companions already on target keep their flux: their annuli keep their projections
        # (and their secant's older point, should a neighbour's change move them off target)
        done = np.abs(measured - targets) <= tolerance
        step = np.where(done, 0.0, step)
        previous = (np.where(done, f_prev, fluxes), np.where(done, m_prev, measured))
        fluxes = np.maximum(fluxes + step, 0.0)
    return fluxes, levels, measured, injected, table


def _empty_fits():
    """A FITS file without data: the positions of a dataset with no companion."""
    from astropy.io import fits

    return fits.HDUList([fits.PrimaryHDU()])


def _relation(calibrator, dataset, recipe, settings, cache, companions):
    """The dataset's flux-to-S/N relation at the separations of its grid that
    bracket its companions, from the cache when it holds them.

    Each grid separation's relation does not depend on which others are
    measured with it, so the cache (one JSON file per dataset and settings)
    keeps them separation by separation and fills in the missing ones.
    """
    separations = calibration_grid(dataset, recipe, settings)
    needed = _bracketing(separations, [c.separation for c in companions])
    path = cache / f"{_cache_key(dataset, settings, separations)}.json"
    known = _read_cached(path)
    missing = [j for j in needed if str(j) not in known]
    if missing:
        fresh = calibrator.relation(separations, azimuths=settings.azimuths, only=missing)
        for row, j in enumerate(missing):
            known[str(j)] = {"fluxes": fresh.fluxes[row].tolist(), "snr": fresh.snr[row].tolist(),
                             "explained_variance": float(fresh.explained_variance[row])}
        with atomic_write(path, "w") as handle:
            handle.write(json.dumps(dict(sorted(known.items(), key=lambda item: int(item[0])))))
    rows = [known[str(j)] for j in needed]
    return FluxCalibration(separations[needed], np.array([r["fluxes"] for r in rows]),
                           np.array([r["snr"] for r in rows]),
                           np.array([r["explained_variance"] for r in rows]))


def calibration_grid(dataset, recipe, settings):
    """The separations (px) of a dataset's flux calibration: every ``step_fwhm``
    from the first separation band's start to the largest separation companions may have."""
    fwhm = float(np.mean(dataset.fwhm))
    first = min(a for a, _ in recipe.separation_bands_fwhm)
    room = (dataset.frame_shape[-1] - 1) / 2 / fwhm - recipe.edge_margin_fwhm
    last = min(recipe.max_separation_fwhm, room)
    separations = np.arange(first, last + settings.step_fwhm, settings.step_fwhm) * fwhm
    return separations[separations <= (dataset.frame_shape[-1] - 1) / 2 - fwhm]


def _bracketing(grid, separations):
    """Indices of the grid points on either side of each separation (sorted, unique)."""
    needed = set()
    for s in separations:
        upper = int(np.clip(np.searchsorted(grid, s), 0, grid.size - 1))
        needed.update({max(upper - 1, 0), upper} if grid[upper] != s else {upper})
    return sorted(needed)


def _read_cached(path):
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # a damaged cache entry is measured again
    return data if isinstance(data, dict) else {}


#: Version of how the relation is measured (2: aperture weights exactly 0 off the circle); caches of
#: another version are not read.
_RELATION_LAYOUT = 2


def _cache_key(dataset, settings, separations):
    digest = hashlib.sha256()
    for array in (dataset.cube, dataset.angles, dataset.psf, np.asarray(dataset.fwhm, dtype=float), separations):
        array = np.ascontiguousarray(array)
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(array.tobytes())
    digest.update(repr(dataclasses.asdict(settings)).encode())
    digest.update(f"layout {_RELATION_LAYOUT}".encode())
    return digest.hexdigest()[:32]


def _placed(dataset, companions, inverse):
    from ..inject import PlacedCompanions

    return PlacedCompanions(dataset, separations=[c.separation for c in companions],
                            thetas=[c.theta for c in companions], inverse_angles=inverse)


def _per_channel(dataset, fluxes, spectra):
    """The injected fluxes (1-FWHM aperture, cube units): ``(n,)`` in 3D, ``(n, n_channels)`` in 4D."""
    per_channel = np.asarray(fluxes, dtype=float)
    if dataset.cube.ndim == 4:
        per_channel = (per_channel[:, None] * np.asarray(spectra) if len(per_channel)
                       else np.zeros((0, dataset.cube.shape[0])))
    return per_channel


def _inject(dataset, companions, fluxes, spectra, inverse, *, placed=None):
    """The dataset with its companions at ``fluxes`` (times their spectra in 4D), and its truth table;
    ``placed``: the companions' :class:`~exobench.inject.PlacedCompanions`, when already made."""
    placed = _placed(dataset, companions, inverse) if placed is None else placed
    result = placed.inject(fluxes=_per_channel(dataset, fluxes, spectra))
    return result.dataset, result.truth


#: Largest offset of an announced position from the truth, in FWHM.
CANDIDATE_OFFSET_FWHM = 0.5


def characterisation_truth(dataset, aperture_fluxes):
    """The companions' fluxes in units of the dataset's PSF file: ``(n, n_channels)``.

    The injection adds ``aperture_flux * normalized_psf``, the PSF scaled to unit flux in
    a 1-FWHM aperture (:func:`exobench.psf.normalize_psf`); the same companion is
    ``flux * psf`` with ``flux = aperture_flux / psf_flux(psf, fwhm)``, per channel.
    """
    from ..psf import psf_flux

    table = np.asarray(aperture_fluxes, dtype=float).reshape(len(aperture_fluxes), -1)
    unit = np.atleast_1d(np.asarray(psf_flux(dataset.psf, dataset.fwhm), dtype=float))
    return table / unit[None, :]


def _write_characterisation(layout, number, instrument, k, dataset, positions, aperture_fluxes, rng):
    """The public candidates (the truth moved by up to half a FWHM, uniform in the disc) and the
    reference fluxes and pixel scale of one dataset of a characterisation phase."""
    fwhm = float(np.mean(dataset.fwhm))
    radius = CANDIDATE_OFFSET_FWHM * fwhm * np.sqrt(rng.uniform(size=len(positions)))
    angle = rng.uniform(0.0, 2 * np.pi, size=len(positions))
    candidates = positions + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    atomic_write_fits(layout.public(number) / candidates_file_name(instrument, k), candidates.astype(np.float64))
    reference = layout.reference(number)
    atomic_write_fits(reference / fluxes_file_name(instrument, k), characterisation_truth(dataset, aperture_fluxes))
    if dataset.pxscale is not None:
        atomic_write_fits(reference / pxscale_file_name(instrument, k), np.array([float(dataset.pxscale)]))


def _write_phase_files(partial, phase, rows, shapes):
    layout = ChallengeLayout(partial)
    layout.reference(phase.number).mkdir(parents=True, exist_ok=True)
    settings = PhaseSettings(suffix=phase.suffix, map_shapes=dict(sorted(shapes.items())))
    write_phase_settings(layout.phase_file(phase.number), settings)
    table = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    with atomic_write(layout.truth_file(phase.number), "w", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.10g")


def _write_challenge_files(partial, challenge):
    """``challenge.yaml``: the name, each phase's name and suffix, and what the definition says for the platforms."""
    platform = challenge.platform
    entries = tuple(dataclasses.replace(platform.phase(p.number) or PhaseEntry(p.number), name=p.name,
                                        suffix=p.suffix) for p in challenge.phases)
    config = dataclasses.replace(platform, name=challenge.name, phases=entries)
    write_challenge_config(ChallengeLayout(partial).challenge_file, config)


def _copy_starting_kit(partial, challenge):
    for phase in challenge.phases:
        layout = ChallengeLayout(partial)
        source, target = layout.public(phase.number), layout.kit_public(phase.number)
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.iterdir()):
            shutil.copyfile(path, target / path.name)


def _versions():
    import astropy
    import scipy

    versions = {"exobench": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
                "astropy": astropy.__version__, "pandas": pd.__version__}
    try:
        import hcipy

        versions["hcipy"] = hcipy.__version__
    except ImportError:
        pass
    return versions


def _write_manifest(partial, challenge):
    files = {}
    for path in sorted(p for p in partial.rglob("*") if p.is_file()):
        relative = path.relative_to(partial).as_posix()
        if relative.startswith("cache/"):
            continue
        files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = {"name": challenge.name, "seed": challenge.seed, "definition": challenge.definition,
                "versions": _versions(), "files": files}
    with atomic_write(ChallengeLayout(partial).manifest_file, "w") as handle:
        handle.write(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def _finish(partial, output, overwrite):
    shutil.rmtree(partial / "cache", ignore_errors=True)
    for path in partial.rglob("*"):
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    if output.exists():
        if not overwrite:  # pragma: no cover - checked at the start; another process made it meanwhile
            raise FileExistsError(f"output: {output} appeared during the build")
        old = output.parent / f".{output.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        output.rename(old)
        partial.rename(output)
        shutil.rmtree(old)
    else:
        partial.rename(output)
