"""Neural nets from Values: micrograd's ``Module``, ``Neuron``, ``Layer`` and ``MLP``.

Weights are drawn as micrograd draws them, so a seeded net is micrograd's net, float for float.
Models (and an optimizer's state) save to and load from JSON, never pickle.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Sequence
from typing import Any, Protocol

from micrograd.engine import Value

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "CheckpointError",
    "Layer",
    "Module",
    "Neuron",
]

# What a neuron may be fed: Values or plain numbers.
Operand = Value | int | float

# name -> how the neuron's pre-activation becomes its output
ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "linear": "Linear",
}

_FORMAT = "micrograd.nn"
_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is truncated, malformed, or does not fit the model it is loaded into."""


class _Stateful(Protocol):
    """Anything with PyTorch-style ``state_dict()`` / ``load_state_dict()`` (an optimizer)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Module:
    """Base class: a bag of parameters that can be zeroed, listed, saved and loaded."""

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (before the next ``backward()``)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable Values, in a fixed order."""
        return []

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``(name, parameter)`` pairs, in the order of ``parameters()``."""
        return [(str(i), p) for i, p in enumerate(self.parameters())]

    def state_dict(self) -> dict[str, float]:
        """Every parameter's number by name, as in PyTorch (a plain, JSON-ready dict).

        >>> Neuron(2).state_dict().keys()
        dict_keys(['w.0', 'w.1', 'b'])
        """
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy numbers from ``state`` into the parameters; on any mismatch change nothing."""
        named = self.named_parameters()
        values = _check_state(state, [name for name, _ in named])
        for (_, p), v in zip(named, values, strict=True):
            p.data = v

    def save(
        self,
        path: str | os.PathLike[str],
        optimizer: _Stateful | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Write the parameters (and an optimizer's state, and JSON ``metadata``) to ``path``.

        The file is JSON; floats round-trip exactly (NaN and infinities use the common
        ``NaN``/``Infinity`` extension). The write is atomic: a temporary file in the same folder
        is renamed over ``path``, so a crash never leaves half a checkpoint.
        """
        doc: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "model": repr(self),
            "config": self.config(),
            "state": self.state_dict(),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
            "metadata": {} if metadata is None else metadata,
        }
        text = json.dumps(doc, indent=1)  # repr() of each float: exact round trip
        _atomic_write(os.fspath(path), text)

    def load(
        self, path: str | os.PathLike[str], optimizer: _Stateful | None = None
    ) -> dict[str, Any]:
        """Read a checkpoint written by ``save`` into this model (and ``optimizer``).

        Returns the saved ``metadata``. A missing file raises ``FileNotFoundError``; a truncated,
        malformed or mismatched one raises ``CheckpointError``. Either way nothing is changed.
        """
        doc = _read_checkpoint(os.fspath(path))
        named = self.named_parameters()
        try:
            values = _check_state(doc["state"], [name for name, _ in named])
        except CheckpointError as e:
            raise CheckpointError(
                f"{os.fspath(path)} holds {doc.get('model', 'another model')}, "
                f"which does not fit {self!r}: {e}"
            ) from None
        saved_opt = doc.get("optimizer")
        if optimizer is not None:
            if saved_opt is None:
                raise CheckpointError(f"{os.fspath(path)} holds no optimizer state")
            # Keep the optimizer's current state, to put back if the saved one does not fit.
            before = optimizer.state_dict()
            try:
                optimizer.load_state_dict(saved_opt)
            except (ValueError, KeyError, TypeError) as e:
                optimizer.load_state_dict(before)
                raise CheckpointError(f"{os.fspath(path)}: optimizer state: {e}") from None
        for (_, p), v in zip(named, values, strict=True):
            p.data = v
        metadata = doc.get("metadata", {})
        return metadata if isinstance(metadata, dict) else {}

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's shape (for checkpoints)."""
        return {}


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
        if activation is None:
            activation = "relu" if nonlin else "linear"
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if isinstance(nin, bool) or not isinstance(nin, int) or nin < 1:
            raise ValueError(f"a Neuron needs a positive number of inputs, not {nin!r}")
        # Draw order is micrograd's: the weights left to right, then a bias of 0 (not drawn).
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.activation = activation
        self.nonlin = activation != "linear"

    def __call__(self, x: Sequence[Operand] | Operand) -> Value:
        """The neuron's output for input ``x`` (a sequence of ``nin`` numbers or Values)."""
        if isinstance(x, (Value, int, float)):
            x = [x]  # a single input, e.g. the output of a width-1 layer
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        # Summed from the bias, left to right: micrograd's order of float additions.
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
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
        if isinstance(nout, bool) or not isinstance(nout, int) or nout < 1:
            raise ValueError(f"a Layer needs a positive number of outputs, not {nout!r}")
        self.neurons = [Neuron(nin, nonlin=nonlin, activation=activation) for _ in range(nout)]

    def forward(self, x: Sequence[Operand] | Operand) -> list[Value]:
        """Every neuron's output, always as a list."""
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
        nouts = list(nouts)
        if not nouts:
            raise ValueError("an MLP needs at least one layer size in nouts")
        hidden = "relu" if activation is None else activation
        last = out_activation if out_activation is not None else activation or "linear"
        sz = [nin, *nouts]
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
        doc = _read_checkpoint(os.fspath(path))
        config = doc.get("config")
        if not isinstance(config, dict):
            raise CheckpointError(f"{os.fspath(path)} has no model config")
        model = cls.from_config(config)
        model.load(path)
        return model

    def __repr__(self) -> str:
        sizes = " -> ".join(f"{len(layer.neurons)} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> {sizes})"


# --- checkpoint files ---


def _check_state(state: Any, names: list[str]) -> list[float]:
    """The state's numbers in the order of ``names``, or a CheckpointError saying what differs."""
    if not isinstance(state, dict):
        raise CheckpointError(f"a state dict must be a dict, not {type(state).__name__}")
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in set(names)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} parameter(s) such as {missing[0]!r}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected such as {unexpected[0]!r}")
        raise CheckpointError("; ".join(parts) + f" (the model has {len(names)} parameters)")
    values = []
    for n in names:
        v = state[n]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CheckpointError(f"parameter {n!r} must be a number, not {v!r:.40}")
        values.append(float(v))
    return values


def _read_checkpoint(path: str) -> dict[str, Any]:
    """Parse and check the envelope of a checkpoint file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {path}") from None
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"{path} is not a micrograd checkpoint (not UTF-8 text: {e})"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON (truncated or corrupt?): {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise CheckpointError(f"{path} is not a micrograd checkpoint")
    if doc.get("version") != _VERSION:
        raise CheckpointError(
            f"{path} is checkpoint version {doc.get('version')!r}; this micrograd reads {_VERSION}"
        )
    if "state" not in doc:
        raise CheckpointError(f"{path} holds no parameters")
    return doc


def _atomic_write(path: str, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
