"""Targets as Values are targets as numbers: the same loss, the same refusals, on the Value
engine and in a program ``fast.compile_model`` made (where they are the program's inputs, so
each call's labels are checked as the engine checks them); and binary cross-entropy to the last
bit where one term of it is all there is."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from micrograd import fast
from micrograd.engine import Value
from micrograd.losses import binary_cross_entropy, cross_entropy, hinge_loss
from micrograd.nn import MLP

Loss = Callable[[Sequence[Value], Sequence[Any]], Value]
X = [[0.5, -1.0], [1.0, 1.0], [-0.5, 0.25], [2.0, 0.0]]


def engine(
    model: MLP, loss_fn: Loss, xs: list[list[float]], ys: list[float], as_values: bool = True
) -> list[float]:
    """The loss and the parameters' gradients on the Value engine, targets as Values (as a
    compiled program has them) or as numbers."""
    for p in model.parameters():
        p.grad = 0.0
    targets = [Value(float(y)) for y in ys] if as_values else ys
    loss = loss_fn([model(x) for x in xs], targets)
    loss.backward()
    return [loss.data, *(p.grad for p in model.parameters())]


def compiled(
    program: fast.Program, model: MLP, xs: list[list[float]], ys: list[float]
) -> list[float]:
    """The loss and the gradients a compiled program gives for the same batch."""
    for p in model.parameters():
        p.grad = 0.0
    loss = program(xs, ys)
    return [loss, *(p.grad for p in model.parameters())]


def model() -> MLP:
    random.seed(1)
    return MLP(2, [3, 1])


def single(loss: Callable[..., Value]) -> Loss:
    """``loss`` on a one-output model's scores (each a Value)."""
    return lambda scores, ys: loss(list(scores), ys)


@pytest.mark.parametrize(
    ("loss", "batches"),
    [
        (hinge_loss, [[1, 0, 0, 1], [0, 0, 1, 1], [-1, 1, 0, -1]]),
        (binary_cross_entropy, [[1, 0, 0, 1], [0.25, 1, 0.5, 0], [0, 0, 0, 0]]),
    ],
)
def test_compiled_labels_give_the_engines_loss_without_a_retrace(
    loss: Callable[..., Value], batches: list[list[float]]
) -> None:
    """hinge_loss on labels 0/1 (0 read as -1) and binary_cross_entropy on probabilities give
    the Value engine's loss and gradients for each new batch of labels (to 1e-13: the
    compiled path adds a gradient's shares in its own order), with the labels as Values or
    as numbers; the labels are inputs of one program, never read into its structure."""
    m = model()
    program = fast.compile_model(m, single(loss), X, batches[0], retrace=False)
    for ys in batches:
        found = compiled(program, m, X, ys)
        for as_values in (True, False):
            expected = engine(m, single(loss), X, ys, as_values)
            assert all(
                math.isclose(a, b, rel_tol=1e-13) for a, b in zip(found, expected, strict=True)
            )
    assert program.traces == 1


@pytest.mark.parametrize(
    ("loss", "good", "bad", "words"),
    [
        (hinge_loss, [1, 0, 0, 1], [1, 0, 2, 1], r"targets\[2\] must be -1 or \+1 .*, not 2\.0"),
        (hinge_loss, [1, 0, 0, 1], [1, 0.5, 0, 1], r"targets\[1\] must be -1 or \+1"),
        (hinge_loss, [1, 0, 0, 1], [1, 0, 0, math.nan], r"targets\[3\] .*, not nan"),
        (binary_cross_entropy, [1, 0, 0, 1], [1, 0, -0.5, 1], r"targets\[2\] must be a prob"),
        (binary_cross_entropy, [1, 0, 0, 1], [1, 1.5, 0, 1], r"targets\[1\] must be a prob"),
        (binary_cross_entropy, [1, 0, 0, 1], [math.nan, 0, 0, 1], r"targets\[0\] .*, not nan"),
    ],
)
def test_a_compiled_call_refuses_the_labels_the_engine_refuses(
    loss: Callable[..., Value], good: list[float], bad: list[float], words: str
) -> None:
    """A label the loss refuses on the Value engine is the same ValueError at a later call of
    the compiled program (no guard, no retrace: the program checks its target inputs), and
    the parameters keep their gradients of before."""
    m = model()
    with pytest.raises(ValueError, match=words):
        engine(m, single(loss), X, bad)
    program = fast.compile_model(m, single(loss), X, good, retrace=False)
    before = compiled(program, m, X, good)
    with pytest.raises(ValueError, match=words):
        program(X, bad)
    assert [p.grad for p in m.parameters()] == before[1:]
    with pytest.raises(ValueError, match=words):  # and when traced with it
        fast.compile_model(model(), single(loss), X, bad)


