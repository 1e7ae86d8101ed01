"""The micrograd command's output: standard output that fails (a closed pipe, a full disk) in
every command, output paths checked before the work, and number literals no float holds."""

from __future__ import annotations

import argparse
import errno
import io
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clitools import one_error_line, run
from micrograd import bench, cli
from micrograd._stdout import EXIT_BROKEN_PIPE
from micrograd.data import DATASETS
from micrograd.gpt import sample_names
from micrograd.nn import MLP, read_checkpoint
from micrograd.train_command.settings import FIXED_SAMPLES, MIN_SAMPLES

FULL = OSError(errno.ENOSPC, "No space left on device")
FULL_LINE = "cannot write to standard output: [Errno 28] No space left on device"


class FailingStdout(io.StringIO):
    """A standard output whose writes fail from write number ``after`` on (``when="write"``),
    or whose flush fails (``when="flush"``: output kept in a buffer until the end)."""

    def __init__(self, error: OSError, when: str, after: int = 0) -> None:
        super().__init__()
        self.error, self.when, self.left = error, when, after

    def write(self, text: str) -> int:
        if self.when == "write":
            if self.left <= 0:
                raise self.error
            self.left -= 1
        return super().write(text)

    def flush(self) -> None:
        if self.when == "flush":
            raise self.error


def fake_suite(monkeypatch: pytest.MonkeyPatch, then: Any = None) -> None:
    """Make ``bench.main`` run nothing: an empty report, a one-line table; ``then()`` after the
    "run"."""

    def run_suite(*args: Any, **kwargs: Any) -> bench.Report:
        if then is not None:
            then()
        return bench.Report(machine={}, rounds=1, quick=True)

    monkeypatch.setattr(bench._command, "run_suite", run_suite)
    monkeypatch.setattr(bench._command, "markdown", lambda report: "| the table |")
    monkeypatch.setattr(bench._command, "to_json", lambda report: {"runs": []})
    monkeypatch.setattr(bench._command, "ensure_reference", lambda folder: None)


