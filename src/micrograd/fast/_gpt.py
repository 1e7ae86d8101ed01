"""The GPT's training step on the compiled path: ``micrograd gpt train --engine fast``.

One program of the GPT's own loss, traced once: ``GPT.forward`` and ``cross_entropy`` pick the
token embedding and the target's logit with ``lookup``, so token ids and targets are index inputs
(gathers: a new id replays the program). Every document is padded to the full block (or to the
longest document, ``pad_to``), its ``n`` positions weighted ``1/n`` and the padding 0
(``gpt.train._padded_loss``): causal attention leaves the real positions as they are, so one
program serves every length. Adam steps on
arrays; the weights, gradients and Adam's state go back into the Values and the optimizer only
when something reads them (``step.sync()``: a checkpoint, the end of a run).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from micrograd import _check as check
from micrograd.engine import gc_paused
from micrograd.fast._program import Program, trace
from micrograd.fast._rules import Array
from micrograd.optim import Adam
from micrograd.optim.rules import adam_rule, adam_settings

# Adam's betas, eps, weight_decay, decoupled and amsgrad, in adam_rule's order
# (betas, eps, weight_decay), decoupled, amsgrad
_AdamSettings = tuple[tuple[tuple[float, float], float, float], bool, bool]

# The checked gradients may differ from the GPT's by the rounding of another summation order.
_RTOL = 1e-9


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= _RTOL * max(abs(a), abs(b), 1e-300)


class GPTStep:
    """``step(tokens, lr) -> loss``: one document (``[bos, …, bos]``), one Adam step at ``lr``.

    The GPT's ``document_loss`` and ``Adam.step()``, to rounding. Between calls the weights and
    Adam's state live in arrays: ``sync()`` writes them into the model's Values (``.data`` and
    ``.grad``, this step's gradient) and the optimizer, as the Value engine's step leaves them.
    A program is checked, when traced, against ``document_loss`` on its document (RuntimeError,
    before any weight moves, for a GPT this step does not know).
    """

    def __init__(self, model: Any, optimizer: Adam) -> None:
        from micrograd.gpt.model import GPT

        if type(model) is not GPT or any(lin.bias is not None for lin in _linears(model)):
            check.wrong_type("model", model, "a GPT (no biases)")
        own = model.parameters()
        if not isinstance(optimizer, Adam) or not (
            len(optimizer.params) == len(own) and all(a is b for a, b in zip(optimizer.params, own))
        ):
            check.wrong_type("optimizer", optimizer, "an Adam over model.parameters()")
        self.model, self.optimizer, self.params = model, optimizer, own
        # padded length -> its program: the block's, or a shorter one that pad_to asked for
        self.programs: dict[int, Program] = {}
        self.length = model.block_size
        # The state between syncs: weights, gradient, Adam's moments and step count.
        self._theta: Array | None = None
        self._grad: Array | None = None
        self._m: Array | None = None
        self._v: Array | None = None
        self._vmax: Array | None = None
        self._count = 0
        self._dirty = False
        # Adam's settings but lr, checked once, and what they were checked from (the optimizer's)
        self._settings: _AdamSettings = (((0.0, 0.0), 0.0, 0.0), False, False)
        self._checked: tuple[Any, ...] = ()

    def pad_to(self, longest: int) -> None:
        """Pad documents of at most ``longest`` predictions to that length, not to the block.

        A hint from a caller that knows its documents (``gpt train`` passes its longest): the
        program is smaller and traced faster. A longer document is still right: it gets a
        program of its own at the full block (a second trace).
        """
        longest = check.integer("longest", longest, 1)
        self.length = min(self.model.block_size, longest)

    def _padded(self, tokens: list[int]) -> tuple[list[int], list[int], Array]:
        """Inputs, targets and weights of a document, padded (see ``_padded_loss``)."""
        block = self.model.block_size
        n = min(block, len(tokens) - 1)
        if n < 1:
            check.wrong_value("tokens", tokens, "a document of at least 2 token ids")
        length = self.length if n <= self.length else block
        pad = [tokens[n]] * (length - n)
        weights = np.zeros(length)
        weights[:n] = 1.0 / n
        return list(tokens[:n]) + pad, list(tokens[1 : n + 1]) + pad, weights

    def _trace(self, tokens: list[int], inputs: Any) -> Program:
        """Trace the padded loss at this length and check it on this document."""
        from micrograd.gpt.train import _padded_loss, document_loss

        model = self.model
        # Both build big graphs without cycles, freed by reference counting: the collector
        # would rescan them (measured: a third of the check, and a whole-heap pass after the
        # trace while its graph was still alive). It runs again once both graphs are gone.
        with gc_paused():
            program = trace(
                lambda x, y, w: _padded_loss(model, x, y, w), self.params, *inputs, indices=[0, 1]
            )
            program.retrace = False  # no id nor length needs another trace: one would be a bug
            # The Values hold the weights of the last sync: the check reads the same ones.
            _verify(program, model, inputs, list(tokens[: model.block_size + 1]), document_loss)
        self.programs[len(inputs[0])] = program
        return program

    def _load(self) -> None:
        """Adam's state and the weights as arrays, from the optimizer and the Values."""
        buffers = (self.optimizer.exp_avg, self.optimizer.exp_avg_sq)
        if any(x is None for b in buffers for x in b):
            raise RuntimeError("Adam's state holds no number (None): train with --engine value")
        self._theta = np.fromiter((p.data for p in self.params), np.float64, len(self.params))
        self._m, self._v = (np.array(b, dtype=np.float64) for b in buffers)
        vmax = self.optimizer.max_exp_avg_sq
        self._vmax = np.array([0.0 if x is None else x for x in vmax], dtype=np.float64)
        self._count = self.optimizer.step_count

    def __call__(self, tokens: list[int], lr: float) -> float:
        inputs = self._padded(tokens)
        program = self.programs.get(len(inputs[0])) or self._trace(tokens, inputs)
        if self._theta is None:
            self._load()
        loss, grad = program.loss_and_grad(self._theta, *inputs)
        opt = self.optimizer
        opt.lr = lr = check.real("lr", lr, 0.0)
        self._count += 1
        settings, decoupled, amsgrad = self._adam()
        self._theta, self._m, self._v, self._vmax = adam_rule(
            self._theta, grad, self._m, self._v, self._vmax, self._count, lr, *settings,
            decoupled=decoupled, amsgrad=amsgrad, sqrt=np.sqrt, maximum=np.maximum,
        )  # fmt: skip
        self._grad, self._dirty = grad, True
        return loss

    def _adam(self) -> _AdamSettings:
        """The optimizer's betas, eps, weight_decay, decoupled, amsgrad, checked as ``Adam``
        checks them: once, and again only when one of them changes."""
        opt = self.optimizer
        now = (opt.betas, opt.eps, opt.weight_decay, opt.amsgrad, opt.decoupled)
        if now != self._checked:
            _, betas, eps, weight_decay, amsgrad = adam_settings(0.0, *now[:4])
            decoupled = check.boolean("decoupled", opt.decoupled)
            self._settings = ((betas, eps, weight_decay), decoupled, amsgrad)
            self._checked = now
        return self._settings

    def sync(self) -> None:
        """Write the weights, this step's gradients and Adam's state into the model and the
        optimizer: what the Value engine's step leaves there. Nothing to do before a step."""
        if not self._dirty:
            return
        assert self._theta is not None and self._grad is not None
        assert self._m is not None and self._v is not None and self._vmax is not None
        for p, value, g in zip(self.params, self._theta.tolist(), self._grad.tolist()):
            p.data, p.grad = value, g
        opt = self.optimizer
        opt.exp_avg[:], opt.exp_avg_sq[:] = self._m.tolist(), self._v.tolist()
        if opt.amsgrad:
            opt.max_exp_avg_sq[:] = self._vmax.tolist()
        opt.step_count = self._count
        self._dirty = False


def gpt_step(model: Any, optimizer: Adam) -> GPTStep:
    """The compiled training step of ``model`` with ``optimizer`` (see ``GPTStep``)."""
    return GPTStep(model, optimizer)


def _linears(model: Any) -> list[Any]:
    blocks = [
        (b.attn.wq, b.attn.wk, b.attn.wv, b.attn.wo, b.mlp.fc1, b.mlp.fc2) for b in model.layers
    ]
    return [model.lm_head, *(lin for block in blocks for lin in block)]


def _verify(program: Program, model: Any, inputs: Any, ids: list[int], document_loss: Any) -> None:
    """Refuse a program whose loss or gradients on ``ids`` are not the GPT's own."""
    params = model.parameters()
    saved = [p.grad for p in params]
    try:
        for p in params:
            p.grad = 0.0
        expected = document_loss(model, ids)
        expected.backward()
        want = [p.grad for p in params]
    finally:
        for p, g in zip(params, saved, strict=True):
            p.grad = g
    loss, grad = program.loss_and_grad(program.theta(), *inputs)
    scale = max(map(abs, want), default=0.0)
    same = _close(loss, expected.data) and all(
        _close(a, b) or abs(a - b) <= _RTOL * scale for a, b in zip(grad.tolist(), want)
    )
    if not same:
        raise RuntimeError(
            "the compiled GPT step does not give the GPT's own loss and gradients on the first "
            "document: train this model with --engine value"
        )


def register() -> None:
    """Make ``gpt_step`` the GPT's ``fast`` engine (``micrograd gpt train --engine fast``)."""
    from micrograd.gpt.train import STEPPERS

    STEPPERS.setdefault("fast", gpt_step)
