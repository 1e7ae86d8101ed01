"""Trace: a loss's graph in topological order, fused into sums and dot products and grouped by
level and kind into the groups of isomorphic nodes that kernels compute."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from micrograd.engine import RULES, Value, topological_order
from micrograd.fast._rules import _FUSE

# picked node -> (the index input's leaf, the column it picks from): ``TracedIndex`` lookups
Gathers = dict[Value, tuple[Value, list[Value]]]
Ints = npt.NDArray[np.intp]
Flags = npt.NDArray[np.bool_]

_get_a, _get_b = attrgetter("_a"), attrgetter("_b")
_get_op, _get_arg = attrgetter("_op"), attrgetter("_arg")

# --- Tracing a graph into groups of isomorphic nodes ---


def _locate(
    root: Value, watched: Sequence[Value], gathers: Gathers, made: Sequence[Value]
) -> tuple[list[Value], int, Located | None]:
    """``_order``, and where each node's operands are in it (None: ``_Graph`` finds them).

    ``made``: the nodes the trace made, as it made them (``Recorder.made_nodes``). When each of
    them is the loss or an operand of a later one (the loss is the last), they are in such an
    order already, after the leaves they use that the trace did not make: no walk.
    """
    if made and not gathers:
        found = _made_order(root, watched, made)
        if found is not None:
            return found
    return (*_order(root, watched, gathers), None)


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
        if watched:  # (a set of millions of nodes costs: made only when a node is watched)
            seen.update(order)
    n_loss = len(order)
    for node in watched:
        visit(node)
    return order, n_loss


# Each node's left and right operands' positions in the order (-1: none), and where each node is.
Located = tuple[Ints, Ints, "_Positions"]


def _made_order(
    root: Value, watched: Sequence[Value], made: Sequence[Value]
) -> tuple[list[Value], int, Located] | None:
    """``_order`` from the nodes a trace made, in the order it made them, without a walk: the
    leaves they use that the trace did not make (parameters, Values made before), then ``made``
    less its leaves that nothing uses; None when that is not the loss's order (a node nothing
    uses but the loss, a watched node the loss does not use, an operand made otherwise than by
    an op of the trace and not a leaf, operands set by hand)."""
    n = len(made)
    if made[-1] is not root:
        return None
    ids = np.fromiter(map(id, made), np.intp, n)
    index = _Positions(made, ids)
    a_ids = np.fromiter(map(id, map(_get_a, made)), np.intp, n)
    b_ids = np.fromiter(map(id, map(_get_b, made)), np.intp, n)
    a_at, b_at = _near(a_ids, ids, index), _near(b_ids, ids, index)
    at = np.arange(n)
    if not ((a_at < at).all() and (b_at < at).all()):
        return None  # operands set by hand to a node made later
    none = id(None)
    # The other operands: each once, in the order they are first met (a before b, node by node).
    pairs = np.stack([a_ids, b_ids], 1).ravel()
    outside = np.flatnonzero((np.stack([a_at, b_at], 1).ravel() < 0) & (pairs != none))
    _, first = np.unique(pairs[outside], return_index=True)
    met = outside[np.sort(first)].tolist()
    leaves: list[Value] = [made[k >> 1]._b if k & 1 else made[k >> 1]._a for k in met]
    if not all(isinstance(x, Value) and x._a is None for x in leaves):
        return None  # an interior node made otherwise (by hand, before the trace): walked
    # Leaves that nothing uses (an input the loss does not read) are left out; any other node
    # that nothing uses but is not the loss needs the walk (it is not the loss's).
    uses = np.bincount(a_at[a_at >= 0], minlength=n) + np.bincount(b_at[b_at >= 0], minlength=n)
    unused = np.flatnonzero(uses[:-1] == 0)
    if not (a_ids[unused] == none).all():
        return None
    keep = np.ones(n, dtype=bool)
    keep[unused] = False
    count = len(leaves)
    moved = np.cumsum(keep) - 1 + count  # where each node of ``made`` is in the order
    moved[unused] = -1  # (left out: no node's operand)
    final = _Renumbered(index, moved, _Positions(leaves, pairs[met]))

    def position(at_made: Ints, of: Ints) -> Ints:
        found: Ints = np.where(at_made >= 0, moved[at_made], final.leaves.find(of))
        return np.concatenate([np.full(count, -1, dtype=np.intp), found[keep]])

    kept: Iterable[Value] = compress(made, keep.tolist()) if unused.size else made
    order = [*leaves, *kept]
    watched_ids = np.fromiter(map(id, watched), np.intp, len(watched))
    if not (final.find(watched_ids) >= 0).all():
        return None  # a watched node the loss does not use
    return order, len(order), (position(a_at, a_ids), position(b_at, b_ids), final)


def _near(wanted: Ints, ids: Ints, index: _Positions) -> Ints:
    """The positions in ``made`` (of ids ``ids``, found by ``index``) of the nodes of ids
    ``wanted``, one for each node of ``made``: most are one or two nodes before it (a sum's
    running total and its new term), found so; the others by their ids."""
    at = np.full(len(wanted), -1, dtype=np.intp)
    for back in (1, 2):
        near = wanted[back:] == ids[:-back]
        at[back:][near] = np.flatnonzero(near)
    rest = np.flatnonzero(at < 0)
    at[rest] = index.find(wanted[rest])
    return at


class _Positions:
    """Where each node is in ``order``, found for many nodes at once: by their ``id`` in the
    sorted ids of ``order`` (a dict of millions of nodes costs several times as much a node)."""

    def __init__(self, order: Sequence[Value], ids: Ints | None = None) -> None:
        if ids is None:
            ids = np.fromiter(map(id, order), np.intp, len(order))
        # Stable: a merge sort of runs, and ids run mostly upwards (the order memory was taken in).
        self.at = np.argsort(ids, kind="stable")
        self.ids = ids[self.at]

    def of(self, nodes: Iterable[Value | None], count: int) -> Ints:
        """The positions of ``count`` nodes; -1 for None (a leaf's operand)."""
        wanted = np.fromiter(map(id, nodes), np.intp, count)
        positions = self.find(wanted)
        if not ((positions >= 0) | (wanted == id(None))).all():
            raise AssertionError("a node's operand is not in the traced order")
        return positions

    def find(self, wanted: Ints) -> Ints:
        """The positions of the nodes of ids ``wanted``; -1 for one not in ``order``."""
        if not len(self.ids):
            return np.full(len(wanted), -1, dtype=np.intp)
        k = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        positions: Ints = np.where(self.ids[k] == wanted, self.at[k], -1)
        return positions

    def one(self, node: Value) -> int:
        """The position of one node."""
        return int(self.of((node,), 1)[0])


class _Renumbered(_Positions):
    """Where each node is in an order of ``leaves``' nodes, then nodes of ``made`` (each at
    ``moved`` of its position in ``made``, -1 when left out): found in their positions."""

    def __init__(self, made: _Positions, moved: Ints, leaves: _Positions) -> None:
        self.made, self.moved, self.leaves = made, moved, leaves

    def find(self, wanted: Ints) -> Ints:
        """The positions of the nodes of ids ``wanted``; -1 for one not in the order."""
        at = self.made.find(wanted)
        found: Ints = np.where(at >= 0, self.moved[at], self.leaves.find(wanted))
        return found


class _Lists:
    """Operands, constants and fusion of the nodes as lists, each made when first needed: the
    node-by-node walks of rarer shapes read them (a list of millions of numbers costs)."""

    def __init__(self, a_of: Ints, b_of: Ints, args: npt.NDArray[np.float64]) -> None:
        self._arrays = {"a_of": a_of, "b_of": b_of, "args": args}
        self._lists: dict[str, list[Any]] = {}
        self._absorbed: list[bool] | None = None

    def _get(self, name: str) -> list[Any]:
        found = self._lists.get(name)
        if found is None:
            found = self._lists[name] = self._arrays[name].tolist()
        return found

    @property
    def a_of(self) -> list[int]:
        """Each node's left operand (-1: none)."""
        return self._get("a_of")

    @property
    def b_of(self) -> list[int]:
        """Each node's right operand (-1: none)."""
        return self._get("b_of")

    @property
    def args(self) -> list[float]:
        """Each node's constant (the 3 of ``x * 3``; a constant node's number)."""
        return self._get("args")

    def absorbed(self, absorbed: Flags) -> list[bool]:
        """``absorbed`` as a list (the same array at every call)."""
        if self._absorbed is None:
            self._absorbed = absorbed.tolist()
        return self._absorbed


def _status(
    leaf_status: npt.NDArray[np.int8],
    a_of: Ints,
    b_of: Ints,
    gather_of: dict[int, Any],
    node_by_node: bool = False,
) -> npt.NDArray[np.int8]:
    """Each node's status, 0 constant, 1 depends on inputs only, 2 on a parameter: a leaf's is
    ``leaf_status``, an interior node's the most of its operands' (a gather's at least 1, and the
    most of its column's too, as its kernel reads the whole column).

    Without gathers, in rounds over every interior node at once, from status 2 down: a node's
    status is too high only while one below it is, so the rounds settle after as many as the
    tallest subgraph that leads to no parameter (a few in a model). Past 8 rounds, or with
    gathers, node by node in topological order.
    """
    status = leaf_status.copy()
    if not (gather_of or node_by_node):
        inner = np.flatnonzero(a_of >= 0)
        a, b = a_of[inner], b_of[inner]
        b = np.where(b >= 0, b, a)
        status[inner] = 2
        for _ in range(8):
            now = np.maximum(status[a], status[b])
            if np.array_equal(now, status[inner]):
                return status
            status[inner] = now
    listed: list[int] = status.tolist()
    for i, ai, bi in zip(range(len(listed)), a_of.tolist(), b_of.tolist(), strict=True):
        if ai >= 0:
            s = listed[ai]
            listed[i] = s if bi < 0 or listed[bi] <= s else listed[bi]
            if i in gather_of:  # it depends on the index input, and on its whole column
                listed[i] = max(1, *(listed[c] for c in gather_of[i][1]))
    return np.array(listed, dtype=np.int8)


class _Chains:
    """The terms of the sums whose addition tree is a chain, ``((t0 + t1) + t2) + …`` as
    ``sum()`` and a neuron build them, found for all such sums at once with array operations.

    A sum's tree is its root and the additions it absorbed. In a chain each node but the
    bottom has its left operand in the tree, and none has its right one there. Left to right,
    the terms are the bottom's left operand, then each node's right operand from the bottom
    up: a product the sum absorbed is a dot-product term ``(a, b)``, any other node a plain
    term, and the number of an ``x + 3`` a plain term too. ``terms`` gives them as the walk of
    a tree in ``_Graph`` does, with the numbers to give ids in the order that walk meets them.
    """

    def __init__(
        self,
        codes: npt.NDArray[np.int32],
        a_of: Ints,
        b_of: Ints,
        parent: Ints,
        absorbed: Flags,
        sums: Flags,
        args: npt.NDArray[np.float64],
        add: int,
        mul: int,
    ) -> None:
        n = len(codes)
        inner = absorbed & (codes == add)
        product = absorbed & (codes == mul)
        # Each inner addition's root: up its parents (it has one) by pointer doubling.
        t = np.flatnonzero(inner)
        local = np.full(n, -1, dtype=np.intp)
        local[t] = np.arange(len(t))
        top = parent[t]
        after = local[top]  # top's place in t while top is an inner addition, else -1
        moving = np.flatnonzero(after >= 0)
        while moving.size:
            step = after[moving]
            top[moving] = top[step]
            after[moving] = after[step]
            moving = moving[after[moving] >= 0]
        root_of = np.full(n, -1, dtype=np.intp)
        root_of[t] = top
        root_of[sums] = np.flatnonzero(sums)
        nodes = np.flatnonzero(inner | sums)
        right = b_of[nodes]
        branched = nodes[(right >= 0) & inner[np.maximum(right, 0)]]
        chain = sums.copy()
        chain[root_of[branched]] = False
        nodes = nodes[chain[root_of[nodes]]]
        bottoms = nodes[~inner[a_of[nodes]]]
        # The terms: each bottom's left operand, then each node's right one; by root, in order.
        owner = np.concatenate([bottoms, nodes])
        child = np.concatenate([a_of[bottoms], b_of[nodes]])
        place = np.concatenate([np.full(len(bottoms), -1, dtype=np.intp), nodes])
        root = root_of[owner]
        by_root = np.lexsort((place, root))
        owner, child, place, root = owner[by_root], child[by_root], place[by_root], root[by_root]
        is_product = (child >= 0) & product[np.maximum(child, 0)]
        plain = ~is_product
        factors = child[is_product]
        self.roots = np.flatnonzero(chain)
        plain_root, product_root = root[plain], root[is_product]
        plain_start = np.searchsorted(plain_root, self.roots)
        product_start = np.searchsorted(product_root, self.roots)
        # Lists: -1 marks a number (of ``x + 3`` among plain terms, of ``x * 3`` among fb).
        self.plain: list[int] = child[plain].tolist()
        self.fa: list[int] = a_of[factors].tolist()
        self.fb: list[int] = b_of[factors].tolist()
        self.bounds = dict(
            zip(
                self.roots.tolist(),
                zip(
                    plain_start.tolist(),
                    np.searchsorted(plain_root, self.roots, side="right").tolist(),
                    product_start.tolist(),
                    np.searchsorted(product_root, self.roots, side="right").tolist(),
                    strict=True,
                ),
                strict=True,
            )
        )
        refs = np.concatenate([child[plain], a_of[factors], b_of[factors]])
        self.refs = refs[refs >= 0]
        # The walk meets an addition's number going down the chain (so top first), then a
        # product's number when it reaches that term (left to right).
        added = np.flatnonzero(child[plain] < 0)
        multiplied = np.flatnonzero(b_of[factors] < 0)
        r = np.concatenate([plain_root[added], product_root[multiplied]])
        which = np.concatenate([np.zeros(len(added), np.intp), np.ones(len(multiplied), np.intp)])
        meets = np.concatenate([-place[plain][added], multiplied])
        at = np.concatenate(
            [
                added - plain_start[np.searchsorted(self.roots, plain_root[added])],
                multiplied - product_start[np.searchsorted(self.roots, product_root[multiplied])],
            ]
        )
        value = np.concatenate([args[owner[plain]][added], args[factors][multiplied]])
        met = np.lexsort((meets, which, r))
        self.numbers: dict[int, list[tuple[int, int, float]]] = {}
        for i, w, k, x in zip(
            r[met].tolist(), which[met].tolist(), at[met].tolist(), value[met].tolist(), strict=True
        ):
            self.numbers.setdefault(i, []).append((w, k, x))

    def terms(
        self, i: int, number: Any, level: list[int]
    ) -> tuple[tuple[list[int], list[int], list[int]], int] | None:
        """The sum ``i``'s plain terms and factors ``(plain, fa, fb)``, ``number(x)`` the id of
        each number met, and the most of their levels (``level``, whose last item, 0, is the
        level of a number, marked -1); None when ``i``'s tree is not a chain."""
        bounds = self.bounds.get(i)
        if bounds is None:
            return None
        p0, p1, q0, q1 = bounds
        found = (self.plain[p0:p1], self.fa[q0:q1], self.fb[q0:q1])
        # A list's items, not an array's: a sum of a few hundred terms costs less so.
        top = max(map(level.__getitem__, [*found[0], *found[1], *found[2]]))
        for which, k, x in self.numbers.get(i, ()):
            found[2 * which][k] = number(x)
        return found, top


class _Graph:
    """A traced graph: fused nodes by level and kind, ready to be laid out in a buffer.

    ``order`` holds the loss's ``n_loss`` nodes (its root last), then nodes only ``watched``
    needs. A watched node (one whose number the traced function read) and everything it depends
    on is computed unfused, to the float forward's last bit, so that its guard is exact. A node
    of ``gathers`` is the pick of an index input from a column: computed for any index.
    ``node_by_node`` analyses each node in Python, as tests compare with. ``located``: the
    operands' positions as ``_order`` found them (else found here).

    The analysis runs in time linear in the graph: the nodes' operands, statuses and fusion
    are array operations over all nodes at once, and Python loops visit the groups' roots (a
    sum is one root, however many nodes it absorbed) and only the nodes of rarer shapes.
    """

    def __init__(
        self,
        order: list[Value],
        n_loss: int,
        params: Sequence[Value],
        inputs: Sequence[Value],
        watched: Sequence[Value] = (),
        gathers: Gathers | None = None,
        located: Located | None = None,
        node_by_node: bool = False,
    ) -> None:
        n = len(order)
        if located is None:
            index = _Positions(order)
            a_arr = index.of(map(_get_a, order), n)
            b_arr = index.of(map(_get_b, order), n)
        else:
            a_arr, b_arr, index = located
        n_params = len(params)
        slot_of_leaf = {p: k for k, p in enumerate(params)}
        slot_of_leaf.update({x: n_params + j for j, x in enumerate(inputs)})
        leaves = np.flatnonzero(a_arr < 0).tolist()
        # Any other leaf (a Value made before the trace, or one made in it) is read at each call,
        # as the Value engine reads it: its number is never frozen into the program.
        self.other_leaves = [order[i] for i in leaves if order[i] not in slot_of_leaf]
        first_other = n_params + len(inputs)
        slot_of_leaf.update({x: first_other + j for j, x in enumerate(self.other_leaves)})
        leaf_slot = np.full(n, -1, dtype=np.intp)
        leaf_slot[leaves] = [slot_of_leaf[order[i]] for i in leaves]
        # gather node -> (the index's input slot, the column's node ids); a pick that neither
        # the loss nor a read uses (a row's other columns, a lookup left unused) is no node.
        picks = list((gathers or {}).items())
        picked = index.find(np.fromiter((id(node) for node, _ in picks), np.intp, len(picks)))
        gather_of = {
            i: (slot_of_leaf[leaf], index.of(column, len(column)).tolist())
            for i, (_, (leaf, column)) in zip(picked.tolist(), picks, strict=True)
            if i >= 0
        }
        # 0 constant, 1 depends on inputs only, 2 on a parameter
        leaf_status = np.where(leaf_slot < 0, 0, np.where(leaf_slot < n_params, 2, 1))
        st = _status(leaf_status.astype(np.int8), a_arr, b_arr, gather_of, node_by_node)
        # An op's constant (the 3 of x * 3), or the number of a constant node; an op of two
        # Values has none (its ``_arg`` may be left unset), nor does it read one: 0.0.
        arg_arr = np.zeros(n)
        single = np.flatnonzero(b_arr < 0)
        arg_arr[single] = np.fromiter(
            map(_get_arg, map(order.__getitem__, single.tolist())), np.float64, len(single)
        )
        constant = np.flatnonzero(st == 0).tolist()
        arg_arr[constant] = [order[i].data for i in constant]
        # Node by node, as lists (made when first needed: a list of millions costs).
        lists = _Lists(a_arr, b_arr, arg_arr)

        exact_arr: npt.NDArray[np.bool_] = np.zeros(n, dtype=bool)
        self.watched: list[int] = index.of(watched, len(watched)).tolist()
        if watched:
            a_of, b_of = lists.a_of, lists.b_of
            exact = [False] * n
            stack = list(self.watched)
            while stack:
                i = stack.pop()
                if i >= 0 and a_of[i] >= 0 and not exact[i]:
                    exact[i] = True
                    stack += (a_of[i], b_of[i], *gather_of.get(i, (0, []))[1])
            exact_arr = np.array(exact, dtype=bool)
        self.watched_values = np.array([w.data for w in watched], dtype=np.float64)

        self.n = n
        self.root = n_loss - 1
        names = ["", *RULES]
        op_codes = {op: code for code, op in enumerate(names)}
        codes = np.fromiter(map(op_codes.__getitem__, map(_get_op, order)), np.int32, n)
        self.ops = [names[code] for code in np.unique(codes).tolist() if code]  # the rules used
        digest = hashlib.sha256()
        for array in (codes, a_arr, b_arr, st, arg_arr, leaf_slot):
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
        groups_of = live & ~absorbed
        sums = groups_of & (codes == add) & ~exact_arr if _FUSE else np.zeros(n, dtype=bool)
        sums[list(gather_of)] = False
        if node_by_node:
            sums[:] = False  # no chain: every sum is walked
        chains = _Chains(codes, a_arr, b_arr, parent, absorbed, sums, arg_arr, add, mul)

        # Constants that operands refer to: constant nodes, and the numbers of ``x + 1``, ``2*x``.
        self.const_value: dict[int, float] = {}
        number_ids: dict[str, int] = {}
        for i in chains.refs[st[chains.refs] == 0].tolist():
            self.const_value[i] = float(arg_arr[i])

        def ref(i: int) -> int:
            if st[i]:
                return i
            self.const_value[i] = float(arg_arr[i])
            return i

        def number(value: float) -> int:
            key = value.hex()  # keeps -0.0 apart from 0.0
            found = number_ids.get(key)
            if found is None:
                found = number_ids[key] = n + len(number_ids)
                self.const_value[found] = value
            return found

        level: dict[int, int] = {}
        level_list = [0] * (n + 1)  # as level, and 0 at -1 (a number)
        zeros = repeat(0)
        # group key -> member ids, and per member: (a, b, arg) or (plain, a-factors, b-factors)
        self.groups: dict[tuple[Any, ...], list[int]] = {}
        self.members: dict[int, tuple[Any, ...]] = {}
        roots = np.flatnonzero(groups_of)
        a_roots = a_arr[roots]
        for i, code, ai, bi, folds, exact_i, arg in zip(
            roots.tolist(),
            codes[roots].tolist(),
            a_roots.tolist(),
            b_arr[roots].tolist(),
            absorbed[np.maximum(a_roots, 0)].tolist(),
            exact_arr[roots].tolist(),
            arg_arr[roots].tolist(),
            strict=True,
        ):
            op = names[code]
            if i in gather_of:
                at, column = gather_of[i]
                refs = [ref(c) for c in column]
                lv = 1 + max(map(level.get, refs, zeros))
                key: tuple[Any, ...] = ("gather", lv, len(refs))
                self.members[i] = (at, refs)
            elif op == "maximum" and folds:
                # Walk the fold down its left operands; its columns are the leftmost, then each b.
                a_of, b_of, args, absorbed_list = (
                    lists.a_of,
                    lists.b_of,
                    lists.args,
                    lists.absorbed(absorbed),
                )
                columns: list[int] = []
                j = i
                while (absorbed_list[j] and codes[j] == code) or j == i:
                    bj = b_of[j]
                    columns.append(ref(bj) if bj >= 0 else number(args[j]))
                    j = a_of[j]
                columns.append(ref(j))
                columns.reverse()
                lv = 1 + max(map(level.get, columns, zeros))
                key = ("fold", lv, len(columns))
                self.members[i] = (columns,)
            elif op == "+" and _FUSE and not exact_i:
                chain = chains.terms(i, number, level_list)
                if chain is None:
                    found = self._walk_sum(i, lists, codes, absorbed, ref, number)
                    lv = 1 + max(map(level.get, found[0] + found[1] + found[2], zeros))
                else:
                    found, lv = chain[0], 1 + chain[1]
                plain, fa, _ = found
                key = ("sum", lv, len(plain), len(fa))
                self.members[i] = found
            else:
                ai = ref(ai)
                bref = ref(bi) if bi >= 0 else -1
                lv = 1 + max(level.get(ai, 0), level.get(bref, 0))
                key = (op, lv, bref >= 0, exact_i, i < n_loss)
                self.members[i] = (ai, bref, arg)
            level[i] = lv
            level_list[i] = lv
            self.groups.setdefault(key, []).append(i)
        self.root_ref = ref(self.root)
        self.n_ids = n + len(number_ids)
        self.leaf_slot = dict(zip(leaves, leaf_slot[leaves].tolist(), strict=True))
        self.status = st

    @staticmethod
    def _walk_sum(
        i: int,
        lists: _Lists,
        codes: npt.NDArray[np.int32],
        absorbed_arr: Flags,
        ref: Callable[[int], int],
        number: Callable[[float], int],
    ) -> tuple[list[int], list[int], list[int]]:
        """The terms ``(plain, fa, fb)`` of the sum ``i`` whose tree is not a chain, node by node
        (``_Chains`` finds a chain's at once): its addition tree, left to right."""
        a_of, b_of, args, absorbed = (
            lists.a_of,
            lists.b_of,
            lists.args,
            lists.absorbed(absorbed_arr),
        )
        add = int(codes[i])
        plain: list[int] = []
        fa: list[int] = []
        fb: list[int] = []
        # A constant term is pushed as -1 - id.
        stack = [i]
        while stack:
            j = stack.pop()
            if j < 0:
                plain.append(-1 - j)
            elif j == i or (absorbed[j] and codes[j] == add):
                bj = b_of[j]
                stack.append(bj if bj >= 0 else -1 - number(args[j]))
                stack.append(a_of[j])
            elif absorbed[j]:  # a product joins the sum as a dot-product term
                fa.append(ref(a_of[j]))
                bj = b_of[j]
                fb.append(ref(bj) if bj >= 0 else number(args[j]))
            else:
                plain.append(ref(j))
        return plain, fa, fb
