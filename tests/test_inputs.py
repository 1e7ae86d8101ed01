"""Every public entry point checks its input: one table over each name in every module's __all__.

A wrong type gets a TypeError and a wrong value a ValueError whose message names the argument;
NumPy scalars and arrays, tuples and ints work wherever Python numbers, lists and floats do, and
give the same result. A public name with no row (and no reason to have none) fails the test.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import operator
import pkgutil
import random
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

import micrograd
from micrograd import bench, cli, data, engine, expr, fast, losses, nn, optim, plot, train, viz
from micrograd.engine import Value

# The package's gradcheck and explain are functions: these are the modules of the same names.
gradcheck = importlib.import_module("micrograd.gradcheck")
explain = importlib.import_module("micrograd.explain")


def public_modules() -> list[Any]:
    """The package and every module in it whose dotted name has no private part, with __all__."""
    found = [micrograd]
    for info in pkgutil.walk_packages(micrograd.__path__, "micrograd."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            found.append(importlib.import_module(info.name))
    return [module for module in found if hasattr(module, "__all__")]


MODULES = public_modules()
explorer = importlib.import_module("micrograd.explorer")
report = importlib.import_module("micrograd.explorer.report")

T, V = TypeError, ValueError
SCRATCH = Path()  # a temporary folder, set by the fixture below


# --- kinds of argument: the bad inputs each refuses, and NumPy twins of a good input ---


@dataclass(frozen=True)
class Kind:
    """What an argument takes: bad inputs with the error each gets, and (python, twin) pairs
    that must give the same result."""

    bad: tuple[tuple[Any, type[Exception]], ...]
    twins: tuple[tuple[Any, Any], ...] = ()


NAN, INF = math.nan, math.inf
NOT_A_NUMBER = (
    ("0.5", T),
    (b"1", T),
    ([0.5], T),
    (1j, T),
    (np.complex128(1 + 1j), T),
    (True, T),
    (np.bool_(True), T),
    (Value(0.5), T),
)


def count(minimum: int = 1, *, example: int | None = None, optional: bool = False) -> Kind:
    """A whole number at least ``minimum`` (a size, a step count): no bool, no float."""
    n = minimum + 2 if example is None else example
    bad: list[tuple[Any, type[Exception]]] = [
        (2.5, T),
        (np.float64(3.0), T),
        ("3", T),
        (b"3", T),
        ([3], T),
        (3 + 0j, T),
        (True, T),
        (np.bool_(True), T),
        (minimum - 1, V),
        (np.int64(minimum - 1), V),
    ]
    if not optional:
        bad.append((None, T))
    return Kind(tuple(bad), ((n, np.int64(n)), (n, np.int32(n)), (n, np.uint16(n))))


def seed_kind() -> Kind:
    """A random seed: any integer."""
    bad = ((1.5, T), ("0", T), (None, T), (True, T), (np.float64(1.0), T), ([0], T))
    return Kind(bad, ((3, np.int64(3)), (3, np.int32(3)), (-2, np.int64(-2))))


def real(
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
    infinite: bool = False,
    optional: bool = False,
    example: float = 0.5,
    whole: int | None = 1,
) -> Kind:
    """A real number in a range: ints and NumPy scalars work, bools and complex numbers do not."""
    bad = [*NOT_A_NUMBER, (NAN, V), (np.float64(NAN), V), (10**400, V)]
    if not infinite:
        bad += [(INF, V), (-INF, V), (np.float64(INF), V)]
    if low is not None:
        bad += [(low, V)] if open_low else [(low - 1, V), (np.float32(low - 1), V)]
    if high is not None:
        bad += [(high, V)] if open_high else [(high + 1, V), (np.int64(high + 1), V)]
    if not optional:
        bad.append((None, T))
    twins = ((example, np.float64(example)), (example, np.float32(example)))
    if whole is not None:  # an int (Python's or NumPy's) works where a float does
        twins += (
            (float(whole), whole),
            (float(whole), np.int64(whole)),
            (float(whole), np.int32(whole)),
        )
    return Kind(tuple(bad), twins)


def flag() -> Kind:
    """True or False (NumPy's too); never a string such as 'no', nor a number."""
    bad = (("no", T), ("False", T), (None, T), (1, T), (0, T), (0.0, T), ([True], T))
    return Kind(bad, ((True, np.bool_(True)), (False, np.bool_(False))))


def name(options: tuple[str, ...], *, optional: bool = False) -> Kind:
    """One of a few names."""
    bad: list[tuple[Any, type[Exception]]] = [
        ("nope", V),
        (options[0].upper() + "!", V),
        (3, T),
        (b"x", T),
        ([options[0]], T),
    ]
    if not optional:
        bad.append((None, T))
    return Kind(tuple(bad), ((options[0], np.str_(options[0])),))


def func(*, optional: bool = False) -> Kind:
    """Something callable."""
    bad: list[tuple[Any, type[Exception]]] = [(3, T), ("f", T)]
    if not optional:
        bad.append((None, T))
    return Kind(tuple(bad))


def value_function() -> Kind:
    """A function of Values that returns a Value: one that returns a number or None is a
    TypeError naming it (not an AttributeError from ``.backward``)."""
    return Kind((*func().bad, (lambda *args: 3.0, T), (lambda *args: None, T)))


def text(*, optional: bool = False) -> Kind:
    """A string."""
    bad: list[tuple[Any, type[Exception]]] = [(3, T), (b"a", T), (["a"], T)]
    if not optional:
        bad.append((None, T))
    return Kind(tuple(bad))


def path(*, optional: bool = False) -> Kind:
    """A file-system path: a str or os.PathLike."""
    bad: list[tuple[Any, type[Exception]]] = [(3, T), ([], T), (3.5, T)]
    if not optional:
        bad.append((None, T))
    return Kind(tuple(bad))


def file_path(*, optional: bool = False) -> Kind:
    """The path of a file: not empty (pathlib's current folder), not ending in a slash
    (which pathlib drops: 'x.json/' would be x.json)."""
    bad = [("", V), (" ", V), ("x.json/", V), ("sub/", V), ("x.json/.", V), ("a/..", V)]
    return Kind((*path(optional=optional).bad, *bad, ("x\0.json", V)))


def folder_path(*, optional: bool = False) -> Kind:
    """The path of a folder: not empty (pathlib's current folder)."""
    return Kind((*path(optional=optional).bad, ("", V), ("x\0", V)))


def one_value() -> Kind:
    """A single Value."""
    return Kind(((2.0, T), ("x", T), (None, T), ([Value(1.0)], T)))


def many_values(*, nonempty: bool = True) -> Kind:
    """An iterable of Values (a list, a model's parameters())."""
    bad: list[tuple[Any, type[Exception]]] = [
        ("ab", T),
        (5, T),
        (None, T),
        (Value(1.0), T),
        ([Value(1.0), 2.0], T),
        ([2.0], T),
    ]
    if nonempty:
        bad.append(([], V))
    return Kind(tuple(bad))


def numbers(width: int = 2, *, nonempty: bool = True) -> Kind:
    """A vector of ``width`` real numbers: a list, a tuple or a NumPy array."""

    def of(v: Any) -> list[Any]:
        return [v] + [0.5] * (width - 1)

    bad: list[tuple[Any, type[Exception]]] = [
        ("ab"[:width], T),
        (b"ab"[:width], T),
        (None, T),
        ({0: 1.0}, T),
        (of("a"), T),
        (of(None), T),
        (of(1j), T),
        (of(np.complex128(1)), T),
        (of([0.5, 0.5]), T),
        (np.array(["a"] * width), T),
    ]
    if nonempty:
        bad.append(([], V))
    floats = [0.5, -0.25, 0.125][:width]
    ints = [1, -2, 3][:width]
    twins = (
        (floats, tuple(floats)),
        (floats, np.array(floats)),
        (floats, [np.float64(v) for v in floats]),
        (floats, [np.float32(v) for v in floats]),
        (ints, np.array(ints)),
        (ints, [np.int64(v) for v in ints]),
        (ints, np.array(ints, dtype=np.int32)),
    )
    return Kind(tuple(bad), twins)


def table(rows: int = 4) -> Kind:
    """Rows of two real numbers: a list of lists or a 2-D NumPy array."""
    good = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]][:rows]
    bad = (
        ("abcd"[:rows], T),
        (5, T),
        (None, T),
        ([], V),
        ([*good[:-1], [1.0, "a"]], T),
        ([*good[:-1], [1.0, None]], T),
        ([*good[:-1], [1.0, 1j]], T),
        ([*good[:-1], [1.0]], V),
        ([0.5] * rows, T),
        (np.zeros((rows, 2, 1)), V),
        (np.array(good, dtype=complex), T),
    )
    twins = (
        (good, np.array(good)),
        (good, tuple(tuple(r) for r in good)),
        (good, [np.array(r, dtype=np.float32) for r in good]),
        (good, np.array(good, dtype=np.int64)),
    )
    return Kind(bad, twins)


def class_labels(good: list[int], classes: int | None = None) -> Kind:
    """Class indices: ints (NumPy's too) >= 0, in a list, tuple or array; no bool or float."""

    def at_end(v: Any) -> list[Any]:
        return [*good[:-1], v]

    bad: list[tuple[Any, type[Exception]]] = [
        ("0" * len(good), T),
        (5, T),
        (None, T),
        (at_end(1.0), T),
        (at_end(True), T),
        (at_end(-1), V),
        (at_end("1"), T),
        (at_end(None), T),
        (at_end(NAN), T),
        (at_end(INF), T),
        (np.array(good, dtype=float), T),
        (np.array(good).reshape(-1, 1), T),
        ([], V),
        (good[:-1] or [0, 0], V),
    ]
    if classes is not None:
        bad.append((at_end(classes), V))
    twins = (
        (good, np.array(good)),
        (good, np.array(good, dtype=np.int32)),
        (good, [np.int64(t) for t in good]),
        (good, tuple(good)),
    )
    return Kind(tuple(bad), twins)


