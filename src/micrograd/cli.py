"""The ``micrograd`` command: train a small net, draw or narrate an expression, run the benchmarks.

numpy, matplotlib, graphviz and tqdm are imported inside the commands that use them, so
``micrograd --help`` starts fast and a missing extra is named in a one-line error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from micrograd._extras import install_hint
from micrograd.data import DATASETS
from micrograd.engine import Value
from micrograd.nn import ACTIVATIONS, MLP, CheckpointError
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

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "TRAIN_DEFAULTS", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1  # training diverged, a missing extra, a file that cannot be written
EXIT_USAGE = 2  # bad options or a bad expression (as argparse does)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C

# The training settings a checkpoint remembers, with their defaults: micrograd's moons demo.
# ``None`` for loss and lr means "chosen to fit": see _resolve_settings.
TRAIN_DEFAULTS: dict[str, Any] = {
    "dataset": "moons",
    "samples": 100,
    "noise": 0.1,
    "layers": [16, 16],
    "activation": "relu",
    "loss": None,
    "optimizer": "sgd",
    "lr": None,
    "schedule": "linear",
    "warmup": 0,
    "steps": 100,
    "batch_size": None,
    "l2": 1e-4,
    "seed": 1337,
}
DEFAULT_LR = {"sgd": 1.0, "adam": 0.01, "adamw": 0.01}
SCHEDULES = ("linear", "cosine", "step", "constant")
HIDDEN_ACTIVATIONS = [a for a in ACTIVATIONS if a != "linear"]

MODEL_FILE = "model.json"
HISTORY_FILE = "history.csv"
LOSS_PLOT = "loss.png"
BOUNDARY_PLOT = "boundary.png"
GRAPH_FORMATS = ("svg", "png", "pdf", "dot")


class CommandError(Exception):
    """A command failed in a way the user can act on: a one-line message and an exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


# --- the parser ---


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else _positive_int(text)


def _batch(text: str) -> int | None:
    return None if text in ("0", "full") else _positive_int(text)


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0.0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _layers(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [_positive_int(part.strip()) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected hidden layer sizes such as 16,16, got {text!r}"
        ) from None


_DESCRIPTION = (
    "micrograd: a tiny autograd engine and neural-net library, for learning backpropagation."
)

_EPILOG = """\
examples:
  micrograd train
  micrograd train --dataset spiral --layers 32,32 --optimizer adam --steps 300
  micrograd train --resume runs/moons/model.json --steps 200
  micrograd graph "a=-4, b=2: (a*b + b**3).relu() / 2" -o graph.svg
  micrograd explain "x=0.5: tanh(2*x + 1)" --markdown

Run 'micrograd COMMAND --help' for a command's options.
"""

_TRAIN_HELP = """\
Train an MLP on a toy data set. With no options this is micrograd's moons demo:
MLP(2, [16, 16, 1]) on 100 moons (noise 0.1), hinge loss + 1e-4 * L2, SGD with the
learning rate falling linearly from 1.0 to 0.1, 100 steps, seed 1337.

Writes into the output folder: model.json (the checkpoint: every --checkpoint-every
steps and at the end), history.csv (loss, accuracy and lr per step), loss.png and
boundary.png. Ctrl-C stops after the current step, saves the checkpoint and exits
with status 130 (a second Ctrl-C stops at once, keeping the last checkpoint); continue
with --resume. A NaN or infinite loss stops with status 1, keeping the last checkpoint.

A resumed run takes its settings from the checkpoint; options given on the command
line override them (the architecture must match the saved model).
"""

_EXPR_HELP = """\
An expression is 'NAME=NUMBER, ...: EXPRESSION', for example
  "a=-4, b=2: (a*b + b**3).relu() / 2"
It may use numbers, the variables, + - * / ** (with a constant exponent of at most 1000
in size), parentheses and the functions exp log tanh sigmoid softplus relu leaky_relu abs sqrt
sin cos, called as relu(x) or x.relu(). It is parsed, never run as Python: anything else (names,
attributes, strings, other calls) is refused with exit status 2. At most 1000 characters.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``micrograd`` command and its subcommands."""
    from micrograd import __version__

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="micrograd", description=_DESCRIPTION, epilog=_EPILOG, formatter_class=raw
    )
    parser.add_argument("--version", action="version", version=f"micrograd {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    _add_train(commands, raw)
    for name, summary in (
        ("graph", "build an expression's graph, print its gradients, draw it"),
        ("explain", "narrate the backward pass of an expression, step by step"),
    ):
        sub = commands.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.\n\n{_EXPR_HELP}",
            formatter_class=raw,
        )
        sub.add_argument("expression", metavar="EXPR", help="'NAME=NUMBER, ...: EXPRESSION'")
        if name == "graph":
            sub.add_argument(
                "-o",
                "--output",
                metavar="FILE",
                help="write the picture to FILE; the format is its suffix: .svg .png .pdf (need "
                "graphviz's dot) or .dot. Without it, print the graph as a text tree",
            )
            sub.add_argument("--ascii", action="store_true", help="draw the tree in plain ASCII")
        else:
            sub.add_argument("--markdown", action="store_true", help="narrate in Markdown")
            sub.add_argument(
                "--digits", type=_positive_int, default=6, help="significant digits (default: 6)"
            )
        sub.add_argument(
            "--html",
            metavar="FILE",
            help="also write FILE: the explorer, one HTML page to step through the forward and "
            "backward pass (opens from disk, needs no network)",
        )
        sub.set_defaults(handler=_graph if name == "graph" else _explain)
    # Only listed here: ``main`` hands everything after ``bench`` to micrograd.bench unparsed.
    commands.add_parser(
        "bench", help="run the benchmark suite (see 'micrograd bench --help')", add_help=False
    )
    return parser


