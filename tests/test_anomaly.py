"""detect_anomaly(): the first nan or inf an op makes, forward or backward, raises AnomalyError
naming the op, its operands and the user's line; off, the engine is exactly as before."""

from __future__ import annotations

import gc
import itertools
import linecache
import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

import micrograd
from micrograd import engine, fast
from micrograd.engine import AnomalyError, Value, detect_anomaly, grad, no_grad, register_op
from optable import EDGE, OPS

INF, NAN = math.inf, math.nan


def at(fn: Callable[..., Any]) -> str:
    """``file:line (`source`)`` of the line where ``fn`` (a lambda of this file) is written."""
    line = fn.__code__.co_firstlineno
    return f"{__file__}:{line} (`{linecache.getline(__file__, line).strip()}`)"


def raised(fn: Callable[[], Any]) -> str:
    """The message of the AnomalyError that ``fn`` raises inside detect_anomaly()."""
    with pytest.raises(AnomalyError) as caught, detect_anomaly():
        fn()
    return str(caught.value)


# --- forward: the op, its operands, the line ---

FORWARD = [
    (lambda: Value(0.0).log(), "op 'log' gave -inf from x = 0.0"),
    (lambda: Value(-1.0).sqrt(), "op 'sqrt' gave nan from x = -1.0"),
    (lambda: Value(1000.0).exp(), "op 'exp' gave inf from x = 1000.0"),
    (lambda: Value(1.0) / Value(0.0), "op '/' gave inf from x = 1.0, y = 0.0"),
    (lambda: Value(-1.0) / 0, "op '/' gave -inf from x = -1.0, y = 0.0"),
    (lambda: Value(0.0) ** -1, "op '**' gave inf from x = 0.0, exponent = -1.0"),
    (lambda: 2 / Value(0.0), "op '**' gave inf from x = 0.0, exponent = -1.0"),
    (lambda: Value(-1.0) ** Value(0.5), "op 'pow' gave nan from x = -1.0, y = 0.5"),
    (lambda: Value(1e308) * 10, "op '*' gave inf from x = 1e+308, y = 10.0"),
    (lambda: Value(1e308) + Value(1e308), "op '+' gave inf from x = 1e+308, y = 1e+308"),
    (lambda: -Value(INF), "op '*' gave -inf from x = inf, y = -1.0"),
    (lambda: Value(INF).sin(), "op 'sin' gave nan from x = inf"),
    (
        lambda: Value(-1e308).leaky_relu(10),
        "op 'leaky_relu' gave -inf from x = -1e+308, slope = 10.0",
    ),
    (lambda: Value(NAN).maximum(1.0), "op 'maximum' gave nan from x = nan, y = 1.0"),
]


@pytest.mark.parametrize(("fn", "expected"), FORWARD, ids=[e for _, e in FORWARD])
def test_a_forward_op_that_makes_nan_or_inf_names_op_operands_and_line(
    fn: Callable[[], Any], expected: str
) -> None:
    """Each op whose result is nan or ±inf raises, naming the op, its operands and the line."""
    assert f"{expected}, at {at(fn)}" == raised(fn)


def test_under_no_grad_a_forward_op_is_checked_too() -> None:
    """An op under no_grad() (its result keeps no op name) is named by its method."""
    fn = lambda: Value(0.0).log()  # noqa: E731

    def run() -> None:
        with no_grad():
            fn()

    assert f"op 'log' gave -inf from x = 0.0, at {at(fn)}" == raised(run)


def test_a_registered_op_and_a_hand_built_node_are_checked() -> None:
    """An op added with register_op and a lecture-style Value(data, children, op) are ops too."""
    cube = register_op("h14_cube", lambda x: x * x * x, lambda x, y, o, g, m: (3 * g * x * x,), "")
    try:
        fn = lambda: cube(Value(1e200))  # noqa: E731
        x = Value(1.0)
        by_hand = lambda: Value(NAN, (x,), "mine")  # noqa: E731
        expected = (
            f"op 'h14_cube' gave inf from x = 1e+200, at {at(fn)}",
            f"op 'mine' (a Value made by hand) gave nan from its children 1.0, at {at(by_hand)}",
        )
        assert expected == (raised(fn), raised(by_hand))
    finally:
        del engine.RULES["h14_cube"]


