"""The makemore MLP benchmark (issue 11): every path takes the same step, and the compiled
path runs the cross-entropy of the batch as one log-sum-exp kernel."""

from __future__ import annotations

import numpy as np
import pytest

from micrograd import _bench_workloads as workloads
from micrograd import bench, fast


def test_the_compiled_makemore_loss_is_the_value_engines_with_one_log_sum_exp_kernel() -> None:
    """The MLP's loss traced with contexts and targets as index inputs: one log-sum-exp kernel
    (no max fold, exp or log of its own), and on a new batch the Value engine's loss and
    gradients without a new trace."""
    params, loss = workloads.makemore_model()
    first, second = workloads.makemore_batches(2)
    program = fast.trace(loss, params, *first, indices=[0, 1])
    lines = program.describe().splitlines()
    fused = [line.strip() for line in lines if "log-sum-exp" in line]
    others = [line for line in lines if line.strip().split()[0] in ("max", "exp(x,", "log(x,")]
    assert (fused, others) == (["log-sum-exp of 27 terms over 32 rows (max, -, exp, sum, log)"], [])
    expected = loss(*second)
    expected.backward()
    want = np.array([p.grad for p in params])
    for p in params:
        p.grad = 0.0
    got = program(np.array(second[0]), np.array(second[1]))
    grads = np.array([p.grad for p in params])
    assert abs(got - expected.data) <= 1e-12 * abs(expected.data)
    assert np.abs(grads - want).max() <= 1e-12 * np.abs(want).max()
    assert program.traces == 1


@pytest.mark.torch
def test_every_makemore_path_starts_from_the_same_loss() -> None:
    """The Value engine, the compiled path and PyTorch take the first step from one loss."""
    spec = bench.WORKLOADS["makemore_step"]
    checks = [bench.measure("makemore_step", v, None, quick=True) for v in spec.variants]
    losses = [run["check"] for run in checks]
    assert (spec.variants, max(losses) - min(losses) < 1e-12) == (
        ("value", "compiled", "torch"),
        True,
    ), losses
