"""``micrograd graph`` and ``micrograd explain``: an expression given on the command line
(``micrograd.expr``), its value and gradients, its graph drawn or its backward pass narrated,
and with ``--html`` the explorer page."""

from __future__ import annotations

import argparse

from micrograd.cli import EXIT_OK, EXIT_USAGE, GRAPH_FORMATS, CommandError, _one_line
from micrograd.engine import Value

__all__ = ["explain", "graph"]


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


def graph(ns: argparse.Namespace) -> int:
    """``micrograd graph``: print the value and gradients; draw the graph."""
    import subprocess
    from pathlib import Path

    from micrograd.viz import draw_text

    path = None if ns.output is None else Path(ns.output)
    fmt = "" if path is None else path.suffix.lstrip(".").lower()
    if fmt == "gv":
        fmt = "dot"
    if path is not None and fmt not in GRAPH_FORMATS:  # a usage error before anything is done
        suffixes = ", ".join("." + f for f in GRAPH_FORMATS)
        raise CommandError(f"cannot tell the format of {path}: use {suffixes}", EXIT_USAGE)
    out, variables = _build_expression(ns.expression)
    out.backward()
    print(_report(out, variables))
    _write_explorer(out, ns.html)
    if path is None:
        print()
        print(draw_text(out, unicode=not ns.ascii))
        return EXIT_OK
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


def explain(ns: argparse.Namespace) -> int:
    """``micrograd explain``: print the value and gradients, then narrate the backward pass."""
    from micrograd.explain import explain as narrate

    out, variables = _build_expression(ns.expression)
    narration = narrate(out)
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
