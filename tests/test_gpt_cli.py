"""``micrograd gpt train`` and ``micrograd gpt sample``: short runs, files, Ctrl-C and resume bit
for bit, sampling with a prefix, and one-line errors for bad input."""

from __future__ import annotations

import csv
import importlib
import json
import math
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from clitools import one_error_line, png_size, python_prints, run
from micrograd import cli
from micrograd.gpt import GPT, command, sample_names
from micrograd.gpt.train import STEPPERS
from micrograd.nn import MLP, read_checkpoint


@pytest.fixture
def names_file(tmp_path: Path) -> Path:
    """The package's sample names as a text file, one per line."""
    path = tmp_path / "names.txt"
    path.write_text("\n".join(sample_names()) + "\n", encoding="utf-8")
    return path


def gpt_train(
    capsys: pytest.CaptureFixture[str], data: Path | None, out: Path, *argv: str
) -> tuple[int, str, str]:
    """``micrograd gpt train [DATA] --out OUT --no-progress --no-plots ARGV``."""
    head = [] if data is None else [str(data)]
    return run(
        capsys, "gpt", "train", *head, "--out", str(out), "--no-progress", "--no-plots", *argv
    )


def history(folder: Path) -> list[dict[str, str]]:
    with open(folder / "history.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_short_run_writes_the_checkpoint_history_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path
) -> None:
    """Three steps: model.json (weights, tokenizer, Adam), history.csv (one row a step, the
    summary's last numbers exactly) and loss.png, with a summary line."""
    out = tmp_path / "run"
    argv = ["gpt", "train", str(names_file), "--steps", "3", "--out", str(out), "--no-progress"]
    code, stdout, _ = run(capsys, *argv)
    assert code == 0
    rows = history(out)
    assert [r["step"] for r in rows] == ["0", "1", "2"]
    assert f"step 2: loss {rows[-1]['loss']}, lr {rows[-1]['lr']}" in stdout
    assert "3 of 3 steps in" in stdout
    assert "(144 documents, 26 characters)" in stdout
    doc = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["tokenizer"] == {"chars": "abcdefghijklmnopqrstuvwxyz"}
    assert doc["metadata"]["step"] == 3
    assert doc["optimizer"]["type"] == "Adam"
    assert len(doc["state"]) == 4192
    assert png_size(out / "loss.png")[0] > 0
    assert [float(r["lr"]) for r in rows] == [0.01, 0.01 - 0.01 / 3, 0.01 - 0.02 / 3]


def test_sample_prints_documents_with_the_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path
) -> None:
    """sample --prefix ka --num 7 prints 7 lines, each starting with ka; the same --seed prints
    the same lines."""
    out = tmp_path / "run"
    assert gpt_train(capsys, names_file, out, "--steps", "2")[0] == 0
    argv = ["gpt", "sample", "--checkpoint", str(out / "model.json"), "--num", "7"]
    code, first, _ = run(capsys, *argv, "--prefix", "ka", "--seed", "3")
    assert code == 0
    lines = first.splitlines()
    assert len(lines) == 7
    assert all(line.startswith("ka") for line in lines)
    assert run(capsys, *argv, "--prefix", "ka", "--seed", "3")[1] == first


def interrupt_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    """The next run gets a Ctrl-C (SIGINT) while its step number ``steps`` is recorded."""
    on_step = command._Run.on_step

    def on_step_then_ctrl_c(self: Any, loss: float, lr: float) -> None:
        on_step(self, loss, lr)
        if self.step == steps:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(command._Run, "on_step", on_step_then_ctrl_c)