def fewer(kind: Kind, *keep: int) -> Kind:
    """``kind`` with only some (or none) of its twins: for entry points slow to call (they draw
    a PNG); the checks behind them are the same as elsewhere."""
    return Kind(kind.bad, tuple(kind.twins[i] for i in keep))


def digits(minimum: int) -> Kind:
    """How many digits to print."""
    return count(minimum, example=minimum + 3)


# --- results as plain data, to compare a NumPy input's result with the Python one's ---


def plain(x: Any) -> Any:
    """A result as plain data whose repr shows types (np.float64(1.0) is not 1.0)."""
    if isinstance(x, Value):
        order = engine.topological_order(x)
        leaves = [n for n in order if not n._prev]
        return repr([n.data for n in order]) + repr(engine.grad(x, leaves))
    if isinstance(x, nn.Module):
        return repr([p.data for p in x.parameters()]) + json.dumps(x.config()) + repr(x)
    if isinstance(x, optim.Optimizer):
        return json.dumps(x.state_dict()) + repr([p.data for p in x.params])
    if isinstance(x, fast.Program):
        return x.describe() + repr(x.retrace)
    if isinstance(x, np.ndarray):
        return repr(x.dtype) + repr(x.tolist())
    if isinstance(x, Path):
        return x.read_bytes()
    if isinstance(x, (list, tuple)):
        return repr([plain(v) for v in x])
    return repr(x)


def seeded(make: Callable[[], Any]) -> Any:
    """``make()`` after seeding the global random generator (weights are drawn from it)."""
    random.seed(0)
    return make()


FRESH: Any = object()  # a default that stands for "a new one of these for each call"


def mlp(nouts: tuple[int, ...] = (3, 1)) -> nn.MLP:
    """A small seeded net on two inputs."""
    return seeded(lambda: nn.MLP(2, list(nouts)))


def chain() -> Value:
    """A small graph with a labelled leaf: out = tanh(a * b + a)."""
    a, b = Value(0.5, label="a"), Value(-1.5, label="b")
    out = (a * b + a).tanh()
    out.label = "out"
    return out


ROOT = chain()
PAIR = (Value(0.5), Value(-1.5))
X4 = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
Y4 = [0, 0, 0, 1]


# --- the table: one Spec per way of calling an entry point ---


@dataclass(frozen=True)
class Spec:
    """An entry point (``target``), a call with a good default for each argument, and each
    argument's kind. ``words`` maps an argument to a pattern its error must contain, where that
    is not the argument's own name (a Python operator names the operand's type)."""

    target: Any
    call: Callable[..., Any]
    args: dict[str, Kind]
    words: dict[str, str] = field(default_factory=dict)
    label: str = ""  # the name in test ids, where the target's own is not its public one

    @property
    def title(self) -> str:
        """The target's dotted name, for test ids."""
        if self.label:
            return self.label
        if isinstance(self.target, tuple):  # an operator, and whether the Value is on its right
            op, reflected = self.target
            return f"{'reflected ' if reflected else ''}{op.__name__}"
        return str(getattr(self.target, "__qualname__", self.target))


# Settings under which every other one may vary (nesterov=True needs a momentum).
MOMENTUM: dict[Any, dict[str, float]] = {
    optim.SGD: {"momentum": 0.5},
    fast.ArraySGD: {"momentum": 0.5},
    optim.Adam: {},
    optim.AdamW: {},
    fast.ArrayAdam: {},
}


def grads_step(opt: optim.Optimizer) -> optim.Optimizer:
    """Two steps of an optimizer on fixed gradients: its state is the result."""
    for k in range(2):
        for i, p in enumerate(opt.params):
            p.grad = 0.5 * (i + 1) - 0.25 * k
        opt.step()
    return opt


def params2() -> list[Value]:
    """Two fresh parameters."""
    return [Value(1.0), Value(-0.5)]


def run_fit(model: Any = FRESH, **kwargs: Any) -> Any:
    """fit() for three steps on the AND gate; the history and the parameters."""
    model = mlp() if model is FRESH else model
    kwargs.setdefault("steps", 3)
    history = train.fit(model, kwargs.pop("X", X4), kwargs.pop("y", Y4), **kwargs)
    return [history.losses, history.accuracies, history.lrs, model]


def array_step(opt: Any) -> Any:
    """Two in-place updates of an array optimizer on fixed gradients."""
    theta = np.array([1.0, -0.5])
    for k in range(2):
        opt.update(theta, np.array([0.5, 1.0]) - 0.25 * k)
    return theta


def program() -> fast.Program:
    """A traced program of one parameter and one input."""
    w = Value(2.0)
    return fast.trace(lambda x: (w * x).tanh(), [w], 0.5)


def explanation() -> explain.Explanation:
    """The narrated backward pass of ``ROOT``."""
    return explain.explain(ROOT)


class _NoSubprocess:
    """Stands in for ``subprocess`` in ``bench``: a bad input that slips through fails at once
    instead of running a benchmark or pip."""

    TimeoutExpired = TimeoutError

    @staticmethod
    def run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the input was accepted: a benchmark would run")


def quietly(call: Callable[..., Any]) -> Callable[..., Any]:
    """``call`` with bench's subprocesses refused."""

    def run(**kwargs: Any) -> Any:
        with mock.patch.object(bench._measure, "subprocess", _NoSubprocess):
            return call(**kwargs)

    return run


def in_scratch(name: str) -> Path:
    """A file path in the scratch folder."""
    return SCRATCH / name


def sgd_kinds() -> dict[str, Kind]:
    """SGD's settings (Value and array optimizers take the same)."""
    return {
        "lr": real(0.0, whole=1),
        "momentum": real(0.0, whole=0),
        "dampening": real(0.0, 1.0, whole=0),
        "nesterov": flag(),
        "weight_decay": real(0.0, whole=0),
    }


def adam_kinds() -> dict[str, Kind]:
    """Adam's settings (Value and array optimizers take the same)."""
    return {
        "lr": real(0.0, whole=1),
        "betas": betas(),
        "eps": real(0.0, whole=0),
        "weight_decay": real(0.0, whole=0),
    }


def betas() -> Kind:
    """Adam's (beta1, beta2): two numbers in [0, 1)."""
    bad = (
        (0.9, T),
        ("ab", T),
        (None, T),
        ((0.9,), V),
        ((0.9, 0.99, 0.999), V),
        ((1.0, 0.9), V),
        ((0.9, -0.1), V),
        ((NAN, 0.9), V),
        ((0.9, "a"), T),
        ((0.9, 1j), T),
    )
    twins = (
        ((0.5, 0.75), [0.5, 0.75]),
        ((0.5, 0.75), np.array([0.5, 0.75])),
        ((0.5, 0.75), (np.float64(0.5), np.float32(0.75))),
        ((0.0, 0.5), (np.int64(0), 0.5)),
    )
    return Kind(bad, twins)


def operator_spec(op: Callable[[Any, Any], Any], reflected: bool) -> Spec:
    """A binary operator with a plain-number operand on either side."""

    def call(other: Any = 2.0) -> Value:
        x = Value(1.5)
        return op(other, x) if reflected else op(x, other)

    bad = ((None, T), (1j, T)) if reflected else (("x", T), (None, T), (b"1", T), (1j, T))
    if not reflected:
        bad += ((np.complex128(1 + 1j), T), ([1.0], T))
    kind = Kind(bad, real(whole=2, example=0.5).twins)
    return Spec((op, reflected), call, {"other": kind}, words={"other": "operand|Value"})


OPERATORS = (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow)


