"""The JAX backend's steps: a compiled program's kernels written again as ``jax.numpy`` code,
each a forward and a backward step on the program's buffers cut into segments. The rule table's
math runs with ``JaxMath`` (twins of ``fast._rules``' NumPy functions), so no derivative is
written here. Loaded through ``fast._jax``, which sets XLA's flags before XLA starts."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from micrograd.engine import RULES
from micrograd.fast._kernels import _affine, _Elementwise, _Fold, _MatMul, _Sum
from micrograd.fast._rules import Index, _identity
from micrograd.fast._schedule import _Compiled

# --- The rule table's math in jax.numpy (twins of fast._rules' NumPy functions) ---


def _concrete(y: Any) -> bool:
    """A number known while tracing (an op's constant), not a traced array."""
    return isinstance(y, (int, float, np.ndarray, np.floating))


def _sign(x: Any) -> Any:
    # Twin of engine._sign: 0 at 0 and at nan.
    return jnp.where(x > 0.0, 1.0, jnp.where(x < 0.0, -1.0, 0.0))


def _pow(x: Any, y: Any) -> Any:
    # Twin of engine._pow: C pow, but x ** ±0.5 is (r)sqrt as in torch (nan at -inf).
    if _concrete(y) and np.ndim(y) == 0:
        if y == 0.5:
            return jnp.sqrt(x)
        return 1.0 / jnp.sqrt(x) if y == -0.5 else jnp.power(x, y)
    root = jnp.sqrt(x)
    return jnp.where(y == 0.5, root, jnp.where(y == -0.5, 1.0 / root, jnp.power(x, y)))


def _power(x: Any, y: Any) -> Any:
    # Twin of fl.power, C's pow: an exponent 0.5 gives inf at -inf and 0.0 at -0.0 (not sqrt's).
    out = jnp.power(x, y)
    return jnp.where((y == 0.5) & (jnp.isneginf(x) | (x == 0.0)), jnp.abs(x), out)


def _sigmoid(x: Any) -> Any:
    # Twin of engine._sigmoid: exp is only taken of a non-positive number, so it never overflows.
    e = jnp.exp(-jnp.abs(x))
    return jnp.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


class JaxMath:
    """``engine._FloatMath`` in ``jax.numpy``: the namespace a rule's backward is written in."""

    num = staticmethod(_identity)
    where = staticmethod(jnp.where)
    div = staticmethod(jnp.divide)
    pow = staticmethod(_pow)
    power = staticmethod(_power)
    log = staticmethod(jnp.log)
    sin = staticmethod(jnp.sin)
    cos = staticmethod(jnp.cos)
    sigmoid = staticmethod(_sigmoid)
    sign = staticmethod(_sign)


def _unary(f: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda x, y: f(x)


# Twins of fast.FORWARDS (so of the float forwards in engine.RULES), row for row.
FORWARDS: dict[str, Callable[[Any, Any], Any]] = {
    "+": jnp.add,
    "-": jnp.subtract,
    "*": jnp.multiply,
    "/": jnp.divide,
    "**": _pow,
    "pow": _power,
    "exp": _unary(jnp.exp),
    "log": _unary(jnp.log),
    "tanh": _unary(jnp.tanh),
    "sigmoid": _unary(_sigmoid),
    "softplus": _unary(lambda x: jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))),
    "ReLU": _unary(lambda x: jnp.where(x < 0.0, 0.0, x)),  # nan and -0.0 pass through
    "leaky_relu": lambda x, slope: jnp.where(x > 0.0, x, x * slope),
    "abs": _unary(jnp.abs),
    "sqrt": _unary(jnp.sqrt),
    "sin": _unary(jnp.sin),
    "cos": _unary(jnp.cos),
    "maximum": lambda x, y: jnp.where((x < y) | jnp.isnan(y), y, x),  # x at a tie, nan wins
}


def _backward(op: str) -> Callable[..., tuple[Any, ...]]:
    """``(x, y, out, g) -> (gx[, gy])``: the rule's backward from ``engine.RULES`` in JAX."""
    rule = RULES[op].backward
    return lambda x, y, out, g: tuple(rule(x, y, out, g, JaxMath))


# --- The buffers cut into segments: each leaf kind and each kernel's output its own array ---


