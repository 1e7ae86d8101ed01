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

# Only signal and sys: this module loads before the command catches Ctrl-C (``__main__``), and
# every module loaded before that widens the moment where a Ctrl-C is Python's, not ours.
import signal
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from typing import Any, TypeVar

    H = TypeVar("H", bound="_Handling")

__all__ = ["EXIT_INTERRUPTED", "STARTUP", "Startup", "StopRequest", "interrupted"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C


class _Handling:
    """``with`` it: SIGINT goes to ``self._handle`` inside the block, unless SIGINT is ignored or
    this is not the main thread (where Python delivers no signal); the handler before it is back
    after the block."""

    _previous: Any = None
    _installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        raise NotImplementedError

    def __enter__(self: H) -> H:
        previous = signal.getsignal(signal.SIGINT)
        if previous != signal.SIG_IGN:
            try:
                signal.signal(signal.SIGINT, self._handle)
            except ValueError:  # not the main thread
                return self
            self._previous, self._installed = previous, True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._installed:
            self._installed = False
            signal.signal(signal.SIGINT, self._previous)


class Startup(_Handling):
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
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # ignored (nohup), or someone's own handler: theirs
        try:
            signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            return
        self._begun = True
        previous = sys.unraisablehook

        def unraisable(info: Any) -> None:
            if not (self.seen and isinstance(info.exc_value, KeyboardInterrupt)):
                previous(info)

        sys.unraisablehook = unraisable

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def watching(self) -> Startup:
        """For ``with``: a block that handles SIGINT; ``seen`` starts False (unless ``begin``
        came first)."""
        if not self._begun:
            self.seen = False
        self._begun = False
        return self

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


class StopRequest(_Handling):
    """Ctrl-C while training: the first asks to stop after the current step, a second at once."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def installed(self) -> StopRequest:
        """For ``with``: a block that catches SIGINT. A Ctrl-C the command's start-up saw (and
        something swallowed) stops at once: ``KeyboardInterrupt`` before the block runs."""
        STARTUP.check()
        return self
