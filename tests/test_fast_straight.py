"""The compiled path's generated straight-line code (fast._straight) gives the bits of the kernels'
own forward and backward methods run one by one: on random graphs of every kernel kind, on the
moons model and on the GPT."""

from __future__ import annotations

import math
import random
from functools import reduce
from operator import add
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd._lookup import lookup
from micrograd.engine import Value
from micrograd.fast import _straight
from micrograd.fast._gpt import GPTStep
from micrograd.gpt.model import GPT, softmax
from micrograd.gpt.train import make_optimizer
from micrograd.losses import cross_entropy
from micrograd.nn import MLP

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, 1e300, -1e300, 1e-300]
SPECIAL = [math.inf, -math.inf, math.nan]
OPS = ["+", "-", "*", "/", "relu", "tanh", "exp", "log", "sq", "rsqrt", "max", "dot", "const"]


def apply(op: str, a: Value, b: Value, w: list[Value]) -> Value:
    """One step of a recipe on nodes ``a`` and ``b`` (``w``: parameters for a dot product)."""
    if op in ("+", "-", "*", "/"):
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
    if op == "relu":
        return a.relu()
    if op == "tanh":
        return a.tanh()
    if op == "exp":
        return a.exp()
    if op == "log":
        return abs(a).log()
    if op == "sq":
        return a**2
    if op == "rsqrt":
        return abs(a) ** -0.5
    if op == "max":
        return a.maximum(b)
    if op == "dot":  # a neuron over a row: a matrix product across the batch
        return sum((wi * x for wi, x in zip(w, (a, b, a * b))), w[-1])
    return 1.5 - a * 2.0


def bits(values: Any) -> list[int]:
    """Each float's bits (every nan the same), to compare two results exactly."""
    array = np.array(values, dtype=np.float64).ravel()
    found = array.view(np.int64).copy()
    found[np.isnan(array)] = -1
    return found.tolist()


def both(program: fast.Program, theta: Any, *inputs: Any) -> tuple[list[int], list[int]]:
    """The bits of ``loss_and_grad`` run kernel by kernel and by the generated code."""
    found = []
    for straight in (False, True):
        for compiled in program._programs.values():
            compiled.straight = straight
        loss, grad = program.loss_and_grad(theta, *inputs)
        found.append(bits([loss, *grad.tolist()]))
    return found[0], found[1]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[float], list[list[float]], list[tuple[str, int, int]]]:
    """Parameters, a batch of input rows and a recipe of ops (numbers with edge cases)."""
    numbers = st.one_of(
        st.sampled_from(EDGES + SPECIAL), st.floats(-4.0, 4.0, allow_nan=False, width=32)
    )
    params = draw(st.lists(numbers, min_size=4, max_size=4))
    width = draw(st.integers(1, 3))
    rows = draw(st.lists(st.lists(numbers, min_size=width, max_size=width), min_size=1, max_size=5))
    ops = st.tuples(st.sampled_from(OPS), st.integers(0, 99), st.integers(0, 99))
    return params, rows, draw(st.lists(ops, min_size=1, max_size=12))


@settings(max_examples=150, deadline=None)
@given(graphs(), st.sampled_from(["sum", "cross_entropy", "softmax"]))
def test_generated_code_gives_the_kernels_bits_on_random_graphs(
    case: tuple[list[float], list[list[float]], list[tuple[str, int, int]]], head: str
) -> None:
    """Random graphs over a batch (elementwise ops, sums, dots, matmuls, max folds, fused
    log-sum-exps): the generated code's loss and gradients are the kernels' own, bit for bit."""
    values, rows, recipe = case
    params = [Value(v) for v in values]

    def loss(xs: list[list[Value]]) -> Value:
        outs = []
        for row in xs:
            nodes = params + list(row)
            for op, i, j in recipe:
                nodes.append(apply(op, nodes[i % len(nodes)], nodes[j % len(nodes)], params))
            outs.append(nodes[-3:])
        if head == "cross_entropy":
            return cross_entropy(outs, [k % 3 for k in range(len(outs))])
        if head == "softmax":
            return reduce(add, [p * r[0] for r in outs for p in softmax(r)])
        return reduce(add, [v for r in outs for v in r])

    program = fast.trace(loss, params, rows)
    kernel_by_kernel, generated = both(program, program.theta(), rows)
    assert kernel_by_kernel == generated


