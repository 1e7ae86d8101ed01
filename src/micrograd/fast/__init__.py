"""Trace a loss built from Values once, then replay it as a vectorized NumPy program.

A training step builds the same graph every time with new numbers. ``trace`` records it once,
fuses chains of additions into n-ary sums and dot products, groups isomorphic work by level into
array ops, and runs forward and backward on arrays with the same rule table as ``engine.py``.
Every number the traced function reads out of a Value is guarded: a program whose guards fail is
traced again (or refused), never replayed wrong.
"""

from __future__ import annotations

import hashlib
import math
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from operator import attrgetter
from types import FrameType
from typing import Any, Protocol

try:
    import numpy as np
    import numpy.typing as npt
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from micrograd._extras import install_hint

    raise ImportError(f"micrograd.fast needs NumPy: {install_hint('fast')}") from exc

from micrograd import _check as check
from micrograd._tracing import (
    Recorder,
    StructureError,
    TraceError,
    settle,
    traced_input,
    watching,
)
from micrograd.engine import (
    RULES,
    Value,
    _FloatMath,
    gc_paused,
    is_grad_enabled,
    topological_order,
)
from micrograd.optim import _adam_settings, _sgd_settings, adam_update, sgd_update

__all__ = [
    "FORWARDS",
    "ArrayAdam",
    "ArrayOptimizer",
    "ArraySGD",
    "NumpyMath",
    "Program",
    "RetraceWarning",
    "StructureError",
    "TraceError",
    "compile_model",
    "rule_backward",
    "trace",
]

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


# --- The rule table's math on arrays ---


def _sign(x: Any) -> Any:
    # Twin of engine._sign: 0 at 0 and at nan (torch's sgn), where np.sign gives nan.
    return np.where(x > 0.0, 1.0, np.where(x < 0.0, -1.0, 0.0))


def _pow(x: Any, y: Any) -> Any:
    # Twin of engine._pow: C pow, but x ** ±0.5 is (r)sqrt as in torch (nan at -inf).
    if np.ndim(y) == 0:
        if y == 0.5:
            return np.sqrt(x)
        return np.divide(1.0, np.sqrt(x)) if y == -0.5 else np.power(x, y)
    root = np.sqrt(x)
    return np.where(y == 0.5, root, np.where(y == -0.5, 1.0 / root, np.power(x, y)))


def _power(x: Any, y: Any) -> Any:
    # Twin of fl.power, C's pow. NumPy's power takes sqrt for an exponent 0.5 given as a scalar
    # or a stride-0 view: nan at -inf and -0.0 at -0.0, where pow gives inf and 0.0.
    out = np.power(x, y)
    return np.where(np.equal(y, 0.5) & (np.isneginf(x) | np.equal(x, 0.0)), np.abs(x), out)


def _sigmoid(x: Any) -> Any:
    # Twin of engine._sigmoid: exp is only taken of a non-positive number, so it never overflows.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: Any) -> Any:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _identity(x: Any) -> Any:
    return x


class NumpyMath:
    """``engine._FloatMath`` on arrays: the namespace a rule's backward is written in."""

    num = staticmethod(_identity)
    where = staticmethod(np.where)
    div = staticmethod(np.divide)
    pow = staticmethod(_pow)
    power = staticmethod(_power)
    log = staticmethod(np.log)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sigmoid = staticmethod(_sigmoid)
    sign = staticmethod(_sign)


def _unary(f: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def forward(x: Any, y: Any) -> Any:
        return f(x)

    return forward


# Vectorized twins of the float forwards in ``engine.RULES`` (tested equal on edge values).
# Derivatives are not here: they come from ``RULES[op].backward`` with ``NumpyMath``.
FORWARDS: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": _pow,
    "pow": _power,  # x ** y of two Values: C's pow, no sqrt shortcut (as torch's tensor ** tensor)
    "exp": _unary(np.exp),
    "log": _unary(np.log),
    "tanh": _unary(np.tanh),
    "sigmoid": _unary(_sigmoid),
    "softplus": _unary(_softplus),
    "ReLU": _unary(lambda x: np.where(x <= 0.0, 0.0, x)),  # nan passes through
    "leaky_relu": lambda x, slope: np.where(x > 0.0, x, x * slope),
    "abs": _unary(np.abs),
    "sqrt": _unary(np.sqrt),
    "sin": _unary(np.sin),
    "cos": _unary(np.cos),
    "maximum": lambda x, y: np.where((x < y) | np.isnan(y), y, x),  # x at a tie, nan wins
}


# Twins that round exactly as the float forward does (IEEE arithmetic, sqrt, comparisons). A node
# whose number the traced function read is computed so, or by the float forward itself: its guard
# compares that number to the last bit.
_EXACT_TWINS = frozenset({"+", "-", "*", "/", "abs", "sqrt", "ReLU", "leaky_relu", "maximum"})


def _forward(op: str, exact: bool = False) -> Callable[[Any, Any], Any]:
    """The array forward of ``op``: its twin, else (an op without one, or ``exact`` asked of a
    twin that may round otherwise) the float forward of ``engine.RULES`` per element."""
    twin = FORWARDS.get(op)
    if twin is not None and (not exact or op in _EXACT_TWINS):
        return twin
    return np.vectorize(RULES[op].forward, otypes=[np.float64])


def rule_backward(op: str) -> Callable[[Any, Any, Any, Any], tuple[Any, ...]]:
    """``(x, y, out, g) -> (gx[, gy])`` on arrays: what each operand's grad receives from ``op``.

    It is the rule's ``backward`` from ``engine.RULES``, run with ``NumpyMath``; for an op with no
    twin in ``FORWARDS`` (one registered later, whose rule may be written for floats only), the
    rule run with the engine's float math on each element.
    """
    backward = RULES[check.choice("op", op, tuple(RULES))].backward
    if op in FORWARDS:
        return lambda x, y, out, g: tuple(backward(x, y, out, g, NumpyMath))
    arity = RULES[op].arity  # how many Value operands, so how many gradients

    def per_element(x: float, y: float, out: float, g: float) -> Any:
        grads = backward(x, y, out, g, _FloatMath)
        return tuple(grads) if arity > 1 else grads[0]

    vectorized = np.vectorize(per_element, otypes=[np.float64] * arity)
    if arity == 1:
        return lambda x, y, out, g: (vectorized(x, y, out, g),)
    return lambda x, y, out, g: tuple(vectorized(x, y, out, g))


