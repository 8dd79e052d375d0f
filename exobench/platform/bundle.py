"""The competition bundle of a built challenge, for Codalab (v1.5) or Codabench (v2).

``exobench bundle CHALLENGE_DIR -o BUNDLE.zip --platform codalab|codabench`` (and
:func:`build_bundle`) turns a built challenge folder (:func:`~exobench.platform.read_competition`)
into the one zip an organiser uploads to the platform.

The starting kit is exobench's own kit (:data:`~exobench.platform.competition.PACKAGE_KIT`,
package data: ``starting_kit.ipynb``, ``my_algorithm.py``, ``make_sample_submission.py``)
merged with ``CHALLENGE_DIR/starting_kit/`` (the builder's copy of the public data,
``public_data/phase_N/``, which the notebook and the scripts use; its files win on a
name clash), and a ``README.md`` written for the challenge
(:func:`~exobench.platform.pages.starting_kit_readme`) unless the challenge's kit has one. In every folder packed,
hidden files (``.*``), ``__pycache__`` and ``*.pyc`` are skipped and links refused;
the reference folder must be flat (the scoring program reads no sub-folder).

The bundle
----------
Codalab v1.5 (``--platform codalab``)::

    competition.yaml  logo.png
    overview.html  evaluation.html  terms_and_conditions.html  data.html
    scoring_program.zip  reference_data_N.zip  public_data_N.zip  starting_kit.zip
    ingestion_program_N.zip  (code phases only)

Codabench v2 (``--platform codabench``)::

    competition.yaml  logo.png  pages/overview.md  pages/evaluation.md  pages/terms.md  pages/data.md
    scoring_program.zip  reference_data_N.zip  public_data_N.zip  starting_kit.zip
    ingestion_program_N.zip  (code phases only)

- ``scoring_program.zip``: :func:`~exobench.platform.vendor.vendor_program` (``score.py``,
  ``metadata`` for Codalab, ``metadata.yaml`` for Codabench, and the exobench modules it
  imports): it runs with numpy, scipy and astropy only. It and the ingestion programs
  are the only places a file named ``metadata`` appears; one in the public data, the reference or the starting kit
  is refused (Codalab would take a zip holding one for code).
- ``reference_data_N.zip``: the files of ``reference/phase_N`` at the zip's top (the
  workers unzip it as ``input/ref``), with ``phase.json``'s ``suffix`` set to the
  phase's (added when missing); the reference is read with
  :func:`~exobench.scoring.reference.read_reference` before it is packed.
- ``public_data_N.zip``: the files of ``public/phase_N`` at the zip's top (also the
  ``input_data`` of a code phase: what the ingestion program reads).
- ``ingestion_program_N.zip``, for a code phase (``submission: code`` in
  ``challenge.yaml``) only: :func:`~exobench.platform.vendor.vendor_program` with
  ``program="ingestion"`` (``ingest.py``, its ``metadata`` and ``metadata.yaml`` with the
  phase's ``time_limit`` per dataset, the exobench modules it imports). It runs the
  participant's ``detect.py`` on each dataset and writes the submission that the scoring
  program reads as ``res`` (:mod:`exobench.ingestion`); the reference's ``phase.json``
  says ``submission: "code"``, so that the scoring program leaves out the ``metadata``
  file the Codalab worker writes beside the maps. The participant's code needs exobench:
  the image must have it (a warning when the stock image is used).
- ``competition.yaml``: the phases with their data and dates (Codalab: ``start_date`` per phase and the
  competition's ``end_date``, the last phase's end; Codabench: ``start`` and ``end``), and the leaderboards. One
  leaderboard per distinct suffix (``ADI`` and ``ADI+mSDI`` in the EIDC's case, shared
  by phases of the same suffix), whose columns are keyed exactly by
  :func:`~exobench.scoring.program.score_keys` of that suffix, in that order, so that
  every line of ``scores.txt`` / key of ``scores.json`` has its column.
  Both name the image that runs the scoring program (Codalab's
  ``competition_docker_image``, Codabench's ``docker_image``): ``docker_image`` of
  ``challenge.yaml``, or ``docker_image=`` (``exobench bundle --image``), else
  :data:`~exobench.platform.competition.DOCKER_IMAGE` (``codalab/codalab-legacy:py39``,
  Codalab's stock Python 3.9 image with numpy, scipy and astropy; the program runs on
  Python 3.7 and up); dates are written as ISO dates (YAML dates).
- Pages: overview, evaluation (the exact counting and metric definitions, and each
  phase's counting options), terms, data (file layout and conventions); HTML for
  Codalab, markdown for Codabench, from one source.

Every zip (the bundle and the zips inside it) is deterministic: entries sorted by
name, fixed timestamps (1980-01-01) and permissions, so the same challenge gives
the same bytes (:mod:`exobench._zip`). The bundle is written atomically.
"""

