"""Project-wide checks: lint, types, import weight, public names, the engine's size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import micrograd

ROOT = Path(__file__).resolve().parent.parent
LINTED = ("src", "tests", "benchmarks", "examples", "notebooks")
BIN = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    """Run a command in the project root and capture its output."""
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check_is_clean() -> None:
    """ruff check finds nothing in the package, tests, benchmarks, examples and notebooks."""
    out = run(str(BIN / "ruff"), "check", *LINTED)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_clean() -> None:
    """ruff format --check would change no file."""
    out = run(str(BIN / "ruff"), "format", "--check", *LINTED)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean() -> None:
    """mypy --strict passes on the package."""
    out = run(str(BIN / "mypy"), "--strict", "src")
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_loads_no_optional_dependency() -> None:
    """import micrograd and its pure-Python modules loads no numpy, graphviz, matplotlib, tqdm."""
    code = (
        "import sys, micrograd, micrograd.engine, micrograd.gradcheck\n"
        "heavy = {'numpy', 'graphviz', 'matplotlib', 'tqdm', 'torch'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = run(sys.executable, "-c", code)
    assert out.stdout.strip() == "[]", out.stderr


def isort_key(name: str) -> tuple[int, str]:
    """isort's order for __all__ (as ruff keeps it): CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_importable() -> None:
    """micrograd.__all__ is sorted, has no repeats, and every name in it exists."""
    names = micrograd.__all__
    assert names == sorted(names, key=isort_key)
    assert len(set(names)) == len(names)
    assert all(hasattr(micrograd, n) for n in names)


def test_package_is_typed() -> None:
    """The package ships py.typed, so users' type checkers read its hints."""
    assert (ROOT / "src" / "micrograd" / "py.typed").exists()


def test_engine_stays_readable_in_one_sitting() -> None:
    """engine.py stays within 540 lines: the heart of the library is meant to be read whole."""
    lines = (ROOT / "src" / "micrograd" / "engine.py").read_text().splitlines()
    assert len(lines) <= 540
