"""Why the cyclic garbage collector costs the Value engine more than the tape engine.

Both engines make one tracked object a node, and a moons step at width 64 sets off the same
number of full collections on either (8 in a step, measured with ``gc.callbacks``); yet each of
ours took about 4.7 times as long. This script times one full collection (``gc.collect()``)
with the forward graph of a width-64 moons step alive, three ways:

- ours: the Value engine's graph, which only its newest nodes (the loss) hold from outside;
- the tape engine's graph with its tape: an old list that holds every node;
- the same tape-engine graph with the tape emptied, so that, like ours, it is held only from
  its loss.

The collector walks its list oldest first, and a node no object outside the list holds is set
aside as maybe unreachable until a reachable node that points to it is walked. A graph's
nodes point to older nodes, so without a tape every node is set aside and then brought back,
which also leaves the list out of address order for the next collection. The tape, older than
every node, marks each one reachable before the walk reaches it. Run:
``python benchmarks/collector.py`` (from a source checkout, with micrograd installed).
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import tape_engine

from micrograd import _bench_workloads as w
from micrograd.engine import Value

WIDTH = 64
ROUNDS = 5


def forward(value: Any, model: Any) -> Any:
    """The demo loss of a moons step on ``model``: its graph, alive while the result is."""
    X, y = w.moons_data()
    scores = [model(list(map(value, row))) for row in X]
    return w.demo_loss(scores, y, model.parameters())


def collect_seconds() -> float:
    """Seconds of one full collection (the second of two: the first finds the garbage)."""
    gc.collect()
    start = time.perf_counter()
    gc.collect()
    return time.perf_counter() - start


def main() -> None:
    """Print the median seconds of a full collection each way, and their ratios."""
    gc.disable()  # only the collections timed here run
    random.seed(w.SEED)
    tape_model = tape_engine.MLP(2, [WIDTH, WIDTH, 1])
    ours_model = w.demo_model(WIDTH)
    found: dict[str, list[float]] = {"ours": [], "tape": [], "tape emptied": []}
    for _ in range(ROUNDS):
        loss = forward(Value, ours_model)
        found["ours"].append(collect_seconds())
        del loss
        loss = forward(tape_engine.Value, tape_model)
        found["tape"].append(collect_seconds())
        tape_engine._tape.clear()  # the graph is now held by its loss alone, as ours is
        found["tape emptied"].append(collect_seconds())
        del loss
    medians = {name: statistics.median(times) for name, times in found.items()}
    for name, seconds in medians.items():
        ratio = seconds / medians["tape"]
        print(f"{name:>13}: {seconds * 1e3:7.1f} ms a full collection, {ratio:.2f}x the tape's")


if __name__ == "__main__":
    main()
