"""Schedule: a traced graph laid out in one value buffer and one gradient buffer, its groups
compiled into kernels in level order, and the guards that say when a replay would be wrong."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from micrograd.fast import _straight
from micrograd.fast._fuse import LSE, fuse_log_sum_exp, lse_kernel
from micrograd.fast._kernels import _Elementwise, _Fold, _Gather, _Kernel, _MatMul, _Sum
from micrograd.fast._levels import delay
from micrograd.fast._ragged import NEG_INF, NEG_ZERO, PAD, ZERO, merge_ragged, table
from micrograd.fast._rules import Array, Index
from micrograd.fast._trace import _Graph

_data = attrgetter("data")
# The comparisons an index input may take part in while traced, on arrays.
_COMPARE: dict[str, Any] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


# --- Laying the graph out in one buffer and compiling kernels ---


# Odd 64-bit multipliers for a row's hash (Weyl steps of the golden ratio's fraction).
_MULTIPLIER = 0x9E3779B97F4A7C15


def distinct_rows(a: Index) -> tuple[Index, Index]:
    """``np.unique(a, axis=0, return_inverse=True)`` of a 2-d int array, the inverse flat: the
    rows are told apart by a hash (one pass; a comparison of rows sorts them, which costs
    several times as much), then checked against one row of each hash (np.unique when two
    rows share one), and ordered as np.unique orders them."""
    rows, width = a.shape
    if rows == 0 or width == 0:
        found, inverse = np.unique(a, axis=0, return_inverse=True)
        return found, inverse.reshape(-1)
    weights = np.array([(j * _MULTIPLIER | 1) % 2**64 for j in range(1, width + 1)], np.uint64)
    hashes = a.astype(np.uint64) @ weights  # (wraps around: a hash)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    found = a[first]
    if not (found[inverse] == a).all():  # two rows of one hash
        found, inverse = np.unique(a, axis=0, return_inverse=True)
        return found, inverse.reshape(-1)
    by_rows = np.lexsort(found.T[::-1])  # first column first, as np.unique
    rank = np.empty(len(found), dtype=np.intp)
    rank[by_rows] = np.arange(len(found))
    return found[by_rows], rank[inverse]


def _outer(a: Index, b: Index) -> tuple[Index, Index, Index] | None:
    """If rows pair every distinct row of ``a`` with every distinct row of ``b`` exactly once:
    the row order that makes the outputs ``(B @ A.T).ravel()``, and the distinct rows."""
    rows = len(a)
    ua, inv_a = distinct_rows(a)
    ub, inv_b = distinct_rows(b)
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
        delay(graph)  # rows a few levels apart (the GPT's position 0) share their kernels
        fuse_log_sum_exp(graph)  # a stable log-sum-exp's rows: one group, one kernel
        merge_ragged(graph)  # rows of one kind and level, of different lengths: one group
        consts = sorted(graph.const_value)
        first_const = n_params + n_inputs + len(self.other_leaves)
        ops_total = sum(len(m) for m in graph.groups.values())
        pad = first_const + len(consts)  # the padding slots of ragged rows, after the constants
        size = pad + len(PAD) + ops_total
        self.v: Array = np.zeros(size)
        self.g: Array = np.zeros(size)
        needs = np.zeros(size, dtype=bool)
        needs[:n_params] = True
        status = np.asarray(graph.status)  # 2: the node depends on a parameter
        slot = np.full(graph.n_ids, -1, dtype=np.intp)
        for i, s in graph.leaf_slot.items():
            slot[i] = s
        for k, c in enumerate(consts):
            slot[c] = first_const + k
            self.v[first_const + k] = graph.const_value[c]
        self.v[pad : pad + len(PAD)] = PAD

        def slots(refs: Any) -> Index:
            found: Index = slot[np.asarray(refs, dtype=np.intp)]
            if (found < 0).any():
                raise AssertionError("an operand was scheduled after its use")
            return found

        self.kernels: list[_Kernel] = []
        self.outputs: list[slice] = []  # the slots of each kernel's output, kernel by kernel
        top = pad + len(PAD)
        # The slots of the graph's constants and of the padding: numbers fixed when compiled.
        self.fixed = slice(first_const, top)
        for key in sorted(graph.groups, key=lambda k: k[1]):
            members = np.array(graph.groups[key], dtype=np.intp)
            rows = len(members)
            out = slice(top, top + rows)
            kernel: _Kernel
            if key[0] == LSE:
                slot[members] = np.arange(top, top + rows)
                needs[out] = [graph.status[i] == 2 for i in members.tolist()]
                kernel = lse_kernel(
                    graph, key, members, self.v, self.g, out, slots, needs, pad + NEG_INF
                )
            elif key[0] == "gather":
                data = [graph.members[i] for i in members.tolist()]
                at = np.array([d[0] for d in data], dtype=np.intp)  # the index inputs' slots
                picks: Index = slots([d[1] for d in data]).reshape(rows, key[2])
                slot[members] = np.arange(top, top + rows)
                needs[out] = status[members] == 2
                kernel = _Gather(self.v, self.g, out, at, picks, needs)
            elif key[0] == "fold":
                data = [graph.members[i] for i in members.tolist()]
                columns, real = table(slots, [d[0] for d in data], key[2], pad + NEG_INF)
                slot[members] = np.arange(top, top + rows)
                needs[out] = status[members] == 2
                kernel = _Fold(self.v, self.g, out, columns, needs, None if real is None else ~real)
            elif key[0] == "sum":
                data = [graph.members[i] for i in members.tolist()]
                # Typed Index: NumPy 2.2 stubs type reshape as 2-d, which plain[perm] is not.
                # Short rows (rows of different lengths) padded: -0.0 terms, -0.0 * 0.0 products.
                plain: Index = table(slots, [d[0] for d in data], key[2], pad + NEG_ZERO)[0]
                fa: Index = table(slots, [d[1] for d in data], key[3], pad + NEG_ZERO)[0]
                fb: Index = table(slots, [d[2] for d in data], key[3], pad + ZERO)[0]
                outer = _outer(fa, fb) if key[3] else None
                if outer is not None:
                    perm, ua, ub = outer
                    members, plain = members[perm], plain[perm]
                    grid = plain.reshape(len(ub), len(ua), key[2])
                    per_a = bool((grid == grid[:1]).all())
                    bias = (grid[0] if per_a else plain) if key[2] else None
                    slot[members] = np.arange(top, top + rows)
                    needs[out] = status[members] == 2
                    kernel = _MatMul(self.v, self.g, out, ua, ub, bias, per_a, needs)
                else:
                    first = fb[:, 0] if key[3] else plain[:, 0]
                    perm = np.argsort(first, kind="stable")
                    members, plain, fa, fb = members[perm], plain[perm], fa[perm], fb[perm]
                    slot[members] = np.arange(top, top + rows)
                    needs[out] = status[members] == 2
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
                needs[out] = status[members] == 2
                kernel = _Elementwise(
                    key[0], self.v, self.g, out, x, y_idx, y, needs, exact=key[3], in_loss=key[4]
                )
            self.kernels.append(kernel)
            self.outputs.append(out)
            top += rows
        self.root = int(slots([graph.root_ref])[0])
        # Guards: the slots of the numbers the traced function read, and what it read there.
        self.guard_slots = slots(graph.watched) if graph.watched else np.zeros(0, dtype=np.intp)
        self.guard_values: Array = graph.watched_values
        self.guards: list[str] = []  # what each guard is: the number read, and where
        self.grad_guards: list[tuple[int, float, str]] = []  # (parameter, its .grad, where read)
        self.ops: list[str] = []  # the ops of engine.RULES it computes, and their rules then
        self.rules: tuple[Any, ...] = ()
        # The checks of target inputs the losses left to each call (fast._program._TargetChecks)
        self.target_checks: Any = None
        # Comparisons of index inputs, by kind: (compare, slots, numbers, outcomes, guard numbers)
        self.predicates: list[tuple[Any, Index, Array, Any, Index]] = []
        # Whether steps run the generated straight-line code (False: the kernels' own methods,
        # one by one, as the tests compare), and that code once made (see ``_code``).
        self.straight = True
        self._straight: tuple[Callable[[], None], Callable[[], None]] | None = None
        self.source = ""

    def add_predicates(self, found: Sequence[tuple[int, str, float, bool, str]]) -> None:
        """Guard ``v[slot] op number is outcome`` for each ``(slot, op, number, outcome, where)``
        (after the guards on numbers read; their descriptions join ``guards``)."""
        first = len(self.guards)
        self.guards += [f"the outcome of `index {op} {n:g}` at {at}" for _, op, n, _, at in found]
        for op, compare in _COMPARE.items():
            rows = [k for k, row in enumerate(found) if row[1] == op]
            if rows:
                self.predicates.append(
                    (
                        compare,
                        np.array([found[k][0] for k in rows], dtype=np.intp),
                        np.array([found[k][2] for k in rows], dtype=np.float64),
                        np.array([found[k][3] for k in rows], dtype=bool),
                        np.array(rows, dtype=np.intp) + first,
                    )
                )

    def forward(self, theta: Array, inputs: Sequence[Array]) -> int:
        """Load the numbers and run the forward kernels; the loss is at ``v[root]``.

        Returns -1 when every guard holds, else the index of the first whose number differs from
        the one the traced function read (the program would not be the function's graph).
        """
        with np.errstate(all="ignore"):
            return self._forward(theta, inputs)

    def backward(self) -> None:
        """The gradient of the loss in ``g`` (after ``forward``)."""
        with np.errstate(all="ignore"):
            self._backward()

    def step(self, theta: Array, inputs: Sequence[Array]) -> int:
        """``forward``, then ``backward`` when every guard holds (the same -1 or guard index)."""
        with np.errstate(all="ignore"):
            failed = self._forward(theta, inputs)
            if failed < 0:
                self._backward()
        return failed

    def _code(self) -> tuple[Callable[[], None], Callable[[], None]] | None:
        """The generated forward and backward (``_straight``), made at the first step; None when
        ``straight`` is off or the program has too many kernels for it."""
        if not self.straight or len(self.kernels) > _straight.MAX_KERNELS:
            return None
        if self._straight is None:
            forward, backward, self.source = _straight.build(self.kernels)
            self._straight = forward, backward
        return self._straight

    def _forward(self, theta: Array, inputs: Sequence[Array]) -> int:
        v = self.v
        n = self.n_params
        v[:n] = theta
        for x in inputs:
            v[n : n + x.size] = x.ravel()
            n += x.size
        if self.other_leaves:
            count = len(self.other_leaves)
            v[n : n + count] = np.fromiter(map(_data, self.other_leaves), np.float64, count)
        # An index compared otherwise than when traced builds another graph: none of it runs.
        for compare, at, number, outcome, guard in self.predicates:
            differ = np.flatnonzero(compare(v[at], number) != outcome)
            if differ.size:
                return int(guard[differ[0]])
        code = self._code()
        if code is not None:
            code[0]()
        else:
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

    def _backward(self) -> None:
        g = self.g
        g.fill(0.0)
        g[self.root] = 1.0
        code = self._code()
        if code is not None:
            code[1]()
        else:
            for kernel in reversed(self.kernels):
                kernel.backward()
