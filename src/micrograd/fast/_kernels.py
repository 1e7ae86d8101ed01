"""Kernels: one vectorized op over a group of isomorphic nodes, reading operands and adding
gradients through index plans fixed when the program is compiled."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from micrograd.fast._rules import FORWARDS, Array, Index, _forward, rule_backward
from micrograd.fast._straight import ROUNDED, Lines, Names, accumulate, read

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
            if type(contribution) is np.ndarray and contribution.shape == self.shape:
                weights = contribution.ravel()
            else:  # a scalar, or a column for each row's terms
                weights = np.broadcast_to(contribution, self.shape).ravel()
            self.target.add(np.bincount(self.inverse, weights, self.unique_count))
        else:
            self.buf[self.idx] += contribution


def _accumulator(g: Array, idx: Index, needs: npt.NDArray[np.bool_]) -> _Accumulator | None:
    """An accumulator into ``idx``, or None when no slot there needs a gradient."""
    return _Accumulator(g, idx) if needs[idx].any() else None


# --- Kernels: one vectorized op over a group of isomorphic nodes ---


def _signed_zeros(total: Array, at: Any, *terms: Array) -> None:
    """Give the zeros of sums the sign that a chain of additions gives them, in place.

    ``total[at]`` are zero sums; row ``k`` of each array in ``terms`` holds terms of
    ``total[at][k]``. In IEEE arithmetic ``x + y`` is -0.0 only when both are, so a chain of
    additions ends at -0.0 exactly when every term is -0.0, and at +0.0 otherwise. NumPy's dot
    products and matmuls start from +0.0, which made an all -0.0 row +0.0 (and ``1 / x`` then
    +inf where the Value engine and PyTorch give -inf).
    """
    negative = np.ones(len(terms[0]), dtype=bool)
    for t in terms:
        negative &= np.signbit(t).all(axis=1)
    total[at] = np.where(negative, -0.0, 0.0)


def zero_check(names: Names, out: Array, sign_zeros: Any) -> Lines:
    """Lines that call ``sign_zeros()`` when some number of ``out`` is zero (nan is not):
    ``count_nonzero`` costs a third of ``not out.all()``, a reduction."""
    count = names(np.count_nonzero, "nonzero")
    return [
        f"if {count}({names(out, 'out')}) != {out.size}:",
        f"    {names(sign_zeros, 'zeros')}()",
    ]


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

    def emit(self, names: Names) -> tuple[Lines, Lines]:
        """Forward and backward as lines of code (``_straight``): what the methods compute."""
        x, forward = read(names, self.read_x)
        if self.read_y is None:
            y = names(self.y_const, "const")
        else:
            y, more = read(names, self.read_y)
            forward += more
        out, fn = names(self.out, "out"), names(self.fn, "f")
        rounded = any(self.fn is f for f in ROUNDED)
        forward.append(f"{fn}({x}, {y}, out={out})" if rounded else f"{out}[...] = {fn}({x}, {y})")
        backward: Lines = []
        if self.acc_x is not None or self.acc_y is not None:
            rule, gout = names(self.backward_fn, "rule"), names(self.gout, "gout")
            backward.append(f"grads = {rule}({x}, {y}, {out}, {gout})")
            if self.acc_x is not None:
                backward += accumulate(names, self.acc_x, "grads[0]")
            if self.acc_y is not None:
                backward += accumulate(names, self.acc_y, "grads[1]")
        return forward, backward


_MUL_BACKWARD = rule_backward("*")

# Each row's dot product: np.vecdot (NumPy 2) costs half of einsum on the GPT's short rows.
_row_dot: Any = getattr(np, "vecdot", None) or (lambda a, b: np.einsum("ij,ij->i", a, b))


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
        # Every zero sum gets its sign from its terms after (sign_zeros): no +0.0 start is needed.
        product: Any = None
        if self.read_a is not None and self.read_b is not None:
            self.va, self.vb = va, vb = self.read_a.get(), self.read_b.get()
            product = va[:, 0] * vb[:, 0] if va.shape[1] == 1 else _row_dot(va, vb)
        if self.read_p is not None:
            p = self.read_p.get()
            plain = p[:, 0] if p.shape[1] == 1 else np.add.reduce(p, 1)
            if product is None:
                self.out[...] = plain
            else:
                np.add(product, plain, out=self.out)
        else:
            self.out[...] = 0.0 if product is None else product
        if np.count_nonzero(self.out) != self.out.size:
            self.sign_zeros()

    def sign_zeros(self) -> None:
        """The zero sums' signs, as a chain of additions gives them (``_signed_zeros``); run
        when some sum is zero."""
        zero = np.flatnonzero(self.out == 0.0)
        terms = []
        if self.read_a is not None and self.read_b is not None:
            terms.append(self.read_a.get()[zero] * self.read_b.get()[zero])
        if self.read_p is not None:
            terms.append(self.read_p.get()[zero])
        _signed_zeros(self.out, zero, *terms)

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

    def emit(self, names: Names) -> tuple[Lines, Lines]:
        """Forward and backward as lines of code (``_straight``): what the methods compute."""
        forward: Lines = []
        out = names(self.out, "out")
        product = plain = ""
        va = vb = ""
        if self.read_a is not None and self.read_b is not None:
            va, more = read(names, self.read_a)
            vb, more_b = read(names, self.read_b)
            forward += more + more_b
            if self.read_a.idx.shape[1] == 1:
                product = f"{va}[:, 0] * {vb}[:, 0]"
            else:
                product = f"{names(_row_dot, 'rowdot')}({va}, {vb})"
        if self.read_p is not None:
            p, more = read(names, self.read_p)
            forward += more
            one = self.read_p.idx.shape[1] == 1
            plain = f"{p}[:, 0]" if one else f"{names(np.add.reduce, 'addreduce')}({p}, 1)"
        if product and plain:
            forward.append(f"{names(np.add, 'add')}({product}, {plain}, out={out})")
        else:
            forward.append(f"{out}[...] = {product or plain or '0.0'}")
        forward += zero_check(names, self.out, self.sign_zeros)
        backward: Lines = []
        g = names(self.gout[:, None], "gcol")
        if self.acc_p is not None:
            backward += accumulate(names, self.acc_p, g)
        if self.acc_a is not None or self.acc_b is not None:
            backward.append(f"ga, gb = {names(_MUL_BACKWARD, 'mul')}({va}, {vb}, None, {g})")
            if self.acc_a is not None:
                backward += accumulate(names, self.acc_a, "ga")
            if self.acc_b is not None:
                backward += accumulate(names, self.acc_b, "gb")
        return forward, backward


class _MatMul:
    """Dot products whose rows pair every row of ``A`` with every row of ``B``: ``B @ A.T``
    (``np.dot``: on 2-d arrays it skips ``matmul``'s gufunc dispatch, a third of a small one;
    ``np.matmul`` where a factor may be 1x1, whose ``np.dot`` scales by it and gives 0 for
    0 * inf, not nan, with OpenBLAS).

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
        # Forward and backward multiply (nb x k)(k x na), (na x nb)(nb x k), (nb x na)(na x k).
        self.dot: Any = np.dot if min(len(b), self.read_b.idx.shape[1], len(a)) > 1 else np.matmul

    def describe(self) -> str:
        """One line: what this kernel computes."""
        (nb, k), na = self.read_b.idx.shape, len(self.read_a.idx)
        bias = "" if self.read_bias is None else " + bias"
        return f"matmul ({nb}x{k}) @ ({k}x{na}){bias}"

    def forward(self) -> None:
        self.va, self.vb = va, vb = self.read_a.get(), self.read_b.get()
        self.dot(vb, va.T, out=self.out)
        if self.read_bias is not None:
            terms = self.read_bias.get()
            bias = terms[:, 0] if terms.shape[1] == 1 else terms.sum(axis=1)
            self.out += bias if self.bias_per_a else bias.reshape(self.out.shape)
        if np.count_nonzero(self.out) != self.out.size:
            self.sign_zeros()

    def sign_zeros(self) -> None:
        """The zero entries' signs, as a chain of additions gives them (``_signed_zeros``); run
        when some entry is zero."""
        rows, cols = np.nonzero(self.out == 0.0)
        va, vb = self.read_a.get(), self.read_b.get()
        terms = [vb[rows] * va[cols]]
        if self.read_bias is not None:
            bias = self.read_bias.get()
            terms.append(bias[cols] if self.bias_per_a else bias[rows * self.out.shape[1] + cols])
        _signed_zeros(self.out, (rows, cols), *terms)

    def backward(self) -> None:
        gout = self.gout
        if self.acc_a is not None:
            self.acc_a.add(self.dot(gout.T, self.vb))
        if self.acc_b is not None:
            self.acc_b.add(self.dot(gout, self.va))
        if self.acc_bias is not None:
            gb = gout.sum(axis=0) if self.bias_per_a else gout.reshape(-1)
            self.acc_bias.add(gb[:, None])

    def emit(self, names: Names) -> tuple[Lines, Lines]:
        """Forward and backward as lines of code (``_straight``): what the methods compute."""
        va, forward = read(names, self.read_a)
        vb, more = read(names, self.read_b)
        forward += more
        out = names(self.out, "out")
        dot = names(self.dot, self.dot.__name__)
        forward.append(f"{dot}({vb}, {va}.T, out={out})")
        add = names(np.add, "add")
        if self.read_bias is not None:
            terms, more = read(names, self.read_bias)
            forward += more
            one = self.read_bias.idx.shape[1] == 1
            bias = f"{terms}[:, 0]" if one else f"{terms}.sum(axis=1)"
            if not self.bias_per_a:
                bias += f".reshape({self.out.shape})"
            forward.append(f"{add}({out}, {bias}, out={out})")
        forward += zero_check(names, self.out, self.sign_zeros)
        backward: Lines = []
        gout = names(self.gout, "gout")
        if self.acc_a is not None:
            backward += accumulate(names, self.acc_a, f"{dot}({gout}.T, {vb})")
        if self.acc_b is not None:
            backward += accumulate(names, self.acc_b, f"{dot}({gout}, {va})")
        if self.acc_bias is not None:
            gb = f"{gout}.sum(axis=0)" if self.bias_per_a else f"{gout}.reshape(-1)"
            backward += accumulate(names, self.acc_bias, f"{gb}[:, None]")
        return forward, backward


