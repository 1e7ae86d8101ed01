"""The autograd engine: a scalar ``Value``, one derivative rule per op, and ``backward()``.

Every primitive op is one row of ``RULES``: its forward on plain floats beside its backward (the
chain rule for that op). Sugar (negation, reflected forms) is built from primitives, no rule.
"""

from __future__ import annotations

import gc
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, SupportsFloat, Union

__all__ = [
    "RULES",
    "Rule",
    "Value",
    "gc_paused",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]

# What may stand beside a Value in an expression (an int is a float to a type checker).
Operand = Union["Value", float]  # a string forward reference needs Union


# --- Forward functions on plain floats, with PyTorch's float64 edge values (inf/nan, no raise) ---


def _is_odd_integer(y: float) -> bool:
    return y.is_integer() and y % 2 == 1 if math.isfinite(y) else False


def _pow(x: float, y: float) -> float:
    if y == 0.5 or y == -0.5:  # torch computes these as (r)sqrt: nan at -inf, where C pow is inf/0
        return _sqrt(x) if y > 0 else _div(1.0, _sqrt(x))
    try:
        return math.pow(x, y)
    except OverflowError:  # the magnitude is too large: ±inf
        return -math.inf if x < 0 and _is_odd_integer(y) else math.inf
    except ValueError:  # a pole (0 ** negative) or a domain error (negative ** fraction)
        if x == 0.0:
            return math.copysign(math.inf, x) if _is_odd_integer(y) else math.inf
        return math.nan


def _div(x: float, y: float) -> float:
    try:
        return x / y
    except ZeroDivisionError:  # IEEE: ±inf, or nan for 0/0
        if x == 0.0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan  # log(0) = -inf; log(negative or nan) = nan


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else math.nan


def _sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else math.nan


def _cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else math.nan


def _sigmoid(x: float) -> float:
    # Never overflows: exp is only taken of a non-positive number.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = _exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
    if math.isnan(x):
        return x
    return max(x, 0.0) + math.log1p(_exp(-abs(x)))


def _relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x  # nan passes through, as in torch


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else x * slope


def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    return -1.0 if x < 0.0 else 0.0  # 0 at 0 and at nan, as torch's sgn


# --- The math a derivative rule is written in: on floats for backward(), on Values for
# backward(create_graph=True). The same rule serves both. ---


class _FloatMath:
    """Gradients as plain floats."""

    div = staticmethod(_div)
    pow = staticmethod(_pow)
    log = staticmethod(_log)
    cos = staticmethod(_cos)
    sin = staticmethod(_sin)
    sigmoid = staticmethod(_sigmoid)
    sign = staticmethod(_sign)
    num = staticmethod(lambda x: x)  # the plain number(s) behind an operand, to compare
    where = staticmethod(lambda cond, a, b: a if cond else b)  # elementwise, on arrays


class _ValueMath:
    """Gradients as Values, so that they can be differentiated again."""

    # An untouched grad (0.0) over a constant is plain numbers: divide those as floats do.
    div = staticmethod(lambda x, y: _div(x, y) if type(x) is type(y) is float else x / y)
    pow = staticmethod(lambda x, y: x**y)
    log = staticmethod(lambda x: x.log())
    cos = staticmethod(lambda x: x.cos())
    sin = staticmethod(lambda x: x.sin())
    sigmoid = staticmethod(lambda x: x.sigmoid())
    sign = staticmethod(lambda x: _sign(x.data))  # a step: zero derivative, a float is exact
    num = staticmethod(lambda x: x.data if isinstance(x, Value) else x)
    where = _FloatMath.where


def _pow_backward(x: Any, y: Any, out: Any, g: Any, m: Any) -> tuple[Any, Any]:
    # d/dx x^y = y * x^(y-1);  d/dy x^y = x^y * ln(x).  As torch: the first is 0 where y == 0
    # and the second's local part is 0 where x == 0 and y >= 0 (so x**0, 0**y stay finite).
    xv, yv = m.num(x), m.num(y)
    gx = m.where(yv == 0.0, 0.0, g * (y * m.pow(x, y - 1.0)))
    gy = g * m.where((xv == 0.0) & (yv >= 0.0), 0.0, out * m.log(x))
    return gx, gy


