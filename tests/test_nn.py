"""micrograd.nn: micrograd's Neuron/Layer/MLP, the lecture's loop, activations, checkpoints."""

from __future__ import annotations

import json
import math
import os
import random
import stat
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons

from micrograd.engine import Value
from micrograd.nn import ACTIVATIONS, MLP, CheckpointError, Layer, Module, Neuron

LECTURE_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
LECTURE_YS = [1.0, -1.0, -1.0, 1.0]


def numbers(model: Module) -> list[float]:
    """The model's parameter values."""
    return [p.data for p in model.parameters()]


# --- micrograd's moons demo, verbatim ---


def test_moons_demo_reproduces_published_numbers() -> None:
    """micrograd's demo.ipynb, run as written, prints loss 0.8958441 at step 0 and 0.01097837 at
    step 99, and ends at 100% accuracy."""
    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1])

    def loss() -> tuple[Value, float]:
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (s.data > 0) for yi, s in zip(y, scores, strict=True)]
        return total_loss, sum(accuracy) / len(accuracy)

    seen = []
    for k in range(100):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        seen.append((total_loss.data, acc))
    assert (f"{seen[0][0]:.7f}", seen[0][1]) == ("0.8958441", 0.5)
    assert (f"{seen[99][0]:.8f}", seen[99][1]) == ("0.01097837", 1.0)


# --- micrograd's classes ---


def test_neuron_draws_weights_in_micrograds_order() -> None:
    """A Neuron draws its nin weights with random.uniform(-1, 1) in order, and its bias is 0."""
    random.seed(7)
    expected = [random.uniform(-1, 1) for _ in range(3)]
    random.seed(7)
    n = Neuron(3)
    assert ([w.data for w in n.w], n.b.data) == (expected, 0.0)


def test_neuron_sums_from_the_bias_left_to_right() -> None:
    """The pre-activation is ((b + w0*x0) + w1*x1) + w2*x2, the float order micrograd uses."""
    random.seed(3)
    n = Neuron(3, nonlin=False)
    n.b.data = 0.1
    x = [0.3, -0.7, 1e-3]
    w = [wi.data for wi in n.w]
    expected = ((0.1 + w[0] * x[0]) + w[1] * x[1]) + w[2] * x[2]
    assert n(x).data == expected


def test_neuron_graph_is_a_running_sum_of_weight_times_input() -> None:
    """A neuron's graph is micrograd's: each sum node's children are (the sum so far, w_i * x_i),
    each product's are (w_i, x_i), in that order, from the bias up."""
    random.seed(5)
    n = Neuron(3, nonlin=False)
    x = [Value(0.5), Value(-1.5), Value(2.0)]
    act = n(x)
    products = []
    node = act
    while node is not n.b:
        assert node._op == "+"
        node, product = node._prev
        products.append(product)
    assert [(p._op, p._prev) for p in reversed(products)] == [
        ("*", (wi, xi)) for wi, xi in zip(n.w, x)
    ]


def test_neuron_nonlin_flag_is_relu_or_linear() -> None:
    """nonlin=True applies ReLU and nonlin=False nothing, as in micrograd."""
    random.seed(0)
    relu, lin = Neuron(2), Neuron(2, nonlin=False)
    for n in (relu, lin):
        n.w[0].data, n.w[1].data, n.b.data = 1.0, 1.0, 0.0
    assert (relu([-1.0, -2.0]).data, lin([-1.0, -2.0]).data) == (0.0, -3.0)
    assert (relu.nonlin, lin.nonlin) == (True, False)


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", 0.0),
        ("tanh", math.tanh(-0.5)),
        ("sigmoid", 1 / (1 + math.exp(0.5))),
        ("linear", -0.5),
    ],
)
def test_each_activation_is_applied(activation: str, expected: float) -> None:
    """Each named activation maps the pre-activation -0.5 to its own value."""
    n = Neuron(1, activation=activation)
    n.w[0].data, n.b.data = 1.0, 0.0
    assert n([-0.5]).data == pytest.approx(expected, rel=1e-15)


def test_unknown_activation_is_refused() -> None:
    """An activation name outside ACTIVATIONS raises a ValueError that lists the choices."""
    with pytest.raises(ValueError, match="relu, tanh, sigmoid, linear"):
        Neuron(2, activation="gelu")
    assert sorted(ACTIVATIONS) == ["linear", "relu", "sigmoid", "tanh"]


def test_mlp_parameters_are_in_micrograds_order() -> None:
    """MLP(2, [16, 16, 1]) has 337 parameters, layer by layer, neuron by neuron, w then b."""
    random.seed(1)
    model = MLP(2, [16, 16, 1])
    expected = [p for layer in model.layers for n in layer.neurons for p in [*n.w, n.b]]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]
    assert len(expected) == 337