def _add_train(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``train`` subcommand's options (defaults: micrograd's moons demo)."""
    train = commands.add_parser(
        "train",
        help="train an MLP on a toy data set (default: micrograd's moons demo)",
        formatter_class=formatter,
        description=_TRAIN_HELP,
    )
    keep = argparse.SUPPRESS  # absent unless given: a resumed run keeps its saved settings
    data = train.add_argument_group("data")
    data.add_argument(
        "--dataset", choices=list(DATASETS), default=keep, help="the data set (default: moons)"
    )
    data.add_argument(
        "--samples",
        type=_positive_int,
        default=keep,
        metavar="N",
        help="number of points (default: 100)",
    )
    data.add_argument(
        "--noise",
        type=_non_negative_float,
        default=keep,
        metavar="X",
        help="noise level (default: 0.1)",
    )
    model = train.add_argument_group("model and loss")
    model.add_argument(
        "--layers",
        type=_layers,
        default=keep,
        metavar="SIZES",
        help="hidden layer sizes, e.g. 16,16 (default), or 'none'; an output layer sized for "
        "the data and loss is added",
    )
    model.add_argument(
        "--activation",
        choices=HIDDEN_ACTIVATIONS,
        default=keep,
        help="activation of the hidden layers (default: relu); the output layer is linear",
    )
    model.add_argument(
        "--loss",
        choices=LOSS_KINDS,
        default=keep,
        help="the loss (default: hinge for two classes, cross_entropy for more)",
    )
    model.add_argument(
        "--l2",
        type=_non_negative_float,
        default=keep,
        metavar="ALPHA",
        help="weight of the L2 penalty alpha * sum(p**2) (default: 1e-4)",
    )
    opt = train.add_argument_group("optimization")
    opt.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), default=keep, help="the optimizer (default: sgd)"
    )
    opt.add_argument(
        "--lr",
        type=_positive_float,
        default=keep,
        help="peak learning rate (default: 1.0 for sgd, 0.01 for adam and adamw)",
    )
    opt.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=keep,
        help="learning-rate schedule: linear falls to lr/10 (default), cosine to 0, step "
        "divides by 10 every third of the run, constant",
    )
    opt.add_argument(
        "--warmup",
        type=_non_negative_int,
        default=keep,
        metavar="N",
        help="ramp the learning rate up over the first N steps (default: 0)",
    )
    opt.add_argument(
        "--steps",
        type=_positive_int,
        default=keep,
        metavar="N",
        help="total training steps (default: 100); a resumed run continues up to this",
    )
    opt.add_argument(
        "--batch-size",
        type=_batch,
        default=keep,
        metavar="N",
        help="points per step, drawn at random (default: 0 or full, i.e. all of them)",
    )
    opt.add_argument(
        "--seed",
        type=int,
        default=keep,
        metavar="N",
        help="seed of the data, the initial weights and the batches (default: 1337)",
    )
    run = train.add_argument_group("running")
    add = run.add_argument
    add(
        "--engine",
        choices=("auto", "fast", "value"),
        default="auto",
        help="fast: the compiled NumPy program (micrograd.fast); value: the scalar engine; "
        "auto (default): fast when NumPy is installed. Both give the same losses",
    )
    add(
        "--out",
        metavar="DIR",
        help="output folder (default: runs/DATASET, or the resumed checkpoint's folder)",
    )
    add("--resume", metavar="PATH", help="continue from a model.json written by micrograd train")
    add(
        "--checkpoint-every",
        type=_positive_int,
        default=50,
        metavar="N",
        help="save model.json every N steps (default: 50), and at the end",
    )
    add(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal; needs tqdm)",
    )
    add("--no-plots", action="store_true", help="do not draw loss.png and boundary.png")
    train.set_defaults(handler=_train)


# --- main ---


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``micrograd`` command with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "bench":
        return _bench(args[1:])
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:  # --help, --version, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = ns.handler
    try:
        return handler(ns)
    except CommandError as e:
        # Lone surrogates (from odd command-line bytes) cannot be printed: escape them.
        message = str(e).encode("utf-8", "backslashreplace").decode("utf-8")
        print(f"micrograd {ns.command}: error: {message}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"micrograd {ns.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _bench(args: list[str]) -> int:
    """Hand the arguments to ``micrograd.bench.main`` (imported only now)."""
    try:
        bench = importlib.import_module("micrograd.bench")
    except ImportError as e:
        missing = e.name == "micrograd.bench"
        reason = "this installation has no micrograd.bench" if missing else _one_line(e)
        print(f"micrograd bench: error: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        code = bench.main(args)
    except SystemExit as e:  # the suite's own argparse: --help or a usage error
        code = e.code if isinstance(e.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("micrograd bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(code or 0)


# --- graph and explain ---


def _build_expression(text: str) -> tuple[Value, dict[str, Value]]:
    """The expression's output and variables, or a usage error with the parser's message."""
    from micrograd.expr import ExpressionError, evaluate

    try:
        out, variables = evaluate(text)
    except ExpressionError as e:
        raise CommandError(str(e), EXIT_USAGE) from None
    if not out.label:
        out.label = "out"
    return out, variables


def _report(out: Value, variables: dict[str, Value], prefix: str = "") -> str:
    """``value = …`` and one ``name.grad = …`` line per variable (exact, as repr)."""
    lines = [f"{prefix}value = {out.data!r}"]
    lines += [f"{prefix}{name}.grad = {float(v.grad)!r}" for name, v in variables.items()]
    return "\n".join(lines)


def _graph(ns: argparse.Namespace) -> int:
    """``micrograd graph``: print the value and gradients; draw the graph."""
    from micrograd.viz import draw_text

    out, variables = _build_expression(ns.expression)
    out.backward()
    print(_report(out, variables))
    _write_explorer(out, ns.html)
    if ns.output is None:
        print()
        print(draw_text(out, unicode=not ns.ascii))
        return EXIT_OK
    path = Path(ns.output)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in GRAPH_FORMATS:
        suffixes = ", ".join("." + f for f in GRAPH_FORMATS)
        raise CommandError(f"cannot tell the format of {path}: use {suffixes}", EXIT_USAGE)
    from micrograd.viz import draw_dot, render_dot

    try:
        if fmt == "dot":
            path.write_text(draw_dot(out).source, encoding="utf-8")
        else:
            render_dot(out, path, format=fmt)
    except ImportError as e:
        raise CommandError(str(e)) from None
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        # graphviz.ExecutableNotFound is a RuntimeError; its message says how to install dot.
        raise CommandError(f"cannot write {path}: {_one_line(e)}") from None
    print(f"wrote {path}")
    return EXIT_OK


def _explain(ns: argparse.Namespace) -> int:
    """``micrograd explain``: print the value and gradients, then narrate the backward pass."""
    from micrograd.explain import explain

    out, variables = _build_expression(ns.expression)
    narration = explain(out)
    out.backward()
    if ns.markdown:
        print(_report(out, variables, prefix="- "))
        print()
        print(narration.markdown(ns.digits))
    else:
        print(_report(out, variables))
        print()
        print(narration.text(ns.digits))
    _write_explorer(out, ns.html)
    return EXIT_OK


def _write_explorer(out: Value, path: str | None) -> None:
    """``--html FILE``: the explorer page of the expression's graph (micrograd.explorer)."""
    if path is None:
        return
    from micrograd.explorer import to_html

    try:
        to_html(out, path)
    except OSError as e:
        raise CommandError(f"cannot write {path}: {_one_line(e)}") from None
    print(f"wrote {path}")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


