"""Benchmark workloads, run one per subprocess by ``micrograd.bench``; prints one JSON object.

    python _bench_workloads.py VARIANT WORKLOAD REPEAT MIN_BATCH_SECONDS

Standalone on purpose: the ``ref`` variant runs it with only micrograd 0.1.0 on ``sys.path``, so
at module level it imports the standard library alone, and every workload imports ``micrograd``
(whichever one is on the path), NumPy or PyTorch inside the function that needs it.
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
from typing import Any

ALPHA = 1e-4  # the moons demo's L2 weight
LR = 0.1  # the benchmark step's SGD learning rate
SEED = 1337
CHAIN = 1_000_000

Result = dict[str, Any]


class Steps:
    """A workload that takes ``steps`` training steps at each call (``fn`` returns the first
    step's loss); ``time_it`` reports its seconds per step."""

    def __init__(self, fn: Callable[[], float], steps: int) -> None:
        self.fn, self.steps = fn, steps

    def __call__(self) -> float:
        return self.fn()


def time_it(fn: Callable[[], object], repeat: int, min_batch_seconds: float) -> tuple[float, int]:
    """Median over ``repeat`` batches of the mean seconds per call, and the batch size.

    One warm-up call sizes the batch to last at least ``min_batch_seconds``. Timing whole batches
    keeps the garbage collector's work in the figure: a median of single calls would skip exactly
    the calls during which the collector ran. A ``Steps`` takes several steps a call: its
    seconds are per step.
    """
    per_call = fn.steps if isinstance(fn, Steps) else 1
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    batch = max(1, math.ceil(min_batch_seconds / first)) if first > 0 else 1000
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t0) / (batch * per_call))
    return statistics.median(times), batch


# --- seed 002: micrograd's README expression, on anything with micrograd's operators ---


def seed002_expression(a: Any, b: Any) -> Any:
    """Seed 002's expression of ``a`` and ``b`` (``x += y`` spelled ``x = x + y``, as Values do)."""
    c = a + b
    d = a * b + b**3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + (b + a).relu())
    d = d + (3 * d + (b - a).relu())
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def value_seed002() -> Callable[[], float]:
    """Seed 002 on micrograd Values (ours or the reference): forward and backward."""
    from micrograd.engine import Value

    def run() -> float:
        g = seed002_expression(Value(-4.0), Value(2.0))
        g.backward()
        return float(g.data)

    return run


def torch_scalar_seed002() -> Callable[[], float]:
    """Seed 002 in PyTorch, one 0-dim float64 tensor per scalar: forward and backward."""
    import torch

    def run() -> float:
        a = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        g = seed002_expression(a, b)
        g.backward()
        return float(g.item())

    return run


# --- the moons step: MLP(2, [16, 16, 1]), 100 points, hinge + 1e-4 L2, one SGD update ---


def moons_data(n: int = 100, seed: int = SEED) -> tuple[list[list[float]], list[int]]:
    """Two interleaved half-moons with noise 0.1 and labels ±1 (deterministic, pure Python)."""
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


def demo_model(width: int = 16) -> Any:
    """The demo's seeded ``MLP(2, [width, width, 1])`` from whichever micrograd is on the path."""
    from micrograd.nn import MLP

    random.seed(SEED)
    return MLP(2, [width, width, 1])


def demo_loss(scores: list[Any], y: list[Any], params: list[Any]) -> Any:
    """The demo's loss as its notebook writes it: mean hinge plus ``1e-4 * Σp²``."""
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in params)
    return data_loss + reg_loss


def weight_lists(model: Any) -> list[Any]:
    """The model's weights as nested lists ``[W1, b1, W2, b2, W3, b3]``, each ``W`` (in, out)."""
    arrays: list[Any] = []
    for layer in model.layers:
        neurons = layer.neurons
        arrays.append([[n.w[i].data for n in neurons] for i in range(len(neurons[0].w))])
        arrays.append([n.b.data for n in neurons])
    return arrays


