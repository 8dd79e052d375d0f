"""The platform programs, laid out self-contained: an entry point and the exobench modules it imports.

Two programs (``program=``): the scoring program (``scoring_program/score.py``, every
phase) and the ingestion program of code phases (``ingestion_program/ingest.py``,
:mod:`exobench.ingestion.program`). Each runs on the platforms' worker images with numpy,
scipy and astropy only: :func:`vendor_program` copies the program's folder and, under
``exobench/``, exactly the modules its root module imports (found by following its
imports, deferred ones included). The ingestion program also carries
``exobench/ingestion/child.py``, which its children run by path with the image's own,
complete exobench (the participant's code needs it), and its ``metadata`` (Codalab v1.5)
and ``metadata.yaml`` (Codabench) are written with the phase's time limit
(:func:`ingestion_metadata`).
"""

import ast
import dataclasses
import shutil
from pathlib import Path

__all__ = ["PROGRAMS", "PROGRAM_FILES", "program_source_folder", "vendored_modules", "vendor_program",
           "ingestion_metadata"]

#: Files of ``scoring_program/`` copied by :func:`vendor_program`.
PROGRAM_FILES = ("score.py", "metadata", "metadata.yaml", "README.md")


@dataclasses.dataclass(frozen=True)
class _Program:
    folder: str
    entry: str
    files: tuple
    root: str
    extra: tuple = ()


#: The platform programs: their folder in the bundle, the entry point, the files copied, the root module,
#: extra sources. Their files are package data (``exobench/platform/programs/NAME/``, which the
#: repository's ``scoring_program/`` and ``ingestion_program/`` link to), so that a bundle can be made
#: from any installation.
PROGRAMS = {
    "scoring": _Program("scoring_program", "score.py", PROGRAM_FILES, "exobench.scoring.program"),
    "ingestion": _Program("ingestion_program", "ingest.py", ("ingest.py", "README.md"), "exobench.ingestion.program",
                          ("exobench/ingestion/child.py",)),
}

_PROGRAMS_FOLDER = Path(__file__).resolve().parent / "programs"


def _program(program):
    if program not in PROGRAMS:
        raise ValueError(f"program: expected one of {', '.join(PROGRAMS)}, got {program!r}")
    return PROGRAMS[program]


def program_source_folder(program="scoring"):
    """The folder of the program's own files, installed with the package (``exobench/platform/programs/NAME``)."""
    spec = _program(program)
    folder = _PROGRAMS_FOLDER / program
    if not (folder / spec.entry).is_file():
        raise FileNotFoundError(f"{spec.folder}: {str(folder / spec.entry)!r} not found; the exobench installation "
                                f"is incomplete (reinstall it)")
    return folder


def vendored_modules(program="scoring"):
    """The exobench source files a platform program imports, as paths relative to the package's parent.

    Found by following the ``import`` statements (top-level and deferred) from the
    program's root module (:mod:`exobench.scoring.program`,
    :mod:`exobench.ingestion.program`), with the ``__init__.py`` of every package on
    the way; the standard library and third-party imports are not followed.
    """
    package_parent = Path(__file__).resolve().parents[2]
    seen, todo = set(), [_program(program).root]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_file(package_parent, module)
        if path is None:
            continue
        seen.add(module)
        parts = module.split(".")
        for i in range(1, len(parts)):  # parent packages run their __init__
            todo.append(".".join(parts[:i]))
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            todo.extend(_imported(node, module, is_package, package_parent))
    files = sorted({_module_file(package_parent, m).relative_to(package_parent) for m in seen})
    return files


def _module_file(package_parent, module):
    if module != "exobench" and not module.startswith("exobench."):
        return None
    base = package_parent.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imported(node, module, is_package, package_parent):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    names = [base]
    for alias in node.names:  # "from . import counting": a submodule, maybe
        candidate = f"{base}.{alias.name}"
        if _module_file(package_parent, candidate) is not None:
            names.append(candidate)
    return names


def ingestion_metadata(time_limit=None):
    """``{"metadata": Codalab v1.5's text, "metadata.yaml": Codabench's}`` of the ingestion program.

    Codalab v1.5 substitutes ``$ingestion_program``, ``$input`` (the phase's input data),
    ``$output`` (the scoring program's ``res``) and ``$submission_program`` (the unzipped
    code); Codabench mounts them at ``/app/program``, ``/app/input_data``, ``/app/output``
    and ``/app/ingested_program``. ``time_limit``: seconds per dataset (default
    :data:`~exobench.ingestion.program.DEFAULT_TIME_LIMIT`).
    """
    from ..ingestion.program import DEFAULT_TIME_LIMIT

    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
        raise ValueError(f"time_limit: expected a number of seconds > 0, got {time_limit!r}")
    option = f"--time-limit {limit:g}"
    description = "description: exobench ingestion program (runs the participant's detect.py on each dataset)\n"
    return {
        "metadata": f"command: python $ingestion_program/ingest.py $input $output $ingestion_program "
                    f"$submission_program {option}\n" + description,
        "metadata.yaml": f"command: python3 /app/program/ingest.py /app/input_data /app/output /app/program "
                         f"/app/ingested_program {option}\n" + description,
    }


def vendor_program(dest, *, program="scoring", time_limit=None):
    """Lay out a self-contained platform program in ``dest`` (created, or empty).

    ``dest`` receives the files of the program's folder (``scoring_program/``: ``score.py``,
    ``metadata``, ``metadata.yaml``, ``README.md``; ``ingestion_program/``: ``ingest.py``,
    ``README.md``, and the ``metadata`` and ``metadata.yaml`` of :func:`ingestion_metadata`)
    and, under ``dest/exobench/``, the exobench modules the program imports
    (:func:`vendored_modules`), so that it runs with numpy, scipy and astropy alone. Zip
    ``dest``'s content as the bundle's program.

    Parameters
    ----------
    dest : str or path-like
    program : {"scoring", "ingestion"}
    time_limit : float, optional
        The ingestion program's seconds per dataset (its metadata's ``--time-limit``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    spec = _program(program)
    if time_limit is not None and program != "ingestion":
        raise ValueError("time_limit: only the ingestion program takes one")
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"dest: {str(dest)!r} exists and is not an empty folder")
    source = program_source_folder(program)
    metadata = ingestion_metadata(time_limit) if program == "ingestion" else {}
    package_parent = Path(__file__).resolve().parents[2]
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in spec.files:
        shutil.copyfile(source / name, dest / name)
        written.append(dest / name)
    for name, text in metadata.items():
        (dest / name).write_text(text, encoding="utf-8")
        written.append(dest / name)
    for relative in vendored_modules(program) + [Path(p) for p in spec.extra]:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_parent / relative, target)
        written.append(target)
    return written