@pytest.fixture
def commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every command (and help), each with what it needs: the argv of each, by name."""
    fake_suite(monkeypatch)
    names = tmp_path / "names.txt"
    names.write_text("\n".join(sample_names()[:20]) + "\n", encoding="utf-8")
    gpt_out = tmp_path / "gpt-sampled"
    assert cli.main(["gpt", "train", str(names), "--steps", "1", "--out", str(gpt_out),
                     "--no-progress", "--no-plots"]) == 0  # fmt: skip
    mlp = tmp_path / "mlp.json"
    MLP(2, [3, 1]).save(mlp)
    return {
        "micrograd": ["--help"],
        "micrograd train": ["train", "--help"],
        "micrograd graph": ["graph", "x=1: x*2", "-o", str(tmp_path / "g.dot")],
        "micrograd explain": ["explain", "x=1: x*2", "--markdown"],
        "micrograd gpt sample": ["gpt", "sample", "--checkpoint", str(gpt_out / "model.json")],
        "micrograd export": ["export", str(mlp), "--torch", str(tmp_path / "m.py")],
        "micrograd bench": ["bench", "--quick", "--quiet"],
    }  # fmt: skip


@pytest.mark.parametrize("when", ["write", "flush"])
@pytest.mark.parametrize("closed", [True, False])
def test_every_command_stops_on_a_failing_stdout_with_one_line_or_quietly(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    commands: dict[str, list[str]],
    when: str,
    closed: bool,
) -> None:
    """A closed pipe (EPIPE) ends every command quietly with status 141; a full device with
    ``NAME: error: cannot write to standard output: ...`` and status 1; never a traceback."""
    capsys.readouterr()
    for name, argv in commands.items():
        error = BrokenPipeError(errno.EPIPE, "Broken pipe") if closed else FULL
        monkeypatch.setattr(sys, "stdout", FailingStdout(error, when))
        code, _, err = run(capsys, *argv)
        expected = (EXIT_BROKEN_PIPE, "") if closed else (1, f"{name}: error: {FULL_LINE}\n")
        assert (code, err) == expected, argv


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("command", ["train", "gpt"])
def test_a_training_run_keeps_its_checkpoint_when_stdout_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    closed: bool,
    command: str,
) -> None:
    """Stdout that fails once training has begun (its first line written) leaves the run's
    checkpoint and history on disk, loadable, as Ctrl-C does; the error blames no folder."""
    out = tmp_path / "run"
    if command == "train":
        argv = ["train", "--steps", "3", "--no-plots"]
    else:
        names = tmp_path / "names.txt"
        names.write_text("\n".join(sample_names()[:20]) + "\n", encoding="utf-8")
        argv = ["gpt", "train", str(names), "--steps", "3", "--no-plots"]
    error = BrokenPipeError(errno.EPIPE, "Broken pipe") if closed else FULL
    monkeypatch.setattr(sys, "stdout", FailingStdout(error, "write", after=2))
    code, _, err = run(capsys, *argv, "--out", str(out), "--no-progress")
    name = "micrograd train" if command == "train" else "micrograd gpt train"
    expected = (EXIT_BROKEN_PIPE, "") if closed else (1, f"{name}: error: {FULL_LINE}\n")
    assert (code, err) == expected
    meta = read_checkpoint(out / "model.json")["metadata"]
    rows = len((out / "history.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert (rows, meta["step"] if command == "train" else len(meta["history"])) == (3, 3)


@pytest.mark.parametrize("fault", ["closed", "full", "interrupt", "disk"])
def test_an_earlier_run_is_kept_until_the_new_one_saves(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    """A new run into an earlier run's folder sets the earlier files aside and removes them
    only once it has saved its own checkpoint: a run that stops before (stdout closed or full,
    Ctrl-C, a full disk at its first save) leaves the earlier run as it was (it was removed at
    the start, and a run stopped then left neither)."""
    out = tmp_path / "run"
    argv = ["train", "--steps", "3", "--no-plots", "--no-progress", "--out", str(out)]
    assert run(capsys, *argv)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if fault in ("closed", "full"):  # the first line after the note
        error = BrokenPipeError(errno.EPIPE, "Broken pipe") if fault == "closed" else FULL
        monkeypatch.setattr(sys, "stdout", FailingStdout(error, "write", after=1))
    else:
        from micrograd.nn import _module
        from micrograd.train_command import loop

        def fail(*args: Any, **kwargs: Any) -> None:
            if fault == "interrupt":
                raise KeyboardInterrupt
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(_module, "_atomic_write", fail)  # the checkpoint
        monkeypatch.setattr(loop, "_atomic_write", fail)  # the history
    code, _, _ = run(capsys, *argv)
    assert code != 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def micrograd_process(*argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """The command in a fresh Python, as a shell runs it."""
    return subprocess.Popen([sys.executable, "-m", "micrograd", *argv], **kwargs)


@pytest.mark.parametrize("argv", [["graph", "x=1: x*2"], ["explain", "x=1: x*2"], ["--help"]])
def test_a_real_full_device_is_one_line(argv: list[str]) -> None:
    """``> /dev/full``: one line and status 1 in a real process, no "Exception ignored"."""
    with open("/dev/full", "wb") as full:
        proc = micrograd_process(*argv, stdout=full, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=120)
    name = "micrograd" if argv[0] == "--help" else f"micrograd {argv[0]}"
    assert (proc.returncode, err.decode()) == (1, f"{name}: error: {FULL_LINE}\n")


@pytest.mark.parametrize("argv", [["graph", "x=1: x*2"], ["explain", "x=1: x*2"], ["--version"]])
def test_a_command_started_with_stdout_closed_runs_without_it(argv: list[str]) -> None:
    """``>&-``: Python starts with no ``sys.stdout``; the command runs, prints nothing and
    ends with status 0 (no traceback from the guard of a stream that is not there)."""
    shell = 'exec "$0" -m micrograd "$@" >&-'  # the shell starts Python with fd 1 closed
    proc = subprocess.run(
        ["sh", "-c", shell, sys.executable, *argv], stderr=subprocess.PIPE, timeout=120
    )
    assert (proc.returncode, "Traceback" in proc.stderr.decode()) == (0, False), proc.stderr


@pytest.mark.parametrize("argv", [["graph", "x=1: x*2"], ["explain", "x=1: x*2"], ["--help"]])
def test_a_real_closed_pipe_stops_quietly(argv: list[str]) -> None:
    """``| head -0``: a reader that has gone before the first write ends the command with
    status 141 and nothing on stderr (no BrokenPipeError, no "Exception ignored")."""
    proc = micrograd_process(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away at once
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert (proc.returncode, err.decode()) == (EXIT_BROKEN_PIPE, "")


# --- output paths: checked before the work ---


def path_options() -> list[tuple[list[str], str, argparse.Action]]:
    """(argv before the option, option, action) for every option naming a file or folder, in
    every command (bench's own parser too)."""
    parser = cli.build_parser()
    found = []
    todo: list[tuple[list[str], argparse.ArgumentParser]] = [([], parser)]
    while todo:
        prefix, current = todo.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [([*prefix, name], sub) for name, sub in action.choices.items()]
            elif action.metavar in ("FILE", "PATH", "DIR", "MODEL") and action.option_strings:
                found.append((prefix, action.option_strings[-1], action))
    for action in bench._command._parser()._actions:
        if action.metavar in ("PATH", "DIR"):
            found.append((["bench"], action.option_strings[-1], action))
    return found


def test_every_path_option_is_checked() -> None:
    """Each option that names a file or folder has a checked type (a file name, a folder name),
    and they are the expected ones."""
    names = sorted(" ".join([*prefix, option]) for prefix, option, _ in path_options())
    assert names == [
        "bench --json",
        "bench --markdown",
        "bench --plot",
        "bench --reference-dir",
        "explain --html",
        "export --onnx",
        "export --torch",
        "gpt sample --checkpoint",
        "gpt train --out",
        "gpt train --resume",
        "graph --html",
        "graph --output",
        "train --out",
        "train --resume",
    ]
    for _, option, action in path_options():
        checked = (
            cli._file_name,
            cli._folder_name,
            bench._command._output_path,
            bench._command._folder_path,
        )
        assert action.type in checked, option


EXAMPLE_ARGS = {"graph": ["x=1: x"], "explain": ["x=1: x"], "export": ["m.json"]}


@pytest.mark.parametrize(("prefix", "option"), [(p, o) for p, o, _ in path_options()])
def test_an_empty_path_or_a_folder_for_a_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    prefix: list[str],
    option: str,
) -> None:
    """``OPTION ''`` (which pathlib reads as the current folder) and, for a file, ``NAME/`` and
    ``NAME/.`` (which pathlib reads as NAME) are refused with status 2, one line naming the
    option."""
    monkeypatch.chdir(tmp_path)
    fake_suite(monkeypatch, then=lambda: pytest.fail("the run began"))
    kind = "folder" if option in ("--out", "--reference-dir") else "file"
    texts = ["", " "] if kind == "folder" else ["", "g.svg/", "sub/", "g.svg/.", "a/.."]
    for text in texts:
        code, out, err = run(capsys, *prefix, *EXAMPLE_ARGS.get(prefix[0], []), option, text)
        detail = f"got {text!r}" if not text.strip() else f"not a folder: {text!r}"
        expected = f"argument {option if option != '--output' else '-o/--output'}: expected a"
        assert (code, out) == (2, "")
        assert f"{expected} {kind} name, {detail}" in one_error_line(err), err
    assert list(tmp_path.iterdir()) == []


