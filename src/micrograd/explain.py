"""The backprop narrator: the chain rule, one node at a time, with real numbers.

Every number comes from the engine's own rule table (``RULES[op]``), in the order
``backward()`` uses, so the narrator and ``backward()`` agree to the last bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from micrograd.engine import RULES, Value, _FloatMath, topological_order

__all__ = [
    "Contribution",
    "Explanation",
    "NaiveComparison",
    "Step",
    "compare_naive_recursion",
    "explain",
    "explain_markdown",
    "explain_text",
    "node_names",
]

# Naive recursion visits a node once per path to it, which grows exponentially with reuse.
_NAIVE_VISIT_LIMIT = 100_000
_NAIVE_TRACE_LINES = 60


def _num(x: float, digits: int = 6) -> str:
    """A float, short: ``0.5``, ``-2``, ``1.23457e+08``."""
    return f"{x + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0: "-0" only confuses


def node_names(root: Value) -> dict[Value, str]:
    """A readable, stable name for every node of ``root``'s graph, in topological order.

    A node's ``label`` is its name (a repeated label gets ``#2``, ``#3``, ...); an unlabeled node
    is called ``n1``, ``n2``, ... in topological order (children first), skipping names taken by
    labels.

    >>> a = Value(2.0, label='a')
    >>> list(node_names(a * Value(3.0) + 1).values())
    ['a', 'n1', 'n2', 'n3']
    """
    order = topological_order(root)
    names: dict[Value, str] = {}
    taken: set[str] = set()
    for node in order:
        if node.label:
            name, k = node.label, 1
            while name in taken:
                k += 1
                name = f"{node.label}#{k}"
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


def _is_infix(op: str) -> bool:
    """Whether ``op`` is written between its operands (``+ * / **``) rather than as a call."""
    return not op.isidentifier()


def _expression(node: Value, names: dict[Value, str]) -> tuple[str, str]:
    """The op as the user wrote it, in terms of the children's names, and a note on sugar."""
    a, b, op, k = node._a, node._b, node._op, node._arg
    assert a is not None  # only interior nodes have an expression
    x = names[a]
    if _is_infix(op):
        # The second operand is a Value, or a plain number kept as the op's constant.
        y = names[b] if b is not None else _num(k)
        if op == "*" and b is None and k == -1.0:
            return f"{x} * -1", "this is -x: the engine writes -x (and 2 - x) with x * -1"
        return (f"{x}{op}{y}" if op == "**" else f"{x} {op} {y}"), ""
    if op == "abs":
        return f"|{x}|", ""
    if op == "ReLU":
        return f"relu({x})", ""
    if op == "leaky_relu":
        return f"leaky_relu({x}, {_num(k)})", ""
    return f"{op}({x})", ""


@dataclass(frozen=True)
class Contribution:
    """One ``child.grad += local * upstream`` of a backward step."""

    child: str  # the child's name
    operand: str  # "x" (first operand) or "y" (second)
    local: float  # d(node)/d(child), from the rule table
    upstream: float  # node.grad: d(root)/d(node)
    product: float  # local * upstream, what is added
    grad_after: float  # child.grad once it is added

    def text(self, digits: int = 6) -> str:
        """``child.grad += local * upstream = product   so child.grad = after``."""

        def n(v: float) -> str:
            return _num(v, digits)

        return (
            f"{self.child}.grad += local * upstream = {n(self.local)} * {n(self.upstream)}"
            f" = {n(self.product)}   so {self.child}.grad = {n(self.grad_after)}"
        )


