"""Neural nets from Values: micrograd's ``Module``, ``Neuron``, ``Layer`` and ``MLP``.

Weights are drawn as micrograd draws them, so a seeded net is micrograd's net, float for float.
Models (and an optimizer's state) save to and load from JSON, never pickle.

The parts, one module each: ``_module`` (``Module``: parameters, state dicts, save and load),
``_layers`` (``Neuron``, ``Layer``, ``MLP``), ``_checkpoint`` (the file: canonical JSON, its
checksum, ``read_checkpoint``), ``_atomic`` (all-or-nothing writes). The limits below live here,
where they are set: the parts read them from this module when they are used.
"""

from __future__ import annotations

# Written `x as x`: the private names are used by other modules of micrograd and its tests.
from micrograd.nn._atomic import _atomic_write as _atomic_write
from micrograd.nn._checkpoint import CheckpointError, read_checkpoint
from micrograd.nn._checkpoint import _canonical as _canonical
from micrograd.nn._checkpoint import _checksum as _checksum
from micrograd.nn._layers import ACTIVATIONS, MLP, Layer, Neuron
from micrograd.nn._module import Module
from micrograd.nn._module import check_parameter_count as check_parameter_count

__all__ = [
    "ACTIVATIONS",
    "MAX_CHECKPOINT_BYTES",
    "MAX_PARAMETERS",
    "MLP",
    "CheckpointError",
    "Layer",
    "Module",
    "Neuron",
    "read_checkpoint",
]

# The largest checkpoint file read (1 GiB, some 7 million parameters with Adam's state): a
# device or pipe given as a checkpoint could otherwise be read forever.
MAX_CHECKPOINT_BYTES = 1 << 30
# The most parameters a model may have: one Value each (~200 bytes with its list slot), so 10
# million is ~2 GB and minutes of construction. A larger shape (a typo, a hand-edited
# checkpoint's config) is a ValueError at once, not an endless build or a MemoryError.
MAX_PARAMETERS = 10_000_000
