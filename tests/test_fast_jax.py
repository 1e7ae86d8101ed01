"""The JAX backend of the compiled path (``trace(..., backend="jax")``): the same values and
gradients as the NumPy path and the Value engine, from the same rule table."""

from __future__ import annotations

import functools
import itertools
import math
import operator
import os
import random
import subprocess
import sys
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd._lookup import lookup
from micrograd.engine import RULES, Value, _FloatMath
from micrograd.fast import _jax, _jax_steps, _signs  # JAX is a test dependency: no skip
from micrograd.losses import binary_cross_entropy, mse_loss
from micrograd.nn import MLP
from micrograd.optim import SGD
from optable import EDGE, OPS, run_value, same_float
from test_fast import all_same, build, demo_loss, exact_graphs, float_backward, grid, moons


def flushed(x: float) -> float:
    """``x`` as XLA on the CPU gives it: a subnormal number (below 2.2e-308) is a signed zero."""
    return math.copysign(0.0, x) if 0.0 < abs(x) < sys.float_info.min else x


def moderate(x: float) -> bool:
    """Whether ``x`` is 0, inf, nan or of a magnitude in [1e-100, 1e100]: where no product of
    two such numbers is subnormal, and XLA's results are the NumPy path's (its simplifications
    such as ``x**-2 == 1/(x*x)`` and its flushed subnormals differ only beyond)."""
    return x == 0.0 or not math.isfinite(x) or 1e-100 <= abs(x) <= 1e100


# The edge values of optable within that range: signed zeros, ±1, ±2, 0.5, ±1000, ±inf, nan.
EDGE_MODERATE = [x for x in EDGE if moderate(x)]


