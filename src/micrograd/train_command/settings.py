"""``micrograd train``'s settings: defaults, a checkpoint's, the command line's, and the checks
that refuse a plan that would do something else than it says."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

from micrograd import _check as check
from micrograd.cli import (
    EXIT_USAGE,
    MAX_HIDDEN_LAYERS,
    RANGES,
    SCHEDULES,
    TRAIN_DEFAULTS,
    CommandError,
)
from micrograd.data import DATASETS
from micrograd.nn import ACTIVATIONS
from micrograd.optim import OPTIMIZERS, CosineLR, LinearDecay, Schedule, StepLR, Warmup
from micrograd.train import LOSS_KINDS
from micrograd.train_command.files import MODEL_FILE, read_resumed

DEFAULT_LR = {"sgd": 1.0, "adam": 0.01, "adamw": 0.01}
# Plain SGD's step is the gradient's size, so where the gradient is large its default lr is
# smaller. MSE's gradient grows with the error (hinge's is bounded): at lr 1.0 it blows up on
# every data set (moons: 1.25 -> 4.7e18). The lecture's inputs reach 3 (the others' about 1):
# at lr 1.0 its net often gets stuck at 3 of 4 points, and mse at 0.02 spikes. Measured: these
# train every data set in the default 100 steps, for seeds 7, 42 and 1337.
SGD_LR = {("mse", "lecture"): 0.01, ("mse", None): 0.02, (None, "lecture"): 0.1}

HIDDEN_ACTIVATIONS = [a for a in ACTIVATIONS if a != "linear"]

# The fewest points each data set makes (micrograd.data refuses fewer: a moon or a ring per
# class, a spiral arm or a blob per class). The lecture's set is always its four points.
MIN_SAMPLES = {"moons": 2, "circles": 2, "spiral": 3, "xor": 1, "blobs": 3, "and": 1}
FIXED_SAMPLES = {"lecture": 4}


def samples_help() -> str:
    """What --samples takes, for its help: the range of each data set."""
    high = RANGES["samples"].high
    least = ", ".join(f"{name} {n}" for name, n in MIN_SAMPLES.items())
    fixed = ", ".join(
        f"{name} always has {n} (and notes that)" for name, n in FIXED_SAMPLES.items()
    )
    return (
        f"number of points, a whole number from the data set's least ({least}) to {high:,} "
        f"(default: 100); {fixed}"
    )


def check_samples(dataset: str, samples: int, given: bool) -> None:
    """A usage error naming --samples when ``dataset`` cannot make ``samples`` points; a note
    when a fixed set ignores the number ``given`` on the command line."""
    fixed = FIXED_SAMPLES.get(dataset)
    if fixed is not None:
        if given and samples != fixed:
            print(
                f"note: {dataset} is a fixed set of {fixed} points: --samples {samples} is ignored"
            )
        return
    least = MIN_SAMPLES.get(dataset, 1)
    if samples < least:
        raise CommandError(
            f"--samples: {dataset} needs at least {least} points, got {samples}", EXIT_USAGE
        )


# Points per step times parameters: what one step's graph grows with (about 350 bytes each on
# the scalar engine, twice that while the fast engine traces). The default run uses 33,700.
MAX_WORK = 1_000_000


def read_mlp_checkpoint(path: str) -> dict[str, Any]:
    """A checkpoint to resume from that holds an MLP (read_resumed, then its config)."""
    doc = read_resumed(path)
    config = doc.get("config")
    if not (
        isinstance(config, dict)
        and isinstance(config.get("nouts"), list)
        and isinstance(config.get("activations"), list)
    ):
        raise CommandError(f"cannot resume: {path} holds no MLP config", EXIT_USAGE)
    step = doc.get("metadata", {}).get("step", 0)
    if type(step) is not int or not 0 <= step < 2**63:
        raise CommandError(
            f"cannot resume: {path} records step {check.describe(step)}, "
            "not an integer in [0, 2**63)",
            EXIT_USAGE,
        )
    return doc


def saved_settings(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The settings and the completed steps a checkpoint records (its model's shape if none)."""
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    settings = metadata.get("settings")
    step = metadata.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        step = 0
    if isinstance(settings, dict):
        return {k: v for k, v in settings.items() if k in TRAIN_DEFAULTS}, step
    # A model saved by nn.save, not by this command: take its shape, the rest from defaults.
    config = doc["config"]
    nouts, acts = list(config["nouts"]), list(config["activations"])
    shape: dict[str, Any] = {"layers": nouts[:-1]}
    if len(acts) > 1:
        shape["activation"] = acts[0]
    return shape, step


