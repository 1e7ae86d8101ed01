"""The narrator's walk: ``backward()``'s steps, node by node, with its own running gradients.

Every number comes from what ``backward()`` runs at each node, in its order: the engine's rule
table (``RULES[op]``), or a lecture-style node's own ``_backward`` closure.
"""

from __future__ import annotations

from collections.abc import Callable

from micrograd._hooks import hooks_of
from micrograd.engine import RULES, Rule, Value, _FloatMath, rule_of
from micrograd.explain._names import _constant_of, _constant_symbol, _expression, node_names
from micrograd.explain._steps import Contribution, Explanation, Step


def _symbols(node: Value) -> tuple[str, ...]:
    """The rule's names for the node's operands: x and y; x1, x2, ... past two (closures only)."""
    n = len(node._prev)
    return ("x", "y")[:n] if n <= 2 else tuple(f"x{i}" for i in range(1, n + 1))


def _operands(node: Value, names: dict[Value, str]) -> tuple[tuple[str, str, float], ...]:
    """The symbols of the node's rule with their values: x, and y (or k, or the slope) if any."""
    operands = tuple(
        (symbol, names[child], child.data)
        for symbol, child in zip(_symbols(node), node._prev, strict=True)
    )
    k = _constant_of(node)
    if k is None:
        return operands
    return (*operands, (_constant_symbol(node), "", k))  # a plain-number operand: not a node


def _shares(node: Value, rule: Rule, g: float) -> tuple[tuple[float, float], ...]:
    """(local derivative, share of ``g``) per operand, by ``rule``, on floats."""
    children = node._prev
    x, y = children[0].data, node._arg if len(children) == 1 else children[1].data
    out = node.data
    # The share is the rule's backward of g, exactly what backward() adds: usually local * g,
    # but a mask (relu's 0) stays 0 even when g is inf.
    shares = tuple(
        zip(rule.partials(x, y, out, _FloatMath), rule.backward(x, y, out, g, _FloatMath))
    )
    # A plain-number operand (x * 3) is a constant, not a node: it takes no gradient.
    return shares[: len(children)]


def _as_grad(node: Value, op: str) -> float:
    """``node.grad`` as a float, as a closure left it."""
    g = node.grad
    if isinstance(g, Value):
        return g.data
    if isinstance(g, (int, float)) and not isinstance(g, bool):
        return float(g)
    raise TypeError(
        f"the closure of op {op!r} left a grad of type {type(g).__name__}: it should add a number"
    )


def _run_closure(
    node: Value, fn: Callable[[], object], g: float, grads: dict[Value, float]
) -> list[tuple[Value, float, float]]:
    """(child, what the closure adds, child's grad after) per distinct child, in operand order.

    The closure runs in the state backward() gives it (``node.grad = g``, each child's grad as
    far as the pass has got), and once from zero to see what it adds by itself; every grad it
    can touch is put back afterwards, so the graph is left as it was.
    """
    children = list(dict.fromkeys(node._prev))
    saved = [(n, n.grad) for n in (node, *children)]
    try:
        node.grad = g
        for child in children:
            child.grad = 0.0
        fn()
        added = [_as_grad(child, node._op) for child in children]
        for child in children:
            child.grad = grads[child]
        fn()
        after = [_as_grad(child, node._op) for child in children]
    finally:
        for n, value in saved:
            n.grad = value
    return list(zip(children, added, after, strict=True))


def _closure_formula(node: Value) -> str:
    """What the narrator says for a closure's step instead of a rule."""
    if node._op in RULES:
        return (
            f"none narrated: this {node._op!r} node has its own closure (out._backward), which"
            " backward() runs instead of the rule; its numbers are what the closure added"
        )
    return (
        f"none: {node._op!r} has no rule to narrate; it was defined by a closure"
        " (out._backward), and its numbers are what the closure added"
    )


def _step(
    node: Value, names: dict[Value, str], grads: dict[Value, float]
) -> tuple[Contribution, ...]:
    """backward()'s step at ``node`` on the running ``grads``, which it updates, as Contributions.

    Same arithmetic, same order as the engine's chain rule: the node's rule, or its closure.
    """
    g = grads[node]
    rule = rule_of(node)
    contributions = []
    if rule is None:  # a lecture-style node: backward() runs its closure, and so do we
        fn = node._backward
        symbols: dict[Value, str] = {}
        for symbol, child in zip(_symbols(node), node._prev, strict=True):
            symbols.setdefault(child, symbol)  # a repeated child is named by its first operand
        for child, added, after in _run_closure(node, fn, g, grads):
            grads[child] = after
            contributions.append(Contribution(names[child], symbols[child], None, g, added, after))
        return tuple(contributions)
    for symbol, child, (local, product) in zip(
        _symbols(node), node._prev, _shares(node, rule, g), strict=True
    ):
        grads[child] = grads[child] + product
        contributions.append(Contribution(names[child], symbol, local, g, product, grads[child]))
    return tuple(contributions)


def explain(root: Value) -> Explanation:
    """Narrate ``root.backward()``: one ``Step`` per interior node, in reverse topological order.

    The narrator does not run ``backward()`` and changes nothing in the graph: it reads ``.data``
    and keeps its own gradients, starting from zero (as a first ``backward()`` does), so its
    numbers equal ``.grad`` after ``root.backward()`` on a fresh graph. An op with no rule (a
    lecture-style ``out._backward = fn``) is narrated as such: its closure runs on the side, with
    the grads put back after, and the step shows what it added (``Contribution.local`` is None).
    An op without a rule or a closure raises ``backward()``'s ValueError, and so does a node with
    a hook (``register_hook``), whose gradient backward() would change and the narrator cannot.

    >>> a = Value(2.0, label='a'); b = Value(-3.0, label='b')
    >>> c = a * b; c.label = 'c'
    >>> print(explain(c)[0])
    Step 1: c = a * b = -6
        rule      d(x*y)/dx = y, d(x*y)/dy = x
        values    x = a = 2, y = b = -3
        upstream  c.grad = 1
        a.grad += local * upstream = -3 * 1 = -3   so a.grad = -3
        b.grad += local * upstream = 2 * 1 = 2   so b.grad = 2
    """
    names = node_names(root)
    order = list(names)
    hooked = [names[node] for node in order if hooks_of(node)]
    if hooked:
        raise ValueError(
            f"{hooked[0]} has a hook (register_hook), which backward() runs and the narrator "
            "does not: its numbers would not be backward()'s; remove it (handle.remove())"
        )
    grads: dict[Value, float] = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    steps: list[Step] = []
    for node in reversed(order):
        if not node._prev:
            continue
        upstream = grads[node]
        contributions = _step(node, names, grads)
        expression, note = _expression(node, names)
        closure = rule_of(node) is None
        steps.append(
            Step(
                index=len(steps) + 1,
                node=node,
                name=names[node],
                expression=expression,
                op=node._op,
                formula=_closure_formula(node) if closure else RULES[node._op].formula,
                data=node.data,
                operands=_operands(node, names),
                upstream=upstream,
                contributions=contributions,
                note=note,
                closure=closure,
            )
        )
    final = {names[node]: grads[node] for node in reversed(order)}
    return Explanation(root, names, steps, final)


def explain_text(root: Value, digits: int = 6) -> str:
    """The backward pass of ``root``, narrated as plain text (see ``explain``)."""
    return explain(root).text(digits)


def explain_markdown(root: Value, digits: int = 6) -> str:
    """The backward pass of ``root``, narrated as Markdown (see ``explain``)."""
    return explain(root).markdown(digits)
