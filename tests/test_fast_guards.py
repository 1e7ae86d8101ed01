"""The compiled path never replays a silently wrong graph: every number read is guarded."""

from __future__ import annotations

import math
import operator
import random
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.data import make_moons
from micrograd.engine import Value, no_grad
from micrograd.losses import cross_entropy
from micrograd.nn import MLP, Module
from micrograd.train import fit
from optable import OPS, same_float


def values_of(x: Any) -> Any:
    """Nested lists of numbers as nested lists of fresh Values (what a trace hands the function)."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [values_of(item) for item in x]
    return Value(float(x))


def engine_run(
    fn: Callable[..., Value], params: list[Value], *inputs: Any
) -> tuple[float, list[float]]:
    """The Value engine's loss and parameter gradients of ``fn`` on Values of ``inputs``."""
    for p in params:
        p.grad = 0.0
    loss = fn(*(values_of(x) for x in inputs))
    loss.backward()
    result = loss.data, [float(p.grad) for p in params]
    for p in params:
        p.grad = 0.0
    return result


def program_run(
    program: fast.Program, params: list[Value], *inputs: Any
) -> tuple[float, list[float]]:
    """A program's loss and parameter gradients (grads zeroed first, retrace warnings hidden)."""
    for p in params:
        p.grad = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        loss = program(*inputs)
    result = loss, [float(p.grad) for p in params]
    for p in params:
        p.grad = 0.0
    return result


def same_run(a: tuple[float, list[float]], b: tuple[float, list[float]]) -> bool:
    """Equal losses and gradients to 1e-12 (nan matches nan)."""
    return same_float(a[0], b[0]) and all(same_float(x, y) for x, y in zip(a[1], b[1], strict=True))


# --- the cases ---


def test_a_branch_on_an_inputs_data_is_traced_again_to_the_engines_answer() -> None:
    """Traced at x = 1, ``w*x if x.data > 0 else w*x*10`` gives the engine's (-20, -10) at -1."""
    w = Value(2.0)
    program = fast.trace(lambda x: w * x if x.data > 0 else w * x * 10, [w], 1.0)
    with pytest.warns(fast.RetraceWarning, match="test_fast_guards.py"):
        loss = program(-1.0)
    assert (loss, w.grad, program.traces) == (-20.0, -10.0, 2)


def test_a_branch_on_data_is_refused_without_retrace_naming_the_line() -> None:
    """With retrace=False the changed branch raises StructureError quoting the user's line."""
    w = Value(2.0)
    program = fast.trace(lambda x: w * x if x.data > 0 else w * x * 10, [w], 1.0, retrace=False)
    assert program(1.0) == 2.0
    with pytest.raises(fast.StructureError, match=r"x\.data > 0"):
        program(-1.0)


def test_a_parameters_data_read_is_guarded() -> None:
    """``w.data * x`` is not baked in: after w goes from 2 to 5 a program gives the engine's 30."""
    w = Value(2.0)
    fn = lambda x: w.data * x + w * x  # noqa: E731
    program = fast.trace(fn, [w], 3.0)
    w.data = 5.0
    assert program_run(program, [w], 3.0) == engine_run(fn, [w], 3.0) == (30.0, [3.0])


class BranchOnData(Module):
    """A custom module whose forward branches on a number: leaky by hand."""

    def __init__(self) -> None:
        random.seed(0)
        self.mlp = MLP(2, [8, 1])

    def __call__(self, x: Any) -> Value:
        s = self.mlp(x)
        assert isinstance(s, Value)
        return s if s.data > 0 else s * 0.1

    def parameters(self) -> list[Value]:
        return self.mlp.parameters()


def test_fit_fast_refuses_a_model_that_branches_on_data_before_training() -> None:
    """fit(engine="fast") raises StructureError naming the branch's line; no weight has moved."""
    X, y = make_moons(40, noise=0.1, seed=0)
    model = BranchOnData()
    before = [p.data for p in model.parameters()]
    with pytest.raises(fast.StructureError, match=r"s\.data > 0"):
        fit(model, X, y, steps=3, engine="fast")
    assert [p.data for p in model.parameters()] == before