class _Symbol:
    """A stand-in operand that records the products taken of it, to read a rule's shape."""

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def __mul__(self, other: Any) -> _Symbol:
        return _Symbol(("*", self.expr, getattr(other, "expr", other)))

    def __rmul__(self, other: Any) -> _Symbol:
        return _Symbol(("*", getattr(other, "expr", other), self.expr))


def _fusable() -> bool:
    """Whether the rules of ``+`` and ``*`` send back ``(g, g)`` and ``(g*y, g*x)``.

    Sums and dot products are fused only then: their kernels contract exactly these rules (a sum
    passes its gradient on unchanged; a product's factor gets the other factor times ``g``).
    """
    x, y, out, g = (_Symbol(name) for name in ("x", "y", "out", "g"))
    try:
        add = rule_backward("+")(x, y, out, g)
        mul = rule_backward("*")(x, y, out, g)
    except TypeError:
        return False

    def product(term: Any, a: str, b: str) -> bool:
        return getattr(term, "expr", None) in (("*", a, b), ("*", b, a))

    return (
        [getattr(t, "expr", None) for t in add] == ["g", "g"]
        and len(mul) == 2
        and product(mul[0], "g", "y")
        and product(mul[1], "g", "x")
    )


_FUSE = _fusable()


# --- Reading operands and accumulating gradients through precomputed index plans ---


def _affine(idx: Index) -> tuple[int, tuple[int, ...]] | None:
    """``(start, strides)`` when ``idx[i, j, ...] == start + i*s0 + j*s1 + ...``, else None."""
    if idx.size == 0:
        return None
    start = int(idx.flat[0])
    strides = []
    expected: Any = np.full(idx.shape, start, dtype=np.intp)
    for axis, length in enumerate(idx.shape):
        step = 0
        if length > 1:
            at = [0] * idx.ndim
            at[axis] = 1
            step = int(idx[tuple(at)]) - start
        if step < 0:
            return None
        strides.append(step)
        shape = [1] * idx.ndim
        shape[axis] = length
        expected = expected + np.arange(length, dtype=np.intp).reshape(shape) * step
    return (start, tuple(strides)) if np.array_equal(idx, expected) else None


def _view(buf: Array, start: int, strides: tuple[int, ...], shape: tuple[int, ...]) -> Array:
    size = buf.itemsize
    view: Array = np.lib.stride_tricks.as_strided(
        buf[start:], shape=shape, strides=tuple(s * size for s in strides)
    )
    return view


class _Reader:
    """Operands at fixed slots of the value buffer: a static view when they are evenly spaced."""

    __slots__ = ("buf", "idx", "view")

    def __init__(self, buf: Array, idx: Index) -> None:
        self.buf = buf
        self.idx = idx
        affine = _affine(idx)
        self.view = None if affine is None else _view(buf, affine[0], affine[1], idx.shape)

    def get(self) -> Array:
        """The operand values, in the shape of the index."""
        if self.view is not None:
            return self.view
        out: Array = self.buf.take(self.idx)
        return out


class _Accumulator:
    """Adds contributions into gradient slots; repeated slots are summed first (bincount)."""

    __slots__ = ("buf", "idx", "inverse", "shape", "target", "unique_count", "view")

    def __init__(self, buf: Array, idx: Index) -> None:
        self.buf = buf
        self.idx = idx
        self.shape = idx.shape
        self.view: Array | None = None
        self.target: _Accumulator | None = None
        unique, inverse = np.unique(idx.ravel(), return_inverse=True)
        if len(unique) < idx.size:
            self.inverse = inverse.reshape(-1)
            self.unique_count = len(unique)
            self.target = _Accumulator(buf, unique)
            return
        affine = _affine(idx)
        if affine is not None:
            self.view = _view(buf, affine[0], affine[1], idx.shape)

    def add(self, contribution: Any) -> None:
        """``buf[idx] += contribution`` where a repeated slot receives every share."""
        if self.view is not None:
            self.view += contribution
        elif self.target is not None:
            weights = np.broadcast_to(contribution, self.shape).ravel()
            self.target.add(np.bincount(self.inverse, weights, self.unique_count))
        else:
            self.buf[self.idx] += contribution


def _accumulator(g: Array, idx: Index, needs: npt.NDArray[np.bool_]) -> _Accumulator | None:
    """An accumulator into ``idx``, or None when no slot there needs a gradient."""
    return _Accumulator(g, idx) if needs[idx].any() else None


# --- Kernels: one vectorized op over a group of isomorphic nodes ---


class _Kernel(Protocol):
    def forward(self) -> None: ...
    def backward(self) -> None: ...
    def describe(self) -> str: ...


class _Elementwise:
    """One primitive op over many nodes: its NumPy twin forward, its rule's backward."""

    def __init__(
        self,
        op: str,
        v: Array,
        g: Array,
        out: slice,
        x_idx: Index,
        y_idx: Index | None,
        y_const: float | Array,
        needs: npt.NDArray[np.bool_],
        exact: bool = False,
        in_loss: bool = True,
    ) -> None:
        self.op = op
        self.fn = _forward(op, exact)
        self.backward_fn = rule_backward(op)
        self.out = v[out]
        self.gout = g[out]
        self.read_x = _Reader(v, x_idx)
        # A node only read by the traced function, not used by the loss, sends back nothing.
        self.acc_x = _accumulator(g, x_idx, needs) if in_loss else None
        self.read_y: _Reader | None = None
        self.acc_y: _Accumulator | None = None
        self.y_const = y_const
        if y_idx is not None:
            self.read_y = _Reader(v, y_idx)
            self.acc_y = _accumulator(g, y_idx, needs) if in_loss else None
        self.x: Any = None
        self.y: Any = None

    def describe(self) -> str:
        """One line: what this kernel computes."""
        operands = "x, y" if self.read_y is not None else "x, constant"
        return f"{self.op}({operands}) over {self.out.size} nodes"

    def forward(self) -> None:
        self.x = x = self.read_x.get()
        self.y = y = self.y_const if self.read_y is None else self.read_y.get()
        self.out[...] = self.fn(x, y)

    def backward(self) -> None:
        if self.acc_x is None and self.acc_y is None:
            return
        grads = self.backward_fn(self.x, self.y, self.out, self.gout)
        if self.acc_x is not None:
            self.acc_x.add(grads[0])
        if self.acc_y is not None:
            self.acc_y.add(grads[1])


