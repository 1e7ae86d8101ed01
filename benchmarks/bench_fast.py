"""The moons demo step on four paths, timed in one process: compiled, Value engine, PyTorch, NumPy.

The step is micrograd's demo: ``MLP(2, [16, 16, 1])`` on 100 moons, hinge loss
``mean(relu(1 - y*score)) + 1e-4 * Σp²``, backward, one SGD update. Every path starts from the
same weights and is checked to give the same loss. Run ``python benchmarks/bench_fast.py`` for a
Markdown table; each ``*_seconds`` function returns the median seconds per step, for a harness.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from micrograd.data import make_moons
from micrograd.engine import Value
from micrograd.nn import MLP

ALPHA = 1e-4  # the demo's L2 weight
LR = 0.1
SIZES = [2, 16, 16, 1]


def setup(n: int = 100, seed: int = 1337) -> tuple[MLP, list[list[float]], list[int]]:
    """A seeded ``MLP(2, [16, 16, 1])`` and ``n`` moons with labels ±1."""
    random.seed(seed)
    model = MLP(2, SIZES[1:])
    X, y01 = make_moons(n_samples=n, noise=0.1, seed=seed)
    return model, X, [2 * t - 1 for t in y01]


def demo_loss(model: MLP, scores: Sequence[Value], y: Sequence[Any]) -> Value:
    """micrograd's demo loss, as its notebook writes it: hinge mean plus L2."""
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def weight_arrays(model: MLP) -> list[np.ndarray]:
    """The model's weights as ``[W1, b1, W2, b2, W3, b3]`` with ``W`` of shape (fan_in, fan_out)."""
    arrays = []
    for layer in model.layers:
        arrays.append(np.array([[w.data for w in n.w] for n in layer.neurons]).T.copy())
        arrays.append(np.array([n.b.data for n in layer.neurons]))
    return arrays


