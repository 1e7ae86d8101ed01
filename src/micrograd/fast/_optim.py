"""Optimizers that update a parameter array in place, by the very rules of ``micrograd.optim``."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from micrograd import _check as check
from micrograd.fast._rules import Array
from micrograd.optim.rules import adam_settings, adam_update, sgd_rule, sgd_settings


class ArrayOptimizer(Protocol):
    """An optimizer that updates a parameter array in place from its gradient."""

    lr: float

    def update(self, theta: Array, grad: Array) -> None:
        """Move ``theta`` (in place) one step against ``grad``."""


def _check_update(theta: object, grad: object) -> Array:
    """``grad`` as an array for an in-place update of ``theta`` (a float64 array of its shape)."""
    if not isinstance(theta, np.ndarray) or theta.dtype != np.float64:
        check.wrong_type("theta", theta, "a float64 NumPy array (it is updated in place)")
    g = np.asarray(grad)
    if g.dtype.kind not in "iuf":
        check.wrong_type("grad", grad, "an array of real numbers")
    if g.shape != theta.shape:
        check.wrong_value("grad", grad, f"an array of theta's shape {theta.shape}")
    return g


def _check_state(state: Array | None, theta: Array) -> None:
    """An optimizer's state is for one parameter array: another's is a ValueError, not a
    broadcast of the old state over the new parameters."""
    if state is not None and state.shape != theta.shape:
        check.wrong_value(
            "theta",
            theta,
            f"an array of the shape this optimizer has stepped ({state.shape}); make a new "
            "optimizer for another model or program",
        )


class ArraySGD:
    """``micrograd.optim.SGD`` (so ``torch.optim.SGD``) on a parameter array, in place.

    The update is ``optim``'s SGD rule (``sgd_update``'s), the very rule ``SGD.step()`` applies
    to each Value; its settings are checked as ``SGD`` checks them whenever they change.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        settings = sgd_settings(lr, momentum, dampening, nesterov, weight_decay)
        self.lr, self.momentum, self.dampening, self.nesterov, self.weight_decay = settings
        self.momentum_buffer: Array | None = None
        self._checked = settings  # the settings as last checked (a schedule may change lr)

    def update(self, theta: Array, grad: Array) -> None:
        """One step, in place."""
        grad = _check_update(theta, grad)
        _check_state(self.momentum_buffer, theta)
        settings = (self.lr, self.momentum, self.dampening, self.nesterov, self.weight_decay)
        if settings != self._checked:  # checked as SGD checks them, once per change
            self._checked = settings = sgd_settings(*settings)
        theta[...], buf = sgd_rule(theta, grad, self.momentum_buffer, *settings)
        # The first buffer is the gradient itself: keep a copy, not the caller's array.
        self.momentum_buffer = buf.copy() if buf is grad else buf


class ArrayAdam:
    """``micrograd.optim.Adam`` (so ``torch.optim.Adam``) on a parameter array, in place.

    The update is ``optim.adam_update``, the very rule ``Adam.step()`` applies to each Value.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        settings = adam_settings(lr, betas, eps, weight_decay, False)
        self.lr, self.betas, self.eps, self.weight_decay, _ = settings
        self.step_count = 0
        self.exp_avg: Array | None = None
        self.exp_avg_sq: Array | None = None

    def update(self, theta: Array, grad: Array) -> None:
        """One step, in place."""
        grad = _check_update(theta, grad)
        _check_state(self.exp_avg, theta)
        if self.exp_avg is None or self.exp_avg_sq is None:
            self.exp_avg, self.exp_avg_sq = np.zeros_like(theta), np.zeros_like(theta)
        self.step_count += 1
        theta[...], self.exp_avg, self.exp_avg_sq, _ = adam_update(
            theta,
            grad,
            self.exp_avg,
            self.exp_avg_sq,
            None,
            self.step_count,
            lr=self.lr,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
            sqrt=np.sqrt,
        )
