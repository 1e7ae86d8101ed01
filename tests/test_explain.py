"""Tests for the backprop narrator: its numbers are backward()'s, its words follow seed 003."""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphs import and_gate, seed002
from lecture import lecture_op
from micrograd.engine import RULES, Rule, Value, register_op, topological_order
from micrograd.explain import (
    Explanation,
    compare_naive_recursion,
    explain,
    explain_markdown,
    explain_text,
    node_names,
)


def by_label(root: Value) -> dict[str, Value]:
    return {node.label: node for node in topological_order(root) if node.label}


@pytest.mark.parametrize("build", [and_gate, seed002])
def test_gradients_equal_backward(build: object) -> None:
    """The narrator's gradient of every node equals .grad after backward(), exactly."""
    root = build()  # type: ignore[operator]
    narrated = explain(root)
    root.backward()
    expected = {name: node.grad for node, name in narrated.names.items()}
    assert expected == {name: narrated.grad(node) for node, name in narrated.names.items()}
    assert expected == narrated.grads


def test_and_gate_gradients_are_the_seeds() -> None:
    """On the AND gate the narrator finds seed 003's hand-derived gradients."""
    grads = explain(and_gate()).grads
    # As in the seed: n8 gets -1; n4 gets n3 = 1; n3, n2 and n1 get n4 = 0.5.
    expected = {
        "n9": 1,
        "n8": -1,
        "n7": 1,
        "n6": 1,
        "n5": 1,
        "n4": 1,
        "n3": 0.5,
        "n2": 0.5,
        "n1": 0.5,
    }
    assert expected == {name: grads[name] for name in expected}


def test_seed002_gradients() -> None:
    """On seed 002 the narrator finds dg/da = 138.8338 and dg/db = 645.5773."""
    grads = explain(seed002()).grads
    assert (f"{grads['a']:.4f}", f"{grads['b']:.4f}") == ("138.8338", "645.5773")


@pytest.mark.parametrize("build", [and_gate, seed002])
def test_each_step_upstream_is_the_final_grad(build: object) -> None:
    """A step's upstream gradient is already the node's final .grad: topological order at work."""
    root = build()  # type: ignore[operator]
    steps = list(explain(root))
    root.backward()
    assert [s.node.grad for s in steps] == [s.upstream for s in steps]


def test_steps_follow_reverse_topological_order() -> None:
    """There is one step per interior node, in reverse topological order, numbered from 1."""
    root = seed002()
    steps = explain(root)
    interior = [n for n in reversed(topological_order(root)) if n._prev]
    assert interior == [s.node for s in steps]
    assert list(range(1, len(interior) + 1)) == [s.index for s in steps]


def test_contributions_add_local_times_upstream() -> None:
    """Each `+=` adds local * upstream, and the running grad_after ends at the final gradient."""
    narrated = explain(seed002())
    contributions = [c for step in narrated for c in step.contributions]
    assert [c.local * c.upstream for c in contributions] == [c.product for c in contributions]
    last: dict[str, float] = {}
    for c in contributions:
        last[c.child] = c.grad_after
    assert {name: narrated.grads[name] for name in last} == last


def test_explain_leaves_the_graph_alone() -> None:
    """explain() reads the graph but changes no .grad, .data or label."""
    root = seed002()
    nodes = topological_order(root)
    before = [(n.data, n.grad, n.label) for n in nodes]
    explain(root).text()
    assert before == [(n.data, n.grad, n.label) for n in nodes]


def test_numbers_are_those_of_a_fresh_backward_even_after_one() -> None:
    """After two backward() calls leaves hold doubled grads; the narrator still shows one pass."""
    root = and_gate()
    root.backward()
    root.backward()
    assert (by_label(root)["n1"].grad, explain(root).grads["n1"]) == (1.0, 0.5)


def test_local_derivatives_come_from_the_rule_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The narrator's local derivatives are whatever RULES says, not a copy of its own."""
    fake = Rule(operator.mul, lambda x, y, out, g, m: (7.0 * g, 11.0 * g), "f")
    monkeypatch.setitem(RULES, "*", fake)
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    step = explain(a * b)[0]
    assert ([c.local for c in step.contributions], step.formula) == ([7.0, 11.0], "f")


