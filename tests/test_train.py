"""micrograd.train: fit reaches its targets, reproduces micrograd's demo, and fails loudly."""

from __future__ import annotations

import gc
import math
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from sklearn.datasets import make_moons as sklearn_moons

from micrograd.data import make_and, make_blobs, make_lecture, make_spiral, make_xor
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam
from micrograd.train import StepRecord, TrainingDiverged, accuracy, fit, predict


def snapshot(model: MLP) -> list[float]:
    """The model's parameter values."""
    return [p.data for p in model.parameters()]


# --- what training reaches ---


# micrograd's demo (tests/test_nn.py runs it verbatim): its loss and accuracy at steps 0-4.
DEMO_START = [
    (0.8958441028683222, 0.5),
    (1.723590533697202, 0.81),
    (0.7429006313851131, 0.77),
    (0.7705641260584202, 0.82),
    (0.3692793385976537, 0.84),
]


def test_fit_defaults_are_micrograds_moons_recipe() -> None:
    """fit's defaults are micrograd's recipe: on the demo's data and seed its first five steps
    give the demo's losses and accuracies, float for float."""
    np.random.seed(1337)
    random.seed(1337)
    X, y = sklearn_moons(n_samples=100, noise=0.1)
    model = MLP(2, [16, 16, 1])
    history = fit(model, X.tolist(), y.tolist(), callback=lambda r: r.step == 4)
    assert list(zip(history.losses, history.accuracies, strict=True)) == DEMO_START
    assert history.lrs == [1.0 - 0.9 * k / 100 for k in range(5)]


def test_callback_returning_true_stops_training() -> None:
    """A callback that returns True ends fit after that step; other return values do not."""
    X, y = make_and(4, noise=0.0)
    history = fit(MLP(2, [2, 1]), X, y, steps=10, callback=lambda r: r.step == 2)
    assert len(history) == 3
    assert len(fit(MLP(2, [2, 1]), X, y, steps=4, callback=lambda r: 1)) == 4


@pytest.mark.parametrize(
    ("make", "n_samples", "noise"),
    [(make_and, 4, 0.0), (make_and, 100, 0.1), (make_xor, 4, 0.0), (make_xor, 40, 0.1)],
)
def test_gates_reach_full_accuracy(
    make: Callable[..., tuple[list[list[float]], list[int]]], n_samples: int, noise: float
) -> None:
    """The AND gate and XOR (clean truth tables and noisy copies) are learnt to 100%."""
    X, y = make(n_samples=n_samples, noise=noise, seed=0)
    random.seed(0)
    model = MLP(2, [8, 1])
    fit(model, X, y, steps=100)
    assert accuracy(model, X, y) == 1.0


def test_spiral_reaches_95_percent_with_cross_entropy_and_adam() -> None:
    """Three spiral arms are separated to at least 95% by cross-entropy and Adam."""
    X, y = make_spiral(n_samples=60, noise=0.1, seed=0)
    random.seed(0)
    model = MLP(2, [16, 16, 3])
    opt = Adam(model.parameters(), lr=0.05)
    history = fit(model, X, y, loss="cross_entropy", optimizer=opt, steps=50, l2=0.0)
    assert accuracy(model, X, y, "cross_entropy") >= 0.95
    assert history.losses[-1] < 0.1 * history.losses[0]


@pytest.mark.parametrize(
    ("loss", "nouts", "data"),
    [
        ("hinge", [8, 1], make_and(4, noise=0.0)),
        ("mse", [8, 1], make_and(4, noise=0.0)),
        ("bce", [8, 1], make_and(4, noise=0.0)),
        ("mse", [8, 3], make_blobs(12, noise=0.1)),
        ("cross_entropy", [8, 3], make_blobs(12, noise=0.1)),
        ("cross_entropy", [8, 2], make_and(4, noise=0.0)),
    ],
)
def test_every_loss_kind_trains(
    loss: str, nouts: list[int], data: tuple[list[list[float]], list[int]]
) -> None:
    """Each loss kind, with one output or one per class, drives its data to 100% accuracy."""
    X, y = data
    random.seed(1)
    model = MLP(2, nouts)
    fit(model, X, y, loss=loss, optimizer=Adam(model.parameters(), lr=0.05), steps=80)
    assert accuracy(model, X, y, loss) == 1.0


# --- reliability ---

RUN = """
import random
from micrograd.data import make_xor
from micrograd.nn import MLP
from micrograd.optim import Adam
from micrograd.train import fit
X, y = make_xor(40, noise=0.2, seed=4)
random.seed(4)
model = MLP(2, [6, 6, 1])
history = fit(model, X, y, optimizer=Adam(model.parameters(), lr=0.02), steps=25, batch_size=8)
print([x.hex() for x in history.losses])
"""


