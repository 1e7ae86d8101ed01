"""What code written for the lecture (and micrograd 0.1.0) needs: nodes built by hand.

``Value(data, children, op)`` names its op as that code does ('relu', '**2', 'cube'); when the
code then sets ``out._backward = fn``, the node is differentiated by ``fn``, never by a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from micrograd.engine import Value


class Closure(NamedTuple):
    """Kept in a lecture-style node's ``_b``: its ``_backward`` closure and all its children.

    The node keeps its first child in ``_a``, so a walk reaches it; ``fn`` is None until set.
    """

    fn: Callable[[], object] | None
    children: tuple[Value, ...]

    def run(self, node: Value) -> None:
        """One chain-rule step at ``node``: its closure, or a ValueError naming its op."""
        if self.fn is None:
            raise ValueError(
                f"op {node._op!r} on {len(self.children)} Values has no rule to differentiate it: "
                "set its _backward (as the lecture does) or add the op with engine.register_op"
            )
        self.fn()


def hand_built_rule(op: str, n: int, rules: Mapping[str, Any]) -> tuple[str, float]:
    """The row of ``rules`` (and its constant) that a node built with ``n`` children follows.

    Lecture-era names work: any case (``'relu'`` is ``'ReLU'``), micrograd's ``'**2'`` (a number
    exponent), ``'**'`` of two Values. ``('', 0.0)`` when no row applies (an unknown op, a
    binary op with one child, a leaky_relu whose slope is unknown).
    """
    if op.startswith("**") and n == 1:
        try:
            return "**", float(op[2:])
        except ValueError:
            return "", 0.0
    op = "pow" if op == "**" else op
    name = op if op in rules else next((r for r in rules if r.lower() == op.lower()), "")
    rule = rules.get(name)
    return (name, 0.0) if rule and rule.arity == n and not rule.constant else ("", 0.0)


def _get_label(node: Value) -> str:
    try:
        return node._label
    except AttributeError:  # an op's node: its method stores no label (one store fewer a node)
        return ""


def _set_label(node: Value, text: str) -> None:
    node._label = text


label = property(_get_label, _set_label, doc="The node's name in drawings ('' unless set).")
