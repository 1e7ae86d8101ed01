"""Optimizers (SGD, Adam, AdamW) with PyTorch's update rules, learning-rate schedules, clipping.

An optimizer holds a list of parameters; ``step()`` moves each one using its ``.grad``. A schedule
is a callable ``step -> lr``: set ``optimizer.lr = schedule(k)`` before step ``k``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from micrograd.engine import Value

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

# A learning-rate schedule: the learning rate to use at a (0-based) step.
Schedule = Callable[[int], float]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _same_kind(value: object, like: object) -> bool:
    """Whether a loaded setting has the shape of the current one (bool, number, list of numbers)."""
    if isinstance(like, bool):
        return isinstance(value, bool)
    if isinstance(like, list):
        return isinstance(value, list) and len(value) == len(like) and all(map(_is_number, value))
    return _is_number(value)


# --- the update rules, on one number or on a NumPy array of them (fast.py's ArraySGD/ArrayAdam) ---


def sgd_update(
    p: Any,
    g: Any,
    buf: Any,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> tuple[Any, Any]:
    """``torch.optim.SGD``'s update of a parameter ``p`` with gradient ``g``: ``(new p, new buf)``.

    ``g += wd*p``; ``buf = momentum*buf + (1-dampening)*g`` (``buf = g`` at first, when ``buf`` is
    None); ``g = g + momentum*buf`` if nesterov else ``buf``; ``p -= lr*g``.

    >>> sgd_update(1.0, 2.0, None, lr=0.1)
    (0.8, None)
    """
    if weight_decay != 0.0:
        g = g + weight_decay * p
    if momentum != 0.0:
        buf = g if buf is None else buf * momentum + (1.0 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


def adam_update(
    p: Any,
    g: Any,
    m: Any,
    v: Any,
    vmax: Any,
    t: int,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    amsgrad: bool = False,
    sqrt: Callable[[Any], Any] = math.sqrt,
    maximum: Callable[[Any, Any], Any] = max,
) -> tuple[Any, Any, Any, Any]:
    """``torch.optim.Adam``'s (``AdamW``'s if ``decoupled``) step ``t`` (from 1) of a parameter.

    Returns ``(new p, new m, new v, new vmax)``. ``m = lerp(m, g, 1-β1)``;
    ``v = β2·v + (1-β2)·g²``; ``p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)``. Pass
    ``sqrt=np.sqrt, maximum=np.maximum`` for arrays.
    """
    beta1, beta2 = betas
    if weight_decay != 0.0:
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    m = m + (1 - beta1) * (g - m)  # torch's lerp(m, g, 1-β1) for a weight below 1/2
    v = v * beta2 + (1 - beta2) * g * g
    if amsgrad:
        vmax = maximum(vmax, v)
    denom = sqrt(vmax if amsgrad else v) / (1 - beta2**t) ** 0.5 + eps
    return p + -(lr / (1 - beta1**t)) * (m / denom), m, v, vmax


class Optimizer:
    """Base class: the parameters, ``lr``, ``zero_grad()``, ``step()`` and the saved state."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params: list[Value] = list(params)
        _check(len(self.params) > 0, "the optimizer got an empty parameter list")
        _check(
            all(isinstance(p, Value) for p in self.params), "the optimizer needs Values to update"
        )
        _check(
            len({id(p) for p in self.params}) == len(self.params),
            "a parameter appears more than once in the optimizer's list",
        )
        _check(lr >= 0.0, f"invalid learning rate: {lr}")
        self.lr = float(lr)
        self.step_count = 0  # completed calls to step()

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter once from its ``.grad``."""
        raise NotImplementedError

    # --- saving and loading ---

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor's settings (lr, momentum, …), JSON-ready."""
        return {"lr": self.lr}

    def _buffers(self) -> dict[str, list[float | None]]:
        """Per-parameter running state, one list per kind, aligned with ``params``."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Settings and running state as plain JSON-ready data (as PyTorch's ``state_dict``)."""
        return {
            "type": type(self).__name__,
            "n_params": len(self.params),
            "hyperparameters": self.hyperparameters(),
            "step_count": self.step_count,
            "buffers": {k: list(v) for k, v in self._buffers().items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; on any mismatch raise ValueError and change nothing."""
        _check(isinstance(state, dict), "optimizer state must be a dict")
        kind = state.get("type")
        _check(kind == type(self).__name__, f"state is for {kind!r}, not {type(self).__name__}")
        n = state.get("n_params")
        _check(n == len(self.params), f"state is for {n!r} parameters, not {len(self.params)}")
        hyper, count = state.get("hyperparameters"), state.get("step_count")
        _check(isinstance(hyper, dict), "state has no hyperparameters")
        assert isinstance(hyper, dict)
        current = self.hyperparameters()
        _check(set(hyper) == set(current), f"unexpected settings {sorted(hyper)}")
        for key, value in hyper.items():
            _check(_same_kind(value, current[key]), f"setting {key}={value!r:.40} is malformed")
        _check(
            isinstance(count, int) and not isinstance(count, bool) and count >= 0,
            f"bad step_count {count!r}",
        )
        buffers = state.get("buffers")
        mine = self._buffers()
        _check(isinstance(buffers, dict) and set(buffers) == set(mine), "state's buffers differ")
        assert isinstance(buffers, dict)
        for name, values in buffers.items():
            _check(
                isinstance(values, list)
                and len(values) == len(self.params)
                and all(v is None or _is_number(v) for v in values),
                f"buffer {name!r} must hold {len(self.params)} numbers",
            )
        # Everything checked: now apply.
        for key, value in hyper.items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        assert isinstance(count, int)
        self.step_count = count
        for name, values in buffers.items():
            target = mine[name]
            target[:] = [None if v is None else float(v) for v in values]

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} params, {settings})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay.

    Exactly ``torch.optim.SGD``: ``g = grad + wd*p``; ``buf = momentum*buf + (1-dampening)*g``
    (``buf = g`` at first); ``g = g + momentum*buf`` if nesterov else ``buf``; ``p -= lr*g``.

    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).backward()
    >>> opt.step()
    >>> w.data
    0.8
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check(momentum >= 0.0, f"invalid momentum: {momentum}")
        _check(weight_decay >= 0.0, f"invalid weight_decay: {weight_decay}")
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            "Nesterov momentum requires a momentum and zero dampening",
        )
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.momentum_buffer: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        """One SGD update of every parameter."""
        settings = self.hyperparameters()
        bufs = self.momentum_buffer
        for i, p in enumerate(self.params):
            p.data, bufs[i] = sgd_update(p.data, float(p.grad), bufs[i], **settings)
        self.step_count += 1

    def hyperparameters(self) -> dict[str, Any]:
        """lr, momentum, dampening, nesterov, weight_decay."""
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }

    def _buffers(self) -> dict[str, list[float | None]]:
        return {"momentum_buffer": self.momentum_buffer}


class Adam(Optimizer):
    """Adam (with L2 ``weight_decay`` added to the gradient), as ``torch.optim.Adam``.

    ``m = lerp(m, g, 1-β1)``; ``v = β2·v + (1-β2)·g²``;
    ``p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)``.

    >>> w = Value(1.0)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).backward()
    >>> opt.step()
    >>> round(w.data, 6)  # the first Adam step moves by about lr
    0.9
    """

    decoupled = False  # AdamW: decay the weights directly instead of through the gradient

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr)
        beta1, beta2 = betas
        _check(0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0, f"invalid betas: {betas}")
        _check(eps >= 0.0, f"invalid eps: {eps}")
        _check(weight_decay >= 0.0, f"invalid weight_decay: {weight_decay}")
        self.betas = (float(beta1), float(beta2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.amsgrad = bool(amsgrad)
        n = len(self.params)
        self.exp_avg: list[float | None] = [0.0] * n
        self.exp_avg_sq: list[float | None] = [0.0] * n
        self.max_exp_avg_sq: list[float | None] = [0.0] * n

    def step(self) -> None:
        """One Adam update of every parameter."""
        self.step_count += 1
        settings = {**self.hyperparameters(), "betas": self.betas, "decoupled": self.decoupled}
        m, v, vmax = self.exp_avg, self.exp_avg_sq, self.max_exp_avg_sq
        for i, p in enumerate(self.params):
            p.data, m[i], v[i], vmax[i] = adam_update(
                p.data, float(p.grad), m[i], v[i], vmax[i], self.step_count, **settings
            )

    def hyperparameters(self) -> dict[str, Any]:
        """lr, betas, eps, weight_decay, amsgrad."""
        return {
            "lr": self.lr,
            "betas": list(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
        }

    def _buffers(self) -> dict[str, list[float | None]]:
        return {
            "exp_avg": self.exp_avg,
            "exp_avg_sq": self.exp_avg_sq,
            "max_exp_avg_sq": self.max_exp_avg_sq,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: ``p *= 1 - lr*wd`` first.

    >>> w = Value(1.0)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> opt.step()  # zero gradient: only the decay acts
    >>> w.data
    0.95
    """

    decoupled = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# The names a training loop or the command line may ask for.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


