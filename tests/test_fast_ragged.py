"""Rows of different lengths at one level (causal attention's softmax and weighted sum over 1..T
keys) run as one kernel a kind on the compiled path, padded with each operation's identity: the
Value engine's values and gradients on edge numbers (±0.0, ±inf, nan, ties, huge)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import reduce
from operator import add
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.engine import Value
from micrograd.fast._gpt import GPTStep
from micrograd.gpt.model import GPT, softmax
from micrograd.gpt.train import _padded_loss, make_optimizer
from optable import same_float

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 700.0, -700.0, 1e300, -1e300, 1e-300]
SPECIAL = [math.inf, -math.inf, math.nan]

Rows = list[list[Value]]
RowLoss = Callable[[Rows, Rows], list[Value]]


def kernel_lines(program: fast.Program) -> list[str]:
    """The kernel lines of ``describe()``."""
    return [line.strip() for line in program.describe().splitlines() if line.startswith("  ")]


def ragged(values: list[Value], lengths: list[int]) -> Rows:
    """``values`` cut into rows of ``lengths``."""
    starts = [sum(lengths[:r]) for r in range(len(lengths))]
    return [values[s : s + n] for s, n in zip(starts, lengths)]


def fold_max(row: list[Value]) -> Value:
    """``max(…max(row[0], row[1])…, row[-1])``."""
    return reduce(Value.maximum, row[1:], row[0])


def log_sum_exp(row: list[Value]) -> Value:
    """The losses' stable log-sum-exp: max, v - max, exp, sum, log."""
    top = fold_max(row)
    return reduce(add, [(v - top).exp() for v in row]).log()


ROW_OPS: dict[str, RowLoss] = {
    "sum": lambda a, b: [reduce(add, row) for row in a],
    "dot": lambda a, b: [reduce(add, [x * y for x, y in zip(r, s)]) for r, s in zip(a, b)],
    "max": lambda a, b: [fold_max(row) for row in a],
    "log-sum-exp": lambda a, b: [log_sum_exp(row) for row in a],
    "softmax": lambda a, b: [p * y for r, s in zip(a, b) for p, y in zip(softmax(r), s)],
}


def run_both(kind: str, lengths: list[int], xs: list[float], ys: list[float]) -> Any:
    """``(want, got, program)``: the loss ``Σ_r (r + 1) * out_r`` of the kind's row outputs
    (``p_i * x_i`` the operands, to the bit) and every ``p``'s gradient, on the Value engine
    and from the traced program."""
    n = len(xs)
    params = [Value(1.0) for _ in range(2 * n)]

    def loss(x: list[Any], y: list[Any]) -> Value:
        a = [p * v for p, v in zip(params[:n], x)]
        b = [p * v for p, v in zip(params[n:], y)]
        outs = ROW_OPS[kind](ragged(a, lengths), ragged(b, lengths))
        return reduce(add, [out * float(r + 1) for r, out in enumerate(outs)])

    expected = loss(xs, ys)
    expected.backward()
    want = (expected.data, [p.grad for p in params])
    program = fast.trace(loss, params, xs, ys)
    for p in params:
        p.grad = 0.0
    got = (program(xs, ys), [p.grad for p in params])
    return want, got, program


def agree(want: Any, got: Any, xs: list[float], exact: bool) -> bool:
    """Same loss and gradients: to the bit (nan as nan) when ``exact``, else to the rounding of
    another order of additions (relative to the sum of the finite magnitudes)."""
    scale = sum(abs(x) * 20 for x in xs if math.isfinite(x))
    rtol, atol = (0.0, 0.0) if exact else (1e-9, 1e-12 * scale)
    pairs = [(got[0], want[0]), *zip(got[1], want[1], strict=True)]
    return all(same_float(a, b, rtol, atol) for a, b in pairs)