@pytest.mark.parametrize("engine", ["value", "fast"])
def test_ctrl_c_then_resume_equals_the_uninterrupted_run_bit_for_bit(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    names_file: Path,
    engine: str,
) -> None:
    """Stopped by Ctrl-C after 3 of 6 steps and resumed as the message says (no --engine: the
    checkpoint's), history.csv and model.json are byte for byte those of the run that never
    stopped, on either engine."""
    options = ["--steps", "6", "--checkpoint-every", "2", "--seed", "7", "--engine", engine]
    assert gpt_train(capsys, names_file, tmp_path / "straight", *options)[0] == 0
    interrupt_after(monkeypatch, 3)
    code, _, err = gpt_train(capsys, names_file, tmp_path / "stopped", *options)
    assert code == cli.EXIT_INTERRUPTED
    assert "Continue with: micrograd gpt train --resume" in err
    monkeypatch.undo()
    checkpoint = tmp_path / "stopped" / "model.json"
    assert json.loads(checkpoint.read_text(encoding="utf-8"))["metadata"]["step"] == 3
    code, out, _ = run(capsys, "gpt", "train", "--resume", str(checkpoint), "--no-plots")
    assert code == 0
    assert f"steps 3-6, {engine} engine" in out
    for name in ("history.csv", "model.json"):
        expected = (tmp_path / "straight" / name).read_bytes()
        assert (tmp_path / "stopped" / name).read_bytes() == expected


def test_a_fast_run_stopped_by_ctrl_c_saves_what_the_value_engine_holds(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    names_file: Path,
) -> None:
    """--engine fast keeps its weights and Adam's state in arrays between checkpoints: stopped
    by Ctrl-C after 3 of 6 steps, its model.json holds the weights, Adam moments and step count,
    and history.csv the losses, of the Value engine's run stopped there, to rounding."""
    options = ["--steps", "6", "--seed", "7", "--checkpoint-every", "100"]
    interrupt_after(monkeypatch, 3)
    codes = [
        gpt_train(capsys, names_file, tmp_path / engine, *options, "--engine", engine)[0]
        for engine in ("value", "fast")
    ]
    assert codes == [cli.EXIT_INTERRUPTED] * 2
    value, fast = (read_checkpoint(tmp_path / name / "model.json") for name in ("value", "fast"))

    def numbers(doc: dict[str, Any]) -> list[float]:
        buffers = doc["optimizer"]["buffers"]
        return [*doc["state"].values(), *buffers["exp_avg"], *buffers["exp_avg_sq"]]

    expected = numbers(value) + [float(row["loss"]) for row in history(tmp_path / "value")]
    actual = numbers(fast) + [float(row["loss"]) for row in history(tmp_path / "fast")]
    assert (
        len(actual),
        all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12) for a, b in zip(actual, expected)),
        fast["optimizer"]["step_count"],
    ) == (len(expected), True, 3)


def test_without_a_file_it_learns_the_names_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No FILE: the names package's 5,163 first names."""
    code, out, _ = gpt_train(capsys, None, tmp_path / "run", "--steps", "1")
    assert code == 0
    assert "on names (5,163 documents, 26 characters)" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"anna\nbo\x00b\n", "line 2: holds the control character U+0000"),
        (b"anna\nb\xffb\n", "line 2: not UTF-8 text"),
        (b"\n  \n", "holds no documents"),
    ],
)
def test_bad_input_lines_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    """A file with a control character, bytes that are not UTF-8, or no text: status 2 and one
    error line naming the line; no run folder is made."""
    path = tmp_path / "docs.txt"
    path.write_bytes(content)
    code, _, err = gpt_train(capsys, path, tmp_path / "run")
    assert code == cli.EXIT_USAGE
    assert message in one_error_line(err)
    assert one_error_line(err).startswith("micrograd gpt train: error: ")
    assert not (tmp_path / "run").exists()


