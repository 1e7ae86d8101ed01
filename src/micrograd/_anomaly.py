"""``detect_anomaly()``: the first nan or inf an op makes, forward or backward, is an error naming
the op, its operands and the user's line. While a block is open Value's op methods are checking
versions and backward() steps through ``_hooks.backprop``; closed, the engine pays nothing.
"""

from __future__ import annotations

import linecache
import math
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from micrograd import _hooks
from micrograd._modes import Mode

if TYPE_CHECKING:
    from micrograd.engine import Value

__all__ = ["AnomalyError", "detect_anomaly"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(FloatingPointError):
    """``detect_anomaly()`` found a nan or an inf: the message names the op, its operands and the
    line that made the node.

    A FloatingPointError (an ArithmeticError), as NumPy raises under ``errstate(all='raise')``:
    an op's arithmetic went out of the reals, whatever its operands were (``sqrt(0)`` is fine, its
    derivative is inf), so it is not a ValueError about an argument.
    """

    __module__ = "micrograd.engine"  # where it is exported


_depth = 0  # open detect_anomaly() blocks, in all threads
_swapped: list[tuple[Any, str, Any]] = []  # (owner, name, plain method) while on
_during = threading.local()  # .node: the node whose gradient backward() is computing


class detect_anomaly(Mode):  # noqa: N801  (torch's name)
    """Within this block the first nan or inf made raises AnomalyError, naming the op, its
    operands and the user's line that made the node, as ``torch.autograd.detect_anomaly``.

    Forward: any op (and a lecture-style ``Value(data, children, op)``) whose result is nan or
    ±inf. Backward: any step that makes a gradient nan (inf, from finite), a hook's result, or a
    non-finite seed; the line is known for nodes made inside a block. Like torch's, the mode is
    process-wide: it is on while any block is open, in any thread; blocks nest, and one object
    serves nested blocks, later blocks and ``@detect_anomaly()`` on a function. Slow (it
    notes each node's line): a debugging tool. ``micrograd.fast`` programs refuse to run in it.

    >>> from micrograd import Value
    >>> x = Value(0.0)
    >>> with detect_anomaly():  # doctest: +ELLIPSIS
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    micrograd.engine.AnomalyError: op 'log' gave -inf from x = 0.0, at <doctest ...>:2
    """

    def _enter(self) -> None:
        global _depth
        with _hooks.lock:
            _depth += 1
            if _depth == 1:
                _install()

    def _exit(self, saved: None) -> None:
        global _depth
        with _hooks.lock:
            _depth -= 1
            if _depth == 0:
                _uninstall()


def _install() -> None:
    from micrograd import engine

    Value = engine.Value
    # Every op method is one of two code objects (engine._binary's and _unary's).
    codes = {engine._maximum.__code__, Value.exp.__code__}
    for owner in (Value, engine):
        for name, fn in list(vars(owner).items()):
            if getattr(fn, "__code__", None) in codes:
                _swap(owner, name, _checked(fn, name))
    checking = _Registered()
    checking.update(engine._REGISTERED)
    engine._REGISTERED = checking
    _swap(Value, "__init__", _checked_init(Value.__init__))
    _hooks.anomaly_on = True
    _hooks.refresh()


def _swap(owner: Any, name: str, fn: Any) -> None:
    _swapped.append((owner, name, vars(owner)[name]))
    setattr(owner, name, fn)


class _Registered(dict[str, Any]):
    """``engine._REGISTERED`` while on: register_op's methods, each checked (one registered in
    the block too)."""

    def __setitem__(self, name: str, method: Any) -> None:
        super().__setitem__(name, _checked(method, name))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, method in dict(*args, **kwargs).items():
            self[name] = method


def _uninstall() -> None:
    from micrograd import engine

    while _swapped:
        owner, name, fn = _swapped.pop()
        setattr(owner, name, fn)
    plain = {k: m.__wrapped__ for k, m in engine._REGISTERED.items()}  # type: ignore[attr-defined]
    engine._REGISTERED = plain
    _hooks.anomaly_on = False
    _hooks.refresh()


def _site() -> tuple[str, int]:
    """(file, line) of the first caller outside micrograd (the innermost one if all are)."""
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno


def _where(site: tuple[str, int] | None) -> str:
    if site is None:
        return "a line not recorded (the node was made outside detect_anomaly())"
    # A pseudo-file (<string>, <stdin>) has no source every Python can show (3.13 keeps -c's):
    # its line number alone, so the message is the same on each.
    source = "" if site[0].startswith("<") else linecache.getline(*site).strip()
    return f"{site[0]}:{site[1]}" + (f" (`{source}`)" if source else "")


def _operands(op: str, x: float, y: float | None) -> str:
    from micrograd.engine import RULES

    rule = RULES.get(op)
    if y is None or (rule is not None and rule.arity == 1 and not rule.constant):
        return f"x = {x!r}"
    return f"x = {x!r}, {rule.constant if rule and rule.constant else 'y'} = {y!r}"


def _context() -> str:
    node = getattr(_during, "node", None)
    if node is None:
        return ""
    return f"; in backward(), at the gradient of op {node._op!r} made at {_where_made(node)}"


def _where_made(node: Value) -> str:
    op = node._op
    return _where(op.site if type(op) is _hooks.Tag else None)


def _checked(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``method`` (an op) raising AnomalyError at a nan or inf, and noting where it made a node."""

    def checked(self: Value, *args: Any) -> Any:
        out = method(self, *args)
        if out is NotImplemented:
            return out
        if not math.isfinite(out.data):
            op = out._op or method.__name__.lstrip("_")  # (under no_grad() a result keeps no op)
            y = args[0] if args else None  # a Value, a number (as the op took it), or none
            y = None if y is None else float(getattr(y, "data", y))
            raise AnomalyError(
                f"op {op!r} gave {out.data!r} from {_operands(op, self.data, y)}, "
                f"at {_where(_site())}{_context()}"
            )
        if out._a is not None:
            _hooks.tag_of(out).site = _site()
        return out

    checked.__name__, checked.__qualname__ = method.__name__, method.__qualname__
    checked.__doc__, checked.__wrapped__ = method.__doc__, method  # type: ignore[attr-defined]
    return checked


def _checked_init(init: Callable[..., None]) -> Callable[..., None]:
    """``Value.__init__`` that checks a node made by hand (lecture style) as an op."""

    def checked(self: Value, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self._a is None:  # a leaf: a number the user gave, made by no op
            return
        if not math.isfinite(self.data):
            numbers = ", ".join(repr(child.data) for child in self._prev)
            raise AnomalyError(
                f"op {self._op!r} (a Value made by hand) gave {self.data!r} from its children "
                f"{numbers}, at {_where(_site())}{_context()}"
            )
        _hooks.tag_of(self).site = _site()

    checked.__wrapped__ = init  # type: ignore[attr-defined]
    return checked


def _made(before: float, after: float) -> bool:
    """Whether a gradient became nan, or became ±inf from a finite number."""
    return (after != after and before == before) or (math.isinf(after) and math.isfinite(before))


def check_seed(root: Value, seed: Any) -> None:
    """backward()'s own gradient (``grad=``) must be finite."""
    if not math.isfinite(float(seed)):
        raise AnomalyError(
            f"backward() was given grad = {float(seed)!r} for the output of op {root._op!r} "
            f"made at {_where_made(root)}"
        )


def check_hook(node: Value, fn: Callable[..., Any], before: Any) -> None:
    """A hook must not make a gradient nan or inf."""
    after = float(node.grad)
    if _made(float(before), after):
        raise AnomalyError(
            f"the hook {getattr(fn, '__qualname__', fn)!r} turned the gradient {float(before)!r} "
            f"into {after!r} at op {node._op!r} made at {_where_made(node)}"
        )


def step(node: Value, m: Any) -> None:
    """backward()'s chain rule at ``node``, checking what it adds to each child's gradient."""
    from micrograd import engine

    children = node._prev
    before = [float(child.grad) for child in children]
    _during.node = node
    try:
        engine._chain_rule((node,), m)
    finally:
        _during.node = None
    for i, (child, was) in enumerate(zip(children, before)):
        now = float(child.grad)
        if _made(was, now):
            rule = engine.rule_of(node)
            if rule is None:  # a lecture-style node: its closure, on all its children
                operands = "children " + ", ".join(repr(c.data) for c in children)
            else:
                y = node._b.data if node._b is not None else node._arg
                operands = _operands(node._op, children[0].data, y)
            raise AnomalyError(
                f"the backward of op {node._op!r} gave {now!r} in the gradient of its operand "
                f"{i + 1} ({operands}; output {node.data!r} with gradient {float(node.grad)!r}), "
                f"the node made at {_where_made(node)}"
            )
