"""Code written for the lecture and micrograd 0.1.0 runs unchanged: ops with a ``_backward``
closure (any number of children), hand-built nodes named as that code names them, register_op."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd.engine import RULES, Value, grad, register_op, rule_of, topological_order
from micrograd.gradcheck import gradcheck
from optable import same_float

# --- the lecture's ops, written as the lecture (and micrograd 0.1.0) writes them ---


def lecture_add(a: Value, b: Value) -> Value:
    """micrograd 0.1.0's __add__."""
    out = Value(a.data + b.data, (a, b), "+")

    def _backward() -> None:
        a.grad += out.grad
        b.grad += out.grad

    out._backward = _backward
    return out


def lecture_mul(a: Value, b: Value) -> Value:
    """micrograd 0.1.0's __mul__."""
    out = Value(a.data * b.data, (a, b), "*")

    def _backward() -> None:
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    out._backward = _backward
    return out


def lecture_pow(a: Value, k: float) -> Value:
    """micrograd 0.1.0's __pow__, with its op string f'**{other}'."""
    out = Value(a.data**k, (a,), f"**{k}")

    def _backward() -> None:
        a.grad += (k * a.data ** (k - 1)) * out.grad

    out._backward = _backward
    return out


def lecture_relu(a: Value) -> Value:
    """micrograd 0.1.0's relu, op 'ReLU'."""
    out = Value(0.0 if a.data < 0 else a.data, (a,), "ReLU")

    def _backward() -> None:
        a.grad += (out.data > 0) * out.grad

    out._backward = _backward
    return out


def lecture_tanh(a: Value) -> Value:
    """The lecture's tanh, op 'tanh', closing over t."""
    t = math.tanh(a.data)
    out = Value(t, (a,), "tanh")

    def _backward() -> None:
        a.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def lecture_exp(a: Value) -> Value:
    """The lecture's exp, op 'exp'."""
    out = Value(math.exp(a.data), (a,), "exp")

    def _backward() -> None:
        a.grad += out.data * out.grad

    out._backward = _backward
    return out


def lecture_cube(a: Value) -> Value:
    """A new op the engine has no rule for, added as the lecture adds one."""
    out = Value(a.data**3, (a,), "cube")

    def _backward() -> None:
        a.grad += 3 * a.data**2 * out.grad

    out._backward = _backward
    return out


def lecture_sum(*xs: Value) -> Value:
    """A new op of any number of children (a child may come twice)."""
    out = Value(sum(x.data for x in xs), xs, "sum")

    def _backward() -> None:
        for x in xs:
            x.grad += out.grad

    out._backward = _backward
    return out


# Each op: (arity, the lecture's closure form, the engine's own form).
OPS: dict[str, tuple[int, Callable[..., Value], Callable[..., Value]]] = {
    "+": (2, lecture_add, lambda a, b: a + b),
    "*": (2, lecture_mul, lambda a, b: a * b),
    "**2": (1, lambda a: lecture_pow(a, 2), lambda a: a**2),
    "**-1": (1, lambda a: lecture_pow(a, -1), lambda a: a**-1),
    "relu": (1, lecture_relu, lambda a: a.relu()),
    "tanh": (1, lecture_tanh, lambda a: a.tanh()),
    "exp": (1, lecture_exp, lambda a: a.exp()),
    "cube": (1, lecture_cube, lambda a: a**3),
    "sum3": (3, lecture_sum, lambda a, b, c: a + b + c),
    "sum4": (4, lecture_sum, lambda a, b, c, d: a + b + c + d),
}

steps = st.lists(
    st.tuples(st.sampled_from(sorted(OPS)), st.lists(st.integers(0, 99), min_size=4, max_size=4)),
    min_size=1,
    max_size=10,
)


