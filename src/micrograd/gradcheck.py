"""Numerical derivatives by central differences, and checkers that compare them with backward()
(``gradcheck``) and with the second-order graph of ``create_graph`` (``gradgradcheck``).

The seeds check gradients by nudging an input by a small ``h`` and watching the output move;
this module ships that as an API.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from micrograd import _check as check
from micrograd.engine import Value, grad, no_grad

__all__ = [
    "GradcheckResult",
    "InputCheck",
    "derivative",
    "gradcheck",
    "gradgradcheck",
    "numerical_grad",
]


def derivative(f: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    """The slope of ``f`` at ``x`` by central differences: (f(x+h) - f(x-h)) / 2h.

    >>> round(derivative(lambda x: 3 * x**2 - 4 * x + 5, 3.0), 6)
    14.0
    """
    f = check.function("f", f, "a function of one number")
    x, h = check.real("x", x), _step(h)
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_grad(
    f: Callable[..., Value], inputs: Sequence[Value], h: float = 1e-6
) -> list[float]:
    """d f(*inputs) / d input, for each input, by nudging its ``.data`` by ±h.

    ``f`` is called with the inputs as arguments and must return a Value. The inputs' numbers
    are restored afterwards, and no graph is kept.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> [round(g, 6) for g in numerical_grad(lambda a, b: a * b + a, [a, b])]
    [-2.0, 2.0]
    """
    (f, inputs), h = _check_inputs(f, inputs), _step(h)
    grads = []
    with no_grad():
        for v in inputs:
            original = v.data
            try:
                v.data = original + h
                up = f(*inputs).data
                v.data = original - h
                down = f(*inputs).data
            finally:
                v.data = original
            grads.append((up - down) / (2 * h))
    return grads


@dataclass(frozen=True)
class InputCheck:
    """How one input's analytic gradient compares with its numerical one."""

    name: str
    analytic: float
    numerical: float
    ok: bool

    @property
    def error(self) -> float:
        """The absolute difference between the two gradients."""
        return abs(self.analytic - self.numerical)


@dataclass(frozen=True)
class GradcheckResult:
    """The per-input report of :func:`gradcheck`; truthy when every input passes."""

    inputs: tuple[InputCheck, ...]

    @property
    def ok(self) -> bool:
        """Whether every input's gradients agree."""
        return all(c.ok for c in self.inputs)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        width = max([5, *(len(c.name) for c in self.inputs)])
        lines = [f"{'input':<{width}}  {'backward':>14}  {'numerical':>14}  {'error':>9}  ok"]
        for c in self.inputs:
            lines.append(
                f"{c.name:<{width}}  {c.analytic:>14.8g}  {c.numerical:>14.8g}  "
                f"{c.error:>9.2e}  {'yes' if c.ok else 'NO'}"
            )
        return "\n".join(lines)


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[Value],
    h: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> GradcheckResult:
    """Compare ``backward()``'s gradients of ``f(*inputs)`` with central differences.

    An input passes when ``|analytic - numerical| <= atol + rtol * |numerical|`` (both nan
    also passes; an infinite gradient passes only if both are the same infinity).

    >>> x = Value(0.5, label='x')
    >>> result = gradcheck(lambda x: x.tanh() * x, [x])
    >>> result.ok
    True
    """
    f, inputs = _check_inputs(f, inputs)
    h, rtol, atol = _step(h), check.real("rtol", rtol, 0.0), check.real("atol", atol, 0.0)
    for v in inputs:
        v.grad = 0.0
    f(*inputs).backward()
    analytic = [float(v.grad) for v in inputs]
    numerical = numerical_grad(f, inputs, h)
    checks = [
        InputCheck(_name(v, i), a, n, _agree(a, n, rtol, atol))
        for i, (v, a, n) in enumerate(zip(inputs, analytic, numerical))
    ]
    return GradcheckResult(tuple(checks))


def gradgradcheck(
    f: Callable[..., Value],
    inputs: Sequence[Value],
    h: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> GradcheckResult:
    """Compare the second derivatives of ``f(*inputs)`` through ``create_graph`` with central
    differences of backward()'s first derivatives.

    One check per pair of inputs, named ``(xi, xj)``: the analytic ``d/dxj (df/dxi)``
    differentiates the gradient graph of ``engine.grad(..., create_graph=True)``; the numerical
    one is ``(df/dxi at xj + h  -  df/dxi at xj - h) / 2h``. Passing is as in :func:`gradcheck`.
    A lecture-style ``_backward`` closure on the way is a ValueError naming its op.

    >>> x, y = Value(0.5, label='x'), Value(-1.5, label='y')
    >>> result = gradgradcheck(lambda x, y: (x * y).tanh() + x**3, [x, y])
    >>> result.ok, [c.name for c in result.inputs]
    (True, ['(x, x)', '(x, y)', '(y, x)', '(y, y)'])
    """
    f, inputs = _check_inputs(f, inputs)
    h, rtol, atol = _step(h), check.real("rtol", rtol, 0.0), check.real("atol", atol, 0.0)
    first = grad(f(*inputs), inputs, create_graph=True)
    analytic = [
        [float(s) for s in grad(g, inputs)] if isinstance(g, Value) else [0.0] * len(inputs)
        for g in first
    ]
    columns = []  # column j: the change of every first derivative as input j moves
    for v in inputs:
        original = v.data
        try:
            v.data = original + h
            up = grad(f(*inputs), inputs)
            v.data = original - h
            down = grad(f(*inputs), inputs)
        finally:
            v.data = original
        columns.append([(float(u) - float(d)) / (2 * h) for u, d in zip(up, down)])
    checks = []
    for i, vi in enumerate(inputs):
        for j, vj in enumerate(inputs):
            a, n = analytic[i][j], columns[j][i]
            name = f"({_name(vi, i)}, {_name(vj, j)})"
            checks.append(InputCheck(name, a, n, _agree(a, n, rtol, atol)))
    return GradcheckResult(tuple(checks))


def _name(v: Value, i: int) -> str:
    return v.label or f"x{i}"


def _agree(analytic: float, numerical: float, rtol: float, atol: float) -> bool:
    """Within ``atol + rtol * |numerical|``; nan with nan; an infinity only with the same one."""
    a, n = analytic, numerical
    if math.isnan(a) or math.isnan(n) or math.isinf(a) or math.isinf(n):
        return a == n or (math.isnan(a) and math.isnan(n))
    return abs(a - n) <= atol + rtol * abs(n)


def _step(h: float) -> float:
    """The finite-difference step: a real number > 0."""
    return check.real("h", h, 0.0, open_low=True)


def _check_inputs(
    f: Callable[..., Value], inputs: Sequence[Value]
) -> tuple[Callable[..., Value], list[Value]]:
    """``f`` if callable (wrapped: a result that is not a Value is a TypeError naming ``f``),
    and ``inputs`` as a list of leaf Values."""
    accepts = "a function of the inputs that returns a Value"
    fn = check.function("f", f, accepts)
    leaves = check.values("inputs", inputs, nonempty=False)
    for i, v in enumerate(leaves):
        if v._prev:
            check.wrong_value(f"inputs[{i}]", v, "a leaf Value (one not computed from others)")

    def checked(*args: Value) -> Value:
        out = fn(*args)
        if not isinstance(out, Value):
            raise TypeError(f"f must be {accepts}; it returned {check.describe(out)}")
        return out

    return checked, leaves