def specs() -> Iterator[Spec]:
    """Every row of the table."""
    # --- engine ---
    yield Spec(
        Value,
        lambda data=2.0, label="a": Value(data, label=label),
        {"data": Kind((*NOT_A_NUMBER[:5], (None, T), (10**400, V)), real(whole=2).twins)},
    )
    yield Spec(Value, lambda data=2.0, label="a": Value(data, label=label), {"label": text()})
    for op in OPERATORS:
        yield operator_spec(op, reflected=False)
        yield operator_spec(op, reflected=True)

    def backward(grad: Any = 1.0, create_graph: bool = False) -> Any:
        x = Value(3.0)
        (x * x).backward(grad, create_graph=create_graph)
        return x.grad

    yield Spec(
        Value.backward,
        backward,
        {
            "grad": Kind((*NOT_A_NUMBER[:6], (None, T)), real(whole=2).twins),
            "create_graph": flag(),
        },
    )
    yield Spec(
        Value.maximum,
        lambda other=2.0: Value(1.5).maximum(other),
        {"other": Kind((("x", T), (None, T), (1j, T), ([1.0], T)), real(whole=2).twins)},
        words={"other": "other|operand"},
        label="Value.maximum",
    )
    yield Spec(
        Value.leaky_relu,
        lambda negative_slope=0.5: Value(-2.0).leaky_relu(negative_slope),
        {"negative_slope": real(whole=0)},
    )
    yield Spec(
        engine.grad,
        lambda output=FRESH, inputs=FRESH, create_graph=False: engine.grad(
            ROOT if output is FRESH else output,
            ROOT._prev[0]._prev if inputs is FRESH else inputs,
            create_graph,
        ),
        {"output": one_value(), "inputs": many_values(nonempty=False), "create_graph": flag()},
    )
    yield Spec(engine.rule_of, lambda node=ROOT: engine.rule_of(node), {"node": one_value()})

    def registered(
        name: Any = "h3_square",
        forward: Any = lambda x: x * x,
        backward: Any = lambda x, y, out, g, m: (2.0 * g * x,),
        formula: Any = "d(x**2)/dx = 2*x",
        arity: Any = 1,
    ) -> Any:
        try:
            square = engine.register_op(name, forward, backward, formula, arity)
            return plain(square(Value(1.5)))  # while the op is registered: backward needs it
        finally:
            engine.RULES.pop("h3_square", None)

    yield Spec(
        engine.register_op,
        registered,
        {
            "name": Kind(((3, T), (None, T), ("relu", V), ("not a name", V))),
            "forward": func(),
            "backward": func(),
            "formula": text(),
            "arity": Kind(((3, V), (0, V), (1.0, T), (True, T), ("1", T)), ((1, np.int64(1)),)),
        },
    )
    yield Spec(
        engine.topological_order,
        lambda root=ROOT: engine.topological_order(root),
        {"root": one_value()},
    )

    def hooked(fn: Any = lambda g: 2 * g) -> Any:
        x = Value(1.5)
        y = x * x
        with y.register_hook(fn):
            y.backward()
        return x.grad

    yield Spec(Value.register_hook, hooked, {"fn": func()})
    for mode in (engine.no_grad, engine.detect_anomaly, engine.gc_paused):  # @mode or mode()
        yield Spec(
            mode, lambda function=None, m=mode: m(function), {"function": func(optional=True)}
        )

    # --- nn ---
    for cls in (nn.Neuron, nn.Layer):
        extra = {"nout": 2} if cls is nn.Layer else {}
        yield Spec(
            cls,
            lambda nin=2, nonlin=True, activation=None, cls=cls, extra=extra: seeded(
                lambda: cls(nin, nonlin=nonlin, activation=activation, **extra)
            ),
            {
                "nin": count(1),
                "nonlin": flag(),
                "activation": name(tuple(nn.ACTIVATIONS), optional=True),
            },
        )
    yield Spec(
        nn.Layer,
        lambda nout=2: seeded(lambda: nn.Layer(2, nout)),
        {"nout": count(1)},
    )
    nouts = Kind(
        (
            (3, T),
            ("3", T),
            (None, T),
            ([], V),
            ([3, 0], V),
            ([3, -1], V),
            ([3, 2.5], T),
            ([3, True], T),
            ([3, None], T),
            (np.array([3.0, 1.0]), T),
        ),
        (
            ([3, 1], (3, 1)),
            ([3, 1], np.array([3, 1])),
            ([3, 1], [np.int64(3), np.int32(1)]),
        ),
    )
    yield Spec(
        nn.MLP,
        lambda nin=2, nouts=(3, 1), activation=None, out_activation=None: seeded(
            lambda: nn.MLP(nin, nouts, activation=activation, out_activation=out_activation)
        ),
        {
            "nin": count(1),
            "nouts": nouts,
            "activation": name(tuple(nn.ACTIVATIONS), optional=True),
            "out_activation": name(tuple(nn.ACTIVATIONS), optional=True),
        },
    )
    net = {
        nn.Neuron.__call__: seeded(lambda: nn.Neuron(2)),
        nn.Layer.__call__: seeded(lambda: nn.Layer(2, 3)),
        nn.Layer.forward: seeded(lambda: nn.Layer(2, 3)),
        nn.MLP.__call__: mlp(),
        nn.MLP.forward: mlp(),
    }
    inputs = numbers(2)
    inputs = Kind((*inputs.bad, ([0.5, 0.5, 0.5], V), ([0.5], V)), inputs.twins)
    for target, module in net.items():
        method = target.__name__
        yield Spec(
            target,
            lambda x=(0.5, -0.25), module=module, method=method: getattr(module, method)(x),
            {"x": inputs},
        )
    yield Spec(
        nn.Neuron.__call__,
        lambda x=0.5: seeded(lambda: nn.Neuron(1))(x),
        {"x": Kind((("a", T), (None, T), (1j, T), (b"a", T)), real(whole=2).twins)},
    )
    yield Spec(
        nn.Module.load_state_dict,
        lambda state=FRESH: seeded(lambda: nn.Neuron(2)).load_state_dict(
            {"w.0": 0.5, "w.1": -0.25, "b": 1.0} if state is FRESH else state
        ),
        {"state": Kind((("x", T), (None, T), ([0.5, -0.25, 1.0], T), (3, T)))},
    )

    def neuron_loaded(state: dict[str, Any]) -> nn.Module:
        n = seeded(lambda: nn.Neuron(2))
        n.load_state_dict(state)
        return n

    yield Spec(
        nn.Module.load_state_dict,
        lambda state=FRESH: neuron_loaded(
            {"w.0": 0.5, "w.1": -0.25, "b": 1.0} if state is FRESH else state
        ),
        {
            "state": Kind(
                (({"w.0": "a", "w.1": 0.0, "b": 0.0}, V),),
                (
                    (
                        {"w.0": 0.5, "w.1": -0.25, "b": 1.0},
                        {"w.0": np.float32(0.5), "w.1": np.float64(-0.25), "b": np.int64(1)},
                    ),
                ),
            )
        },
    )
    yield Spec(
        nn.Module.save,
        lambda path=FRESH, optimizer=None, metadata=None: mlp().save(
            in_scratch("net.json") if path is FRESH else path, optimizer, metadata
        ),
        {
            "path": file_path(),
            "optimizer": Kind((("sgd", T), (3, T))),
            "metadata": Kind((("x", T), ([1], T), ({"a": {1, 2}}, T), ({3: 1}, T))),
        },
    )
    yield Spec(
        nn.Module.load,
        lambda path=FRESH, optimizer=None: mlp().load(
            in_scratch("saved.json") if path is FRESH else path, optimizer
        ),
        {"path": file_path(), "optimizer": Kind((("sgd", T), (3, T)))},
    )
    yield Spec(
        nn.MLP.from_config,
        lambda config=FRESH: seeded(
            lambda: nn.MLP.from_config(mlp().config() if config is FRESH else config)
        ),
        {
            "config": Kind(
                (("x", T), (None, T), ({}, V), ({"nin": 2, "nouts": [3, 1]}, V)),
                (
                    (
                        {"nin": 2, "nouts": [3, 1], "activations": ["relu", "linear"]},
                        {
                            "nin": np.int64(2),
                            "nouts": np.array([3, 1]),
                            "activations": ["relu", "linear"],
                        },
                    ),
                ),
            )
        },
    )
    yield Spec(
        nn.read_checkpoint,
        lambda path=FRESH: nn.read_checkpoint(in_scratch("saved.json") if path is FRESH else path),
        {"path": file_path()},
    )
    yield Spec(
        nn.Module.load_checkpoint,
        lambda checkpoint=FRESH, optimizer=None: mlp().load_checkpoint(
            nn.read_checkpoint(in_scratch("saved.json")) if checkpoint is FRESH else checkpoint,
            optimizer,
        ),
        {
            "checkpoint": Kind((("x", T), (None, T), ([], T), ({}, V))),
            "optimizer": Kind((("sgd", T), (3, T))),
        },
    )
    yield Spec(
        nn.MLP.from_file,
        lambda path=FRESH: nn.MLP.from_file(in_scratch("saved.json") if path is FRESH else path),
        {"path": file_path()},
    )

    # --- losses ---
    scores = Kind(
        (
            ("ab", T),
            (b"ab", T),
            (5, T),
            (None, T),
            (Value(1.0), T),
            ([Value(1.0), "a"], T),
            ([Value(1.0), None], T),
            ([Value(1.0), 1j], T),
            ([], V),
        ),
        numbers(2).twins,
    )
    reduction = name(("mean", "sum"))
    for fn, targets in (
        (losses.mse_loss, numbers(2)),
        (
            losses.hinge_loss,
            Kind(
                (
                    ("ab", T),
                    (None, T),
                    (5, T),
                    ([1, "1"], T),
                    ([1, None], T),
                    ([1, 2], V),
                    ([1, 0.5], V),
                    ([1, NAN], V),
                    ([1, 1j], T),
                    ([1, True], T),
                    ([1], V),
                ),
                (
                    ([1, -1], [np.int64(1), np.int64(-1)]),
                    ([1, -1], np.array([1, -1])),
                    ([1, 0], [1.0, 0.0]),
                    ([1, 0], np.array([1.0, 0.0], dtype=np.float32)),
                ),
            ),
        ),
        (
            losses.binary_cross_entropy,
            Kind(
                (
                    ("ab", T),
                    (None, T),
                    ([1, "1"], T),
                    ([1, None], T),
                    ([1, 1.5], V),
                    ([1, -0.5], V),
                    ([1, NAN], V),
                    ([1, True], T),
                    ([1], V),
                ),
                (
                    ([0.5, 0.25], np.array([0.5, 0.25])),
                    ([0.5, 0.25], [np.float32(0.5), np.float64(0.25)]),
                    ([1.0, 0.0], [np.int64(1), 0]),
                ),
            ),
        ),
    ):
        yield Spec(
            fn,
            lambda scores=PAIR, targets=(1, 0), reduction="mean", fn=fn: fn(
                scores, targets, reduction
            ),
            {"scores": scores, "targets": targets, "reduction": reduction},
        )
    logits = Kind(
        (
            ("ab", T),
            (5, T),
            (None, T),
            ([Value(1.0)], T),
            ([[]], V),
            ([[Value(1.0), "a"]], T),
            ([[Value(1.0), None]], T),
            ([], V),
        ),
        (
            ([[0.5, -0.25]], np.array([[0.5, -0.25]])),
            ([[0.5, -0.25]], [(np.float32(0.5), np.float64(-0.25))]),
        ),
    )
    ce_targets = Kind(
        (
            ("a", T),
            (None, T),
            (5, T),
            ([NAN], T),
            ([INF], T),
            ([None], T),
            (["1"], T),
            ([1.0], T),
            ([True], T),
            ([2], V),
            ([-1], V),
            ([[0.5, "a"]], T),
            ([[0.5]], V),
            ([[0.5, None]], T),
            ([0, 1], V),
        ),
        (
            ([1], [np.int64(1)]),
            ([1], np.array([1])),
            ([1], [np.int32(1)]),
            ([1], [np.uint8(1)]),
            ([[0.25, 0.75]], np.array([[0.25, 0.75]])),
            ([[0.25, 0.75]], [[np.float32(0.25), np.float64(0.75)]]),
            ([[0.0, 1.0]], [[0, np.int64(1)]]),
        ),
    )
    yield Spec(
        losses.cross_entropy,
        lambda logits=(PAIR,), targets=(1,), reduction="mean": losses.cross_entropy(
            logits, targets, reduction
        ),
        {"logits": logits, "targets": ce_targets, "reduction": reduction},
    )
    yield Spec(
        losses.l2,
        lambda parameters=PAIR, alpha=0.5: losses.l2(parameters, alpha),
        {"parameters": many_values(nonempty=False), "alpha": real(0.0)},
    )

    # --- optim ---
    for cls, kinds in (
        (optim.SGD, sgd_kinds()),
        (optim.Adam, adam_kinds()),
        (optim.AdamW, adam_kinds()),
    ):
        if cls is not optim.SGD:
            kinds["amsgrad"] = flag()
        for arg, kind in kinds.items():
            yield Spec(
                cls,
                lambda cls=cls, **kw: grads_step(cls(params2(), **{**MOMENTUM[cls], **kw})),
                {arg: kind},
            )
        yield Spec(
            cls,
            lambda params=FRESH, cls=cls: cls(params2() if params is FRESH else params),
            {"params": many_values()},
        )
    yield Spec(
        optim.Optimizer,
        lambda params=FRESH, lr=0.5: optim.Optimizer(params2() if params is FRESH else params, lr),
        {"params": many_values(), "lr": real(0.0)},
    )
    yield Spec(
        optim.Optimizer.load_state_dict,
        lambda state=FRESH: optim.SGD(params2(), lr=0.5).load_state_dict(
            optim.SGD(params2(), lr=0.5).state_dict() if state is FRESH else state
        ),
        {"state": Kind((("x", T), (None, T), ([], T), ({}, V)))},
    )
    schedules: list[tuple[Any, dict[str, Any], dict[str, Kind]]] = [
        (
            optim.LinearDecay,
            {"start": 1.0, "end": 0.5, "steps": 4},
            {"start": real(0.0), "end": real(0.0), "steps": count(0)},
        ),
        (
            optim.StepLR,
            {"lr": 1.0, "step_size": 2, "gamma": 0.5},
            {"lr": real(0.0), "step_size": count(1), "gamma": real(0.0)},
        ),
        (
            optim.CosineLR,
            {"lr": 1.0, "steps": 4, "lr_min": 0.25},
            {"lr": real(0.0), "steps": count(0), "lr_min": real(0.0)},
        ),
        (
            optim.Warmup,
            {"after": 0.5, "warmup_steps": 2},
            {
                "after": Kind(
                    (("x", T), (None, T), (-1.0, V), (NAN, V), (True, T)), real(0.0).twins
                ),
                "warmup_steps": count(1),
            },
        ),
    ]
    for cls, good, kinds in schedules:
        for arg, kind in kinds.items():
            yield Spec(
                cls,
                lambda cls=cls, good=good, **kw: [cls(**{**good, **kw})(k) for k in range(6)],
                {arg: kind},
            )
        yield Spec(
            cls.__call__,
            lambda step=3, cls=cls, good=good: cls(**good)(step),
            {"step": count(0)},
        )
    for fn, kinds in (
        (optim.sgd_update, sgd_kinds()),
        (
            optim.adam_update,
            {
                **adam_kinds(),
                "decoupled": flag(),
                "amsgrad": flag(),
                "sqrt": func(),
                "maximum": func(),
            },
        ),
    ):
        for arg, kind in kinds.items():
            if fn is optim.sgd_update:
                yield Spec(
                    fn,
                    lambda **kw: optim.sgd_update(
                        1.0, 0.5, 0.25, **{"lr": 0.5, "momentum": 0.5, **kw}
                    ),
                    {arg: kind},
                )
            else:
                yield Spec(
                    fn,
                    lambda **kw: optim.adam_update(
                        1.0,
                        0.5,
                        0.25,
                        0.125,
                        0.5,
                        2,
                        **{"lr": 0.5, "betas": (0.5, 0.75), "eps": 1e-8, **kw},
                    ),
                    {arg: kind},
                )
    yield Spec(
        optim.adam_update,
        lambda t=2: optim.adam_update(
            1.0, 0.5, 0.25, 0.125, 0.5, t, lr=0.5, betas=(0.5, 0.75), eps=1e-8
        ),
        {"t": count(1)},
    )

    def clipped(params: Any = FRESH, max_norm: Any = 0.5, eps: Any = 1e-6) -> Any:
        ps = params2() if params is FRESH else params
        for p in ps if params is FRESH else ():
            p.grad = 3.0
        return [optim.clip_grad_norm(ps, max_norm, eps), [p.grad for p in ps]]

    yield Spec(
        optim.clip_grad_norm,
        clipped,
        {
            "params": many_values(nonempty=False),
            "max_norm": real(0.0, infinite=True),
            "eps": real(0.0, whole=0),
        },
    )

    # --- data ---
    for generator in dict.fromkeys(data.DATASETS.values()):
        extra: dict[str, Kind] = {}
        if generator is data.make_circles:
            extra["factor"] = real(0.0, 1.0, open_low=True, open_high=True, whole=None)
        if generator is data.make_spiral:
            extra["classes"] = count(2)
        if generator is data.make_blobs:
            extra["centers"] = count(1)
        kinds = {
            "n_samples": count(1, example=6),
            "noise": real(0.0, whole=0),
            "seed": seed_kind(),
            **extra,
        }
        if generator is data.make_lecture:
            kinds["n_samples"] = count(1, example=4)
        for arg, kind in kinds.items():
            yield Spec(generator, lambda generator=generator, **kw: generator(**kw), {arg: kind})
    yield Spec(
        data.train_test_split,
        lambda X=tuple(range(8)), y=(0,) * 8, test_size=0.25, seed=0: data.train_test_split(
            X, y, test_size, seed
        ),
        {
            "X": Kind((("abcdefgh", T), (5, T), (None, T), ([], V), (list(range(7)), V))),
            "y": Kind((("abcdefgh", T), (5, T), (None, T), ([0] * 7, V))),
            "test_size": Kind(
                (
                    ("0.25", T),
                    (None, T),
                    (True, T),
                    (1j, T),
                    (0, V),
                    (0.0, V),
                    (1.0, V),
                    (1.5, V),
                    (-1, V),
                    (NAN, V),
                    (8, V),
                ),
                (
                    (0.25, np.float64(0.25)),
                    (0.25, np.float32(0.25)),
                    (2, np.int64(2)),
                    (2, np.int32(2)),
                ),
            ),
            "seed": seed_kind(),
        },
    )

    # --- gradcheck ---
    yield Spec(
        gradcheck.derivative,
        lambda f=math.sin, x=0.5, h=1e-6: gradcheck.derivative(f, x, h),
        {"f": func(), "x": real(whole=1), "h": real(0.0, open_low=True, example=2**-20, whole=1)},
    )
    for fn in (gradcheck.numerical_grad, gradcheck.gradcheck):
        yield Spec(
            fn,
            lambda f=lambda a, b: a * b + a, inputs=FRESH, h=1e-6, fn=fn: fn(
                f, [Value(0.5), Value(-1.5)] if inputs is FRESH else inputs, h
            ),
            {
                "f": value_function(),
                "inputs": many_values(nonempty=False),
                "h": real(0.0, open_low=True, example=2**-20, whole=1),
            },
        )
    yield Spec(
        gradcheck.gradcheck,
        lambda rtol=1e-5, atol=1e-7: gradcheck.gradcheck(
            lambda a: a.tanh(), [Value(0.5)], rtol=rtol, atol=atol
        ),
        {"rtol": real(0.0, whole=0), "atol": real(0.0, whole=0)},
    )

    yield from func_specs()

    # --- explain ---
    for fn in (explain.explain, explain.node_names, explain.compare_naive_recursion):
        yield Spec(fn, lambda root=ROOT, fn=fn: fn(root), {"root": one_value()})
    for fn in (explain.explain_text, explain.explain_markdown):
        yield Spec(
            fn,
            lambda root=ROOT, digits=6, fn=fn: fn(root, digits),
            {"root": one_value(), "digits": digits(1)},
        )
    narrated = explanation()
    for method in ("text", "markdown"):
        for obj in (
            narrated,
            narrated[0],
            narrated[0].contributions[0],
            explain.compare_naive_recursion(ROOT),
        ):
            target = getattr(type(obj), method, None)
            if target is None:
                continue
            yield Spec(
                target,
                lambda digits=6, obj=obj, method=method: getattr(obj, method)(digits),
                {"digits": digits(1)},
            )
    yield Spec(
        explain.Explanation.grad,
        lambda node=ROOT: narrated.grad(node),
        {"node": Kind(((2.0, T), ("out", T), (None, T), (Value(1.0), V)))},
    )

    # --- train ---
    fit_kinds = {
        "model": Kind((("mlp", T), (None, T), (3, T), (Value(1.0), T))),
        "X": table(),
        "y": class_labels(Y4, None),
        "loss": name(train.LOSS_KINDS),
        "optimizer": Kind((("sgd", T), (3, T), (optim.SGD, T))),
        "steps": count(0),
        "batch_size": count(1, optional=True, example=2),
        "schedule": Kind((("x", T), (0.5, T), (3, T))),
        "l2": real(0.0, whole=0),
        "max_grad_norm": real(0.0, infinite=True, optional=True),
        "seed": seed_kind(),
        "rng": Kind((("x", T), (3, T), (random, T))),
        "callback": func(optional=True),
        "on_step": func(optional=True),
        "engine": name(train.ENGINES),
    }
    for arg, kind in fit_kinds.items():
        yield Spec(train.fit, run_fit, {arg: kind})
    for arg in ("X", "y", "steps", "l2", "max_grad_norm"):
        kind = Kind((), fit_kinds[arg].twins)
        yield Spec(train.fit, lambda **kw: run_fit(engine="fast", **kw), {arg: kind})
    yield Spec(
        train.fit,
        lambda y=(0, 1, 2, 1): run_fit(
            seeded(lambda: nn.MLP(2, [3, 3])), y=y, loss="cross_entropy"
        ),
        {"y": class_labels([0, 1, 2, 1], 3)},
    )
    predicting = {"model": fit_kinds["model"], "X": table(), "loss_kind": name(train.LOSS_KINDS)}
    yield Spec(
        train.predict,
        lambda model=FRESH, X=X4, loss_kind="hinge": train.predict(
            mlp() if model is FRESH else model, X, loss_kind
        ),
        predicting,
    )
    yield Spec(
        train.accuracy,
        lambda model=FRESH, X=X4, y=Y4, loss_kind="hinge": train.accuracy(
            mlp() if model is FRESH else model, X, y, loss_kind
        ),
        {**predicting, "y": class_labels(Y4)},
    )
    yield Spec(
        train.predict_scores,
        lambda model=FRESH, X=X4: train.predict_scores(mlp() if model is FRESH else model, X),
        {"model": fit_kinds["model"], "X": table()},
    )
    yield Spec(
        train.resolve_engine,
        lambda engine="value": train.resolve_engine(engine),
        {"engine": name(train.ENGINES)},
    )

    # --- viz ---
    yield Spec(
        viz.draw_dot,
        lambda root=ROOT, **kw: viz.draw_dot(root, **kw).source,
        {
            "root": one_value(),
            "format": name(("svg", "png", "pdf")),
            "rankdir": name(("LR", "TB", "RL", "BT")),
            "colour_by_grad": flag(),
            "feeds": Kind(((3, T), ("a", T), (Value(1.0), V))),
            "names": flag(),
        },
    )
    yield Spec(
        viz.draw_text,
        lambda root=ROOT, **kw: viz.draw_text(root, **kw),
        {"root": one_value(), "unicode": flag(), "digits": digits(0), "max_depth": count(1)},
    )
    yield Spec(
        viz.render_dot,
        lambda root=ROOT, path=FRESH, **kw: viz.render_dot(
            root, in_scratch("graph.svg") if path is FRESH else path, **kw
        ),
        {"root": one_value(), "path": file_path(), "format": name(("svg", "png"), optional=True)},
    )

    # --- plot ---
    def boundary(
        model: Any = FRESH, X: Any = X4, y: Any = Y4, path: Any = FRESH, **kw: Any
    ) -> Path:
        return plot.plot_decision_boundary(
            mlp() if model is FRESH else model,
            X,
            y,
            in_scratch("boundary.png") if path is FRESH else path,
            **{"resolution": 5, "size": (64, 48), "dpi": 16, **kw},
        )

    size = Kind(
        (
            ("64x48", T),
            (64, T),
            (None, T),
            ((64,), V),
            ((64, 0), V),
            ((64, -1), V),
            ((64, 4.5), T),
            ((64, True), T),
        ),
        (((64, 48), np.array([64, 48])), ((64, 48), (np.int64(64), np.int32(48)))),
    )
    yield Spec(
        plot.plot_decision_boundary,
        boundary,
        {
            "model": Kind((("mlp", T), (3, T))),
            "X": fewer(table(), 0),
            "y": Kind(
                (("abcd", T), (None, T), ([0, 1, "a", 1], T), ([0, 1, 1], V), ([], V)),
                numbers(4).twins[:0],
            ),
            "path": file_path(),
            "predict": func(optional=True),
            "resolution": fewer(count(2, example=4)),
            "padding": fewer(real(0.0, whole=0)),
            "size": fewer(size, 1),
            "dpi": fewer(count(1, example=16)),
            "title": text(optional=True),
        },
    )

    def history(losses: Any = (1.0, 0.5, 0.25), accuracies: Any = None, **kw: Any) -> Path:
        return plot.plot_history(
            losses,
            accuracies,
            **{"path": in_scratch("history.png"), "size": (64, 48), "dpi": 16, **kw},
        )

    curve = numbers(3)
    yield Spec(
        plot.plot_history,
        history,
        {
            "losses": Kind(curve.bad, curve.twins[1:2]),
            "accuracies": Kind(tuple(b for b in curve.bad if b[0] is not None), ()),
            "path": file_path(),
            "size": fewer(size),
            "dpi": fewer(count(1, example=16), 0),
            "log_loss": fewer(flag()),
            "title": text(optional=True),
        },
    )

    # --- fast ---
    for cls, kinds in ((fast.ArraySGD, sgd_kinds()), (fast.ArrayAdam, adam_kinds())):
        for arg, kind in kinds.items():
            yield Spec(
                cls, lambda cls=cls, **kw: array_step(cls(**{**MOMENTUM[cls], **kw})), {arg: kind}
            )
        update = Kind(
            (
                ([1.0, -0.5], T),
                ("ab", T),
                (None, T),
                (np.array([1.0, -0.5, 2.0]), V),
                (np.array([1, 2]), T),
            )
        )
        yield Spec(
            cls.update,
            lambda theta=FRESH, grad=FRESH, cls=cls: cls(lr=0.5).update(
                np.array([1.0, -0.5]) if theta is FRESH else theta,
                np.array([0.5, 1.0]) if grad is FRESH else grad,
            ),
            {"theta": update, "grad": Kind(update.bad[1:4])},
        )
    # Positions of a program's index inputs (it has one input, 0.5, which is no index).
    positions = Kind(((3, T), (None, T), ([1], V), ([-1], V), ([0.0], T), ([True], T), ("0", T)))
    trace_args = {"fn": func(), "params": many_values(nonempty=False), "retrace": flag()}
    trace_args["indices"] = positions
    trace_args["backend"] = name(("numpy", "jax"))
    yield Spec(
        fast.trace,
        lambda fn=lambda x: x.tanh(), params=FRESH, retrace=True, indices=(), backend="numpy": (
            fast.trace(
                fn,
                [Value(1.0)] if params is FRESH else params,
                0.5,
                retrace=retrace,
                indices=indices,
                backend=backend,
            )
        ),
        trace_args,
    )
    yield Spec(
        fast.Program,
        lambda fn=lambda x: x.tanh(), params=FRESH, retrace=True, indices=(), backend="numpy": (
            fast.Program(
                fn, [Value(1.0)] if params is FRESH else params, (0.5,), retrace, indices, backend
            )
        ),
        trace_args,
    )
    yield Spec(
        fast.compile_model,
        lambda model=FRESH, loss_fn=losses.mse_loss, retrace=True, backend="numpy": (
            fast.compile_model(
                mlp((1,)) if model is FRESH else model,
                loss_fn,
                X4,
                [0.0, 0.0, 0.0, 1.0],
                retrace,
                backend,
            )
        ),
        {
            "model": Kind((("mlp", T), (None, T), (3, T))),
            "loss_fn": func(),
            "retrace": flag(),
            "backend": name(("numpy", "jax")),
        },
    )
    yield Spec(
        fast.rule_backward,
        lambda op="*": fast.rule_backward(op)(*(np.array([v]) for v in (1.5, 2.0, 3.0, 1.0))),
        {"op": name(tuple(engine.RULES))},
    )
    yield Spec(
        fast.Program.__call__,
        lambda x=0.5: program()(x),
        {"x": Kind(((None, T), ("a", T), (1j, T)), real(whole=1).twins)},
        words={"x": "input"},
    )
    yield Spec(
        fast.Program.check,
        lambda x=0.5: program().check(x),
        {"x": Kind(((None, T), ("a", T), (1j, T)))},
        words={"x": "input"},
    )
    yield Spec(
        fast.Program.loss_and_grad,
        lambda theta=(2.0,): program().loss_and_grad(theta, 0.5),
        {
            "theta": Kind(
                (("a", T), (None, T), ([2.0, 1.0], V), (["a"], T)),
                (([2.0], np.array([2.0])), ([2.0], (np.float32(2.0),)), ([2.0], [np.int64(2)])),
            )
        },
    )
    yield Spec(
        fast.Program.load,
        lambda theta=(2.0,): (lambda p: (p.load(theta), p.params[0].data)[1])(program()),
        {
            "theta": Kind(
                (("a", T), (None, T), ([2.0, 1.0], V), (["a"], T), ([], V)),
                (([2.0], np.array([2.0])), ([2.0], (np.float32(2.0),)), ([2.0], [np.int64(2)])),
            )
        },
    )
    yield Spec(
        fast.Program.step,
        lambda optimizer=FRESH: program().step(
            0.5, optimizer=fast.ArraySGD(lr=0.5) if optimizer is FRESH else optimizer
        ),
        {"optimizer": Kind((("sgd", T), (None, T), (3, T)))},
    )
    yield Spec(
        fast.Program.run,
        lambda steps=2, optimizer=FRESH: program().run(
            steps, 0.5, optimizer=fast.ArraySGD(lr=0.5) if optimizer is FRESH else optimizer
        ),
        {"steps": count(0), "optimizer": Kind((("sgd", T), (None, T), (3, T)))},
    )

    # --- the explorer ---
    for fn in (explorer.to_html, explorer.graph_data, explorer.explore):
        yield Spec(
            fn,
            lambda root=ROOT, fn=fn, **kw: fn(root, **kw),
            {"root": one_value(), "title": text(optional=True)},
        )
    yield Spec(
        explorer.to_html,
        lambda path=FRESH: explorer.to_html(
            ROOT, in_scratch("page.html") if path is FRESH else path
        ),
        {"path": file_path(optional=True)},
    )
    yield Spec(
        explorer.explore,
        lambda height=640: explorer.explore(ROOT, height=height)._repr_html_(),
        {"height": count(200, example=480)},
    )
    yield Spec(
        explorer.Explorer,
        lambda html_page="<p>", title="t", height=640: explorer.Explorer(
            html_page, title, height
        )._repr_html_(),
        {"html_page": text(), "title": text(), "height": count(200, example=480)},
    )
    yield Spec(
        explorer.Explorer.save,
        lambda path=FRESH: explorer.Explorer("<p>", "t").save(
            in_scratch("explorer.html") if path is FRESH else path
        ),
        {"path": file_path()},
    )
    yield Spec(
        explorer.page,
        lambda data=FRESH, **kw: explorer.page(
            explorer.graph_data(ROOT) if data is FRESH else data, **kw
        ),
        {
            "data": Kind((("x", T), (None, T), ([], T), ({}, V))),
            "before": text(),
            "after": text(),
            "title": text(optional=True),
        },
    )
    yield Spec(
        explorer.find_groups,
        lambda order=FRESH, model=None, max_direct=60: explorer.find_groups(
            engine.topological_order(ROOT) if order is FRESH else order, model, max_direct
        ),
        {"order": many_values(nonempty=False), "max_direct": count(2)},
    )
    yield Spec(
        report.Checkpoints,
        lambda model=FRESH, every=2, start=0: (
            report.Checkpoints(mlp() if model is FRESH else model, every, start).every
        ),
        {"model": Kind((("mlp", T), (None, T), (3, T))), "every": count(1), "start": count(0)},
    )
    yield Spec(
        report.Checkpoints.take,
        lambda step=3: report.Checkpoints(mlp(), 2).take(step),
        {"step": count(0)},
    )
    yield Spec(
        report.Checkpoints.wrap,
        lambda callback=print: report.Checkpoints(mlp(), 2).wrap(callback),
        {"callback": func()},
    )

    def reported(**kw: Any) -> Any:
        args = {
            "model": mlp(),
            "X": X4,
            "y": Y4,
            "loss": "hinge",
            "losses": [1.0, 0.5],
            "accuracies": [0.5, 0.75],
            "checkpoints": [],
            "settings": {"steps": 2},
        }
        return report.training_report(**{**args, **kw})

    yield Spec(
        report.training_report,
        reported,
        {
            "model": Kind((("mlp", T), (None, T), (3, T))),
            "X": Kind(table().bad),
            "y": Kind(class_labels(Y4).bad),
            "loss": Kind(name(train.LOSS_KINDS).bad),
            "losses": Kind(numbers(2).bad),
            "accuracies": Kind(numbers(2).bad),
            "checkpoints": Kind((("x", T), (None, T), (3, T), ([3], T))),
            "settings": Kind((("x", T), (None, T), ([1], T))),
            "first_step": Kind(count(0).bad),
            "summary": Kind(text().bad),
            "path": file_path(optional=True),
        },
    )

    # --- interop: the model or module is checked before PyTorch is imported ---
    interop = importlib.import_module("micrograd.interop")
    no_model = Kind(((3, T), ("MLP", T), (None, T), (Value(1.0), T), (nn.Neuron(2), T)))
    for fn in (interop.to_torch, interop.pytorch_script):
        yield Spec(
            fn,
            lambda model=FRESH, fn=fn: fn(mlp() if model is FRESH else model),
            {"model": no_model},
        )
    yield Spec(
        interop.from_torch,
        lambda module=None: interop.from_torch(module),
        {"module": Kind(((3, T), ("Sequential", T), (None, T), ([1.0], T), (mlp(), T)))},
    )

    # --- expr, cli, bench ---
    for fn in (expr.parse, expr.evaluate):
        yield Spec(fn, lambda text="a=1: a*2", fn=fn: fn(text), {"text": text()})
    yield Spec(
        cli.main,
        lambda argv=("--version",): cli.main(argv),
        {"argv": Kind(((3, T), ([3], T), ("train", T)))},
    )
    yield Spec(
        bench.main,
        quietly(lambda argv=("--quiet",): bench.main(argv)),
        {"argv": Kind(((3, T), ([3], T), ("seed002", T)))},
    )
    yield Spec(
        bench.ensure_reference,
        quietly(lambda directory=FRESH: bench.ensure_reference(directory)),
        {"directory": folder_path()},
    )
    workload, variant = name(tuple(bench.WORKLOADS)), name(tuple(bench.VARIANTS))
    yield Spec(
        bench.measure,
        quietly(
            lambda workload="seed002", variant="value", reference=None, quick=True: bench.measure(
                workload, variant, reference, quick
            )
        ),
        {
            "workload": Kind(workload.bad),
            "variant": Kind(variant.bad),
            "reference": folder_path(optional=True),
            "quick": Kind(flag().bad),
        },
    )
    yield Spec(
        bench.run_suite,
        quietly(
            lambda names=(), rounds=1, reference=None, quick=True, progress=False: bench.run_suite(
                names, rounds, reference, quick, progress
            )
        ),
        {
            "names": Kind((("seed002", T), (None, T), (["nope"], V), ([3], T))),
            "rounds": Kind(count(1).bad),
            "reference": folder_path(optional=True),
            "quick": Kind(flag().bad),
            "progress": Kind(flag().bad),
        },
    )
    suite = bench.Report(machine={}, rounds=1, quick=True)
    for method in ("median", "error"):
        yield Spec(
            getattr(bench.Report, method),
            lambda workload="seed002", variant="value", method=method: getattr(suite, method)(
                workload, variant
            ),
            {"workload": workload, "variant": variant},
        )
    yield Spec(
        bench.Report.ratio,
        lambda workload="seed002", numerator="ref", denominator="value": suite.ratio(
            workload, numerator, denominator
        ),
        {"workload": workload, "numerator": variant, "denominator": variant},
    )
    yield Spec(
        bench.Report.check_spread,
        lambda workload="seed002": suite.check_spread(workload),
        {"workload": workload},
    )
    yield from gpt_specs()


