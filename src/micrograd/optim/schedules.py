"""Learning-rate schedules: callables ``step -> lr``."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

from micrograd import _check as check

# A learning-rate schedule: the learning rate to use at a (0-based) step.
Schedule = Callable[[int], float]


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


def _scaled_power(scale: float, base: float, exponent: int) -> float:
    """``scale * base ** exponent`` for ``scale, base >= 0`` and a whole ``exponent >= 0``, to
    rounding, also where ``base ** exponent`` alone is past the floats (through logarithms
    there); inf past the largest float and 0.0 below the smallest, as torch's chain of products
    reaches, never the OverflowError of Python's ``**``."""
    if scale == 0.0 or exponent == 0 or base == 1.0:
        return scale
    if base == 0.0:
        return 0.0
    try:
        power = base**exponent
    except OverflowError:  # past the largest float, or an exponent too large to be a float
        power = math.inf
    if sys.float_info.min <= power < math.inf:  # a normal float: the product is exact to rounding
        return scale * power
    try:
        return math.exp(math.log(scale) + exponent * math.log(base))
    except OverflowError:
        return math.inf if base > 1.0 else 0.0


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
        return _scaled_power(self.lr, self.gamma, step // self.step_size)


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