_MUL_BACKWARD = rule_backward("*")


class _Sum:
    """Rows of ``sum(plain terms) + sum(a_k * b_k)``: n-ary sums and dot products, gathered."""

    def __init__(
        self,
        v: Array,
        g: Array,
        out: slice,
        plain: Index,
        a: Index,
        b: Index,
        needs: npt.NDArray[np.bool_],
    ) -> None:
        self.out = v[out]
        self.gout = g[out]
        self.read_p = _Reader(v, plain) if plain.shape[1] else None
        self.read_a = _Reader(v, a) if a.shape[1] else None
        self.read_b = _Reader(v, b) if a.shape[1] else None
        # Only columns of plain terms that lead to a parameter receive gradients.
        columns = np.flatnonzero(needs[plain].any(axis=0))
        self.acc_p = _Accumulator(g, plain[:, columns]) if len(columns) else None
        self.acc_a = _accumulator(g, a, needs) if a.shape[1] else None
        self.acc_b = _accumulator(g, b, needs) if a.shape[1] else None
        self.va: Any = None
        self.vb: Any = None

    def describe(self) -> str:
        """One line: what this kernel computes."""
        k = 0 if self.read_a is None else self.read_a.idx.shape[1]
        p = 0 if self.read_p is None else self.read_p.idx.shape[1]
        return f"sum of {p} terms + dot of {k} products, over {self.out.size} nodes"

    def forward(self) -> None:
        total: Any = 0.0
        if self.read_a is not None and self.read_b is not None:
            self.va, self.vb = va, vb = self.read_a.get(), self.read_b.get()
            total = va[:, 0] * vb[:, 0] if va.shape[1] == 1 else np.einsum("ij,ij->i", va, vb)
        if self.read_p is not None:
            p = self.read_p.get()
            total = total + (p[:, 0] if p.shape[1] == 1 else p.sum(axis=1))
        self.out[...] = total

    def backward(self) -> None:
        g = self.gout[:, None]
        if self.acc_p is not None:
            self.acc_p.add(g)  # broadcast over the terms of each row
        if self.acc_a is not None or self.acc_b is not None:
            ga, gb = _MUL_BACKWARD(self.va, self.vb, None, g)  # (g * b, g * a)
            if self.acc_a is not None:
                self.acc_a.add(ga)
            if self.acc_b is not None:
                self.acc_b.add(gb)


class _MatMul:
    """Dot products whose rows pair every row of ``A`` with every row of ``B``: ``B @ A.T``.

    A dense layer over a batch is this: each (sample, neuron) pair is one dot product. The
    gradient of a factor is the other factor (the rule of ``*``), summed over the pairs it
    meets: ``G.T @ B`` and ``G @ A``.
    """

    def __init__(
        self,
        v: Array,
        g: Array,
        out: slice,
        a: Index,
        b: Index,
        bias: Index | None,
        bias_per_a: bool,
        needs: npt.NDArray[np.bool_],
    ) -> None:
        shape = (len(b), len(a))
        self.out = v[out].reshape(shape)
        self.gout = g[out].reshape(shape)
        self.read_a, self.read_b = _Reader(v, a), _Reader(v, b)
        self.acc_a = _accumulator(g, a, needs)
        self.acc_b = _accumulator(g, b, needs)
        self.read_bias = None if bias is None else _Reader(v, bias)
        self.acc_bias = None if bias is None else _accumulator(g, bias, needs)
        self.bias_per_a = bias_per_a
        self.va: Any = None
        self.vb: Any = None

    def describe(self) -> str:
        """One line: what this kernel computes."""
        (nb, k), na = self.read_b.idx.shape, len(self.read_a.idx)
        bias = "" if self.read_bias is None else " + bias"
        return f"matmul ({nb}x{k}) @ ({k}x{na}){bias}"

    def forward(self) -> None:
        self.va, self.vb = va, vb = self.read_a.get(), self.read_b.get()
        np.matmul(vb, va.T, out=self.out)
        if self.read_bias is not None:
            terms = self.read_bias.get()
            bias = terms[:, 0] if terms.shape[1] == 1 else terms.sum(axis=1)
            self.out += bias if self.bias_per_a else bias.reshape(self.out.shape)

    def backward(self) -> None:
        gout = self.gout
        if self.acc_a is not None:
            self.acc_a.add(gout.T @ self.vb)
        if self.acc_b is not None:
            self.acc_b.add(gout @ self.va)
        if self.acc_bias is not None:
            gb = gout.sum(axis=0) if self.bias_per_a else gout.reshape(-1)
            self.acc_bias.add(gb[:, None])


# --- Tracing a graph into groups of isomorphic nodes ---


def _order(root: Value, watched: Sequence[Value]) -> tuple[list[Value], int]:
    """The loss's nodes in topological order, then any other node a watched one depends on;
    and how many are the loss's."""
    order = topological_order(root)
    n_loss = len(order)
    seen = set(order)
    for node in watched:
        stack = [node]
        while stack:
            top = stack[-1]
            if top in seen:
                stack.pop()
                continue
            pending = [c for c in top._prev if c not in seen]
            if pending:
                stack.extend(pending)
                continue
            seen.add(top)
            order.append(stack.pop())
    return order, n_loss


