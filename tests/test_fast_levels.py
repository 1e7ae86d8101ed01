"""fast._levels.delay: groups move to later levels where a group of their kind is, so that rows a
few ops shorter than the others (the GPT's position 0) share the others' kernels; every node
still runs after its operands, and the program keeps the Value engine's numbers."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.engine import Value
from micrograd.fast._levels import _operands, delay
from micrograd.fast._trace import _Graph, _order
from micrograd.gpt.model import GPT
from micrograd.gpt.train import _padded_loss
from optable import same_float

TAIL = ["tanh", "relu", "dot", "exp", "sq"]


def tail(op: str, x: Value, w: list[Value]) -> Value:
    """One op of the rows' common tail."""
    if op == "tanh":
        return x.tanh()
    if op == "relu":
        return x.relu()
    if op == "dot":
        return w[0] * x + w[1]
    if op == "exp":
        return (x * 0.25).exp()
    return x**2


def rows_loss(depths: list[int], ops: list[str], w: list[Value]) -> Any:
    """A loss over rows: row ``r`` takes ``depths[r]`` tanh steps, then the same tail."""

    def loss(xs: list[Value]) -> Value:
        outs = []
        for x, depth in zip(xs, depths):
            for _ in range(depth):
                x = (x * w[2]).tanh()
            for op in ops:
                x = tail(op, x, w)
            outs.append(x)
        return sum(outs, Value(0.0))

    return loss


def graph_of(fn: Any, params: list[Value], xs: list[float]) -> _Graph:
    """The traced graph of ``fn(xs)`` (its groups by the earliest level)."""
    leaves = [Value(x) for x in xs]
    root = fn(leaves)
    order, n_loss = _order(root, [], {})
    return _Graph(order, n_loss, params, leaves)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=5),
    st.lists(st.sampled_from(TAIL), min_size=1, max_size=5),
    st.lists(st.floats(-2.0, 2.0), min_size=5, max_size=5),
)
@example([0, 3], ["tanh", "relu", "tanh"], [0.5, -1.0, 0.25, 1.5, 2.0])  # tanh at many levels
def test_delayed_groups_run_after_their_operands_with_the_engines_numbers(
    depths: list[int], ops: list[str], numbers: list[float]
) -> None:
    """Rows of different depths: after ``delay`` every node's level is past its operands', no
    group is added, and the program's loss and gradients are the Value engine's (to 1e-12)."""
    w = [Value(0.5), Value(-0.25), Value(0.75)]
    xs = numbers[: len(depths)]
    loss = rows_loss(depths, ops, w)
    graph = graph_of(loss, w, xs)
    before = len(graph.groups)
    delay(graph)
    level = {i: key[1] for key, ids in graph.groups.items() for i in ids}
    late = [
        (i, j)
        for key, ids in graph.groups.items()
        for i in ids
        for j in _operands(key, graph.members[i])
        if j in level and level[j] >= key[1]
    ]
    program = fast.trace(loss, w, xs)
    found = program.loss_and_grad(program.theta(), xs)
    reference = loss([Value(x) for x in xs])
    reference.backward()
    agree = all(
        same_float(a, b, rtol=1e-12)
        for a, b in zip([found[0], *found[1].tolist()], [reference.data, *(p.grad for p in w)])
    )
    assert (late, len(graph.groups) <= before, agree) == ([], True, True)


def test_a_shorter_row_shares_the_other_rows_kernels() -> None:
    """A row two tanh steps shorter than the others runs its tail in their kernels: as many
    kernels as when every row has the same depth (without delay, one more a tail group: the
    dot's sum, the ReLU, the scaling and the exp)."""
    w = [Value(0.5), Value(-0.25), Value(0.75)]
    ops = ["dot", "relu", "exp"]
    counts = []
    for depths in ([2, 2, 2], [0, 2, 2]):
        program = fast.trace(rows_loss(depths, ops, w), w, [0.1, 0.2, 0.3])
        counts.append(len(next(iter(program._programs.values())).kernels))
    graph = graph_of(rows_loss([0, 2, 2], ops, w), w, [0.1, 0.2, 0.3])
    undelayed = len(graph.groups)
    delay(graph)
    assert (counts[1], undelayed - len(graph.groups)) == (counts[0], 4)


def test_the_gpt_position_0_shares_the_other_positions_kernels() -> None:
    """The GPT's padded loss at 9 positions: one log-sum-exp of the logits (9 rows), one gather
    of the targets, and no matrix product of position 0 alone (a 1-row one)."""
    random.seed(4)
    model = GPT(27)
    tokens = [26, 1, 2, 3, 4, 5, 6, 7, 8, 26]
    inputs = (tokens[:9], tokens[1:], [1.0 / 9] * 9)
    program = fast.trace(
        lambda x, y, wt: _padded_loss(model, x, y, wt), model.parameters(), *inputs, indices=[0, 1]
    )
    lines = [line.strip() for line in program.describe().splitlines()[1:]]
    logits = [line for line in lines if line.startswith("log-sum-exp")]
    one_row = [line for line in lines if line.startswith("matmul (1x") and "(9x1)" not in line]
    expected = "log-sum-exp of 27 terms over 9 rows (max, -, exp, sum, log)"
    assert (logits, one_row) == ([expected], [])
