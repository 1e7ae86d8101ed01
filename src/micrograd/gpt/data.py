"""Documents to train on: one per line of a text file, the names list of the ``names`` package,
or the small sample of names shipped with micrograd (for tests and quick runs).

Nothing is downloaded: the names come from the ``names`` package (MIT licence; its lists are the
1990 US Census first names), installed by the ``gpt`` extra.
"""

from __future__ import annotations

import os
import unicodedata
from importlib import resources

from micrograd import _check as check
from micrograd._extras import install_hint

__all__ = ["MAX_DOCUMENT_BYTES", "names", "read_documents", "sample_names"]

# The largest document file read (64 MiB): a device or pipe given as FILE could be read forever.
MAX_DOCUMENT_BYTES = 1 << 26


def _documents(text: str, where: str) -> list[str]:
    """The non-blank lines of ``text``, stripped; a line with a control character is refused."""
    docs = []
    for number, line in enumerate(text.splitlines(), 1):
        doc = line.strip()
        for ch in doc:
            if unicodedata.category(ch) in ("Cc", "Cs"):  # control or lone surrogate
                raise ValueError(
                    f"{where}, line {number}: holds the control character U+{ord(ch):04X}; a "
                    "document is one line of text"
                )
        if doc:
            docs.append(doc)
    if not docs:
        raise ValueError(f"{where} holds no documents (no line with text)")
    return docs


def read_documents(path: str | os.PathLike[str]) -> list[str]:
    """The documents of a UTF-8 text file: each non-blank line, stripped of surrounding space.

    Raises FileNotFoundError for a missing file, and ValueError for a file that is not UTF-8
    text (naming the line), holds a control character, has no text, or is larger than
    ``MAX_DOCUMENT_BYTES``.
    """
    where = check.file_path("path", path)
    with open(where, "rb") as f:
        raw = f.read(MAX_DOCUMENT_BYTES + 1)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{where} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{where}, line {line}: not UTF-8 text ({e.reason})") from None
    return _documents(text, where)


def names() -> list[str]:
    """About 5,000 distinct first names, lower case, from the ``names`` package (MIT licence),
    in the order of its lists (male, then female, each most common first).

    Raises ImportError naming the extra to install when the package is missing.
    """
    try:
        folder = resources.files("names")
    except ModuleNotFoundError:
        raise ImportError(
            f"the names list needs the names package: {install_hint('gpt')}, or give a text file"
        ) from None
    seen: dict[str, None] = {}
    for listing in ("dist.male.first", "dist.female.first"):
        for line in (folder / listing).read_text(encoding="ascii").splitlines():
            if line.strip():
                seen.setdefault(line.split()[0].lower(), None)
    return list(seen)


def sample_names() -> list[str]:
    """144 common first names shipped with micrograd: a quick run, and the tests' data.

    >>> len(sample_names()), sample_names()[0]
    (144, 'emma')
    """
    text = resources.files("micrograd.gpt").joinpath("names_sample.txt").read_text("utf-8")
    return _documents(text, "names_sample.txt")
