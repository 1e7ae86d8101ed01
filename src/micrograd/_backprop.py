"""The walks behind backward(): the general one (every node, any op), and the hot path on plain
numbers, a walk that marks nodes in their ``.grad`` and the chain rule over interior nodes alone.
A lecture-style node on the way, ``create_graph`` or a hook sends backward() the general way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from micrograd._floats import FloatMath
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
    """The interior nodes ``root`` depends on, children before parents, each with ``.grad``
    set to a zero made for this call (returned too); None at a lecture-style node.

    The zero is the walk's mark: a node whose grad *is* it (not equals it) has been emitted, so
    no set of seen nodes is needed, and the chain rule then adds into that zero. A fresh object
    per call, so a mark left by another walk (one that raised, another thread's) is never taken
    for this one's. Leaves are never marked: their ``.grad`` accumulates across calls. A node whose
    children wait is popped twice: to push them, then (its grad *is* ``pending``) to emit it.
    The order is the one ``walk`` gives, so gradients are summed in the same order.
    """
    done, pending = float(0), float(0)  # float(): two new objects, never a shared constant
    order: list[Value] = []
    stack: list[Any] = [root]
    push, pop, emit = stack.append, stack.pop, order.append
    try:
        while stack:
            node = pop()
            grad = node.grad
            if grad is pending:  # its children are all emitted
                node.grad = done
                emit(node)
                continue
            if grad is done:  # pushed by two parents: emitted since
                continue
            a, b = node._a, node._b
            a_waits = a._a is not None and a.grad is not done
            b_waits = b is not None and b._a is not None and b.grad is not done
            if a_waits or b_waits:
                node.grad = pending
                push(node)
                if b_waits:  # pushed first, so that a's side is emitted first, as walk does
                    push(b)
                if a_waits:
                    push(a)
            else:  # its children are leaves or emitted: no second visit
                node.grad = done
                emit(node)
    except AttributeError:  # b._a of a lecture-style node's _Closure
        return None  # (the marks are zeros, as the general path leaves interior grads)
    return order, done


# A copy of the rules the last backward() used, and their backwards by name: rebuilt only when a
# rule has been registered, replaced or taken out since (comparing two dicts costs far less).
_cache: tuple[dict[str, Rule], dict[str, Any]] = ({}, {})


def _backwards_of(rules: Mapping[str, Rule]) -> dict[str, Any]:
    global _cache
    snapshot, backwards = _cache
    if snapshot != rules:
        snapshot = dict(rules)
        backwards = {name: rule.backward for name, rule in snapshot.items()}
        _cache = (snapshot, backwards)  # one assignment: another thread sees old or new
    return backwards


def chain_rule(order: list[Value], rules: Mapping[str, Rule]) -> None:
    """Each interior node of ``order`` (children first), last to first: its rule's backward on
    floats, added into its children's grads. An op taken out of ``rules`` is a ValueError."""
    backwards = _backwards_of(rules)
    m = FloatMath
    node: Any = None
    a: Any
    try:
        for node in reversed(order):
            a, b = node._a, node._b
            if b is None:  # one Value operand; y is the op's constant
                a.grad += backwards[node._op](a.data, node._arg, node.data, node.grad, m)[0]
            else:
                ga, gb = backwards[node._op](a.data, b.data, node.data, node.grad, m)
                a.grad += ga
                b.grad += gb
    except KeyError:
        if node is not None and node._op not in backwards:
            raise ValueError(f"op {node._op!r} has no rule in RULES") from None
        raise


def backprop(root: Value, seed: float, rules: Mapping[str, Rule]) -> bool:
    """backward() from ``root`` on plain numbers; False, having changed no gradient but to zero
    some interior ones, when the graph holds a lecture-style node (the general path's work)."""
    if root._a is None:
        root.grad = root.grad + seed
        return True
    walked = interior_order(root)
    if walked is None:
        return False
    root.grad = seed
    chain_rule(walked[0], rules)
    return True
