"""micrograd.interop: a micrograd MLP in PyTorch gives the same outputs and gradients, comes back
unchanged, and a module micrograd has no model for is refused saying what does not match."""

from __future__ import annotations

import ast
import math
import random
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lazy_torch import torch
from micrograd.engine import Value
from micrograd.gpt import GPT
from micrograd.interop import from_torch, pytorch_script, to_torch
from micrograd.nn import ACTIVATIONS, MLP, Layer, Neuron

CLOSE = {"rel_tol": 1e-12, "abs_tol": 1e-12}


# An MLP's shape: 1-4 inputs, 1-3 layers of 1-5 units, any activations micrograd has, a seed.
Shape = tuple[int, list[int], "str | None", "str | None", int]
SHAPES = st.tuples(
    st.integers(1, 4),
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.sampled_from([None, *ACTIVATIONS]),
    st.sampled_from([None, *ACTIVATIONS]),
    st.integers(0, 2**32 - 1),
)


def mlp(shape: Shape) -> MLP:
    """The MLP of a generated shape, its weights drawn as micrograd draws them from the seed."""
    nin, nouts, activation, out_activation, seed = shape
    random.seed(seed)
    return MLP(nin, nouts, activation=activation, out_activation=out_activation)


def batch(draw: st.DrawFn, nin: int) -> list[list[float]]:
    """1-3 input points of ``nin`` numbers in [-3, 3]."""
    number = st.floats(-3.0, 3.0, allow_nan=False)
    return draw(st.lists(st.lists(number, min_size=nin, max_size=nin), min_size=1, max_size=3))


def close(a: list[float], b: list[float]) -> bool:
    """Whether two equally long lists agree to 1e-12 (relative, or absolute near zero)."""
    return len(a) == len(b) and all(math.isclose(x, y, **CLOSE) for x, y in zip(a, b))


def torch_parameters(module: Any) -> list[float]:
    """A to_torch module's weights and biases in micrograd's order: per neuron, w then b."""
    numbers: list[float] = []
    for linear in (m for m in module if isinstance(m, torch.nn.Linear)):
        for row, b in zip(linear.weight.tolist(), linear.bias.tolist()):
            numbers += [*row, b]
    return numbers


def torch_grads(module: Any) -> list[float]:
    """The gradients of a to_torch module's parameters in micrograd's order."""
    numbers: list[float] = []
    for linear in (m for m in module if isinstance(m, torch.nn.Linear)):
        for row, b in zip(linear.weight.grad.tolist(), linear.bias.grad.tolist()):
            numbers += [*row, b]
    return numbers


# --- to_torch: the same numbers ---


@pytest.mark.torch
@settings(max_examples=80)
@given(SHAPES, st.data())
def test_to_torch_gives_micrograd_outputs_and_gradients(shape: Shape, data: st.DataObject) -> None:
    """On generated MLPs and inputs the module's outputs, parameter gradients and input gradients
    of sum(outputs * weights) equal micrograd's to 1e-12."""
    model = mlp(shape)
    points = batch(data.draw, model.nin)
    module = to_torch(model)
    # micrograd, point by point; the loss weighs output j by j + 1 so each output counts apart.
    xs = [[Value(v) for v in point] for point in points]
    outs = [model.forward(x) for x in xs]
    loss = sum((o * (j + 1) for out in outs for j, o in enumerate(out)), Value(0.0))
    model.zero_grad()
    loss.backward()
    # PyTorch, the whole batch at once.
    tx = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    ty = module(tx)
    scale = torch.arange(1, ty.shape[1] + 1, dtype=torch.float64)
    (ty * scale).sum().backward()
    ours = [o.data for out in outs for o in out]
    assert ty.dtype == torch.float64
    assert close(ours, ty.flatten().tolist())
    assert close([p.grad for p in model.parameters()], torch_grads(module))
    assert close([v.grad for x in xs for v in x], tx.grad.flatten().tolist())


