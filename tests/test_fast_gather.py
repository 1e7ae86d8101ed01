"""microgpt on the compiled path. Index inputs: embedding lookups and class-index targets as
gathers, the Value engine's numbers for every index, one trace for all indices, never a stale
graph. Max folds: a stable softmax's chain of maximum ops as one kernel, to the bit."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd._lookup import lookup
from micrograd._microgpt import MicroGPT
from micrograd._microgpt import document_loss as lookup_loss
from micrograd.engine import Value
from micrograd.losses import _log_softmax_terms
from micrograd.optim import Adam
from optable import same_float

VOCAB = 7
BETAS = (0.85, 0.99)  # microgpt's Adam
EPS = 1e-8


def small_gpt(seed: int = 0) -> MicroGPT:
    """microgpt's model at a test's size (its init)."""
    random.seed(seed)
    return MicroGPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block=6)


def zero_grad(model: MicroGPT) -> None:
    for p in model.parameters():
        p.grad = 0.0


def engine(model: MicroGPT, tokens: list[int], targets: list[int]) -> tuple[float, list[float]]:
    """The Value engine's loss and gradients of ``lookup_loss`` on plain integers."""
    zero_grad(model)
    loss = lookup_loss(model, tokens, targets)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    zero_grad(model)
    return loss.data, grads


def compiled(program: fast.Program, model: MicroGPT, *inputs: Any) -> tuple[float, list[float]]:
    """The program's loss and gradients (added into fresh ``.grad``)."""
    zero_grad(model)
    loss = program(*inputs)
    grads = [p.grad for p in model.parameters()]
    zero_grad(model)
    return loss, grads


def same(ours: tuple[float, list[float]], theirs: tuple[float, list[float]]) -> bool:
    """Same loss and gradients to rounding (the program sums in another order)."""
    return same_float(ours[0], theirs[0], 1e-12) and all(
        same_float(a, b, 1e-9) or abs(a - b) < 1e-15 for a, b in zip(ours[1], theirs[1])
    )


def document(rng: random.Random, length: int) -> tuple[list[int], list[int]]:
    """Random token ids and their next-token targets."""
    ids = [rng.randrange(VOCAB) for _ in range(length + 1)]
    return ids[:-1], ids[1:]


def program_for(model: MicroGPT, length: int = 5) -> fast.Program:
    """A program of ``lookup_loss`` with tokens and targets as index inputs."""
    tokens, targets = document(random.Random(99), length)
    return fast.trace(
        lambda t, y: lookup_loss(model, t, y), model.parameters(), tokens, targets, indices=[0, 1]
    )


def test_new_documents_are_not_traced_again_and_equal_the_engine() -> None:
    """Twenty documents of one length: one trace, each the Value engine's loss and gradients."""
    model = small_gpt()
    program = program_for(model)
    rng = random.Random(1)
    results = []
    for _ in range(20):
        tokens, targets = document(rng, 5)
        ours = compiled(program, model, tokens, targets)
        results.append(same(ours, engine(model, tokens, targets)))
    assert (program.traces, results) == (1, [True] * 20)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, VOCAB - 1), min_size=6, max_size=6))
def test_any_document_gives_the_engine_numbers_without_a_trace(ids: list[int]) -> None:
    """Generated documents of one length: the Value engine's loss and gradients, still one trace."""
    if not MODELS:
        MODELS.append(small_gpt(3))
        PROGRAMS.append(program_for(MODELS[0]))
    model, program = MODELS[0], PROGRAMS[0]
    ours = compiled(program, model, ids[:-1], ids[1:])
    assert (same(ours, engine(model, ids[:-1], ids[1:])), program.traces) == (True, 1)


PROGRAMS: list[fast.Program] = []  # one program for every generated document
MODELS: list[MicroGPT] = []


def test_each_length_is_one_trace() -> None:
    """Documents of three lengths, many documents each: one trace per length, not per document."""
    model = small_gpt(5)
    program = program_for(model, 3)
    rng = random.Random(2)
    results = []
    for length in (3, 5, 4, 5, 3, 4) * 3:
        tokens, targets = document(rng, length)
        results.append(
            same(compiled(program, model, tokens, targets), engine(model, tokens, targets))
        )
    assert (program.traces, all(results)) == (3, True)


