"""Loss functions built from Value ops, named and defined as in PyTorch.

Each takes ``(scores, targets)``: model outputs as Values and the numbers they should match, or
Values holding them (so that a traced program, ``micrograd.fast``, keeps the targets as inputs).
Means are taken as micrograd's demo takes them (summed from 0, left to right, times ``1/n``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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

    A number label of 0 is read as -1, so class indices 0/1 work unchanged; a Value label is
    used as the ±1 it holds.

    >>> hinge_loss([Value(2.0), Value(0.5)], [1, 0]).data
    0.75
    >>> hinge_loss([Value(2.0), Value(0.5)], [Value(1.0), Value(-1.0)]).data
    0.75
    """
    terms = []
    for i, (s, t) in enumerate(_pairs(scores, targets)):
        if not isinstance(t, Value):
            if t not in (-1.0, 0.0, 1.0):
                raise ValueError(
                    f"targets[{i}] must be -1 or +1 (hinge_loss needs labels -1/+1, or 0/1), "
                    f"not {t!r}"
                )
            t = 1.0 if t > 0 else -1.0
        terms.append((1 + -t * s).relu())
    return _reduce(terms, reduction)


def binary_cross_entropy(
    logits: Sequence[Score], targets: Sequence[Target], reduction: str = "mean"
) -> Value:
    """Binary cross-entropy on logits (PyTorch's ``binary_cross_entropy_with_logits``).

    Computed as ``softplus(x) - x*y``, which never overflows: its gradient is
    ``sigmoid(x) - y``. Targets are probabilities in [0, 1] (usually the labels 0 and 1).

    >>> round(binary_cross_entropy([Value(0.0)], [1]).data, 6)  # ln 2
    0.693147
    >>> binary_cross_entropy([Value(1000.0)], [1]).data
    0.0
    """
    terms = []
    for i, (x, t) in enumerate(_pairs(logits, targets)):
        if not isinstance(t, Value) and not 0.0 <= t <= 1.0:
            raise ValueError(
                f"targets[{i}] must be a probability (binary_cross_entropy needs targets in "
                f"[0, 1]), not {t!r}"
            )
        terms.append(x.softplus() - x * t)
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
            terms.append(sum(((lse - zc) * p for zc, p in zip(z, weights)), Value(0.0)))
            continue
        if hasattr(type(t), "__lookup__"):
            # A traced program's index input (micrograd.fast): checked by comparisons, which the
            # program guards by their outcome, and the logit picked by a gather, so any class
            # index replays the same program.
            if not 0 <= t < n:
                check.wrong_value(f"targets[{i}]", t, f"a class index below {n}")
            terms.append(lse - lookup(z, t))
            continue
        if isinstance(t, Value):
            # A class index in a Value (a traced program's input): its number picks the logit,
            # so it is read (and a compiled program guards it).
            c = t.data
            if not (c.is_integer() and 0 <= c < n):
                check.wrong_value(f"targets[{i}]", t, f"a class index below {n}")
        else:
            c = check.integer(f"targets[{i}]", t, 0, what="a class index, an integer")
            if c >= n:
                check.wrong_value(f"targets[{i}]", t, f"a class index below {n}")
        terms.append(lse - z[int(c)])
    return _reduce(terms, reduction)


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