class _Gather:
    """Picks by index inputs: ``out[r] = column[r][index[r]]``, an embedding lookup or the logit
    of a class-index target. The pick is the picked node's number (``x * 1.0``, to the bit); its
    gradient goes back to the picked slot, where picks of one slot add up."""

    def __init__(
        self,
        v: Array,
        g: Array,
        out: slice,
        at: Index,
        column: Index,
        needs: npt.NDArray[np.bool_],
    ) -> None:
        self.v, self.g = v, g
        self.out = v[out]
        self.gout = g[out]
        self.read_index = _Reader(v, at)
        self.column = column
        self.width = width = column.shape[1]
        self.sends = bool(needs[column].any())
        # The slots the picks come from lie in v[low:high]: picks are numbered from ``low``, and
        # their gradients summed there by bincount (np.add.at costs five times as much).
        low, high = int(column.min()), int(column.max()) + 1
        self.span, self.gspan = v[low:high], g[low:high]
        # Two copies of each row's columns, one after the other: pick ``i`` of row ``r`` is
        # ``table[base[r] + i]`` with ``base[r] = (2 r + 1) width``, for every ``i`` in
        # ``[-width, width)`` (the guards keep it there; a negative one counts from the end, as
        # a list's). ``base`` is float, as the index inputs are: the sum is exact.
        self.table: Index = np.concatenate([column, column], axis=1).ravel() - low
        self.base: Array = np.asarray((2.0 * np.arange(len(column)) + 1.0) * width, np.float64)
        self.picked: Index = column[:, 0] - low

    def describe(self) -> str:
        """One line: what this kernel computes."""
        return f"gather {self.out.size} picks from columns of {self.width} by index inputs"

    def forward(self) -> None:
        self.picked = self.table.take((self.read_index.get() + self.base).astype(np.intp))
        self.span.take(self.picked, out=self.out)

    def backward(self) -> None:
        if self.sends:
            self.gspan += np.bincount(self.picked, self.gout, len(self.gspan))

    def emit(self, names: Names) -> tuple[Lines, Lines]:
        """Forward and backward as lines of code (``_straight``): what the methods compute;
        this kernel's picks a global of the generated code, which its backward reads."""
        index, forward = read(names, self.read_index)
        picked = names(self, "gather") + "_picked"
        table, base = names(self.table, "table"), names(self.base, "base")
        forward += [
            f"global {picked}",
            f"{picked} = {table}.take(({index} + {base}).astype({names(np.intp, 'intp')}))",
            f"{names(self.span, 'span')}.take({picked}, out={names(self.out, 'out')})",
        ]
        backward: Lines = []
        if self.sends:
            gspan, bincount = names(self.gspan, "gspan"), names(np.bincount, "bincount")
            sums = f"{bincount}({picked}, {names(self.gout, 'gout')}, {len(self.gspan)})"
            backward += [f"{names(np.add, 'add')}({gspan}, {sums}, out={gspan})"]
        return forward, backward