def plain_loop_step(value: Any, model: Any) -> Callable[[], float]:
    """A step of the demo's own loop as a user writes it (no ``fit()``, no ``gc_paused``):
    forward, zero the grads, backward, SGD; ``value`` is the engine's scalar class."""
    X, y = moons_data()
    params = model.parameters()

    def step() -> float:
        inputs = [list(map(value, xrow)) for xrow in X]
        scores = [model(x) for x in inputs]
        return value_sgd(demo_loss(scores, y, params), params)

    return step


def value_sgd(total: Any, params: list[Any]) -> float:
    """Zero the grads, backward from ``total``, one SGD step on the Values; the loss."""
    for p in params:
        p.grad = 0.0
    total.backward()
    for p in params:
        p.data -= LR * p.grad
    return float(total.data)


def value_moons_step(width: int = 16) -> Callable[[], float]:
    """The demo's step on micrograd Values, written against micrograd 0.1.0's API only."""
    from micrograd.engine import Value

    return plain_loop_step(Value, demo_model(width))


def tape_moons_step(width: int = 16) -> Callable[[], float]:
    """The same step on the minimal tape engine (``benchmarks/tape_engine.py``): the limit."""
    import tape_engine  # type: ignore[import-not-found]  # on the path for this variant alone

    random.seed(SEED)
    return plain_loop_step(tape_engine.Value, tape_engine.MLP(2, [width, width, 1]))


def compiled_moons_step(read_labels: bool = False) -> Callable[[], float]:
    """Our compiled path: the demo loss traced once, ``program.step`` with SGD on arrays.

    ``read_labels``: the loss first checks its labels with ``float()``, as ``hinge_loss`` checks
    number labels. Each read is a guard, checked at every step: 100 of them, which always hold.
    """
    import numpy as np

    from micrograd import fast

    model = demo_model()
    X, y = moons_data()
    params = model.parameters()

    def loss(scores: list[Any], labels: list[Any]) -> Any:
        if read_labels and not all(abs(float(t)) == 1.0 for t in labels):
            raise ValueError("the labels must be -1 or 1")
        return demo_loss(scores, labels, params)

    program = fast.compile_model(model, loss, X, y)
    if read_labels and f"{len(y)} numbers read" not in program.guards[0]:
        raise AssertionError(f"not one guard per label: {program.guards}")
    Xa, ya = np.array(X), np.array(y, dtype=np.float64)
    optimizer = fast.ArraySGD(lr=LR)
    return lambda: program.step(Xa, ya, optimizer=optimizer)


def torch_sgd(total: Any, params: list[Any]) -> float:
    """Backward from ``total`` into fresh grads, then one SGD step on PyTorch tensors."""
    import torch

    for p in params:
        p.grad = None
    total.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
    return float(total.item())


def compiled_array_moons_step(backend: str = "numpy", n: int = 100) -> Callable[[], float]:
    """Our compiled path as a training loop on arrays: ``loss_and_grad`` and ``ArraySGD`` update
    one parameter array (``Program.theta()``); no Value is written per step (``load`` writes
    them when wanted). ``backend``: ``"numpy"`` (the default path) or ``"jax"`` (``jax.jit``)."""
    import numpy as np

    from micrograd import fast

    model = demo_model()
    X, y = moons_data(n)
    params = model.parameters()
    program = fast.compile_model(model, lambda s, t: demo_loss(s, t, params), X, y, backend=backend)
    Xa, ya = np.array(X), np.array(y, dtype=np.float64)
    theta, optimizer = program.theta(), fast.ArraySGD(lr=LR)

    def step() -> float:
        loss, grad = program.loss_and_grad(theta, Xa, ya)
        optimizer.update(theta, grad)
        return loss

    return step


RUN_STEPS = 100  # steps a call of the workloads that run several steps at once (``Steps``)


def compiled_jax_run_moons_step(n: int = 100) -> Callable[[], float]:
    """Our JAX backend's ``Program.run`` of ``RUN_STEPS`` SGD steps a call: each step's loss,
    gradient and update in one jitted call, the parameters JAX arrays between steps; the losses
    are read (and the Values written) when the run ends."""
    import numpy as np

    from micrograd import fast

    model = demo_model()
    X, y = moons_data(n)
    params = model.parameters()
    program = fast.compile_model(model, lambda s, t: demo_loss(s, t, params), X, y, backend="jax")
    Xa, ya = np.array(X), np.array(y, dtype=np.float64)
    optimizer = fast.ArraySGD(lr=LR)
    return Steps(lambda: program.run(RUN_STEPS, Xa, ya, optimizer=optimizer)[0], RUN_STEPS)