def _nested(idx: Index) -> tuple[int, tuple[int, ...], tuple[int, ...], bool] | None:
    """``(start, strides, lengths, transposed)`` of ``idx`` when strided slices, pads and
    reshapes reach its slots: ``idx`` affine, its axes of more than one slot (at most two) with
    strides that nest (the outer a multiple of the inner, past the inner's run), in row order of
    the ``lengths``, or their transpose; axes of one slot are dropped."""
    affine = _affine(idx)
    if affine is None:
        return None
    start, all_strides = affine
    kept = [(n, s) for n, s in zip(idx.shape, all_strides, strict=True) if n > 1]
    if any(s == 0 for _, s in kept) or len(kept) > 2:
        return None  # a slot read again (a broadcast) or a shape the kernels do not make
    transposed = len(kept) == 2 and kept[0][1] < kept[1][1]
    if transposed:
        kept.reverse()
    if len(kept) == 2:
        (_, outer), (inner_n, inner) = kept
        if outer % inner or outer // inner < inner_n:
            return None
    return start, tuple(s for _, s in kept), tuple(n for n, _ in kept), transposed


def _take(array: Any, idx: Index) -> Any:
    """``array[idx]``: by a strided slice (and a pad and reshape for two axes) when ``_nested``
    finds the slots so, else by a gather."""
    affine = _affine(idx)
    if affine is not None and any(s == 0 for n, s in zip(idx.shape, affine[1]) if n > 1):
        # A slot read along an axis again and again (a constant of each row): a broadcast.
        first = tuple(slice(0, 1) if s == 0 else slice(None) for s in affine[1])
        return jnp.broadcast_to(_take(array, idx[first]), idx.shape)
    plan = _nested(idx)
    if plan is None:
        return array[idx]
    start, strides, lengths, transposed = plan
    if not lengths:
        return jax.lax.slice(array, (start,), (start + 1,)).reshape(idx.shape)
    inner = strides[-1]
    run = sum((n - 1) * s for n, s in zip(lengths, strides, strict=True)) // inner + 1
    # lax.slice, not array[a:b:s]: older JAX made a gather of a slice with a step.
    flat = jax.lax.slice(array, (start,), (start + (run - 1) * inner + 1,), (inner,))
    if len(lengths) == 2:
        rows, cols = lengths
        width = strides[0] // inner
        flat = jax.lax.pad(flat, 0.0, [(0, rows * width - run, 0)])
        flat = jax.lax.slice(flat.reshape(rows, width), (0, 0), (rows, cols))
        flat = flat.T if transposed else flat
    return flat.reshape(idx.shape)