INFIX = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "pow": operator.pow,  # a Value ** a Value
}
UNARY_ARGS = {"log": 1.5, "sqrt": 2.0, "ReLU": 0.7, "leaky_relu": -0.7, "abs": -0.7}


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_op_agrees_with_backward(op: str) -> None:
    """For every op in the rule table the narrator's gradients equal backward()'s."""
    x, w = Value(UNARY_ARGS.get(op, 0.6), label="x"), Value(1.7, label="w")
    if op in INFIX:
        f = INFIX[op]
        root = f(f(x, w), 1.3) if op != "pow" else f(x, w)  # a Value operand, then a number
    elif RULES[op].arity == 2:  # a method of two operands, such as maximum
        root = getattr(getattr(x, op)(w), op)(1.3)
    else:
        root = getattr(x * w, op.lower())()
    narrated = explain(root)
    root.backward()
    assert [op] == [s.op for s in narrated if s.node is root]
    assert (x.grad, w.grad) == (narrated.grads["x"], narrated.grads["w"])


def test_step_text_for_a_product() -> None:
    """The step at n5 = n3 * n4 reads like seed 003's step 7, with the numbers."""
    step = next(s for s in explain(and_gate()) if s.name == "n5")
    expected = "\n".join(
        [
            "Step 4: n5 = n3 * n4 = 0.5",
            "    rule      d(x*y)/dx = y, d(x*y)/dy = x",
            "    values    x = n3 = 1, y = n4 = 0.5",
            "    upstream  n5.grad = 1",
            "    n3.grad += local * upstream = 0.5 * 1 = 0.5   so n3.grad = 0.5",
            "    n4.grad += local * upstream = 1 * 1 = 1   so n4.grad = 1",
        ]
    )
    assert expected == str(step)


def test_step_markdown_for_a_product() -> None:
    """The Markdown of a step has a heading and one table row per child."""
    md = next(s for s in explain(and_gate()) if s.name == "n5").markdown()
    lines = md.splitlines()
    assert lines[0] == "#### Step 4: `n5 = n3 * n4` = 0.5"
    assert lines[-2:] == ["| `n3.grad` | 0.5 | 1 | 0.5 | 0.5 |", "| `n4.grad` | 1 | 1 | 1 | 1 |"]


def test_subtraction_is_one_step_as_in_seed_003() -> None:
    """n7 - n8 is one step whose local derivatives are 1 and -1, as seed 003 works them out."""
    step = next(s for s in explain(and_gate()) if s.expression == "n7 - n8")
    assert step.operands == (("x", "n7", 0.7), ("y", "n8", 0.0))
    assert [(c.child, c.local, c.product) for c in step.contributions] == [
        ("n7", 1.0, 1.0),
        ("n8", 1.0 * -1.0, -1.0),
    ]


def test_negation_shows_as_multiplication_by_minus_one() -> None:
    """-x is x * -1: the step shows `x * -1`, the constant and a note on sugar."""
    x = Value(2.0, label="x")
    step = explain(-x)[0]
    assert step.operands == (("x", "x", 2.0), ("y", "", -1.0))
    assert "y = -1 (a constant)" in step.text()
    assert "-x" in step.note


def test_power_shows_its_exponent() -> None:
    """x**3 shows as `x**3`, with the exponent as k and the local derivative 3 * x**2."""
    x = Value(2.0, label="x")
    step = explain(x**3)[0]
    assert (
        step.expression,
        step.operands[1],
        step.contributions[0].local,
    ) == ("x**3", ("k", "", 3.0), 12.0)


def test_division_and_its_rule() -> None:
    """a / b shows as `a / b`, with the local derivatives 1/b and -(a/b)/b from its rule."""
    a, b = Value(3.0, label="a"), Value(4.0, label="b")
    step = explain(a / b)[0]
    assert (step.expression, [c.local for c in step.contributions]) == (
        "a / b",
        [0.25, -0.75 / 4.0],
    )


