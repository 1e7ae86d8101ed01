"""The walks behind backward(): the general one (every node, any op), and the hot path on plain
numbers, a walk that marks nodes in their ``.grad`` and the chain rule over interior nodes alone,
a loop written out from the built-in rules' own expressions (``chain_rule``).
A lecture-style node on the way, ``create_graph`` or a hook sends backward() the general way.
"""

from __future__ import annotations

import linecache
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from micrograd._floats import INLINE, FloatMath
from micrograd._lecture import Closure

if TYPE_CHECKING:
    from micrograd.engine import Rule, Value


def walk(root: Value, zero_interior: bool) -> list[Value]:
    """Every node ``root`` depends on, children before parents (``engine.topological_order``);
    with ``zero_interior`` each interior node's grad is set to 0.0 on the way (backward())."""
    # Depth-first with an explicit stack; a node is emitted once its children are. A node on the
    # stack is an ancestor of the one above it, so (the graph being acyclic) a child already seen
    # is already emitted. backward() zeroes interior grads on the way.
    if root._a is None:
        return [root]
    order: list[Value] = []
    seen: set[object] = {root}
    stack = [root]  # only interior nodes: a leaf is emitted as soon as it is seen
    push, pop, mark, emit = stack.append, stack.pop, seen.add, order.append
    resume: dict[Value, int] = {}  # a lecture-style node: where the scan of its children stopped
    while True:
        try:
            while stack:
                node = stack[-1]
                a: Value = node._a  # type: ignore[assignment]  # an interior node has a child
                if a not in seen:
                    mark(a)
                    if a._a is not None:
                        push(a)
                        continue
                    emit(a)
                b = node._b
                if b is not None and b not in seen:
                    mark(b)
                    if b._a is not None:
                        push(b)
                        continue
                    emit(b)
                if zero_interior:
                    node.grad = 0.0
                emit(pop())
            return order
        except AttributeError:  # b._a of a _Closure: a lecture-style node (any children)
            if type(node._b) is not Closure:
                raise
            seen.discard(node._b)  # the node comes back here until all its children are in
            children, start = node._b.children, resume.pop(node, 0)  # each child looked at once
            for i in range(start, len(children)):
                child = children[i]
                if child not in seen:
                    mark(child)
                    if child._a is not None:
                        resume[node] = i + 1
                        push(child)
                        break
                    emit(child)
            else:
                if zero_interior:
                    node.grad = 0.0
                emit(pop())


def interior_order(root: Value) -> tuple[list[Value], float] | None:
    """The interior nodes ``root`` (an interior node) depends on, children before parents, each
    with ``.grad`` set to a zero made for this call (returned too); None at a lecture-style node.

    The zero is the walk's mark: a node whose grad *is* it (not equals it) has been emitted, so
    no set of seen nodes is needed, and the chain rule then adds into that zero. A fresh object
    per call, so a mark left by another walk (one that raised, another thread's) is never taken
    for this one's. Leaves are never marked: their ``.grad`` accumulates across calls.
    The order is the one ``walk`` gives, so gradients are summed in the same order.
    """
    # Depth-first, the stack holding the path down: each node's first child that waits is
    # walked first, then its second (the node's grad *is* ``second`` meanwhile). A node on the
    # path needs no mark while its first child's side is walked: only its descendants are looked
    # at then, and none of them refers to it (the graph is acyclic).
    # A second child whose own children are leaves or emitted (a neuron's ``w * x`` beside its
    # running sum) is emitted in place, before its parent: no push and pop of the parent for it.
    done, second = float(0), float(0)  # float(): new objects, never a shared constant
    order: list[Value] = []
    stack: list[Any] = []
    pop = stack.pop  # (append stays a method call: 3.11 runs that one inline, not pop)
    node: Any = root
    try:
        while True:
            a = node._a
            if a._a is not None and a.grad is not done:
                stack.append(node)
                node = a
                continue
            while True:  # node's first child is in: its second, then node, then up the path
                b = node._b
                if b is not None and b._a is not None and b.grad is not done:
                    ba, bb = b._a, b._b
                    if (ba._a is not None and ba.grad is not done) or (
                        bb is not None and bb._a is not None and bb.grad is not done
                    ):
                        node.grad = second
                        stack.append(node)
                        node = b
                        break
                    b.grad = done
                    order.append(b)
                node.grad = done
                order.append(node)
                node = pop()  # an IndexError once the root is in
                while node.grad is second:
                    node.grad = done
                    order.append(node)
                    node = pop()
    except IndexError:
        return order, done
    except AttributeError:  # ._a of a lecture-style node's _Closure
        return None  # (the marks are zeros, as the general path leaves interior grads)