def test_same_seed_gives_bit_identical_losses_across_runs() -> None:
    """Two processes (different hash seeds) print the same losses, bit for bit, mini-batches too."""
    outs = [
        subprocess.run(
            [sys.executable, "-c", RUN],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(h)},
        ).stdout
        for h in (1, 2)
    ]
    assert outs[0] == outs[1]
    assert len(eval(outs[0])) == 25


def test_memory_stays_flat_over_1000_steps() -> None:
    """No graph outlives its step: the live Values and traced memory at step 999 match step 100."""
    X, y = make_and(4, noise=0.0)
    random.seed(0)
    model = MLP(2, [4, 1])
    seen: dict[int, tuple[int, int]] = {}

    def measure(record: StepRecord) -> None:
        if record.step in (100, 999):
            values = sum(type(o) is Value for o in gc.get_objects())
            seen[record.step] = (values, tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        fit(model, X, y, steps=1000, callback=measure)
    finally:
        tracemalloc.stop()
    (values_100, bytes_100), (values_999, bytes_999) = seen[100], seen[999]
    assert values_100 == values_999
    assert values_100 >= len(model.parameters())  # Values are seen by the collector
    # The history's three lists grow by ~90 kB over these 900 steps; one leaked graph per step
    # would add megabytes.
    assert bytes_999 - bytes_100 < 300_000


@pytest.mark.parametrize("engine", ["value", "fast"])
def test_nan_loss_stops_before_any_update(engine: str) -> None:
    """A NaN in the data stops fit at step 0 (TrainingDiverged) on either engine, weights kept."""
    X, y = make_and(4, noise=0.0)
    X[2] = [math.nan, 1.0]
    random.seed(0)
    model = MLP(2, [4, 1])
    before = snapshot(model)
    with pytest.raises(TrainingDiverged, match="loss is nan at step 0") as caught:
        fit(model, X, y, engine=engine)
    assert (caught.value.step, snapshot(model)) == (0, before)


def test_overflowing_loss_names_its_step_and_keeps_the_last_good_weights() -> None:
    """A diverging run stops at its first infinite loss, keeping the weights of the step before."""
    X, y = make_lecture()
    random.seed(0)
    model = MLP(3, [1], activation="linear")
    last: list[list[float]] = []
    opt = SGD(model.parameters(), lr=100.0)
    with pytest.raises(TrainingDiverged, match=r"loss is inf at step (\d+)") as caught:
        fit(model, X, y, loss="mse", optimizer=opt, steps=500, l2=0.0,
            callback=lambda r: last.append(snapshot(model)))  # fmt: skip
    assert isinstance(caught.value, ValueError)
    assert (caught.value.step, snapshot(model)) == (len(last), last[-1])


class SqrtAtZero:
    """A one-parameter model whose output sqrt(w - 1) has an infinite gradient at w = 1."""

    def __init__(self) -> None:
        self.w = Value(1.0)

    def __call__(self, x: object) -> Value:
        return (self.w - 1.0).sqrt()

    def parameters(self) -> list[Value]:
        return [self.w]


def test_infinite_gradient_stops_before_any_update() -> None:
    """A finite loss with an infinite gradient also stops fit, naming the parameter and step."""
    with pytest.raises(TrainingDiverged, match="parameter 0's gradient is -inf at step 0"):
        fit(SqrtAtZero(), [[0.0]], [1], loss="mse", l2=0.0)


# --- the loop's interface ---


def test_callback_gets_one_record_per_step() -> None:
    """The callback sees step, loss, accuracy and lr of every step, matching the History."""
    X, y = make_and(4, noise=0.0)
    random.seed(0)
    records: list[StepRecord] = []
    history = fit(MLP(2, [4, 1]), X, y, steps=5, callback=records.append)
    assert [r.step for r in records] == [0, 1, 2, 3, 4]
    assert [r.loss for r in records] == history.losses
    assert [r.accuracy for r in records] == history.accuracies
    assert [r.lr for r in records] == history.lrs == [1.0 - 0.9 * k / 5 for k in range(5)]
    assert len(history) == 5


def test_on_step_is_an_alias_for_callback() -> None:
    """on_step= works as callback= does; giving both is a TypeError."""
    X, y = make_and(4, noise=0.0)
    steps: list[int] = []
    fit(MLP(2, [2, 1]), X, y, steps=3, on_step=lambda r: steps.append(r.step))
    assert steps == [0, 1, 2]
    with pytest.raises(TypeError, match="not both"):
        fit(MLP(2, [2, 1]), X, y, steps=1, callback=print, on_step=print)


def test_given_optimizer_keeps_its_lr_unless_scheduled() -> None:
    """With an optimizer and no schedule the lr is constant; a schedule sets it per step."""
    X, y = make_and(4, noise=0.0)
    model = MLP(2, [2, 1])
    plain = fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.3), steps=3)
    sched = fit(
        model, X, y, optimizer=SGD(model.parameters(), lr=0.3), steps=3, schedule=lambda k: k / 10
    )
    assert (plain.lrs, sched.lrs) == ([0.3, 0.3, 0.3], [0.0, 0.1, 0.2])


