"""A character-level tokenizer with a BOS token, built from the training documents.

Each distinct character gets an id, in sorted order; one more id, ``bos``, marks where a document
begins and ends (microgpt's scheme). Its ``to_dict()`` goes into a checkpoint beside the weights.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from micrograd import _check as check

__all__ = ["MAX_CHARS", "CharTokenizer"]

# The most distinct characters a vocabulary may hold: each adds 2 * n_embd weights, and a text
# of thousands of symbols (binary read as text, say) is no set of names.
MAX_CHARS = 1000


class CharTokenizer:
    """Characters to ids and back; id ``len(chars)`` is ``bos``, the start/end token.

    >>> tok = CharTokenizer.from_documents(["emma", "ava"])
    >>> tok.chars, tok.bos, tok.vocab_size
    ('aemv', 4, 5)
    >>> tok.encode("ava"), tok.decode([0, 3, 0])
    ([0, 3, 0], 'ava')
    """

    def __init__(self, chars: str) -> None:
        chars = check.text("chars", chars)
        accepts = f"a string of 1 to {MAX_CHARS} distinct characters in sorted order"
        if not 1 <= len(chars) <= MAX_CHARS or list(chars) != sorted(set(chars)):
            check.wrong_value("chars", chars[:60], accepts)
        self.chars = chars
        self._ids = {ch: i for i, ch in enumerate(chars)}

    @classmethod
    def from_documents(cls, documents: Iterable[str]) -> CharTokenizer:
        """The tokenizer of every character that occurs in ``documents`` (a list of strings)."""
        docs = check.sequence("documents", documents, "a list of strings")
        try:
            seen = set("".join(docs))  # one pass in C over thousands of documents
        except TypeError:  # an item that is no string: name it
            for i, doc in enumerate(docs):
                check.text(f"documents[{i}]", doc)
            raise
        if not seen:
            check.wrong_value("documents", documents, "a list of strings holding some characters")
        return cls("".join(sorted(seen)))

    @property
    def bos(self) -> int:
        """The id that begins and ends every document."""
        return len(self.chars)

    @property
    def vocab_size(self) -> int:
        """The number of ids: the characters and ``bos``."""
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        """The ids of the characters of ``text``; a character not in the vocabulary is a
        ValueError naming it."""
        text = check.text("text", text)
        try:
            return [self._ids[ch] for ch in text]
        except KeyError as e:
            raise ValueError(not_in_vocabulary("text", text, e.args[0], self.chars)) from None

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ``ids``; ``bos`` ids are left out."""
        items = check.sequence("ids", ids, "a list of token ids")
        out = []
        for i, t in enumerate(items):
            t = check.integer(f"ids[{i}]", t, 0, what="a token id")
            if t > self.bos:
                check.wrong_value(f"ids[{i}]", t, f"a token id up to {self.bos}")
            if t != self.bos:
                out.append(self.chars[t])
        return "".join(out)

    def document(self, text: str) -> list[int]:
        """``[bos, *encode(text), bos]``: a document as the model trains on it."""
        return [self.bos, *self.encode(text), self.bos]

    def to_dict(self) -> dict[str, Any]:
        """``{'chars': …}``: JSON data for a checkpoint."""
        return {"chars": self.chars}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharTokenizer:
        """The tokenizer ``to_dict()`` describes."""
        if not isinstance(data, dict):
            check.wrong_type("data", data, "a dict such as CharTokenizer.to_dict() gives")
        if "chars" not in data:
            check.wrong_value("data", data, "a dict with the key 'chars'")
        return cls(data["chars"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"CharTokenizer({self.chars!r})"


def not_in_vocabulary(name: str, text: str, ch: str, chars: str) -> str:
    """The message for ``text`` (the argument ``name``) holding ``ch``, which is not in the
    vocabulary ``chars``: the character by its code point and Unicode name too, since a
    combining accent or a look-alike prints as a letter the vocabulary may hold (NFD's ``e`` +
    U+0301 looks like ``é``)."""
    code = f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"
    return f"{name} {text!r} holds {ch!r} ({code}), which is not in the vocabulary {chars!r}"
