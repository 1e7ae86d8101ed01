"""The benchmark suite behind ``micrograd bench``: our engine against micrograd 0.1.0 and PyTorch.

Every measurement runs in a fresh subprocess, and the subprocesses take turns round after round
so that a noisy machine slows every path alike. The reference runs with only its own folder on
``sys.path`` (``python -S``), so the two ``micrograd`` packages never meet. Prints Markdown
tables of medians and ratios; ratios are always taken within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import micrograd
from micrograd import _check as check
from micrograd._extras import install_hint

__all__ = [
    "REFERENCE",
    "TARGETS",
    "VARIANTS",
    "WORKLOADS",
    "Report",
    "Target",
    "Workload",
    "ensure_reference",
    "main",
    "measure",
    "run_suite",
]

REFERENCE = "micrograd==0.1.0"
SCRIPT = Path(__file__).with_name("_bench_workloads.py")
# Runs the workload script by path without putting its folder (our package) on sys.path.
BOOT = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    # JAX: one thread. (XLA reads no flag after a word without "--", such as
    # "intra_op_parallelism_threads=1", once here and no XLA flag.)
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
}
TIMEOUT = 1800.0  # seconds a single measurement may take before it is reported as an error

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


# --- the reference package, installed beside nothing of ours ---


def default_reference_dir() -> Path:
    """Where micrograd 0.1.0 is kept when no ``--reference-dir`` is given (a user cache)."""
    return _cache_dir() / "micrograd-0.1.0"


def _cache_dir() -> Path:
    """The benchmark's folder in the user's cache: ``$XDG_CACHE_HOME/micrograd/bench``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "micrograd" / "bench"


def ensure_reference(directory: Path) -> Path:
    """Install micrograd 0.1.0 into ``directory`` with pip unless it is there already.

    Raises RuntimeError, saying how to install it by hand, when pip cannot.
    """
    directory = Path(check.folder_path("directory", directory)).resolve()
    if (directory / "micrograd" / "engine.py").exists():
        if not (directory / "micrograd-0.1.0.dist-info").is_dir():
            raise RuntimeError(f"{directory} holds a micrograd that is not 0.1.0")
        return directory
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    cmd += ["--no-deps", REFERENCE, "--target", str(directory)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0 or not (directory / "micrograd" / "engine.py").exists():
        said = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(
            f"could not install {REFERENCE} into {directory} (pip said: {said[0]}). Install it "
            f"by hand, `pip install {REFERENCE} --target DIR`, and pass --reference-dir DIR."
        )
    return directory


# --- one measurement ---


def _ours_root() -> Path:
    """The folder that holds the ``micrograd`` package this harness was imported from."""
    return Path(micrograd.__file__).resolve().parent.parent


def _tape_dir() -> Path:
    """The source checkout's ``benchmarks/`` folder, which holds the minimal tape engine."""
    return _ours_root().parent / "benchmarks"


def _command(variant: str, reference: Path | None) -> tuple[list[str], dict[str, str]]:
    """The interpreter command line and environment that isolate one variant's package."""
    # One thread everywhere, as micrograd has: on a busy machine PyTorch's OpenMP threads wait
    # on each other (measured: a 0.5 ms batched step took 35-65 ms with two threads on 2 cores).
    env = {**os.environ, **SINGLE_THREAD}
    if variant == "ref":
        if reference is None:
            raise ValueError("the reference variant needs a reference directory")
        # -S: no site-packages, so neither our installed package nor NumPy/torch is importable.
        env["PYTHONPATH"] = str(reference)
        return [sys.executable, "-S", "-c", BOOT, str(SCRIPT)], env
    if variant == "tape":  # the standard library and benchmarks/tape_engine.py alone
        env["PYTHONPATH"] = str(_tape_dir())
        return [sys.executable, "-S", "-c", BOOT, str(SCRIPT)], env
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_ours_root()), os.environ.get("PYTHONPATH", "")) if p
    )
    return [sys.executable, "-c", BOOT, str(SCRIPT)], env


# The whole-process workloads whose bytecode cache this process has warmed.
_WARM: set[str] = set()


