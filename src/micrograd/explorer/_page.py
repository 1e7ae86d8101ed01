"""The explorer's data (from the narrator) and its page: one HTML file with everything inline."""

from __future__ import annotations

import html
import json
import math
import os
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, overload

from micrograd import _check as check
from micrograd.engine import Value
from micrograd.explain import Explanation, explain
from micrograd.explorer._groups import find_groups

__all__ = ["Explorer", "explore", "graph_data", "page", "to_html", "write"]

# Boxes open at the start while at most this many values and closed boxes are in the picture.
OPEN_BUDGET = 160
_SLOT = re.compile(r"/\*MICROGRAD:([\w-]+)\*/")


def _text(x: float) -> str:
    """A number as the narrator shows it: six significant digits."""
    return f"{x:.6g}"


def graph_data(root: Value, model: Any = None, *, title: str | None = None) -> dict[str, Any]:
    """What the explorer page shows about ``root``'s graph, as JSON-ready lists.

    Nodes are numbered in topological order (children first; the root is last). Per node:
    ``name``, ``label``, ``data`` (and ``dtext``, as shown), ``grad`` (the narrator's, equal to
    ``.grad`` after ``root.backward()`` on a fresh graph), ``op`` (as drawn, ``""`` for a leaf),
    ``kids`` and ``group``. ``steps`` holds the narrator's steps in backward order:
    ``[node, text, [[child, local, product, grad_after, grad_after_text], ...]]``, ``text`` being
    the narrator's ``Step.text()``. nan and the infinities are the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"`` (JSON has no such numbers). ``model`` (a
    ``Module``) puts each neuron's nodes in a box inside its layer's box. Raises TypeError if
    ``root`` is not a Value or ``model`` not a Module.
    """
    from micrograd.viz import _op_label  # viz re-exports to_html: import it only when used

    if not isinstance(root, Value):
        raise TypeError(f"root must be a micrograd Value, not {type(root).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, not {type(title).__name__}")
    narration = _explain_named(root, model)
    names = narration.names
    order = list(names)
    ids = {node: i for i, node in enumerate(order)}
    by_name = {name: ids[node] for node, name in names.items()}
    groups, where = find_groups(order, model)
    expression = {step.node: step.expression for step in narration}
    steps = [
        [
            ids[step.node],
            step.text(),
            [
                [
                    by_name[c.child],
                    _number(c.local),
                    _number(c.product),
                    _number(c.grad_after),
                    _text(c.grad_after),
                ]
                for c in step.contributions
            ],
        ]
        for step in narration
    ]
    top = names[root]
    shown = _text(root.data)
    ftext = [
        f"{names[n]} = {expression[n]} = {_text(n.data)}"
        if n in expression
        else f"{names[n]} = {_text(n.data)}   (a leaf: an input, a parameter or a constant)"
        for n in order
    ]
    return {
        "title": title if title is not None else f"micrograd explorer: {top} = {shown}",
        "root": ids[root],
        "name": [names[n] for n in order],
        "label": [n.label for n in order],
        "data": [_number(n.data) for n in order],
        "dtext": [_text(n.data) for n in order],
        "grad": [_number(narration.grads[names[n]]) for n in order],
        "op": [_op_label(n) if n._prev else "" for n in order],
        "kids": [[ids[c] for c in n._prev] for n in order],
        "group": where,
        "groups": [[g.name, g.title, g.parent, g.kind] for g in groups],
        "steps": steps,
        "ftext": ftext,
        "intro": (
            "Forward pass: each step computes one value, once its children are computed (the "
            "topological order, children first).\nThen the backward pass: from the root, in "
            "reverse order, each node adds local derivative * its grad into each child's grad.\n"
            "Press the right arrow key (or 'step', or 'play') to begin."
        ),
        "seed": (
            f"Backward pass from {top} = {shown}.\nStart: {top}.grad = 1, since d{top}/d{top} = 1."
            " Every other grad starts at 0.\nbackward() walks the topological order in reverse,"
            " so a node's grad is complete (every parent has added its share) before the node"
            " passes it on."
        ),
        "done": "Done: every grad is now what backward() computes.",
        "alt": f"Expression graph of {top} = {shown}: {len(order)} values, {len(steps)} ops",
        "desc": (
            "Each rectangle is a value with its name, data and grad; each ellipse is the op that "
            "computed the value to its right; arrows run from the children to the op to the "
            "result. Dashed boxes are neurons, layers or parts of the graph."
        ),
        "open_budget": OPEN_BUDGET,
    }


