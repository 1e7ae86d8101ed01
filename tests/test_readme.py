"""Every code block in the README runs, and prints what the README says it prints."""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
BLOCKS = [(m.group(1), m.group(2)) for m in FENCE.finditer(README)]
MICROGRAD = Path(sys.executable).parent / "micrograd"


def expected_output(index: int) -> str | None:
    """The ```text block right after block ``index``, if any: what that block prints."""
    if index + 1 < len(BLOCKS) and BLOCKS[index + 1][0] == "text":
        return BLOCKS[index + 1][1]
    return None


def run_command(line: str, cwd: Path) -> str:
    """Run one ``micrograd ...`` line from the README with this environment's command."""
    words = shlex.split(line, comments=True)
    assert words[0] == "micrograd", line
    out = subprocess.run(
        [str(MICROGRAD), *words[1:]], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_readme_has_its_blocks() -> None:
    """The README has the two set-up commands, Python tour blocks and command examples."""
    kinds = [kind for kind, _ in BLOCKS]
    assert kinds[:2] == ["bash", "bash"]
    assert kinds.count("python") >= 3


def test_setup_commands_are_the_main_job_and_cis_test_command() -> None:
    """The first command installs and runs `micrograd train`; the second is what .ci/run runs."""
    main_job, tests = BLOCKS[0][1].strip(), BLOCKS[1][1].strip()
    assert main_job == (
        'python3 -m venv .venv && .venv/bin/pip install -e ".[all]" && . .venv/bin/activate '
        "&& micrograd train"
    )
    awk = (
        "awk '/^Install and run the tests/ {found = 1} "
        "found && /^```bash/ {getline; print; exit}' README.md"
    )
    assert awk in (ROOT / ".ci" / "run").read_text()
    ci = subprocess.run(["bash", "-c", awk], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ci.stdout.strip() == tests
    assert tests == "bash scripts/test"


def python_blocks() -> list[int]:
    """The indices of the README's Python blocks."""
    return [i for i, (kind, _) in enumerate(BLOCKS) if kind == "python"]


def run_alone(index: int, cwd: Path) -> str:
    """Run Python block ``index`` by itself in a fresh interpreter in ``cwd``; its output."""
    out = subprocess.run(
        [sys.executable, "-c", BLOCKS[index][1]], cwd=cwd, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("index", python_blocks())
def test_each_python_block_runs_pasted_alone_and_prints_what_it_says(
    index: int, tmp_path: Path
) -> None:
    """Each Python block, pasted alone into a new interpreter, runs and prints its shown output."""
    printed = run_alone(index, tmp_path)
    expected = expected_output(index)
    assert printed == ("" if expected is None else expected)


def svg_texts(svg: str) -> list[str]:
    """The words a graphviz SVG shows (labels, data, grads, ops), in drawing order."""
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    return [html.unescape(text).strip() for text in texts]


def test_the_neuron_picture_is_what_its_code_draws(tmp_path: Path) -> None:
    """docs/neuron.svg shows what the README's neuron block draws: every value and gradient."""
    (index,) = [i for i in python_blocks() if "render_dot(o, 'neuron.svg')" in BLOCKS[i][1]]
    run_alone(index, tmp_path)
    drawn = svg_texts((tmp_path / "neuron.svg").read_text(encoding="utf-8"))
    committed = svg_texts((ROOT / "docs" / "neuron.svg").read_text(encoding="utf-8"))
    assert committed == drawn, "regenerate it: run the README's neuron block in docs/"
    # After backward(), as the narration above the picture says: x1, w1, x1*w1, b, n, o.
    grads = [text for text in drawn if text.startswith("grad ")]
    assert grads == [f"grad {g:.4f}" for g in (-1.5, 1.0, 0.5, 0.5, 0.5, 1.0)]


def test_the_neuron_picture_follows_its_block() -> None:
    """The picture shown right after the neuron block is docs/neuron.svg."""
    after = README.split("render_dot(o, 'neuron.svg')", 1)[1]
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", after)[0] == "docs/neuron.svg"


def command_blocks() -> list[int]:
    """The indices of the bash blocks after the set-up whose lines are ``micrograd`` commands."""
    return [
        i
        for i, (kind, code) in enumerate(BLOCKS[2:], start=2)
        if kind == "bash" and code.lstrip().startswith("micrograd ")
    ]


def test_command_blocks_run_and_print_what_they_say(tmp_path: Path) -> None:
    """Each `micrograd ...` command block after the set-up runs and prints its shown output."""
    ran = 0
    for i in command_blocks():
        lines = [ln for ln in BLOCKS[i][1].splitlines() if ln.strip()]
        printed = "".join(run_command(line, tmp_path) for line in lines)
        expected = expected_output(i)
        if expected is not None:
            assert printed == expected
        ran += 1
    assert ran >= 2
    assert sorted(os.listdir(tmp_path / "runs" / "moons")) == [
        "boundary.png",
        "history.csv",
        "loss.png",
        "model.json",
    ]


def test_the_graph_example_has_values_and_gradients_to_read() -> None:
    """The headline `micrograd graph` example shows a value and gradients that are not zero."""
    (index,) = [i for i in command_blocks() if BLOCKS[i][1].startswith("micrograd graph")]
    shown = expected_output(index)
    assert shown is not None
    numbers = dict(re.findall(r"^(value|\w+\.grad) = (\S+)$", shown, re.MULTILINE))
    assert sorted(numbers) == ["a.grad", "b.grad", "value"]
    assert 0.0 not in [float(x) for x in numbers.values()]


def test_pictures_the_readme_shows_exist() -> None:
    """Every image the README links to is in the repository."""
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images and all((ROOT / image).is_file() for image in images)


def test_links_to_notebooks_and_files_resolve() -> None:
    """Every relative link in the README points at a file or folder in the repository."""
    links = [
        link
        for link in re.findall(r"\]\(([^)]+)\)", README)
        if not link.startswith(("http://", "https://"))
    ]
    assert links and [link for link in links if not (ROOT / link).exists()] == []
