"""The training report: one offline HTML page with the curves, the decision boundary at each
checkpoint behind a slider, the settings, and the model's graph for one input in the explorer.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from micrograd import _check as check
from micrograd.engine import Value
from micrograd.explorer._page import _asset, _script_json, graph_data, page, write
from micrograd.nn import MLP, Module
from micrograd.train import (
    LOSS_KINDS,
    StepRecord,
    _check_model,
    _data_loss,
    _outputs,
    _targets,
    predict,
)

__all__ = ["Checkpoints", "training_report"]

GRID = 72  # cells per side of a decision-boundary picture
_MAX_CURVE_POINTS = 600


@dataclass
class Checkpoints:
    """The weights of a model at chosen steps, for the report's decision-boundary slider.

    ``take(step)`` keeps the weights now; ``wrap(callback)`` gives a ``fit`` callback that calls
    ``callback`` and then takes the weights after every ``every``-th step (counting from
    ``start``, for a resumed run).
    """

    model: MLP
    every: int
    start: int = 0
    steps: list[tuple[int, dict[str, float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.model, Module):
            check.wrong_type("model", self.model, "a micrograd Module (an MLP)")
        self.every = check.integer("every", self.every, 1, what="an int")
        self.start = check.integer("start", self.start, 0)

    def take(self, step: int) -> None:
        """Keep the model's weights as they are after ``step`` steps (once per step)."""
        step = check.integer("step", step, 0)
        if not self.steps or self.steps[-1][0] != step:
            self.steps.append((step, self.model.state_dict()))

    def wrap(self, callback: Callable[[StepRecord], object]) -> Callable[[StepRecord], object]:
        """``callback``, then the weights taken after each ``every``-th step."""
        check.function("callback", callback, "a fit() callback: a function of a StepRecord")

        def on_step(record: StepRecord) -> object:
            stop = callback(record)
            done = self.start + record.step + 1
            if done % self.every == 0:
                self.take(done)
            return stop

        return on_step