# --- The chain rule on floats, generated from RULES ---
#
# Calling each node's rule (five arguments, a tuple back) cost backward() more than the rest of
# its work. So the loop is written once per set of rules as Python source: each built-in rule's
# backward is run on symbols (``_Term``), which records the expression it computes (``g * y``),
# and that expression is inlined in an if-chain on the op. The rule stays the one place where
# the derivative is written; the generated text is only its transcript, with the same float
# operations in the same order, so the gradients are bit for bit those of calling it. A rule
# registered by the user (or replaced) is called as before: its backward may read state that a
# transcript would freeze.


class _Term:
    """A term of a rule's backward traced on symbols: the Python source that computes it."""

    __slots__ = ("constants", "source")

    def __init__(self, source: str, constants: dict[str, object]) -> None:
        self.source, self.constants = source, constants

    def __bool__(self) -> bool:  # a rule that branches in Python on a number: not traced
        raise TypeError("a traced term has no truth value")

    def __neg__(self) -> _Term:
        return _Term(f"(-{self.source})", self.constants)

    def text(self, value: object) -> str:
        """The source of ``value``: a term's, a finite number's literal, or a named constant."""
        if isinstance(value, _Term):
            return value.source
        if type(value) in (int, float) and math.isfinite(value):  # type: ignore[arg-type]
            return f"({value!r})"
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name


def _operator(symbol: str, reflected: bool) -> Callable[[_Term, object], _Term]:
    def method(self: _Term, other: object) -> _Term:
        operand = self.text(other)
        left, right = (operand, self.source) if reflected else (self.source, operand)
        return _Term(f"({left} {symbol} {right})", self.constants)

    return method


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**"),
                       ("and", "&"), ("or", "|")):  # fmt: skip
    setattr(_Term, f"__{_name}__", _operator(_symbol, False))
    setattr(_Term, f"__r{_name}__", _operator(_symbol, True))
for _name, _symbol in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"),
                       ("ge", ">=")):  # fmt: skip
    setattr(_Term, f"__{_name}__", _operator(_symbol, False))


class _TracedMath:
    """``FloatMath`` on terms: a call of one of its functions, in the transcript."""

    def __init__(self, constants: dict[str, object]) -> None:
        self.constants = constants

    def __getattr__(self, name: str) -> Callable[..., _Term]:
        function = getattr(FloatMath, name)  # not a rule's function: the rule is not traced

        def call(*args: object) -> _Term:
            term = _Term("", self.constants)
            sources = [term.text(arg) for arg in args]
            if name in INLINE:
                term.source = INLINE[name].format(*sources)
            else:
                self.constants[f"m_{name}"] = function
                term.source = f"m_{name}({', '.join(sources)})"
            return term

        return call


def _transcript(rule: Rule, constants: dict[str, object]) -> list[str] | None:
    """The source of each term ``rule``'s backward returns, or None if it cannot be traced."""
    x, y, out, g = (_Term(name, constants) for name in ("x", "y", "out", "g"))
    try:
        return [x.text(term) for term in rule.backward(x, y, out, g, _TracedMath(constants))]
    except Exception:  # any rule that does more than arithmetic is called instead
        return None


_FIRST = ("*", "+", "ReLU", "tanh")  # tested first: the ops of a neural network's graph
_USES = {name: re.compile(rf"\b{name}\b") for name in ("x", "y", "out")}


def _branch(terms: list[str], y: str) -> list[str]:
    """The body of one op's branch: its operands read as far as its terms use them, into a
    local when read twice, in place when once (a slot read has no effect: same numbers)."""
    reads = {"x": "a.data", "y": y, "out": "node.data"}
    uses = {v: sum(len(_USES[v].findall(t)) for t in terms) for v in reads}
    for v, read in reads.items():
        if uses[v] == 1:
            terms = [_USES[v].sub(read, t) for t in terms]
    lines = [f"{v} = {reads[v]}" for v in reads if uses[v] > 1]
    return lines + [f"{child}.grad += {t}" for child, t in zip("ab", terms)]


