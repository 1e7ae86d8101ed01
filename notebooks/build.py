"""Write the lesson notebooks from their cells: ``python notebooks/build.py``.

Each lesson's cells are in a file of their own beside this one: lesson_derivatives.py (1),
lesson_neuron.py (2), lesson_mlp.py (3), lesson_moons.py (4), lesson_gpt.py (5) and
lesson_func.py (6). Here are the two cell makers, the cells two lessons share, and the writing.
The cells are the source; the .ipynb files are generated from them, committed with no outputs,
and run top to bottom by tests/test_notebooks.py (which also checks they match these files).
"""

from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat

HERE = Path(__file__).resolve().parent


def md(text: str) -> nbformat.NotebookNode:
    """A Markdown cell."""
    return nbformat.v4.new_markdown_cell(dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    """A code cell, with no outputs."""
    return nbformat.v4.new_code_cell(dedent(text).strip())


# A picture goes out as an <img> with alt text, which a screen reader says in its place and an
# HTML export keeps (a plain PNG output has none). Notebooks 3 and 4 each start their pictures so.
PICTURES = [
    md(
        """
        Pictures in this notebook are PNG files, shown by `picture` with a description (alt
        text) for readers who cannot see them:
        """
    ),
    code(
        """
        import base64
        import html
        import tempfile
        from pathlib import Path

        from IPython.display import HTML

        pictures = Path(tempfile.mkdtemp())  # where this notebook writes its pictures


        def picture(path, alt):
            \"\"\"Show the PNG file at `path`, described by `alt`.\"\"\"
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            return HTML(f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">')
        """
    ),
]


def _lesson(name: str, *shared: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """The cells of a lesson kept in its own file beside this one (``cells(md, code, *shared)``:
    ``shared`` are cells that more than one lesson shows, such as ``PICTURES``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"notebooks_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cells: list[nbformat.NotebookNode] = module.cells(md, code, *shared)
    return cells


NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {
    "01_derivatives_and_the_value.ipynb": _lesson("lesson_derivatives"),
    "02_a_neuron.ipynb": _lesson("lesson_neuron"),
    "03_an_mlp.ipynb": _lesson("lesson_mlp", PICTURES),
    "04_moons_and_beyond.ipynb": _lesson("lesson_moons", PICTURES),
    "05_from_micrograd_to_a_gpt.ipynb": _lesson("lesson_gpt"),
    "06_beyond_backward.ipynb": _lesson("lesson_func"),
}


def build() -> dict[str, str]:
    """Each notebook's file name and its JSON text: stable cell ids, no outputs."""
    texts = {}
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata = {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        }
        nb.cells = [cell.copy() for cell in cells]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i:02d}"  # stable ids: rebuilding changes no line
        nbformat.validate(nb)
        texts[name] = nbformat.writes(nb) + "\n"
    return texts


def main() -> int:
    """Write the notebooks; with ``--check``, only report (exit 1) those that differ."""
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in build().items():
        path = HERE / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, encoding="utf-8")
    verb = "differ from build.py" if check else "written"
    print(f"{len(stale)} notebook(s) {verb}: {', '.join(stale) or '-'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