@pytest.mark.torch
def test_to_torch_copies_the_weights_exactly_and_leaves_both_random_streams() -> None:
    """The module holds micrograd's very floats, in layers as micrograd's repr lists them, and
    building it draws from neither Python's nor PyTorch's random stream."""
    random.seed(3)
    model = MLP(2, [4, 3, 1], activation="tanh", out_activation="sigmoid")
    state, torch_state = random.getstate(), torch.get_rng_state()
    module = to_torch(model)
    expected = [p.data for p in model.parameters()]
    assert expected == torch_parameters(module)
    kinds = [type(m).__name__ for m in module]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear", "Sigmoid"]
    assert (random.getstate(), True) == (state, torch.equal(torch.get_rng_state(), torch_state))


@pytest.mark.torch
def test_the_lectures_default_net_is_relu_then_linear_in_torch() -> None:
    """micrograd's default MLP(2, [16, 16, 1]) becomes Linear, ReLU, Linear, ReLU, Linear."""
    random.seed(1337)
    module = to_torch(MLP(2, [16, 16, 1]))
    expected = ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert expected == [type(m).__name__ for m in module]


@pytest.mark.torch
def test_training_one_leaves_the_other() -> None:
    """to_torch copies: a step on the module changes none of the micrograd model's weights."""
    random.seed(0)
    model = MLP(2, [3, 1])
    before = [p.data for p in model.parameters()]
    module = to_torch(model)
    module(torch.ones(1, 2, dtype=torch.float64)).sum().backward()
    with torch.no_grad():
        for p in module.parameters():
            p -= 0.5 * p.grad
    assert before == [p.data for p in model.parameters()]


@pytest.mark.parametrize("model", [Layer(2, 3), Neuron(2), 3, "MLP", None, Value(1.0)], ids=repr)
def test_to_torch_refuses_what_is_no_model_it_knows(model: Any) -> None:
    """A Layer, a Neuron or no model at all is a TypeError naming model and the kinds it takes,
    before PyTorch is imported."""
    with pytest.raises(TypeError, match=r"^model must be a micrograd model .*\(MLP, GPT\), not "):
        to_torch(model)


def test_without_pytorch_to_torch_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where PyTorch cannot be imported, to_torch raises ImportError with the pip command."""
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    random.seed(0)
    with pytest.raises(ImportError) as caught:
        to_torch(MLP(2, [1]))
    assert str(caught.value) == (
        'micrograd.interop needs PyTorch: pip install "micrograd-learn[torch]"'
    )


# --- from_torch: back to micrograd ---


@pytest.mark.torch
@settings(max_examples=60)
@given(SHAPES)
def test_from_torch_of_to_torch_is_the_same_model(shape: Shape) -> None:
    """from_torch(to_torch(model)) has the model's shape, activations and exact weights, and
    leaves the global random stream as it was."""
    model = mlp(shape)
    module = to_torch(model)
    state = random.getstate()
    back = from_torch(module)
    assert isinstance(back, MLP)
    assert (repr(model), model.config()) == (repr(back), back.config())
    assert [p.data for p in model.parameters()] == [p.data for p in back.parameters()]
    assert state == random.getstate()


@pytest.mark.torch
def test_from_torch_reads_a_hand_built_float32_sequential() -> None:
    """A PyTorch user's float32 Sequential (Identity for a linear layer, inplace ReLU) becomes the
    MLP of its shape whose outputs equal the module's in float64."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(3, 5),
        torch.nn.ReLU(inplace=True),
        torch.nn.Linear(5, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 2),
        torch.nn.Identity(),
    )
    model = from_torch(module)
    assert repr(model) == "MLP(3 -> 5 relu -> 4 relu -> 2 linear)"
    point = [0.25, -1.5, 2.0]
    expected = module.double()(torch.tensor([point], dtype=torch.float64))[0].tolist()
    assert close(expected, [v.data for v in model.forward(point)])


