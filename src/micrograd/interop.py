"""micrograd models to and from PyTorch: the same net with the same weights gives the same numbers.

``to_torch`` builds a float64 ``torch.nn.Module``, ``from_torch`` reads one back, and
``pytorch_script`` writes a runnable PyTorch script holding the weights (it needs no PyTorch to
write). PyTorch is imported inside the functions that use it.
"""

from __future__ import annotations

import math
import random
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from micrograd import _check as check
from micrograd import _interop_gpt as _gpt
from micrograd._extras import install_hint
from micrograd.gpt.model import GPT
from micrograd.nn import ACTIVATIONS, MLP, CheckpointError, Module

__all__ = ["from_torch", "pytorch_script", "to_torch"]

# micrograd's activation name -> the torch.nn module after a Linear layer (None: nothing).
_TORCH_ACTIVATIONS: dict[str, str | None] = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "linear": None,
}
assert set(_TORCH_ACTIVATIONS) == set(ACTIVATIONS)


@dataclass(frozen=True)
class _Kind:
    """How one kind of micrograd model goes to PyTorch and back: one entry of ``_KINDS``.

    ``to_torch(model, torch)`` builds the module; ``reads(module, torch)`` says whether
    ``from_torch`` should hand a module to this kind, whose ``from_torch(module, torch)`` rebuilds
    the model or raises ValueError saying what does not match; ``script(model)`` is a PyTorch
    script's text. The kind's ``name`` is what its checkpoints' ``model`` field starts with, and
    ``from_config`` rebuilds a model of the shape a checkpoint's ``config`` describes;
    ``onnx_input(model, torch)`` is the ONNX input's name, an example and its free dimensions.
    """

    name: str
    model_class: type[Module]
    from_config: Callable[[Any], Module]
    to_torch: Callable[[Any, Any], Any]
    reads: Callable[[Any, Any], bool]
    from_torch: Callable[[Any, Any], Module]
    script: Callable[[Any], str]
    onnx_input: Callable[[Any, Any], tuple[str, Any, dict[int, Any]]]


def _torch() -> Any:
    """PyTorch, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"micrograd.interop needs PyTorch: {install_hint('torch')}") from None
    return torch


# --- MLP: an nn.Sequential of Linear layers, each followed by its activation ---


def _mlp_rows(model: MLP) -> list[tuple[list[list[float]], list[float], str]]:
    """Each layer's weight matrix (one row per neuron), biases and activation name."""
    return [
        (
            [[float(w.data) for w in n.w] for n in layer.neurons],
            [float(n.b.data) for n in layer.neurons],
            layer.activation,
        )
        for layer in model.layers
    ]


def _mlp_to_torch(model: MLP, torch: Any) -> Any:
    """``nn.Sequential(Linear, activation, …)`` in float64 with the MLP's weights."""
    modules = []
    for weight, bias, activation in _mlp_rows(model):
        # skip_init: no random initialisation, so PyTorch's random stream is left as it was.
        linear = torch.nn.utils.skip_init(
            torch.nn.Linear, len(weight[0]), len(weight), dtype=torch.float64
        )
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(weight, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(bias, dtype=torch.float64))
        modules.append(linear)
        act = _TORCH_ACTIVATIONS[activation]
        if act is not None:
            modules.append(getattr(torch.nn, act)())
    return torch.nn.Sequential(*modules)


def _is_sequential(module: Any, torch: Any) -> bool:
    """A plain ``nn.Sequential`` (a subclass may compute something else in its forward)."""
    return type(module) is torch.nn.Sequential


_READABLE = "an nn.Sequential of Linear layers, each followed by ReLU, Tanh, Sigmoid or nothing"


