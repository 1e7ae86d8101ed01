"""Pictures of training: a 2-D classifier's decision boundary over its data, and loss curves.

matplotlib is imported only inside the functions (``pip install "micrograd-learn[plot]"``),
through its object-oriented API on the Agg canvas: no pyplot, no global backend, no window.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsFloat

from micrograd import _check as check
from micrograd._extras import install_hint
from micrograd.engine import Value, no_grad

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.figure import Figure

__all__ = ["plot_decision_boundary", "plot_history"]

# A model maps a point [x, y] to one score (binary) or one score per class.
Model = Callable[[list[float]], Value | Sequence[Value]]
Predict = Callable[["npt.NDArray[np.float64]"], "npt.NDArray[Any]"]

# Colours of classes 0, 1, 2, ...: matplotlib's tab10, blue then orange for a binary problem.
_CLASS_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib: {install_hint('plot')}") from exc


def _figure(size: tuple[int, int], dpi: int) -> Figure:
    """A Figure on an Agg canvas that saves to exactly ``size`` pixels at ``dpi``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size
    if width <= 0 or height <= 0 or dpi <= 0:
        raise ValueError(f"size and dpi must be positive, not {size} at {dpi} dpi")
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _pixels(size: object, dpi: object, title: object) -> tuple[tuple[int, int], int]:
    """``size`` (width, height) and ``dpi`` as pixel counts >= 1; ``title`` a string or None."""
    accepts = "a pair (width, height) of pixel counts >= 1"
    pair = check.sequence("size", size, accepts)
    if len(pair) != 2:
        check.wrong_value("size", size, accepts)
    width, height = (check.integer(f"size[{i}]", n, 1) for i, n in enumerate(pair))
    if title is not None:
        check.text("title", title)
    return (width, height), check.integer("dpi", dpi, 1)


def _curve(name: str, values: object) -> list[float]:
    """A non-empty sequence of numbers or Values (losses, accuracies) as floats."""
    items = check.sequence(name, values, "a list, tuple or array of numbers or Values")
    if not items:
        raise ValueError(f"{name} must hold at least one number: no {name} to plot")
    return [
        v.data if isinstance(v, Value) else check.number(f"{name}[{i}]", v, "a number or a Value")
        for i, v in enumerate(items)
    ]


def _save(fig: Figure, path: str | os.PathLike[str], dpi: int) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=dpi, format="png")  # no bbox_inches="tight": that changes the size
    return path


def _classes(out: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], bool]:
    """Class indices from a model's outputs, and whether the problem is binary.

    One score per point is binary: class 1 where the score is > 0 (so scores, ±1 and 0/1 labels
    all work), unless the scores are integers above 1, which are class indices. A row of scores
    per point picks its argmax (a row of one score is a binary score).
    """
    import numpy as np

    if out.ndim == 2 and out.shape[1] == 1:  # a list of one Value: one score per point
        out = out[:, 0]
    if out.ndim == 2:
        return np.argmax(out, axis=1), out.shape[1] <= 2
    if out.dtype.kind in "iub" and out.size and out.max() > 1:
        return out.astype(int), False
    return (out > 0).astype(int), True