class _Graph:
    """A traced graph: fused nodes by level and kind, ready to be laid out in a buffer.

    ``order`` holds the loss's ``n_loss`` nodes (its root last), then nodes only ``watched``
    needs. A watched node (one whose number the traced function read) and everything it depends
    on is computed unfused, to the float forward's last bit, so that its guard is exact.
    """

    def __init__(
        self,
        order: list[Value],
        n_loss: int,
        params: Sequence[Value],
        inputs: Sequence[Value],
        watched: Sequence[Value] = (),
    ) -> None:
        n = len(order)
        index = {node: i for i, node in enumerate(order)}
        n_params = len(params)
        slot_of_leaf = {p: k for k, p in enumerate(params)}
        slot_of_leaf.update({x: n_params + j for j, x in enumerate(inputs)})
        # Any other leaf (a Value made before the trace, or one made in it) is read at each call,
        # as the Value engine reads it: its number is never frozen into the program.
        self.other_leaves = [v for v in order if v._a is None and v not in slot_of_leaf]
        first_other = n_params + len(inputs)
        slot_of_leaf.update({x: first_other + j for j, x in enumerate(self.other_leaves)})
        get = index.get
        ops = [node._op for node in order]
        a_of = [get(node._a, -1) for node in order]  # type: ignore[arg-type]
        b_of = [get(node._b, -1) for node in order]
        leaf_slot = [slot_of_leaf.get(node, -1) for node in order]
        # 0 constant, 1 depends on inputs only, 2 on a parameter
        status = [0 if s < 0 else (2 if s < n_params else 1) for s in leaf_slot]
        for i, ai in enumerate(a_of):
            if ai >= 0:
                s, bi = status[ai], b_of[i]
                status[i] = s if bi < 0 or status[bi] <= s else status[bi]
        # An op's constant (the 3 of x * 3), or the number of a constant node.
        args = [node.data if not s else node._arg for node, s in zip(order, status, strict=True)]

        exact = [False] * n
        stack = [index[w] for w in watched]
        while stack:
            i = stack.pop()
            if i >= 0 and a_of[i] >= 0 and not exact[i]:
                exact[i] = True
                stack += (a_of[i], b_of[i])
        self.watched = [index[w] for w in watched]
        self.watched_values = np.array([w.data for w in watched], dtype=np.float64)

        self.n = n
        self.root = n_loss - 1
        op_codes = {op: code for code, op in enumerate(["", *RULES])}
        codes = np.array([op_codes[op] for op in ops], dtype=np.int32)
        a_arr = np.array(a_of, dtype=np.intp)
        b_arr = np.array(b_of, dtype=np.intp)
        st = np.array(status, dtype=np.int8)
        arg_arr = np.array(args, dtype=np.float64)
        exact_arr = np.array(exact, dtype=bool)
        digest = hashlib.sha256()
        for array in (codes, a_arr, b_arr, st, arg_arr, np.array(leaf_slot, dtype=np.intp)):
            digest.update(array.tobytes())
        digest.update(exact_arr.tobytes() + n_loss.to_bytes(8, "little"))
        self.signature = digest.hexdigest()

        # Fusion: an addition or product used once, by an addition, joins that sum.
        live = (st > 0) & (a_arr >= 0)
        count = np.bincount(a_arr[live], minlength=n) + np.bincount(
            b_arr[live & (b_arr >= 0)], minlength=n
        )
        parent = np.full(n, -1, dtype=np.intp)
        rows = np.flatnonzero(live)
        parent[a_arr[rows]] = rows
        has_b = rows[b_arr[rows] >= 0]
        parent[b_arr[has_b]] = has_b
        add, mul = op_codes["+"], op_codes["*"]
        absorbed = np.zeros(n, dtype=bool)
        if _FUSE:
            parent_code = np.where(parent >= 0, codes[parent], -1)
            absorbed = live & (count == 1) & ((codes == add) | (codes == mul)) & ~exact_arr
            absorbed &= parent_code == add
            absorbed[self.root] = False

        # Constants that operands refer to: constant nodes, and the numbers of ``x + 1``, ``2*x``.
        self.const_value: dict[int, float] = {}
        number_ids: dict[str, int] = {}

        def ref(i: int) -> int:
            if status[i]:
                return i
            self.const_value[i] = args[i]
            return i

        def number(value: float) -> int:
            key = value.hex()  # keeps -0.0 apart from 0.0
            found = number_ids.get(key)
            if found is None:
                found = number_ids[key] = n + len(number_ids)
                self.const_value[found] = value
            return found

        level: dict[int, int] = {}
        # group key -> member ids, and per member: (a, b, arg) or (plain, a-factors, b-factors)
        self.groups: dict[tuple[Any, ...], list[int]] = {}
        self.members: dict[int, tuple[Any, ...]] = {}
        absorbed_list = absorbed.tolist()
        for i in np.flatnonzero(live & ~absorbed).tolist():
            op = ops[i]
            if op == "+" and _FUSE and not exact[i]:
                plain: list[int] = []
                fa: list[int] = []
                fb: list[int] = []
                # Walk the addition tree left to right; a constant term is pushed as -1 - id.
                stack = [i]
                while stack:
                    j = stack.pop()
                    if j < 0:
                        plain.append(-1 - j)
                    elif j == i or (absorbed_list[j] and ops[j] == "+"):
                        bj = b_of[j]
                        stack.append(bj if bj >= 0 else -1 - number(args[j]))
                        stack.append(a_of[j])
                    elif absorbed_list[j]:  # a product joins the sum as a dot-product term
                        fa.append(ref(a_of[j]))
                        bj = b_of[j]
                        fb.append(ref(bj) if bj >= 0 else number(args[j]))
                    else:
                        plain.append(ref(j))
                refs = plain + fa + fb
                lv = 1 + max(level.get(r, 0) for r in refs)
                key: tuple[Any, ...] = ("sum", lv, len(plain), len(fa))
                self.members[i] = (plain, fa, fb)
            else:
                ai, bi = ref(a_of[i]), b_of[i]
                bref = ref(bi) if bi >= 0 else -1
                lv = 1 + max(level.get(ai, 0), level.get(bref, 0))
                key = (op, lv, bref >= 0, exact[i], i < n_loss)
                self.members[i] = (ai, bref, args[i])
            level[i] = lv
            self.groups.setdefault(key, []).append(i)
        self.root_ref = ref(self.root)
        self.n_ids = n + len(number_ids)
        self.leaf_slot = {i: s for i, s in enumerate(leaf_slot) if s >= 0}
        self.status = status


