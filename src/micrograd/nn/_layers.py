"""micrograd's units: ``Neuron``, ``Layer`` and ``MLP``, weights drawn as micrograd draws them.

A seeded net is micrograd's net, float for float.
"""

from __future__ import annotations

import itertools
import numbers
import operator
import os
import random
from collections.abc import Sequence
from typing import Any

from micrograd import _check as check
from micrograd.engine import Value
from micrograd.nn._checkpoint import CheckpointError, read_checkpoint
from micrograd.nn._module import Module, check_parameter_count

# What a neuron may be fed: Values or plain numbers.
Operand = Value | int | float
_INPUTS = "a list, tuple or array of numbers or Values (or one number or Value)"


def _inputs(x: object) -> list[Operand]:
    """An input other than a list as a list: one number or Value, or a sequence of them."""
    if isinstance(x, (Value, numbers.Real)):
        return [x]  # type: ignore[list-item]  # a single input, e.g. a width-1 layer's output
    return check.sequence("x", x, _INPUTS)


def _refuse_inputs(x: list[Operand]) -> None:
    """Raise TypeError naming the first item of ``x`` that is neither a number nor a Value."""
    for i, v in enumerate(x):
        if not isinstance(v, Value):
            check.number(f"x[{i}]", v, "a number or a Value (an item of x)")


# name -> how the neuron's pre-activation becomes its output
ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "linear": "Linear",
}


