"""The gpt package's model on the compiled path: right on every document as written (it reads its
token ids, so each document traces again), and its `fast` engine, which picks rows by lookup."""

from __future__ import annotations

import random
import warnings

import pytest

from micrograd import fast
from micrograd.fast._gpt import register
from micrograd.gpt.model import GPT
from micrograd.gpt.train import STEPPERS, document_loss, make_optimizer
from optable import same_float

VOCAB = 7
register()  # what `micrograd gpt train --engine fast` does: STEPPERS["fast"] is the compiled step


def test_the_gpt_package_model_as_written_is_right_on_every_document() -> None:
    """GPT.forward reads its token ids as numbers: each new document traces again (with a
    RetraceWarning) and each loss is document_loss's, never the traced document's."""
    random.seed(8)
    model = GPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block_size=6)
    rng = random.Random(3)
    ids = [rng.randrange(VOCAB) for _ in range(5)]
    program = fast.trace(lambda t: document_loss(model, t), model.parameters(), ids, indices=[0])
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fast.RetraceWarning)
        for _ in range(3):
            ids = [rng.randrange(VOCAB) for _ in range(5)]
            model.zero_grad()
            loss = program(ids)
            model.zero_grad()
            results.append(same_float(loss, document_loss(model, ids).data, 1e-12))
    assert (results, program.traces) == ([True] * 3, 4)


def test_the_fast_gpt_step_trains_as_the_value_step() -> None:
    """Eight documents of several lengths: the compiled step (registered as the GPT's `fast`
    engine) gives the Value step's losses, weights and Adam state, to rounding."""
    runs = []
    for engine in ("value", "fast"):
        random.seed(12)
        model = GPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block_size=6)
        optimizer = make_optimizer(model)
        step = STEPPERS[engine](model, optimizer)
        rng = random.Random(5)
        docs = [[6, *(rng.randrange(6) for _ in range(rng.randrange(1, 8))), 6] for _ in range(8)]
        losses = [step(doc, 0.01 * (1 - k / 8)) for k, doc in enumerate(docs)]
        state = [p.data for p in model.parameters()] + optimizer.exp_avg + optimizer.exp_avg_sq
        runs.append((losses, state, optimizer.step_count))
    (value_losses, value_state, value_count), (fast_losses, fast_state, fast_count) = runs
    assert (
        all(same_float(a, b, 1e-9) for a, b in zip(fast_losses, value_losses)),
        all(same_float(a, b, 1e-6, 1e-12) for a, b in zip(fast_state, value_state)),
        fast_count,
    ) == (True, True, value_count)


def test_a_gpt_the_fast_step_does_not_know_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPT whose embedding is not the one the step traces: RuntimeError on the first step,
    before any weight moves (the step checks its loss and gradients against the GPT's own)."""
    random.seed(13)
    model = GPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block_size=6)
    embed = GPT._embed
    monkeypatch.setattr(GPT, "_embed", lambda self, t, p: [v * 2.0 for v in embed(self, t, p)])
    before = [p.data for p in model.parameters()]
    step = STEPPERS["fast"](model, make_optimizer(model))
    with pytest.raises(RuntimeError, match="--engine value"):
        step([6, 1, 2, 6], 0.01)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("bad", ["model", "optimizer"])
def test_the_fast_step_refuses_what_is_not_a_gpt_and_its_adam(bad: str) -> None:
    """A model that is not a GPT, or an optimizer over other Values, is a TypeError naming it."""
    random.seed(14)
    model = GPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block_size=6)
    optimizer = make_optimizer(model)
    if bad == "model":
        args = (object(), optimizer)
    else:
        args = (model, make_optimizer(GPT(vocab_size=VOCAB, n_embd=8, n_head=2, block_size=6)))
    with pytest.raises(TypeError, match=bad):
        STEPPERS["fast"](*args)
