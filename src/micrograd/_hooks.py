"""``Value.register_hook``: functions called with a node's complete gradient in backward().

A hooked node's ``_op`` is a ``Tag``, its op's name (a str) holding its hooks: freed with the node.
While a hook is registered (or anomaly mode is on) backward() walks through ``backprop`` here.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from micrograd import _check as check
from micrograd import _floats as fl

if TYPE_CHECKING:
    from micrograd.engine import Value

Hook = Callable[[Any], Any]

lock = threading.RLock()  # guards the count below and the swap of methods in _anomaly
_registered = 0  # hooks registered on live nodes and not removed
anomaly_on = False  # set by _anomaly while a detect_anomaly() block is open


class Tag(str):
    """A node's op name that also holds its hooks and, in anomaly mode, where it was made.

    Every reader of ``_op`` sees the same name; a node without a Tag pays nothing. The node owns
    its hooks, so they go with it (reference counting), and backward() looks for them only while
    one is registered somewhere: ``engine._watch`` is then ``backprop``, checked once per call.
    """

    hooks: list[tuple[Hook]]  # one 1-tuple per registration: removing one leaves the others
    site: tuple[str, int] | None  # (file, line) of the user code that made the node

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # A copied or pickled node (copy.deepcopy of a model) gets the plain name: its hooks are
        # the original's, counted once (and a function may not pickle).
        return str, (str(self),)

    def __del__(self) -> None:  # the node is gone, and its hooks with it
        if self.hooks:
            n = len(self.hooks)
            self.hooks.clear()  # a handle's remove() then finds nothing to count again
            _count(-n)


def tag_of(node: Value) -> Tag:
    """``node``'s Tag, which replaces its plain ``_op`` the first time it is asked for."""
    op = node._op
    if type(op) is Tag:
        return op
    tag = Tag(op)
    tag.hooks, tag.site = [], None
    node._op = tag
    return tag


def hooks_of(node: Value) -> list[tuple[Hook]]:
    """The hooks registered on ``node`` (an empty list when none)."""
    op = node._op
    return op.hooks if type(op) is Tag else []


def refresh() -> None:
    """Point backward() at ``backprop`` while a hook is registered or anomaly mode is on."""
    # No import: a Tag's __del__ may call this, also while the interpreter exits and
    # sys.modules is being emptied (then there is no backward() left to point anywhere).
    engine: Any = sys.modules.get("micrograd.engine")
    if engine is None:
        return
    with lock:
        engine._watch = backprop if _registered or anomaly_on else None


def _count(change: int) -> None:
    global _registered
    with lock:
        _registered += change
        refresh()


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook (a second call does
    nothing); as a context manager, the hook is removed when the block ends."""

    __slots__ = ("_entry", "_hooks")

    def __init__(self, hooks: list[tuple[Hook]], entry: tuple[Hook]) -> None:
        self._hooks, self._entry = hooks, entry  # not the node: a handle keeps no graph alive

    def remove(self) -> None:
        """Unregister the hook."""
        with lock:
            for i, entry in enumerate(self._hooks):
                if entry is self._entry:
                    del self._hooks[i]
                    _count(-1)
                    return

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


def register_hook(self: Value, fn: Hook) -> RemovableHandle:
    """Call ``fn(grad)`` with this node's gradient once backward() has added every contribution
    to it; a number (a Value with ``create_graph``) that ``fn`` returns replaces the gradient,
    None keeps it. As torch's ``Tensor.register_hook``.

    At an interior node the replacement is what flows on to its children; at a leaf ``fn`` sees
    this backward's gradient and its result is what accumulates into ``.grad``. Hooks run in the
    order registered, each given the one before's result; ``engine.grad`` runs them too. The
    handle's ``remove()`` unregisters ``fn``. ``micrograd.fast`` programs refuse hooked Values.

    >>> from micrograd import Value
    >>> x = Value(3.0)
    >>> y = x * x
    >>> handle = y.register_hook(lambda g: g * 10)
    >>> y.backward()
    >>> x.grad  # dy/dx = 2x = 6, times the hook's 10
    60.0
    >>> handle.remove()
    """
    check.function("fn", fn, "a function of the gradient", arity=1)
    entry = (fn,)
    with lock:
        hooks = tag_of(self).hooks
        hooks.append(entry)
        _count(1)
    return RemovableHandle(hooks, entry)


def _replacement(fn: Hook, result: object, differentiable: bool) -> Any:
    from micrograd.engine import Value

    if differentiable and isinstance(result, Value):
        return result
    number = None if isinstance(result, bool) else fl.number(result, "a hook's result")
    if number is None:
        wanted = "a Value or a number" if differentiable else "a number"
        raise TypeError(
            f"the hook {getattr(fn, '__qualname__', fn)!r} returned {check.describe(result)}: "
            f"a hook returns None (to keep the gradient) or the new gradient, {wanted}"
        )
    return number


def _run_hooks(node: Value, hooks: list[tuple[Hook]], differentiable: bool) -> None:
    from micrograd import _anomaly

    for (fn,) in tuple(hooks):  # a hook may remove itself
        grad = node.grad
        result = fn(grad)
        if result is not None:
            node.grad = _replacement(fn, result, differentiable)
            if anomaly_on:
                _anomaly.check_hook(node, fn, grad)


def backprop(order: list[Value], seed: Any, m: Any) -> None:
    """backward()'s chain rule when a hook is registered or anomaly mode is on: ``order`` from
    the root (not yet seeded) down; hooks run where a node's gradient is complete, and in
    anomaly mode each node's step is checked."""
    from micrograd import _anomaly, engine

    chain_rule, step = engine._chain_rule, _anomaly.step
    checking, differentiable = anomaly_on, m is not engine._FloatMath
    root = order[0]
    # A leaf's .grad accumulates across calls: its hooks see (and replace) this call's part.
    saved = {node: node.grad for node in order if node._a is None and hooks_of(node)}
    for node in saved:
        node.grad = 0.0
    try:
        root.grad = root.grad + seed if root._a is None else seed
        if checking:
            _anomaly.check_seed(root, seed)
        start = 0  # order[start:i] waits for the engine's chain rule, in one call
        for i, node in enumerate(order):
            hooks = hooks_of(node)
            if hooks or checking:
                chain_rule(order[start:i], m)
                start = i
                if hooks:  # every parent has added its part: the gradient is complete
                    _run_hooks(node, hooks, differentiable)
                if node in saved:
                    node.grad = saved.pop(node) + node.grad
                if checking and node._a is not None:
                    step(node, m)
                    start = i + 1
        chain_rule(order[start:], m)
    finally:
        for node, before in saved.items():  # (a hook or a rule raised)
            node.grad = before + node.grad


def refuse_compiled(params: Sequence[Value]) -> None:
    """RuntimeError when a compiled program (``micrograd.fast``) would skip a check: it replays
    the graph on arrays, so it runs no hook and checks no op for detect_anomaly(). Free (one
    look) when no hook is registered and anomaly mode is off."""
    if not (_registered or anomaly_on):
        return
    if anomaly_on:
        raise RuntimeError(
            "detect_anomaly() is on, and a compiled program (micrograd.fast) replays its graph on "
            "arrays, unchecked: run the Value engine inside detect_anomaly() (the model's loss, "
            "then loss.backward()), or call the program outside the block"
        )
    for k, p in enumerate(params):
        if hooks_of(p):
            raise RuntimeError(
                f"parameter {k} has a hook (register_hook), which a compiled program "
                "(micrograd.fast) would not run: remove it (handle.remove()) or use the Value "
                "engine"
            )