def moderate_grid(op: str) -> tuple[np.ndarray, np.ndarray]:
    """``test_fast.grid`` without the pairs that hold an extreme number."""
    x, y = grid(op)
    keep = [moderate(a) and moderate(b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    return x[keep], y[keep]


def test_the_jax_backend_flushes_subnormal_numbers_to_zero() -> None:
    """The documented difference: 1 / 1e308 (a subnormal 1e-308) is 0.0 on the JAX backend."""
    w = Value(1e308)
    program = fast.trace(lambda: w**-1, [w], backend="jax")
    assert (program.loss_and_grad(program.theta())[0], (w**-1).data) == (0.0, 1e-308)


def test_jax_math_has_the_float_maths_functions() -> None:
    """``JaxMath`` offers every function a rule's partials may call."""
    names = {n for n in vars(_FloatMath) if not n.startswith("_")}
    assert names <= {n for n in vars(_jax_steps.JaxMath) if not n.startswith("_")}


def test_every_numpy_forward_has_a_jax_twin() -> None:
    """Each op with a NumPy twin has a jax.numpy twin."""
    assert set(fast.FORWARDS) == set(_jax_steps.FORWARDS)


@pytest.mark.parametrize("op", sorted(RULES))
def test_jax_forward_equals_the_float_forward_at_edge_values(op: str) -> None:
    """The jax.numpy twin gives the float forward's value at zeros, huge values, inf and nan."""
    x, y = moderate_grid(op)
    ours = np.broadcast_to(
        np.asarray(_jax_steps.FORWARDS[op](jnp.asarray(x), jnp.asarray(y))), x.shape
    )
    pairs = zip(x.tolist(), y.tolist(), strict=True)
    expected = [flushed(RULES[op].forward(a, b)) for a, b in pairs]
    assert all_same(ours.tolist(), expected)


@pytest.mark.parametrize("op", sorted(RULES))
def test_rule_backward_in_jax_equals_it_on_floats(op: str) -> None:
    """Each rule, run once on arrays with ``JaxMath``, gives what it gives per float."""
    x0, y0 = moderate_grid(op)
    gs = [1.0, -2.5, 0.0, float("inf")]
    x, y = np.repeat(x0, len(gs)), np.repeat(y0, len(gs))
    g = np.tile(gs, len(x0))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    found = _jax_steps._backward(op)(xj, yj, _jax_steps.FORWARDS[op](xj, yj), jnp.asarray(g))
    for k, column in enumerate(found):
        points = zip(x.tolist(), y.tolist(), g.tolist(), strict=True)
        expected = [flushed(float_backward(op, *point)[k]) for point in points]
        assert all_same(np.broadcast_to(np.asarray(column), x.shape).tolist(), expected)


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_table_on_the_jax_backend_equals_the_engine(name: str) -> None:
    """All moderate edge points of an op in one JAX program give the engine's gradients."""
    op = OPS[name]
    points = [*itertools.product(EDGE_MODERATE, repeat=op.arity), *op.smooth]
    params = [Value(x) for xs in points for x in xs]
    k = op.arity
    outs: list[Value] = []

    def fn() -> Value:
        outs[:] = [op.value(*params[i : i + k]) for i in range(0, len(params), k)]
        return sum(outs[1:], outs[0])

    fast.trace(fn, params, backend="jax")()
    expected = [g for xs in points for g in run_value(op, xs)[1]]
    assert all_same([float(p.grad) for p in params], expected)


@settings(max_examples=30, deadline=None)  # each example compiles one XLA program
@given(exact_graphs())
def test_random_graphs_on_the_jax_backend_equal_numpy_and_the_engine(
    case: tuple[list[float], list[float], list[tuple[str, int, int]]],
) -> None:
    """Random graphs (shared nodes, constants, every fusion) give the NumPy path's and the
    engine's loss and gradients to 1e-12 on the JAX backend."""
    param_values, input_values, recipe = case
    params = [Value(v) for v in param_values]
    reference = build(recipe, params + [Value(v) for v in input_values])
    reference.backward()
    expected = [reference.data, *(float(p.grad) for p in params)]
    theta = np.array(param_values)
    found = []
    for backend in ("numpy", "jax"):
        program = fast.trace(
            lambda xs: build(recipe, params + xs), params, input_values, backend=backend
        )
        loss, grad = program.loss_and_grad(theta, input_values)
        found.append([loss, *grad.tolist()])
    for actual in found:
        assert all(same_float(a, e, rtol=1e-12) for a, e in zip(actual, expected)), (
            found,
            expected,
        )


@st.composite
def affine_slots(draw: st.DrawFn) -> tuple[int, np.ndarray]:
    """A segment's size and slots ``start + i*s0 (+ j*s1)`` in it, in the layouts a kernel reads:
    runs, strided rows (a weight matrix beside its biases), their transpose, repeated rows or
    columns (stride 0), axes of one slot, and scattered slots."""
    shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=2))
    strides = [draw(st.integers(0, 7)) for _ in shape]
    start = draw(st.integers(0, 4))
    idx = start + sum(
        np.arange(n).reshape([-1 if a == axis else 1 for a in range(len(shape))]) * s
        for axis, (n, s) in enumerate(zip(shape, strides, strict=True))
    )
    idx = np.broadcast_to(idx, shape).astype(np.intp)
    if draw(st.booleans()):  # not affine: a gather
        idx = np.array(draw(st.permutations(idx.ravel().tolist())), dtype=np.intp).reshape(shape)
    return int(idx.max()) + 1 + draw(st.integers(0, 3)), idx


@settings(max_examples=200, deadline=None)
@given(affine_slots())
def test_strided_reads_and_writes_equal_numpy_indexing(case: tuple[int, np.ndarray]) -> None:
    """``_take`` (slices, pads and reshapes in place of a gather) reads what NumPy's indexing
    reads, and ``_place`` puts shares where ``np.add.at`` does, each slot once."""
    size, idx = case
    values = np.arange(1.0, size + 1.0)
    assert np.asarray(_jax_steps._take(jnp.asarray(values), idx)).tolist() == values[idx].tolist()
    shares = np.arange(1.0, idx.size + 1.0).reshape(idx.shape)
    placed = _jax_steps._place(jnp.asarray(shares), idx, size)
    if len(np.unique(idx)) == idx.size and placed is not None:
        expected = np.zeros(size)
        np.add.at(expected, idx, shares)
        assert np.asarray(placed).tolist() == expected.tolist()


