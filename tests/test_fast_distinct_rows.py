"""The schedule's distinct rows of an index table (a matrix product's factors): what
``np.unique(axis=0)`` gives, in its order, rows told apart by a hash and checked exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from micrograd.fast import _schedule
from micrograd.fast._schedule import distinct_rows

TABLES = hnp.arrays(
    np.intp,
    st.tuples(st.integers(0, 40), st.integers(0, 6)),
    elements=st.integers(-4, 4),
)


def unique_rows(a: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """``np.unique(a, axis=0, return_inverse=True)`` as lists (the inverse flat)."""
    found, inverse = np.unique(a, axis=0, return_inverse=True)
    return found.tolist(), inverse.reshape(-1).tolist()


@settings(max_examples=300, deadline=None)
@given(TABLES)
def test_distinct_rows_are_np_unique_s(a: np.ndarray) -> None:
    """Random tables (repeated rows, negative entries, no rows, no columns): the same distinct
    rows in the same order, and the same inverse, as np.unique."""
    found, inverse = distinct_rows(a)
    assert (found.tolist(), inverse.tolist()) == unique_rows(a)


def test_rows_of_one_hash_are_told_apart() -> None:
    """Two different rows that share a hash (a multiplier made 0) are still two rows."""
    a = np.array([[1, 2], [1, 5], [1, 2]], dtype=np.intp)
    saved = _schedule._MULTIPLIER
    try:
        _schedule._MULTIPLIER = 2**64  # every weight 1 (odd): [1, 2] and [2, 1] share a hash
        b = np.array([[1, 2], [2, 1], [1, 2]], dtype=np.intp)
        assert [distinct_rows(x)[0].tolist() for x in (a, b)] == [
            [[1, 2], [1, 5]],
            [[1, 2], [2, 1]],
        ]
    finally:
        _schedule._MULTIPLIER = saved
