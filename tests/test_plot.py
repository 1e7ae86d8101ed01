"""Tests for the plots: real PNG files of the asked size, drawn from the model's classes."""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from micrograd.engine import Value, is_grad_enabled
from micrograd.plot import _classes, plot_decision_boundary, plot_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Four points in the corners of [-1, 1]^2, left ones class -1, right ones class 1.
CORNERS = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
LEFT_RIGHT = [-1, -1, 1, 1]


def png_size(path: Path) -> tuple[int, int]:
    """The (width, height) in a PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE
    assert head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def vertical(p: list[float]) -> Value:
    """A binary model whose boundary is the line x = 0: class 1 on the right."""
    return Value(p[0])


def test_decision_boundary_png_default_size(tmp_path: Path) -> None:
    """A binary model's picture is a real PNG of the default 640 x 480 pixels."""
    path = plot_decision_boundary(vertical, CORNERS, LEFT_RIGHT, tmp_path / "b.png", resolution=10)
    assert (path, png_size(path)) == (tmp_path / "b.png", (640, 480))


def test_decision_boundary_colours_each_side(tmp_path: Path) -> None:
    """Left of x = 0 is shaded blue (class -1), right of it orange (class 1)."""
    path = plot_decision_boundary(vertical, CORNERS, LEFT_RIGHT, tmp_path / "b.png", resolution=20)
    pixels = imread(str(path))  # rows top to bottom, RGBA in [0, 1]
    left, right = pixels[240, 200], pixels[240, 440]  # inside the axes, away from the points
    assert (left[2] > left[0], right[0] > right[2]) == (True, True)


def test_decision_boundary_custom_size_with_predict(tmp_path: Path) -> None:
    """A vectorized predict works instead of a model, and the PNG has the asked odd size."""
    seen: list[tuple[int, ...]] = []

    def predict(points: Any) -> Any:
        seen.append(points.shape)
        return points[:, 0] - points[:, 1]

    path = plot_decision_boundary(
        None, CORNERS, LEFT_RIGHT, tmp_path / "p.png", predict=predict, size=(321, 123), dpi=50
    )
    assert (png_size(path), seen) == ((321, 123), [(2500, 2)])


def test_decision_boundary_multiclass(tmp_path: Path) -> None:
    """A model returning one Value per class is drawn by argmax, labels 0..K-1."""
    points = [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]

    def three(p: list[float]) -> list[Value]:
        return [Value(-p[0] - 0.5), Value(0.0), Value(p[0] - 0.5)]

    path = plot_decision_boundary(three, points, [0, 1, 2], tmp_path / "m.png", resolution=8)
    assert png_size(path) == (640, 480)


def test_model_is_evaluated_on_the_grid_without_grad(tmp_path: Path) -> None:
    """The model runs once per grid point, resolution**2 times, with gradients off."""
    calls: list[bool] = []

    def model(p: list[float]) -> Value:
        calls.append(is_grad_enabled())
        return Value(p[0]) * Value(1.0)

    plot_decision_boundary(model, CORNERS, LEFT_RIGHT, tmp_path / "g.png", resolution=7)
    assert (len(calls), any(calls)) == (49, False)


def test_classes_from_scores_indices_and_rows() -> None:
    """Scores split at 0, integers above 1 are class indices, a row per point takes argmax."""
    scores = _classes(np.array([-0.5, 0.0, 2.5]))
    indices = _classes(np.array([0, 2, 1]))
    rows = _classes(np.array([[0.1, 0.9, 0.0], [3.0, 1.0, 2.0]]))
    single = _classes(np.array([[-0.5], [0.5]]))
    assert (single[0].tolist(), single[1]) == ([0, 1], True)
    assert [scores[0].tolist(), indices[0].tolist(), rows[0].tolist()] == [
        [0, 0, 1],
        [0, 2, 1],
        [1, 0],
    ]
    assert (scores[1], indices[1], rows[1]) == (True, False, False)


def test_decision_boundary_needs_one_of_model_and_predict(tmp_path: Path) -> None:
    """Giving both a model and predict, or neither, is a TypeError."""
    with pytest.raises(TypeError):
        plot_decision_boundary(None, CORNERS, LEFT_RIGHT, tmp_path / "x.png")
    with pytest.raises(TypeError):
        plot_decision_boundary(
            vertical, CORNERS, LEFT_RIGHT, tmp_path / "x.png", predict=lambda p: p[:, 0]
        )


def test_decision_boundary_checks_its_data(tmp_path: Path) -> None:
    """Points that are not pairs, or labels of another length, are a ValueError."""
    with pytest.raises(ValueError, match="X must be"):
        plot_decision_boundary(vertical, [[1.0, 2.0, 3.0]], [1], tmp_path / "x.png")
    with pytest.raises(ValueError, match="X must be"):
        plot_decision_boundary(vertical, CORNERS, [1, -1], tmp_path / "x.png")


def test_history_with_accuracy(tmp_path: Path) -> None:
    """Loss and accuracy curves make a real PNG of the default 800 x 400 pixels."""
    path = plot_history([1.0, 0.6, 0.3, 0.2], [0.5, 0.5, 0.75, 1.0], path=tmp_path / "h.png")
    assert (path, png_size(path)) == (tmp_path / "h.png", (800, 400))


def test_history_of_loss_values(tmp_path: Path) -> None:
    """A list of loss Values plots alone, on a log scale, at the asked size."""
    losses = [Value(2.0**-i) for i in range(20)]
    path = plot_history(losses, path=tmp_path / "l.png", size=(300, 200), log_loss=True)
    assert png_size(path) == (300, 200)


