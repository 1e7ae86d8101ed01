"""``Program.run``: training steps on one parameter array, the Values written once at the end,
holding exactly what ``Program.step`` (and so the Value engine's optimizer) gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from micrograd import fast
from micrograd.engine import Value
from micrograd.optim import SGD, Adam
from test_fast import all_same, demo_loss, moons

# (array optimizer, the micrograd.optim optimizer it twins)
OPTIMIZERS: list[tuple[Callable[[], Any], Callable[[list[Value]], Any]]] = [
    (lambda: fast.ArraySGD(lr=0.1), lambda ps: SGD(ps, lr=0.1)),
    (
        lambda: fast.ArraySGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    ),
    (lambda: fast.ArrayAdam(lr=0.01), lambda ps: Adam(ps, lr=0.01)),
]


def state(model: Any) -> tuple[list[float], list[float]]:
    """Each parameter's ``.data`` and ``.grad``, as a user reads them."""
    return [p.data for p in model.parameters()], [p.grad for p in model.parameters()]


def bits(numbers: list[float]) -> list[int]:
    """The numbers as stored (so -0.0 and nan are compared exactly)."""
    return np.array(numbers, dtype=np.float64).view(np.int64).tolist()


@pytest.mark.parametrize(("array_optimizer", "value_optimizer"), OPTIMIZERS)
def test_run_equals_steps_and_the_value_engines_loop(
    array_optimizer: Callable[[], Any], value_optimizer: Callable[[list[Value]], Any]
) -> None:
    """After ``run(4)`` each parameter's ``.data`` and ``.grad`` are, to the bit, those of four
    ``program.step`` calls, and to 1e-12 those of zero_grad, backward and the optimizer's step
    on the Value engine; the losses too."""
    (model, X, y), (stepped, _, _), (twin, _, _) = moons(30), moons(30), moons(30)
    losses = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y).run(
        4, X, y, optimizer=array_optimizer()
    )
    program = fast.compile_model(stepped, lambda s, t: demo_loss(stepped, s, t), X, y)
    optimizer = array_optimizer()
    step_losses = [program.step(X, y, optimizer=optimizer) for _ in range(4)]
    reference, engine_losses = value_optimizer(twin.parameters()), []
    for _ in range(4):
        reference.zero_grad()
        total = demo_loss(twin, [twin(x) for x in X], y)
        total.backward()
        reference.step()
        engine_losses.append(total.data)
    assert bits(losses) == bits(step_losses)
    assert [bits(column) for column in state(model)] == [bits(c) for c in state(stepped)]
    assert all_same(losses, engine_losses)
    for ours, theirs in zip(state(model), state(twin), strict=True):
        assert all_same(ours, theirs)


class FailsAt:
    """An ArraySGD whose update raises at its ``n``-th call, before changing anything."""

    def __init__(self, n: int) -> None:
        self.sgd, self.n, self.calls, self.lr = fast.ArraySGD(lr=0.1), n, 0, 0.1

    def update(self, theta: Any, grad: Any) -> None:
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        self.sgd.update(theta, grad)


def test_an_interrupted_run_leaves_the_last_finished_step_in_the_values() -> None:
    """A run stopped in its third step (Ctrl-C) leaves exactly the numbers of two steps."""
    (model, X, y), (stepped, _, _) = moons(20), moons(20)
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)
    with pytest.raises(KeyboardInterrupt):
        program.run(5, X, y, optimizer=FailsAt(3))
    twin = fast.compile_model(stepped, lambda s, t: demo_loss(stepped, s, t), X, y)
    optimizer = fast.ArraySGD(lr=0.1)
    for _ in range(2):
        twin.step(X, y, optimizer=optimizer)
    assert [bits(column) for column in state(model)] == [bits(c) for c in state(stepped)]


def test_a_run_of_no_steps_touches_nothing() -> None:
    """``run(0)`` returns no loss and leaves every ``.data`` and ``.grad`` as it was."""
    model, X, y = moons(10)
    model.parameters()[0].grad = 7.0
    before = state(model)
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)
    assert (program.run(0, X, y, optimizer=fast.ArraySGD(lr=0.1)), state(model)) == ([], before)