def _mlp_layers(module: Any, torch: Any) -> list[tuple[Any, str]]:
    """The Sequential's Linear layers with each one's activation name, or a ValueError."""
    names = {v: k for k, v in _TORCH_ACTIVATIONS.items() if v is not None}
    children = list(module)
    if not children:
        raise ValueError(f"module is an empty nn.Sequential: micrograd's MLP reads {_READABLE}")
    layers: list[tuple[Any, str]] = []
    i = 0
    while i < len(children):
        linear = children[i]
        if type(linear) is not torch.nn.Linear:
            raise ValueError(
                f"module[{i}] is {type(linear).__name__} where a Linear layer must be: "
                f"micrograd's MLP reads {_READABLE}"
            )
        if linear.bias is None:
            raise ValueError(f"module[{i}] is a Linear layer without a bias; micrograd's have one")
        if linear.weight.is_complex():
            raise ValueError(f"module[{i}] has complex weights; micrograd's are real numbers")
        if layers and linear.in_features != layers[-1][0].out_features:
            raise ValueError(
                f"module[{i}] takes {linear.in_features} inputs but the layer before it gives "
                f"{layers[-1][0].out_features}"
            )
        activation = "linear"
        after = children[i + 1] if i + 1 < len(children) else None
        if after is not None and type(after) is not torch.nn.Linear:
            kind = type(after).__name__
            if type(after) is torch.nn.Identity:
                activation = "linear"
            elif kind in names and type(after) is getattr(torch.nn, kind):
                activation = names[kind]
            else:
                raise ValueError(f"module[{i + 1}] is {kind}: micrograd's MLP reads {_READABLE}")
            i += 1
        layers.append((linear, activation))
        i += 1
    hidden = [activation for _, activation in layers[:-1]]
    if any(a != hidden[0] for a in hidden):
        raise ValueError(
            "micrograd's MLP uses one activation in every hidden layer; this module's hidden "
            f"layers use {', '.join(hidden)}"
        )
    return layers


def _mlp_from_torch(module: Any, torch: Any) -> MLP:
    """The MLP of the Sequential's shape and weights (the weights taken exactly, as floats)."""
    layers = _mlp_layers(module, torch)
    sizes = [linear.out_features for linear, _ in layers]
    last = layers[-1][1]
    hidden = layers[0][1] if len(layers) > 1 else last
    # Building draws weights from the global random stream: put it back as the caller had it.
    state = random.getstate()
    try:
        model = MLP(layers[0][0].in_features, sizes, activation=hidden, out_activation=last)
    finally:
        random.setstate(state)
    for layer, (linear, _) in zip(model.layers, layers, strict=True):
        weight = linear.weight.detach().to("cpu", torch.float64).tolist()
        bias = linear.bias.detach().to("cpu", torch.float64).tolist()
        for neuron, row, b in zip(layer.neurons, weight, bias, strict=True):
            for w, number in zip(neuron.w, row, strict=True):
                w.data = number
            neuron.b.data = b
    return model


def _mlp_onnx_input(model: MLP, torch: Any) -> tuple[str, Any, dict[int, Any]]:
    """Two points of zeros, the batch size free."""
    example = torch.zeros((2, model.nin), dtype=torch.float64)
    return "x", example, {0: torch.export.Dim("batch")}


def _literal(x: float) -> str:
    """A float as Python source that reads back as the same float (repr, or float('nan'))."""
    return repr(x) if math.isfinite(x) else f'float("{x!r}")'


def _wrapped(numbers: list[float], indent: str) -> str:
    """``[a, b, …]`` broken into lines of at most 100 characters, each starting with ``indent``."""
    body = ", ".join(_literal(x) for x in numbers)
    lines = textwrap.wrap(body, 100 - len(indent) - 4, break_long_words=False)
    if len(lines) == 1:
        return f"{indent}[{lines[0]}],"
    inner = "\n".join(f"{indent}    {line}" for line in lines)
    return f"{indent}[\n{inner}\n{indent}],"


def _mlp_script(model: MLP) -> str:
    """The script's text: the weights, ``build()`` and a ``main`` that prints outputs."""
    rows = _mlp_rows(model)
    nin = model.nin
    sample = [0.5] if nin == 1 else [round(-1.0 + 2.0 * i / (nin - 1), 6) for i in range(nin)]
    expected = [float(v.data) for v in model.forward(sample)]
    weights: list[str] = []
    layers: list[str] = []
    for weight, bias, activation in rows:
        index = len(layers)
        weights.append(f'    "{index}.weight": [')
        weights += [_wrapped(row, " " * 8) for row in weight]
        weights.append("    ],")
        weights.append(f'    "{index}.bias": {_wrapped(bias, " " * 4).lstrip()}')
        layers.append(f"nn.Linear({len(weight[0])}, {len(weight)}, dtype=torch.float64),")
        act = _TORCH_ACTIVATIONS[activation]
        if act is not None:
            layers.append(f"nn.{act}(),")
    modules = "\n".join(f"        {line}" for line in layers)
    return _SCRIPT.format(
        model=repr(model),
        inputs=nin,
        weights="\n".join(weights),
        modules=modules,
        sample=", ".join(_literal(x) for x in sample),
        sample_args=" ".join(repr(x) for x in sample),
        expected=", ".join(_literal(x) for x in expected),
        tail=_script_tail("inputs", "outputs"),
    )


