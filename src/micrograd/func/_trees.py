"""Trees (numbers and Values in nested lists and tuples) and the arguments of a transform:
which ones to differentiate (``argnums``), auxiliary outputs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from micrograd import _check as check
from micrograd.engine import Value

Tree = Any  # a number, a Value, or a list/tuple of trees
Argnums = int | tuple[int, ...]

_TREE = "a real number, a Value, or a list/tuple of them"


# --- Trees: numbers and Values in nested lists and tuples ---


def _like(tree: list[Any] | tuple[Any, ...], items: Iterator[Any]) -> Any:
    """A list or tuple of ``tree``'s type (a named tuple too) holding ``items``."""
    if hasattr(tree, "_fields"):  # a named tuple takes its fields one by one
        return type(tree)(*items)
    return type(tree)(items)


def _tree(x: Tree) -> Tree:
    """``x`` with NumPy arrays as lists (of lists), so that an array works as a list does."""
    if isinstance(x, (list, tuple)):
        return _like(x, (_tree(t) for t in x))
    if getattr(x, "ndim", 0) and not isinstance(x, Value) and hasattr(x, "tolist"):
        return [_tree(t) for t in x]
    return x


def _leaves(tree: Tree, name: str) -> list[Any]:
    """The numbers and Values of ``tree``, depth first (ints become floats)."""
    if isinstance(tree, (list, tuple)):
        return [leaf for i, t in enumerate(tree) for leaf in _leaves(t, f"{name}[{i}]")]
    if isinstance(tree, Value):
        return [tree]
    return [check.number(name, tree, _TREE)]


def _rebuild(tree: Tree, leaves: Iterator[Any]) -> Tree:
    """``tree``'s structure with its leaves taken in turn from ``leaves``."""
    if isinstance(tree, (list, tuple)):
        return _like(tree, (_rebuild(t, leaves) for t in tree))
    return next(leaves)


def _structure(tree: Tree) -> Any:
    """The nesting of a tree (a list and a tuple of the same items have the same)."""
    if isinstance(tree, (list, tuple)):
        return tuple(_structure(t) for t in tree)
    return None


# --- Arguments: argnums, positions, aux outputs ---


def _split_row(row: list[Any], trees: list[Tree], argnums: Argnums) -> Any:
    """A row of derivatives (all inputs in order) in the structure of the arguments."""
    it = iter(row)
    parts = [_rebuild(t, it) for t in trees]
    return parts[0] if isinstance(argnums, int) else tuple(parts)


def _argnums(argnums: object) -> Argnums:
    if isinstance(argnums, tuple) and argnums:
        return tuple(check.integer(f"argnums[{i}]", a, 0) for i, a in enumerate(argnums))
    if isinstance(argnums, tuple):
        check.wrong_value("argnums", argnums, "an integer >= 0 or a non-empty tuple of them")
    return check.integer("argnums", argnums, 0, what="an integer (or a tuple of integers)")


def _positions(argnums: Argnums, args: tuple[Any, ...]) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else argnums
    for i in nums:
        if i >= len(args):
            check.wrong_value("argnums", argnums, f"positions below the {len(args)} arguments")
    if len(set(nums)) != len(nums):
        check.wrong_value("argnums", argnums, "positions without repeats")
    return nums


def _aux(result: Any, has_aux: bool) -> tuple[Any, Any]:
    """f's output (NumPy arrays as lists) and its aux (None without ``has_aux``)."""
    if not has_aux:
        return _tree(result), None
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"with has_aux=True f must return (output, aux), not {result!r:.60}")
    return _tree(result[0]), result[1]


def _arguments(name: str, value: object) -> tuple[Any, ...]:
    if not isinstance(value, (tuple, list)):
        check.wrong_type(name, value, "a tuple of the arguments (each " + _TREE + ")")
    return tuple(value)


# --- float() while a transform runs f: a number would drop the derivative ---

_plain_float = Value.__float__
_float_lock = threading.Lock()
_refusing = 0  # how many transforms are running their f


def _refused_float(self: Value) -> float:
    raise TypeError(
        "float() of a Value inside a micrograd.func transform would drop its derivative "
        "(math.sin(x) gives a number, not a node): use the Value's own op (x.sin(), x.exp(), "
        "x.log(), x ** 0.5, ...), or x.data where a plain number is meant"
    )


@contextmanager
def refusing_float() -> Iterator[None]:
    """While a transform runs ``f``, ``float(value)`` (and so ``math.sin(value)``) is a
    TypeError, as JAX's tracers make it: a silently constant result would be a wrong
    derivative. Process-wide while any transform runs (as detect_anomaly's swap is)."""
    global _refusing
    with _float_lock:
        if _refusing == 0:
            Value.__float__ = _refused_float  # type: ignore[method-assign]
        _refusing += 1
    try:
        yield
    finally:
        with _float_lock:
            _refusing -= 1
            if _refusing == 0:
                Value.__float__ = _plain_float  # type: ignore[method-assign]
