"""Boxes for the explorer: which nodes belong to which neuron and layer, and parts of big graphs.

Groups come from a module's named parameters (``layers.0.neurons.3.w.1`` is a weight of neuron
``layers.0.neurons.3`` in layer ``layers.0``), or from leaf labels written the same way; a box
that would hold too many nodes side by side is cut into parts along the topological order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from micrograd import _check as check
from micrograd.engine import Value

__all__ = ["MAX_DIRECT", "Group", "find_groups", "module_path"]

# At most this many values are laid out side by side in one box; more are cut into parts, so no
# single layout (dagre's time grows faster than the node count) is slow.
MAX_DIRECT = 60


@dataclass(frozen=True)
class Group:
    """A box of the explorer: a neuron, a layer, or a part of a big graph."""

    name: str  # "layers.0.neurons.3", or "part 2" for a part
    title: str  # what the box says: the module's repr, or the part's range of nodes
    parent: int  # index of the enclosing group, or -1
    kind: str  # "module" or "part"


def module_path(name: str) -> tuple[str, ...]:
    """The module that owns a parameter, from its dotted name: drop ``.w.1`` / ``.b``.

    >>> module_path("layers.0.neurons.3.w.1"), module_path("neurons.2.b"), module_path("b")
    (('layers', '0', 'neurons', '3'), ('neurons', '2'), ())
    """
    parts = name.split(".")
    if len(parts) > 1 and parts[-1].isdigit():
        parts.pop()  # an element of a list of parameters: w.1
    return tuple(parts[:-1])  # the parameter's own attribute: w, b


def _chain(path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The boxes a module path opens, outermost first: one per list element, and the module.

    >>> _chain(("layers", "0", "neurons", "3"))
    [('layers', '0'), ('layers', '0', 'neurons', '3')]
    """
    boxes = [path[: i + 1] for i in range(len(path) - 1) if path[i].isdigit()]
    return [*boxes, path]


def _resolve(model: Any, path: tuple[str, ...]) -> Any:
    """The submodule at ``path`` (``layers``, ``0``, ...), or None where the path leads nowhere."""
    obj = model
    for part in path:
        if part.isdigit() and isinstance(obj, (list, tuple)) and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _named_leaves(order: Sequence[Value], model: Any) -> dict[Value, tuple[str, ...]]:
    """Each parameter leaf of the graph -> the path of the module that owns it."""
    if model is not None:
        named = getattr(model, "named_parameters", None)
        if not callable(named):
            raise TypeError(
                f"model must be a micrograd Module (with named_parameters()), not "
                f"{type(model).__name__}"
            )
        in_graph = {id(node) for node in order}
        return {p: module_path(name) for name, p in named() if id(p) in in_graph}
    # No model: leaves labelled like parameter names ("layers.0.neurons.3.w.1") say it.
    return {
        node: module_path(node.label)
        for node in order
        if not node._prev and "." in node.label and module_path(node.label)
    }


