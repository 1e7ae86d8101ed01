"""Nodes built as micrograd's lecture builds them: ``Value(data, children, op)`` and a closure."""

from __future__ import annotations

from collections.abc import Sequence

from micrograd.engine import Value


def lecture_op(
    op: str, data: float, children: tuple[Value, ...], locals_: Sequence[float] | None = None
) -> Value:
    """A node whose ``_backward`` closure adds ``local * out.grad`` into each child (local 1)."""
    out = Value(data, children, op)
    slopes = [1.0] * len(children) if locals_ is None else list(locals_)

    def _backward() -> None:
        for child, local in zip(children, slopes, strict=True):
            child.grad += local * out.grad

    out._backward = _backward  # type: ignore[assignment,method-assign]
    return out
