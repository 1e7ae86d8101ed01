"""Levels: a traced node runs at its earliest level (one past its operands'), but any later one
will do as long as its consumers come later still. ``delay`` moves some groups' downstream later
where that lets nodes of one kind share a kernel: the GPT's position 0, whose attention is a
few ops shorter than the others', would otherwise run every later op in kernels of its own.
"""

from __future__ import annotations

from typing import Any

from micrograd.fast._ragged import _is_outer
from micrograd.fast._trace import _Graph

Key = tuple[Any, ...]


def _operands(key: Key, member: tuple[Any, ...]) -> list[int]:
    """The node ids a group member reads (the ids of numbers and leaves are never members)."""
    kind = key[0]
    if kind == "gather":
        return list(member[1])
    if kind == "fold":
        return list(member[0])
    if kind == "sum":
        return [*member[0], *member[1], *member[2]]
    return [member[0], member[1]]


def _at(key: Key, level: int) -> Key:
    return (key[0], level, *key[2:])


def delay(graph: _Graph, limit: int = 200_000) -> None:
    """Move whole groups to later levels where a group of their kind is: one group then.

    From the last level to the first, a group whose consumers all come at least two levels
    later may move up to one level before the first of them (its operands stay where they
    were, earlier): it moves to the latest such level that holds a group of its kind, unless
    that would make a matrix product a gathered sum. Linear in the graph; a graph of more than
    ``limit`` grouped nodes keeps its levels (its kernels are large: their count matters less).
    """
    groups, members = graph.groups, graph.members
    if len(members) > limit:
        return
    key_of = {i: key for key, ids in groups.items() for i in ids}
    consumers: dict[int, list[int]] = {}
    for i, key in key_of.items():
        for j in _operands(key, members[i]):
            if j in key_of:
                consumers.setdefault(j, []).append(i)
    levels: dict[Key, set[int]] = {}  # a kind (a key at level 0) -> its groups' levels
    for key in groups:
        levels.setdefault(_at(key, 0), set()).add(key[1])
    for key in sorted(groups, key=lambda k: -k[1]):
        ids = groups[key]
        after = [key_of[c][1] for i in ids for c in consumers.get(i, ())]
        if len(after) == 0:
            continue  # the root, or nodes only read by the traced function
        latest = min(after) - 1
        kind = _at(key, 0)
        for level in sorted((v for v in levels[kind] if key[1] < v <= latest), reverse=True):
            target = _at(key, level)
            if key[0] == "sum" and key[3] and not _stays_outer(graph, groups[target], ids):
                continue
            groups[target].extend(ids)
            del groups[key]
            levels[kind].discard(key[1])
            for i in ids:
                key_of[i] = target
            break


def _stays_outer(graph: _Graph, a: list[int], b: list[int]) -> bool:
    """Whether dot-product groups ``a`` and ``b`` joined are a matrix product if one was."""
    return not (_is_outer(graph, a) or _is_outer(graph, b)) or _is_outer(graph, a + b)
