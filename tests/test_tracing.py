"""The traced classes' op methods: the engine's own ops, which read no number while a graph is
recorded, and read their operands (guarded) where the Value engine's result leaves the graph."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import pytest

from micrograd import _tracing, fast
from micrograd.engine import Value, no_grad

# Each op method of Value that a traced node runs directly, with an operand it takes (None: a
# unary op). Positive numbers: every op is defined there.
OPERANDS: dict[str, float | None] = {
    "__add__": 0.5, "__radd__": 0.5, "__sub__": 0.5, "__mul__": 1.5, "__rmul__": 1.5,
    "__truediv__": 1.5, "__pow__": 2.0, "exp": None, "log": None, "tanh": None,
    "sigmoid": None, "softplus": None, "relu": None, "sqrt": None, "sin": None, "cos": None,
    "__abs__": None, "maximum": 0.5, "leaky_relu": 0.25,
}  # fmt: skip


def apply(node: Value, name: str) -> Value:
    """Op ``name`` of ``node`` (with its operand from OPERANDS)."""
    operand = OPERANDS[name]
    method: Any = getattr(node, name)
    out: Value = method() if operand is None else method(operand)
    return out


def run(program: fast.Program, w: Value, x: float) -> tuple[float, float]:
    """The program's loss and w's gradient at input x (a retrace's warning hidden)."""
    w.grad = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        loss = program(x)
    result = loss, float(w.grad)
    w.grad = 0.0
    return result


def engine(fn: Any, w: Value, x: float) -> tuple[float, float]:
    """The Value engine's loss and w's gradient at input x."""
    w.grad = 0.0
    loss = fn(Value(x))
    loss.backward()
    result = loss.data, float(w.grad)
    w.grad = 0.0
    return result


def test_the_table_lists_every_op_a_traced_node_runs_directly() -> None:
    """OPERANDS covers each op method the traced classes take from the engine."""
    assert sorted(OPERANDS) == sorted(_tracing._direct_ops(Value))


@pytest.mark.parametrize("name", sorted(OPERANDS))
def test_an_op_of_a_traced_node_reads_no_number(name: str) -> None:
    """While a graph is recorded, an op on a node made in the trace, on an input and on a
    parameter computes its number with no guard."""
    w = Value(0.8)
    program = fast.trace(lambda x: apply(apply(x, name) * w, name) + apply(w, name), [w], 0.7)
    assert program.guards == []


@pytest.mark.parametrize("operand", ["input", "parameter", "node"])
@pytest.mark.parametrize("name", sorted(OPERANDS))
def test_an_op_under_no_grad_is_guarded(name: str, operand: str) -> None:
    """Under no_grad() inside the function an op's number leaves the graph: it is guarded, where
    the op ran, and a program called at other numbers retraces and gives the engine's answer."""
    w = Value(0.8)

    def fn(x: Value) -> Value:
        v = {"input": x, "parameter": w, "node": x * 1.25}[operand]
        with no_grad():
            frozen = apply(v, name)
        return w * x * frozen

    program = fast.trace(fn, [w], 0.7)
    applied = "out: Value = method() if operand is None else method(operand)`)"  # (in apply)
    assert [g.split(" (`")[1] for g in program.guards] == [applied]
    w.data = 0.6  # the operand moves with w or x
    assert (run(program, w, 0.9), program.traces) == (engine(fn, w, 0.9), 2)


class Scaled(Value):
    """A Value subclass with a method of its own that reads its number, and its own product."""

    __slots__ = ()

    def halved(self) -> float:
        """Half the number (user code reading .data)."""
        return self.data / 2

    def __mul__(self, other: Any) -> Value:  # the user's own op: it reads the number
        return Value(self.data) * other


def test_a_read_in_a_method_of_a_value_subclass_is_guarded() -> None:
    """A parameter of a Value subclass keeps the subclass's own methods while traced: their
    reads of ``.data`` are guards (the engine's inherited ops read none)."""
    w = Scaled(1.5)

    def fn(x: Value) -> Value:
        return (w + x) * w.halved()

    program = fast.trace(fn, [w], 2.0)
    assert [g.split(" (`")[1] for g in program.guards] == ["return self.data / 2`)"]
    w.data = 3.0
    assert (run(program, w, 2.0), program.traces) == (engine(fn, w, 2.0), 2)


def test_a_subclass_s_own_op_is_not_replaced() -> None:
    """A parameter whose class defines ``__mul__`` runs that method while traced: its read of
    the number is a guard, and the gradient stops where the user's op made a new leaf."""
    w = Scaled(2.0)

    def fn(x: Value) -> Value:
        return w * x + w

    program = fast.trace(fn, [w], 3.0)
    assert [g.split(" (`")[1] for g in program.guards] == ["return Value(self.data) * other`)"]
    assert run(program, w, 3.0) == engine(fn, w, 3.0) == (8.0, 1.0)


def test_traced_nodes_are_values_again_after_the_trace() -> None:
    """A node the function keeps is an ordinary Value after the trace, with the engine's ops."""
    kept: list[Value] = []
    w = Value(2.0)

    def fn(x: Value) -> Value:
        y = w * x
        kept.append(y)
        return y.tanh()

    fast.trace(fn, [w], 0.5)
    (y,) = kept
    assert (type(y), type(y * 2.0), type(w), (y * 2.0).data) == (Value, Value, Value, 2.0)


def kept_from_the_first_trace(w: Value) -> Any:
    """A function that keeps a node made in its first trace, which that loss does not use, and
    uses it in every later call (a cache)."""
    cache: list[Value] = []

    def fn(x: Value) -> Value:
        if not cache:
            cache.append(w * 2.0)
            return w * x
        return cache[0] * x + w

    return fn, cache


def test_a_node_kept_from_an_earlier_trace_is_checked_as_made_before_this_one() -> None:
    """A node made in one trace and used in the next holds the number made then: once its
    operand moved, the next trace refuses it (the engine keeps 4.0; a program would compute
    10.0)."""
    w = Value(2.0)
    fn, cache = kept_from_the_first_trace(w)
    fast.trace(fn, [w], 3.0)
    w.data = 5.0
    with pytest.raises(fast.TraceError, match=r"holds 4\.0, but '\*' of its operands is now 10\.0"):
        fast.trace(fn, [w], 3.0)
    assert (type(cache[0]), fn(Value(3.0)).data) == (Value, 17.0)


def test_a_node_kept_from_an_earlier_trace_is_guarded_while_it_holds() -> None:
    """While its operand has not moved, a node kept from an earlier trace is compiled from it
    and guarded: the program gives the engine's answer, and the node is a Value again."""
    w = Value(2.0)
    fn, cache = kept_from_the_first_trace(w)
    fast.trace(fn, [w], 3.0)
    program = fast.trace(fn, [w], 3.0)
    assert program.guards == ["the number of a Value made by hand or before the trace (op '*')"]
    assert run(program, w, 1.5) == engine(fn, w, 1.5) == (8.0, 4.0)
    assert type(cache[0]) is Value  # in this trace's graph: an ordinary Value again


def test_an_op_method_replaced_on_value_is_what_a_trace_runs(monkeypatch: Any) -> None:
    """A learner's own ``Value.__mul__`` set after import (a lecture-style op, its derivative a
    _backward closure) is what traced nodes and parameters run: the trace refuses it, where
    running the engine's product instead would give other gradients than the engine's."""

    def mul(self: Value, other: Any) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "mul_by_hand")
        out._backward = lambda: None
        return out

    w = Value(2.0)
    fast.trace(lambda x: x * w + w * x, [w], 3.0)  # the traced classes as they were
    monkeypatch.setattr(Value, "__mul__", mul)
    for fn in (lambda x: x * w, lambda x: w * x):
        with pytest.raises(fast.TraceError, match="op 'mul_by_hand'"):
            fast.trace(fn, [w], 3.0)
    monkeypatch.undo()
    assert fast.trace(lambda x: x * w, [w], 3.0).guards == []