def test_arrays_of_integers_are_index_inputs_too() -> None:
    """NumPy integer arrays give what the same lists give."""
    model = small_gpt(6)
    program = program_for(model)
    tokens, targets = document(random.Random(7), 5)
    as_lists = compiled(program, model, tokens, targets)
    as_arrays = compiled(program, model, np.array(tokens, dtype=np.int32), np.array(targets))
    assert as_lists == as_arrays


def test_the_same_row_picked_twice_gets_both_gradients() -> None:
    """A row picked at two positions receives both contributions, as in the Value engine."""
    table = [[Value(1.0), Value(-2.0)], [Value(0.5), Value(3.0)]]
    params = [p for row in table for p in row]

    def fn(ids: list[Any]) -> Value:
        a, b = lookup(table, ids[0]), lookup(table, ids[1])
        return (a[0] * b[1]).tanh() + a[1] * b[0]

    program = fast.trace(fn, params, [0, 1], indices=[0])
    results = []
    for ids in ([1, 1], [0, 0], [1, 0], [-1, -2]):
        for p in params:
            p.grad = 0.0
        expected = fn(ids)
        expected.backward()
        want = [p.grad for p in params]
        for p in params:
            p.grad = 0.0
        results.append(same((program(ids), [p.grad for p in params]), (expected.data, want)))
    assert (results, program.traces) == ([True] * 4, 1)


def test_a_column_of_computed_values_is_picked_with_its_gradient() -> None:
    """Picking from Values computed in the graph (a class-index target's logit) sends the gradient
    back through them."""
    w = [Value(0.3), Value(-1.2), Value(2.0)]
    fn = lambda x, c: lookup([(wi * x).tanh() for wi in w], c) * 2.0  # noqa: E731
    program = fast.trace(fn, w, 0.7, 0, indices=[1])
    results = []
    for c in (0, 1, 2, 1):
        for p in w:
            p.grad = 0.0
        expected = fn(Value(0.7), c)
        expected.backward()
        want = [p.grad for p in w]
        for p in w:
            p.grad = 0.0
        results.append(same((program(0.7, c), [p.grad for p in w]), (expected.data, want)))
    assert (results, program.traces) == ([True] * 4, 1)


def test_an_index_read_as_a_number_is_guarded_exactly() -> None:
    """``table[index]`` (not lookup) reads the number: a new index traces again, and is right."""
    table = [Value(1.0), Value(2.0), Value(3.0)]
    program = fast.trace(lambda i: table[i] * 2.0, table, 0, indices=[0])
    with pytest.warns(fast.RetraceWarning, match="test_fast_gather.py"):
        loss = program(2)
    assert (loss, program(2), program.traces) == (6.0, 6.0, 2)


def test_an_index_read_as_a_number_is_refused_without_retrace() -> None:
    """With retrace=False a new index the function read as a number is a StructureError."""
    table = [Value(1.0), Value(2.0)]
    program = fast.trace(lambda i: table[int(i)] * 2.0, table, 0, indices=[0], retrace=False)
    with pytest.raises(fast.StructureError, match=r"table\[int\(i\)\]"):
        program(1)


def test_a_comparison_is_guarded_by_its_outcome() -> None:
    """``index < 2`` picks a branch: indices on the same side replay, the other side traces."""
    w = Value(1.5)
    fn = lambda i: w * 2.0 if i < 2 else w * w  # noqa: E731
    program = fast.trace(fn, [w], 0, indices=[0])
    same_side = [program(k) for k in (0, 1, -5)]
    traces = program.traces
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        other_side = [program(k) for k in (2, 9)]
    assert (same_side, traces, other_side, program.traces) == ([3.0] * 3, 1, [2.25] * 2, 2)


def test_an_index_outside_the_table_is_an_index_error() -> None:
    """An index past the table raises IndexError as the Value engine's lookup does."""
    table = [Value(1.0), Value(2.0)]
    program = fast.trace(lambda i: lookup(table, i) * 2.0, table, 1, indices=[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        with pytest.raises(IndexError):
            program(2)
        with pytest.raises(IndexError):
            program(-3)
    assert program(-2) == 2.0


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (1.5, TypeError, "input 0 .*index input.* not an array of float64"),
        ([True, False], TypeError, "input 0 .*not an array of bool"),
        ([1, "2"], TypeError, "input 0"),
        (Value(1.0), TypeError, "input 0 .*not a Value"),
        ([[1], [2, 3]], ValueError, "input 0"),
        (2**53, ValueError, "below 2\\*\\*53"),
        (np.array([2**60]), ValueError, "below 2\\*\\*53"),
    ],
)
def test_a_bad_index_input_is_refused_naming_it(bad: Any, error: type, words: str) -> None:
    """An index input that is not integers is refused with the input's position."""
    table = [Value(1.0), Value(2.0)]
    program = fast.trace(lambda i: Value(0.0) + 1.0, table, 0, indices=[0])
    with pytest.raises(error, match=words):
        program(bad)


