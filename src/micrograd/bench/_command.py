"""``micrograd bench``: the command line around the suite."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from micrograd import _check as check
from micrograd._extras import install_hint
from micrograd.bench._measure import default_reference_dir, ensure_reference, run_suite
from micrograd.bench._report import Report
from micrograd.bench._suite import REFERENCE, WORKLOADS
from micrograd.bench._tables import markdown, save_plot, to_json


def _output_path(text: str) -> Path:
    """argparse's ``type`` of --json, --markdown and --plot: a file name (not empty, no
    trailing slash)."""
    from micrograd.cli import _file_name

    return Path(_file_name(text))


def _folder_path(text: str) -> Path:
    """argparse's ``type`` of --reference-dir: a folder name, not empty (which ``pathlib``
    reads as the current folder: 0.1.0 would be installed there, over ``import micrograd``)."""
    from micrograd.cli import _folder_name

    return Path(_folder_name(text))


def _parser() -> argparse.ArgumentParser:
    from micrograd.cli import _Range

    rounds = _Range(1, 100, whole=True)
    parser = argparse.ArgumentParser(
        prog="micrograd bench",
        description="Benchmark our engine against micrograd 0.1.0, PyTorch and NumPy.",
        allow_abbrev=False,  # --round must not quietly mean --rounds
    )
    parser.add_argument(
        "--rounds", type=rounds.parse, default=5, help=f"interleaved rounds, {rounds} (default 5)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD",
        help=f"workloads to run (default all: {', '.join(WORKLOADS)})",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="one short timing per run (tests)")
    output = _output_path
    parser.add_argument("--plot", type=output, metavar="PATH", help="save a bar chart of ratios")
    parser.add_argument("--json", type=output, metavar="PATH", help="save every run as JSON")
    parser.add_argument(
        "--markdown", type=output, metavar="PATH", help="also write the tables here"
    )
    parser.add_argument(
        "--reference-dir", type=_folder_path, metavar="DIR", default=None,
        help=f"where {REFERENCE} is (installed there with pip if missing; "
        f"default {default_reference_dir()})",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _check_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (argparse's, status 2) for an output path the run could not write at its
    end: a folder, a file that cannot be created, a --plot format matplotlib lacks."""
    for option in ("json", "markdown", "plot"):
        path: Path | None = getattr(args, option)
        if path is None:
            continue
        if path.is_dir():
            parser.error(f"argument --{option}: {path} is a folder: give a file name")
        existed = path.exists()
        try:  # the only sure test of a path: open it as the end of the run will (no write)
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as e:
            parser.error(f"argument --{option}: cannot write {path}: {' '.join(str(e).split())}")
        if not existed:
            path.unlink(missing_ok=True)
    if args.plot is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        formats = sorted(FigureCanvasBase.get_supported_filetypes())
        if args.plot.suffix.lstrip(".").lower() not in formats:
            parser.error(
                f"argument --plot: cannot tell the format of {args.plot}: end it in "
                f"{', '.join('.' + f for f in formats)}"
            )


def _write_outputs(args: argparse.Namespace, report: Report, text: str) -> list[str]:
    """Write --markdown, --json and --plot; the one-line message of each that failed."""
    writers = (
        ("markdown", lambda path: path.write_text(text, encoding="utf-8")),
        ("json", lambda path: path.write_text(_json_text(report), encoding="utf-8")),
        ("plot", lambda path: save_plot(report, path)),
    )
    failed = []
    for option, write in writers:
        path = getattr(args, option)
        if path is None:
            continue
        try:
            write(path)
        except (OSError, ValueError) as e:  # matplotlib refuses a format with ValueError
            failed.append(f"cannot write {path} (--{option}): {' '.join(str(e).split())}")
    return failed


def _json_text(report: Report) -> str:
    return json.dumps(to_json(report), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the suite from the command line; print the Markdown report; 0 on success.

    An output path (--json, --markdown, --plot) that cannot be written is a usage error before
    the run (status 2); one whose write fails at the end is one line on stderr and status 1,
    after the others are written and the report printed.
    """
    parser = _parser()
    args = parser.parse_args(None if argv is None else check.strings("argv", argv))
    if args.plot and importlib.util.find_spec("matplotlib") is None:  # say so before the run
        print(
            f"micrograd bench: --plot needs matplotlib: {install_hint('plot')}",
            file=sys.stderr,
        )
        return 1
    _check_outputs(parser, args)
    names = list(dict.fromkeys(args.only or WORKLOADS))
    reference = None
    if any("ref" in WORKLOADS[n].variants for n in names):
        try:
            reference = ensure_reference(args.reference_dir or default_reference_dir())
        except RuntimeError as exc:
            print(f"micrograd bench: {exc}", file=sys.stderr)
            return 1
    report = run_suite(names, args.rounds, reference, quick=args.quick, progress=not args.quiet)
    text = markdown(report)
    failed = _write_outputs(args, report, text)  # first: a closed stdout must not lose them
    try:
        print(text)
    finally:
        for message in failed:
            print(f"micrograd bench: error: {message}", file=sys.stderr)
    return 1 if failed else 0
