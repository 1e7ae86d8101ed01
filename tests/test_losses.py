"""micrograd.losses: values and gradients against PyTorch in float64, stability, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lazy_torch import functional as tnf
from lazy_torch import torch
from micrograd.engine import Value, topological_order
from micrograd.losses import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l2,
    mse_loss,
)

finite = st.floats(-30.0, 30.0, allow_nan=False)


def close(a: float, b: float, abs_tol: float = 1e-14) -> bool:
    """Equal up to float64 rounding (different summation orders)."""
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=abs_tol)


def leaves(xs: list[float]) -> tuple[list[Value], torch.Tensor]:
    """The same numbers as micrograd leaves and as a float64 tensor that wants gradients."""
    return [Value(x) for x in xs], torch.tensor(xs, dtype=torch.float64, requires_grad=True)


def check_against_torch(
    ours: Callable[[list[Value]], Value],
    theirs: Callable[[torch.Tensor], torch.Tensor],
    xs: list[float],
    abs_tol: float = 1e-14,
) -> None:
    """Assert a loss's value and gradients match PyTorch's on the scores ``xs``."""
    values, tensor = leaves(xs)
    out = ours(values)
    out.backward()
    expected = theirs(tensor)
    expected.backward()
    assert tensor.grad is not None
    grads = zip([v.grad for v in values], tensor.grad.tolist(), strict=True)
    pairs = [(out.data, expected.item()), *grads]
    assert all(close(float(a), b, abs_tol) for a, b in pairs), pairs


@pytest.mark.torch
@given(
    st.lists(st.tuples(finite, finite), min_size=1, max_size=6), st.sampled_from(["mean", "sum"])
)
def test_mse_loss_matches_torch(pairs: list[tuple[float, float]], reduction: str) -> None:
    """mse_loss equals tnf.mse_loss (mean and sum), value and gradients."""
    xs, ts = [p[0] for p in pairs], [p[1] for p in pairs]
    check_against_torch(
        lambda v: mse_loss(v, ts, reduction=reduction),
        lambda t: tnf.mse_loss(t, torch.tensor(ts, dtype=torch.float64), reduction=reduction),
        xs,
    )


@pytest.mark.torch
@given(st.lists(st.tuples(finite, st.sampled_from([-1, 1])), min_size=1, max_size=6))
def test_hinge_loss_matches_torch(pairs: list[tuple[float, int]]) -> None:
    """hinge_loss equals mean(relu(1 - y*s)) in PyTorch, value and gradients (0 at the kink)."""
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    check_against_torch(
        lambda v: hinge_loss(v, ys),
        lambda t: torch.relu(1 - torch.tensor(ys, dtype=torch.float64) * t).mean(),
        xs,
    )


def test_hinge_loss_is_the_demos_expression_exactly() -> None:
    """hinge_loss builds the demo's sum((1 + -y*s).relu()) * (1/n), float for float."""
    scores = [0.3, -1.7, 2.2, 0.1]
    ys = [1, -1, -1, 1]
    demo = sum((1 + -y * Value(s)).relu() for y, s in zip(ys, scores, strict=True)) * (1.0 / 4)
    assert hinge_loss([Value(s) for s in scores], ys).data == demo.data


def test_hinge_loss_reads_label_zero_as_minus_one() -> None:
    """Class indices 0/1 give the same hinge loss as the labels -1/+1."""
    scores = [Value(0.3), Value(-1.7)]
    assert hinge_loss(scores, [0, 1]).data == hinge_loss(scores, [-1, 1]).data


