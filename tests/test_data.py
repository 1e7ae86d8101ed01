"""micrograd.data: seeded, deterministic toy datasets and the train/test split."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Callable

import pytest
from sklearn import datasets as skd

from micrograd.data import (
    DATASETS,
    LECTURE_XS,
    LECTURE_YS,
    make_and,
    make_blobs,
    make_circles,
    make_lecture,
    make_moons,
    make_spiral,
    make_xor,
    train_test_split,
)

NOISY = ["moons", "circles", "spiral", "xor", "blobs", "and"]
CLASSES = {"moons": 2, "circles": 2, "spiral": 3, "xor": 2, "blobs": 3, "and": 2, "lecture": 2}


def rounded(points: list[list[float]]) -> list[tuple[float, ...]]:
    """Points rounded to 9 places and sorted, to compare sets of points."""
    return sorted(tuple(round(v, 9) + 0.0 for v in p) for p in points)


def test_registry_has_every_dataset() -> None:
    """DATASETS holds moons, circles, spiral, xor, blobs, and, lecture."""
    assert sorted(CLASSES) == sorted(DATASETS)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_uniform_signature(name: str) -> None:
    """Every generator takes n_samples, noise and seed, in that order."""
    params = list(inspect.signature(DATASETS[name]).parameters)
    assert params[:3] == ["n_samples", "noise", "seed"]


@pytest.mark.parametrize("name", NOISY)
def test_shapes_and_labels(name: str) -> None:
    """n_samples rows of two floats, and labels that are the class indices 0 … C-1."""
    X, y = DATASETS[name](n_samples=30, noise=0.1, seed=1)
    assert (len(X), len(y), {len(row) for row in X}) == (30, 30, {2})
    assert all(type(v) is float for row in X for v in row)
    assert sorted(set(y)) == list(range(CLASSES[name]))


@pytest.mark.parametrize("name", NOISY)
def test_same_seed_same_data(name: str) -> None:
    """The same arguments give identical lists; another seed gives other points."""
    fn = DATASETS[name]
    assert fn(n_samples=40, noise=0.2, seed=3) == fn(n_samples=40, noise=0.2, seed=3)
    assert fn(n_samples=40, noise=0.2, seed=3)[0] != fn(n_samples=40, noise=0.2, seed=4)[0]


@pytest.mark.parametrize("name", NOISY)
def test_generators_leave_global_random_alone(name: str) -> None:
    """A generator draws from its own Random(seed), so the global random state is untouched."""
    import random

    random.seed(11)
    expected = random.random()
    random.seed(11)
    DATASETS[name](n_samples=20, noise=0.1, seed=0)
    assert expected == random.random()


@pytest.mark.parametrize("name", NOISY)
@pytest.mark.parametrize(
    ("n_samples", "noise", "error", "message"),
    [
        (0, 0.1, ValueError, "n_samples"),
        (10, -0.1, ValueError, "noise"),
        (10, math.nan, ValueError, "noise"),
        (2.5, 0.1, TypeError, "n_samples"),
    ],
)
def test_bad_arguments_raise(
    name: str, n_samples: int, noise: float, error: type[Exception], message: str
) -> None:
    """A non-positive n_samples or a negative or NaN noise raises ValueError; a fractional
    n_samples TypeError."""
    with pytest.raises(error, match=message):
        DATASETS[name](n_samples=n_samples, noise=noise, seed=0)


def test_moons_are_scikit_learns_moons() -> None:
    """Without noise, make_moons gives scikit-learn's points and labels (in another order)."""
    X, y = make_moons(n_samples=51, noise=0.0, seed=0)
    sk_X, sk_y = skd.make_moons(n_samples=51, noise=0.0, shuffle=False)
    expected = rounded([[*p, c] for p, c in zip(sk_X.tolist(), sk_y.tolist(), strict=True)])
    assert expected == rounded([[*p, c] for p, c in zip(X, y, strict=True)])


def test_circles_are_scikit_learns_circles() -> None:
    """Without noise, make_circles gives scikit-learn's points and labels (in another order)."""
    X, y = make_circles(n_samples=41, noise=0.0, seed=0, factor=0.3)
    sk_X, sk_y = skd.make_circles(n_samples=41, noise=0.0, factor=0.3, shuffle=False)
    expected = rounded([[*p, c] for p, c in zip(sk_X.tolist(), sk_y.tolist(), strict=True)])
    assert expected == rounded([[*p, c] for p, c in zip(X, y, strict=True)])


