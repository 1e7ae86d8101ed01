"""The checkpoint file: canonical JSON with a SHA-256 checksum, and ``read_checkpoint``."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from typing import Any

from micrograd import _check as check

_FORMAT = "micrograd.nn"  # in every file: it names the format, not where the code lives
_VERSION = 2  # 2 adds the checksum; version 1 files (no checksum) still load
_READABLE_VERSIONS = (1, 2)


class CheckpointError(ValueError):
    """A checkpoint file is truncated, malformed, or does not fit the model it is loaded into."""


def _check_state(state: Any, names: list[str]) -> list[float]:
    """The state's numbers in the order of ``names``, or a CheckpointError saying what differs.

    Linear in the number of parameters: one set of the names, one lookup per name.
    """
    if not isinstance(state, dict):
        raise CheckpointError(f"a state dict must be a dict, not {type(state).__name__}")
    expected = set(names)
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lacks {len(missing)} parameter(s) such as {missing[0]!r}")
        if unexpected:
            parts.append(f"has {len(unexpected)} unexpected such as {unexpected[0]!r}")
        raise CheckpointError(
            f"state {' and '.join(parts)} (the model has {len(names)} parameters)"
        )
    values = []
    for n in names:
        v = state[n]
        try:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError
            values.append(float(v))
        except (TypeError, OverflowError):  # OverflowError: an int too large, such as 10**400
            raise CheckpointError(
                f"state[{n!r}] must be a real number, not {check.describe(v)}"
            ) from None
    return values


# JSON metadata that every reader gives back as it was: ints of at most Python's default
# digit limit for int(text) (4300 digits: 10**5000 cannot be written, nor read back), and
# nesting well inside the recursion limit of json's encoder and decoder (about 1000 deep).
_MAX_METADATA_INT = 10**4300
MAX_METADATA_DEPTH = 100
_ACCEPTS = (
    "JSON data: dicts with string keys, lists, tuples, strings, bools, None, floats, and ints of "
    "at most 4300 digits"
)


def _plain(value: object) -> bool:
    """``value`` is a JSON scalar as it is (None, str, float, or an int of at most 4300 digits)."""
    if isinstance(value, int):
        return -_MAX_METADATA_INT < value < _MAX_METADATA_INT
    return value is None or isinstance(value, (str, float))


def _check_metadata(metadata: object) -> None:
    """Refuse metadata that JSON would not give back as it was, naming the item: TypeError for
    a kind JSON lacks, ValueError for an int too long, a container in itself or nested too deep.
    """
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of {_ACCEPTS}, not {check.describe(metadata)}")
    # A loop, not recursion: deep metadata is no RecursionError. An entry whose depth is None
    # marks the end of a container's items: it is no longer on the path from ``metadata``.
    todo: list[tuple[str, object, int | None]] = [("metadata", metadata, 0)]
    inside: set[int] = set()  # the ids of the containers on the path to the item
    while todo:
        where, item, depth = todo.pop()
        if depth is None:
            inside.discard(id(item))
            continue
        if isinstance(item, (dict, list, tuple)):
            if id(item) in inside:
                raise ValueError(f"{where} contains itself: metadata must be {_ACCEPTS}")
            if depth > MAX_METADATA_DEPTH:
                raise ValueError(
                    f"{where} is nested more than {MAX_METADATA_DEPTH} deep: metadata must be "
                    f"at most {MAX_METADATA_DEPTH} containers deep"
                )
            inside.add(id(item))
            todo.append((where, item, None))
        if isinstance(item, dict):
            for key, value in item.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"{where} has the key {check.describe(key)}: keys must be strings"
                    )
                todo.append((f"{where}[{key!r}]", value, depth + 1))
        elif isinstance(item, (list, tuple)):  # a tuple comes back as a list
            # Plain scalars pass at once: only the rest is looked into (and named), as a
            # checkpoint's history is thousands of numbers.
            todo.extend(
                (f"{where}[{i}]", value, depth + 1)
                for i, value in enumerate(item)
                if not _plain(value)
            )
        elif isinstance(item, int) and not _plain(item):
            raise ValueError(
                f"{where} is an int of more than 4300 digits, which JSON readers refuse "
                f"(Python's int(text) included): metadata must be {_ACCEPTS}; store it as a "
                "string"
            )
        elif not _plain(item):
            raise TypeError(f"{where} must be {_ACCEPTS}, not {check.describe(item)}")


def _canonical(payload: dict[str, Any]) -> str:
    """The payload as canonical JSON: sorted keys, no spaces, ASCII, each float by its repr()
    (exact: two different floats never print alike, -0.0 included)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _checksum(canonical: str) -> str:
    """``sha256:<hex digest>`` of a canonical JSON text."""
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _float_literal(text: str) -> float:
    """A JSON number with a fraction or exponent; one too large for a float (1e400) is refused."""
    x = float(text)
    if math.isinf(x):  # the file's own infinities are spelt Infinity, which never comes here
        raise ValueError(f"the number {text[:40]} is too large for a float")
    return x