@pytest.mark.torch
@given(
    st.lists(
        st.tuples(st.floats(-1e3, 1e3, allow_nan=False), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=6,
    )
)
def test_binary_cross_entropy_matches_torch(pairs: list[tuple[float, float]]) -> None:
    """binary_cross_entropy equals tnf.binary_cross_entropy_with_logits, even for huge logits."""
    xs, ts = [p[0] for p in pairs], [p[1] for p in pairs]
    check_against_torch(
        lambda v: binary_cross_entropy(v, ts),
        lambda t: tnf.binary_cross_entropy_with_logits(t, torch.tensor(ts, dtype=torch.float64)),
        xs,
        # torch computes (1-t)*x + max(-x, 0) + log(...), which cancels for large negative x
        # and leaves an error of about |x| * 2e-16; softplus(x) - x*t does not.
        abs_tol=1e-12,
    )


def test_binary_cross_entropy_is_stable_for_extreme_logits() -> None:
    """Logits of ±1000 give finite losses and gradients sigmoid(x) - y, with no overflow."""
    x = [Value(1000.0), Value(-1000.0)]
    loss = binary_cross_entropy(x, [0, 1], reduction="sum")
    loss.backward()
    assert (loss.data, x[0].grad, x[1].grad) == (2000.0, 1.0, -1.0)
    assert binary_cross_entropy_with_logits is binary_cross_entropy


rows = st.lists(finite, min_size=2, max_size=4)


def check_cross_entropy(
    logits: list[list[float]], data: st.DataObject, abs_tol: float = 1e-14
) -> None:
    """cross_entropy on rows cut to one width, with drawn class targets, against PyTorch's."""
    width = min(len(r) for r in logits)
    logits = [r[:width] for r in logits]
    targets = [data.draw(st.integers(0, width - 1)) for _ in logits]
    flat = [x for r in logits for x in r]
    check_against_torch(
        lambda v: cross_entropy([v[i : i + width] for i in range(0, len(v), width)], targets),
        lambda t: tnf.cross_entropy(t.view(-1, width), torch.tensor(targets)),
        flat,
        abs_tol=abs_tol,
    )


@pytest.mark.torch
@given(st.lists(rows, min_size=1, max_size=4), st.data())
def test_cross_entropy_matches_torch(logits: list[list[float]], data: st.DataObject) -> None:
    """cross_entropy equals tnf.cross_entropy on logits, value and gradient of every logit."""
    check_cross_entropy(logits, data)


def test_cross_entropy_is_stable_for_extreme_logits() -> None:
    """Logits of ±1000 (exp would overflow) give finite, exact losses via log-softmax."""
    row = [Value(1000.0), Value(-1000.0), Value(0.0)]
    loss = cross_entropy([row], [1])
    loss.backward()
    assert (loss.data, row[0].grad, row[1].grad, row[2].grad) == (2000.0, 1.0, -1.0, 0.0)


big = st.floats(-1000.0, 1000.0, allow_nan=False)


@pytest.mark.torch
@given(st.lists(st.lists(big, min_size=1, max_size=4), min_size=1, max_size=4), st.data())
def test_cross_entropy_matches_torch_for_large_logits(
    logits: list[list[float]], data: st.DataObject
) -> None:
    """With logits up to ±1000 (exp overflows past ~709) cross_entropy still equals PyTorch's."""
    check_cross_entropy(logits, data, abs_tol=1e-12)


@pytest.mark.torch
@given(st.lists(st.lists(big, min_size=2, max_size=4), min_size=1, max_size=4), st.data())
def test_cross_entropy_on_probability_rows_matches_torch(
    logits: list[list[float]], data: st.DataObject
) -> None:
    """Target rows of class probabilities (one-hot or soft) give PyTorch's cross_entropy."""
    check_probability_rows(logits, data)


def check_probability_rows(logits: list[list[float]], data: st.DataObject) -> None:
    """cross_entropy on rows cut to one width, with drawn probability rows, against PyTorch's."""
    width = min(len(r) for r in logits)
    logits = [r[:width] for r in logits]
    weights = [[data.draw(st.floats(0.0, 1.0)) + 1e-3 for _ in range(width)] for _ in logits]
    probs = [[w / sum(ws) for w in ws] for ws in weights]
    flat = [x for r in logits for x in r]
    check_against_torch(
        lambda v: cross_entropy([v[i : i + width] for i in range(0, len(v), width)], probs),
        lambda t: tnf.cross_entropy(t.view(-1, width), torch.tensor(probs, dtype=torch.float64)),
        flat,
        abs_tol=1e-10,  # |logits| up to 1000 times rounding of probabilities summing to 1
    )


def test_one_hot_rows_give_the_class_index_loss_exactly() -> None:
    """cross_entropy on one-hot rows (numbers or Values) equals it on class indices, bit for bit."""
    results = []
    for targets in (
        [2, 1],
        [[0, 0, 1], [0, 1, 0]],
        [[Value(0.0), Value(0.0), Value(1.0)], [Value(0.0), Value(1.0), Value(0.0)]],
    ):
        rows = [[Value(0.3), Value(-2.0), Value(5.0)], [Value(900.0), Value(-900.0), Value(1.0)]]
        loss = cross_entropy(rows, targets)
        loss.backward()
        results.append([loss.data, *(v.grad for r in rows for v in r)])
    assert [results[0]] * 3 == results


def test_log_softmax_reads_no_constant_from_the_data() -> None:
    """cross_entropy's graph holds no logit as a constant: its max shift is a node of the graph
    (a maximum op), and every op's constant is 0 or 1 (1/n for the mean of one row)."""
    row = [Value(700.0), Value(-3.0), Value(12.5)]
    loss = cross_entropy([row], [0])
    nodes = topological_order(loss)
    constants = {v._arg for v in nodes if v._b is None and v._a is not None}
    assert (constants <= {0.0, 1.0}, sum(v._op == "maximum" for v in nodes)) == (True, 2)


@pytest.mark.parametrize(
    ("size", "n"), [(1e15, 3), (1e16, 2), (-1e16, 2), (1e300, 4), (-1e300, 5), (1.7e308, 3)]
)
def test_equal_logits_of_any_size_give_ln_n(size: float, n: int) -> None:
    """n equal logits, however large, give cross-entropy ln n, gradient 1/n to each logit and
    1/n - 1 to the target's (as torch; a large logit once cancelled to 1.125 for ln 3)."""
    row = [Value(size) for _ in range(n)]
    loss = cross_entropy([row], [n - 1])
    loss.backward()
    expected = [1 / n] * (n - 1) + [1 / n - 1]
    assert math.isclose(loss.data, math.log(n), rel_tol=1e-15)
    assert all(math.isclose(v.grad, e, abs_tol=1e-15) for v, e in zip(row, expected, strict=True))


def test_the_issues_equal_logits_example() -> None:
    """[1e15]*3 with target 2 gives ln 3 (grads 1/3, 1/3, -2/3); [1e16, 1e16] gives ln 2."""
    row = [Value(1e15) for _ in range(3)]
    loss = cross_entropy([row], [2])
    loss.backward()
    assert (round(loss.data, 15), [round(float(v.grad), 15) for v in row]) == (
        round(math.log(3), 15),
        [round(1 / 3, 15), round(1 / 3, 15), round(-2 / 3, 15)],
    )
    assert cross_entropy([[Value(1e16), Value(1e16)]], [0]).data == math.log(2)


# Scores around large numbers: beyond exp's range, equal or a few units apart, rows mixing them.
BASES = [0.0, 1e15, -1e15, 1e16, -1e16, 1e300, -1e300, 1.7e308, -1.7e308]
huge = st.builds(
    lambda base, offset: base + offset,
    st.sampled_from(BASES),
    st.sampled_from([0.0, 0.5, -1.0, 3.0]) | st.floats(-20.0, 20.0),
)


@pytest.mark.torch
@given(st.lists(st.lists(huge, min_size=1, max_size=4), min_size=1, max_size=3), st.data())
def test_cross_entropy_matches_torch_for_huge_logits(
    logits: list[list[float]], data: st.DataObject
) -> None:
    """Logits up to ±1.7e308, equal or nearly so, give torch's loss and gradients: no
    large-magnitude cancellation in the log-softmax."""
    check_cross_entropy(logits, data, abs_tol=1e-12)


@pytest.mark.torch
@given(st.lists(st.lists(huge, min_size=2, max_size=4), min_size=1, max_size=3), st.data())
def test_cross_entropy_on_probability_rows_matches_torch_for_huge_logits(
    logits: list[list[float]], data: st.DataObject
) -> None:
    """Probability-row targets with logits up to ±1.7e308 give torch's loss and gradients."""
    check_probability_rows(logits, data)


@pytest.mark.torch
@given(st.lists(st.tuples(huge, huge, st.floats(0.0, 1.0)), min_size=1, max_size=5))
def test_every_loss_matches_torch_for_huge_scores(rows: list[tuple[float, float, float]]) -> None:
    """mse_loss, hinge_loss and binary_cross_entropy give torch's value and gradients on scores
    up to ±1.7e308, to 1e-12 relative, or to torch's own rounding of its largest term (torch's
    bce cancels (1-t)x against -x for large negative x; ours sums two terms of one sign)."""
    scale = 1e-15 * max(1.0, *(abs(x) for r in rows for x in r[:2] if math.isfinite(x)))
    scores, other, probs = ([r[k] for r in rows] for k in range(3))
    signs = [1.0 if p > 0.5 else -1.0 for p in probs]
    cases = [
        (
            lambda v: mse_loss(v, other),
            lambda t: tnf.mse_loss(t, torch.tensor(other, dtype=torch.float64)),
        ),
        (
            lambda v: hinge_loss(v, signs),
            lambda t: torch.relu(1 - torch.tensor(signs, dtype=torch.float64) * t).mean(),
        ),
        (
            lambda v: binary_cross_entropy(v, probs),
            lambda t: tnf.binary_cross_entropy_with_logits(
                t, torch.tensor(probs, dtype=torch.float64)
            ),
        ),
    ]
    for ours, theirs in cases:
        values, tensor = leaves(scores)
        loss, expected = ours(values), theirs(tensor)
        loss.backward()
        expected.backward()
        grads = list(zip([float(v.grad) for v in values], tensor.grad.tolist(), strict=True))
        assert same(loss.data, expected.item(), scale), (loss.data, expected.item())
        assert all(same(a, b, 1e-14) for a, b in grads), grads  # after sigmoid(x) - t cancels


def same(ours: float, theirs: float, abs_tol: float) -> bool:
    """Equal to 1e-12 relative or ``abs_tol`` (nan with nan, an infinity with itself)."""
    if math.isnan(ours) or math.isnan(theirs) or math.isinf(ours) or math.isinf(theirs):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    return math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=abs_tol)


