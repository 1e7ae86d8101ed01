"""The table of engine ops for tests: how to call each on a Value and in PyTorch, and where.

Every primitive in ``engine.RULES`` must appear here (a test checks it), so adding an op to the
rule table adds its finite-difference and PyTorch parity checks. The fast path's tests reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lazy_torch import functional, torch
from micrograd.engine import Value

INF = math.inf
NAN = math.nan

# Inputs where ops are most likely to go wrong: zeros of both signs, ±1, huge, tiny, inf, nan.
EDGE = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 1000.0, -1000.0, 1e-300, 1e308, INF, -INF, NAN]


@dataclass(frozen=True)
class Op:
    """One op under test: its Value form, its torch form, and points where it is smooth."""

    rule: str  # the primitive in engine.RULES it exercises
    value: Callable[..., Any]
    torch: Callable[..., Any]
    smooth: tuple[tuple[float, ...], ...]  # inputs away from kinks, for finite differences

    @property
    def arity(self) -> int:
        """How many Value inputs the op takes."""
        return len(self.smooth[0])


OPS: dict[str, Op] = {
    "add": Op("+", lambda a, b: a + b, lambda a, b: a + b, ((1.5, -0.25), (-3.0, 2.0))),
    "mul": Op("*", lambda a, b: a * b, lambda a, b: a * b, ((1.5, -0.25), (-3.0, 2.0))),
    "add_const": Op("+", lambda a: a + 2.5, lambda a: a + 2.5, ((1.5,), (-3.0,))),
    "sub_const": Op("-", lambda a: a - 2.5, lambda a: a - 2.5, ((1.5,), (-3.0,))),
    "mul_const": Op("*", lambda a: 3 * a, lambda a: 3 * a, ((1.5,), (-3.0,))),
    "pow_values": Op("pow", lambda a, b: a**b, lambda a, b: a**b, ((1.5, -0.25), (0.7, 2.0))),
    "pow_2": Op("**", lambda a: a**2, lambda a: a**2, ((1.5,), (-3.0,))),
    "pow_-1": Op("**", lambda a: a**-1, lambda a: a**-1, ((1.5,), (-3.0,))),
    "pow_0.5": Op("**", lambda a: a**0.5, lambda a: a**0.5, ((1.5,), (0.1,))),
    "pow_1.7": Op("**", lambda a: a**1.7, lambda a: a**1.7, ((1.5,), (0.1,))),
    "rpow": Op("pow", lambda a: 2**a, lambda a: 2**a, ((1.5,), (-3.0,))),
    "maximum": Op(
        "maximum", lambda a, b: a.maximum(b), lambda a, b: a.maximum(b), ((1.5, -0.25), (-3.0, 2.0))
    ),
    "pow_-0.5": Op("**", lambda a: a**-0.5, lambda a: a**-0.5, ((1.5,), (0.1,))),
    "exp": Op("exp", lambda a: a.exp(), lambda a: a.exp(), ((1.5,), (-3.0,))),
    "log": Op("log", lambda a: a.log(), lambda a: a.log(), ((1.5,), (0.01,))),
    "tanh": Op("tanh", lambda a: a.tanh(), lambda a: a.tanh(), ((1.5,), (-3.0,))),
    "sigmoid": Op("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), ((1.5,), (-3.0,))),
    "softplus": Op(
        "softplus", lambda a: a.softplus(), lambda a: functional.softplus(a), ((1.5,), (-3.0,))
    ),
    "relu": Op("ReLU", lambda a: a.relu(), lambda a: a.relu(), ((1.5,), (-3.0,))),
    "leaky_relu": Op(
        "leaky_relu",
        lambda a: a.leaky_relu(0.1),
        lambda a: functional.leaky_relu(a, 0.1),
        ((1.5,), (-3.0,)),
    ),
    "abs": Op("abs", lambda a: abs(a), lambda a: abs(a), ((1.5,), (-3.0,))),
    "sqrt": Op("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), ((1.5,), (0.01,))),
    "sin": Op("sin", lambda a: a.sin(), lambda a: a.sin(), ((1.5,), (-3.0,))),
    "cos": Op("cos", lambda a: a.cos(), lambda a: a.cos(), ((1.5,), (-3.0,))),
    # sugar: built from the primitives above, checked all the same
    "neg": Op("*", lambda a: -a, lambda a: -a, ((1.5,), (-3.0,))),
    "sub": Op("-", lambda a, b: a - b, lambda a, b: a - b, ((1.5, -0.25), (-3.0, 2.0))),
    "rsub": Op("+", lambda a: 1 - a, lambda a: 1 - a, ((1.5,), (-3.0,))),
    "div": Op("/", lambda a, b: a / b, lambda a, b: a / b, ((1.5, -0.25), (-3.0, 2.0))),
    "div_const": Op("/", lambda a: a / 4.0, lambda a: a / 4.0, ((1.5,), (-3.0,))),
    "rdiv": Op("**", lambda a: 10.0 / a, lambda a: 10.0 / a, ((1.5,), (-3.0,))),
}


def same_float(ours: float, theirs: float, rtol: float = 1e-12, atol: float = 0.0) -> bool:
    """Equal as PyTorch would print them: nan matches nan, infinities match exactly."""
    if math.isnan(theirs) or math.isnan(ours):
        return math.isnan(theirs) and math.isnan(ours)
    if math.isinf(theirs) or math.isinf(ours):
        return ours == theirs
    return abs(ours - theirs) <= atol + rtol * abs(theirs)


def run_value(op: Op, xs: tuple[float, ...]) -> tuple[float, list[float]]:
    """The op's value and input gradients on our engine."""
    inputs = [Value(x) for x in xs]
    out = op.value(*inputs)
    out.backward()
    return out.data, [float(v.grad) for v in inputs]


def run_torch(op: Op, xs: tuple[float, ...]) -> tuple[float, list[float]]:
    """The op's value and input gradients in PyTorch, float64."""
    inputs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = op.torch(*inputs)
    out.backward()
    grads = [0.0 if t.grad is None else t.grad.item() for t in inputs]
    return out.item(), grads
