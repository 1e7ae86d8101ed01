"""Pausing Python's cyclic garbage collector while a graph is built (``engine.gc_paused``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector within this block (training loops use it).

    Graphs have no reference cycles, so reference counting frees them; but while a big graph
    is built the collector rescans it again and again, and as a node is referred to by its
    parent alone, it first takes nearly every node for garbage: 60% of a moons step at width
    16, 75% at width 64 (benchmarks/RESULTS.md).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
