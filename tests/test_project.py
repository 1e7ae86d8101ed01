"""Project-wide checks: lint, types, import weight, public names, the engine's size."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import micrograd
from micrograd import _extras

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
    """engine.py stays within 600 lines: the heart of the library is meant to be read whole."""
    lines = (ROOT / "src" / "micrograd" / "engine.py").read_text().splitlines()
    assert len(lines) <= 600


# Modules that grew past ~600 lines and became a package (a folder) of one module per part.
SPLIT = ("src/micrograd/nn", "src/micrograd/explain", "notebooks")


@pytest.mark.parametrize("folder", SPLIT)
def test_the_parts_of_a_split_module_stay_within_600_lines(folder: str) -> None:
    """Each module of nn/, explain/ and notebooks/ (build.py and a file per lesson's cells) is
    600 lines or fewer: a part that outgrows it is split again."""
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / folder).glob("*.py")
    }
    too_long = {name: n for name, n in sizes.items() if n > 600}
    expected: tuple[bool, dict[str, int]] = (True, {})
    assert expected == (len(sizes) > 1, too_long)  # several parts, none too long


# A hint that would install the index's other micrograd: "micrograd[...]" or a bare
# `pip install micrograd` (the benchmark's pinned micrograd==0.1.0 is that project on purpose).
STALE_HINT = re.compile(r"(?<![\w-])micrograd\[|pip install [\"']?micrograd(?![\w=-])")
HINTED = ("src", "tests", "notebooks", "docs", "benchmarks", "examples", ".ci", "scripts")


def hinted_files() -> list[Path]:
    """The text files users read or run: sources, tests, lessons, docs, scripts, README."""
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in HINTED:
        files += [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file()]
    files = [p for p in files if p.suffix not in {".png", ".pyc"} and "__pycache__" not in p.parts]
    return [p for p in files if p != Path(__file__).resolve()]  # this file holds stale examples


def test_no_install_hint_names_the_other_micrograd() -> None:
    """No file tells anyone to `pip install micrograd[...]`, which installs micrograd 0.1.0."""
    stale = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in hinted_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if STALE_HINT.search(line)
    ]
    assert stale == []


def test_the_stale_hint_pattern_finds_stale_hints() -> None:
    """The pattern above catches the old hints and passes the new ones and the pinned reference."""
    found = [
        bool(STALE_HINT.search(text))
        for text in (
            'pip install "micrograd[viz]"',
            "pip install micrograd",
            "pip install 'micrograd'",
            'pip install "micrograd-learn[viz]"',
            "pip install micrograd-learn",
            "pip install micrograd==0.1.0 --target DIR",
        )
    ]
    assert found == [True, True, True, False, False, False]


def test_the_installed_distribution_is_ours_with_the_hinted_extras() -> None:
    """The installed distribution is micrograd-learn, at micrograd's version, with every extra
    the hints name."""
    assert _extras.DISTRIBUTION == "micrograd-learn"
    assert metadata.version(_extras.DISTRIBUTION) == micrograd.__version__
    provided = metadata.metadata(_extras.DISTRIBUTION).get_all("Provides-Extra") or []
    assert set(_extras.EXTRAS) <= set(provided)
    assert _extras.install_hint("viz") == 'pip install "micrograd-learn[viz]"'


def test_an_unknown_extra_is_a_value_error() -> None:
    """install_hint refuses a name that is not an extra, so no hint names a missing extra."""
    with pytest.raises(ValueError, match="extra must be one of viz, plot"):
        _extras.install_hint("plots")


def test_scripts_test_runs_the_pythons_the_package_claims() -> None:
    """scripts/test runs the lowest Python the package accepts and the newest it names, and its
    full run (PyTorch included) is on one the package names."""
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    (main,) = re.findall(r"^main=(\S+)$", script, re.MULTILINE)
    (others,) = re.findall(r"^others=\((.*)\)$", script, re.MULTILINE)
    tested = {main, *others.split()}
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    named = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    (floor,) = re.findall(r'^requires-python = ">=(3\.\d+)"$', pyproject, re.MULTILINE)
    newest = max(named, key=lambda v: tuple(map(int, v.split("."))))
    assert tested <= named
    assert {floor, newest} <= tested