# --- train: settings ---


def _read_checkpoint(path: str) -> dict[str, Any]:
    """The JSON of a checkpoint to resume from, checked by nn (envelope and model config)."""
    try:
        MLP.from_file(path)
        doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(f"cannot resume: {_one_line(e)}", EXIT_USAGE) from None
    except OSError as e:
        raise CommandError(f"cannot resume from {path}: {_one_line(e)}", EXIT_USAGE) from None
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
    """Defaults, overridden by a checkpoint's settings, overridden by the command line."""
    settings = {**TRAIN_DEFAULTS, **saved}
    # A new optimizer (data set) without its own lr (loss) gets the default for it.
    if "optimizer" in explicit and explicit["optimizer"] != saved.get("optimizer"):
        settings["lr"] = None
    if "dataset" in explicit and explicit["dataset"] != saved.get("dataset"):
        settings["loss"] = None
    settings.update(explicit)
    _check_settings(settings)
    if settings["lr"] is None:
        settings["lr"] = DEFAULT_LR[settings["optimizer"]]
    return settings


def _check_settings(s: dict[str, Any]) -> None:
    """Refuse settings (from a hand-edited checkpoint) that the options would have refused."""

    def whole(v: object, low: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    def number(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    checks = {
        "dataset": s["dataset"] in DATASETS,
        "samples": whole(s["samples"], 1),
        "noise": number(s["noise"]) and s["noise"] >= 0,
        "layers": isinstance(s["layers"], list) and all(whole(n, 1) for n in s["layers"]),
        "activation": s["activation"] in HIDDEN_ACTIVATIONS,
        "loss": s["loss"] is None or s["loss"] in LOSS_KINDS,
        "optimizer": s["optimizer"] in OPTIMIZERS,
        "lr": s["lr"] is None or (number(s["lr"]) and s["lr"] > 0),
        "schedule": s["schedule"] in SCHEDULES,
        "warmup": whole(s["warmup"], 0),
        "steps": whole(s["steps"], 1),
        "batch_size": s["batch_size"] is None or whole(s["batch_size"], 1),
        "l2": number(s["l2"]) and s["l2"] >= 0,
        "seed": whole(s["seed"], -(2**63)),
    }
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


class _StopRequest:
    """Ctrl-C while training: the first asks to stop after the current step, a second at once."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def installed(self) -> Iterator[_StopRequest]:
        """Catch SIGINT inside the block (in the main thread; elsewhere do nothing)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


@dataclass
class _Run:
    """One training run's bookkeeping: history, progress bar, checkpoints."""

    model: MLP
    optimizer: Optimizer
    settings: dict[str, Any]
    out: Path
    start: int
    every: int
    engine: str
    stop: _StopRequest
    bar: Any = None
    step: int = 0  # completed steps
    saved_step: int | None = None
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.step = self.start

    @property
    def checkpoint(self) -> Path:
        """Where the model is saved."""
        return self.out / MODEL_FILE

    def on_step(self, record: StepRecord) -> bool:
        """Record a step, move the bar, checkpoint now and then; True asks fit to stop."""
        self.step = self.start + record.step + 1
        self.losses.append(record.loss)
        self.accuracies.append(record.accuracy)
        self.lrs.append(record.lr)
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"loss={record.loss:.4f} acc={record.accuracy:.1%} lr={record.lr:.3g}",
                refresh=False,
            )
            self.bar.update(1)
        if self.step % self.every == 0:
            self.save()
        return self.stop.requested

    def save(self) -> None:
        """Write the checkpoint (atomically: a crash leaves the previous one)."""
        if self.saved_step == self.step and self.checkpoint.exists():
            return
        from micrograd import __version__

        metadata = {
            "step": self.step,
            "settings": self.settings,
            "engine": self.engine,
            "loss": self.losses[-1] if self.losses else None,
            "micrograd": __version__,
        }
        self.model.save(self.checkpoint, optimizer=self.optimizer, metadata=metadata)
        self.saved_step = self.step

    def write_history(self) -> Path:
        """history.csv: step, loss, accuracy, lr of every step (exact floats)."""
        path = self.out / HISTORY_FILE
        rows = ["step,loss,accuracy,lr"]
        rows += [
            f"{k},{loss!r},{acc!r},{lr!r}"
            for k, (loss, acc, lr) in enumerate(zip(self.losses, self.accuracies, self.lrs))
        ]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
        os.replace(tmp, path)
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


def _train(ns: argparse.Namespace) -> int:
    """``micrograd train``."""
    explicit = {k: getattr(ns, k) for k in TRAIN_DEFAULTS if hasattr(ns, k)}
    doc: dict[str, Any] | None = None
    saved: dict[str, Any] = {}
    start = 0
    if ns.resume is not None:
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
    width = _output_width(loss, classes, s["dataset"])
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
    if ns.resume is not None and doc is not None:
        _load_resumed(model, optimizer, ns.resume, doc)
    total = s["steps"]
    if start >= total:
        print(f"{ns.resume} is at step {start} of {total}: nothing to do (raise --steps)")
        return EXIT_OK
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"cannot create {out}: {_one_line(e)}") from None

    base = _schedule(s["schedule"], s["lr"], total, s["warmup"])

    def schedule(k: int) -> float:
        return base(start + k)

    run = _Run(model, optimizer, s, out, start, ns.checkpoint_every, engine, _StopRequest())
    if start:
        earlier = _read_history(Path(ns.resume).parent / HISTORY_FILE, start)
        if earlier is None:
            print(f"note: no history of steps 0-{start - 1}; history.csv starts at step {start}")
        else:
            run.losses, run.accuracies, run.lrs = (list(v) for v in earlier)
    batch = "full batch" if s["batch_size"] is None else f"batches of {s['batch_size']}"
    print(
        f"training {model!r} on {s['dataset']} ({len(X)} points, {classes} classes): "
        f"{loss} loss, {s['optimizer']} lr {s['lr']:g} ({s['schedule']}), {batch}, "
        f"steps {start}-{total}, {engine} engine"
    )
    run.bar = _progress_bar(ns.progress, total, start, s["dataset"])
    began = time.perf_counter()
    try:
        with run.stop.installed():
            kwargs: dict[str, Any] = {
                "loss": loss,
                "optimizer": optimizer,
                "steps": total - start,
                "batch_size": s["batch_size"],
                "schedule": schedule,
                "l2": s["l2"],
                "seed": s["seed"],
                "callback": run.on_step,
                "engine": engine,
            }
            fit(model, X, y, **kwargs)
    except TrainingDiverged as e:
        _close(run.bar)
        kept = _kept(run, "the last good checkpoint")
        raise CommandError(
            f"training diverged at step {start + e.step}: the loss or a gradient is not finite "
            f"(loss {e.loss}); {kept}. Try a smaller --lr"
        ) from None
    except OSError as e:  # a checkpoint could not be written
        _close(run.bar)
        raise CommandError(f"cannot save the checkpoint in {out}: {_one_line(e)}") from None
    except KeyboardInterrupt:
        _close(run.bar)
        kept = _kept(run, "the checkpoint")
        print(f"micrograd train: interrupted at once; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    seconds = time.perf_counter() - began
    _close(run.bar)
    try:
        return _finish(run, X, y, loss, seconds, ns.no_plots)
    except OSError as e:
        raise CommandError(f"cannot write into {out}: {_one_line(e)}") from None


def _kept(run: _Run, what: str) -> str:
    """What a stopped run leaves behind: ``kept <what> <path> (step N)``, or no checkpoint."""
    if run.saved_step is None:
        return "no checkpoint was written"
    return f"kept {what} {run.checkpoint} (step {run.saved_step})"


def _load_resumed(model: MLP, optimizer: Optimizer, path: str, doc: dict[str, Any]) -> None:
    """Load a checkpoint's weights, and its optimizer state when it is the same optimizer."""
    try:
        model.load(path)
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(f"cannot resume: {_one_line(e)}", EXIT_USAGE) from None
    state = doc.get("optimizer")
    name = type(optimizer).__name__
    if not isinstance(state, dict):
        return
    if state.get("type") != name:
        print(f"note: the checkpoint holds {state.get('type')} state; starting a fresh {name}")
        return
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError) as e:
        print(f"note: the optimizer state was not restored ({_one_line(e)})")


def _close(bar: Any) -> None:
    if bar is not None:
        bar.close()


def _finish(
    run: _Run,
    X: list[list[float]],
    y: list[int],
    loss: str,
    seconds: float,
    no_plots: bool,
) -> int:
    """Save everything, print the summary; 130 if training was stopped by Ctrl-C."""
    run.save()
    written = [run.checkpoint, run.write_history()]
    final = accuracy(run.model, X, y, loss)
    settings = run.settings
    if not no_plots:
        written += _plots(run, X, y, final)
    total = settings["steps"]
    last = f"loss {run.losses[-1]:.6f}, " if run.losses else ""
    print(
        f"step {run.step}/{total}: {last}accuracy {final:.1%} on all {len(X)} points "
        f"({seconds:.1f} s)"
    )
    for path in written:
        print(f"wrote {path}")
    if run.stop.requested and run.step < total:
        print(
            f"micrograd train: interrupted at step {run.step} of {total}; checkpoint saved. "
            f"Continue with: micrograd train --resume {run.checkpoint}",
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