def test_fit_auto_trains_a_model_that_branches_on_data_on_the_value_engine() -> None:
    """fit(engine="auto") gives engine="value"'s losses for a model whose graph reads numbers."""
    X, y = make_moons(40, noise=0.1, seed=0)
    value = fit(BranchOnData(), X, y, steps=4, engine="value").losses
    assert fit(BranchOnData(), X, y, steps=4, engine="auto").losses == value


class CompareInput(BranchOnData):
    """A module that compares its input with a number: fine on floats, a TypeError on Values."""

    def __call__(self, x: Any) -> Value:
        s = self.mlp(x)
        assert isinstance(s, Value)
        return s if x[0] > 0 else s * 0.1


def test_fit_auto_trains_a_model_that_cannot_take_values_on_the_value_engine() -> None:
    """A model that only works on plain numbers: "auto" trains it on the Value engine, "fast"
    raises its TypeError before any step, saying it came from tracing."""
    X, y = make_moons(40, noise=0.1, seed=0)
    value = fit(CompareInput(), X, y, steps=3, engine="value").losses
    assert fit(CompareInput(), X, y, steps=3, engine="auto").losses == value
    model = CompareInput()
    before = [p.data for p in model.parameters()]
    with pytest.raises(TypeError, match="'>' not supported") as info:
        fit(model, X, y, steps=3, engine="fast")
    if sys.version_info >= (3, 11):  # exceptions carry notes from 3.11
        assert "while tracing the step for engine='fast'" in "".join(info.value.__notes__)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("engine", ["value", "fast", "auto"])
def test_fit_refuses_a_label_beyond_the_classes_before_training(engine: str) -> None:
    """A label 7 for a model with 3 outputs is a ValueError on every engine, before any step."""
    X, y = make_moons(12, noise=0.1, seed=0)
    random.seed(0)
    model = MLP(2, [4, 3])
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=r"y\[0\] must be a class index below 3 .*, not 7"):
        fit(model, X, [7, *y[1:]], loss="cross_entropy", steps=2, engine=engine)
    assert [p.data for p in model.parameters()] == before


def test_class_index_targets_work_in_a_traced_loss() -> None:
    """cross_entropy on traced class-index targets equals the engine, and follows new labels."""
    random.seed(0)
    model = MLP(2, [4, 3])
    params = model.parameters()
    X = [[0.5, -1.0], [1.0, 1.0], [-0.5, 0.25]]

    def loss_fn(xs: list[list[Value]], ts: list[Value]) -> Value:
        return cross_entropy([model(x) for x in xs], ts)

    program = fast.trace(loss_fn, params, X, [2, 0, 1])
    assert same_run(
        program_run(program, params, X, [2, 0, 1]), engine_run(loss_fn, params, X, [2, 0, 1])
    )
    assert same_run(
        program_run(program, params, X, [0, 0, 2]), engine_run(loss_fn, params, X, [0, 0, 2])
    )
    assert program.traces == 2


def test_a_class_index_beyond_the_classes_in_a_traced_loss_names_the_number() -> None:
    """A traced target 7 for 3 classes is refused naming the target, its number and the bound."""
    random.seed(0)
    model = MLP(2, [4, 3])

    def loss_fn(xs: list[list[Value]], ts: list[Value]) -> Value:
        return cross_entropy([model(x) for x in xs], ts)

    with pytest.raises(ValueError, match=r"targets\[0\] must be a class index from 0 to 2, .*7\.0"):
        fast.trace(loss_fn, model.parameters(), [[0.5, -1.0]], [7])