MISMATCHES: dict[str, tuple[Any, str]] = {
    "empty": (lambda nn: nn.Sequential(), r"module is an empty nn\.Sequential"),
    "a convolution": (
        lambda nn: nn.Sequential(nn.Conv1d(1, 1, 1)),
        r"module\[0\] is Conv1d where a Linear layer must be",
    ),
    "no bias": (
        lambda nn: nn.Sequential(nn.Linear(2, 3, bias=False)),
        r"module\[0\] is a Linear layer without a bias",
    ),
    "sizes that do not chain": (
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)),
        r"module\[2\] takes 4 inputs but the layer before it gives 3",
    ),
    "an activation micrograd has not": (
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(), nn.Linear(3, 1)),
        r"module\[1\] is LeakyReLU: micrograd's MLP reads",
    ),
    "two activations in a row": (
        lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()),
        r"module\[2\] is Tanh where a Linear layer must be",
    ),
    "hidden layers of different activations": (
        lambda nn: nn.Sequential(
            nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)
        ),
        r"one activation in every hidden layer; this module's hidden layers use relu, tanh",
    ),
    "no Sequential": (lambda nn: nn.Linear(2, 3), r"module is a Linear: micrograd reads"),
    "a Sequential subclass": (
        lambda nn: type("Mine", (nn.Sequential,), {})(nn.Linear(2, 1)),
        r"module is a Mine: micrograd reads",
    ),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", MISMATCHES)
def test_from_torch_refuses_an_architecture_micrograd_has_no_model_for(case: str) -> None:
    """Each module that no micrograd MLP computes is a ValueError saying what does not match."""
    build, message = MISMATCHES[case]
    with pytest.raises(ValueError, match=message):
        from_torch(build(torch.nn))


@pytest.mark.parametrize("module", [3, "Sequential", None, [1.0], MLP(2, [1])], ids=repr)
def test_from_torch_refuses_what_is_no_torch_module(module: Any) -> None:
    """Anything but a torch.nn.Module (a micrograd MLP included) is a TypeError naming module."""
    with pytest.raises(TypeError, match=r"^module must be a torch\.nn\.Module"):
        from_torch(module)


# --- pytorch_script: the script's text ---


def script_weights(text: str) -> dict[str, Any]:
    """The WEIGHTS dict a script holds, read as Python literals (finite weights only)."""
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "WEIGHTS":
            weights: dict[str, Any] = ast.literal_eval(node.value)
            return weights
    raise AssertionError("the script has no WEIGHTS")


@settings(max_examples=60)
@given(SHAPES)
def test_the_script_holds_every_weight_exactly(shape: Shape) -> None:
    """The script parses as Python and its WEIGHTS are the model's floats, bit for bit, by the
    names of to_torch's module (Linear k at index 2k, or k when no layer has an activation)."""
    model = mlp(shape)
    weights = script_weights(pytorch_script(model))
    numbers = [
        x
        for name in weights
        if name.endswith(".weight")
        for row, b in zip(weights[name], weights[name.replace("weight", "bias")])
        for x in [*row, b]
    ]
    assert numbers == [p.data for p in model.parameters()]


def test_the_script_spells_non_finite_weights_so_python_reads_them() -> None:
    """A weight that is nan or infinite is written float("nan") / float("inf"), which compiles."""
    random.seed(0)
    model = MLP(2, [1])
    model.layers[0].neurons[0].w[0].data = math.inf
    model.layers[0].neurons[0].b.data = -math.inf
    model.layers[0].neurons[0].w[1].data = math.nan
    text = pytorch_script(model)
    compile(text, "script.py", "exec")
    assert '[float("inf"), float("nan")]' in text
    assert '"0.bias": [float("-inf")],' in text


@pytest.mark.torch
@settings(max_examples=30)
@given(SHAPES, st.data())
def test_the_scripts_module_gives_micrograd_outputs(shape: Shape, data: st.DataObject) -> None:
    """The script's build() (run in this process) gives micrograd's outputs to 1e-12, as its main
    prints them, and its sample outputs are micrograd's."""
    model = mlp(shape)
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(pytorch_script(model), "exported.py", "exec"), namespace)
    module = namespace["build"]()
    points = batch(data.draw, model.nin)
    with torch.no_grad():
        theirs = module(torch.tensor(points, dtype=torch.float64)).flatten().tolist()
    ours = [v.data for point in points for v in model.forward(point)]
    assert close(ours, theirs)
    expected = [v.data for v in model.forward(namespace["SAMPLE"])]
    assert expected == namespace["MICROGRAD_OUTPUTS"]


# --- the GPT: token ids in, logits out ---

# A GPT's shape: vocab_size, head_dim, n_head, n_layer, block_size, and a seed for its weights.
GPTShape = tuple[int, int, int, int, int, int]
GPT_SHAPES = st.tuples(
    st.integers(2, 9),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 5),
    st.integers(0, 2**32 - 1),
)


