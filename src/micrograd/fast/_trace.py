"""Trace: a loss's graph in topological order, fused into sums and dot products and grouped by
level and kind into the groups of isomorphic nodes that kernels compute."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from micrograd.engine import RULES, Value, topological_order
from micrograd.fast._rules import _FUSE

# picked node -> (the index input's leaf, the column it picks from): ``TracedIndex`` lookups
Gathers = dict[Value, tuple[Value, list[Value]]]

# --- Tracing a graph into groups of isomorphic nodes ---


def _order(
    root: Value,
    watched: Sequence[Value],
    gathers: Gathers | None = None,
) -> tuple[list[Value], int]:
    """The loss's nodes in topological order, then any other node a watched one depends on;
    and how many are the loss's. A gather depends on its whole column, as its kernel reads it."""
    gathers = gathers or {}

    def visit(node: Value) -> None:
        # Depth first: a node is expanded once and placed after its children (a DAG's order).
        stack: list[tuple[Value, bool]] = [(node, False)]
        push, pop, place = stack.append, stack.pop, order.append
        while stack:
            top, expanded = pop()
            if expanded:
                place(top)
                continue
            if top in seen:
                continue
            seen.add(top)
            push((top, True))
            a, b = top._a, top._b
            if a is None:
                continue
            children = (a,) if b is None else (a, b) if isinstance(b, Value) else top._prev
            picked = gathers.get(top)
            if picked is not None:
                children = (*children, *picked[1])
            for child in children:
                if child not in seen:
                    push((child, False))

    order: list[Value] = []
    seen: set[Value] = set()
    if gathers:
        visit(root)
    else:
        order = topological_order(root)
        seen.update(order)
    n_loss = len(order)
    for node in watched:
        visit(node)
    return order, n_loss


class _Graph:
    """A traced graph: fused nodes by level and kind, ready to be laid out in a buffer.

    ``order`` holds the loss's ``n_loss`` nodes (its root last), then nodes only ``watched``
    needs. A watched node (one whose number the traced function read) and everything it depends
    on is computed unfused, to the float forward's last bit, so that its guard is exact. A node
    of ``gathers`` is the pick of an index input from a column: computed for any index.
    """

    def __init__(
        self,
        order: list[Value],
        n_loss: int,
        params: Sequence[Value],
        inputs: Sequence[Value],
        watched: Sequence[Value] = (),
        gathers: Gathers | None = None,
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
        # gather node -> (the index's input slot, the column's node ids)
        gather_of = {
            index[node]: (slot_of_leaf[leaf], [index[c] for c in column])
            for node, (leaf, column) in (gathers or {}).items()
        }
        # 0 constant, 1 depends on inputs only, 2 on a parameter
        status = [0 if s < 0 else (2 if s < n_params else 1) for s in leaf_slot]
        for i, ai in enumerate(a_of):
            if ai >= 0:
                s, bi = status[ai], b_of[i]
                status[i] = s if bi < 0 or status[bi] <= s else status[bi]
                if i in gather_of:  # it depends on the index input, and on its whole column
                    status[i] = max(1, *(status[c] for c in gather_of[i][1]))
        # An op's constant (the 3 of x * 3), or the number of a constant node.
        args = [node.data if not s else node._arg for node, s in zip(order, status, strict=True)]

        exact = [False] * n
        stack = [index[w] for w in watched]
        while stack:
            i = stack.pop()
            if i >= 0 and a_of[i] >= 0 and not exact[i]:
                exact[i] = True
                stack += (a_of[i], b_of[i], *gather_of.get(i, (0, []))[1])
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
        for i, (at, column) in sorted(gather_of.items()):
            digest.update(np.array([i, at, *column], dtype=np.intp).tobytes())
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
            # A maximum used once, as the left operand of a maximum, joins that fold: the max of
            # a stable softmax, ``top = v0; top = top.maximum(v)`` for each v, is one kernel.
            mx = op_codes["maximum"]
            folded = live & (count == 1) & (codes == mx) & ~exact_arr & (parent_code == mx)
            folded &= a_arr[np.maximum(parent, 0)] == np.arange(n)
            folded[self.root] = False
            absorbed |= folded
            for i, (_, column) in gather_of.items():  # a gather reads its column's slots
                absorbed[i] = False
                absorbed[column] = False

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
            if i in gather_of:
                at, column = gather_of[i]
                refs = [ref(c) for c in column]
                lv = 1 + max(level.get(r, 0) for r in refs)
                key: tuple[Any, ...] = ("gather", lv, len(refs))
                self.members[i] = (at, refs)
            elif op == "maximum" and absorbed_list[a_of[i]]:
                # Walk the fold down its left operands; its columns are the leftmost, then each b.
                columns: list[int] = []
                j = i
                while (absorbed_list[j] and ops[j] == "maximum") or j == i:
                    bj = b_of[j]
                    columns.append(ref(bj) if bj >= 0 else number(args[j]))
                    j = a_of[j]
                columns.append(ref(j))
                columns.reverse()
                lv = 1 + max(level.get(r, 0) for r in columns)
                key = ("fold", lv, len(columns))
                self.members[i] = (columns,)
            elif op == "+" and _FUSE and not exact[i]:
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
                key = ("sum", lv, len(plain), len(fa))
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