# --- learning-rate schedules: callables step -> lr ---


@dataclass(frozen=True)
class LinearDecay:
    """From ``start`` to ``end`` in a straight line over ``steps`` steps, then ``end``.

    ``LinearDecay(1.0, 0.1, 100)`` is micrograd's demo: ``lr = 1.0 - 0.9*k/100``.

    >>> schedule = LinearDecay(1.0, 0.1, 100)
    >>> schedule(0), schedule(50), schedule(100)
    (1.0, 0.55, 0.1)
    """

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        """The learning rate at ``step``."""
        if step >= self.steps:
            return self.end
        return self.start - (self.start - self.end) * step / self.steps


@dataclass(frozen=True)
class StepLR:
    """``lr`` times ``gamma`` for every ``step_size`` steps completed (``torch``'s StepLR).

    >>> schedule = StepLR(1.0, step_size=10, gamma=0.5)
    >>> schedule(9), schedule(10), schedule(25)
    (1.0, 0.5, 0.25)
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __call__(self, step: int) -> float:
        """The learning rate at ``step``."""
        return self.lr * self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class CosineLR:
    """Half a cosine from ``lr`` down to ``lr_min`` over ``steps`` steps (``torch``'s
    CosineAnnealingLR), then ``lr_min``.

    >>> schedule = CosineLR(1.0, steps=100)
    >>> schedule(0), round(schedule(50), 12), schedule(100)
    (1.0, 0.5, 0.0)
    """

    lr: float
    steps: int
    lr_min: float = 0.0

    def __call__(self, step: int) -> float:
        """The learning rate at ``step``."""
        if step >= self.steps:
            return self.lr_min
        cos = math.cos(math.pi * step / self.steps)
        return self.lr_min + (self.lr - self.lr_min) * (1 + cos) / 2


@dataclass(frozen=True)
class Warmup:
    """Ramp linearly up to ``after`` over ``warmup_steps`` steps, then follow it.

    ``after`` is a schedule (started when the warm-up ends) or a constant learning rate.

    >>> schedule = Warmup(CosineLR(1.0, steps=10), warmup_steps=4)
    >>> [schedule(k) for k in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    after: Schedule | float
    warmup_steps: int

    def __call__(self, step: int) -> float:
        """The learning rate at ``step``."""
        after = self.after
        if step >= self.warmup_steps:
            return after(step - self.warmup_steps) if callable(after) else float(after)
        peak = after(0) if callable(after) else float(after)
        return peak * (step + 1) / self.warmup_steps


def clip_grad_norm(params: Iterable[Value], max_norm: float, eps: float = 1e-6) -> float:
    """Scale all gradients down together so their global 2-norm is at most ``max_norm``.

    Returns the norm before clipping, as ``torch.nn.utils.clip_grad_norm_`` does (and scales by
    ``max_norm / (norm + eps)`` as it does).

    >>> a, b = Value(0.0), Value(0.0)
    >>> a.grad, b.grad = 3.0, 4.0
    >>> clip_grad_norm([a, b], 1.0)
    5.0
    >>> round(a.grad, 6), round(b.grad, 6)
    (0.6, 0.8)
    """
    params = list(params)
    grads = [float(p.grad) for p in params]
    total = math.hypot(*grads)
    coef = max_norm / (total + eps)
    if coef < 1.0:
        for p, g in zip(params, grads, strict=True):
            p.grad = g * coef
    return total