def _if_chain(branches: list[tuple[str, list[str]]], otherwise: list[str]) -> list[str]:
    """``if op == ...: ... elif ...: ... else: otherwise``, as lines."""
    lines: list[str] = []
    for op, body in branches:
        lines += [f"{'elif' if lines else 'if'} op == {op!r}:"] + ["    " + b for b in body]
    return lines + ["else:"] + ["    " + b for b in otherwise] if lines else otherwise


def _generate(rules: Mapping[str, Rule], inline: Collection[Rule]) -> Callable[[list[Any]], None]:
    """The chain rule over interior nodes (``chain_rule``), as a function written for ``rules``."""
    backwards = {name: rule.backward for name, rule in rules.items()}
    constants: dict[str, object] = {"backwards": backwards, "m": FloatMath, "missing": _missing}
    one: list[tuple[str, list[str]]] = []  # nodes of one Value operand (y: the op's constant)
    two: list[tuple[str, list[str]]] = []  # nodes of two
    for op in sorted(rules, key=lambda op: _FIRST.index(op) if op in _FIRST else len(_FIRST)):
        rule = rules[op]
        terms = _transcript(rule, constants) if rule in inline else None
        if terms:
            one.append((op, _branch(terms[:1], "node._arg")))
            if rule.arity == 2 and len(terms) == 2:
                two.append((op, _branch(terms, "b.data")))
    called_one = ["a.grad += backwards[op](a.data, node._arg, node.data, g, m)[0]"]
    called_two = ["ga, gb = backwards[op](a.data, b.data, node.data, g, m)"]
    called_two += ["a.grad += ga", "b.grad += gb"]
    body = ["a = node._a", "b = node._b", "g = node.grad", "op = node._op", "if b is None:"]
    body += ["    " + line for line in _if_chain(one, called_one)]
    body += ["else:"] + ["    " + line for line in _if_chain(two, called_two)]
    source = "\n".join(
        ["def chain_rule(order):", "    node = None", "    try:"]
        + ["        for node in reversed(order):"]
        + ["            " + line for line in body]
        + ["    except KeyError:", "        missing(node, backwards)", "        raise", ""]
    )
    # One name per text; inside the package's folder, so that the walks that look for the
    # user's line (anomaly mode, a traced function's refusals) step over it as micrograd's own.
    name = f"<generated chain rule {hash(source) & 0xFFFFFFFF:08x}>"
    filename = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), constants)  # the transcripts above, no input
    return constants["chain_rule"]  # type: ignore[return-value]


def _missing(node: Value | None, backwards: Mapping[str, object]) -> None:
    if node is not None and node._op not in backwards:  # an op taken out of RULES since
        raise ValueError(f"op {node._op!r} has no rule in RULES") from None


# The rules the last backward() used, and the chain rule written for them: written again only
# when a rule has been registered, replaced or taken out since (comparing two dicts costs little).
_cache: tuple[dict[str, Rule], Callable[[list[Any]], None] | None] = ({}, None)


def chain_rule(order: list[Value], rules: Mapping[str, Rule], inline: Collection[Rule]) -> None:
    """Each interior node of ``order`` (children first), last to first: its rule's backward on
    floats, added into its children's grads; the rules in ``inline`` are inlined, not called. An
    op taken out of ``rules`` is a ValueError."""
    global _cache
    snapshot, written = _cache
    if written is None or snapshot != rules:
        snapshot = dict(rules)
        written = _generate(snapshot, inline)
        _cache = (snapshot, written)  # one assignment: another thread sees old or new
    written(order)


def backprop(
    root: Value, seed: float, rules: Mapping[str, Rule], inline: Collection[Rule] = ()
) -> bool:
    """backward() from ``root`` on plain numbers; False, having changed no gradient but to zero
    some interior ones, when the graph holds a lecture-style node (the general path's work)."""
    if root._a is None:
        root.grad = root.grad + seed
        return True
    walked = interior_order(root)
    if walked is None:
        return False
    root.grad = seed
    chain_rule(walked[0], rules, inline)
    return True
