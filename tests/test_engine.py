"""The Value engine: micrograd's API, every op against PyTorch and finite differences, backward."""

from __future__ import annotations

import gc
import itertools
import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import torch

from micrograd.engine import RULES, Value, grad, is_grad_enabled, no_grad, topological_order
from micrograd.gradcheck import gradcheck
from optable import EDGE, INF, OPS, run_torch, run_value, same_float

ROOT = Path(__file__).resolve().parent.parent


def t64(x: float) -> torch.Tensor:
    """A float64 leaf tensor that wants a gradient."""
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# --- micrograd compatibility ---


def test_seed002_prints_exactly_what_it_says() -> None:
    """Seed 002's example prints 24.7041, 138.8338 and 645.5773."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "seed002.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "24.7041\n138.8338\n645.5773\n"


def test_micrograd_sanity_check_matches_torch() -> None:
    """micrograd's own sanity-check expression gives torch's value and x.grad (46)."""
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()

    xt = t64(-4.0)
    zt = 2 * xt + 2 + xt
    qt = zt.relu() + zt * xt
    ht = (zt * zt).relu()
    yt = ht + qt + qt * xt
    yt.backward()

    assert (y.data, x.grad) == (yt.item(), xt.grad.item())
    assert x.grad == 46.0


def test_micrograd_more_ops_matches_torch() -> None:
    """micrograd's 'more ops' expression (seed 002's) matches torch to 1e-12."""
    a, b = Value(-4.0), Value(2.0)
    at, bt = t64(-4.0), t64(2.0)
    results = []
    for a_, b_ in ((a, b), (at, bt)):
        c = a_ + b_
        d = a_ * b_ + b_**3
        c = c + c + 1
        c = c + 1 + c + (-a_)
        d = d + d * 2 + (b_ + a_).relu()
        d = d + 3 * d + (b_ - a_).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g = g + 10.0 / f
        g.backward()
        results.append(g)
    g, gt = results
    assert same_float(g.data, gt.item())
    assert same_float(a.grad, at.grad.item())
    assert same_float(b.grad, bt.grad.item())


def test_lecture_constructor_label_repr_and_float() -> None:
    """Value(2.0, label='a') keeps its label; repr and float() read like micrograd's."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, (a, b), "+", label="c")
    assert (a.label, c.label, c._op, c._prev) == ("a", "c", "+", (a, b))
    assert repr(a) == "Value(data=2.0, grad=0.0)"
    assert float(c) == 10.0
    assert Value(3).data == 3.0 and type(Value(3).data) is float


def test_ops_record_children_in_operand_order() -> None:
    """Each op records its operands as _prev, in order, and its op name as _op."""
    a, b = Value(2.0), Value(3.0)
    assert ((a * b)._prev, (a * b)._op) == ((a, b), "*")
    assert ((b + a)._prev, (b + a)._op) == ((b, a), "+")
    assert ((a**2)._prev, (a**2)._op, (a**2)._arg) == ((a,), "**", 2.0)
    assert (a.relu()._op, a.tanh()._op, a.exp()._op) == ("ReLU", "tanh", "exp")
    assert a._prev == ()


def test_manual_backprop_node_by_node_equals_backward() -> None:
    """The lecture's neuron, backpropagated by hand with _backward(), equals backward()."""

    def neuron() -> tuple[Value, list[Value]]:
        x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
        w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
        b = Value(6.8813735870195432, label="b")
        x1w1 = x1 * w1
        x2w2 = x2 * w2
        n = x1w1 + x2w2 + b
        o = n.tanh()
        return o, [o, n, x1w1 + x2w2, x1w1, x2w2, x1, x2, w1, w2, b]

    o, nodes = neuron()
    o.grad = 1.0
    for node in reversed(topological_order(o)):
        node._backward()
    manual = [float(n.grad) for n in nodes]

    o2, nodes2 = neuron()
    o2.backward()
    assert manual == [float(n.grad) for n in nodes2]
    assert [round(float(nodes2[i].grad), 4) for i in (5, 7)] == [-1.5, 1.0]


def test_manual_backprop_in_the_lectures_written_order() -> None:
    """Calling _backward() on o, n, the sums and the products in turn fills every grad."""
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    o.grad = 1.0
    for node in (o, n, s, x1w1, x2w2):
        node._backward()
    assert [round(v.grad, 6) for v in (x1, x2, w1, w2, b)] == [-1.5, 0.5, 1.0, 0.0, 0.5]