def _installed_bytecode(workload: str, env: dict[str, str], warm_up: list[str]) -> None:
    """Make a whole-process workload run as an installed package runs: on compiled bytecode.

    pip compiles a package's modules when it installs them, but a source checkout run with
    PYTHONDONTWRITEBYTECODE set (as CI shells often are) compiles every module again in every
    process (0.2-0.8 s here). The child keeps its bytecode in the benchmark's cache folder
    (PYTHONPYCACHEPREFIX, so the source tree stays clean), and ``warm_up``, a short run of the
    same command, fills that cache once per process before the timed runs.
    """
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(_cache_dir() / "pycache")
    if workload not in _WARM:
        with tempfile.TemporaryDirectory(prefix="micrograd-bench-warm-") as scratch:
            warm_up = [*warm_up, "--out", scratch]
            # A run that fails here fails again when timed, and says why there.
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(warm_up, cwd=scratch, env=env, capture_output=True, timeout=TIMEOUT)
        _WARM.add(workload)


def _train_command() -> list[str] | None:
    """How to run our ``train`` command in a fresh process, or None before the CLI exists."""
    if importlib.util.find_spec("micrograd.cli") is None:
        return None
    if importlib.util.find_spec("micrograd.__main__") is not None:
        return [sys.executable, "-m", "micrograd"]
    run_cli = "import sys; from micrograd.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", run_cli]


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "crashed"