def _explain_named(root: Value, model: Any) -> Explanation:
    """``explain(root)``, a model's unlabelled parameters named by ``named_parameters()``.

    The labels are lent for the narration only: the graph is left as it was.
    """
    if model is None or not callable(getattr(model, "named_parameters", None)):
        return explain(root)
    lent = [(p, name) for name, p in model.named_parameters() if not p.label]
    try:
        for p, name in lent:
            p.label = name
        return explain(root)
    finally:
        for p, _ in lent:
            p.label = ""


@cache
def _asset(name: str) -> str:
    return (resources.files("micrograd.explorer") / "assets" / name).read_text(encoding="utf-8")


def _number(x: float | None) -> float | str | None:
    """A float for JSON: nan and the infinities (which JSON lacks) as the strings JS's Number()
    reads back."""
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _script_json(data: Any) -> str:
    """JSON to sit inside a <script> element: no ``<`` at all, so no ``</script>`` either."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def page(
    data: dict[str, Any], *, before: str = "", after: str = "", title: str | None = None
) -> str:
    """The explorer page for ``graph_data``'s dict: one HTML document, every script inline.

    ``before`` and ``after`` are HTML put around the explorer, ``title`` the document's title
    (default: the explorer's); the training report uses them.
    """
    from micrograd import __version__

    if not isinstance(data, dict):
        check.wrong_type("data", data, "the dict graph_data() gives")
    if "title" not in data:
        check.wrong_value("data", data, "the dict graph_data() gives")
    check.text("before", before)
    check.text("after", after)
    if title is not None:
        check.text("title", title)
    parts = {
        "version": __version__,
        "doc-title": html.escape(data["title"] if title is None else title),
        "title": html.escape(data["title"]),
        "css": _asset("explorer.css"),
        "before": before,
        "after": after,
        "dagre-licence": "/* dagre and graphlib (@dagrejs/dagre 3.1.3), MIT licence:\n"
        + _asset("dagre.LICENSE.txt")
        + "*/",
        "dagre": _asset("dagre.min.js"),
        "data": _script_json(data),
        "js": _asset("explorer.js"),
    }
    return _SLOT.sub(lambda m: parts[m.group(1)], _asset("explorer.html"))


class Explorer:
    """The explorer of one graph: ``.html`` is the page; in Jupyter it displays inline.

    Inline, the page sits in a sandboxed ``<iframe srcdoc=...>``: it needs no widget or kernel,
    and it stays in a notebook exported to HTML.
    """

    def __init__(self, html_page: str, title: str, height: int = 640) -> None:
        self.html = check.text("html_page", html_page)
        self.title = check.text("title", title)
        self.height = check.integer("height", height, 200, what="an int")  # pixels

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path."""
        return write(self.html, path)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'title="{html.escape(self.title, quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self.height}px; border: 1px solid #ddd"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<Explorer: {self.title}>"


def explore(
    root: Value, *, model: Any = None, title: str | None = None, height: int = 640
) -> Explorer:
    """The explorer of ``root``'s graph, to display in Jupyter (or ``.save()`` to a file).

    >>> a = Value(2.0, label='a'); b = (a * a).tanh(); b.label = 'b'
    >>> explore(b)
    <Explorer: micrograd explorer: b = 0.999329>
    """
    data = graph_data(root, model, title=title)
    return Explorer(page(data), data["title"], height)


@overload
def to_html(
    root: Value, path: None = None, *, model: Any = None, title: str | None = None
) -> str: ...
@overload
def to_html(
    root: Value, path: str | os.PathLike[str], *, model: Any = None, title: str | None = None
) -> Path: ...
def to_html(
    root: Value,
    path: str | os.PathLike[str] | None = None,
    *,
    model: Any = None,
    title: str | None = None,
) -> str | Path:
    """The explorer of ``root``'s graph as one self-contained HTML page.

    Returns the page as a string, or, given ``path``, writes it there (UTF-8) and returns the
    path. The page needs no server and no network: open it from disk in a browser.
    """
    text = page(graph_data(root, model, title=title))
    return text if path is None else write(text, path)


def write(text: str, path: str | os.PathLike[str]) -> Path:
    """Write a page to ``path`` as UTF-8 and return the path."""
    out = Path(check.file_path("path", path))
    out.write_text(text, encoding="utf-8")
    return out
