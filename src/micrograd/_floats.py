"""Forward functions on plain floats with PyTorch's float64 edge values, and what a number is.

Where Python raises (``1 / 0``, ``math.exp(1000)``, ``math.log(0)``), these return what torch
returns in float64: ±inf or nan. ``engine.RULES`` pairs each with its derivative. ``number``
decides what the engine takes as a number (a NumPy scalar yes, a complex or an array no).
"""

from __future__ import annotations

import math
import numbers


def _is_odd_integer(y: float) -> bool:
    return y.is_integer() and y % 2 == 1 if math.isfinite(y) else False


def power(x: float, y: float) -> float:
    """``x ** y`` as C's pow (torch's tensor ** tensor), with inf/nan where Python raises."""
    try:
        return math.pow(x, y)
    except OverflowError:  # the magnitude is too large: ±inf
        return -math.inf if x < 0 and _is_odd_integer(y) else math.inf
    except ValueError:  # a pole (0 ** negative) or a domain error (negative ** fraction)
        if x == 0.0:
            return math.copysign(math.inf, x) if _is_odd_integer(y) else math.inf
        return math.nan


def pow_number(x: float, k: float) -> float:
    """``x ** k`` for a number ``k``, as torch: ``k = ±0.5`` is (r)sqrt, else C's pow.

    (r)sqrt differs from pow at -0.0 (-0.0 where pow gives 0.0) and -inf (nan, not inf). Only a
    number exponent takes this shortcut: with a tensor exponent torch computes pow.
    """
    if k == 0.5 or k == -0.5:
        return sqrt(x) if k > 0 else div(1.0, sqrt(x))
    try:
        return math.pow(x, k)
    except (OverflowError, ValueError):
        return power(x, k)


def div(x: float, y: float) -> float:
    """``x / y``; IEEE's ±inf, or nan for 0/0, where Python raises ZeroDivisionError."""
    try:
        return x / y
    except ZeroDivisionError:
        if x == 0.0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)


def exp(x: float) -> float:
    """e ** x; inf where it overflows."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def log(x: float) -> float:
    """ln x; -inf at 0, nan below 0 (and at nan)."""
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def sqrt(x: float) -> float:
    """The square root; nan below 0."""
    return math.sqrt(x) if x >= 0.0 else math.nan


def sin(x: float) -> float:
    """sin x; nan at ±inf."""
    return math.sin(x) if math.isfinite(x) else math.nan


def cos(x: float) -> float:
    """cos x; nan at ±inf."""
    return math.cos(x) if math.isfinite(x) else math.nan


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), which never overflows: exp is only taken of a non-positive number."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = exp(x)
    return e / (1.0 + e)


def softplus(x: float) -> float:
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|."""
    if math.isnan(x):
        return x
    return max(x, 0.0) + math.log1p(exp(-abs(x)))


def relu(x: float) -> float:
    """max(x, 0); nan and -0.0 pass through, as in torch (so 1 / relu(-0.0) is -inf)."""
    return 0.0 if x < 0.0 else x


def leaky_relu(x: float, slope: float) -> float:
    """x if x > 0 else slope * x."""
    return x if x > 0.0 else x * slope


def maximum(x: float, y: float) -> float:
    """The larger of x and y: x at a tie (so max(0.0, -0.0) is 0.0), nan if either is nan."""
    return y if x < y or y != y else x


def sign(x: float) -> float:
    """1, -1, or 0 at 0 and at nan (torch's sgn)."""
    if x > 0.0:
        return 1.0
    return -1.0 if x < 0.0 else 0.0


def number(x: object, what: str) -> float | None:
    """``x`` as a float if it is one real number (NumPy's scalars too), or None if no number.

    A complex number is a TypeError (never cut to its real part); one beyond float's range is
    a ValueError. ``what`` names ``x`` in the message.
    """
    if not isinstance(x, (float, int)):  # bool is an int; NumPy's float64 a float
        if isinstance(x, (str, bytes)) or not hasattr(type(x), "__float__"):
            return None
        if getattr(x, "ndim", 0) != 0:  # an array of numbers, not one
            return None
        kind = getattr(getattr(x, "dtype", None), "kind", "")
        if kind == "c" or (isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real)):
            raise TypeError(f"{what} must be a real number, not complex: {x!r:.40}")
    try:
        return float(x)  # type: ignore[arg-type]
    except OverflowError:
        size = f"an int of {x.bit_length()} bits" if isinstance(x, int) else type(x).__name__
        raise ValueError(f"{what} is too large for a float (above 1.8e308): {size}") from None


def real(x: object, what: str) -> float:
    """``x`` as a float, or a TypeError naming ``what`` and what it accepts."""
    value = number(x, what)
    if value is None:
        shape = f" of shape {getattr(x, 'shape', '?')}" if getattr(x, "ndim", 0) else ""
        raise TypeError(f"{what} must be a real number, not {type(x).__name__}{shape}: {x!r:.40}")
    return value


class FloatMath:
    """The functions a derivative rule may call (``Rule``), on plain floats: backward()'s math."""

    div = staticmethod(div)
    pow = staticmethod(pow_number)  # x ** a number, as torch computes it
    power = staticmethod(power)  # x ** y of two Values: C's pow
    log = staticmethod(log)
    cos = staticmethod(cos)
    sin = staticmethod(sin)
    sigmoid = staticmethod(sigmoid)
    sign = staticmethod(sign)
    num = staticmethod(lambda x: x)  # the plain number(s) behind an operand, to compare
    where = staticmethod(lambda cond, a, b: a if cond else b)  # elementwise, on arrays


# num and where as the chain rule generated from RULES (_backprop) writes them: the same value
# without a call (a rule's terms have no side effects, so where's unused branch may be skipped).
INLINE = {"num": "{0}", "where": "({1} if {0} else {2})"}