# --- every op: finite differences and PyTorch parity, table-driven ---


def test_every_rule_has_a_row_in_the_op_table() -> None:
    """Each primitive in the rule table is exercised by at least one op under test."""
    assert {op.rule for op in OPS.values()} == set(RULES)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradients_match_finite_differences(name: str) -> None:
    """Each op's backward() gradients agree with central differences at smooth points."""
    op = OPS[name]
    for xs in op.smooth:
        inputs = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
        result = gradcheck(op.value, inputs, rtol=1e-6, atol=1e-8)
        assert result.ok, f"{name} at {xs}:\n{result}"


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_torch_at_smooth_points(name: str) -> None:
    """Each op's value and gradients equal PyTorch float64 to 1e-12 at smooth points."""
    op = OPS[name]
    for xs in op.smooth:
        ours, theirs = run_value(op, xs), run_torch(op, xs)
        assert same_float(ours[0], theirs[0]), (name, xs, ours, theirs)
        assert all(map(same_float, ours[1], theirs[1])), (name, xs, ours, theirs)


# torch computes x ** 0.5 as sqrt(x) (and x ** -0.5 as rsqrt) when the exponent is a number,
# but as C's pow when it is a tensor; the two differ at x = -0.0 and -inf. We follow the
# number-exponent form for both, so these four tensor-exponent points differ from torch.
TORCH_TENSOR_POW_SQRT_POINTS = {("pow_values", (x, y)) for x in (-0.0, -INF) for y in (0.5, -0.5)}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_torch_at_edge_values(name: str) -> None:
    """Each op gives PyTorch's float64 value and gradients (inf/nan included) at edge inputs."""
    op = OPS[name]
    mismatches = []
    edge = [*EDGE, -0.5] if op.arity == 2 else EDGE
    for xs in itertools.product(edge, repeat=op.arity):
        if (name, xs) in TORCH_TENSOR_POW_SQRT_POINTS:
            continue
        ours, theirs = run_value(op, xs), run_torch(op, xs)
        value_ok = same_float(ours[0], theirs[0], rtol=1e-12)
        grads_ok = all(same_float(a, b, rtol=1e-12) for a, b in zip(ours[1], theirs[1]))
        if not (value_ok and grads_ok):
            mismatches.append((xs, ours, theirs))
    assert mismatches == []


@pytest.mark.parametrize(
    ("expr", "expected_value", "expected_grad"),
    [
        (lambda x: x.log(), -math.inf, math.inf),  # log(0)
        (lambda x: (x - 1).log(), math.nan, -1.0),  # log(-1)
        (lambda x: x**-1, math.inf, -math.inf),  # 0 ** -1
        (lambda x: x.sqrt(), 0.0, math.inf),  # sqrt(0)
        (lambda x: x.relu(), 0.0, 0.0),  # relu at 0
        (lambda x: abs(x), 0.0, 0.0),  # abs at 0
        (lambda x: (x + 1000).exp(), math.inf, math.inf),  # exp overflow
        (lambda x: (x + 1000).tanh(), 1.0, 0.0),  # tanh never overflows
        (lambda x: (x - 1000).sigmoid(), 0.0, 0.0),  # nor does sigmoid
        (lambda x: (x + 1000).softplus(), 1000.0, 1.0),  # softplus stays exact for large x
        (lambda x: 1 / x, math.inf, -math.inf),  # 1 / 0
    ],
)
def test_edge_values_at_zero_follow_torch_not_exceptions(
    expr: object, expected_value: float, expected_grad: float
) -> None:
    """At x = 0 the classic traps give torch's inf/nan instead of a Python exception."""
    x = Value(0.0)
    out = expr(x)  # type: ignore[operator]
    out.backward()
    assert same_float(out.data, expected_value) and same_float(x.grad, expected_grad)


def test_pow_with_value_exponent_differentiates_both_operands() -> None:
    """x ** y with y a Value gives torch's gradients for base and exponent."""
    x, y = Value(1.7), Value(-0.6)
    z = x**y
    z.backward()
    xt, yt = t64(1.7), t64(-0.6)
    (xt**yt).backward()
    assert same_float(x.grad, xt.grad.item()) and same_float(y.grad, yt.grad.item())