def jax_moons_step(n: int = 100, read_at_end: bool = False) -> Callable[[], float]:
    """Hand-written JAX: the same forward, ``jax.value_and_grad`` and the SGD update in one
    ``jax.jit``, float64 on one CPU thread (the harness sets ``XLA_FLAGS``). Each step reads its
    loss (``float``), or with ``read_at_end`` a call takes ``RUN_STEPS`` steps and reads their
    losses at the end, as ``Program.run`` does (JAX dispatches the next step meanwhile)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    cpu = jax.devices("cpu")[0]
    params = [jax.device_put(np.array(a), cpu) for a in weight_lists(demo_model())]
    X, y = moons_data(n)
    Xj = jax.device_put(np.array(X), cpu)
    yj = jax.device_put(np.array(y, dtype=np.float64), cpu)

    def loss(ps: list[Any], X: Any, y: Any) -> Any:
        W1, b1, W2, b2, W3, b3 = ps
        h1 = jnp.maximum(X @ W1 + b1, 0.0)
        h2 = jnp.maximum(h1 @ W2 + b2, 0.0)
        scores = (h2 @ W3 + b3)[:, 0]
        return jnp.maximum(1.0 - y * scores, 0.0).mean() + ALPHA * sum((p * p).sum() for p in ps)

    @jax.jit
    def update(ps: list[Any], X: Any, y: Any) -> tuple[Any, list[Any]]:
        value, grads = jax.value_and_grad(loss)(ps, X, y)
        return value, [p - LR * g for p, g in zip(ps, grads)]

    def step() -> float:
        value, params[:] = update(params, Xj, yj)
        return float(value)

    if not read_at_end:
        return step

    def steps() -> float:
        values = []
        for _ in range(RUN_STEPS):
            value, params[:] = update(params, Xj, yj)
            values.append(value)
        return float(values[0])

    return Steps(steps, RUN_STEPS)


def torch_moons_step(n: int = 100) -> Callable[[], float]:
    """PyTorch batched float64 (``X @ W``, autograd): the same weights, loss and update."""
    import torch

    params: list[Any] = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in weight_lists(demo_model())
    ]
    W1, b1, W2, b2, W3, b3 = params
    X, y = moons_data(n)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)

    def step() -> float:
        h1 = torch.relu(Xt @ W1 + b1)
        h2 = torch.relu(h1 @ W2 + b2)
        scores = (h2 @ W3 + b3)[:, 0]
        data_loss = torch.relu(1 - yt * scores).mean()
        reg_loss = ALPHA * sum((p * p).sum() for p in params)
        total: Any = data_loss + reg_loss
        return torch_sgd(total, params)

    return step


def torch_scalar_moons_step() -> Callable[[], float]:
    """PyTorch op by op, one 0-dim float64 tensor per scalar, as micrograd builds its graph."""
    import torch

    def scalar(x: float, grad: bool) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=grad)

    layers = [
        [([scalar(w.data, True) for w in n.w], scalar(n.b.data, True)) for n in layer.neurons]
        for layer in demo_model().layers
    ]
    params = [p for layer in layers for w, b in layer for p in (*w, b)]
    X, y = moons_data()

    def forward(x: list[Any]) -> Any:
        for k, layer in enumerate(layers):
            acts = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = [a.relu() for a in acts] if k < len(layers) - 1 else acts
        return x[0]

    def step() -> float:
        inputs = [[scalar(v, False) for v in xrow] for xrow in X]
        total = demo_loss([forward(x) for x in inputs], y, params)
        return torch_sgd(total, params)

    return step


def numpy_moons_step(n: int = 100) -> Callable[[], float]:
    """Hand-written NumPy: the same forward, its backward derived by hand, SGD."""
    import numpy as np

    params = [np.array(a, dtype=np.float64) for a in weight_lists(demo_model())]
    W1, b1, W2, b2, W3, b3 = params
    X, y = moons_data(n)
    Xa, ya = np.array(X), np.array(y, dtype=np.float64)
    n = len(ya)

    def step() -> float:
        z1 = Xa @ W1 + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2 + b2
        h2 = np.maximum(z2, 0.0)
        scores = h2 @ W3[:, 0] + b3[0]
        margins = 1.0 - ya * scores
        loss = np.maximum(margins, 0.0).sum() / n + ALPHA * sum(
            float((p * p).sum()) for p in params
        )
        ds = np.where(margins > 0.0, -ya, 0.0) / n  # d loss / d score
        dz2 = np.outer(ds, W3[:, 0]) * (z2 > 0.0)
        dz1 = (dz2 @ W2.T) * (z1 > 0.0)
        # Any: arrays and one scalar, which NumPy 2.5's stubs would not add to an array
        grads: list[Any] = [Xa.T @ dz1, dz1.sum(0), h1.T @ dz2, dz2.sum(0), h2.T @ ds[:, None]]
        grads.append(ds.sum())
        for p, g in zip(params, grads):
            p -= LR * (g + 2.0 * ALPHA * p)
        return float(loss)

    return step


MOONS_STEPS: dict[str, Callable[[], Callable[[], float]]] = {
    "ref": value_moons_step,
    "value": value_moons_step,
    "tape": tape_moons_step,
    "compiled": compiled_moons_step,
    "compiled_guarded": lambda: compiled_moons_step(read_labels=True),
    "torch": torch_moons_step,
    "torch_scalar": torch_scalar_moons_step,
    "numpy": numpy_moons_step,
    "compiled_arrays": compiled_array_moons_step,
    "compiled_jax": lambda: compiled_array_moons_step("jax"),
    "compiled_jax_run": compiled_jax_run_moons_step,
    "jax": jax_moons_step,
    "jax_run": lambda: jax_moons_step(read_at_end=True),
}
# The moons step at batch 10,000 (width 16): where JAX's fusion of the elementwise work counts.
BATCH_STEPS: dict[str, Callable[[int], Callable[[], float]]] = {
    "compiled_arrays": lambda n: compiled_array_moons_step("numpy", n),
    "compiled_jax": lambda n: compiled_array_moons_step("jax", n),
    "compiled_jax_run": compiled_jax_run_moons_step,
    "numpy": numpy_moons_step,
    "jax": jax_moons_step,
    "jax_run": lambda n: jax_moons_step(n, read_at_end=True),
    "torch": torch_moons_step,
}
BATCHES = {"moons_batch_10k": 10_000}


# workload -> (the hidden layers' width, whether the cyclic garbage collector runs)
MOONS_SIZES: dict[str, tuple[int, bool]] = {
    "moons_step": (16, True),
    "moons_step_gc_off": (16, False),
    "moons64": (64, True),
    "moons64_gc_off": (64, False),
}
SCALAR_STEPS: dict[str, Callable[[int], Callable[[], float]]] = {
    "ref": value_moons_step,
    "value": value_moons_step,
    "tape": tape_moons_step,
}


def microgpt_documents(count: int, seed: int, vocab_size: int = 27) -> list[list[int]]:
    """``count`` name-like documents: ``[bos, 3 to 8 letters, bos]``, ``bos = vocab_size - 1``."""
    rng = random.Random(seed)
    bos = vocab_size - 1
    return [
        [bos, *(rng.randrange(bos) for _ in range(rng.randrange(3, 9))), bos] for _ in range(count)
    ]


def microgpt_step(variant: str) -> Callable[[], float]:
    """One microgpt training step (Adam, betas 0.85/0.99) on the next of 64 name-like documents.

    ``micrograd.gpt.GPT`` and the steps ``micrograd gpt train`` takes: ``value``, the Value
    engine's ``value_step``; ``compiled``, the ``fast`` engine's (one program of the padded
    loss, traced by the first step before the timing; Adam on arrays, no Value written).
    """
    from micrograd.gpt.model import GPT
    from micrograd.gpt.train import STEPPERS, make_optimizer

    if variant == "compiled":
        from micrograd.fast._gpt import register

        register()
    random.seed(SEED)
    model = GPT(27)
    step = STEPPERS["fast" if variant == "compiled" else "value"](model, make_optimizer(model))
    docs = microgpt_documents(64, SEED)
    if variant == "compiled":  # as `gpt train` does: pad to the longest document's predictions
        step.pad_to(max(len(d) for d in docs) - 1)  # type: ignore[attr-defined]
    at = [0]

    def one_step() -> float:
        doc = docs[at[0] % len(docs)]
        at[0] += 1
        return step(doc, 0.01)

    return one_step


def trace_compile_seconds() -> float:
    """Seconds to trace the demo loss and compile it, the first time in a fresh process."""
    from micrograd import fast

    model = demo_model()
    X, y = moons_data()
    params = model.parameters()
    t0 = time.perf_counter()
    fast.compile_model(model, lambda s, t: demo_loss(s, t, params), X, y)
    return time.perf_counter() - t0


def trace_compile_per_node(width: int) -> tuple[float, int]:
    """Seconds a node to trace and compile the demo loss at ``width`` (128: 3.4M nodes), and
    the number of nodes (counted after, on the Value engine's graph of the same loss)."""
    from micrograd import fast
    from micrograd.engine import Value, gc_paused, topological_order

    model = demo_model(width)
    X, y = moons_data()
    params = model.parameters()
    t0 = time.perf_counter()
    program = fast.compile_model(model, lambda s, t: demo_loss(s, t, params), X, y)
    seconds = time.perf_counter() - t0
    del program
    with gc_paused():
        loss = demo_loss([model(list(map(Value, row))) for row in X], y, params)
        nodes = len(topological_order(loss))
    return seconds / nodes, nodes


# --- makemore's character MLP: 27 characters, embedding 8, context 3, hidden 64 tanh ---

MAKEMORE = {"vocab": 27, "embed": 8, "context": 3, "hidden": 64, "batch": 32}


def makemore_batches(count: int = 64, seed: int = SEED) -> list[tuple[list[list[int]], list[int]]]:
    """``count`` minibatches of (3 previous characters, next character) drawn from the shipped
    sample of names, as makemore's MLP trains on them ('.' is 0 and pads each name's start)."""
    from micrograd.gpt.data import sample_names

    names = sample_names()
    stoi = {c: i + 1 for i, c in enumerate(sorted({c for name in names for c in name}))}
    contexts, nexts = [], []
    for name in names:
        context = [0] * MAKEMORE["context"]
        for ix in [stoi[c] for c in name] + [0]:
            contexts.append(context)
            nexts.append(ix)
            context = [*context[1:], ix]
    if len(stoi) + 1 > MAKEMORE["vocab"]:
        raise AssertionError(f"the names use {len(stoi)} characters")
    rng = random.Random(seed)
    batches = []
    for _ in range(count):
        picks = [rng.randrange(len(contexts)) for _ in range(MAKEMORE["batch"])]
        batches.append(([contexts[i] for i in picks], [nexts[i] for i in picks]))
    return batches


def makemore_weights(seed: int = SEED) -> list[list[list[float]]]:
    """``[C, W1, b1, W2, b2]`` as nested lists (``W`` is (in, out), a bias one row), seeded as
    makemore initialises them: C ~ N(0, 1), W1 Kaiming for tanh, W2 and b1 small, b2 zero."""
    vocab, embed, hidden = MAKEMORE["vocab"], MAKEMORE["embed"], MAKEMORE["hidden"]
    fan_in = MAKEMORE["context"] * embed
    rng = random.Random(seed)

    def matrix(rows: int, cols: int, std: float) -> list[list[float]]:
        return [[rng.gauss(0.0, std) for _ in range(cols)] for _ in range(rows)]

    gain = (5 / 3) / math.sqrt(fan_in)
    return [
        matrix(vocab, embed, 1.0),
        matrix(fan_in, hidden, gain),
        matrix(1, hidden, 0.01),
        matrix(hidden, vocab, 0.01),
        [[0.0] * vocab],
    ]


def makemore_model() -> tuple[list[Any], Callable[[Any, Any], Any]]:
    """The MLP on micrograd Values: its parameters (C, W1, b1, W2, b2 row by row) and its loss
    ``(contexts, targets) -> cross_entropy`` (contexts and targets may be index inputs)."""
    from micrograd._lookup import lookup
    from micrograd.engine import Value
    from micrograd.losses import cross_entropy

    C, W1, b1, W2, b2 = [[list(map(Value, row)) for row in w] for w in makemore_weights()]
    params = [p for w in (C, W1, b1, W2, b2) for row in w for p in row]
    W1t, W2t = [list(c) for c in zip(*W1)], [list(c) for c in zip(*W2)]

    def layer(x: list[Any], weights: list[list[Any]], bias: list[Any]) -> list[Any]:
        return [sum((w * xi for w, xi in zip(col, x)), b) for col, b in zip(weights, bias)]

    def loss(contexts: list[list[Any]], targets: list[Any]) -> Any:
        logits = []
        for context in contexts:
            emb = [v for i in context for v in lookup(C, i)]
            hidden = [h.tanh() for h in layer(emb, W1t, b1[0])]
            logits.append(layer(hidden, W2t, b2[0]))
        return cross_entropy(logits, targets)

    return params, loss


def makemore_step(variant: str) -> Callable[[], float]:
    """One SGD step (lr 0.1) of makemore's MLP on the next of 64 minibatches of 32.

    ``value``: the Value engine, ``backward()``. ``compiled``: the loss traced once with
    contexts and targets as index inputs (embedding rows and target logits are gathers), then
    ``loss_and_grad`` and ``ArraySGD`` on one parameter array. ``torch``: PyTorch batched
    float64, ``C[X]``, two matmuls, ``F.cross_entropy``; the same weights and batches.
    """
    batches = makemore_batches()
    at = [0]

    def next_batch() -> tuple[list[list[int]], list[int]]:
        at[0] += 1
        return batches[(at[0] - 1) % len(batches)]

    if variant == "torch":
        return torch_makemore_step(next_batch)
    params, loss = makemore_model()
    if variant == "value":
        return lambda: value_sgd(loss(*next_batch()), params)
    import numpy as np

    from micrograd import fast

    program = fast.trace(loss, params, *batches[0], indices=[0, 1])
    program.retrace = False  # a trace while timed would be a bug: it raises instead
    arrays = [(np.array(x), np.array(y)) for x, y in batches]
    theta = program.theta()
    on_arrays = fast.ArraySGD(lr=LR)

    def compiled_step() -> float:
        at[0] += 1
        total, grad = program.loss_and_grad(theta, *arrays[(at[0] - 1) % len(arrays)])
        on_arrays.update(theta, grad)
        return total

    return compiled_step


def torch_makemore_step(
    next_batch: Callable[[], tuple[list[list[int]], list[int]]],
) -> Callable[[], float]:
    """makemore's MLP in PyTorch batched float64 on the batches ``next_batch`` gives."""
    import torch

    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in makemore_weights()]
    C, W1, b1, W2, b2 = params
    cache: dict[int, tuple[Any, Any]] = {}

    def step() -> float:
        contexts, targets = next_batch()
        if id(contexts) not in cache:  # tensors made once per batch, as a DataLoader's are
            cache[id(contexts)] = (torch.tensor(contexts), torch.tensor(targets))
        X, Y = cache[id(contexts)]
        h = torch.tanh(C[X].view(X.shape[0], -1) @ W1 + b1)
        total = torch.nn.functional.cross_entropy(h @ W2 + b2, Y)
        return torch_sgd(total, params)

    return step


