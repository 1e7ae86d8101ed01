"""A stable log-sum-exp (max fold, v - max, exp, sum, log) as one kernel on the compiled path:
the Value engine's values and gradients on edge logits, whatever else reads its nodes, and the
unfused kernels wherever the pattern is not exactly there."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd._lookup import lookup
from micrograd.engine import Value
from micrograd.gpt.model import softmax
from micrograd.losses import _log_softmax_terms, cross_entropy
from optable import same_float

# Logits where a log-sum-exp goes wrong: ties, signed zeros, huge and tiny, infinities, nan.
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 700.0, -700.0, 1e300, -1e300, 1e-300]
SPECIAL = [math.inf, -math.inf, math.nan]

Loss = Callable[[list[Value], list[list[Any]]], Value]


def kernels(program: fast.Program) -> list[str]:
    """The first word of each kernel line of ``describe()``."""
    return [line.split()[0] for line in program.describe().splitlines() if line.startswith("  ")]


def logits_of(params: list[Value], rows: list[list[Any]]) -> list[list[Value]]:
    """``p * x`` for each input: the logits are the inputs (to the bit, -0.0 too)."""
    n = len(rows[0])
    return [[params[r * n + j] * x for j, x in enumerate(row)] for r, row in enumerate(rows)]


def fold_max(row: list[Value]) -> Value:
    """``max(…max(row[0], row[1])…, row[-1])``, as the losses build it."""
    top = row[0]
    for v in row[1:]:
        top = top.maximum(v)
    return top


def engine_and_program(loss: Loss, rows: list[list[float]]) -> tuple[Any, Any, fast.Program]:
    """``(loss, grads)`` on the Value engine and from the traced program, and the program."""
    params = [Value(1.0) for _ in range(len(rows) * len(rows[0]))]
    expected = loss(params, rows)
    expected.backward()
    want = (expected.data, [p.grad for p in params])
    program = fast.trace(lambda r: loss(params, r), params, rows)
    for p in params:
        p.grad = 0.0
    got = (program(rows), [p.grad for p in params])
    return want, got, program


def agree(want: Any, got: Any, rows: list[list[float]]) -> bool:
    """Same loss and gradients to rounding. The program adds a loss's terms in another order
    (``1e300 - 1e300 + 1`` may round to 0 or 1: within ``1e-12 * Σ|x|``); a logit's gradient
    (softmax minus target, plus the max's rounding-sized share) too, and times its input ``x``
    it may differ by ``1e-12 * |x|``."""
    xs = [x for row in rows for x in row]
    scale = sum(abs(x) for x in xs if math.isfinite(x))
    return same_float(got[0], want[0], 1e-12, 1e-12 * scale) and all(
        same_float(a, b, 1e-9, 1e-12 * abs(x)) for a, b, x in zip(got[1], want[1], xs, strict=True)
    )


def edge_rows(n_rows: int, n: int, special: bool) -> st.SearchStrategy[list[list[float]]]:
    """``n_rows`` rows of ``n`` logits from the edge values (and inf/nan when ``special``)."""
    values = st.sampled_from(EDGES + SPECIAL if special else EDGES) | st.floats(-50.0, 50.0)
    row = st.lists(values, min_size=n, max_size=n)
    return st.lists(row, min_size=n_rows, max_size=n_rows)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_cross_entropy_is_one_kernel_with_the_value_engines_numbers(data: st.DataObject) -> None:
    """cross_entropy over rows of edge logits (ties, ±0, ±1e300, ±inf, nan; two to seven
    classes): one log-sum-exp kernel, the Value engine's loss and gradients."""
    n = data.draw(st.integers(2, 7), "classes")
    rows = data.draw(edge_rows(data.draw(st.integers(1, 4), "rows"), n, True), "logits")
    targets = data.draw(st.lists(st.integers(0, n - 1), min_size=len(rows), max_size=len(rows)))

    def loss(params: list[Value], r: list[list[Any]]) -> Value:
        return cross_entropy(logits_of(params, r), targets)

    want, got, program = engine_and_program(loss, rows)
    assert (kernels(program).count("log-sum-exp"), agree(want, got, rows)) == (1, True)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_every_node_of_the_pattern_may_be_read_by_others(data: st.DataObject) -> None:
    """The max, each ``v - max``, each exp, the sum and the log used again by the rest of the
    loss (with weights drawn): what they send back joins the fused chain rule."""
    n = data.draw(st.integers(2, 6), "classes")
    rows = data.draw(edge_rows(data.draw(st.integers(1, 3), "rows"), n, False), "logits")
    weights = data.draw(st.lists(st.sampled_from([0.0, 1.0, -0.5, 2.0]), min_size=5, max_size=5))
    picks = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2))
    with_log = data.draw(st.booleans(), "log")

    def loss(params: list[Value], r: list[list[Any]]) -> Value:
        total = Value(0.0)
        for row in logits_of(params, r):
            top = fold_max(row)
            z = [v - top for v in row]
            e = [zj.exp() for zj in z]
            s = sum(e[1:], e[0])
            terms = [top, z[picks[0]], e[picks[1]], s, s.log() if with_log else s * s]
            total = total + sum((t * w for t, w in zip(terms, weights)), Value(0.0))
        return total

    want, got, program = engine_and_program(loss, rows)
    fused = "log-sum-exp" if with_log else "sum"
    assert (fused in kernels(program), "max" in kernels(program)) == (True, False)
    assert agree(want, got, rows)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_softmax_fuses_its_max_exp_and_sum(data: st.DataObject) -> None:
    """The GPT's stable softmax (no log): its denominator is one kernel, the quotients are the
    Value engine's, gradients too."""
    n = data.draw(st.integers(2, 6), "classes")
    rows = data.draw(edge_rows(data.draw(st.integers(1, 3), "rows"), n, True), "logits")
    weights = [1.0, -2.0, 0.5, 3.0, -1.0, 0.25][:n]

    def loss(params: list[Value], r: list[list[Any]]) -> Value:
        probs = [softmax(row) for row in logits_of(params, r)]
        return sum((p * w for row in probs for p, w in zip(row, weights)), Value(0.0))

    want, got, program = engine_and_program(loss, rows)
    assert any(
        line.strip().startswith("sum of exp(v - max v)") for line in program.describe().splitlines()
    )
    assert agree(want, got, rows)


