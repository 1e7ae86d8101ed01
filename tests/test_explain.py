"""Tests for the backprop narrator: its numbers are backward()'s, its words follow seed 003."""

from __future__ import annotations

import operator

import pytest

from graphs import and_gate, seed002
from micrograd.engine import RULES, Rule, Value, topological_order
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
}
UNARY_ARGS = {"log": 1.5, "sqrt": 2.0, "ReLU": 0.7, "leaky_relu": -0.7, "abs": -0.7}


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_op_agrees_with_backward(op: str) -> None:
    """For every op in the rule table the narrator's gradients equal backward()'s."""
    x, w = Value(UNARY_ARGS.get(op, 0.6), label="x"), Value(1.7, label="w")
    if not op.isidentifier():  # an infix op
        f = INFIX[op]
        root = f(f(x, w), 1.3)  # a Value operand, then a plain-number one
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
    """x**3 shows as `x**3`, with the exponent as y and the local derivative 3 * x**2."""
    x = Value(2.0, label="x")
    step = explain(x**3)[0]
    assert (
        step.expression,
        step.operands[1],
        step.contributions[0].local,
    ) == ("x**3", ("y", "", 3.0), 12.0)


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