def test_the_moons_program_has_no_gather_or_scatter() -> None:
    """The moons demo's weights (rows with a bias between them), its constants and its sums are
    read and written by slices and pads on the JAX backend: its jitted program has no gather or
    scatter, which XLA on the CPU runs element by element."""
    import jax

    program, _, X, y = moons_program("jax")
    ((_, jitted),) = program._jax.values()
    found = jax.make_jaxpr(jitted._loss_and_grad)(program.theta(), [X, y], np.zeros(0))
    assert {"gather", "scatter", "scatter-add"} & primitives(found.jaxpr) == set()


def primitives(jaxpr: Any) -> set[str]:
    """The names of the primitives in ``jaxpr`` and in the jaxprs inside it (cond's branches)."""
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for value in eqn.params.values():
            for item in value if isinstance(value, (tuple, list)) else [value]:
                inner = getattr(item, "jaxpr", item)  # a ClosedJaxpr holds a Jaxpr
                if hasattr(inner, "eqns"):
                    names |= primitives(inner)
    return names


def test_the_moons_program_signs_no_zero_of_its_layers() -> None:
    """The moons program's hidden layers feed ReLUs and its scores reach the loss through
    ``1 + (-y * s)``: no zero sign of a matrix product over the batch can reach the loss or a
    gradient (``fast._signs``), so none is checked, and the jitted program holds no cond (the
    small products of the L2 penalty sign their zeros at once)."""
    import jax

    program, _, X, y = moons_program("jax")
    ((compiled, jitted),) = program._jax.values()
    needed = _signs.zero_signs_needed(compiled)
    batch = [
        needed[out].any()
        for k, out in zip(compiled.kernels, compiled.outputs, strict=True)
        if type(k).__name__ == "_MatMul" and k.out.shape[0] == len(X)
    ]
    assert len(batch) == 3 and not any(batch)
    found = jax.make_jaxpr(jitted._loss_and_grad)(program.theta(), [X, y], np.zeros(0))
    assert "cond" not in primitives(found.jaxpr)


@settings(max_examples=25, deadline=None)  # each example compiles one XLA program
@given(
    st.lists(
        st.sampled_from([-0.0, 0.0, 1.0, -1.0, 1e308, math.inf, math.nan]), min_size=2, max_size=5
    )
)
def test_a_sum_on_the_jax_backend_is_a_chain_of_additions(terms: list[float]) -> None:
    """A sum's loss on the JAX backend is what adding its terms one by one gives, the sign of
    a zero included (-0.0 only when every term is), with no exact pass: sums sign their
    zeros at once (only matrix products take the exact pass, when an entry is zero)."""
    program = fast.trace(lambda xs: sum(xs[1:], xs[0]), [], terms, backend="jax")
    found, _ = program.loss_and_grad(program.theta(), terms)
    assert bits([found]) == bits([functools.reduce(operator.add, terms)])