def gpt_specs() -> Iterator[Spec]:
    """The rows of micrograd.gpt: the model's blocks, the tokenizer, data, sampling, training."""
    from micrograd import gpt
    from micrograd.gpt import sample as gpt_sample
    from micrograd.gpt import train as gpt_train
    from micrograd.gpt.model import Block, CausalSelfAttention, FeedForward, KVCache

    tiny = {"n_embd": 2, "n_head": 2, "n_layer": 1, "block_size": 4}

    def tiny_gpt() -> Any:
        return seeded(lambda: gpt.GPT(3, **tiny))

    n_head = Kind((*count(1, example=2).bad, (3, V)), count(1, example=2).twins)
    widths = {"n_embd": count(1, example=4), "n_head": n_head, "std": real(0.0)}
    yield Spec(
        gpt.GPT,
        lambda vocab_size=3, n_embd=4, n_head=2, n_layer=1, block_size=3, std=0.08: seeded(
            lambda: gpt.GPT(vocab_size, n_embd, n_head, n_layer, block_size, std)
        ),
        {"vocab_size": count(1), "n_layer": count(1), "block_size": count(1), **widths},
    )
    yield Spec(
        CausalSelfAttention,
        lambda n_embd=4, n_head=2, std=0.08: seeded(
            lambda: CausalSelfAttention(n_embd, n_head, std)
        ),
        widths,
    )
    yield Spec(
        Block,
        lambda n_embd=4, n_head=2, std=0.08: seeded(lambda: Block(n_embd, n_head, std)),
        widths,
    )
    yield Spec(
        FeedForward,
        lambda n_embd=2, std=0.08: seeded(lambda: FeedForward(n_embd, std)),
        {"n_embd": count(1), "std": real(0.0)},
    )
    yield Spec(
        gpt.Embedding,
        lambda num_embeddings=4, embedding_dim=2, std=0.08: seeded(
            lambda: gpt.Embedding(num_embeddings, embedding_dim, std)
        ),
        {"num_embeddings": count(1), "embedding_dim": count(1), "std": real(0.0)},
    )
    yield Spec(
        gpt.Linear,
        lambda in_features=2, out_features=3, bias=False, std=0.08: seeded(
            lambda: gpt.Linear(in_features, out_features, bias, std)
        ),
        {
            "in_features": count(1),
            "out_features": count(1),
            "bias": flag(),
            "std": real(0.0),
        },
    )
    yield Spec(KVCache, lambda n_layer=1: KVCache(n_layer), {"n_layer": count(1)})
    index = Kind((*count(0).bad, (4, V), (np.int64(4), V)), count(0).twins)
    yield Spec(
        gpt.Embedding.__call__,
        lambda index=1: seeded(lambda: gpt.Embedding(4, 2))(index),
        {"index": index},
    )
    vector = numbers(2)
    vector = Kind((*vector.bad, ([0.5, 0.5, 0.5], V), ([0.5], V)), vector.twins)
    yield Spec(
        gpt.Linear.__call__,
        lambda x=(0.5, -0.25): seeded(lambda: gpt.Linear(2, 2, bias=True))(x),
        {"x": vector},
    )
    yield Spec(
        FeedForward.__call__,
        lambda x=(0.5, -0.25): seeded(lambda: FeedForward(2))(x),
        {"x": vector},
    )
    yield Spec(gpt.rmsnorm, lambda x=(0.5, -0.25), eps=1e-5: gpt.rmsnorm(x, eps), {"x": numbers(2)})
    yield Spec(gpt.rmsnorm, lambda eps=1e-5: gpt.rmsnorm([1.0, 2.0], eps), {"eps": real(0.0)})
    for fn in (gpt.softmax, gpt.log_softmax):
        yield Spec(fn, lambda logits=(0.5, -0.25), fn=fn: fn(logits), {"logits": numbers(2)})
    good = [[0.5, -0.25], [0.125, 1.0]]
    sequence = Kind(
        (
            ("ab", T),
            (None, T),
            (5, T),
            ([], V),
            ([[0.5, 0.5, 0.5]], V),
            ([[0.5, 0.5], "a"], T),
            ([[0.5, 0.5], [0.5, None]], T),
            ([[0.5, 0.5], [0.5, "a"]], T),
        ),
        ((good, np.array(good)), (good, tuple(tuple(r) for r in good))),
    )
    for owner in (Block, CausalSelfAttention):
        yield Spec(
            owner.forward,
            lambda xs=good, owner=owner: seeded(lambda: owner(2, 2)).forward(xs),
            {"xs": sequence},
        )
    cached = Kind((("ab", T), (5, T), ((), T), ([[0.5, 0.5, 0.5]], V), ([[0.5, 0.5], "a"], T)))
    for owner in (Block, CausalSelfAttention):

        def step(x: Any = (0.5, -0.25), keys: Any = None, values: Any = None, owner: Any = owner):
            module = seeded(lambda: owner(2, 2))
            return module.step(x, [] if keys is None else keys, [] if values is None else values)

        yield Spec(owner.step, step, {"x": vector, "keys": cached, "values": cached})
    tokens = Kind(
        (
            ("ab", T),
            (None, T),
            ([], V),
            ([0] * 5, V),
            ([2, 3], V),
            ([2, -1], V),
            ([2, 1.0], T),
            ([2, True], T),
            ([2, None], T),
        ),
        (
            ([2, 0, 1], np.array([2, 0, 1])),
            ([2, 0, 1], (2, 0, 1)),
            ([2, 0, 1], [np.int64(2), np.int32(0), 1]),
        ),
    )
    for method in (gpt.GPT.forward, gpt.GPT.__call__):
        yield Spec(
            method, lambda tokens=(2, 0, 1), m=method: m(tiny_gpt(), tokens), {"tokens": tokens}
        )
    token = Kind((*count(0).bad, (3, V)), count(0).twins)
    full = tiny_gpt()
    full_cache = full.new_cache()
    for t in (2, 0, 1, 0):
        full.step(t, full_cache)
    yield Spec(
        gpt.GPT.step,
        lambda token=2, cache=None: (
            lambda m: m.step(token, m.new_cache() if cache is None else cache)
        )(tiny_gpt()),
        {
            "token": token,
            "cache": Kind((("c", T), ([], T), (KVCache(2), V), (full_cache, V))),
        },
    )
    config = Kind(
        (
            ("x", T),
            (None, T),
            ({}, V),
            ({"vocab_size": "3", "n_embd": 2, "n_head": 2, "n_layer": 1, "block_size": 4}, V),
        )
    )
    yield Spec(
        gpt.GPT.from_config,
        lambda config={"vocab_size": 3, **tiny}: seeded(lambda: gpt.GPT.from_config(config)),
        {"config": config},
    )
    # --- the tokenizer ---
    tok = gpt.CharTokenizer("abc")
    yield Spec(
        gpt.CharTokenizer,
        lambda chars="abc": gpt.CharTokenizer(chars),
        {"chars": Kind((*text().bad, ("", V), ("ba", V), ("aa", V)))},
    )
    documents = Kind((("ab", T), (None, T), (3, T), ([], V), ([""], V), (["a", 3], T)))
    yield Spec(
        gpt.CharTokenizer.from_documents,
        lambda documents=("ab", "c"): gpt.CharTokenizer.from_documents(documents),
        {"documents": Kind(documents.bad, ((["ab", "c"], ("ab", "c")),))},
    )
    for method in (gpt.CharTokenizer.encode, gpt.CharTokenizer.document):
        yield Spec(
            method,
            lambda text="cab", method=method: method(tok, text),
            {"text": Kind((*text().bad, ("abz", V)))},
        )
    ids = Kind(
        (("ab", T), (None, T), ([0, 1.5], T), ([0, True], T), ([0, -1], V), ([0, 4], V)),
        (([0, 3, 1], np.array([0, 3, 1])), ([0, 3, 1], (0, 3, 1))),
    )
    yield Spec(gpt.CharTokenizer.decode, lambda ids=(0, 3, 1): tok.decode(ids), {"ids": ids})
    yield Spec(
        gpt.CharTokenizer.from_dict,
        lambda data={"chars": "ab"}: gpt.CharTokenizer.from_dict(data),
        {"data": Kind((("x", T), ([], T), ({"c": "ab"}, V), ({"chars": 3}, T)))},
        words={"data": "data|chars"},
    )
    # --- data, sampling, training ---
    yield Spec(
        gpt.read_documents, lambda path=None: gpt.read_documents(path), {"path": file_path()}
    )
    chars = gpt.CharTokenizer("ab")
    model = seeded(lambda: gpt.GPT(3, **tiny))

    def generate(
        model: Any = model,
        tokenizer: Any = chars,
        num: Any = 2,
        temperature: Any = 0.5,
        prefix: Any = "a",
        rng: Any = None,
    ) -> Any:
        draws = random.Random(0) if rng is None else rng
        return gpt.generate(model, tokenizer, num, temperature, prefix, draws)

    yield Spec(
        gpt.generate,
        generate,
        {
            "model": Kind(((None, T), ("m", T))),
            "tokenizer": Kind(((None, T), ("ab", T), (gpt.CharTokenizer("abc"), V))),
            "num": count(0),
            "temperature": real(0.0, open_low=True),
            "prefix": Kind((*text().bad, ("c", V), ("aaa", V))),
            "rng": Kind((("r", T), (3, T))),
        },
    )
    yield Spec(
        gpt_sample.probabilities,
        lambda logits=(0.5, -0.25), temperature=0.5: gpt_sample.probabilities(logits, temperature),
        {"logits": numbers(2), "temperature": real(0.0, open_low=True)},
    )
    not_a_model = Kind(((None, T), ("m", T), (nn.MLP(2, [1]), T)))
    yield Spec(
        gpt.document_loss,
        lambda model=model, tokens=(2, 0, 1, 2): gpt.document_loss(model, tokens),
        {"model": not_a_model, "tokens": Kind((*tokens.bad[:3], ([2], V)), tokens.twins)},
    )
    yield Spec(
        gpt.make_optimizer,
        lambda model=model, lr=0.01: gpt.make_optimizer(model, lr),
        {"model": not_a_model, "lr": real(0.0)},
    )
    yield Spec(
        gpt.schedule,
        lambda lr=0.01, steps=10: gpt.schedule(lr, steps)(3),
        {"lr": real(0.0), "steps": count(1)},
    )
    yield Spec(
        gpt_train.shuffled,
        lambda documents=("a", "b", "c"), seed=1: gpt_train.shuffled(documents, seed),
        {
            "documents": Kind(((None, T), ("ab", T), ([1], T)), ((["a", "b"], ("a", "b")),)),
            "seed": seed_kind(),
        },
    )
    opt = gpt.make_optimizer(model)
    yield Spec(
        gpt.value_step,
        lambda model=model, optimizer=opt: gpt.value_step(model, optimizer)([2, 0, 2], 0.01),
        {
            "model": not_a_model,
            "optimizer": Kind(((None, T), ("x", T), (optim.SGD(model.parameters()), T))),
        },
    )


