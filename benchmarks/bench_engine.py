"""Engine benchmark: our Value engine against the reference micrograd 0.1.0, interleaved.

Each measurement runs ``workloads.py`` in a fresh subprocess whose ``sys.path`` holds exactly one
of the two ``micrograd`` packages; the two engines alternate, round after round, so that a noisy
machine slows both alike. Prints a Markdown table of medians and ratios.

    python benchmarks/bench_engine.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OURS = HERE.parent / "src"
REFERENCE = HERE / ".ref" / "micrograd-0.1.0"

# workload name -> repeats per subprocess (the subprocess reports the median of its repeats)
WORKLOADS = {"seed002": 5, "moons_step": 3, "bytes_per_node": 1, "chain_1e6": 1}


def install_reference() -> Path:
    """Install micrograd 0.1.0 into its own folder (once), never beside our package."""
    if not (REFERENCE / "micrograd" / "engine.py").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "micrograd==0.1.0",
                "--target",
                str(REFERENCE),
            ],
            check=True,
        )
    return REFERENCE


def measure(path: Path, workload: str, repeat: int) -> dict[str, object]:
    """Run one workload in a subprocess that can import only the package at ``path``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), str(HERE)])}
    out = subprocess.run(
        [sys.executable, "-S", str(HERE / "workloads.py"), workload, str(repeat)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "crashed"}
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main(argv: list[str] | None = None) -> None:
    """Measure every workload on both engines for a number of interleaved rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="workloads to run")
    args = parser.parse_args(argv)
    engines = {"micrograd 0.1.0": install_reference(), "ours": OURS}
    names = args.only or list(WORKLOADS)
    results: dict[tuple[str, str], list[dict[str, object]]] = {}
    for _ in range(args.rounds):
        for name in names:
            for engine, path in engines.items():
                # micrograd's recursive topological sort cannot take a deep chain; one
                # attempt shows how it fails rather than repeating a slow crash.
                if name == "chain_1e6" and engine != "ours" and (name, engine) in results:
                    continue
                results.setdefault((name, engine), []).append(measure(path, name, WORKLOADS[name]))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.rounds} rounds\n")
    print("| workload | micrograd 0.1.0 | ours | ratio |")
    print("|---|---|---|---|")
    for name in names:
        cells = [summarize(results[(name, e)]) for e in engines]
        ratio = ""
        if all(isinstance(c[0], float) for c in cells):
            ref, ours = cells[0][0], cells[1][0]
            ratio = f"{ref / ours:.1f}× {'less' if name == 'bytes_per_node' else 'faster'}"
        print(f"| {name} | {cells[0][1]} | {cells[1][1]} | {ratio} |")


def summarize(runs: list[dict[str, object]]) -> tuple[float | None, str]:
    """The median of a workload's runs, as a number and as text."""
    errors = [str(r["error"]) for r in runs if "error" in r]
    if errors:
        return None, errors[0]
    if "bytes" in runs[0]:
        value = statistics.median(float(r["bytes"]) for r in runs)  # type: ignore[arg-type]
        return value, f"{value:.0f} B/node"
    value = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
    return value, f"{value * 1e3:.3f} ms" if value < 1 else f"{value:.2f} s"


if __name__ == "__main__":
    main()