@pytest.mark.parametrize("few_terms", [0, _jax_steps._FEW_TERMS])
def test_a_product_whose_zero_sign_counts_is_signed(
    few_terms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``1 / (W @ x)``: a zero entry's sign is an infinity's, so the product's zeros are signed:
    at once when it has few terms, else by the exact pass, which a cond takes when the quick
    pass finds a zero. Either way an entry of -0.0 terms gives the engine's -inf."""
    import jax

    monkeypatch.setattr(_jax_steps, "_FEW_TERMS", few_terms)
    params = [Value(-0.0), Value(1.0)]
    rows = [[float(k), -0.0] for k in range(1, 40)]

    def loss(xs: list[list[Value]]) -> Value:
        outs = [1.0 / (params[0] * x[0] + params[1] * x[1]) for x in xs]
        return sum(outs[1:], outs[0])

    program = fast.trace(loss, params, rows, backend="jax")
    ((_, jitted),) = program._jax.values()
    found = jax.make_jaxpr(jitted._loss_and_grad)(program.theta(), [np.array(rows)], np.zeros(0))
    assert ("cond" in primitives(found.jaxpr)) == (few_terms == 0)
    assert program(rows) == loss([[Value(v) for v in row] for row in rows]).data == -math.inf


XLA_REWRITES: list[tuple[str, Any, float]] = [
    ("log(exp(x)) at 800: inf, not x", lambda w, x: (w * x).exp().log(), 800.0),
    ("log(exp(x)) at 1e-17: 0.0", lambda w, x: (w * x).exp().log(), 1e-17),
    ("log(exp(x)) at -0.0: +0.0", lambda w, x: (w * x).exp().log(), -0.0),
    ("(x + 1e16) - 1e16 rounds", lambda w, x: ((w * x) + 1e16) - 1e16, 1.5),
    ("(x * 1e300) / 1e300 overflows", lambda w, x: ((w * x) * 1e300) / 1e300, 1e10),
]


@pytest.mark.parametrize(("case", "fn", "x"), XLA_REWRITES, ids=[c[0] for c in XLA_REWRITES])
def test_xla_computes_each_op_as_the_engine_does(case: str, fn: Any, x: float) -> None:
    """XLA's algebraic simplifier (off here) rewrites ops the engine computes one by one
    (log(exp(800)) as 800 where the engine's is inf): the JAX backend's loss and gradient
    are the engine's, to the bit."""
    w = Value(1.0)
    expected = fn(w, Value(x))
    expected.backward()
    v = Value(1.0)
    program = fast.trace(lambda x: fn(v, x), [v], x, backend="jax")
    loss, grad = program.loss_and_grad(program.theta(), x)
    assert bits([loss, *grad.tolist()]) == bits([expected.data, w.grad])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "--xla_cpu_multi_thread_eigen=false --xla_disable_hlo_passes=algsimp"),
        (
            "--xla_disable_hlo_passes=foo intra_op_parallelism_threads=1",
            "--xla_cpu_multi_thread_eigen=false --xla_disable_hlo_passes=foo,algsimp "
            "intra_op_parallelism_threads=1",
        ),
        (
            "--xla_disable_hlo_passes=algsimp --xla_cpu_multi_thread_eigen=false",
            "--xla_disable_hlo_passes=algsimp --xla_cpu_multi_thread_eigen=false",
        ),
    ],
)
def test_our_xla_flags_come_first_and_keep_the_users(before: str, after: str) -> None:
    """Ours first (XLA reads no flag after a word without "--"), the user's after,
    a list of passes to skip joined rather than replaced."""
    assert _jax._with_our_flags(before) == after


def test_a_process_whose_xla_simplifies_is_refused_or_right() -> None:
    """JAX code run before micrograd.fast loaded its backend started XLA without our flags:
    where that XLA's simplifier rewrites ops (JAX 0.10's does, 0.12's does not), backend="jax"
    is a ValueError saying how to start Python; where it does not, the program is right."""
    code = (
        "import jax; jax.jit(lambda x: x + 1)(1.0)\n"
        "from micrograd import fast\n"
        "from micrograd.engine import Value\n"
        "w = Value(1.0)\n"
        "try:\n"
        "    p = fast.trace(lambda x: (w * x + 1e16) - 1e16, [w], 1.5, backend='jax')\n"
        "    print(p.loss_and_grad(p.theta(), 1.5)[0])\n"
        "except ValueError as e:\n"
        "    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    refused = "Start Python with XLA_FLAGS=--xla_disable_hlo_passes=algsimp" in found.stdout
    assert refused or found.stdout == "2.0\n", found


def moons_losses(backend: str, steps: int = 3) -> tuple[list[float], list[float], list[float]]:
    """Losses of ``steps`` SGD steps on the moons demo, the gradients and weights after them."""
    model, X, y = moons()
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y, backend=backend)
    optimizer = SGD(model.parameters(), lr=0.5)
    losses = [program.step(X, y, optimizer=optimizer) for _ in range(steps)]
    return losses, [p.grad for p in model.parameters()], [p.data for p in model.parameters()]


