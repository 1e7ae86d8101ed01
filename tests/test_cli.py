"""The micrograd command: train end to end, both engines, resume, Ctrl-C, graph, explain, help."""

from __future__ import annotations

import csv
import math
import random
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from clitools import interrupt_after, metadata, png_size, python_prints, run, sigint_default, train
from micrograd import cli
from micrograd.data import DATASETS, make_moons
from micrograd.engine import Value
from micrograd.explain import explain_text
from micrograd.nn import MLP
from micrograd.train import fit
from micrograd.viz import draw_text

ROOT = Path(__file__).resolve().parent.parent
SPEC_EXPR = "a=-4, b=2: (a*b + b**3).relu() / 2"


def history(folder: Path) -> list[dict[str, float]]:
    """The rows of a run's history.csv, as numbers."""
    with open(folder / "history.csv", encoding="utf-8") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def is_one_line_error(err: str, prefix: str = "micrograd") -> bool:
    """stderr ends in exactly one ``... error: ...`` line (argparse may print usage above it)."""
    lines = err.strip().splitlines()
    return (
        bool(lines)
        and lines[-1].startswith(prefix)
        and ["error:" in line for line in lines].count(True) == 1
    )


# --- train ---


def test_train_writes_model_history_and_two_pngs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A short default run writes a loadable model.json, history.csv and two real PNGs."""
    code, out, err = train(capsys, tmp_path, "--steps", "3")
    assert (code, err) == (0, "")
    model = MLP.from_file(tmp_path / "model.json")
    assert repr(model) == "MLP(2 -> 16 relu -> 16 relu -> 1 linear)"
    assert metadata(tmp_path)["step"] == 3
    assert [row["step"] for row in history(tmp_path)] == [0.0, 1.0, 2.0]
    assert png_size(tmp_path / "loss.png") == (800, 400)
    assert png_size(tmp_path / "boundary.png") == (640, 480)
    for name in ("model.json", "history.csv", "loss.png", "boundary.png"):
        assert f"wrote {tmp_path / name}" in out


def test_default_recipe_is_fits_moons_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no options, train is fit's moons recipe on make_moons(seed=1337) and reaches 100%."""
    code, out, _ = train(capsys, tmp_path, "--no-plots", "--engine", "fast")
    assert code == 0
    X, y = make_moons(100, noise=0.1, seed=1337)
    random.seed(1337)
    expected = fit(MLP(2, [16, 16, 1]), X, y, callback=lambda r: r.step == 4)
    rows = history(tmp_path)
    assert len(rows) == 100
    assert [row["loss"] for row in rows[:5]] == pytest.approx(expected.losses, rel=1e-12)
    assert [row["lr"] for row in rows[:5]] == expected.lrs
    assert "100 of 100 steps in" in out
    assert "accuracy 100.0% on all 100 points" in out


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--dataset", "spiral", "--optimizer", "adam", "--batch-size", "16"],
        ["--loss", "bce", "--activation", "tanh", "--schedule", "cosine", "--warmup", "2"],
        ["--dataset", "blobs", "--loss", "mse", "--optimizer", "adamw", "--schedule", "step"],
    ],
)
def test_fast_and_value_engines_give_the_same_losses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    """The compiled path and the scalar engine give the same losses, step for step, to 1e-12."""
    losses = {}
    for engine in ("value", "fast"):
        folder = tmp_path / engine
        code, out, _ = train(
            capsys, folder, "--steps", "4", "--no-plots", "--engine", engine, *options
        )
        assert code == 0
        assert f"{engine} engine" in out
        losses[engine] = [row["loss"] for row in history(folder)]
    assert len(losses["fast"]) == 4
    assert losses["fast"] == pytest.approx(losses["value"], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_dataset_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dataset: str
) -> None:
    """Every data set of micrograd.data trains a couple of steps, with an output per class."""
    code, _, err = train(capsys, tmp_path, "--dataset", dataset, "--steps", "2", "--no-plots")
    assert (code, err) == (0, "")
    classes = 3 if dataset in ("spiral", "blobs") else 1
    assert MLP.from_file(tmp_path / "model.json").nouts == [16, 16, classes]
    assert metadata(tmp_path)["settings"]["dataset"] == dataset
    assert len(history(tmp_path)) == 2


