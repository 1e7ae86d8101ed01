"""Standard output in the ``micrograd`` command: a reader that goes away (``| head -1``) stops the
command quietly, as Unix tools do; a full or failing device is one line and status 1.

Every command prints through ``sys.stdout``, which ``main`` replaces with a ``GuardedStdout`` for
the command's run. A write or flush that fails raises ``StdoutError`` in the command: not an
``OSError``, so that the handlers of a command's own files (which name the file or folder) let it
through to ``main``. Like Ctrl-C, it unwinds through the command's ``with`` blocks, so what a
command saved before it stays saved. Standard library only: this loads before the command runs.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, TextIO

__all__ = ["EXIT_BROKEN_PIPE", "GuardedStdout", "StdoutError"]

# 128 + SIGPIPE: the status a shell reports for a tool that a closed pipe stopped (`yes | head`).
EXIT_BROKEN_PIPE = 141


class StdoutError(Exception):
    """Standard output failed: a write or flush raised ``error`` (``closed`` when the reader of a
    pipe has gone away)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"cannot write to standard output: {' '.join(str(error).split())}")
        self.error = error

    @property
    def closed(self) -> bool:
        """The reader has gone away (EPIPE): the command stops quietly."""
        return isinstance(self.error, BrokenPipeError)


class GuardedStdout:
    """``with`` it: ``sys.stdout`` is this stand-in for the stream inside the block; a write or
    flush that fails raises ``StdoutError``, then and at every later write or flush (``error``
    keeps the first failure, in case something swallowed it)."""

    def __init__(self) -> None:
        self.error: OSError | None = None
        self._stream: TextIO | None = None

    def __enter__(self) -> GuardedStdout:
        self._stream = sys.stdout
        if self._stream is not None:  # None when Python started with stdout closed (>&-)
            sys.stdout = self
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if sys.stdout is self:
            sys.stdout = self._stream

    def write(self, text: str) -> int:
        """Write ``text`` to the stream; ``StdoutError`` if it fails (or failed before)."""
        self.check()
        try:
            return self._target().write(text)
        except OSError as e:
            raise self._failed(e) from None

    def flush(self) -> None:
        """Flush the stream; ``StdoutError`` if it fails (or failed before). Nothing when
        Python started with standard output closed (``>&-``: ``sys.stdout`` is None, and
        ``print`` writes nothing)."""
        self.check()
        if self._stream is None:
            return
        try:
            self._target().flush()
        except OSError as e:
            raise self._failed(e) from None

    def check(self) -> None:
        """Raise ``StdoutError`` if a write or flush has failed."""
        if self.error is not None:
            raise StdoutError(self.error)

    def __getattr__(self, name: str) -> Any:
        # encoding, isatty, fileno, buffer...: the stream's own.
        return getattr(self._target(), name)

    def _target(self) -> TextIO:
        if self._stream is None:
            raise ValueError("GuardedStdout is used outside its with block")
        return self._stream

    def _failed(self, error: OSError) -> StdoutError:
        """Remember ``error``; point the stream's file descriptor at the null device, so that
        the interpreter's last flush of what is still buffered neither fails again nor prints
        "Exception ignored" (the way Python's documentation of SIGPIPE suggests)."""
        self.error = error
        try:
            fd = self._target().fileno()
        except (OSError, ValueError, AttributeError):  # a stream without one (a test's)
            return StdoutError(error)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
        return StdoutError(error)
