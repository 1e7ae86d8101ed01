"""The traced graph's order taken from the order the trace made its nodes (no walk): the same
nodes, children first, the same operands found, and programs that compute what the walked
order's compute (the loss bit for bit, the gradients to the compiled path's 1e-12); a trace
whose made nodes are not the loss's order is walked."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.engine import Value
from micrograd.fast import _trace
from micrograd.fast._trace import _get_a, _get_b, _locate, _order, _Positions
from optable import same_float

CONSTANTS = [3.0, -0.0, 0.5, math.nan, -1.0]
Steps = list[tuple[int, int, int, int]]
# Each op of a step, of two earlier nodes and a constant; None: a node nothing uses is made.
MAKE: dict[str, Callable[[Value, Value, float], Value | None]] = {
    "+": lambda a, b, c: a + b,
    "*": lambda a, b, c: a * b,
    "+c": lambda a, b, c: a + c,
    "*c": lambda a, b, c: c * a,
    "max": lambda a, b, c: a.maximum(b),
    "leaky": lambda a, b, c: a.leaky_relu(0.25),
    "tanh": lambda a, b, c: a.tanh(),
    "read": lambda a, b, c: a * (2.0 if a.data > 0 else 3.0),  # a guard
    "unused": lambda a, b, c: (a * b + c, None)[1],
}
OPS = [*MAKE, "sum"]


def loss_of(steps: Steps, params: list[Value]) -> Callable[[Any], Value]:
    """A traced function building a DAG from ``steps``: each ``(op, i, j, k)`` makes a node of
    earlier ones (modulo the count so far), reads one's number, or makes one nothing uses."""

    def fn(xs: Any) -> Value:
        nodes: list[Value] = [*params, *xs]
        for op_at, i, j, k in steps:
            op = OPS[op_at % len(OPS)]
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if op == "sum":  # Python's sum: a chain from a over products of earlier nodes
                nodes.append(sum((nodes[(i + t) % len(nodes)] * b for t in range(k % 4)), a))
                continue
            made = MAKE[op](a, b, CONSTANTS[k % len(CONSTANTS)])
            if made is not None:
                nodes.append(made)
        return sum(nodes[-3:], Value(0.0))

    return fn


def walked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every trace walk its graph (the made order is never taken)."""
    monkeypatch.setattr(_trace, "_made_order", lambda *args: None)


def bits(program: fast.Program, params: list[Value], xs: Any) -> list[str]:
    """The loss and each parameter's gradient, as hex floats."""
    for p in params:
        p.grad = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        loss = program(xs)
    return [float(loss).hex(), *(float(p.grad).hex() for p in params)]


STEPS = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 200), st.integers(0, 200), st.integers(0, 50)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(STEPS, st.integers(1, 3))
@example([(0, 0, 0, 0), (16, 0, 0, 0), (0, 0, 0, 0), (49, 2, 5, 3)], 1)  # (the last bit apart)
def test_a_program_from_the_made_order_computes_what_the_walked_one_does(
    steps: Steps, n_params: int
) -> None:
    """Random graphs (sums, folds, reads, nodes nothing uses): the program traced from the made
    order gives the walked program's loss bit for bit, at the traced inputs and at others, and
    both give the engine's gradients to 1e-12 (the compiled path's bound). Not the walked
    program's gradients bit for bit: where kernels of one level add into one gradient, they
    add in the order their nodes were made or walked (``p + p`` made before ``tanh(p)`` and
    walked after it: hypothesis found a last bit apart)."""
    xs = np.array([0.75, -1.25, 2.0])
    params = [Value(0.5 - 0.75 * p) for p in range(n_params)]
    fn = loss_of(steps, params)
    made = [bits(fast.trace(fn, params, xs), params, x) for x in (xs, -xs)]
    with pytest.MonkeyPatch.context() as monkeypatch:
        walked(monkeypatch)
        walks = [bits(fast.trace(fn, params, xs), params, x) for x in (xs, -xs)]
    assert [found[0] for found in made] == [found[0] for found in walks]
    for x, found_made, found_walked in zip((xs, -xs), made, walks, strict=True):
        for p in params:
            p.grad = 0.0
        loss = fn([Value(v) for v in x.tolist()])
        loss.backward()
        expected = [loss.data, *(float(p.grad) for p in params)]
        for found in (found_made, found_walked):
            numbers = [float.fromhex(h) for h in found]
            assert all(same_float(a, e) for a, e in zip(numbers, expected, strict=True))


