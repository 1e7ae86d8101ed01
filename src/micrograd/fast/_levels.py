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
    never = 1 << 62
    outer: dict[Key, bool] = {}  # whether a group of dot products is a matmul, once asked
    first = [never] * graph.n_ids  # the earliest level that reads each node, once known
    levels: dict[Key, set[int]] = {}  # a kind (a key at level 0) -> its groups' levels
    for key in groups:
        levels.setdefault(_at(key, 0), set()).add(key[1])
    # Latest first: a group's consumers (at later levels) have their levels when it is reached.
    for key in sorted(groups, key=lambda k: -k[1]):
        ids = groups[key]
        level, latest = key[1], min(map(first.__getitem__, ids)) - 1
        kind = _at(key, 0)
        dots = key[0] == "sum" and key[3]  # a matmul must stay one
        if latest < never - 1:  # not the root, nor nodes only the traced function read
            for to in sorted((v for v in levels[kind] if level < v <= latest), reverse=True):
                target = _at(key, to)
                if dots:
                    if outer.get(target) is None:
                        outer[target] = _is_outer(graph, groups[target])
                    if (outer[target] or _is_outer(graph, ids)) and not _is_outer(
                        graph, groups[target] + ids
                    ):
                        continue
                    del outer[target]  # (joined rows may be a matmul where neither part was)
                groups[target].extend(ids)
                del groups[key]
                levels[kind].discard(level)
                level = to
                break
        for i in ids:
            for j in _operands(key, members[i]):
                if j >= 0 and level < first[j]:
                    first[j] = level
