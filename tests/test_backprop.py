"""backward()'s hot path on plain numbers (_backprop) against the general path it stands in for."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd import _backprop, engine
from micrograd.engine import Value

UNARY = ("tanh", "relu", "exp", "sigmoid", "neg")
BINARY = ("+", "*", "-", "/", "maximum")
OPERATORS = {"+": operator.add, "*": operator.mul, "-": operator.sub, "/": operator.truediv}

steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(UNARY), st.integers(0, 999)),
        st.tuples(st.sampled_from(BINARY), st.integers(0, 999), st.integers(0, 999)),
        st.tuples(st.just("const"), st.integers(0, 999), st.sampled_from((2.0, -0.5, 3))),
    ),
    min_size=1,
    max_size=30,
)
leaves = st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=4)


def build(xs: list[float], program: list[tuple[object, ...]]) -> list[Value]:
    """Leaves ``xs`` and one node per step, each step's operands picked among earlier nodes
    (so nodes are shared: a DAG, not a tree)."""
    nodes = [Value(x) for x in xs]
    for op, *args in program:
        x = nodes[int(args[0]) % len(nodes)]  # type: ignore[call-overload]
        if op == "const":
            out = x * args[1] + 1  # type: ignore[operator]
        elif op in UNARY:
            out = -x if op == "neg" else getattr(x, str(op))()
        else:
            y = nodes[int(args[1]) % len(nodes)]  # type: ignore[call-overload]
            out = x.maximum(y) if op == "maximum" else OPERATORS[str(op)](x, y)
        nodes.append(out)
    return nodes


def general_backward(root: Value) -> None:
    """backward() the general way: engine._walk's order (leaves too) and engine._chain_rule."""
    order = engine._walk(root, zero_interior=True)
    root.grad = 1.0 if root._a is not None else root.grad + 1.0
    order.reverse()
    engine._chain_rule(order, engine._FloatMath)


def grads(nodes: list[Value]) -> list[str]:
    """Every node's gradient, exactly (repr: -0.0 and nan compare as themselves)."""
    return [repr(n.grad) for n in nodes]


@given(leaves, steps)
def test_the_hot_path_gives_the_general_paths_gradients_bit_for_bit(
    xs: list[float], program: list[tuple[object, ...]]
) -> None:
    """On random graphs with shared nodes, backward() sets every grad (leaves and interior) to
    exactly what the general walk and chain rule give: same order of the additions, same rules."""
    nodes = build(xs, program)
    root = nodes[-1]
    general_backward(root)
    expected = grads(nodes)
    for n in nodes:
        n.grad = 0.0
    root.backward()
    assert expected == grads(nodes)


@given(leaves, steps)
def test_the_marking_walk_orders_interior_nodes_as_the_general_walk(
    xs: list[float], program: list[tuple[object, ...]]
) -> None:
    """interior_order is topological_order without its leaves, and every grad it marks is 0."""
    root = build(xs, program)[-1]
    expected = [n for n in engine.topological_order(root) if n._a is not None]
    walked = _backprop.interior_order(root)
    assert walked is not None
    order, done = walked
    assert expected == order
    assert all(n.grad is done for n in order) and done == 0.0


def test_a_backward_that_raised_leaves_no_mark_the_next_one_trusts() -> None:
    """backward() through an op taken out of RULES is a ValueError naming it; once the op is
    back, backward() of the same graph gives the right gradients (no node taken as visited)."""
    cube = engine.register_op(
        "cube_bp", lambda x: x**3, lambda x, y, out, g, m: (3.0 * g * x * x,), "d(x**3)/dx = 3x^2"
    )
    try:
        x = Value(2.0)
        h = x * 1.0  # reached through cube alone: still carries the first walk's mark
        y = cube(h) * 2.0 + x
        rule = engine.RULES.pop("cube_bp")
        with pytest.raises(ValueError, match="'cube_bp' has no rule"):
            y.backward()
        engine.RULES["cube_bp"] = rule
        x.grad = 0.0
        y.backward()
        assert (x.grad, y.grad, h.grad) == (2.0 * 3.0 * 4.0 + 1.0, 1.0, 24.0)
    finally:
        engine.RULES.pop("cube_bp", None)