def test_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FILE that does not exist: status 2, naming it."""
    code, _, err = gpt_train(capsys, tmp_path / "nope.txt", tmp_path / "run")
    assert code == cli.EXIT_USAGE
    assert "there is no file" in one_error_line(err)


def test_engine_without_a_gpt_step_says_so(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    names_file: Path,
) -> None:
    """An engine that has registered no GPT step (fast, until the compiled path does) is a
    one-line usage error, not a silent fallback."""
    compiled = importlib.import_module("micrograd.fast._gpt")  # where fast registers its step
    monkeypatch.setattr(compiled, "register", lambda: None)
    monkeypatch.delitem(STEPPERS, "fast", raising=False)
    code, _, err = gpt_train(capsys, names_file, tmp_path / "run", "--engine", "fast")
    assert code == cli.EXIT_USAGE
    assert "--engine fast does not train the GPT yet" in one_error_line(err)


def test_resume_on_other_documents_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path
) -> None:
    """Resuming on documents other than the checkpoint's (a line changed, a line added, new
    characters) is status 2 and one line naming the file; the same documents moved elsewhere
    resume."""
    assert gpt_train(capsys, names_file, tmp_path / "run", "--steps", "1")[0] == 0
    checkpoint = str(tmp_path / "run" / "model.json")
    lines = sample_names()
    for i, changed in enumerate(
        [["emmy", *lines[1:]], [*lines, "zoe"], ["Zoë"], [lines[1], lines[0], *lines[2:]]]
    ):
        other = tmp_path / f"other{i}.txt"
        other.write_text("\n".join(changed) + "\n", encoding="utf-8")
        argv = ["gpt", "train", str(other), "--resume", checkpoint, "--steps", "2"]
        code, _, err = run(capsys, *argv, "--no-progress", "--no-plots")
        line = one_error_line(err)
        assert (code, f"cannot resume: {other} is not what {checkpoint} was trained on") == (
            cli.EXIT_USAGE,
            line[line.index("cannot") : line.index(" was trained on") + len(" was trained on")],
        ), line
    moved = tmp_path / "moved.txt"
    names_file.rename(moved)
    argv = ["gpt", "train", str(moved), "--resume", checkpoint, "--steps", "2"]
    assert run(capsys, *argv, "--no-progress", "--no-plots")[0] == 0


def test_resume_without_documents_in_the_checkpoint_is_the_tokenizers_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path
) -> None:
    """A checkpoint written before runs recorded their documents resumes on the same file; on
    documents with characters its tokenizer does not know, status 2 and one line."""
    assert gpt_train(capsys, names_file, tmp_path / "run", "--steps", "1")[0] == 0
    doc = read_checkpoint(tmp_path / "run" / "model.json")
    del doc["metadata"]["documents"]
    model = GPT.from_config(doc["config"])
    optimizer = command.make_optimizer(model)
    model.load_checkpoint(doc, optimizer)
    old = tmp_path / "old" / "model.json"
    old.parent.mkdir()
    model.save(old, optimizer=optimizer, metadata=doc["metadata"])
    other = tmp_path / "other.txt"
    other.write_text("Zoë\n", encoding="utf-8")
    code, _, err = run(capsys, "gpt", "train", str(other), "--resume", str(old), "--steps", "2")
    assert code == cli.EXIT_USAGE
    assert "tokenizer does not know" in one_error_line(err)
    argv = ["gpt", "train", str(names_file), "--resume", str(old), "--steps", "2", "--no-plots"]
    assert run(capsys, *argv, "--no-progress")[0] == 0


def test_sample_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path
) -> None:
    """No checkpoint, an MLP's checkpoint, or a prefix outside the vocabulary: status 2 and one
    line saying so."""
    code, _, err = run(capsys, "gpt", "sample", "--checkpoint", str(tmp_path / "none.json"))
    assert (code, "no checkpoint at" in one_error_line(err)) == (2, True)
    MLP(2, [3, 1]).save(tmp_path / "mlp.json")
    code, _, err = run(capsys, "gpt", "sample", "--checkpoint", str(tmp_path / "mlp.json"))
    line = one_error_line(err)
    assert (code, "not a checkpoint of micrograd gpt train (it holds an MLP" in line) == (2, True)
    assert gpt_train(capsys, names_file, tmp_path / "run", "--steps", "1")[0] == 0
    checkpoint = str(tmp_path / "run" / "model.json")
    code, _, err = run(capsys, "gpt", "sample", "--checkpoint", checkpoint, "--prefix", "K")
    assert (code, "prefix" in one_error_line(err)) == (2, True)
    code, _, err = run(capsys, "gpt", "sample", "--checkpoint", checkpoint, "--temperature", "0")
    assert code == 2


def test_a_loss_that_is_not_finite_stops_the_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    names_file: Path,
) -> None:
    """A step whose loss is nan stops with status 1, naming the step and the checkpoint kept (the
    last one whose steps were all finite)."""
    value_step = STEPPERS["value"]

    def nan_at_step_3(model: Any, optimizer: Any) -> Any:
        step = value_step(model, optimizer)
        done = [0]

        def wrapped(tokens: list[int], lr: float) -> float:
            done[0] += 1
            loss = step(tokens, lr)
            return math.nan if done[0] == 4 else loss

        return wrapped

    monkeypatch.setitem(STEPPERS, "value", nan_at_step_3)
    code, _, err = gpt_train(capsys, names_file, tmp_path / "run", "--checkpoint-every", "2")
    assert code == cli.EXIT_FAILURE
    line = one_error_line(err)
    assert "training diverged at step 3: the loss is nan" in line
    assert "(step 2)" in line
    assert len(history(tmp_path / "run")) == 2


def test_resume_from_an_mlp_checkpoint_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--resume of a model.json that micrograd train wrote: status 2, saying what it is not."""
    MLP(2, [3, 1]).save(tmp_path / "model.json")
    code, _, err = run(capsys, "gpt", "train", "--resume", str(tmp_path / "model.json"))
    assert code == cli.EXIT_USAGE
    assert "is not a checkpoint of micrograd gpt train (it holds an MLP" in one_error_line(err)


