"""Sums of zeros on the compiled path keep the sign a chain of additions gives: -0.0 when every
term is -0.0 (NumPy's dot products and matmuls start from +0.0, which turned ``1 / x`` into
+inf where the Value engine and PyTorch give -inf)."""

from __future__ import annotations

import math
import operator

from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.engine import Value

ZEROS_AND_ONES = st.sampled_from([-0.0, 0.0, 1.0, -1.0, 0.5])


def test_a_sum_of_two_negative_zeros_is_negative_zero() -> None:
    """1 / (w*x + w*x) at x = -0.0 is -inf, as on the Value engine (the fused sum gave +inf)."""
    w = Value(1.0)

    def fn(x: Value) -> Value:
        return 1.0 / (w * x + w * x)

    assert (fast.trace(fn, [w], 1.0)(-0.0), fn(Value(-0.0)).data) == (-math.inf, -math.inf)


def _loss(weights: list[Value], rows: list[list[Value]]) -> Value:
    """Every kind of sum over the rows (a dense layer with biases: a matmul; a dot product; a
    plain sum), each sum's sign read by ``tanh(1 / s)`` (-1 or 1 at a zero) and weighted by a
    power of 3, so that one wrong sign changes the loss by at least 2."""
    w1, w2, b = weights[0:3], weights[3:6], weights[6]
    sums: list[Value] = []
    for x in rows:
        sums.append(sum(map(operator.mul, w1, x), b))  # a neuron: from its bias
        sums.append(sum(map(operator.mul, w2, x), b))
        sums.append(x[0] * w1[0] + x[1] * w1[1])  # a dot product, no bias
        sums.append(x[0] + x[1] + x[2])  # plain terms
    terms = [(1.0 / s).tanh() * 3.0**k for k, s in enumerate(sums)]
    return sum(terms[1:], terms[0])


WEIGHTS = st.lists(ZEROS_AND_ONES, min_size=7, max_size=7)
ROWS = st.lists(st.lists(ZEROS_AND_ONES, min_size=3, max_size=3), min_size=3, max_size=3)


@settings(max_examples=60, deadline=None)
@given(WEIGHTS, ROWS)
def test_zero_sums_have_the_value_engines_sign(
    weights: list[float], rows: list[list[float]]
) -> None:
    """Matmuls with biases, dot products and plain sums of signed zeros and ones: the compiled
    loss is the Value engine's (each sum's sign of zero weighs 2 * 3**k in it)."""
    _same_as_the_value_engine(weights, rows, "numpy")


@settings(max_examples=12, deadline=None)
@given(WEIGHTS, ROWS)
def test_zero_sums_have_the_value_engines_sign_on_jax(
    weights: list[float], rows: list[list[float]]
) -> None:
    """The same on the JAX backend, whose reductions and dots start from +0.0 too."""
    _same_as_the_value_engine(weights, rows, "jax")


def _same_as_the_value_engine(weights: list[float], rows: list[list[float]], backend: str) -> None:
    params = [Value(w) for w in weights]
    program = fast.trace(lambda xs: _loss(params, xs), params, rows, backend=backend)
    got = program(rows)
    want = _loss(params, [[Value(v) for v in row] for row in rows]).data
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9) or (
        math.isnan(got) and math.isnan(want)
    )