def test_reciprocal_power() -> None:
    """x**-1 shows its exponent and has the local derivative -1/x**2."""
    x = Value(2.0, label="x")
    step = explain(x**-1)[0]
    assert (step.expression, step.contributions[0].local) == ("x**-1", -0.25)


def test_node_names_label_or_number() -> None:
    """Labels name nodes, repeats get #2, and unlabeled nodes are n1, n2, ... skipping labels."""
    a, b = Value(1.0, label="n1"), Value(2.0, label="n1")
    root = (a + b) * 2.0
    assert list(node_names(root).values()) == ["n1", "n1#2", "n2", "n3"]


def test_explanation_is_a_sequence_of_steps() -> None:
    """An Explanation iterates, indexes and measures its steps, root first."""
    narrated = explain(and_gate())
    assert isinstance(narrated, Explanation)
    assert (
        len(narrated),
        narrated[0].name,
        [s.name for s in narrated[:2]],
    ) == (5, "n9", ["n9", "n10"])


def test_text_and_markdown_wrappers() -> None:
    """explain_text and explain_markdown are the Explanation's text and Markdown."""
    root = and_gate()
    assert (explain(root).text(), explain(root).markdown()) == (
        explain_text(root),
        explain_markdown(root),
    )
    assert explain(root).markdown() == explain(root)._repr_markdown_()


def test_text_ends_with_the_gradients() -> None:
    """The text opens with the order and the seed of 1, and ends with every node's gradient."""
    text = explain_text(and_gate()).splitlines()
    assert text[3] == "Start: n9.grad = 1, since dn9/dn9 = 1. Every other grad starts at 0."
    assert text[-2:] == ["    n2   0.5", "    n1   0.5"]


def test_a_leaf_root_has_no_steps() -> None:
    """Explaining a lone leaf gives no steps and a gradient of 1 for it."""
    narrated = explain(Value(3.0, label="x"))
    assert (len(narrated), narrated.grads) == (0, {"x": 1.0})