def test_mlp_default_is_relu_hidden_and_linear_output() -> None:
    """Without an activation an MLP is micrograd's: ReLU hidden layers, a linear last layer."""
    assert MLP(2, [4, 4, 1]).activations == ["relu", "relu", "linear"]


def test_mlp_named_activation_is_used_in_every_layer() -> None:
    """activation='tanh' is the lecture's net, tanh everywhere; out_activation sets the last."""
    assert MLP(3, [4, 4, 1], activation="tanh").activations == ["tanh", "tanh", "tanh"]
    assert MLP(3, [4, 3], activation="tanh", out_activation="linear").activations == [
        "tanh",
        "linear",
    ]


def test_reprs_are_readable() -> None:
    """Neuron, Layer and MLP reprs name sizes and activations."""
    model = MLP(3, [4, 4, 1], activation="tanh")
    assert (repr(model.layers[0].neurons[0]), repr(model.layers[0]), repr(model)) == (
        "TanhNeuron(3)",
        "Layer(3 -> 4, tanh)",
        "MLP(3 -> 4 tanh -> 4 tanh -> 1 tanh)",
    )
    assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"


def test_one_output_is_a_single_value() -> None:
    """An MLP or Layer with one output returns a Value; with several, a list of Values."""
    random.seed(0)
    one, many = MLP(3, [4, 1])(LECTURE_XS[0]), MLP(3, [4, 2])(LECTURE_XS[0])
    assert (type(one), type(many), len(many)) == (Value, list, 2)
    assert type(Layer(3, 1)(LECTURE_XS[0])) is Value


def test_width_one_hidden_layer_works() -> None:
    """A width-1 hidden layer (which breaks micrograd's MLP) passes its output on and trains."""
    random.seed(2)
    model = MLP(2, [1, 3, 1], activation="tanh")
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    out.backward()
    assert all(p.grad != 0.0 for p in model.layers[0].parameters())


def test_neuron_takes_a_bare_value_as_one_input() -> None:
    """A 1-input neuron accepts a bare Value (what a width-1 Layer returns) as its input."""
    n = Neuron(1, nonlin=False)
    n.w[0].data = 2.0
    assert n(Value(3.0)).data == 6.0


def test_wrong_input_length_is_refused() -> None:
    """Feeding a neuron more or fewer inputs than nin raises instead of silently truncating."""
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        MLP(3, [2, 1])([1.0, 2.0])


@pytest.mark.parametrize("activation", [None, "tanh"])
def test_lecture_training_loop_lowers_the_loss(activation: str | None) -> None:
    """The lecture's loop (summed squared loss, p.data += -0.1 * p.grad) runs unchanged."""
    random.seed(42)
    n = MLP(3, [4, 4, 1], activation=activation)
    xs, ys = LECTURE_XS, LECTURE_YS
    losses = []
    for _ in range(20):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred, strict=True))
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]


def test_zero_grad_clears_every_gradient() -> None:
    """zero_grad() sets every parameter's grad back to 0."""
    random.seed(0)
    model = MLP(2, [3, 1])
    model([1.0, 1.0]).backward()  # type: ignore[union-attr]
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [0.0] * 13


# --- state dicts and checkpoint files ---


