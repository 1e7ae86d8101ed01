"""``micrograd train``'s bookkeeping while it trains: history, checkpoints written once their
loss is known to be good, the blow-up watch."""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from micrograd._interrupt import StopRequest
from micrograd.cli import (
    EXIT_USAGE,
    CommandError,
    _one_line,
)
from micrograd.nn import MLP, CheckpointError, _atomic_write
from micrograd.optim import Optimizer
from micrograd.train import StepRecord
from micrograd.train_command.files import HISTORY_FILE, MODEL_FILE

# A run whose loss stays above BLOWUP_FACTOR times its reference for BLOWUP_STEPS steps in a row
# has blown up (not only NaN or inf): it stops with status 1. The reference is the run's first
# loss (step 0 of history.csv), or 1.0 if that is smaller: an untrained net's loss is about 1
# for every loss here. Measured: runs that train spike above 10x for at most 2 steps in a row.
BLOWUP_FACTOR = 10.0
BLOWUP_STEPS = 10


def _history_row(step: int, loss: float, accuracy: float, lr: float) -> str:
    """One row of history.csv (exact floats); the summary line prints the last one the same way."""
    return f"{step},{loss!r},{accuracy!r},{lr!r}"


class _SavedOptimizer:
    """An optimizer's ``state_dict()`` as it was at some step, for ``Module.save``."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def state_dict(self) -> dict[str, Any]:
        """The state as it was."""
        return self.state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Not loaded into: it only remembers."""
        raise TypeError("a saved optimizer state is read-only")


@dataclass
class _Snapshot:
    """Everything a checkpoint holds, taken at a save point and written once its loss is known."""

    step: int
    weights: dict[str, float]
    optimizer: dict[str, Any]
    sampler: list[Any]
    loss: float | None


@dataclass
class Run:
    """One training run's bookkeeping: history, progress bar, checkpoints, the blow-up watch.

    A checkpoint is "good" when the loss of its weights was measured and is finite and not blown
    up. So the state at a save point is held in memory and written one step later, when the
    next step's loss (the loss of exactly those weights) turns out good; history.csv is written
    with it, first, so that it always holds every step the model.json beside it has taken.
    """

    model: MLP
    optimizer: Optimizer
    sampler: random.Random
    settings: dict[str, Any]
    out: Path
    start: int
    every: int
    engine: str
    stop: StopRequest
    bar: Any = None
    step: int = 0  # completed steps
    first: int = 0  # the step of history's first row
    saved_step: int | None = None
    pending: _Snapshot | None = None
    high: int = 0  # steps in a row with the loss above the blow-up line
    blown_up: StepRecord | None = None
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.step = self.first = self.start
        # The same architecture, to write a snapshot's weights without touching the model.
        self.shadow = MLP.from_config(self.model.config())

    @property
    def checkpoint(self) -> Path:
        """Where the model is saved."""
        return self.out / MODEL_FILE

    def resume_history(
        self, losses: list[float], accuracies: list[float], lrs: list[float]
    ) -> None:
        """Continue the history of the run's first ``start`` steps (and its blow-up watch)."""
        self.losses, self.accuracies, self.lrs = list(losses), list(accuracies), list(lrs)
        self.first = 0
        self.high = 0
        for loss in reversed(self.losses):
            if loss <= self.blowup_line:
                break
            self.high += 1

    @property
    def blowup_line(self) -> float:
        """The loss above which a step counts towards a blow-up (inf before the first step)."""
        return BLOWUP_FACTOR * max(self.losses[0], 1.0) if self.losses else math.inf

    def on_step(self, record: StepRecord) -> bool:
        """Record a step, move the bar, checkpoint now and then; True asks fit to stop."""
        self.losses.append(record.loss)
        self.accuracies.append(record.accuracy)
        self.lrs.append(record.lr)
        self.high = self.high + 1 if record.loss > self.blowup_line else 0
        if self.pending is not None:  # record.loss is the loss of the pending weights
            if self.high == 0:
                self.commit(self.pending)
            self.pending = None
        self.step = self.start + record.step + 1
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"loss={record.loss:.4f} acc={record.accuracy:.1%} lr={record.lr:.3g}",
                refresh=False,
            )
            self.bar.update(1)
        if self.high >= BLOWUP_STEPS:
            self.blown_up = record
            return True
        if self.step % self.every == 0:
            self.pending = self.snapshot()
        return self.stop.requested

    def snapshot(self) -> _Snapshot:
        """The state now, after ``self.step`` steps."""
        state = self.sampler.getstate()
        return _Snapshot(
            step=self.step,
            weights=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            sampler=[state[0], list(state[1]), state[2]],
            loss=self.losses[-1] if self.losses else None,
        )

    def save(self) -> None:
        """Write the checkpoint of the state now (the end of a run, or a stop asked for)."""
        if self.saved_step != self.step:
            self.commit(self.snapshot())

    def commit(self, snap: _Snapshot) -> None:
        """Write history.csv up to the snapshot's step, then its checkpoint (both atomically)."""
        from micrograd import __version__

        self.write_history(snap.step)
        metadata = {
            "step": snap.step,
            "settings": self.settings,
            "engine": self.engine,
            "loss": snap.loss,
            "sampler": snap.sampler,
            "micrograd": __version__,
        }
        self.shadow.load_state_dict(snap.weights)
        optimizer = _SavedOptimizer(snap.optimizer)
        self.shadow.save(self.checkpoint, optimizer=optimizer, metadata=metadata)
        self.saved_step = snap.step

    def write_history(self, upto: int | None = None) -> Path:
        """history.csv: step, loss, accuracy, lr of every step before ``upto`` (default all)."""
        path = self.out / HISTORY_FILE
        count = len(self.losses) if upto is None else upto - self.first
        rows = zip(self.losses[:count], self.accuracies, self.lrs, strict=False)
        lines = ["step,loss,accuracy,lr"]
        lines += [_history_row(self.first + k, *row) for k, row in enumerate(rows)]
        _atomic_write(os.fspath(path), "\n".join(lines) + "\n")
        return path


def read_history(path: Path, steps: int) -> tuple[list[float], list[float], list[float]] | None:
    """The first ``steps`` rows of a history.csv, or None if it does not hold them all."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[1 : steps + 1]
        rows = [line.split(",") for line in lines]
        if len(rows) != steps or any(int(r[0]) != k for k, r in enumerate(rows)):
            return None
        return (
            [float(r[1]) for r in rows],
            [float(r[2]) for r in rows],
            [float(r[3]) for r in rows],
        )
    except (OSError, ValueError, IndexError):
        return None


def left_behind(run: Run, what: str) -> str:
    """What a stopped run leaves behind: ``kept <what> <path> (step N)``, or no checkpoint."""
    if run.saved_step is None:
        return "no checkpoint was written"
    return f"kept {what} {run.checkpoint} (step {run.saved_step})"


def load_resumed(model: MLP, optimizer: Optimizer, path: str, doc: dict[str, Any]) -> None:
    """Load a checkpoint's weights, and its optimizer state when it is the same optimizer.

    A checkpoint that does not fit (weights, or the optimizer's settings or buffers) changes
    neither and is a one-line error.
    """
    state = doc.get("optimizer")
    name = type(optimizer).__name__
    same = isinstance(state, dict) and state.get("type") == name
    try:
        model.load_checkpoint(doc, optimizer if same else None)
    except CheckpointError as e:
        raise CommandError(f"cannot resume from {path}: {_one_line(e)}", EXIT_USAGE) from None
    if isinstance(state, dict) and not same:
        print(f"note: the checkpoint holds {state.get('type')} state; starting a fresh {name}")
