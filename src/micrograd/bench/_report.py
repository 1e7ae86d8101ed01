"""A suite's runs and where they were measured: medians, ratios, the machine."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import micrograd
from micrograd import _check as check
from micrograd.bench._suite import WORKLOADS, _check_pair


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
