"""A checkpoint's metadata: JSON data that comes back as it was, or an error naming ``metadata``
raised before anything is written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd.nn import MLP
from micrograd.nn._checkpoint import MAX_METADATA_DEPTH

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**4299), 10**4299)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
JSON_TREES = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=12,
    ),
    max_size=4,
)


def deep(depth: int) -> Any:
    """A list nested ``depth`` deep."""
    out: Any = []
    for _ in range(depth):
        out = [out]
    return out


def containers(tree: Any) -> list[Any]:
    """Every dict and list in ``tree``, itself included."""
    found, todo = [], [tree]
    while todo:
        item = todo.pop()
        if isinstance(item, (dict, list)):
            found.append(item)
            todo.extend(item.values() if isinstance(item, dict) else item)
    return found


# What JSON refuses, or would not give back as it was: (a bad item, the error, its words).
BAD = [
    (10**5000, ValueError, "is an int of more than 4300 digits"),
    (-(10**4300), ValueError, "is an int of more than 4300 digits"),
    ({1, 2}, TypeError, "must be JSON data"),
    (frozenset(), TypeError, "must be JSON data"),
    (b"bytes", TypeError, "must be JSON data"),
    (object(), TypeError, "must be JSON data"),
    (np.float32(1.5), TypeError, "must be JSON data"),
    (np.int64(3), TypeError, "must be JSON data"),
    (1j, TypeError, "must be JSON data"),
    ({1: "int key"}, TypeError, "keys must be strings"),
    ({math.nan: "nan key"}, TypeError, "keys must be strings"),
    ({None: 1}, TypeError, "keys must be strings"),
    (deep(MAX_METADATA_DEPTH + 1), ValueError, f"is nested more than {MAX_METADATA_DEPTH} deep"),
    ("itself", ValueError, "contains itself"),  # planted as the container itself
]


def saved(path: Path) -> str:
    """A checkpoint already at ``path``; its text."""
    MLP(2, [2, 1]).save(path, metadata={"before": 1})
    return path.read_text(encoding="utf-8")


@settings(max_examples=60, deadline=None)
@given(tree=JSON_TREES, data=st.data())
def test_bad_metadata_is_refused_naming_it_before_anything_is_written(
    tmp_path_factory: pytest.TempPathFactory, tree: dict[str, Any], data: st.DataObject
) -> None:
    """A bad item anywhere in JSON metadata: TypeError or ValueError naming ``metadata[...]``,
    and the file already at the path is unchanged."""
    bad, error, words = data.draw(st.sampled_from(BAD))
    where = data.draw(st.sampled_from(containers(tree)))
    if isinstance(bad, str) and bad == "itself":
        bad = where
    if isinstance(where, dict):
        where["planted"] = bad
    else:
        where.append(bad)
    path = tmp_path_factory.mktemp("meta") / "m.json"
    before = saved(path)
    with pytest.raises(error) as raised:
        MLP(2, [2, 1]).save(path, metadata=tree)
    assert str(raised.value).startswith("metadata")
    assert words in str(raised.value)
    assert path.read_text(encoding="utf-8") == before


@settings(max_examples=60, deadline=None)
@given(tree=JSON_TREES)
def test_good_metadata_comes_back_as_it_was(
    tmp_path_factory: pytest.TempPathFactory, tree: dict[str, Any]
) -> None:
    """JSON metadata (ints up to 4300 digits, NaN and infinities included) loads back equal."""
    path = tmp_path_factory.mktemp("meta") / "m.json"
    model = MLP(2, [2, 1])
    model.save(path, metadata=tree)
    assert json.dumps(model.load(path), sort_keys=True) == json.dumps(tree, sort_keys=True)


def test_the_testers_huge_int_names_metadata(tmp_path: Path) -> None:
    """``metadata={"n": 10**5000}``: a ValueError naming metadata['n'], the old file kept."""
    path = tmp_path / "m.json"
    before = saved(path)
    with pytest.raises(ValueError) as raised:
        MLP(2, [2, 1]).save(path, metadata={"n": 10**5000})
    assert str(raised.value) == (
        "metadata['n'] is an int of more than 4300 digits, which JSON readers refuse (Python's "
        "int(text) included): metadata must be JSON data: dicts with string keys, lists, tuples, "
        "strings, bools, None, floats, and ints of at most 4300 digits; store it as a string"
    )
    assert path.read_text(encoding="utf-8") == before


def test_a_shared_list_is_no_cycle(tmp_path: Path) -> None:
    """The same list twice (not inside itself) is saved, and comes back as two equal lists."""
    shared = [1, 2]
    model = MLP(2, [2, 1])
    model.save(tmp_path / "m.json", metadata={"a": shared, "b": [shared, (shared,)]})
    assert model.load(tmp_path / "m.json") == {"a": [1, 2], "b": [[1, 2], [[1, 2]]]}


def test_metadata_as_deep_as_allowed_is_saved(tmp_path: Path) -> None:
    """Nesting up to MAX_METADATA_DEPTH containers below metadata saves and loads back."""
    model = MLP(2, [2, 1])
    model.save(tmp_path / "m.json", metadata={"d": deep(MAX_METADATA_DEPTH - 1)})
    assert model.load(tmp_path / "m.json") == {"d": deep(MAX_METADATA_DEPTH - 1)}
