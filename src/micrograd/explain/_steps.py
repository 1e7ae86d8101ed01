"""The narration's records: a ``Contribution`` to a child's grad, a ``Step``, an ``Explanation``.

Each prints itself as plain text and as Markdown.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from micrograd import _check as check
from micrograd.engine import Value
from micrograd.explain._names import _ALIGN, _constant, _num


@dataclass(frozen=True)
class Contribution:
    """One ``child.grad += local * upstream`` of a backward step."""

    child: str  # the child's name
    operand: str  # "x" (first operand) or "y" (second); x1, x2, ... past two closure operands
    local: float | None  # d(node)/d(child) from the rule table; None for a closure's step
    upstream: float  # node.grad: d(root)/d(node)
    product: float  # local * upstream, what is added (for a closure: what it added)
    grad_after: float  # child.grad once it is added

    def text(self, digits: int = 6) -> str:
        """``child.grad += local * upstream = product   so child.grad = after``."""

        def n(v: float) -> str:
            return _num(v, digits)

        if self.local is None:
            added = f"{n(self.product)}, what the closure added"
        else:
            added = f"local * upstream = {n(self.local)} * {n(self.upstream)} = {n(self.product)}"
        return f"{self.child}.grad += {added}   so {self.child}.grad = {n(self.grad_after)}"


@dataclass(frozen=True)
class Step:
    """The chain-rule step ``backward()`` takes at one node, with its numbers."""

    index: int  # 1 for the root, counting in reverse topological order
    node: Value = field(repr=False, compare=False)
    name: str
    expression: str  # the right-hand side, e.g. "n3 * n4"
    op: str  # the engine's op name: a key of RULES, or a closure op's own name
    formula: str  # the local derivative rule in symbols, RULES[op].formula; for a closure, why not
    data: float  # the node's value
    operands: tuple[tuple[str, str, float], ...]  # (symbol, name or "", value): x, y, k, slope
    upstream: float  # node.grad when the step runs: complete, as every parent ran before
    contributions: tuple[Contribution, ...]
    note: str = ""  # how sugar (-x) shows up in the graph, if it does
    closure: bool = False  # differentiated by the node's own closure, not by a rule

    def _values(self, digits: int, code: str) -> str:
        parts = []
        for symbol, name, value in self.operands:
            if name:
                parts.append(f"{symbol} = {code}{name}{code} = {_num(value, digits)}")
            else:  # a plain number in the expression: it gets no gradient
                parts.append(f"{symbol} = {_constant(value)} (a constant)")
        return ", ".join(parts)

    def text(self, digits: int = 6) -> str:
        """The step as a few lines of plain text."""
        lines = [
            f"Step {self.index}: {self.name} = {self.expression} = {_num(self.data, digits)}",
            f"    rule      {self.formula}",
            f"    values    {self._values(digits, '')}",
            f"    upstream  {self.name}.grad = {_num(self.upstream, digits)}",
        ]
        lines += [f"    {c.text(digits)}" for c in self.contributions]
        if self.note:
            lines.append(f"    note      {self.note}")
        return "\n".join(lines)

    def markdown(self, digits: int = 6) -> str:
        """The step as a Markdown heading, two bullets and a table."""

        def n(v: float) -> str:
            return _num(v, digits)

        rule = self.formula if self.closure else f"`{self.formula}`"
        lines = [
            f"#### Step {self.index}: `{self.name} = {self.expression}` = {n(self.data)}",
            "",
            f"- rule: {rule}, with {self._values(digits, '`')}",
            f"- upstream: `{self.name}.grad` = {n(self.upstream)}",
        ]
        if self.note:
            lines.append(f"- note: {self.note}")
        lines += ["", "| into | local | × upstream | = added | grad now |", "|---|--:|--:|--:|--:|"]
        lines += [
            f"| `{c.child}.grad` | {'closure' if c.local is None else n(c.local)}"
            f" | {n(c.upstream)} | {n(c.product)} | {n(c.grad_after)} |"
            for c in self.contributions
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


class Explanation(Sequence[Step]):
    """A whole backward pass, narrated: a sequence of ``Step``s plus the final gradients.

    Iterate over it for one step at a time, or print ``.text()`` / ``.markdown()``; in Jupyter it
    displays as Markdown.
    """

    def __init__(
        self,
        root: Value,
        names: dict[Value, str],
        steps: list[Step],
        grads: dict[str, float],
    ) -> None:
        self.root = root
        self.names = names  # every node -> its name, in topological order
        self.steps = steps
        self.grads = grads  # name -> d(root)/d(node), root first (reverse topological order)

    @overload
    def __getitem__(self, i: int) -> Step: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Step]: ...
    def __getitem__(self, i: int | slice) -> Step | Sequence[Step]:
        return self.steps[i]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def grad(self, node: Value) -> float:
        """The gradient the narrator computed for ``node``: ``node.grad`` after ``backward()``."""
        if check.value("node", node) not in self.names:
            check.wrong_value("node", node, "a node of the explained graph")
        return self.grads[self.names[node]]

    def _intro(self, code: str, digits: int) -> list[str]:
        root = self.names[self.root]
        order = ", ".join(f"{code}{name}{code}" for name in self.names.values())
        return [
            f"Backward pass from {code}{root}{code} = {_num(self.root.data, digits)}.",
            f"Topological order (children first): {order}.",
            "backward() walks it in reverse, so a node's grad is complete (every parent has added"
            " its share) before the node passes it on.",
            f"Start: {code}{root}.grad = 1{code}, since d{root}/d{root} = 1."
            " Every other grad starts at 0.",
        ]

    def text(self, digits: int = 6) -> str:
        """The whole pass as plain text."""
        lines = self._intro("", digits)
        for step in self.steps:
            lines += ["", step.text(digits)]
        lines += ["", "Gradients:"]
        width = min(max(len(name) for name in self.grads), _ALIGN)
        lines += [f"    {name:<{width}}  {_num(g, digits)}" for name, g in self.grads.items()]
        return "\n".join(lines)

    def markdown(self, digits: int = 6) -> str:
        """The whole pass as Markdown."""
        lines = [" ".join(self._intro("`", digits))]
        for step in self.steps:
            lines += ["", step.markdown(digits)]
        lines += ["", "#### Gradients", "", "| node | grad |", "|---|--:|"]
        lines += [f"| `{name}` | {_num(g, digits)} |" for name, g in self.grads.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Explanation of {len(self.steps)} steps from {self.names[self.root]}>"

    def _repr_markdown_(self) -> str:
        return self.markdown()
