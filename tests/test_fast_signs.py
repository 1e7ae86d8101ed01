"""Which zeros need their sign (``fast._signs``): the JAX backend signs the zeros of a matrix
product only where the sign can reach the loss or a gradient, and still gives the engine's
numbers to the bit wherever it can."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.engine import Value
from micrograd.fast import _jax_steps, _signs
from optable import same_float

SIGNED = st.sampled_from([-0.0, 0.0, 1.0, -1.0, 0.5, -0.0])


@pytest.mark.parametrize(
    ("op", "position", "other", "expected"),
    [
        ("+", 0, -0.0, (True, False)),  # -0.0 + -0.0 is -0.0, 0.0 + -0.0 is 0.0
        ("+", 0, 0.0, (False, False)),  # ±0 + 0.0 is 0.0
        ("+", 0, 1.0, (False, False)),  # 1 + ±0 is 1
        ("*", 0, -1.0, (True, False)),
        ("/", 0, 2.0, (True, False)),
        ("/", 1, 1.0, (False, True)),  # 1 / ±0 is ±inf
        ("log", 0, 0.0, (False, True)),  # log(±0) is -inf, but its backward 1 / ±0 is ±inf
        ("sqrt", 0, 0.0, (True, True)),  # sqrt(-0.0) is -0.0; its backward divides by it
        ("exp", 0, 0.0, (False, False)),
        ("ReLU", 0, 0.0, (True, False)),  # -0.0 passes, as torch; its backward asks out <= 0
        ("abs", 0, 0.0, (False, False)),
        ("cos", 0, 0.0, (False, False)),  # the backward's -sin(±0) is a zero: no bit
        ("tanh", 0, 0.0, (True, False)),
        ("**", 0, 2.0, (False, False)),  # (±0)**2 is 0.0
        ("**", 0, 3.0, (True, False)),
        ("**", 0, -1.0, (False, True)),
        ("**", 0, 0.5, (True, True)),  # x**0.5 is sqrt's: its backward divides by 2*out
        ("pow", 1, 2.0, (False, False)),  # 2 ** ±0 is 1
        ("maximum", 0, -0.0, (True, False)),  # x at a tie
    ],
)
def test_what_a_zero_sign_does_comes_from_the_rules(
    op: str, position: int, other: float, expected: tuple[bool, bool]
) -> None:
    """Whether an op passes a zero's sign on and whether it turns it into other bits, as
    its rule computes them at +0.0 and -0.0."""
    assert _signs._effect(op, position, other) == expected


def test_a_rule_of_the_users_is_assumed_to_need_every_sign() -> None:
    assert _signs._effect("no such op", 0, 1.0) == (True, True)


# What follows a dense layer's entries z (and w, a second neuron's): the ways a zero's sign is
# passed on, dropped, or turned into another number.
AFTER: dict[str, Callable[[Value, Value], Value]] = {
    "recip": lambda z, w: 1.0 / z,
    "div": lambda z, w: w / z,
    "log": lambda z, w: z.log(),
    "sqrt": lambda z, w: z.sqrt(),
    "pow_neg": lambda z, w: z**-1,
    "pow_half": lambda z, w: z**0.5,
    "square": lambda z, w: z**2,
    "cube": lambda z, w: z**3,
    "exp": lambda z, w: z.exp(),
    "tanh": lambda z, w: z.tanh(),
    "sigmoid": lambda z, w: z.sigmoid(),
    "softplus": lambda z, w: z.softplus(),
    "relu": lambda z, w: z.relu(),
    "leaky": lambda z, w: z.leaky_relu(0.5),
    "abs": lambda z, w: abs(z),
    "sin": lambda z, w: z.sin(),
    "cos": lambda z, w: z.cos(),
    "neg": lambda z, w: -z,
    "plus_one": lambda z, w: z + 1.0,
    "plus_zero": lambda z, w: z + 0.0,
    "minus_zero": lambda z, w: z - 0.0,
    "plus_w": lambda z, w: z + w,
    "cancel": lambda z, w: (z + 1.0) - 1.0,  # a sum with known terms: never -0.0
    "sum_from_zero": lambda z, w: sum([z, w], 0.0),  # 0.0 + z + w: never -0.0
    "sum_from_negative_zero": lambda z, w: sum([z, w], -0.0),  # -0.0 when z and w are
    "plus_w_one": lambda z, w: z + w + 1.0,
    "times_w": lambda z, w: z * w,
    "max_w": lambda z, w: z.maximum(w),
    "power_w": lambda z, w: Value(2.0) ** z,
    "z_to_w": lambda z, w: z**w,
}


def _layered(ops: list[str], end: str, params: list[Value], rows: list[list[Any]]) -> Value:
    """Two neurons over the rows (a matrix product with biases), the ops on each entry, and a
    loss that sums them (``end``: ``ENDS``)."""
    outs = []
    for x in rows:
        z = params[0] * x[0] + params[1] * x[1] + params[2]
        w = params[3] * x[0] + params[4] * x[1] + params[5]
        for name in ops:
            z = AFTER[name](z, w)
        outs.append(z)
    total = sum(outs, START[end]) if end in START else sum(outs[1:], outs[0])
    if end == "plus_one":
        return total + 1.0
    return (1.0 / total).tanh() if end == "sign" else total


# How the loss ends: the entries' sum as it is, plus 1, through tanh(1 / s) (its zero's sign is
# ±1), or a sum from 0.0 or -0.0 (a known term: the sum is -0.0 only from -0.0).
ENDS = ["sum", "plus_one", "sign", "from_zero", "from_negative_zero"]
START = {"from_zero": 0.0, "from_negative_zero": -0.0}


def _same_bits(a: float, b: float) -> bool:
    """``same_float`` to 1e-12 (XLA's sin and exp may differ from C's in the last bit, so a
    sum that cancels to 0.0 on the engine may leave 1e-19), and a zero's sign too."""
    same_zero = a != 0.0 or b != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return same_float(a, b, atol=1e-12) and same_zero