@pytest.mark.parametrize(
    ("loss", "bad"),
    [
        (hinge_loss, 2.0),
        (hinge_loss, 0.5),
        (binary_cross_entropy, 1.5),
        (binary_cross_entropy, -1.0),
    ],
)
def test_a_value_target_is_refused_where_its_number_is(
    loss: Callable[..., Value], bad: float
) -> None:
    """A target Value holding a number the loss refuses is the same ValueError as the number."""
    scores = [Value(0.5)]
    with pytest.raises(ValueError) as as_number:
        loss(scores, [bad])
    with pytest.raises(ValueError) as as_value:
        loss(scores, [Value(bad)])
    assert str(as_value.value) == str(as_number.value)


@pytest.mark.parametrize("label", [-1.0, 0.0, 1.0])
def test_a_value_label_gives_the_number_labels_loss_and_its_gradient(label: float) -> None:
    """hinge_loss on a Value label is the loss on its number (0 read as -1), to the bit, and
    the score's gradient is the same."""
    s1, s2 = Value(0.3), Value(0.3)
    by_number = hinge_loss([s1], [label])
    by_value = hinge_loss([s2], [Value(label)])
    by_number.backward()
    by_value.backward()
    assert (by_value.data, s2.grad) == (by_number.data, s1.grad)


@pytest.mark.parametrize("x", [23.41, 37.0, 100.0, 700.0, 745.0])
def test_a_confident_right_logit_keeps_its_small_loss(x: float) -> None:
    """Label 1 at a large logit x (and label 0 at -x) is ``ln(1 + e^-x)``, tiny and not 0:
    ``softplus(x) - x*y`` would round it away (23.41 - 23.41 + 6.8e-11 keeps 2 digits)."""
    exact = math.log1p(math.exp(-x))
    for logit, label in ((x, 1.0), (-x, 0.0)):
        found = binary_cross_entropy([Value(logit)], [label]).data
        assert math.isclose(found, exact, rel_tol=1e-15), (logit, label, found, exact)


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (math.inf, 0.0, math.inf),  # wrong and sure of it: inf, where x*y cancelling gave nan
        (-math.inf, 1.0, math.inf),
        (math.inf, 0.5, math.inf),
        (-math.inf, 0.5, math.inf),
    ],
)
def test_an_infinite_logit_that_disagrees_costs_inf(x: float, y: float, expected: float) -> None:
    """An infinite logit against its label is an infinite loss, not nan."""
    assert binary_cross_entropy([Value(x)], [y]).data == expected


@pytest.mark.parametrize("bad", [-0.5, 1.5, math.nan, math.inf])
@pytest.mark.parametrize("as_value", [False, True])
def test_a_probability_row_outside_0_1_is_refused(bad: float, as_value: bool) -> None:
    """cross_entropy's probability rows hold probabilities, as binary_cross_entropy's targets
    do: -0.5 made a negative loss, nan a nan one; a number or a Value is refused naming it."""
    row: list[Any] = [0.25, bad, 0.0]
    if as_value:
        row = [Value(p) for p in row]
    logits = [[Value(0.1), Value(0.2), Value(0.3)]]
    with pytest.raises(ValueError, match=r"targets\[0\]\[1\] must be a probability .*\[0, 1\]"):
        cross_entropy(logits, [row])


def test_a_compiled_probability_row_is_checked_at_each_call() -> None:
    """A program of cross_entropy on probability rows refuses a later call's row that holds
    -0.5, with the Value engine's ValueError, and takes a good one without a retrace."""
    m = MLP(2, [3, 3])
    loss = lambda scores, ys: cross_entropy(scores, ys)  # noqa: E731
    rows = [[0.25, 0.75, 0.0]] * len(X)
    program = fast.compile_model(m, loss, X, rows, retrace=False)
    program(X, [[0.5, 0.5, 0.0]] * len(X))
    bad = [[0.25, 0.75, 0.0]] * (len(X) - 1) + [[1.5, -0.5, 0.0]]
    with pytest.raises(ValueError, match=r"targets\[3\]\[0\] must be a probability"):
        program(X, bad)
    assert program.traces == 1