class Neuron(Module):
    """One unit: ``act(w·x + b)``, weights ``uniform(-1, 1)`` and bias 0, as in micrograd.

    ``nonlin=True`` means ReLU and ``False`` linear (micrograd's flag); ``activation`` names any
    of ``'relu' 'tanh' 'sigmoid' 'linear'`` and wins over ``nonlin``.

    >>> import random; random.seed(0)
    >>> n = Neuron(2, activation='tanh')
    >>> n
    TanhNeuron(2)
    >>> round(n([1.0, -2.0]).data, 6)
    -0.33013
    """

    def __init__(self, nin: int, nonlin: bool = True, activation: str | None = None) -> None:
        nin = check.integer("nin", nin, 1)
        if activation is None:
            activation = "relu" if check.boolean("nonlin", nonlin) else "linear"
        activation = check.choice("activation", activation, tuple(ACTIVATIONS))
        # Draw order is micrograd's: the weights left to right, then a bias of 0 (not drawn).
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.activation = activation
        self.nonlin = activation != "linear"

    def __call__(self, x: Sequence[Operand] | Operand) -> Value:
        """The neuron's output for input ``x`` (a sequence of ``nin`` numbers or Values)."""
        if type(x) is not list:
            x = _inputs(x)
        if len(x) != len(self.w):
            raise ValueError(
                f"x must hold {len(self.w)} numbers or Values: {self!r} takes {len(self.w)} "
                f"inputs, got {len(x)}"
            )
        # Summed from the bias, left to right: micrograd's order of float additions (map, not a
        # generator: no Python frame resumed a weight). The lengths are equal (checked above);
        # the items are checked only if the engine refuses one (a list: every step's hot path).
        try:
            act = sum(map(operator.mul, self.w, x), self.b)
        except TypeError:
            _refuse_inputs(x)
            raise
        if not isinstance(act, Value):  # an item such as an array, broadcast by NumPy
            _refuse_inputs(x)
        activation = self.activation
        if activation == "relu":
            return act.relu()
        if activation == "tanh":
            return act.tanh()
        if activation == "sigmoid":
            return act.sigmoid()
        return act

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return [*self.w, self.b]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``w.0 … w.{nin-1}`` and ``b``."""
        return [*((f"w.{i}", w) for i, w in enumerate(self.w)), ("b", self.b)]

    def config(self) -> dict[str, Any]:
        """``{'nin': …, 'activation': …}``."""
        return {"nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"{ACTIVATIONS[self.activation]}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` independent neurons that all see the same ``nin`` inputs.

    Called directly it returns a bare Value when ``nout == 1``, as micrograd's does; ``forward``
    always returns a list, which is what an ``MLP`` passes between layers.

    >>> import random; random.seed(0)
    >>> Layer(3, 2, activation='tanh')
    Layer(3 -> 2, tanh)
    """

    def __init__(
        self, nin: int, nout: int, nonlin: bool = True, activation: str | None = None
    ) -> None:
        nout = check.integer("nout", nout, 1)
        self.neurons = [Neuron(nin, nonlin=nonlin, activation=activation) for _ in range(nout)]

    def forward(self, x: Sequence[Operand] | Operand) -> list[Value]:
        """Every neuron's output, always as a list."""
        if type(x) is not list:
            x = _inputs(x)  # once, not once per neuron
        return [n(x) for n in self.neurons]

    def __call__(self, x: Sequence[Operand] | Operand) -> Value | list[Value]:
        """The outputs; a single Value when the layer has one neuron (micrograd's convention)."""
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Each neuron's parameters in turn."""
        return [p for n in self.neurons for p in n.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``neurons.{i}.w.{j}`` and ``neurons.{i}.b``."""
        return [
            (f"neurons.{i}.{name}", p)
            for i, n in enumerate(self.neurons)
            for name, p in n.named_parameters()
        ]

    @property
    def activation(self) -> str:
        """The neurons' activation name."""
        return self.neurons[0].activation

    def config(self) -> dict[str, Any]:
        """``{'nin': …, 'nout': …, 'activation': …}``."""
        return {
            "nin": len(self.neurons[0].w),
            "nout": len(self.neurons),
            "activation": self.activation,
        }

    def __repr__(self) -> str:
        return f"Layer({len(self.neurons[0].w)} -> {len(self.neurons)}, {self.activation})"


class MLP(Module):
    """A multi-layer perceptron: layers of sizes ``nouts`` on ``nin`` inputs.

    With no ``activation``, micrograd's net: ReLU hidden layers and a linear last layer. Naming an
    ``activation`` uses it in every layer, as the lecture's tanh MLP does; ``out_activation``
    overrides the last layer (``activation='tanh', out_activation='linear'`` gives logits). A net
    with one output returns a single Value, else a list.

    >>> import random; random.seed(1337)
    >>> model = MLP(2, [16, 16, 1])
    >>> model
    MLP(2 -> 16 relu -> 16 relu -> 1 linear)
    >>> len(model.parameters())
    337
    >>> round(model([1.0, -0.5]).data, 6)
    -0.767103
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | None = None,
        out_activation: str | None = None,
    ) -> None:
        nin = check.integer("nin", nin, 1)
        accepts = "a non-empty list of layer sizes (integers >= 1)"
        nouts = check.sequence("nouts", nouts, accepts)
        if not nouts:
            check.wrong_value("nouts", nouts, accepts)
        nouts = [check.integer(f"nouts[{i}]", n, 1) for i, n in enumerate(nouts)]
        for name, act in (("activation", activation), ("out_activation", out_activation)):
            if act is not None:
                check.choice(name, act, tuple(ACTIVATIONS))
        hidden = "relu" if activation is None else activation
        last = out_activation if out_activation is not None else activation or "linear"
        sz = [nin, *nouts]
        check_parameter_count(
            f"MLP({nin}, {nouts})", sum((a + 1) * b for a, b in itertools.pairwise(sz))
        )
        self.nin = nin
        self.nouts = nouts
        self.layers = [
            Layer(sz[i], sz[i + 1], activation=hidden if i != len(nouts) - 1 else last)
            for i in range(len(nouts))
        ]

    def forward(self, x: Sequence[Operand] | Operand) -> list[Value]:
        """The last layer's outputs, always as a list; every layer hands a list to the next."""
        out: Sequence[Operand] | Operand = x
        for layer in self.layers:
            out = layer.forward(out)
        assert isinstance(out, list)
        return out

    def __call__(self, x: Sequence[Operand] | Operand) -> Value | list[Value]:
        """The net's output for one input: a Value if the last layer has one neuron, else a list."""
        out = self.forward(x)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Each layer's parameters in turn (micrograd's order)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``layers.{k}.neurons.{i}.w.{j}`` and ``layers.{k}.neurons.{i}.b``."""
        return [
            (f"layers.{k}.{name}", p)
            for k, layer in enumerate(self.layers)
            for name, p in layer.named_parameters()
        ]

    @property
    def activations(self) -> list[str]:
        """Each layer's activation name."""
        return [layer.activation for layer in self.layers]

    def config(self) -> dict[str, Any]:
        """``{'nin': …, 'nouts': […], 'activations': […]}``: enough to rebuild the net."""
        return {"nin": self.nin, "nouts": list(self.nouts), "activations": self.activations}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MLP:
        """A fresh (randomly initialised) net of the shape ``config()`` describes."""
        if not isinstance(config, dict):
            check.wrong_type("config", config, "a dict such as MLP.config() gives")
        try:
            nin, nouts, acts = config["nin"], list(config["nouts"]), list(config["activations"])
            if len(acts) != len(nouts) or any(a != acts[0] for a in acts[:-1]):
                raise ValueError(f"activations {acts} do not fit layer sizes {nouts}")
            model = cls(nin, nouts, activation=acts[0], out_activation=acts[-1])
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"not an MLP config: {config!r} ({e})") from None
        return model

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MLP:
        """Rebuild a net, shape and weights, from a checkpoint written by ``save``."""
        where = check.file_path("path", path)
        doc = read_checkpoint(where)
        config = doc.get("config")
        if not isinstance(config, dict):
            raise CheckpointError(f"{where} has no model config")
        model = cls.from_config(config)
        model._load_document(doc, None, where)
        return model

    def __repr__(self) -> str:
        sizes = " -> ".join(f"{len(layer.neurons)} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> {sizes})"