# --- a deep chain, memory per node, and the demo's training loop ---


def value_chain() -> None:
    """Backpropagate through a chain of a million additions of micrograd Values."""
    from micrograd.engine import Value

    x = v = Value(1.0)
    one = Value(1.0)
    for _ in range(CHAIN):
        x = x + one
    x.backward()
    if v.grad != 1.0:
        raise AssertionError(f"d chain / d start is {v.grad}, not 1")


def torch_scalar_chain() -> None:
    """Backpropagate through a chain of a million additions of 0-dim float64 tensors."""
    import torch

    x: Any = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    v = x
    one = torch.tensor(1.0, dtype=torch.float64)
    for _ in range(CHAIN):
        x = x + one
    x.backward()
    if v.grad is None or float(v.grad) != 1.0:
        raise AssertionError(f"d chain / d start is {v.grad}, not 1")


def bytes_per_node(n: int = 100_000) -> float:
    """Bytes allocated per interior ``a + b`` node, measured with tracemalloc."""
    from micrograd.engine import Value

    a, b = Value(1.0), Value(2.0)
    gc.collect()
    tracemalloc.start()
    nodes = [a + b for _ in range(n)]
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del nodes
    return (size - 8 * n) / n  # less the list's own pointer per node


def demo_training(steps: int = 100) -> Result:
    """micrograd's moons demo loop as its notebook writes it: lr from 1.0 down by 0.9 over 100."""
    from micrograd.engine import Value

    model = demo_model()
    X, y = moons_data()
    loss = acc = 0.0
    for k in range(steps):
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        total = demo_loss(scores, y, model.parameters())
        acc = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
        model.zero_grad()
        total.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        loss = float(total.data)
    return {"loss": loss, "accuracy": acc}


