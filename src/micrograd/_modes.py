"""A mode switched on for a block: ``no_grad``, ``detect_anomaly`` and ``gc_paused`` are of it.

As torch's ``no_grad``: one object serves any number of blocks, nested or one after another, in
any thread, and as a decorator (``@no_grad()`` or ``@no_grad``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any


class Mode(ContextDecorator):
    """A block that switches something on at entry and restores it at exit.

    A subclass gives ``_enter() -> saved`` and ``_exit(saved)``; each open block keeps its own
    ``saved`` (per thread), so the object can be entered again while it is open.
    """

    def __new__(cls, function: Callable[..., Any] | None = None) -> Any:
        mode = super().__new__(cls)
        mode._open = threading.local()  # .saved: a stack, one entry per block open in the thread
        if function is None:
            return mode
        if not callable(function):
            raise TypeError(f"{cls.__name__}() takes no argument, or a function to decorate")
        return mode(function)  # ``@no_grad`` without parentheses, as torch allows

    _open: threading.local

    def _stack(self) -> list[Any]:
        stack: list[Any] | None = getattr(self._open, "saved", None)
        if stack is None:
            stack = self._open.saved = []
        return stack

    def __enter__(self) -> None:
        self._stack().append(self._enter())

    def __exit__(self, *exc: object) -> None:
        self._exit(self._stack().pop())

    def _enter(self) -> Any:
        raise NotImplementedError

    def _exit(self, saved: Any) -> None:
        raise NotImplementedError
