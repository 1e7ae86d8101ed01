"""All-or-nothing file writes: a temporary file beside the target, synced, then renamed."""

from __future__ import annotations

import contextlib
import os
import re
import secrets


def _atomic_write(path: str, text: str | bytes) -> None:
    """Replace the file at ``path`` (a symlink's target) with ``text`` (UTF-8, or bytes as they
    are), all or nothing.

    The text goes to ``.<name>.<pid>.<random>.tmp`` beside the target, is synced, and is renamed
    over the target, so a crash leaves the old file. Temporary files of the same target left by
    writers that died mid-save (kill -9) are removed first; those of live writers are kept.
    """
    target = os.path.realpath(path)  # write through a symlink: the link stays a link
    folder, name = os.path.split(target)
    _remove_stale_temporaries(folder, name)
    try:
        tmp, fd = _create_temporary(folder, name)
    except OSError as e:
        raise _save_error(path, e) from e
    try:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise _save_error(path, e) from e
        raise
    _sync_folder(folder)


def _create_temporary(folder: str, name: str) -> tuple[str, int]:
    """A new file ``.<name>.<pid>.<random>.tmp`` in ``folder``: its path and an open descriptor.

    Created as open() creates files (mode 0o666 less the umask), never over an existing one.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Delete ``.<name>.<pid>.*.tmp`` files in ``folder`` whose writing process is gone."""
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]+\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return  # the write that follows reports the folder's problem
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, entry))


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still exist (True when that cannot be known)."""
    if os.name != "posix" or pid == os.getpid():
        return True  # elsewhere os.kill(pid, 0) is no harmless probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process, or no such pid at all
        return True
    return True


def _sync_folder(folder: str) -> None:
    """Flush the folder's entry for a renamed file to disk (POSIX), so the rename survives."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _save_error(path: str, e: OSError) -> OSError:
    """The OSError of a failed save: it names the checkpoint (not the temporary file)."""
    reason = e.strerror or str(e)
    return OSError(e.errno, f"cannot save {path}: {reason} (the file there is unchanged)")