_SCRIPT = '''\
"""{model}, exported from micrograd to PyTorch (float64).

Run it to print the outputs for a sample input, or for numbers of your own:

    python this_file.py
    python this_file.py {sample_args}

or import it: build() returns the torch.nn.Module with the trained weights.
"""

import sys

import torch
from torch import nn

INPUTS = {inputs}

# Each Linear layer's weight (one row per neuron: that neuron's weights w.0, w.1, ... in
# micrograd) and bias (each neuron's b), exactly as micrograd held them.
WEIGHTS = {{
{weights}
}}

# A sample input, and micrograd's own outputs for it (computed when the script was written).
SAMPLE = [{sample}]
MICROGRAD_OUTPUTS = [{expected}]


def build() -> nn.Sequential:
    """The network, float64, with the weights above."""
    model = nn.Sequential(
{modules}
    )
    state = {{name: torch.tensor(value, dtype=torch.float64) for name, value in WEIGHTS.items()}}
    model.load_state_dict(state)
    return model


def main(args: list[str]) -> int:
    """Print the outputs for the numbers in ``args`` (or the sample); the exit status."""
    try:
        inputs = [float(a) for a in args] if args else SAMPLE
    except ValueError as e:
        print(f"error: the inputs must be numbers ({{e}})", file=sys.stderr)
        return 2
    if len(inputs) != INPUTS:
        print(f"error: the model takes {{INPUTS}} inputs, got {{len(inputs)}}", file=sys.stderr)
        return 2
    model = build()
    with torch.no_grad():
        outputs = model(torch.tensor([inputs], dtype=torch.float64))[0].tolist()
{tail}'''


