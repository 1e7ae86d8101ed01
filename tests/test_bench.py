"""Tests for the benchmark harness: tables, isolation of the reference, and its errors."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import micrograd
from micrograd import bench


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """micrograd 0.1.0, installed with pip once per session into its own folder."""
    return bench.ensure_reference(tmp_path_factory.mktemp("ref") / "micrograd-0.1.0")


def rows(text: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    table = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split("|")])
    return table


@pytest.mark.torch
def test_quick_suite_prints_tables_and_saves_json_plot_markdown(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quick one-round run prints the machine, a row per path with its ratio, and the targets."""
    argv = ["--quick", "--rounds", "1", "--quiet", "--reference-dir", str(reference)]
    argv += ["--only", "seed002", "moons_step", "bytes_per_node"]
    argv += ["--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")]
    argv += ["--markdown", str(tmp_path / "r.md")]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Measured ") and f"{micrograd.__version__}" in out.splitlines()[0]
    table = rows(out, "| workload |")
    assert [row[1] for row in table] == [
        bench.VARIANTS[v]
        for name in ("seed002", "moons_step", "bytes_per_node")
        for v in bench.WORKLOADS[name].variants
    ]
    assert all(len(row) == 5 and row[3] == "1" for row in table)
    ratio = re.compile(r"[\d,.]+× (faster|slower|less|more)")
    assert all(row[4] == "baseline" or ratio.fullmatch(row[4]) for row in table), table
    targets = rows(out, "| target |")
    ran = {"seed002", "moons_step", "bytes_per_node"}
    assert [row[0] for row in targets] == [t.title for t in bench.TARGETS if t.workload in ran]
    assert all(row[3] in ("yes", "**no**") for row in targets)
    assert (tmp_path / "r.md").read_text() == out.removesuffix("\n")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "r.json").read_text())
    ratios = {(r["workload"], r["variant"]): r["vs_reference"] for r in data["results"]}
    assert len(ratios) == sum(len(bench.WORKLOADS[name].variants) for name in ran)
    assert all(isinstance(x, float) and x > 0 for (w, v), x in ratios.items() if v != "ref"), ratios
    values = [t["value"] for t, spec in zip(data["targets"], bench.TARGETS) if spec.workload in ran]
    assert len(values) == sum(t.workload in ran for t in bench.TARGETS)
    assert all(isinstance(x, float) for x in values), values
    losses = [r["runs"][0]["check"] for r in data["results"] if r["workload"] == "moons_step"]
    assert len(losses) == len(bench.WORKLOADS["moons_step"].variants)
    assert max(losses) - min(losses) < 1e-12  # every path, the same step


def test_reference_and_ours_import_their_own_package(reference: Path) -> None:
    """The reference subprocess imports micrograd from its folder, ours from this package."""
    ref = bench.measure("bytes_per_node", "ref", reference, quick=True)
    ours = bench.measure("bytes_per_node", "value", reference, quick=True)
    assert Path(ref["package"]).resolve().is_relative_to(reference)
    assert Path(ours["package"]).resolve() == Path(micrograd.__file__).resolve()
    assert ref["bytes"] > ours["bytes"] > 0


def test_the_scalar_engines_take_the_same_step_at_width_16_and_64(
    reference: Path,
) -> None:
    """micrograd 0.1.0, ours and the minimal tape engine start from the same loss (0.1.0 cannot
    at width 64: RecursionError); the tape engine runs without our package."""
    losses = {}
    for name in ("moons_step_gc_off", "moons64_gc_off"):
        for variant in bench.WORKLOADS[name].variants:
            run = bench.measure(name, variant, reference, quick=True)
            losses[name, variant] = run.get("check", run.get("error"))
    assert losses.pop(("moons64_gc_off", "ref")) == "RecursionError"  # 0.1.0's recursive walk
    assert len({v for (w, _), v in losses.items() if w == "moons_step_gc_off"}) == 1, losses
    assert len({v for (w, _), v in losses.items() if w == "moons64_gc_off"}) == 1, losses
    assert "package" not in bench.measure("moons_step", "tape", reference, quick=True)