def test_naive_recursion_double_counts_a_reused_node() -> None:
    """On a = 1, b = a + a, c = b + b naive recursion gives dc/da = 8; backward() gives 4."""
    a = Value(1.0, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    cmp = compare_naive_recursion(c)
    c.backward()
    assert ({"c": 1.0, "b": 2.0, "a": 8.0}, {"c": 1.0, "b": 2.0, "a": a.grad}) == (
        cmp.naive,
        cmp.correct,
    )
    assert (cmp.wrong, a.grad, cmp.visits) == (["a"], 4.0, {"c": 1, "b": 2, "a": 4})


def test_naive_recursion_text_shows_both_numbers() -> None:
    """The comparison's text traces the naive visits and marks the wrong gradient."""
    a = Value(1.0, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    text = str(compare_naive_recursion(c)).splitlines()
    assert text[3] == "    visit b: a.grad += 1 * 2 -> 6; a.grad += 1 * 2 -> 8"
    assert "    a         8           4  <- wrong" in text


def test_naive_recursion_passes_on_an_incomplete_grad() -> None:
    """On r = y + 2y (y = 3x) naive recursion passes y's grad on before it is complete."""
    x = Value(1.0, label="x")
    y = x * 3.0
    y.label = "y"
    r = y + y * 2.0
    r.label = "r"
    cmp = compare_naive_recursion(r)
    r.backward()
    # Naive: x gets 3 * 1 from y's first visit, then 3 * 3 from its second: 12, not 9.
    assert (cmp.naive["x"], cmp.correct["x"], x.grad) == (12.0, 9.0, 9.0)


def test_naive_recursion_agrees_on_a_tree() -> None:
    """The AND gate reuses no node, so naive recursion gets every gradient right."""
    cmp = compare_naive_recursion(and_gate())
    assert ([], cmp.correct) == (cmp.wrong, cmp.naive)


def test_naive_recursion_refuses_an_exponential_graph() -> None:
    """A chain of 40 self-additions has 2**40 paths: the comparison stops with a ValueError."""
    x = Value(1.0)
    for _ in range(40):
        x = x + x
    with pytest.raises(ValueError, match="naive recursion"):
        compare_naive_recursion(x)


def test_narrator_uses_floats_not_values() -> None:
    """The narrator evaluates rules on floats: every local derivative is a float."""
    locals_ = [c.local for s in explain(seed002()) for c in s.contributions]
    assert [float] * len(locals_) == [type(v) for v in locals_]


# --- Lecture-style ops: a node built by hand whose _backward is a closure ---


def cube(x: Value) -> Value:
    """The issue's example: an op named 'cube', with no rule, d/dx x**3 = 3x**2."""
    return lecture_op("cube", x.data**3, (x,), [3 * x.data**2])


def test_a_closure_op_is_narrated_with_the_closures_numbers() -> None:
    """cube(x) has no rule: the step says so and shows what its closure added, 3 * 2**2 * 0.5."""
    x = Value(2.0, label="x")
    y = cube(x) * 0.5
    y.label = "y"
    narrated = explain(y)
    step = narrated[1]
    y.backward()
    assert (step.op, step.expression, step.closure) == ("cube", "cube(x)", True)
    assert "'cube' has no rule to narrate" in step.formula
    assert [
        (c.child, c.local, c.upstream, c.product, c.grad_after) for c in step.contributions
    ] == [("x", None, 0.5, 6.0, 6.0)]
    assert (narrated.grads["x"], x.grad) == (6.0, 6.0)
    assert "x.grad += 6, what the closure added   so x.grad = 6" in step.text()
    assert "| `x.grad` | closure | 0.5 | 6 | 6 |" in step.markdown()


def test_lecture_ops_with_a_rules_name_run_their_closure() -> None:
    """The lecture's own '*' and '+' closures are narrated by running them, not by RULES."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = lecture_op("*", a.data * b.data, (a, b), [b.data, a.data])
    d = lecture_op("+", c.data + a.data, (c, a), [1.0, 1.0])
    d.label = "d"
    narrated = explain(d)
    d.backward()
    assert [(s.expression, s.closure) for s in narrated] == [("n1 + a", True), ("a * b", True)]
    assert "own closure" in narrated[0].formula
    assert (narrated.grads["a"], narrated.grads["b"]) == (a.grad, b.grad) == (-2.0, 2.0)


def test_the_lectures_overwrite_bug_is_narrated_as_backward_does_it() -> None:
    """A closure that sets grad (=) instead of adding (+=): b = a + a gives a.grad 1, not 2."""
    a = Value(3.0, label="a")
    b = Value(6.0, (a, a), "+")
    b.label = "b"

    def _backward() -> None:
        a.grad = 1.0 * b.grad  # the lecture's bug: the second operand overwrites the first
        a.grad = 1.0 * b.grad

    b._backward = _backward  # type: ignore[assignment,method-assign]
    narrated = explain(b)
    b.backward()
    assert (narrated.grads["a"], a.grad) == (1.0, 1.0)


def test_a_closure_op_with_three_children() -> None:
    """An op of three Values is drawn and narrated with all three, as x1, x2, x3."""
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    s = lecture_op("sum3", 6.0, (a, b, c), [1.0, 1.0, 1.0])
    s.label = "s"
    step = explain(s)[0]
    assert (step.expression, step.operands) == (
        "sum3(a, b, c)",
        (("x1", "a", 1.0), ("x2", "b", 2.0), ("x3", "c", 3.0)),
    )
    assert [(c.child, c.operand, c.grad_after) for c in step.contributions] == [
        ("a", "x1", 1.0),
        ("b", "x2", 1.0),
        ("c", "x3", 1.0),
    ]


def test_explaining_a_closure_op_leaves_the_graph_alone() -> None:
    """The narrator runs closures on the side: every .grad is as it was before."""
    x = Value(1.5, label="x")
    y = cube(cube(x) + x)
    nodes = topological_order(y)
    for i, node in enumerate(nodes):
        node.grad = float(i) + 0.25
    before = [n.grad for n in nodes]
    explain(y).text()
    compare_naive_recursion(y)
    assert before == [n.grad for n in nodes]


def test_a_hand_built_op_without_a_closure_is_the_error_backward_gives() -> None:
    """An op with no rule and no closure set: explain raises backward()'s ValueError."""
    x = Value(2.0, label="x")
    y = Value(8.0, (x,), "cube")
    with pytest.raises(ValueError, match="'cube'") as by_backward:
        y.backward()
    with pytest.raises(ValueError, match="'cube'") as by_explain:
        explain(y)
    assert str(by_explain.value) == str(by_backward.value)


LECTURE_OPS = {
    # name: (forward, local derivative), as the lecture's closures compute them
    "*2": (lambda x: x * 2.0, lambda x: 2.0),
    "tanh": (math.tanh, lambda x: 1.0 - math.tanh(x) ** 2),
    "cube": (lambda x: x**3, lambda x: 3.0 * x**2),
    "**2": (lambda x: x**2, lambda x: 2.0 * x),
    "exp": (math.exp, math.exp),
}


@given(
    values=st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=4),
    plan=st.lists(
        st.tuples(st.sampled_from([*LECTURE_OPS, "+", "*", "rule tanh"]), st.integers(0, 99)),
        min_size=1,
        max_size=12,
    ),
)
def test_graphs_mixing_closures_and_rules_narrate_backwards_numbers(
    values: list[float], plan: list[tuple[str, int]]
) -> None:
    """On random graphs of lecture closures and built-in ops, each narrated grad is backward()'s."""
    nodes = [Value(v, label=f"v{i}") for i, v in enumerate(values)]
    for op, pick in plan:
        x, y = nodes[pick % len(nodes)], nodes[(pick // 7) % len(nodes)]
        if abs(x.data) > 100.0 or abs(y.data) > 100.0:
            op = "rule tanh"  # (the closures' own forwards, on floats, would overflow)
        if op == "+":
            out = lecture_op("+", x.data + y.data, (x, y), [1.0, 1.0])
        elif op == "*":
            out = x * y
        elif op == "rule tanh":
            out = x.tanh()
        else:
            forward, local = LECTURE_OPS[op]
            out = lecture_op(op, forward(x.data), (x,), [local(x.data)])
        nodes.append(out)
    root = nodes[-1]
    narrated = explain(root)
    root.backward()
    assert {name: node.grad for node, name in narrated.names.items()} == narrated.grads


def test_a_registered_op_is_narrated_with_its_formula() -> None:
    """An op added with register_op is a RULES row: narrated with its formula and derivative."""
    twice_sin = register_op(
        "twice_sin",
        lambda x: 2.0 * math.sin(x),
        lambda x, y, out, g, m: (g * 2.0 * m.cos(x),),
        "d(2 sin x)/dx = 2 cos x",
    )
    try:
        x = Value(0.5, label="x")
        y = twice_sin(x)
        y.label = "y"
        step = explain(y)[0]
        y.backward()
        assert (step.expression, step.formula, step.closure) == (
            "twice_sin(x)",
            "d(2 sin x)/dx = 2 cos x",
            False,
        )
        assert [c.local for c in step.contributions] == [x.grad] == [2.0 * math.cos(0.5)]
    finally:
        del RULES["twice_sin"]


def test_a_registered_two_operand_op_shows_its_number_operand() -> None:
    """A registered op of x and a plain number y is written hypot(x, 4), y a constant."""
    hypot = register_op(
        "hypot",
        math.hypot,
        lambda x, y, out, g, m: (g * m.div(x, out), g * m.div(y, out)),
        "d hypot(x, y)/dx = x/hypot, d/dy = y/hypot",
        arity=2,
    )
    try:
        x = Value(3.0, label="x")
        step = explain(hypot(x, 4.0))[0]
        assert (step.expression, step.operands, step.data) == (
            "hypot(x, 4)",
            (("x", "x", 3.0), ("y", "", 4.0)),
            5.0,
        )
        assert [c.local for c in step.contributions] == [0.6]
    finally:
        del RULES["hypot"]
