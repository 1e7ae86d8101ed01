"""Pausing Python's cyclic garbage collector while a graph is built (``engine.gc_paused``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector within this block (training loops use it).

    Graphs have no reference cycles, so reference counting frees them; but while a big graph
    is built the collector rescans every live node, again and again: about 40% of a step.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
