"""The backprop narrator: the chain rule, one node at a time, with real numbers.

Every number comes from what ``backward()`` runs at each node, in its order: the engine's rule
table (``RULES[op]``), or a lecture-style node's own ``_backward`` closure, so the narrator and
``backward()`` agree to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from micrograd import _check as check
from micrograd._hooks import hooks_of
from micrograd.engine import RULES, Rule, Value, _FloatMath, rule_of, topological_order

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