def traced(fn: Callable[..., Value], params: list[Value], *inputs: Any) -> Any:
    """Run ``fn`` as a trace does: its loss, the reads and the nodes made, in order."""
    from micrograd._tracing import traced_input, watching

    with watching(params) as recorder:
        root = fn(*([traced_input(x) for x in row] for row in inputs))
    return root, recorder


@settings(max_examples=60, deadline=None)
@given(STEPS, st.integers(1, 3))
def test_the_made_order_holds_the_walked_nodes_children_first(steps: Steps, n_params: int) -> None:
    """Where the made order is taken, it holds the walked order's nodes, each after its
    operands, the loss last, and the operands' positions are where those nodes are."""
    params = [Value(0.5 - 0.75 * p) for p in range(n_params)]
    root, recorder = traced(loss_of(steps, params), params, [0.75, -1.25, 2.0])
    watched = list(recorder.reads)
    order, n_loss, located = _locate(root, watched, {}, recorder.made_nodes)
    walk, n_walk = _order(root, watched)
    if located is None:  # (a node nothing uses but the loss: walked)
        assert (order, n_loss) == (walk, n_walk)
        return
    a_of, b_of, _ = located
    n = len(order)
    index = _Positions(order)
    expected = (index.of(map(_get_a, order), n).tolist(), index.of(map(_get_b, order), n).tolist())
    assert (a_of.tolist(), b_of.tolist()) == expected
    assert all(a < i and b < i for i, (a, b) in enumerate(zip(*expected, strict=True)))
    assert (set(map(id, order)), n_loss, order[-1]) == (set(map(id, walk)), n_walk, root)


def dead_node(w: Value, x: list[Value]) -> Value:
    """A node nothing uses."""
    _ = w * x[0] + 1.0
    return (w * x[1]).tanh()


def unused_read(w: Value, x: list[Value]) -> Value:
    """A read node the loss does not use."""
    _ = (w * x[0]).data
    return (w * x[1]).tanh()


def before_trace(w: Value, x: list[Value]) -> Value:
    """An interior node made before the trace."""
    return (w * x[1]).tanh() + BEFORE


def operands_by_hand(w: Value, x: list[Value]) -> Value:
    """A node whose operand is set, by hand, to a node made after it (of the same number)."""
    y = w * x[0]
    y._b = x[0] * 1.0
    return y + w * x[1]


def unused_input(w: Value, x: list[Value]) -> Value:
    """An input nothing uses (a leaf: left out, no walk)."""
    return (w * x[1]).tanh()


def inputs_only(w: Value, x: list[Value]) -> Value:
    """No leaf but the trace's own (the parameter unused)."""
    return x[0] + x[0]


BEFORE = Value(0.25) * Value(2.0)


@pytest.mark.parametrize(
    ("fn", "taken"),
    [
        (dead_node, False),
        (unused_read, False),
        (before_trace, False),
        (operands_by_hand, False),
        (unused_input, True),
        (inputs_only, True),
    ],
)
def test_the_made_order_is_taken_only_where_it_is_the_loss_s(
    fn: Callable[[Value, list[Value]], Value], taken: bool
) -> None:
    """A node nothing uses (but a leaf), a read node the loss does not use, an interior node not
    made by the trace, operands set to a later node: the graph is walked; an unused input, no
    leaf from outside the trace: the made order is taken. The program gives the Value engine's
    loss and gradient."""
    w = Value(0.8)
    root, recorder = traced(partial(fn, w), [w], [0.5, -1.5])
    located = _locate(root, list(recorder.reads), {}, recorder.made_nodes)[2]
    program = fast.trace(partial(fn, w), [w], np.array([0.5, -1.5]))
    w.grad = 0.0
    got = (program(np.array([0.5, -1.5])), w.grad)
    w.grad = 0.0
    loss = fn(w, [Value(0.5), Value(-1.5)])
    loss.backward()
    assert (located is not None, got) == (taken, (loss.data, w.grad))
