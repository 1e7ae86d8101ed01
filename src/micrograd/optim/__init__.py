"""Optimizers (SGD, Adam, AdamW) with PyTorch's update rules, learning-rate schedules, clipping.

An optimizer holds a list of parameters; ``step()`` moves each one using its ``.grad``. A schedule
is a callable ``step -> lr``: set ``optimizer.lr = schedule(k)`` before step ``k``.
"""

from __future__ import annotations

from micrograd.optim.optimizers import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, clip_grad_norm
from micrograd.optim.rules import adam_update, sgd_update
from micrograd.optim.schedules import CosineLR, LinearDecay, Schedule, StepLR, Warmup

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "CosineLR",
    "LinearDecay",
    "Optimizer",
    "Schedule",
    "StepLR",
    "Warmup",
    "adam_update",
    "clip_grad_norm",
    "sgd_update",
]
