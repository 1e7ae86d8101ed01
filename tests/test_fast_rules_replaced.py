"""A program compiled from a rule of ``engine.RULES`` that is replaced later (``register_op``
again, or the table set by hand) is traced again, never replayed with the old derivative."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from micrograd import fast
from micrograd.engine import RULES, Value, register_op
from micrograd.fast import RetraceWarning, StructureError


@pytest.fixture
def sqx() -> Iterator[str]:
    """The op name ``sqx``, removed from RULES afterwards."""
    yield "sqx"
    RULES.pop("sqx", None)


def test_a_rule_registered_again_retraces(sqx: str) -> None:
    """x**2 registered as 'sqx', traced, then 'sqx' registered again as x**3: the program gives
    the new op's loss and gradient (27 and 27 at w = 3), as the Value engine does, not 9 and 6."""
    ops = {"f": register_op(sqx, lambda x: x * x, lambda x, y, out, g, m: (2.0 * g * x,), "x^2")}
    w = Value(3.0)

    def fn(x: Value) -> Value:
        return ops["f"](w * x)

    program = fast.trace(fn, [w], 1.0)
    assert program(1.0) == 9.0
    cube = register_op(sqx, lambda x: x**3, lambda x, y, out, g, m: (3.0 * g * x * x,), "x^3")
    ops["f"] = cube
    w.grad = 0.0
    with pytest.warns(RetraceWarning, match="the rule of op 'sqx'"):
        loss = program(1.0)
    assert (loss, w.grad) == (27.0, 27.0)


def test_a_replaced_rule_without_retrace_is_a_structure_error(sqx: str) -> None:
    """With retrace=False a replaced rule is a StructureError naming the op."""
    op = register_op(sqx, lambda x: x * x, lambda x, y, out, g, m: (2.0 * g * x,), "x^2")
    w = Value(3.0)
    program = fast.trace(lambda x: op(w * x), [w], 1.0, retrace=False)
    RULES[sqx] = RULES[sqx]._replace(backward=lambda x, y, out, g, m: (4.0 * g * x,))
    with pytest.raises(StructureError, match="the rule of op 'sqx'"):
        program(1.0)