def test_history_needs_losses(tmp_path: Path) -> None:
    """An empty loss list is a ValueError, not an empty picture."""
    with pytest.raises(ValueError, match="no losses"):
        plot_history([], path=tmp_path / "e.png")


def test_missing_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without matplotlib both plots raise ImportError naming the plot extra."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "micrograd-learn\[plot\]"'):
        plot_history([1.0], path=tmp_path / "h.png")
    with pytest.raises(ImportError, match=r'pip install "micrograd-learn\[plot\]"'):
        plot_decision_boundary(vertical, CORNERS, LEFT_RIGHT, tmp_path / "b.png")


# --- what the decision-boundary picture shows ---


def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Collect the Figure of each picture as it is saved (and still save it)."""
    from micrograd import plot

    figures: list[Any] = []
    save = plot._save

    def keep(fig: Any, *args: Any, **kwargs: Any) -> Path:
        figures.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(plot, "_save", keep)
    return figures


def boundary_vertices(fig: Any) -> Any:
    """The vertices of every boundary line (unfilled contours) in the figure's axes."""
    from matplotlib.contour import ContourSet

    (ax,) = fig.axes
    lines = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    return np.concatenate([path.vertices for cs in lines for path in cs.get_paths()])


def png_text(path: Path) -> dict[str, str]:
    """The text chunks (tEXt, iTXt) of a PNG file, keyword -> text."""
    data, found, at = path.read_bytes(), {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"tEXt":
            key, _, text = body.partition(b"\0")
            found[key.decode("latin-1")] = text.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            text = rest[2:].split(b"\0", 2)[2]  # compression flag, method, language, key
            found[key.decode("utf-8")] = text.decode("utf-8")
        at += 12 + length
    return found


@pytest.mark.parametrize("resolution", [12, 20, 40])
def test_the_boundary_is_smooth_where_the_score_is_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resolution: int
) -> None:
    """A circle of radius 0.8 as boundary (score 0.64 - x^2 - y^2) is drawn on the circle to
    within a twentieth of the grid's spacing: not the grid's staircase, which is off by up to
    half a spacing."""
    figures = drawn(monkeypatch)
    points = [[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0], [1.0, -1.0]]
    plot_decision_boundary(
        None,
        points,
        [0, 0, 1, 0],
        tmp_path / "circle.png",
        predict=lambda p: 0.64 - p[:, 0] ** 2 - p[:, 1] ** 2,
        resolution=resolution,
        padding=0.0,
    )
    spacing = 2.0 / (resolution - 1)
    radii = np.hypot(*boundary_vertices(figures[0]).T)
    assert np.max(np.abs(radii - 0.8)) < spacing / 20


def test_multiclass_boundaries_lie_where_two_scores_tie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three classes scored -x, 0, x (less 1/4 on the sides) tie on the lines x = -1/4 and
    x = 1/4: every boundary vertex is on one of them (to rounding)."""
    figures = drawn(monkeypatch)
    points = [[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]

    def three(p: Any) -> Any:
        return np.column_stack([-p[:, 0] - 0.25, np.zeros(len(p)), p[:, 0] - 0.25])

    plot_decision_boundary(
        None, points, [0, 1, 2], tmp_path / "three.png", predict=three, resolution=9
    )
    xs = boundary_vertices(figures[0])[:, 0]
    assert np.max(np.minimum(np.abs(xs - 0.25), np.abs(xs + 0.25))) < 1e-12
    assert sorted(set(np.round(xs, 9))) == [-0.25, 0.25]


def test_legend_and_axes_name_the_classes_and_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The legend names each class (the binary labels -1 and 1 here) and the boundary; the axes
    are labelled x₁ and x₂, or as asked."""
    figures = drawn(monkeypatch)
    plot_decision_boundary(vertical, CORNERS, LEFT_RIGHT, tmp_path / "b.png", resolution=6)
    plot_decision_boundary(
        vertical,
        CORNERS,
        [0, 0, 1, 1],
        tmp_path / "named.png",
        resolution=6,
        class_names=["left", "right"],
        axis_labels=("width", "height"),
    )
    labelled = [
        ([t.get_text() for t in fig.axes[0].get_legend().get_texts()],
         fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel())
        for fig in figures
    ]  # fmt: skip
    assert labelled == [
        (["class -1", "class 1", "decision boundary"], "x₁", "x₂"),
        (["left", "right", "decision boundary"], "width", "height"),
    ]


def test_class_names_must_name_every_class(tmp_path: Path) -> None:
    """Fewer class_names than classes is a ValueError saying how many are needed."""
    with pytest.raises(ValueError, match="class_names must name all 2 classes, not 1"):
        plot_decision_boundary(
            vertical, CORNERS, LEFT_RIGHT, tmp_path / "b.png", class_names=["only"]
        )


def test_the_png_carries_its_alt_text(tmp_path: Path) -> None:
    """The PNG's Title and Description say what it shows (alt text for where it is embedded),
    or carry the alt text given."""
    path = plot_decision_boundary(
        vertical, CORNERS, LEFT_RIGHT, tmp_path / "b.png", resolution=6, title="corners"
    )
    assert png_text(path)["Title"] == "corners"
    assert png_text(path)["Description"] == (
        "corners: The plane shaded by the class the model predicts (class -1 blue, class 1 "
        "orange), a black line where the prediction changes, and the 4 data points coloured by "
        "their own class."
    )
    path = plot_decision_boundary(
        vertical, CORNERS, LEFT_RIGHT, tmp_path / "c.png", resolution=6, alt="two halves"
    )
    assert png_text(path)["Description"] == "two halves"
