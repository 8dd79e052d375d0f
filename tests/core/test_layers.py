"""The layer rules of docs/architecture.md, checked on the source.

Every module under ``exobench/`` is parsed with :mod:`ast` (nothing is
imported) and every import of an exobench module is collected, those inside
functions included, relative ones resolved. The layer table is read from
docs/architecture.md, so the page and the rule cannot drift apart.

Rules:

- every exobench module, or a package above it, is in the table;
- no module imports a module of a higher layer (the same layer is allowed);
- no module imports another module's private name (``from x import _name``)
  unless ``x`` is itself private (its last dotted component starts with ``_``):
  shared helpers live in private modules or are public.
"""

import ast
import dataclasses
import re
from pathlib import Path

import pytest

__all__ = ["Import", "module_name", "collect_imports", "read_layer_table", "layer_of",
           "unlisted_modules", "upward_imports", "private_imports"]

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "exobench"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: Imports of private names that remain, as ``(importer, imported module, name)``: each
#: is to become a public name or move to a private module, and leave this set (which a
#: test keeps free of entries that no longer occur).
ALLOWED_PRIVATE = set()


@dataclasses.dataclass(frozen=True)
class Import:
    """One import of a package module: who imports what, and which name (None for a module)."""

    importer: str
    module: str
    name: str | None
    line: int


def module_name(path, package_dir):
    """The dotted name of the module at ``path`` (a package's ``__init__.py`` is the package)."""
    parts = list(Path(path).relative_to(Path(package_dir).parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package_dir):
    """``{dotted name: path}`` of every module of the package."""
    return {module_name(path, package_dir): path for path in sorted(Path(package_dir).rglob("*.py"))}


def _resolve(importer, is_package, node):
    """The absolute module name of a ``from ... import`` statement."""
    if not node.level:
        return node.module
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def collect_imports(package_dir):
    """Every import of one of the package's modules, by every module of the package.

    ``from p import x`` where ``p.x`` is a module counts as an import of the
    module ``p.x``; otherwise as the import of the name ``x`` from ``p``.
    """
    package = Path(package_dir).name
    modules = _modules(package_dir)
    found = []
    for importer, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                found += [Import(importer, alias.name, None, node.lineno) for alias in node.names
                          if alias.name.split(".")[0] == package]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(importer, is_package, node)
                if source.split(".")[0] != package:
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in modules:
                        found.append(Import(importer, submodule, None, node.lineno))
                    else:
                        found.append(Import(importer, source, alias.name, node.lineno))
    return found


def read_layer_table(path):
    """``{module: layer}`` from the markdown table with the columns ``layer | module | concern``."""
    layers = {}
    header = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if header[:2] != ["layer", "module"] or set("".join(cells)) <= set("-: "):
            continue
        for module in re.findall(r"`([\w.]+)`", cells[1]):
            layers[module] = int(cells[0])
    return layers


def layer_of(module, layers):
    """The layer of ``module``: its own row, else that of the nearest package above it
    (the top package covers only itself); None when none is listed."""
    parts = module.split(".")
    for stop in range(len(parts), 0, -1):
        candidate = ".".join(parts[:stop])
        if candidate in layers and (stop > 1 or stop == len(parts)):
            return layers[candidate]
    return None


def unlisted_modules(package_dir, layers):
    """The package's modules that neither the table nor a package above them lists."""
    return sorted(m for m in _modules(package_dir) if layer_of(m, layers) is None)


def upward_imports(imports, layers):
    """The imports of a module of a higher layer, as ``(importer, layer, imported, layer)``."""
    upward = set()
    for item in imports:
        low, high = layer_of(item.importer, layers), layer_of(item.module, layers)
        if low is not None and high is not None and high > low:
            upward.add((item.importer, low, item.module, high))
    return sorted(upward)


def private_imports(imports):
    """The imports of a private name from a public module, as ``(importer, module, name)``."""
    return sorted({(item.importer, item.module, item.name) for item in imports
                   if item.name is not None and item.name.startswith("_")
                   and not item.name.startswith("__")
                   and not item.module.rsplit(".", 1)[-1].startswith("_")})


# -- the rules, on exobench ------------------------------------------------------------------


@pytest.fixture(scope="module")
def layers():
    return read_layer_table(ARCHITECTURE)


@pytest.fixture(scope="module")
def imports():
    return collect_imports(PACKAGE)


def test_the_table_is_read(layers):
    assert layers["exobench._validate"] == 0
    assert len(set(layers.values())) > 3


def test_every_module_is_in_the_table(layers):
    assert unlisted_modules(PACKAGE, layers) == []


def test_no_module_imports_a_higher_layer(imports, layers):
    assert upward_imports(imports, layers) == []


def test_no_module_imports_a_private_name_of_a_public_module(imports):
    assert [found for found in private_imports(imports) if found not in ALLOWED_PRIVATE] == []


def test_the_allowlist_holds_only_imports_that_remain(imports):
    assert ALLOWED_PRIVATE <= set(private_imports(imports))


# -- the checker, on a package made to break the rules ---------------------------------------


def _write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_checker_reports_an_upward_and_a_private_import(tmp_path):
    package = tmp_path / "toy"
    _write(package, "__init__.py", "")
    _write(package, "_shared.py", "def _helper():\n    pass\n")
    _write(package, "low/__init__.py", "from .core import value\n")
    _write(package, "low/core.py", "from .._shared import _helper\n\n"
                                   "def value():\n    from ..high import shown  # lazy, upward\n    return shown\n")
    _write(package, "high.py", "from .low import core\nfrom .low.core import _private\nimport toy.low\n\n"
                               "def shown():\n    from . import _shared\n")
    _write(package, "extra.py", "")
    table = tmp_path / "architecture.md"
    table.write_text("| layer | module | concern |\n| --- | --- | --- |\n"
                     "| 0 | `toy`, `toy._shared`, `toy.low` | the base |\n| 1 | `toy.high` | the top |\n",
                     encoding="utf-8")
    layers = read_layer_table(table)
    imports = collect_imports(package)

    assert layers == {"toy": 0, "toy._shared": 0, "toy.low": 0, "toy.high": 1}
    assert unlisted_modules(package, layers) == ["toy.extra"]
    assert upward_imports(imports, layers) == [("toy.low.core", 0, "toy.high", 1)]
    assert private_imports(imports) == [("toy.high", "toy.low.core", "_private")]
    assert ("toy.high", "toy._shared", None) in {(i.importer, i.module, i.name) for i in imports}
    assert ("toy.low", "toy.low.core", "value") in {(i.importer, i.module, i.name) for i in imports}


def test_a_deliberate_upward_import_in_a_copy_of_exobench_fails(tmp_path, layers):
    """The rule on the real tree: a copy of the package with one lazy import of the command line
    added to the geometry (layer 1) is reported, and nothing else is."""
    import shutil

    copy = tmp_path / "exobench"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    coords = copy / "geometry" / "coords.py"
    coords.write_text(coords.read_text(encoding="utf-8")
                      + "\n\ndef _upward():\n    from ..cli import main\n    return main\n", encoding="utf-8")
    upward = upward_imports(collect_imports(copy), layers)
    assert upward == [("exobench.geometry.coords", layers["exobench.geometry"], "exobench.cli", layers["exobench.cli"])]
    assert upward_imports(collect_imports(PACKAGE), layers) == []
