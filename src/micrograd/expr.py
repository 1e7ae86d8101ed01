"""Expressions typed on the command line, such as ``"a=-4, b=2: (a*b + b**3).relu() / 2"``.

The text is parsed with ``ast`` and walked against a whitelist; it is never evaluated as Python.
Accepted: numbers, the declared variables, ``+ - * / **``, unary ``-``/``+``, parentheses and the
engine's functions, called as ``relu(x)`` or ``x.relu()``. Anything else raises ExpressionError.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

from micrograd import _check as check
from micrograd.engine import RULES, Value

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "ExpressionError",
    "evaluate",
    "parse",
]

# Limits keep the work small; they are not what makes this safe (nothing is ever executed).
# The engine gives inf/nan on overflow rather than raising, so even past them nothing breaks.
MAX_LENGTH = 1000  # characters of input
MAX_NODES = 500  # expression nodes (numbers, names, operators, calls)
MAX_DEPTH = 100  # nesting levels; a chain a+b+c+... is one level per operator
MAX_EXPONENT = 1000  # largest |k| of a constant exponent in x ** k

# name in the expression -> the engine's op (its row of RULES)
FUNCTIONS: dict[str, str] = {
    "exp": "exp",
    "log": "log",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softplus": "softplus",
    "relu": "ReLU",
    "leaky_relu": "leaky_relu",
    "abs": "abs",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
}

_BINARY: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}

# On Values: the Value's own operators (and reflected ones, for 2 - x or 2 ** x).
_VALUE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

# What a forbidden node is called in an error message.
_FORBIDDEN = {
    ast.Attribute: "attributes",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or operators",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignments (:=)",
    ast.JoinedStr: "strings",
    ast.Tuple: "tuples",
    ast.List: "lists",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Starred: "starred arguments",
    ast.Await: "await expressions",
    ast.Yield: "yield expressions",
    ast.YieldFrom: "yield expressions",
    ast.Slice: "slices",
}

Number = Value | float


class ExpressionError(ValueError):
    """The text is not an expression this parser accepts; the message is one line."""


def _one_line(text: str, limit: int = 40) -> str:
    """``text`` quoted on one line, shortened to about ``limit`` characters."""
    short = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(short)


def _parse_variables(text: str) -> dict[str, float]:
    """``'a=-4, b=2'`` -> ``{'a': -4.0, 'b': 2.0}``."""
    variables: dict[str, float] = {}
    for item in text.split(","):
        name, sep, number = (part.strip() for part in item.partition("="))
        if not sep or not name or not number:
            raise ExpressionError(f"expected NAME=NUMBER before the colon, got {_one_line(item)}")
        if not _NAME.fullmatch(name) or keyword.iskeyword(name):
            raise ExpressionError(f"{_one_line(name)} is not a variable name")
        if name in FUNCTIONS:
            raise ExpressionError(f"{name!r} is a function; choose another variable name")
        if name in variables:
            raise ExpressionError(f"variable {name!r} is given twice")
        if not _NUMBER.fullmatch(number):
            raise ExpressionError(f"the value of {name} must be a number, not {_one_line(number)}")
        variables[name] = _literal(number, float(number), f"the value of {name}")
    return variables


def _literal(text: str, value: int | float, what: str) -> float:
    """The number ``text`` (which Python reads as ``value``) as a float; ExpressionError when no
    float holds it: too large (Python would make it inf) or too small (Python would make it 0).
    A number between 0 and the smallest normal float is kept as its nearest subnormal, as
    Python keeps it: it is not 0, only less precise."""
    try:
        x = float(value)
    except OverflowError:  # an int literal past the largest float
        x = math.inf
    if math.isinf(x):
        raise ExpressionError(
            f"{what}, {_one_line(text)}, is too large for a float (whose range is "
            f"±{sys.float_info.max!r}): write a smaller number"
        )
    mantissa = text.lower().partition("e")[0]
    if x == 0 and any(digit in mantissa for digit in "123456789") and "x" not in mantissa:
        raise ExpressionError(
            f"{what}, {_one_line(text)}, is too small for a float, which would make it 0 (the "
            "smallest above 0 is 5e-324): write 0, or a larger number"
        )
    return x


def parse(text: str) -> tuple[dict[str, float], ast.expr]:
    """Split ``"NAME=NUMBER, ...: EXPRESSION"`` and check the expression; evaluate nothing.

    Returns the variables' values and the checked syntax tree of the expression.

    >>> variables, tree = parse("x=2, y=-1.5: x*y + relu(x)")
    >>> variables
    {'x': 2.0, 'y': -1.5}
    >>> parse("x=1: x.__class__")
    Traceback (most recent call last):
    ...
    micrograd.expr.ExpressionError: attributes are not allowed: '.__class__' at column 1
    """
    check.text("text", text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters; the limit is {MAX_LENGTH}"
        )
    head, colon, source = text.partition(":")
    if not colon:
        raise ExpressionError("declare the variables first, then a colon: 'a=-4, b=2: a*b + b'")
    variables = _parse_variables(head)
    source = source.strip()
    if not source:
        raise ExpressionError("there is no expression after the colon")
    try:
        with warnings.catch_warnings():
            # Python warns on stderr about text like "1if" before it fails: the error says it.
            # (A SyntaxWarning since 3.11; 3.10 raises a DeprecationWarning.)
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise ExpressionError(f"syntax error{where}: {e.msg}".replace("\n", " ")) from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        raise ExpressionError(f"cannot parse the expression: {e}".replace("\n", " ")) from None
    _check(tree.body, source, variables)
    return variables, tree.body


def _check(root: ast.expr, source: str, variables: dict[str, float]) -> None:
    """Walk the tree (iteratively) and raise ExpressionError at the first node not allowed."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        children = _allowed_children(node, source, variables)
        stack.extend((child, depth + 1) for child in children)


