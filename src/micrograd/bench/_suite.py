"""What the suite measures: the paths (variants), the workloads, and the issues' targets."""

from __future__ import annotations

from dataclasses import dataclass, field

from micrograd import _check as check

REFERENCE = "micrograd==0.1.0"

# variant -> how the tables name it
VARIANTS: dict[str, str] = {
    "ref": "micrograd 0.1.0",
    "value": "ours: Value engine",
    "tape": "minimal tape engine (`benchmarks/`: the limit)",
    "compiled": "ours: compiled (`micrograd.fast`)",
    "compiled_guarded": "ours: compiled, the loss reads its 100 labels (100 guards)",
    "torch": "PyTorch batched float64",
    "torch_scalar": "PyTorch scalar, op by op",
    "numpy": "hand-written NumPy",
    "compiled_arrays": "ours: compiled, array loop (`loss_and_grad`, `ArraySGD`; no Value written)",
    "compiled_jax": 'ours: compiled, `backend="jax"`, array loop',
    "compiled_jax_run": 'ours: compiled, `backend="jax"`, `Program.run` (jitted loops of up to '
    "128 steps, update inside; losses read at the end)",
    "jax": "hand-written JAX `jit` float64",
    "jax_run": "hand-written JAX `jit` float64, losses read at the end of 100 steps",
}


@dataclass(frozen=True)
class Workload:
    """One benchmarked task: which variants run it, how often, and what it measures."""

    title: str
    variants: tuple[str, ...]
    repeat: int = 1  # timed batches inside one subprocess (it reports their median)
    unit: str = "seconds"  # or "bytes"
    # variant -> most runs it gets in a suite (slow ones would otherwise dominate the wall time)
    max_runs: dict[str, int] = field(default_factory=dict)


WORKLOADS: dict[str, Workload] = {
    "seed002": Workload(
        "seed 002 expression, forward + backward", ("ref", "value", "torch_scalar"), repeat=5
    ),
    "moons_step": Workload(
        "moons step: MLP(2, [16, 16, 1]), 100 points, hinge + 1e-4 L2, SGD",
        (
            "ref",
            "value",
            "tape",
            "compiled",
            "compiled_guarded",
            "compiled_arrays",
            "compiled_jax",
            "compiled_jax_run",
            "torch",
            "torch_scalar",
            "numpy",
            "jax",
            "jax_run",
        ),
        repeat=3,
    ),
    "moons_batch_10k": Workload(
        "moons step at batch 10,000: MLP(2, [16, 16, 1]), hinge + 1e-4 L2, SGD",
        ("compiled_arrays", "compiled_jax", "compiled_jax_run", "numpy", "jax", "jax_run", "torch"),
        repeat=3,
    ),
    # The scalar engines in the demo's plain loop, each with Python's cyclic garbage collector
    # off as well as on (it is most of a step on both sides), and at width 64 (880k nodes).
    "moons_step_gc_off": Workload(
        "moons step, garbage collector off", ("ref", "value", "tape"), repeat=3
    ),
    "moons64": Workload(
        "moons step at width 64: MLP(2, [64, 64, 1]), 880k nodes",
        ("ref", "value", "tape"),
        max_runs={"ref": 1},
    ),
    "moons64_gc_off": Workload(
        "moons step at width 64, garbage collector off",
        ("ref", "value", "tape"),
        max_runs={"ref": 1},
    ),
    "trace_compile": Workload("moons: trace + compile, first time in a process", ("compiled",)),
    "trace_compile_large": Workload(
        "moons at width 128 (3.4M nodes): trace + compile, a node (--quick: width 32)",
        ("compiled",),
        max_runs={"compiled": 1},
    ),
    "microgpt_step": Workload(
        "microgpt step: `micrograd.gpt.GPT` (4,192 parameters), one 3-8 letter document, Adam "
        "(`gpt train`'s steps: compiled = one padded program, Adam on arrays)",
        ("value", "compiled"),
        repeat=3,
    ),
    "gpt_train_1000": Workload(
        "whole process: `micrograd gpt train --engine fast --steps 1000 --no-plots` (names), "
        "on compiled bytecode as an installed package is (one untimed run fills the cache)",
        ("compiled",),
    ),
    "makemore_step": Workload(
        "makemore MLP step: 27 characters, embedding 8, context 3, hidden 64 tanh, batch 32, "
        "cross-entropy, SGD",
        ("value", "compiled", "torch"),
        repeat=3,
        max_runs={"value": 1},
    ),
    "chain_1e6": Workload(
        "1e6-deep chain of additions, forward + backward",
        ("ref", "value", "torch_scalar"),
        max_runs={"torch_scalar": 2},
    ),
    "bytes_per_node": Workload(
        "bytes per interior `a + b` node (tracemalloc)", ("ref", "value"), unit="bytes"
    ),
    # micrograd 0.1.0 takes minutes here: one run of it, against every round of ours.
    "train_100": Workload(
        "whole process: `micrograd train --steps 100 --no-plots` (0.1.0: the demo's loop)",
        ("ref", "value", "compiled"),
        max_runs={"ref": 1},
    ),
}


