"""micrograd.func: grad, jacobian, hessian, vjp (reverse mode), jvp and jacfwd (forward mode).

Random programs (test_engine_random's generator) are compared with torch.func in float64, and
forward mode with reverse mode; fixed functions with exact values and finite differences.
"""

from __future__ import annotations

import collections
import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, example, given, settings

from lazy_torch import torch
from micrograd import func
from micrograd.engine import RULES, AnomalyError, Value, detect_anomaly, register_op
from micrograd.gradcheck import derivative, gradcheck, gradgradcheck
from micrograd.nn import MLP
from optable import EDGE, OPS, same_float
from test_engine_random import programs, run_steps

Program = tuple[list[float], list[tuple[Any, ...]]]


def scalar_fn(program: Program, engine: str = "value") -> Callable[..., Any]:
    """The program as a function of its inputs, with one output (as test_engine_random's)."""

    def f(*xs: Any) -> Any:
        nodes = run_steps(program[1], list(xs), engine)
        return nodes[-1] * nodes[len(nodes) // 2] + nodes[-1]

    return f


def vector_fn(program: Program, engine: str = "value") -> Callable[..., Any]:
    """The program as a function of its inputs with three outputs (a tuple)."""

    def f(*xs: Any) -> Any:
        nodes = run_steps(program[1], list(xs), engine)
        return (nodes[-1], nodes[len(nodes) // 2] * nodes[-1], nodes[0] + nodes[-1])

    return f


def flat(tree: Any) -> list[float]:
    """The numbers of nested lists and tuples (of floats, Values or 0-d tensors), in order."""
    if isinstance(tree, (list, tuple)):
        return [x for t in tree for x in flat(t)]
    return [tree.item() if hasattr(tree, "item") else float(tree)]


def close(ours: list[float], theirs: list[float]) -> bool:
    """Equal up to rounding, element by element: nan with nan, inf with the same inf."""
    return len(ours) == len(theirs) and all(
        same_float(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(ours, theirs)
    )


def tensors(xs: list[float]) -> tuple[Any, ...]:
    """The inputs as float64 0-d tensors."""
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


def huge(values: list[float]) -> bool:
    """Whether a number is finite but near overflow, where rounding may decide inf or not."""
    return any(math.isfinite(v) and abs(v) > 1e300 for v in values)


TANGENTS = [1.0, -0.5, 2.0]


# --- against torch.func, on random programs (edge values included) ---


@pytest.mark.torch
@settings(max_examples=300)
@given(programs)
def test_grad_matches_torch_func_grad(program: Program) -> None:
    """grad over every input equals torch.func.grad on random graphs."""
    xs = program[0]
    nums = tuple(range(len(xs)))
    ours = flat(func.grad(scalar_fn(program), argnums=nums)(*xs))
    theirs = flat(torch.func.grad(scalar_fn(program, "torch"), argnums=nums)(*tensors(xs)))
    assume(not huge(theirs) and not huge(flat(func.jvp(scalar_fn(program), xs, xs)[0])))
    assert close(ours, theirs), (ours, theirs)


@pytest.mark.torch
@settings(max_examples=300)
@given(programs)
def test_jacobians_match_torch_func_jacrev_and_jacfwd(program: Program) -> None:
    """jacobian equals torch.func.jacrev and jacfwd equals torch.func.jacfwd, three outputs.

    torch's are taken an output (jacrev) or an input (jacfwd) at a time, as ours are: its
    jacrev of all outputs at once adds 0 * (another output's infinite derivative) = nan into
    each row, and its jacfwd of all inputs does the same with the other inputs' zero tangents.
    """
    xs = program[0]
    nums = tuple(range(len(xs)))
    f, tf, txs = vector_fn(program), vector_fn(program, "torch"), tensors(xs)
    rev = flat(func.jacobian(f, argnums=nums)(*xs))
    theirs_rev = flat(
        [torch.func.jacrev(lambda *a, i=i: tf(*a)[i], argnums=nums)(*txs) for i in range(3)]
    )
    assume(not huge(theirs_rev) and not huge(flat(func.jvp(f, xs, xs)[0])))
    assert close(rev, theirs_rev), (rev, theirs_rev)
    columns = [func.jacfwd(f, argnums=j)(*xs) for j in nums]
    theirs_columns = [torch.func.jacfwd(tf, argnums=j)(*txs) for j in nums]
    fwd, theirs_fwd = flat(columns), flat(theirs_columns)
    assume(not huge(theirs_fwd))
    # At a pole whose partials are both infinite (cos(x) / x at 0: 0 * inf - inf) the tangent
    # from the rules' partials is nan where torch's hand-written one may find an infinity, as
    # in test_jvp_matches_torch_func_jvp below.
    for ours, theirs in zip(fwd, theirs_fwd):
        assert close([ours], [theirs]) or (math.isnan(ours) and math.isinf(theirs)), (ours, theirs)


@pytest.mark.torch
@settings(max_examples=300)
@given(programs)
def test_jvp_matches_torch_func_jvp(program: Program) -> None:
    """jvp (forward mode) gives torch.func.jvp's output and tangent on random graphs."""
    xs = program[0]
    ts = TANGENTS[: len(xs)]
    out, tangent = func.jvp(vector_fn(program), xs, ts)
    tout, ttangent = torch.func.jvp(vector_fn(program, "torch"), tensors(xs), tensors(ts))
    assume(not huge(flat(tout)) and not huge(flat(ttangent)))
    assert close(flat(out), flat(tout))
    # The tangent is J_x t_x + J_y t_y from the rules' partials. At a pole where both partials
    # are infinite (x / 0 with both moving) that is inf - inf = nan; torch writes each op's
    # tangent by hand, ((t_x - t_y * out) / y for division) and may find an infinity there.
    for ours, theirs in zip(flat(tangent), flat(ttangent)):
        assert close([ours], [theirs]) or (math.isnan(ours) and math.isinf(theirs)), (ours, theirs)


@pytest.mark.torch
@settings(max_examples=300)
@given(programs)
def test_vjp_matches_torch_func_vjp(program: Program) -> None:
    """vjp's output and its v @ J equal torch.func.vjp's on random graphs."""
    xs = program[0]
    out, vjp_fn = func.vjp(vector_fn(program), *xs)
    tout, tvjp_fn = torch.func.vjp(vector_fn(program, "torch"), *tensors(xs))
    assume(not huge(flat(tout)))
    v = [1.0, -2.0, 0.5]
    ours, theirs = flat(vjp_fn(tuple(v))), flat(tvjp_fn(tensors(v)))
    assume(not huge(theirs))
    assert close(flat(out), flat(tout))
    assert close(ours, theirs), (ours, theirs)


@pytest.mark.torch
@settings(max_examples=200)
@given(programs)
@example(  # (x*x)**1.5 - x*(x*x): a hessian of rounding residues, 3.6e-12 against -3.6e-12
    (
        [1.875],
        [
            ("binary", "*", 0, 0),
            ("binary", "*", 0, 1),
            ("unary", "abs", 0),
            ("unary", "exp", 2),
            ("const", "**", 1, 1.5, False),
            ("unary", "abs", 0),
            ("binary", "-", 5, 2),
        ],
    )
)
def test_hessian_matches_torch_func_hessian(program: Program) -> None:
    """hessian (reverse over reverse) equals torch.func.hessian on random graphs."""
    xs = program[0]
    nums = tuple(range(len(xs)))
    theirs = flat(torch.func.hessian(scalar_fn(program, "torch"), argnums=nums)(*tensors(xs)))
    first = flat(torch.func.grad(scalar_fn(program, "torch"), argnums=nums)(*tensors(xs)))
    # As in test_engine_random's second-order test: where a mask hides a nan, torch's second
    # derivative is nan and ours takes only the branch chosen; an infinite first derivative has
    # no second one to compare.
    assume(not any(math.isnan(h) for h in theirs) and not huge(theirs))
    assume(all(math.isfinite(g) for g in first))
    ours = flat(func.hessian(scalar_fn(program), argnums=nums)(*xs))
    # Rounding is relative to the terms summed, not to the result: where they cancel to a true 0
    # (as (x*x)**1.5 - x*(x*x)), both sides are residues of the size of the largest products,
    # of either sign (3.6e-12 against -3.6e-12 at x = 1.875). Such an entry is no number to
    # compare; every other entry is compared as close() does.
    nodes = [abs(n.data) for n in run_steps(program[1], [Value(x) for x in xs], "value")]
    scale = max([1.0, *(n for n in nodes if math.isfinite(n))])
    assume(scale < 1e150)  # beyond, the residues' bound (scale**2) passes the floats
    residue = 1e-12 * scale**2
    assert all(
        same_float(a, b, rtol=1e-9, atol=1e-12) or max(abs(a), abs(b)) <= residue
        for a, b in zip(ours, theirs, strict=True)
    ), (ours, theirs)


# --- forward mode against reverse mode, and every rule (no PyTorch) ---


@settings(max_examples=300)
@given(programs)
def test_forward_mode_jacobian_equals_reverse_mode_jacobian(program: Program) -> None:
    """jacfwd (dual numbers) and jacobian (backward) agree on random graphs, edges included.

    Where one is nan the other may not be: a mask (relu, x**0) zeroes a tangent after a nan
    local derivative in forward mode, and a gradient before it in reverse mode (as in torch).
    """
    xs = program[0]
    nums = tuple(range(len(xs)))
    rev = flat(func.jacobian(vector_fn(program), argnums=nums)(*xs))
    fwd = flat(func.jacfwd(vector_fn(program), argnums=nums)(*xs))
    assume(not huge(rev) and not huge(fwd))
    both = [(f, r) for f, r in zip(fwd, rev) if not math.isnan(f) and not math.isnan(r)]
    assert close([f for f, _ in both], [r for _, r in both]), (fwd, rev)


RULE_OPS = sorted(OPS)


@pytest.mark.parametrize("name", RULE_OPS)
def test_every_rule_gives_forward_mode_the_derivative_backward_gives(name: str) -> None:
    """At every edge input, each op's jvp with a unit tangent equals its backward() gradient."""
    op = OPS[name]
    points = [(x,) for x in EDGE] if op.arity == 1 else [(x, y) for x in EDGE for y in EDGE]
    for xs in points:
        inputs = [Value(x) for x in xs]
        out = op.value(*inputs)
        out.backward()
        value, _ = func.jvp(op.value, xs, [1.0] * op.arity)
        assert same_float(value, out.data, rtol=0.0), (name, xs, value, out.data)
        for i in range(op.arity):
            tangent = func.jacfwd(op.value, argnums=i)(*xs)
            assert same_float(tangent, float(inputs[i].grad), rtol=0.0), (name, xs, i, tangent)


@pytest.mark.parametrize("name", [n for n in RULE_OPS if OPS[n].arity == 2])
def test_a_dual_beside_a_plain_value_computes_what_the_value_engine_does(name: str) -> None:
    """A dual on either side of a binary op with a plain Value (reflected ops included) has the
    Value engine's number, and its tangent is backward()'s gradient, at every edge pair."""
    op = OPS[name]
    for x in EDGE:
        for y in EDGE:
            a, b = Value(x), Value(y)
            out = op.value(a, b)
            out.backward()
            left = func.jvp(lambda d, y=y: op.value(d, Value(y)), (x,), (1.0,))
            right = func.jvp(lambda d, x=x: op.value(Value(x), d), (y,), (1.0,))
            for (value, tangent), grad_ in ((left, a.grad), (right, b.grad)):
                assert same_float(float(value), out.data, rtol=0.0), (name, x, y, value)
                assert same_float(float(tangent), float(grad_), rtol=0.0), (name, x, y, tangent)


def test_detect_anomaly_checks_forward_mode_ops() -> None:
    """Inside detect_anomaly() a dual op whose value or tangent turns nan/inf raises
    AnomalyError naming the op and this file's line; outside it the same jvp runs on."""
    with detect_anomaly():
        expected = func.jvp(lambda x: x.tanh() * x, (0.5,), (1.0,))
        with pytest.raises(AnomalyError, match=r"op 'log' gave -inf .*test_func\.py"):
            func.jvp(lambda x: x.log(), (0.0,), (1.0,))
        with pytest.raises(AnomalyError, match=r"op 'sqrt' gave a tangent of inf"):
            func.jvp(lambda x: x.sqrt(), (0.0,), (1.0,))
    assert expected == func.jvp(lambda x: x.tanh() * x, (0.5,), (1.0,))
    assert (-math.inf, math.inf) == func.jvp(lambda x: x.log(), (0.0,), (1.0,))


def test_a_dual_kept_after_its_jvp_is_refused() -> None:
    """A dual number that escapes its jvp (as aux) cannot be computed with: its tangent would
    be taken for another jvp's."""
    _, _, kept = func.jvp(lambda x: (x * 2, x), (2.0,), (1.0,), has_aux=True)
    with pytest.raises(ValueError, match="after its jvp returned"):
        func.jvp(lambda y: kept * y, (3.0,), (1.0,))


def test_the_rule_table_is_all_covered() -> None:
    """Each row of RULES is exercised by an op of the table above."""
    assert set(RULES) == {OPS[name].rule for name in RULE_OPS}


# --- exact values, finite differences, composition ---


def cubic(x: Any) -> Any:
    """x^3 - 2x: f' = 3x^2 - 2, f'' = 6x, f''' = 6."""
    return x**3 - 2 * x


def test_grad_of_grad_of_grad_gives_known_values() -> None:
    """grad composes: the first three derivatives of x^3 - 2x at 2 are 10, 12, 6."""
    d1 = func.grad(cubic)
    d2, d3 = func.grad(d1), func.grad(func.grad(d1))
    expected = (10.0, 12.0, 6.0)
    assert expected == (d1(2.0), d2(2.0), d3(2.0))


def test_forward_over_forward_and_reverse_over_forward_give_the_second_derivative() -> None:
    """jvp of jvp and grad of jvp both give f''(2) = 12 of x^3 - 2x."""

    def first(x: Any) -> Any:
        return func.jvp(cubic, (x,), (1.0,))[1]

    expected = (10.0, 12.0, 12.0)
    assert expected == (first(2.0), func.jvp(first, (2.0,), (1.0,))[1], func.grad(first)(2.0))


def smooth(x: Any, y: Any) -> Any:
    """A smooth function of two inputs, made of several rules."""
    return (x * y).tanh() + (x.exp() / (1 + y * y)).log() + (x - y).sin() * y.sigmoid()


def test_hessian_is_the_jacobian_of_grad_and_matches_finite_differences() -> None:
    """hessian(f) == jacobian(grad(f)), symmetric, and within 1e-6 of central differences."""
    at = (0.3, -0.7)
    nums = (0, 1)
    h = func.hessian(smooth, argnums=nums)(*at)
    assert h == func.jacobian(func.grad(smooth, argnums=nums), argnums=nums)(*at)
    assert math.isclose(h[0][1], h[1][0], rel_tol=1e-12)
    g = func.grad(smooth, argnums=nums)
    numerical = [
        [derivative(lambda t, i=i, j=j: g(*(t if k == j else at[k] for k in (0, 1)))[i], at[j])
         for j in (0, 1)]
        for i in (0, 1)
    ]  # fmt: skip
    assert all(math.isclose(a, n, abs_tol=1e-6) for a, n in zip(flat(h), flat(numerical)))


def test_gradients_match_finite_differences() -> None:
    """grad, jvp and vjp of a smooth function equal central differences to 1e-7."""
    at = (0.3, -0.7)
    numerical = [
        derivative(lambda t: smooth(Value(t), Value(at[1])).data, at[0]),
        derivative(lambda t: smooth(Value(at[0]), Value(t)).data, at[1]),
    ]
    g = func.grad(smooth, argnums=(0, 1))(*at)
    _, t = func.jvp(smooth, at, (1.0, 0.0))
    _, vjp_fn = func.vjp(smooth, *at)
    for ours in (list(g), [t, func.jvp(smooth, at, (0.0, 1.0))[1]], list(vjp_fn(1.0))):
        assert all(math.isclose(a, n, abs_tol=1e-7) for a, n in zip(ours, numerical)), ours


def test_shapes_follow_torch_func() -> None:
    """Derivatives take their argument's structure; a Jacobian nests it in the output's."""

    def f(xs: list[Any], y: Any) -> Any:
        return [xs[0] * y, xs[1] + y, xs[0] * xs[1]]

    args = ([2.0, 3.0], 5.0)
    expected = [[5.0, 0.0], [0.0, 1.0], [3.0, 2.0]]
    assert expected == func.jacobian(f)(*args)
    expected = [[5.0, 0.0], [0.0, 1.0], [3.0, 2.0]]
    assert expected == func.jacfwd(f)(*args)
    expected_by_arg = [([5.0, 0.0], 2.0), ([0.0, 1.0], 1.0), ([3.0, 2.0], 0.0)]
    assert expected_by_arg == func.jacobian(f, argnums=(0, 1))(*args)
    g = func.value_and_grad(lambda xs, y: xs[0] * y + xs[1] - y * y + y, argnums=(0, 1))
    expected_value_and_grad = (-7.0, ([5.0, 1.0], -7.0))
    assert expected_value_and_grad == g(*args)
    expected_hessian = [[2.0, 0.0], [0.0, 2.0]]
    assert expected_hessian == func.hessian(lambda xs: xs[0] ** 2 + xs[1] ** 2)([1.0, 2.0])
    out, vjp_fn = func.vjp(f, *args)
    expected = ([10.0, 8.0, 6.0], ([8.0, 2.0], 2.0))
    assert expected == (out, vjp_fn([1.0, 0.0, 1.0]))


def test_a_named_tuple_keeps_its_type() -> None:
    """A named tuple argument gets a gradient of its own type, field by field."""
    point = collections.namedtuple("point", "x y")
    expected = point(3.0, 2.0)
    assert expected == func.grad(lambda p: p.x * p.y)(point(2.0, 3.0))
    assert expected == func.jacfwd(lambda p: p.x * p.y)(point(2.0, 3.0))


def test_has_aux_returns_the_auxiliary_output_beside() -> None:
    """With has_aux, f returns (output, aux) and each transform hands aux back, untouched."""

    def f(x: Any) -> tuple[Any, str]:
        return x * x, "aux"

    expected = (6.0, "aux")
    assert expected == func.grad(f, has_aux=True)(3.0)
    expected = ((9.0, "aux"), 6.0)
    assert expected == func.value_and_grad(f, has_aux=True)(3.0)
    expected = (6.0, "aux")
    assert expected == func.jacobian(f, has_aux=True)(3.0)
    expected = (6.0, "aux")
    assert expected == func.jacfwd(f, has_aux=True)(3.0)
    expected = (9.0, 6.0, "aux")
    assert expected == func.jvp(f, (3.0,), (1.0,), has_aux=True)
    out, vjp_fn, aux = func.vjp(f, 3.0, has_aux=True)
    expected = (9.0, (6.0,), "aux")
    assert expected == (out, vjp_fn(1.0), aux)


def test_numbers_give_floats_and_values_give_differentiable_values() -> None:
    """A number in gives a float out; a Value in gives a Value connected to it, and the input's
    own .grad is left as it was."""
    x = Value(2.0)
    x.grad = 7.0
    g = func.grad(cubic)(x)
    expected = (float, Value, 10.0, 7.0)
    assert expected == (type(func.grad(cubic)(2.0)), type(g), g.data, x.grad)
    x.grad = 0.0
    g.backward()
    expected = 12.0
    assert expected == x.grad


def test_a_closure_over_an_outer_input_is_differentiated() -> None:
    """An inner transform's result depends on an outer input it closes over (no confusion of
    the two perturbations): d/dx [x * d/dy (x + y)] = 1, in both modes."""
    reverse = func.grad(lambda x: x * func.grad(lambda y: x + y)(1.0))(2.0)
    forward = func.jvp(lambda x: x * func.jvp(lambda y: x + y, (1.0,), (1.0,))[1], (2.0,), (1.0,))
    mixed = func.grad(lambda x: func.grad(lambda y: x * y * y)(1.0))(2.0)  # d/dx 2xy = 2
    expected = (1.0, (2.0, 1.0), 2.0)
    assert expected == (reverse, forward, mixed)


def test_jvp_of_grad_is_refused_with_the_other_way_round_named() -> None:
    """Reverse mode inside forward mode is a TypeError that says what works instead."""
    with pytest.raises(TypeError, match="grad of jvp"):
        func.jvp(func.grad(cubic), (2.0,), (1.0,))
    with pytest.raises(TypeError, match="grad of jvp"):
        func.jvp(lambda x: func.grad(lambda y: x * y)(1.0), (2.0,), (1.0,))


def test_forward_mode_refuses_a_closure_op_naming_it() -> None:
    """A lecture-style op (Value(..., children, op) with a _backward closure) has no rule for
    forward mode: jvp raises a ValueError naming the op, never a silent zero."""

    def my_tanh(a: Value) -> Value:
        out = Value(math.tanh(a.data), (a,), "my_tanh")

        def _backward() -> None:
            a.grad += (1 - out.data**2) * out.grad

        out._backward = _backward  # type: ignore[method-assign]
        return out

    with pytest.raises(ValueError, match="'my_tanh'"):
        func.jvp(lambda x: my_tanh(x) * 2, (0.5,), (1.0,))
    with pytest.raises(ValueError, match="'my_tanh'"):
        func.jacfwd(my_tanh)(0.5)


def test_forward_mode_reads_a_registered_op_and_a_hand_built_node_by_their_rules() -> None:
    """A registered op and a node built by hand with a rule's name get their tangent from
    their rule, also nested (jvp of jvp)."""
    cube = register_op(
        "cube_fm", lambda x: x**3, lambda x, y, out, g, m: (3.0 * g * x * x,), "d(x**3)/dx=3x**2"
    )
    try:
        expected = (16.0, 24.0)
        assert expected == func.jvp(lambda x: cube(x) * 2, (2.0,), (1.0,))
        second = func.jvp(lambda x: func.jvp(cube, (x,), (1.0,))[1], (2.0,), (1.0,))
        expected = (12.0, 12.0)
        assert expected == second
    finally:
        del RULES["cube_fm"]
    value, tangent = func.jvp(lambda x: Value(math.tanh(x.data), (x,), "tanh"), (0.5,), (1.0,))
    expected = (math.tanh(0.5), 1 - math.tanh(0.5) ** 2)
    assert expected == (value, tangent)


def test_models_work_with_forward_and_reverse_mode() -> None:
    """An MLP's input Jacobian by jacfwd equals jacobian's (nn runs on dual numbers)."""
    random.seed(1)
    model = MLP(3, [4, 2])
    x = [0.5, -1.0, 2.0]
    rev, fwd = func.jacobian(model)(x), func.jacfwd(model)(x)
    assert close(flat(fwd), flat(rev))
    expected = 6
    assert expected == len(flat(rev))


# --- bad input ---


@pytest.mark.parametrize(
    ("call", "error", "word"),
    [
        (lambda: func.grad(cubic)("2"), TypeError, "argument 0"),
        (lambda: func.grad(cubic)([1.0, None]), TypeError, r"argument 0\[1\]"),
        (lambda: func.grad(lambda x: [x, x])(1.0), TypeError, "f's output"),
        (lambda: func.grad(cubic, argnums=1)(1.0), ValueError, "argnums"),
        (lambda: func.grad(cubic, argnums=(0, 0))(1.0), ValueError, "argnums"),
        (lambda: func.grad(cubic, argnums=()), ValueError, "argnums"),
        (lambda: func.grad(cubic, argnums=1.0), TypeError, "argnums"),
        (lambda: func.grad(cubic, has_aux=True)(1.0), TypeError, "has_aux"),
        (lambda: func.grad(3), TypeError, "f"),
        (lambda: func.jvp(cubic, 1.0, (1.0,)), TypeError, "primals"),
        (lambda: func.jvp(cubic, (1.0,), (1.0, 2.0)), ValueError, "tangents"),
        (lambda: func.jvp(cubic, (1.0,), ([1.0],)), ValueError, "tangents"),
        (lambda: func.jvp(cubic, (1.0,), ("t",)), TypeError, r"tangents\[0\]"),
        (lambda: func.vjp(cubic, 1.0)[1]([1.0]), ValueError, "cotangents"),
        (lambda: func.vjp(cubic, 1.0)[1]("1"), TypeError, "cotangents"),
        (lambda: func.Dual(1.0), TypeError, "jvp"),
    ],
)
def test_bad_input_is_refused_naming_it(call: Callable[[], Any], error: type, word: str) -> None:
    """A wrong argument raises TypeError or ValueError whose message names it."""
    with pytest.raises(error, match=word):
        call()


# --- gradgradcheck ---


@pytest.mark.parametrize("name", [n for n in RULE_OPS if n not in ("relu", "abs", "maximum")])
def test_gradgradcheck_passes_every_smooth_op(name: str) -> None:
    """Every op's second derivatives through create_graph match differences of backward()."""
    op = OPS[name]
    for xs in op.smooth:
        result = gradgradcheck(
            lambda *vs: op.value(*vs) * vs[0], [Value(x) for x in xs], rtol=1e-5, atol=1e-6
        )
        assert result.ok, (name, xs, str(result))


def test_gradgradcheck_finds_a_wrong_second_derivative() -> None:
    """A registered cube whose backward reads x's number (m.num) has the right first derivative
    (gradcheck passes) but none of its own under create_graph: gradgradcheck fails."""
    wrong = register_op(  # m.num(x) is a number: right on floats, a constant under create_graph
        "cube_wrong",
        lambda x: x**3,
        lambda x, y, out, g, m: (g * 3.0 * m.num(x) * m.num(x),),
        "wrong on purpose",
    )
    try:
        x = Value(2.0)
        expected = (True, False)
        assert expected == (gradcheck(wrong, [x]).ok, gradgradcheck(wrong, [x]).ok)
    finally:
        del RULES["cube_wrong"]


def test_gradgradcheck_reports_each_pair_of_inputs() -> None:
    """The report has one row per (input, input) pair with the exact second derivative."""
    x, y = Value(1.0, label="x"), Value(3.0, label="y")
    result = gradgradcheck(lambda x, y: x * x * y, [x, y])
    expected = ["(x, x)", "(x, y)", "(y, x)", "(y, y)"]
    assert expected == [c.name for c in result.inputs]
    expected = [6.0, 2.0, 2.0, 0.0]
    assert expected == [c.analytic for c in result.inputs]
    expected = (1.0, 3.0, 0.0, 0.0)
    assert expected == (x.data, y.data, x.grad, y.grad)


# --- found by the tests above ---


@pytest.mark.torch
def test_relu_of_negative_zero_is_negative_zero_as_torch() -> None:
    """relu(-0.0) is -0.0 as in torch, so d(x / relu(x))/dx at -0.0 is -inf (it was +inf),
    on the Value engine and on the compiled path."""
    from micrograd import fast

    x = torch.tensor(-0.0, dtype=torch.float64, requires_grad=True)
    (x / x.relu()).backward()
    expected = (-1.0, x.grad.item(), x.grad.item())
    v = Value(-0.0)
    (v / v.relu()).backward()
    p = Value(-0.0)
    fast.trace(lambda: p / p.relu(), [p])()
    assert expected == (math.copysign(1.0, v.relu().data), float(v.grad), float(p.grad))


TRANSFORMS_OF_ONE: dict[str, Callable[[Callable[..., Any]], Any]] = {
    "grad": lambda f: func.grad(f)(2.0),
    "value_and_grad": lambda f: func.value_and_grad(f)(2.0),
    "jacobian": lambda f: func.jacobian(f)(2.0),
    "hessian": lambda f: func.hessian(f)(2.0),
    "vjp": lambda f: func.vjp(f, 2.0)[1](1.0),
    "jvp": lambda f: func.jvp(f, (2.0,), (1.0,)),
    "jacfwd": lambda f: func.jacfwd(f)(2.0),
}
NUMBER_READS: dict[str, Callable[[Any], Any]] = {
    "math.sin": lambda x: math.sin(x) * x,
    "math.exp": lambda x: math.exp(x) + x,
    "math.sqrt": lambda x: x * math.sqrt(x),
    "math.log": lambda x: math.log(x) - x,
    "float": lambda x: x * float(x),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS_OF_ONE))
@pytest.mark.parametrize("read", sorted(NUMBER_READS))
def test_a_number_read_out_of_a_value_inside_a_transform_is_a_type_error(
    transform: str, read: str
) -> None:
    """math.sin(x) or float(x) inside f would be a constant to every transform (a silently
    wrong derivative, e.g. grad of x * math.sin(x) = sin x): a TypeError saying what to use;
    after it, float() of a Value is a number again."""
    with pytest.raises(TypeError, match=r"float\(\) of a Value inside a micrograd.func transform"):
        TRANSFORMS_OF_ONE[transform](NUMBER_READS[read])
    assert float(Value(2.5)) == 2.5
    assert math.sin(Value(0.0)) == 0.0


def test_a_hook_inside_forward_mode_is_refused_not_ignored() -> None:
    """jvp of a function that hooks a node would ignore the hook (grad gives 12, jvp gave 6):
    register_hook on a dual number is a TypeError; reverse mode runs the hook."""

    def f(x: Any) -> Any:
        h = x * x
        h.register_hook(lambda g: g * 2)
        return h

    assert func.grad(f)(3.0) == 12.0
    with pytest.raises(TypeError, match="forward mode has no backward pass"):
        func.jvp(f, (3.0,), (1.0,))
    with pytest.raises(TypeError, match="forward mode has no backward pass"):
        func.jacfwd(f)(3.0)
