"""``micrograd train``: read the settings, make the model, train in the run folder, finish."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from micrograd._interrupt import StopRequest
from micrograd.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    TRAIN_DEFAULTS,
    CommandError,
    _one_line,
)
from micrograd.data import DATASETS
from micrograd.nn import MLP
from micrograd.optim import OPTIMIZERS
from micrograd.train import TrainingDiverged, accuracy, fit, predict_scores, resolve_engine
from micrograd.train_command.files import (
    BOUNDARY_PLOT,
    HISTORY_FILE,
    LOSS_PLOT,
    MODEL_FILE,
    REPORT_FILE,
    close_bar,
    progress_bar,
    require_plotting,
    run_folder,
    same_file,
    saved_engine,
)
from micrograd.train_command.loop import (
    BLOWUP_FACTOR,
    BLOWUP_STEPS,
    Run,
    left_behind,
    load_resumed,
    read_history,
)
from micrograd.train_command.settings import (
    check_plan,
    check_resume_path,
    check_samples,
    check_work,
    default_lr,
    lr_schedule,
    output_width,
    read_mlp_checkpoint,
    resolve_settings,
    restore_sampler,
    saved_settings,
)


def _pick_engine(choice: str) -> str:
    """'fast' or 'value' (train.resolve_engine), a missing NumPy as a one-line error."""
    try:
        return resolve_engine(choice)
    except ImportError as e:
        raise CommandError(str(e)) from None


def run(ns: argparse.Namespace) -> int:
    """``micrograd train`` with its parsed options; the exit status."""
    explicit = {k: getattr(ns, k) for k in TRAIN_DEFAULTS if hasattr(ns, k)}
    doc: dict[str, Any] | None = None
    saved: dict[str, Any] = {}
    start = 0
    if ns.resume is not None:
        check_resume_path(ns.resume)
        doc = read_mlp_checkpoint(ns.resume)
        saved, start = saved_settings(doc)
    s = resolve_settings(explicit, saved)
    check_samples(s["dataset"], s["samples"], "samples" in explicit)
    try:
        X, y = DATASETS[s["dataset"]](n_samples=s["samples"], noise=s["noise"], seed=s["seed"])
    except ValueError as e:
        raise CommandError(f"{s['dataset']}: {e}", EXIT_USAGE) from None
    classes = max(y) + 1
    loss = s["loss"] or ("hinge" if classes <= 2 else "cross_entropy")
    s["loss"] = loss
    if s["lr"] is None:
        s["lr"] = default_lr(s["optimizer"], loss, s["dataset"])
    width = output_width(loss, classes, s["dataset"])
    check_work(s, len(X[0]), width, len(X))
    check_plan(s, len(X))
    if ns.out is not None:
        out = Path(ns.out)
    elif ns.resume is not None:
        out = Path(ns.resume).parent
    else:
        out = Path("runs") / s["dataset"]
    engine = _pick_engine(getattr(ns, "engine", None) or saved_engine(doc, "auto"))
    if not ns.no_plots:
        require_plotting()

    random.seed(s["seed"])
    model = MLP(
        len(X[0]), [*s["layers"], width], activation=s["activation"], out_activation="linear"
    )
    optimizer = OPTIMIZERS[s["optimizer"]](model.parameters(), lr=s["lr"])
    sampler = random.Random(s["seed"])  # draws the batches
    if ns.resume is not None and doc is not None:
        load_resumed(model, optimizer, ns.resume, doc)
        restore_sampler(sampler, doc, ns.resume, start, s["batch_size"])
    total = s["steps"]
    if start >= total:
        print(f"{ns.resume} is at step {start} of {total}: nothing to do (raise --steps)")
        return EXIT_OK
    resumed_here = ns.resume is not None and same_file(Path(ns.resume), out / MODEL_FILE)
    with run_folder(out, keep_run=resumed_here):
        run = Run(
            model, optimizer, sampler, s, out, start, ns.checkpoint_every, engine, StopRequest()
        )
        if start:
            earlier = read_history(Path(ns.resume).parent / HISTORY_FILE, start)
            if earlier is None:
                print(
                    f"note: no history of steps 0-{start - 1}; history.csv starts at step {start}"
                )
            else:
                run.resume_history(*earlier)
        return _train_run(run, X, y, ns.progress, ns.no_plots, ns.report)


def _train_run(
    run: Run,
    X: list[list[float]],
    y: list[int],
    progress: bool | None,
    no_plots: bool,
    report: bool = False,
) -> int:
    """Train in the locked run folder: print, fit, stop on a blow-up or Ctrl-C, finish."""
    from micrograd.explorer.report import Checkpoints

    weights = Checkpoints(run.model, run.every, run.start) if report else None
    if weights is not None:
        weights.take(run.start)
    s, start, total = run.settings, run.start, run.settings["steps"]
    base = lr_schedule(s["schedule"], s["lr"], total, s["warmup"])

    def schedule(k: int) -> float:
        return base(start + k)

    batch = "full batch" if s["batch_size"] is None else f"batches of {s['batch_size']}"
    print(
        f"training {run.model!r} on {s['dataset']} ({len(X)} points, {max(y) + 1} classes): "
        f"{s['loss']} loss, {s['optimizer']} lr {s['lr']:g} ({s['schedule']}), {batch}, "
        f"steps {start}-{total}, {run.engine} engine"
    )
    run.bar = progress_bar(progress, total, start, s["dataset"])
    run.pending = run.snapshot()  # the state at the start is a checkpoint once its loss is good
    began = time.perf_counter()
    try:
        with run.stop.installed():
            fit(
                run.model,
                X,
                y,
                loss=s["loss"],
                optimizer=run.optimizer,
                steps=total - start,
                batch_size=s["batch_size"],
                schedule=schedule,
                l2=s["l2"],
                rng=run.sampler,
                callback=run.on_step if weights is None else weights.wrap(run.on_step),
                engine=run.engine,
            )
    except TrainingDiverged as e:
        close_bar(run.bar)
        cause = f"the loss or a gradient is not finite (loss {e.loss})"
        raise CommandError(_diverged(run, start + e.step, cause)) from None
    except OSError as e:  # a checkpoint could not be written
        close_bar(run.bar)
        raise CommandError(f"cannot save the checkpoint in {run.out}: {_one_line(e)}") from None
    except KeyboardInterrupt:
        close_bar(run.bar)
        kept = left_behind(run, "the checkpoint")
        print(f"micrograd train: interrupted at once; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    seconds = time.perf_counter() - began
    close_bar(run.bar)
    if run.blown_up is not None:
        cause = (
            f"the loss stayed above {run.blowup_line:.4g} ({BLOWUP_FACTOR:g} x max(first loss, 1)) "
            f"for {BLOWUP_STEPS} steps in a row (now {run.blown_up.loss:.4g})"
        )
        raise CommandError(_diverged(run, start + run.blown_up.step, cause))
    try:
        code = _finish(run, X, y, seconds, no_plots)
        if weights is not None:
            _write_report(run, X, y, seconds, weights)
        return code
    except OSError as e:
        raise CommandError(f"cannot write into {run.out}: {_one_line(e)}") from None


def _write_report(
    run: Run, X: list[list[float]], y: list[int], seconds: float, weights: Any
) -> None:
    """``--report``: report.html in the run folder (micrograd.explorer.report)."""
    from micrograd.explorer.report import training_report

    weights.take(run.step)
    path = training_report(
        run.model,
        X,
        y,
        loss=run.settings["loss"],
        losses=run.losses,
        accuracies=run.accuracies,
        checkpoints=weights.steps,
        settings=run.settings,
        first_step=run.first,
        summary=f"{run.step} steps ({seconds:.1f} s of training on the {run.engine} engine).",
        path=run.out / REPORT_FILE,
    )
    print(f"wrote {path}")


def _diverged(run: Run, step: int, cause: str) -> str:
    """The one-line message of a run that blew up: when, why, what was kept, what to try."""
    kept = left_behind(run, "the last good checkpoint")
    return f"training diverged at step {step}: {cause}; {kept}. Try a smaller --lr"


def _finish(run: Run, X: list[list[float]], y: list[int], seconds: float, no_plots: bool) -> int:
    """Save everything, print the summary; 130 if training was stopped by Ctrl-C.

    The summary's first line is history.csv's last row (the same step and numbers, as exact).
    """
    run.save()
    written = [run.checkpoint, run.out / HISTORY_FILE]
    final = accuracy(run.model, X, y, run.settings["loss"])
    if not no_plots:
        written += _plots(run, X, y, final)
    total = run.settings["steps"]
    last = run.first + len(run.losses) - 1
    if run.losses:
        loss, acc, lr = run.losses[-1], run.accuracies[-1], run.lrs[-1]
        print(f"step {last}: loss {loss!r}, accuracy {acc!r}, lr {lr!r}")
    print(
        f"{run.step} of {total} steps in {seconds:.1f} s; accuracy {final:.1%} on all "
        f"{len(X)} points"
    )
    for path in written:
        print(f"wrote {path}")
    if run.stop.requested and run.step < total:
        print(
            f"micrograd train: interrupted after step {last} ({run.step} of {total} steps "
            f"done); checkpoint saved. Continue with: micrograd train --resume {run.checkpoint}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK


def _plots(run: Run, X: list[list[float]], y: list[int], final: float) -> list[Path]:
    """loss.png and (for 2-D data) boundary.png."""
    from micrograd.plot import plot_decision_boundary, plot_history

    name = run.settings["dataset"]
    written = [
        plot_history(
            run.losses,
            run.accuracies,
            path=run.out / LOSS_PLOT,
            title=f"{name}: {run.model!r}",
        )
    ]
    if len(X[0]) == 2:
        model = run.model
        written.append(
            plot_decision_boundary(
                None,
                X,
                y,
                run.out / BOUNDARY_PLOT,
                predict=lambda points: predict_scores(model, points),
                resolution=200,
                title=f"{name}, step {run.step}: accuracy {final:.1%}",
            )
        )
    else:
        print(f"note: no {BOUNDARY_PLOT}: {name} has {len(X[0])} inputs, not 2")
    return written