LOSS_CASES: list[tuple[Callable[..., Value], Callable[..., torch.Tensor], list[float]]] = [
    (mse_loss, lambda s, t: tnf.mse_loss(s, t), [0.5, -2.0, 3.0]),
    (hinge_loss, lambda s, t: torch.relu(1 - t * s).mean(), [1.0, -1.0, 1.0]),
    (
        binary_cross_entropy,
        lambda s, t: tnf.binary_cross_entropy_with_logits(s, t),
        [1.0, 0.25, 0.0],
    ),
]


@pytest.mark.torch
@pytest.mark.parametrize(("ours", "theirs", "targets"), LOSS_CASES)
def test_value_targets_are_graph_inputs_with_torchs_gradients(
    ours: Callable[..., Value], theirs: Callable[..., torch.Tensor], targets: list[float]
) -> None:
    """Targets given as Values give the number-target loss and receive PyTorch's gradients."""
    scores = [0.3, -1.7, 900.0]
    s, st_ = leaves(scores)
    t, tt = leaves(targets)
    loss = ours(s, t)
    loss.backward()
    expected = theirs(st_, tt)
    expected.backward()
    assert tt.grad is not None and st_.grad is not None
    assert ours([Value(x) for x in scores], targets).data == loss.data
    pairs = [
        (loss.data, expected.item()),
        *zip([v.grad for v in s], st_.grad.tolist(), strict=True),
        *zip([v.grad for v in t], tt.grad.tolist(), strict=True),
    ]
    assert all(close(float(a), b) for a, b in pairs), pairs