def test_graph_output_with_a_trailing_slash_writes_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The tester's case: ``-o gg.svg/`` used to write gg.svg; now status 2 and no file."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "graph", "x=1: x*2", "-o", "gg.svg/")
    assert (code, out, list(tmp_path.iterdir())) == (2, "", [])
    assert one_error_line(err) == (
        "micrograd graph: error: argument -o/--output: expected a file name, not a folder: "
        "'gg.svg/'"
    )


def test_graph_refuses_an_unknown_format_before_printing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A suffix graph cannot draw is a usage error before anything is printed or written."""
    html = tmp_path / "x.html"
    code, out, err = run(
        capsys, "graph", "x=1: x", "-o", str(tmp_path / "g.xyz"), "--html", str(html)
    )
    assert (code, out, html.exists()) == (2, "", False)
    assert "cannot tell the format of" in one_error_line(err)


@pytest.mark.parametrize(
    ("option", "make", "message"),
    [
        ("--json", lambda d: d, "is a folder: give a file name"),
        ("--markdown", lambda d: d, "is a folder: give a file name"),
        ("--json", lambda d: d / "no" / "r.json", "cannot write"),
        ("--markdown", lambda d: d / "no" / "r.md", "cannot write"),
        ("--plot", lambda d: d / "no" / "r.png", "cannot write"),
        ("--plot", lambda d: d / "r.xyz", "cannot tell the format of"),
        ("--plot", lambda d: d / "r", "cannot tell the format of"),
    ],
)
def test_bench_checks_its_output_paths_before_the_run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    option: str,
    make: Any,
    message: str,
) -> None:
    """An output path the end of the run could not write is status 2 before the run, one line
    naming the option; nothing is left behind."""
    fake_suite(monkeypatch, then=lambda: pytest.fail("the run began"))
    path = make(tmp_path)
    code, out, err = run(capsys, "bench", "--quick", option, str(path))
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert line.startswith(f"micrograd bench: error: argument {option}: ") and message in line
    assert list(tmp_path.iterdir()) == []


def test_bench_writes_that_fail_at_the_end_are_one_line_each(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A folder that vanishes during the run: that file's write is one line and status 1; the
    other file is written and the table printed."""
    gone = tmp_path / "gone"
    gone.mkdir()
    fake_suite(monkeypatch, then=gone.rmdir)
    md, js = gone / "r.md", tmp_path / "r.json"
    code, out, err = run(capsys, "bench", "--quick", "--markdown", str(md), "--json", str(js))
    assert (code, out, js.read_text(encoding="utf-8")) == (
        1,
        "| the table |\n",
        '{\n  "runs": []\n}\n',
    )
    assert one_error_line(err).startswith(
        f"micrograd bench: error: cannot write {md} (--markdown): "
    )


