"""Trace a loss built from Values once, then replay it as a vectorized NumPy program.

A training step builds the same graph every time with new numbers. ``trace`` records it once,
fuses chains of additions into n-ary sums and dot products, groups isomorphic work by level into
array ops, and runs forward and backward on arrays with the same rule table as ``engine.py``.
Every number the traced function reads out of a Value is guarded: a program whose guards fail is
traced again (or refused), never replayed wrong. Integer inputs (``trace(..., indices=[k])``:
token ids, class indices) pick rows with ``micrograd._lookup.lookup`` as gathers, so new indices
replay the same program.

Sums and dot products run in NumPy's order (pairwise sums, BLAS), not left to right as the
Value engine adds: they agree within the usual bound of n·ε·Σ|terms| (ε = 2.2e-16), as
PyTorch's do. That is a few units in the last place unless the terms cancel: ``1e300 - 1e300
+ 5`` may come out as 5.0 one way and 0.0 the other, on either path.

The stages, one module each: ``_rules`` (the rule table on arrays), ``_trace`` (the graph: sums,
dot products and max folds fused, gathers, groups by level), ``_schedule`` (buffers, kernels in
order, guards), ``_kernels`` (the array ops), ``_fuse`` (a stable log-sum-exp or softmax
denominator, row by row, as one kernel), ``_program`` (``trace``, ``Program``), ``_optim``
(updates on arrays). ``micrograd._tracing`` watches the function while it is traced.
"""

from __future__ import annotations

try:
    import numpy  # noqa: F401  (first, so that a missing NumPy is named before any stage loads)
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from micrograd._extras import install_hint

    raise ImportError(f"micrograd.fast needs NumPy: {install_hint('fast')}") from exc

from micrograd._tracing import StructureError, TraceError
from micrograd.fast._optim import ArrayAdam, ArrayOptimizer, ArraySGD
from micrograd.fast._program import Program, RetraceWarning, compile_model, trace
from micrograd.fast._rules import FORWARDS, NumpyMath, rule_backward

__all__ = [
    "FORWARDS",
    "ArrayAdam",
    "ArrayOptimizer",
    "ArraySGD",
    "NumpyMath",
    "Program",
    "RetraceWarning",
    "StructureError",
    "TraceError",
    "compile_model",
    "rule_backward",
    "trace",
]