def _curve(values: Sequence[float], first: int, label: str, top: float | None) -> str:
    """A line chart of ``values`` (step ``first`` onwards) as inline SVG, with its alt text."""
    width, height, left, bottom, pad = 360, 200, 46, 26, 10
    finite = [v for v in values if math.isfinite(v)]
    high = top if top is not None else (max(finite) if finite else 1.0)
    high = high if high > 0 else 1.0
    n = len(values)
    stride = max(1, -(-n // _MAX_CURVE_POINTS))
    xs = range(0, n, stride)

    def x(i: int) -> float:
        return left + (width - left - pad) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return pad + (height - bottom - pad) * (1 - min(max(v, 0.0), high) / high)

    runs: list[list[str]] = [[]]
    for i in xs:
        v = values[i]
        if math.isfinite(v):
            runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        elif runs[-1]:
            runs.append([])
    lines = "".join(f'<polyline points="{" ".join(r)}"></polyline>' for r in runs if r)
    ticks = "".join(
        f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>'
        f'<line x1="{left}" x2="{width - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}"></line>'
        for v in (0.0, high / 2, high)
    )
    steps = "".join(
        f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle">{first + i}</text>'
        for i in sorted({0, (n - 1) // 2, n - 1})
        if n
    )
    last = f"{values[-1]:.4g}" if n else "none"
    alt = (
        f"{label} per step, steps {first} to {first + n - 1}: from {values[0]:.4g} to {last}"
        if n
        else f"{label}: no steps"
    )
    return (
        f'<svg class="rep-curve" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(alt)}"><title>{html.escape(alt)}</title>'
        f'<g class="rep-grid">{ticks}</g><g class="rep-steps">{steps}</g>'
        f'<g class="rep-line">{lines}</g></svg>'
    )


def _bounds(X: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    """The data's box with a margin: (x0, x1, y0, y1)."""
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    mx = (max(xs) - min(xs)) * 0.1 or 1.0
    my = (max(ys) - min(ys)) * 0.1 or 1.0
    return min(xs) - mx, max(xs) + mx, min(ys) - my, max(ys) + my


def _decisions(model: MLP, rows: list[list[float]], loss: str) -> list[int]:
    """The class ``model`` predicts for each row: on NumPy arrays when it is installed."""
    try:
        from micrograd.train import _decisions as on_arrays
        from micrograd.train import predict_scores
    except ImportError:  # no NumPy: the scalar engine, one row at a time
        return predict(model, rows, loss)
    return [int(c) for c in on_arrays(predict_scores(model, rows))]


def _frames(
    model: MLP,
    checkpoints: Sequence[tuple[int, dict[str, float]]],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    loss: str,
) -> dict[str, Any]:
    """The decision boundary at each checkpoint: a grid of classes, and the accuracy."""
    x0, x1, y0, y1 = _bounds(X)
    cells = [
        [x0 + (x1 - x0) * (i + 0.5) / GRID, y1 - (y1 - y0) * (j + 0.5) / GRID]
        for j in range(GRID)
        for i in range(GRID)
    ]
    shadow = MLP.from_config(model.config())
    rows = [list(map(float, p)) for p in X]
    frames = []
    for step, weights in checkpoints:
        shadow.load_state_dict(weights)
        grid = _decisions(shadow, cells, loss)
        hits = sum(p == t for p, t in zip(_decisions(shadow, rows, loss), y, strict=True))
        frames.append({"step": step, "grid": "".join(map(str, grid)), "accuracy": hits / len(y)})
    return {
        "bounds": [x0, x1, y0, y1],
        "size": GRID,
        "points": [[p[0], p[1], int(t)] for p, t in zip(X, y, strict=True)],
        "frames": frames,
    }


def _one_input(model: MLP, X: Sequence[Sequence[float]], y: Sequence[int], loss: str) -> Value:
    """The loss of the model on the first data point: the graph the explorer shows."""
    x = [Value(float(v), label=f"x{j}") for j, v in enumerate(X[0])]
    row = _outputs(model, x)
    root = _data_loss(loss, [row], _targets(loss, len(row), [y[0]], one_hot=False))
    root.label = "loss"
    return root


def _settings_table(settings: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in settings.items()
    )
    return f"<table class='rep-settings'><caption>Settings</caption>{rows}</table>"


def training_report(
    model: MLP,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    *,
    loss: str,
    losses: Sequence[float],
    accuracies: Sequence[float],
    checkpoints: Sequence[tuple[int, dict[str, float]]],
    settings: dict[str, Any],
    first_step: int = 0,
    summary: str = "",
    path: str | os.PathLike[str] | None = None,
) -> str | Path:
    """The training report of ``model`` (trained on ``X``, ``y`` with loss ``loss``) as one page.

    ``losses`` and ``accuracies`` are per step from ``first_step`` on; ``checkpoints`` are
    ``(step, state_dict)`` pairs (see ``Checkpoints``), each drawn as a decision boundary when
    the data has two inputs. ``settings`` is shown as a table; the explorer below holds the
    graph of the loss on the first point. Returns the page, or writes it to ``path`` and returns
    the path. Raises ValueError if ``X`` and ``y`` differ in length or are empty.
    """
    _check_model(model)
    X, y = check.rows("X", X), check.labels("y", y)
    if len(X) != len(y):
        raise ValueError(f"X and y need the same, nonzero length: {len(X)} and {len(y)}")
    loss = check.choice("loss", loss, LOSS_KINDS)
    losses = check.reals("losses", losses, nonempty=False)
    accuracies = check.reals("accuracies", accuracies, nonempty=False)
    for i, kept in enumerate(check.sequence("checkpoints", checkpoints, "(step, state) pairs")):
        pair = check.sequence(f"checkpoints[{i}]", kept, "a (step, state_dict) pair")
        if len(pair) != 2 or not isinstance(pair[1], dict):
            check.wrong_value(f"checkpoints[{i}]", kept, "a (step, state_dict) pair")
        check.integer(f"checkpoints[{i}][0]", pair[0], 0)
    if not isinstance(settings, dict):
        check.wrong_type("settings", settings, "a dict of setting -> value")
    first_step, summary = check.integer("first_step", first_step, 0), check.text("summary", summary)
    if path is not None:
        check.file_path("path", path)
    if len(losses) != len(accuracies):
        raise ValueError(f"{len(losses)} losses but {len(accuracies)} accuracies: one per step")
    root = _one_input(model, X, y, loss)
    data = graph_data(
        root, model, title=f"The model's graph on the first point: {loss} loss = {root.data:.6g}"
    )
    title = f"micrograd training report: {model!r}"
    curves = _curve(losses, first_step, "Loss", None) + _curve(
        accuracies, first_step, "Accuracy", 1.0
    )
    two_d = all(len(p) == 2 for p in X)
    boundary = (
        "<figure class='rep-boundary'><canvas id='rep-canvas' width='360' height='360' role='img' "
        "aria-label='Decision boundary'></canvas><div class='rep-slide'><label for='rep-step'>"
        "checkpoint</label> <input type='range' id='rep-step' min='0' value='0'> "
        "<output id='rep-at' for='rep-step'></output></div><figcaption>The decision boundary at "
        "each checkpoint: the colour is the class the model predicts there, the dots are the "
        "data (coloured by their label).</figcaption></figure>"
        if two_d and checkpoints
        else "<p>No decision boundary: the data does not have two inputs.</p>"
        if not two_d
        else "<p>No decision boundary: no checkpoint was kept.</p>"
    )
    frames = _frames(model, checkpoints, X, y, loss) if two_d and checkpoints else None
    point = ", ".join(f"{v:.4g}" for v in X[0])
    before = (
        f"<style>{_asset('report.css')}</style>"
        f"<main class='rep' aria-labelledby='rep-title'><h1 id='rep-title'>"
        f"{html.escape(title)}</h1><p>{html.escape(summary)}</p>"
        f"<div class='rep-figures'><figure>{curves}<figcaption>Loss and accuracy at each "
        f"step.</figcaption></figure>{boundary}</div>{_settings_table(settings)}"
        f"<h2>The graph of one input</h2><p>Below, the explorer holds the model's graph on the "
        f"first point ({html.escape(point)}, label {y[0]}): the {html.escape(loss)} loss of that "
        "point alone. Step through its forward and backward pass.</p></main>"
    )
    after = (
        f"<script type='application/json' id='rep-data'>{_script_json(frames)}</script>"
        f"<script>{_asset('report.js')}</script>"
    )
    text = page(data, before=before, after=after, title=title)
    return text if path is None else write(text, path)
