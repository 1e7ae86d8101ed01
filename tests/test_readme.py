"""Every code block in the README runs, and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
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
        'python3 -m venv .venv && .venv/bin/pip install -e ".[all]" && .venv/bin/micrograd train'
    )
    awk = (
        "awk '/^Install and run the tests/ {found = 1} "
        "found && /^```bash/ {getline; print; exit}' README.md"
    )
    assert awk in (ROOT / ".ci" / "run").read_text()
    ci = subprocess.run(["bash", "-c", awk], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ci.stdout.strip() == tests
    assert tests.endswith(".venv/bin/python -m pytest")


def test_python_blocks_run_in_order_and_print_what_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's Python blocks run top to bottom as one session, with the printed outputs."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    ran = 0
    for i, (kind, code) in enumerate(BLOCKS):
        if kind != "python":
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"README.md block {i}", "exec"), namespace)
        expected = expected_output(i)
        if expected is not None:
            assert printed.getvalue() == expected
        ran += 1
    assert ran >= 3
    assert (tmp_path / "neuron.svg").read_text().startswith("<?xml")


def test_command_blocks_run_and_print_what_they_say(tmp_path: Path) -> None:
    """Each `micrograd ...` command block after the set-up runs and prints its shown output."""
    ran = 0
    for i, (kind, code) in enumerate(BLOCKS[2:], start=2):
        if kind != "bash":
            continue
        lines = [ln for ln in code.splitlines() if ln.strip()]
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