def test_moons_steps_on_the_jax_backend_equal_the_numpy_path_and_the_engine() -> None:
    """Three SGD steps of the moons demo: the JAX backend's losses, gradients and weights are
    the NumPy path's and the Value engine's (to 1e-12)."""
    model, X, y = moons()
    optimizer = SGD(model.parameters(), lr=0.5)
    engine = []
    for _ in range(3):
        model.zero_grad()
        total = demo_loss(model, [model(x) for x in X], y)
        total.backward()
        optimizer.step()
        engine.append(total.data)
    expected = engine, [p.grad for p in model.parameters()], [p.data for p in model.parameters()]
    for backend in ("numpy", "jax"):
        actual = moons_losses(backend)
        for ours, theirs in zip(actual, expected, strict=True):
            assert all_same(ours, theirs), backend


@pytest.mark.parametrize("kind", ["bce", "mse"])
def test_losses_of_micrograd_on_the_jax_backend_equal_the_engine(kind: str) -> None:
    """``binary_cross_entropy`` and ``mse_loss`` of a tanh/sigmoid net on the JAX backend."""
    random.seed(3)
    model = MLP(2, [6, 1], activation="tanh" if kind == "bce" else "sigmoid")
    X = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(20)]
    y = [float(random.random() < 0.5) for _ in range(20)]
    loss_fn = binary_cross_entropy if kind == "bce" else mse_loss

    def loss(xs: list[Any], ys: list[Value]) -> Value:
        return loss_fn([model(x) for x in xs], ys)

    total = loss([[Value(a) for a in row] for row in X], [Value(t) for t in y])
    total.backward()
    expected = [total.data, *(p.grad for p in model.parameters())]
    program = fast.trace(loss, model.parameters(), X, y, backend="jax")
    found, grad = program.loss_and_grad(program.theta(), X, y)
    assert all_same([found, *grad.tolist()], expected)


def test_max_folds_on_the_jax_backend_equal_the_engine() -> None:
    """A log-sum-exp over rows (a max fold, ties and a signed zero among them) gives the
    engine's value and gradients."""
    rows = [[1.0, 3.0, 3.0, -2.0], [0.0, -0.0, -1.0, 0.0], [5.0, 4.0, 6.0, 6.0]]
    params = [Value(x) for row in rows for x in row]

    def fn() -> Value:
        total = Value(0.0)
        for r in range(len(rows)):
            row = params[4 * r : 4 * r + 4]
            top = row[0]
            for x in row[1:]:
                top = top.maximum(x)
            total = total + top + sum((x - top).exp() for x in row).log()
        return total

    reference = fn()
    reference.backward()
    expected = [reference.data, *(p.grad for p in params)]
    program = fast.trace(fn, params, backend="jax")
    assert "max fold" in program.describe()
    loss, grad = program.loss_and_grad(program.theta())
    assert all_same([loss, *grad.tolist()], expected)


def test_gradients_equal_jax_grad_of_the_same_loss() -> None:
    """The moons demo's gradient on the JAX backend (from RULES) equals ``jax.grad`` of the loss
    written in jax.numpy, to 1e-12."""
    import jax
    import jax.numpy as jnp

    model, X, y = moons(40)
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y, backend="jax")
    theta = program.theta()
    loss, grad = program.loss_and_grad(theta, X, y)
    shapes = [(len(layer.neurons), len(layer.neurons[0].w) + 1) for layer in model.layers]

    def jax_loss(flat: Any) -> Any:
        h, at = jnp.asarray(X), 0
        for k, (n_out, n_in1) in enumerate(shapes):
            block = flat[at : at + n_out * n_in1].reshape(n_out, n_in1)
            at += n_out * n_in1
            h = h @ block[:, :-1].T + block[:, -1]
            h = jnp.maximum(h, 0.0) if k < len(shapes) - 1 else h
        margins = jnp.maximum(1.0 - jnp.asarray(y, dtype=jnp.float64) * h[:, 0], 0.0)
        return margins.mean() + 1e-4 * (flat * flat).sum()

    expected = jax.grad(jax_loss)(jnp.asarray(theta))
    assert all_same(grad.tolist(), np.asarray(expected).tolist())
    assert same_float(loss, float(jax_loss(jnp.asarray(theta))))