def test_a_leaf_holding_nan_is_no_anomaly_until_an_op_uses_it() -> None:
    """Value(nan) is the user's number, not an op's: no error until an op takes it."""
    with detect_anomaly():
        x = Value(NAN)
    fn = lambda: x + 1.0  # noqa: E731
    assert (math.isnan(x.data), f"op '+' gave nan from x = nan, y = 1.0, at {at(fn)}") == (
        True,
        raised(fn),
    )


# --- backward ---


def test_a_backward_step_that_makes_inf_names_op_operands_and_the_line_that_made_the_node() -> None:
    """sqrt at 0 is finite, its derivative inf: backward names sqrt, x = 0 and where y was made."""
    x = Value(0.0)
    make = lambda: x.sqrt()  # noqa: E731

    def run() -> None:
        y = make()
        y.backward()

    expected = (
        "the backward of op 'sqrt' gave inf in the gradient of its operand 1 (x = 0.0; output 0.0 "
        f"with gradient 1.0), the node made at {at(make)}"
    )
    assert expected == raised(run)


def test_a_backward_nan_from_zero_times_inf() -> None:
    """(sqrt(x) * 0) at 0: sqrt's backward is 0 / 0 = nan, the first nan, named as such."""
    x = Value(0.0)
    make = lambda: x**0.5  # noqa: E731

    def run() -> None:
        (make() * 0.0).backward()

    expected = (
        "the backward of op '**' gave nan in the gradient of its operand 1 (x = 0.0, exponent = "
        f"0.5; output 0.0 with gradient 0.0), the node made at {at(make)}"
    )
    assert expected == raised(run)


def test_a_node_made_outside_the_block_has_no_recorded_line() -> None:
    """A graph built before detect_anomaly() is checked in backward, without a line."""
    y = Value(0.0).sqrt()
    expected = (
        "the backward of op 'sqrt' gave inf in the gradient of its operand 1 (x = 0.0; output 0.0 "
        "with gradient 1.0), the node made at a line not recorded (the node was made outside "
        "detect_anomaly())"
    )
    assert expected == raised(y.backward)


def test_a_lecture_closure_that_makes_inf_is_named() -> None:
    """A lecture-style node's _backward closure is checked like a rule, its children listed."""
    x = Value(1.0)
    made = lambda: Value(x.data, (x,), "mine")  # noqa: E731

    def run() -> None:
        out = made()

        def backward() -> None:
            x.grad += INF

        out._backward = backward
        out.backward()

    expected = (
        "the backward of op 'mine' gave inf in the gradient of its operand 1 (children 1.0; "
        f"output 1.0 with gradient 1.0), the node made at {at(made)}"
    )
    assert expected == raised(run)


def test_a_nan_seed_and_a_hook_that_returns_inf_are_anomalies() -> None:
    """backward(grad=nan) and a hook turning a finite gradient into inf both raise."""
    x = Value(2.0)
    made = lambda: x * 3.0  # noqa: E731

    def seeded() -> None:
        made().backward(NAN)

    def hooked() -> None:
        y = made()
        y.register_hook(lambda g: g * INF)
        y.backward()

    expected = (
        f"backward() was given grad = nan for the output of op '*' made at {at(made)}",
        f"the hook '{hooked.__qualname__}.<locals>.<lambda>' turned the gradient 1.0 into inf at "
        f"op '*' made at {at(made)}",
    )
    assert expected == (raised(seeded), raised(hooked))
    gc.collect()  # (the caught exception's traceback held the node in a cycle)
    assert engine._watch is None  # the hook died with its node


def test_create_graph_names_the_op_of_the_gradient_graph_and_the_node_differentiated() -> None:
    """With create_graph the gradient is built from ops: the one that makes inf is named, with
    the node whose gradient backward() was computing."""
    x = Value(0.0)
    made = lambda: x.sqrt()  # noqa: E731
    back = lambda y: y.backward(create_graph=True)  # noqa: E731

    def run() -> None:
        back(made())

    expected = (
        f"op '/' gave inf from x = 1.0, y = 0.0, at {at(back)}; in backward(), at the gradient of "
        f"op 'sqrt' made at {at(made)}"
    )
    assert expected == raised(run)


