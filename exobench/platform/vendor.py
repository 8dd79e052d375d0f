"""The platform scoring program, laid out self-contained: ``score.py`` and the exobench modules it imports.

The program runs on the platforms' worker images with numpy, scipy and astropy
only: :func:`vendor_program` copies ``scoring_program/`` and, under
``exobench/``, exactly the modules :mod:`exobench.scoring.program` imports
(found by following its imports, deferred ones included).
"""

import ast
import shutil
from pathlib import Path

__all__ = ["PROGRAM_FILES", "program_source_folder", "vendored_modules", "vendor_program"]

#: Files of ``scoring_program/`` copied by :func:`vendor_program`.
PROGRAM_FILES = ("score.py", "metadata", "metadata.yaml", "README.md")

_ROOT_MODULE = "exobench.scoring.program"


def program_source_folder():
    """The ``scoring_program/`` folder beside the package (a source checkout)."""
    folder = Path(__file__).resolve().parents[2] / "scoring_program"
    if not (folder / "score.py").is_file():
        raise FileNotFoundError(f"scoring_program: {str(folder)!r} not found; vendoring needs a source checkout "
                                f"of exobench")
    return folder


def vendored_modules():
    """The exobench source files the scoring program imports, as paths relative to the package's parent.

    Found by following the ``import`` statements (top-level and deferred) from
    :mod:`exobench.scoring.program`, with the ``__init__.py`` of every package on
    the way; the standard library and third-party imports are not followed.
    """
    package_parent = Path(__file__).resolve().parents[2]
    seen, todo = set(), [_ROOT_MODULE]
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


def vendor_program(dest):
    """Lay out a self-contained scoring program in ``dest`` (created, or empty).

    ``dest`` receives the files of ``scoring_program/`` (``score.py``, ``metadata``,
    ``metadata.yaml``, ``README.md``) and, under ``dest/exobench/``, the exobench
    modules the scoring program imports (:func:`vendored_modules`), so that it runs
    with numpy, scipy and astropy alone. Zip ``dest``'s content as the bundle's
    scoring program.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"dest: {str(dest)!r} exists and is not an empty folder")
    source = program_source_folder()
    package_parent = Path(__file__).resolve().parents[2]
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PROGRAM_FILES:
        shutil.copyfile(source / name, dest / name)
        written.append(dest / name)
    for relative in vendored_modules():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package_parent / relative, target)
        written.append(target)
    return written
