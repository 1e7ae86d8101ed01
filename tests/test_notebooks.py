"""The lesson notebooks: each runs top to bottom in a fresh kernel, and is committed clean."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = [
    "01_derivatives_and_the_value.ipynb",
    "02_a_neuron.ipynb",
    "03_an_mlp.ipynb",
    "04_moons_and_beyond.ipynb",
    "05_from_micrograd_to_a_gpt.ipynb",
    "06_beyond_backward.ipynb",
]
# Lessons 2 and 4 check gradients against PyTorch: where it is not installed they are deselected.
NEEDS_TORCH = {"02_a_neuron.ipynb", "04_moons_and_beyond.ipynb"}
LESSON_RUNS = [pytest.param(n, marks=pytest.mark.torch) if n in NEEDS_TORCH else n for n in LESSONS]
# Per cell: a guard against a hung kernel, not a speed test (the cells take seconds).
CELL_TIMEOUT = 300
IMG = re.compile(r"<img\b[^>]*>")


@pytest.fixture(scope="session")
def kernel_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A folder holding one kernelspec, ``python3``, that starts this very interpreter.

    The notebooks then import the micrograd of the environment running the tests, whatever
    ``python`` on PATH is and whatever kernels are installed elsewhere.
    """
    folder = tmp_path_factory.mktemp("kernels")
    (folder / "python3").mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (the tests' interpreter)",
        "language": "python",
    }
    (folder / "python3" / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return [str(folder)]


def execute(nb: Any, kernel_dirs: list[str], cwd: Path) -> Any:
    """Run every cell of ``nb`` in order in a new kernel started in ``cwd``; raise on an error."""
    km = KernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs)
    )
    client = NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}}
    )
    try:
        client.execute(cleanup_kc=True)
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def code_cells(nb: Any) -> list[Any]:
    """The notebook's code cells, in order."""
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_the_notebooks_folder_holds_the_lessons() -> None:
    """notebooks/ holds exactly the lessons, so every notebook there is run below."""
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == LESSONS


def test_the_notebooks_are_what_build_py_writes() -> None:
    """Each committed notebook is byte for byte what notebooks/build.py writes."""
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    written = {name: (NOTEBOOKS / name).read_text(encoding="utf-8") for name in LESSONS}
    assert written == build.build(), "run: python notebooks/build.py"


@pytest.mark.parametrize("name", LESSONS)
def test_committed_notebook_has_no_outputs(name: str) -> None:
    """The committed notebook is valid and stripped: no outputs, no execution counts."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    cells = code_cells(nb)
    assert cells
    assert [(c.outputs, c.execution_count) for c in cells] == [([], None)] * len(cells)
    assert all("execution" not in c.metadata for c in cells)


def test_the_kernel_is_the_tests_interpreter(kernel_dirs: list[str], tmp_path: Path) -> None:
    """The notebooks' kernel runs the same Python (and so the same micrograd) as the tests."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; sys.executable")])
    execute(nb, kernel_dirs, tmp_path)
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == repr(sys.executable)


def test_the_torch_lessons_are_those_that_import_torch() -> None:
    """The lessons marked as needing PyTorch are exactly those whose cells import it."""
    importing = {
        name
        for name in LESSONS
        if any(
            "import torch" in cell.source
            for cell in code_cells(nbformat.read(NOTEBOOKS / name, as_version=4))
        )
    }
    assert importing == NEEDS_TORCH


def alt_texts(outputs: list[Any]) -> list[str]:
    """The alt text of each <img> the outputs show ("" for one without)."""
    tags = [tag for out in outputs for tag in IMG.findall(out.get("data", {}).get("text/html", ""))]
    return [
        html.unescape(m.group(1)) if (m := re.search(r'alt="([^"]*)"', tag)) else "" for tag in tags
    ]


@pytest.mark.parametrize("name", LESSON_RUNS)
def test_notebook_runs_top_to_bottom(name: str, kernel_dirs: list[str], tmp_path: Path) -> None:
    """In a fresh kernel every cell runs once, in order, with no error, and the pictures draw,
    each PNG with alt text (an HTML export keeps it; a bare image/png output has none)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    execute(nb, kernel_dirs, tmp_path)
    cells = code_cells(nb)
    # Counts 1..n: each cell ran once, top to bottom, in one kernel that started empty.
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    outputs = [out for c in cells for out in c.outputs]
    assert [out for out in outputs if out.output_type == "error"] == []
    graphs = [out for out in outputs if "image/svg+xml" in out.get("data", {})]
    assert [out for out in outputs if "image/png" in out.get("data", {})] == []
    alts = alt_texts(outputs)
    assert graphs or alts, "no graph or plot was drawn"
    assert [alt for alt in alts if len(alt.split()) < 5] == [], "a picture lacks a description"


def test_lesson_4_quotes_the_readmes_compiled_step() -> None:
    """The step time lesson 4 quotes is the README table's compiled moons step, rounded."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = re.findall(
        r"^\|  \| ours: compiled \(`micrograd.fast`\) \| ([\d.]+) µs \|", readme, re.M
    )
    lesson = (NOTEBOOKS / "04_moons_and_beyond.ipynb").read_text(encoding="utf-8")
    assert re.findall(r"The table says (\d+) µs", lesson) == [f"{float(row):.0f}"]