def test_interior_grads_are_plain_floats_after_backward() -> None:
    """After backward() every interior grad is a float equal to its gradient, never a marker
    that compares by identity, and a second backward() gives the same numbers again."""
    a, b = Value(3.0), Value(-2.0)
    c = a * b
    d = c + c * a
    d.backward()
    first = [(type(n.grad), n.grad) for n in (a, b, c, d)]
    assert [
        (float, -2.0 + 2 * -2.0 * 3.0),
        (float, 3.0 + 3.0 * 3.0),
        (float, 4.0),
        (float, 1.0),
    ] == first
    a.grad = b.grad = 0.0
    d.backward()
    assert first == [(type(n.grad), n.grad) for n in (a, b, c, d)]


def test_a_lecture_node_deep_in_the_graph_sends_backward_the_general_way() -> None:
    """A closure op met after the walk marked many nodes: backward() starts over on the general
    path, and the gradients are the chain rule's (the closure's own step included)."""
    x = Value(0.5)
    h = x
    for _ in range(50):
        h = h * 1.0 + 0.0
    out = Value(h.data * 2.0, (h,), "double")

    def double_backward() -> None:
        h.grad += 2.0 * out.grad

    out._backward = double_backward
    top = (out + x).tanh()
    top.backward()
    assert (1.0 - math.tanh(1.5) ** 2) * 3.0 == pytest.approx(x.grad, rel=1e-15)


def lecture_double(h: Value) -> Value:
    """A lecture-style node: ``2 * h`` with its own ``_backward`` closure (no rule)."""
    out = Value(h.data * 2.0, (h,), "double")

    def double_backward() -> None:
        h.grad += 2.0 * out.grad

    out._backward = double_backward
    return out


# Where the walk can meet a lecture node: each branch of interior_order that reads a child's _b.
LECTURE_PLACES = {
    "the root": lambda x: lecture_double(x * 3.0),
    "a first child": lambda x: lecture_double(x * 3.0) + x,
    "a second child whose first child is a leaf": lambda x: x + lecture_double(x),
    "a second child whose first child waits": lambda x: x + lecture_double(x * 3.0),
    "a second child's second child": lambda x: x * 3.0 + x * lecture_double(x),
    "below a node whose second child was ready": lambda x: lecture_double(x * 3.0 + x * x),
}


@pytest.mark.parametrize("place", sorted(LECTURE_PLACES))
def test_a_lecture_node_anywhere_sends_backward_the_general_way(place: str) -> None:
    """Wherever the walk meets a lecture-style node it gives up (None), and backward() gives
    exactly the general walk's gradients, the closure's step included."""
    x = Value(0.75)
    root = LECTURE_PLACES[place](x)
    general_backward(root)
    expected = x.grad
    x.grad = 0.0
    walked = _backprop.interior_order(root)
    root.backward()
    assert (None, expected) == (walked, x.grad)


def test_a_neurons_graph_is_ordered_as_the_general_walk_orders_it() -> None:
    """An MLP's loss (running sums whose second children, ``w * x``, are emitted in place, and
    ReLU outputs shared by the next layer's neurons): interior_order is topological_order
    without its leaves."""
    import random

    from micrograd.nn import MLP

    random.seed(0)
    model = MLP(3, [4, 4, 1])
    rows = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-2.0, 1.0, 0.0]]
    loss = sum(((1 + -model(row)).relu() for row in rows), Value(0.0)) * 0.5
    expected = [n for n in engine.topological_order(loss) if n._a is not None]
    walked = _backprop.interior_order(loss)
    assert walked is not None
    assert expected == walked[0]


def test_a_million_deep_chain_backpropagates_without_recursion() -> None:
    """The marking walk keeps its own stack: a chain of 10^6 additions gives d/dx = 1."""
    x = v = Value(1.0)
    one = Value(1.0)
    for _ in range(1_000_000):
        x = x + one
    x.backward()
    assert (v.grad, one.grad) == (1.0, 1e6)


def test_a_leaf_root_accumulates_its_seed() -> None:
    """backward() of a leaf adds the seed to its grad, as before (no walk)."""
    x = Value(1.0)
    x.backward()
    x.backward(2.5)
    assert x.grad == 3.5