@pytest.mark.parametrize("target", [-1, 3])
def test_a_class_index_input_outside_the_classes_names_its_number(target: int) -> None:
    """An index input (``indices=``) of -1 or 3 for 3 classes is refused naming the target, its
    number (not the traced stand-in) and the classes' range, when traced and at a later call."""
    logits = [Value(0.5), Value(-1.0), Value(2.0)]
    words = rf"targets\[0\] must be a class index from 0 to 2, not {target} \(int\)"

    def loss_fn(t: Any) -> Value:
        return cross_entropy([logits], [t])

    with pytest.raises(ValueError, match=words):
        fast.trace(loss_fn, logits, target, indices=[0])
    program = fast.trace(loss_fn, logits, 1, indices=[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        with pytest.raises(ValueError, match=words):
            program(target)


# --- inputs are numbers, or a clear error ---

BAD_INPUTS: list[tuple[Any, type[Exception], str]] = [
    (None, TypeError, "not NoneType"),
    ("1.5", TypeError, "not an array of <U3"),
    (b"1", TypeError, "not an array of |S1"),
    ([1.0, "2"], TypeError, "not an array of <U32"),
    ([1.0, None], TypeError, "not NoneType"),
    ([[1.0, 2.0], [3.0]], ValueError, "of one shape"),
    (1 + 2j, TypeError, "complex128"),
    (np.array([1 + 2j]), TypeError, "complex128"),
    (Value(1.0), TypeError, "a Value that needs a gradient is a parameter"),
    ([Value(1.0)], TypeError, "not Value"),
    ({"a": 1.0}, TypeError, "not dict"),
    (10**400, ValueError, "not an int of 1329 bits"),  # past the floats, as Value(10**400)
    ([1.0, -(10**400)], ValueError, "not an int of 1329 bits"),
]


@pytest.mark.parametrize(("bad", "error", "message"), BAD_INPUTS)
def test_a_program_refuses_what_is_not_numbers(
    bad: Any, error: type[Exception], message: str
) -> None:
    """None, text, complex, ragged lists or Values as input raise naming input 0; no grad moves."""
    w = Value(2.0)
    program = fast.trace(lambda x: w * 3.0, [w], 1.0)
    program(1.0)
    with pytest.raises(error, match="input 0 must be a real number") as info:
        program(bad)
    assert message in str(info.value)
    assert w.grad == 3.0


def test_nan_and_numpy_numbers_are_inputs_like_any_number() -> None:
    """nan gives the engine's nan; NumPy scalars, ints, bools and Fractions are numbers."""
    from fractions import Fraction

    w = Value(2.0)

    def fn(x: Any) -> Value:
        if isinstance(x, list):
            return sum((fn(item) for item in x), Value(0.0))
        return w * x

    for x in (math.nan, np.float32(1.5), np.int64(3), True, Fraction(1, 4), [[np.float64(2.0)]]):
        expected = engine_run(fn, [w], np.asarray(x, dtype=np.float64).tolist())
        program = fast.trace(fn, [w], x)
        assert same_run(program_run(program, [w], x), expected), x


# --- every way to read a number, generated ---


def parse_repr(text: str) -> float:
    """The data in a Value's text, ``Value(data=..., grad=...)``."""
    return float(text.split("data=")[1].split(",")[0])


def no_grad_copy(v: Value) -> Value:
    """``v + 0`` computed under no_grad(): a leaf holding v's number."""
    with no_grad():
        return v + 0.0


# Each reads a number out of a Value (or a float made from one).
READS: dict[str, Callable[[Value], float]] = {
    ".data": lambda v: v.data,
    "float()": float,
    "complex()": lambda v: complex(v).real,
    "math.floor()": lambda v: float(math.floor(v)),
    "math.fsum()": lambda v: math.fsum([v]),
    "np.float64()": lambda v: float(np.float64(v)),
    "str()": lambda v: parse_repr(str(v)),
    "repr()": lambda v: parse_repr(repr(v)),
    "f-string": lambda v: parse_repr(f"{v}"),
    "format()": lambda v: parse_repr(format(v)),
    "round(.data)": lambda v: float(round(v.data, 1)),
    "int(.data)": lambda v: float(int(v.data)),
    ".data compared": lambda v: 1.0 if v.data > 0.25 else -1.0,
    "max(key=.data)": lambda v: max([v, Value(0.25)], key=operator.attrgetter("data")).data,
    "index by .data": lambda v: [-1.0, 1.0][v.data > 0],
    "detach()": lambda v: v.detach().data,
    "Value(v)": lambda v: Value(v).data,
    "op under no_grad()": lambda v: no_grad_copy(v).data,
}

# The Value read: made from the parameter w and the input x; the loss uses it unless "off".
NODES: dict[str, Callable[[Value, Value], Value]] = {
    "input": lambda w, x: x,
    "parameter": lambda w, x: w,
    "intermediate": lambda w, x: (w * x + 0.5).tanh(),
    "fused sum": lambda w, x: w * x + x * x * 0.5 + w,
    "deep": lambda w, x: ((w * x).exp() + (x * 0.5).sigmoid()) ** 0.5 - (w * w + 1.0).log(),
    "off the loss": lambda w, x: (x * 3.0).exp() - 1.0,
}

STEPS = [-2.0, -0.5, 0.0, 0.25, 0.3, 1.5, 3.0]


def reading(read: str, node: str, w: Value) -> Callable[[Value], Value]:
    """A loss whose graph depends on the number ``read`` takes out of Value ``node``."""

    def fn(x: Value) -> Value:
        v = NODES[node](w, x)
        k = READS[read](v)
        base = w * x
        used = base if node == "off the loss" else v
        if k > 0:  # the read number picks the branch and is a constant of the graph
            return base * k + used
        return (base * 10.0).tanh() + used

    return fn


@pytest.mark.parametrize("read", sorted(READS))
@pytest.mark.parametrize("node", sorted(NODES))
@settings(max_examples=6)
@given(
    st.sampled_from(STEPS),
    st.sampled_from(STEPS),
    st.sampled_from([0.5, 2.0]),
    st.sampled_from([0.5, 2.0, -1.0]),
)
def test_every_way_to_read_a_number_is_guarded(
    read: str, node: str, x0: float, x1: float, w0: float, w1: float
) -> None:
    """Traced at (w0, x0) and run at (w1, x1), a program gives the engine's answer, retracing
    exactly when the Value read holds another number; with retrace=False it raises instead."""
    w = Value(w0)
    fn = reading(read, node, w)
    program = fast.trace(fn, [w], x0)
    strict = fast.trace(fn, [w], x0, retrace=False)
    read_then = NODES[node](Value(w0), Value(x0)).data
    w.data = w1
    read_now = NODES[node](Value(w1), Value(x1)).data
    both_nan = math.isnan(read_now) and math.isnan(read_then)
    changed = not both_nan and (
        read_now != read_then or math.copysign(1.0, read_now) != math.copysign(1.0, read_then)
    )
    expected = engine_run(fn, [w], x1)
    assert same_run(program_run(program, [w], x1), expected)
    assert program.traces == 1 + changed
    if changed:
        with pytest.raises(fast.StructureError, match=r"test_fast_guards\.py"):
            strict(x1)
    else:
        assert same_run(program_run(strict, [w], x1), expected)


@pytest.mark.parametrize(
    ("name", "use"),
    [
        ("<", lambda v: v < 0),
        (">", lambda v: v > Value(0.0)),
        ("int()", int),
        ("round()", round),
        ("math.trunc()", math.trunc),
        ("operator.index()", operator.index),
        ("list index", lambda v: [1.0, 2.0][v]),
        ("format spec", lambda v: f"{v:.2f}"),
        ("divmod()", lambda v: divmod(v, 1)),
    ],
)
def test_a_read_the_engine_refuses_is_refused_alike_in_a_trace(
    name: str, use: Callable[[Value], Any]
) -> None:
    """Reads that Value does not offer raise the same TypeError inside a trace as outside."""
    with pytest.raises(TypeError) as outside:
        use(Value(1.0))
    w = Value(2.0)
    with pytest.raises(TypeError) as inside:
        fast.trace(lambda x: w * x + float(use(x) is None), [w], 1.0)
    assert str(inside.value) == str(outside.value), name


def test_identity_hash_and_truth_read_no_number() -> None:
    """``==`` (identity), ``hash`` and ``bool`` of a Value read no number: no guard, no retrace."""
    w = Value(2.0)

    def fn(x: Value) -> Value:
        y = w * x
        assert y == y and y != x and bool(y) and hash(y) == hash(y)
        return y

    program = fast.trace(fn, [w], 1.0)
    assert (program.guards, program(-4.0), program.traces) == ([], -8.0, 1)


def test_a_guard_on_a_deep_fused_node_holds_to_the_last_bit() -> None:
    """A loss that reads each sample's score (a dot product, tanh, exp) replays without retracing
    on the same numbers, and retraces once the weights move."""
    random.seed(0)
    model = MLP(2, [16, 16, 1], activation="tanh")
    params = model.parameters()
    X, _ = make_moons(50, noise=0.1, seed=0)

    def loss_fn(xs: list[list[Value]]) -> Value:
        scores = [model(x).exp() for x in xs]
        picked = [s if s.data > 1.0 else s * 0.5 for s in scores]  # type: ignore[union-attr]
        return sum(picked, Value(0.0)) * (1.0 / len(picked))

    program = fast.trace(loss_fn, params, X)
    for _ in range(3):
        assert same_run(program_run(program, params, X), engine_run(loss_fn, params, X))
    assert program.traces == 1
    params[0].data += 0.25
    assert same_run(program_run(program, params, X), engine_run(loss_fn, params, X))
    assert program.traces == 2


def test_a_parameters_grad_read_is_guarded() -> None:
    """``w.grad`` read in the function is a guard: a new grad traces again, or raises."""
    w = Value(2.0)
    w.grad = 1.0
    fn = lambda x: w * x * (w.grad + 1.0)  # noqa: E731
    program = fast.trace(fn, [w], 3.0, retrace=False)
    w.grad = 1.0
    assert program(3.0) == 12.0
    w.grad = 0.0
    with pytest.raises(fast.StructureError, match=r"\.grad of parameter 0 .*w\.grad \+ 1\.0"):
        program(3.0)


def test_loss_and_grad_traces_again_at_theta_and_leaves_the_values_alone() -> None:
    """A parameter guard failing in ``loss_and_grad(theta)`` retraces at theta, not at ``.data``."""
    w = Value(2.0)
    fn = lambda x: w * x * w.data  # noqa: E731
    program = fast.trace(fn, [w], 3.0)
    with pytest.warns(fast.RetraceWarning):
        loss, grad = program.loss_and_grad(np.array([5.0]), 3.0)
    assert (loss, grad.tolist(), w.data, w.grad) == (75.0, [15.0], 2.0, 0.0)


def test_a_value_captured_from_outside_is_read_at_each_call() -> None:
    """A Value the function closes over (not a parameter) is read at each call, as by the engine."""
    w, c = Value(2.0), Value(3.0)
    fn = lambda x: w * x * c  # noqa: E731
    program = fast.trace(fn, [w], 1.0)
    c.data = -4.0
    assert program_run(program, [w], 1.0) == engine_run(fn, [w], 1.0) == (-8.0, [-4.0])


# --- what a program cannot replay is refused at trace time, naming the line ---


def zero_grad_inside(w: Value, x: Value) -> Value:
    """A loss that zeroes its parameter's gradient (a side effect a program does not replay)."""
    w.grad = 0.0
    return w * x


def backward_inside(w: Value, x: Value) -> Value:
    """A loss that calls backward() itself, writing into the parameter's gradient."""
    y = w * x
    y.backward()
    return y


def set_node_data(w: Value, x: Value) -> Value:
    """A loss that overwrites an intermediate node's number."""
    y = w * x
    y.data = 7.0
    return y * 2.0


def set_input_data(w: Value, x: Value) -> Value:
    """A loss that overwrites an input's number."""
    x.data = 1.0
    return w * x


def set_param_data(w: Value, x: Value) -> Value:
    """A loss that steps its own parameter."""
    w.data -= 0.1
    return w * x


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (zero_grad_inside, r"sets \.grad of a parameter .* at .*w\.grad = 0\.0"),
        (backward_inside, r"sets \.grad of a parameter .* at .*y\.backward\(\)"),
        (set_node_data, r"sets \.data of a Value at .*y\.data = 7\.0"),
        (set_input_data, r"sets \.data of a Value at .*x\.data = 1\.0"),
        (set_param_data, r"sets \.data of a parameter at .*w\.data -= 0\.1"),
    ],
)
def test_writes_inside_a_traced_function_are_refused_naming_the_line(
    body: Callable[[Value, Value], Value], message: str
) -> None:
    """Setting a Value's number or a parameter's gradient raises TraceError quoting the line."""
    w = Value(2.0)
    with pytest.raises(fast.TraceError, match=message):
        fast.trace(lambda x: body(w, x), [w], 1.0)
    assert (w.data, w.grad, type(w)) == (2.0, 0.0, Value)


