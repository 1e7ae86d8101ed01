"""A small training loop: ``fit`` a model to ``(X, y)``, plus ``predict`` and ``accuracy``.

With its defaults ``fit`` is micrograd's moons demo: hinge loss, ``1e-4`` L2 penalty, full-batch
SGD whose learning rate falls linearly from 1.0 to 0.1. It stops with ``TrainingDiverged`` (naming
the step) as soon as a loss or gradient is NaN or infinite, before any parameter is changed.
``engine="fast"`` runs the same loop with the step's loss traced once by ``micrograd.fast``.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from micrograd import _check as check
from micrograd.engine import Value, gc_paused, no_grad
from micrograd.losses import (
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    mse_loss,
)
from micrograd.losses import l2 as l2_penalty
from micrograd.nn import MLP
from micrograd.optim import SGD, LinearDecay, Optimizer, Schedule, clip_grad_norm

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "ENGINES",
    "LOSS_KINDS",
    "History",
    "Model",
    "StepRecord",
    "TrainingDiverged",
    "accuracy",
    "fit",
    "predict",
    "predict_scores",
    "resolve_engine",
]

# The losses ``fit`` knows how to feed: which targets each wants is decided here.
LOSS_KINDS = ("hinge", "mse", "bce", "cross_entropy")
# How ``fit`` runs a step: the scalar engine, the traced NumPy program, or fast when NumPy is there.
ENGINES = ("value", "fast", "auto")

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


def _outputs(model: Model, x: Any) -> list[Value]:
    out = model(x)
    return [out] if isinstance(out, Value) else list(out)


def _decide(row: Sequence[Value]) -> int:
    """The predicted class: the sign of a single score, else the index of the largest score."""
    if len(row) == 1:
        return 1 if row[0].data > 0 else 0
    scores = [v.data for v in row]
    return scores.index(max(scores))


def _check_model(model: object) -> Model:
    """``model`` if it can be trained: callable on a row, with ``parameters()``."""
    if isinstance(model, type) or not callable(model) or not hasattr(model, "parameters"):
        check.wrong_type("model", model, "a model: callable on a row, with parameters() (an MLP)")
    return model


def _check_data(X: object, y: object) -> tuple[Sequence[Row], list[int]]:
    """Rows of numbers and one class index per row, or an error naming ``X`` or ``y``."""
    rows, labels = check.rows("X", X), check.labels("y", y)
    if len(rows) != len(labels):
        raise ValueError(
            f"y must hold as many labels as rows of X: {len(rows)} rows, {len(labels)} labels"
        )
    return rows, labels


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
    check.choice("loss_kind", loss_kind, LOSS_KINDS)
    model, X = _check_model(model), check.rows("X", X)
    with no_grad():
        return [_decide(_outputs(model, x)) for x in X]


def accuracy(model: Model, X: Sequence[Row], y: Sequence[int], loss_kind: str = "hinge") -> float:
    """The fraction of rows of ``X`` whose predicted class is the label in ``y``.

    >>> import random; from micrograd.nn import MLP
    >>> random.seed(0)
    >>> accuracy(MLP(2, [4, 3]), [[0.5, -1.0], [1.0, 1.0]], [2, 0], 'cross_entropy')
    0.5
    """
    X, y = _check_data(X, y)
    hits = sum(p == t for p, t in zip(predict(model, X, loss_kind), y, strict=True))
    return hits / len(y)


def _check_targets(kind: str, width: int, y: Sequence[int]) -> None:
    """Refuse a model width or labels that the loss ``kind`` cannot use."""
    if kind == "cross_entropy":
        if width < 2:
            raise ValueError("cross_entropy needs a model with one output per class (2 or more)")
        wrong = [i for i, t in enumerate(y) if t >= width]
        if wrong:
            i = wrong[0]
            raise ValueError(
                f"y[{i}] must be a class index below {width} (the model has {width} outputs, one "
                f"per class), not {y[i]}"
            )
        return
    if kind == "mse" and width > 1:
        return
    if width != 1:
        raise ValueError(
            f"loss {kind!r} needs a model with one output, this one has {width}; "
            "use loss='cross_entropy' for several classes"
        )
    if any(t not in (0, 1) for t in y):
        raise ValueError(f"y must hold 0s and 1s: loss {kind!r} needs the labels 0 and 1")


def _targets(kind: str, width: int, y: Sequence[int], one_hot: bool) -> list[Any]:
    """The labels as the loss ``kind`` compares with them: ±1, 0/1, class indices or one-hot rows.

    ``one_hot`` asks for rows instead of class indices for cross_entropy (a trace keeps rows of
    numbers as inputs; an index would be read as a constant).
    """
    if kind == "cross_entropy" and not one_hot:
        return list(y)
    if kind in ("cross_entropy", "mse") and width > 1:
        return [[1.0 if c == t else 0.0 for c in range(width)] for t in y]
    if kind == "bce":
        return list(y)
    return [t * 2 - 1 for t in y]  # hinge, and mse on the lecture's ±1 targets


def _data_loss(kind: str, rows: list[list[Value]], targets: Sequence[Any]) -> Value:
    """The loss of one batch: model output rows against targets made by ``_targets``."""
    if kind == "cross_entropy":
        return cross_entropy(rows, targets)
    if kind == "mse" and len(rows[0]) > 1:  # one squared error per output
        return mse_loss([v for row in rows for v in row], [t for ts in targets for t in ts])
    scores = [row[0] for row in rows]
    if kind == "hinge":
        return hinge_loss(scores, targets)
    if kind == "mse":
        return mse_loss(scores, targets)
    return binary_cross_entropy(scores, targets)


# The NumPy twin of each activation, a row of fast.FORWARDS (the same rule table as engine.py).
_FORWARD_OF = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}


def predict_scores(model: Model, X: Any) -> npt.NDArray[np.float64]:
    """The model's outputs for many rows at once, as a NumPy array of shape (rows, outputs).

    An ``MLP`` is run on arrays (fast: a drawing's grid, a training step's batch); any other
    model row by row under ``no_grad``. Needs NumPy.

    >>> import random; from micrograd.nn import MLP
    >>> random.seed(0)
    >>> predict_scores(MLP(2, [4, 3]), [[0.5, -1.0], [1.0, 1.0]]).shape
    (2, 3)
    """
    import numpy as np

    from micrograd.fast import FORWARDS

    model = _check_model(model)
    h = np.asarray(check.rows("X", X), dtype=np.float64)
    if isinstance(model, MLP) and all(
        layer.activation in (*_FORWARD_OF, "linear") for layer in model.layers
    ):
        for layer in model.layers:
            W = np.array([[w.data for w in n.w] for n in layer.neurons])
            b = np.array([n.b.data for n in layer.neurons])
            h = h @ W.T + b
            if layer.activation != "linear":
                h = FORWARDS[_FORWARD_OF[layer.activation]](h, 0.0)
        return h
    with no_grad():
        rows = [[v.data for v in _outputs(model, x)] for x in h.tolist()]
    return np.array(rows, dtype=np.float64).reshape(len(h), -1)


def _decisions(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """The predicted classes, as ``predict`` decides: sign of one score, else argmax."""
    import numpy as np

    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.intp)
    classes: npt.NDArray[np.intp] = np.argmax(scores, axis=1)
    return classes


def _step_loss(
    kind: str, rows: list[list[Value]], targets: Sequence[Any], params: list[Value], l2: float
) -> Value:
    """A step's loss on either engine: the data loss plus ``l2 * Σp²`` when ``l2`` is set."""
    total = _data_loss(kind, rows, targets)
    return total + l2_penalty(params, l2) if l2 else total


