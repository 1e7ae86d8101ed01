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


def _save(
    fig: Figure, path: str | os.PathLike[str], dpi: int, metadata: dict[str, str] | None = None
) -> Path:
    """Write the PNG (``metadata``: its text chunks, such as Title and Description)."""
    path = Path(path)
    # no bbox_inches="tight": that changes the size
    fig.savefig(path, dpi=dpi, format="png", metadata=metadata)
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


def _margins(out: npt.NDArray[Any], classes: npt.NDArray[Any], k: int) -> npt.NDArray[Any]:
    """Per point and class, a number > 0 exactly where that class is predicted, shape (n, k).

    From scores it is continuous: a binary score s gives (-s, s); a row of scores gives each
    class's lead over the best other class. So the boundary, where it crosses 0, can be drawn
    between grid points where it really is. From class indices it is only 1/2 or -1/2.
    """
    import numpy as np

    scores = out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    if scores.ndim == 1 and scores.dtype.kind == "f":
        margins = np.zeros((len(scores), k))
        margins[:, 0], margins[:, 1] = -scores, scores
        return margins
    if scores.ndim == 2 and scores.shape[1] == k:
        values = scores.astype(float)
        best_two = np.sort(values, axis=1)[:, -2:]  # second best, best
        other = np.where(values == best_two[:, 1:], best_two[:, :1], best_two[:, 1:])
        lead: npt.NDArray[Any] = values - other  # annotated: NumPy 2.2 (Python 3.10) gives Any
        return lead
    indicator: npt.NDArray[Any] = (classes[:, None] == np.arange(k)[None, :]) - 0.5
    return indicator


def _class_names(names: Sequence[str] | None, k: int, binary: bool, labels: Any) -> list[str]:
    """The legend's name of each class: ``names``, or the binary labels, or ``class i``."""
    if names is not None:
        given = [check.text(f"class_names[{i}]", n) for i, n in enumerate(names)]
        if len(given) < k:
            raise ValueError(f"class_names must name all {k} classes, not {len(given)}")
        return given[:k]
    values = sorted({float(v) for v in labels})
    if binary and len(values) == 2:
        return [f"class {v:g}" for v in values]
    return [f"class {c}" for c in range(k)]


def _describe_boundary(names: list[str], colours: list[str], n: int, title: str | None) -> str:
    """Alt text of a decision-boundary picture."""
    shades = ", ".join(
        f"{name} {colour.removeprefix('tab:')}" for name, colour in zip(names, colours, strict=True)
    )
    text = (
        f"The plane shaded by the class the model predicts ({shades}), a black line where the "
        f"prediction changes, and the {n} data points coloured by their own class."
    )
    return f"{title}: {text}" if title else text


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
    class_names: Sequence[str] | None = None,
    axis_labels: tuple[str, str] = ("x₁", "x₂"),
    alt: str | None = None,
) -> Path:
    """Draw the classes ``model`` gives over the plane, with the data on top, to a PNG file.

    ``model`` takes ``[x, y]`` and returns a Value (binary: class 1 where the score is > 0, so
    labels may be ±1 or 0/1) or a list of Values (multiclass: the argmax; labels 0..K-1). It is
    evaluated on a ``resolution`` x ``resolution`` grid under ``no_grad()``. For speed, pass
    ``predict`` instead: an array of points, shape (n, 2), in; scores (n,) or (n, K), or integer
    classes (n,), out. The grid spans the data plus ``padding`` of its range on each side.

    The boundary is drawn where the scores tie (a score of 0; two largest scores equal),
    interpolated between grid points, so it is a smooth curve rather than the grid's staircase
    (integer classes give only the staircase). A legend names the classes (``class_names``, by
    default ``class 0``, ``class 1``, ... or the two binary labels) and the boundary; the axes
    are labelled ``axis_labels``. ``alt`` (by default a description of the picture) is stored
    as the PNG's Description, alt text for wherever the picture is shown. The PNG is ``size``
    pixels (width, height); returns its path.

    >>> import tempfile, os
    >>> X, y = [[0.0, 0.0], [1.0, 1.0]], [-1, 1]
    >>> out = os.path.join(tempfile.mkdtemp(), 'boundary.png')
    >>> plot_decision_boundary(lambda p: Value(p[0] + p[1] - 1.0), X, y, out, resolution=5).name
    'boundary.png'
    """
    _require_matplotlib()
    import numpy as np

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
    path, resolution = check.file_path("path", path), check.integer("resolution", resolution, 2)
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
    names = _class_names(class_names, k, binary, labels)
    xlabel, ylabel = (check.text(f"axis_labels[{i}]", t) for i, t in enumerate(axis_labels))
    colours = [_CLASS_COLOURS[i % len(_CLASS_COLOURS)] for i in range(k)]
    margins = _margins(out, classes, k).reshape(*xx.shape, k)

    from matplotlib.lines import Line2D

    fig = _figure(size, dpi)
    ax = fig.add_subplot()
    for c in range(k):  # each class's region: where its margin is positive
        field = margins[..., c]
        if field.max() > 0:
            top = float(field.max()) + 1.0
            ax.contourf(xx, yy, field, levels=[0.0, top], colors=[colours[c]], alpha=0.3)
    for c in range(k):  # the boundary: where a margin crosses 0
        field = margins[..., c]
        if field.min() < 0 < field.max():
            ax.contour(xx, yy, field, levels=[0.0], colors="black", linewidths=1.2)
    for c in range(k):
        mine = point_classes == c
        ax.scatter(
            points[mine, 0], points[mine, 1], color=colours[c], s=20, edgecolors="black",
            linewidths=0.5,
        )  # fmt: skip
    handles = [
        Line2D([], [], linestyle="", marker="o", markersize=6, markerfacecolor=colours[c],
               markeredgecolor="black", markeredgewidth=0.5, label=names[c])
        for c in range(k)
    ] + [Line2D([], [], color="black", linewidth=1.2, label="decision boundary")]  # fmt: skip
    ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if alt is None:
        alt = _describe_boundary(names, colours, len(points), title)
    return _save(fig, path, dpi, {"Title": title or "decision boundary", "Description": alt})


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
    path, log_loss = check.file_path("path", path), check.boolean("log_loss", log_loss)
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
