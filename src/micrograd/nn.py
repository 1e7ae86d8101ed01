"""Neural nets from Values: micrograd's ``Module``, ``Neuron``, ``Layer`` and ``MLP``.

Weights are drawn as micrograd draws them, so a seeded net is micrograd's net, float for float.
Models (and an optimizer's state) save to and load from JSON, never pickle.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import numbers
import operator
import os
import random
import re
import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from micrograd import _check as check
from micrograd.engine import Value

__all__ = [
    "ACTIVATIONS",
    "MAX_CHECKPOINT_BYTES",
    "MAX_PARAMETERS",
    "MLP",
    "CheckpointError",
    "Layer",
    "Module",
    "Neuron",
    "read_checkpoint",
]

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

_FORMAT = "micrograd.nn"
_VERSION = 2  # 2 adds the checksum; version 1 files (no checksum) still load
_READABLE_VERSIONS = (1, 2)

# The largest checkpoint file read (1 GiB, some 7 million parameters with Adam's state): a
# device or pipe given as a checkpoint could otherwise be read forever.
MAX_CHECKPOINT_BYTES = 1 << 30
# The most parameters a model may have: one Value each (~200 bytes with its list slot), so 10
# million is ~2 GB and minutes of construction. A larger shape (a typo, a hand-edited
# checkpoint's config) is a ValueError at once, not an endless build or a MemoryError.
MAX_PARAMETERS = 10_000_000


def check_parameter_count(model: str, count: int) -> None:
    """ValueError if a model of ``count`` parameters (``model`` names its shape) is too big."""
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{model} would have {count:,} parameters, more than nn.MAX_PARAMETERS "
            f"({MAX_PARAMETERS:,}), one Value each"
        )


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
        """Copy numbers from ``state`` into the parameters; on any mismatch change nothing.

        ``state`` maps every name of ``named_parameters()`` to a real number; a state that is no
        dict raises TypeError, one with other names or a non-number raises ``CheckpointError``.
        """
        if not isinstance(state, dict):
            raise TypeError(
                f"state must be a dict of parameter name -> number, not {type(state).__name__}"
            )
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
        ``NaN``/``Infinity`` extension), and a SHA-256 checksum of the contents lets ``load``
        refuse a damaged file. The write is atomic: a temporary file beside the target is renamed
        over it, so a crash never leaves half a checkpoint. A symlink at ``path`` stays a link
        (its target is replaced). A failed write raises OSError naming ``path``, whose old file
        is then unchanged. ``metadata`` is JSON data: dicts with string keys, lists, strings,
        numbers, booleans and None (anything else raises TypeError).
        """
        where = check.path("path", path)
        _atomic_write(where, self._checkpoint_text(optimizer, metadata))

    def _checkpoint_text(
        self, optimizer: _Stateful | None = None, metadata: dict[str, Any] | None = None
    ) -> str:
        """The text ``save`` writes (a command that writes it later takes it now)."""
        _check_optimizer(optimizer, "state_dict")
        if metadata is not None:
            _check_metadata(metadata)
        payload: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "model": repr(self),
            "config": self.config(),
            "state": self.state_dict(),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
            "metadata": {} if metadata is None else metadata,
        }
        canonical = _canonical(payload)
        # The file is that canonical text with the checksum added as one more key.
        return f'{canonical[:-1]},"checksum":"{_checksum(canonical)}"}}'

    def load(
        self, path: str | os.PathLike[str], optimizer: _Stateful | None = None
    ) -> dict[str, Any]:
        """Read a checkpoint written by ``save`` into this model (and ``optimizer``).

        Returns the saved ``metadata``. A missing file raises ``FileNotFoundError``; a truncated,
        damaged (checksum), malformed or mismatched one raises ``CheckpointError``. Either way
        neither the model nor the optimizer is changed.
        """
        where = check.path("path", path)
        _check_optimizer(optimizer, "load_state_dict")
        return self._load_document(read_checkpoint(where), optimizer, where)

    def load_checkpoint(
        self, checkpoint: dict[str, Any], optimizer: _Stateful | None = None
    ) -> dict[str, Any]:
        """``load`` from a checkpoint already read by ``read_checkpoint`` (read once, used twice).

        Returns the saved ``metadata``; a checkpoint that does not fit raises ``CheckpointError``
        and changes neither the model nor the optimizer.
        """
        if not isinstance(checkpoint, dict):
            raise TypeError(
                f"checkpoint must be a dict from read_checkpoint(), not {type(checkpoint).__name__}"
            )
        _check_optimizer(optimizer, "load_state_dict")
        return self._load_document(checkpoint, optimizer, "the checkpoint")

    def _load_document(
        self, doc: dict[str, Any], optimizer: _Stateful | None, where: str
    ) -> dict[str, Any]:
        """Check everything first, then apply: a checkpoint that does not fit changes nothing."""
        named = self.named_parameters()
        try:
            values = _check_state(doc.get("state"), [name for name, _ in named])
        except CheckpointError as e:
            raise CheckpointError(
                f"{where} holds {doc.get('model', 'another model')}, "
                f"which does not fit {self!r}: {e}"
            ) from None
        if optimizer is not None:
            saved_opt = doc.get("optimizer")
            if saved_opt is None:
                raise CheckpointError(f"{where} holds no optimizer state")
            # An optimizer's load_state_dict checks the whole state before it changes anything.
            try:
                optimizer.load_state_dict(saved_opt)
            except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError) as e:
                raise CheckpointError(f"{where}: optimizer state: {e}") from None
        # Nothing below can fail: the numbers are checked floats.
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
        where = check.path("path", path)
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