def test_resume_after_interrupt_matches_an_uninterrupted_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped by SIGINT after step 3 and resumed, Adam's run equals one that never stopped."""
    options = ["--steps", "6", "--optimizer", "adam", "--no-plots"]
    code, _, _ = train(capsys, tmp_path / "straight", *options)
    assert code == 0

    interrupt_after(monkeypatch, 3)
    code, _, err = train(capsys, tmp_path / "stopped", *options)
    assert code == cli.EXIT_INTERRUPTED
    assert "interrupted after step 2 (3 of 6 steps done)" in err
    assert metadata(tmp_path / "stopped")["step"] == 3
    monkeypatch.undo()

    code, out, _ = run(capsys, "train", "--resume", str(tmp_path / "stopped" / "model.json"))
    assert code == 0
    assert "steps 3-6" in out
    assert metadata(tmp_path / "stopped")["step"] == 6
    assert history(tmp_path / "stopped") == history(tmp_path / "straight")


def test_resume_with_another_architecture_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resuming a 16,16 model as --layers 8 fails with status 2 and says what does not fit."""
    assert train(capsys, tmp_path, "--steps", "1", "--no-plots")[0] == 0
    checkpoint = str(tmp_path / "model.json")
    code, _, err = run(capsys, "train", "--resume", checkpoint, "--layers", "8", "--no-plots")
    assert code == 2
    assert is_one_line_error(err, "micrograd train: error: cannot resume")
    assert "does not fit MLP(2 -> 8 relu -> 1 linear)" in err


def test_resume_from_a_missing_or_corrupt_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing, truncated or foreign checkpoint gives one line and status 2."""
    (tmp_path / "cut.json").write_text('{"format": "micrograd.nn", "sta', encoding="utf-8")
    (tmp_path / "other.json").write_text('{"hello": 1}', encoding="utf-8")
    for name in ("missing.json", "cut.json", "other.json"):
        code, _, err = run(capsys, "train", "--resume", str(tmp_path / name))
        assert code == 2
        assert is_one_line_error(err, "micrograd train: error: cannot resume")


def test_divergence_is_reported_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An absurd learning rate stops with status 1, one line, and a finite checkpoint kept."""
    code, _, err = train(capsys, tmp_path, "--lr", "1000", "--checkpoint-every", "1", "--no-plots")
    assert code == 1
    assert is_one_line_error(err, "micrograd train: error: training diverged at step ")
    assert f"kept the last good checkpoint {tmp_path / 'model.json'} (step 0)" in err
    assert metadata(tmp_path)["step"] == 0
    params = MLP.from_file(tmp_path / "model.json").parameters()
    assert all(math.isfinite(p.data) for p in params)


def test_ctrl_c_stops_cleanly_and_keeps_a_loadable_checkpoint(tmp_path: Path) -> None:
    """SIGINT to a long real run: status 130, a message, and a checkpoint that loads."""
    cmd = [sys.executable, "-m", "micrograd", "train", "--steps", "100000", "--out", str(tmp_path)]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "model.json").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    step = metadata(tmp_path)["step"]
    assert f"interrupted after step {step - 1} ({step} of 100000 steps done); checkpoint" in err
    assert "Traceback" not in err
    assert len(MLP.from_file(tmp_path / "model.json").parameters()) == 337
    assert len(history(tmp_path)) == step
    assert png_size(tmp_path / "boundary.png") == (640, 480)


def test_progress_bar_shows_step_loss_and_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--progress draws tqdm's bar on stderr with the step count, loss and accuracy."""
    code, _, err = run(
        capsys, "train", "--out", str(tmp_path), "--steps", "3", "--no-plots", "--progress"
    )
    assert code == 0
    assert "3/3" in err
    assert "loss=" in err
    assert "acc=" in err


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("tqdm", ["--progress", "--no-plots"], 'pip install "micrograd-learn[cli]"'),
        ("matplotlib", [], 'pip install "micrograd-learn[plot]"'),
        ("numpy", ["--engine", "fast", "--no-plots"], 'pip install "micrograd-learn[fast]"'),
    ],
)
def test_a_missing_extra_is_named_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    blocked: str,
    argv: list[str],
    extra: str,
) -> None:
    """Without tqdm, matplotlib or NumPy, train says which extra to install (status 1)."""
    monkeypatch.setitem(sys.modules, blocked, None)  # import of it now raises ImportError
    monkeypatch.delitem(sys.modules, "micrograd.fast", raising=False)
    code, _, err = run(capsys, "train", "--out", str(tmp_path), "--steps", "1", *argv)
    assert code == 1
    assert is_one_line_error(err)
    assert extra in err