def _script_tail(given: str, result: str) -> str:
    """The end of a script's ``main``: print ``given`` and ``result`` (and, for the sample,
    micrograd's ``result``, which the script holds as ``MICROGRAD_<RESULT>``), and the call."""
    expected = f"MICROGRAD_{result.upper()}"
    return f'''\
    print("{given}", {given})
    print("{result}", {result})
    if not args:
        worst = max(abs(a - b) for a, b in zip({result}, {expected}))
        print("micrograd's {result}", {expected})
        print(f"largest difference {{worst:.1e}}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


# The kinds of model that go to PyTorch. A new kind (the GPT) is one more entry.
_KINDS: list[_Kind] = [
    _Kind(
        "MLP",
        MLP,
        MLP.from_config,
        _mlp_to_torch,
        _is_sequential,
        _mlp_from_torch,
        _mlp_script,
        _mlp_onnx_input,
    ),
    _Kind(
        "GPT",
        GPT,
        GPT.from_config,
        _gpt.to_torch,
        _gpt.reads,
        _gpt.from_torch,
        _gpt.script,
        _gpt.onnx_input,
    ),
]


def _kind_of(model: object) -> _Kind:
    """The entry of ``_KINDS`` for ``model``'s exact class, or TypeError naming the kinds."""
    for kind in _KINDS:
        if type(model) is kind.model_class:
            return kind
    known = ", ".join(kind.name for kind in _KINDS)
    check.wrong_type("model", model, f"a micrograd model of a kind that goes to PyTorch ({known})")


def to_torch(model: Module) -> Any:
    """The micrograd ``model`` as a float64 ``torch.nn.Module`` with the same weights.

    An ``MLP(nin, nouts)`` becomes ``nn.Sequential(Linear(nin, nouts[0]), ReLU(), …)``: each
    Linear layer's weight row ``i`` is neuron ``i``'s weights and its bias the neuron's ``b``;
    after it comes the layer's activation (``ReLU``, ``Tanh``, ``Sigmoid``, or nothing for
    linear). It maps a batch of shape ``(batch, nin)`` to ``(batch, nouts[-1])``; its outputs and
    gradients equal micrograd's on the same inputs to rounding (about 1e-15 relative). The weights
    are copied: training one leaves the other as it is.

    A ``micrograd.gpt.GPT`` becomes a module of the same structure (``wte``, ``wpe``, ``lm_head``,
    ``layers.{k}.attn.wq`` …, no biases) mapping token ids of shape ``(batch, t)`` to logits of
    shape ``(batch, t, vocab_size)``, position ``t`` seeing tokens ``0 … t``, as ``model(tokens)``.

    A model of another kind raises TypeError; no PyTorch raises ImportError naming the extra to
    install.

    For example, ``to_torch(MLP(2, [3, 1]))`` is ``Sequential(Linear(2, 3), ReLU(),
    Linear(3, 1))``, and ``module(torch.tensor([[1.0, -0.5]], dtype=torch.float64))`` holds
    ``model([1.0, -0.5]).data``.
    """
    kind = _kind_of(model)
    return kind.to_torch(model, _torch())


def from_torch(module: Any) -> Module:
    """A micrograd model of ``module``'s architecture with its weights (as float64 numbers).

    Reads what ``to_torch`` writes: an ``nn.Sequential`` of ``Linear`` layers (with biases), each
    followed by ``ReLU``, ``Tanh``, ``Sigmoid``, ``Identity`` or nothing, the hidden layers all
    with the same activation, becomes an ``MLP``; the GPT module ``to_torch`` makes becomes a
    ``micrograd.gpt.GPT``. A module that is no ``torch.nn.Module`` raises
    TypeError; one whose architecture micrograd has no model for raises ValueError saying what
    does not match. The global ``random`` stream is left as it was.
    """
    torch = sys.modules.get("torch")  # a torch module exists only if torch was imported
    if torch is None or not isinstance(module, torch.nn.Module):
        check.wrong_type("module", module, "a torch.nn.Module (such as to_torch returns)")
    for kind in _KINDS:
        if kind.reads(module, torch):
            return kind.from_torch(module, torch)
    raise ValueError(
        f"module is a {type(module).__name__}: micrograd reads {_READABLE} (as an MLP)"
    )


def pytorch_script(model: Module) -> str:
    """A runnable, readable PyTorch script (its text) that builds ``model`` with its weights.

    The script holds every weight as a Python float literal (exact), a ``build()`` returning the
    float64 ``torch.nn.Module`` that ``to_torch`` gives, and a ``main`` that prints the outputs
    for numbers given on its command line (or for a sample input, beside micrograd's own outputs
    for it). Writing it needs no PyTorch; running it does. A model of another kind raises
    TypeError.

    >>> import random; random.seed(0)
    >>> text = pytorch_script(MLP(2, [3, 1]))
    >>> [line for line in text.splitlines() if line.startswith(("INPUTS", "SAMPLE"))]
    ['INPUTS = 2', 'SAMPLE = [-1.0, 1.0]']
    """
    kind = _kind_of(model)
    return kind.script(model)


def _onnx_input(model: Module, torch: Any) -> tuple[str, Any, dict[int, Any]]:
    """The ONNX input of ``to_torch(model)``: its name, an example and its free dimensions."""
    return _kind_of(model).onnx_input(model, torch)


def _model_from_checkpoint(doc: dict[str, Any]) -> Module:
    """The model a checkpoint read by ``nn.read_checkpoint`` holds, shape and weights.

    Raises CheckpointError when it is no kind of model that goes to PyTorch or does not fit.
    """
    described = doc.get("model")
    name = described.split("(", 1)[0] if isinstance(described, str) else None
    for kind in _KINDS:
        if name == kind.name:
            model = kind.from_config(doc.get("config"))
            model.load_checkpoint(doc)
            return model
    known = ", ".join(kind.name for kind in _KINDS)
    raise CheckpointError(
        f"it holds {check.describe(described)}, not a model that goes to PyTorch ({known})"
    )