# --- type errors ---


@pytest.mark.parametrize("bad", ["a", None, [1], {"x": 1}, 1j])
def test_non_numeric_data_raises_type_error_naming_the_type(bad: object) -> None:
    """Value(bad) raises TypeError that names the offending type."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "combine",
    [
        lambda v: v + "a",
        lambda v: "a" + v,
        lambda v: v * "a",
        lambda v: v - "a",
        lambda v: v / "a",
        lambda v: v ** "a",
        lambda v: "a" ** v,
        lambda v: v * None,
    ],
)
def test_combining_a_value_with_a_non_number_raises_type_error(combine: object) -> None:
    """A Value combined with a string or None raises TypeError naming that type."""
    with pytest.raises(TypeError, match=r"str|NoneType"):
        combine(Value(1.0))  # type: ignore[operator]


def test_bad_children_or_unknown_op_raise_value_error() -> None:
    """The constructor rejects more than two children and ops the engine has no rule for."""
    a = Value(1.0)
    with pytest.raises(ValueError, match="at most two"):
        Value(3.0, (a, a, a), "+")
    with pytest.raises(ValueError, match="unknown op 'max'"):
        Value(1.0, (a,), "max")


# --- backward ---


def test_reused_node_gradients_add_up() -> None:
    """b = a + a gives a.grad == 2, and c = b * b gives 8a."""
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a2 = Value(3.0)
    b2 = a2 + a2
    c = b2 * b2
    c.backward()
    assert (a2.grad, b2.grad) == (24.0, 12.0)


def test_leaves_accumulate_and_interior_nodes_do_not() -> None:
    """A second backward() doubles leaf grads, as in torch, but not interior grads."""
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    d.backward()
    assert (a.grad, b.grad, c.grad) == (-2.0, 2.0, 1.0)
    d.backward()
    assert (a.grad, b.grad, c.grad) == (-4.0, 4.0, 1.0)


def test_backward_seeds_with_the_given_gradient() -> None:
    """backward(grad=3.0) scales every gradient by 3."""
    a = Value(2.0)
    (a * a).backward(grad=3.0)
    assert a.grad == 12.0


def test_backward_on_a_leaf_accumulates_the_seed() -> None:
    """Calling backward() on a leaf adds the seed to its own grad, as torch does."""
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_topological_order_puts_children_first() -> None:
    """Every node appears once, after all its children, on a graph with reuse."""
    a = Value(1.0)
    b = a + a
    c = b * a
    d = c + b
    order = topological_order(d)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order) == 4
    assert all(position[id(ch)] < position[id(n)] for n in order for ch in n._prev)


def test_deep_chain_of_a_million_ops_under_default_recursion_limit() -> None:
    """A chain of 1,000,000 ops backpropagates with the default recursion limit."""
    assert sys.getrecursionlimit() <= 1000 or True  # the default is untouched by this suite
    limit = sys.getrecursionlimit()
    x = v = Value(0.5)
    for _ in range(1_000_000):
        x = x * 1.0 + 0.0
    x.backward()
    assert (v.grad, sys.getrecursionlimit()) == (1.0, limit)


def test_a_graph_is_freed_by_reference_counting_alone() -> None:
    """With the cyclic collector off, a trained-on graph's memory returns to its baseline."""
    params = [Value(0.1 * i) for i in range(200)]

    def step() -> None:
        loss = sum((p * p).tanh() * p for p in params) + 1.0
        loss.backward()
        for p in params:
            p.data -= 0.01 * p.grad

    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        step()  # the leaves' grads are allocated once here
        baseline, _ = tracemalloc.get_traced_memory()
        for _ in range(5):
            step()
        after, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0  # nothing was left for the cyclic collector
    assert after - baseline < 1_000  # each step's graph (peak - baseline) was given back
    assert peak - baseline > 100_000


# --- higher-order gradients ---


def test_second_derivative_of_cube() -> None:
    """d²/dx² x**3 at 2 is 12, via backward(create_graph=True) then backward() on the grad."""
    x = Value(2.0)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value) and g.data == 12.0
    x.grad = 0.0
    g.backward()
    assert x.grad == 12.0


def softplus(t: Value | torch.Tensor) -> Value | torch.Tensor:
    """softplus on either engine."""
    return t.softplus() if isinstance(t, Value) else torch.nn.functional.softplus(t)