def gpt(shape: GPTShape) -> GPT:
    """The GPT of a generated shape, its weights drawn from the seed as microgpt draws them."""
    vocab, head_dim, n_head, n_layer, block, seed = shape
    random.seed(seed)
    return GPT(vocab, n_embd=head_dim * n_head, n_head=n_head, n_layer=n_layer, block_size=block)


def tokens_for(data: st.DataObject, model: GPT) -> list[int]:
    """1 to block_size token ids below the model's vocab_size."""
    token = st.integers(0, model.vocab_size - 1)
    return data.draw(st.lists(token, min_size=1, max_size=model.block_size))


@pytest.mark.torch
@settings(max_examples=40)
@given(GPT_SHAPES, st.data())
def test_to_torch_gives_the_gpts_logits_and_gradients(shape: GPTShape, data: st.DataObject) -> None:
    """On generated GPTs and token sequences the module's logits at every position, and the
    gradients of a weighted sum of them, equal micrograd's to 1e-12."""
    model = gpt(shape)
    tokens = tokens_for(data, model)
    module = to_torch(model)
    logits = model(tokens)
    weights = [[(3 * t + j) % 5 - 2.0 for j in range(model.vocab_size)] for t in range(len(tokens))]
    terms = [v * w for row, ws in zip(logits, weights) for v, w in zip(row, ws)]
    model.zero_grad()
    sum(terms[1:], terms[0]).backward()
    theirs = module(torch.tensor([tokens]))[0]
    (theirs * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    assert close([v.data for row in logits for v in row], theirs.flatten().tolist())
    grads = dict(module.named_parameters())
    expected = [p.grad for p in model.parameters()]
    assert close(
        expected, [g for key in gpt_keys(model) for g in grads[key].grad.flatten().tolist()]
    )


def gpt_keys(model: GPT) -> list[str]:
    """The module's weight names in the order of micrograd's parameters()."""
    keys = ["wte.weight", "wpe.weight", "lm_head.weight"]
    for k in range(model.n_layer):
        keys += [f"layers.{k}.attn.{w}.weight" for w in ("wq", "wk", "wv", "wo")]
        keys += [f"layers.{k}.mlp.{w}.weight" for w in ("fc1", "fc2")]
    return keys


@pytest.mark.torch
@settings(max_examples=30)
@given(GPT_SHAPES)
def test_from_torch_of_a_gpt_is_the_same_gpt(shape: GPTShape) -> None:
    """from_torch(to_torch(gpt)) is a GPT of the same config and exact weights; the random
    streams (Python's and PyTorch's) are left as they were."""
    model = gpt(shape)
    state, torch_state = random.getstate(), torch.get_rng_state()
    back = from_torch(to_torch(model))
    assert isinstance(back, GPT)
    assert (repr(model), [p.data for p in model.parameters()]) == (
        repr(back),
        [p.data for p in back.parameters()],
    )
    assert (random.getstate(), True) == (state, torch.equal(torch.get_rng_state(), torch_state))


@pytest.mark.torch
@settings(max_examples=20)
@given(GPT_SHAPES, st.data())
def test_the_gpt_scripts_module_gives_micrograds_logits(
    shape: GPTShape, data: st.DataObject
) -> None:
    """The GPT script's build() gives micrograd's logits to 1e-12, and its sample logits are
    micrograd's."""
    model = gpt(shape)
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(pytorch_script(model), "exported.py", "exec"), namespace)
    tokens = tokens_for(data, model)
    with torch.no_grad():
        theirs = namespace["build"]()(torch.tensor([tokens]))[0].flatten().tolist()
    assert close([v.data for row in model(tokens) for v in row], theirs)
    expected = [v.data for v in model(namespace["SAMPLE"])[-1]]
    assert expected == namespace["MICROGRAD_LOGITS"]


@pytest.mark.torch
def test_a_gpt_module_with_other_weights_is_refused() -> None:
    """A to_torch GPT whose config no longer fits its weights is a ValueError naming the weight."""
    random.seed(0)
    module = to_torch(GPT(5, n_embd=4, n_head=2, block_size=3))
    module.config = {**module.config, "block_size": 4}
    with pytest.raises(ValueError, match=r"module's wpe\.weight has another shape"):
        from_torch(module)
