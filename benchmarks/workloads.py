"""Benchmark workloads written against micrograd's public API only.

The same file runs on our engine and on the reference micrograd 0.1.0: ``bench_engine.py`` runs
it in a subprocess whose ``sys.path`` holds one of the two packages, never both.
"""

from __future__ import annotations

import gc
import json
import math
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from micrograd.engine import Value
from micrograd.nn import MLP


def seed002() -> None:
    """Seed 002's expression (micrograd's README example), forward and backward."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()


def moons_data(n: int = 100, seed: int = 1337) -> tuple[list[list[float]], list[int]]:
    """Two interleaved half-moons with noise 0.1 and labels ±1 (deterministic)."""
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * (i % (n // 2)) / (n // 2 - 1)
        if i < n // 2:
            X.append([math.cos(t) + rng.gauss(0, 0.1), math.sin(t) + rng.gauss(0, 0.1)])
            y.append(-1)
        else:
            X.append([1 - math.cos(t) + rng.gauss(0, 0.1), 0.5 - math.sin(t) + rng.gauss(0, 0.1)])
            y.append(1)
    return X, y


def make_moons_step() -> Callable[[], None]:
    """One step of micrograd's moons demo: MLP(2,[16,16,1]), hinge loss + 1e-4 L2, SGD."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    X, y = moons_data()
    params = model.parameters()

    def step() -> None:
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = [model(x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in params)
        total = data_loss + reg_loss
        for p in params:
            p.grad = 0.0
        total.backward()
        for p in params:
            p.data -= 0.1 * p.grad

    return step


def chain(n: int) -> None:
    """Backpropagate through a chain of ``n`` additions."""
    x = v = Value(1.0)
    one = Value(1.0)
    for _ in range(n):
        x = x + one
    x.backward()
    assert v.grad == 1.0


def bytes_per_node(n: int = 100_000) -> float:
    """Bytes allocated per interior ``a + b`` node, measured with tracemalloc."""
    a, b = Value(1.0), Value(2.0)
    gc.collect()
    tracemalloc.start()
    nodes = [a + b for _ in range(n)]
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del nodes
    return (size - 8 * n) / n  # less the list's own pointer per node


def time_it(fn: Callable[[], None], repeat: int, batch: int = 1) -> float:
    """Median over ``repeat`` batches of the mean seconds per call in a batch of ``batch`` calls.

    Timing whole batches keeps the garbage collector's work in the figure: a median of single
    calls would skip exactly the calls during which the collector ran.
    """
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


def run(name: str, repeat: int) -> dict[str, object]:
    """Run one workload by name and return its measurement."""
    if name == "seed002":
        return {"seconds": time_it(seed002, repeat, batch=2000)}
    if name == "moons_step":
        return {"seconds": time_it(make_moons_step(), repeat)}
    if name == "chain_1e6":
        try:
            return {"seconds": time_it(lambda: chain(1_000_000), repeat)}
        except RecursionError:
            return {"error": "RecursionError"}
    if name == "bytes_per_node":
        return {"bytes": bytes_per_node()}
    raise ValueError(f"unknown workload {name!r}")


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]))))