# --- checkpoint files ---


def _check_state(state: Any, names: list[str]) -> list[float]:
    """The state's numbers in the order of ``names``, or a CheckpointError saying what differs.

    Linear in the number of parameters: one set of the names, one lookup per name.
    """
    if not isinstance(state, dict):
        raise CheckpointError(f"a state dict must be a dict, not {type(state).__name__}")
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lacks {len(missing)} parameter(s) such as {missing[0]!r}")
        if unexpected:
            parts.append(f"has {len(unexpected)} unexpected such as {unexpected[0]!r}")
        raise CheckpointError(
            f"state {' and '.join(parts)} (the model has {len(names)} parameters)"
        )
    values = []
    for n in names:
        v = state[n]
        try:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError
            values.append(float(v))
        except (TypeError, OverflowError):  # OverflowError: an int too large, such as 10**400
            raise CheckpointError(
                f"state[{n!r}] must be a real number, not {check.describe(v)}"
            ) from None
    return values


def _check_optimizer(optimizer: object, method: str) -> None:
    """Refuse an ``optimizer`` argument that is neither None nor has ``method`` (TypeError)."""
    if optimizer is not None and not callable(getattr(optimizer, method, None)):
        accepts = f"an optimizer (with {method}()) or None"
        check.wrong_type("optimizer", optimizer, accepts)


def _check_metadata(metadata: object) -> None:
    """Refuse metadata that JSON would not give back as it was (TypeError naming the item)."""
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of JSON data, not {check.describe(metadata)}")
    todo: list[tuple[str, object]] = [("metadata", metadata)]
    while todo:  # a loop, not recursion: deep metadata is no RecursionError
        where, item = todo.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"{where} has the key {check.describe(key)}: keys must be strings"
                    )
                todo.append((f"{where}[{key!r}]", value))
        elif isinstance(item, (list, tuple)):  # a tuple comes back as a list
            # Strings, numbers and None pass: only the rest is looked into (and named), as a
            # checkpoint's history is thousands of numbers.
            todo.extend(
                (f"{where}[{i}]", value)
                for i, value in enumerate(item)
                if not (value is None or isinstance(value, (str, int, float)))
            )
        elif not (item is None or isinstance(item, (str, int, float))):
            raise TypeError(
                f"{where} must be JSON data (a dict, list, string, number, bool or None), "
                f"not {check.describe(item)}"
            )


