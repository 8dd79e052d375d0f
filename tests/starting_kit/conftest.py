"""Fixtures of the starting kit's tests: the default challenge, built once, and the kit's modules."""

import importlib.util
import sys
from pathlib import Path

import pytest

from exobench.platform.competition import PACKAGE_KIT as KIT

#: The repository's starting_kit/: the generic README and links to the package's kit files.
REPOSITORY_KIT = Path(__file__).resolve().parents[2] / "starting_kit"
#: The kit's files, package data (the README of a bundle's kit is written for its challenge).
KIT_FILES = ("starting_kit.ipynb", "my_algorithm.py", "make_sample_submission.py")


def load_kit_module(name, folder=KIT):
    """Import ``{folder}/{name}.py`` afresh (default: the kit's), without writing ``__pycache__`` into the kit."""
    spec = importlib.util.spec_from_file_location(f"kit_{name}", Path(folder) / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


@pytest.fixture(scope="package")
def challenge(tmp_path_factory):
    """The default challenge (public data and reference), built once for the kit's tests (about 10 s)."""
    pytest.importorskip("hcipy", reason="the default challenge simulates its instruments "
                                        "(a dependency of exobench: pip install hcipy)")
    from exobench.builder import build_challenge
    from exobench.builder.definition import DEFAULT_CHALLENGE

    out = tmp_path_factory.mktemp("kit") / "challenge"
    build_challenge(DEFAULT_CHALLENGE, out)
    return out


@pytest.fixture(scope="package")
def my_algorithm():
    return load_kit_module("my_algorithm")


@pytest.fixture(scope="package")
def sample_maker():
    return load_kit_module("make_sample_submission")
