"""``micrograd export``: a saved model as a runnable PyTorch script, and as an ONNX file.

The parser is micrograd.cli's (``add_parser``); ``run`` is the command, called with its parsed
options. The script needs no PyTorch to write; the ONNX file goes through PyTorch's exporter.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Any

from micrograd._extras import install_hint
from micrograd.cli import EXIT_OK, EXIT_USAGE, CommandError, _file_name, _one_line
from micrograd.interop import _model_from_checkpoint, _onnx_input, pytorch_script, to_torch
from micrograd.nn import CheckpointError, Module, _atomic_write, read_checkpoint

__all__ = ["add_parser", "run"]

_HELP = """\
Write a model saved by micrograd train or micrograd gpt train (or Module.save) as
PyTorch: --torch FILE.py writes a readable script that builds the float64
torch.nn.Module with the weights and, run with 'python FILE.py [NUMBERS...]' (token ids
for a GPT), prints its outputs (for a sample input, beside micrograd's own).
--onnx FILE.onnx writes the same network through PyTorch's ONNX exporter: input 'x' of
shape (batch, inputs) for an MLP, 'tokens' of shape (batch, block_size) for a GPT,
output 'y'; it needs PyTorch, onnx and onnxscript.
"""

# What PyTorch's ONNX exporter (torch.onnx.export with dynamo=True) imports besides torch.
_ONNX_NEEDS = ("torch", "onnx", "onnxscript")


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``export`` subcommand and its options, on cli's subparsers ``commands``."""
    export = commands.add_parser(
        "export",
        help="write a saved model as a PyTorch script (--torch) or an ONNX file (--onnx)",
        description=_HELP,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    export.add_argument(
        "model",
        type=_file_name,
        metavar="MODEL",
        help="a model.json written by micrograd train or gpt train",
    )
    export.add_argument(
        "--torch",
        type=_file_name,
        metavar="FILE",
        help="write a runnable PyTorch script (.py) with the weights",
    )
    export.add_argument(
        "--onnx", type=_file_name, metavar="FILE", help="write an ONNX file (.onnx)"
    )
    export.set_defaults(handler=run, command_parser=export)


def run(ns: argparse.Namespace) -> int:
    """``micrograd export`` with its parsed options; the exit status.

    Everything is checked before anything is written: a missing or damaged model, an output
    that is the model itself, and missing packages for ``--onnx``.
    """
    if ns.torch is None and ns.onnx is None:
        raise CommandError("give --torch FILE, --onnx FILE or both", EXIT_USAGE)
    model = _load(ns.model)
    outputs = [path for path in (ns.torch, ns.onnx) if path is not None]
    for path in outputs:
        if _same_file(path, ns.model):
            raise CommandError(f"{path} is the model itself: write elsewhere", EXIT_USAGE)
    if ns.torch is not None and ns.onnx is not None and _same_file(ns.torch, ns.onnx):
        raise CommandError("--torch and --onnx name the same file", EXIT_USAGE)
    # A script written over an .onnx file (or ONNX bytes over a .py) replaces one kind of file
    # with another without a word: the name must say what is written there.
    for option, path, suffix in (("--torch", ns.torch, ".py"), ("--onnx", ns.onnx, ".onnx")):
        if path is not None and Path(path).suffix.lower() != suffix:
            raise CommandError(
                f"{option} writes a {suffix} file: give a name ending in {suffix}, not {path}",
                EXIT_USAGE,
            )
    torch = _require_onnx() if ns.onnx is not None else None
    if ns.torch is not None:
        _write(ns.torch, pytorch_script(model))
    if ns.onnx is not None:
        _write(ns.onnx, _onnx_bytes(model, torch))
    return EXIT_OK


def _load(path: str) -> Module:
    """The model in the checkpoint at ``path``, or a usage error (exit 2) saying what is wrong."""
    try:
        return _model_from_checkpoint(read_checkpoint(path))
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(f"cannot export: {_one_line(e)}", EXIT_USAGE) from None
    except IsADirectoryError:
        inside = Path(path) / "model.json"
        hint = f": give {inside}" if inside.is_file() else ""
        raise CommandError(
            f"cannot export: {path} is a folder, not a model{hint}", EXIT_USAGE
        ) from None
    except OSError as e:  # a file it may not read
        raise CommandError(f"cannot export {path}: {_one_line(e)}", EXIT_USAGE) from None


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (through links too); a missing one is only its path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _require_onnx() -> Any:
    """PyTorch, once it and the packages its ONNX exporter imports are all importable."""
    missing = []
    for name in _ONNX_NEEDS:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise CommandError(
            f"--onnx needs {' and '.join(missing)} (PyTorch's ONNX exporter): "
            f"{install_hint('onnx')}"
        )
    return importlib.import_module("torch")


def _onnx_bytes(model: Module, torch: Any) -> bytes:
    """The ONNX file of ``to_torch(model)``, its batch size left free."""
    module = to_torch(model).eval()
    name, example, free = _onnx_input(model, torch)
    # The exporter logs and warns about things that are no concern here (torchvision's ops, a
    # deprecated pytree check): the command prints only its own lines.
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                input_names=[name],
                output_names=["y"],
                dynamic_shapes=(free,),
                external_data=False,
                verbose=False,
            )
            data: bytes = program.model_proto.SerializeToString()
    except Exception as e:  # the exporter's errors are many kinds, and pages long
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CommandError(f"PyTorch's ONNX exporter failed: {first}") from None
    finally:
        exporter_log.setLevel(level)
    return data


def _write(path: str, content: str | bytes) -> None:
    """Write ``content`` to ``path`` atomically and say so; a failure is a one-line error."""
    try:
        _atomic_write(path, content)
    except OSError as e:
        raise CommandError(e.strerror or f"cannot write {path}: {_one_line(e)}") from None
    print(f"wrote {Path(path)}")