def test_noise_is_gaussian_with_the_given_spread() -> None:
    """Noisy moons differ from the clean ones by Gaussian noise of about the asked-for std."""
    clean, _ = make_moons(n_samples=2000, noise=0.0, seed=2)
    noisy, _ = make_moons(n_samples=2000, noise=0.3, seed=2)
    diffs = [a - b for p, q in zip(noisy, clean, strict=True) for a, b in zip(p, q, strict=True)]
    std = math.sqrt(sum(d * d for d in diffs) / len(diffs))
    assert round(std, 1) == 0.3


def test_and_gate_is_the_notes_truth_table() -> None:
    """make_and(4, noise=0) is seed 003's AND gate: only (1, 1) gives 1."""
    expected = ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 0, 0, 1])
    assert expected == make_and(4, noise=0.0)


def test_xor_is_the_truth_table() -> None:
    """make_xor(4, noise=0) is XOR's truth table; more samples repeat the corners."""
    assert make_xor(4, noise=0.0) == (
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        [0, 1, 1, 0],
    )
    assert make_xor(8, noise=0.0)[1] == [0, 1, 1, 0, 0, 1, 1, 0]


def test_lecture_set_is_the_lectures_four_samples() -> None:
    """make_lecture() is the lecture's xs with targets [1, -1, -1, 1] as classes [1, 0, 0, 1]."""
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    assert (xs, [1, 0, 0, 1]) == make_lecture()
    assert (xs, [1.0, -1.0, -1.0, 1.0]) == (LECTURE_XS, LECTURE_YS)
    assert make_lecture(n_samples=100, noise=0.5, seed=9) == make_lecture()


def test_spiral_arms() -> None:
    """make_spiral deals points evenly over its arms, inside the unit disc, none at the centre."""
    X, y = make_spiral(n_samples=100, noise=0.1, seed=0, classes=4)
    radii = [math.hypot(*p) for p in X]
    assert Counter(y) == {0: 25, 1: 25, 2: 25, 3: 25}
    assert min(radii) > 0.0
    assert max(radii) == pytest.approx(1.0)


def test_blobs_sit_on_the_unit_circle() -> None:
    """Without noise each blob is its centre on the unit circle, at angle 2πk/centers."""
    X, y = make_blobs(n_samples=8, noise=0.0, seed=0, centers=4)
    angles = {
        k: round(math.atan2(p[1], p[0]) % (2 * math.pi), 9) for p, k in zip(X, y, strict=True)
    }
    assert {k: round(2 * math.pi * k / 4, 9) for k in range(4)} == angles


# --- train_test_split ---


def test_split_partitions_the_data() -> None:
    """The split is a shuffle of all rows: 25% (rounded up) for testing, labels kept with rows."""
    X, y = make_moons(n_samples=21, noise=0.1, seed=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=1)
    assert (len(X_tr), len(X_te), len(y_tr), len(y_te)) == (15, 6, 15, 6)
    pairs = sorted(zip(map(tuple, X), y, strict=True))
    assert pairs == sorted(zip(map(tuple, X_tr + X_te), y_tr + y_te, strict=True))


def test_split_is_seeded() -> None:
    """The same seed gives the same split; another seed another one."""
    X, y = make_moons(n_samples=40, noise=0.1, seed=0)
    assert train_test_split(X, y, seed=2) == train_test_split(X, y, seed=2)
    assert train_test_split(X, y, seed=2) != train_test_split(X, y, seed=3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: train_test_split([[0.0]] * 4, [0] * 3), "X has 4 rows but y has 3"),
        (lambda: train_test_split([[0.0]] * 4, [0] * 4, test_size=1.5), "test_size"),
        (lambda: train_test_split([[0.0]] * 4, [0] * 4, test_size=4), "no training data"),
    ],
)
def test_split_bad_arguments_raise(call: Callable[[], object], message: str) -> None:
    """Mismatched lengths and impossible test sizes raise ValueError."""
    with pytest.raises(ValueError, match=message):
        call()


def test_split_takes_a_count() -> None:
    """An integer test_size is a number of test rows."""
    assert len(train_test_split(list(range(10)), [0] * 10, test_size=3)[1]) == 3


def test_data_module_uses_only_the_standard_library() -> None:
    """Importing micrograd.data loads no numpy, torch or scikit-learn."""
    code = (
        "import sys, micrograd.data; "
        "print(sorted(m for m in ('numpy', 'torch', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
