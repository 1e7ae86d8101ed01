"""The compiled path's graph analysis: the array form (statuses in rounds, the terms of chained
sums at once) gives the groups and members that analysing node by node gives."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd.engine import Value
from micrograd.fast._trace import _Graph, _order
from micrograd.nn import MLP

CONSTANTS = [3.0, -0.0, 0.0, 2.5, math.nan, -1.0]
OPS = ["+", "*", "+c", "c+", "*c", "max", "relu", "sum", "sum"]


def build(steps: list[tuple[int, int, int, int]], n_params: int, n_inputs: int) -> Any:
    """A DAG from ``steps``: each ``(op, i, j, k)`` makes a node of earlier nodes (modulo the
    count so far); parameters first, inputs after. Returns (root, params, inputs, nodes)."""
    params = [Value(0.5 + p) for p in range(n_params)]
    inputs = [Value(-1.5 + x) for x in range(n_inputs)]
    nodes: list[Value] = [*params, *inputs]
    for op_at, i, j, k in steps:
        op = OPS[op_at % len(OPS)]
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        c = CONSTANTS[k % len(CONSTANTS)]
        if op == "+":
            out = a + b
        elif op == "*":
            out = a * b
        elif op == "+c":
            out = a + c
        elif op == "c+":
            out = c + a
        elif op == "*c":
            out = a * c
        elif op == "max":
            out = a.maximum(b)
        elif op == "relu":
            out = a.relu()
        else:  # Python's sum: a chain from 0 over some earlier nodes and their products
            out = sum((nodes[(i + t) % len(nodes)] * b for t in range(k % 4)), a)
        nodes.append(out)
    root = sum(nodes[-3:], Value(0.0))
    return root, params, inputs, nodes


def same_numbers(x: dict[int, float], y: dict[int, float]) -> bool:
    """Equal dicts of floats, as stored (nan equals nan; -0.0 differs from 0.0)."""
    return list(x) == list(y) and all(
        np.array(x[k]).tobytes() == np.array(y[k]).tobytes() for k in x
    )


def analyses(root: Value, params: list[Value], inputs: list[Value], watched: list[Value]) -> Any:
    """The graph analysed at once and node by node."""
    order, n_loss = _order(root, watched)
    fast = _Graph(order, n_loss, params, inputs, watched)
    slow = _Graph(order, n_loss, params, inputs, watched, node_by_node=True)
    return fast, slow


def assert_same(fast: _Graph, slow: _Graph) -> None:
    """Every result of the two analyses is the same, in the same order."""
    assert slow.groups == fast.groups
    assert list(slow.groups) == list(fast.groups)
    assert repr(slow.members) == repr(fast.members)
    assert same_numbers(
        dict(sorted(slow.const_value.items())), dict(sorted(fast.const_value.items()))
    )
    assert (slow.n_ids, slow.root_ref, slow.leaf_slot) == (
        fast.n_ids,
        fast.root_ref,
        fast.leaf_slot,
    )
    assert slow.status.tolist() == fast.status.tolist()
    assert slow.signature == fast.signature


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 200), st.integers(0, 200), st.integers(0, 50)),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 3),
    st.integers(1, 3),
    st.lists(st.integers(0, 200), max_size=2),
)
def test_analysis_at_once_equals_node_by_node(
    steps: list[tuple[int, int, int, int]], n_params: int, n_inputs: int, reads: list[int]
) -> None:
    """Random graphs (chains, nested and shared sums, constants, folds, read nodes) give the
    same groups, members and numbers analysed at once as node by node."""
    root, params, inputs, nodes = build(steps, n_params, n_inputs)
    watched = [nodes[r % len(nodes)] for r in reads]
    assert_same(*analyses(root, params, inputs, watched))


def test_a_right_nested_sum_and_a_chain_keep_their_terms_in_order() -> None:
    """``w0*x + (w1 + (x + 3))`` is walked node by node, ``sum(...)`` is a chain: the terms are
    in left-to-right order, and the numbers 3.0 and 0.0 get ids in the order met."""
    w0, w1, x = Value(2.0), Value(3.0), Value(5.0)
    nested = w0 * x + (w1 + (x + 3.0))
    chain = sum([w0 * x, w1, x * 2.0], 0.0) + 1.0
    fast, slow = analyses(nested * chain, [w0, w1], [x], [])
    assert_same(fast, slow)
    sums = [fast.members[i] for key, ids in fast.groups.items() if key[0] == "sum" for i in ids]
    n = fast.n
    # nested: w0*x is a product term; w1, x and the number 3 are plain, left to right.
    assert ([3, 1, n], [0], [1]) in [(p, a, b) for p, a, b in sums]


def test_a_deep_chain_of_inputs_takes_the_node_by_node_status() -> None:
    """An input used through 30 additions depends on inputs only: past 8 rounds the status is
    found node by node, the same as the rounds would give."""
    w, x = Value(1.0), Value(2.0)
    h = x
    for k in range(30):
        h = (h + float(k)).relu()
    fast, slow = analyses(w * h, [w], [x], [])
    assert_same(fast, slow)
    assert fast.status.tolist()[-3:] == [1, 1, 2]


def test_a_moons_model_is_analysed_the_same_at_once() -> None:
    """An MLP's loss over a batch (the benchmark's shape, small) gives the same analysis; its
    L2 term is a chain of 37 products, whose terms are found with arrays."""
    model = MLP(2, [4, 4, 1])
    xs = [[Value(0.1 * r), Value(-0.2 * r)] for r in range(5)]
    scores = [model(x) for x in xs]
    loss = sum(((1 + -y * s).relu() for y, s in zip([1, -1, 1, -1, 1], scores)), 0.0) * 0.2
    loss = loss + 1e-4 * sum(p * p for p in model.parameters())
    inputs = [v for x in xs for v in x]
    assert_same(*analyses(loss, model.parameters(), inputs, []))