def test_the_target_logit_picked_by_an_index_input_reads_the_fused_z() -> None:
    """``lse - lookup(z, target)`` with the targets an index input: new targets replay the
    program, each with the Value engine's loss and gradients."""
    rng = random.Random(5)
    params = [Value(rng.gauss(0.0, 1.0)) for _ in range(4 * 5)]
    x = [[rng.gauss(0.0, 3.0) for _ in range(5)] for _ in range(4)]

    def loss(targets: list[Any]) -> Value:
        terms = []
        for r, t in enumerate(targets):
            lse, z = _log_softmax_terms([params[r * 5 + j] * x[r][j] for j in range(5)])
            terms.append(lse - lookup(z, t))
        return sum(terms[1:], terms[0]) * 0.25

    program = fast.trace(loss, params, [0, 1, 2, 3], indices=[0])
    for targets in ([0, 1, 2, 3], [4, 4, 0, 2], [1, 3, 3, 0]):
        for p in params:
            p.grad = 0.0
        expected = loss(targets)
        expected.backward()
        want = (expected.data, [p.grad for p in params])
        for p in params:
            p.grad = 0.0
        got = (program(targets), [p.grad for p in params])
        assert agree(want, got, [[1.0] * 20])
    assert (program.traces, kernels(program).count("log-sum-exp")) == (1, 1)


def test_a_batch_of_cross_entropy_rows_is_one_kernel() -> None:
    """32 rows of 27 logits (makemore's output layer): the products, one log-sum-exp kernel, and
    the mean; no max fold, subtraction or exp kernel of their own."""
    rng = random.Random(0)
    w = [[Value(rng.gauss(0.0, 1.0)) for _ in range(4)] for _ in range(27)]
    targets = [rng.randrange(27) for _ in range(32)]

    def loss(xs: list[list[Value]]) -> Value:
        logits = [[sum((a * b for a, b in zip(row, x)), Value(0.0)) for row in w] for x in xs]
        return cross_entropy(logits, targets)

    xs = [[rng.gauss(0.0, 1.0) for _ in range(4)] for _ in range(32)]
    program = fast.trace(loss, [p for row in w for p in row], xs)
    assert kernels(program)[:2] == ["matmul", "log-sum-exp"]
    assert [k for k in kernels(program) if k in ("max", "exp(x,", "log(x,")] == []
    assert "log-sum-exp of 27 terms over 32 rows" in program.describe()


