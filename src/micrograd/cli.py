"""The ``micrograd`` command: train a small net, draw or narrate an expression, run the benchmarks.

Importing this module loads nothing but ``micrograd._interrupt`` (the standard library's signal
handling): everything else, the library included, is imported once ``main`` runs, inside its
handling of Ctrl-C, so that a Ctrl-C from the very start ends with one line and status 130, never
a traceback. numpy, matplotlib, graphviz and tqdm are imported inside the commands that use them,
so ``micrograd --help`` starts fast and a missing extra is named in a one-line error.
``micrograd train`` is ``micrograd.train_command``.
"""

from __future__ import annotations

import sys

from micrograd._interrupt import EXIT_INTERRUPTED

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any


__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "TRAIN_DEFAULTS", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1  # training diverged, a missing extra, a file that cannot be written
EXIT_USAGE = 2  # bad options or a bad expression (as argparse does)

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
SCHEDULES = ("linear", "cosine", "step", "constant")

GRAPH_FORMATS = ("svg", "png", "pdf", "dot")


class CommandError(Exception):
    """A command failed in a way the user can act on: a one-line message and an exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


# --- the parser ---


class _Range:
    """The values a numeric option (or a saved setting) accepts."""

    __slots__ = ("above", "high", "low", "whole")

    def __init__(self, low: float, high: float, *, whole: bool = False, above: bool = False):
        self.low, self.high = low, high
        self.whole = whole  # a whole number (an int)
        self.above = above  # ``low`` itself is excluded

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.whole and not isinstance(value, int):
            return False
        low_ok = value > self.low if self.above else value >= self.low
        return low_ok and value <= self.high  # NaN is in no range

    def __str__(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        if self.above:
            return f"{kind} above {self.low:g}, at most {self.high:,g}"
        return f"{kind} from {self.low:,} to {self.high:,}"

    def parse(self, text: str) -> int | float:
        """``text`` as a number in this range, or argparse's error naming the range."""
        import argparse

        try:
            value: int | float = int(text) if self.whole else float(text)
        except ValueError:  # also the digit limit of int() on a very long text
            value = float("nan")
        if value not in self:
            raise argparse.ArgumentTypeError(f"expected {self}, got {text!r}")
        return value


# The range of every numeric option, by setting name: wide enough for anything these toy
# problems need, narrow enough that a slip of the keyboard cannot ask for an endless run or all
# the memory (a refused value is a one-line usage error naming the option and its range).
RANGES: dict[str, _Range] = {
    "samples": _Range(1, 10_000, whole=True),
    "noise": _Range(0.0, 10.0),
    "layers": _Range(1, 1_000, whole=True),  # the units of one hidden layer
    "l2": _Range(0.0, 1.0),
    "lr": _Range(0.0, 1_000.0, above=True),
    "warmup": _Range(0, 1_000_000, whole=True),
    "steps": _Range(1, 1_000_000, whole=True),
    "batch_size": _Range(1, 10_000, whole=True),
    "seed": _Range(0, 2**63 - 1, whole=True),
    "checkpoint_every": _Range(1, 1_000_000, whole=True),
    "digits": _Range(1, 17, whole=True),  # a float has at most 17 significant digits
}
MAX_HIDDEN_LAYERS = 16


def _in_range(name: str) -> Callable[[str], Any]:
    """argparse's ``type`` for the numeric option of setting ``name`` (see RANGES)."""
    return RANGES[name].parse


def _batch(text: str) -> int | None:
    return None if text.strip() in ("0", "full") else int(RANGES["batch_size"].parse(text))


def _layers(text: str) -> list[int]:
    import argparse

    if text.strip().lower() == "none":
        return []
    width = RANGES["layers"]
    sizes = [part.strip() for part in text.split(",")]
    try:
        layers = [int(width.parse(size)) for size in sizes]
    except argparse.ArgumentTypeError:
        layers = []
    if not layers or len(layers) > MAX_HIDDEN_LAYERS:
        raise argparse.ArgumentTypeError(
            f"expected hidden layer sizes such as 16,16 (up to {MAX_HIDDEN_LAYERS} layers of "
            f"{width.low:,} to {width.high:,} units) or 'none', got {text!r}"
        )
    return layers


