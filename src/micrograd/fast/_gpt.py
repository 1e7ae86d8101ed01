"""The GPT's training step on the compiled path: ``micrograd gpt train --engine fast``.

``GPT.forward`` indexes its tables with plain ints, so a program of it would be traced again for
every document. This step traces the same loss built from the GPT's own blocks, with the token
embedding and the target's logit picked by ``lookup`` (tokens and targets are index inputs:
gathers), checks on the first document that it gives the GPT's own loss and gradients, and takes
Adam's step on arrays by ``optim.adam_update``. The weights, gradients and Adam's state are
written back into the Values and the optimizer after each step, so a checkpoint saves what the
Value engine would hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from micrograd import _check as check
from micrograd._lookup import lookup
from micrograd.engine import Value
from micrograd.fast._program import Program, trace
from micrograd.losses import _log_softmax_terms, _reduce
from micrograd.optim import Adam, adam_update

# The checked gradients may differ from the GPT's by the rounding of another summation order.
_RTOL = 1e-9


def _lookup_loss(model: Any, tokens: list[Any], targets: list[Any]) -> Value:
    """``document_loss``'s graph with rows picked by ``lookup``: ``GPT._embed``'s sum of the
    token and position rows, the GPT's blocks and head, ``cross_entropy``'s mean of
    ``lse - z[target]``."""
    from micrograd.gpt.model import rmsnorm

    xs = [
        rmsnorm([t + p for t, p in zip(lookup(model.wte.weight, token), model.wpe.weight[pos])])
        for pos, token in enumerate(tokens)
    ]
    for layer in model.layers:
        xs = layer.forward(xs)
    terms = []
    for x, target in zip(xs, targets):
        lse, z = _log_softmax_terms(model.lm_head(x))
        terms.append(lse - lookup(z, target))
    return _reduce(terms, "mean")


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= _RTOL * max(abs(a), abs(b), 1e-300)


def gpt_step(model: Any, optimizer: Adam) -> Callable[[list[int], float], float]:
    """``step(tokens, lr) -> loss``: one document (``[bos, …, bos]``), one Adam step at ``lr``.

    The GPT's ``document_loss`` and ``Adam.step()``, to rounding; raises RuntimeError if the
    traced loss is not the GPT's on the first document (a GPT this step does not know).
    """
    from micrograd.gpt.model import GPT
    from micrograd.gpt.train import document_loss

    if type(model) is not GPT or any(lin.bias is not None for lin in _linears(model)):
        check.wrong_type("model", model, "a GPT (no biases)")
    own = model.parameters()
    if not isinstance(optimizer, Adam) or not (
        len(optimizer.params) == len(own) and all(a is b for a, b in zip(optimizer.params, own))
    ):
        check.wrong_type("optimizer", optimizer, "an Adam over model.parameters()")
    params = own
    programs: list[Program] = []

    def step(tokens: list[int], lr: float) -> float:
        n = min(model.block_size, len(tokens) - 1)
        inputs = (list(tokens[:n]), list(tokens[1 : n + 1]))
        if not programs:
            fn = lambda t, y: _lookup_loss(model, t, y)  # noqa: E731
            programs.append(trace(fn, params, *inputs, indices=[0, 1]))
            _verify(programs[0], model, list(tokens[: n + 1]), document_loss)
        program = programs[0]
        theta = program.theta()
        loss, grad = program.loss_and_grad(theta, *inputs)
        optimizer.lr = lr
        buffers = [optimizer.exp_avg, optimizer.exp_avg_sq, optimizer.max_exp_avg_sq]
        if any(x is None for b in buffers for x in b):  # no array form: Adam on the Values
            for p, g in zip(params, grad.tolist(), strict=True):
                p.grad = g
            optimizer.step()
            return loss
        m, v, vmax = (np.array(b, dtype=np.float64) for b in buffers)
        optimizer.step_count += 1
        theta, m, v, vmax = adam_update(
            theta,
            grad,
            m,
            v,
            vmax,
            optimizer.step_count,
            lr=lr,
            betas=optimizer.betas,
            eps=optimizer.eps,
            weight_decay=optimizer.weight_decay,
            decoupled=optimizer.decoupled,
            amsgrad=optimizer.amsgrad,
            sqrt=np.sqrt,
            maximum=np.maximum,
        )
        optimizer.exp_avg[:], optimizer.exp_avg_sq[:] = m.tolist(), v.tolist()
        if optimizer.amsgrad:
            optimizer.max_exp_avg_sq[:] = vmax.tolist()
        for p, value, g in zip(params, theta.tolist(), grad.tolist(), strict=True):
            p.data, p.grad = value, g
        return loss

    return step


def _linears(model: Any) -> list[Any]:
    blocks = [
        (b.attn.wq, b.attn.wk, b.attn.wv, b.attn.wo, b.mlp.fc1, b.mlp.fc2) for b in model.layers
    ]
    return [model.lm_head, *(lin for block in blocks for lin in block)]


def _verify(program: Program, model: Any, ids: list[int], document_loss: Any) -> None:
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
    loss, grad = program.loss_and_grad(program.theta(), ids[:-1], ids[1:])
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
