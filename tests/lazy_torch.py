"""PyTorch for the tests, imported only when a test first uses it.

A test that compares with PyTorch carries the ``torch`` marker. PyTorch's pinned CPU wheel exists
for one Python only, so on the others scripts/test deselects those tests (``-m "not torch"``) and
every other test in the same module still runs. conftest.py fails a test that uses PyTorch through
these names without the marker.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["functional", "torch", "uses"]

uses = 0  # how many times a test reached into PyTorch (conftest.py compares before and after)


class LazyModule:
    """A module imported at its first attribute access: ``torch.tensor(...)`` imports torch."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        global uses
        if attribute.startswith("__"):  # introspection (doctest collection, copy), not a use
            raise AttributeError(attribute)
        uses += 1
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


torch: Any = LazyModule("torch")
functional: Any = LazyModule("torch.nn.functional")