def test_gradient_clipping_bounds_each_update() -> None:
    """With max_grad_norm, one SGD step moves the parameters by at most lr * max_grad_norm."""
    X, y = make_xor(8, noise=0.1)
    random.seed(0)
    model = MLP(2, [4, 1])
    before = snapshot(model)
    fit(model, X, y, optimizer=SGD(model.parameters(), lr=1.0), steps=1, max_grad_norm=1e-3)
    moved = math.dist(before, snapshot(model))
    assert 0.0 < moved <= 1e-3 + 1e-12


def test_mini_batches_have_the_asked_for_size() -> None:
    """batch_size=2 scores two rows per step (accuracies are multiples of 1/2); seeds differ."""
    X, y = make_xor(40, noise=0.1)
    runs = []
    for seed in (0, 0, 1):
        random.seed(0)
        runs.append(fit(MLP(2, [4, 1]), X, y, steps=10, batch_size=2, seed=seed))
    assert {a * 2 % 1 for a in runs[0].accuracies} == {0.0}
    assert runs[0].losses == runs[1].losses != runs[2].losses


def test_zero_steps_changes_nothing() -> None:
    """steps=0 returns an empty History and leaves the model as it was."""
    X, y = make_and(4, noise=0.0)
    model = MLP(2, [2, 1])
    before = snapshot(model)
    history = fit(model, X, y, steps=0)
    assert (history.losses, history.accuracies, history.lrs, snapshot(model)) == (
        [],
        [],
        [],
        before,
    )