def func_specs() -> Iterator[Spec]:
    """The rows of micrograd.func's transforms and of gradcheck.gradgradcheck."""
    from micrograd import func as transforms

    def pick(f: Any, has_aux: Any, output: Callable[..., Any]) -> Any:
        if f is not FRESH:
            return f
        return (lambda *a: (output(*a), "aux")) if has_aux else output

    def product(x: Any, y: Any) -> Any:
        return x * x * y

    argnums = Kind(
        ((1.5, T), ("0", T), (None, T), (True, T), ([0], T), ((), V), (-1, V), (2, V), ((0, 0), V)),
        ((0, np.int64(0)), ((0, 1), (np.int32(0), 1))),
    )
    argument = Kind(
        (("a", T), (None, T), (True, T), (1j, T), ({0: 1.0}, T), ([0.5, "a"], T), (10**400, V)),
        ((0.5, np.float64(0.5)), (0.5, np.float32(0.5)), (2.0, 2), (2.0, np.int64(2))),
    )
    vector = Kind(
        (("ab", T), ([0.5, None], T), ([0.5, [None]], T)),
        (([0.5, 0.25], np.array([0.5, 0.25])), ([0.5, 0.25], (0.5, 0.25))),
    )
    for transform in (
        transforms.grad,
        transforms.value_and_grad,
        transforms.jacobian,
        transforms.jacfwd,
    ):
        yield Spec(
            transform,
            lambda f=FRESH, argnums=0, has_aux=False, x=0.5, transform=transform: transform(
                pick(f, has_aux, product), argnums, has_aux
            )(x, 1.5),
            {"f": func(), "argnums": argnums, "has_aux": flag(), "x": argument},
            words={"x": "argument 0"},
        )
        yield Spec(
            transform,
            lambda xs=(0.5, 0.25), transform=transform: transform(lambda v: v[0] * v[1])(xs),
            {"xs": vector},
            words={"xs": "argument 0"},
            label=f"{transform.__name__} of a list",
        )
    yield Spec(
        transforms.hessian,
        lambda f=product, argnums=0, x=0.5: transforms.hessian(f, argnums)(x, 1.5),
        {"f": func(), "argnums": argnums, "x": argument},
        words={"x": "argument 0"},
    )
    yield Spec(
        transforms.jvp,
        lambda f=FRESH, primals=(0.5, 1.5), tangents=(1.0, 0.0), has_aux=False: transforms.jvp(
            pick(f, has_aux, product), primals, tangents, has_aux
        ),
        {
            "f": func(),
            "primals": Kind(
                ((0.5, T), ("ab", T), (None, T), (("a", 1.5), T), ((1j, 1.5), T)),
                (((0.5, 1.5), [0.5, 1.5]), ((0.5, 1.0), (np.float64(0.5), np.int64(1)))),
            ),
            "tangents": Kind(
                ((1.0, T), ((1.0,), V), (("a", 0.0), T), (([1.0], 0.0), V), (None, T)),
                (((1.0, 0.0), [1.0, 0.0]), ((1.0, 0.0), (np.float64(1.0), np.int64(0)))),
            ),
            "has_aux": flag(),
        },
    )
    yield Spec(
        transforms.vjp,
        lambda f=FRESH, x=0.5, cotangents=(1.0, 2.0), has_aux=False: (
            lambda r: (r[0], r[1](cotangents), r[2:])
        )(transforms.vjp(pick(f, has_aux, lambda x, y: [x * y, x + y]), x, 1.5, has_aux=has_aux)),
        {
            "f": func(),
            "x": argument,
            "cotangents": Kind(
                ((1.0, V), ("ab", T), ([1.0], V), ([1.0, "a"], T), (None, T)),
                (([1.0, 2.0], np.array([1.0, 2.0])), ([1.0, 2.0], (np.float64(1.0), 2))),
            ),
            "has_aux": flag(),
        },
        words={"x": "argument 0"},
    )
    yield Spec(
        gradcheck.gradgradcheck,
        lambda f=lambda a, b: (a * b).tanh(), inputs=FRESH, h=1e-6, rtol=1e-5, atol=1e-7: (
            gradcheck.gradgradcheck(
                f,
                [Value(0.5), Value(-1.5)] if inputs is FRESH else inputs,
                h,
                rtol=rtol,
                atol=atol,
            )
        ),
        {
            "f": value_function(),
            "inputs": many_values(nonempty=False),
            "h": real(0.0, open_low=True, example=2**-20, whole=1),
            "rtol": real(0.0, whole=0),
            "atol": real(0.0, whole=0),
        },
    )