def plot_decision_boundary(
    model: Model | None,
    X: Sequence[Sequence[float]] | npt.NDArray[Any],
    y: Sequence[float] | npt.NDArray[Any],
    path: str | os.PathLike[str],
    *,
    predict: Predict | None = None,
    resolution: int = 50,
    padding: float = 0.1,
    size: tuple[int, int] = (640, 480),
    dpi: int = 100,
    title: str | None = None,
) -> Path:
    """Draw the classes ``model`` gives over the plane, with the data on top, to a PNG file.

    ``model`` takes ``[x, y]`` and returns a Value (binary: class 1 where the score is > 0, so
    labels may be ±1 or 0/1) or a list of Values (multiclass: the argmax; labels 0..K-1). It is
    evaluated on a ``resolution`` x ``resolution`` grid under ``no_grad()``. For speed, pass
    ``predict`` instead: an array of points, shape (n, 2), in; scores (n,) or (n, K), or integer
    classes (n,), out. The grid spans the data plus ``padding`` of its range on each side. The
    PNG is ``size`` pixels (width, height); returns its path.

    >>> import tempfile, os
    >>> X, y = [[0.0, 0.0], [1.0, 1.0]], [-1, 1]
    >>> out = os.path.join(tempfile.mkdtemp(), 'boundary.png')
    >>> plot_decision_boundary(lambda p: Value(p[0] + p[1] - 1.0), X, y, out, resolution=5).name
    'boundary.png'
    """
    _require_matplotlib()
    import numpy as np
    from matplotlib.colors import ListedColormap

    points = np.asarray(check.rows("X", X), dtype=float)
    labels = np.asarray(check.reals("y", y), dtype=float)
    if points.shape[1] != 2:
        check.wrong_value("X", X, "a non-empty list of [x, y] points")
    if len(points) != len(labels):
        raise ValueError(
            f"X must be one point per label in y: {len(points)} points, {len(labels)} labels"
        )
    if model is not None:
        check.function("model", model, "a model (a callable on a point [x, y]) or None")
    if predict is not None:
        check.function("predict", predict, "a function of an array of points, or None")
    if (model is None) == (predict is None):
        raise TypeError("give exactly one of model and predict")
    path, resolution = check.path("path", path), check.integer("resolution", resolution, 2)
    padding = check.real("padding", padding, 0.0)
    size, dpi = _pixels(size, dpi, title)

    low, high = points.min(axis=0), points.max(axis=0)
    pad = padding * np.where(high > low, high - low, 1.0)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.column_stack([xx.ravel(), yy.ravel()])

    if predict is not None:
        out = np.asarray(predict(grid))
    else:
        assert model is not None
        with no_grad():
            scores = [model([float(px), float(py)]) for px, py in grid]
        if all(isinstance(s, Value) for s in scores):
            out = np.array([s.data for s in scores if isinstance(s, Value)])
        else:
            out = np.array([[v.data for v in s] for s in scores if not isinstance(s, Value)])
    if len(out) != len(grid):
        raise ValueError(f"the model gave {len(out)} outputs for {len(grid)} points")
    classes, binary = _classes(out)
    point_classes = (labels > 0).astype(int) if binary else labels.astype(int)

    k = max(2, int(classes.max()) + 1, int(point_classes.max()) + 1)
    colours = [_CLASS_COLOURS[i % len(_CLASS_COLOURS)] for i in range(k)]
    cmap = ListedColormap(colours)
    fig = _figure(size, dpi)
    ax = fig.add_subplot()
    levels = np.arange(k + 1) - 0.5
    ax.contourf(xx, yy, classes.reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.3)
    ax.scatter(
        points[:, 0], points[:, 1], c=point_classes, cmap=cmap, vmin=-0.5, vmax=k - 0.5,
        s=20, edgecolors="black", linewidths=0.5,
    )  # fmt: skip
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    if title:
        ax.set_title(title)
    return _save(fig, path, dpi)


def plot_history(
    losses: Sequence[SupportsFloat],
    accuracies: Sequence[SupportsFloat] | None = None,
    *,
    path: str | os.PathLike[str],
    size: tuple[int, int] = (800, 400),
    dpi: int = 100,
    log_loss: bool = False,
    title: str | None = None,
) -> Path:
    """Draw the loss per step (and the accuracy beside it, if given) to a PNG file.

    Values are converted with ``float()``, so a list of loss Values works. ``log_loss`` puts the
    loss on a log scale. The PNG is ``size`` pixels (width, height); returns its path.

    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), 'loss.png')
    >>> plot_history([1.0, 0.5, 0.25], [0.5, 0.75, 1.0], path=out).name
    'loss.png'
    """
    _require_matplotlib()
    loss = _curve("losses", losses)
    accuracy = None if accuracies is None else _curve("accuracies", accuracies)
    path, log_loss = check.path("path", path), check.boolean("log_loss", log_loss)
    size, dpi = _pixels(size, dpi, title)
    fig = _figure(size, dpi)
    axes = fig.subplots(1, 2) if accuracies is not None else [fig.add_subplot()]
    ax = axes[0]
    ax.plot(range(len(loss)), loss, color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    if log_loss:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if accuracy is not None:
        ax = axes[1]
        ax.plot(range(len(accuracy)), accuracy, color="tab:orange")
        ax.set_xlabel("step")
        ax.set_ylabel("accuracy")
        ax.set_title("accuracy")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()  # rearranges the axes inside the figure; the pixel size stays
    return _save(fig, path, dpi)