@dataclass(frozen=True)
class Target:
    """A goal from the issue: ``numerator / denominator`` (or one median) against a bound."""

    title: str
    goal: str
    workload: str
    variant: str
    over: str | None  # the variant to divide by; None compares the median itself
    at_least: float | None = None
    at_most: float | None = None


TARGETS: tuple[Target, ...] = (
    Target(
        "moons step, Value engine vs micrograd 0.1.0",
        "≥ 30× faster",
        "moons_step",
        "ref",
        "value",
        at_least=30.0,
    ),
    Target(
        "moons step, collector off on both sides, Value engine vs micrograd 0.1.0",
        "≥ 4× faster",
        "moons_step_gc_off",
        "ref",
        "value",
        at_least=4.0,
    ),
    *(
        Target(
            f"{what}, Value engine vs the minimal tape engine",
            "at most 1.3× slower",
            name,
            "tape",
            "value",
            at_least=1 / 1.3,
        )
        for name, what in (
            ("moons_step", "moons step, collector on"),
            ("moons_step_gc_off", "moons step, collector off"),
            ("moons64", "moons step at width 64, collector on"),
            ("moons64_gc_off", "moons step at width 64, collector off"),
        )
    ),
    Target(
        "seed 002 expression, Value engine vs micrograd 0.1.0",
        "≥ 3.5× faster",
        "seed002",
        "ref",
        "value",
        at_least=3.5,
    ),
    Target(
        "bytes per interior `a + b` node, ours",
        "≤ 120 B",
        "bytes_per_node",
        "value",
        None,
        at_most=120.0,
    ),
    Target(
        "moons step, compiled vs PyTorch batched float64",
        "no slower (≥ 1×)",
        "moons_step",
        "torch",
        "compiled",
        at_least=1.0,
    ),
    Target(
        "moons step, compiled vs hand-written NumPy",
        "at most 3× slower",
        "moons_step",
        "numpy",
        "compiled",
        at_least=1 / 3,
    ),
    Target(
        "moons step, compiled array loop (the NumPy path) vs hand-written NumPy (issue 13)",
        "at most 1.2× slower",
        "moons_step",
        "numpy",
        "compiled_arrays",
        at_least=1 / 1.2,
    ),
    Target(
        "moons step, compiled array loop (the NumPy path) vs hand-written JAX `jit` (issue 13)",
        "no slower (≥ 1×)",
        "moons_step",
        "jax",
        "compiled_arrays",
        at_least=1.0,
    ),
    *(
        Target(
            f'moons step, compiled with `backend="jax"` (optional; not the default path) vs '
            f"{VARIANTS[over]} (issue 13)",
            goal,
            "moons_step",
            over,
            "compiled_jax",
            at_least=bound,
        )
        for over, goal, bound in (
            ("numpy", "at most 1.2× slower", 1 / 1.2),
            ("jax", "no slower (≥ 1×)", 1.0),
        )
    ),
    Target(
        "moons step at batch 10,000, compiled array loop (the NumPy path) vs hand-written JAX "
        "`jit` (issue 13)",
        "no slower (≥ 1×)",
        "moons_batch_10k",
        "jax",
        "compiled_arrays",
        at_least=1.0,
    ),
    Target(
        'moons step at batch 10,000, compiled with `backend="jax"` (optional; not the default '
        "path) vs hand-written JAX `jit` (issue 13)",
        "no slower (≥ 1×)",
        "moons_batch_10k",
        "jax",
        "compiled_jax",
        at_least=1.0,
    ),
    Target(
        'moons step, `Program.run` with `backend="jax"` (optional; not the default path) vs '
        "hand-written NumPy (issue 13)",
        "at most 1.2× slower",
        "moons_step",
        "numpy",
        "compiled_jax_run",
        at_least=1 / 1.2,
    ),
    # Program.run on the JAX backend (steps in jitted loops, losses read when the run ends)
    # against the hand-written step that reads each loss (the row), and against the same
    # hand-written jit read as run reads (like for like: JAX dispatches ahead in both).
    *(
        Target(
            f'{title}, `Program.run` with `backend="jax"` (optional; not the default path) vs '
            f"{VARIANTS[over]} (issue 13)",
            "no slower (≥ 1×)",
            workload,
            over,
            "compiled_jax_run",
            at_least=1.0,
        )
        for workload, title in (("moons_step", "moons step"), ("moons_batch_10k", "batch 10,000"))
        for over in ("jax", "jax_run")
    ),
    Target(
        "moons step, compiled: what 100 guards cost (the loss reads its labels)",
        "at most 1.1× slower",
        "moons_step",
        "compiled",
        "compiled_guarded",
        at_least=1 / 1.1,
    ),
    *(
        Target(
            f"microgpt step, {path}, vs microgpt's 0.45 s a step (issue 11's measurement of "
            "microgpt's script, which is not installable here: PyPI's `microgpt` is another "
            "project)",
            goal,
            "microgpt_step",
            variant,
            None,
            at_most=0.45 / times,
        )
        for path, variant, goal, times in (
            ("Value engine", "value", "≤ 90 ms (≥ 5× faster)", 5.0),
            ("compiled", "compiled", "≤ 0.9 ms (≥ 500× faster)", 500.0),
        )
    ),
    Target(
        "1,000 steps of `micrograd gpt train --engine fast`, whole process, vs microgpt's 450 s "
        "(issue 11's measurement of microgpt's script, 0.45 s a step; the script is not "
        "installable here: PyPI's `microgpt` is another project)",
        "≤ 2.25 s (≥ 200× faster)",
        "gpt_train_1000",
        "compiled",
        None,
        at_most=2.25,
    ),
    Target(
        "makemore MLP step, compiled vs PyTorch batched float64 (issue 11)",
        "at most 1.5× slower",
        "makemore_step",
        "torch",
        "compiled",
        at_least=1 / 1.5,
    ),
    Target(
        "moons trace + compile",
        "≤ 0.5 s",
        "trace_compile",
        "compiled",
        None,
        at_most=0.5,
    ),
    Target(
        "trace + compile a node at 3.4M nodes, linear in the graph (issue 13)",
        "≤ 2 µs a node",
        "trace_compile_large",
        "compiled",
        None,
        at_most=2e-6,
    ),
)


def _check_pair(workload: object, variant: object, name: str = "variant") -> None:
    """Refuse a workload or a variant (argument ``name``) that the benchmark does not have."""
    check.choice("workload", workload, tuple(WORKLOADS))
    check.choice(name, variant, tuple(VARIANTS))