# --- what needs a row: every callable in an __all__ that takes arguments, and its methods ---

# Public names that take arguments but are not entry points to check, each with the reason.
EXEMPT: dict[Any, str] = {
    engine.Rule: "a record (NamedTuple) of an op's forward, backward and formula",
    engine.Rule.partials: "a rule's own math, called by the engine on floats, Values or arrays",
    fast.NumpyMath: "the namespace a rule's backward is written in, on arrays",
    optim.Schedule: "a type alias: Callable[[int], float]",
    importlib.import_module("micrograd.gpt.train").Step: "a type alias: a GPT training step",
    train.History: "a record that fit() fills",
    train.StepRecord: "a record that fit() makes",
    gradcheck.GradcheckResult: "a record that gradcheck() makes",
    gradcheck.InputCheck: "a record that gradcheck() makes",
    explain.Explanation: "made by explain()",
    explain.Step: "a record that explain() makes",
    explain.Contribution: "a record that explain() makes",
    explain.NaiveComparison: "a record that compare_naive_recursion() makes",
    bench.Report: "a record that run_suite() makes",
    explorer.Group: "a record that find_groups() makes",
    importlib.import_module("micrograd.train_command").run: (
        "the CLI's train command, given argparse's parsed options (cli.main's rows cover them)"
    ),
    importlib.import_module("micrograd.export_command").run: (
        "the CLI's export command, given argparse's parsed options (cli.main's rows cover them)"
    ),
    importlib.import_module("micrograd.expr_command").graph: (
        "the CLI's graph command, given argparse's parsed options (cli.main's rows cover them)"
    ),
    importlib.import_module("micrograd.expr_command").explain: (
        "the CLI's explain command, given argparse's parsed options (cli.main's rows cover them)"
    ),
    importlib.import_module("micrograd.export_command").add_parser: (
        "adds the export command to cli.build_parser's subparsers (its only caller)"
    ),
    bench.Target: "a record of the benchmark's table of goals",
    bench.Workload: "a record of the benchmark's table of workloads",
}
# Classes whose members are the class's business, not entry points of their own.
NAMESPACES = (fast.NumpyMath,)


