"""The gpt package's model on the compiled path: right on every document as written, and the
same model as the benchmark's microgpt (``micrograd._microgpt``, which picks rows by lookup)."""

from __future__ import annotations

import random
import warnings

from micrograd import fast
from micrograd._microgpt import MicroGPT
from micrograd._microgpt import document_loss as lookup_loss
from micrograd.gpt.model import GPT
from micrograd.gpt.train import document_loss
from optable import same_float

VOCAB = 7


def test_the_benchmark_microgpt_is_the_gpt_package_model() -> None:
    """Drawn from the same seed, MicroGPT and GPT hold the same weights and give one loss."""
    random.seed(11)
    ours = MicroGPT(VOCAB, n_embd=8, n_head=2, n_layer=1, block=6)
    random.seed(11)
    theirs = GPT(vocab_size=VOCAB, n_embd=8, n_head=2, n_layer=1, block_size=6)
    ids = [6, 0, 3, 2, 5, 6]
    same_weights = [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    loss = lookup_loss(ours, ids[:-1], ids[1:]).data
    assert (same_weights, same_float(loss, document_loss(theirs, ids).data, 1e-12)) == (True, True)


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
