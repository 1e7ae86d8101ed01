"""How the narrator writes things: node names, numbers, and each op as the user wrote it."""

from __future__ import annotations

import math

from micrograd import _check as check
from micrograd.engine import RULES, Value, rule_of, topological_order

# Columns are aligned up to this width: one long label must not pad every other line to it.
_ALIGN = 24


def _num(x: float, digits: int = 6) -> str:
    """A computed float to ``digits`` significant digits: ``0.5``, ``-2``, ``1.23457e+08``.

    A nonzero number never shows as zero; -0.0 keeps its sign (it can matter: 1/-0.0 is -inf);
    nan and inf show as such.
    """
    return f"{x:.{check.integer('digits', digits, 1)}g}"


def _constant(k: float) -> str:
    """An op's constant exactly, never rounded: ``2``, ``-1``, ``0.1``, ``1e-07``, ``-0.0``."""
    # An integer without its ".0" (as the lecture writes **2), except -0.0, whose sign shows.
    if k.is_integer() and abs(k) < 1e16 and (k != 0.0 or math.copysign(1.0, k) > 0.0):
        return str(int(k))
    return repr(k)


def node_names(root: Value) -> dict[Value, str]:
    """A readable, stable name for every node of ``root``'s graph, in topological order.

    A node's ``label`` is its name (a repeated label gets ``#2``, ``#3``, ...); an unlabeled node
    is called ``n1``, ``n2``, ... in topological order (children first), skipping names taken by
    labels.

    >>> a = Value(2.0, label='a')
    >>> list(node_names(a * Value(3.0) + 1).values())
    ['a', 'n1', 'n2', 'n3']
    """
    order = topological_order(check.value("root", root))
    names: dict[Value, str] = {}
    taken: set[str] = set()
    # The last k tried per label: the search for a free "label#k" resumes there, so each taken
    # name is stepped over once in all (a string "L#k" has one label L), linear in the nodes.
    last_k: dict[str, int] = {}
    for node in order:
        if node.label:
            name, k = node.label, last_k.get(node.label, 1)
            if k > 1 or name in taken:
                k += 1
                name = f"{node.label}#{k}"
                while name in taken:
                    k += 1
                    name = f"{node.label}#{k}"
            last_k[node.label] = k
            names[node] = name
            taken.add(name)
    i = 0
    for node in order:
        if node not in names:
            i += 1
            while f"n{i}" in taken:
                i += 1
            names[node] = f"n{i}"
            taken.add(f"n{i}")
    return {node: names[node] for node in order}


# How an op is written when that is not its name: a Value ** a Value is the row "pow".
_WRITTEN = {"pow": "**"}
# A rule's constant, by the symbol its formula uses: d(x**k)/dx, leaky_relu's slope.
_CONSTANT_SYMBOL = {"exponent": "k"}


def _written(op: str) -> str:
    """The op as written in an expression: ``+``, ``**``, ``tanh``."""
    return _WRITTEN.get(op, op)


def _is_infix(op: str) -> bool:
    """Whether ``op`` is written between its operands (``+ * / **``) rather than as a call."""
    return not _written(op).isidentifier()


def _constant_of(node: Value) -> float | None:
    """The op's plain-number operand, if it has one: the 3 in ``x * 3``, an exponent, a slope.

    A node with a closure may have been built by hand, where only a name such as the lecture's
    ``'**2'`` gives a number; otherwise its constant is a 0.0 that nobody wrote. So there a
    constant shows only when it is not zero: a number may be left out, never made up.
    """
    rule = RULES.get(node._op)
    if rule is None or len(node._prev) != 1 or not (rule.constant or rule.arity == 2):
        return None
    if rule_of(node) is None and node._arg == 0.0:
        return None
    return node._arg


def _constant_symbol(node: Value) -> str:
    """The symbol of the node's constant in its rule's formula: ``y``, ``k``, ``slope``."""
    kind = RULES[node._op].constant
    return _CONSTANT_SYMBOL.get(kind, kind) if kind else "y"


def _expression(node: Value, names: dict[Value, str]) -> tuple[str, str]:
    """The op as the user wrote it, in terms of the children's names, and a note on sugar."""
    op, k = node._op, _constant_of(node)
    args = [names[child] for child in node._prev]
    assert args  # only interior nodes have an expression
    operands = args if k is None else [*args, _constant(k)]
    written = _written(op)
    if _is_infix(op) and len(operands) == 2:
        x, y = operands
        if op == "*" and k == -1.0:
            return f"{x} * -1", "this is -x: the engine writes -x (and 2 - x) with x * -1"
        return (f"{x}{written}{y}" if written == "**" else f"{x} {written} {y}"), ""
    if op == "abs" and len(operands) == 1:
        return f"|{args[0]}|", ""
    if op == "ReLU" and len(operands) == 1:
        return f"relu({args[0]})", ""
    return f"{written or 'op'}({', '.join(operands)})", ""