def measure(
    workload: str, variant: str, reference: Path | None, quick: bool = False
) -> dict[str, Any]:
    """Run one workload on one variant in a fresh subprocess; its result as a dict.

    The dict has ``seconds`` or ``bytes``, or an ``error`` saying why there is no number.
    """
    spec = WORKLOADS[check.choice("workload", workload, tuple(WORKLOADS))]
    if check.choice("variant", variant, tuple(VARIANTS)) not in spec.variants:
        check.wrong_value("variant", variant, f"one of {workload}'s: {', '.join(spec.variants)}")
    reference = None if reference is None else Path(check.folder_path("reference", reference))
    quick = check.boolean("quick", quick)
    if variant == "tape" and not (_tape_dir() / "tape_engine.py").exists():
        return {"error": "n/a: needs a source checkout (benchmarks/tape_engine.py)"}
    repeat = 1 if quick else spec.repeat
    min_batch = 0.02 if quick else 0.2
    with tempfile.TemporaryDirectory(prefix="micrograd-bench-") as scratch:
        cmd, env = _command(variant, reference)
        if workload == "train_100" and variant != "ref":
            train = _train_command()
            if train is None:
                return {"error": "n/a: no `micrograd.cli` yet"}
            engine = "fast" if variant == "compiled" else "value"
            cmd = [*train, "train", "--engine", engine, "--steps", "100", "--no-plots"]
            cmd += ["--no-progress", "--out", scratch]
        elif workload == "gpt_train_1000":
            train = _train_command()
            if train is None:
                return {"error": "n/a: no `micrograd.cli` yet"}
            cmd = [*train, "gpt", "train", "--engine", "fast", "--no-plots", "--no-progress"]
            _installed_bytecode(workload, env, [*cmd, "--steps", "1"])
            cmd += ["--steps", "1000", "--out", scratch]
        else:
            cmd += [variant, workload, str(repeat), str(min_batch)]
        t0 = time.perf_counter()
        try:
            out = subprocess.run(
                cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {TIMEOUT:.0f} s"}
        wall = time.perf_counter() - t0
    if out.returncode != 0:
        return {"error": _last_line(out.stderr)}
    if (workload == "train_100" and variant != "ref") or workload == "gpt_train_1000":
        return {"seconds": wall}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if workload == "train_100":
        result["seconds"] = wall  # the whole process, start-up included, as for ours
    return _check_isolation(variant, reference, result)


def _check_isolation(
    variant: str, reference: Path | None, result: dict[str, Any]
) -> dict[str, Any]:
    """Refuse a result whose subprocess imported the wrong ``micrograd``."""
    package = result.get("package")
    if package is None:
        return result
    expected = reference if variant == "ref" else _ours_root()
    if expected is None or not Path(package).resolve().is_relative_to(expected.resolve()):
        return {"error": f"isolation broken: imported micrograd from {package}"}
    return result


# --- the suite ---


def _check_pair(workload: object, variant: object, name: str = "variant") -> None:
    """Refuse a workload or a variant (argument ``name``) that the benchmark does not have."""
    check.choice("workload", workload, tuple(WORKLOADS))
    check.choice(name, variant, tuple(VARIANTS))


@dataclass
class Report:
    """A suite's raw runs, keyed ``(workload, variant)``, and where they were measured."""

    machine: dict[str, str]
    rounds: int
    quick: bool
    runs: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def median(self, workload: str, variant: str) -> float | None:
        """The median over runs of a workload on a variant, or None if it has no number."""
        _check_pair(workload, variant)
        runs = self.runs.get((workload, variant), [])
        key = WORKLOADS[workload].unit
        numbers = [float(r[key]) for r in runs if key in r]
        return statistics.median(numbers) if numbers else None

    def error(self, workload: str, variant: str) -> str | None:
        """Why a workload on a variant has no number, if it has none."""
        _check_pair(workload, variant)
        for r in self.runs.get((workload, variant), []):
            if "error" in r:
                return str(r["error"])
        return None

    def ratio(self, workload: str, numerator: str, denominator: str) -> float | None:
        """``median(numerator) / median(denominator)``: how many times faster (or smaller)."""
        _check_pair(workload, numerator, "numerator")
        _check_pair(workload, denominator, "denominator")
        top, bottom = self.median(workload, numerator), self.median(workload, denominator)
        if top is None or bottom is None or bottom == 0:
            return None
        return top / bottom

    def check_spread(self, workload: str) -> float | None:
        """The largest relative difference between the variants' check numbers (same loss)."""
        check.choice("workload", workload, tuple(WORKLOADS))
        checks = [
            float(r["check"])
            for v in WORKLOADS[workload].variants
            for r in self.runs.get((workload, v), [])
            if "check" in r
        ]
        if len(checks) < 2:
            return None
        first = checks[0]
        return max(abs(c - first) / abs(first) for c in checks)


def machine_info() -> dict[str, str]:
    """The machine and software a run was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    # Our own version from the package itself: the distribution named micrograd is 0.1.0's.
    versions = {"micrograd": micrograd.__version__}
    for dist in ("numpy", "torch"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **versions,
    }


def run_suite(
    names: list[str],
    rounds: int,
    reference: Path | None,
    quick: bool = False,
    progress: bool = True,
) -> Report:
    """Measure ``names`` for ``rounds`` rounds, every variant in turn within each round."""
    names = [
        check.choice(f"names[{i}]", n, tuple(WORKLOADS))
        for i, n in enumerate(check.sequence("names", names, "a list of workload names"))
    ]
    rounds = check.integer("rounds", rounds, 1)
    reference = None if reference is None else Path(check.folder_path("reference", reference))
    quick, progress = check.boolean("quick", quick), check.boolean("progress", progress)
    report = Report(machine=machine_info(), rounds=rounds, quick=quick)
    for r in range(rounds):
        for name in names:
            spec = WORKLOADS[name]
            # Rotate the order each round so no variant always follows the same neighbour.
            shift = r % len(spec.variants)
            for variant in spec.variants[shift:] + spec.variants[:shift]:
                runs = report.runs.setdefault((name, variant), [])
                # A failure repeats itself (micrograd 0.1.0's RecursionError): show it once.
                if len(runs) >= spec.max_runs.get(variant, rounds) or any(
                    "error" in x for x in runs
                ):
                    continue
                runs.append(measure(name, variant, reference, quick))
                if progress:
                    print(
                        f"[{r + 1}/{rounds}] {name} · {VARIANTS[variant]}: {_cell(runs[-1], spec)}",
                        file=sys.stderr,
                        flush=True,
                    )
    return report


# --- tables ---


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _cell(run: dict[str, Any], spec: Workload) -> str:
    if "error" in run:
        return str(run["error"])
    if spec.unit == "bytes":
        return f"{float(run['bytes']):.0f} B"
    return _duration(float(run["seconds"]))


def _times(ratio: float, unit: str, digits: int = 1) -> str:
    """``ratio`` (reference / this) as words: 22.3× faster, 4.1× slower, 6.1× less."""
    better, worse = ("less", "more") if unit == "bytes" else ("faster", "slower")
    if ratio >= 1.0:
        return f"{ratio:.{digits}f}× {better}" if ratio < 100 else f"{ratio:,.0f}× {better}"
    return f"{1 / ratio:.{digits}f}× {worse}"


def _target_value(report: Report, target: Target) -> float | None:
    if target.over is None:
        return report.median(target.workload, target.variant)
    return report.ratio(target.workload, target.variant, target.over)


def _target_met(target: Target, value: float | None) -> str:
    if value is None:
        return "n/a"
    ok = (target.at_least is None or value >= target.at_least) and (
        target.at_most is None or value <= target.at_most
    )
    return "yes" if ok else "**no**"


def markdown(report: Report) -> str:
    """The report as Markdown: the machine, a table of medians and ratios, and the targets."""
    m = report.machine
    mode = ", quick" if report.quick else ""
    lines = [
        f"Measured {m['date']} on {m['platform']}, {m['cpu']}, {m['cpus']} CPUs; {m['python']}; "
        f"micrograd {m['micrograd']}, NumPy {m['numpy']}, PyTorch {m['torch']}; "
        f"{report.rounds} interleaved rounds{mode}; every path on one thread.",
        "",
        "| workload | path | median | runs | vs micrograd 0.1.0 |",
        "|---|---|---:|---:|---:|",
    ]
    seen = {w for w, _ in report.runs}
    for name, spec in WORKLOADS.items():
        if name not in seen:
            continue
        for i, variant in enumerate(spec.variants):
            runs = report.runs.get((name, variant), [])
            value = report.median(name, variant)
            cell = _cell({spec.unit: value}, spec) if value is not None else "—"
            error = report.error(name, variant)
            if value is None and error is not None:
                cell = error
            ratio = report.ratio(name, "ref", variant) if variant != "ref" else None
            if "ref" not in spec.variants:
                versus = ""
            elif report.median(name, "ref") is None:
                versus = "" if variant == "ref" else "0.1.0 cannot"
            elif variant == "ref":
                versus = "baseline"
            else:
                versus = "—" if ratio is None else _times(ratio, spec.unit)
            title = spec.title if i == 0 else ""  # a workload's name heads its first row only
            lines.append(f"| {title} | {VARIANTS[variant]} | {cell} | {len(runs)} | {versus} |")
    lines += ["", "| target | measured | goal | met |", "|---|---:|---|---|"]
    for target in TARGETS:
        if target.workload not in seen:
            continue
        value = _target_value(report, target)
        if value is None:
            shown = "n/a"
        elif target.over is None:
            shown = _cell({WORKLOADS[target.workload].unit: value}, WORKLOADS[target.workload])
        else:  # two decimals: 2.96× must not read as a met "3.0×" (met is decided unrounded)
            shown = _times(value, WORKLOADS[target.workload].unit, digits=2)
        lines.append(f"| {target.title} | {shown} | {target.goal} | {_target_met(target, value)} |")
    notes = []
    for name in ("seed002", "moons_step"):
        spread = report.check_spread(name) if name in seen else None
        if spread is not None:
            notes.append(f"{name}: the paths' results differ by at most {spread:.1e} (relative)")
    if notes:
        lines += ["", "Same numbers on every path: " + "; ".join(notes) + "."]
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain data: machine, every run, medians, ratios and targets."""
    cells = []
    for (name, variant), runs in report.runs.items():
        cells.append(
            {
                "workload": name,
                "variant": variant,
                "runs": runs,
                "median": report.median(name, variant),
                "vs_reference": report.ratio(name, "ref", variant) if variant != "ref" else None,
            }
        )
    seen = {w for w, _ in report.runs}
    targets = []
    for target in TARGETS:
        value = _target_value(report, target) if target.workload in seen else None
        targets.append({"target": target.title, "goal": target.goal, "value": value})
    return {
        "machine": report.machine,
        "rounds": report.rounds,
        "quick": report.quick,
        "results": cells,
        "targets": targets,
    }


def save_plot(report: Report, path: Path) -> None:
    """A bar chart (log scale) of how many times faster or smaller than micrograd 0.1.0."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"--plot needs matplotlib: {install_hint('plot')}") from exc
    labels, ratios = [], []
    for name, spec in WORKLOADS.items():
        for variant in spec.variants:
            ratio = report.ratio(name, "ref", variant) if variant != "ref" else None
            if ratio is not None:
                labels.append(f"{name}: {VARIANTS[variant].replace('`', '')}")
                ratios.append(ratio)
    fig = Figure(figsize=(8, 0.45 * len(labels) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    colors = ["tab:green" if x >= 1 else "tab:red" for x in ratios]
    # Bars grow from 1× (as good as micrograd 0.1.0): right when better, left when worse.
    ax.barh(range(len(labels)), [x - 1.0 for x in ratios], left=1.0, color=colors)
    for i, x in enumerate(ratios):
        text = f"{x:,.0f}×" if x >= 100 else f"{x:.2g}×" if x >= 1 else f"{1 / x:.2g}× worse"
        # Beyond the bar's end, or just right of 1× for a bar that points left.
        ax.annotate(text, (max(x, 1.0), i), xytext=(3, 0), textcoords="offset points", va="center")
    ax.set_xlim(min(0.5, min(ratios) / 1.5), max(ratios) * 10)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("× micrograd 0.1.0 (time or bytes; > 1 is better)")
    ax.set_title(f"micrograd bench, {report.machine['date']}")
    fig.savefig(path)


# --- command line ---


def _output_path(text: str) -> Path:
    """argparse's ``type`` of --json, --markdown and --plot: a file name (not empty, no
    trailing slash)."""
    from micrograd.cli import _file_name

    return Path(_file_name(text))


def _folder_path(text: str) -> Path:
    """argparse's ``type`` of --reference-dir: a folder name, not empty (which ``pathlib``
    reads as the current folder: 0.1.0 would be installed there, over ``import micrograd``)."""
    from micrograd.cli import _folder_name

    return Path(_folder_name(text))


def _parser() -> argparse.ArgumentParser:
    from micrograd.cli import _Range

    rounds = _Range(1, 100, whole=True)
    parser = argparse.ArgumentParser(
        prog="micrograd bench",
        description="Benchmark our engine against micrograd 0.1.0, PyTorch and NumPy.",
        allow_abbrev=False,  # --round must not quietly mean --rounds
    )
    parser.add_argument(
        "--rounds", type=rounds.parse, default=5, help=f"interleaved rounds, {rounds} (default 5)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD",
        help=f"workloads to run (default all: {', '.join(WORKLOADS)})",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="one short timing per run (tests)")
    output = _output_path
    parser.add_argument("--plot", type=output, metavar="PATH", help="save a bar chart of ratios")
    parser.add_argument("--json", type=output, metavar="PATH", help="save every run as JSON")
    parser.add_argument(
        "--markdown", type=output, metavar="PATH", help="also write the tables here"
    )
    parser.add_argument(
        "--reference-dir", type=_folder_path, metavar="DIR", default=None,
        help=f"where {REFERENCE} is (installed there with pip if missing; "
        f"default {default_reference_dir()})",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _check_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (argparse's, status 2) for an output path the run could not write at its
    end: a folder, a file that cannot be created, a --plot format matplotlib lacks."""
    for option in ("json", "markdown", "plot"):
        path: Path | None = getattr(args, option)
        if path is None:
            continue
        if path.is_dir():
            parser.error(f"argument --{option}: {path} is a folder: give a file name")
        existed = path.exists()
        try:  # the only sure test of a path: open it as the end of the run will (no write)
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as e:
            parser.error(f"argument --{option}: cannot write {path}: {' '.join(str(e).split())}")
        if not existed:
            path.unlink(missing_ok=True)
    if args.plot is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        formats = sorted(FigureCanvasBase.get_supported_filetypes())
        if args.plot.suffix.lstrip(".").lower() not in formats:
            parser.error(
                f"argument --plot: cannot tell the format of {args.plot}: end it in "
                f"{', '.join('.' + f for f in formats)}"
            )