class Rule(NamedTuple):
    """A primitive op: its forward on floats beside its backward.

    ``backward(x, y, out, g, math) -> (gx[, gy])`` gives what each operand's grad receives when
    the op's output has grad ``g``: the local derivative times ``g``, written as PyTorch writes
    it (a mask, as in relu's, gives 0 even where ``g`` is inf). ``y`` is the second operand, or
    the op's constant (the 3 in ``x * 3``, a leaky slope) when there is one Value operand. Rules
    use ``* + -`` and the functions of ``math`` (``num where div pow log sin cos sigmoid sign``):
    ``_FloatMath`` on floats, ``_ValueMath`` on Values (differentiable gradients), NumPy arrays
    in ``fast.py``. So one rule serves every path, and no derivative is written twice.
    """

    forward: Callable[[float, float], float]
    backward: Callable[[Any, Any, Any, Any, Any], tuple[Any, ...]]
    formula: str  # the local derivative in symbols, for the narrator

    def partials(self, x: Any, y: Any, out: Any, m: Any) -> tuple[Any, ...]:
        """The local derivatives: the backward of an output gradient of 1."""
        return self.backward(x, y, out, 1.0, m)


def _unary_rule(forward: Callable[[float], float], backward: Any, formula: str) -> Rule:
    return Rule(lambda x, _: forward(x), backward, formula)


# fmt: off
RULES: dict[str, Rule] = {
    "+": Rule(operator.add, lambda x, y, out, g, m: (g, g), "d(x+y)/dx = 1, d(x+y)/dy = 1"),
    "-": Rule(operator.sub, lambda x, y, out, g, m: (g, -g), "d(x-y)/dx = 1, d(x-y)/dy = -1"),
    "*": Rule(operator.mul, lambda x, y, out, g, m: (g * y, g * x), "d(x*y)/dx = y, d(x*y)/dy = x"),
    "/": Rule(_div, lambda x, y, out, g, m: (m.div(g, y), -g * m.div(out, y)),
              "d(x/y)/dx = 1/y, d(x/y)/dy = -(x/y)/y"),
    "**": Rule(_pow, _pow_backward, "d(x**y)/dx = y*x**(y-1), d(x**y)/dy = x**y*ln(x)"),
    "exp": _unary_rule(_exp, lambda x, y, out, g, m: (g * out,), "d(exp x)/dx = exp x"),
    "log": _unary_rule(_log, lambda x, y, out, g, m: (m.div(g, x),), "d(ln x)/dx = 1/x"),
    "tanh": _unary_rule(math.tanh, lambda x, y, out, g, m: (g * (1.0 - out * out),),
                        "d(tanh x)/dx = 1 - tanh(x)**2"),
    "sigmoid": _unary_rule(_sigmoid, lambda x, y, out, g, m: (g * (1.0 - out) * out,),
                           "d(sigmoid x)/dx = sigmoid(x)*(1 - sigmoid(x))"),
    "softplus": _unary_rule(_softplus, lambda x, y, out, g, m: (g * m.sigmoid(x),),
                            "d(softplus x)/dx = sigmoid(x)"),
    "ReLU": _unary_rule(_relu, lambda x, y, out, g, m: (m.where(m.num(out) <= 0.0, 0.0, g),),
                        "d(relu x)/dx = 1 if x > 0 else 0"),
    "leaky_relu": Rule(_leaky_relu, lambda x, y, out, g, m: (m.where(m.num(x) > 0.0, g, g * y),),
                       "d(leaky_relu x)/dx = 1 if x > 0 else slope"),
    "abs": _unary_rule(abs, lambda x, y, out, g, m: (g * m.sign(x),), "d|x|/dx = sign(x)"),
    "sqrt": _unary_rule(_sqrt, lambda x, y, out, g, m: (m.div(g, 2.0 * out),),
                        "d(sqrt x)/dx = 1/(2*sqrt(x))"),
    "sin": _unary_rule(_sin, lambda x, y, out, g, m: (g * m.cos(x),), "d(sin x)/dx = cos x"),
    "cos": _unary_rule(_cos, lambda x, y, out, g, m: (g * -m.sin(x),), "d(cos x)/dx = -sin x"),
}
# fmt: on


