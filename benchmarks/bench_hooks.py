"""What register_hook and detect_anomaly() cost: a moons-sized step with none, with a hook, inside
a block; and that the engine pays nothing once they are gone.

``python benchmarks/bench_hooks.py [--rounds 5] [--width 16]``

The step: forward and backward of the hinge loss of ``MLP(2, [width, width, 1])`` on 20 points.
Rows: plain; a hook registered on a Value outside the graph (backward takes the watched walk,
which runs the engine's chain rule in one piece); a hook on every hidden activation (the walk is
cut at each); inside ``detect_anomaly()`` (each op checked, each backward step checked); and
plain again after all of them (the engine's own methods are back). Median of ``--rounds``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from micrograd import MLP, Value, detect_anomaly
from micrograd.engine import gc_paused


def moons_step(width: int) -> Callable[[bool], float]:
    """A step function: its argument says whether to hook every hidden activation."""
    random.seed(0)
    model = MLP(2, [width, width, 1])
    points = [[random.uniform(-1, 1), random.uniform(-1, 1)] for _ in range(20)]
    labels = [1.0 if x * y > 0 else -1.0 for x, y in points]

    def step(hook_all: bool) -> float:
        start = time.perf_counter()
        with gc_paused():
            total = Value(0.0)
            for point, label in zip(points, labels):
                hidden = model.layers[0](point)
                if hook_all:
                    for h in hidden:
                        h.register_hook(lambda g: g)
                out = model.layers[2](model.layers[1](hidden))
                total = total + (1.0 - label * out).relu()
            model.zero_grad()
            total.backward()
        return time.perf_counter() - start

    return step


def median_ms(run: Callable[[], float], rounds: int) -> float:
    """The median of ``rounds`` timings, in milliseconds (after one warm-up)."""
    run()
    return 1000 * statistics.median(run() for _ in range(rounds))


def main() -> None:
    """Print one row per setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    step = moons_step(args.width)
    rows = [("plain", median_ms(lambda: step(False), args.rounds))]
    elsewhere = Value(1.0)
    handle = elsewhere.register_hook(lambda g: g)
    rows.append(("a hook elsewhere", median_ms(lambda: step(False), args.rounds)))
    handle.remove()
    rows.append(("a hook on every hidden unit", median_ms(lambda: step(True), args.rounds)))
    with detect_anomaly():
        rows.append(("detect_anomaly()", median_ms(lambda: step(False), args.rounds)))
    rows.append(("plain, after all", median_ms(lambda: step(False), args.rounds)))
    base = rows[0][1]
    for name, ms in rows:
        print(f"{name:<30} {ms:8.2f} ms   {ms / base:5.2f}x")


if __name__ == "__main__":
    main()