def test_long_documents_are_noted_and_too_many_characters_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Documents longer than the block are learnt in part, and the run says so; a file of more
    distinct characters than a vocabulary holds is one line with status 2."""
    path = tmp_path / "docs.txt"
    path.write_text("anna\n" + "b" * 30 + "\n", encoding="utf-8")
    code, out, _ = gpt_train(capsys, path, tmp_path / "run", "--steps", "2")
    assert code == 0
    assert "note: 1 of 2 documents are longer than 15 characters" in out
    path.write_text("".join(chr(0x4E00 + i) for i in range(1001)) + "\n", encoding="utf-8")
    code, _, err = gpt_train(capsys, path, tmp_path / "run2")
    assert code == cli.EXIT_USAGE
    assert "holds 1,001 distinct characters" in one_error_line(err)


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("steps", -5),
        ("steps", 2.5),
        ("lr", "x"),
        ("seed", None),
        ("data", 3),
        ("documents", {"count": 144}),
        ("documents", {"count": "144", "sha256": "0"}),
        ("documents", "0"),
    ],
)
def test_resume_refuses_settings_the_options_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path, key: str, bad: Any
) -> None:
    """A checkpoint whose saved settings (or record of its documents) were edited to values the
    options refuse: status 2 and one line, never a traceback."""
    assert gpt_train(capsys, names_file, tmp_path / "run", "--steps", "1")[0] == 0
    doc = read_checkpoint(tmp_path / "run" / "model.json")
    edited = doc["metadata"] if key == "documents" else doc["metadata"]["settings"]
    edited[key] = bad
    model = GPT.from_config(doc["config"])
    model.load_checkpoint(doc)
    model.save(tmp_path / "edited.json", metadata=doc["metadata"])
    code, _, err = run(capsys, "gpt", "train", "--resume", str(tmp_path / "edited.json"))
    assert code == cli.EXIT_USAGE
    assert "not a checkpoint of micrograd gpt train (its metadata" in one_error_line(err)


def test_the_checkpoint_is_the_file_model_save_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names_file: Path
) -> None:
    """The checkpoints written beside the training are byte for byte what ``GPT.save`` writes for
    the same weights, Adam state and metadata, and history.csv holds every step's row."""
    out = tmp_path / "run"
    assert gpt_train(capsys, names_file, out, "--steps", "5", "--checkpoint-every", "2")[0] == 0
    doc = read_checkpoint(out / "model.json")
    model = GPT.from_config(doc["config"])
    optimizer = command.make_optimizer(model)
    metadata = model.load_checkpoint(doc, optimizer)
    model.save(tmp_path / "again.json", optimizer=optimizer, metadata=metadata)
    rows = [[float(r["loss"]), float(r["lr"])] for r in history(out)]
    assert (tmp_path / "again.json").read_bytes() == (out / "model.json").read_bytes()
    assert (metadata["step"], rows) == (5, metadata["history"])