@pytest.mark.parametrize(
    ("loss", "good", "bad", "words"),
    [
        (lambda s, t: hinge_loss([s], [t]), 1.0, 0.5, r"targets\[0\] must be -1 or \+1"),
        (lambda s, t: binary_cross_entropy([s], [t]), 1.0, 2.0, r"targets\[0\] must be a prob"),
        (
            lambda s, t: cross_entropy([[s, s * 0.5]], [[t, 1.0 - t]]),
            0.25,
            -0.5,
            r"targets\[0\]\[0\] must be a probability",
        ),
    ],
)
def test_a_traced_program_checks_each_calls_targets(
    loss: Callable[[Value, Value], Value], good: float, bad: float, words: str
) -> None:
    """A program ``fast.trace`` made checks the targets its losses take at every call, as the
    Value engine checks them (it took hinge label 0.5 and gave a loss), with no retrace."""
    w = Value(0.5)
    program = fast.trace(lambda t: loss(w * 2.0, t), [w], good, retrace=False)
    with pytest.raises(ValueError, match=words):
        loss(Value(1.0), Value(bad))  # the engine
    with pytest.raises(ValueError, match=words):
        program(bad)
    program(good)
    assert program.traces == 1


def test_each_traced_shape_keeps_its_own_target_checks() -> None:
    """A program traced for two batch sizes checks each call against the checks of its own
    shape (they were kept by the labels' shape alone: a batch of another size found none)."""
    m = model()
    program = fast.compile_model(m, single(hinge_loss), X, [1, 0, 0, 1])
    program(X[:1], [1])  # a second structure: one row
    for xs, ys, at in ((X, [1, 0, 0.5, 1], 2), (X[:1], [0.5], 0)):
        with pytest.raises(ValueError, match=rf"targets\[{at}\] must be -1 or \+1"):
            program(xs, ys)
    assert program.traces == 2


@pytest.mark.parametrize(
    ("loss", "bad"),
    [
        (lambda s, t: hinge_loss([s], [t]), 0.5),
        (lambda s, t: binary_cross_entropy([s], [t]), 2.0),
        (lambda s, t: binary_cross_entropy([s], [t]), math.nan),
    ],
)
def test_a_target_the_function_closes_over_is_checked_at_each_call(
    loss: Callable[[Value, Value], Value], bad: float
) -> None:
    """A target Value from outside the inputs is read again at every call: it is checked again
    too (BCE with it set to 2.0 gave a negative loss)."""
    w, target = Value(0.5), Value(1.0)
    program = fast.trace(lambda x: loss(w * x, target), [w], 2.0)
    program(2.0)
    target.data = bad
    with pytest.raises(ValueError, match=r"targets\[0\] must be"):
        loss(w * 2.0, target)  # the engine
    with pytest.raises(ValueError, match=r"targets\[0\] must be"):
        program(2.0)


def test_a_refusal_the_function_caught_is_traced_again_when_the_target_passes() -> None:
    """A function that catches the loss's ValueError (and falls back to another loss) made
    another graph when traced at a refused label: a label that passes later is a new trace
    (RetraceWarning) with the engine's loss, not the fallback's (0.0 where hinge gives 2.0);
    with retrace=False, a StructureError."""
    w = Value(0.5)

    def fn(t: Value) -> Value:
        try:
            return hinge_loss([w * 2.0], [t])
        except ValueError:
            return w * 0.0

    program = fast.trace(fn, [w], 0.5)  # traced at a refused label: the fallback's graph
    assert program(0.25) == 0.0  # refused again: the same graph
    with pytest.warns(fast.RetraceWarning, match=r"targets\[0\]"):
        assert program(-1.0) == fn(Value(-1.0)).data == 2.0
    strict = fast.trace(fn, [w], 0.5, retrace=False)
    with pytest.raises(fast.StructureError, match=r"targets\[0\]"):
        strict(1.0)