_MAXIMUM = FORWARDS["maximum"]
_MAXIMUM_BACKWARD = rule_backward("maximum")


class _Fold:
    """Rows of left folds ``max(…max(max(c0, c1), c2)…, c_n)``: the max of a stable softmax or
    log-sum-exp, one kernel where the chain of maximum ops took a kernel a link.

    Forward: the running max of each row (``np.maximum.accumulate``, the rule's ``x`` at a tie
    and nan; link by link when a -0.0 could tie with 0.0). Backward: the rule of ``maximum``
    gives each link's shares (1, 0, or 1/2 at a tie) for ``g = 1``; a column receives ``g``
    times the product of the shares on its way to the top, which is what the chain of links
    passes on, to the bit (the shares are powers of two).
    """

    def __init__(
        self,
        v: Array,
        g: Array,
        out: slice,
        columns: Index,
        needs: npt.NDArray[np.bool_],
        pad: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        self.out = v[out]
        self.gout = g[out]
        self.read = _Reader(v, columns)
        self.acc = _accumulator(g, columns, needs)
        # Rows of different lengths: True at the padding (-inf) after a row's last column.
        self.pad = None if pad is None else pad[:, 1:]
        self.c: Any = None
        self.running: Any = None

    def describe(self) -> str:
        """One line: what this kernel computes."""
        rows, n = self.read.idx.shape
        return f"max fold of {n} terms over {rows} nodes"

    def forward(self) -> None:
        self.c = c = self.read.get()
        zero = c == 0.0
        if zero.any() and np.signbit(c[zero]).any():  # a signed-zero tie: link by link
            running = np.empty_like(c)
            running[:, 0] = c[:, 0]
            for k in range(1, c.shape[1]):
                running[:, k] = _MAXIMUM(running[:, k - 1], c[:, k])
        else:
            running = np.maximum.accumulate(c, axis=1)
        self.running = running
        self.out[...] = running[:, -1]

    def backward(self) -> None:
        if self.acc is None:
            return
        c, running = self.c, self.running
        # Link k is max(running[k-1], c[k]): its shares to its left operand and to c[k].
        to_left, to_column = _MAXIMUM_BACKWARD(running[:, :-1], c[:, 1:], None, 1.0)
        to_left = np.broadcast_to(to_left, to_column.shape)
        if self.pad is not None:  # a padding link passes all on, takes none (even at -inf)
            to_left = np.where(self.pad, 1.0, to_left)
            to_column = np.where(self.pad, 0.0, to_column)
        # through[:, k]: the product of the left shares of the links after column k's own.
        through = np.ones(c.shape)
        through[:, :-1] = np.cumprod(to_left[:, ::-1], axis=1)[:, ::-1]
        shares = through
        shares[:, 1:] *= to_column
        g = self.gout[:, None]
        self.acc.add(np.where(shares == 0.0, 0.0, g * shares))
