"""micrograd.optim: SGD/Adam/AdamW step for step against torch.optim, schedules, clipping, state."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lazy_torch import torch
from micrograd.engine import Value
from micrograd.nn import MLP, CheckpointError
from micrograd.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    CosineLR,
    LinearDecay,
    Optimizer,
    StepLR,
    Warmup,
    clip_grad_norm,
)

START = [0.7, -1.3, 0.25, 2.0]


def objective(p: list[Any]) -> Any:
    """A small non-quadratic loss, written so that it runs on Values and on 0-d tensors alike."""
    a, b, c, d = p
    return (a * 2.0 - 1.0) ** 2 + (b * c).tanh() * 3.0 + (d - 0.5) ** 4 + a * b * d * 0.1


def close(a: float, b: float) -> bool:
    """Equal up to float64 rounding (torch may fuse a multiply-add)."""
    return math.isclose(a, b, rel_tol=1e-11, abs_tol=1e-13)


def run_both(
    ours: Callable[[list[Value]], Optimizer],
    theirs: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int = 8,
    new_lr: float | None = None,
) -> list[tuple[list[float], list[float]]]:
    """Train the same parameters with both optimizers; each step's parameters, ours and torch's."""
    vs = [Value(x) for x in START]
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt, topt = ours(vs), theirs(ts)
    trace = []
    for k in range(steps):
        if new_lr is not None and k == steps // 2:  # .lr is settable, like a param group's
            opt.lr = new_lr
            topt.param_groups[0]["lr"] = new_lr
        opt.zero_grad()
        objective(vs).backward()
        topt.zero_grad()
        objective(ts).backward()
        opt.step()
        topt.step()
        trace.append(([v.data for v in vs], [t.item() for t in ts]))
    return trace


def assert_same_trace(trace: list[tuple[list[float], list[float]]]) -> None:
    """Every step's parameters agree with torch's, and training actually moved them."""
    mismatches = [
        (k, a, b)
        for k, (ours, theirs) in enumerate(trace)
        for a, b in zip(ours, theirs, strict=True)
        if not close(a, b)
    ]
    assert mismatches == []
    assert trace[-1][0] != START


SGD_SETTINGS: list[dict[str, Any]] = [
    {"lr": 0.05},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
]


@pytest.mark.torch
@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_sgd_matches_torch_step_for_step(settings: dict[str, Any]) -> None:
    """SGD (momentum, dampening, nesterov, weight decay) tracks torch.optim.SGD for 8 steps."""
    assert_same_trace(
        run_both(lambda p: SGD(p, **settings), lambda p: torch.optim.SGD(p, **settings))
    )


ADAM_SETTINGS: list[dict[str, Any]] = [
    {"lr": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "amsgrad": True},
]


@pytest.mark.torch
@pytest.mark.parametrize("settings", ADAM_SETTINGS)
def test_adam_matches_torch_step_for_step(settings: dict[str, Any]) -> None:
    """Adam (betas, eps, L2 weight decay, amsgrad) tracks torch.optim.Adam for 8 steps."""
    assert_same_trace(
        run_both(lambda p: Adam(p, **settings), lambda p: torch.optim.Adam(p, **settings))
    )


@pytest.mark.torch
@pytest.mark.parametrize("settings", [*ADAM_SETTINGS, {"lr": 0.1, "weight_decay": 0.5}])
def test_adamw_matches_torch_step_for_step(settings: dict[str, Any]) -> None:
    """AdamW (decoupled weight decay, default 0.01) tracks torch.optim.AdamW for 8 steps."""
    assert_same_trace(
        run_both(lambda p: AdamW(p, **settings), lambda p: torch.optim.AdamW(p, **settings))
    )


# Gradient sequences that reach inf and nan inside Adam's moments: g² overflows, then 0·inf.
NONFINITE_GRADIENTS = [
    [1.0, -1e300, 1.0, 2.0],
    [1.0, math.inf, -1.0, 1.0],
    [2.0, math.nan, 1.0, 1.0],
    [1e200, 1e200, -3.0, 0.5],
]


@pytest.mark.torch
@pytest.mark.parametrize("grads", NONFINITE_GRADIENTS)
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
def test_adam_with_gradients_that_overflow_matches_torch(
    grads: list[float], amsgrad: bool, kind: str
) -> None:
    """Adam and AdamW (amsgrad or not) on gradients whose squares overflow or that are nan:
    each step's parameter is torch's, nan where torch's is nan (amsgrad's running maximum takes
    a nan second moment, as torch.maximum does)."""
    settings = {"lr": 0.1, "betas": (0.0, 0.0), "eps": 0.0, "amsgrad": amsgrad}
    p, t = Value(0.9), torch.tensor([0.9], dtype=torch.float64, requires_grad=True)
    opt = {"Adam": Adam, "AdamW": AdamW}[kind]([p], **settings)
    topt = getattr(torch.optim, kind)([t], **settings)
    ours, theirs = [], []
    for g in grads:
        p.grad, t.grad = g, torch.tensor([g], dtype=torch.float64)
        opt.step()
        topt.step()
        ours.append(p.data)
        theirs.append(t.item())
    assert [repr(x) for x in ours] == [repr(x) for x in theirs]


@pytest.mark.torch
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, 0.1, 0.9)),
        (lambda p: Adam(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1)),
    ],
)
def test_changing_lr_midway_matches_torch(
    ours: Callable[[list[Value]], Optimizer],
    theirs: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
) -> None:
    """Setting .lr between steps acts as setting torch's param_groups[0]['lr']."""
    assert_same_trace(run_both(ours, theirs, new_lr=0.01))