# --- Laying the graph out in one buffer and compiling kernels ---


def _outer(a: Index, b: Index) -> tuple[Index, Index, Index] | None:
    """If rows pair every distinct row of ``a`` with every distinct row of ``b`` exactly once:
    the row order that makes the outputs ``(B @ A.T).ravel()``, and the distinct rows."""
    rows = len(a)
    ua, inv_a = np.unique(a, axis=0, return_inverse=True)
    ub, inv_b = np.unique(b, axis=0, return_inverse=True)
    if len(ua) * len(ub) != rows:
        return None
    key = inv_b.reshape(-1) * len(ua) + inv_a.reshape(-1)
    if len(np.unique(key)) != rows:
        return None
    return np.argsort(key), ua, ub


class _Compiled:
    """One traced structure: a value buffer, a gradient buffer and the kernels between them."""

    def __init__(self, graph: _Graph, n_params: int, n_inputs: int) -> None:
        self.signature = graph.signature
        self.n_params = n_params
        self.other_leaves = graph.other_leaves
        consts = sorted(graph.const_value)
        first_const = n_params + n_inputs + len(self.other_leaves)
        ops_total = sum(len(m) for m in graph.groups.values())
        size = first_const + len(consts) + ops_total
        self.v: Array = np.zeros(size)
        self.g: Array = np.zeros(size)
        needs = np.zeros(size, dtype=bool)
        needs[:n_params] = True
        slot = np.full(graph.n_ids, -1, dtype=np.intp)
        for i, s in graph.leaf_slot.items():
            slot[i] = s
        for k, c in enumerate(consts):
            slot[c] = first_const + k
            self.v[first_const + k] = graph.const_value[c]

        def slots(refs: Any) -> Index:
            found: Index = slot[np.asarray(refs, dtype=np.intp)]
            if (found < 0).any():
                raise AssertionError("an operand was scheduled after its use")
            return found

        self.kernels: list[_Kernel] = []
        top = first_const + len(consts)
        for key in sorted(graph.groups, key=lambda k: k[1]):
            members = np.array(graph.groups[key], dtype=np.intp)
            rows = len(members)
            out = slice(top, top + rows)
            kernel: _Kernel
            if key[0] == "sum":
                data = [graph.members[i] for i in members.tolist()]
                # Typed Index: NumPy 2.2 stubs type reshape as 2-d, which plain[perm] is not.
                plain: Index = slots([d[0] for d in data]).reshape(rows, key[2])
                fa: Index = slots([d[1] for d in data]).reshape(rows, key[3])
                fb: Index = slots([d[2] for d in data]).reshape(rows, key[3])
                outer = _outer(fa, fb) if key[3] else None
                if outer is not None:
                    perm, ua, ub = outer
                    members, plain = members[perm], plain[perm]
                    grid = plain.reshape(len(ub), len(ua), key[2])
                    per_a = bool((grid == grid[:1]).all())
                    bias = (grid[0] if per_a else plain) if key[2] else None
                    slot[members] = np.arange(top, top + rows)
                    needs[out] = [graph.status[i] == 2 for i in members.tolist()]
                    kernel = _MatMul(self.v, self.g, out, ua, ub, bias, per_a, needs)
                else:
                    first = fb[:, 0] if key[3] else plain[:, 0]
                    perm = np.argsort(first, kind="stable")
                    members, plain, fa, fb = members[perm], plain[perm], fa[perm], fb[perm]
                    slot[members] = np.arange(top, top + rows)
                    needs[out] = [graph.status[i] == 2 for i in members.tolist()]
                    kernel = _Sum(self.v, self.g, out, plain, fa, fb, needs)
            else:
                data = [graph.members[i] for i in members.tolist()]
                x = slots([d[0] for d in data])
                y_idx: Index | None = None
                if key[2]:
                    y_idx = slots([d[1] for d in data])
                    perm = np.lexsort((y_idx, x))
                    y_idx = y_idx[perm]
                    y: float | Array = 0.0
                else:
                    perm = np.argsort(x, kind="stable")
                    arg = np.array([d[2] for d in data], dtype=np.float64)[perm]
                    bits = arg.view(np.int64)
                    y = float(arg[0]) if (bits == bits[0]).all() else arg  # one constant
                members, x = members[perm], x[perm]
                slot[members] = np.arange(top, top + rows)
                needs[out] = [graph.status[i] == 2 for i in members.tolist()]
                kernel = _Elementwise(
                    key[0], self.v, self.g, out, x, y_idx, y, needs, exact=key[3], in_loss=key[4]
                )
            self.kernels.append(kernel)
            top += rows
        self.root = int(slots([graph.root_ref])[0])
        # Guards: the slots of the numbers the traced function read, and what it read there.
        self.guard_slots = slots(graph.watched) if graph.watched else np.zeros(0, dtype=np.intp)
        self.guard_values: Array = graph.watched_values
        self.guards: list[str] = []  # what each guard is: the number read, and where
        self.grad_guards: list[tuple[int, float, str]] = []  # (parameter, its .grad, where read)

    def forward(self, theta: Array, inputs: Sequence[Array]) -> int:
        """Load the numbers and run the forward kernels; the loss is at ``v[root]``.

        Returns -1 when every guard holds, else the index of the first whose number differs from
        the one the traced function read (the program would not be the function's graph).
        """
        v = self.v
        n = self.n_params
        v[:n] = theta
        for x in inputs:
            v[n : n + x.size] = x.ravel()
            n += x.size
        if self.other_leaves:
            count = len(self.other_leaves)
            v[n : n + count] = np.fromiter(map(_data, self.other_leaves), np.float64, count)
        with np.errstate(all="ignore"):
            for kernel in self.kernels:
                kernel.forward()
        if self.guard_slots.size:
            seen, read = v[self.guard_slots], self.guard_values
            if not (seen.view(np.int64) == read.view(np.int64)).all():
                same = (seen.view(np.int64) == read.view(np.int64)) | (
                    np.isnan(seen) & np.isnan(read)
                )
                differ = np.flatnonzero(~same)
                if differ.size:
                    return int(differ[0])
        return -1

    def backward(self) -> None:
        """The gradient of the loss in ``g`` (after ``forward``)."""
        g = self.g
        g.fill(0.0)
        g[self.root] = 1.0
        with np.errstate(all="ignore"):
            for kernel in reversed(self.kernels):
                kernel.backward()