def test_a_lecture_style_closure_op_is_refused_naming_it() -> None:
    """An op whose derivative is an ``out._backward`` closure raises TraceError naming the op."""

    def cube(x: Value) -> Value:
        out = Value(x.data**3, (x,), "cube")

        def _backward() -> None:
            x.grad += 3 * x.data**2 * out.grad

        out._backward = _backward
        return out

    w = Value(2.0)
    with pytest.raises(fast.TraceError, match=r"op 'cube'.*_backward closure"):
        fast.trace(lambda x: cube(w * x), [w], 1.0)


def test_a_hand_made_node_is_compiled_by_its_rule_when_it_holds_that_rules_number() -> None:
    """``Value(a.data * b.data, (a, b), '*')`` compiles; one holding another number is refused."""
    w = Value(2.0)

    def fn(x: Value) -> Value:
        return Value(w.data * x.data, (w, x), "*") + w

    program = fast.trace(fn, [w], 3.0)
    w.data = -1.5
    assert program_run(program, [w], 4.0) == engine_run(fn, [w], 4.0) == (-7.5, [5.0])
    with pytest.raises(
        fast.TraceError, match=r"made by hand or before the trace as op 'ReLU' holds 5\.0"
    ):
        fast.trace(lambda x: Value(5.0, (w * x,), "relu"), [w], 1.0)