def _read_text(path: str) -> str:
    """The file's text: at most MAX_CHECKPOINT_BYTES, and only if it could be a JSON object."""
    from micrograd import nn  # the limit as set there now (nn.MAX_CHECKPOINT_BYTES)

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > nn.MAX_CHECKPOINT_BYTES:
            raise CheckpointError(
                f"{path} is {size} bytes, more than a checkpoint may be "
                f"(MAX_CHECKPOINT_BYTES = {nn.MAX_CHECKPOINT_BYTES})"
            )
        # Read in pieces and stop at the limit: a device or pipe (/dev/zero) may never end.
        chunks = [f.read(1 << 16)]
        if not chunks[0].lstrip().startswith(b"{"):
            raise CheckpointError(f"{path} is not a micrograd checkpoint (not a JSON object)")
        total = len(chunks[0])
        while chunk := f.read(1 << 20):
            total += len(chunk)
            if total > nn.MAX_CHECKPOINT_BYTES:
                raise CheckpointError(
                    f"{path} holds more than MAX_CHECKPOINT_BYTES = {nn.MAX_CHECKPOINT_BYTES} bytes"
                )
            chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"{path} is not a micrograd checkpoint (not UTF-8 text: {e})"
        ) from None


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint file written by ``Module.save`` and check its envelope and checksum.

    Returns the parsed document (``config``, ``state``, ``optimizer``, ``metadata`` …), for
    ``Module.load_checkpoint``. A missing file raises FileNotFoundError; a file that is too
    large, not JSON, nested too deep, holds a number no float can hold, is not a micrograd
    checkpoint or whose checksum does not match its contents raises ``CheckpointError``.
    Version-1 files (written before checkpoints carried a checksum) load unchecked.
    """
    where = check.file_path("path", path)
    try:
        text = _read_text(where)
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {where}") from None
    try:
        doc = json.loads(text, parse_float=_float_literal)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{where} is not valid JSON (truncated or corrupt?): {e}") from None
    except ValueError as e:  # a number too large (or an int of more digits than Python reads)
        raise CheckpointError(f"{where} is not a checkpoint micrograd can read: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{where} is not a checkpoint: JSON nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise CheckpointError(f"{where} is not a micrograd checkpoint")
    version = doc.get("version")
    if version not in _READABLE_VERSIONS or isinstance(version, bool):
        raise CheckpointError(
            f"{where} is checkpoint version {check.describe(version)}; this micrograd reads "
            f"{', '.join(map(str, _READABLE_VERSIONS))}"
        )
    if version >= 2:
        claimed = doc.pop("checksum", None)
        try:
            actual = _checksum(_canonical(doc))
        except (ValueError, RecursionError) as e:
            raise CheckpointError(f"{where} cannot be checked: {e}") from None
        if claimed != actual:
            raise CheckpointError(
                f"{where} is damaged: its checksum does not match its contents"
                if isinstance(claimed, str)
                else f"{where} has no checksum"
            )
    if "state" not in doc:
        raise CheckpointError(f"{where} holds no parameters")
    metadata, optimizer = doc.get("metadata", {}), doc.get("optimizer")
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{where}: metadata must be a dict, not {check.describe(metadata)}")
    if optimizer is not None and not isinstance(optimizer, dict):
        raise CheckpointError(
            f"{where}: optimizer must be a dict or null, not {check.describe(optimizer)}"
        )
    return doc
