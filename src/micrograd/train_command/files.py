"""A run's folder: its files, its lock, clearing an earlier run, the progress bar; shared by
``micrograd train`` and ``micrograd gpt train``."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from micrograd._extras import install_hint
from micrograd.cli import (
    EXIT_USAGE,
    CommandError,
    _one_line,
)
from micrograd.nn import CheckpointError, read_checkpoint

MODEL_FILE = "model.json"
HISTORY_FILE = "history.csv"
LOSS_PLOT = "loss.png"
BOUNDARY_PLOT = "boundary.png"
REPORT_FILE = "report.html"


def progress_bar(choice: bool | None, total: int, initial: int, label: str) -> Any:
    """A tqdm bar on stderr, or None; with --progress (or a terminal) tqdm is required."""
    if choice is False or (choice is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        raise CommandError(
            f"the progress bar needs tqdm: {install_hint('cli')} (or pass --no-progress)"
        ) from None
    return tqdm(total=total, initial=initial, desc=label, unit="step", file=sys.stderr)


def require_plotting() -> None:
    """A usage error naming the extra to install when matplotlib or NumPy is missing."""
    try:
        importlib.import_module("matplotlib")
        importlib.import_module("numpy")
    except ImportError:
        raise CommandError(
            f"the plots need matplotlib and NumPy: {install_hint('plot')} (or pass --no-plots)"
        ) from None


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file (False when either is missing)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# A run folder's lock: a second run into a folder in use is refused at once.
LOCK_FILE = ".micrograd-train.lock"
OUTPUTS = (MODEL_FILE, HISTORY_FILE, LOSS_PLOT, BOUNDARY_PLOT, REPORT_FILE)


# An earlier run's file, kept aside under this name until the new run saves its first checkpoint.
ASIDE_PREFIX = ".earlier-"


@contextmanager
def run_folder(out: Path, keep_run: bool) -> Iterator[None]:
    """Create ``out``, hold its lock, and set an earlier run's outputs aside, all before
    training: a place that cannot be written fails now, not at the first checkpoint.

    The earlier outputs are renamed ``.earlier-NAME`` and removed once this run has saved its
    own checkpoint; a run that ends before that (Ctrl-C, a full disk, a closed stdout, a
    kill) leaves the earlier run as it was, put back here or by the next run into ``out``.
    ``keep_run`` (resuming the checkpoint in ``out``) keeps model.json and history.csv.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"cannot create {out}: {_one_line(e)}") from None
    lock = out / LOCK_FILE
    fd = _lock(lock)
    aside: list[str] = []
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _put_back(out)  # a run killed before its first checkpoint left the earlier one aside
        keep = (MODEL_FILE, HISTORY_FILE) if keep_run else ()
        present = [n for n in OUTPUTS if (out / n).exists() or (out / n).is_symlink()]
        if present and not keep_run and not _earlier_run(out):
            # Files by these names that no micrograd run wrote are the user's: never delete them.
            raise CommandError(
                f"{out} holds {', '.join(present)} but no micrograd checkpoint ({MODEL_FILE}): "
                "not an earlier run's folder, so nothing was removed; give another --out",
                EXIT_USAGE,
            )
        replacing = [name for name in present if name not in keep]
        for name in replacing:
            if (out / name).is_dir() and not (out / name).is_symlink():
                raise CommandError(f"cannot write into {out}: {out / name} is a folder")
        if replacing:
            print(
                f"note: replacing the earlier run's {', '.join(replacing)} in {out} (kept as "
                f"{ASIDE_PREFIX}* until this run saves its first checkpoint)"
            )
        for name in replacing:
            try:
                os.replace(out / name, out / (ASIDE_PREFIX + name))
            except OSError as e:
                raise CommandError(f"cannot write into {out}: {_one_line(e)}") from None
            aside.append(name)
        yield
    finally:
        with contextlib.suppress(OSError):
            if aside and (out / MODEL_FILE).exists():  # this run saved: the earlier one goes
                for name in aside:
                    os.remove(out / (ASIDE_PREFIX + name))
            else:
                _put_back(out)
        with contextlib.suppress(OSError):
            os.remove(lock)  # still holding it: a run waiting for this file sees it is gone
        os.close(fd)


def _put_back(out: Path) -> None:
    """Put an earlier run's outputs set aside in ``out`` back in place (over what a run that
    saved no checkpoint left by their names)."""
    for name in OUTPUTS:
        kept = out / (ASIDE_PREFIX + name)
        if kept.exists() or kept.is_symlink():
            os.replace(kept, out / name)


def _earlier_run(out: Path) -> bool:
    """Whether ``out`` holds an earlier run: its model.json is a micrograd checkpoint."""
    try:
        read_checkpoint(out / MODEL_FILE)
    except (OSError, CheckpointError):
        return False
    return True


def _lock(path: Path) -> int:
    """Open and lock the file ``path`` (created if need be); a usage error if another run has it."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise CommandError(f"cannot write into {path.parent}: {_one_line(e)}") from None
        if not _try_lock(fd):
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise CommandError(
                f"{path.parent} is in use by another micrograd train (process "
                f"{holder or 'unknown'}): wait for it to end, or give another --out",
                EXIT_USAGE,
            )
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the run that held it removed the file as we locked it: lock the new one


def _try_lock(fd: int) -> bool:
    """Lock the open file ``fd`` for this process without waiting; False if another holds it.

    The operating system lets go when the process ends, however it ends (kill -9 too).
    """
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def close_bar(bar: Any) -> None:
    """Close a progress bar (None: nothing to close)."""
    if bar is not None:
        bar.close()


def read_resumed(path: str) -> dict[str, Any]:
    """The checkpoint ``--resume`` names, read once and checked by nn (size, JSON, checksum);
    a missing or damaged file is a one-line usage error. (``micrograd gpt train`` uses it too.)"""
    try:
        return read_checkpoint(path)
    except (FileNotFoundError, CheckpointError) as e:
        raise CommandError(f"cannot resume: {_one_line(e)}", EXIT_USAGE) from None
    except OSError as e:
        raise CommandError(f"cannot resume from {path}: {_one_line(e)}", EXIT_USAGE) from None


def saved_engine(doc: dict[str, Any] | None, default: str) -> str:
    """The engine a resumed run goes on with when ``--engine`` is not given: the one its
    checkpoint was trained on (``fast`` or ``value``), so that it continues bit for bit (the
    engines agree only to rounding); ``default`` for a fresh run or a checkpoint that does not
    say. (``micrograd train`` and ``micrograd gpt train`` both.)"""
    metadata = doc.get("metadata") if doc is not None else None
    engine = metadata.get("engine") if isinstance(metadata, dict) else None
    return engine if engine in ("fast", "value") else default
