"""``micrograd train``: settings, the run folder, checkpoints, the blow-up watch, the summary.

The parser is micrograd.cli's; ``run`` is the command, called with its parsed options.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from micrograd import _check as check
from micrograd._extras import install_hint
from micrograd._interrupt import StopRequest
from micrograd.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MAX_HIDDEN_LAYERS,
    RANGES,
    SCHEDULES,
    TRAIN_DEFAULTS,
    CommandError,
    _one_line,
)
from micrograd.data import DATASETS
from micrograd.nn import ACTIVATIONS, MLP, CheckpointError, _atomic_write, read_checkpoint
from micrograd.optim import OPTIMIZERS, CosineLR, LinearDecay, Optimizer, Schedule, StepLR, Warmup
from micrograd.train import (
    LOSS_KINDS,
    StepRecord,
    TrainingDiverged,
    accuracy,
    fit,
    predict_scores,
    resolve_engine,
)

__all__ = ["HIDDEN_ACTIVATIONS", "run"]

DEFAULT_LR = {"sgd": 1.0, "adam": 0.01, "adamw": 0.01}
# Plain SGD's step is the gradient's size, so where the gradient is large its default lr is
# smaller. MSE's gradient grows with the error (hinge's is bounded): at lr 1.0 it blows up on
# every data set (moons: 1.25 -> 4.7e18). The lecture's inputs reach 3 (the others' about 1):
# at lr 1.0 its net often gets stuck at 3 of 4 points, and mse at 0.02 spikes. Measured: these
# train every data set in the default 100 steps, for seeds 7, 42 and 1337.
SGD_LR = {("mse", "lecture"): 0.01, ("mse", None): 0.02, (None, "lecture"): 0.1}

HIDDEN_ACTIVATIONS = [a for a in ACTIVATIONS if a != "linear"]

MODEL_FILE = "model.json"
HISTORY_FILE = "history.csv"
LOSS_PLOT = "loss.png"
BOUNDARY_PLOT = "boundary.png"
REPORT_FILE = "report.html"

# Points per step times parameters: what one step's graph grows with (about 350 bytes each on
# the scalar engine, twice that while the fast engine traces). The default run uses 33,700.
MAX_WORK = 1_000_000


# --- train: settings ---


def read_resumed(path: str) -> dict[str, Any]:
    """The checkpoint ``--resume`` names, read once and checked by nn (size, JSON, checksum);
    a missing or damaged file is a one-line usage error. (``micrograd gpt train`` uses it too.)"""
    try:
        return read_checkpoint(path)
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(f"cannot resume: {_one_line(e)}", EXIT_USAGE) from None
    except OSError as e:
        raise CommandError(f"cannot resume from {path}: {_one_line(e)}", EXIT_USAGE) from None


def _read_checkpoint(path: str) -> dict[str, Any]:
    """A checkpoint to resume from that holds an MLP (read_resumed, then its config)."""
    doc = read_resumed(path)
    config = doc.get("config")
    if not (
        isinstance(config, dict)
        and isinstance(config.get("nouts"), list)
        and isinstance(config.get("activations"), list)
    ):
        raise CommandError(f"cannot resume: {path} holds no MLP config", EXIT_USAGE)
    step = doc.get("metadata", {}).get("step", 0)
    if type(step) is not int or not 0 <= step < 2**63:
        raise CommandError(
            f"cannot resume: {path} records step {check.describe(step)}, "
            "not an integer in [0, 2**63)",
            EXIT_USAGE,
        )
    return doc


def _saved_settings(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The settings and the completed steps a checkpoint records (its model's shape if none)."""
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    settings = metadata.get("settings")
    step = metadata.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        step = 0
    if isinstance(settings, dict):
        return {k: v for k, v in settings.items() if k in TRAIN_DEFAULTS}, step
    # A model saved by nn.save, not by this command: take its shape, the rest from defaults.
    config = doc["config"]
    nouts, acts = list(config["nouts"]), list(config["activations"])
    shape: dict[str, Any] = {"layers": nouts[:-1]}
    if len(acts) > 1:
        shape["activation"] = acts[0]
    return shape, step