def test_defaults_match_torch() -> None:
    """The defaults are torch's: Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8; AdamW decay 1e-2."""
    p = [Value(1.0)]
    assert (Adam(p).hyperparameters(), AdamW(p).weight_decay, SGD(p).momentum) == (
        {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
        1e-2,
        0.0,
    )


def test_step_reads_a_value_gradient() -> None:
    """After backward(create_graph=True) a .grad is a Value; step() uses its number."""
    a, b = Value(3.0), Value(3.0)
    (a * a).backward(create_graph=True)
    (b * b).backward()
    SGD([a], lr=0.1).step()
    SGD([b], lr=0.1).step()
    assert a.data == b.data == 3.0 - 0.1 * 6.0


def test_zero_grad_clears_gradients() -> None:
    """zero_grad() sets the gradient of every parameter it holds to 0."""
    ps = [Value(1.0), Value(2.0)]
    (ps[0] * ps[1]).backward()
    Adam(ps).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SGD([Value(1.0)], lr=-1.0), "lr must be a real number >= 0"),
        (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True), "Nesterov"),
        (lambda: SGD([Value(1.0)], lr=0.1, momentum=-0.5), "momentum"),
        (lambda: Adam([Value(1.0)], betas=(1.0, 0.9)), "betas"),
        (lambda: AdamW([Value(1.0)], weight_decay=-1.0), "weight_decay"),
        (lambda: SGD([], lr=0.1), "empty"),
        (lambda: (lambda v: SGD([v, v], lr=0.1))(Value(1.0)), "more than once"),
    ],
)
def test_bad_settings_raise(make: Callable[[], Optimizer], message: str) -> None:
    """Invalid settings raise ValueError, as torch's constructors do."""
    with pytest.raises(ValueError, match=message):
        make()


def test_registry_names_the_optimizers() -> None:
    """OPTIMIZERS maps sgd, adam and adamw to the classes."""
    assert {"sgd": SGD, "adam": Adam, "adamw": AdamW} == OPTIMIZERS


# --- schedules ---


def test_linear_decay_is_the_demos_schedule_exactly() -> None:
    """LinearDecay(1.0, 0.1, 100) gives exactly 1.0 - 0.9*k/100 for every step of the demo."""
    schedule = LinearDecay(1.0, 0.1, 100)
    assert [1.0 - 0.9 * k / 100 for k in range(100)] == [schedule(k) for k in range(100)]
    assert schedule(150) == 0.1


