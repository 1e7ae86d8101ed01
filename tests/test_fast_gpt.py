"""The gpt package's model on the compiled path, as written: token ids and targets are index
inputs (new ids never trace again), one program at the full block serves documents of every
length, and the `fast` engine's step trains as the Value engine's step does."""

from __future__ import annotations

import random
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import fast
from micrograd.fast._gpt import GPTStep, register
from micrograd.gpt.model import GPT, CausalSelfAttention
from micrograd.gpt.train import STEPPERS, _padded_loss, document_loss, make_optimizer
from micrograd.optim import Adam, AdamW
from optable import same_float

VOCAB = 7
BLOCK = 6
register()  # what `micrograd gpt train --engine fast` does: STEPPERS["fast"] is the compiled step


def small_gpt(seed: int) -> GPT:
    random.seed(seed)
    return GPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block_size=BLOCK)


def value_engine(model: GPT, ids: list[int]) -> tuple[float, list[float]]:
    """document_loss and its gradients on the Value engine."""
    model.zero_grad()
    loss = document_loss(model, ids)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    return loss.data, grads


def close(ours: list[float], theirs: list[float]) -> bool:
    """Equal to the rounding of another order of additions (relative to the largest)."""
    scale = max(map(abs, theirs), default=0.0)
    return len(ours) == len(theirs) and all(
        same_float(a, b, 1e-9, 1e-12 * scale) for a, b in zip(ours, theirs)
    )


def test_the_model_as_written_never_traces_again_for_new_ids() -> None:
    """document_loss traced as written, ids an index input: 12 documents of new ids replay the
    one program (a RetraceWarning would fail the test), each with the Value engine's loss and
    gradients."""
    model = small_gpt(8)
    rng = random.Random(3)
    ids = [rng.randrange(VOCAB) for _ in range(5)]
    program = fast.trace(lambda t: document_loss(model, t), model.parameters(), ids, indices=[0])
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", fast.RetraceWarning)
        for _ in range(12):
            ids = [rng.randrange(VOCAB) for _ in range(5)]
            loss, grad = program.loss_and_grad(program.theta(), ids)
            want_loss, want_grad = value_engine(model, ids)
            results.append(same_float(loss, want_loss, 1e-12) and close(grad.tolist(), want_grad))
    assert (results, program.traces) == ([True] * 12, 1)


def test_a_token_id_out_of_range_is_refused_by_the_program() -> None:
    """An id past the vocabulary fails the traced comparison: with retrace=False it is a
    StructureError, never a row read past the table."""
    model = small_gpt(9)
    program = fast.trace(
        lambda t: document_loss(model, t), model.parameters(), [1, 2, 3], indices=[0]
    )
    program.retrace = False
    with pytest.raises(fast.StructureError):
        program.loss_and_grad(program.theta(), [1, VOCAB, 3])


PROGRAMS: dict[str, Any] = {}


def padded_program() -> tuple[GPT, GPTStep, fast.Program]:
    """One program of the padded loss at the full block, made once for every example."""
    if not PROGRAMS:
        model = small_gpt(10)
        step = GPTStep(model, make_optimizer(model))
        inputs = step._padded([6, 1, 6])
        program = fast.trace(
            lambda x, y, w: _padded_loss(model, x, y, w),
            model.parameters(),
            *inputs,
            indices=[0, 1],
            retrace=False,
        )
        PROGRAMS.update(model=model, step=step, program=program)
    return PROGRAMS["model"], PROGRAMS["step"], PROGRAMS["program"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, VOCAB - 1), min_size=2, max_size=BLOCK + 3))
def test_one_padded_program_gives_every_lengths_loss_and_gradients(ids: list[int]) -> None:
    """Documents of 1 to block_size predictions (longer ones cut, as document_loss cuts them),
    padded to the block with weights 1/n and 0: the one program's loss and gradients are the
    Value engine's on the unpadded document, to rounding."""
    model, step, program = padded_program()
    loss, grad = program.loss_and_grad(program.theta(), *step._padded(ids))
    want_loss, want_grad = value_engine(model, ids)
    assert (same_float(loss, want_loss, 1e-12), close(grad.tolist(), want_grad)) == (True, True)
    assert program.traces == 1


def run_engine(
    engine: str, docs: list[list[int]], pad_to: int | None = None, adam: Any = None
) -> tuple[list[float], list[float], int, Any]:
    model = small_gpt(12)
    optimizer = make_optimizer(model) if adam is None else adam(model.parameters())
    step = STEPPERS[engine](model, optimizer)
    if pad_to is not None:
        step.pad_to(pad_to)  # type: ignore[attr-defined]
    losses = [step(doc, 0.01 * (1 - k / len(docs))) for k, doc in enumerate(docs)]
    getattr(step, "sync", lambda: None)()
    state = [p.data for p in model.parameters()] + [p.grad for p in model.parameters()]
    state += optimizer.exp_avg + optimizer.exp_avg_sq  # type: ignore[operator]
    return losses, state, optimizer.step_count, step


