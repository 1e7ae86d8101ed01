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
