"""Loss functions built from Value ops, named and defined as in PyTorch.

Each takes ``(scores, targets)``: model outputs as Values and the numbers they should match, or
Values holding them (so that a traced program, ``micrograd.fast``, keeps the targets as inputs).
A Value target gives the loss a number target gives, and is refused where the number would be.
Means are taken as micrograd's demo takes them (summed from 0, left to right, times ``1/n``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, NoReturn

from micrograd import _check as check
from micrograd._lookup import lookup
from micrograd.engine import Value

__all__ = [
    "LOSSES",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "l2",
    "mse_loss",
]

Score = Value | float | int
Number = float | int
# A target is a number, or a Value holding one: losses use it in arithmetic only, never read it
# with float(), so a Value target stays an input of the graph rather than a frozen constant.
Target = Value | float | int


def _reduce(terms: list[Value], reduction: str) -> Value:
    """The mean or the sum of per-sample losses."""
    reduction = check.choice("reduction", reduction, ("mean", "sum"))
    if not terms:
        raise ValueError("a loss needs at least one score")
    total = sum(terms, Value(0.0))
    return total * (1.0 / len(terms)) if reduction == "mean" else total


def _scores(name: str, scores: object) -> list[Value]:
    """A non-empty sequence of Values or real numbers, as Values."""
    accepts = "a list, tuple or array of Values or real numbers (at least one score)"
    items = check.sequence(name, scores, accepts)
    if not items:
        check.wrong_value(name, scores, accepts)
    return [
        s if isinstance(s, Value) else Value(check.number(f"{name}[{i}]", s, "a Value or a number"))
        for i, s in enumerate(items)
    ]


def _targets(name: str, targets: list[object]) -> list[Target]:
    """Targets: Values (kept as inputs of the graph) or real numbers, as floats."""
    out = list(targets)
    for i, t in enumerate(out):
        if type(t) is not float and not isinstance(t, Value):  # the checks' slow path
            out[i] = check.number(f"{name}[{i}]", t, "a real number or a Value")
    return out  # type: ignore[return-value]


class TargetRule(NamedTuple):
    """The targets a loss accepts: a test of a number (elementwise on a NumPy array too) and
    what the error says the target must be."""

    needs: str
    test: Callable[[Any], Any]

    def check(self, where: str, number: float) -> None:
        """Raise ValueError naming ``where`` (``targets[3]``) unless ``number`` passes the test."""
        if not self.test(number):
            raise ValueError(f"{where} {self.needs}, not {number!r}")


_LABELS = TargetRule(
    "must be -1 or +1 (hinge_loss needs labels -1/+1, or 0/1)",
    lambda t: (t == -1.0) | (t == 0.0) | (t == 1.0),
)


def _probability(t: Any) -> Any:
    """Whether ``t`` is in [0, 1] (elementwise on an array); nan fails both tests."""
    return (t >= 0.0) & (t <= 1.0)


_ROW_PROBABILITIES = TargetRule(
    "must be a probability (cross_entropy's probability rows hold numbers in [0, 1])",
    _probability,
)
_PROBABILITIES = TargetRule(
    "must be a probability (binary_cross_entropy needs targets in [0, 1])", _probability
)


class _Deferred:
    """The input leaves of a program ``micrograd.fast`` traces (leaf -> position among its
    inputs' numbers) and the checks the losses leave to each call of the program."""

    def __init__(self, leaves: Sequence[Value]) -> None:
        self.positions = {leaf: k for k, leaf in enumerate(leaves)}
        # (position, where, rule, whether the traced number passed: a function that caught
        # the ValueError made another graph, and a later number that passes needs a new trace)
        self.checks: list[tuple[int, str, TargetRule, bool]] = []
        # Leaves from outside the inputs (a Value the function closes over): the program reads
        # their numbers again at each call, so it checks them again too.
        self.leaf_checks: list[tuple[Value, str, TargetRule, bool]] = []  # (leaf, where, ...)


class _Tracing(threading.local):
    """This thread's trace in progress, if any (each thread traces its own programs)."""

    deferred: _Deferred | None = None


_tracing = _Tracing()
_raw_data = Value.__dict__["data"].__get__  # a Value's number, read without a trace noting it


@contextmanager
def checked_by_caller(leaves: Sequence[Value]) -> Iterator[_Deferred]:
    """Within this block the losses check a target Value among ``leaves`` (a traced program's
    inputs) without reading it into the graph, and note ``(position, where, rule, passed)`` in
    ``checks``; a target that is a leaf from elsewhere, ``(leaf, where, rule, passed)`` in
    ``leaf_checks``. The caller checks each later call's numbers with ``rule.check(where,
    number)``, and traces again where one that failed (the function caught the ValueError)
    passes (``fast.Program``)."""
    previous = _tracing.deferred
    _tracing.deferred = deferred = _Deferred(leaves)
    try:
        yield deferred
    finally:
        _tracing.deferred = previous


def _check_target(rule: TargetRule, where: str, t: Target) -> None:
    """Refuse target ``t`` (a number or a Value) where ``rule`` does.

    A Value's number is read (a trace guards it) unless it is a leaf of a traced program
    (``checked_by_caller``: every ``micrograd.fast`` program): an input, or a Value the
    function closes over, whose number is checked here and at each later call.
    """
    if not isinstance(t, Value):
        rule.check(where, t)
        return
    deferred = _tracing.deferred
    if deferred is not None:
        position = deferred.positions.get(t)
        if position is not None or t._a is None:
            number = _raw_data(t)
            passed = bool(rule.test(number))
            if position is not None:
                deferred.checks.append((position, where, rule, passed))
            else:
                deferred.leaf_checks.append((t, where, rule, passed))
            rule.check(where, number)
            return
    rule.check(where, t.data)


def _pairs(scores: Sequence[Score], targets: Sequence[Target]) -> list[tuple[Value, Target]]:
    values = _scores("scores", scores)
    ts = check.sequence("targets", targets, "a list, tuple or array of numbers or Values")
    if len(values) != len(ts):
        raise ValueError(
            f"targets must hold one target per score: {len(values)} scores but {len(ts)} targets"
        )
    return list(zip(values, _targets("targets", ts)))


def mse_loss(scores: Sequence[Score], targets: Sequence[Target], reduction: str = "mean") -> Value:
    """Squared error ``(score - target)**2``, averaged (or summed, as in the lecture).

    >>> mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0]).data
    2.5
    >>> mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0], reduction='sum').data
    5.0
    >>> mse_loss([Value(1.0), Value(3.0)], [Value(0.0), Value(1.0)]).data
    2.5
    """
    # d * d equals d ** 2, and its gradient (g*d twice) overflows only where torch's 2d/n*g does.
    return _reduce([d * d for d in (s - t for s, t in _pairs(scores, targets))], reduction)


def hinge_loss(
    scores: Sequence[Score], targets: Sequence[Target], reduction: str = "mean"
) -> Value:
    """The max-margin loss of micrograd's moons demo: ``relu(1 - y * score)``, labels ``y = ±1``.

    A label of 0 is read as -1, so class indices 0/1 work unchanged; any other label is a
    ValueError. A Value label ``t`` is the same: it enters the graph as
    ``t - (1 - t*t)**2`` (``t`` at ±1, with its gradient, and -1 at 0), so that a compiled
    program keeps the labels as inputs.

    >>> hinge_loss([Value(2.0), Value(0.5)], [1, 0]).data
    0.75
    >>> hinge_loss([Value(2.0), Value(0.5)], [Value(1.0), Value(0.0)]).data
    0.75
    """
    terms = []
    for i, (s, t) in enumerate(_pairs(scores, targets)):
        _check_target(_LABELS, f"targets[{i}]", t)
        if isinstance(t, Value):
            d = 1 - t * t  # 0 at ±1, 1 at 0
            sign: Target = t - d * d
        else:
            sign = 1.0 if t > 0 else -1.0
        terms.append((1 + -sign * s).relu())
    return _reduce(terms, reduction)


def binary_cross_entropy(
    logits: Sequence[Score], targets: Sequence[Target], reduction: str = "mean"
) -> Value:
    """Binary cross-entropy on logits (PyTorch's ``binary_cross_entropy_with_logits``).

    Targets ``y`` are probabilities in [0, 1] (usually the labels 0 and 1); others are a
    ValueError. Computed as ``y*softplus(-x) + (1-y)*softplus(x)``: both terms are >= 0, so
    nothing cancels, and for a label 0 or 1 it is ``softplus(±x)`` to the last bit (the small
    loss of a confident right logit too, which ``softplus(x) - x*y`` rounds away). Its
    gradient is ``sigmoid(x) - y``. An infinite logit gives inf where the label disagrees
    (also at ``x = -inf, y = 1``, where torch gives nan), but nan where it agrees
    (``x = +inf, y = 1``; ``x = -inf, y = 0``; as torch), since the other term is ``0 * inf``;
    the exact loss there is 0.

    >>> round(binary_cross_entropy([Value(0.0)], [1]).data, 6)  # ln 2
    0.693147
    >>> binary_cross_entropy([Value(37.0)], [1]).data  # ln(1 + e^-37)
    8.533047625744066e-17
    >>> binary_cross_entropy([Value(1000.0)], [1]).data
    0.0
    """
    terms = []
    for i, (x, t) in enumerate(_pairs(logits, targets)):
        _check_target(_PROBABILITIES, f"targets[{i}]", t)
        # d/dx = -y*sigmoid(-x) + (1-y)*sigmoid(x) = sigmoid(x) - y
        terms.append((-x).softplus() * t + x.softplus() * (1 - t))
    return _reduce(terms, reduction)


binary_cross_entropy_with_logits = binary_cross_entropy


def _log_softmax_terms(values: Sequence[Value]) -> tuple[Value, list[Value]]:
    """``(lse, z)`` with ``-log softmax(values)_c = lse - z_c``: ``z = v - max v`` and
    ``lse = log Σ exp(z)``, as torch computes it.

    ``z <= 0`` and ``0 <= lse <= ln n``, so nothing large cancels: equal logits of any size give
    ``ln n``, and the differences between large logits, hence the gradients, stay exact. The
    max is an op of the graph, not a number read from the data, so a traced program stays
    exact for any later logits; the gradient it passes on, ``1 - Σ softmax``, is zero up to
    rounding (torch detaches it).
    """
    top = values[0]
    for v in values[1:]:
        top = top.maximum(v)
    z = [v - top for v in values]
    return sum((zi.exp() for zi in z[1:]), z[0].exp()).log(), z


def cross_entropy(
    logits: Sequence[Sequence[Score]],
    targets: Sequence[int] | Sequence[Sequence[Target]],
    reduction: str = "mean",
) -> Value:
    """Multi-class cross-entropy: ``-log softmax(logits)[target]``, with a stable log-softmax.

    ``logits`` holds one row of class scores per sample; ``targets`` the class indices, or one
    row per sample of class probabilities (one-hot rows; numbers or Values), whose loss is
    ``-Σ p_c log softmax(logits)_c`` as in PyTorch.

    >>> round(cross_entropy([[Value(0.0), Value(0.0)]], [1]).data, 6)  # ln 2
    0.693147
    >>> cross_entropy([[Value(-1000.0), Value(1000.0)]], [1]).data
    0.0
    >>> cross_entropy([[Value(-1000.0), Value(1000.0)]], [[0.0, 1.0]]).data
    0.0
    """
    rows = check.sequence("logits", logits, "a list of rows of class scores (Values or numbers)")
    ts = check.sequence("targets", targets, "a list of class indices or of probability rows")
    if len(rows) != len(ts):
        raise ValueError(
            f"targets must hold one target per row of logits: {len(rows)} rows of logits but "
            f"{len(ts)} targets"
        )
    terms = []
    for i, (row, t) in enumerate(zip(rows, ts)):
        values = _scores(f"logits[{i}]", row)
        n = len(values)
        lse, z = _log_softmax_terms(values)
        if hasattr(t, "__len__") and not isinstance(t, (str, bytes)):  # a row of probabilities
            probs = check.sequence(f"targets[{i}]", t, "a row of class probabilities")
            if len(probs) != n:
                check.wrong_value(f"targets[{i}]", t, f"a row of {n} class probabilities")
            # -Σ_c p_c log softmax_c, summed from 0 as _reduce sums.
            weights = _targets(f"targets[{i}]", probs)
            for k, p in enumerate(weights):
                _check_target(_ROW_PROBABILITIES, f"targets[{i}][{k}]", p)
            terms.append(sum(((lse - zc) * p for zc, p in zip(z, weights)), Value(0.0)))
            continue
        if hasattr(type(t), "__lookup__"):
            # A traced program's index input (micrograd.fast): checked by comparisons, which the
            # program guards by their outcome, and the logit picked by a gather, so any class
            # index replays the same program.
            if not 0 <= t < n:
                _bad_index(i, int(t), n)
            terms.append(lse - lookup(z, t))
            continue
        if isinstance(t, Value):
            # A class index in a Value (a traced program's input): its number picks the logit,
            # so it is read (and a compiled program guards it).
            c = t.data
            if not (c.is_integer() and 0 <= c < n):
                _bad_index(i, t, n)
        else:
            c = check.integer(f"targets[{i}]", t, 0, what="a class index, an integer")
            if c >= n:
                _bad_index(i, t, n)
        terms.append(lse - z[int(c)])
    return _reduce(terms, reduction)


def _bad_index(i: int, t: object, n: int) -> NoReturn:
    """The ValueError of a class index ``t`` (``targets[i]``) outside the ``n`` classes."""
    check.wrong_value(f"targets[{i}]", t, f"a class index from 0 to {n - 1}")


def l2(parameters: Iterable[Value], alpha: float) -> Value:
    """The weight penalty ``alpha * Σ p*p`` (the moons demo's ``reg_loss``).

    >>> l2([Value(1.0), Value(-2.0)], 0.5).data
    2.5
    """
    alpha = check.real("alpha", alpha, 0.0)
    squares = (p * p for p in check.values("parameters", parameters, nonempty=False))
    return alpha * sum(squares, Value(0.0))


# The names a training loop or the command line may ask for.
LOSSES: dict[str, Callable[..., Value]] = {
    "hinge": hinge_loss,
    "mse": mse_loss,
    "bce": binary_cross_entropy,
    "cross_entropy": cross_entropy,
}