def resolve_settings(explicit: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    """Defaults, overridden by a checkpoint's settings, overridden by the command line.

    The lr may stay None (the default for the optimizer and loss, chosen once the loss is).
    """
    settings = {**TRAIN_DEFAULTS, **saved}
    # A new optimizer, loss or data set without its own lr gets the default for it (a new data
    # set also the default loss).
    for name in ("optimizer", "loss", "dataset"):
        if name in explicit and explicit[name] != saved.get(name):
            settings["lr"] = None
    if "dataset" in explicit and explicit["dataset"] != saved.get("dataset"):
        settings["loss"] = None
    settings.update(explicit)
    _check_settings(settings)
    return settings


def default_lr(optimizer: str, loss: str, dataset: str) -> float:
    """The learning rate an optimizer starts from when none is given (see DEFAULT_LR, SGD_LR)."""
    if optimizer != "sgd":
        return DEFAULT_LR[optimizer]
    for key in ((loss, dataset), (loss, None), (None, dataset)):
        if key in SGD_LR:
            return SGD_LR[key]
    return DEFAULT_LR["sgd"]


def _check_settings(s: dict[str, Any]) -> None:
    """Refuse settings (from a hand-edited checkpoint) that the options would have refused."""
    layers = s["layers"]
    checks = {
        "dataset": s["dataset"] in DATASETS,
        "layers": isinstance(layers, list)
        and len(layers) <= MAX_HIDDEN_LAYERS
        and all(n in RANGES["layers"] for n in layers),
        "activation": s["activation"] in HIDDEN_ACTIVATIONS,
        "loss": s["loss"] is None or s["loss"] in LOSS_KINDS,
        "optimizer": s["optimizer"] in OPTIMIZERS,
        "lr": s["lr"] is None or s["lr"] in RANGES["lr"],
        "schedule": s["schedule"] in SCHEDULES,
        "batch_size": s["batch_size"] is None or s["batch_size"] in RANGES["batch_size"],
    }
    for name in ("samples", "noise", "warmup", "steps", "l2", "seed"):
        checks[name] = s[name] in RANGES[name]
    bad = [f"{k}={s[k]!r}" for k, ok in checks.items() if not ok]
    if bad:
        raise CommandError(f"the checkpoint's settings are not valid: {', '.join(bad)}", EXIT_USAGE)


def output_width(loss: str, classes: int, dataset: str) -> int:
    """The size of the output layer: one score, or one per class."""
    if loss in ("hinge", "bce"):
        if classes > 2:
            raise CommandError(
                f"--loss {loss} needs two classes, but {dataset} has {classes}: "
                "use --loss cross_entropy or mse",
                EXIT_USAGE,
            )
        return 1
    if loss == "mse":
        return 1 if classes <= 2 else classes
    return max(classes, 2)


def lr_schedule(name: str, lr: float, steps: int, warmup: int) -> Schedule:
    """The learning rate at each step of the whole run."""
    span = max(1, steps - warmup)
    base: Schedule
    if name == "linear":
        base = LinearDecay(lr, lr * 0.1, span)  # micrograd's demo: 1.0 - 0.9 * k / 100
    elif name == "cosine":
        base = CosineLR(lr, span)
    elif name == "step":
        base = StepLR(lr, step_size=max(1, span // 3), gamma=0.1)
    else:
        base = LinearDecay(lr, lr, span)  # constant
    return Warmup(base, warmup) if warmup else base


def check_resume_path(path: str) -> None:
    """A usage error saying what to do when ``--resume`` names no file."""
    where = Path(path)
    if where.is_dir():
        inside = where / MODEL_FILE
        hint = f": give {inside}" if inside.is_file() else ""
        raise CommandError(
            f"cannot resume: {where} is a folder, not a checkpoint{hint}", EXIT_USAGE
        )
    if not where.exists():
        raise CommandError(
            f"cannot resume: there is no {where}. Give the model.json of an earlier run "
            "(micrograd train writes runs/DATASET/model.json), or leave out --resume to start "
            "afresh",
            EXIT_USAGE,
        )


def check_work(s: dict[str, Any], inputs: int, outputs: int, points: int) -> None:
    """Refuse a step too big to fit in memory: parameters x points per step > MAX_WORK."""
    sizes = [inputs, *s["layers"], outputs]
    params = sum((fan_in + 1) * units for fan_in, units in itertools.pairwise(sizes))
    if s["batch_size"] is not None:
        points = min(points, s["batch_size"])
    if params * points > MAX_WORK:
        raise CommandError(
            f"a step of {points:,} points through {params:,} parameters is "
            f"{params * points:,} weight-uses, more than the limit of {MAX_WORK:,}: use smaller "
            "--layers, fewer --samples or a --batch-size",
            EXIT_USAGE,
        )


def check_plan(s: dict[str, Any], points: int) -> None:
    """Refuse options that would silently do something else than they say: a batch larger than
    the data (it would be the full batch) and a warm-up as long as the run (the learning rate
    would never reach --lr)."""
    if s["batch_size"] is not None and s["batch_size"] > points:
        raise CommandError(
            f"--batch-size {s['batch_size']} is more than the {points} points of {s['dataset']}: "
            f"use at most {points}, or leave it out to train on all of them at each step",
            EXIT_USAGE,
        )
    if s["warmup"] and s["warmup"] >= s["steps"]:
        raise CommandError(
            f"--warmup {s['warmup']} is not shorter than the run (--steps {s['steps']}): the "
            "learning rate would never reach --lr; use fewer warm-up steps or more steps",
            EXIT_USAGE,
        )


def restore_sampler(
    sampler: random.Random, doc: dict[str, Any], path: str, start: int, batch: int | None
) -> None:
    """Set the batch sampler to the checkpoint's, so that the run goes on with the same batches."""
    metadata = doc.get("metadata")
    state = metadata.get("sampler") if isinstance(metadata, dict) else None
    if state is None:
        if start and batch is not None:
            print("note: the checkpoint holds no batch-sampler state; batches restart from --seed")
        return
    # random.getstate() as JSON: [3, [624 32-bit words, then the index 0-624], gauss_next].
    # setstate alone would take words of any size, cutting them to 32 bits without a word.
    words = state[1] if isinstance(state, list) and len(state) == 3 else None
    valid = (
        isinstance(words, list)
        and len(words) == 625
        and all(type(w) is int and 0 <= w < 2**32 for w in words)
        and words[-1] <= 624
        and state[0] == 3
        and (state[2] is None or type(state[2]) is float)
    )
    if not (valid and isinstance(words, list)):
        raise CommandError(
            f"cannot resume from {path}: its batch-sampler state is not valid (not "
            "[3, [624 32-bit words and an index up to 624], null or a number])",
            EXIT_USAGE,
        )
    sampler.setstate((3, tuple(words), state[2]))