class Patched(Value):
    """A Value subclass whose product a test replaces."""

    __slots__ = ()


def test_an_op_method_replaced_on_a_subclass_is_what_its_parameters_run(monkeypatch: Any) -> None:
    """A parameter's class given its own ``__mul__`` after a first trace runs it in the next one:
    its read of the number is a guard."""
    w = Patched(2.0)
    assert fast.trace(lambda x: w * x, [w], 3.0).guards == []
    monkeypatch.setattr(Patched, "__mul__", lambda self, other: Value(self.data) * other)
    program = fast.trace(lambda x: w * x, [w], 3.0)
    assert [g.split(" (`")[1] for g in program.guards] == [
        'monkeypatch.setattr(Patched, "__mul__", lambda self, other: Value(self.data) * other)`)'
    ]


def test_other_threads_go_on_with_the_value_engine_during_a_trace() -> None:
    """While one thread traces, another thread's ops make plain Values, it may set a node's
    .data, and its reads are no guards of the program (they were: 3,429 foreign guards, or a
    TraceError in the other thread)."""
    started, worked = threading.Event(), threading.Event()
    seen: list[Any] = []

    def other() -> None:
        started.wait(10)
        try:
            w = Value(0.3)
            h = w * 3.0
            h.data = 1.0
            loss = (w * 2.0 - 1.0) ** 2
            loss.backward()
            seen.extend([type(h) is Value, h.data, loss.data, w.grad])
        except Exception as e:  # what the other thread met, for the assert
            seen.append(e)
        worked.set()

    w = Value(2.0)

    def fn(x: Value) -> Value:
        started.set()
        worked.wait(10)  # the other thread works while this one traces
        return w * x * x

    thread = threading.Thread(target=other)
    thread.start()
    program = fast.trace(fn, [w], 3.0)
    thread.join()
    assert seen == [True, 1.0, (0.3 * 2.0 - 1.0) ** 2, 2 * (0.3 * 2.0 - 1.0) * 2.0]
    assert (program.guards, program(3.0)) == ([], 18.0)