@pytest.mark.parametrize("engine", ["value", "fast"])
def test_a_checkpoint_that_cannot_be_written_stops_the_run_and_keeps_the_last_one(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    names_file: Path,
    engine: str,
) -> None:
    """The disk fails at the second checkpoint (written while training goes on): the run stops
    with status 1 saying so at the next, and model.json and history.csv stay the first's."""
    writes: list[str] = []
    atomic_write = command._atomic_write

    def fail_second_checkpoint(path: str, text: str) -> None:
        writes.append(Path(path).name)
        if len(writes) == 3:
            raise OSError(28, "No space left on device")
        atomic_write(path, text)

    monkeypatch.setattr(command, "_atomic_write", fail_second_checkpoint)
    options = ["--steps", "9", "--checkpoint-every", "2", "--engine", engine]
    code, _, err = gpt_train(capsys, names_file, tmp_path / "run", *options)
    assert code == cli.EXIT_FAILURE
    assert "cannot save the checkpoint" in one_error_line(err)
    assert "No space left on device" in one_error_line(err)
    assert read_checkpoint(tmp_path / "run" / "model.json")["metadata"]["step"] == 2
    assert (len(history(tmp_path / "run")), writes) == (
        2,
        ["history.csv", "model.json", "history.csv"],
    )


def test_a_run_stopped_at_once_names_the_checkpoint_its_writer_was_still_writing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    names_file: Path,
) -> None:
    """A second Ctrl-C (KeyboardInterrupt) while a slow disk still writes step 2's checkpoint:
    the run waits for it, says it kept step 2, and model.json holds step 2."""
    atomic_write = command._atomic_write

    def slow_disk(path: str, text: str) -> None:
        time.sleep(0.3)
        atomic_write(path, text)

    def ctrl_c_at_step_3(self: Any, loss: float, lr: float) -> None:
        if len(self.history) == 2:
            raise KeyboardInterrupt
        self.history.append([loss, lr])

    monkeypatch.setattr(command, "_atomic_write", slow_disk)
    monkeypatch.setattr(command._Run, "on_step", ctrl_c_at_step_3)
    out = tmp_path / "run"
    code, _, err = gpt_train(capsys, names_file, out, "--steps", "6", "--checkpoint-every", "2")
    assert code == cli.EXIT_INTERRUPTED
    assert f"interrupted at once; kept {out / 'model.json'} (step 2)" in err
    assert read_checkpoint(out / "model.json")["metadata"]["step"] == 2


def test_after_a_failed_write_the_checkpoint_kept_is_the_one_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 1's checkpoint is written, step 2's fails: settle() raises the OSError once, and from
    then on the run says it kept step 1, which model.json holds."""
    atomic_write = command._atomic_write

    def full_disk_after_step_1(path: str, text: str) -> None:
        if '"step":2' in text:
            raise OSError(28, "No space left on device")
        atomic_write(path, text)

    monkeypatch.setattr(command, "_atomic_write", full_disk_after_step_1)
    tokenizer = command.CharTokenizer.from_documents(["ab"])
    model = GPT(tokenizer.vocab_size, n_embd=4, n_head=1, block_size=4)
    settings = {**command.TRAIN_DEFAULTS, "steps": 2}
    optimizer = command.make_optimizer(model)
    documents = command._fingerprint(["ab"])
    run = command._Run(model, optimizer, tokenizer, settings, tmp_path, [], "value", documents)
    run.on_step(1.0, 0.01)
    run.save()
    run.on_step(0.5, 0.005)
    run.save()
    with pytest.raises(OSError, match="No space left"):
        run.settle()
    assert (run.kept(), run.kept()) == (f"kept {tmp_path / 'model.json'} (step 1)",) * 2
    assert read_checkpoint(tmp_path / "model.json")["metadata"]["step"] == 1


# A run of the command in a fresh process (its arguments replace ARGV) that prints its exit
# status and the top-level packages it imported.
IMPORTS_OF_A_RUN = r"""
import contextlib, io, sys
from micrograd.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(ARGV)
print(code, " ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize("engine", ["value", "fast"])
def test_a_run_without_plots_or_progress_bar_loads_neither_library(
    tmp_path: Path, names_file: Path, engine: str
) -> None:
    """--no-plots --no-progress: the run never imports matplotlib, tqdm or PyTorch (importing
    them alone takes longer than the fast engine's bookkeeping of 1,000 steps)."""
    argv = ["gpt", "train", str(names_file), "--steps", "1", "--engine", engine]
    argv += ["--out", str(tmp_path / "run"), "--no-plots", "--no-progress"]
    status, *loaded = python_prints(IMPORTS_OF_A_RUN.replace("ARGV", repr(argv))).split()
    assert (status, {"matplotlib", "tqdm", "torch", "PIL"} & set(loaded)) == ("0", set())