# --- Training steps on the JAX backend: loss, gradient and update in one jitted call ---

SGD_SETTINGS = [
    {"lr": 0.5},
    {"lr": 0.3, "momentum": 0.9},
    {"lr": 0.2, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001},
]


def moons_program(backend: str, n: int = 30) -> tuple[fast.Program, list[Value], Any, Any]:
    """The moons demo's program on ``n`` points, its parameters and its inputs as arrays."""
    model, X, y = moons(n)
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y, backend=backend)
    return program, model.parameters(), np.array(X), np.array(y, dtype=np.float64)


def trained(backend: str, settings: dict[str, Any], how: str, steps: int = 4) -> list[Any]:
    """Losses, weights, gradients and momentum buffer after ``steps`` SGD steps taken ``how``:
    by ``run`` at once, by ``step`` each, or by ``run`` in two pieces."""
    program, params, X, y = moons_program(backend)
    optimizer = fast.ArraySGD(**settings)
    if how == "run":
        losses = program.run(steps, X, y, optimizer=optimizer)
    elif how == "step":
        losses = [program.step(X, y, optimizer=optimizer) for _ in range(steps)]
    else:
        losses = program.run(1, X, y, optimizer=optimizer)
        losses += program.run(steps - 1, X, y, optimizer=optimizer)
    buffer = optimizer.momentum_buffer
    return [
        losses,
        [p.data for p in params],
        [p.grad for p in params],
        program.grad.tolist(),
        [] if buffer is None else buffer.tolist(),
    ]


@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_run_on_the_jax_backend_takes_the_steps_step_takes(settings: dict[str, Any]) -> None:
    """``run(4)`` with an ArraySGD, ``run(1)`` then ``run(3)``, and four ``step()`` calls give
    the same losses, weights, gradients and momentum buffer, to the last bit."""
    expected = trained("jax", settings, "step")
    assert trained("jax", settings, "run") == expected
    assert trained("jax", settings, "pieces") == expected


@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_run_on_the_jax_backend_equals_the_numpy_path(settings: dict[str, Any]) -> None:
    """The JAX backend's jitted steps (the SGD rule of ``optim`` inside the jit) give the NumPy
    path's losses, weights, gradients and buffer to 1e-12."""
    ours, theirs = trained("jax", settings, "run"), trained("numpy", settings, "run")
    assert all(all_same(a, b) for a, b in zip(ours, theirs, strict=True)), (ours, theirs)


def test_run_with_adam_on_the_jax_backend_takes_the_steps_step_takes() -> None:
    """An ArrayAdam (updated on NumPy arrays between jitted gradients) gives ``step()``'s
    numbers in ``run`` too, and the NumPy path's to 1e-12."""
    found = []
    for backend, how in (("jax", "run"), ("jax", "step"), ("numpy", "run")):
        program, params, X, y = moons_program(backend)
        optimizer = fast.ArrayAdam(lr=0.05)
        if how == "run":
            losses = program.run(3, X, y, optimizer=optimizer)
        else:
            losses = [program.step(X, y, optimizer=optimizer) for _ in range(3)]
        found.append([*losses, *(p.data for p in params), *(p.grad for p in params)])
    assert found[0] == found[1]
    assert all_same(found[0], found[2])


