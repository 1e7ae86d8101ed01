"""Argument checks for the public entry points, written once: a wrong type raises TypeError, a
wrong value ValueError, and the message names the argument and what it accepts.

Standard library only, so engine.py and nn.py may use it. NumPy scalars pass wherever a Python
number does (they join the ``numbers`` ABCs); bools are not numbers here, as in PyTorch's sizes.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from micrograd.engine import Value

F = TypeVar("F")

# Text and raw bytes have a length and items, but are never a sequence of numbers.
_NOT_SEQUENCES = (str, bytes, bytearray, memoryview, dict, set, frozenset)


def describe(value: object) -> str:
    """``value`` as an error message shows it: a short repr and its type.

    >>> describe("3"), describe(10**400)
    ("'3' (str)", 'an int of 1329 bits')
    >>> describe("a" * 50)
    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' (str)"
    """
    if type(value) is int and value.bit_length() > 128:  # repr would take a while, and a page
        return f"an int of {value.bit_length()} bits"
    text = repr(value)
    if len(text) > 40:  # a string keeps its closing quote: 'aaa...a'
        text = text[:36] + "..." + text[-1] if isinstance(value, str) else text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def is_bool(value: object) -> bool:
    """Whether ``value`` is Python's ``bool`` or NumPy's (which is no ``int`` subclass)."""
    kind = type(value)
    return kind is bool or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


def wrong_type(name: str, value: object, accepts: str) -> NoReturn:
    """Raise TypeError: ``name must be <accepts>, not <value> (<type>)``."""
    raise TypeError(f"{name} must be {accepts}, not {describe(value)}")


def wrong_value(name: str, value: object, accepts: str) -> NoReturn:
    """Raise ValueError: ``name must be <accepts>, not <value> (<type>)``."""
    raise ValueError(f"{name} must be {accepts}, not {describe(value)}")


def integer(name: str, value: object, minimum: int | None = None, what: str = "an integer") -> int:
    """``value`` as an ``int``: an int or NumPy integer (no bool, no float), at least ``minimum``.

    >>> integer("steps", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: steps must be an integer >= 1, not 0 (int)
    """
    if type(value) is not int:
        if is_bool(value) or not isinstance(value, numbers.Integral):
            wrong_type(name, value, what if minimum is None else f"{what} >= {minimum}")
        value = operator.index(value)
    if minimum is not None and value < minimum:
        wrong_value(name, value, f"{what} >= {minimum}")
    return value


def _interval(low: float | None, high: float | None, open_low: bool, open_high: bool) -> str:
    """What a range accepts, in words: ``a real number > 0``, ``a real number in [0, 1)``."""
    if low is not None and high is not None:
        left, right = "(" if open_low else "[", ")" if open_high else "]"
        return f"a real number in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f"a real number {'>' if open_low else '>='} {low:g}"
    if high is not None:
        return f"a real number {'<' if open_high else '<='} {high:g}"
    return "a finite real number"


def real(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
    infinite: bool = False,
) -> float:
    """``value`` as a ``float``: a real number (int, float, NumPy scalar; no bool, no complex).

    NaN is refused, infinities too unless ``infinite``; ``low``/``high`` bound it (excluded when
    ``open_low``/``open_high``).

    >>> real("lr", 1), real("lr", -0.5, low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a real number >= 0, not -0.5 (float)
    """
    if type(value) is float:
        x = value
    elif is_bool(value) or not isinstance(value, numbers.Real):
        wrong_type(name, value, _interval(low, high, open_low, open_high))
    else:
        try:
            x = float(value)
        except OverflowError:  # an int too large for a float, such as 10**400
            wrong_value(name, value, _interval(low, high, open_low, open_high))
    if (
        math.isnan(x)
        or (math.isinf(x) and not infinite)
        or (low is not None and (x < low or (open_low and x == low)))
        or (high is not None and (x > high or (open_high and x == high)))
    ):
        wrong_value(name, value, _interval(low, high, open_low, open_high))
    return x


def number(name: str, value: object, accepts: str = "a real number") -> float:
    """``value`` as a ``float`` for data: a real number, NaN and infinities included."""
    if type(value) is float:
        return value
    if is_bool(value) or not isinstance(value, numbers.Real):
        wrong_type(name, value, accepts)
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        wrong_value(name, value, accepts)


def boolean(name: str, value: object) -> bool:
    """``value`` as a ``bool``: True or False (NumPy's too); never a string such as ``'no'``."""
    if value is True or value is False:
        return value
    if is_bool(value):
        return bool(value)
    wrong_type(name, value, "True or False")


def choice(name: str, value: object, options: Collection[str]) -> str:
    """``value`` if it is one of the names ``options``.

    >>> choice("engine", "gpu", ("value", "fast"))
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'gpu'; choose one of value, fast
    """
    if not isinstance(value, str):
        wrong_type(name, value, "one of " + ", ".join(map(repr, options)))
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(options)}")
    return value


def text(name: str, value: object) -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        wrong_type(name, value, "a string")
    return value


def path(name: str, value: object) -> str:
    """``value`` as a file-system path string: a ``str`` or ``os.PathLike``."""
    if not isinstance(value, (str, os.PathLike)):
        wrong_type(name, value, "a path (str or os.PathLike)")
    fs = os.fspath(value)
    if not isinstance(fs, str):
        wrong_type(name, value, "a path (str or os.PathLike)")
    return fs


def path_problem(text: str, folder: bool) -> str | None:
    """What is wrong with ``text`` as the name of a file (or, with ``folder``, a folder), as
    ``"got ''"``, or None: it is empty (``pathlib`` reads that as the current folder), holds a
    NUL character, or a file's name is a folder's: it ends in a separator or in ``.`` or
    ``..`` (``pathlib`` drops the first two: ``g.svg/`` and ``g.svg/.`` would write ``g.svg``)."""
    if not text.strip():
        return f"got {text!r}"
    if "\0" in text:  # no file system takes it (os would say "embedded null byte")
        return f"not one holding a NUL character: {text!r}"
    seps = tuple(sep for sep in (os.sep, os.altsep) if sep)
    if not folder and (text.endswith(seps) or os.path.basename(text) in (".", "..")):
        return f"not a folder: {text!r}"  # (pathlib reads "x.svg/." as x.svg too)
    return None


def file_path(name: str, value: object) -> str:
    """``value`` as the path of a file (``path``): not empty, not ending in a separator.

    >>> file_path("path", "g.svg/")
    Traceback (most recent call last):
    ...
    ValueError: path must be a file name, not a folder: 'g.svg/'
    """
    fs = path(name, value)
    problem = path_problem(fs, folder=False)
    if problem is not None:
        raise ValueError(f"{name} must be a file name, {problem}")
    return fs


def folder_path(name: str, value: object) -> str:
    """``value`` as the path of a folder (``path``): not empty."""
    fs = path(name, value)
    problem = path_problem(fs, folder=True)
    if problem is not None:
        raise ValueError(f"{name} must be a folder name, {problem}")
    return fs


def function(name: str, value: F, accepts: str = "a function", arity: int | None = None) -> F:
    """``value`` if it can be called (with ``arity`` positional arguments, when given and its
    signature can be read: a wrong count is a TypeError now, not at the first call)."""
    if not callable(value):
        wrong_type(name, value, accepts)
    if arity is not None:
        import inspect

        try:
            signature = inspect.signature(value)
        except (TypeError, ValueError):  # a builtin without a readable signature: trust it
            return value
        try:
            signature.bind(*range(arity))
        except TypeError:
            raise TypeError(
                f"{name} must be {accepts}, called with {arity} argument"
                f"{'' if arity == 1 else 's'}; {value!r} takes {signature}"
            ) from None
    return value


def sequence(name: str, value: object, accepts: str) -> list[Any]:
    """``value``'s items as a list: a list, tuple, range or an array of one or more dimensions."""
    if type(value) is list:
        return value
    if (
        isinstance(value, _NOT_SEQUENCES)
        or not hasattr(value, "__len__")
        or not hasattr(value, "__getitem__")
        or getattr(value, "ndim", 1) == 0
    ):
        wrong_type(name, value, accepts)
    items: list[Any] = list(value)  # type: ignore[call-overload]
    return items


def strings(name: str, value: object) -> list[str]:
    """A sequence (list, tuple) of strings, such as command-line arguments, as a list."""
    items = sequence(name, value, "a list of strings")
    return [text(f"{name}[{i}]", v) for i, v in enumerate(items)]


def reals(name: str, value: object, *, nonempty: bool = True) -> list[float]:
    """A sequence (list, tuple, array) of real numbers, as a list of floats.

    >>> reals("losses", [1, "2"])
    Traceback (most recent call last):
    ...
    TypeError: losses[1] must be a real number (an item of losses), not '2' (str)
    """
    accepts = "a list, tuple or array of real numbers"
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in ("i", "u", "f") and getattr(value, "ndim", 0) == 1:  # a NumPy vector
        items: list[Any] = value.tolist()  # type: ignore[attr-defined]
    else:
        items = sequence(name, value, accepts)
    if nonempty and not items:
        wrong_value(name, value, "a non-empty " + accepts[2:])
    return [
        v if type(v) is float else number(f"{name}[{i}]", v, f"a real number (an item of {name})")
        for i, v in enumerate(items)
    ]


def rows(name: str, value: object) -> Sequence[Sequence[float]]:
    """A non-empty table of real numbers (rows of equal length; a list of lists or a 2-D array).

    A NumPy array of numbers is checked by its shape and type and returned as it is; anything
    else comes back as a list of lists of floats.

    >>> rows("X", [[1, 2], [3]])
    Traceback (most recent call last):
    ...
    ValueError: X must be rows of equal length, not row 1 of length 1 (row 0 has 2)
    """
    accepts = "a non-empty list (or 2-D array) of rows of real numbers"
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in ("i", "u", "f"):  # a NumPy array: one check of its shape and type
        if getattr(value, "ndim", 0) != 2 or not len(value):  # type: ignore[arg-type]
            wrong_value(name, value, accepts)
        return value  # type: ignore[return-value]
    items = sequence(name, value, accepts)
    if not items:
        wrong_value(name, value, accepts)
    table = [reals(f"{name}[{i}]", row, nonempty=True) for i, row in enumerate(items)]
    width = len(table[0])
    for i, row in enumerate(table):
        if len(row) != width:
            raise ValueError(
                f"{name} must be rows of equal length, not row {i} of length {len(row)} "
                f"(row 0 has {width})"
            )
    return table


def labels(name: str, value: object) -> list[int]:
    """A non-empty sequence (list, tuple, array) of class indices: integers >= 0.

    >>> labels("y", [0, 1.0])
    Traceback (most recent call last):
    ...
    TypeError: y[1] must be a class index, an integer >= 0, not 1.0 (float)
    """
    accepts = "a non-empty list, tuple or array of class indices (integers >= 0)"
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in ("i", "u") and getattr(value, "ndim", 0) == 1:  # a NumPy vector of integers
        items: list[Any] = value.tolist()  # type: ignore[attr-defined]
    else:
        items = sequence(name, value, accepts)
    if not items:
        wrong_value(name, value, accepts)
    out = []
    for i, t in enumerate(items):
        if type(t) is not int or t < 0:
            t = integer(f"{name}[{i}]", t, 0, what="a class index, an integer")
        out.append(t)
    return out


def values(name: str, value: object, *, nonempty: bool = True) -> list[Value]:
    """An iterable of Values (a list, a model's ``parameters()``, a generator) as a list."""
    from micrograd.engine import Value

    accepts = "an iterable of Values"
    if isinstance(value, (Value, *_NOT_SEQUENCES)) or not isinstance(value, Iterable):
        wrong_type(name, value, accepts)
    items = list(value)
    if nonempty and not items:
        wrong_value(name, value, "a non-empty iterable of Values")
    for i, v in enumerate(items):
        if not isinstance(v, Value):
            wrong_type(f"{name}[{i}]", v, f"a Value (an item of {name})")
    return items


def value(name: str, v: object) -> Value:
    """``v`` if it is a Value."""
    from micrograd.engine import Value

    if not isinstance(v, Value):
        wrong_type(name, v, "a Value")
    return v