# --- where the pattern is not exactly there: the unfused kernels, still right ---


def sum_reversed(params: list[Value], r: list[list[Any]]) -> Value:
    """log Σ exp(v - max v) with the exps summed last to first."""
    total = Value(0.0)
    for row in logits_of(params, r):
        top = fold_max(row)
        e = [(v - top).exp() for v in row][::-1]
        total = total + sum(e[1:], e[0]).log()
    return total


def read_max(params: list[Value], r: list[list[Any]]) -> Value:
    """A log-sum-exp whose max the function reads (a guard): computed exactly, not fused."""
    total = Value(0.0)
    for row in logits_of(params, r):
        lse, z = _log_softmax_terms(row)
        total = total + lse * (1.0 if z[0].data <= 0.0 else 2.0)
    return total


def number_column(params: list[Value], r: list[list[Any]]) -> Value:
    """A max that includes a plain number (``top.maximum(0.0)``): no ``v - max`` for it."""
    total = Value(0.0)
    for row in logits_of(params, r):
        top = fold_max(row).maximum(0.0)
        e = [(v - top).exp() for v in row]
        total = total + sum(e[1:], e[0]).log()
    return total


def twice(params: list[Value], r: list[list[Any]]) -> Value:
    """A row whose logits repeat one node: two ``v - max`` of one pair."""
    total = Value(0.0)
    for row in logits_of(params, r):
        lse, _ = _log_softmax_terms([row[0], *row])
        total = total + lse
    return total


@pytest.mark.parametrize("loss", [sum_reversed, read_max, number_column, twice])
def test_a_pattern_not_exactly_there_keeps_its_kernels(loss: Loss) -> None:
    """Exps summed in another order, a max read by the function, a plain-number column, a
    repeated logit: no fused kernel, and the Value engine's loss and gradients."""
    rows = [[1.0, 3.0, -2.0, 3.0], [0.5, -0.0, 0.0, 700.0]]
    want, got, program = engine_and_program(loss, rows)
    assert ("log-sum-exp" in kernels(program), agree(want, got, rows)) == (False, True)


def test_nan_and_infinite_logits_give_the_engines_nan() -> None:
    """A row with nan, one with +inf, one all -inf: the loss is nan and each gradient the
    Value engine's (nan where it is nan); a finite row's gradients stay finite."""
    rows = [[math.nan, 1.0, 2.0], [math.inf, 0.0, 1.0], [-math.inf] * 3, [0.0, 1.0, 2.0]]

    def loss(params: list[Value], r: list[list[Any]]) -> Value:
        return cross_entropy(logits_of(params, r), [1, 0, 2, 2], reduction="sum")

    want, got, program = engine_and_program(loss, rows)
    assert (math.isnan(got[0]), agree(want, got, rows)) == (True, True)
    assert all(math.isfinite(g) for g in got[1][9:])
    assert "log-sum-exp" in kernels(program)


@pytest.mark.parametrize(("row", "expected"), [([-0.0, 0.0], -math.inf), ([0.0, -0.0], math.inf)])
def test_a_max_of_signed_zeros_is_the_first_as_in_the_chain(
    row: list[float], expected: float
) -> None:
    """``max(-0.0, 0.0)`` is the first operand (torch.maximum's tie): ``1 / max`` is -inf for
    ``[-0.0, 0.0]`` and +inf for ``[0.0, -0.0]`` on the fused kernel as on the Value engine."""

    def loss(params: list[Value], r: list[list[Any]]) -> Value:
        (logits,) = logits_of(params, r)
        top = fold_max(logits)
        e = [(v - top).exp() for v in logits]
        return sum(e[1:], e[0]).log() + 1.0 / top

    want, got, program = engine_and_program(loss, [row])
    assert (got[0], want[0], "log-sum-exp" in kernels(program)) == (expected, expected, True)
