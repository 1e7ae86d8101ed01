"""Pictures of an expression graph: ``draw_dot`` (graphviz, as in the lecture) and plain text.

graphviz is imported only inside ``draw_dot``/``render_dot``
(``pip install "micrograd-learn[viz]"``); ``draw_text`` needs nothing but the standard library.
"""

from __future__ import annotations

import math
import os
from collections import deque
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from micrograd import _check as check
from micrograd._extras import install_hint
from micrograd.engine import Value, topological_order
from micrograd.explain import _constant, _constant_of, _expression, _written, node_names
from micrograd.explorer import to_html  # the explorer: one offline HTML page

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

__all__ = ["draw_dot", "draw_text", "render_dot", "to_html"]

INSTALL_DOT = (
    "the Graphviz program `dot` is needed to render the graph: install it with "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install graphviz`, or see https://graphviz.org/download/"
)

# Fill colours for colour_by_grad: white for a zero gradient, up to orange for the largest |grad|.
_COLD = (255, 255, 255)
_HOT = (240, 120, 40)
_NAN_COLOUR = "#cccccc"


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            f"drawing a graph needs the graphviz package: {install_hint('viz')}"
        ) from exc
    return graphviz


def _with_install_hint(exc: Exception) -> Exception:
    """``exc`` with how to install ``dot`` appended to its message (same type, same catchers)."""
    exc.args = (f"{exc.args[0] if exc.args else exc}; {INSTALL_DOT}", *exc.args[1:])
    return exc


@cache
def _digraph_class(graphviz: Any) -> Any:
    """graphviz.Digraph whose rendering says how to install ``dot`` when it is missing."""

    class Digraph(graphviz.Digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph``; if ``dot`` is missing, rendering says how to install it."""

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise _with_install_hint(exc) from None

        def render(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise _with_install_hint(exc) from None

    return Digraph


def _fmt(x: float, digits: int = 4) -> str:
    """``digits`` decimals (four, as in the lecture); scientific when that would hide the number.

    A nonzero number never shows as zero, -0.0 keeps its sign (as the lecture's ``%.4f``), and
    nan and inf show as such.
    """
    if x != 0.0 and (abs(x) >= 1e6 or abs(x) < 10.0**-digits):
        return f"{x:.{digits}e}"
    return f"{x:.{digits}f}"


def _grad(node: Value) -> float:
    g = node.grad
    return g.data if isinstance(g, Value) else g


def _record_escape(text: str) -> str:
    """Escape the characters that structure a graphviz record label."""
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def _op_label(node: Value) -> str:
    """The op as written: ``+``, ``/``, ``tanh``; with a plain-number operand ``* -1``, ``**2``.

    A closure op (the lecture's ``Value(x.data**3, (x,), 'cube')``) shows its own name.
    """
    written, k = _written(node._op), _constant_of(node)
    if k is None:  # no plain-number operand: the op's name says it all
        return written
    return f"**{_constant(k)}" if written == "**" else f"{written} {_constant(k)}"


def _heat(g: float, top: float) -> str:
    """A fill colour for ``|g|`` on a linear scale from 0 (white) to ``top`` (orange)."""
    if math.isnan(g):
        return _NAN_COLOUR
    # With no finite gradient but zero, only an infinite one is coloured; inf is as hot as it gets.
    t = min(abs(g) / top, 1.0) if top > 0.0 else float(g != 0.0)
    r, gr, b = (round(c0 + (c1 - c0) * t) for c0, c1 in zip(_COLD, _HOT, strict=True))
    return f"#{r:02x}{gr:02x}{b:02x}"


def draw_dot(
    root: Value,
    format: str = "svg",  # noqa: A002 -- micrograd's and graphviz's own name for it
    rankdir: str = "LR",
    *,
    colour_by_grad: bool = False,
    feeds: Value | None = None,
    names: bool = False,
) -> graphviz.Digraph:
    """The expression graph of ``root`` as a ``graphviz.Digraph``, as in micrograd's notebooks.

    One record per Value (``label | data | grad``), a small node per op, and edges
    input -> op -> output. It displays inline in Jupyter; ``.render()``/``.pipe()`` are graphviz's
    (see ``render_dot`` to write a file). ``colour_by_grad`` fills each Value by ``|grad|``
    relative to the largest; ``feeds`` keeps only the nodes that ``feeds`` is computed from (and
    ``feeds`` itself); ``names`` shows ``node_names`` (``n1``, ``n2``, ...) for unlabeled Values.

    >>> a = Value(2.0, label='a'); b = a * 3; b.label = 'b'
    >>> dot = draw_dot(b)
    >>> print([line.strip() for line in dot.body if 'label' in line][0])
    v0 [label="{ a | data 2.0000 | grad 0.0000 }" shape=record]
    """
    graphviz = _import_graphviz()
    check.value("root", root)
    check.choice("format", format, sorted(graphviz.FORMATS))
    check.choice("rankdir", rankdir, ("LR", "TB", "RL", "BT"))
    colour_by_grad = check.boolean("colour_by_grad", colour_by_grad)
    names = check.boolean("names", names)
    if feeds is not None:
        check.value("feeds", feeds)
    nodes = topological_order(root)
    if feeds is not None:
        if feeds not in set(nodes):
            raise ValueError("`feeds` must be a node of root's graph")
        nodes = topological_order(feeds)
    ids = {node: f"v{i}" for i, node in enumerate(nodes)}
    shown = node_names(root) if names else {node: node.label for node in nodes}
    top = max((abs(_grad(n)) for n in nodes if math.isfinite(_grad(n))), default=0.0)

    dot = _digraph_class(graphviz)(format=format, graph_attr={"rankdir": rankdir})
    for node in nodes:
        uid = ids[node]
        data, grad = _fmt(node.data), _fmt(_grad(node))
        fields = f"{{ {_record_escape(shown[node])} | data {data} | grad {grad} }}"
        style: dict[str, str] = {"shape": "record"}
        if colour_by_grad:
            style.update(style="filled", fillcolor=_heat(_grad(node), top))
        dot.node(uid, fields, **style)
        if not node._prev:
            continue
        dot.node(uid + "op", _op_label(node), shape="ellipse", fontsize="10", height="0.3")
        dot.edge(uid + "op", uid)
        for child in node._prev:
            dot.edge(ids[child], uid + "op")
    return dot


def render_dot(
    root: Value,
    path: str | os.PathLike[str],
    format: str | None = None,  # noqa: A002 -- graphviz's name for it
    **options: Any,
) -> Path:
    """Write the picture of ``root``'s graph to ``path`` and return the path.

    The format is ``format``, else the file's suffix (``.svg``, ``.png``, ``.pdf``), else svg.
    ``options`` go to ``draw_dot``. Needs the Graphviz program ``dot``; without it this raises
    ``graphviz.ExecutableNotFound`` saying how to install it.
    """
    path = Path(check.file_path("path", path))
    fmt = format or path.suffix.lstrip(".").lower() or "svg"
    dot = draw_dot(root, format=fmt, **options)
    path.write_bytes(dot.pipe(format=fmt))
    return path


def draw_text(root: Value, *, unicode: bool = True, digits: int = 4, max_depth: int = 16) -> str:
    """The expression graph of ``root`` as a tree of text lines, for a terminal.

    Each line is ``name = expression   data ...   grad ...``; a node reached again is shown once
    and then referred to as ``(see above)``. Unlabeled nodes are named as in ``node_names``.
    Indentation stops at ``max_depth`` levels: a deeper subtree is drawn after the tree, as a
    tree of its own, and referred to as ``(see below)``. So the text grows linearly with the
    graph (each node is drawn once, each edge is one line of at most ``max_depth`` indents),
    even for a chain of 200,000 ops. Numbers have ``digits`` decimals, in scientific notation
    where that would round a nonzero number to zero (or when it is a million or more).

    >>> a = Value(2.0, label='a'); b = Value(-3.0, label='b')
    >>> c = a * b + a; c.label = 'c'
    >>> print(draw_text(c, unicode=False))
    c = n1 + a   data -4.0000   grad 0.0000
    |-- n1 = a * b   data -6.0000   grad 0.0000
    |   |-- a   data 2.0000   grad 0.0000
    |   `-- b   data -3.0000   grad 0.0000
    `-- a   data 2.0000   grad 0.0000
    """
    unicode, digits = check.boolean("unicode", unicode), check.integer("digits", digits, 0)
    max_depth = check.integer("max_depth", max_depth, 1, what="a number of levels, an integer")
    tee, last, bar, gap = (
        ("├── ", "└── ", "│   ", "    ") if unicode else ("|-- ", "`-- ", "|   ", "    ")
    )
    names = node_names(root)
    lines: list[str] = []
    drawn: set[Value] = set()  # interior nodes whose subtree is drawn (or being drawn)
    below: set[Value] = set()  # interior nodes past max_depth, each the top of a tree to come
    tops = deque([root])
    while tops:
        top = tops.popleft()
        if lines:
            lines.append("")
        # An explicit stack instead of recursion: graphs can be deeper than the recursion limit.
        stack: list[tuple[Value, str, str, int]] = [(top, "", "", 0)]
        while stack:
            node, head, tail, depth = stack.pop()
            name = names[node]
            numbers = f"data {_fmt(node.data, digits)}   grad {_fmt(_grad(node), digits)}"
            children = node._prev
            if not children:
                lines.append(f"{head}{name}   {numbers}")
            elif node in drawn:
                lines.append(f"{head}{name}   (see above)")
            elif node is not top and (node in below or depth >= max_depth):
                if node not in below:
                    below.add(node)
                    tops.append(node)
                lines.append(f"{head}{name}   (see below)")
            else:
                drawn.add(node)
                lines.append(f"{head}{name} = {_expression(node, names)[0]}   {numbers}")
                for i in reversed(range(len(children))):
                    is_last = i == len(children) - 1
                    branch, indent = (last, gap) if is_last else (tee, bar)
                    stack.append((children[i], tail + branch, tail + indent, depth + 1))
    return "\n".join(lines)