def test_state_dict_names_every_parameter() -> None:
    """state_dict() maps PyTorch-style dotted names to each parameter's number."""
    random.seed(0)
    model = MLP(2, [2, 1])
    state = model.state_dict()
    assert list(state)[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert list(state.values()) == numbers(model)


def test_load_state_dict_copies_numbers() -> None:
    """load_state_dict() makes a second net compute exactly what the first one does."""
    random.seed(0)
    a = MLP(2, [3, 1])
    b = MLP(2, [3, 1])
    b.load_state_dict(a.state_dict())
    assert numbers(b) == numbers(a)


def test_load_state_dict_mismatch_changes_nothing() -> None:
    """A state dict for another shape raises CheckpointError and leaves the model as it was."""
    random.seed(0)
    model, other = MLP(2, [3, 1]), MLP(2, [4, 1])
    before = numbers(model)
    with pytest.raises(CheckpointError, match="4 unexpected"):
        model.load_state_dict(other.state_dict())
    bad = model.state_dict()
    bad["layers.0.neurons.0.b"] = "zero"  # type: ignore[assignment]
    with pytest.raises(CheckpointError, match="must be a real number, not 'zero' \\(str\\)"):
        model.load_state_dict(bad)
    assert numbers(model) == before


AWKWARD = [0.1, -0.0, 5e-324, 1.7976931348623157e308, 1 / 3, -2.220446049250313e-16]


def test_save_load_round_trips_floats_exactly(tmp_path: Path) -> None:
    """Saved then loaded, every float (subnormal, -0.0, 1/3, the largest) is bit-identical."""
    random.seed(0)
    model = MLP(2, [2, 1])
    for p, v in zip(model.parameters(), AWKWARD * 2, strict=False):
        p.data = v
    path = tmp_path / "model.json"
    model.save(path)
    fresh = MLP(2, [2, 1])
    fresh.load(path)
    assert [v.hex() for v in numbers(fresh)] == [v.hex() for v in numbers(model)]


def test_checkpoint_is_plain_json(tmp_path: Path) -> None:
    """The file is JSON (no pickle) naming the format, the model and its parameters."""
    random.seed(0)
    model = MLP(2, [2, 1])
    model.save(tmp_path / "m.json", metadata={"step": 7})
    doc = json.loads((tmp_path / "m.json").read_text())
    assert (doc["format"], doc["model"], doc["state"], doc["metadata"]) == (
        "micrograd.nn",
        "MLP(2 -> 2 relu -> 1 linear)",
        model.state_dict(),
        {"step": 7},
    )


def test_load_returns_metadata(tmp_path: Path) -> None:
    """load() hands back the metadata dict given to save()."""
    model = MLP(2, [1])
    model.save(tmp_path / "m.json", metadata={"step": 12, "loss": 0.25})
    assert model.load(tmp_path / "m.json") == {"step": 12, "loss": 0.25}


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the final rename fails, the old checkpoint is intact and no temporary file is left."""
    random.seed(0)
    model = MLP(2, [2, 1])
    path = tmp_path / "m.json"
    model.save(path)
    original = path.read_text()
    for p in model.parameters():
        p.data += 1.0

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert (path.read_text(), sorted(f.name for f in tmp_path.iterdir())) == (original, ["m.json"])


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    """Loading a path that does not exist raises FileNotFoundError naming it."""
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*nope\.json"):
        MLP(2, [1]).load(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not valid JSON"),  # truncated: the first half of a real file
        ("", "not a micrograd checkpoint"),
        ("[1, 2]", "not a micrograd checkpoint"),
        ('{"format": "something else"}', "not a micrograd checkpoint"),
        ('{"format": "micrograd.nn", "version": 99, "state": {}}', "version 99"),
        ('{"format": "micrograd.nn", "version": 1}', "no parameters"),
        ('{"format": "micrograd.nn", "version": 1, "state": []}', "must be a dict"),
    ],
)
def test_bad_file_raises_and_changes_nothing(
    tmp_path: Path, content: str | None, message: str
) -> None:
    """A truncated, empty, malformed or foreign file raises CheckpointError; the model is kept."""
    random.seed(0)
    model = MLP(2, [3, 1])
    path = tmp_path / "m.json"
    model.save(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2] if content is None else content)
    for p in model.parameters():
        p.data = 0.5
    with pytest.raises(CheckpointError, match=message):
        model.load(path)
    assert numbers(model) == [0.5] * 13


def test_mismatched_model_raises_and_changes_nothing(tmp_path: Path) -> None:
    """A checkpoint of another architecture raises CheckpointError naming both models."""
    random.seed(0)
    MLP(2, [4, 1]).save(tmp_path / "m.json")
    model = MLP(2, [3, 1])
    before = numbers(model)
    with pytest.raises(CheckpointError, match=r"MLP\(2 -> 4 relu.*does not fit MLP\(2 -> 3 relu"):
        model.load(tmp_path / "m.json")
    assert numbers(model) == before


def test_from_file_rebuilds_shape_and_weights(tmp_path: Path) -> None:
    """MLP.from_file() rebuilds a net's shape and activations and loads its weights."""
    random.seed(0)
    model = MLP(3, [4, 2], activation="tanh", out_activation="linear")
    model.save(tmp_path / "m.json")
    again = MLP.from_file(tmp_path / "m.json")
    assert (repr(again), numbers(again)) == (repr(model), numbers(model))


def test_saved_file_has_the_usual_permissions(tmp_path: Path) -> None:
    """A checkpoint is readable like any file the user writes (umask applies), not private."""
    umask = os.umask(0o022)
    try:
        path = tmp_path / "m.json"
        MLP(2, [3, 1]).save(path)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_an_mlp_too_big_to_build_is_a_value_error_at_once() -> None:
    """MLP(2, [10**9]) (a typo, or a hand-edited checkpoint's config) is refused before any
    Value is made, naming the shape and nn.MAX_PARAMETERS, not an endless build."""
    with pytest.raises(ValueError, match=r"MLP\(2, \[1000000000, 1\]\) would have 4,000,000,001 "):
        MLP(2, [10**9, 1])
    assert len(MLP(2, [16, 16, 1]).parameters()) == 337
