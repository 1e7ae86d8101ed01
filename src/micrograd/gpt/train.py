"""Training microgpt's way: one document per step, mean cross-entropy over its positions, Adam
with betas (0.85, 0.99) and a learning rate decaying linearly to 0.

``STEPPERS`` maps an engine name to what makes its training step; the Value engine's is here, and
a compiled engine registers its own (``micrograd gpt train --engine NAME`` looks it up).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from micrograd import _check as check
from micrograd.engine import Value, gc_paused
from micrograd.gpt.model import GPT
from micrograd.losses import cross_entropy
from micrograd.optim import Adam, LinearDecay

__all__ = [
    "BETAS",
    "LEARNING_RATE",
    "STEPPERS",
    "Step",
    "document_loss",
    "make_optimizer",
    "schedule",
    "shuffled",
    "value_step",
]

LEARNING_RATE = 0.01
BETAS = (0.85, 0.99)
EPS = 1e-8

# One training step: (token ids of a document with its BOS ends, learning rate) -> the loss.
Step = Callable[[list[int], float], float]


def document_loss(model: GPT, tokens: Sequence[int]) -> Value:
    """The mean cross-entropy of predicting each next token of ``tokens`` (``[bos, …, bos]``).

    A document longer than the model's block is cut to its first ``block_size`` predictions,
    as in microgpt.

    >>> import random; random.seed(0)
    >>> round(document_loss(GPT(vocab_size=3), [2, 0, 1, 2]).data, 2)  # untrained: near ln 3
    1.25
    """
    if not isinstance(model, GPT):
        check.wrong_type("model", model, "a GPT")
    ids = check.sequence("tokens", tokens, "a list of at least 2 token ids")
    if len(ids) < 2:
        check.wrong_value("tokens", tokens, "a list of at least 2 token ids")
    n = min(model.block_size, len(ids) - 1)
    return cross_entropy(model(ids[:n]), ids[1 : n + 1])


def _padded_loss(model: GPT, inputs: list[Any], targets: list[Any], weights: list[Any]) -> Value:
    """``Σ_t weights[t] · cross_entropy(logits[t], targets[t])`` over the logits of ``inputs``.

    A document's ``n`` positions weighted ``1/n`` and any tokens after them weighted 0 give its
    ``document_loss``, to the rounding of the mean's order of additions, and the same gradients:
    position ``t``'s logits depend on tokens ``0 … t`` alone, and a 0 weight sends no gradient.
    So one traced program at the full block (tokens and targets index inputs, weights an input)
    serves documents of every length.
    """
    terms = [
        w * cross_entropy([row], [target], reduction="sum")
        for row, target, w in zip(model(inputs), targets, weights, strict=True)
    ]
    total: Value = sum(terms[1:], terms[0])
    return total


def make_optimizer(model: GPT, lr: float = LEARNING_RATE) -> Adam:
    """microgpt's Adam: ``betas=(0.85, 0.99)``, ``eps=1e-8``, over ``model.parameters()``."""
    if not isinstance(model, GPT):
        check.wrong_type("model", model, "a GPT")
    return Adam(model.parameters(), lr=lr, betas=BETAS, eps=EPS)


def schedule(lr: float, steps: int) -> LinearDecay:
    """``lr * (1 - k / steps)`` at step ``k``: microgpt's linear decay to 0.

    >>> schedule(0.01, 1000)(500)
    0.005
    """
    return LinearDecay(check.real("lr", lr, 0.0), 0.0, check.integer("steps", steps, 1))


def shuffled(documents: Sequence[str], seed: int) -> list[str]:
    """The documents in the order a run with ``seed`` visits them (step ``k`` trains on item
    ``k % len``): shuffled once by ``random.Random(seed)``, as ``random.seed(seed)`` then
    ``random.shuffle`` shuffles them in microgpt.

    >>> shuffled(["a", "b", "c"], 0)
    ['a', 'c', 'b']
    """
    docs = list(check.strings("documents", documents))
    random.Random(check.integer("seed", seed)).shuffle(docs)
    return docs


def value_step(model: GPT, optimizer: Adam) -> Step:
    """The Value engine's step: forward, ``backward()``, one Adam update at the given lr, with
    Python's cyclic collector paused (``gc_paused``) as ``fit()`` pauses it."""
    if not isinstance(model, GPT):
        check.wrong_type("model", model, "a GPT")
    if not isinstance(optimizer, Adam):
        check.wrong_type("optimizer", optimizer, "an Adam optimizer")

    def step(tokens: list[int], lr: float) -> float:
        # As fit() does: the graph has no cycles, so reference counting frees it, and the
        # collector would only rescan it (about half of a step with it on: benchmarks/RESULTS.md).
        with gc_paused():
            loss = document_loss(model, tokens)
            optimizer.zero_grad()
            loss.backward()
            optimizer.lr = lr
            optimizer.step()
        return loss.data

    return step


# engine name -> (model, optimizer) -> a step. A compiled engine adds its entry here.
STEPPERS: dict[str, Callable[[GPT, Adam], Step]] = {"value": value_step}
