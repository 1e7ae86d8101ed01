"""Forward mode: dual numbers whose tangents come from the same ``engine.RULES`` rows as
backward(); ``jvp`` and ``jacfwd``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from micrograd import _check as check
from micrograd import _floats as fl
from micrograd import _hooks, engine
from micrograd.engine import RULES, Value
from micrograd.func._trees import (
    Argnums,
    Tree,
    _argnums,
    _arguments,
    _aux,
    _leaves,
    _positions,
    _rebuild,
    _split_row,
    _structure,
    _tree,
    refusing_float,
)

# --- Forward mode: dual numbers ---


class _Level:
    """One jvp in progress: its depth (nested jvps count up) and the plain Values it lifted."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.lifted: dict[Value, Value] = {}


_levels: list[_Level] = []  # the jvps in progress, outermost first


def _depth(x: object) -> int:
    return x._level.depth if isinstance(x, Dual) else 0


def _number(x: Any) -> float:
    return x.data if isinstance(x, Value) else x


def _floats(*xs: Any) -> bool:
    return all(type(x) is float for x in xs)


class _AnyMath:
    """A rule's math (``engine.Rule``) on floats, Values and dual numbers alike."""

    num = staticmethod(_number)
    where = staticmethod(fl.FloatMath.where)
    div = staticmethod(lambda x, y: fl.div(x, y) if _floats(x, y) else x / y)
    pow = staticmethod(lambda x, k: fl.pow_number(x, k) if _floats(x, k) else x**k)
    power = staticmethod(lambda x, y: fl.power(x, y) if _floats(x, y) else x**y)
    log = staticmethod(lambda x: fl.log(x) if type(x) is float else x.log())
    cos = staticmethod(lambda x: fl.cos(x) if type(x) is float else x.cos())
    sin = staticmethod(lambda x: fl.sin(x) if type(x) is float else x.sin())
    sigmoid = staticmethod(lambda x: fl.sigmoid(x) if type(x) is float else x.sigmoid())
    sign = staticmethod(lambda x: fl.sign(_number(x)))


_node_op = cache(engine._binary)  # the Value method that records op (registered ones too)


def _primal(op: str, x: Any, y: Any) -> Any:
    """``op`` on primals: floats by the rule's forward, else Values (a graph) or duals."""
    if not isinstance(x, Value) and not isinstance(y, Value):
        return RULES[op].forward(x, y)
    if isinstance(x, Dual) or isinstance(y, Dual):
        return _apply(op, x, y)
    return _node_op(op)(x if isinstance(x, Value) else Value(x), y)


def _apply(op: str, x: Any, y: Any) -> Any:
    """``op(x, y)`` where x or y is a dual number: the primal, and the tangent from the rule.

    The tangent of out = op(x, y) is J_x t_x + J_y t_y. A rule's backward is linear in the
    output gradient g, and for a scalar op it is J_x g and J_y g: so the tangent is the rule's
    backward of g = t_x (first result) plus its backward of g = t_y (second result).
    """
    level = _levels_of(x, y)
    xp, xt = _split(x, level)
    yp, yt = _split(y, level)
    out = _primal(op, xp, yp)
    rule = RULES[op]
    plain = _floats(xp, yp, out) and (xt is None or type(xt) is float)
    m = fl.FloatMath if plain and (yt is None or type(yt) is float) else _AnyMath
    tangent: Any = None
    if xt is not None:
        tangent = rule.backward(xp, yp, out, xt, m)[0]
    if yt is not None:
        ty = rule.backward(xp, yp, out, yt, m)[1]
        tangent = ty if tangent is None else tangent + ty
    if _hooks.anomaly_on:  # inside detect_anomaly(): forward mode's ops are checked too
        _check_finite(op, xp, yp, out, tangent, xt, yt)
    return Dual._make(out, tangent, level)  # tangent None: a constant here (jacfwd's others)


def _check_finite(op: str, x: Any, y: Any, out: Any, tangent: Any, *tangents: Any) -> None:
    """AnomalyError where an op gives a nan or inf, or a tangent one from finite tangents."""
    from micrograd import _anomaly

    if math.isfinite(_number(out)):
        if tangent is None or math.isfinite(_number(tangent)):
            return
        if any(t is not None and not math.isfinite(_number(t)) for t in tangents):
            return  # an infinite tangent came in: the op that made it was reported
        what = f"a tangent of {_number(tangent)!r}"
    else:
        what = repr(_number(out))
    operands = _anomaly._operands(op, _number(x), None if y is None else _number(y))
    raise _anomaly.AnomalyError(
        f"op {op!r} gave {what} in forward mode from {operands}, "
        f"at {_anomaly._where(_anomaly._site())}"
    )


def _levels_of(x: Any, y: Any) -> _Level:
    """The innermost jvp among the operands' (it must still be running)."""
    level: _Level = x._level if _depth(x) >= _depth(y) else y._level
    if level.depth > len(_levels) or _levels[level.depth - 1] is not level:
        raise ValueError(
            "a dual number was used after its jvp returned (kept in a variable or returned "
            "as aux): its tangent belongs to that jvp; use its .primal and .tangent instead"
        )
    return level