@pytest.mark.parametrize(
    ("nouts", "y", "kwargs", "message"),
    [
        ([3], [0, 1, 2, 0], {"loss": "hinge"}, "needs a model with one output"),
        ([1], [0, 1, 1, 0], {"loss": "cross_entropy"}, "one output per class"),
        ([1], [0, 2, 1, 0], {"loss": "bce"}, "labels 0 and 1"),
        ([1], [0, 1, 1], {}, "as many labels as rows"),
        ([1], [0, 1, 1, 0], {"loss": "l1"}, "unknown loss 'l1'"),
        ([1], [0, 1, 1, 0], {"steps": -1}, "steps"),
        ([1], [0, 1, 1, 0], {"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_setups_raise_clear_errors(
    nouts: list[int], y: list[int], kwargs: dict[str, object], message: str
) -> None:
    """Mismatched outputs, labels, lengths, names or counts raise ValueError saying which."""
    X, _ = make_xor(4, noise=0.0)
    with pytest.raises(ValueError, match=message):
        fit(MLP(2, nouts), X, y, **{"steps": 1, **kwargs})  # type: ignore[arg-type]


def test_predict_uses_the_sign_or_the_largest_score() -> None:
    """One output predicts 1 where it is positive; several predict the index of the largest."""
    one = MLP(1, [1], activation="linear")
    one.layers[0].neurons[0].w[0].data = 1.0
    three = MLP(1, [3], activation="linear")
    for n, w in zip(three.layers[0].neurons, [1.0, -1.0, 0.0], strict=True):
        n.w[0].data, n.b.data = w, 0.5 if w == 0 else 0.0
    xs = [[-2.0], [0.25], [2.0]]
    assert (predict(one, xs), predict(three, xs, "cross_entropy")) == ([0, 1, 1], [1, 2, 0])
    assert accuracy(three, xs, [1, 2, 2], "cross_entropy") == 2 / 3


def test_training_modules_import_only_the_standard_library() -> None:
    """nn, losses, optim, data and train load no numpy, torch, sklearn, matplotlib or graphviz."""
    code = (
        "import sys, micrograd.nn, micrograd.losses, micrograd.optim, micrograd.data, "
        "micrograd.train; print(sorted(m for m in ('numpy', 'torch', 'sklearn', 'matplotlib', "
        "'graphviz') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


def test_inputs_can_be_passed_by_name() -> None:
    """fit, predict and accuracy take X and y by keyword too, as scikit-learn's names."""
    X, y = make_and(4, noise=0.0)
    random.seed(0)
    model = MLP(2, [8, 1])
    history = fit(model=model, X=X, y=y, steps=60)
    assert (len(history), predict(model=model, X=X), accuracy(model=model, X=X, y=y)) == (
        60,
        y,
        1.0,
    )


# --- the fast engine: the same loop on a traced program ---

ENGINE_CASES = [
    ("hinge", [8, 1], make_xor(24, noise=0.1, seed=2), None),
    ("hinge", [8, 1], make_xor(24, noise=0.1, seed=2), 7),
    ("bce", [8, 1], make_xor(24, noise=0.1, seed=2), None),
    ("bce", [8, 1], make_xor(24, noise=0.1, seed=2), 5),
    ("mse", [8, 1], make_xor(24, noise=0.1, seed=2), 6),
    ("mse", [8, 3], make_blobs(24, noise=0.1), None),
    ("mse", [8, 3], make_blobs(24, noise=0.1), 8),
    ("cross_entropy", [8, 3], make_spiral(30, noise=0.1), None),
    ("cross_entropy", [8, 3], make_spiral(30, noise=0.1), 9),
]


@pytest.mark.parametrize(("loss", "nouts", "data", "batch_size"), ENGINE_CASES)
def test_fast_engine_gives_the_value_engines_run(
    loss: str,
    nouts: list[int],
    data: tuple[list[list[float]], list[int]],
    batch_size: int | None,
) -> None:
    """engine="fast" gives the scalar engine's losses (to 1e-12), accuracies, lrs and weights."""
    X, y = data
    runs = []
    for engine in ("value", "fast"):
        random.seed(3)
        model = MLP(2, nouts, activation="tanh", out_activation="linear")
        optimizer = Adam(model.parameters(), lr=0.05)
        history = fit(model, X, y, loss=loss, optimizer=optimizer, steps=12,
                      batch_size=batch_size, seed=5, engine=engine)  # fmt: skip
        runs.append((history, snapshot(model)))
    (value, value_weights), (fast, fast_weights) = runs
    assert value.losses == pytest.approx(fast.losses, rel=1e-12, abs=1e-15)
    assert (value.accuracies, value.lrs) == (fast.accuracies, fast.lrs)
    assert value_weights == pytest.approx(fast_weights, rel=1e-9, abs=1e-12)


def test_fast_engine_runs_the_demo_recipe() -> None:
    """fit's defaults on the fast engine reproduce micrograd's demo losses and accuracies."""
    np.random.seed(1337)
    random.seed(1337)
    X, y = sklearn_moons(n_samples=100, noise=0.1)
    model = MLP(2, [16, 16, 1])
    history = fit(model, X.tolist(), y.tolist(), callback=lambda r: r.step == 4, engine="fast")
    losses = [loss for loss, _ in DEMO_START]
    assert history.losses == pytest.approx(losses, rel=1e-12)
    assert history.accuracies == [acc for _, acc in DEMO_START]


def test_fast_engine_stops_on_an_infinite_gradient() -> None:
    """On the fast engine a finite loss with an infinite gradient names the parameter and step."""
    with pytest.raises(TrainingDiverged, match="parameter 0's gradient is -inf at step 0"):
        fit(SqrtAtZero(), [[0.0]], [1], loss="mse", l2=0.0, engine="fast")


def test_auto_engine_is_fast_with_numpy_and_value_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """engine="auto" gives the fast engine's run with NumPy, the value engine's without it."""
    X, y = make_xor(16, noise=0.1, seed=1)
    runs = {}
    for engine in ("fast", "value", "auto"):
        random.seed(2)
        runs[engine] = fit(MLP(2, [6, 1]), X, y, steps=5, engine=engine).losses
    monkeypatch.setitem(sys.modules, "numpy", None)  # importing numpy now raises ImportError
    monkeypatch.delitem(sys.modules, "micrograd.fast", raising=False)
    random.seed(2)
    without_numpy = fit(MLP(2, [6, 1]), X, y, steps=5, engine="auto").losses
    assert (runs["auto"], without_numpy) == (runs["fast"], runs["value"])


def test_unknown_engine_is_refused() -> None:
    """An engine other than value, fast or auto raises ValueError naming the choices."""
    X, y = make_and(4, noise=0.0)
    with pytest.raises(ValueError, match="unknown engine 'gpu'; choose one of value, fast, auto"):
        fit(MLP(2, [2, 1]), X, y, steps=1, engine="gpu")
