"""One measurement in a fresh subprocess, each variant's package isolated, and the suite's
rounds, every variant in turn."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import micrograd
from micrograd import _check as check
from micrograd.bench._report import Report, machine_info
from micrograd.bench._suite import REFERENCE, VARIANTS, WORKLOADS
from micrograd.bench._tables import _cell

SCRIPT = Path(__file__).parent.with_name("_bench_workloads.py")
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