def lrs_of(make: Callable[[torch.optim.Optimizer], Any], steps: int) -> list[float]:
    """The learning rate a torch scheduler sets at steps 0 … steps-1 (base lr 0.5)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return out


@pytest.mark.torch
def test_step_lr_matches_torch() -> None:
    """StepLR equals torch.optim.lr_scheduler.StepLR over 30 steps."""
    ours = StepLR(0.5, step_size=7, gamma=0.3)
    theirs = lrs_of(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.3), 30)
    assert all(close(a, b) for a, b in zip([ours(k) for k in range(30)], theirs, strict=True))


@pytest.mark.torch
def test_cosine_lr_matches_torch() -> None:
    """CosineLR equals torch.optim.lr_scheduler.CosineAnnealingLR over its 40 steps."""
    ours = CosineLR(0.5, steps=40, lr_min=0.05)
    theirs = lrs_of(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.05), 40
    )
    assert all(close(a, b) for a, b in zip([ours(k) for k in range(40)], theirs, strict=True))
    assert ours(40) == 0.05


@pytest.mark.parametrize(
    ("lr", "gamma", "step", "expected"),
    [
        (1.0, 10.0, 300, 1e300),
        (1.0, 10.0, 400, math.inf),  # past the floats: inf, as torch's chain of products
        (1e-300, 10.0, 400, 1e100),
        (0.0, 10.0, 400, 0.0),
        (0.1, 0.5, 10**400, 0.0),  # an exponent too large to be a float
        (0.1, 1.0, 10**400, 0.1),
        (0.1, 2.0, 10**400, math.inf),
        (0.1, 0.0, 10**400, 0.0),
        (1e300, 1e-10, 40, 1e-100),  # gamma**k below the floats, the product not
        (1e300, 1e-10, 31, 1e-10),  # gamma**k subnormal: its few digits are not the answer
    ],
)
def test_step_lr_past_the_floats_is_inf_or_zero(
    lr: float, gamma: float, step: int, expected: float
) -> None:
    """StepLR where gamma**k (or k) is past the floats: lr * gamma**k to rounding where that is
    a float, else inf or 0.0 (as torch's chain of products), never an OverflowError; a zero lr
    stays 0.0."""
    assert StepLR(lr, step_size=1, gamma=gamma)(step) == pytest.approx(expected, rel=1e-12)


def test_warmup_ramps_up_then_follows() -> None:
    """Warmup rises linearly to the schedule's first value, then runs the schedule from 0."""
    schedule = Warmup(StepLR(1.0, step_size=2, gamma=0.5), warmup_steps=4)
    assert [schedule(k) for k in range(8)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert [Warmup(0.2, warmup_steps=2)(k) for k in range(3)] == [0.1, 0.2, 0.2]


# --- clipping ---


@pytest.mark.torch
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(max_norm: float) -> None:
    """clip_grad_norm returns and enforces the global norm as torch's clip_grad_norm_ does."""
    grads = [3.0, -4.0, 12.0]
    vs = [Value(0.0) for _ in grads]
    ts = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in grads]
    for v, t, g in zip(vs, ts, grads, strict=True):
        v.grad = g
        t.grad = torch.tensor(g, dtype=torch.float64)
    norm = clip_grad_norm(vs, max_norm)
    tnorm = torch.nn.utils.clip_grad_norm_(ts, max_norm).item()
    assert norm == 13.0
    assert close(norm, tnorm)
    assert all(close(float(v.grad), t.grad.item()) for v, t in zip(vs, ts, strict=True))  # type: ignore[union-attr]


# --- saving optimizer state ---


def train(model: MLP, opt: Optimizer, steps: int) -> None:
    """A few optimizer steps of a squared loss on fixed data."""
    data = [([0.5, -1.0], 1.0), ([-0.3, 0.8], -1.0), ([1.2, 0.1], 1.0)]
    for _ in range(steps):
        loss = sum(((model(x) - t) ** 2 for x, t in data), Value(0.0))  # type: ignore[operator]
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw"])
def test_optimizer_state_saves_and_loads_with_the_model(tmp_path: Path, kind: str) -> None:
    """Stopping after 3 steps, saving, loading into fresh objects and going on gives exactly the
    parameters of 6 uninterrupted steps (momentum and Adam's moments are restored)."""
    settings = {"lr": 0.05, "momentum": 0.9} if kind == "sgd" else {"lr": 0.05}
    random.seed(5)
    straight = MLP(2, [4, 1])
    opt = OPTIMIZERS[kind](straight.parameters(), **settings)
    train(straight, opt, 6)

    random.seed(5)
    first = MLP(2, [4, 1])
    opt = OPTIMIZERS[kind](first.parameters(), **settings)
    train(first, opt, 3)
    first.save(tmp_path / "ckpt.json", optimizer=opt)

    random.seed(99)
    resumed = MLP(2, [4, 1])
    opt2 = OPTIMIZERS[kind](resumed.parameters(), lr=1.0)
    resumed.load(tmp_path / "ckpt.json", optimizer=opt2)
    train(resumed, opt2, 3)
    assert [p.data for p in resumed.parameters()] == [p.data for p in straight.parameters()]
    assert (opt2.lr, opt2.step_count) == (0.05, 6)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(type="Adam"),
        lambda s: s.update(n_params=3),
        lambda s: s["buffers"]["momentum_buffer"].pop(),
        lambda s: s["buffers"].update(momentum_buffer=["x"] * 2),
        lambda s: s["hyperparameters"].update(lr="fast"),
        lambda s: s["hyperparameters"].pop("nesterov"),
        lambda s: s.update(step_count=-1),
    ],
)
def test_bad_optimizer_state_raises_and_changes_nothing(
    change: Callable[[dict[str, Any]], None],
) -> None:
    """A state of another type, size or shape raises ValueError; the optimizer is unchanged."""
    ps = [Value(1.0), Value(2.0)]
    opt = SGD(ps, lr=0.1, momentum=0.9)
    (ps[0] * ps[1]).backward()
    opt.step()
    before = opt.state_dict()
    state = opt.state_dict()
    change(state)
    with pytest.raises(ValueError):
        opt.load_state_dict(state)
    assert before == opt.state_dict()