def _place(shares: Any, idx: Index, size: int) -> Any | None:
    """An array of ``size`` zeros holding ``shares`` (of ``idx``'s shape) at the slots ``idx``
    (each slot once): ``_take`` undone by pads, so that adding it is elementwise; None when
    ``_nested`` does not find the slots so."""
    plan = _nested(idx)
    if plan is None:
        return None
    start, strides, lengths, transposed = plan
    if not lengths:
        return jax.lax.pad(shares.reshape(1), 0.0, [(start, size - start - 1, 0)])
    inner = strides[-1]
    run = sum((n - 1) * s for n, s in zip(lengths, strides, strict=True)) // inner + 1
    if len(lengths) == 2:
        rows, cols = lengths
        block = shares.reshape(cols, rows).T if transposed else shares.reshape(rows, cols)
        block = jax.lax.pad(block, 0.0, [(0, 0, 0), (0, strides[0] // inner - cols, 0)])
        flat = jax.lax.slice(block.reshape(-1), (0,), (run,))
    else:
        flat = shares.reshape(-1)
    end = start + (run - 1) * inner + 1
    return jax.lax.pad(flat, 0.0, [(start, size - end, inner - 1)])


def _runs(at: Index, local: Index) -> bool:
    """Whether ``at`` and ``local`` both count up by one (a slice of a segment, read in order)."""
    steps = np.arange(at.size)
    return bool((at == at[0] + steps).all() and (local == local[0] + steps).all())


# Runs of positions up to which a read from several segments is a concatenation (past it, a
# scatter: one op, where each run would add one slice to the compiled program).
_MOST_PIECES = 32


class _Segments:
    """Slots of fast's value and gradient buffers as segments, one array each (the parameters,
    each input, the other leaves, the constants, each kernel's output), so that XLA sees each
    kernel's result as a value of its own, not as an update of one large buffer."""

    def __init__(self, starts: Sequence[int], size: int) -> None:
        self.starts = np.array(sorted(set(starts)), dtype=np.intp)
        self.stops = np.append(self.starts[1:], size)

    def of(self, slot: int) -> int:
        """The segment holding ``slot``."""
        return int(np.searchsorted(self.starts, slot, side="right")) - 1

    def _split(self, idx: Index) -> list[tuple[int, Index, Index]]:
        """``(segment, positions in idx.ravel(), local slots)`` for each segment ``idx`` meets."""
        flat = idx.ravel()
        seg = np.searchsorted(self.starts, flat, side="right") - 1
        return [
            (int(k), np.flatnonzero(seg == k), flat[seg == k] - self.starts[k])
            for k in np.unique(seg)
        ]

    def read(self, arrays: list[Any], idx: Index) -> Any:
        """The numbers at slots ``idx``, in the shape of ``idx``."""
        parts = self._split(idx)
        if len(parts) == 1:
            k, _, local = parts[0]
            return _take(arrays[k], local.reshape(idx.shape))
        pieces = []  # (first position, segment, its slots) of each run of positions
        for k, at, local in parts:
            breaks = np.flatnonzero(np.diff(at) != 1) + 1
            pieces += [
                (int(a[0]), k, lo) for a, lo in zip(np.split(at, breaks), np.split(local, breaks))
            ]
        if len(pieces) <= _MOST_PIECES:  # a few runs: concatenated, no scatter
            pieces.sort(key=lambda piece: piece[0])
            flat = jnp.concatenate([_take(arrays[k], local) for _, k, local in pieces])
            return flat.reshape(idx.shape)
        out = jnp.zeros(idx.size)
        for k, at, local in parts:
            out = out.at[at].set(_take(arrays[k], local))
        return out.reshape(idx.shape)

    def add(self, grads: list[Any], idx: Index, contribution: Any) -> None:
        """Add ``contribution`` (broadcast to ``idx``'s shape) into the gradients at ``idx``; a
        repeated slot receives every share."""
        contribution = jnp.broadcast_to(contribution, idx.shape)
        parts = self._split(idx)
        for k, at, local in parts:
            size = int(self.stops[k] - self.starts[k])
            if len(parts) == 1:
                shares, local = contribution, local.reshape(idx.shape)
            elif _runs(at, at):  # a slice of the contribution, not a gather
                shares = contribution.ravel()[int(at[0]) : int(at[0]) + at.size]
            else:
                shares = contribution.ravel()[at]
            # Each slot once: the shares padded to the segment and added elementwise (adding a
            # +0.0 changes no gradient: one that starts at +0.0 and adds is never -0.0).
            placed = _place(shares, local, size) if len(np.unique(local)) == local.size else None
            base = grads[k] if grads[k] is not None else jnp.zeros(size)
            grads[k] = base.at[local].add(shares) if placed is None else base + placed


# --- Each kernel as a forward and a backward step on the segments ---


class _Step:
    """A kernel's forward (``run``) and backward (``back``) in JAX; its output is segment
    ``seg``, what the forward keeps for the backward is ``saved``."""

    def __init__(self, segments: _Segments, seg: int) -> None:
        self.s = segments
        self.seg = seg
        self.saved: Any = None
        # Whether a zero of the output needs its sign (fast._signs; _loss_and_grad sets it):
        # where none does, a sum or a product leaves its zeros as XLA makes them.
        self.signs_zeros = True

    def gout(self, grads: list[Any], vals: list[Any]) -> Any:
        g = grads[self.seg]
        return jnp.zeros(vals[self.seg].shape) if g is None else g

    def run(self, vals: list[Any], zeros: _Zeros) -> None:
        raise NotImplementedError

    def back(self, grads: list[Any], vals: list[Any]) -> None:
        raise NotImplementedError


class _ElementwiseStep(_Step):
    def __init__(self, segments: _Segments, seg: int, k: _Elementwise) -> None:
        super().__init__(segments, seg)
        self.forward, self.backward = FORWARDS[k.op], _backward(k.op)
        self.x = k.read_x.idx
        self.y = None if k.read_y is None else k.read_y.idx
        self.y_const = k.y_const
        self.acc_x = None if k.acc_x is None else k.acc_x.idx
        self.acc_y = None if k.acc_y is None else k.acc_y.idx

    def run(self, vals: list[Any], zeros: _Zeros) -> None:
        x = self.s.read(vals, self.x)
        y = self.y_const if self.y is None else self.s.read(vals, self.y)
        vals[self.seg] = out = self.forward(x, y)
        self.saved = (x, y, out)

    def back(self, grads: list[Any], vals: list[Any]) -> None:
        if self.acc_x is None and self.acc_y is None:
            return
        x, y, out = self.saved
        found = self.backward(x, y, out, self.gout(grads, vals))
        if self.acc_x is not None:
            self.s.add(grads, self.acc_x, found[0])
        if self.acc_y is not None:
            self.s.add(grads, self.acc_y, found[1])


def _signed_zeros(total: Any, negative: Any) -> Any:
    """``total`` with each zero given the sign a chain of additions gives it: -0.0 where
    ``negative`` (every term of that sum is -0.0), else +0.0 (fast._kernels._signed_zeros:
    XLA's reductions and dots start from +0.0, as NumPy's)."""
    return jnp.where(total == 0.0, jnp.where(negative, -0.0, 0.0), total)


def _all_negative(terms: Any) -> Any:
    """Rows whose terms all carry the sign bit (with a zero sum: all are -0.0)."""
    return jnp.all(jnp.signbit(terms), axis=-1)


# Terms of a matrix product up to which its zeros are signed at once (the products of a
# parameter vector with itself, an L2 penalty, say), not left to the exact pass.
_FEW_TERMS = 4096


class _Zeros:
    """How one pass over the steps signs the zero entries of XLA's matrix products.

    A dot product that is zero is -0.0 in a chain of additions when every term is -0.0, but
    XLA's dots start from +0.0, and finding the terms' signs costs a product of each pair (a
    sum signs its zeros at once: ``_SumStep``). The exact pass gives each zero entry the sign
    of its terms (``_signed_zeros``). The quick pass leaves the products as XLA makes them,
    with nothing between a matmul and what reads it, and notes in ``seen`` whether any entry
    is zero: where none is, both passes give the same numbers, and ``_loss_and_grad`` takes
    the exact pass only where one is. Only products whose zeros' signs can reach the loss or a
    gradient come here (``fast._signs``)."""

    def __init__(self, exact: bool) -> None:
        self.exact = exact
        self.seen: list[Any] = []

    def sign(self, total: Any, negative: Callable[[], Any], terms: int) -> Any:
        """``total`` with its zeros signed by ``negative()`` (its ``terms`` terms' signs, dear
        to find: only when one of the entries is zero, unless they are few)."""
        if terms <= _FEW_TERMS:  # cheaper than a pass of its own: signed in both passes
            return _signed_zeros(total, negative())
        if not self.exact:
            self.seen.append(jnp.any(total == 0.0))
            return total
        signed = lambda total: _signed_zeros(total, negative())  # noqa: E731
        return jax.lax.cond(jnp.all(total != 0.0), lambda total: total, signed, total)


class _SumStep(_Step):
    def __init__(self, segments: _Segments, seg: int, k: _Sum) -> None:
        super().__init__(segments, seg)
        self.mul = _backward("*")
        self.plain = None if k.read_p is None else k.read_p.idx
        self.a = None if k.read_a is None else k.read_a.idx
        self.b = None if k.read_b is None else k.read_b.idx
        self.acc_p, self.acc_a, self.acc_b = (
            None if acc is None else acc.idx for acc in (k.acc_p, k.acc_a, k.acc_b)
        )

    def run(self, vals: list[Any], zeros: _Zeros) -> None:
        # Signed here, at every pass (a sum's terms are at hand): a zero sum, common (a hinge
        # loss once every margin is met), never sends the step to the exact pass.
        total: Any = 0.0
        terms = []
        if self.a is not None and self.b is not None:
            va, vb = self.s.read(vals, self.a), self.s.read(vals, self.b)
            self.saved = (va, vb)
            terms.append(va * vb)
            total = terms[-1].sum(axis=1)
        if self.plain is not None:
            terms.append(self.s.read(vals, self.plain))
            total = total + terms[-1].sum(axis=1)
        if self.signs_zeros:
            negative = functools.reduce(operator.and_, map(_all_negative, terms), True)
            total = _signed_zeros(total, negative)
        vals[self.seg] = total

    def back(self, grads: list[Any], vals: list[Any]) -> None:
        g = self.gout(grads, vals)[:, None]
        if self.acc_p is not None:
            self.s.add(grads, self.acc_p, g)
        if self.acc_a is not None or self.acc_b is not None:
            va, vb = self.saved
            ga, gb = self.mul(va, vb, None, g)  # (g * b, g * a)
            if self.acc_a is not None:
                self.s.add(grads, self.acc_a, ga)
            if self.acc_b is not None:
                self.s.add(grads, self.acc_b, gb)


class _MatMulStep(_Step):
    def __init__(self, segments: _Segments, seg: int, k: _MatMul) -> None:
        super().__init__(segments, seg)
        self.a, self.b = k.read_a.idx, k.read_b.idx
        self.shape = k.out.shape
        self.bias = None if k.read_bias is None else k.read_bias.idx
        self.bias_per_a = k.bias_per_a
        self.acc_a, self.acc_b, self.acc_bias = (
            None if acc is None else acc.idx for acc in (k.acc_a, k.acc_b, k.acc_bias)
        )

    def run(self, vals: list[Any], zeros: _Zeros) -> None:
        va, vb = self.s.read(vals, self.a), self.s.read(vals, self.b)
        self.saved = (va, vb)
        out = vb @ va.T
        bias: Any = None
        if self.bias is not None:
            bias = self.s.read(vals, self.bias)
            terms = bias.sum(axis=1)
            out = out + (terms if self.bias_per_a else terms.reshape(self.shape))

        def negative() -> Any:  # (rows, columns, k) products
            found = _all_negative(vb[:, None, :] * va[None, :, :])
            if bias is not None:
                signs = _all_negative(bias)
                found &= signs[None, :] if self.bias_per_a else signs.reshape(self.shape)
            return found

        terms = va.size * vb.shape[0]
        vals[self.seg] = (zeros.sign(out, negative, terms) if self.signs_zeros else out).ravel()

    def back(self, grads: list[Any], vals: list[Any]) -> None:
        va, vb = self.saved
        g = self.gout(grads, vals).reshape(self.shape)
        # The rule of * summed over the pairs each factor meets (as fast's _MatMul).
        if self.acc_a is not None:
            self.s.add(grads, self.acc_a, g.T @ vb)
        if self.acc_b is not None:
            self.s.add(grads, self.acc_b, g @ va)
        if self.acc_bias is not None:
            gb = g.sum(axis=0) if self.bias_per_a else g.reshape(-1)
            self.s.add(grads, self.acc_bias, gb[:, None])


class _FoldStep(_Step):
    def __init__(self, segments: _Segments, seg: int, k: _Fold) -> None:
        super().__init__(segments, seg)
        self.maximum, self.maximum_backward = FORWARDS["maximum"], _backward("maximum")
        self.columns = k.read.idx
        self.acc = None if k.acc is None else k.acc.idx

    def run(self, vals: list[Any], zeros: _Zeros) -> None:
        c = self.s.read(vals, self.columns)
        links = [c[:, 0]]
        for j in range(1, c.shape[1]):  # link by link: the rule's forward at ties and nan
            links.append(self.maximum(links[-1], c[:, j]))
        running = jnp.stack(links, axis=1)
        self.saved = (c, running)
        vals[self.seg] = running[:, -1]

    def back(self, grads: list[Any], vals: list[Any]) -> None:
        if self.acc is None:
            return
        c, running = self.saved
        # Each link's shares (fast's _Fold): a column gets g times the product on its way up.
        to_left, to_column = self.maximum_backward(running[:, :-1], c[:, 1:], None, 1.0)
        to_left = jnp.broadcast_to(to_left, to_column.shape)
        through = jnp.ones(c.shape).at[:, :-1].set(jnp.cumprod(to_left[:, ::-1], axis=1)[:, ::-1])
        shares = through.at[:, 1:].multiply(to_column)
        g = self.gout(grads, vals)[:, None]
        self.s.add(grads, self.acc, jnp.where(shares == 0.0, 0.0, g * shares))


_STEPS: dict[type, Callable[[_Segments, int, Any], _Step]] = {
    _Elementwise: _ElementwiseStep,
    _Sum: _SumStep,
    _MatMul: _MatMulStep,
    _Fold: _FoldStep,
}


def unsupported(compiled: _Compiled) -> str | None:
    """Why the JAX backend cannot replay ``compiled`` exactly, or None when it can."""
    for kernel in compiled.kernels:
        if type(kernel) not in _STEPS:
            return f"it has a kernel the JAX backend does not write: {kernel.describe()}"
        if getattr(kernel, "pad", None) is not None:  # its padding must take no share
            return f"it folds rows of different lengths: {kernel.describe()}"
        op = getattr(kernel, "op", None)
        if op is not None and op not in FORWARDS:
            return f"the op {op!r} has no jax.numpy twin"
    if compiled.guards or compiled.grad_guards or compiled.predicates:
        return "its graph depends on numbers the function read (guards)"
    return None