def _file_name(text: str) -> str:
    """argparse's ``type`` of an option that names a file: not empty, and not a folder (a name
    ending in a slash, which ``pathlib`` would quietly drop: ``g.svg/`` is not ``g.svg``)."""
    return _path_name(text, folder=False)


def _folder_name(text: str) -> str:
    """argparse's ``type`` of an option that names a folder: not empty (which ``pathlib`` would
    read as the current folder)."""
    return _path_name(text, folder=True)


def _path_name(text: str, folder: bool) -> str:
    import argparse

    from micrograd import _check

    problem = _check.path_problem(text, folder)
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"expected a {'folder' if folder else 'file'} name, {problem}"
        )
    return text


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
  micrograd export runs/moons/model.json --torch moons.py

Run 'micrograd COMMAND --help' for a command's options.
"""

_TRAIN_HELP = """\
Train an MLP on a toy data set. With no options this is micrograd's moons demo:
MLP(2, [16, 16, 1]) on 100 moons (noise 0.1), hinge loss + 1e-4 * L2, SGD with the
learning rate falling linearly from 1.0 to 0.1, 100 steps, seed 1337.

Writes into the output folder, replacing an earlier run's files (kept aside until the
new run saves its first checkpoint, and put back if it stops before):
model.json (the checkpoint: every --checkpoint-every steps and at the end) with
history.csv (loss, accuracy and lr per step) up to the same step, loss.png and
boundary.png. One run at a time per folder: a second run into it exits with status 2.
Ctrl-C stops after the current step, saves the checkpoint and exits with status 130
(a second Ctrl-C stops at once, keeping the last checkpoint); continue with --resume,
which goes on exactly as if never stopped (the same batches too). A loss that is NaN
or infinite, or stays above 10 x max(first loss, 1) for 10 steps in a row, stops with
status 1, keeping the last checkpoint whose loss was good.

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
    import argparse

    from micrograd import __version__, expr_command

    raw = argparse.RawDescriptionHelpFormatter
    # allow_abbrev=False everywhere: --step must not quietly mean --steps.
    parser = argparse.ArgumentParser(
        prog="micrograd",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=raw,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"micrograd {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    _add_train(commands, raw)
    from micrograd.gpt import command as gpt_command  # microgpt: `micrograd gpt train|sample`

    gpt_command.add_parser(commands, raw)
    for name, summary in (
        ("graph", "build an expression's graph, print its gradients, draw it"),
        ("explain", "narrate the backward pass of an expression, step by step"),
    ):
        sub = commands.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.\n\n{_EXPR_HELP}",
            formatter_class=raw,
            allow_abbrev=False,
        )
        sub.add_argument("expression", metavar="EXPR", help="'NAME=NUMBER, ...: EXPRESSION'")
        if name == "graph":
            sub.add_argument(
                "-o",
                "--output",
                type=_file_name,
                metavar="FILE",
                help="write the picture to FILE; the format is its suffix: .svg .png .pdf (need "
                "graphviz's dot) or .dot. Without it, print the graph as a text tree",
            )
            sub.add_argument("--ascii", action="store_true", help="draw the tree in plain ASCII")
        else:
            sub.add_argument("--markdown", action="store_true", help="narrate in Markdown")
            sub.add_argument(
                "--digits",
                type=_in_range("digits"),
                default=6,
                help=f"significant digits, {RANGES['digits']} (default: 6)",
            )
        sub.add_argument(
            "--html",
            type=_file_name,
            metavar="FILE",
            help="also write FILE: the explorer, one HTML page to step through the forward and "
            "backward pass (opens from disk, needs no network)",
        )
        handler = expr_command.graph if name == "graph" else expr_command.explain
        sub.set_defaults(handler=handler, command_parser=sub)
    from micrograd import export_command

    export_command.add_parser(commands, raw)
    # Only listed here: ``main`` hands everything after ``bench`` to micrograd.bench unparsed.
    commands.add_parser(
        "bench",
        help="run the benchmark suite (see 'micrograd bench --help')",
        add_help=False,
        allow_abbrev=False,
    )
    return parser