def _where(node: ast.AST) -> str:
    """`` at column N`` for a node (1-based), or nothing."""
    col = getattr(node, "col_offset", None)
    return "" if col is None else f" at column {col + 1}"


def _allowed_children(node: ast.AST, source: str, variables: dict[str, float]) -> list[ast.AST]:
    """The sub-expressions of an allowed node; ExpressionError if the node is not allowed."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            text = ast.get_source_segment(source, node) or repr(node.value)
            _literal(text, node.value, f"the number{_where(node)}")
            return []
        kind = "strings" if isinstance(node.value, (str, bytes)) else f"{node.value!r} constants"
        raise ExpressionError(f"{kind} are not allowed{_where(node)}; only numbers")
    if isinstance(node, ast.Name):
        if node.id in variables:
            return []
        if node.id in FUNCTIONS:
            raise ExpressionError(
                f"{node.id} is a function: write {node.id}(x) or x.{node.id}(){_where(node)}"
            )
        known = ", ".join(variables)
        raise ExpressionError(f"unknown name {node.id!r}{_where(node)}; the variables are {known}")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(
                f"operator {type(node.op).__name__} is not allowed{_where(node)}; use + - * / **"
            )
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed{_where(node)}")
        return [node.operand]
    if isinstance(node, ast.Call):
        return _call_children(node, source)
    noun = _FORBIDDEN.get(type(node), f"{type(node).__name__} nodes")
    segment = ast.get_source_segment(source, node) if isinstance(node, ast.expr) else None
    if isinstance(node, ast.Attribute):
        segment = "." + node.attr
    shown = f": {_one_line(segment)}" if segment else ""
    raise ExpressionError(f"{noun} are not allowed{shown}{_where(node)}")


def _call_children(node: ast.Call, source: str) -> list[ast.AST]:
    """The receiver and arguments of ``f(x)`` or ``x.f()`` when ``f`` is one of FUNCTIONS."""
    functions = ", ".join(FUNCTIONS)
    func = node.func
    if isinstance(func, ast.Name):
        name, receiver = func.id, None
    elif isinstance(func, ast.Attribute):
        name, receiver = func.attr, func.value
    else:
        raise ExpressionError(f"only the functions {functions} can be called{_where(node)}")
    if name not in FUNCTIONS:
        raise ExpressionError(
            f"calls to {name!r} are not allowed{_where(node)}; the functions are {functions}"
        )
    if node.keywords:
        raise ExpressionError(f"{name}() takes no keyword arguments{_where(node)}")
    args: list[ast.AST] = list(node.args)
    if receiver is not None:
        args.insert(0, receiver)
    most = 2 if name == "leaky_relu" else 1
    if not 1 <= len(args) <= most:
        usage = "x.leaky_relu(slope) or leaky_relu(x, slope)" if most == 2 else f"x.{name}()"
        raise ExpressionError(f"wrong number of arguments to {name}{_where(node)}: {usage}")
    return args


def _to_float(value: object) -> float:
    """A literal as a float (``_check`` has refused those no float holds)."""
    assert isinstance(value, (int, float))
    return float(value)


def _apply(op: str, x: Number, y: Number) -> Number:
    """``x op y``: on the Values' operators when one is a Value, else the engine's float rule."""
    if op == "**" and not isinstance(y, Value) and abs(y) > MAX_EXPONENT:
        raise ExpressionError(f"the exponent {y:g} is too large; the limit is ±{MAX_EXPONENT}")
    if isinstance(x, Value) or isinstance(y, Value):
        out: Value = _VALUE_OPS[op](x, y)
        return out
    return RULES[op].forward(x, y)


def _function(name: str, x: Number, slope: Number | None) -> Number:
    """``name(x)`` (``leaky_relu(x, slope)``), on a Value or a plain number."""
    if isinstance(slope, Value):
        raise ExpressionError("the slope of leaky_relu must be a number, not a variable")
    if isinstance(x, Value):
        if name == "leaky_relu":
            return x.leaky_relu() if slope is None else x.leaky_relu(slope)
        method: Callable[[], Value] = getattr(x, name)
        return method()
    op = FUNCTIONS[name]
    return RULES[op].forward(x, 0.01 if slope is None else slope)


def _evaluate(node: ast.AST, values: dict[str, Value]) -> Number:
    """The value of a checked node; recursion is bounded by MAX_DEPTH."""
    if isinstance(node, ast.Constant):
        return _to_float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, values)
        right = _evaluate(node.right, values)
        return _apply(_BINARY[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if isinstance(node.op, ast.UAdd):
            return operand
        return -operand
    assert isinstance(node, ast.Call)
    func = node.func
    args = [_evaluate(a, values) for a in node.args]
    if isinstance(func, ast.Attribute):
        args.insert(0, _evaluate(func.value, values))
        name = func.attr
    else:
        assert isinstance(func, ast.Name)
        name = func.id
    return _function(name, args[0], args[1] if len(args) > 1 else None)


def evaluate(text: str) -> tuple[Value, dict[str, Value]]:
    """Build the graph of ``"NAME=NUMBER, ...: EXPRESSION"``: the output Value and the variables.

    Each variable is a leaf Value labelled with its name. Nothing is run but the engine's ops.

    >>> out, variables = evaluate("a=-4, b=2: a*b + b**3")
    >>> out.backward()
    >>> out.data, variables['a'].grad, variables['b'].grad
    (0.0, 2.0, 8.0)
    """
    numbers, tree = parse(text)
    values = {name: Value(x, label=name) for name, x in numbers.items()}
    out = _evaluate(tree, values)
    if not isinstance(out, Value):
        raise ExpressionError("the expression uses no variable, so it has no gradient to show")
    return out, values