def test_model_load_with_mismatched_optimizer_changes_neither(tmp_path: Path) -> None:
    """Loading an SGD checkpoint into an Adam raises CheckpointError; model and Adam are kept."""
    random.seed(0)
    model = MLP(2, [2, 1])
    model.save(tmp_path / "c.json", optimizer=SGD(model.parameters(), lr=0.1))
    other = MLP(2, [2, 1])
    adam = Adam(other.parameters())
    before = ([p.data for p in other.parameters()], adam.state_dict())
    with pytest.raises(CheckpointError, match="optimizer state"):
        other.load(tmp_path / "c.json", optimizer=adam)
    assert before == ([p.data for p in other.parameters()], adam.state_dict())


@pytest.mark.parametrize("max_norm", [0.0, 1.0])
def test_clip_grad_norm_leaves_all_zero_gradients_zero_even_with_no_eps(max_norm: float) -> None:
    """Zero gradients have norm 0 and stay 0, also with max_norm = eps = 0 (0 / 0 in torch)."""
    vs = [Value(1.0), Value(2.0)]
    for v in vs:
        v.grad = 0.0
    assert clip_grad_norm(vs, max_norm, eps=0.0) == 0.0
    assert [v.grad for v in vs] == [0.0, 0.0]


def test_clip_grad_norm_scales_gradients_whose_norm_overflows() -> None:
    """Finite gradients of norm beyond the largest float are scaled to max_norm all the same."""
    vs = [Value(0.0), Value(0.0)]
    vs[0].grad, vs[1].grad = 1.5e308, -1.5e308
    assert clip_grad_norm(vs, 2.0) == math.inf
    root2 = math.sqrt(2.0)  # 1.5e308 * 2 / (1.5e308 * sqrt 2), to one rounding of the division
    assert [v.grad for v in vs] == pytest.approx([root2, -root2], rel=2.3e-16, abs=0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_clip_grad_norm_refuses_a_gradient_that_is_not_finite(bad: float) -> None:
    """A nan or inf gradient is a ValueError naming it, not gradients scaled to nan."""
    vs = [Value(0.0), Value(0.0)]
    vs[0].grad, vs[1].grad = 1.0, bad
    with pytest.raises(ValueError, match=r"params\[1\]\.grad is"):
        clip_grad_norm(vs, 1.0)
    assert vs[0].grad == 1.0