class _ValueStep:
    """One step on the scalar engine: build the batch's graph, ``backward``, free it."""

    def __init__(
        self,
        model: Model,
        kind: str,
        params: list[Value],
        X: Sequence[Row],
        targets: list[Any],
        l2: float,
    ) -> None:
        self.model, self.kind, self.params, self.l2 = model, kind, params, l2
        self.X, self.targets = X, targets

    def __call__(
        self, k: int, picked: list[int] | None, yb: Sequence[int], optimizer: Optimizer
    ) -> tuple[float, float]:
        """The loss and batch accuracy; gradients are in ``.grad``. Raises on a NaN/inf loss."""
        if picked is None:
            xb, tb = self.X, self.targets
        else:
            xb, tb = [self.X[i] for i in picked], [self.targets[i] for i in picked]
        with gc_paused():  # the step's graph is freed by reference counting alone
            rows = [_outputs(self.model, x) for x in xb]
            total = _step_loss(self.kind, rows, tb, self.params, self.l2)
            value = total.data
            _check_loss(k, value)
            acc = sum(_decide(row) == t for row, t in zip(rows, yb, strict=True)) / len(yb)
            optimizer.zero_grad()
            total.backward()
            del total, rows  # free this step's graph before the next one is built
        return value, acc


class _FastStep:
    """One step of a program traced once (``micrograd.fast``): rows and targets are its inputs."""

    def __init__(
        self,
        model: Model,
        kind: str,
        params: list[Value],
        X: Sequence[Row],
        targets: list[Any],
        size: int,
        l2: float,
    ) -> None:
        import numpy as np

        from micrograd import fast

        self.model = model
        self.X = np.asarray(X, dtype=np.float64)
        self.T = np.asarray(targets, dtype=np.float64)

        def loss_fn(xs: list[list[Value]], ts: list[Any]) -> Value:
            return _step_loss(kind, [_outputs(model, x) for x in xs], ts, params, l2)

        # The targets are inputs, not constants: one program serves every batch of this size.
        self.program = fast.trace(loss_fn, params, self.X[:size], self.T[:size], retrace=False)
        if self.program.guards:  # the graph depends on numbers: it would change with them
            raise fast.StructureError(
                f"engine='fast' cannot train this model: its graph depends on "
                f"{self.program.guards[0]}, so it would be traced again at every step; use "
                "engine='value' (engine='auto' falls back to it)"
            )

    def __call__(
        self, k: int, picked: list[int] | None, yb: Sequence[int], optimizer: Optimizer
    ) -> tuple[float, float]:
        """The loss and batch accuracy; gradients are in ``.grad``. Raises on a NaN/inf loss."""
        import numpy as np

        xb, tb = (self.X, self.T) if picked is None else (self.X[picked], self.T[picked])
        optimizer.zero_grad()
        value = self.program(xb, tb)
        _check_loss(k, value)
        hits = _decisions(predict_scores(self.model, xb)) == np.asarray(yb)
        return value, float(np.mean(hits))


