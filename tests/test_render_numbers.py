"""Every number a drawing or the narrator shows reads back as the number it is, or its rounding.

A shown number keeps nan, ±inf and the sign of zero; a nonzero number never shows as 0; it is
within half a unit of its last shown digit; an op's constant (the 3 in x * 3) is shown exactly.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from micrograd.engine import Value
from micrograd.explain import compare_naive_recursion, explain
from micrograd.viz import draw_dot, draw_text

EDGE = [0.0, -0.0, 1e-5, -1e-5, 4e-5, 1.5e-4, 5e-324, 1e-300, 0.5, 999999.99996, 1e6, 1e308]
EDGE += [-x for x in EDGE[2:]] + [math.inf, -math.inf, math.nan]
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(EDGE)
NUMBER = r"(-?(?:nan|inf|[0-9.]+(?:e[-+][0-9]+)?))"


def reads_as(text: str, x: float, decimals: int, significant: bool = False) -> bool:
    """Whether ``text`` is ``x`` rounded to ``decimals`` (of its mantissa if shown so) or to as
    many ``significant`` digits, keeping nan, inf, zero and the sign of zero."""
    shown = Decimal(text)  # exact: "2e+308" (1.5e308 to one digit) is no float, but a number
    if math.isnan(x) or shown.is_nan():
        return math.isnan(x) and shown.is_nan()
    if math.isinf(x) or shown.is_infinite():
        return shown == Decimal(x)
    exact = Decimal(x)
    half_unit = Decimal(5) / 10 ** (decimals + 1)
    tolerance = half_unit * (abs(exact) if significant else max(1, abs(exact)))
    return (
        shown.is_signed() == (math.copysign(1.0, x) < 0.0)
        and shown.is_zero() == (x == 0.0)
        and abs(shown - exact) <= tolerance
    )


def round_trips(text: str, k: float) -> bool:
    """The text reads back as the float ``k`` itself, -0.0 and nan included."""
    shown = float(text)
    if math.isnan(k) or math.isnan(shown):
        return math.isnan(k) and math.isnan(shown)
    return shown == k and math.copysign(1.0, shown) == math.copysign(1.0, k)


@given(data=floats, grad=floats, digits=st.integers(0, 8))
def test_draw_text_shows_data_and_grad_as_they_are(data: float, grad: float, digits: int) -> None:
    """draw_text's data and grad read back as the numbers, to `digits` decimals, never as 0."""
    x = Value(data, label="x")
    x.grad = grad
    m = re.fullmatch(f"x   data {NUMBER}   grad {NUMBER}", draw_text(x, digits=digits))
    assert m is not None
    assert (reads_as(m[1], data, digits), reads_as(m[2], grad, digits)) == (True, True)


@given(data=floats, grad=floats)
def test_draw_dot_shows_data_and_grad_as_they_are(data: float, grad: float) -> None:
    """draw_dot's record fields read back as the numbers, to 4 decimals, never as 0."""
    x = Value(data, label="x")
    x.grad = grad
    m = re.search(f"data {NUMBER} \\| grad {NUMBER}", draw_dot(x).source)
    assert m is not None
    assert (reads_as(m[1], data, 4), reads_as(m[2], grad, 4)) == (True, True)


@given(a=floats, b=floats, digits=st.integers(1, 10))
def test_the_narrator_shows_numbers_as_they_are(a: float, b: float, digits: int) -> None:
    """The narrator's value, operands and gradients read back to `digits` significant digits."""
    x, y = Value(a, label="x"), Value(b, label="y")
    z = x * y
    z.label = "z"
    text = explain(z).text(digits)
    z.backward()
    step = re.search(f"Step 1: z = x \\* y = {NUMBER}", text)
    values = re.search(f"values    x = x = {NUMBER}, y = y = {NUMBER}", text)
    into_x = re.search(f"so x.grad = {NUMBER}\n", text)
    assert step is not None and values is not None and into_x is not None
    assert [
        reads_as(step[1], z.data, digits - 1, significant=True),
        reads_as(values[1], a, digits - 1, significant=True),
        reads_as(values[2], b, digits - 1, significant=True),
        reads_as(into_x[1], x.grad, digits - 1, significant=True),
    ] == [True] * 4


@given(k=floats)
def test_constants_are_shown_exactly(k: float) -> None:
    """An op's plain-number operand shows exactly in draw_dot, draw_text and the narrator."""
    x = Value(1.5, label="x")
    shown = {
        "dot": re.search(f'label="\\* {NUMBER}"', draw_dot(x * k).source),
        "text": re.search(f"= x \\* {NUMBER}   data", draw_text(x * k)),
        "narrator": re.search(f"y = {NUMBER} \\(a constant\\)", explain(x * k).text()),
        "power": re.search(f"x\\*\\*{NUMBER}", explain(x**k)[0].expression),
    }
    wrong = [name for name, m in shown.items() if m is None or not round_trips(m[1], k)]
    assert wrong == []


def test_a_tiny_gradient_is_not_drawn_as_zero() -> None:
    """y = x * 1e-5: draw_text used to print x's grad 1e-05 as 0.0000."""
    x = Value(2.0, label="x")
    y = x * 1e-5
    y.label = "y"
    y.backward()
    assert draw_text(y).splitlines() == [
        "y = x * 1e-05   data 2.0000e-05   grad 1.0000",
        "└── x   data 2.0000   grad 1.0000e-05",
    ]


def test_negative_zero_keeps_its_sign() -> None:
    """-0.0 shows as -0 (1 / -0.0 is -inf), in draw_text, draw_dot and the narrator."""
    x = Value(0.0, label="x")
    y = x * -1.0
    y.label = "y"
    z = 1.0 / y
    z.label = "z"
    assert "y = x * -1   data -0.0000" in draw_text(z)
    assert "{ y | data -0.0000 | grad 0.0000 }" in draw_dot(z).source
    assert "values    x = y = -0, k = -1 (a constant)" in explain(z).text()


def test_an_exponent_is_not_rounded() -> None:
    """x ** 2.0000001 used to show as **2 in draw_dot and x**2 in the narrator."""
    x = Value(3.0, label="x")
    y = x**2.0000001
    assert ('label="**2.0000001"' in draw_dot(y).source, explain(y)[0].expression) == (
        True,
        "x**2.0000001",
    )


def test_naive_comparison_does_not_call_equal_nans_wrong() -> None:
    """Gradients that are nan in both passes are the same: no node is marked wrong."""
    x = Value(0.0, label="x")
    y = x.sqrt() * 0.0  # x.grad = 0 / (2 * sqrt(0)) = nan, on either path
    z = y + y
    cmp = compare_naive_recursion(z)
    assert (math.isnan(cmp.correct["x"]), cmp.wrong) == (True, [])
