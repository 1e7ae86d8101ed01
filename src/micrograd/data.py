"""Small seeded toy datasets in pure Python: moons, circles, spirals, XOR, blobs, gates.

Every generator has the signature ``fn(n_samples=100, noise=0.1, seed=0)`` and returns ``(X, y)``:
``X`` a list of ``[x1, x2]`` float rows, ``y`` a list of class indices ``0 … C-1``. The same
arguments give the same lists on every run (``random.Random(seed)``; no global state is touched).
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from micrograd import _check as check

__all__ = [
    "DATASETS",
    "LECTURE_XS",
    "LECTURE_YS",
    "make_and",
    "make_blobs",
    "make_circles",
    "make_lecture",
    "make_moons",
    "make_spiral",
    "make_xor",
    "train_test_split",
]

Dataset = tuple[list[list[float]], list[int]]
T = TypeVar("T")

# The lecture's four samples and their ±1 targets ("building micrograd", the MLP section).
LECTURE_XS: list[list[float]] = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
LECTURE_YS: list[float] = [1.0, -1.0, -1.0, 1.0]


def _check(n_samples: int, noise: float, seed: int, at_least: int = 1) -> tuple[int, float, int]:
    """The common arguments as Python numbers, or a TypeError/ValueError naming the wrong one."""
    return (
        check.integer("n_samples", n_samples, at_least),
        check.real("noise", noise, 0.0),
        check.integer("seed", seed),
    )


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """``n`` evenly spaced numbers, as ``numpy.linspace``."""
    if n == 1:
        return [start]
    div = n - 1 if endpoint else n
    return [start + (stop - start) * i / div for i in range(n)]


def _shuffled(rng: random.Random, rows: list[list[float]], y: list[int]) -> Dataset:
    order = list(range(len(rows)))
    rng.shuffle(order)
    return [rows[i] for i in order], [y[i] for i in order]


def _jitter(rng: random.Random, rows: list[list[float]], noise: float) -> list[list[float]]:
    """Add Gaussian noise of standard deviation ``noise`` to every coordinate."""
    return [[v + noise * rng.gauss(0.0, 1.0) for v in row] for row in rows]


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``, shuffled, Gaussian noise).

    The upper moon is class 0, the lower one class 1.

    >>> X, y = make_moons(4, noise=0.0, seed=0)
    >>> len(X), sorted(y)
    (4, [0, 0, 1, 1])
    """
    n_samples, noise, seed = _check(n_samples, noise, seed, 2)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    pts = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    pts += [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    y = [0] * n_out + [1] * n_in
    rng = random.Random(seed)
    pts, y = _shuffled(rng, pts, y)
    return _jitter(rng, pts, noise), y


def make_circles(
    n_samples: int = 100, noise: float = 0.1, seed: int = 0, *, factor: float = 0.5
) -> Dataset:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1), with noise.

    >>> X, y = make_circles(4, noise=0.0)
    >>> sorted(round(math.hypot(*x), 6) for x in X), sorted(y)
    ([0.5, 0.5, 1.0, 1.0], [0, 0, 1, 1])
    """
    n_samples, noise, seed = _check(n_samples, noise, seed, 2)
    factor = check.real("factor", factor, 0.0, 1.0, open_low=True, open_high=True)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    pts = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, 2 * math.pi, n_out, endpoint=False)]
    pts += [
        [factor * math.cos(t), factor * math.sin(t)]
        for t in _linspace(0.0, 2 * math.pi, n_in, endpoint=False)
    ]
    y = [0] * n_out + [1] * n_in
    rng = random.Random(seed)
    pts, y = _shuffled(rng, pts, y)
    return _jitter(rng, pts, noise), y


def make_spiral(
    n_samples: int = 100, noise: float = 0.1, seed: int = 0, *, classes: int = 3
) -> Dataset:
    """``classes`` spiral arms from the centre outwards (the CS231n spiral), one class per arm.

    Along arm ``k`` the radius grows evenly up to 1 while the angle turns 4 radians from
    ``2πk/classes``; ``noise`` is the standard deviation of Gaussian noise on that angle, so the
    arms blur most where they are far apart.

    >>> X, y = make_spiral(6, noise=0.0)
    >>> y
    [0, 0, 1, 1, 2, 2]
    """
    classes = check.integer("classes", classes, 2)
    n_samples, noise, seed = _check(n_samples, noise, seed, classes)
    rng = random.Random(seed)
    pts: list[list[float]] = []
    y: list[int] = []
    for k in range(classes):
        n_k = n_samples // classes + (1 if k < n_samples % classes else 0)
        for i in range(n_k):
            r = (i + 1) / n_k  # never 0: the arms' first points would coincide at the centre
            t = 2 * math.pi * k / classes + 4.0 * r + noise * rng.gauss(0.0, 1.0)
            pts.append([r * math.sin(t), r * math.cos(t)])
            y.append(k)
    return pts, y


def _gate(n_samples: int, noise: float, seed: int, table: Sequence[int]) -> Dataset:
    """Noisy copies of the four corners of the unit square, labelled by a truth table."""
    n_samples, noise, seed = _check(n_samples, noise, seed)
    corners = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    rng = random.Random(seed)
    pts = [list(corners[i % 4]) for i in range(n_samples)]
    y = [table[i % 4] for i in range(n_samples)]
    return _jitter(rng, pts, noise), y


def make_xor(n_samples: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """XOR: the unit square's corners in turn, with noise; class 1 where the two bits differ.

    ``make_xor(4, noise=0.0)`` is the truth table.

    >>> make_xor(4, noise=0.0)
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    return _gate(n_samples, noise, seed, (0, 1, 1, 0))