# --- Graph recording ---

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether ops currently record a graph (False inside ``no_grad()``)."""
    return _grad_enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block ops build no graph: results are leaves, as in ``torch.no_grad()``.

    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y._prev
    ()
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector within this block (training loops use it).

    Graphs have no reference cycles, so reference counting frees them; but while a big graph
    is built the collector rescans every live node, again and again: about 40% of a step.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _as_float(data: object) -> float:
    if isinstance(data, (str, bytes)) or not hasattr(type(data), "__float__"):
        raise TypeError(f"Value needs a real number, not {type(data).__name__}: {data!r:.40}")
    return float(data)  # type: ignore[arg-type]


_new = object.__new__


def _binary(op: str) -> Callable[[Value, Operand], Value]:
    forward = RULES[op].forward

    def method(self: Value, other: Operand) -> Value:
        if isinstance(other, Value):
            data, b, k = forward(self.data, other.data), other, 0.0
        else:
            # A plain number is a constant of the op, not a node, like a Python scalar in torch.
            t = type(other)
            k = other if t is float else float(other) if t is int else _as_float(other)
            data, b = forward(self.data, k), None
        out = _new(Value)  # written out here, not in a helper: this is the hottest path
        out.data = data
        out.grad = 0.0
        out.label = ""
        if _grad_enabled:
            out._a = self
            out._b = b
            out._op = op
            out._arg = k
        else:  # under no_grad(): a leaf holding only the number
            out._a = out._b = None
            out._op = ""
            out._arg = 0.0
        return out

    method.__name__ = f"_{op}"
    return method


def _unary(op: str) -> Callable[[Value], Value]:
    method = _binary(op)

    def unary(self: Value) -> Value:
        return method(self, 0.0)

    unary.__name__ = op.lower()
    unary.__doc__ = f"{op}(self). {RULES[op].formula}."
    return unary


_leaky_relu_method = _binary("leaky_relu")  # the slope rides as the op's constant


class Value:
    """One number in an expression graph, with the gradient of the output with respect to it.

    >>> a = Value(2.0, label='a'); b = Value(-3.0, label='b')
    >>> c = a * b + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-4.0, -2.0, 2.0)
    """

    # Children live in two slots, not a tuple: a tuple object per node would cost 64 bytes.
    # ``_arg`` is the op's constant when it has one Value operand: the plain number in ``x * 3``
    # or ``x ** 2``, the slope of ``leaky_relu``. Constants are not nodes, as in torch.
    __slots__ = ("_a", "_arg", "_b", "_op", "data", "grad", "label")

    data: float
    grad: float | Value  # a Value after backward(create_graph=True)

    def __init__(
        self,
        data: SupportsFloat,
        _children: tuple[Value, ...] | list[Value] | set[Value] = (),
        _op: str = "",
        label: str = "",
    ) -> None:
        self.data = data if type(data) is float else _as_float(data)
        self.grad = 0.0
        self.label = label
        self._a = self._b = None
        self._op = _op
        self._arg = 0.0
        if _children:  # a node built by hand, as the lecture's ops do
            children = tuple(_children)
            if len(children) > 2 or not all(isinstance(c, Value) for c in children):
                raise ValueError("a Value's _children must be at most two Values")
            if _op not in RULES:
                raise ValueError(f"unknown op {_op!r}: known ops are {', '.join(RULES)}")
            self._a, self._b = children[0], children[1] if len(children) == 2 else None

    # --- the graph, as micrograd exposes it ---

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The children this Value was computed from, in operand order."""
        a, b = self._a, self._b
        if a is None:
            return ()
        return (a,) if b is None else (a, b)

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __float__(self) -> float:
        return self.data

    # --- primitives ---

    __add__ = _binary("+")
    __sub__ = _binary("-")
    __mul__ = _binary("*")
    __pow__ = _binary("**")

    exp = _unary("exp")
    log = _unary("log")
    tanh = _unary("tanh")
    sigmoid = _unary("sigmoid")
    softplus = _unary("softplus")
    relu = _unary("ReLU")
    sqrt = _unary("sqrt")
    sin = _unary("sin")
    cos = _unary("cos")
    __abs__ = _unary("abs")

    def abs(self) -> Value:
        """|self|. d|x|/dx = sign(x), 0 at 0."""
        return self.__abs__()

    def leaky_relu(self, negative_slope: float = 0.01) -> Value:
        """x if x > 0 else negative_slope * x (torch's default slope 0.01)."""
        return _leaky_relu_method(self, _as_float(negative_slope))

    # --- sugar, built from primitives ---

    def __neg__(self) -> Value:  # -self
        return self * -1.0

    __radd__ = __add__  # other + self
    __rmul__ = __mul__  # other * self

    def __rsub__(self, other: float) -> Value:  # other - self
        return -self + other

    # Division is a primitive, not x * y**-1: that form is off by an ulp and overflows early.
    __truediv__ = _binary("/")

    def __rtruediv__(self, other: float) -> Value:  # other / self, as torch computes it
        return self**-1 * other

    def __rpow__(self, other: float) -> Value:  # other ** self
        return Value(other) ** self

    # --- detaching and differentiating ---

    def detach(self) -> Value:
        """A new leaf with the same number and no history."""
        return Value(self.data, label=self.label)

    def _backward(self) -> None:
        """One chain-rule step: add this node's share of ``self.grad`` into each child's grad."""
        _chain_rule((self,), _FloatMath)

    def backward(self, grad: float | Value = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this Value depends on, by the chain rule.

        Leaves accumulate across calls (as in PyTorch); interior nodes start from zero. With
        ``create_graph=True`` the gradients are Values, themselves differentiable.

        >>> x = Value(2.0)
        >>> y = x ** 3
        >>> y.backward(create_graph=True)
        >>> x.grad.data
        12.0
        >>> g = x.grad
        >>> x.grad = 0.0
        >>> g.backward()
        >>> x.grad
        12.0
        """
        global _grad_enabled
        order = _walk(self, zero_interior=True)
        if create_graph and not isinstance(grad, Value):
            grad = Value(grad)
        self.grad = self.grad + grad if self._a is None else grad
        order.reverse()
        # Differentiable gradients record a graph; plain ones never build a Value.
        previous, _grad_enabled = _grad_enabled, create_graph
        try:
            _chain_rule(order, _ValueMath if create_graph else _FloatMath)
        finally:
            _grad_enabled = previous


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[float | Value]:
    """d output / d input for each input, like ``torch.autograd.grad``: leaves keep their .grad.

    With ``create_graph=True`` the results are Values, to be differentiated again.

    >>> x = Value(2.0)
    >>> (dy,) = grad(x**3, [x], create_graph=True)
    >>> (d2y,) = grad(dy, [x])
    >>> dy.data, d2y, x.grad
    (12.0, 12.0, 0.0)
    """
    reached = set(topological_order(output))
    leaves = [node for node in reached if node._a is None]
    saved = [node.grad for node in leaves]
    try:
        for node in leaves:
            node.grad = 0.0
        output.backward(create_graph=create_graph)
        return [x.grad if x in reached else 0.0 for x in inputs]
    finally:
        for node, g in zip(leaves, saved):
            node.grad = g


def _chain_rule(nodes: Iterable[Value], m: Any) -> None:
    """For each node in turn, add what its rule's backward gives into each child's grad.

    With ``m = _FloatMath`` the rules see numbers; with ``_ValueMath`` they see the nodes
    themselves, so the gradients they build are Values connected to the graph.
    """
    rules = RULES
    if m is _FloatMath:  # plain numbers: the hot loop of every backward()
        for node in nodes:
            a, b = node._a, node._b
            if a is None:  # a leaf
                continue
            if b is None:  # one Value operand; y is the op's constant
                a.grad += rules[node._op].backward(a.data, node._arg, node.data, node.grad, m)[0]
            else:
                ga, gb = rules[node._op].backward(a.data, b.data, node.data, node.grad, m)
                a.grad += ga
                b.grad += gb
        return
    for node in nodes:  # the same on Values
        a, b = node._a, node._b
        if a is not None:
            y = node._arg if b is None else b
            grads = rules[node._op].backward(a, y, node, node.grad, m)
            a.grad += grads[0]
            if b is not None:
                b.grad += grads[1]


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, children before parents, without recursion.

    >>> x = Value(1.0, label='x'); y = (x * 2).exp()
    >>> [n._op or n.label for n in topological_order(y)]
    ['x', '*', 'exp']
    """
    return _walk(root, zero_interior=False)


def _walk(root: Value, zero_interior: bool) -> list[Value]:
    # Depth-first with an explicit stack; a node is emitted once its children are. A node on
    # the stack is an ancestor of the one above it, so (the graph being acyclic) a child
    # already seen is already emitted. backward() zeroes interior grads on the way.
    if root._a is None:
        return [root]
    order: list[Value] = []
    seen = {root}
    stack = [root]  # only interior nodes: a leaf is emitted as soon as it is seen
    push, pop, mark, emit = stack.append, stack.pop, seen.add, order.append
    while stack:
        node = stack[-1]
        a: Value = node._a  # type: ignore[assignment]  # an interior node has a first child
        if a not in seen:
            mark(a)
            if a._a is not None:
                push(a)
                continue
            emit(a)
        b = node._b
        if b is not None and b not in seen:
            mark(b)
            if b._a is not None:
                push(b)
                continue
            emit(b)
        if zero_interior:
            node.grad = 0.0
        emit(pop())
    return order