def test_a_run_longer_than_one_loop_takes_the_same_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run(5)`` in jitted loops of two steps (the first one making the momentum buffer)
    gives the numbers of ``run(5)`` in one loop, to the last bit."""
    settings = {"lr": 0.2, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01}
    expected = trained("jax", settings, "run", steps=5)
    monkeypatch.setattr(_jax, "_CHUNK", 2)
    assert trained("jax", settings, "run", steps=5) == expected


def test_a_zero_sum_in_a_run_has_the_engines_sign() -> None:
    """A loss that is a sum of -0.0 terms (XLA's sums start from +0.0) is -0.0 at each step
    of a run on the JAX backend, as on the NumPy path and the Value engine."""
    xs = [-0.0, -0.0, -0.0]  # a dot product of three terms: one sum for the compiled paths

    def signs(backend: str) -> list[float]:
        ws = [Value(1.0), Value(2.0), Value(3.0)]
        program = fast.trace(lambda x: dot(ws, x), ws, xs, backend=backend)
        losses = program.run(3, xs, optimizer=fast.ArraySGD(lr=0.1, momentum=0.9))
        return [math.copysign(1.0, v) for v in [*losses, *(w.grad for w in ws)]]

    found = [signs("numpy"), signs("jax")]
    engine = dot([Value(1.0), Value(2.0), Value(3.0)], [Value(x) for x in xs]).data
    assert (engine, math.copysign(1.0, engine)) == (0.0, -1.0)
    assert found == [[-1.0, -1.0, -1.0, 1.0, 1.0, 1.0]] * 2


SIGNED = st.sampled_from([-0.0, 0.0, 1.0, -1.0, 0.5])


@settings(max_examples=20, deadline=None)  # each example compiles one XLA program
@given(st.lists(SIGNED, min_size=3, max_size=3), st.lists(SIGNED, min_size=12, max_size=12))
def test_zero_gradients_are_positive_zeros(weights: list[float], numbers: list[float]) -> None:
    """Gradients that sum to zero (shares of signed zeros and ones, through a matmul, a dot
    product and a plain sum) are +0.0 on the JAX backend, as on the engine, whose shares are
    added to a .grad that starts at +0.0; the losses' signed zeros are the engine's too."""
    rows = [numbers[k : k + 3] for k in range(0, 12, 3)]

    def loss(ws: list[Value], xs: list[list[Value]]) -> Value:
        layer = [dot(ws, x) for x in xs]  # a matmul
        return dot(layer[:3], xs[3]) + sum(layer[1:], layer[0])

    ws = [Value(w) for w in weights]
    reference = loss(ws, [[Value(x) for x in row] for row in rows])
    reference.backward()
    expected = [reference.data, *(w.grad for w in ws)]
    ws = [Value(w) for w in weights]
    program = fast.trace(lambda xs: loss(ws, xs), ws, rows, backend="jax")
    found, grad = program.loss_and_grad(program.theta(), rows)
    assert bits([found, *grad.tolist()]) == bits(expected)


def bits(numbers: list[float]) -> list[tuple[float, float]]:
    """Each number with its sign (nan as nan, so that two nans compare equal as strings)."""
    return [(repr(x), math.copysign(1.0, x)) for x in numbers]


def dot(ws: list[Value], xs: list[Value]) -> Value:
    """``ws[0] * xs[0] + ws[1] * xs[1] + ...``, as a neuron adds its terms."""
    return sum((w * x for w, x in zip(ws[1:], xs[1:], strict=True)), ws[0] * xs[0])


def test_a_new_learning_rate_compiles_no_new_step() -> None:
    """``lr`` is an argument of the jitted step: a schedule that changes it every run compiles
    one step, and each run uses the new rate (the NumPy path's numbers to 1e-12)."""
    found, programs = [], []
    for backend in ("jax", "numpy"):
        program, params, X, y = moons_program(backend)
        optimizer = fast.ArraySGD(lr=0.5)
        losses = []
        for lr in (0.5, 0.25, 0.125):
            optimizer.lr = lr
            losses += program.run(2, X, y, optimizer=optimizer)
        found.append([*losses, *(p.data for p in params)])
        programs.append(program)
    ((_, jitted),) = programs[0]._jax.values()
    assert [loop._cache_size() for loop in jitted._sgd_loops.values()] == [1]
    assert all_same(found[0], found[1])


def test_a_run_that_raises_leaves_the_last_finished_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop of steps that raises (Ctrl-C lands between two jitted loops) in the middle of
    ``run(5)`` leaves the Values and the optimizer's buffer as ``run(2)`` leaves them."""
    expected = trained("jax", {"lr": 0.3, "momentum": 0.9}, "run", steps=2)
    monkeypatch.setattr(_jax, "_CHUNK", 1)  # one step a loop
    program, params, X, y = moons_program("jax")
    optimizer = fast.ArraySGD(lr=0.3, momentum=0.9)
    loops = _jax.JaxProgram._sgd_steps
    calls = []

    def interrupted(self: _jax.JaxProgram, *settings: Any) -> Any:
        calls.append(None)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return loops(self, *settings)

    monkeypatch.setattr(_jax.JaxProgram, "_sgd_steps", interrupted)
    with pytest.raises(KeyboardInterrupt):
        program.run(5, X, y, optimizer=optimizer)
    buffer = optimizer.momentum_buffer
    actual = [[p.data for p in params], [p.grad for p in params], program.grad.tolist()]
    assert [*actual, [] if buffer is None else buffer.tolist()] == expected[1:]


def test_a_bad_setting_is_refused_before_anything_moves() -> None:
    """An ArraySGD whose lr became negative is refused by ``run`` on the JAX backend (as SGD
    refuses it), with the Values untouched; so is one that stepped other parameters."""
    program, params, X, y = moons_program("jax")
    before = [p.data for p in params]
    optimizer = fast.ArraySGD(lr=0.1)
    optimizer.lr = -1.0
    with pytest.raises(ValueError, match="lr"):
        program.run(2, X, y, optimizer=optimizer)
    other = fast.ArraySGD(lr=0.1, momentum=0.9)
    other.update(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="theta"):
        program.run(2, X, y, optimizer=other)
    assert [p.data for p in params] == before


def test_an_unknown_backend_is_refused() -> None:
    """``backend`` takes "numpy" or "jax": anything else is a ValueError naming the argument."""
    w = Value(1.0)
    with pytest.raises(ValueError, match="unknown backend 'gpu'; choose one of numpy, jax"):
        fast.trace(lambda x: w * x, [w], 1.0, backend="gpu")
    with pytest.raises(TypeError, match="backend"):
        fast.trace(lambda x: w * x, [w], 1.0, backend=None)  # type: ignore[arg-type]


def test_a_program_with_guards_is_refused_by_the_jax_backend() -> None:
    """A graph that depends on a number the function read cannot be replayed by the JAX backend
    (it checks no guard): a ValueError saying so and naming the NumPy backend, at trace time."""
    w = Value(2.0)
    with pytest.raises(ValueError, match=r"guards.*backend='numpy'"):
        fast.trace(
            lambda xs: sum(w * x if x.data > 0 else w for x in xs), [w], [1, -2], backend="jax"
        )


def test_index_inputs_are_refused_by_the_jax_backend() -> None:
    """Gathers by index inputs (whose range the NumPy path guards) are refused, not clamped."""
    table = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match=r"gather.*backend='numpy'"):
        fast.trace(lambda i: lookup(table, i) * 2.0, table, 1, indices=[0], backend="jax")


def test_the_numpy_backend_stays_the_default() -> None:
    """A program is NumPy's unless asked otherwise."""
    w = Value(1.0)
    assert fast.trace(lambda x: w * x, [w], 1.0).backend == "numpy"


def test_missing_jax_names_the_extra() -> None:
    """Without JAX, backend='jax' raises ImportError naming the extra to install."""
    code = (
        "import sys; sys.modules['jax'] = None\n"
        "from micrograd import fast\nfrom micrograd.engine import Value\n"
        "w = Value(1.0)\n"
        "try:\n    fast.trace(lambda x: w * x, [w], 1.0, backend='jax')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "backend='jax' needs JAX: pip install \"micrograd-learn[jax]\""
