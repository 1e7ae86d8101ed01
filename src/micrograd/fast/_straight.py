"""Straight-line code for a compiled program: one generated Python function runs the forward
kernels and one the backward, every view, index plan, ufunc and rule bound to a name, so that a
step pays for NumPy's work and not for the kernels' method calls and branches.

Each kernel that can write its steps as code (``emit``) does; any other kernel is called as it
is (``k3.forward()``). The code computes what the kernels' own ``forward``/``backward`` compute,
to the bit: the same NumPy calls on the same arrays, some of them writing into their destination
(``out=``) instead of through a temporary, which changes no number.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# A program with more kernels than this runs them one by one: its code would take longer to
# compile than the calls it saves (a deep graph has a kernel a level).
MAX_KERNELS = 4000

# Ufuncs whose every result is correctly rounded: writing it into ``out`` (``f(x, y, out=o)``)
# gives the bits that ``o[...] = f(x, y)`` gives.
ROUNDED = (np.add, np.subtract, np.multiply, np.divide)

_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "<generated program>")

Lines = list[str]


class Names:
    """The objects the generated code uses, each bound to a name of its own (``view3``)."""

    def __init__(self) -> None:
        self.bound: dict[str, Any] = {}
        self._named: dict[int, str] = {}

    def __call__(self, obj: Any, hint: str) -> str:
        """The name of ``obj`` (the same object, the same name)."""
        name = self._named.get(id(obj))
        if name is None:
            name = f"{hint}{len(self.bound)}"
            self.bound[name] = obj  # kept alive here, so its id is not reused
            self._named[id(obj)] = name
        return name


def read(names: Names, reader: Any) -> tuple[str, Lines]:
    """The operands of a ``_Reader``: its static view, or a buffer of its own that a forward line
    fills (``take`` into it, the numbers ``buf.take(idx)`` returns) and the backward reads."""
    if reader.view is not None:
        return names(reader.view, "view"), []
    taken = names(np.empty(reader.idx.shape), "taken")
    take = f"{names(reader.buf, 'v')}.take({names(reader.idx, 'idx')}, out={taken}, mode='clip')"
    return taken, [take]


def accumulate(names: Names, acc: Any, expr: str) -> Lines:
    """``acc.add(expr)`` of an ``_Accumulator``: ``view += expr`` inline when it has a view."""
    if acc.view is not None:
        view = names(acc.view, "gview")
        return [f"{names(np.add, 'add')}({view}, {expr}, out={view})"]
    return [f"{names(acc.add, 'acc')}({expr})"]


def _function(name: str, lines: Lines) -> str:
    return "\n".join([f"def {name}():", *(f"    {line}" for line in lines or ["pass"]), ""])


def build(kernels: Sequence[Any]) -> tuple[Callable[[], None], Callable[[], None], str]:
    """``(forward, backward, source)``: the kernels' forwards in order, their backwards in
    reverse order, as two functions of no argument."""
    names = Names()
    forward: Lines = []
    backward: list[Lines] = []
    for kernel in kernels:
        emit = getattr(kernel, "emit", None)
        if emit is not None:
            steps, back = emit(names)
        else:  # a kernel with no code of its own: called
            steps = [f"{names(kernel.forward, 'forward')}()"]
            back = [f"{names(kernel.backward, 'backward')}()"]
        forward += steps
        backward.append(back)
    lines = [line for back in reversed(backward) for line in back]
    source = _function("forward", forward) + _function("backward", lines)
    namespace = dict(names.bound)
    # A file name inside the package: the walks that look for the user's line step over it.
    exec(compile(source, _FILE, "exec"), namespace)  # our own text, no input
    return namespace["forward"], namespace["backward"], source