def median_seconds(step: Callable[[], object], repeat: int, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``step()`` over ``repeat`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- the four paths; each make_* returns a step() that returns the loss before the update ---


def make_engine_step() -> Callable[[], float]:
    """Our Value engine: build the graph, backward, SGD on Values."""
    model, X, y = setup()
    params = model.parameters()

    def step() -> float:
        scores = [model(x) for x in X]
        total = demo_loss(model, scores, y)
        for p in params:
            p.grad = 0.0
        total.backward()
        for p in params:
            p.data -= LR * p.grad
        return total.data

    return step


def make_fast_step(sync_values: bool = True) -> Callable[[], float]:
    """The compiled program: ``program.step`` with SGD on arrays, Values kept in sync."""
    from micrograd import fast

    model, X, y = setup()
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)
    Xa, ya = np.array(X), np.array(y, dtype=np.float64)
    optimizer = fast.ArraySGD(lr=LR)
    if sync_values:
        return lambda: program.step(Xa, ya, optimizer=optimizer)
    theta = np.array([p.data for p in model.parameters()])

    def step() -> float:
        loss, grad = program.loss_and_grad(theta, Xa, ya)
        optimizer.update(theta, grad)
        return loss

    return step


def make_fast_value_step() -> Callable[[], float]:
    """The compiled program called as a loss: zero_grad, ``program(X, y)``, SGD on Values."""
    from micrograd import fast

    model, X, y = setup()
    params = model.parameters()
    program = fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)

    def step() -> float:
        for p in params:
            p.grad = 0.0
        loss = program(X, y)
        for p in params:
            p.data -= LR * p.grad
        return loss

    return step


def make_torch_step() -> Callable[[], float]:
    """PyTorch, batched float64: ``X @ W`` with autograd, the same weights, loss and update."""
    import torch

    model, X, y = setup()
    params = [torch.tensor(a, requires_grad=True) for a in weight_arrays(model)]
    W1, b1, W2, b2, W3, b3 = params
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)

    def step() -> float:
        h1 = torch.relu(Xt @ W1 + b1)
        h2 = torch.relu(h1 @ W2 + b2)
        scores = (h2 @ W3 + b3)[:, 0]
        data_loss = torch.relu(1 - yt * scores).mean()
        reg_loss = ALPHA * sum((p * p).sum() for p in params)
        total = data_loss + reg_loss
        for p in params:
            p.grad = None
        total.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return total.item()

    return step


def make_numpy_step() -> Callable[[], float]:
    """Hand-written NumPy: the same forward, its backward by hand, SGD."""
    model, X, y = setup()
    params = weight_arrays(model)
    W1, b1, W2, b2, W3, b3 = params
    Xa = np.array(X)
    ya = np.array(y, dtype=np.float64)
    n = len(ya)

    def step() -> float:
        z1 = Xa @ W1 + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2 + b2
        h2 = np.maximum(z2, 0.0)
        scores = (h2 @ W3)[:, 0] + b3
        margins = 1.0 - ya * scores
        loss = np.maximum(margins, 0.0).sum() / n + ALPHA * sum((p * p).sum() for p in params)
        ds = np.where(margins > 0.0, -ya, 0.0) / n
        dz2 = (ds[:, None] @ W3.T) * (z2 > 0.0)
        dz1 = (dz2 @ W2.T) * (z1 > 0.0)
        grads = [Xa.T @ dz1, dz1.sum(0), h1.T @ dz2, dz2.sum(0), h2.T @ ds[:, None], ds.sum()]
        for p, g in zip(params, grads, strict=True):
            p -= LR * (g + 2.0 * ALPHA * p)
        return float(loss)

    return step


# --- seconds per step, importable by a harness ---


def engine_seconds(repeat: int = 5) -> float:
    """Median seconds per moons step on the Value engine."""
    return median_seconds(make_engine_step(), repeat, warmup=1)


def fast_seconds(repeat: int = 500) -> float:
    """Median seconds per moons step of the compiled program (``program.step``, SGD on arrays)."""
    return median_seconds(make_fast_step(), repeat)


def fast_arrays_seconds(repeat: int = 500) -> float:
    """As ``fast_seconds``, parameters kept in an array (``loss_and_grad``; no Value touched)."""
    return median_seconds(make_fast_step(sync_values=False), repeat)


def fast_values_seconds(repeat: int = 500) -> float:
    """Median seconds per step of ``zero_grad(); program(X, y); SGD`` on Values."""
    return median_seconds(make_fast_value_step(), repeat)


def torch_seconds(repeat: int = 500) -> float:
    """Median seconds per moons step in PyTorch (batched float64, autograd)."""
    return median_seconds(make_torch_step(), repeat)


def numpy_seconds(repeat: int = 500) -> float:
    """Median seconds per moons step of hand-written NumPy forward and backward."""
    return median_seconds(make_numpy_step(), repeat)


def trace_compile_seconds(repeat: int = 3) -> float:
    """Median seconds to trace the moons loss and compile it into a program."""
    from micrograd import fast

    def compile_once() -> None:
        model, X, y = setup()
        fast.compile_model(model, lambda s, t: demo_loss(model, s, t), X, y)

    return median_seconds(compile_once, repeat, warmup=0)


def check_same_losses() -> float:
    """The largest relative difference between the paths' losses over three steps."""
    steps = [
        make_engine_step(),
        make_fast_step(),
        make_fast_value_step(),
        make_torch_step(),
        make_numpy_step(),
    ]
    worst = 0.0
    for _ in range(3):
        losses = [step() for step in steps]
        worst = max(worst, max(abs(x - losses[0]) / abs(losses[0]) for x in losses))
    return worst


def main() -> None:
    """Time every path and print a Markdown table of medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500, help="steps timed per fast path")
    parser.add_argument("--engine-repeat", type=int, default=5, help="steps on the Value engine")
    args = parser.parse_args()

    worst = check_same_losses()
    rows = {
        "compiled: `program.step` (SGD on arrays, Values synced)": fast_seconds(args.repeat),
        "compiled: `loss_and_grad` on a parameter array": fast_arrays_seconds(args.repeat),
        "compiled: `program(X, y)` + SGD on Values": fast_values_seconds(args.repeat),
        "Value engine": engine_seconds(args.engine_repeat),
        "PyTorch batched float64 (`X @ W`, autograd)": torch_seconds(args.repeat),
        "hand-written NumPy forward + backward": numpy_seconds(args.repeat),
    }
    torch_s = rows["PyTorch batched float64 (`X @ W`, autograd)"]
    numpy_s = rows["hand-written NumPy forward + backward"]
    print("Moons step: MLP(2, [16, 16, 1]), 100 points, hinge + L2, SGD (median per step)\n")
    print("| path | ms / step | × PyTorch | × NumPy |")
    print("|---|---:|---:|---:|")
    for name, s in rows.items():
        print(f"| {name} | {s * 1e3:.3f} | {s / torch_s:.2f} | {s / numpy_s:.2f} |")
    print(f"\ntrace + compile: {trace_compile_seconds() * 1e3:.0f} ms")
    print(f"largest relative difference between the paths' losses (3 steps): {worst:.1e}")


if __name__ == "__main__":
    main()