# --- The public program ---


def _same_bits(a: Array, b: Array) -> bool:
    """Equal as stored (nan equals nan; -0.0 differs from 0.0)."""
    return a.shape == b.shape and bool((a.view(np.int64) == b.view(np.int64)).all())


def _nest(flat: list[Value], shape: tuple[int, ...]) -> Any:
    """Values in nested lists of the given shape (one Value for shape ``()``)."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = math.prod(shape[1:])
    return [_nest(flat[k * step : (k + 1) * step], shape[1:]) for k in range(shape[0])]


class ArrayOptimizer(Protocol):
    """An optimizer that updates a parameter array in place from its gradient."""

    lr: float

    def update(self, theta: Array, grad: Array) -> None:
        """Move ``theta`` (in place) one step against ``grad``."""


def _check_update(theta: object, grad: object) -> Array:
    """``grad`` as an array for an in-place update of ``theta`` (a float64 array of its shape)."""
    if not isinstance(theta, np.ndarray) or theta.dtype != np.float64:
        check.wrong_type("theta", theta, "a float64 NumPy array (it is updated in place)")
    g = np.asarray(grad)
    if g.dtype.kind not in "iuf":
        check.wrong_type("grad", grad, "an array of real numbers")
    if g.shape != theta.shape:
        check.wrong_value("grad", grad, f"an array of theta's shape {theta.shape}")
    return g


class ArraySGD:
    """``micrograd.optim.SGD`` (so ``torch.optim.SGD``) on a parameter array, in place.

    The update is ``optim.sgd_update``, the very rule ``SGD.step()`` applies to each Value.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        settings = _sgd_settings(lr, momentum, dampening, nesterov, weight_decay)
        self.lr, self.momentum, self.dampening, self.nesterov, self.weight_decay = settings
        self.momentum_buffer: Array | None = None

    def update(self, theta: Array, grad: Array) -> None:
        """One step, in place."""
        grad = _check_update(theta, grad)
        theta[...], buf = sgd_update(
            theta,
            grad,
            self.momentum_buffer,
            lr=self.lr,
            momentum=self.momentum,
            dampening=self.dampening,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )
        # The first buffer is the gradient itself: keep a copy, not the caller's array.
        self.momentum_buffer = buf.copy() if buf is grad else buf