@pytest.mark.torch
@given(st.lists(finite, min_size=0, max_size=6), st.floats(0.0, 1.0))
def test_l2_matches_torch(xs: list[float], alpha: float) -> None:
    """l2(parameters, alpha) equals alpha * sum(p*p) in PyTorch, value and gradients."""
    check_against_torch(lambda v: l2(v, alpha), lambda t: alpha * (t * t).sum(), xs)


def test_l2_is_the_demos_reg_loss_exactly() -> None:
    """l2 builds the demo's alpha * sum(p*p for p in parameters), float for float."""
    ps = [Value(x) for x in (0.3, -0.71, 1e-3, 2.5)]
    assert l2(ps, 1e-4).data == (1e-4 * sum(p * p for p in ps)).data


def test_registry_names_the_four_losses() -> None:
    """LOSSES maps hinge, mse, bce and cross_entropy to the functions."""
    expected = {
        "hinge": hinge_loss,
        "mse": mse_loss,
        "bce": binary_cross_entropy,
        "cross_entropy": cross_entropy,
    }
    assert expected == LOSSES


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mse_loss([Value(1.0)], [1.0, 2.0]), "1 scores but 2 targets"),
        (lambda: mse_loss([], []), "at least one score"),
        (lambda: mse_loss([Value(1.0)], [1.0], reduction="max"), "reduction"),
        (lambda: hinge_loss([Value(1.0)], [2]), "labels -1/\\+1"),
        (lambda: binary_cross_entropy([Value(1.0)], [1.5]), r"targets in \[0, 1\]"),
        (lambda: cross_entropy([[Value(1.0), Value(2.0)]], [2]), "class index from 0 to 1"),
        (lambda: cross_entropy([[Value(1.0), Value(2.0)]], [0, 1]), "1 rows of logits"),
    ],
)
def test_bad_arguments_raise_clear_errors(call: Callable[[], Value], message: str) -> None:
    """Mismatched lengths, empty input, unknown reductions and bad labels raise ValueError."""
    with pytest.raises(ValueError, match=message):
        call()