def run(variant: str, workload: str, repeat: int, min_batch_seconds: float) -> Result:
    """Run one workload on one variant and return its measurement as a JSON-ready dict."""
    result: Result = {}
    if variant in ("ref", "value") or variant.startswith("compiled"):
        import micrograd

        result["package"] = micrograd.__file__
    if workload == "seed002":
        fn = torch_scalar_seed002() if variant == "torch_scalar" else value_seed002()
        result["check"] = fn()
        result["seconds"], result["batch"] = time_it(fn, repeat, min_batch_seconds)
    elif workload in BATCHES:
        step = BATCH_STEPS[variant](BATCHES[workload])
        result["check"] = step()
        result["seconds"], result["batch"] = time_it(step, repeat, min_batch_seconds)
    elif workload in MOONS_SIZES:
        width, collecting = MOONS_SIZES[workload]
        if not collecting:
            gc.disable()  # on every side alike: the engine's own work alone
        step = MOONS_STEPS[variant]() if width == 16 else SCALAR_STEPS[variant](width)
        try:
            result["check"] = step()  # the first step's loss: every path starts from the same one
        except RecursionError:  # micrograd 0.1.0's recursive walk, on a deep graph
            result["error"] = "RecursionError"
            return result
        result["seconds"], result["batch"] = time_it(step, repeat, min_batch_seconds)
    elif workload in ("microgpt_step", "makemore_step"):
        step = (microgpt_step if workload == "microgpt_step" else makemore_step)(variant)
        result["check"] = step()  # the first batch's loss, from the same weights
        result["seconds"], result["batch"] = time_it(step, repeat, min_batch_seconds)
    elif workload == "trace_compile":
        result["seconds"] = trace_compile_seconds()
    elif workload == "trace_compile_large":
        # Seconds a node; --quick (a short min_batch) keeps to width 32 (230k nodes).
        width = 128 if min_batch_seconds >= 0.1 else 32
        result["seconds"], result["check"] = trace_compile_per_node(width)
    elif workload == "chain_1e6":
        chain = torch_scalar_chain if variant == "torch_scalar" else value_chain
        try:
            t0 = time.perf_counter()
            chain()
            result["seconds"] = time.perf_counter() - t0
        except RecursionError:
            result["error"] = "RecursionError"
    elif workload == "bytes_per_node":
        result["bytes"] = bytes_per_node()
    elif workload == "train_100":
        result.update(demo_training())
    else:
        raise ValueError(f"unknown workload {workload!r}")
    return result


if __name__ == "__main__":
    variant_, workload_, repeat_, min_batch_ = sys.argv[1:5]
    print(json.dumps(run(variant_, workload_, int(repeat_), float(min_batch_))))