@dataclass(frozen=True)
class Step:
    """The chain-rule step ``backward()`` takes at one node, with its numbers."""

    index: int  # 1 for the root, counting in reverse topological order
    node: Value = field(repr=False, compare=False)
    name: str
    expression: str  # the right-hand side, e.g. "n3 * n4"
    op: str  # the engine's op name, a key of RULES
    formula: str  # the local derivative rule in symbols, RULES[op].formula
    data: float  # the node's value
    operands: tuple[tuple[str, str, float], ...]  # (symbol, name or "", value): x, y, k, slope
    upstream: float  # node.grad when the step runs: complete, as every parent ran before
    contributions: tuple[Contribution, ...]
    note: str = ""  # how sugar (-x) shows up in the graph, if it does

    def _values(self, digits: int, code: str) -> str:
        parts = []
        for symbol, name, value in self.operands:
            if name:
                parts.append(f"{symbol} = {code}{name}{code} = {_num(value, digits)}")
            else:  # a plain number in the expression: it gets no gradient
                parts.append(f"{symbol} = {_num(value, digits)} (a constant)")
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

        lines = [
            f"#### Step {self.index}: `{self.name} = {self.expression}` = {n(self.data)}",
            "",
            f"- rule: `{self.formula}`, with {self._values(digits, '`')}",
            f"- upstream: `{self.name}.grad` = {n(self.upstream)}",
        ]
        if self.note:
            lines.append(f"- note: {self.note}")
        lines += ["", "| into | local | × upstream | = added | grad now |", "|---|--:|--:|--:|--:|"]
        lines += [
            f"| `{c.child}.grad` | {n(c.local)} | {n(c.upstream)} | {n(c.product)}"
            f" | {n(c.grad_after)} |"
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
        return self.grads[self.names[node]]

    def _intro(self, code: str) -> list[str]:
        root = self.names[self.root]
        order = ", ".join(f"{code}{name}{code}" for name in self.names.values())
        return [
            f"Backward pass from {code}{root}{code} = {_num(self.root.data)}.",
            f"Topological order (children first): {order}.",
            "backward() walks it in reverse, so a node's grad is complete (every parent has added"
            " its share) before the node passes it on.",
            f"Start: {code}{root}.grad = 1{code}, since d{root}/d{root} = 1."
            " Every other grad starts at 0.",
        ]

    def text(self, digits: int = 6) -> str:
        """The whole pass as plain text."""
        lines = self._intro("")
        for step in self.steps:
            lines += ["", step.text(digits)]
        lines += ["", "Gradients:"]
        width = max(len(name) for name in self.grads)
        lines += [f"    {name:<{width}}  {_num(g, digits)}" for name, g in self.grads.items()]
        return "\n".join(lines)

    def markdown(self, digits: int = 6) -> str:
        """The whole pass as Markdown."""
        lines = [" ".join(self._intro("`"))]
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


def _operands(node: Value, names: dict[Value, str]) -> tuple[tuple[str, str, float], ...]:
    """The symbols of the node's rule with their values: x, and y (or the slope) if any."""
    a, b = node._a, node._b
    assert a is not None
    x = ("x", names[a], a.data)
    if b is not None:
        return (x, ("y", names[b], b.data))
    if _is_infix(node._op):
        return (x, ("y", "", node._arg))  # a plain-number operand: a constant, not a node
    if node._op == "leaky_relu":
        return (x, ("slope", "", node._arg))
    return (x,)


def _shares(node: Value, g: float) -> tuple[tuple[float, float], ...]:
    """(local derivative, share of ``g``) per operand, by the engine's rule, on floats."""
    a, b = node._a, node._b
    assert a is not None
    rule = RULES[node._op]
    x, y, out = a.data, node._arg if b is None else b.data, node.data
    # The share is the rule's backward of g, exactly what backward() adds: usually local * g,
    # but a mask (relu's 0) stays 0 even when g is inf.
    shares = tuple(
        zip(rule.partials(x, y, out, _FloatMath), rule.backward(x, y, out, g, _FloatMath))
    )
    # A plain-number operand (x * 3) is a constant, not a node: it takes no gradient.
    return shares if b is not None else shares[:1]


def explain(root: Value) -> Explanation:
    """Narrate ``root.backward()``: one ``Step`` per interior node, in reverse topological order.

    The narrator does not run ``backward()`` and changes nothing in the graph: it reads ``.data``
    and keeps its own gradients, starting from zero (as a first ``backward()`` does), so its
    numbers equal ``.grad`` after ``root.backward()`` on a fresh graph.

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
    grads: dict[Value, float] = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    steps: list[Step] = []
    for node in reversed(order):
        a, b = node._a, node._b
        if a is None:
            continue
        g = grads[node]
        contributions = []
        children = (a,) if b is None else (a, b)
        # Same arithmetic, same order as the engine's chain rule.
        for i, (child, (local, product)) in enumerate(zip(children, _shares(node, g), strict=True)):
            grads[child] = grads[child] + product
            contributions.append(
                Contribution(names[child], "xy"[i], local, g, product, grads[child])
            )
        expression, note = _expression(node, names)
        steps.append(
            Step(
                index=len(steps) + 1,
                node=node,
                name=names[node],
                expression=expression,
                op=node._op,
                formula=RULES[node._op].formula,
                data=node.data,
                operands=_operands(node, names),
                upstream=g,
                contributions=tuple(contributions),
                note=note,
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
        return [name for name, g in self.correct.items() if self.naive[name] != g]

    def _table(self, digits: int) -> list[str]:
        rows = [("node", "naive", "backward()", "")]
        for name, g in self.correct.items():
            bad = "<- wrong" if self.naive[name] != g else ""
            rows.append((name, _num(self.naive[name], digits), _num(g, digits), bad))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
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
            mark = " **(wrong)**" if self.naive[name] != g else ""
            lines.append(
                f"| `{name}` | {_num(self.naive[name], digits)}{mark} | {_num(g, digits)} |"
            )
        return "\n".join([*lines, "", self._summary()])

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return self.markdown()


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
        a, b = node._a, node._b
        if a is None:
            continue
        children = (a,) if b is None else (a, b)
        g = grads[node]
        parts = []
        for child, (local, share) in zip(children, _shares(node, g), strict=True):
            grads[child] = grads[child] + share
            parts.append(
                f"{names[child]}.grad += {_num(local)} * {_num(g)} -> {_num(grads[child])}"
            )
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
