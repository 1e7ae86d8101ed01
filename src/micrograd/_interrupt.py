"""Ctrl-C in the ``micrograd`` command: never lost, never a traceback.

Two handlers, for the two phases of a command:

* While the command starts (loading the library, NumPy, matplotlib; parsing), ``STARTUP`` raises
  ``KeyboardInterrupt`` as Python's own handler does, and also remembers that it did. Some C
  extensions turn an exception raised while they load into something else: NumPy reports a
  Ctrl-C during its import as ``ImportError`` ("Importing the numpy C-extensions failed"), and
  code that falls back when an optional package is missing would then go on without it, the
  Ctrl-C lost. ``STARTUP.check()`` raises ``KeyboardInterrupt`` again at the next safe point.
* While training, ``StopRequest``: the first Ctrl-C asks to stop after the current step, a second
  stops at once.

A process started with Ctrl-C ignored (``nohup``, ``cmd &`` in a script) keeps ignoring it, as
Python itself does: neither handler replaces ``SIG_IGN``.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["EXIT_INTERRUPTED", "STARTUP", "Startup", "StopRequest", "interrupted"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C

Handler = Callable[[int, "FrameType | None"], Any]


@contextmanager
def _handling(handler: Handler) -> Iterator[None]:
    """SIGINT goes to ``handler`` inside the block, unless it is ignored or this is not the main
    thread (where Python delivers no signal)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Startup:
    """Ctrl-C while a command starts: ``KeyboardInterrupt`` now, and remembered for ``check``."""

    def __init__(self) -> None:
        self.seen = False
        self._begun = False  # begin() caught SIGINT before watching(): keep what it saw

    def begin(self) -> None:
        """Catch SIGINT from now on: the first thing the ``micrograd`` command does (``python -m
        micrograd`` and the script), before it loads its modules. A Ctrl-C while they load may
        land in a callback of the import system, where Python prints the KeyboardInterrupt as
        ignored and goes on: it is remembered here (``watching`` keeps it, ``check`` raises it)
        and not printed."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # ignored (nohup), or someone's own handler: theirs
        signal.signal(signal.SIGINT, self._handle)
        self._begun = True
        previous = sys.unraisablehook

        def unraisable(info: Any) -> None:
            if not (self.seen and isinstance(info.exc_value, KeyboardInterrupt)):
                previous(info)

        sys.unraisablehook = unraisable

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        raise KeyboardInterrupt

    @contextmanager
    def watching(self) -> Iterator[Startup]:
        """Handle SIGINT inside the block; ``seen`` starts False (unless ``begin`` came first)."""
        if not self._begun:
            self.seen = False
        self._begun = False
        with _handling(self._handle):
            yield self

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if a Ctrl-C came since ``watching`` began (even one that
        something swallowed or turned into another error), once: the one that handles it
        stops the command."""
        if self.seen:
            self.seen = False
            raise KeyboardInterrupt


STARTUP = Startup()


def interrupted(name: str) -> int:
    """Print ``NAME: interrupted`` on stderr (a second Ctrl-C meanwhile is ignored); the status
    a command interrupted by Ctrl-C exits with, ``EXIT_INTERRUPTED``."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread, where signals never arrive
        previous = None
    try:
        print(f"{name}: interrupted", file=sys.stderr)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return EXIT_INTERRUPTED


class StopRequest:
    """Ctrl-C while training: the first asks to stop after the current step, a second at once."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Catch SIGINT inside the block. A Ctrl-C the command's start-up saw (and something
        swallowed) stops at once: ``KeyboardInterrupt`` before the block runs."""
        STARTUP.check()
        with _handling(self._handle):
            yield self
