"""Pausing Python's cyclic garbage collector while a graph is built (``engine.gc_paused``)."""

from __future__ import annotations

import gc

from micrograd._modes import Mode


class gc_paused(Mode):  # noqa: N801  (a block's name, lowercase like torch's no_grad)
    """Pause Python's cyclic garbage collector within this block (training loops use it).

    Graphs have no reference cycles, so reference counting frees them; but while a big graph
    is built the collector rescans it again and again, and as a node is referred to by its
    parent alone (made after it), it first takes nearly every node for garbage: 36% of a moons
    step at width 16, 75% at width 64, 2-5x what a tape engine's collections cost
    (benchmarks/RESULTS.md). The collector is on again after the block if it was on before;
    one object serves nested blocks, later blocks and ``@gc_paused()``.

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    """

    def _enter(self) -> bool:
        collecting = gc.isenabled()
        gc.disable()
        return collecting

    def _exit(self, collecting: bool) -> None:
        if collecting:
            gc.enable()
