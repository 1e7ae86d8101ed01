"""``micrograd gpt train`` and ``micrograd gpt sample``: microgpt from the command line.

``add_parser`` gives ``micrograd.cli`` the ``gpt`` command. Training follows ``micrograd train``'s
conventions (a run folder with model.json, history.csv and loss.png; a progress bar; a summary;
``--resume`` continuing bit for bit; the first Ctrl-C stops after the current step and saves).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import math
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from micrograd._extras import install_hint
from micrograd._interrupt import StopRequest
from micrograd.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    RANGES,
    CommandError,
    _file_name,
    _folder_name,
    _in_range,
    _one_line,
    _Range,
)
from micrograd.engine import gc_paused
from micrograd.gpt.data import names, read_documents
from micrograd.gpt.model import GPT
from micrograd.gpt.sample import generate
from micrograd.gpt.tokenizer import MAX_CHARS, CharTokenizer
from micrograd.gpt.train import LEARNING_RATE, STEPPERS, make_optimizer, schedule
from micrograd.nn import CheckpointError, _atomic_write, read_checkpoint
from micrograd.train_command.files import (
    HISTORY_FILE,
    LOSS_PLOT,
    MODEL_FILE,
    progress_bar,
    read_resumed,
    require_plotting,
    run_folder,
    saved_engine,
)

__all__: list[str] = []  # the command's handlers are micrograd.cli's business

DEFAULT_OUT = Path("runs") / "gpt"
BLOCK_SIZE = 16  # microgpt's: a document of up to 15 characters and a BOS on each side fits
ENGINES = ("value", "fast")
# microgpt's defaults: 1,000 steps, lr 0.01, seed 42.
TRAIN_DEFAULTS: dict[str, Any] = {"data": None, "steps": 1000, "lr": LEARNING_RATE, "seed": 42}
SAMPLE_RANGES = {
    "temperature": _Range(0.0, 100.0, above=True),
    "num": _Range(0, 10_000, whole=True),
}

_TRAIN_HELP = """\
Train microgpt's GPT (1 layer, 16 wide, 4 heads, a block of 16 characters) on the lines of FILE,
one document per step, as microgpt does: Adam, betas (0.85, 0.99), the learning rate falling
linearly to 0 over --steps. Without FILE it learns about 5,000 first names (the names package:
pip install "micrograd-learn[gpt]").

Writes DIR/model.json (the weights, the tokenizer, Adam's state; every --checkpoint-every steps
and at the end), DIR/history.csv and DIR/loss.png. Ctrl-C stops after the current step and saves;
--resume DIR/model.json goes on exactly as if the run had never stopped (on the same documents:
the checkpoint records which, and refuses others).