def _write_outputs(args: argparse.Namespace, report: Report, text: str) -> list[str]:
    """Write --markdown, --json and --plot; the one-line message of each that failed."""
    writers = (
        ("markdown", lambda path: path.write_text(text, encoding="utf-8")),
        ("json", lambda path: path.write_text(_json_text(report), encoding="utf-8")),
        ("plot", lambda path: save_plot(report, path)),
    )
    failed = []
    for option, write in writers:
        path = getattr(args, option)
        if path is None:
            continue
        try:
            write(path)
        except (OSError, ValueError) as e:  # matplotlib refuses a format with ValueError
            failed.append(f"cannot write {path} (--{option}): {' '.join(str(e).split())}")
    return failed


def _json_text(report: Report) -> str:
    return json.dumps(to_json(report), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the suite from the command line; print the Markdown report; 0 on success.

    An output path (--json, --markdown, --plot) that cannot be written is a usage error before
    the run (status 2); one whose write fails at the end is one line on stderr and status 1,
    after the others are written and the report printed.
    """
    parser = _parser()
    args = parser.parse_args(None if argv is None else check.strings("argv", argv))
    if args.plot and importlib.util.find_spec("matplotlib") is None:  # say so before the run
        print(
            f"micrograd bench: --plot needs matplotlib: {install_hint('plot')}",
            file=sys.stderr,
        )
        return 1
    _check_outputs(parser, args)
    names = list(dict.fromkeys(args.only or WORKLOADS))
    reference = None
    if any("ref" in WORKLOADS[n].variants for n in names):
        try:
            reference = ensure_reference(args.reference_dir or default_reference_dir())
        except RuntimeError as exc:
            print(f"micrograd bench: {exc}", file=sys.stderr)
            return 1
    report = run_suite(names, args.rounds, reference, quick=args.quick, progress=not args.quiet)
    text = markdown(report)
    failed = _write_outputs(args, report, text)  # first: a closed stdout must not lose them
    try:
        print(text)
    finally:
        for message in failed:
            print(f"micrograd bench: error: {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
