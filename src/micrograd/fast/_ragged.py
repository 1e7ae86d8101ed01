"""Ragged rows: groups of one kind at one level whose rows differ only in length, one kernel.

Causal attention builds, at one level, a softmax and a weighted sum for every length 1..T;
grouped by shape they were a kernel a length. ``merge_ragged`` joins such groups: sums with the
same number of plain terms (dot products of any lengths, or plain sums of any lengths), max
folds, and fused log-sum-exps (with or without the log). The schedule then pads each short row
with slots holding the operation's identity (``PAD``), so the (rows, k) kernels run unchanged:

- a sum's term ``-0.0`` and a product ``-0.0 * 0.0``: ``x + -0.0 == x`` for every ``x``,
  ``-0.0`` and nan included (``+0.0`` would turn a sum of ``-0.0`` into ``+0.0``);
- a max's column ``-inf``: ``maximum(x, -inf) == x``, nan included; the fold's backward gives
  padding no share (a tie of ``-inf`` with ``-inf`` would otherwise halve a real column's);
- a log-sum-exp's logit ``-inf``, whose ``exp`` is set to 0 and whose gradient is dropped.

Gradients sent to padding go to the padding slots, which nothing reads. Groups that become a
matrix product (every row of one factor with every row of another, more than one row)
are never joined.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from micrograd.fast._fuse import LSE
from micrograd.fast._rules import Array, Index
from micrograd.fast._trace import _Graph

# The values of the padding slots the schedule lays out after the constants, in this order.
PAD = (-0.0, 0.0, -np.inf)
NEG_ZERO, ZERO, NEG_INF = range(3)


def _is_outer(graph: _Graph, ids: list[int]) -> bool:
    """Whether a sum group's dot products pair every row of one factor with every row of
    another (the schedule's matrix product) in more than one row: such a group keeps its
    kernel (a single dot product joins the others)."""
    from micrograd.fast._schedule import _outer

    if len(ids) < 2:
        return False
    fa = np.array([graph.members[i][1] for i in ids], dtype=np.intp)
    fb = np.array([graph.members[i][2] for i in ids], dtype=np.intp)
    return _outer(fa, fb) is not None


def merge_ragged(graph: _Graph) -> None:
    """Join the groups of one kind and level that differ only in their rows' lengths.

    The joined key has the kind and level of its parts and the longest length of each; a
    fused log-sum-exp's key also holds every row's length (its layout is ragged: the rows'
    maxes, then every row's ``z``, its ``e``, its sums[, its logs]).
    """
    groups = graph.groups
    classes: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for key in groups:
        if key[0] == "sum":
            # Dot products of any length with the same plain terms; plain sums of any length.
            cls: tuple[Any, ...] = ("sum", key[1], key[2] if key[3] else -1)
        elif key[0] == "fold":
            cls = ("fold", key[1])
        elif key[0] == LSE and len(key) == 4:
            cls = (LSE, key[1], key[3] - 2 * key[2])  # 3 with the log, 2 without
        else:
            continue
        classes.setdefault(cls, []).append(key)
    for cls, keys in classes.items():
        if len(keys) > 1 and cls[0] == "sum" and cls[2] >= 0:  # (one group: nothing to join)
            keys = [k for k in keys if not _is_outer(graph, groups[k])]
        if len(keys) < 2:
            continue
        if cls[0] == LSE:
            _merge_lse(graph, keys)
            continue
        joined = [i for k in keys for i in groups.pop(k)]
        if cls[0] == "sum":
            plain, dots = max(k[2] for k in keys), max(k[3] for k in keys)
            groups[("sum", cls[1], plain, dots)] = joined
        else:
            groups[("fold", cls[1], max(k[2] for k in keys))] = joined


def _merge_lse(graph: _Graph, keys: list[tuple[Any, ...]]) -> None:
    """Join fused log-sum-exp groups of one level: maxes, z, e, sums[, logs], row after row."""
    groups = graph.groups
    tops: list[int] = []
    z: list[int] = []
    e: list[int] = []
    tails: list[list[int]] = []
    lengths: list[int] = []
    for key in keys:
        ids = groups.pop(key)
        n, rows = key[2], len(ids) // key[3]
        tops += ids[:rows]
        z += ids[rows : rows + rows * n]
        e += ids[rows + rows * n : rows + 2 * rows * n]
        tails.append(ids[rows + 2 * rows * n :])
        lengths += [n] * rows
    kind = keys[0][3] - 2 * keys[0][2]  # 1 + the tail's nodes a row: the sum[, the log]
    blocks: list[list[int]] = [tops, z, e]
    columns: list[list[int]] = [[] for _ in range(kind - 1)]
    for t in tails:
        rows = len(t) // (kind - 1)
        for j in range(kind - 1):
            columns[j] += t[j * rows : (j + 1) * rows]
    blocks += columns
    groups[(LSE, keys[0][1], max(lengths), -1, tuple(lengths))] = [i for b in blocks for i in b]


def table(
    slots: Callable[[Any], Index], lists: list[list[int]], width: int, pad: int
) -> tuple[Index, Any]:
    """The slots of each row's operands, ``(rows, width)``, short rows padded with the slot
    ``pad``; and the mask of real operands (None when no row is short)."""
    rows = len(lists)
    lengths = np.fromiter(map(len, lists), np.intp, rows)
    total = int(lengths.sum())
    flat = slots(np.fromiter(chain.from_iterable(lists), np.intp, total))
    if (lengths == width).all():
        return flat.reshape(rows, width), None
    mask = np.arange(width) < lengths[:, None]
    out: Index = np.full((rows, width), pad, dtype=np.intp)
    out[mask] = flat
    return out, mask


def padding_values() -> Array:
    """The numbers the padding slots hold (``PAD``)."""
    return np.array(PAD, dtype=np.float64)