def takes_arguments(obj: Any, bound: bool) -> bool:
    """Whether calling ``obj`` takes any argument (beyond ``self``/``cls`` when ``bound``)."""
    try:
        parameters = list(inspect.signature(obj).parameters)
    except (TypeError, ValueError):  # no signature to read: assume it takes some
        return True
    return len(parameters) > (1 if bound else 0)


def entry_points() -> Iterator[tuple[str, Any]]:
    """``(dotted name, object)`` for every public callable that takes arguments."""
    for module in MODULES:
        for public in module.__all__:
            obj = getattr(module, public)
            where = f"{module.__name__}.{public}"
            if not callable(obj) or (isinstance(obj, type) and issubclass(obj, BaseException)):
                continue  # a constant, or an error to raise
            if isinstance(obj, type) and getattr(obj, "_is_protocol", False):
                continue  # a Protocol: a type to check against, never called
            if takes_arguments(obj, bound=False):
                yield where, obj
            # A generic alias (Callable[[int], float]) passes isinstance(_, type) on Python 3.10.
            alias = isinstance(obj, types.GenericAlias)
            if not isinstance(obj, type) or alias or obj in NAMESPACES:
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__call__":
                    continue
                bound = not isinstance(member, staticmethod)
                fn = getattr(member, "__func__", member)
                if inspect.isfunction(fn) and takes_arguments(fn, bound):
                    yield f"{where}.{attr}", fn


