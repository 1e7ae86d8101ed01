"""Trace + compile against the graph's size: µs a node for each phase, moons MLPs 66k..3.4M nodes.

    .venv/bin/python benchmarks/trace_scaling.py [--sizes 16x100,32x170,64x170,128x100]
        [--repeat N] [--phases] [--cpu] [--baseline OLD_TRACE.py] [--profile WxB]

Each size is ``WIDTHxBATCH``: ``MLP(2, [W, W, 1])`` on BATCH moons points with the demo's loss.
The phases are timed by wrapping the functions ``Program._build`` calls: "record" is running the
user's function on Values, "order" the topological order, "settle" the checks after the trace,
"graph" the graph analysis (fusion, grouping), "compile" laying the groups out into kernels.
Trace is record + order + settle + graph; compile is the rest. Each figure is the least of
``--repeat`` runs (the machine is shared); ``--cpu`` times the process's CPU seconds instead of
the wall clock's, which waits while other processes run. ``--baseline`` takes another version of
``micrograd/fast/_trace.py`` (say ``git show HEAD~3:src/micrograd/fast/_trace.py``) and times
its ``_Graph`` in turn with ours, in the same process, for ratios that mean something.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from micrograd import _bench_workloads as w
from micrograd import fast
from micrograd.fast import _program

PHASES = ("order", "settle", "graph", "compile")
clock = time.perf_counter  # or time.process_time (--cpu)
WRAPPED = {"order": "_locate", "settle": "settle", "graph": "_Graph", "compile": "_Compiled"}


def _timed(spent: dict[str, float], phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        result = fn(*args, **kwargs)
        spent[phase] += clock() - t0
        if phase == "graph":
            spent["nodes"] = result.n  # the traced graph's Values
        return result

    return wrapper


def load_graph(path: str) -> Any:
    """The ``_Graph`` class of another version of ``fast/_trace.py``."""
    spec = importlib.util.spec_from_file_location("micrograd.fast._baseline_trace", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._Graph


def one_size(
    width: int, batch: int, profile: bool = False, graph: Any = None
) -> tuple[int, dict[str, float]]:
    """Trace + compile one moons MLP: its node count and seconds per phase (``graph``: the
    ``_Graph`` class to use, ours by default)."""
    model = w.demo_model(width)
    X, y = w.moons_data(batch)
    params = model.parameters()
    spent = dict.fromkeys(("total", *PHASES), 0.0)
    originals = {name: getattr(_program, name) for name in WRAPPED.values()}
    for phase, name in WRAPPED.items():
        fn = graph if phase == "graph" and graph is not None else originals[name]
        setattr(_program, name, _timed(spent, phase, fn))
    profiler = cProfile.Profile() if profile else None
    try:
        gc.collect()
        t0 = clock()
        if profiler is not None:
            profiler.enable()
        program = fast.compile_model(model, lambda s, t: w.demo_loss(s, t, params), X, y)
        if profiler is not None:
            profiler.disable()
        spent["total"] = clock() - t0
    finally:
        for name, fn in originals.items():
            setattr(_program, name, fn)
    del program
    nodes = int(spent.pop("nodes"))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return nodes, spent


def least(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each phase's least time over runs (trace and record derived from the least of each)."""
    best = {key: min(run[key] for run in runs) for key in runs[0]}
    best["record"] = min(run["total"] - sum(run[p] for p in PHASES) for run in runs)
    best["total"] = best["record"] + sum(best[p] for p in PHASES)
    return best


def row(label: str, nodes: int, spent: dict[str, float], phases: bool) -> str:
    """One line of the table: µs a node for trace, compile, all (and each phase)."""
    trace_s = spent["total"] - spent["compile"]
    line = (
        f"{label:>14} {nodes:>9} {1e6 * trace_s / nodes:>9.2f}"
        f" {1e6 * spent['compile'] / nodes:>10.2f} {1e6 * spent['total'] / nodes:>9.2f}"
        f" {spent['total']:>7.2f}"
    )
    if phases:
        line += "  " + " ".join(f"{1e6 * spent[p] / nodes:>8.2f}" for p in ("record", *PHASES))
    return line


def main() -> None:
    """Print µs a node for trace and compile at each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16x100,32x170,64x170,128x100")
    parser.add_argument("--repeat", type=int, default=1, help="runs a size; the least is shown")
    parser.add_argument("--cpu", action="store_true", help="CPU seconds, not the wall clock's")
    parser.add_argument("--phases", action="store_true", help="also µs a node for each phase")
    parser.add_argument("--baseline", default="", help="another fast/_trace.py to time in turn")
    parser.add_argument("--profile", default="", help="WxB: print a cProfile of this size")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.cpu else time.perf_counter
    if args.profile:
        width, batch = map(int, args.profile.split("x"))
        one_size(width, batch, profile=True)
        return
    versions: dict[str, Any] = {"": None}
    if args.baseline:
        versions = {"baseline": load_graph(args.baseline), "ours": None}
    header = (
        f"{'size':>14} {'nodes':>9} {'trace µs':>9} {'compile µs':>10} {'total µs':>9} {'s':>7}"
    )
    if args.phases:
        header += "  " + " ".join(f"{p:>8}" for p in ("record", *PHASES))
    print(header)
    for size in args.sizes.split(","):
        width, batch = map(int, size.split("x"))
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in versions}
        nodes = 0
        for _ in range(args.repeat):
            for label, graph in versions.items():  # in turn: the same load on each
                nodes, spent = one_size(width, batch, graph=graph)
                runs[label].append(spent)
        for label in versions:
            print(
                row(f"{size} {label}".strip(), nodes, least(runs[label]), args.phases), flush=True
            )


if __name__ == "__main__":
    main()
