"""The base class ``Module``: parameters, state dicts, and saving to and loading from files."""

from __future__ import annotations

import os
from typing import Any, Protocol

from micrograd import _check as check
from micrograd.engine import Value
from micrograd.nn._atomic import _atomic_write
from micrograd.nn._checkpoint import (
    _FORMAT,
    _VERSION,
    CheckpointError,
    _canonical,
    _check_metadata,
    _check_state,
    _checksum,
    read_checkpoint,
)


def check_parameter_count(model: str, count: int) -> None:
    """ValueError if a model of ``count`` parameters (``model`` names its shape) is too big."""
    from micrograd import nn  # the limit as set there now (nn.MAX_PARAMETERS)

    if count > nn.MAX_PARAMETERS:
        raise ValueError(
            f"{model} would have {count:,} parameters, more than nn.MAX_PARAMETERS "
            f"({nn.MAX_PARAMETERS:,}), one Value each"
        )


class _Stateful(Protocol):
    """Anything with PyTorch-style ``state_dict()`` / ``load_state_dict()`` (an optimizer)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Module:
    """Base class: a bag of parameters that can be zeroed, listed, saved and loaded."""

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (before the next ``backward()``)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable Values, in a fixed order."""
        return []

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``(name, parameter)`` pairs, in the order of ``parameters()``."""
        return [(str(i), p) for i, p in enumerate(self.parameters())]

    def state_dict(self) -> dict[str, float]:
        """Every parameter's number by name, as in PyTorch (a plain, JSON-ready dict).

        >>> from micrograd.nn import Neuron
        >>> Neuron(2).state_dict().keys()
        dict_keys(['w.0', 'w.1', 'b'])
        """
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy numbers from ``state`` into the parameters; on any mismatch change nothing.

        ``state`` maps every name of ``named_parameters()`` to a real number; a state that is no
        dict raises TypeError, one with other names or a non-number raises ``CheckpointError``.
        """
        if not isinstance(state, dict):
            raise TypeError(
                f"state must be a dict of parameter name -> number, not {type(state).__name__}"
            )
        named = self.named_parameters()
        values = _check_state(state, [name for name, _ in named])
        for (_, p), v in zip(named, values, strict=True):
            p.data = v

    def save(
        self,
        path: str | os.PathLike[str],
        optimizer: _Stateful | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Write the parameters (and an optimizer's state, and JSON ``metadata``) to ``path``.

        The file is JSON; floats round-trip exactly (NaN and infinities use the common
        ``NaN``/``Infinity`` extension), and a SHA-256 checksum of the contents lets ``load``
        refuse a damaged file. The write is atomic: a temporary file beside the target is renamed
        over it, so a crash never leaves half a checkpoint. A symlink at ``path`` stays a link
        (its target is replaced). A failed write raises OSError naming ``path``, whose old file
        is then unchanged. ``metadata`` is JSON data: dicts with string keys, lists, strings,
        numbers, booleans and None (anything else raises TypeError).
        """
        where = check.file_path("path", path)
        _atomic_write(where, self._checkpoint_text(optimizer, metadata))

    def _checkpoint_text(
        self, optimizer: _Stateful | None = None, metadata: dict[str, Any] | None = None
    ) -> str:
        """The text ``save`` writes (a command that writes it later takes it now)."""
        _check_optimizer(optimizer, "state_dict")
        if metadata is not None:
            _check_metadata(metadata)
        payload: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "model": repr(self),
            "config": self.config(),
            "state": self.state_dict(),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
            "metadata": {} if metadata is None else metadata,
        }
        canonical = _canonical(payload)
        # The file is that canonical text with the checksum added as one more key.
        return f'{canonical[:-1]},"checksum":"{_checksum(canonical)}"}}'

    def load(
        self, path: str | os.PathLike[str], optimizer: _Stateful | None = None
    ) -> dict[str, Any]:
        """Read a checkpoint written by ``save`` into this model (and ``optimizer``).

        Returns the saved ``metadata``. A missing file raises ``FileNotFoundError``; a truncated,
        damaged (checksum), malformed or mismatched one raises ``CheckpointError``. Either way
        neither the model nor the optimizer is changed.
        """
        where = check.file_path("path", path)
        _check_optimizer(optimizer, "load_state_dict")
        return self._load_document(read_checkpoint(where), optimizer, where)

    def load_checkpoint(
        self, checkpoint: dict[str, Any], optimizer: _Stateful | None = None
    ) -> dict[str, Any]:
        """``load`` from a checkpoint already read by ``read_checkpoint`` (read once, used twice).

        Returns the saved ``metadata``; a checkpoint that does not fit raises ``CheckpointError``
        and changes neither the model nor the optimizer.
        """
        if not isinstance(checkpoint, dict):
            raise TypeError(
                f"checkpoint must be a dict from read_checkpoint(), not {type(checkpoint).__name__}"
            )
        _check_optimizer(optimizer, "load_state_dict")
        return self._load_document(checkpoint, optimizer, "the checkpoint")

    def _load_document(
        self, doc: dict[str, Any], optimizer: _Stateful | None, where: str
    ) -> dict[str, Any]:
        """Check everything first, then apply: a checkpoint that does not fit changes nothing."""
        named = self.named_parameters()
        try:
            values = _check_state(doc.get("state"), [name for name, _ in named])
        except CheckpointError as e:
            raise CheckpointError(
                f"{where} holds {doc.get('model', 'another model')}, "
                f"which does not fit {self!r}: {e}"
            ) from None
        if optimizer is not None:
            saved_opt = doc.get("optimizer")
            if saved_opt is None:
                raise CheckpointError(f"{where} holds no optimizer state")
            # An optimizer's load_state_dict checks the whole state before it changes anything.
            try:
                optimizer.load_state_dict(saved_opt)
            except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError) as e:
                raise CheckpointError(f"{where}: optimizer state: {e}") from None
        # Nothing below can fail: the numbers are checked floats.
        for (_, p), v in zip(named, values, strict=True):
            p.data = v
        metadata = doc.get("metadata", {})
        return metadata if isinstance(metadata, dict) else {}

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's shape (for checkpoints)."""
        return {}


def _check_optimizer(optimizer: object, method: str) -> None:
    """Refuse an ``optimizer`` argument that is neither None nor has ``method`` (TypeError)."""
    if optimizer is not None and not callable(getattr(optimizer, method, None)):
        accepts = f"an optimizer (with {method}()) or None"
        check.wrong_type("optimizer", optimizer, accepts)
