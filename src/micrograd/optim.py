"""Optimizers (SGD, Adam, AdamW) with PyTorch's update rules, learning-rate schedules, clipping.

An optimizer holds a list of parameters; ``step()`` moves each one using its ``.grad``. A schedule
is a callable ``step -> lr``: set ``optimizer.lr = schedule(k)`` before step ``k``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from micrograd import _check as check
from micrograd._floats import div
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


# --- settings, checked in one place for the optimizers, their array twins and the update rules ---

SGDSettings = tuple[float, float, float, bool, float]
AdamSettings = tuple[float, tuple[float, float], float, float, bool]


def _sgd_settings(
    lr: object, momentum: object, dampening: object, nesterov: object, weight_decay: object
) -> SGDSettings:
    """``(lr, momentum, dampening, nesterov, weight_decay)`` as Python numbers, or a TypeError or
    ValueError naming the setting: the checks of ``torch.optim.SGD``, and dampening in [0, 1]."""
    settings = (
        check.real("lr", lr, 0.0),
        check.real("momentum", momentum, 0.0),
        check.real("dampening", dampening, 0.0, 1.0),
        check.boolean("nesterov", nesterov),
        check.real("weight_decay", weight_decay, 0.0),
    )
    if settings[3] and (settings[1] == 0.0 or settings[2] != 0.0):
        raise ValueError(
            "nesterov=True needs a momentum > 0 and dampening 0 (Nesterov momentum), not "
            f"momentum={settings[1]}, dampening={settings[2]}"
        )
    return settings


def _adam_settings(
    lr: object, betas: object, eps: object, weight_decay: object, amsgrad: object
) -> AdamSettings:
    """``(lr, (beta1, beta2), eps, weight_decay, amsgrad)`` as Python numbers, or a TypeError or
    ValueError naming the setting: the checks of ``torch.optim.Adam``."""
    accepts = "a pair (beta1, beta2) of real numbers in [0, 1)"
    pair = check.sequence("betas", betas, accepts)
    if len(pair) != 2:
        check.wrong_value("betas", betas, accepts)
    beta1, beta2 = (
        check.real(f"betas[{i}]", b, 0.0, 1.0, open_high=True) for i, b in enumerate(pair)
    )
    return (
        check.real("lr", lr, 0.0),
        (beta1, beta2),
        check.real("eps", eps, 0.0),
        check.real("weight_decay", weight_decay, 0.0),
        check.boolean("amsgrad", amsgrad),
    )


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
    None); ``g = g + momentum*buf`` if nesterov else ``buf``; ``p -= lr*g``. The settings are
    checked as ``SGD`` checks them (TypeError or ValueError naming the setting).

    >>> sgd_update(1.0, 2.0, None, lr=0.1)
    (0.8, None)
    """
    return _sgd_rule(p, g, buf, *_sgd_settings(lr, momentum, dampening, nesterov, weight_decay))


def _sgd_rule(
    p: Any, g: Any, buf: Any,
    lr: float, momentum: float, dampening: float, nesterov: bool, weight_decay: float,
) -> tuple[Any, Any]:  # fmt: skip
    """``sgd_update`` on settings already checked (``SGD.step`` checks them once per step)."""
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
    ``sqrt=np.sqrt, maximum=np.maximum`` for arrays. The settings are checked as ``Adam``
    checks them (TypeError or ValueError naming the setting).
    """
    lr, betas, eps, weight_decay, amsgrad = _adam_settings(lr, betas, eps, weight_decay, amsgrad)
    t, decoupled = check.integer("t", t, 1), check.boolean("decoupled", decoupled)
    sqrt, maximum = check.function("sqrt", sqrt), check.function("maximum", maximum)
    return _adam_rule(
        p, g, m, v, vmax, t, lr, betas, eps, weight_decay,
        decoupled=decoupled, amsgrad=amsgrad, sqrt=sqrt, maximum=maximum,
    )  # fmt: skip


def _adam_rule(
    p: Any, g: Any, m: Any, v: Any, vmax: Any, t: int, lr: float, betas: tuple[float, float],
    eps: float, weight_decay: float, *, decoupled: bool, amsgrad: bool,
    sqrt: Callable[[Any], Any], maximum: Callable[[Any, Any], Any],
) -> tuple[Any, Any, Any, Any]:  # fmt: skip
    """``adam_update`` on settings already checked (``Adam.step`` checks them once per step).

    The two flags and the two functions are keyword-only: ``Adam``'s settings come in another
    order (amsgrad among them, decoupled apart), and a swap by position trained silently wrong.
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
    # IEEE division: with eps=0 and a zero gradient m / denom is 0/0 = nan, as in torch (on
    # floats Python would raise ZeroDivisionError; on arrays it is NumPy's division).
    return p + -(lr / (1 - beta1**t)) * div(m, denom), m, v, vmax


class Optimizer:
    """Base class: the parameters, ``lr``, ``zero_grad()``, ``step()`` and the saved state."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params: list[Value] = check.values("params", params)
        _check(
            len({id(p) for p in self.params}) == len(self.params),
            "a parameter appears more than once in the optimizer's list",
        )
        self.lr = check.real("lr", lr, 0.0)
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
        """Restore a ``state_dict()``, all or nothing.

        Every part is checked before anything changes: a state that is no dict raises TypeError;
        one for another optimizer or size, with malformed buffers or a step count that is no
        integer in [0, 2**63) raises ValueError and leaves the optimizer as it was. The settings
        pass the constructor's own checks, so a saved ``lr=-5`` is refused as ``SGD(lr=-5)`` is.
        """
        settings, count, buffers = self._checked_state(state)
        for key, value in settings.items():
            setattr(self, key, value)
        self.step_count = count
        mine = self._buffers()
        for name, values in buffers.items():
            mine[name][:] = values

    # Buffers that may hold None (a momentum buffer before the first step), and buffers that
    # are never negative (Adam's second moments: the step takes their square root).
    _nullable_buffers: frozenset[str] = frozenset()
    _nonnegative_buffers: frozenset[str] = frozenset()

    def _checked_state(
        self, state: object
    ) -> tuple[dict[str, Any], int, dict[str, list[float | None]]]:
        """A saved state's settings, step count and buffers, each checked and converted."""
        if not isinstance(state, dict):
            raise TypeError(f"optimizer state must be a dict, not {type(state).__name__}")
        name, n = type(self).__name__, len(self.params)
        kind = state.get("type")
        _check(kind == name, f"the state is for {check.describe(kind)}, not {name}")
        count = state.get("n_params")
        _check(
            type(count) is int and count == n,
            f"the state is for {check.describe(count)} parameters, not {n}",
        )
        settings = self._checked_settings(state.get("hyperparameters"))
        step = state.get("step_count")
        _check(
            type(step) is int and 0 <= step < 2**63,
            f"step_count must be an integer in [0, 2**63), not {check.describe(step)}",
        )
        assert isinstance(step, int)
        buffers = state.get("buffers")
        mine = self._buffers()
        _check(
            isinstance(buffers, dict) and set(buffers) == set(mine),
            f"buffers must be a dict of {', '.join(sorted(mine)) or 'nothing'}",
        )
        assert isinstance(buffers, dict)
        return settings, step, {key: self._checked_buffer(key, buffers[key]) for key in mine}

    def _checked_settings(self, saved: object) -> dict[str, Any]:
        """Saved settings as the constructor would store them, after the constructor's checks."""
        current = self.hyperparameters()
        _check(
            isinstance(saved, dict) and set(saved) == set(current),
            f"hyperparameters must be a dict of {', '.join(sorted(current))}",
        )
        assert isinstance(saved, dict)
        for key, value in saved.items():
            _check(
                _same_kind(value, current[key]),
                f"setting {key}={check.describe(value)} is malformed",
            )
        kwargs: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()
        }
        try:  # one set of rules: a throwaway optimizer built with the saved settings
            probe = type(self)([Value(0.0)], **kwargs)
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"a saved setting is refused: {e}") from None
        return {key: getattr(probe, key) for key in saved}

    def _checked_buffer(self, key: str, values: object) -> list[float | None]:
        """One saved buffer as floats (or None where allowed), one per parameter."""
        n = len(self.params)
        _check(
            isinstance(values, list) and len(values) == n,
            f"buffer {key} must be a list of {n} numbers, not {check.describe(values)}",
        )
        assert isinstance(values, list)
        nullable, nonnegative = key in self._nullable_buffers, key in self._nonnegative_buffers
        out: list[float | None] = []
        for i, v in enumerate(values):
            if v is None and nullable:
                out.append(None)
                continue
            try:
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise TypeError
                x = float(v)
                if nonnegative and x < 0:
                    raise ValueError
            except (TypeError, ValueError, OverflowError):
                accepts = "a real number" + (" >= 0" if nonnegative else "")
                accepts += " or None" if nullable else ""
                raise ValueError(f"{key}[{i}] must be {accepts}, not {check.describe(v)}") from None
            out.append(x)
        return out

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
        settings = _sgd_settings(lr, momentum, dampening, nesterov, weight_decay)
        _, self.momentum, self.dampening, self.nesterov, self.weight_decay = settings
        self.momentum_buffer: list[float | None] = [None] * len(self.params)

    _nullable_buffers = frozenset({"momentum_buffer"})

    def step(self) -> None:
        """One SGD update of every parameter."""
        settings = _sgd_settings(**self.hyperparameters())  # once: lr may have been set since
        bufs = self.momentum_buffer
        for i, p in enumerate(self.params):
            p.data, bufs[i] = _sgd_rule(p.data, float(p.grad), bufs[i], *settings)
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
        settings = _adam_settings(lr, betas, eps, weight_decay, amsgrad)
        _, self.betas, self.eps, self.weight_decay, self.amsgrad = settings
        n = len(self.params)
        self.exp_avg: list[float | None] = [0.0] * n
        self.exp_avg_sq: list[float | None] = [0.0] * n
        self.max_exp_avg_sq: list[float | None] = [0.0] * n

    _nonnegative_buffers = frozenset({"exp_avg_sq", "max_exp_avg_sq"})

    def step(self) -> None:
        """One Adam update of every parameter."""
        # Checked once per step (lr may have been set since), then applied to every parameter.
        lr, betas, eps, wd, amsgrad = _adam_settings(
            self.lr, self.betas, self.eps, self.weight_decay, self.amsgrad
        )
        self.step_count += 1
        t, decoupled = self.step_count, self.decoupled
        m, v, vmax = self.exp_avg, self.exp_avg_sq, self.max_exp_avg_sq
        for i, p in enumerate(self.params):
            p.data, m[i], v[i], vmax[i] = _adam_rule(
                p.data, float(p.grad), m[i], v[i], vmax[i], t, lr, betas, eps, wd,
                decoupled=decoupled, amsgrad=amsgrad, sqrt=math.sqrt, maximum=max,
            )  # fmt: skip

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


def _set_checked(schedule: object, **settings: object) -> None:
    """Store a frozen schedule's checked settings (Python numbers in place of NumPy ones)."""
    for key, value in settings.items():
        object.__setattr__(schedule, key, value)


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

    def __post_init__(self) -> None:
        _set_checked(
            self,
            start=check.real("start", self.start, 0.0),
            end=check.real("end", self.end, 0.0),
            steps=check.integer("steps", self.steps, 0),
        )

    def __call__(self, step: int) -> float:
        """The learning rate at ``step`` (an integer >= 0)."""
        step = check.integer("step", step, 0)
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

    def __post_init__(self) -> None:
        _set_checked(
            self,
            lr=check.real("lr", self.lr, 0.0),
            step_size=check.integer("step_size", self.step_size, 1),
            gamma=check.real("gamma", self.gamma, 0.0),
        )

    def __call__(self, step: int) -> float:
        """The learning rate at ``step`` (an integer >= 0)."""
        step = check.integer("step", step, 0)
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

    def __post_init__(self) -> None:
        _set_checked(
            self,
            lr=check.real("lr", self.lr, 0.0),
            steps=check.integer("steps", self.steps, 0),
            lr_min=check.real("lr_min", self.lr_min, 0.0),
        )

    def __call__(self, step: int) -> float:
        """The learning rate at ``step`` (an integer >= 0)."""
        step = check.integer("step", step, 0)
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

    def __post_init__(self) -> None:
        after = self.after
        if not callable(after):  # a constant learning rate
            after = check.real("after", after, 0.0)
        _set_checked(
            self, after=after, warmup_steps=check.integer("warmup_steps", self.warmup_steps, 1)
        )

    def __call__(self, step: int) -> float:
        """The learning rate at ``step`` (an integer >= 0)."""
        step = check.integer("step", step, 0)
        after = self.after
        if step >= self.warmup_steps:
            return after(step - self.warmup_steps) if callable(after) else float(after)
        peak = after(0) if callable(after) else float(after)
        return peak * (step + 1) / self.warmup_steps


def clip_grad_norm(params: Iterable[Value], max_norm: float, eps: float = 1e-6) -> float:
    """Scale all gradients down together so their global 2-norm is at most ``max_norm``.

    Returns the norm before clipping, as ``torch.nn.utils.clip_grad_norm_`` does (and scales by
    ``max_norm / (norm + eps)`` as it does). All-zero gradients stay zero (also with
    ``max_norm=0, eps=0``, where torch makes them nan); finite gradients whose norm overflows
    are scaled by ``max_norm / norm`` all the same (the norm returned is ``inf``). Raises
    ValueError for a nan or inf gradient, which no scaling can bring to ``max_norm``.

    >>> a, b = Value(0.0), Value(0.0)
    >>> a.grad, b.grad = 3.0, 4.0
    >>> clip_grad_norm([a, b], 1.0)
    5.0
    >>> round(a.grad, 6), round(b.grad, 6)
    (0.6, 0.8)
    """
    params = check.values("params", params, nonempty=False)
    max_norm = check.real("max_norm", max_norm, 0.0, infinite=True)
    eps = check.real("eps", eps, 0.0)
    grads = [float(p.grad) for p in params]
    for i, g in enumerate(grads):
        if not math.isfinite(g):  # torch would scale every gradient to nan (or leave it inf)
            raise ValueError(f"params[{i}].grad is {g}: gradients must be finite to be clipped")
    total = math.hypot(*grads)  # exact to rounding, with no overflow on the way
    if total + eps == 0.0:
        return total  # all zero: nothing to scale (and max_norm / 0 is no coefficient)
    if math.isinf(total) and math.isfinite(max_norm):  # finite gradients, norm past the floats
        largest = max(abs(g) for g in grads)  # g * max_norm / norm, computed from g / largest
        grads = [g / largest for g in grads]
        coef = max_norm / math.hypot(*grads)  # eps is nothing beside such a norm
        for p, g in zip(params, grads, strict=True):
            p.grad = g * coef
        return total
    coef = max_norm / (total + eps)
    if coef < 1.0:
        for p, g in zip(params, grads, strict=True):
            p.grad = g * coef
    return total