def _product_of(node: Value, params: dict[Value, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The module of a weight times something (``w * x``, ``w * 0.5``), else None."""
    if node._op != "*":
        return None
    owners = {params[c] for c in node._prev if c in params}
    return owners.pop() if len(owners) == 1 else None


def _owner(
    node: Value, params: dict[Value, tuple[str, ...]], member: dict[Value, tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The neuron whose arithmetic ``node`` is, if it is one: ``w*x``, ``b + ...``, ``act(...)``.

    A neuron computes ``act(b + w0*x0 + w1*x1 + ...)``: a product joins the module of its weight,
    a sum joins when one operand is that module's bias or product and the other is too (or one
    of its sums), and a one-operand function (relu, tanh, ...) of such a sum is the activation.
    Whatever uses a neuron's output (the next layer, a loss) is not part of it.
    """
    kids = node._prev
    if node._op == "*":
        return _product_of(node, params)
    if node._op == "+" and len(kids) == 2:
        direct = [params[c] if c in params else _product_of(c, params) for c in kids]
        owners = {d for d in direct if d is not None}
        if len(owners) != 1:
            return None
        (owner,) = owners
        other = kids[1] if direct[0] == owner else kids[0]
        is_sum = other._op == "+" and member.get(other) == owner
        return owner if direct[0] == direct[1] or is_sum else None
    if len(kids) == 1 and node._op.isidentifier():  # relu, tanh, sigmoid, ...
        (kid,) = kids
        return member.get(kid) if kid._op == "+" else None
    return None


def find_groups(
    order: Sequence[Value], model: Any = None, max_direct: int = MAX_DIRECT
) -> tuple[list[Group], list[int]]:
    """The explorer's boxes for a graph in topological order: ``(groups, group of each node)``.

    A node's group is the index of the innermost box holding it, or -1. Parameters (from
    ``model.named_parameters()``, or leaves labelled with such names) and the arithmetic of
    their neuron go into the neuron's box, inside its layer's box; any box, and the top level,
    with more than ``max_direct`` nodes of its own gets parts of consecutive nodes.
    """
    max_direct = check.integer("max_direct", max_direct, 2, what="an int")
    order = check.values("order", order, nonempty=False)
    params = _named_leaves(order, model)
    member: dict[Value, tuple[str, ...]] = {}
    for node in order:
        owner = params.get(node) if not node._prev else _owner(node, params, member)
        if owner is not None:
            member[node] = owner
    groups: list[Group] = []
    index: dict[tuple[str, ...], int] = {}

    def box(path: tuple[str, ...], parent: int) -> int:
        if path not in index:
            module = _resolve(model, path) if model is not None else None
            name = ".".join(path)
            title = repr(module) if module is not None else name
            if name and module is not None:
                title = f"{name}: {title}"
            index[path] = len(groups)
            groups.append(Group(name or title, title, parent, "module"))
        return index[path]

    def innermost(path: tuple[str, ...]) -> int:
        parent = -1
        for prefix in _chain(path):
            parent = box(prefix, parent)
        return parent

    for path in params.values():  # boxes in the model's order of parameters
        innermost(path)
    where = [-1 if member.get(node) is None else innermost(member[node]) for node in order]
    _cut_into_parts(groups, where, max_direct)
    return groups, where


def _cut_into_parts(groups: list[Group], where: list[int], max_direct: int) -> None:
    """Give every box (and the top level) holding more than ``max_direct`` nodes and boxes
    parts of them: at most ``max_direct`` parts side by side, each cut again if still too full.

    Parts hold consecutive items (boxes first, then nodes in topological order).
    """
    items: dict[int, list[tuple[str, int]]] = {-1: []}
    for j, group in enumerate(groups):
        items.setdefault(group.parent, []).append(("box", j))
    for i, g in enumerate(where):
        items.setdefault(g, []).append(("node", i))
    spans: dict[int, tuple[int, int, int]] = {}  # part -> (first node, last node, node count)
    pending = list(items)
    while pending:
        parent = pending.pop()
        content = items[parent]
        if len(content) <= max_direct:
            continue
        count = min(-(-len(content) // max_direct), max_direct)
        size = -(-len(content) // count)
        items[parent] = []
        for start in range(0, len(content), size):
            chunk = content[start : start + size]
            part = len(groups)
            title = _part_title(chunk, groups, spans, part)
            groups.append(Group(f"part {part + 1}", title, parent, "part"))
            items[parent].append(("box", part))
            items[part] = chunk
            for kind, x in chunk:
                if kind == "node":
                    where[x] = part
                else:
                    groups[x] = replace(groups[x], parent=part)
            pending.append(part)


def _part_title(
    chunk: list[tuple[str, int]],
    groups: list[Group],
    spans: dict[int, tuple[int, int, int]],
    part: int,
) -> str:
    """What a part holds: ``nodes 1-56 (56)``, ``layers.0.neurons.0 ... neurons.31 (32 boxes)``."""
    covered = [(x, x, 1) for kind, x in chunk if kind == "node"]
    covered += [spans[x] for kind, x in chunk if kind == "box" and x in spans]
    modules = [groups[x].name for kind, x in chunk if kind == "box" and x not in spans]
    pieces = []
    if modules:
        named = modules[0] if len(modules) == 1 else f"{modules[0]} ... {modules[-1]}"
        pieces.append(f"{named} ({len(modules)} boxes)")
    if covered:
        span = (min(c[0] for c in covered), max(c[1] for c in covered), sum(c[2] for c in covered))
        spans[part] = span
        pieces.append(f"nodes {span[0] + 1}-{span[1] + 1} ({span[2]})")
    return " and ".join(pieces)