import dataclasses
import datetime
import shutil
import tempfile
import warnings
from pathlib import Path

from .. import ExobenchWarning
from .._atomic import check_new_file
from .._zip import write_zip
from ..challenge import read_phase_settings
from ..challenge.layout import PHASE_FILE
from .competition import DOCKER_IMAGE, read_competition
from .competition_yaml import codabench_yaml, codalab_yaml
from .pages import PAGES, logo_png, page_html, page_markdown, starting_kit_readme

__all__ = ["PLATFORMS", "build_bundle", "folder_files"]

PLATFORMS = ("codalab", "codabench")


def folder_files(folder):
    """``{posix relative path: Path}`` of the files under ``folder`` (hidden files and caches skipped)."""
    files = {}
    for path in sorted(Path(folder).rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise ValueError(f"challenge: {str(path)!r} is a link; copy the file instead")
        if path.is_file():
            files[relative.as_posix()] = path
    return files


def _refuse_metadata(files, where):
    for name in files:
        if name.rsplit("/", 1)[-1].lower() == "metadata":
            raise ValueError(f"challenge: {where}: a file named 'metadata' ({name}) would make the platform take "
                             f"the zip for code; rename it")


def _reference_entries(phase, work):
    """The files of the reference zip: reference/phase_N with phase.json's suffix set; checked by reading it."""
    from ..scoring.reference import read_reference

    files = folder_files(phase.reference)
    where = _relative(phase.reference)
    _refuse_metadata(files, where)
    nested = [name for name in files if "/" in name]
    if nested:
        raise ValueError(f"challenge: {where}: sub-folders are not read by the scoring program ({nested[0]})")
    entries = dict(files)
    stored = read_phase_settings(phase.reference / PHASE_FILE)
    settings = dataclasses.replace(stored, suffix=phase.suffix, submission="code" if phase.takes_code
                                   else None if stored.submission == "code" else stored.submission)
    if settings != stored:
        entries[PHASE_FILE] = settings.to_json().encode()
    staged = work / f"ref_{phase.number}"
    staged.mkdir()
    for name, source in entries.items():
        target = staged / name
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
    read_reference(staged)  # fails here, not on the platform
    return entries


def build_bundle(challenge_dir, output, *, platform="codalab", docker_image=None, overrides=None, overwrite=False,
                 today=None):
    """Build the competition bundle of a built challenge folder (layout and content in the module doc).

    Parameters
    ----------
    challenge_dir : str or path-like
    output : str or path-like
        The bundle to write, a ``.zip`` (atomically; its folder must exist).
    platform : {"codalab", "codabench"}
    docker_image : str, optional
        The image the platform runs the scoring program in, over ``challenge.yaml``'s.
    overrides : dict, optional
        ``challenge.yaml`` keys that replace the file's (see
        :func:`~exobench.platform.read_competition`): the command line's ``--title``,
        ``--start``, ``--max-submissions``...
    overwrite : bool
        Replace an existing bundle (refused otherwise, before any work).
    today : datetime.date, optional
        Today's date (default: the system's): phase 1 starts then when no start is
        given, and a phase that has already ended gets an
        :class:`~exobench.ExobenchWarning`, since nobody could submit to it.

    Returns
    -------
    dict
        ``{"path": Path, "platform": str, "phases": [...], "entries": [...]}``.
    """
    if platform not in PLATFORMS:
        raise ValueError(f"platform: expected one of {', '.join(PLATFORMS)}, got {platform!r}")
    output = check_new_file(output, overwrite=overwrite, suffix=".zip")
    overrides = dict(overrides or {})
    if docker_image is not None:
        if not isinstance(docker_image, str) or not docker_image.strip() or any(c.isspace() for c in docker_image):
            raise ValueError(f"docker_image: expected an image name such as 'codalab/codalab-legacy:py39', "
                             f"got {docker_image!r}")
        overrides["docker_image"] = docker_image
    today = today or datetime.date.today()
    competition = read_competition(challenge_dir, overrides=overrides, today=today)
    _warn_ended(competition, today)
    _warn_code_image(competition)
    files = {"reference": {p.number: f"reference_data_{p.number}.zip" for p in competition.phases},
             "public": {p.number: f"public_data_{p.number}.zip" for p in competition.phases},
             "ingestion": {p.number: f"ingestion_program_{p.number}.zip" for p in competition.phases if p.takes_code},
             "starting_kit": "starting_kit.zip"}
    with tempfile.TemporaryDirectory(prefix="exobench-bundle-") as tmp:
        entries = _data_entries(competition, files, Path(tmp))
        entries["logo.png"] = logo_png()
        entries.update(_pages(competition, platform))
        writer = codalab_yaml if platform == "codalab" else codabench_yaml
        entries["competition.yaml"] = writer(competition, files).encode()
        write_zip(output, entries)
    return {"path": output, "platform": platform, "phases": competition.phases, "entries": sorted(entries)}


def _data_entries(competition, files, work):
    """The bundle's inner zips (scoring program, reference and public data, starting kit), written in ``work``."""
    from .vendor import vendor_program

    program = work / "program"
    vendor_program(program)
    entries = {"scoring_program.zip": write_zip(work / "scoring_program.zip", folder_files(program))}
    for phase in competition.phases:
        if phase.takes_code:
            name = files["ingestion"][phase.number]
            folder = work / f"ingestion_{phase.number}"
            vendor_program(folder, program="ingestion", time_limit=phase.time_limit)
            entries[name] = write_zip(work / name, folder_files(folder))
        reference = _reference_entries(phase, work)
        name = files["reference"][phase.number]
        entries[name] = write_zip(work / name, reference)
        public = folder_files(phase.public)
        _refuse_metadata(public, _relative(phase.public))
        if not public:
            raise ValueError(f"challenge: {_relative(phase.public)} holds no file")
        name = files["public"][phase.number]
        entries[name] = write_zip(work / name, public)
    kit = {"README.md": starting_kit_readme(competition).encode()}  # an organiser's own README wins below
    for folder in competition.starting_kit or ():
        kit.update(folder_files(folder))
    _refuse_metadata(kit, "starting_kit")
    entries[files["starting_kit"]] = write_zip(work / files["starting_kit"], kit)
    return entries


def _warn_code_image(competition):
    """A code phase runs the participants' code, which needs exobench: the stock image has none."""
    code = [p.number for p in competition.phases if p.takes_code]
    if code and competition.docker_image == DOCKER_IMAGE:
        warnings.warn(f"phase(s) {', '.join(map(str, code))} take code, run in {competition.docker_image}, which "
                      f"has no exobench: set docker_image (challenge.yaml, exobench bundle --image) to an image "
                      f"with exobench and the participants' dependencies installed", ExobenchWarning, stacklevel=3)


def _warn_ended(competition, today):
    for phase in competition.phases:
        if phase.end < today:
            warnings.warn(f"phase {phase.number} ({phase.name}) ended on {phase.end}, before today ({today}): "
                          f"nobody could submit to it; set the dates in challenge.yaml or with "
                          f"exobench bundle --start", ExobenchWarning, stacklevel=3)


def _relative(folder):
    """``public/phase_N`` or ``reference/phase_N``: a phase folder as messages name it."""
    return f"{folder.parent.name}/{folder.name}"


def _pages(competition, platform):
    pages = {}
    for _, title, builder, codalab, codabench in PAGES:
        blocks = builder(competition)
        if platform == "codalab":
            pages[codalab] = page_html(title, blocks).encode()
        else:
            pages[codabench] = page_markdown(title, blocks).encode()
    return pages
