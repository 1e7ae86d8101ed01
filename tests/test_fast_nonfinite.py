"""inf and nan through the compiled path's matrix products: 0 * inf is nan there as on the Value
engine, in every shape (OpenBLAS's ``np.dot`` scales by a 1x1 factor and gave 0.0 for it)."""

from __future__ import annotations

import itertools
import math

import pytest

from micrograd import fast
from micrograd.engine import Value
from micrograd.nn import Layer

# (inputs, neurons, batch, backend): every shape on NumPy; on JAX (a compile each) those with
# a 1x1 factor somewhere, and one without.
CASES = [(*shape, "numpy") for shape in itertools.product([1, 2, 3], repeat=3)] + [
    (*shape, "jax") for shape in [(1, 1, 1), (1, 1, 3), (1, 3, 1), (3, 1, 1), (2, 2, 2)]
]


def _run(layer: Layer, rows: list[list[float]], backend: str) -> tuple[float, list[float]]:
    """The loss sum(1 / o) over the layer's outputs on every row, and the gradients."""
    params = layer.parameters()

    def outputs(x: list[Value]) -> list[Value]:
        out = layer(x)
        return [out] if isinstance(out, Value) else out  # one neuron: micrograd gives its Value

    def loss(xs: list[list[Value]]) -> Value:
        return sum((1.0 / o for x in xs for o in outputs(x)), Value(0.0))

    for p in params:
        p.grad = 0.0
    if backend != "value":
        out = fast.trace(loss, params, rows, backend=backend)(rows)
    else:
        value = loss([[Value(v) for v in row] for row in rows])
        value.backward()
        out = value.data
    return out, [p.grad for p in params]


def _same(a: float, b: float) -> bool:
    return repr(a) == repr(b) or math.isclose(a, b, rel_tol=1e-12)


@pytest.mark.parametrize(("inputs", "neurons", "batch", "backend"), CASES)
@pytest.mark.parametrize("where", ["weight", "input"])
def test_zero_times_inf_is_nan_in_every_matmul_shape(
    inputs: int, neurons: int, batch: int, where: str, backend: str
) -> None:
    """A dense layer (a matmul on the compiled path) with an inf weight meeting a 0 input, or a
    0 input whose weight gradient is 0 * inf (1 / o at o = 0): the compiled loss and gradients are
    the Value engine's, nan where it gives nan, for shapes of 1 to 3 inputs, neurons and rows."""
    layer = Layer(inputs, neurons, nonlin=False)
    for k, p in enumerate(layer.parameters()):
        p.data = 0.5 + k
    for n in layer.neurons:
        n.b.data = 0.0
    rows = [[1.0 + j + i for i in range(inputs)] for j in range(batch)]
    if where == "weight":
        layer.neurons[0].w[0].data = math.inf
        rows[0][0] = 0.0
    else:  # every input of row 0 is zero: its outputs are 0 and d(1/o)/do is -inf
        rows[0] = [0.0] * inputs
    want = _run(layer, rows, "value")
    got = _run(layer, rows, backend)
    assert [_same(a, b) for a, b in zip([got[0], *got[1]], [want[0], *want[1]], strict=True)] == [
        True
    ] * (1 + len(want[1])), (got, want)