def test_the_tape_engine_outside_a_source_checkout_is_a_row_without_a_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed without the repository's benchmarks/, the limit's row says why it has no time."""
    monkeypatch.setattr(bench._measure, "_tape_dir", lambda: tmp_path)
    run = bench.measure("moons_step_gc_off", "tape", None, quick=True)
    assert run == {"error": "n/a: needs a source checkout (benchmarks/tape_engine.py)"}


@pytest.mark.parametrize(
    ("ratio", "goal", "shown", "met"),
    [
        (2.96, 3.0, "2.96× faster", "**no**"),  # seed 002's: it once read "3.0×, met"
        (2.9999, 3.0, "3.00× faster", "**no**"),
        (3.0, 3.0, "3.00× faster", "yes"),
        (1 / 1.3, 1 / 1.3, "1.30× slower", "yes"),
        (1 / 1.3001, 1 / 1.3, "1.30× slower", "**no**"),
    ],
)
def test_met_is_decided_from_the_unrounded_ratio(
    ratio: float, goal: float, shown: str, met: str
) -> None:
    """A target's "met" compares the ratio itself with the goal, never its rounded display."""
    report = bench.Report(machine={}, rounds=1, quick=True)
    report.runs[("seed002", "ref")] = [{"seconds": ratio}]
    report.runs[("seed002", "value")] = [{"seconds": 1.0}]
    target = bench.Target("t", "g", "seed002", "ref", "value", at_least=goal)
    value = bench._tables._target_value(report, target)
    assert (
        bench._tables._times(value, "seconds", digits=2),
        bench._tables._target_met(target, value),
    ) == (
        shown,
        met,
    )


def test_a_reference_that_is_not_0_1_0_is_refused(tmp_path: Path) -> None:
    """A folder holding some other micrograd is not taken for the reference."""
    (tmp_path / "micrograd").mkdir()
    (tmp_path / "micrograd" / "engine.py").write_text("")
    with pytest.raises(RuntimeError, match=r"not 0\.1\.0"):
        bench.ensure_reference(tmp_path)


def test_failed_install_says_how_to_install_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When pip cannot install the reference, main returns 1 and names the manual command."""
    monkeypatch.setattr(sys, "executable", "/bin/false")
    argv = ["--only", "seed002", "--reference-dir", str(tmp_path / "none"), "--quiet"]
    assert bench.main(argv) == 1
    assert "pip install micrograd==0.1.0 --target DIR" in capsys.readouterr().err


def test_unknown_workload_is_a_usage_error() -> None:
    """--only with a name the suite does not know stops with argparse's usage error."""
    with pytest.raises(SystemExit) as stop:
        bench.main(["--only", "nonesuch"])
    assert stop.value.code == 2


def test_plot_without_matplotlib_fails_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--plot without matplotlib returns 1 at once and names the extra to install."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "matplotlib" else find_spec(name)
    )
    argv = ["--plot", str(tmp_path / "p.png"), "--quick", "--rounds", "1", "--quiet"]
    assert bench.main([*argv, "--only", "trace_compile"]) == 1
    assert 'pip install "micrograd-learn[plot]"' in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_the_gpt_run_is_timed_on_bytecode_its_first_untimed_run_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gpt_train_1000 fills a bytecode cache in the bench's cache folder once (a 1-step run),
    then times the 1,000 steps with that cache and bytecode writing allowed."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((cmd, kwargs["env"]))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(bench._measure.subprocess, "run", run)
    monkeypatch.setattr(bench._measure, "_WARM", set())
    assert "seconds" in bench.measure("gpt_train_1000", "compiled", None)
    assert "seconds" in bench.measure("gpt_train_1000", "compiled", None)
    steps = [cmd[cmd.index("--steps") + 1] for cmd, _ in calls]
    caches = {env.get("PYTHONPYCACHEPREFIX") for _, env in calls}
    unset = all("PYTHONDONTWRITEBYTECODE" not in env for _, env in calls)
    assert (steps, caches, unset) == (
        ["1", "1000", "1000"],
        {str(tmp_path / "micrograd" / "bench" / "pycache")},
        True,
    )
