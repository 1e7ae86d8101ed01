"""The limit: a minimal pure-Python reverse-mode engine, for ``micrograd bench`` to measure against.

Five slots, one global tape that every op appends to, a backward that walks the tape in reverse
through an if-chain, and only the ops the moons step needs (``+ * relu`` and their reflected
forms). It gives up what the Value engine keeps: ordered children past two, labels,
``create_graph``, any graph but the last one built (the tape holds every node until
``backward()``), and threads (one tape for all). Standalone: the standard library only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

ADD, ADD_K, MUL, MUL_K, RELU = 1, 2, 3, 4, 5  # op codes; _K: the second operand is a number

_tape: list[Value] = []  # every interior node, in the order it was made
_record = _tape.append
_new = object.__new__


class Value:
    """A scalar on the tape: ``_b`` is the second Value or the op's number constant."""

    __slots__ = ("_a", "_b", "_op", "data", "grad")

    def __init__(self, data: float) -> None:
        self.data = data
        self.grad = 0.0
        self._a = self._b = None
        self._op = 0

    # Written out, not through __init__: the hot path, as the Value engine's own ops are.
    def __add__(self, other: Value | float) -> Value:
        out = _new(Value)
        if type(other) is Value:
            out.data, out._op = self.data + other.data, ADD
        else:
            out.data, out._op = self.data + other, ADD_K
        out.grad, out._a, out._b = 0.0, self, other
        _record(out)
        return out

    def __mul__(self, other: Value | float) -> Value:
        out = _new(Value)
        if type(other) is Value:
            out.data, out._op = self.data * other.data, MUL
        else:
            out.data, out._op = self.data * other, MUL_K
        out.grad, out._a, out._b = 0.0, self, other
        _record(out)
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def relu(self) -> Value:
        """max(self, 0)."""
        out = _new(Value)
        out.data, out._op = self.data if self.data > 0.0 else 0.0, RELU
        out.grad, out._a, out._b = 0.0, self, None
        _record(out)
        return out

    def backward(self) -> None:
        """Seed this node (the tape's last) with 1 and walk the tape back; then empty it."""
        self.grad = 1.0
        for node in reversed(_tape):
            g, op, a = node.grad, node._op, node._a
            if op == MUL:
                b = node._b
                a.grad += g * b.data
                b.grad += g * a.data
            elif op == ADD:
                a.grad += g
                node._b.grad += g
            elif op == MUL_K:
                a.grad += g * node._b
            elif op == ADD_K or (op == RELU and node.data > 0.0):
                a.grad += g
        _tape.clear()


class Neuron:
    """``relu(w·x + b)`` or linear, drawn as micrograd draws it (weights, then a bias of 0)."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | float]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return [*self.w, self.b]


class MLP:
    """micrograd's ``MLP(nin, nouts)``: ReLU layers and a linear last one."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin, *nouts]
        self.layers = [
            [Neuron(sizes[i], nonlin=i != len(nouts) - 1) for _ in range(sizes[i + 1])]
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Value | float]) -> Value:
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0]

    def parameters(self) -> list[Value]:
        """Every weight and bias, layer by layer."""
        return [p for layer in self.layers for n in layer for p in n.parameters()]