# --- every op at every edge value: an error exactly when plain mode makes a nan or inf ---


def plain_run(op: Any, inputs: tuple[float, ...]) -> tuple[list[float], list[float], bool]:
    """Values and gradients of ``op`` at ``inputs`` without anomaly mode, and whether any
    number an op or backward made is nan or inf."""
    leaves = [Value(v) for v in inputs]
    out = op.value(*leaves)
    out.backward()
    nodes = engine.topological_order(out)
    made = [n.data for n in nodes if n._prev] + [float(n.grad) for n in nodes]
    return made, [leaf.grad for leaf in leaves], not all(map(math.isfinite, made))


CASES = [
    pytest.param(name, inputs, id=f"{name}{inputs}")
    for name, op in OPS.items()
    for inputs in itertools.product(EDGE[:: 2 if op.arity == 2 else 1], repeat=op.arity)
]


@pytest.mark.parametrize(("name", "inputs"), CASES)
def test_every_op_raises_exactly_when_a_nan_or_inf_is_made_and_else_changes_nothing(
    name: str, inputs: tuple[float, ...]
) -> None:
    """Under detect_anomaly() each op of the table at edge values raises AnomalyError when
    plain mode makes a nan or inf (in a value or a gradient), and otherwise gives the same
    values and gradients, to the bit."""
    op = OPS[name]
    made, grads, bad = plain_run(op, inputs)
    try:
        with detect_anomaly():
            anomaly_made, anomaly_grads, _ = plain_run(op, inputs)
        outcome: Any = (repr(anomaly_made), repr(anomaly_grads))
    except AnomalyError as error:
        outcome = str(error).startswith(("op '", "the backward of op '"))
    expected = True if bad else (repr(made), repr(grads))
    assert expected == outcome


def test_grad_and_create_graph_give_the_same_numbers_under_anomaly_mode() -> None:
    """engine.grad with create_graph, then again: equal results in and out of anomaly mode."""

    def second_derivatives() -> list[float]:
        x, w = Value(0.3), Value(-1.2)
        dx, dw = grad(((x * w).tanh() * x).exp(), [x, w], create_graph=True)
        assert isinstance(dx, Value) and isinstance(dw, Value)
        return [float(g) for g in grad(dx * dw, [x, w])]

    expected = second_derivatives()
    with detect_anomaly():
        actual = second_derivatives()
    assert expected == actual


# --- the mode itself: off by default, free when off, nested, process-wide ---


def op_methods() -> dict[str, Any]:
    """Value's attributes and engine's globals: what anomaly mode swaps, and must restore."""
    return {
        **{f"Value.{k}": v for k, v in vars(Value).items()},
        **{f"engine.{k}": v for k, v in vars(engine).items() if k.startswith("_")},
        **{f"registered.{k}": v for k, v in engine._REGISTERED.items()},
    }


def test_off_the_engine_runs_its_own_methods_and_backward_never_looks_further() -> None:
    """Outside any block every op method is the engine's own object and backward() has no
    watcher; inside, the op methods are others, and the watcher is set."""
    before = op_methods()
    with detect_anomaly():
        inside = op_methods()
        watching = engine._watch is not None
    swapped = sorted(k for k in before if inside[k] is not before[k])
    assert (watching, engine._watch, op_methods() == before) == (True, None, True)
    assert {"Value.__add__", "Value.__init__", "Value.exp", "engine._maximum"} <= set(swapped)


def test_blocks_nest_and_the_mode_ends_with_the_outermost() -> None:
    """An inner block's end leaves the outer one checking; the outer's end turns checks off."""
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(AnomalyError):
            Value(0.0).log()
    assert Value(0.0).log().data == -INF


def test_an_error_inside_the_block_restores_the_plain_engine() -> None:
    """Leaving the block by an exception restores every method."""
    before = op_methods()
    with pytest.raises(KeyError), detect_anomaly():
        raise KeyError("x")
    assert before == op_methods()