def test_run_reads_the_values_the_user_set_before_it() -> None:
    """A ``.data`` set between runs is where the next run starts (the Values are the truth
    outside a run)."""
    w = Value(1.0)
    program = fast.trace(lambda x: (w * x - 1.0) ** 2, [w], 2.0)
    program.run(2, 2.0, optimizer=fast.ArraySGD(lr=0.1))
    w.data = 1.0
    assert program.run(1, 2.0, optimizer=fast.ArraySGD(lr=0.1)) == [1.0]
    assert (w.data, w.grad) == (1.0 - 0.1 * 4.0, 4.0)


def test_run_on_the_jax_backend_equals_the_numpy_path() -> None:
    """Three steps of ``run`` with ``backend="jax"`` give the NumPy path's numbers to 1e-12."""
    (model, X, y), (twin, _, _) = moons(30), moons(30)
    found = []
    for m, backend in ((model, "numpy"), (twin, "jax")):
        program = fast.compile_model(m, lambda s, t, m=m: demo_loss(m, s, t), X, y, backend=backend)
        found.append((program.run(3, X, y, optimizer=fast.ArraySGD(lr=0.2)), *state(m)))
    for ours, theirs in zip(*found, strict=True):
        assert all_same(ours, theirs)


def test_run_refuses_a_value_optimizer() -> None:
    """``run`` updates an array: a ``micrograd.optim`` optimizer is a TypeError naming step()."""
    w = Value(1.0)
    program = fast.trace(lambda x: w * x, [w], 2.0)
    expected = r"optimizer must be an ArraySGD or ArrayAdam \(step\(\) takes the others\)"
    with pytest.raises(TypeError, match=expected):
        program.run(1, 2.0, optimizer=SGD([w], lr=0.1))


def test_array_sgd_follows_a_changed_learning_rate_and_checks_it() -> None:
    """An ``lr`` set between updates (a schedule) is the one applied, and a bad one is refused
    as ``SGD`` refuses it, before anything changes."""
    optimizer, theta = fast.ArraySGD(lr=0.5), np.array([1.0, -1.0])
    optimizer.update(theta, np.array([1.0, 1.0]))
    optimizer.lr = 0.25
    optimizer.update(theta, np.array([1.0, 1.0]))
    assert theta.tolist() == [0.25, -1.75]
    optimizer.lr = -1.0
    with pytest.raises(ValueError, match="lr"):
        optimizer.update(theta, np.array([1.0, 1.0]))
    assert theta.tolist() == [0.25, -1.75]


def test_a_float64_array_input_is_not_copied_into_another_meaning() -> None:
    """A float64 array input (used as it is) and the same numbers as lists give one loss."""
    w = Value(0.5)
    program = fast.trace(lambda xs: sum(w * x for x in xs), [w], [1.0, 2.0])
    batch = np.array([3.0, -1.0])
    assert program(batch) == program([3.0, -1.0]) == 1.0
    batch[0] = 5.0
    assert program(batch) == 2.0


def test_run_of_a_function_that_reads_a_grad_equals_the_steps() -> None:
    """A traced function that branches on a parameter's .grad sees each step's gradient in run()
    as in step() calls: the same losses, weight and gradient (it was run on a stale .grad)."""

    def traced(x: Any) -> Any:
        return (w * x) ** 2 if w.grad < 1.5 else (w * x) ** 3

    found = []
    for use_run in (True, False):
        w = Value(1.0)
        program = fast.trace(traced, [w], 1.0)
        with pytest.warns(fast.RetraceWarning):
            if use_run:
                losses = program.run(3, 1.0, optimizer=fast.ArraySGD(lr=0.1))
            else:
                losses = [program.step(1.0, optimizer=fast.ArraySGD(lr=0.1)) for _ in range(3)]
        found.append((losses, w.data, w.grad))
    expected = ([1.0, 0.5120000000000001, 0.224755712], 0.4971008, 1.108992)
    assert found == [expected, expected]


@pytest.mark.parametrize("make", [lambda: fast.ArraySGD(lr=0.1, momentum=0.9), fast.ArrayAdam])
def test_an_array_optimizer_refuses_a_parameter_array_of_another_shape(
    make: Callable[[], Any],
) -> None:
    """An optimizer that stepped one program's parameters refuses another's array (its state
    would be broadcast over them) with a ValueError naming theta."""
    optimizer = make()
    optimizer.update(np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="theta must be an array of the shape this optimizer"):
        optimizer.update(np.zeros(2), np.ones(2))
