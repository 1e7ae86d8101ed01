"""Backprop by naive recursion beside ``backward()``: why a reused node needs topological order."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from micrograd.engine import Value
from micrograd.explain._names import _ALIGN, _num, node_names
from micrograd.explain._narrate import _step, explain
from micrograd.explain._steps import Contribution

# Naive recursion visits a node once per path to it, which grows exponentially with reuse.
_NAIVE_VISIT_LIMIT = 100_000
_NAIVE_TRACE_LINES = 60


def _differ(x: float, y: float) -> bool:
    """Whether two gradients are different numbers (nan is the same as nan; -0.0 as 0.0)."""
    return x != y and not (math.isnan(x) and math.isnan(y))


@dataclass(frozen=True)
class NaiveComparison:
    """Gradients from naive recursion beside those of ``backward()``, with the naive trace."""

    names: dict[Value, str] = field(repr=False)
    naive: dict[str, float]  # name -> grad by naive recursion
    correct: dict[str, float]  # name -> grad by backward() (reverse topological order)
    visits: dict[str, int]  # name -> how many times naive recursion ran its _backward
    trace: tuple[str, ...]  # one line per naive visit of an interior node

    @property
    def wrong(self) -> list[str]:
        """Names of the nodes whose naive gradient differs from ``backward()``'s."""
        return [name for name, g in self.correct.items() if _differ(self.naive[name], g)]

    def _table(self, digits: int) -> list[str]:
        rows = [("node", "naive", "backward()", "")]
        for name, g in self.correct.items():
            bad = "<- wrong" if _differ(self.naive[name], g) else ""
            rows.append((name, _num(self.naive[name], digits), _num(g, digits), bad))
        widths = [min(max(len(r[i]) for r in rows), _ALIGN) for i in range(3)]
        return [
            f"    {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip()
            for r in rows
        ]

    def _summary(self) -> str:
        again = [f"{name} ({n} times)" for name, n in self.visits.items() if n > 1]
        if not self.wrong:
            return "Here both give the same gradients: no node is reached by more than one path."
        return (
            f"Naive recursion ran _backward() more than once at {', '.join(again)}: a node reached"
            " by several paths is visited once per path, and each visit passes its grad on again"
            " (or passes it on before all of it has arrived). Topological order visits each node"
            " once, after all its parents, so its grad is passed on once and complete."
        )

    def text(self, digits: int = 6) -> str:
        """The comparison as plain text."""
        order = ", ".join(self.correct)
        lines = [
            "Naive recursion: run node._backward(), then recurse into each child, one call per"
            " edge:",
            *(f"    {line}" for line in self.trace),
            f"backward(): reverse topological order {order}, each node once.",
            "",
            *self._table(digits),
            "",
            self._summary(),
        ]
        return "\n".join(lines)

    def markdown(self, digits: int = 6) -> str:
        """The comparison as Markdown."""
        lines = [
            "**Naive recursion**: run `node._backward()`, then recurse into each child:",
            "",
            *(f"    {line}" for line in self.trace),
            "",
            f"**backward()**: reverse topological order `{', '.join(self.correct)}`.",
            "",
            "| node | naive | backward() |",
            "|---|--:|--:|",
        ]
        for name, g in self.correct.items():
            mark = " **(wrong)**" if _differ(self.naive[name], g) else ""
            lines.append(
                f"| `{name}` | {_num(self.naive[name], digits)}{mark} | {_num(g, digits)} |"
            )
        return "\n".join([*lines, "", self._summary()])

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return self.markdown()


def _naive_part(c: Contribution) -> str:
    """One ``+=`` of the naive trace: ``a.grad += 1 * 2 -> 6``."""
    if c.local is None:
        added = f"{_num(c.product)} (closure)"
    else:
        added = f"{_num(c.local)} * {_num(c.upstream)}"
    return f"{c.child}.grad += {added} -> {_num(c.grad_after)}"


def compare_naive_recursion(root: Value) -> NaiveComparison:
    """Backprop by naive recursion (``_backward()`` then recurse) beside ``backward()``'s order.

    Naive recursion follows every edge, so a reused node is visited once per path. The graph is
    not changed: both passes keep their own gradients.

    >>> a = Value(1.0, label='a'); b = a + a; b.label = 'b'; c = b + b; c.label = 'c'
    >>> cmp = compare_naive_recursion(c)
    >>> cmp.naive['a'], cmp.correct['a']
    (8.0, 4.0)
    """
    names = node_names(root)
    grads: dict[Value, float] = dict.fromkeys(names, 0.0)
    grads[root] = 1.0
    visits: dict[Value, int] = dict.fromkeys(names, 0)
    trace: list[str] = []
    # An explicit stack in the order the recursion would take: a node, then each child's subtree.
    stack = [root]
    total = 0
    while stack:
        node = stack.pop()
        total += 1
        if total > _NAIVE_VISIT_LIMIT:
            raise ValueError(
                f"naive recursion would make more than {_NAIVE_VISIT_LIMIT} visits on this graph"
            )
        visits[node] += 1
        children = node._prev
        if not children:
            continue
        parts = [_naive_part(c) for c in _step(node, names, grads)]
        if len(trace) < _NAIVE_TRACE_LINES:
            trace.append(f"visit {names[node]}: " + "; ".join(parts))
        elif len(trace) == _NAIVE_TRACE_LINES:
            trace.append("...")
        stack.extend(reversed(children))
    correct = explain(root).grads
    return NaiveComparison(
        names=names,
        naive={names[n]: grads[n] for n in names},
        correct=correct,
        visits={names[n]: visits[n] for n in reversed(names)},
        trace=tuple(trace),
    )