def _canonical(payload: dict[str, Any]) -> str:
    """The payload as canonical JSON: sorted keys, no spaces, ASCII, each float by its repr()
    (exact: two different floats never print alike, -0.0 included)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _checksum(canonical: str) -> str:
    """``sha256:<hex digest>`` of a canonical JSON text."""
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _float_literal(text: str) -> float:
    """A JSON number with a fraction or exponent; one too large for a float (1e400) is refused."""
    x = float(text)
    if math.isinf(x):  # the file's own infinities are spelt Infinity, which never comes here
        raise ValueError(f"the number {text[:40]} is too large for a float")
    return x


def _read_text(path: str) -> str:
    """The file's text: at most MAX_CHECKPOINT_BYTES, and only if it could be a JSON object."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(
                f"{path} is {size} bytes, more than a checkpoint may be "
                f"(MAX_CHECKPOINT_BYTES = {MAX_CHECKPOINT_BYTES})"
            )
        # Read in pieces and stop at the limit: a device or pipe (/dev/zero) may never end.
        chunks = [f.read(1 << 16)]
        if not chunks[0].lstrip().startswith(b"{"):
            raise CheckpointError(f"{path} is not a micrograd checkpoint (not a JSON object)")
        total = len(chunks[0])
        while chunk := f.read(1 << 20):
            total += len(chunk)
            if total > MAX_CHECKPOINT_BYTES:
                raise CheckpointError(
                    f"{path} holds more than MAX_CHECKPOINT_BYTES = {MAX_CHECKPOINT_BYTES} bytes"
                )
            chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"{path} is not a micrograd checkpoint (not UTF-8 text: {e})"
        ) from None


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint file written by ``Module.save`` and check its envelope and checksum.

    Returns the parsed document (``config``, ``state``, ``optimizer``, ``metadata`` …), for
    ``Module.load_checkpoint``. A missing file raises FileNotFoundError; a file that is too
    large, not JSON, nested too deep, holds a number no float can hold, is not a micrograd
    checkpoint or whose checksum does not match its contents raises ``CheckpointError``.
    Version-1 files (written before checkpoints carried a checksum) load unchecked.
    """
    where = check.path("path", path)
    try:
        text = _read_text(where)
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {where}") from None
    try:
        doc = json.loads(text, parse_float=_float_literal)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{where} is not valid JSON (truncated or corrupt?): {e}") from None
    except ValueError as e:  # a number too large (or an int of more digits than Python reads)
        raise CheckpointError(f"{where} is not a checkpoint micrograd can read: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{where} is not a checkpoint: JSON nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise CheckpointError(f"{where} is not a micrograd checkpoint")
    version = doc.get("version")
    if version not in _READABLE_VERSIONS or isinstance(version, bool):
        raise CheckpointError(
            f"{where} is checkpoint version {check.describe(version)}; this micrograd reads "
            f"{', '.join(map(str, _READABLE_VERSIONS))}"
        )
    if version >= 2:
        claimed = doc.pop("checksum", None)
        try:
            actual = _checksum(_canonical(doc))
        except (ValueError, RecursionError) as e:
            raise CheckpointError(f"{where} cannot be checked: {e}") from None
        if claimed != actual:
            raise CheckpointError(
                f"{where} is damaged: its checksum does not match its contents"
                if isinstance(claimed, str)
                else f"{where} has no checksum"
            )
    if "state" not in doc:
        raise CheckpointError(f"{where} holds no parameters")
    metadata, optimizer = doc.get("metadata", {}), doc.get("optimizer")
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{where}: metadata must be a dict, not {check.describe(metadata)}")
    if optimizer is not None and not isinstance(optimizer, dict):
        raise CheckpointError(
            f"{where}: optimizer must be a dict or null, not {check.describe(optimizer)}"
        )
    return doc


def _atomic_write(path: str, text: str | bytes) -> None:
    """Replace the file at ``path`` (a symlink's target) with ``text`` (UTF-8, or bytes as they
    are), all or nothing.

    The text goes to ``.<name>.<pid>.<random>.tmp`` beside the target, is synced, and is renamed
    over the target, so a crash leaves the old file. Temporary files of the same target left by
    writers that died mid-save (kill -9) are removed first; those of live writers are kept.
    """
    target = os.path.realpath(path)  # write through a symlink: the link stays a link
    folder, name = os.path.split(target)
    _remove_stale_temporaries(folder, name)
    try:
        tmp, fd = _create_temporary(folder, name)
    except OSError as e:
        raise _save_error(path, e) from e
    try:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise _save_error(path, e) from e
        raise
    _sync_folder(folder)


def _create_temporary(folder: str, name: str) -> tuple[str, int]:
    """A new file ``.<name>.<pid>.<random>.tmp`` in ``folder``: its path and an open descriptor.

    Created as open() creates files (mode 0o666 less the umask), never over an existing one.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Delete ``.<name>.<pid>.*.tmp`` files in ``folder`` whose writing process is gone."""
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]+\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return  # the write that follows reports the folder's problem
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, entry))


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still exist (True when that cannot be known)."""
    if os.name != "posix" or pid == os.getpid():
        return True  # elsewhere os.kill(pid, 0) is no harmless probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process, or no such pid at all
        return True
    return True


def _sync_folder(folder: str) -> None:
    """Flush the folder's entry for a renamed file to disk (POSIX), so the rename survives."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _save_error(path: str, e: OSError) -> OSError:
    """The OSError of a failed save: it names the checkpoint (not the temporary file)."""
    reason = e.strerror or str(e)
    return OSError(e.errno, f"cannot save {path}: {reason} (the file there is unchanged)")
