"""Fusion: a stable log-sum-exp found among a traced graph's groups and run as one kernel.

``losses._log_softmax_terms`` (so ``cross_entropy`` and the GPT's ``log_softmax``) and a stable
``softmax`` build, for each row of logits ``v``: ``top = max(v)`` (a fold of ``maximum`` ops),
``z_j = v_j - top``, ``e_j = exp(z_j)``, ``s = e_0 + … + e_{n-1}`` and, for the log-sum-exp,
``log(s)``. Grouped by level these are five kernels, each reading and writing the value buffer
through its own index plans. ``fuse_log_sum_exp`` finds the rows whose nodes are exactly this
pattern and gives them one group; ``LogSumExp`` computes it row by row. Anything else (a row
missing a node, a sum in another order, an exact node) keeps its kernels, which are correct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from micrograd.fast._kernels import _accumulator, _Fold, zero_check
from micrograd.fast._rules import Array, Index, _forward, rule_backward
from micrograd.fast._straight import Lines, Names, accumulate, read
from micrograd.fast._trace import _Graph

LSE = "lse"  # the group kind (its key: LSE, level, terms a row, nodes a row)

_EXP, _LOG = _forward("exp"), _forward("log")
_SUB_BACKWARD, _ADD_BACKWARD = rule_backward("-"), rule_backward("+")
_EXP_BACKWARD, _LOG_BACKWARD = rule_backward("exp"), rule_backward("log")


def fuse_log_sum_exp(graph: _Graph) -> None:
    """Move each row's ``max, v - max, exp, sum[, log]`` nodes out of their groups into one
    ``LSE`` group per level and width, laid out as ``tops, z (row-major), e, s[, log]``.

    A row is fused only when every node of it is found: the max (a fold, or one ``maximum`` of
    two Values), one ``v_j - top`` per column (the columns distinct), an ``exp`` of each, a sum
    of exactly ``e_0 … e_{n-1}`` in that order, and optionally a ``log`` of the sum. Nodes
    computed exactly (the function read them) or for guards alone are never fused.
    """
    groups, members = graph.groups, graph.members
    tops: list[tuple[int, list[int], int]] = []  # (max node, its columns, its level)
    for key, ids in groups.items():
        if key[0] == "fold":
            tops += [(t, members[t][0], key[1]) for t in ids]
        elif key[0] == "maximum" and key[2] and not key[3] and key[4]:
            tops += [(t, [members[t][0], members[t][1]], key[1]) for t in ids]
    if not tops:
        return
    is_top = {t for t, _, _ in tops}
    sub: dict[tuple[int, int], int] = {}  # (x, top) -> the node x - top
    unary: dict[tuple[str, int], int] = {}  # ("exp" or "log", x) -> the node exp(x) or log(x)
    total: dict[int, int] = {}  # first term -> a sum of plain terms that starts with it
    for key, ids in groups.items():
        op = key[0]
        if op in ("-", "exp", "log") and not key[3] and key[4]:  # not exact, and the loss's
            for i in ids:
                x, y, _ = members[i]
                if op != "-":
                    unary.setdefault((op, x), i)
                elif y in is_top:
                    sub.setdefault((x, y), i)
        elif op == "sum" and key[3] == 0:
            for i in ids:
                total.setdefault(members[i][0][0], i)

    rows: dict[tuple[Any, ...], list[list[int]]] = {}  # group key -> each row's nodes
    for t, columns, level in tops:
        z = [sub.get((c, t), -1) for c in columns]
        if -1 in z or len(set(z)) < len(z):
            continue
        e = [unary.get(("exp", zj), -1) for zj in z]
        s = total.get(e[0], -1)
        if -1 in e or s < 0 or members[s][0] != e:
            continue
        log = unary.get(("log", s), -1)
        tail = [s] if log < 0 else [s, log]
        n = len(columns)
        rows.setdefault((LSE, level, n, 2 * n + 1 + len(tail)), []).append([t, *z, *e, *tail])
        members[t] = (columns,)
    if not rows:
        return
    fused = {i for found in rows.values() for row in found for i in row}
    for key in [k for k in groups if k[0] in ("fold", "maximum", "-", "exp", "sum", "log")]:
        kept = [i for i in groups[key] if i not in fused]
        if kept:
            groups[key] = kept
        else:
            del groups[key]
    for key, found in rows.items():
        n = key[2]
        # Laid out by kind: every row's max, then every row's z (row-major), e, sum[, log].
        table = np.array(found, dtype=np.intp)
        blocks = [table[:, 0], table[:, 1 : 1 + n].ravel(), table[:, 1 + n : 1 + 2 * n].ravel()]
        blocks += [table[:, k] for k in range(1 + 2 * n, key[3])]
        groups[key] = np.concatenate(blocks).tolist()


def lse_kernel(
    graph: _Graph,
    key: tuple[Any, ...],
    group: Index,
    v: Array,
    g: Array,
    out: slice,
    slots: Callable[[Any], Index],
    needs: npt.NDArray[np.bool_],
    pad_slot: int,
) -> LogSumExp:
    """The kernel of the ``LSE`` group ``key`` laid out at ``out`` in ``group``'s order; rows
    of different lengths (a key holding each row's length) padded with the slot ``pad_slot``
    (``-inf``)."""
    from micrograd.fast._ragged import table

    rows = len(group) // key[3] if len(key) == 4 else len(key[4])
    lists = [graph.members[i][0] for i in group[:rows].tolist()]
    columns, real = table(slots, lists, key[2], pad_slot)
    return LogSumExp(v, g, out, columns, needs, None if real is None else ~real)


class LogSumExp:
    """Rows of ``log Σ_j exp(v_j - max v)`` (or without the log, a softmax's denominator), and
    the max, the ``z_j = v_j - max``, the ``exp(z_j)`` and the sum, in one kernel.

    Forward: each row's max (``_Fold``'s where a max of 0.0 may tie with -0.0), then the twins
    of ``-``, ``exp``, the sum and ``log`` on ``(rows, n)`` arrays, each written where the
    graph's nodes live (other nodes may read them: ``cross_entropy`` picks ``z_target``, a
    softmax divides ``e_j`` by the sum).

    Backward: the chain rule through the rows, each step the rule of its op from
    ``engine.RULES`` on arrays, plus whatever the rest of the graph sent to that node:
    ``gs += log's (g/s)``; ``ge += +'s (g to each term)``; ``gz += exp's (g * e)``; ``-`` gives
    ``gz`` to ``v_j`` and ``-gz`` to the max, whose ``maximum`` rule ``_Fold`` applies (its
    shares, halves at ties). When each row's max is one column (no tie, no nan) the shares are
    1 there and 0 elsewhere, so the max's gradient is added at that column directly.
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
        rows, n = columns.shape
        start = out.start
        z0 = start + rows
        real = rows * n if pad is None else int(pad.size - pad.sum())  # the z (and e) nodes
        e0 = z0 + real
        s0 = e0 + real
        self.out, self.gout = v[out], g[out]  # every node of the rows, as other kernels' out
        self.fold = _Fold(v, g, slice(start, z0), columns, needs, pad)
        self.top, self.gtop = v[start:z0], g[start:z0]
        # Rows of different lengths (``pad`` True after a row's last column, its logit -inf):
        # z and e are computed in (rows, n) arrays, their real nodes copied to and from the
        # buffer (``flat``: the real positions, row-major); a padding's e is 0 and its
        # gradient nothing.
        self.pad = pad
        self.flat = None if pad is None else np.flatnonzero(~pad)
        self.buffers = (v[z0:e0], g[z0:e0], v[e0:s0], g[e0:s0])
        if pad is None:
            self.z, self.gz = v[z0:e0].reshape(rows, n), g[z0:e0].reshape(rows, n)
            self.e, self.ge = v[e0:s0].reshape(rows, n), g[e0:s0].reshape(rows, n)
        else:
            self.z, self.gz, self.e, self.ge = (np.zeros((rows, n)) for _ in range(4))
        self.top_column = self.top[:, None]
        self.real = None if pad is None else ~pad
        self.s, self.gs = v[s0 : s0 + rows], g[s0 : s0 + rows]
        self.with_log = out.stop - s0 == 2 * rows
        self.lse, self.glse = v[s0 + rows : out.stop], g[s0 + rows : out.stop]
        # The columns' gradients: the real ones only (a padding slot needs none).
        real_columns = columns if self.flat is None else columns.ravel()[self.flat]
        self.acc = _accumulator(g, real_columns, needs)
        self.c: Any = None  # the columns' values, read by forward

    def describe(self) -> str:
        """One line: what this kernel computes."""
        rows, n = self.z.shape
        what = "log-sum-exp" if self.with_log else "sum of exp(v - max v)"
        return f"{what} of {n} terms over {rows} rows (max, -, exp, sum{', log' * self.with_log})"

    def forward(self) -> None:
        self.c = c = self.fold.read.get()
        np.maximum.reduce(c, axis=1, out=self.top)  # nan if a column is nan, as the chain
        if np.count_nonzero(self.top) != self.top.size:  # 0.0 may tie with -0.0 (see ties)
            self.ties()
        np.subtract(c, self.top_column, out=self.z)  # the twin of -, in place (exact)
        self.e[...] = _EXP(self.z, None)
        if self.pad is not None and self.flat is not None:
            np.copyto(self.e, 0.0, where=self.pad)
            self.z.take(self.flat, out=self.buffers[0])
            self.e.take(self.flat, out=self.buffers[2])
        np.add.reduce(self.e, axis=1, out=self.s)
        if self.with_log:
            self.lse[...] = _LOG(self.s, None)

    def ties(self) -> None:
        """The maxes again where one is 0.0, which may tie with -0.0: the chain of maximum ops
        keeps the first of a tie (``_Fold``), ``np.maximum`` either."""
        self.fold.forward()

    def backward(self) -> None:
        if self.acc is None:  # no column leads to a parameter
            return
        gs: Any = self.gs
        if self.with_log:
            gs = gs + _LOG_BACKWARD(self.s, None, self.lse, self.glse)[0]
        pad, flat = self.pad, self.flat
        if flat is not None:  # what the rest of the graph sent to the real z and e nodes
            self.gz.put(flat, self.buffers[1])
            self.ge.put(flat, self.buffers[3])
        ge = self.ge + _ADD_BACKWARD(None, None, None, gs[:, None])[0]
        gz = self.gz + _EXP_BACKWARD(self.z, None, self.e, ge)[0]
        if pad is not None:
            np.copyto(gz, 0.0, where=pad)  # a padding sends nothing (not even a nan from ge * 0)
        to_column, to_top = _SUB_BACKWARD(self.c, self.top_column, self.z, gz)
        gtop = self.gtop + np.add.reduce(to_top, axis=1)
        at_top = np.equal(self.c, self.top_column)
        if self.real is not None:
            np.logical_and(at_top, self.real, out=at_top)
        self.send(to_column, gtop, at_top)

    def send(self, to_column: Array, gtop: Array, at_top: npt.NDArray[np.bool_]) -> None:
        """Add the columns' gradients: ``to_column`` (from the ``-`` nodes) and, through the
        max, ``gtop`` by the fold's shares."""
        assert self.acc is not None
        if np.count_nonzero(at_top) == len(gtop) and not np.isnan(self.top).any():
            # Every max is a number, so each row has a column at it; one a row in all: the
            # fold's shares are 1 there and 0 elsewhere. (to_column is this step's own array.)
            np.add(to_column, gtop[:, None], out=to_column, where=at_top)
            self.acc.add(self.real_part(to_column))
        else:
            self.acc.add(self.real_part(to_column))
            self.gtop[...] = gtop
            self.fold.forward()  # its running maxima (the same max again), then its shares
            self.fold.backward()

    def real_part(self, rows: Array) -> Array:
        """The real columns of ``(rows, n)`` numbers: all of them, or the unpadded, flat."""
        return rows if self.flat is None else rows.take(self.flat)

    def emit(self, names: Names) -> tuple[Lines, Lines]:
        """Forward and backward as lines of code (``_straight``): what the methods compute."""
        c, forward = read(names, self.fold.read)
        top, column = names(self.top, "top"), names(self.top_column, "topcol")
        z, e, s = names(self.z, "z"), names(self.e, "e"), names(self.s, "s")
        count = names(np.count_nonzero, "nonzero")
        forward += [
            f"{names(np.maximum.reduce, 'maxreduce')}({c}, axis=1, out={top})",
            *zero_check(names, self.top, self.ties),
            f"{names(np.subtract, 'subtract')}({c}, {column}, out={z})",
            f"{e}[...] = {names(_EXP, 'exp')}({z}, None)",
        ]
        pad = names(self.pad, "pad") if self.pad is not None else ""
        flat = names(self.flat, "flat") if self.flat is not None else ""
        if pad:
            zbuf, ebuf = names(self.buffers[0], "zbuf"), names(self.buffers[2], "ebuf")
            forward += [
                f"{names(np.copyto, 'copyto')}({e}, 0.0, where={pad})",
                f"{z}.take({flat}, out={zbuf})",
                f"{e}.take({flat}, out={ebuf})",
            ]
        add = names(np.add, "add")
        forward.append(f"{names(np.add.reduce, 'addreduce')}({e}, axis=1, out={s})")
        if self.with_log:
            forward.append(f"{names(self.lse, 'lse')}[...] = {names(_LOG, 'log')}({s}, None)")
        if self.acc is None:
            return forward, []
        gs = names(self.gs, "gs")
        backward: Lines = []
        if self.with_log:
            rule, lse = names(_LOG_BACKWARD, "logrule"), names(self.lse, "lse")
            backward.append(
                f"gs = {add}({gs}, {rule}({s}, None, {lse}, {names(self.glse, 'glse')})[0])"
            )
            gs = "gs"
        gz, ge = names(self.gz, "gz"), names(self.ge, "ge")
        if flat:
            backward += [
                f"{gz}.put({flat}, {names(self.buffers[1], 'gzbuf')})",
                f"{ge}.put({flat}, {names(self.buffers[3], 'gebuf')})",
            ]
        backward += [
            f"ge = {add}({ge}, {names(_ADD_BACKWARD, 'plus')}(None, None, None, {gs}[:, None])[0])",
            f"gz = {add}({gz}, {names(_EXP_BACKWARD, 'exprule')}({z}, None, {e}, ge)[0])",
        ]
        if pad:
            backward.append(f"{names(np.copyto, 'copyto')}(gz, 0.0, where={pad})")
        backward += [
            f"to_column, to_top = {names(_SUB_BACKWARD, 'subrule')}({c}, {column}, {z}, gz)",
            f"gtop = {add}({names(self.gtop, 'gtop')}, "
            f"{names(np.add.reduce, 'addreduce')}(to_top, axis=1))",
            f"at_top = {names(np.equal, 'equal')}({c}, {column})",
        ]
        if self.real is not None:
            real = names(self.real, "real")
            backward.append(f"{names(np.logical_and, 'logical_and')}(at_top, {real}, out=at_top)")
        isnan = names(np.isnan, "isnan")
        sent = f"to_column.take({flat})" if flat else "to_column"
        backward += [
            f"if {count}(at_top) == {len(self.top)} and not {isnan}({top}).any():",
            f"    {add}(to_column, gtop[:, None], out=to_column, where=at_top)",
            *(f"    {line}" for line in accumulate(names, self.acc, sent)),
            "else:",
            f"    {names(self.send, 'send')}(to_column, gtop, at_top)",
        ]
        return forward, backward