@pytest.mark.parametrize(
    ("indices", "error"),
    [(3, TypeError), ([1], ValueError), ([-1], ValueError), ([0.0], TypeError)],
)
def test_bad_indices_are_refused_naming_them(indices: Any, error: type) -> None:
    """``indices`` must list input positions of the program."""
    w = Value(1.0)
    with pytest.raises(error, match="indices"):
        fast.trace(lambda i: w * 1.0, [w], 0, indices=indices)


# --- max folds: ``top = v0; top = top.maximum(v)`` as one kernel ---

TIES = [-math.inf, -1.0, -0.0, 0.0, 0.5, 1.0, math.inf, math.nan]


def bits(x: float) -> tuple[bool, float, bool]:
    """A float as stored, up to nan's payload and sign: -0.0 differs from 0.0, nan equals nan."""
    if math.isnan(x):
        return (True, 0.0, False)
    return (False, x, math.copysign(1.0, x) < 0)


def fold_loss(params: list[Value], rows: list[list[Any]], weights: list[float]) -> Value:
    """Σ_r weight_r * max fold of row r (each entry a parameter times its input)."""
    total = Value(0.0)
    k = 0
    for row, weight in zip(rows, weights):
        top = params[k] * row[0]
        for x in row[1:]:
            k += 1
            top = top.maximum(params[k] * x)
        k += 1
        total = total + top * weight
    return total


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_max_fold_is_the_chain_of_maximum_ops_to_the_bit(data: st.DataObject) -> None:
    """Rows with ties, ±0, ±inf and nan: the fold kernel gives the engine's value and gradients,
    bit for bit (a tie's gradient halves at each link, as the chain's does)."""
    n = data.draw(st.integers(3, 6))
    rows = data.draw(
        st.lists(st.lists(st.sampled_from(TIES), min_size=n, max_size=n), min_size=1, max_size=3)
    )
    weights = [1.0, -2.0, 0.5][: len(rows)]
    params = [Value(1.0) for _ in range(n * len(rows))]
    program = fast.trace(lambda r: fold_loss(params, r, weights), params, rows)
    assert "max fold of" in program.describe()
    for p in params:
        p.grad = 0.0
    expected = fold_loss(params, rows, weights)
    expected.backward()
    want = [bits(p.grad) for p in params]
    for p in params:
        p.grad = 0.0
    loss = program(rows)
    assert (bits(loss), [bits(p.grad) for p in params]) == (bits(expected.data), want)


def test_a_log_sum_exp_takes_two_kernels_whatever_its_width() -> None:
    """log Σ exp(v - max v) over 27 logits: the products, then one kernel for the fold, the
    subtractions, exp, sum and log (``fast._fuse``); not 26 maximum ops."""
    w = [Value(0.1 * k) for k in range(27)]

    def fn(x: Value) -> Value:
        lse, _ = _log_softmax_terms([wi * x for wi in w])
        return lse

    program = fast.trace(fn, w, 1.5)
    kinds = [line.split()[0] for line in program.describe().splitlines()[1:]]
    assert kinds == ["*(x,", "log-sum-exp"]


# --- training on arrays: the parameters stay in one array between steps ---


def test_adam_on_arrays_trains_as_adam_on_values() -> None:
    """Twenty microgpt steps (Adam, betas 0.85/0.99, lr decaying) on the program's array give the
    Value engine's losses and final weights, and load() writes the weights into the Values."""
    model = small_gpt(9)
    twin = small_gpt(9)
    program = program_for(model)
    theta = program.theta()
    optimizer = fast.ArrayAdam(lr=0.01, betas=BETAS, eps=EPS)
    reference = Adam(twin.parameters(), lr=0.01, betas=BETAS, eps=EPS)
    rng = random.Random(4)
    ours, theirs = [], []
    for k in range(20):
        tokens, targets = document(rng, rng.choice((4, 5)))
        lr = 0.01 * (1 - k / 20)
        loss, grad = program.loss_and_grad(theta, tokens, targets)
        optimizer.lr = lr
        optimizer.update(theta, grad)
        ours.append(loss)
        total = lookup_loss(twin, tokens, targets)
        reference.zero_grad()
        total.backward()
        reference.lr = lr
        reference.step()
        theirs.append(total.data)
    untouched = [p.data for p in model.parameters()] == [p.data for p in small_gpt(9).parameters()]
    program.load(theta)
    weights = [p.data for p in model.parameters()]
    expected = [p.data for p in twin.parameters()]
    close = all(same_float(a, b, 1e-9) for a, b in zip(weights, expected))
    assert (untouched, all(same_float(a, b, 1e-9) for a, b in zip(ours, theirs)), close) == (
        True,
        True,
        True,
    )