WEIGHTS = [-0.0, 1.0, -0.0, 0.0, -1.0, -0.0]
CASES = {
    # the first neuron's entries -0.0, +0.0 (from -0.0 terms and a +0.0), +0.0 and 1; the
    # second's +0.0, -0.0, -0.0 and 1
    "mixed": (WEIGHTS, [[1.0, -0.0], [-1.0, -0.0], [1.0, 0.0], [2.0, 1.0]]),
    "negative zeros": (WEIGHTS, [[1.0, -0.0], [2.0, -0.0]]),  # the first neuron's: -0.0 sums
    "all negative zeros": ([-0.0] * 6, [[1.0, 1.0], [2.0, 1.0]]),  # both neurons' entries
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("end", ENDS)
@pytest.mark.parametrize("op", sorted(AFTER))
def test_each_op_after_a_product_of_zeros_has_the_engines_numbers(
    op: str, end: str, case: str
) -> None:
    """Each op after products whose entries are zeros of both signs: the JAX backend (which
    signs a product's zeros only where ``zero_signs_needed`` says, here even the smallest
    product's) gives the engine's loss and gradients, infinities and zero signs included."""
    weights, rows = CASES[case]
    _same_as_the_engine(weights, rows, [op], end)


@settings(max_examples=40, deadline=None)  # each example compiles one XLA program
@given(
    st.lists(SIGNED, min_size=6, max_size=6),
    st.lists(st.lists(SIGNED, min_size=2, max_size=2), min_size=2, max_size=3),
    st.lists(st.sampled_from(sorted(AFTER)), min_size=2, max_size=3),
    st.sampled_from(ENDS),
)
def test_chains_of_ops_after_products_have_the_engines_numbers(
    weights: list[float], rows: list[list[float]], ops: list[str], end: str
) -> None:
    """The same with chains of ops, on random signed zeros and ones."""
    _same_as_the_engine(weights, rows, ops, end)


def _same_as_the_engine(
    weights: list[float], rows: list[list[float]], ops: list[str], end: str
) -> None:
    params = [Value(w) for w in weights]
    reference = _layered(ops, end, params, [[Value(v) for v in row] for row in rows])
    reference.backward()
    expected = [reference.data, *(float(p.grad) for p in params)]
    with pytest.MonkeyPatch.context() as patch:  # every product left to the analysis
        patch.setattr(_jax_steps, "_FEW_TERMS", 0)
        program = fast.trace(lambda xs: _layered(ops, end, params, xs), params, rows, backend="jax")
        loss, grad = program.loss_and_grad(np.array(weights), rows)
    found = [loss, *grad.tolist()]
    assert all(_same_bits(f, e) for f, e in zip(found, expected, strict=True)), (found, expected)


@pytest.mark.parametrize("constants", [[-0.0, 0.0], [0.0, -0.0]])
def test_constants_of_both_signs_in_one_kernel_are_told_apart(constants: list[float]) -> None:
    """``z - 0.0`` passes a zero's sign on and ``z - -0.0`` does not: in one kernel, each row
    is judged by its own constant (0.0 and -0.0 are one number to ``np.unique``), so the
    product under ``1 / (z - 0.0)`` keeps its -0.0 and the loss is the engine's -inf."""
    params = [Value(1.0), Value(-0.0)]
    # z = x - 0.0 is -0.0 at x = -0.0 (1 / z: -inf); the row beside it, 1 - -0.0, is 1
    rows = [[-0.0] if math.copysign(1.0, c) > 0 else [1.0] for c in constants]

    def loss(xs: list[list[Value]]) -> Value:
        terms = [1.0 / ((params[0] * x[0] + params[1]) - c) for x, c in zip(xs, constants)]
        return terms[0] + terms[1]

    reference = loss([[Value(v) for v in row] for row in rows])
    program = fast.trace(loss, params, rows, backend="jax")
    assert reference.data == -math.inf
    assert _same_bits(program(rows), reference.data)