def build(xs: list[float], program: list[tuple[str, list[int]]], closures: list[bool]) -> Any:
    """Run a program of ops on fresh leaves, each op in its closure or its engine form."""
    leaves = [Value(x) for x in xs]
    nodes = list(leaves)
    for (name, picks), closure in zip(program, closures):
        arity, lecture, own = OPS[name]
        args = [nodes[i % len(nodes)] for i in picks[:arity]]
        if arity == 1:  # an operand in [1, 3]: no pole for **-1, no overflow for exp
            args = [args[0].tanh() + 2.0]
        nodes.append((lecture if closure else own)(*args))
    return nodes[-1] * nodes[len(nodes) // 2] + nodes[-1], leaves


@settings(max_examples=300)
@given(
    st.lists(st.integers(-16, 16).map(lambda i: i / 8), min_size=1, max_size=3),
    steps,
    st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_graphs_mixing_closure_ops_and_rules_match_the_rules_alone(
    xs: list[float], program: list[tuple[str, list[int]]], closures: list[bool]
) -> None:
    """Random graphs whose ops are in turn lecture-style closures (any number of children, a
    child used twice) give backward()'s values and gradients of the engine's own ops."""
    out, leaves = build(xs, program, closures)
    ref, ref_leaves = build(xs, program, [False] * len(closures))
    out.backward()
    ref.backward()
    pairs = [(out.data, ref.data), *((a.grad, b.grad) for a, b in zip(leaves, ref_leaves))]
    assert all(same_float(a, b, atol=1e-12) for a, b in pairs), pairs
    order = topological_order(out)
    position = {node: i for i, node in enumerate(order)}
    assert all(position[c] < position[n] for n in order for c in n._prev)


def test_the_lectures_cube_op_runs_unchanged() -> None:
    """out = Value(x.data**3, (x,), 'cube') with out._backward set: d(x**3 + x**3)/dx at 2 is 24,
    and the op keeps its name and child."""
    x = Value(2.0)
    y = lecture_cube(x)
    z = y + lecture_cube(x)
    z.backward()
    assert (z.data, x.grad, y._op, y._prev, rule_of(y)) == (16.0, 24.0, "cube", (x,), None)
    assert [n._op for n in topological_order(z)] == ["", "cube", "cube", "+"]


def test_a_closure_op_of_three_children_keeps_them_in_order() -> None:
    """A closure op's _prev is its children, in order, repeats kept; backward reaches each."""
    a, b = Value(1.0), Value(2.0)
    s = lecture_sum(a, b, a)
    (s * b).backward()
    assert (s._prev, a.grad, b.grad) == ((a, b, a), 4.0, 6.0)


@pytest.mark.parametrize("closures", [False, True])
def test_the_lectures_manual_backward_sequence(closures: bool) -> None:
    """The lecture's neuron: o.grad = 1.0, then o._backward(), n._backward(), ... node by node
    gives backward()'s gradients, with the engine's ops and with the lecture's closures."""

    def neuron() -> tuple[list[Value], list[Value]]:
        x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
        b = Value(6.8813735870195432)
        mul, add = (lecture_mul, lecture_add) if closures else (Value.__mul__, Value.__add__)
        x1w1, x2w2 = mul(x1, w1), mul(x2, w2)
        s = add(x1w1, x2w2)
        n = add(s, b)
        o = lecture_tanh(n) if closures else n.tanh()
        return [o, n, s, x1w1, x2w2], [x1, x2, w1, w2, b]

    nodes, leaves = neuron()
    nodes[0].grad = 1.0
    for node in nodes:
        node._backward()
    manual = [round(v.grad, 6) for v in leaves]
    nodes, leaves = neuron()
    nodes[0].backward()
    assert manual == [round(v.grad, 6) for v in leaves] == [-1.5, 0.5, 1.0, 0.0, 0.5]


def test_grad_and_gradcheck_differentiate_closure_ops() -> None:
    """grad() gives backward()'s derivative through closure ops, and gradcheck passes them."""
    x = Value(0.4, label="x")
    (dx,) = grad(lecture_cube(lecture_tanh(x)) * lecture_exp(x), [x])
    t = math.tanh(0.4)
    expected = 3 * t**2 * (1 - t**2) * math.exp(0.4) + t**3 * math.exp(0.4)
    assert math.isclose(float(dx), expected, rel_tol=1e-12) and x.grad == 0.0
    assert gradcheck(lambda x: lecture_sum(lecture_cube(x), x, lecture_tanh(x)), [x]).ok


def test_gradcheck_finds_the_lectures_overwrite_bug() -> None:
    """A closure that sets a.grad = ... instead of adding (the lecture's bug) fails gradcheck."""

    def double(a: Value) -> Value:
        out = Value(2 * a.data, (a, a), "+")

        def _backward() -> None:
            a.grad = out.grad  # overwrites: the second use of a is lost
            a.grad = out.grad

        out._backward = _backward
        return out

    assert not gradcheck(lambda x: double(x), [Value(1.5)]).ok


def test_create_graph_through_a_closure_op_names_the_op() -> None:
    """backward(create_graph=True) through a closure op is a ValueError naming it (a closure
    computes numbers, which cannot be differentiated again), and no leaf grad changes."""
    x = Value(2.0)
    x.grad = 5.0
    with pytest.raises(ValueError, match=r"'cube'.*register_op"):
        (lecture_cube(x) * x).backward(create_graph=True)
    assert x.grad == 5.0


def test_a_hand_built_op_without_rule_or_closure_names_the_op() -> None:
    """A node built by hand whose op has no rule that fits (an unknown op, '*' of one child, a
    leaky_relu without its slope) and no _backward is a ValueError at backward(), naming it."""
    x = Value(2.0)
    for node in (
        Value(1.0, (x,), "mystery"),
        Value(4.0, (x,), "*"),
        Value(2.0, (x,), "leaky_relu"),
    ):
        with pytest.raises(ValueError, match=f"op {node._op!r}"):
            (node * x).backward()


# The engine form of each rule, on Values: a hand-built node named after the rule must match it.
DIRECT: dict[str, Callable[..., Value]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: a.maximum(b),
    **{n: getattr(Value, n.lower()) for n, r in RULES.items() if r.arity == 1 and not r.constant},
}
CONSTANT_OPS = {"**": lambda a: a**-0.5, "leaky_relu": lambda a: a.leaky_relu()}


def test_every_rule_has_a_hand_built_check() -> None:
    """Each rule of the table is in the hand-built node checks below (one with a constant too)."""
    assert set(DIRECT) | set(CONSTANT_OPS) == set(RULES)


def spellings(name: str) -> Iterator[str]:
    """The names code written for other micrographs uses for an op: any case, '**' for pow."""
    yield from {name, name.lower(), name.upper(), "**" if name == "pow" else name}


@pytest.mark.parametrize("name", sorted(set(DIRECT) - set(CONSTANT_OPS)))
def test_a_hand_built_node_with_a_rules_name_follows_the_rule(name: str) -> None:
    """Value(f(x[, y]), children, op) in any spelling ('relu', 'RELU', '**' of two Values),
    with no _backward set, gets the rule's gradients, those of the engine's own node."""
    arity = RULES[name].arity
    for op in spellings(name):
        xs, ref = [Value(0.7), Value(1.3)][:arity], [Value(0.7), Value(1.3)][:arity]
        own = DIRECT[name](*ref)
        node = Value(own.data, tuple(xs), op)
        (node * node).backward()
        (own * own).backward()
        assert (rule_of(node), node._op) == (RULES[name], name)
        assert [x.grad for x in xs] == [x.grad for x in ref]


@pytest.mark.parametrize("op", ["**2", "**-1", "**0.5", "**3", "**-0.5"])
def test_micrograds_power_op_strings_follow_the_power_rule(op: str) -> None:
    """micrograd 0.1.0's op string f'**{k}' on one child is x ** k: the rule with constant k."""
    k = float(op[2:])
    x, y = Value(1.7), Value(1.7)
    node = Value(1.7**k, (x,), op)
    node.backward()
    (y**k).backward()
    assert (node._op, node._arg, x.grad) == ("**", k, y.grad)


def test_the_lowercase_relu_of_lecture_era_code_is_relu() -> None:
    """Value(x, (a,), 'relu') is relu: no closure needed, gradient 0 below zero and 1 above."""
    a, b = Value(-1.0), Value(2.0)
    (Value(0.0, (a,), "relu") + Value(2.0, (b,), "relu")).backward()
    assert (a.grad, b.grad) == (0.0, 1.0)


# --- register_op ---


@pytest.fixture
def rules() -> Iterator[dict[str, Any]]:
    """The rule table, put back as it was after the test."""
    saved = dict(RULES)
    yield RULES
    RULES.clear()
    RULES.update(saved)


def cube_backward(x: Any, y: Any, out: Any, g: Any, m: Any) -> tuple[Any]:
    """d(x**3)/dx = 3x**2, in the rule table's form."""
    return (g * (3.0 * x * x),)


def test_a_registered_op_runs_on_every_engine_path(rules: dict[str, Any]) -> None:
    """register_op('cube', ...) once: its node has the value, backward()'s gradient, a second
    derivative with create_graph, a hand-built node of that name, and passes gradcheck."""
    cube = register_op("cube", lambda x: x**3, cube_backward, "d(x**3)/dx = 3*x**2")
    x = Value(2.0)
    y = cube(x)
    y.backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    first.backward()  # type: ignore[union-attr]
    hand = Value(8.0, (z := Value(2.0),), "Cube")
    hand.backward()
    assert (y.data, y._op, first.data, x.grad, z.grad) == (8.0, "cube", 12.0, 12.0, 12.0)  # type: ignore[union-attr]
    assert gradcheck(lambda x: cube(x.tanh()) * x, [Value(0.3)]).ok


def test_a_registered_two_operand_op_takes_a_value_or_a_number(rules: dict[str, Any]) -> None:
    """An op of arity 2 applies to two Values, or to a Value and a number (a constant)."""
    hyp = register_op(
        "hyp",
        math.hypot,
        lambda x, y, out, g, m: (g * m.div(x, out), g * m.div(y, out)),
        "d hypot/dx = x/hypot",
        arity=2,
    )
    x, y = Value(3.0), Value(4.0)
    hyp(x, y).backward()
    z = Value(3.0)
    hyp(z, 4.0).backward()
    assert (x.grad, y.grad, z.grad, hyp(z, 4.0)._prev) == (0.6, 0.8, 0.6, (z,))


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("relu", abs, cube_backward, "f"), ValueError, "name"),
        (("EXP", abs, cube_backward, "f"), ValueError, "name"),
        (("not a name", abs, cube_backward, "f"), ValueError, "name"),
        ((3, abs, cube_backward, "f"), TypeError, "name"),
        (("sq", 3, cube_backward, "f"), TypeError, "forward"),
        (("sq", abs, "f", "f"), TypeError, "backward"),
        (("sq", abs, cube_backward, None), TypeError, "formula"),
        (("sq", abs, cube_backward, "f", 3), ValueError, "arity"),
        (("sq", abs, cube_backward, "f", 1.0), TypeError, "arity"),
    ],
)
def test_register_op_refuses_bad_registrations(
    rules: dict[str, Any], args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    """A built-in's name (in any case), a non-identifier, a non-callable or an arity other
    than 1 or 2 is refused, naming the argument, and the table is unchanged."""
    before = dict(rules)
    with pytest.raises(error, match=message):
        register_op(*args)
    assert rules == before


def test_registering_again_replaces_the_op_and_retires_the_old_function(
    rules: dict[str, Any],
) -> None:
    """A name registered again (a notebook cell run twice) takes the new rule; the function
    returned the first time then raises instead of building nodes the new rule would misread."""
    old = register_op("sq", lambda x: x * x, lambda x, y, out, g, m: (2.0 * g * x,), "2x")
    new = register_op("sq", lambda x: x * x, lambda x, y, out, g, m: (g * (x + x),), "2x")
    with pytest.raises(ValueError, match="registered again"):
        old(Value(1.0))
    with pytest.raises(TypeError, match="takes 1 operand"):
        new(Value(1.0), 2.0)
    assert new(Value(3.0)).data == 9.0
