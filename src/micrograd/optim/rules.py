"""The optimizers' update rules, on one number or on a NumPy array of them (the optimizers of
Values and micrograd.fast's ArraySGD/ArrayAdam run the same rule), and their settings' checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from micrograd import _check as check
from micrograd._floats import div
from micrograd._floats import maximum as nan_maximum

SGDSettings = tuple[float, float, float, bool, float]
AdamSettings = tuple[float, tuple[float, float], float, float, bool]


def sgd_settings(
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


def adam_settings(
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
    return sgd_rule(p, g, buf, *sgd_settings(lr, momentum, dampening, nesterov, weight_decay))


def sgd_rule(
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
    maximum: Callable[[Any, Any], Any] = nan_maximum,
) -> tuple[Any, Any, Any, Any]:
    """``torch.optim.Adam``'s (``AdamW``'s if ``decoupled``) step ``t`` (from 1) of a parameter.

    Returns ``(new p, new m, new v, new vmax)``. ``m = lerp(m, g, 1-β1)``;
    ``v = β2·v + (1-β2)·g²``; ``p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)``. Pass
    ``sqrt=np.sqrt, maximum=np.maximum`` for arrays; ``maximum`` must give nan when either
    side is nan, as ``torch.maximum`` does (Python's ``max`` would keep amsgrad's old maximum
    after a nan second moment, where torch's parameter becomes nan). The settings are checked
    as ``Adam`` checks them (TypeError or ValueError naming the setting).
    """
    lr, betas, eps, weight_decay, amsgrad = adam_settings(lr, betas, eps, weight_decay, amsgrad)
    t, decoupled = check.integer("t", t, 1), check.boolean("decoupled", decoupled)
    sqrt, maximum = check.function("sqrt", sqrt), check.function("maximum", maximum)
    return adam_rule(
        p, g, m, v, vmax, t, lr, betas, eps, weight_decay,
        decoupled=decoupled, amsgrad=amsgrad, sqrt=sqrt, maximum=maximum,
    )  # fmt: skip


def adam_rule(
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