def test_the_moons_model_steps_to_the_same_bits() -> None:
    """Five SGD steps of an MLP on a batch: the same losses and parameters either way."""
    random.seed(3)
    model = MLP(2, [8, 8, 1])
    xs = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(20)]
    ys = [random.choice([-1.0, 1.0]) for _ in range(20)]

    def loss(scores: list[Value], targets: list[Value]) -> Value:
        hinge = sum(((1.0 - t * s).relu() for s, t in zip(scores, targets)), Value(0.0))
        return hinge / len(scores) + 1e-4 * sum(p * p for p in model.parameters())

    program = fast.compile_model(model, loss, xs, ys)
    runs = []
    for straight in (False, True):
        for compiled in program._programs.values():
            compiled.straight = straight
        theta, optimizer = program.theta(), fast.ArraySGD(lr=0.5, momentum=0.9)
        losses = []
        for _ in range(5):
            loss_now, grad = program.loss_and_grad(theta, xs, ys)
            optimizer.update(theta, grad)
            losses.append(loss_now)
        runs.append(bits([*losses, *theta.tolist()]))
    assert runs[0] == runs[1]


@settings(max_examples=10, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), min_size=3, max_size=8), min_size=2, max_size=3))
def test_the_gpt_program_gives_the_same_bits(documents: list[list[int]]) -> None:
    """The GPT's padded loss (gathers, ragged attention, log-sum-exps): the same bits either way,
    document after document."""
    from micrograd.fast._gpt import register

    register()
    random.seed(5)
    model = GPT(7, n_embd=8, n_head=2, block_size=8)
    step = GPTStep(model, make_optimizer(model))
    step.pad_to(7)
    for tokens in documents:
        inputs = step._padded([6, *tokens, 6])
        program = step.programs.get(len(inputs[0])) or step._trace([6, *tokens, 6], inputs)
        kernel_by_kernel, generated = both(program, program.theta(), *inputs)
        assert kernel_by_kernel == generated


def test_kernels_without_code_of_their_own_are_called() -> None:
    """A max fold (no ``emit``) is called by the generated code; a gather and a matmul are
    written out inline (``take`` and ``np.matmul``)."""
    table = [Value(float(k)) for k in range(4)]
    w = [Value(0.5), Value(-1.0)]

    def loss(i: Any, xs: list[list[Value]]) -> Value:
        picked = lookup(table, i)
        top = xs[0][0].maximum(xs[0][1]).maximum(xs[1][0]).maximum(xs[1][1])
        return sum((picked * (w[0] * x[0] + w[1] * x[1]) for x in xs), top * w[0])

    program = fast.trace(loss, table + w, 2, [[1.0, 2.0], [3.0, 4.0]], indices=[0])
    kernel_by_kernel, generated = both(program, program.theta(), 3, [[1.0, 2.0], [3.0, 4.0]])
    forward = next(iter(program._programs.values())).source.split("def backward")[0]
    # a (2x2) @ (2x1) matmul: np.matmul, whose 1x1 products keep 0 * inf = nan (np.dot's do not)
    inline = ["    forward" in forward, "_picked = table" in forward, "    matmul" in forward]
    assert (kernel_by_kernel, inline) == (generated, [True, True, True])


def test_a_program_of_many_kernels_runs_them_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_KERNELS no code is generated (it would compile slower than it runs); the loss
    and gradient are the same."""
    w = Value(0.3)

    def chain(x: Value) -> Value:
        for _ in range(6):
            x = (x * w).tanh()
        return x

    program = fast.trace(chain, [w], 0.7)
    expected = program.loss_and_grad(program.theta(), 0.7)
    monkeypatch.setattr(_straight, "MAX_KERNELS", 3)
    many = fast.trace(chain, [w], 0.7)
    found = many.loss_and_grad(many.theta(), 0.7)
    compiled = next(iter(many._programs.values()))
    assert (found[0], found[1].tolist(), compiled.source) == (
        expected[0],
        expected[1].tolist(),
        "",
    )


@pytest.mark.parametrize("terms", [1, 3])
def test_sums_of_signed_zeros_keep_the_kernels_bits(terms: int) -> None:
    """A sum kernel's rows of -0.0 terms: its total is -0.0, as a chain of additions gives it
    (test_fast_zeros), from its method and from the generated code alike."""
    from micrograd.fast._kernels import _Sum

    v, g = np.full(8, -0.0), np.zeros(8)
    plain = np.arange(2 * terms, dtype=np.intp).reshape(2, terms)
    none = np.zeros((2, 0), dtype=np.intp)
    kernel = _Sum(v, g, slice(6, 8), plain, none, none, np.ones(8, dtype=bool))
    kernel.forward()
    by_method = bits(v)
    v[6:] = -1.0
    _straight.build([kernel])[0]()
    assert (bits(v), by_method[6:]) == (by_method, bits([-0.0, -0.0]))