@pytest.mark.parametrize(("pad_to", "lengths"), [(None, [BLOCK]), (3, [3, BLOCK])])
def test_the_fast_gpt_step_trains_as_the_value_step(pad_to: int | None, lengths: list[int]) -> None:
    """Twelve documents of 1 to 8 letters (some longer than the block): the compiled step gives
    the Value step's losses and, once synced, its weights, gradients and Adam state, to
    rounding, from one trace at the block; padded to 3 by pad_to, from one trace at 3 and one
    at the block for the longer documents."""
    rng = random.Random(5)
    docs = [[6, *(rng.randrange(6) for _ in range(rng.randrange(1, 9))), 6] for _ in range(12)]
    value_losses, value_state, value_count, _ = run_engine("value", docs)
    fast_losses, fast_state, fast_count, step = run_engine("fast", docs, pad_to)
    assert (
        all(same_float(a, b, 1e-9) for a, b in zip(fast_losses, value_losses)),
        all(same_float(a, b, 1e-6, 1e-12) for a, b in zip(fast_state, value_state)),
        fast_count,
        sorted(step.programs),
        [p.traces for p in step.programs.values()],
    ) == (True, True, value_count, lengths, [1] * len(lengths))


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_every_adam_setting_steps_as_the_value_engines_adam(
    decoupled: bool, amsgrad: bool, weight_decay: float
) -> None:
    """Adam or AdamW, with or without amsgrad and weight decay: the compiled step's losses and
    state are the Value step's (each setting goes to its own place in the update)."""
    adam_class = AdamW if decoupled else Adam

    def adam(params: Any) -> Adam:
        return adam_class(
            params, lr=0.05, betas=(0.8, 0.9), weight_decay=weight_decay, amsgrad=amsgrad
        )

    rng = random.Random(9)
    docs = [[6, *(rng.randrange(6) for _ in range(rng.randrange(1, 6))), 6] for _ in range(8)]
    value_losses, value_state, _, _ = run_engine("value", docs, adam=adam)
    fast_losses, fast_state, _, _ = run_engine("fast", docs, adam=adam)
    assert (
        all(same_float(a, b, 1e-9) for a, b in zip(fast_losses, value_losses)),
        all(same_float(a, b, 1e-6, 1e-12) for a, b in zip(fast_state, value_state)),
    ) == (True, True)


def test_the_values_are_written_only_by_sync() -> None:
    """Steps move the arrays alone; sync() writes them into the Values and Adam, and a second
    sync writes nothing new."""
    model = small_gpt(15)
    optimizer = make_optimizer(model)
    before = [p.data for p in model.parameters()]
    step = STEPPERS["fast"](model, optimizer)
    for doc in ([6, 1, 2, 6], [6, 3, 6], [6, 4, 4, 5, 1, 6]):
        step(doc, 0.01)
    unmoved = ([p.data for p in model.parameters()], optimizer.step_count)
    step.sync()
    moved = [p.data for p in model.parameters()]
    step.sync()
    assert (unmoved, optimizer.step_count, moved != before) == ((before, 0), 3, True)
    assert [p.data for p in model.parameters()] == moved


def test_a_gpt_whose_attention_sees_later_positions_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attention that sees the padding changes the real positions: RuntimeError on the first
    step, before any weight moves (the step checks its loss against document_loss)."""
    model = small_gpt(13)

    def forward(self: CausalSelfAttention, xs: list[Any]) -> list[Any]:
        qs, ks, vs = [self.wq(x) for x in xs], [self.wk(x) for x in xs], [self.wv(x) for x in xs]
        return [self.wo(self._attend(q, ks, vs)) for q in qs]  # every position, not 0 … t

    monkeypatch.setattr(CausalSelfAttention, "forward", forward)
    before = [p.data for p in model.parameters()]
    step = STEPPERS["fast"](model, make_optimizer(model))
    with pytest.raises(RuntimeError, match="--engine value"):
        step([6, 1, 2, 6], 0.01)
    assert [p.data for p in model.parameters()] == before


def test_a_document_of_one_token_is_refused() -> None:
    """A document with nothing to predict is a ValueError naming tokens, as document_loss's."""
    model = small_gpt(16)
    with pytest.raises(ValueError, match="tokens"):
        STEPPERS["fast"](model, make_optimizer(model))([6], 0.01)


@pytest.mark.parametrize("bad", ["model", "optimizer"])
def test_the_fast_step_refuses_what_is_not_a_gpt_and_its_adam(bad: str) -> None:
    """A model that is not a GPT, or an optimizer over other Values, is a TypeError naming it."""
    model = small_gpt(14)
    optimizer = make_optimizer(model)
    if bad == "model":
        args = (object(), optimizer)
    else:
        args = (model, make_optimizer(GPT(vocab_size=VOCAB, n_embd=8, n_head=2, block_size=6)))
    with pytest.raises(TypeError, match=bad):
        STEPPERS["fast"](*args)


def test_an_embedding_and_cross_entropy_on_index_inputs_never_trace_again() -> None:
    """Embedding(index) and cross_entropy(logits, targets) traced with index inputs: every pair
    of an index and a class replays the one program, with the Value engine's loss and
    gradients."""
    from micrograd.gpt.model import Embedding
    from micrograd.losses import cross_entropy

    random.seed(17)
    emb = Embedding(5, 4)
    program = fast.trace(
        lambda i, c: cross_entropy([emb(i)], [c]), emb.parameters(), 0, 0, indices=[0, 1]
    )
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", fast.RetraceWarning)
        for i in range(5):
            for c in range(4):
                loss, grad = program.loss_and_grad(program.theta(), i, c)
                emb.zero_grad()
                want = cross_entropy([emb(i)], [c])
                want.backward()
                ok = same_float(loss, want.data) and close(
                    grad.tolist(), [p.grad for p in emb.parameters()]
                )
                results.append(ok)
    assert (results, program.traces) == ([True] * 20, 1)