def test_a_rule_replaced_between_two_backwards_is_the_one_the_second_uses() -> None:
    """backward() reads RULES as it is at the call: a rule replaced in place, or taken out, since
    the last call is seen at once (the looked-up backwards are rebuilt, not kept stale)."""
    engine.register_op("scale_bp", lambda x: 2.0 * x, lambda x, y, out, g, m: (2.0 * g,), "2")
    try:
        x = Value(1.5)
        y = engine.RULES["scale_bp"].forward(x.data, 0.0)
        node = Value(y, (x,), "scale_bp")  # a hand-built node that follows the rule by name
        node.backward()
        first = x.grad
        rule = engine.RULES["scale_bp"]
        engine.RULES["scale_bp"] = rule._replace(backward=lambda x, y, out, g, m: (3.0 * g,))
        x.grad = 0.0
        node.backward()
        second = x.grad
        del engine.RULES["scale_bp"]
        with pytest.raises(ValueError, match="'scale_bp' has no rule"):
            node.backward()
        assert (first, second) == (2.0, 3.0)
    finally:
        engine.RULES.pop("scale_bp", None)


EDGES = (-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, math.inf, -math.inf, math.nan)


@pytest.mark.parametrize("op", sorted(engine.RULES))
def test_every_built_in_rule_gives_backward_its_own_gradients_bit_for_bit(op: str) -> None:
    """backward() inlines each built-in rule's transcript; at edge values (signed zeros, inf,
    nan) every gradient is exactly what calling the rule gives, for Value and number operands."""
    rule, method = engine.RULES[op], engine._binary(op)
    expected, actual = [], []
    for x in EDGES:
        for y in EDGES if rule.arity == 2 or rule.constant else (0.0,):
            for g in (1.0, -0.75, 0.0, math.inf):
                cases = [False, True] if rule.arity == 2 else [False]
                for two_values in cases:
                    a = Value(x)
                    b = Value(y) if two_values else None
                    node = method(a, b if b is not None else y)
                    node.backward(g)
                    terms = rule.backward(x, y, node.data, g, engine._FloatMath)
                    expected.append([repr(0.0 + t) for t in terms[: 1 + two_values]])
                    actual.append([repr(v.grad) for v in (a, b) if v is not None])
    assert expected == actual


def _outcome(compute: Callable[[], float]) -> str:
    """repr of the number ``compute()`` gives (signed zeros, nan), or the name of what it raises."""
    try:
        return repr(compute())
    except Exception as error:
        return type(error).__name__


def _op_number(
    method: Callable[[Value, float | Value], Value], x: float, y: float | Value
) -> float:
    return method(Value(x), y).data


@pytest.mark.parametrize("op", sorted(engine.RULES))
def test_every_op_method_gives_its_rules_forward_bit_for_bit(op: str) -> None:
    """The op methods write Python's own + and * out instead of calling the rule's forward: at
    edge values, with a Value, a float and an int operand, every number is the forward's."""
    rule, method = engine.RULES[op], engine._binary(op)
    expected, actual = [], []
    for x in EDGES:
        for y in EDGES if rule.arity == 2 or rule.constant else (0.0,):
            operands: list[float | Value] = [y]
            if math.isfinite(y) and y == int(y):
                operands.append(int(y))  # (-0.0 becomes 0)
            if rule.arity == 2:
                operands.append(Value(y))
            for other in operands:
                number = other.data if isinstance(other, Value) else float(other)
                expected.append(_outcome(partial(rule.forward, x, number)))
                actual.append(_outcome(partial(_op_number, method, x, other)))
    assert expected == actual


def test_a_rule_that_branches_in_python_is_called_not_transcribed() -> None:
    """A backward that takes a Python branch on a number has no transcript (it is called);
    one written in the rules' math has the expression it computes, constants as literals."""
    branching = engine.Rule(abs, lambda x, y, out, g, m: (g if x > 0 else -g,), "|x|'", 1)
    scaled = engine.Rule(abs, lambda x, y, out, g, m: (g * m.sign(x) * 2.0,), "2 sign x", 1)
    constants: dict[str, object] = {}
    expected = (None, ["((g * m_sign(x)) * (2.0))"])
    assert expected == (
        _backprop._transcript(branching, constants),
        _backprop._transcript(scaled, constants),
    )
