"""Which zeros of a compiled program need their sign: a pass back over its kernels.

IEEE zeros carry a sign, and the engine computes it as a chain of additions does: a sum is -0.0
only when every term is. XLA's matrix products start from +0.0, so the JAX backend pays to sign
their zeros (``_jax_steps._Zeros``). Mostly nobody reads the sign: ``1 + (-0.0)`` is 1 and a
ReLU's backward asks only ``out <= 0``. A sign matters where it reaches the loss, or where a
rule turns it into another number (``1 / -0.0`` is -inf; a ``log``'s backward divides by ``x``).

Whether an op passes a zero's sign on, or turns it into another number, is found by running
its rule from ``engine.RULES`` on floats at +0.0 and -0.0 (no table of ops here): against each
constant the program holds, and against sample numbers where the other operand is a Value. A
gradient's own zero sign never matters: every gradient starts from +0.0 and adds (the engine's
``.grad += ...``), and a parameter's is never -0.0 (``_jax._loss_and_grad``).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt

from micrograd.engine import _INLINED, RULES, Rule, _FloatMath
from micrograd.fast._kernels import _Elementwise, _Fold, _MatMul, _Reader, _Sum
from micrograd.fast._rules import Index
from micrograd.fast._schedule import _Compiled

Mask = npt.NDArray[np.bool_]

# The other operand when it is a Value: zeros, signs, integers odd and even, halves (roots),
# the smallest and largest numbers, infinities and nan: where the built-in rules' cases turn.
_SAMPLES = (0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 5e-324, -5e-324, 1e308,
            -1e308, math.inf, -math.inf, math.nan)  # fmt: skip


def _same(a: float, b: float) -> bool:
    """The same float to the bit (nan is nan)."""
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)


def _both_zero(a: float, b: float) -> bool:
    return a == 0.0 and b == 0.0


def _built_in(op: str) -> bool:
    """Whether ``op``'s rule is one of the engine's own (a user's may divide by ``g``)."""
    return RULES.get(op) in _INLINED


def _effect(op: str, position: int, other: float) -> tuple[bool, bool]:
    """``(passes, changes)`` for a zero at operand ``position`` (0: x, 1: y) of ``op`` with
    ``other`` as the other operand: whether the output's zero sign follows the zero's sign, and
    whether the zero's sign changes any other bit of the output or of an operand's gradient."""
    if not _built_in(op):
        return True, True
    # The sign is part of the key: 0.0 and -0.0 are equal keys of a dict.
    return _rule_effect(RULES[op], position, other, math.copysign(1.0, other))


@cache
def _rule_effect(rule: Rule, position: int, other: float, _sign: float) -> tuple[bool, bool]:
    outs, grads = [], []
    for zero in (0.0, -0.0):
        x, y = (zero, other) if position == 0 else (other, zero)
        try:
            out = rule.forward(x, y)
            grads.append(rule.backward(x, y, out, 1.0, _FloatMath))
        except (ArithmeticError, ValueError):
            return True, True
        outs.append(out)
    if _same(*outs):
        passes, changes = False, False
    else:
        passes, changes = _both_zero(*outs), not _both_zero(*outs)
    for plus, minus in zip(*grads, strict=True):
        if not (_same(plus, minus) or _both_zero(plus, minus)):
            changes = True
    return passes, changes


def _effects(op: str, position: int, others: npt.NDArray[np.float64], known: Mask) -> Mask:
    """``(rows, 2)``: ``_effect`` of each row's zero at ``position`` against its other operand,
    ``others[row]`` where ``known[row]``, else any of ``_SAMPLES`` (a Value's number)."""
    found = np.empty((len(others), 2), dtype=bool)
    # Unique by their bits: np.unique takes 0.0 and -0.0 for one number (x - 0.0 passes a
    # zero's sign on, x - -0.0 does not), and nans for many.
    bits, inverse = np.unique(others[known].view(np.int64), return_inverse=True)
    rows = [_effect(op, position, float(k)) for k in bits.view(np.float64)]
    found[known] = np.array(rows, dtype=bool).reshape(-1, 2)[inverse.ravel()]
    found[~known] = np.any([_effect(op, position, k) for k in _SAMPLES], axis=0)
    return found


class _Fixed:
    """The numbers of a program known when it is compiled: its constants and padding."""

    def __init__(self, compiled: _Compiled) -> None:
        self.v = compiled.v
        self.fixed = np.zeros(compiled.v.size, dtype=bool)
        self.fixed[compiled.fixed] = True

    def of(self, idx: Index) -> tuple[npt.NDArray[np.float64], Mask]:
        """The numbers at ``idx`` (flat) and where they are known."""
        flat = idx.ravel()
        return self.v[flat], self.fixed[flat]

    def anchored_rows(self, idx: Index) -> Mask:
        """Rows of ``idx`` with a known number other than -0.0 (a sum's ``0 +`` start too)."""
        v = self.v[idx]
        known: Mask = (self.fixed[idx] & ((v != 0.0) | ~np.signbit(v))).any(axis=1)
        return known


def _operand_masks(
    kernel: _Elementwise, out_needed: Mask, fixed: _Fixed
) -> list[tuple[Index, Mask]]:
    """Each operand of ``kernel`` (its slots, flat) and where the sign of a zero there matters."""
    pairs: list[tuple[Index, tuple[npt.NDArray[np.float64], Mask]]]
    if kernel.read_y is None:  # y is the op's constant: each row's own, or one for all
        constants = np.broadcast_to(np.asarray(kernel.y_const, dtype=np.float64), out_needed.shape)
        every: Mask = np.ones(out_needed.size, dtype=bool)
        pairs = [(kernel.read_x.idx, (constants.ravel(), every))]
    else:
        pairs = [(kernel.read_x.idx, fixed.of(kernel.read_y.idx)),
                 (kernel.read_y.idx, fixed.of(kernel.read_x.idx))]  # fmt: skip
    masks: list[tuple[Index, Mask]] = []
    for position, (idx, (others, known)) in enumerate(pairs):
        effects = _effects(kernel.op, position, others, known)
        masks.append((idx.ravel(), effects[:, 1] | (effects[:, 0] & out_needed.ravel())))
    return masks


def _readers(kernel: object) -> list[_Reader]:
    return [r for r in vars(kernel).values() if isinstance(r, _Reader)]


def zero_signs_needed(compiled: _Compiled) -> Mask:
    """For each slot of ``compiled.v``: whether the sign of a zero there can change the loss
    or a gradient (by one of the ways above), and the op that makes it could give the wrong
    one (a sum with a known term other than -0.0 never gives -0.0). Kernels are walked from
    the last: a kernel's output is decided before the kernels that make its operands."""
    v = compiled.v
    if any(
        type(k) not in (_Elementwise, _Sum, _MatMul, _Fold)
        or (type(k) is _Elementwise and not _built_in(k.op))
        for k in compiled.kernels
    ):  # the argument above is for these kernels and the built-in rules: every sign counts
        return np.ones(v.size, dtype=bool)
    fixed = _Fixed(compiled)
    needed = np.zeros(v.size, dtype=bool)
    needed[compiled.root] = True
    for kernel, out in zip(reversed(compiled.kernels), reversed(compiled.outputs), strict=True):
        out_needed = needed[out]  # (a view: the slots of the kernel's output)
        if type(kernel) is _Elementwise:
            for idx, where in _operand_masks(kernel, out_needed, fixed):
                needed[idx[where]] = True
        elif type(kernel) is _Sum:
            # A sum passes its terms' signs on (a product's: both factors'), unless a term is
            # a known number other than -0.0 (1.0, or the 0.0 Python's sum() starts from): then
            # the sum is never -0.0 (it is only when every term is), and adding a zero of
            # either sign changes no bit of it. Its backward only multiplies by g.
            rows = out_needed.copy()
            if kernel.read_p is not None:
                rows &= ~fixed.anchored_rows(kernel.read_p.idx)
            for reader in _readers(kernel):
                needed[reader.idx[rows]] = True
            out_needed &= rows  # a row never -0.0 needs no signing either
        elif out_needed.any():  # a product as a sum; a fold (maximum passes signs on)
            for reader in _readers(kernel):
                needed[reader.idx] = True
    return needed