def _resolve_settings(explicit: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    """Defaults, overridden by a checkpoint's settings, overridden by the command line.

    The lr may stay None (the default for the optimizer and loss, chosen once the loss is).
    """
    settings = {**TRAIN_DEFAULTS, **saved}
    # A new optimizer, loss or data set without its own lr gets the default for it (a new data
    # set also the default loss).
    for name in ("optimizer", "loss", "dataset"):
        if name in explicit and explicit[name] != saved.get(name):
            settings["lr"] = None
    if "dataset" in explicit and explicit["dataset"] != saved.get("dataset"):
        settings["loss"] = None
    settings.update(explicit)
    _check_settings(settings)
    return settings


def _default_lr(optimizer: str, loss: str, dataset: str) -> float:
    """The learning rate an optimizer starts from when none is given (see DEFAULT_LR, SGD_LR)."""
    if optimizer != "sgd":
        return DEFAULT_LR[optimizer]
    for key in ((loss, dataset), (loss, None), (None, dataset)):
        if key in SGD_LR:
            return SGD_LR[key]
    return DEFAULT_LR["sgd"]


def _check_settings(s: dict[str, Any]) -> None:
    """Refuse settings (from a hand-edited checkpoint) that the options would have refused."""
    layers = s["layers"]
    checks = {
        "dataset": s["dataset"] in DATASETS,
        "layers": isinstance(layers, list)
        and len(layers) <= MAX_HIDDEN_LAYERS
        and all(n in RANGES["layers"] for n in layers),
        "activation": s["activation"] in HIDDEN_ACTIVATIONS,
        "loss": s["loss"] is None or s["loss"] in LOSS_KINDS,
        "optimizer": s["optimizer"] in OPTIMIZERS,
        "lr": s["lr"] is None or s["lr"] in RANGES["lr"],
        "schedule": s["schedule"] in SCHEDULES,
        "batch_size": s["batch_size"] is None or s["batch_size"] in RANGES["batch_size"],
    }
    for name in ("samples", "noise", "warmup", "steps", "l2", "seed"):
        checks[name] = s[name] in RANGES[name]
    bad = [f"{k}={s[k]!r}" for k, ok in checks.items() if not ok]
    if bad:
        raise CommandError(f"the checkpoint's settings are not valid: {', '.join(bad)}", EXIT_USAGE)


def _output_width(loss: str, classes: int, dataset: str) -> int:
    """The size of the output layer: one score, or one per class."""
    if loss in ("hinge", "bce"):
        if classes > 2:
            raise CommandError(
                f"--loss {loss} needs two classes, but {dataset} has {classes}: "
                "use --loss cross_entropy or mse",
                EXIT_USAGE,
            )
        return 1
    if loss == "mse":
        return 1 if classes <= 2 else classes
    return max(classes, 2)


def _schedule(name: str, lr: float, steps: int, warmup: int) -> Schedule:
    """The learning rate at each step of the whole run."""
    span = max(1, steps - warmup)
    base: Schedule
    if name == "linear":
        base = LinearDecay(lr, lr * 0.1, span)  # micrograd's demo: 1.0 - 0.9 * k / 100
    elif name == "cosine":
        base = CosineLR(lr, span)
    elif name == "step":
        base = StepLR(lr, step_size=max(1, span // 3), gamma=0.1)
    else:
        base = LinearDecay(lr, lr, span)  # constant
    return Warmup(base, warmup) if warmup else base


# --- train: the run ---


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
class _Run:
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


def _read_history(path: Path, steps: int) -> tuple[list[float], list[float], list[float]] | None:
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


def _pick_engine(choice: str) -> str:
    """'fast' or 'value' (train.resolve_engine), a missing NumPy as a one-line error."""
    try:
        return resolve_engine(choice)
    except ImportError as e:
        raise CommandError(str(e)) from None


def _progress_bar(choice: bool | None, total: int, initial: int, label: str) -> Any:
    """A tqdm bar on stderr, or None; with --progress (or a terminal) tqdm is required."""
    if choice is False or (choice is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        raise CommandError(
            f"the progress bar needs tqdm: {install_hint('cli')} (or pass --no-progress)"
        ) from None
    return tqdm(total=total, initial=initial, desc=label, unit="step", file=sys.stderr)


def _require_plotting() -> None:
    try:
        importlib.import_module("matplotlib")
        importlib.import_module("numpy")
    except ImportError:
        raise CommandError(
            f"the plots need matplotlib and NumPy: {install_hint('plot')} (or pass --no-plots)"
        ) from None


def run(ns: argparse.Namespace) -> int:
    """``micrograd train`` with its parsed options; the exit status."""
    explicit = {k: getattr(ns, k) for k in TRAIN_DEFAULTS if hasattr(ns, k)}
    doc: dict[str, Any] | None = None
    saved: dict[str, Any] = {}
    start = 0
    if ns.resume is not None:
        _check_resume_path(ns.resume)
        doc = _read_checkpoint(ns.resume)
        saved, start = _saved_settings(doc)
    s = _resolve_settings(explicit, saved)
    try:
        X, y = DATASETS[s["dataset"]](n_samples=s["samples"], noise=s["noise"], seed=s["seed"])
    except ValueError as e:
        raise CommandError(f"{s['dataset']}: {e}", EXIT_USAGE) from None
    classes = max(y) + 1
    loss = s["loss"] or ("hinge" if classes <= 2 else "cross_entropy")
    s["loss"] = loss
    if s["lr"] is None:
        s["lr"] = _default_lr(s["optimizer"], loss, s["dataset"])
    width = _output_width(loss, classes, s["dataset"])
    _check_work(s, len(X[0]), width, len(X))
    _check_plan(s, len(X))
    if ns.out is not None:
        out = Path(ns.out)
    elif ns.resume is not None:
        out = Path(ns.resume).parent
    else:
        out = Path("runs") / s["dataset"]
    engine = _pick_engine(ns.engine)
    if not ns.no_plots:
        _require_plotting()

    random.seed(s["seed"])
    model = MLP(
        len(X[0]), [*s["layers"], width], activation=s["activation"], out_activation="linear"
    )
    optimizer = OPTIMIZERS[s["optimizer"]](model.parameters(), lr=s["lr"])
    sampler = random.Random(s["seed"])  # draws the batches
    if ns.resume is not None and doc is not None:
        _load_resumed(model, optimizer, ns.resume, doc)
        _restore_sampler(sampler, doc, ns.resume, start, s["batch_size"])
    total = s["steps"]
    if start >= total:
        print(f"{ns.resume} is at step {start} of {total}: nothing to do (raise --steps)")
        return EXIT_OK
    resumed_here = ns.resume is not None and _same_file(Path(ns.resume), out / MODEL_FILE)
    with _run_folder(out, keep_run=resumed_here):
        run = _Run(
            model, optimizer, sampler, s, out, start, ns.checkpoint_every, engine, StopRequest()
        )
        if start:
            earlier = _read_history(Path(ns.resume).parent / HISTORY_FILE, start)
            if earlier is None:
                print(
                    f"note: no history of steps 0-{start - 1}; history.csv starts at step {start}"
                )
            else:
                run.resume_history(*earlier)
        return _train_run(run, X, y, ns.progress, ns.no_plots, ns.report)


def _train_run(
    run: _Run,
    X: list[list[float]],
    y: list[int],
    progress: bool | None,
    no_plots: bool,
    report: bool = False,
) -> int:
    """Train in the locked run folder: print, fit, stop on a blow-up or Ctrl-C, finish."""
    from micrograd.explorer.report import Checkpoints

    weights = Checkpoints(run.model, run.every, run.start) if report else None
    if weights is not None:
        weights.take(run.start)
    s, start, total = run.settings, run.start, run.settings["steps"]
    base = _schedule(s["schedule"], s["lr"], total, s["warmup"])

    def schedule(k: int) -> float:
        return base(start + k)

    batch = "full batch" if s["batch_size"] is None else f"batches of {s['batch_size']}"
    print(
        f"training {run.model!r} on {s['dataset']} ({len(X)} points, {max(y) + 1} classes): "
        f"{s['loss']} loss, {s['optimizer']} lr {s['lr']:g} ({s['schedule']}), {batch}, "
        f"steps {start}-{total}, {run.engine} engine"
    )
    run.bar = _progress_bar(progress, total, start, s["dataset"])
    run.pending = run.snapshot()  # the state at the start is a checkpoint once its loss is good
    began = time.perf_counter()
    try:
        with run.stop.installed():
            fit(
                run.model,
                X,
                y,
                loss=s["loss"],
                optimizer=run.optimizer,
                steps=total - start,
                batch_size=s["batch_size"],
                schedule=schedule,
                l2=s["l2"],
                rng=run.sampler,
                callback=run.on_step if weights is None else weights.wrap(run.on_step),
                engine=run.engine,
            )
    except TrainingDiverged as e:
        _close(run.bar)
        cause = f"the loss or a gradient is not finite (loss {e.loss})"
        raise CommandError(_diverged(run, start + e.step, cause)) from None
    except OSError as e:  # a checkpoint could not be written
        _close(run.bar)
        raise CommandError(f"cannot save the checkpoint in {run.out}: {_one_line(e)}") from None
    except KeyboardInterrupt:
        _close(run.bar)
        kept = _kept(run, "the checkpoint")
        print(f"micrograd train: interrupted at once; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    seconds = time.perf_counter() - began
    _close(run.bar)
    if run.blown_up is not None:
        cause = (
            f"the loss stayed above {run.blowup_line:.4g} ({BLOWUP_FACTOR:g} x max(first loss, 1)) "
            f"for {BLOWUP_STEPS} steps in a row (now {run.blown_up.loss:.4g})"
        )
        raise CommandError(_diverged(run, start + run.blown_up.step, cause))
    try:
        code = _finish(run, X, y, seconds, no_plots)
        if weights is not None:
            _write_report(run, X, y, seconds, weights)
        return code
    except OSError as e:
        raise CommandError(f"cannot write into {run.out}: {_one_line(e)}") from None


def _write_report(
    run: _Run, X: list[list[float]], y: list[int], seconds: float, weights: Any
) -> None:
    """``--report``: report.html in the run folder (micrograd.explorer.report)."""
    from micrograd.explorer.report import training_report

    weights.take(run.step)
    path = training_report(
        run.model,
        X,
        y,
        loss=run.settings["loss"],
        losses=run.losses,
        accuracies=run.accuracies,
        checkpoints=weights.steps,
        settings=run.settings,
        first_step=run.first,
        summary=f"{run.step} steps ({seconds:.1f} s of training on the {run.engine} engine).",
        path=run.out / REPORT_FILE,
    )
    print(f"wrote {path}")


def _diverged(run: _Run, step: int, cause: str) -> str:
    """The one-line message of a run that blew up: when, why, what was kept, what to try."""
    kept = _kept(run, "the last good checkpoint")
    return f"training diverged at step {step}: {cause}; {kept}. Try a smaller --lr"


def _check_resume_path(path: str) -> None:
    """A usage error saying what to do when ``--resume`` names no file."""
    where = Path(path)
    if where.is_dir():
        inside = where / MODEL_FILE
        hint = f": give {inside}" if inside.is_file() else ""
        raise CommandError(
            f"cannot resume: {where} is a folder, not a checkpoint{hint}", EXIT_USAGE
        )
    if not where.exists():
        raise CommandError(
            f"cannot resume: there is no {where}. Give the model.json of an earlier run "
            "(micrograd train writes runs/DATASET/model.json), or leave out --resume to start "
            "afresh",
            EXIT_USAGE,
        )


def _check_work(s: dict[str, Any], inputs: int, outputs: int, points: int) -> None:
    """Refuse a step too big to fit in memory: parameters x points per step > MAX_WORK."""
    sizes = [inputs, *s["layers"], outputs]
    params = sum((fan_in + 1) * units for fan_in, units in itertools.pairwise(sizes))
    if s["batch_size"] is not None:
        points = min(points, s["batch_size"])
    if params * points > MAX_WORK:
        raise CommandError(
            f"a step of {points:,} points through {params:,} parameters is "
            f"{params * points:,} weight-uses, more than the limit of {MAX_WORK:,}: use smaller "
            "--layers, fewer --samples or a --batch-size",
            EXIT_USAGE,
        )


def _check_plan(s: dict[str, Any], points: int) -> None:
    """Refuse options that would silently do something else than they say: a batch larger than
    the data (it would be the full batch) and a warm-up as long as the run (the learning rate
    would never reach --lr)."""
    if s["batch_size"] is not None and s["batch_size"] > points:
        raise CommandError(
            f"--batch-size {s['batch_size']} is more than the {points} points of {s['dataset']}: "
            f"use at most {points}, or leave it out to train on all of them at each step",
            EXIT_USAGE,
        )
    if s["warmup"] and s["warmup"] >= s["steps"]:
        raise CommandError(
            f"--warmup {s['warmup']} is not shorter than the run (--steps {s['steps']}): the "
            "learning rate would never reach --lr; use fewer warm-up steps or more steps",
            EXIT_USAGE,
        )


def _restore_sampler(
    sampler: random.Random, doc: dict[str, Any], path: str, start: int, batch: int | None
) -> None:
    """Set the batch sampler to the checkpoint's, so that the run goes on with the same batches."""
    metadata = doc.get("metadata")
    state = metadata.get("sampler") if isinstance(metadata, dict) else None
    if state is None:
        if start and batch is not None:
            print("note: the checkpoint holds no batch-sampler state; batches restart from --seed")
        return
    # random.getstate() as JSON: [3, [624 32-bit words, then the index 0-624], gauss_next].
    # setstate alone would take words of any size, cutting them to 32 bits without a word.
    words = state[1] if isinstance(state, list) and len(state) == 3 else None
    valid = (
        isinstance(words, list)
        and len(words) == 625
        and all(type(w) is int and 0 <= w < 2**32 for w in words)
        and words[-1] <= 624
        and state[0] == 3
        and (state[2] is None or type(state[2]) is float)
    )
    if not (valid and isinstance(words, list)):
        raise CommandError(
            f"cannot resume from {path}: its batch-sampler state is not valid (not "
            "[3, [624 32-bit words and an index up to 624], null or a number])",
            EXIT_USAGE,
        )
    sampler.setstate((3, tuple(words), state[2]))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# A run folder's lock: a second run into a folder in use is refused at once.
LOCK_FILE = ".micrograd-train.lock"
OUTPUTS = (MODEL_FILE, HISTORY_FILE, LOSS_PLOT, BOUNDARY_PLOT, REPORT_FILE)


@contextmanager
def _run_folder(out: Path, keep_run: bool) -> Iterator[None]:
    """Create ``out``, hold its lock, and clear an earlier run's outputs from it, all before
    training: a place that cannot be written fails now, not at the first checkpoint.

    ``keep_run`` (resuming the checkpoint in ``out``) keeps model.json and history.csv.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"cannot create {out}: {_one_line(e)}") from None
    lock = out / LOCK_FILE
    fd = _lock(lock)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        keep = (MODEL_FILE, HISTORY_FILE) if keep_run else ()
        present = [n for n in OUTPUTS if (out / n).exists() or (out / n).is_symlink()]
        if present and not keep_run and not _earlier_run(out):
            # Files by these names that no micrograd run wrote are the user's: never delete them.
            raise CommandError(
                f"{out} holds {', '.join(present)} but no micrograd checkpoint ({MODEL_FILE}): "
                "not an earlier run's folder, so nothing was removed; give another --out",
                EXIT_USAGE,
            )
        removed = []
        for name in present:
            path = out / name
            if name in keep:
                continue
            try:
                path.unlink()
            except OSError as e:
                raise CommandError(f"cannot write into {out}: {_one_line(e)}") from None
            removed.append(name)
        if removed:
            print(f"note: removed the earlier run's {', '.join(removed)} from {out}")
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(lock)  # still holding it: a run waiting for this file sees it is gone
        os.close(fd)


def _earlier_run(out: Path) -> bool:
    """Whether ``out`` holds an earlier run: its model.json is a micrograd checkpoint."""
    try:
        read_checkpoint(out / MODEL_FILE)
    except (OSError, CheckpointError):
        return False
    return True


def _lock(path: Path) -> int:
    """Open and lock the file ``path`` (created if need be); a usage error if another run has it."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise CommandError(f"cannot write into {path.parent}: {_one_line(e)}") from None
        if not _try_lock(fd):
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise CommandError(
                f"{path.parent} is in use by another micrograd train (process "
                f"{holder or 'unknown'}): wait for it to end, or give another --out",
                EXIT_USAGE,
            )
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the run that held it removed the file as we locked it: lock the new one


def _try_lock(fd: int) -> bool:
    """Lock the open file ``fd`` for this process without waiting; False if another holds it.

    The operating system lets go when the process ends, however it ends (kill -9 too).
    """
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _kept(run: _Run, what: str) -> str:
    """What a stopped run leaves behind: ``kept <what> <path> (step N)``, or no checkpoint."""
    if run.saved_step is None:
        return "no checkpoint was written"
    return f"kept {what} {run.checkpoint} (step {run.saved_step})"


def _load_resumed(model: MLP, optimizer: Optimizer, path: str, doc: dict[str, Any]) -> None:
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


def _close(bar: Any) -> None:
    if bar is not None:
        bar.close()


def _finish(run: _Run, X: list[list[float]], y: list[int], seconds: float, no_plots: bool) -> int:
    """Save everything, print the summary; 130 if training was stopped by Ctrl-C.

    The summary's first line is history.csv's last row (the same step and numbers, as exact).
    """
    run.save()
    written = [run.checkpoint, run.out / HISTORY_FILE]
    final = accuracy(run.model, X, y, run.settings["loss"])
    if not no_plots:
        written += _plots(run, X, y, final)
    total = run.settings["steps"]
    last = run.first + len(run.losses) - 1
    if run.losses:
        loss, acc, lr = run.losses[-1], run.accuracies[-1], run.lrs[-1]
        print(f"step {last}: loss {loss!r}, accuracy {acc!r}, lr {lr!r}")
    print(
        f"{run.step} of {total} steps in {seconds:.1f} s; accuracy {final:.1%} on all "
        f"{len(X)} points"
    )
    for path in written:
        print(f"wrote {path}")
    if run.stop.requested and run.step < total:
        print(
            f"micrograd train: interrupted after step {last} ({run.step} of {total} steps "
            f"done); checkpoint saved. Continue with: micrograd train --resume {run.checkpoint}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK


def _plots(run: _Run, X: list[list[float]], y: list[int], final: float) -> list[Path]:
    """loss.png and (for 2-D data) boundary.png."""
    from micrograd.plot import plot_decision_boundary, plot_history

    name = run.settings["dataset"]
    written = [
        plot_history(
            run.losses,
            run.accuracies,
            path=run.out / LOSS_PLOT,
            title=f"{name}: {run.model!r}",
        )
    ]
    if len(X[0]) == 2:
        model = run.model
        written.append(
            plot_decision_boundary(
                None,
                X,
                y,
                run.out / BOUNDARY_PLOT,
                predict=lambda points: predict_scores(model, points),
                resolution=200,
                title=f"{name}, step {run.step}: accuracy {final:.1%}",
            )
        )
    else:
        print(f"note: no {BOUNDARY_PLOT}: {name} has {len(X[0])} inputs, not 2")
    return written