def test_the_mode_is_process_wide_as_torch() -> None:
    """While one thread is in a block, ops in another thread are checked too (torch's anomaly
    flag is global as well)."""
    opened, done = threading.Event(), threading.Event()
    errors: list[str] = []

    def other() -> None:
        opened.wait(10)
        try:
            Value(0.0).log()
        except AnomalyError as error:
            errors.append(str(error).split(",")[0])
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with detect_anomaly():
        opened.set()
        done.wait(10)
    thread.join()
    expected = ["op 'log' gave -inf from x = 0.0"]
    assert expected == errors


def test_exported_from_micrograd_and_a_floating_point_error() -> None:
    """micrograd.detect_anomaly is the engine's; AnomalyError is a FloatingPointError."""
    expected = (True, True, True)
    assert expected == (
        micrograd.detect_anomaly is detect_anomaly,
        micrograd.AnomalyError is AnomalyError,
        issubclass(AnomalyError, FloatingPointError),
    )


def test_graphs_made_in_anomaly_mode_are_freed_by_reference_counting() -> None:
    """Nodes made in a block carry where they were made, and still no reference cycle."""
    params = [Value(0.1 * i) for i in range(50)]

    def step() -> None:
        loss = sum(((p * p).tanh() * p).exp() for p in params) + 1.0
        loss.backward()
        for p in params:
            p.grad = 0.0

    gc.collect()
    gc.disable()
    try:
        with detect_anomaly():
            for _ in range(3):
                step()
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0


# --- the compiled path refuses: it replays arrays, and would check nothing ---


def test_fast_refuses_to_trace_or_run_in_anomaly_mode() -> None:
    """trace() and a traced program's call inside detect_anomaly() are RuntimeErrors naming
    it; outside, the same program runs."""
    w = Value(2.0)
    program = fast.trace(lambda x: (w * x).tanh(), [w], 0.5)
    with detect_anomaly():
        with pytest.raises(RuntimeError, match=r"detect_anomaly\(\) is on") as tracing:
            fast.trace(lambda x: (w * x).tanh(), [w], 0.5)
        with pytest.raises(RuntimeError, match=r"detect_anomaly\(\) is on") as running:
            program(0.5)
    assert (type(tracing.value), type(running.value), program(0.5)) == (
        RuntimeError,
        RuntimeError,
        math.tanh(1.0),
    )


def test_an_op_registered_inside_the_block_is_checked_and_plain_after() -> None:
    """register_op inside detect_anomaly(): the op is checked there; after the block it is the
    plain method of the op as registered last (a name registered again keeps its new forward)."""
    try:
        with detect_anomaly():
            inv = register_op("h14_inv", lambda x: 1.0 / x if x else INF, lambda *a: (0.0,), "")
            with pytest.raises(AnomalyError, match=r"op 'h14_inv' gave inf from x = 0\.0"):
                inv(Value(0.0))
            inv = register_op("h14_inv", lambda x: 2.0 / x if x else INF, lambda *a: (0.0,), "")
        after = inv(Value(0.0)).data, inv(Value(4.0)).data
        plain = engine._REGISTERED["h14_inv"]
        assert (after, type(engine._REGISTERED), hasattr(plain, "__wrapped__")) == (
            (INF, 0.5),
            dict,
            False,
        )
    finally:
        del engine.RULES["h14_inv"]
        del engine._REGISTERED["h14_inv"]


def test_fit_with_engine_auto_trains_on_the_checked_value_engine_in_anomaly_mode() -> None:
    """fit(engine='auto') inside detect_anomaly() falls back to the Value engine (the compiled
    program refuses the mode), with the Value engine's losses."""
    import random

    def losses(anomaly: bool) -> list[float]:
        random.seed(0)
        model = micrograd.MLP(2, [4, 1])
        data = ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 0, 0, 1])
        if not anomaly:
            return micrograd.fit(model, *data, steps=3, engine="value").losses
        with detect_anomaly():
            return micrograd.fit(model, *data, steps=3, engine="auto").losses

    assert losses(False) == losses(True)