def make_and(n_samples: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """The AND gate of the study notes: corners of the unit square in turn, class 1 at (1, 1).

    ``make_and(4, noise=0.0)`` is the notes' truth table (0 0 → 0, 0 1 → 0, 1 0 → 0, 1 1 → 1).

    >>> make_and(4, noise=0.0)
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 0, 0, 1])
    """
    return _gate(n_samples, noise, seed, (0, 0, 0, 1))


def make_blobs(
    n_samples: int = 100, noise: float = 0.1, seed: int = 0, *, centers: int = 3
) -> Dataset:
    """Gaussian blobs of standard deviation ``noise`` around ``centers`` points on the unit circle.

    Blob ``k`` is centred at angle ``2πk/centers``; points cycle through the blobs and are shuffled.

    >>> X, y = make_blobs(6, noise=0.0, centers=3)
    >>> sorted(y)
    [0, 0, 1, 1, 2, 2]
    """
    centers = check.integer("centers", centers, 1)
    n_samples, noise, seed = _check(n_samples, noise, seed, centers)
    middle = [
        [math.cos(2 * math.pi * k / centers), math.sin(2 * math.pi * k / centers)]
        for k in range(centers)
    ]
    pts = [list(middle[i % centers]) for i in range(n_samples)]
    y = [i % centers for i in range(n_samples)]
    rng = random.Random(seed)
    pts, y = _shuffled(rng, pts, y)
    return _jitter(rng, pts, noise), y


def make_lecture(n_samples: int = 4, noise: float = 0.0, seed: int = 0) -> Dataset:
    """The lecture's four 3-d samples; class 1 where the lecture's target is +1, else 0.

    A fixed set: ``n_samples``, ``noise`` and ``seed`` are accepted (and checked) for a uniform
    signature, and ignored. ``LECTURE_XS`` / ``LECTURE_YS`` hold the samples with ±1 targets.

    >>> make_lecture()[1]
    [1, 0, 0, 1]
    """
    _check(n_samples, noise, seed)
    return [list(x) for x in LECTURE_XS], [1 if t > 0 else 0 for t in LECTURE_YS]


def train_test_split(
    X: Sequence[T], y: Sequence[int], test_size: float = 0.25, seed: int = 0
) -> tuple[list[T], list[T], list[int], list[int]]:
    """Shuffle, then split into ``(X_train, X_test, y_train, y_test)`` (scikit-learn's order).

    ``test_size`` is a fraction in (0, 1) (rounded up, as scikit-learn does) or a count.

    >>> X_train, X_test, y_train, y_test = train_test_split(list(range(8)), [0] * 8)
    >>> len(X_train), len(X_test)
    (6, 2)
    """
    X = check.sequence("X", X, "a list, tuple or array of samples")
    y = check.sequence("y", y, "a list, tuple or array of labels")
    n = len(X)
    if n != len(y):
        raise ValueError(f"X has {n} rows but y has {len(y)} labels: give one label per row")
    if isinstance(test_size, numbers.Integral) and not check.is_bool(test_size):
        n_test = check.integer("test_size", test_size, 1, what="a count of samples, an integer")
    else:
        fraction = check.real("test_size", test_size, 0.0, 1.0, open_low=True, open_high=True)
        n_test = math.ceil(fraction * n)
    if not 0 < n_test < n:
        raise ValueError(
            f"test_size must leave samples to train on: a test set of {n_test} leaves no "
            f"training data out of {n} samples"
        )
    order = list(range(n))
    random.Random(check.integer("seed", seed)).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return (
        [X[i] for i in train],
        [X[i] for i in test],
        [y[i] for i in train],
        [y[i] for i in test],
    )


# name -> generator, each callable as fn(n_samples=..., noise=..., seed=...)
DATASETS: dict[str, Callable[..., Dataset]] = {
    "moons": make_moons,
    "circles": make_circles,
    "spiral": make_spiral,
    "xor": make_xor,
    "blobs": make_blobs,
    "and": make_and,
    "lecture": make_lecture,
}