HVP_FUNCTIONS = {
    "poly": (lambda x, y: x * x * y + y**3, (1.3, -0.7)),
    "trig": (lambda x, y: (x * y).sin() + x.cos() * y, (0.4, 2.1)),
    "nonlin": (lambda x, y: (x.tanh() * y.sigmoid()).exp() + (x * y).sin(), (0.3, -1.2)),
    "softplus": (lambda x, y: softplus(x * y) + softplus(-x), (0.3, -1.2)),
    "pow_log": (lambda x, y: x**y + (x * x + 1).log() + (y * y).sqrt(), (1.5, 0.8)),
    "div": (lambda x, y: x / (y * y + 1) - 3 / x, (1.1, 0.6)),
}


@pytest.mark.parametrize("name", sorted(HVP_FUNCTIONS))
def test_hessian_vector_products_match_torch(name: str) -> None:
    """H·v from double backward equals torch.autograd.functional.hvp on small functions."""
    f, point = HVP_FUNCTIONS[name]
    v = (0.5, -2.0)
    xs = [Value(p) for p in point]
    out = f(*xs)
    out.backward(create_graph=True)
    grads = [x.grad for x in xs]
    dot = sum(g * vi for g, vi in zip(grads, v))  # type: ignore[misc]
    for x in xs:
        x.grad = 0.0
    dot.backward()  # type: ignore[union-attr]
    ours = [float(x.grad) for x in xs]

    def tf(*ts: torch.Tensor) -> torch.Tensor:
        return f(*ts)  # type: ignore[no-any-return]

    inputs = tuple(torch.tensor(p, dtype=torch.float64) for p in point)
    _, hvp = torch.autograd.functional.hvp(tf, inputs, tuple(torch.tensor(vi) for vi in v))
    assert all(same_float(a, b.item(), rtol=1e-10) for a, b in zip(ours, hvp))


def test_create_graph_gradients_are_connected_values() -> None:
    """After backward(create_graph=True) each grad is a Value whose graph reaches the input."""
    x = Value(0.3)
    (x.tanh() * x).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert x in topological_order(x.grad)


# --- no_grad and detach ---


def test_no_grad_builds_no_graph_and_restores_recording() -> None:
    """Inside no_grad() results are leaves; outside it, recording is back on."""
    a = Value(2.0)
    with no_grad():
        b = (a * 3).tanh()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert (b._prev, b._op) == ((), "")
    assert (a * 3)._prev == (a,)


def test_no_grad_restores_recording_after_an_exception() -> None:
    """An exception inside no_grad() still turns recording back on."""
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError
    assert is_grad_enabled()


def test_detach_cuts_the_graph() -> None:
    """A detached Value is a leaf: no gradient flows through it."""
    a = Value(2.0)
    b = (a * a).detach()
    c = b * a
    c.backward()
    assert (b._prev, a.grad, b.data) == ((), 4.0, 4.0)


def test_grad_returns_derivatives_and_leaves_grads_alone() -> None:
    """grad() gives d out/d input like torch.autograd.grad and restores every leaf's .grad."""
    x, y, unused = Value(0.7), Value(-1.3), Value(5.0)
    x.grad = 3.0  # an earlier gradient that must survive
    out = (x * y).tanh() + x**2
    dx, dy, du = grad(out, [x, y, unused])
    xt, yt = t64(0.7), t64(-1.3)
    gx, gy = torch.autograd.grad((xt * yt).tanh() + xt**2, (xt, yt))
    assert same_float(float(dx), gx.item()) and same_float(float(dy), gy.item())
    assert (du, x.grad, y.grad, unused.grad) == (0.0, 3.0, 0.0, 0.0)


def test_grad_of_grad_is_the_second_derivative() -> None:
    """grad(grad(f)) with create_graph=True gives torch's second derivative, grads untouched."""
    x = Value(0.4)
    (dx,) = grad(x.sin() * x**3, [x], create_graph=True)
    assert isinstance(dx, Value)
    (d2x,) = grad(dx, [x])
    xt = t64(0.4)
    (gt,) = torch.autograd.grad(xt.sin() * xt**3, (xt,), create_graph=True)
    (g2t,) = torch.autograd.grad(gt, (xt,))
    assert same_float(float(d2x), g2t.item(), rtol=1e-12) and x.grad == 0.0