def _add_train(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``train`` subcommand's options (defaults: micrograd's moons demo)."""
    import argparse

    from micrograd import train_command
    from micrograd.data import DATASETS
    from micrograd.optim import OPTIMIZERS
    from micrograd.train import LOSS_KINDS
    from micrograd.train_command.settings import samples_help

    train = commands.add_parser(
        "train",
        help="train an MLP on a toy data set (default: micrograd's moons demo)",
        formatter_class=formatter,
        description=_TRAIN_HELP,
        allow_abbrev=False,
    )
    keep = argparse.SUPPRESS  # absent unless given: a resumed run keeps its saved settings
    data = train.add_argument_group("data")
    data.add_argument(
        "--dataset", choices=list(DATASETS), default=keep, help="the data set (default: moons)"
    )
    data.add_argument(
        "--samples",
        type=_in_range("samples"),
        default=keep,
        metavar="N",
        help=samples_help(),
    )
    data.add_argument(
        "--noise",
        type=_in_range("noise"),
        default=keep,
        metavar="X",
        help=f"noise level, {RANGES['noise']} (default: 0.1)",
    )
    model = train.add_argument_group("model and loss")
    model.add_argument(
        "--layers",
        type=_layers,
        default=keep,
        metavar="SIZES",
        help=f"hidden layer sizes, e.g. 16,16 (default), or 'none': up to {MAX_HIDDEN_LAYERS} "
        f"layers of {RANGES['layers'].low:,} to {RANGES['layers'].high:,} units. An output "
        "layer sized for the data and loss is added",
    )
    model.add_argument(
        "--activation",
        choices=train_command.HIDDEN_ACTIVATIONS,
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
        type=_in_range("l2"),
        default=keep,
        metavar="ALPHA",
        help=f"weight of the L2 penalty alpha * sum(p**2), {RANGES['l2']} (default: 1e-4)",
    )
    opt = train.add_argument_group("optimization")
    opt.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), default=keep, help="the optimizer (default: sgd)"
    )
    opt.add_argument(
        "--lr",
        type=_in_range("lr"),
        default=keep,
        help=f"peak learning rate, {RANGES['lr']} (default: 0.01 for adam and adamw; for sgd "
        "1.0, or 0.1 on the lecture's data; with --loss mse 0.02, or 0.01 on the lecture's)",
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
        type=_in_range("warmup"),
        default=keep,
        metavar="N",
        help=f"ramp the learning rate up over the first N steps, {RANGES['warmup']} (default: 0)",
    )
    opt.add_argument(
        "--steps",
        type=_in_range("steps"),
        default=keep,
        metavar="N",
        help=f"total training steps, {RANGES['steps']} (default: 100); a resumed run continues "
        "up to this",
    )
    opt.add_argument(
        "--batch-size",
        type=_batch,
        default=keep,
        metavar="N",
        help=f"points per step, drawn at random: {RANGES['batch_size']}, or 0 or full for all "
        "of them (default)",
    )
    opt.add_argument(
        "--seed",
        type=_in_range("seed"),
        default=keep,
        metavar="N",
        help="seed of the data, the initial weights and the batches, a whole number from 0 to "
        "2**63 - 1 (default: 1337)",
    )
    run = train.add_argument_group("running")
    add = run.add_argument
    add(
        "--engine",
        choices=("auto", "fast", "value"),
        default=keep,
        help="fast: the compiled NumPy program (micrograd.fast); value: the scalar engine; "
        "auto (default): fast when NumPy is installed. Both give the same losses (to rounding; "
        "--resume goes on with the engine the checkpoint was trained on, unless given)",
    )
    add(
        "--out",
        type=_folder_name,
        metavar="DIR",
        help="output folder (default: runs/DATASET, or the resumed checkpoint's folder)",
    )
    add(
        "--resume",
        type=_file_name,
        metavar="PATH",
        help="continue from a model.json written by micrograd train",
    )
    add(
        "--checkpoint-every",
        type=_in_range("checkpoint_every"),
        default=50,
        metavar="N",
        help=f"save model.json every N steps, {RANGES['checkpoint_every']} (default: 50), and "
        "at the end",
    )
    add(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal; needs tqdm)",
    )
    add("--no-plots", action="store_true", help="do not draw loss.png and boundary.png")
    add(
        "--report",
        action="store_true",
        help="also write report.html: loss and accuracy curves, the decision boundary at each "
        "checkpoint behind a slider, the settings, and the model's graph on one input in the "
        "explorer (one file that opens offline)",
    )
    train.set_defaults(handler=train_command.run, command_parser=train)


# --- main ---


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``micrograd`` command with ``argv`` (default ``sys.argv[1:]``); the exit status.

    A Ctrl-C at any moment (while loading, parsing, drawing; training handles its own) ends the
    command with ``micrograd COMMAND: interrupted`` and status 130, never a traceback. Standard
    output that fails does the same (``micrograd._stdout``): a closed pipe (``| head -1``) stops
    the command quietly with status 141, as Unix tools stop; a full or failing device is
    ``micrograd COMMAND: error: cannot write to standard output: …`` and status 1. Either way a
    training run keeps the checkpoint it saved.
    """
    name = ["micrograd"]  # the name messages use: the command's, once it is known
    # Standard library only, as _interrupt: still a fast start.
    from micrograd._stdout import EXIT_BROKEN_PIPE, GuardedStdout, StdoutError

    try:
        from micrograd._interrupt import STARTUP

        with STARTUP.watching(), GuardedStdout() as stdout:
            try:
                code = _run_command(argv, name)
                try:
                    stdout.flush()  # what is still buffered is the command's output too
                except StdoutError:
                    if code == EXIT_OK:  # else the command's own failure is the one told
                        raise
            except Exception:
                # A Ctrl-C while NumPy loads can come out as its ImportError or RuntimeError.
                STARTUP.check()
                stdout.check()  # an error that a failed write turned into is that failure
                raise
            STARTUP.check()  # a Ctrl-C that something swallowed is still a Ctrl-C
            if code == EXIT_OK:
                stdout.check()  # and a failed write that something swallowed is a failure
            return code
    except KeyboardInterrupt:
        from micrograd._interrupt import interrupted

        return interrupted(name[0])
    except StdoutError as e:
        if e.closed:
            return EXIT_BROKEN_PIPE
        print(f"{name[0]}: error: {e}", file=sys.stderr)
        return EXIT_FAILURE


