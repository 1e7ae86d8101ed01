"""Loss functions built from Value ops, named and defined as in PyTorch.

Each takes ``(scores, targets)``: model outputs as Values and the numbers they should match.
Means are taken as micrograd's demo takes them (summed from 0, left to right, times ``1/n``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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


def _reduce(terms: list[Value], reduction: str) -> Value:
    """The mean or the sum of per-sample losses."""
    if not terms:
        raise ValueError("a loss needs at least one score")
    total = sum(terms, Value(0.0))
    if reduction == "mean":
        return total * (1.0 / len(terms))
    if reduction == "sum":
        return total
    raise ValueError(f"reduction must be 'mean' or 'sum', not {reduction!r}")


def _as_value(s: Score) -> Value:
    return s if isinstance(s, Value) else Value(s)


def _pairs(scores: Sequence[Score], targets: Sequence[Number]) -> list[tuple[Value, float]]:
    if len(scores) != len(targets):
        raise ValueError(f"{len(scores)} scores but {len(targets)} targets")
    return [(_as_value(s), float(t)) for s, t in zip(scores, targets, strict=True)]


def mse_loss(scores: Sequence[Score], targets: Sequence[Number], reduction: str = "mean") -> Value:
    """Squared error ``(score - target)**2``, averaged (or summed, as in the lecture).

    >>> mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0]).data
    2.5
    >>> mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0], reduction='sum').data
    5.0
    """
    return _reduce([(s - t) ** 2 for s, t in _pairs(scores, targets)], reduction)


def hinge_loss(
    scores: Sequence[Score], targets: Sequence[Number], reduction: str = "mean"
) -> Value:
    """The max-margin loss of micrograd's moons demo: ``relu(1 - y * score)``, labels ``y = ±1``.

    A label of 0 is read as -1, so class indices 0/1 work unchanged.

    >>> hinge_loss([Value(2.0), Value(0.5)], [1, 0]).data
    0.75
    """
    terms = []
    for s, t in _pairs(scores, targets):
        if t not in (-1.0, 0.0, 1.0):
            raise ValueError(f"hinge_loss needs labels -1/+1 (or 0/1), got {t!r}")
        y = 1.0 if t > 0 else -1.0
        terms.append((1 + -y * s).relu())
    return _reduce(terms, reduction)


def binary_cross_entropy(
    logits: Sequence[Score], targets: Sequence[Number], reduction: str = "mean"
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
    for x, t in _pairs(logits, targets):
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"binary_cross_entropy needs targets in [0, 1], got {t!r}")
        terms.append(x.softplus() - x * t)
    return _reduce(terms, reduction)


binary_cross_entropy_with_logits = binary_cross_entropy


def cross_entropy(
    logits: Sequence[Sequence[Score]], targets: Sequence[int], reduction: str = "mean"
) -> Value:
    """Multi-class cross-entropy: ``-log softmax(logits)[target]``, with a stable log-softmax.

    ``logits`` holds one row of class scores per sample; ``targets`` the class indices.

    >>> round(cross_entropy([[Value(0.0), Value(0.0)]], [1]).data, 6)  # ln 2
    0.693147
    >>> cross_entropy([[Value(-1000.0), Value(1000.0)]], [1]).data
    0.0
    """
    if len(logits) != len(targets):
        raise ValueError(f"{len(logits)} rows of logits but {len(targets)} targets")
    terms = []
    for row, t in zip(logits, targets, strict=True):
        values = [_as_value(v) for v in row]
        if isinstance(t, bool) or int(t) != t or not 0 <= int(t) < len(values):
            raise ValueError(f"target {t!r} is not a class index below {len(values)}")
        # log-softmax is unchanged by a shift, so subtract the largest logit (a constant) so that
        # exp never overflows: logsumexp(v) = m + log(sum(exp(v - m))).
        m = max(v.data for v in values)
        lse = sum(((v - m).exp() for v in values), Value(0.0)).log() + m
        terms.append(lse - values[int(t)])
    return _reduce(terms, reduction)


def l2(parameters: Iterable[Value], alpha: float) -> Value:
    """The weight penalty ``alpha * Σ p*p`` (the moons demo's ``reg_loss``).

    >>> l2([Value(1.0), Value(-2.0)], 0.5).data
    2.5
    """
    return alpha * sum((p * p for p in parameters), Value(0.0))


# The names a training loop or the command line may ask for.
LOSSES: dict[str, Callable[..., Value]] = {
    "hinge": hinge_loss,
    "mse": mse_loss,
    "bce": binary_cross_entropy,
    "cross_entropy": cross_entropy,
}
