"""The compiled NumPy path: the Value engine's values and gradients, without retracing."""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd import fast
from micrograd.data import make_blobs, make_circles, make_moons, make_spiral, make_xor
from micrograd.engine import RULES, Value, _FloatMath
from micrograd.losses import binary_cross_entropy, cross_entropy, hinge_loss, l2, mse_loss
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam
from optable import EDGE, OPS, Op, run_value, same_float

BINARY = {"+", "*", "/", "**"}
# The constants a one-operand op carries: exponents of x**k, slopes of leaky_relu.
CONSTANTS = {"**": [*EDGE, 0.5, -0.5, 3.0, -3.0, 1.7], "leaky_relu": [0.01, 0.1, 0.0, -0.5]}


def grid(op: str) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of an edge value and a second operand (or the op's constant)."""
    ys = EDGE if op in BINARY else CONSTANTS.get(op, [0.0])
    ys = sorted(set(ys) | set(CONSTANTS.get(op, [])), key=str)
    pairs = list(itertools.product(EDGE, ys))
    return np.array([x for x, _ in pairs]), np.array([y for _, y in pairs])


def all_same(ours: Sequence[float], theirs: Sequence[float], rtol: float = 1e-12) -> bool:
    """Elementwise ``same_float`` (nan matches nan, infinities match exactly)."""
    return len(ours) == len(theirs) and all(
        same_float(float(a), float(b), rtol) for a, b in zip(ours, theirs, strict=True)
    )


# --- the rule table on arrays ---


def test_every_rule_has_a_numpy_forward() -> None:
    """Each op of ``engine.RULES`` has a vectorized twin of its float forward."""
    assert set(RULES) == set(fast.FORWARDS)


def test_numpy_math_has_the_float_maths_functions() -> None:
    """``NumpyMath`` offers every function a rule's partials may call."""
    names = {n for n in vars(_FloatMath) if not n.startswith("_")}
    assert names <= {n for n in vars(fast.NumpyMath) if not n.startswith("_")}


@pytest.mark.parametrize("op", sorted(RULES))
def test_numpy_forward_equals_the_float_forward_at_edge_values(op: str) -> None:
    """The NumPy twin gives the float forward's value at zeros, huge values, inf and nan."""
    x, y = grid(op)
    with np.errstate(all="ignore"):
        ours = np.broadcast_to(fast.FORWARDS[op](x, y), x.shape)
    expected = [RULES[op].forward(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    assert all_same(ours.tolist(), expected)


def float_backward(op: str, x: float, y: float, g: float) -> tuple[float, ...]:
    """What the engine sends back to each operand on floats, for an output gradient ``g``."""
    rule: Any = RULES[op]
    out = rule.forward(x, y)
    if hasattr(rule, "backward"):
        return tuple(rule.backward(x, y, out, g, _FloatMath))
    return tuple(d * g for d in rule.partials(x, y, out, _FloatMath))


@pytest.mark.parametrize("op", sorted(RULES))
def test_rule_backward_on_arrays_equals_it_on_floats(op: str) -> None:
    """Each rule, run once on arrays with ``NumpyMath``, gives what it gives per float."""
    x0, y0 = grid(op)
    gs = [1.0, -2.5, 0.0, math.inf]
    x, y = np.repeat(x0, len(gs)), np.repeat(y0, len(gs))
    g = np.tile(gs, len(x0))
    with np.errstate(all="ignore"):
        out = fast.FORWARDS[op](x, y)
        ours = [np.broadcast_to(d, x.shape).tolist() for d in fast.rule_backward(op)(x, y, out, g)]
    for k, column in enumerate(ours):
        points = zip(x.tolist(), y.tolist(), g.tolist(), strict=True)
        assert all_same(column, [float_backward(op, *point)[k] for point in points])


# --- the op table, on both paths ---


def op_points(op: Op) -> list[tuple[float, ...]]:
    """Every combination of edge values for the op's inputs, plus its smooth points."""
    return [*itertools.product(EDGE, repeat=op.arity), *op.smooth]


def run_fast(op: Op, xs: tuple[float, ...]) -> tuple[float, list[float]]:
    """The op's value and input gradients through a compiled program."""
    params = [Value(x) for x in xs]
    program = fast.trace(lambda: op.value(*params), params)
    return program(), [float(p.grad) for p in params]


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_table_on_the_compiled_path_equals_the_engine(name: str) -> None:
    """Every op of the shared table gives the engine's value and gradients at every edge point."""
    op = OPS[name]
    for xs in op_points(op):
        expected, actual = run_value(op, xs), run_fast(op, xs)
        assert same_float(actual[0], expected[0]), (xs, actual, expected)
        assert all_same(actual[1], expected[1]), (xs, actual, expected)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_table_batched_in_one_program_equals_the_engine(name: str) -> None:
    """All edge points of an op in one program (one array kernel) give the engine's gradients."""
    op = OPS[name]
    points = op_points(op)
    params = [Value(x) for xs in points for x in xs]
    k = op.arity

    def fn() -> Value:
        outs = [op.value(*params[i : i + k]) for i in range(0, len(params), k)]
        return sum(outs[1:], outs[0])

    fast.trace(fn, params)()
    expected = [g for xs in points for g in run_value(op, xs)[1]]
    assert all_same([float(p.grad) for p in params], expected)


# --- models on the datasets ---


def demo_loss(model: MLP, scores: Sequence[Value], y: Sequence[Any]) -> Value:
    """micrograd's moons demo loss: mean hinge plus 1e-4 L2, labels as numbers or Values."""
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + 1e-4 * sum(p * p for p in model.parameters())


def engine_loss_and_grads(
    model: MLP, loss_fn: Callable[[list[Any], Any], Value], X: Any, y: Any
) -> tuple[float, list[float]]:
    """The loss and parameter gradients on the Value engine, grads zeroed first."""
    model.zero_grad()
    total = loss_fn([model(x) for x in X], y)
    total.backward()
    grads = [float(p.grad) for p in model.parameters()]
    model.zero_grad()
    return total.data, grads


def compiled_loss_and_grads(
    program: fast.Program, model: MLP, X: Any, y: Any
) -> tuple[float, list[float]]:
    """The loss and parameter gradients of a compiled program, grads zeroed first."""
    model.zero_grad()
    loss = program(X, y)
    grads = [float(p.grad) for p in model.parameters()]
    model.zero_grad()
    return loss, grads


def moons(n: int = 100, seed: int = 0) -> tuple[MLP, list[list[float]], list[int]]:
    """micrograd's demo net and ``n`` moons with labels ±1."""
    random.seed(seed)
    X, y = make_moons(n, noise=0.1, seed=seed)
    return MLP(2, [16, 16, 1]), X, [2 * t - 1 for t in y]


def test_moons_demo_loss_and_gradients_equal_the_engine() -> None:
    """On micrograd's demo (MLP(2,[16,16,1]), 100 moons) the compiled step equals the engine."""
    model, X, y = moons()
    loss_fn = lambda s, t: demo_loss(model, s, t)  # noqa: E731
    program = fast.compile_model(model, loss_fn, X, y)
    expected = engine_loss_and_grads(model, loss_fn, X, y)
    actual = compiled_loss_and_grads(program, model, X, y)
    assert same_float(actual[0], expected[0])
    assert all_same(actual[1], expected[1])


DATASETS: dict[str, tuple[Callable[..., Any], str, list[int], str | None]] = {
    # name: (dataset, loss, hidden+output sizes, activation)
    "moons-hinge": (make_moons, "hinge", [16, 16, 1], None),
    "circles-bce": (make_circles, "bce", [8, 8, 1], "tanh"),
    "xor-mse": (make_xor, "mse", [8, 1], "sigmoid"),
    "spiral-cross_entropy": (make_spiral, "cross_entropy", [12, 3], None),
    "blobs-cross_entropy": (make_blobs, "cross_entropy", [6, 3], "tanh"),
}


def dataset_loss(kind: str, model: MLP) -> Callable[[list[Any], Any], Value]:
    """A ``micrograd.losses`` loss plus L2, as ``train.fit`` builds it."""

    def loss(scores: list[Any], y: Any) -> Value:
        if kind == "cross_entropy":
            data = cross_entropy(scores, y)  # class indices, read from the Values
        elif kind == "hinge":
            data = hinge_loss(scores, [2 * float(t) - 1 for t in y])
        elif kind == "bce":
            data = binary_cross_entropy(scores, y)
        else:
            data = mse_loss(scores, [2 * float(t) - 1 for t in y])
        return data + l2(model.parameters(), 1e-4)

    return loss


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_models_equal_the_engine(name: str) -> None:
    """Each dataset's model and loss gives the engine's loss and gradients, before and after SGD."""
    make, kind, sizes, activation = DATASETS[name]
    random.seed(1)
    X, y = make(n_samples=60, seed=1)
    model = MLP(len(X[0]), sizes, activation=activation)
    loss_fn = dataset_loss(kind, model)
    program = fast.compile_model(model, loss_fn, X, y)
    optimizer = SGD(model.parameters(), lr=0.5)
    for _ in range(2):
        expected = engine_loss_and_grads(model, loss_fn, X, y)
        actual = compiled_loss_and_grads(program, model, X, y)
        assert same_float(actual[0], expected[0])
        assert all_same(actual[1], expected[1])
        program(X, y)
        optimizer.step()
        optimizer.zero_grad()
    assert program.traces == 1


# --- batches, structure changes and parameter updates ---


def test_minibatches_of_one_shape_run_without_retracing() -> None:
    """New batches of the same shape reuse the program and give the engine's answers."""
    model, X, y = moons(120)
    loss_fn = lambda s, t: demo_loss(model, s, t)  # noqa: E731
    program = fast.compile_model(model, loss_fn, X[:40], y[:40])
    for lo in (40, 80, 0):
        Xb, yb = X[lo : lo + 40], y[lo : lo + 40]
        expected = engine_loss_and_grads(model, loss_fn, Xb, yb)
        actual = compiled_loss_and_grads(program, model, np.array(Xb), np.array(yb))
        assert same_float(actual[0], expected[0])
        assert all_same(actual[1], expected[1])
    assert program.traces == 1


def test_a_batch_of_another_size_is_traced_again() -> None:
    """A batch with another number of samples is a new structure: retraced, then correct."""
    model, X, y = moons(60)
    loss_fn = lambda s, t: demo_loss(model, s, t)  # noqa: E731
    program = fast.compile_model(model, loss_fn, X, y)
    expected = engine_loss_and_grads(model, loss_fn, X[:25], y[:25])
    actual = compiled_loss_and_grads(program, model, X[:25], y[:25])
    assert (same_float(actual[0], expected[0]), all_same(actual[1], expected[1])) == (True, True)
    assert program.traces == 2


def test_a_new_structure_is_refused_without_retrace() -> None:
    """With ``retrace=False`` inputs of another shape raise StructureError, never a wrong loss."""
    model, X, y = moons(30)
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y, retrace=False)
    with pytest.raises(fast.StructureError, match="shapes"):
        program(X[:10], y[:10])


def test_labels_read_as_numbers_are_part_of_the_structure() -> None:
    """A loss that reads its labels with ``float()`` retraces (with a warning) when they change."""
    model, X, y = moons(30)
    loss_fn = dataset_loss("hinge", model)
    labels = [(t + 1) // 2 for t in y]
    program = fast.compile_model(model, loss_fn, X, labels)
    flipped = [1 - t for t in labels]
    expected = engine_loss_and_grads(model, loss_fn, X, flipped)
    with pytest.warns(fast.RetraceWarning):
        actual = compiled_loss_and_grads(program, model, X, flipped)
    assert (same_float(actual[0], expected[0]), all_same(actual[1], expected[1])) == (True, True)
    strict = fast.compile_model(model, loss_fn, X, labels, retrace=False)
    with pytest.raises(fast.StructureError, match=r"a number read at .*float\(t\)"):
        strict(X, flipped)


def test_check_catches_python_control_flow_on_data() -> None:
    """``check`` retraces and reports a graph that depends on input numbers through ``.data``."""
    w = Value(0.5)

    def fn(xs: list[Value]) -> Value:
        return sum(((w * x).relu() if x.data > 0 else (w * x).tanh() for x in xs), Value(0.0))

    program = fast.trace(fn, [w], [1.0, -2.0])
    program.check([3.0, -1.0])  # same signs, same graph
    with pytest.raises(fast.StructureError, match="different graph"):
        program.check([-3.0, 1.0])


def test_parameter_updates_between_calls_are_honoured() -> None:
    """Each call reads the parameters' current ``.data``, so a Python optimizer can step them."""
    model, X, y = moons(40)
    loss_fn = lambda s, t: demo_loss(model, s, t)  # noqa: E731
    program = fast.compile_model(model, loss_fn, X, y)
    optimizer = Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        program(X, y)
        optimizer.step()
        optimizer.zero_grad()
    expected = engine_loss_and_grads(model, loss_fn, X, y)
    actual = compiled_loss_and_grads(program, model, X, y)
    assert (same_float(actual[0], expected[0]), all_same(actual[1], expected[1])) == (True, True)


def test_gradients_accumulate_like_backward() -> None:
    """As ``loss.backward()``, a call adds into ``.grad``; it does not overwrite it."""
    w = Value(3.0)
    program = fast.trace(lambda x: w * w * x, [w], 2.0)
    program(2.0)
    program(2.0)
    assert (w.grad, program.grad.tolist()) == (24.0, [12.0])


@pytest.mark.parametrize(
    ("array_optimizer", "value_optimizer"),
    [
        (lambda: fast.ArraySGD(lr=0.1), lambda ps: SGD(ps, lr=0.1)),
        (
            lambda: fast.ArraySGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
            lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        ),
        (
            lambda: fast.ArraySGD(lr=0.1, momentum=0.5, dampening=0.1),
            lambda ps: SGD(ps, lr=0.1, momentum=0.5, dampening=0.1),
        ),
        (lambda: fast.ArrayAdam(lr=0.01), lambda ps: Adam(ps, lr=0.01)),
        (
            lambda: fast.ArrayAdam(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1),
            lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1),
        ),
    ],
)
def test_array_step_equals_the_value_training_loop(
    array_optimizer: Callable[[], Any], value_optimizer: Callable[[list[Value]], Any]
) -> None:
    """``program.step`` on arrays equals zero_grad, backward and ``micrograd.optim``'s step."""
    model, X, y = moons(30)
    twin, _, _ = moons(30)
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)
    optimizer, reference = array_optimizer(), value_optimizer(twin.parameters())
    for _ in range(4):
        loss = program.step(X, y, optimizer=optimizer)
        reference.zero_grad()
        total = demo_loss(twin, [twin(x) for x in X], y)
        total.backward()
        reference.step()
        assert same_float(loss, total.data)
    assert all_same([p.data for p in model.parameters()], [p.data for p in twin.parameters()])
    assert all_same([p.grad for p in model.parameters()], [p.grad for p in twin.parameters()])


def test_step_with_a_micrograd_optimizer_steps_the_values() -> None:
    """``program.step`` also takes a ``micrograd.optim`` optimizer and updates the Values."""
    w = Value(1.0)
    program = fast.trace(lambda x: w * w * x, [w], 1.0)
    assert (program.step(1.0, optimizer=SGD([w], lr=0.25)), w.data, w.grad) == (1.0, 0.5, 2.0)


# --- graphs of every shape, against the engine ---

EXACT_OPS = ["+", "-", "*", "relu", "neg", "abs", "sq", "leaky", "const"]


@st.composite
def exact_graphs(draw: st.DrawFn) -> tuple[list[float], list[float], list[tuple[str, int, int]]]:
    """Parameters, inputs and a recipe of ops whose float results are exact (quarter steps)."""
    quarter = st.integers(-12, 12).map(lambda k: k / 4)
    params = draw(st.lists(quarter, min_size=1, max_size=3))
    inputs = draw(st.lists(quarter, min_size=1, max_size=3))
    recipe = draw(
        st.lists(
            st.tuples(st.sampled_from(EXACT_OPS), st.integers(0, 99), st.integers(0, 99)),
            min_size=1,
            max_size=25,
        )
    )
    return params, inputs, recipe


def apply(op: str, a: Value, b: Value) -> Value:
    """One step of a recipe; every result stays an exact quarter multiple."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return (a * b) * 0.25
    if op == "relu":
        return a.relu()
    if op == "neg":
        return -a
    if op == "abs":
        return abs(a)
    if op == "sq":
        return (a * 0.5) ** 2
    if op == "leaky":
        return a.leaky_relu(0.25)
    return 1.5 - a * 2 + Value(0.75)


def build(recipe: list[tuple[str, int, int]], leaves: list[Value]) -> Value:
    """The recipe's graph: each op takes earlier nodes; the loss sums the last three."""
    nodes = list(leaves)
    for op, i, j in recipe:
        nodes.append(apply(op, nodes[i % len(nodes)], nodes[j % len(nodes)]))
    tail = nodes[-3:]
    return sum(tail[1:], tail[0])


@given(exact_graphs())
def test_random_graphs_equal_the_engine(
    case: tuple[list[float], list[float], list[tuple[str, int, int]]],
) -> None:
    """Random graphs (shared nodes, constants, every fusion) give the engine's numbers to 1e-12.

    Fused sums add their terms in another order, so once squares outgrow the exact quarter
    multiples the last bits may differ; the issue's bound is 1e-12 relative.
    """
    param_values, input_values, recipe = case
    params = [Value(v) for v in param_values]
    program = fast.trace(lambda xs: build(recipe, params + xs), params, input_values)
    reference = build(recipe, params + [Value(v) for v in input_values])
    reference.backward()
    expected = [reference.data, *(float(p.grad) for p in params)]
    for p in params:
        p.grad = 0.0
    loss = program(input_values)
    actual = [loss, *(float(p.grad) for p in params)]
    assert all(same_float(a, e, rtol=1e-12) for a, e in zip(actual, expected)), (actual, expected)


def test_a_long_chain_of_additions_becomes_one_sum() -> None:
    """A chain of 100,000 additions compiles (one n-ary sum) and gives every term gradient 1."""
    params = [Value(float(i)) for i in range(100_000)]
    program = fast.trace(lambda: sum(params[1:], params[0]), params)
    assert (program(), {p.grad for p in params}) == (sum(range(100_000)), {1.0})


def test_unreachable_parameters_get_zero_gradient() -> None:
    """A parameter the loss does not use gets a zero gradient, as with backward()."""
    w, unused = Value(2.0), Value(5.0)
    program = fast.trace(lambda x: (w * x).exp(), [w, unused], 0.0)
    assert (program(0.0), w.grad, unused.grad) == (1.0, 0.0, 0.0)


def test_a_non_leaf_parameter_is_refused() -> None:
    """Parameters must be leaves: an interior node cannot take a fresh number per call."""
    w = Value(2.0)
    with pytest.raises(ValueError, match="leaf"):
        fast.trace(lambda: w * 2, [w * 3])


# --- packaging ---


def test_import_micrograd_does_not_import_numpy() -> None:
    """``import micrograd`` stays free of NumPy; only ``micrograd.fast`` loads it."""
    code = "import sys, micrograd; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fast_without_numpy_names_the_extra() -> None:
    """Without NumPy, importing ``micrograd.fast`` says to install the ``fast`` extra."""
    code = "import sys; sys.modules['numpy'] = None\nimport micrograd.fast"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert 'pip install "micrograd-learn[fast]"' in out.stderr


def test_trace_example_in_the_docs_holds() -> None:
    """The README-style example: a program's loss and gradient match the arithmetic."""
    w = Value(-1.5)
    program = fast.trace(lambda x: (w * x + 1).tanh(), [w], 2.0)
    assert same_float(program(2.0), math.tanh(-2.0))
    assert same_float(float(w.grad), 2.0 * (1.0 - math.tanh(-2.0) ** 2))


def test_the_moons_demo_compiles_to_a_few_array_kernels() -> None:
    """Isomorphic work is grouped: the demo's 65,000 nodes run as three matmuls and a few ops."""
    model, X, y = moons()
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)
    lines = program.describe().splitlines()
    assert [line.strip() for line in lines if "matmul" in line] == [
        "matmul (100x2) @ (2x16) + bias",
        "matmul (1x337) @ (337x1) + bias",  # the L2 term: one dot product over every parameter
        "matmul (100x16) @ (16x16) + bias",
        "matmul (100x16) @ (16x1) + bias",
        "matmul (1x2) @ (2x1)",  # data_loss * (1/n) + reg_loss * 1e-4
    ]
    assert len(lines) == 1 + 11


def test_without_fusion_the_elementwise_path_gives_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With sums and dots not fused (one kernel per op kind), the demo still equals the engine."""
    monkeypatch.setattr(fast._trace, "_FUSE", False)  # the trace stage decides what is fused
    model, X, y = moons(40)
    loss_fn = lambda s, t: demo_loss(model, s, t)  # noqa: E731
    program = fast.compile_model(model, loss_fn, X, y)
    assert "matmul" not in program.describe()
    expected = engine_loss_and_grads(model, loss_fn, X, y)
    actual = compiled_loss_and_grads(program, model, X, y)
    assert (same_float(actual[0], expected[0]), all_same(actual[1], expected[1])) == (True, True)