def _run_command(argv: Sequence[str] | None, name: list[str]) -> int:
    """Parse ``argv`` and run its command; its name goes into ``name[0]``. The exit status."""
    from micrograd import _check
    from micrograd._interrupt import STARTUP
    from micrograd._stdout import GuardedStdout

    args = list(sys.argv[1:]) if argv is None else _check.strings("argv", argv)
    if args and args[0] == "bench":
        name[0] = "micrograd bench"
        return _bench(args[1:])
    parser = build_parser()  # the first heavy import: the library itself
    if args and args[0] in _command_names(parser):  # for a failure while parsing (--help)
        name[0] = f"micrograd {args[0]}"
    try:
        ns, unknown = parser.parse_known_args(args)
        if unknown:  # after the command: shown with the command's own usage
            after = unknown[0] not in args[: args.index(ns.command)]
            owner: argparse.ArgumentParser = ns.command_parser if after else parser
            owner.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as e:  # --help, --version, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    name[0] = ns.command_parser.prog  # "micrograd gpt train": the command and its subcommand
    handler: Callable[[argparse.Namespace], int] = ns.handler
    try:
        return handler(ns)
    except CommandError as e:
        STARTUP.check()  # an error made of a swallowed Ctrl-C (a failed import) is a Ctrl-C
        if isinstance(sys.stdout, GuardedStdout):
            sys.stdout.check()  # one made of a failed write is that failure
        # Lone surrogates (from odd command-line bytes) cannot be printed: escape them.
        message = str(e).encode("utf-8", "backslashreplace").decode("utf-8")
        print(f"{name[0]}: error: {message}", file=sys.stderr)
        return e.code


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The names of the parser's commands (its subparsers' choices)."""
    import argparse

    return [
        command
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for command in action.choices
    ]


def _bench(args: list[str]) -> int:
    """Hand the arguments to ``micrograd.bench.main`` (imported only now)."""
    import importlib

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
    return int(code or 0)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