def test_registered_ops_with_float_only_rules_run_on_the_fast_path() -> None:
    """Ops added with register_op (one and two operands) whose rules branch in Python and call
    math run per element on the compiled path: the engine's values and gradients, one trace."""
    from micrograd.engine import RULES, register_op

    def softsq_backward(x: Any, y: Any, out: Any, g: Any, m: Any) -> tuple[Any]:
        return (g * (2.0 * x if x > 0 else math.exp(x)),)  # floats only: `if` and math.exp

    def hypot_backward(x: Any, y: Any, out: Any, g: Any, m: Any) -> tuple[Any, Any]:
        return (g * x / out, g * y / out) if out else (0.0, 0.0)

    softsq = register_op(
        "softsq_test", lambda x: x * x if x > 0 else math.exp(x) - 1.0, softsq_backward, "d/dx"
    )
    hypot = register_op("hypot_test", math.hypot, hypot_backward, "d/dx = x/out", arity=2)
    try:
        w, b = Value(0.7), Value(-0.3)

        def fn(xs: list[Value]) -> Value:
            terms = [hypot(softsq(w * x), b) + hypot(x, 3.0) for x in xs]
            return sum(terms, Value(0.0))

        program = fast.trace(fn, [w, b], [1.0, -2.0, 0.5])
        for xs in ([1.0, -2.0, 0.5], [-1.0, 3.0, 0.0]):
            assert same_run(program_run(program, [w, b], xs), engine_run(fn, [w, b], xs))
        assert program.traces == 1
    finally:
        del RULES["softsq_test"], RULES["hypot_test"]


