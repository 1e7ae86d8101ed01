"""Adam's update where it divides by zero (eps=0, a zero gradient): torch's nan, not an error."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from lazy_torch import torch
from micrograd.engine import Value
from micrograd.optim import Adam, AdamW, adam_update

# Gradients for three parameters over four steps: zeros (0/0 at eps=0), then a step, then
# zeros again (m ≠ 0 over v ≠ 0), and a parameter whose gradient is always zero.
GRADS = [[0.0, 0.0, 0.0], [0.5, -2.0, 0.0], [0.0, 0.0, 0.0], [1e-300, -3.0, 0.0]]
START = [0.3, -1.2, 2.0]
SETTINGS = [
    dict(eps=eps, amsgrad=amsgrad, weight_decay=wd)
    for eps, amsgrad, wd in itertools.product([0.0, 1e-8], [False, True], [0.0, 0.1])
]


def same(ours: float, theirs: float) -> bool:
    """Equal up to float64 rounding; nan matches nan."""
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-15)


def torch_steps(decoupled: bool, settings: dict[str, Any]) -> list[list[float]]:
    """Each step's parameters with torch.optim.Adam (AdamW if decoupled) on GRADS."""
    ts = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    make = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = make([ts], lr=0.1, **settings)
    steps = []
    for g in GRADS:
        ts.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        steps.append(ts.detach().tolist())
    return steps


@pytest.mark.torch
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("settings", SETTINGS)
def test_adam_on_values_matches_torch_with_zero_gradients(
    decoupled: bool, settings: dict[str, Any]
) -> None:
    """Adam and AdamW give torch's parameters step by step, nan where eps=0 meets a zero
    gradient (0/0), instead of raising ZeroDivisionError."""
    params = [Value(x) for x in START]
    opt = (AdamW if decoupled else Adam)(params, lr=0.1, **settings)
    steps = []
    for g in GRADS:
        for p, gi in zip(params, g, strict=True):
            p.grad = gi
        opt.step()
        steps.append([p.data for p in params])
    expected = torch_steps(decoupled, settings)
    assert all(map(same, itertools.chain(*steps), itertools.chain(*expected))), (steps, expected)


@pytest.mark.torch
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("settings", SETTINGS)
def test_adam_update_on_arrays_matches_torch_with_zero_gradients(
    decoupled: bool, settings: dict[str, Any]
) -> None:
    """The one update rule, run on NumPy arrays (the compiled path's), gives the same."""
    p = np.array(START)
    m, v, vmax = np.zeros(3), np.zeros(3), np.zeros(3)
    steps = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for t, g in enumerate(GRADS, start=1):
            p, m, v, vmax = adam_update(
                p,
                np.array(g),
                m,
                v,
                vmax,
                t,
                lr=0.1,
                betas=(0.9, 0.999),
                decoupled=decoupled,
                sqrt=np.sqrt,
                maximum=np.maximum,
                **settings,
            )
            steps.append(p.tolist())
    expected = torch_steps(decoupled, settings)
    assert all(map(same, itertools.chain(*steps), itertools.chain(*expected))), (steps, expected)


def test_adam_with_eps_zero_and_a_zero_gradient_gives_nan() -> None:
    """Adam(eps=0) stepping on a zero gradient leaves nan in the parameter, as torch does."""
    w = Value(1.0)
    Adam([w], lr=0.1, eps=0.0).step()
    assert math.isnan(w.data)