def numbers(special: bool) -> st.SearchStrategy[float]:
    """Edge numbers (with ±inf and nan when ``special``) and ordinary ones."""
    return st.sampled_from(EDGES + SPECIAL if special else EDGES) | st.floats(-50.0, 50.0)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ragged_rows_are_one_kernel_with_the_value_engines_numbers(data: st.DataObject) -> None:
    """Sums, dot products, max folds, log-sum-exps and softmaxes over rows of 1..8 terms of
    different lengths: one kernel for the rows (at least two lengths of two or more), and the
    Value engine's loss and gradients (max folds to the bit)."""
    kind = data.draw(st.sampled_from(sorted(ROW_OPS)), "kind")
    lengths = data.draw(st.lists(st.integers(1, 8), min_size=2, max_size=5), "lengths")
    special = data.draw(st.booleans(), "special")
    n = sum(lengths)
    xs = data.draw(st.lists(numbers(special), min_size=n, max_size=n), "xs")
    ys = data.draw(st.lists(numbers(False), min_size=n, max_size=n), "ys")
    want, got, program = run_both(kind, lengths, xs, ys)
    exact = kind == "max" and all(math.isfinite(x) for x in xs)
    assert agree(want, got, xs + ys, exact)
    lines = kernel_lines(program)
    if len({k for k in lengths if k > 1}) > 1:
        if kind == "max":
            assert sum(line.startswith("max fold") for line in lines) == 1
        elif kind in ("log-sum-exp", "softmax"):
            assert sum("exp(v - max v)" in line or "log-sum-exp" in line for line in lines) == 1
        else:  # the rows' sums, and the loss's sum
            assert sum(line.startswith(("sum of", "matmul")) for line in lines) == 2


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_ragged_log_sum_exp_nodes_may_be_read_by_others(data: st.DataObject) -> None:
    """Log-sum-exps (or softmax denominators) over rows of 2..8 logits whose max, a ``v - max``,
    an exp, the sum and the log the loss also reads: one kernel, the Value engine's numbers."""
    lengths = data.draw(st.lists(st.integers(2, 8), min_size=2, max_size=4, unique=True))
    n = sum(lengths)
    xs = data.draw(st.lists(numbers(False), min_size=n, max_size=n), "xs")
    picks = [data.draw(st.integers(0, k - 1)) for k in lengths]
    with_log = data.draw(st.booleans(), "log")
    params = [Value(1.0) for _ in range(n)]

    def loss(x: list[Any]) -> Value:
        total = Value(0.0)
        for row, j in zip(ragged([p * v for p, v in zip(params, x)], lengths), picks):
            top = fold_max(row)
            z = [v - top for v in row]
            e = [zj.exp() for zj in z]
            s = reduce(add, e)
            terms = [top * 0.5, z[j] * -2.0, e[-1 - j] * 3.0, s, s.log() if with_log else s * s]
            total = total + reduce(add, terms)
        return total

    expected = loss(xs)
    expected.backward()
    want = (expected.data, [p.grad for p in params])
    program = fast.trace(loss, params, xs)
    for p in params:
        p.grad = 0.0
    got = (program(xs), [p.grad for p in params])
    assert agree(want, got, xs, exact=False)
    lines = kernel_lines(program)
    assert sum("exp(v - max v)" in line or "log-sum-exp" in line for line in lines) == 1


def test_padding_never_ties_with_a_max_of_minus_inf() -> None:
    """Max folds over rows of 3, 4 and 5 parameters, a short row all -inf (its padding is -inf
    too, yet takes no share: the columns keep their 1/4, 1/4, 1/2) and signed-zero ties: the
    Value engine's loss and gradients, to the bit."""
    lengths = [3, 4, 5]
    xs = [-math.inf] * 3 + [-0.0, 0.0, -0.0, 0.0] + [2.0, 2.0, 1.0, -math.inf, 2.0]
    params = [Value(x) for x in xs]

    def loss(y: list[Any]) -> Value:
        rows = ragged([p * v for p, v in zip(params, y)], lengths)
        return reduce(add, [fold_max(row) * float(r + 1) for r, row in enumerate(rows)])

    expected = loss([1.0] * 12)
    expected.backward()
    want = (expected.data, [p.grad for p in params])
    program = fast.trace(loss, params, [1.0] * 12)
    for p in params:
        p.grad = 0.0
    got = (program([1.0] * 12), [p.grad for p in params])
    assert want[1][:3] == [0.25, 0.25, 0.5]
    assert agree(want, got, xs, exact=True)
    assert sum(line.startswith("max fold") for line in kernel_lines(program)) == 1


def test_the_gpt_attention_is_one_kernel_a_kind() -> None:
    """The GPT's padded loss at a block of 6: one softmax kernel for attention's rows of 2..6
    keys, and no weighted sum of a shorter length than the block (they joined the longest)."""
    random.seed(10)
    model = GPT(vocab_size=7, n_embd=16, n_head=2, n_layer=1, block_size=6)  # head size 8
    step = GPTStep(model, make_optimizer(model))
    inputs = step._padded([6, 1, 6])
    program = fast.trace(
        lambda x, y, w: _padded_loss(model, x, y, w),
        model.parameters(),
        *inputs,
        indices=[0, 1],
        retrace=False,
    )
    lines = kernel_lines(program)
    short = [f"dot of {k} products" for k in range(2, 6)]
    assert sum(line.startswith("sum of exp(v - max v)") for line in lines) == 1
    assert [line for line in lines if any(s in line for s in short)] == []