def _split(x: Any, level: _Level) -> tuple[Any, Any]:
    """(primal, tangent) of ``x`` at ``level``; tangent None for a constant there."""
    if isinstance(x, Dual) and x._level is level:
        return x.primal, x.tangent
    if isinstance(x, Value) and not isinstance(x, Dual) and x._a is not None:
        x = _lift(x, level)
        if isinstance(x, Dual) and x._level is level:
            return x.primal, x.tangent
    return x, None


def _lift(node: Value, level: _Level) -> Value:
    """A Value that the engine computed from dual numbers (a registered op, a node built by
    hand with a rule's name), replayed on duals: each node by its rule. A node that only its
    ``_backward`` closure differentiates has no rule to read: a ValueError names its op."""
    lifted = level.lifted
    if node in lifted:
        return lifted[node]
    for n in engine.topological_order(node):
        if n in lifted or n._a is None:
            continue
        a, b = lifted.get(n._a, n._a), n._b
        rule = engine.rule_of(n)
        children = n._prev
        if not any(isinstance(lifted.get(c, c), Dual) for c in children):
            lifted[n] = n  # a constant here: no dual below it
            continue
        if rule is None:
            raise ValueError(
                f"forward mode cannot differentiate op {n._op!r}: it has no rule in "
                "engine.RULES, only a _backward closure (a reverse-mode step). Add the op with "
                "engine.register_op and forward mode reads its rule"
            )
        y = n._arg if b is None else lifted.get(b, b)
        lifted[n] = _apply(n._op, a, y)
    return lifted[node]


def _constant(other: object) -> Any:
    """``other`` as an operand of a dual's op: a Value as it is, a number as a float."""
    return other if isinstance(other, Value) else fl.number(other, "operand")


def _binary(op: str, reflected: bool = False) -> Callable[[Dual, object], Any]:
    def method(self: Dual, other: object) -> Any:
        k = _constant(other)
        if k is None:
            return NotImplemented
        if op == "**" and isinstance(k, Value):
            return _apply("pow", k, self) if reflected else _apply("pow", self, k)
        return _apply(op, k, self) if reflected else _apply(op, self, k)

    method.__name__ = f"_{op}"
    return method


def _unary(op: str) -> Callable[[Dual], Any]:
    def method(self: Dual) -> Any:
        return _apply(op, self, 0.0)

    method.__name__ = op.lower()
    method.__doc__ = f"{op}(self); its tangent by the rule {RULES[op].formula}."
    return method


class Dual(Value):
    """A dual number of forward mode: a ``primal`` and its ``tangent`` (d primal / d input).

    It stands where a Value stands in your function (``.data`` is the primal's number): each
    op computes its result and its tangent at once, from the op's row of ``engine.RULES``. A
    Value made from a dual by a registered op or by hand with a rule's name is lifted by its
    rule; one with only a ``_backward`` closure is a ValueError naming the op. ``jvp`` makes
    these; you rarely make one yourself.
    """

    __slots__ = ("_level", "primal", "tangent")

    primal: Any  # a float, a Value (jvp inside a reverse transform) or a dual of an outer jvp
    tangent: Any
    _level: _Level

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("dual numbers are made by func.jvp (and jacfwd), not by Dual(...)")

    def register_hook(self, fn: object) -> Any:
        """Refused: a hook changes a gradient in backward(), and forward mode has no backward
        pass, so its derivative would silently differ from reverse mode's."""
        raise TypeError(
            "register_hook on a dual number of jvp/jacfwd: forward mode has no backward pass to "
            "run the hook in (its derivative would ignore it); use grad/jacobian (reverse mode)"
        )

    @classmethod
    def _make(cls, primal: Any, tangent: Any, level: _Level) -> Dual:
        d = object.__new__(cls)
        d.primal, d.tangent, d._level = primal, tangent, level
        d.data, d.grad, d.label = _number(primal), 0.0, ""
        d._a = d._b = None
        d._op, d._arg = "", 0.0
        return d

    def __repr__(self) -> str:
        return f"Dual(primal={self.primal!r}, tangent={self.tangent!r})"

    __add__ = _binary("+")
    __radd__ = _binary("+", reflected=True)
    __sub__ = _binary("-")
    __mul__ = _binary("*")
    __rmul__ = _binary("*", reflected=True)
    __truediv__ = _binary("/")
    __pow__ = _binary("**")
    __rpow__ = _binary("pow", reflected=True)

    def __rsub__(self, other: object) -> Any:  # other - self, as Value computes it
        k = _constant(other)
        if k is None or isinstance(k, Value):
            return NotImplemented if k is None else _apply("-", k, self)
        return -self + k

    def __rtruediv__(self, other: object) -> Any:  # other / self, as Value computes it
        k = _constant(other)
        if k is None or isinstance(k, Value):
            return NotImplemented if k is None else _apply("/", k, self)
        return self**-1 * k

    def __neg__(self) -> Any:  # -self
        return self * -1.0

    # exp, log, tanh, relu, ...: each built-in one-operand op's method, below the class

    def leaky_relu(self, negative_slope: float = 0.01) -> Any:
        """x if x > 0 else negative_slope * x."""
        return _apply("leaky_relu", self, check.real("negative_slope", negative_slope))

    def maximum(self, other: object) -> Any:
        """max(self, other) as torch.maximum."""
        k = other if isinstance(other, Value) else check.number("other", other)
        return _apply("maximum", self, k)

    def backward(self, grad: float | Value = 1.0, create_graph: bool = False) -> None:
        """Refused: a dual number records no graph (reverse mode of it is ``grad`` of a jvp)."""
        raise TypeError(
            "a dual number of forward mode has no graph to run backward() on: call backward() "
            "outside jvp, or differentiate the jvp with func.grad"
        )


