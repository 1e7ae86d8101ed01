"""A small training loop: ``fit`` a model to ``(X, y)``, plus ``predict`` and ``accuracy``.

With its defaults ``fit`` is micrograd's moons demo: hinge loss, ``1e-4`` L2 penalty, full-batch
SGD whose learning rate falls linearly from 1.0 to 0.1. It stops with ``TrainingDiverged`` (naming
the step) as soon as a loss or gradient is NaN or infinite, before any parameter is changed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from micrograd.engine import Value, gc_paused, no_grad
from micrograd.losses import (
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    mse_loss,
)
from micrograd.losses import l2 as l2_penalty
from micrograd.optim import SGD, LinearDecay, Optimizer, Schedule, clip_grad_norm

__all__ = [
    "LOSS_KINDS",
    "History",
    "Model",
    "StepRecord",
    "TrainingDiverged",
    "accuracy",
    "fit",
    "predict",
]

# The losses ``fit`` knows how to feed: which targets each wants is decided here.
LOSS_KINDS = ("hinge", "mse", "bce", "cross_entropy")

Row = Sequence[float | int]


class Model(Protocol):
    """What ``fit`` trains: callable on one input row, with ``parameters()`` (an ``MLP``)."""

    def __call__(self, x: Row) -> Value | list[Value]: ...

    def parameters(self) -> list[Value]: ...


class TrainingDiverged(ValueError):  # noqa: N818 (the name says what happened)
    """The loss or a gradient became NaN or infinite; ``step`` says when, ``loss`` what it was."""

    def __init__(self, step: int, loss: float, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.loss = loss


@dataclass(frozen=True)
class StepRecord:
    """One training step: the loss and batch accuracy before the update, and the lr it used."""

    step: int
    loss: float
    accuracy: float
    lr: float


@dataclass
class History:
    """Per-step losses, (batch) accuracies and learning rates of a ``fit`` run."""

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.losses)


def _outputs(model: Model, x: Row) -> list[Value]:
    out = model(x)
    return [out] if isinstance(out, Value) else list(out)


def _decide(row: Sequence[Value]) -> int:
    """The predicted class: the sign of a single score, else the index of the largest score."""
    if len(row) == 1:
        return 1 if row[0].data > 0 else 0
    scores = [v.data for v in row]
    return scores.index(max(scores))


def _check_kind(loss_kind: str) -> None:
    if loss_kind not in LOSS_KINDS:
        raise ValueError(f"unknown loss {loss_kind!r}; choose one of {', '.join(LOSS_KINDS)}")


def predict(model: Model, X: Sequence[Row], loss_kind: str = "hinge") -> list[int]:
    """The predicted class of every input row of ``X``.

    A model with one output predicts class 1 where its score is positive (hinge, mse on ±1
    targets, bce on logits all put the boundary at 0); with several outputs, the largest wins.
    ``loss_kind`` is checked but the rule is the same for every kind.

    >>> import random; from micrograd.nn import MLP
    >>> random.seed(0)
    >>> predict(MLP(2, [4, 3]), [[0.5, -1.0], [1.0, 1.0]], 'cross_entropy')
    [2, 2]
    """
    _check_kind(loss_kind)
    with no_grad():
        return [_decide(_outputs(model, x)) for x in X]


def accuracy(model: Model, X: Sequence[Row], y: Sequence[int], loss_kind: str = "hinge") -> float:
    """The fraction of rows of ``X`` whose predicted class is the label in ``y``.

    >>> import random; from micrograd.nn import MLP
    >>> random.seed(0)
    >>> accuracy(MLP(2, [4, 3]), [[0.5, -1.0], [1.0, 1.0]], [2, 0], 'cross_entropy')
    0.5
    """
    if len(X) != len(y) or not y:
        raise ValueError(f"need as many labels as rows, and at least one: {len(X)} vs {len(y)}")
    hits = sum(p == t for p, t in zip(predict(model, X, loss_kind), y, strict=True))
    return hits / len(y)


def _data_loss(kind: str, rows: list[list[Value]], y: Sequence[int]) -> Value:
    """The loss of one batch, with targets shaped for the loss ``kind``."""
    width = len(rows[0])
    if kind == "cross_entropy":
        if width < 2:
            raise ValueError("cross_entropy needs a model with one output per class (2 or more)")
        return cross_entropy(rows, y)
    if kind == "mse" and width > 1:  # one-hot targets, one squared error per output
        flat = [v for row in rows for v in row]
        return mse_loss(flat, [1.0 if c == t else 0.0 for t in y for c in range(width)])
    if width != 1:
        raise ValueError(
            f"loss {kind!r} needs a model with one output, this one has {width}; "
            "use loss='cross_entropy' for several classes"
        )
    if any(t not in (0, 1) for t in y):
        raise ValueError(f"loss {kind!r} needs the labels 0 and 1")
    scores = [row[0] for row in rows]
    if kind == "hinge":
        return hinge_loss(scores, [t * 2 - 1 for t in y])
    if kind == "mse":
        return mse_loss(scores, [t * 2 - 1 for t in y])  # the lecture's ±1 targets
    return binary_cross_entropy(scores, y)


def fit(
    model: Model,
    X: Sequence[Row],
    y: Sequence[int],
    *,
    loss: str = "hinge",
    optimizer: Optimizer | None = None,
    steps: int = 100,
    batch_size: int | None = None,
    schedule: Schedule | None = None,
    l2: float = 1e-4,
    max_grad_norm: float | None = None,
    seed: int = 0,
    callback: Callable[[StepRecord], object] | None = None,
    on_step: Callable[[StepRecord], object] | None = None,
) -> History:
    """Train ``model`` on the rows of ``X`` with class-index labels ``y`` for ``steps`` steps.

    Each step: forward a batch (all rows, or ``batch_size`` rows drawn with ``seed``), loss
    ``loss`` plus ``l2 * Σp²``, ``zero_grad``, ``backward``, optional clipping to
    ``max_grad_norm``, ``optimizer.step()``. ``optimizer=None`` is micrograd's SGD at lr 1.0 and,
    unless a ``schedule`` is given, its linear decay to 0.1; otherwise the lr is
    ``schedule(step)`` or the optimizer's own. ``callback`` (alias ``on_step``) gets a
    ``StepRecord`` after every step; if it returns ``True`` training stops there (the schedule
    still counts ``steps``). Raises ``TrainingDiverged`` on a NaN/inf loss or gradient.

    >>> import random; from micrograd.nn import MLP; from micrograd.data import make_and
    >>> random.seed(0)
    >>> X, y = make_and(4, noise=0.0)
    >>> model = MLP(2, [8, 1])
    >>> history = fit(model, X, y, steps=50)
    >>> history.losses[0] > history.losses[-1], accuracy(model, X, y)
    (True, 1.0)
    """
    _check_kind(loss)
    if callback is not None and on_step is not None:
        raise TypeError("pass callback or on_step, not both")
    callback = callback if callback is not None else on_step
    if len(X) != len(y) or not y:
        raise ValueError(f"need as many labels as rows, and at least one: {len(X)} vs {len(y)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, not {steps!r}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
    if any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in y):
        raise ValueError("labels must be class indices 0, 1, 2, …")
    params = model.parameters()
    if optimizer is None:
        optimizer = SGD(params, lr=1.0)
        if schedule is None:
            schedule = LinearDecay(1.0, 0.1, steps)
    rng = random.Random(seed)
    n = len(X)
    history = History()
    for k in range(steps):
        if batch_size is None or batch_size >= n:
            xb, yb = X, y
        else:
            picked = rng.sample(range(n), batch_size)
            xb, yb = [X[i] for i in picked], [y[i] for i in picked]
        if schedule is not None:
            optimizer.lr = schedule(k)
        with gc_paused():  # the step's graph is freed by reference counting alone
            rows = [_outputs(model, x) for x in xb]
            total = _data_loss(loss, rows, yb)
            if l2:
                total = total + l2_penalty(params, l2)
            value = total.data
            if not math.isfinite(value):
                raise TrainingDiverged(
                    k, value, f"the loss is {value} at step {k}; nothing was updated"
                )
            acc = sum(_decide(row) == t for row, t in zip(rows, yb, strict=True)) / len(yb)
            optimizer.zero_grad()
            total.backward()
            del total, rows  # free this step's graph before the next one is built
        for i, p in enumerate(params):
            if not math.isfinite(float(p.grad)):
                raise TrainingDiverged(
                    k, value, f"parameter {i}'s gradient is {p.grad} at step {k}; nothing updated"
                )
        if max_grad_norm is not None:
            clip_grad_norm(params, max_grad_norm)
        optimizer.step()
        record = StepRecord(step=k, loss=value, accuracy=acc, lr=optimizer.lr)
        history.losses.append(value)
        history.accuracies.append(acc)
        history.lrs.append(record.lr)
        if callback is not None and callback(record) is True:
            break
    return history
