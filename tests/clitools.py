"""Helpers for the tests of the micrograd command: run it in this process, read a run's files."""

from __future__ import annotations

import csv
import json
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from micrograd.cli import main
from micrograd.train import StepRecord
from micrograd.train_command import files, loop

# The module whose Run keeps a training run's books, and the one that locks its folder.
RUN = loop
FILES = files


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command in this process: exit status, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys: pytest.CaptureFixture[str], out: Path, *argv: str) -> tuple[int, str, str]:
    """``micrograd train --out OUT`` without a progress bar (and with plots unless asked)."""
    return run(capsys, "train", "--out", str(out), "--no-progress", *argv)


def rows(folder: Path) -> list[dict[str, str]]:
    """history.csv's rows in ``folder``, as the text written."""
    with open(folder / "history.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def metadata(folder: Path) -> dict[str, Any]:
    """The metadata of the checkpoint in ``folder``."""
    doc = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    meta: dict[str, Any] = doc["metadata"]
    return meta


def one_error_line(err: str) -> str:
    """The single ``error:`` line of stderr, its last line (argparse may print usage above)."""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert err.strip().splitlines()[-1] == errors[0]
    return errors[0]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, read from its header (which must be a PNG's)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def interrupt_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    """Make the next run get a Ctrl-C (SIGINT) while its step number ``steps`` is under way."""
    on_step = RUN.Run.on_step

    def on_step_then_ctrl_c(self: Any, record: StepRecord) -> bool:
        if self.step == steps - 1:
            signal.raise_signal(signal.SIGINT)
        return on_step(self, record)

    monkeypatch.setattr(RUN.Run, "on_step", on_step_then_ctrl_c)


def sigint_default() -> None:
    """For ``preexec_fn``: the child gets Ctrl-C as a terminal's program does, even when this
    process was started with SIGINT ignored (``nohup``, a background job of a script), which a
    child would inherit and micrograd would then rightly keep ignoring."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def python_prints(code: str) -> str:
    """What a fresh Python (this interpreter) prints running ``code`` (it must succeed)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout
