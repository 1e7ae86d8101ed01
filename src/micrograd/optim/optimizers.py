"""Optimizers with PyTorch's update rules (SGD, Adam, AdamW), their saved state, and clipping of
gradients."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from micrograd import _check as check
from micrograd._floats import maximum as nan_maximum
from micrograd.engine import Value
from micrograd.optim.rules import adam_rule, adam_settings, sgd_rule, sgd_settings


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
        settings = sgd_settings(lr, momentum, dampening, nesterov, weight_decay)
        _, self.momentum, self.dampening, self.nesterov, self.weight_decay = settings
        self.momentum_buffer: list[float | None] = [None] * len(self.params)

    _nullable_buffers = frozenset({"momentum_buffer"})

    def step(self) -> None:
        """One SGD update of every parameter."""
        settings = sgd_settings(**self.hyperparameters())  # once: lr may have been set since
        bufs = self.momentum_buffer
        for i, p in enumerate(self.params):
            p.data, bufs[i] = sgd_rule(p.data, float(p.grad), bufs[i], *settings)
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
        settings = adam_settings(lr, betas, eps, weight_decay, amsgrad)
        _, self.betas, self.eps, self.weight_decay, self.amsgrad = settings
        n = len(self.params)
        self.exp_avg: list[float | None] = [0.0] * n
        self.exp_avg_sq: list[float | None] = [0.0] * n
        self.max_exp_avg_sq: list[float | None] = [0.0] * n

    _nonnegative_buffers = frozenset({"exp_avg_sq", "max_exp_avg_sq"})

    def step(self) -> None:
        """One Adam update of every parameter."""
        # Checked once per step (lr may have been set since), then applied to every parameter.
        lr, betas, eps, wd, amsgrad = adam_settings(
            self.lr, self.betas, self.eps, self.weight_decay, self.amsgrad
        )
        self.step_count += 1
        t, decoupled = self.step_count, self.decoupled
        m, v, vmax = self.exp_avg, self.exp_avg_sq, self.max_exp_avg_sq
        for i, p in enumerate(self.params):
            p.data, m[i], v[i], vmax[i] = adam_rule(
                p.data, float(p.grad), m[i], v[i], vmax[i], t, lr, betas, eps, wd,
                decoupled=decoupled, amsgrad=amsgrad, sqrt=math.sqrt, maximum=nan_maximum,
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