example:
  micrograd gpt train --steps 200
  micrograd gpt sample --prefix ka
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``gpt`` (with ``train`` and ``sample``) to the ``micrograd`` command's subparsers."""
    gpt = commands.add_parser(
        "gpt",
        help="train microgpt's GPT on names or your text, and sample from it",
        description="Train a tiny GPT (Karpathy's microgpt) made of Values, and sample from it.",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    actions = gpt.add_subparsers(title="commands", dest="gpt_command", metavar="COMMAND")
    actions.required = True
    keep = argparse.SUPPRESS  # absent unless given: a resumed run keeps its saved settings
    train = actions.add_parser(
        "train",
        help="train the GPT (one document per step)",
        description=_TRAIN_HELP,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    add = train.add_argument
    add(
        "data",
        nargs="?",
        type=_file_name,
        default=keep,
        metavar="FILE",
        help="a UTF-8 text file, one document per line",
    )
    add(
        "--steps",
        type=_in_range("steps"),
        default=keep,
        metavar="N",
        help=f"training steps, {RANGES['steps']} (default: 1000)",
    )
    add(
        "--lr",
        type=_in_range("lr"),
        default=keep,
        metavar="X",
        help="Adam's first learning rate (default: 0.01)",
    )
    add(
        "--seed",
        type=_in_range("seed"),
        default=keep,
        metavar="S",
        help="seed of the documents' order and the initial weights (default: 42)",
    )
    add(
        "--engine",
        choices=ENGINES,
        default=keep,
        help="value (default): the scalar engine; fast: the compiled NumPy program (--resume "
        "goes on with the engine the checkpoint was trained on, unless given)",
    )
    add(
        "--out",
        type=_folder_name,
        metavar="DIR",
        help=f"output folder (default: {DEFAULT_OUT}, or --resume's)",
    )
    add(
        "--resume",
        type=_file_name,
        metavar="PATH",
        help="continue from a model.json of micrograd gpt train",
    )
    add(
        "--checkpoint-every",
        type=_in_range("checkpoint_every"),
        default=100,
        metavar="N",
        help="save model.json every N steps (default: 100), and at the end",
    )
    add(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal; needs tqdm)",
    )
    add("--no-plots", action="store_true", help="do not draw loss.png")
    train.set_defaults(handler=run_train, command_parser=train)

    sample = actions.add_parser(
        "sample",
        help="print new documents from a trained GPT",
        description="Print new documents (names) from a checkpoint of micrograd gpt train.",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    add = sample.add_argument
    add(
        "--checkpoint",
        type=_file_name,
        metavar="PATH",
        default=str(DEFAULT_OUT / MODEL_FILE),
        help=f"the model.json to read (default: {DEFAULT_OUT / MODEL_FILE})",
    )
    add(
        "--temperature",
        type=SAMPLE_RANGES["temperature"].parse,
        default=0.5,
        metavar="T",
        help="below 1 picks likely characters, above 1 adventurous ones (default: 0.5)",
    )
    add(
        "--num",
        type=SAMPLE_RANGES["num"].parse,
        default=20,
        metavar="N",
        help="how many documents (default: 20)",
    )
    add("--prefix", default="", help="start every document with these characters")
    add("--seed", type=_in_range("seed"), default=None, metavar="S", help="seed of the draws")
    sample.set_defaults(handler=run_sample, command_parser=sample)


# --- train ---


def _documents(data: str | None) -> list[str]:
    """The documents of FILE, or the names list; a one-line error when they cannot be had."""
    try:
        return names() if data is None else read_documents(data)
    except ImportError as e:
        raise CommandError(_one_line(e)) from None
    except FileNotFoundError:
        raise CommandError(f"there is no file {data}", EXIT_USAGE) from None
    except IsADirectoryError:
        raise CommandError(f"{data} is a folder, not a text file", EXIT_USAGE) from None
    except ValueError as e:
        raise CommandError(_one_line(e), EXIT_USAGE) from None
    except OSError as e:
        raise CommandError(f"cannot read {data}: {_one_line(e)}", EXIT_USAGE) from None


def _resumed(path: str) -> tuple[dict[str, Any], CharTokenizer]:
    """A checkpoint of this command and its tokenizer, or a usage error saying what is wrong."""
    doc = read_resumed(path)
    meta = doc.get("metadata", {})
    try:
        tokenizer = CharTokenizer.from_dict(meta.get("tokenizer"))
        settings = meta["settings"]
        if set(settings) != set(TRAIN_DEFAULTS) or type(meta["step"]) is not int:
            raise ValueError("settings")
        # A hand-edited checkpoint gets the checks the options get.
        for name in ("steps", "lr", "seed"):
            if settings[name] not in RANGES[name]:
                raise ValueError(name)
        if not (settings["data"] is None or isinstance(settings["data"], str)):
            raise ValueError("data")
        history = [[float(x) for x in row] for row in meta["history"]]
        seen = meta.get("documents")  # absent in checkpoints of micrograd before 0.2.0's last
        if seen is not None and not (
            set(seen) == {"count", "sha256"}
            and type(seen["count"]) is int
            and isinstance(seen["sha256"], str)
        ):
            raise ValueError("documents")
    except (KeyError, TypeError, ValueError):
        why = "its metadata is not what gpt train writes"
        raise CommandError(f"cannot resume: {_not_a_gpt(path, doc, why)}", EXIT_USAGE) from None
    if len(history) != meta["step"]:
        raise CommandError(f"cannot resume: {path} is damaged (its history)", EXIT_USAGE)
    return doc, tokenizer


class _Writer:
    """Atomic file writes done in order by a thread of their own while training goes on.

    A checkpoint's write is mostly waiting for the disk (fsync: some 10 ms a file here), so the
    steps after it need not wait. ``write`` first waits for the writes before it, so at most one
    batch is in flight; ``wait`` waits for it and raises, in the caller's thread, the OSError it
    met. Each file is written by ``_atomic_write``: whatever stops the process (Ctrl-C, kill -9)
    leaves either the old file or the new one. The thread is not a daemon: a process that ends
    while a batch is in flight finishes it first.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def write(self, files: list[tuple[Path, str]]) -> None:
        """Wait for the writes before, then write ``files`` ((path, text) pairs) in order."""
        self.wait()
        self._thread = threading.Thread(target=self._write, args=(files,), name="gpt-checkpoint")
        self._thread.start()

    def _write(self, files: list[tuple[Path, str]]) -> None:
        try:
            for path, text in files:
                _atomic_write(str(path), text)
        except OSError as e:
            self._error = e

    def wait(self) -> None:
        """Return when nothing is being written; raise the OSError of a write that failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error


class _Run:
    """A training run's books: the step, the history, the checkpoint, the stop request."""

    def __init__(
        self,
        model: GPT,
        optimizer: Any,
        tokenizer: CharTokenizer,
        settings: dict[str, Any],
        out: Path,
        history: list[list[float]],
        engine: str,
        documents: dict[str, Any],
    ) -> None:
        self.model, self.optimizer, self.tokenizer = model, optimizer, tokenizer
        self.engine = engine  # what the checkpoint says the run trains on
        self.documents = documents  # which documents it trains on (``_fingerprint``)
        self.settings, self.out, self.history = settings, out, history
        # The step of the checkpoint on disk, and of the one being written (if any).
        self.saved_step: int | None = None
        self.writing_step: int | None = None
        self.writer = _Writer()
        self._csv_rows: list[str] = []  # history.csv's rows so far, formatted once each
        self.stop = StopRequest()
        # Writes a compiled step's state (weights, Adam's) into the model and the optimizer.
        self.sync: Callable[[], None] = _nothing

    @property
    def step(self) -> int:
        """Steps done."""
        return len(self.history)

    def on_step(self, loss: float, lr: float) -> None:
        """Record a finished step's loss and learning rate."""
        self.history.append([loss, lr])

    def save(self) -> None:
        """Start writing history.csv, then model.json, of the state now (each atomically; see
        ``_Writer``); ``settle`` waits until they are on disk."""
        if self.step in (self.saved_step, self.writing_step):
            return
        from micrograd import __version__

        self.sync()
        metadata = {
            "step": self.step,
            "settings": self.settings,
            "tokenizer": self.tokenizer.to_dict(),
            "history": self.history,
            "engine": self.engine,
            "documents": self.documents,
            "micrograd": __version__,
        }
        with gc_paused():  # thousands of names and numbers, no cycles: nothing to collect
            checkpoint = self.model._checkpoint_text(self.optimizer, metadata)
        history = self._history_csv()
        self.settle()
        self.writer.write([(self.out / HISTORY_FILE, history), (self.out / MODEL_FILE, checkpoint)])
        self.writing_step = self.step

    def settle(self) -> None:
        """Wait for the checkpoint being written (OSError if it could not be)."""
        step, self.writing_step = self.writing_step, None
        self.writer.wait()  # an OSError here: that step is not on disk, the one before is
        if step is not None:
            self.saved_step = step

    def _history_csv(self) -> str:
        """history.csv: step, loss, lr of every step, as exact floats."""
        rows, history = self._csv_rows, self.history
        rows += (
            f"{k},{history[k][0]!r},{history[k][1]!r}\n" for k in range(len(rows), len(history))
        )
        return "step,loss,lr\n" + "".join(rows)

    def kept(self) -> str:
        """Which checkpoint is on disk (once the one being written, if any, is)."""
        with contextlib.suppress(OSError):  # the one before it is kept
            self.settle()
        if self.saved_step is None:
            return "no checkpoint was written"
        return f"kept {self.out / MODEL_FILE} (step {self.saved_step})"


def run_train(ns: argparse.Namespace) -> int:
    """``micrograd gpt train`` with its parsed options; the exit status."""
    explicit = {k: getattr(ns, k) for k in TRAIN_DEFAULTS if hasattr(ns, k)}
    doc: dict[str, Any] | None = None
    saved: dict[str, Any] = {}
    tokenizer: CharTokenizer | None = None
    if ns.resume is not None:
        doc, tokenizer = _resumed(ns.resume)
        saved = doc["metadata"]["settings"]
    s = {**TRAIN_DEFAULTS, **saved, **explicit}
    # The checkpoint's engine unless given: the engines agree to rounding, not to the bit.
    ns.engine = getattr(ns, "engine", None) or saved_engine(doc, "value")
    if explicit.get("data") is not None:
        s["data"] = str(Path(explicit["data"]).resolve())  # a resumed run finds it anywhere
    _require_engine(ns.engine)
    docs = _documents(s["data"])
    documents = _fingerprint(docs)
    seen = doc["metadata"].get("documents") if doc is not None else None
    if seen is not None and seen != documents:
        where = "the names list" if s["data"] is None else s["data"]
        raise CommandError(
            f"cannot resume: {where} is not what {ns.resume} was trained on ({seen['count']:,} "
            f"documents then, {documents['count']:,} now, or the same count with other text): "
            "the run would not go on as the one that stopped. Give the same documents, or "
            "start a new run",
            EXIT_USAGE,
        )
    if tokenizer is None:
        distinct = len(set("".join(docs)))
        if distinct > MAX_CHARS:
            raise CommandError(
                f"{s['data']} holds {distinct:,} distinct characters, more than a vocabulary may "
                f"hold ({MAX_CHARS:,}): give text, one document per line",
                EXIT_USAGE,
            )
        tokenizer = CharTokenizer.from_documents(docs)
    unknown = sorted(set("".join(docs)) - set(tokenizer.chars))
    if unknown:
        raise CommandError(
            f"cannot resume: the documents hold {''.join(unknown)[:20]!r}, which the "
            f"checkpoint's tokenizer does not know ({tokenizer.chars!r})",
            EXIT_USAGE,
        )
    long = sum(len(d) >= BLOCK_SIZE for d in docs)
    if long:
        print(
            f"note: {long:,} of {len(docs):,} documents are longer than {BLOCK_SIZE - 1} "
            f"characters: the model learns the first {BLOCK_SIZE - 1} (its block holds "
            f"{BLOCK_SIZE} tokens with BOS)"
        )
    out = Path(ns.out) if ns.out else Path(ns.resume).parent if ns.resume else DEFAULT_OUT
    if not ns.no_plots:
        require_plotting()

    # microgpt's order of draws: seed, shuffle the documents, then the weights.
    random.seed(s["seed"])
    random.shuffle(docs)
    model = GPT(tokenizer.vocab_size, block_size=BLOCK_SIZE)
    optimizer = make_optimizer(model, s["lr"])
    history: list[list[float]] = []
    if doc is not None:
        try:
            model.load_checkpoint(doc, optimizer)
        except CheckpointError as e:
            raise CommandError(
                f"cannot resume from {ns.resume}: {_one_line(e)}", EXIT_USAGE
            ) from None
        history = [[float(x) for x in row] for row in doc["metadata"]["history"]]
    start, total = len(history), s["steps"]
    if start >= total:
        print(f"{ns.resume} is at step {start} of {total}: nothing to do (raise --steps)")
        return EXIT_OK
    keep_run = ns.resume is not None and _same_file(Path(ns.resume), out / MODEL_FILE)
    with run_folder(out, keep_run=keep_run):
        run = _Run(model, optimizer, tokenizer, s, out, history, ns.engine, documents)
        return _train(run, docs, ns)


def _fingerprint(docs: list[str]) -> dict[str, Any]:
    """Which documents a run trains on, in their order as read (before the seed's shuffle): their
    count and the SHA-256 of their UTF-8 text, one per line. A checkpoint keeps it, so that
    ``--resume`` can tell when the file (or the installed names list) has changed."""
    text = "\n".join(docs).encode("utf-8")
    return {"count": len(docs), "sha256": hashlib.sha256(text).hexdigest()}


def _require_engine(engine: str) -> None:
    """Make sure ``engine`` has a GPT step in ``STEPPERS``: the compiled path's lives in
    ``micrograd.fast._gpt``, loaded (and registered) only here, so that importing micrograd.fast
    costs no GPT. One without a step is a usage error, never a quiet fallback."""
    if engine == "fast" and engine not in STEPPERS:
        try:
            importlib.import_module("micrograd.fast")
        except ImportError:
            raise CommandError(f"--engine fast needs NumPy: {install_hint('fast')}") from None
        importlib.import_module("micrograd.fast._gpt").register()
    if engine not in STEPPERS:
        raise CommandError(
            f"--engine {engine} does not train the GPT yet: use --engine value", EXIT_USAGE
        )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _train(run: _Run, docs: list[str], ns: argparse.Namespace) -> int:
    """The loop: one document per step, a checkpoint every so often, Ctrl-C and blow-ups."""
    s, start, total = run.settings, run.step, run.settings["steps"]
    lr_at = schedule(s["lr"], total)
    train_step = STEPPERS[ns.engine](run.model, run.optimizer)
    run.sync = getattr(train_step, "sync", _nothing)
    pad_to = getattr(train_step, "pad_to", None)
    if pad_to is not None:  # a compiled step pads to the longest document's predictions
        pad_to(max(len(d) for d in docs) + 1)
    source = s["data"] or "names"
    print(
        f"training {run.model!r} ({len(run.model.parameters()):,} parameters) on {source} "
        f"({len(docs):,} documents, {len(run.tokenizer.chars)} characters): adam lr {s['lr']:g} "
        f"(linear to 0), steps {start}-{total}, {ns.engine} engine"
    )
    bar = progress_bar(ns.progress, total, start, "gpt")
    began = time.perf_counter()
    try:
        with run.stop.installed():
            for k in range(start, total):
                loss = train_step(run.tokenizer.document(docs[k % len(docs)]), lr_at(k))
                if not math.isfinite(loss):
                    raise CommandError(
                        f"training diverged at step {k}: the loss is {loss}; {run.kept()}. "
                        "Try a smaller --lr"
                    )
                run.on_step(loss, lr_at(k))
                if bar is not None:
                    bar.set_postfix_str(f"loss={loss:.4f}", refresh=False)
                    bar.update(1)
                if run.step % ns.checkpoint_every == 0:
                    run.save()
                if run.stop.requested:
                    break
            run.save()
            run.settle()
    except KeyboardInterrupt:
        _close(bar)
        print(f"micrograd gpt train: interrupted at once; {run.kept()}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:
        raise CommandError(f"cannot save the checkpoint in {run.out}: {_one_line(e)}") from None
    finally:
        _close(bar)  # closing twice is harmless
        run.sync()  # the model holds the last step's weights, whatever ended the run
        with contextlib.suppress(OSError):  # on the way out of another error: that one is told
            run.settle()
    seconds = time.perf_counter() - began
    return _summary(run, seconds, start, ns.no_plots)


def _nothing() -> None:
    """A step whose state is the model's own (the Value engine's) has nothing to write."""


def _close(bar: Any) -> None:
    if bar is not None:
        bar.close()


def _summary(run: _Run, seconds: float, start: int, no_plots: bool) -> int:
    """Print the last step, the time, a few samples and the files; 130 after a Ctrl-C."""
    total = run.settings["steps"]
    written = [run.out / MODEL_FILE, run.out / HISTORY_FILE]
    if not no_plots:
        from micrograd.plot import plot_history

        title = f"{run.settings['data'] or 'names'}: {run.model!r}"
        try:
            losses = [loss for loss, _ in run.history]
            written.append(plot_history(losses, path=run.out / LOSS_PLOT, title=title[:100]))
        except OSError as e:
            raise CommandError(f"cannot write into {run.out}: {_one_line(e)}") from None
    loss, lr = run.history[-1]
    done = run.step - start
    print(f"step {run.step - 1}: loss {loss!r}, lr {lr!r}")
    print(f"{run.step} of {total} steps in {seconds:.1f} s ({seconds / max(done, 1):.3f} s a step)")
    for path in written:
        print(f"wrote {path}")
    if run.stop.requested and run.step < total:
        print(
            f"micrograd gpt train: interrupted after step {run.step - 1} ({run.step} of {total} "
            f"steps done); checkpoint saved. Continue with: micrograd gpt train --resume "
            f"{run.out / MODEL_FILE}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(f"sample from it: micrograd gpt sample --checkpoint {run.out / MODEL_FILE}")
    return EXIT_OK


# --- sample ---


def load_model(path: str) -> tuple[GPT, CharTokenizer]:
    """The model and tokenizer of a checkpoint of ``micrograd gpt train`` (a one-line error)."""
    try:
        doc = read_checkpoint(path)
    except FileNotFoundError:
        raise CommandError(
            f"no checkpoint at {path}: train one with micrograd gpt train, or give --checkpoint",
            EXIT_USAGE,
        ) from None
    except CheckpointError as e:
        raise CommandError(_one_line(e), EXIT_USAGE) from None
    except OSError as e:
        raise CommandError(f"cannot read {path}: {_one_line(e)}", EXIT_USAGE) from None
    try:
        tokenizer = CharTokenizer.from_dict(doc.get("metadata", {}).get("tokenizer"))
        model = GPT.from_config(doc.get("config"))  # type: ignore[arg-type]
        if model.vocab_size != tokenizer.vocab_size:
            raise ValueError("the tokenizer does not fit the model")
        model.load_checkpoint(doc)
    except (TypeError, ValueError) as e:
        raise CommandError(_not_a_gpt(path, doc, _one_line(e)), EXIT_USAGE) from None
    return model, tokenizer


def _not_a_gpt(path: str, doc: dict[str, Any], why: str) -> str:
    """The one-line error for a checkpoint that holds no GPT: what it holds, when that is known
    (an MLP of ``micrograd train``), else why it does not load."""
    config = doc.get("config")
    if isinstance(config, dict) and "nouts" in config:
        why = "it holds an MLP, written by micrograd train or nn's save"
    return f"{path} is not a checkpoint of micrograd gpt train ({why})"


def run_sample(ns: argparse.Namespace) -> int:
    """``micrograd gpt sample`` with its parsed options; the exit status."""
    model, tokenizer = load_model(ns.checkpoint)
    rng = random.Random(ns.seed)
    try:
        docs = generate(model, tokenizer, ns.num, ns.temperature, prefix=ns.prefix, rng=rng)
    except ValueError as e:
        raise CommandError(f"--prefix: {_one_line(e)}", EXIT_USAGE) from None
    for text in docs:
        print(text)
    return EXIT_OK