def test_auto_engine_falls_back_to_the_value_engine_without_numpy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--engine auto trains on the scalar engine when NumPy cannot be imported."""
    monkeypatch.setitem(sys.modules, "numpy", None)
    monkeypatch.delitem(sys.modules, "micrograd.fast", raising=False)
    code, out, _ = train(capsys, tmp_path, "--steps", "1", "--no-plots")
    assert code == 0
    assert "value engine" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--steps", "0"],
        ["train", "--lr", "-1"],
        ["train", "--dataset", "nope"],
        ["train", "--layers", "16,x"],
        ["train", "--batch-size", "-3"],
        ["train", "--engine", "gpu"],
        ["train", "--dataset", "spiral", "--loss", "hinge"],
        ["train", "--samples", "1"],
        ["train", "--frobnicate"],
        ["graph"],
        ["graph", "x=1: x", "-o", "graph.jpeg"],
        ["explain", "x=1: x", "--digits", "0"],
        ["fly"],
        [],
    ],
)
def test_bad_options_give_a_one_line_error_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """A bad option or value exits with status 2 and one error line (after argparse's usage)."""
    code, _, err = run(capsys, *argv, *(["--out", str(tmp_path)] if argv[:1] == ["train"] else []))
    assert code == 2
    assert is_one_line_error(err)


# --- graph and explain ---


def spec_graph(relu: bool = True) -> tuple[Value, Value, Value]:
    """The spec's expression built directly on the engine: (out, a, b), after backward()."""
    a, b = Value(-4.0, label="a"), Value(2.0, label="b")
    inner = a * b + b**3
    out = (inner.relu() if relu else inner) / 2
    out.label = "out"
    out.backward()
    return out, a, b


def test_graph_prints_value_gradients_and_the_text_tree(capsys: pytest.CaptureFixture[str]) -> None:
    """graph prints the value, each variable's gradient and draw_text's tree, exactly."""
    code, out, err = run(capsys, "graph", SPEC_EXPR)
    root, _, _ = spec_graph()
    assert (code, err) == (0, "")
    assert out == "value = 0.0\na.grad = 0.0\nb.grad = 0.0\n\n" + draw_text(root) + "\n"


def test_graph_gradients_are_the_engines(capsys: pytest.CaptureFixture[str]) -> None:
    """Without the relu the gradients are nonzero: value 0, da = b/2 = 1, db = (a + 3b²)/2 = 4."""
    code, out, _ = run(capsys, "graph", "a=-4, b=2: (a*b + b**3) / 2")
    assert code == 0
    assert out.splitlines()[:3] == ["value = 0.0", "a.grad = 1.0", "b.grad = 4.0"]


@pytest.mark.parametrize(("suffix", "start"), [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_graph_writes_a_picture_in_the_suffixs_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, start: bytes
) -> None:
    """-o graph.svg / graph.png renders with graphviz in the format its suffix names."""
    path = tmp_path / f"graph{suffix}"
    code, out, _ = run(capsys, "graph", SPEC_EXPR, "-o", str(path))
    assert code == 0
    assert out.endswith(f"wrote {path}\n")
    assert path.read_bytes()[: len(start)] == start


def test_graph_writes_dot_source_with_the_variables_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o graph.dot writes the DOT source, whose records carry the variable names."""
    path = tmp_path / "graph.dot"
    assert run(capsys, "graph", SPEC_EXPR, "-o", str(path))[0] == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith("digraph {")
    assert "{ a | data -4.0000 | grad 0.0000 }" in text
    assert "{ b | data 2.0000 | grad 0.0000 }" in text


def test_explain_prints_the_narration(capsys: pytest.CaptureFixture[str]) -> None:
    """explain prints value and gradients, then explain_text of the same graph."""
    code, out, _ = run(capsys, "explain", "a=-4, b=2: (a*b + b**3) / 2")
    root, _, _ = spec_graph(relu=False)
    assert code == 0
    assert out == "value = 0.0\na.grad = 1.0\nb.grad = 4.0\n\n" + explain_text(root) + "\n"


def test_explain_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    """explain --markdown gives a Markdown list of results and the Markdown narration."""
    code, out, _ = run(capsys, "explain", "x=0.5: tanh(2*x + 1)", "--markdown")
    x = Value(0.5, label="x")
    y = (2 * x + 1).tanh()
    y.backward()
    assert code == 0
    assert out.startswith(f"- value = {y.data!r}\n- x.grad = {x.grad!r}\n\n")
    assert "#### Step 1: `out = tanh(n2)`" in out


def test_a_bad_expression_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    """graph and explain refuse a non-whitelisted expression with one line and status 2."""
    for command in ("graph", "explain"):
        code, out, err = run(capsys, command, "x=1: __import__('os').system('true')")
        assert (code, out) == (2, "")
        assert err.count("\n") == 1
        assert err.startswith(f"micrograd {command}: error: calls to 'system' are not allowed")


# --- help, entry points, bench ---


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """micrograd --help names each command with a one-line summary and shows examples."""
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("train", "graph", "explain", "bench"):
        assert f"    {command} " in out
    assert "micrograd train --resume runs/moons/model.json" in out


@pytest.mark.parametrize(
    ("command", "phrases"),
    [
        ("train", ["--dataset {moons,circles,spiral,xor,blobs,and,lecture}", "--resume PATH"]),
        ("train", ["--engine {auto,fast,value}", "status 130", "seed 1337"]),
        ("graph", ["NAME=NUMBER", "never run as Python", "-o FILE"]),
        ("explain", ["NAME=NUMBER", "--markdown"]),
    ],
)
def test_each_commands_help(
    capsys: pytest.CaptureFixture[str], command: str, phrases: list[str]
) -> None:
    """Each command's --help exits 0 and documents its options."""
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    for phrase in phrases:
        assert phrase in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package version."""
    import micrograd

    assert run(capsys, "--version")[:2] == (0, f"micrograd {micrograd.__version__}\n")


def test_help_imports_no_heavy_library() -> None:
    """The command's help loads neither numpy, matplotlib, graphviz nor tqdm."""
    code = (
        "import sys, contextlib, io\n"
        "from micrograd.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help']); main(['train', '--help']); main(['graph', '--help'])\n"
        "print(sorted({'numpy', 'matplotlib', 'graphviz', 'tqdm'} & set(sys.modules)))"
    )
    assert python_prints(code) == "[]\n"


def test_python_dash_m_and_the_console_script(tmp_path: Path) -> None:
    """`python -m micrograd` and the installed `micrograd` script both run the command."""
    script = Path(sys.executable).parent / "micrograd"
    for cmd in ([sys.executable, "-m", "micrograd"], [str(script)]):
        out = subprocess.run(
            [*cmd, "graph", "x=3: x**2"], capture_output=True, text=True, cwd=tmp_path
        )
        assert (out.returncode, out.stdout.splitlines()[:2]) == (0, ["value = 9.0", "x.grad = 6.0"])
        bad = subprocess.run([*cmd, "graph", "x=3: x.y"], capture_output=True, text=True)
        assert (bad.returncode, bad.stderr.count("\n")) == (2, 1)


def test_bench_forwards_its_arguments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """micrograd bench hands every following argument, untouched, to micrograd.bench.main."""
    calls: list[list[str] | None] = []

    def fake_main(argv: list[str] | None = None) -> int:
        calls.append(argv)
        return 3

    monkeypatch.setitem(sys.modules, "micrograd.bench", types.SimpleNamespace(main=fake_main))
    assert run(capsys, "bench", "--quick", "--rounds", "1", "--help")[0] == 3
    assert calls == [["--quick", "--rounds", "1", "--help"]]


def test_bench_help_is_the_suites_own(capsys: pytest.CaptureFixture[str]) -> None:
    """micrograd bench --help reaches the real benchmark suite's parser and exits 0."""
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0
    assert "--quick" in out


def test_bench_without_the_suite_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If micrograd.bench cannot be imported, bench says so in one line with status 1."""
    monkeypatch.setitem(sys.modules, "micrograd.bench", None)
    code, _, err = run(capsys, "bench", "--quick")
    assert (code, err) == (1, "micrograd bench: error: this installation has no micrograd.bench\n")


def test_an_unwritable_output_folder_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output folder that is really a file gives one line and status 1, not a traceback."""
    (tmp_path / "taken").write_text("", encoding="utf-8")
    code, _, err = train(capsys, tmp_path / "taken", "--steps", "1", "--no-plots")
    assert code == 1
    assert is_one_line_error(err, f"micrograd train: error: cannot create {tmp_path / 'taken'}")