def _fast_step(make: Callable[[], _FastStep], required: bool) -> _FastStep | None:
    """The traced step ``make()``; when the model cannot be traced faithfully, None (for
    engine="auto") or the reason (engine="fast"), before any step is taken."""
    from micrograd.fast import StructureError

    try:
        return make()
    except StructureError:
        if required:
            raise
        return None
    except Exception as exc:
        if required:
            if sys.version_info >= (3, 11):  # add_note is new in 3.11; 3.10 raises it bare
                exc.add_note(
                    "(raised while tracing the step for engine='fast', where the model gets its "
                    "input rows as Values; engine='value' gives it plain numbers)"
                )
            raise
        return None  # the Value engine runs the step as the model was written for


def _check_loss(k: int, value: float) -> None:
    if not math.isfinite(value):
        raise TrainingDiverged(k, value, f"the loss is {value} at step {k}; nothing was updated")


def resolve_engine(engine: str) -> str:
    """``"fast"`` or ``"value"`` for an engine choice; ``"auto"`` is fast when NumPy is installed.

    Raises ValueError for an unknown choice, and ImportError naming the extra for ``"fast"``
    without NumPy.

    >>> resolve_engine("value")
    'value'
    """
    if check.choice("engine", engine, ENGINES) == "value":
        return "value"
    try:
        import micrograd.fast  # noqa: F401
    except ImportError:
        if engine == "fast":
            raise
        return "value"
    return "fast"


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
    rng: random.Random | None = None,
    callback: Callable[[StepRecord], object] | None = None,
    on_step: Callable[[StepRecord], object] | None = None,
    engine: str = "value",
) -> History:
    """Train ``model`` on the rows of ``X`` with class-index labels ``y`` for ``steps`` steps.

    Each step: forward a batch (all rows, or ``batch_size`` rows drawn by ``rng``, by default
    ``random.Random(seed)``: pass your own to save its ``getstate()`` in a checkpoint and resume
    the same batches), loss ``loss`` plus ``l2 * Σp²``, ``zero_grad``, ``backward``, optional
    clipping to ``max_grad_norm``, ``optimizer.step()``. ``optimizer=None`` is micrograd's SGD
    at lr 1.0 and, unless a ``schedule`` is given, its linear decay to 0.1; otherwise the lr is
    ``schedule(step)`` or the optimizer's own. ``callback`` (alias ``on_step``) gets a
    ``StepRecord`` after every step; if it returns ``True`` training stops there (the schedule
    still counts ``steps``). Raises ``TrainingDiverged`` on a NaN/inf loss or gradient.

    ``engine="fast"`` traces the step's loss once into a NumPy program (``micrograd.fast``, needs
    NumPy) with the batch's rows and targets as its inputs, and runs this same loop: the same
    batches, lr, checks, records and optimizer, the same losses to rounding. A model whose graph
    depends on numbers it reads (``x.data > 0``, ``float(x)``) cannot be replayed so: ``"fast"``
    then raises ``micrograd.fast.StructureError`` naming the line, before any step. ``"auto"`` is
    fast when NumPy is installed and the model traces faithfully, else the Value engine;
    ``"value"`` (default) builds each step's graph of Values.

    >>> import random; from micrograd.nn import MLP; from micrograd.data import make_and
    >>> random.seed(0)
    >>> X, y = make_and(4, noise=0.0)
    >>> model = MLP(2, [8, 1])
    >>> history = fit(model, X, y, steps=50)
    >>> history.losses[0] > history.losses[-1], accuracy(model, X, y)
    (True, 1.0)
    """
    # Every argument is checked before anything is built or changed.
    model, (X, y) = _check_model(model), _check_data(X, y)
    loss = check.choice("loss", loss, LOSS_KINDS)
    if optimizer is not None and (
        isinstance(optimizer, type) or not all(hasattr(optimizer, m) for m in ("step", "zero_grad"))
    ):
        check.wrong_type("optimizer", optimizer, "an optimizer (SGD, Adam, AdamW) or None")
    steps = check.integer("steps", steps, 0)
    batch_size = None if batch_size is None else check.integer("batch_size", batch_size, 1)
    if schedule is not None:
        check.function("schedule", schedule, "a schedule (a callable step -> lr) or None")
    l2 = check.real("l2", l2, 0.0)
    if max_grad_norm is not None:
        max_grad_norm = check.real("max_grad_norm", max_grad_norm, 0.0, infinite=True)
    seed = check.integer("seed", seed)
    for name, fn in (("callback", callback), ("on_step", on_step)):
        if fn is not None:
            check.function(name, fn, "a function of a StepRecord, or None")
    if callback is not None and on_step is not None:
        raise TypeError("pass callback or on_step, not both")
    callback = callback if callback is not None else on_step
    required = engine == "fast"
    engine = resolve_engine(engine)
    params = model.parameters()
    if optimizer is None:
        optimizer = SGD(params, lr=1.0)
        if schedule is None:
            schedule = LinearDecay(1.0, 0.1, steps)
    if rng is None:
        rng = random.Random(seed)
    elif not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random, not {type(rng).__name__}")
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    full = size == n  # every row, in order, and no draw from rng
    history = History()
    if not steps:
        return history
    with no_grad():
        width = len(_outputs(model, X[0]))
    _check_targets(loss, width, y)
    run: _ValueStep | _FastStep | None = None
    if engine == "fast":
        targets = _targets(loss, width, y, one_hot=True)
        run = _fast_step(lambda: _FastStep(model, loss, params, X, targets, size, l2), required)
    if run is None:
        run = _ValueStep(model, loss, params, X, _targets(loss, width, y, one_hot=False), l2)
    for k in range(steps):
        picked = None if full else rng.sample(range(n), size)
        yb = y if picked is None else [y[i] for i in picked]
        if schedule is not None:
            optimizer.lr = schedule(k)
        value, acc = run(k, picked, yb, optimizer)
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
