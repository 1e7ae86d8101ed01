"""The benchmark suite behind ``micrograd bench``: our engine against micrograd 0.1.0 and PyTorch.

Every measurement runs in a fresh subprocess, and the subprocesses take turns round after round
so that a noisy machine slows every path alike. The reference runs with only its own folder on
``sys.path`` (``python -S``), so the two ``micrograd`` packages never meet. Prints Markdown
tables of medians and ratios; ratios are always taken within one run.

The stages, a file each: what is measured (``_suite``: the variants, workloads and targets),
one measurement and the rounds of them (``_measure``), the runs gathered (``_report``), the
tables (``_tables``) and the command line (``_command``).
"""

from __future__ import annotations

from micrograd.bench._command import main
from micrograd.bench._measure import ensure_reference, measure, run_suite
from micrograd.bench._report import Report
from micrograd.bench._suite import REFERENCE, TARGETS, VARIANTS, WORKLOADS, Target, Workload

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
