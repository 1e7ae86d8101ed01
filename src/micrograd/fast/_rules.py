"""The rule table on arrays: NumPy twins of ``engine.RULES``'s forwards, and each rule's backward
run with NumPy's math, so the compiled path writes no derivative of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from micrograd import _check as check
from micrograd.engine import RULES, _FloatMath

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


# --- The rule table's math on arrays ---


def _sign(x: Any) -> Any:
    # Twin of engine._sign: 0 at 0 and at nan (torch's sgn), where np.sign gives nan.
    return np.where(x > 0.0, 1.0, np.where(x < 0.0, -1.0, 0.0))


def _pow(x: Any, y: Any) -> Any:
    # Twin of engine._pow: C pow, but x ** ±0.5 is (r)sqrt as in torch (nan at -inf).
    if type(y) is float or np.ndim(y) == 0:  # (the type first: np.ndim costs a call or two)
        if y == 0.5:
            return np.sqrt(x)
        return np.divide(1.0, np.sqrt(x)) if y == -0.5 else np.power(x, y)
    root = np.sqrt(x)
    return np.where(y == 0.5, root, np.where(y == -0.5, 1.0 / root, np.power(x, y)))


def _power(x: Any, y: Any) -> Any:
    # Twin of fl.power, C's pow. NumPy's power takes sqrt for an exponent 0.5 given as a scalar
    # or a stride-0 view: nan at -inf and -0.0 at -0.0, where pow gives inf and 0.0.
    out = np.power(x, y)
    return np.where(np.equal(y, 0.5) & (np.isneginf(x) | np.equal(x, 0.0)), np.abs(x), out)


def _sigmoid(x: Any) -> Any:
    # Twin of engine._sigmoid: exp is only taken of a non-positive number, so it never overflows.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: Any) -> Any:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _identity(x: Any) -> Any:
    return x


def _where(condition: Any, x: Any, y: Any) -> Any:
    # np.where; a rule's condition on a constant (``k == 0.0``) is a bool: the branch it picks.
    if condition is False and type(y) is np.ndarray and y.dtype == np.float64:
        return y
    return np.where(condition, x, y)


class NumpyMath:
    """``engine._FloatMath`` on arrays: the namespace a rule's backward is written in."""

    num = staticmethod(_identity)
    where = staticmethod(_where)
    div = staticmethod(np.divide)
    pow = staticmethod(_pow)
    power = staticmethod(_power)
    log = staticmethod(np.log)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sigmoid = staticmethod(_sigmoid)
    sign = staticmethod(_sign)


def _unary(f: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def forward(x: Any, y: Any) -> Any:
        return f(x)

    return forward


# Vectorized twins of the float forwards in ``engine.RULES`` (tested equal on edge values).
# Derivatives are not here: they come from ``RULES[op].backward`` with ``NumpyMath``.
FORWARDS: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": _pow,
    "pow": _power,  # x ** y of two Values: C's pow, no sqrt shortcut (as torch's tensor ** tensor)
    "exp": _unary(np.exp),
    "log": _unary(np.log),
    "tanh": _unary(np.tanh),
    "sigmoid": _unary(_sigmoid),
    "softplus": _unary(_softplus),
    "ReLU": _unary(lambda x: np.where(x < 0.0, 0.0, x)),  # nan and -0.0 pass through
    "leaky_relu": lambda x, slope: np.where(x > 0.0, x, x * slope),
    "abs": _unary(np.abs),
    "sqrt": _unary(np.sqrt),
    "sin": _unary(np.sin),
    "cos": _unary(np.cos),
    "maximum": lambda x, y: np.where((x < y) | np.isnan(y), y, x),  # x at a tie, nan wins
}


# Twins that round exactly as the float forward does (IEEE arithmetic, sqrt, comparisons). A node
# whose number the traced function read is computed so, or by the float forward itself: its guard
# compares that number to the last bit.
_EXACT_TWINS = frozenset({"+", "-", "*", "/", "abs", "sqrt", "ReLU", "leaky_relu", "maximum"})


def _forward(op: str, exact: bool = False) -> Callable[[Any, Any], Any]:
    """The array forward of ``op``: its twin, else (an op without one, or ``exact`` asked of a
    twin that may round otherwise) the float forward of ``engine.RULES`` per element."""
    twin = FORWARDS.get(op)
    if twin is not None and (not exact or op in _EXACT_TWINS):
        return twin
    return np.vectorize(RULES[op].forward, otypes=[np.float64])


def rule_backward(op: str) -> Callable[[Any, Any, Any, Any], tuple[Any, ...]]:
    """``(x, y, out, g) -> (gx[, gy])`` on arrays: what each operand's grad receives from ``op``.

    It is the rule's ``backward`` from ``engine.RULES``, run with ``NumpyMath``; for an op with no
    twin in ``FORWARDS`` (one registered later, whose rule may be written for floats only), the
    rule run with the engine's float math on each element.
    """
    backward = RULES[check.choice("op", op, tuple(RULES))].backward
    if op in FORWARDS:
        return lambda x, y, out, g: tuple(backward(x, y, out, g, NumpyMath))
    arity = RULES[op].arity  # how many Value operands, so how many gradients

    def per_element(x: float, y: float, out: float, g: float) -> Any:
        grads = backward(x, y, out, g, _FloatMath)
        return tuple(grads) if arity > 1 else grads[0]

    vectorized = np.vectorize(per_element, otypes=[np.float64] * arity)
    if arity == 1:
        return lambda x, y, out, g: (vectorized(x, y, out, g),)
    return lambda x, y, out, g: tuple(vectorized(x, y, out, g))


class _Symbol:
    """A stand-in operand that records the products taken of it, to read a rule's shape."""

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def __mul__(self, other: Any) -> _Symbol:
        return _Symbol(("*", self.expr, getattr(other, "expr", other)))

    def __rmul__(self, other: Any) -> _Symbol:
        return _Symbol(("*", getattr(other, "expr", other), self.expr))


def _fusable() -> bool:
    """Whether the rules of ``+`` and ``*`` send back ``(g, g)`` and ``(g*y, g*x)``.

    Sums and dot products are fused only then: their kernels contract exactly these rules (a sum
    passes its gradient on unchanged; a product's factor gets the other factor times ``g``).
    """
    x, y, out, g = (_Symbol(name) for name in ("x", "y", "out", "g"))
    try:
        add = rule_backward("+")(x, y, out, g)
        mul = rule_backward("*")(x, y, out, g)
    except TypeError:
        return False

    def product(term: Any, a: str, b: str) -> bool:
        return getattr(term, "expr", None) in (("*", a, b), ("*", b, a))

    return (
        [getattr(t, "expr", None) for t in add] == ["g", "g"]
        and len(mul) == 2
        and product(mul[0], "g", "y")
        and product(mul[1], "g", "x")
    )


_FUSE = _fusable()