class ArrayAdam:
    """``micrograd.optim.Adam`` (so ``torch.optim.Adam``) on a parameter array, in place.

    The update is ``optim.adam_update``, the very rule ``Adam.step()`` applies to each Value.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        settings = _adam_settings(lr, betas, eps, weight_decay, False)
        self.lr, self.betas, self.eps, self.weight_decay, _ = settings
        self.step_count = 0
        self.exp_avg: Array | None = None
        self.exp_avg_sq: Array | None = None

    def update(self, theta: Array, grad: Array) -> None:
        """One step, in place."""
        grad = _check_update(theta, grad)
        if self.exp_avg is None or self.exp_avg_sq is None:
            self.exp_avg, self.exp_avg_sq = np.zeros_like(theta), np.zeros_like(theta)
        self.step_count += 1
        theta[...], self.exp_avg, self.exp_avg_sq, _ = adam_update(
            theta,
            grad,
            self.exp_avg,
            self.exp_avg_sq,
            None,
            self.step_count,
            lr=self.lr,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
            sqrt=np.sqrt,
        )


_data = attrgetter("data")


def _as_input(x: Any, k: int) -> Array:
    """Input ``k`` as a float64 array: a real number, an array, or nested lists of them.

    Refuses what the Value engine would not take as a number (None, text, complex) and Values
    (a Value that needs a gradient is a parameter); nan and inf are numbers and pass.
    """
    accepts = f"input {k} must be a real number, an array or nested lists of real numbers"
    if isinstance(x, Value):
        raise TypeError(f"{accepts}, not a Value (a Value that needs a gradient is a parameter)")
    try:
        array = np.asarray(x)
    except ValueError as exc:  # lists of unequal lengths
        raise ValueError(f"{accepts} of one shape: {exc}") from None
    kind = array.dtype.kind
    if kind in "biuf":
        converted: Array = np.asarray(array, dtype=np.float64)
        return converted
    if kind == "O":
        numbers = []
        for item in array.ravel().tolist():
            if isinstance(item, (Value, str, bytes, complex)) or not hasattr(
                type(item), "__float__"
            ):
                raise TypeError(f"{accepts}, not {type(item).__name__}: {item!r:.40}")
            numbers.append(float(item))
        return np.array(numbers, dtype=np.float64).reshape(array.shape)
    raise TypeError(f"{accepts}, not an array of {array.dtype}")


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this module."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


class RetraceWarning(UserWarning):
    """A program is traced again: a number its function read (said where) is different now."""


_Shapes = tuple[tuple[int, ...], ...]


class Program:
    """A traced loss, replayed on arrays: ``program(*inputs)`` runs forward and backward.

    Made by ``trace`` or ``compile_model``. Each call reads the parameters' current ``.data``,
    adds the gradient into each parameter's ``.grad`` (as ``loss.backward()`` does) and returns
    the loss. Inputs of another shape are retraced (or refused with ``retrace=False``). So is a
    call where a number the function read while traced (a guard: ``x.data``, ``float(x)``,
    ``f"{x}"``, a parameter's ``.data`` or ``.grad``) differs: see ``guards``.
    """

    def __init__(
        self,
        fn: Callable[..., Value],
        params: Sequence[Value],
        example_inputs: Sequence[Any],
        retrace: bool = True,
    ) -> None:
        self.fn = check.function("fn", fn, "a function of the inputs that returns a Value")
        self.params = check.values("params", params, nonempty=False)
        if len(set(self.params)) != len(self.params):
            raise ValueError("params lists a Value twice")
        for p in self.params:
            if not isinstance(p, Value) or p._a is not None:
                raise ValueError("params must be leaf Values (no children)")
        self.retrace = check.boolean("retrace", retrace)
        self.traces = 0
        self.grad: Array = np.zeros(len(self.params))
        self._programs: dict[_Shapes, _Compiled] = {}
        self._arity = len(example_inputs)
        arrays = self._arrays(example_inputs)
        self._compile(arrays, self._theta())

    def _arrays(self, inputs: Sequence[Any]) -> list[Array]:
        if len(inputs) != self._arity:
            raise TypeError(f"the program takes {self._arity} inputs, got {len(inputs)}")
        return [_as_input(x, k) for k, x in enumerate(inputs)]

    def _build(self, arrays: Sequence[Array]) -> tuple[_Graph, Recorder]:
        """Run the function on Values of these inputs: its graph, and the numbers it read."""
        if not is_grad_enabled():
            raise RuntimeError("trace records a graph: call it outside no_grad()")
        leaves: list[Value] = []
        nested = []
        for x in arrays:
            flat = [traced_input(f) for f in x.ravel().tolist()]
            leaves.extend(flat)
            nested.append(_nest(flat, x.shape))
        with watching(self.params) as recorder:
            root = self.fn(*nested)
        if not isinstance(root, Value):
            raise TypeError(f"the traced function must return a Value, not {type(root).__name__}")
        order, n_loss = _order(root, list(recorder.reads))
        # A node made by hand or before the trace keeps its number; the program computes it.
        for node, what in settle(order).items():
            recorder.reads.setdefault(node, what)
        watched = list(recorder.reads)
        return _Graph(order, n_loss, self.params, leaves, watched), recorder

    def _compile(self, arrays: Sequence[Array], theta: Array) -> _Compiled:
        """Trace at ``theta`` (the parameters' numbers meanwhile) and these inputs."""
        saved = self._theta()
        moved = not _same_bits(saved, theta)
        try:
            if moved:
                for p, value in zip(self.params, theta.tolist(), strict=True):
                    p.data = value
            with gc_paused():  # a traced graph has no cycles; the collector would only rescan it
                graph, recorder = self._build(arrays)
                compiled = _Compiled(graph, len(self.params), sum(x.size for x in arrays))
        finally:
            if moved:
                for p, value in zip(self.params, saved.tolist(), strict=True):
                    p.data = value
        compiled.guards = list(recorder.reads.values())  # what each guard is, in their order
        index = {p: k for k, p in enumerate(self.params)}
        compiled.grad_guards = [
            (index[p], grad, at) for p, (grad, at) in recorder.grad_reads.items()
        ]
        self._programs[tuple(x.shape for x in arrays)] = compiled
        self.traces += 1
        return compiled

    def _changed(self, what: str, arrays: Sequence[Array], theta: Array) -> _Compiled:
        """A guard failed: trace again (with a RetraceWarning), or raise StructureError."""
        if not self.retrace:
            raise StructureError(
                f"the traced function's graph depends on {what}, which is different now: the "
                "compiled graph may not be the one the function builds; trace again, or pass "
                "retrace=True"
            )
        warnings.warn(
            f"the traced function's graph depends on {what}, which is different now: tracing "
            "again (a function whose graph depends on numbers it reads is traced at each change)",
            RetraceWarning,
            stacklevel=_caller_level(),
        )
        return self._compile(arrays, theta)

    def _program(self, arrays: Sequence[Array], theta: Array) -> _Compiled:
        shapes = tuple(x.shape for x in arrays)
        compiled = self._programs.get(shapes)
        if compiled is None:
            if not self.retrace:
                known = ", ".join(str(list(s)) for s in self._programs)
                raise StructureError(
                    f"inputs of shapes {[list(s) for s in shapes]} build another graph than the "
                    f"traced one ({known}); trace again or pass retrace=True"
                )
            return self._compile(arrays, theta)
        for k, grad, at in compiled.grad_guards:
            now = self.params[k].grad
            if not (type(now) is float and _same_bits(np.array([now]), np.array([grad]))):
                return self._changed(f"the .grad of parameter {k} read at {at}", arrays, theta)
        return compiled

    def _theta(self) -> Array:
        return np.fromiter(map(_data, self.params), dtype=np.float64, count=len(self.params))

    def loss_and_grad(self, theta: Any, *inputs: Any) -> tuple[float, Array]:
        """The loss and its gradient (in ``params`` order) at ``theta``; no Value is touched."""
        arrays = self._arrays(inputs)
        if not (isinstance(theta, np.ndarray) and theta.dtype == np.float64):
            theta = check.reals("theta", theta, nonempty=False)
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (len(self.params),):
            raise ValueError(f"theta must hold {len(self.params)} numbers, not {theta.shape}")
        compiled = self._program(arrays, theta)
        failed = compiled.forward(theta, arrays)
        if failed >= 0:
            compiled = self._changed(compiled.guards[failed], arrays, theta)
            failed = compiled.forward(theta, arrays)
            if failed >= 0:
                raise StructureError(
                    f"traced again on these very inputs, the function's graph depends on "
                    f"{compiled.guards[failed]}, which its own graph does not give: it depends "
                    "on something besides its inputs and parameters"
                )
        compiled.backward()
        return float(compiled.v[compiled.root]), compiled.g[: len(self.params)].copy()

    def __call__(self, *inputs: Any) -> float:
        """Forward and backward at the parameters' ``.data``; add into ``.grad``; the loss."""
        loss, self.grad = self.loss_and_grad(self._theta(), *inputs)
        for p, gp in zip(self.params, self.grad.tolist(), strict=True):
            p.grad = p.grad + gp
        return loss

    def step(self, *inputs: Any, optimizer: Any) -> float:
        """One training step: the loss, its gradient, the optimizer's update; returns the loss.

        ``zero_grad(); loss = program(*inputs); optimizer.step()``: each parameter's ``.data``
        is updated and its ``.grad`` holds this step's gradient. An ``ArraySGD``/``ArrayAdam``
        updates on arrays; any other optimizer (``micrograd.optim``) steps on the Values.
        """
        if isinstance(optimizer, type) or not any(
            hasattr(optimizer, m) for m in ("update", "step")
        ):
            check.wrong_type("optimizer", optimizer, "an ArraySGD, ArrayAdam or optim optimizer")
        if not hasattr(optimizer, "update"):
            for p in self.params:
                p.grad = 0.0
            loss = self(*inputs)
            optimizer.step()
            return loss
        theta = self._theta()
        loss, grad = self.loss_and_grad(theta, *inputs)
        self.grad = grad
        optimizer.update(theta, grad)
        for p, value, gp in zip(self.params, theta.tolist(), grad.tolist(), strict=True):
            p.data = value
            p.grad = gp
        return loss

    @property
    def guards(self) -> list[str]:
        """Where the traced function read numbers out of Values: one line per place in the code.

        Each number read is a guard: a call where it differs traces again (or, with
        ``retrace=False``, raises StructureError). Empty when the graph depends on no number.

        >>> w = Value(2.0)
        >>> program = trace(lambda xs: sum(w * x if x.data > 0 else w for x in xs), [w], [1, -2])
        >>> program.guards[0].split(" at ")[0]
        '2 numbers read'
        """
        found: dict[str, None] = {}
        for compiled in self._programs.values():
            for what, n in Counter(compiled.guards).items():
                if n > 1:
                    what = what.replace("a number read", f"{n} numbers read", 1)
                found[what] = None
            for k, _, at in compiled.grad_guards:
                found[f"the .grad of parameter {k} read at {at}"] = None
        return list(found)

    def describe(self) -> str:
        """The kernels of each traced structure, one line each, in the order they run.

        >>> w = Value(2.0)
        >>> print(trace(lambda xs: sum(w * x for x in xs).relu(), [w], [1.0, 2.0]).describe())
        inputs [2]: 2 kernels
          matmul (1x2) @ (2x1) + bias
          ReLU(x, constant) over 1 nodes
        """
        lines = []
        for shapes, compiled in self._programs.items():
            lines.append(
                f"inputs {', '.join(str(list(s)) for s in shapes)}: {len(compiled.kernels)} kernels"
            )
            lines.extend(f"  {kernel.describe()}" for kernel in compiled.kernels)
            count = len(compiled.guards) + len(compiled.grad_guards)
            if count:
                lines.append(f"  guards: {count} number{'s' * (count > 1)} the function read")
        return "\n".join(lines)

    def check(self, *inputs: Any) -> None:
        """Trace again on these inputs; raise StructureError if the graph is not the traced one.

        Guards already catch what the function reads; this also catches a changed Python
        number the function closes over (a constant of its graph).
        """
        arrays = self._arrays(inputs)
        shapes = tuple(x.shape for x in arrays)
        compiled = self._programs.get(shapes)
        if compiled is None:
            raise StructureError(f"no program traced for inputs of shapes {list(shapes)}")
        if self._build(arrays)[0].signature != compiled.signature:
            raise StructureError(
                "these inputs build a different graph than the traced one (Python control "
                "flow on data, or a changed constant): the compiled program would be wrong"
            )


def trace(
    fn: Callable[..., Value],
    params: Sequence[Value],
    *example_inputs: Any,
    retrace: bool = True,
) -> Program:
    """Trace ``fn(*inputs) -> Value`` once into a Program over ``params``.

    Each input (an array or nested lists of numbers) reaches ``fn`` as nested lists of Values of
    the same shape; a leaf that is neither a parameter nor an input (a Value ``fn`` closes over)
    is read at each call without a gradient. A number ``fn`` reads out of a Value (``x.data``,
    ``float(x)``, ``f"{x}"``; see ``Program.guards``) makes the program trace again when it
    differs (``retrace=False``: StructureError); setting a Value's ``.data`` or a parameter's
    ``.grad`` inside ``fn``, or an op whose derivative is a ``_backward`` closure, is refused
    (TraceError, naming the line or the op). Python numbers ``fn`` closes over are constants.

    >>> w = Value(2.0)
    >>> program = trace(lambda x: (w * x).relu(), [w], 3.0)
    >>> program(5.0), w.grad
    (10.0, 5.0)
    """
    return Program(fn, params, example_inputs, retrace=retrace)


def compile_model(
    model: Any,
    loss_fn: Callable[[list[Any], list[Value]], Value],
    xs: Any,
    y: Any,
    retrace: bool = True,
) -> Program:
    """A Program for ``loss_fn([model(x) for x in xs], y)`` over ``model.parameters()``.

    Call it as ``program(xs, y)`` with a batch of the same shape (new numbers each time).
    """
    if isinstance(model, type) or not callable(model) or not hasattr(model, "parameters"):
        check.wrong_type("model", model, "a model: callable on a row, with parameters()")
    check.function("loss_fn", loss_fn, "a loss function (outputs, targets) -> Value")

    def fn(xs: list[list[Value]], ys: list[Value]) -> Value:
        return loss_fn([model(x) for x in xs], ys)

    return Program(fn, model.parameters(), (xs, y), retrace=retrace)