def test_an_op_under_no_grad_reads_its_operands() -> None:
    """A number computed under no_grad() inside the function is a guard, not a frozen leaf."""
    w = Value(2.0)

    def fn(x: Value) -> Value:
        with no_grad():
            scale = x * 3.0  # a leaf holding 3x: the graph sees no x behind it
        return w * scale

    program = fast.trace(fn, [w], 1.0)
    assert program_run(program, [w], -2.0) == engine_run(fn, [w], -2.0) == (-12.0, [-6.0])
    assert program.traces == 2


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_themselves_read_no_number(name: str) -> None:
    """Every op of the table computes its number without a guard (only user code reads)."""
    params = [Value(x) for x in OPS[name].smooth[0]]
    program = fast.trace(lambda: OPS[name].value(*params), params)
    assert (program.guards, program.describe().count("guards")) == ([], 0)


def test_a_value_made_before_the_trace_is_used_as_the_engine_uses_it() -> None:
    """A node built outside the function (``h = w * 2``) is compiled from w while it holds w's
    number; once w moves on (the engine keeps h's old number) the program says so."""
    w = Value(2.0)
    h = w * 2.0
    fn = lambda x: h * x + w  # noqa: E731
    program = fast.trace(fn, [w], 3.0, retrace=False)
    assert program_run(program, [w], 5.0) == engine_run(fn, [w], 5.0) == (22.0, [11.0])
    w.data = 4.0
    with pytest.raises(fast.StructureError, match=r"made by hand or before the trace \(op '\*'\)"):
        program(5.0)
    with pytest.raises(fast.TraceError, match=r"holds 4\.0, but '\*' of its operands is now 8\.0"):
        fast.trace(fn, [w], 3.0)