# --- numbers no float holds ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=1e309: x*2", "the value of x, '1e309', is too large for a float"),
        ("x=-1e309: x*2", "the value of x, '-1e309', is too large for a float"),
        ("x=1e-400: 1/x", "the value of x, '1e-400', is too small for a float, which would make"),
        ("x=1: x*1e400", "the number at column 3, '1e400', is too large for a float"),
        ("x=1: x*1" + "0" * 400, "the number at column 3, '100000000000000000000000000000000"),
        ("x=1: x + 1e-999", "the number at column 5, '1e-999', is too small for a float"),
    ],
)  # fmt: skip
def test_a_literal_no_float_holds_is_refused(
    capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """A number that would overflow to inf or underflow to 0 is refused like 'inf' is."""
    code, out, err = run(capsys, "graph", text)
    assert (code, out) == (2, "")
    assert one_error_line(err).startswith(f"micrograd graph: error: {message}")


@settings(max_examples=200, deadline=None)
@given(
    digits=st.text("0123456789", min_size=1, max_size=25),
    point=st.integers(0, 25),
    exponent=st.integers(-420, 420),
    where=st.sampled_from(["variable", "constant"]),
)
def test_a_literal_is_its_float_or_refused(
    digits: str, point: int, exponent: int, where: str
) -> None:
    """Any decimal literal is Python's float of it, or refused when that float is inf, or 0 from
    a number that is not 0; a subnormal is kept (5e-324 is 5e-324)."""
    mantissa = digits if point >= len(digits) else f"{digits[:point]}.{digits[point:]}"
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    literal = f"{mantissa}e{exponent}"
    expected = float(literal)
    text = f"x={literal}: x" if where == "variable" else f"x=1: x * {literal}"
    out = io.StringIO()
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        code = cli.main(["graph", text])
    refused = math.isinf(expected) or (expected == 0 and any(c in "123456789" for c in digits))
    if refused:
        assert code == 2
        assert (
            "too large for a float" in err.getvalue() or "too small for a float" in err.getvalue()
        )
    else:
        assert (code, out.getvalue().splitlines()[0]) == (0, f"value = {expected!r}")


# --- --samples ---


def test_samples_help_states_each_data_sets_least() -> None:
    """Every data set has a least --samples (or a fixed count), named in the help."""
    assert sorted([*MIN_SAMPLES, *FIXED_SAMPLES]) == sorted(DATASETS)
    text = " ".join(
        cli.build_parser().parse_known_args(["train"])[0].command_parser.format_help().split()
    )
    for name, least in MIN_SAMPLES.items():
        assert f"{name} {least}" in text
    assert "lecture always has 4" in text


@pytest.mark.parametrize("dataset", sorted(MIN_SAMPLES))
def test_samples_check_is_the_data_sets_own(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: str
) -> None:
    """The least --samples of each data set is the least its generator makes, and one fewer is
    a one-line usage error naming --samples."""
    least = MIN_SAMPLES[dataset]
    assert len(DATASETS[dataset](n_samples=least)[0]) == least
    if least > 1:
        with pytest.raises(ValueError, match="n_samples"):
            DATASETS[dataset](n_samples=least - 1)
        code, out, err = run(capsys, "train", "--dataset", dataset, "--samples", str(least - 1),
                             "--out", str(tmp_path / "run"))  # fmt: skip
        assert (code, out) == (2, "")
        assert one_error_line(err) == (
            f"micrograd train: error: --samples: {dataset} needs at least {least} points, "
            f"got {least - 1}"
        )


def test_the_lecture_notes_that_it_ignores_samples(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The lecture's set is its four points: --samples 5 is ignored, and not quietly."""
    code, out, err = run(capsys, "train", "--dataset", "lecture", "--samples", "5",
                         "--out", str(tmp_path / "run"))  # fmt: skip
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        "note: lecture is a fixed set of 4 points: --samples 5 is ignored"
    )
