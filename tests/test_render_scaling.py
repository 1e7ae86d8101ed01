"""Every renderer grows linearly with the graph: its output size and its work, counted (not timed).

Work is the number of Python lines run inside micrograd (a ``sys.settrace`` counter): a
renderer that is quadratic somewhere runs about four times the lines when the graph doubles.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import micrograd
from lecture import lecture_op
from micrograd.engine import Value, topological_order
from micrograd.explain import compare_naive_recursion, explain_markdown, explain_text, node_names
from micrograd.viz import draw_dot, draw_text, to_html

SOURCE = str(Path(micrograd.__file__).parent)
SMALL, LARGE = 256, 1024
# A graph four times as big may take at most four times the work, and four times the output but
# for the longer names (n99 -> n999) it needs; 15% spare for how a drawing breaks up a tree.
# Quadratic growth gives 16, n log n 5.
MAX_GROWTH = 4 * 1.15


def chain_from(x: Value, n: int) -> Value:
    """x + 1 + 1 + ... : n ops in a line, as deep as the graph is big."""
    for _ in range(n):
        x = x + 1.0
    return x


def chain(n: int) -> Value:
    """A chain of n ops from a leaf x."""
    return chain_from(Value(0.5, label="x"), n)


def same_label_chain(n: int) -> Value:
    """A chain of n ops whose every node is labelled "w" (named w, w#2, w#3, ...)."""
    x = Value(0.5, label="w")
    for _ in range(n):
        x = x * 1.0
        x.label = "w"
    return x


def tree(n: int) -> Value:
    """A balanced binary tree of additions over n leaves: no node is used twice."""
    level = [Value(float(i)) for i in range(n)]
    while len(level) > 1:
        level = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)] + level[
            len(level) - len(level) % 2 :
        ]
    return level[0]


def wide(n: int) -> Value:
    """w * x1 + w * x2 + ... + w * xn: one leaf w used n times."""
    w = Value(0.5, label="w")
    total = w * Value(0.0)
    for i in range(n):
        total = total + w * Value(float(i))
    return total


def ladder(n: int) -> Value:
    """a, b = b, a * b, n times: every node is used by the next two, so paths grow as Fibonacci."""
    a, b = Value(1.0, label="a"), Value(1.0, label="b")
    for _ in range(n):
        a, b = b, (a * b).tanh()
    return b


def closure_chain(n: int) -> Value:
    """n lecture-style 'step' ops in a line, each with a closure and no rule."""
    x = Value(0.5, label="x")
    for _ in range(n):
        x = lecture_op("step", x.data + 1.0, (x,))
    return x


def closure_wide(n: int) -> Value:
    """One lecture-style op of n Values: 'total'(x1, ..., xn)."""
    xs = tuple(Value(float(i)) for i in range(n))
    return lecture_op("total", sum(x.data for x in xs), xs)


GRAPHS: dict[str, Callable[[int], Value]] = {
    "chain": chain,
    "same_label_chain": same_label_chain,
    "tree": tree,
    "wide": wide,
    "ladder": ladder,
    "closure_chain": closure_chain,
    "closure_wide": closure_wide,
}
RENDERERS: dict[str, Callable[[Value], str]] = {
    "draw_text": draw_text,
    "draw_text_ascii": lambda root: draw_text(root, unicode=False, max_depth=2),
    "draw_dot": lambda root: str(draw_dot(root, names=True, colour_by_grad=True).source),
    "node_names": lambda root: "\n".join(node_names(root).values()),
    "explain_text": explain_text,
    "explain_markdown": explain_markdown,
    "compare_naive_recursion": lambda root: compare_naive_recursion(root).text(),
    "to_html": to_html,  # the explorer page
}
# Naive recursion visits a node once per path: exponential on a ladder, so it refuses that.
CASES = [
    (graph, renderer)
    for graph in GRAPHS
    for renderer in RENDERERS
    if not (renderer == "compare_naive_recursion" and graph == "ladder")
]


def measured(render: Callable[[Value], str], root: Value, under: str = SOURCE) -> tuple[int, int]:
    """(characters of output, Python lines run in files under ``under``) for ``render(root)``."""
    lines = 0

    def count(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
        return count

    def start(frame: FrameType, event: str, arg: Any) -> Any:
        return count if frame.f_code.co_filename.startswith(under) else None

    previous = sys.gettrace()
    sys.settrace(start)
    try:
        text = render(root)
    finally:
        sys.settrace(previous)
    return len(text), lines


def name_length(root: Value) -> float:
    """The mean length of the graph's node names: it grows (slowly) with the graph."""
    names = node_names(root).values()
    return sum(map(len, names)) / len(names)


@pytest.mark.parametrize(("graph", "renderer"), CASES)
def test_output_and_work_grow_linearly(graph: str, renderer: str) -> None:
    """Doubling the graph at most doubles the renderer's work, and its output but for names."""
    small, large = GRAPHS[graph](SMALL), GRAPHS[graph](LARGE)
    (chars, work), (chars_large, work_large) = (
        measured(RENDERERS[renderer], small),
        measured(RENDERERS[renderer], large),
    )
    longer_names = name_length(large) / name_length(small)
    growth = {"output": chars_large / chars / longer_names, "work": work_large / work}
    assert {k: round(v, 2) for k, v in growth.items() if v > MAX_GROWTH} == {}


def test_the_work_counter_sees_quadratic_work() -> None:
    """The counter itself is not blind: a loop over all earlier nodes, per node, counts ~16x."""

    def quadratic(root: Value) -> str:
        names = list(node_names(root).values())
        return str(sum(1 for i in range(len(names)) for _ in range(i)))

    small, large = (measured(quadratic, chain(n), under=__file__)[1] for n in (SMALL, LARGE))
    assert large / small > 12  # 16 for quadratic work, far above MAX_GROWTH


def test_a_200000_deep_chain_renders_as_text_and_names() -> None:
    """A chain of 200,000 ops gets text with every node drawn once, capped indents, and names."""
    n = 200_000
    root = chain(n)
    text = draw_text(root, max_depth=16)
    lines = text.splitlines()
    names = node_names(root)
    trees = -(-n // 16)  # one tree of 16 levels per 16 ops
    assert len(names) == n + 1
    assert len(lines) == n + 1 + 2 * (trees - 1)  # + one "(see below)" and one blank per tree
    assert max(len(line) for line in lines) <= 16 * 4 + 60
    assert sum(" = " in line for line in lines) == n


def test_one_long_label_does_not_pad_every_line() -> None:
    """A 10,000-character label adds about its own length to the gradient table, not once a line."""
    x = Value(1.0, label="x" * 10_000)
    root = chain_from(x, 100)
    short = chain_from(Value(1.0, label="x"), 100)
    extra = {
        "explain_text": len(explain_text(root)) - len(explain_text(short)),
        "compare_naive_recursion": len(compare_naive_recursion(root).text())
        - len(compare_naive_recursion(short).text()),
    }
    # The label appears a few times (its line, the order, its step), never once per node.
    assert {k: v for k, v in extra.items() if v > 10 * 10_000} == {}


def test_topological_order_of_a_wide_closure_op_is_linear() -> None:
    """Every renderer walks the graph with topological_order: one op of n children costs O(n)."""

    def walk(root: Value) -> str:
        return " " * len(topological_order(root))

    small, large = (measured(walk, closure_wide(n))[1] for n in (SMALL, LARGE))
    assert large / small <= MAX_GROWTH