for _name, _rule in RULES.items():  # x.exp(), x.relu(), abs(x): the rule's op on a dual
    if _rule.arity == 1 and not _rule.constant and _name.lower() in engine._BUILT_IN:
        setattr(Dual, _name.lower(), _unary(_name))
Dual.__abs__ = Dual.abs


def jvp(
    f: Callable[..., Any], primals: Sequence[Tree], tangents: Sequence[Tree], has_aux: bool = False
) -> tuple[Any, ...]:
    """``(f(*primals), J @ tangents)`` by **forward mode**: one pass of dual numbers, no graph.

    ``tangents`` has the structure of ``primals`` (a tuple of the arguments); the result's
    tangent has the structure of ``f``'s output. With ``has_aux`` ``f`` returns
    ``(output, aux)`` and so does the result, as ``(output, jvp_out, aux)`` (torch.func.jvp).
    Forward mode costs about one evaluation of ``f`` per tangent: cheap for few inputs. Inside
    ``detect_anomaly()`` an op whose value or tangent turns nan/inf raises AnomalyError.

    >>> jvp(lambda x, y: x * y + x.sin(), (0.0, 3.0), (1.0, 0.0))
    (0.0, 4.0)
    """
    f = check.function("f", f)
    has_aux = check.boolean("has_aux", has_aux)
    primals = _tree(_arguments("primals", primals))
    tangents = _tree(_arguments("tangents", tangents))
    xs, ts = _leaves(primals, "primals"), _leaves(tangents, "tangents")
    if len(xs) != len(ts) or _structure(primals) != _structure(tangents):
        check.wrong_value("tangents", tangents, "the structure of primals (one tangent each)")
    return _jvp(f, primals, xs, ts, has_aux)


def _jvp(
    f: Callable[..., Any], primals: Tree, xs: list[Any], ts: list[Any], has_aux: bool
) -> tuple[Any, ...]:
    """jvp of checked arguments: ``xs`` and ``ts`` are the leaves of primals and tangents; a
    tangent None leaves its primal a constant (jacfwd's other inputs: no 0 * inf = nan)."""
    level = _Level(len(_levels) + 1)
    _levels.append(level)
    try:
        duals = [Dual._make(x, t, level) for x, t in zip(xs, ts)]
        with refusing_float():
            result = f(*_rebuild(primals, iter(duals)))
        out, aux = _aux(result, has_aux)
        pairs = [_split(o, level) for o in _leaves(out, "f's output")]
    finally:
        _levels.pop()
    value = _rebuild(out, (p for p, _ in pairs))
    jvp_out = _rebuild(out, (0.0 if t is None else t for _, t in pairs))
    return (value, jvp_out, aux) if has_aux else (value, jvp_out)


def jacfwd(
    f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian by **forward mode**: one jvp per input number (columns), no graph.

    Same structure as :func:`jacobian`; cheaper when ``f`` has fewer inputs than outputs.

    >>> jacfwd(lambda x: [x * x, x.exp()])(0.0)
    [0.0, 1.0]
    """
    f = check.function("f", f)
    argnums, has_aux = _argnums(argnums), check.boolean("has_aux", has_aux)

    def jacobian_fn(*args: Any) -> Any:
        nums = _positions(argnums, args)
        call = [_tree(a) for a in args]
        leaves = [_leaves(a, f"argument {i}") for i, a in enumerate(call)]
        starts = [sum(len(v) for v in leaves[:i]) for i in range(len(call))]
        chosen = [starts[i] + k for i in nums for k in range(len(leaves[i]))]  # argnums' order
        xs, trees, n = [x for v in leaves for x in v], [call[i] for i in nums], len(chosen)
        columns = []
        for j in range(max(n, 1)):  # one jvp per input number (one call when there are none)
            ts: list[Any] = [None] * len(xs)  # the other inputs are constants
            if n:
                ts[chosen[j]] = 1.0
            result = _jvp(f, tuple(call), xs, ts, has_aux)
            columns.append(_leaves(result[1], "jvp"))
        value, aux = result[0], result[2] if has_aux else None
        rows = [[column[i] for column in columns[:n]] for i in range(len(columns[0]))]
        jac = _rebuild(value, (_split_row(row, trees, argnums) for row in rows))
        return (jac, aux) if has_aux else jac

    return jacobian_fn