SPECS = list(specs())


def short(value: Any) -> str:
    """A bad input, short enough for a test id."""
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


BAD_ROWS = [
    pytest.param(spec, arg, bad, error, id=f"{spec.title}-{arg}-{short(bad)}")
    for spec in SPECS
    for arg, kind in spec.args.items()
    for bad, error in kind.bad
]
TWIN_ROWS = [
    pytest.param(spec, arg, python, twin, id=f"{spec.title}-{arg}-{short(twin)}")
    for spec in SPECS
    for arg, kind in spec.args.items()
    for python, twin in kind.twins
]


@pytest.fixture(autouse=True, scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A folder for the files entry points write, holding a saved net to load."""
    global SCRATCH
    SCRATCH = tmp_path_factory.mktemp("inputs")
    mlp().save(SCRATCH / "saved.json")


def test_every_public_entry_point_has_a_row() -> None:
    """Each callable that takes arguments in any module's __all__ (and each of its public
    methods) has rows in this table, or a stated reason to have none."""
    covered = {id(getattr(spec.target, "__func__", spec.target)) for spec in SPECS}
    missing = [
        where for where, obj in entry_points() if id(obj) not in covered and obj not in EXEMPT
    ]
    expected: list[str] = []
    assert expected == missing, missing


def test_the_table_is_large() -> None:
    """The table tries every entry point with many bad inputs and many NumPy twins."""
    expected = (True, True)
    assert expected == (len(BAD_ROWS) > 1000, len(TWIN_ROWS) > 300)


@pytest.mark.parametrize(("spec", "arg", "bad", "error"), BAD_ROWS)
def test_bad_input_is_refused_naming_the_argument(
    spec: Spec, arg: str, bad: Any, error: type[Exception]
) -> None:
    """A wrong type raises TypeError, a wrong value ValueError, whose message names the argument."""
    word = spec.words.get(arg, re.escape(arg))
    with pytest.raises((TypeError, ValueError)) as caught:
        spec.call(**{arg: bad})
    message = f"{type(caught.value).__name__}: {caught.value}"
    named = re.search(rf"(?<![\w.])(?:{word})(?!\w)", str(caught.value)) is not None
    expected = (True, True)
    assert expected == (isinstance(caught.value, error), named), message


@pytest.mark.parametrize(("spec", "arg", "python", "twin"), TWIN_ROWS)
def test_numpy_input_gives_the_python_inputs_result(
    spec: Spec, arg: str, python: Any, twin: Any
) -> None:
    """A NumPy scalar or array, an int for a float or a tuple for a list, is accepted and gives
    exactly what the Python number or list gives."""
    assert plain(spec.call(**{arg: python})) == plain(spec.call(**{arg: twin}))


# --- the issue's own examples, by name ---

ISSUE_REFUSALS = {
    "Value(10**400)": (lambda: Value(10**400), ValueError, "data"),
    "a NumPy complex as a Value": (lambda: Value(np.complex128(1 + 2j)), TypeError, "data"),
    "backward(grad='x')": (lambda: (Value(2.0) * 3).backward(grad="x"), TypeError, "grad"),
    "cross_entropy target nan": (
        lambda: losses.cross_entropy([PAIR], [NAN]),
        TypeError,
        "targets",
    ),
    "cross_entropy target inf": (lambda: losses.cross_entropy([PAIR], [INF]), TypeError, "targets"),
    "cross_entropy target None": (
        lambda: losses.cross_entropy([PAIR], [None]),  # type: ignore[list-item]
        TypeError,
        "targets",
    ),
    "cross_entropy target '1'": (lambda: losses.cross_entropy([PAIR], ["1"]), TypeError, "targets"),
    "fit(max_grad_norm=-1)": (lambda: run_fit(max_grad_norm=-1.0), ValueError, "max_grad_norm"),
    "fit(l2=-1)": (lambda: run_fit(l2=-1.0), ValueError, "l2"),
    "ArraySGD(lr=-1)": (lambda: fast.ArraySGD(lr=-1), ValueError, "lr"),
    "SGD(nesterov='no')": (
        lambda: optim.SGD(params2(), lr=0.1, momentum=0.9, nesterov="no"),  # type: ignore[arg-type]
        TypeError,
        "nesterov",
    ),
    "MLP(...)(b'abc')": (lambda: mlp((3, 1))(b"abc"), TypeError, "x"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("example", ISSUE_REFUSALS)
def test_the_issues_bad_inputs_are_refused(example: str) -> None:
    """Each bad input the issue names raises the error that names its argument."""
    call, error, word = ISSUE_REFUSALS[example]
    with pytest.raises(error, match=rf"\b{word}\b"):
        call()


def test_the_issues_numpy_inputs_work() -> None:
    """NumPy integers as sizes, steps and labels and a NumPy array of labels train the very net
    the Python numbers do (they were refused, or 'truth value ambiguous')."""
    expected = plain(run_fit(seeded(lambda: nn.MLP(2, [3, 1])), steps=3, y=Y4))
    model = seeded(lambda: nn.MLP(np.int64(2), [np.int64(3), np.int32(1)]))
    assert expected == plain(run_fit(model, steps=np.int64(3), y=np.array(Y4)))