# --- what an index may be compared with or picked from, and what that costs ---


@pytest.mark.parametrize(
    ("use", "retraces"),
    [
        (lambda i, w: w * 2.0 if i == True else w, True),  # noqa: E712  (a bool: read exactly)
        (lambda i, w: w * 2.0 if i < np.int64(1) else w, False),  # a NumPy integer: an outcome
        (lambda i, w: w * 2.0 if i >= 0.5 else w, False),  # a float: an outcome
        (lambda i, w: {0: w, 1: w * 2.0, 2: w * 3.0}[i], True),  # a dict picks by key: read
        (lambda i, w: {0: w, 1: w * 2.0, 2: w * 3.0}[lookup([0, 1, 2], i)], True),  # no Values
    ],
)
def test_every_use_of_an_index_gives_the_value_engine_answer(use: Any, retraces: bool) -> None:
    """For indices 0, 1, 2 the program gives what the function gives on plain ints; it traces
    again exactly when the use reads the number itself."""
    w = Value(1.5)
    program = fast.trace(lambda i: use(i, w) * 1.0, [w], 0, indices=[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        answers = [program(i) for i in (0, 1, 2)]
    expected = [use(i, w).data for i in (0, 1, 2)]
    assert (answers, program.traces > 2) == (expected, retraces)


INDEX_ARITHMETIC: dict[str, Callable[[Any], Any]] = {
    "i + 1": lambda i: i + 1,
    "4 - i": lambda i: 4 - i,
    "-i": lambda i: -i,
    "i // 2": lambda i: i // 2,
    "i % 2": lambda i: i % 2,
    "2 * i": lambda i: 2 * i,
    "i & 1": lambda i: i & 1,
    "abs(i)": lambda i: abs(i),
    "i ** 2 - 2 * i": lambda i: i**2 - 2 * i,
    "divmod(i, 2)[1]": lambda i: divmod(i, 2)[1],
}


@pytest.mark.parametrize("name", INDEX_ARITHMETIC)
def test_arithmetic_on_an_index_input_reads_its_number_and_replays_right(name: str) -> None:
    """``lookup(table, i + 1)`` and other integer arithmetic on an index input: the number is
    read (a guard), so every index gives the Value engine's row (it was a TypeError)."""
    shift = INDEX_ARITHMETIC[name]
    table = [Value(float(10 * k)) for k in range(-6, 6)]

    def loss(i: Any) -> Value:
        return lookup(table, shift(i)) * 1.0

    program = fast.trace(loss, table, 0, indices=[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        found = [program(k) for k in range(5)]
    assert found == [loss(k).data for k in range(5)]


def test_a_row_picked_and_one_column_used_or_none() -> None:
    """lookup of a row of which the loss uses one column, or a lookup the loss does not use: the
    program gives the Value engine's loss and gradients for every index (it raised an internal
    AssertionError: the unused picks were taken for nodes of the graph)."""
    table = [[Value(0.1 * i + 0.01 * j) for j in range(3)] for i in range(5)]
    flat = [v for row in table for v in row]

    def one_column(i: Any) -> Value:
        return lookup(table, i)[1] * 2.0

    def unused(i: Any) -> Value:
        lookup(table, i)
        return flat[0] * 3.0

    for fn in (one_column, unused):
        program = fast.trace(fn, flat, 1, indices=[0])
        for i in (0, 3, 4):
            for v in flat:
                v.grad = 0.0
            loss = program(i)
            got = [v.grad for v in flat]
            for v in flat:
                v.grad = 0.0
            want = fn(i)
            want.backward()
            assert (loss, got) == (want.data, [v.grad for v in flat])
