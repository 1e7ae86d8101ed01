"""microgpt's model on Values: its shape and draws, PyTorch parity, gradients, the KV cache, the
tokenizer, the data and sampling."""

from __future__ import annotations

import gc
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lazy_torch import functional, torch
from micrograd.engine import Value
from micrograd.gpt import (
    GPT,
    CharTokenizer,
    Embedding,
    Linear,
    document_loss,
    generate,
    log_softmax,
    make_optimizer,
    names,
    read_documents,
    rmsnorm,
    sample_names,
    schedule,
    softmax,
    value_step,
)
from micrograd.gpt.model import Block
from micrograd.gpt.train import BETAS, shuffled
from micrograd.gradcheck import gradcheck

NAMES_VOCAB = 27  # 26 letters and BOS


def seeded_gpt(seed: int = 42, **shape: int) -> GPT:
    """A GPT drawn after random.seed(seed)."""
    random.seed(seed)
    return GPT(**{"vocab_size": NAMES_VOCAB, **shape})


# --- shape and initialisation ---


def test_parameter_count_is_microgpts() -> None:
    """For a vocabulary of 27 the default model has microgpt's 4,192 parameters."""
    assert len(seeded_gpt().parameters()) == 4192


def test_parameter_count_formula() -> None:
    """Any shape: embeddings, head, and per layer 4 n² attention and 8 n² MLP weights."""
    for vocab, n, heads, layers, block in [(5, 8, 2, 2, 4), (30, 12, 3, 1, 10), (2, 4, 4, 3, 1)]:
        model = GPT(vocab, n_embd=n, n_head=heads, n_layer=layers, block_size=block)
        expected = 2 * vocab * n + block * n + layers * 12 * n * n
        assert len(model.parameters()) == expected
        assert len(model.state_dict()) == expected


def test_weights_are_microgpts_draws_in_its_order() -> None:
    """After random.seed(s) the weights are gauss(0, 0.08) draws in microgpt's order: wte, wpe,
    lm_head, then wq, wk, wv, wo, fc1, fc2 of each layer, row by row."""
    model = seeded_gpt(7)
    random.seed(7)
    expected = [random.gauss(0.0, 0.08) for _ in range(4192)]
    assert [p.data for p in model.parameters()] == expected
    names = [name for name, _ in model.named_parameters()]
    assert names[0] == "wte.weight.0.0"
    assert names[27 * 16] == "wpe.weight.0.0"
    assert names[27 * 16 + 16 * 16] == "lm_head.weight.0.0"
    assert names[2 * 27 * 16 + 16 * 16] == "layers.0.attn.wq.weight.0.0"
    assert names[-1] == "layers.0.mlp.fc2.weight.15.63"


def test_no_biases_and_a_bias_when_asked() -> None:
    """microgpt has no biases; Linear(bias=True) adds out_features zeros after the weights."""
    assert not any("bias" in name for name, _ in seeded_gpt().named_parameters())
    random.seed(0)
    lin = Linear(3, 2, bias=True)
    assert [name for name, _ in lin.named_parameters()][-2:] == ["bias.0", "bias.1"]
    assert [b.data for b in lin.bias or []] == [0.0, 0.0]
    out = lin([1.0, 2.0, 3.0])
    expected = [sum(w.data * x for w, x in zip(row, [1.0, 2.0, 3.0])) for row in lin.weight]
    assert [pytest.approx(e, abs=1e-15) for e in expected] == [y.data for y in out]


def test_embedding_row_and_refusals() -> None:
    """Embedding(i) is row i; an index out of range is a ValueError naming index."""
    random.seed(0)
    emb = Embedding(4, 3)
    assert emb(2) is emb.weight[2]
    with pytest.raises(ValueError, match="index"):
        emb(4)
    with pytest.raises(TypeError, match="index"):
        emb(1.0)  # type: ignore[arg-type]


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    """save() then GPT.from_config + load() gives the same weights and logits."""
    model = seeded_gpt(3, n_embd=8, n_head=2, block_size=6)
    model.save(tmp_path / "m.json")
    again = GPT.from_config(model.config())
    again.load(tmp_path / "m.json")
    assert [p.data for p in again.parameters()] == [p.data for p in model.parameters()]
    tokens = [26, 1, 2, 3]
    assert [v.data for v in again(tokens)[-1]] == [v.data for v in model(tokens)[-1]]


# --- functions on vectors ---


def test_softmax_is_stable_at_huge_logits() -> None:
    """Logits of 1e300 (and -1e300) give finite probabilities summing to 1, and equal logits of
    any size give equal probabilities."""
    probs = [p.data for p in softmax([Value(1e300), Value(1e300), Value(-1e300)])]
    assert probs == [0.5, 0.5, 0.0]
    logs = [v.data for v in log_softmax([1e308, 1e308])]
    assert logs == [-math.log(2), -math.log(2)]
    assert [p.data for p in softmax([Value(800.0), Value(0.0)])] == [1.0, math.exp(-800.0)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8))
def test_softmax_and_log_softmax_agree(xs: list[float]) -> None:
    """Probabilities sum to 1 and exp(log_softmax) is softmax, for any logits."""
    probs = [p.data for p in softmax([Value(x) for x in xs])]
    logs = [v.data for v in log_softmax([Value(x) for x in xs])]
    assert math.fsum(probs) == pytest.approx(1.0, abs=1e-12)
    assert [math.exp(v) for v in logs] == pytest.approx(probs, abs=1e-12)


def test_rmsnorm_gives_unit_root_mean_square() -> None:
    """rmsnorm(x) has a mean square of ms / (ms + eps) (1 up to eps)."""
    x = [Value(v) for v in (3.0, -4.0, 12.0)]
    ms = (9 + 16 + 144) / 3
    out = [v.data for v in rmsnorm(x)]
    assert sum(v * v for v in out) / 3 == pytest.approx(ms / (ms + 1e-5), rel=1e-14)


def test_bad_vectors_are_refused() -> None:
    """An empty vector or a non-number is refused naming the argument."""
    with pytest.raises(ValueError, match="logits"):
        softmax([])
    with pytest.raises(TypeError, match=r"x\[1\]"):
        rmsnorm([Value(1.0), "2"])  # type: ignore[list-item]


# --- the KV cache, gradients ---


@pytest.mark.parametrize("shape", [{}, {"n_embd": 8, "n_head": 2, "n_layer": 2, "block_size": 6}])
def test_kv_cache_gives_the_full_sequence_logits(shape: dict[str, int]) -> None:
    """Reading a document one token at a time through the KV cache gives the logits of the whole
    sequence at once, float for float."""
    model = seeded_gpt(11, **shape)
    tokens = [26, 4, 12, 12, 0, 26][: model.block_size]
    full = [[v.data for v in row] for row in model(tokens)]
    cache = model.new_cache()
    stepped = [[v.data for v in model.step(t, cache)] for t in tokens]
    assert stepped == full
    assert len(cache) == len(tokens)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from([(4, 1), (4, 2), (6, 3), (8, 4)]),
    st.integers(1, 2),
    st.data(),
)
def test_kv_cache_equals_the_full_sequence_for_any_tokens(
    width: tuple[int, int], n_layer: int, data: st.DataObject
) -> None:
    """Any shape and any tokens: one token at a time through the cache gives the whole
    sequence's logits exactly, and a later token never changes an earlier position's logits."""
    n_embd, n_head = width
    random.seed(data.draw(st.integers(0, 1000)))
    model = GPT(5, n_embd=n_embd, n_head=n_head, n_layer=n_layer, block_size=6)
    tokens = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=6))
    full = [[v.data for v in row] for row in model(tokens)]
    cache = model.new_cache()
    assert [[v.data for v in model.step(t, cache)] for t in tokens] == full
    changed = [*tokens[:-1], (tokens[-1] + 1) % 5]
    assert [[v.data for v in row] for row in model(changed)][:-1] == full[:-1]


def test_a_full_cache_and_a_long_sequence_are_refused() -> None:
    """The block holds block_size positions: more is a ValueError."""
    model = seeded_gpt(1, block_size=3)
    cache = model.new_cache()
    for t in (26, 1, 2):
        model.step(t, cache)
    with pytest.raises(ValueError, match="cache"):
        model.step(3, cache)
    with pytest.raises(ValueError, match="tokens"):
        model([26, 1, 2, 3])
    with pytest.raises(ValueError, match=r"tokens\[1\]"):
        model([26, 27])


def test_position_t_sees_only_the_tokens_before_it() -> None:
    """Changing a later token leaves the logits of earlier positions as they were (causal)."""
    model = seeded_gpt(5)
    a = [[v.data for v in row] for row in model([26, 1, 2, 3])]
    b = [[v.data for v in row] for row in model([26, 1, 2, 9])]
    assert a[:3] == b[:3]
    assert a[3] != b[3]


def test_gradients_match_finite_differences() -> None:
    """On a tiny model (2 layers, 2 heads) backward()'s gradient of the document loss matches
    central differences for every parameter."""
    random.seed(3)
    model = GPT(vocab_size=4, n_embd=4, n_head=2, n_layer=2, block_size=4, std=0.5)
    params = model.parameters()
    assert len(params) == 4 * 4 * 2 + 4 * 4 + 2 * 12 * 16
    # The inputs are the model's own parameters: gradcheck moves them one at a time.
    result = gradcheck(lambda *_: document_loss(model, [3, 0, 1, 2, 3]), params, atol=1e-8)
    failed = [c for c in result.inputs if not c.ok]
    assert len(failed) == 0, str(result)


# --- PyTorch float64, the same weights ---


def torch_leaves(model: GPT) -> dict[str, Any]:
    """``model``'s weight matrices as PyTorch float64 leaf tensors, by module name."""

    def leaf(rows: list[list[Value]]) -> Any:
        values = [[p.data for p in row] for row in rows]
        return torch.tensor(values, dtype=torch.float64, requires_grad=True)

    leaves = {"wte": leaf(model.wte.weight), "wpe": leaf(model.wpe.weight)}
    leaves["lm_head"] = leaf(model.lm_head.weight)
    for k, block in enumerate(model.layers):
        for name in ("wq", "wk", "wv", "wo"):
            leaves[f"layers.{k}.attn.{name}"] = leaf(getattr(block.attn, name).weight)
        for name in ("fc1", "fc2"):
            leaves[f"layers.{k}.mlp.{name}"] = leaf(getattr(block.mlp, name).weight)
    return leaves


def torch_forward(model: GPT, leaves: dict[str, Any], tokens: list[int]) -> Any:
    """microgpt's forward written with PyTorch tensors (``leaves`` as the weights, ``model`` for
    the shape): the logits of every position, a (T, vocab) tensor."""
    T, n, H = len(tokens), model.n_embd, model.n_head
    hd = n // H

    def norm(x: Any) -> Any:
        return x * (x.pow(2).mean(dim=-1, keepdim=True) + 1e-5).rsqrt()

    x = norm(leaves["wte"][torch.tensor(tokens)] + leaves["wpe"][:T])
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for k in range(model.n_layer):
        w = {
            name.split(".")[-1]: t for name, t in leaves.items() if name.startswith(f"layers.{k}.")
        }
        h = norm(x)
        q, kk, v = ((h @ w[name].T).view(T, H, hd).transpose(0, 1) for name in ("wq", "wk", "wv"))
        scores = (q @ kk.transpose(1, 2)) / math.sqrt(hd)
        att = torch.softmax(scores.masked_fill(~mask, -math.inf), dim=-1)
        x = x + (att @ v).transpose(0, 1).reshape(T, n) @ w["wo"].T
        x = x + functional.relu(norm(x) @ w["fc1"].T) @ w["fc2"].T
    return x @ leaves["lm_head"].T


def _cells(shape: Any) -> list[tuple[int, int]]:
    return [(i, j) for i in range(shape[0]) for j in range(shape[1])]


@pytest.mark.torch
@pytest.mark.parametrize("shape", [{}, {"n_embd": 8, "n_head": 2, "n_layer": 2, "block_size": 8}])
def test_logits_loss_and_gradients_match_pytorch(shape: dict[str, int]) -> None:
    """The same weights in PyTorch float64 give the same logits, loss and every gradient."""
    model = seeded_gpt(42, **shape)
    tokens = [26, 4, 12, 12, 0, 26]
    loss = document_loss(model, tokens)
    loss.backward()
    leaves = torch_leaves(model)
    logits = torch_forward(model, leaves, tokens[:-1])
    expected_loss = functional.cross_entropy(logits, torch.tensor(tokens[1:]))
    expected_loss.backward()
    ours = [v.data for row in model(tokens[:-1]) for v in row]
    assert ours == pytest.approx(logits.detach().flatten().tolist(), abs=1e-12)
    assert loss.data == pytest.approx(expected_loss.item(), abs=1e-12)
    grads = {name: p.grad for name, p in model.named_parameters()}
    for prefix, leaf in leaves.items():
        theirs = leaf.grad.flatten().tolist()
        mine = [grads[f"{prefix}.weight.{i}.{j}"] for i, j in _cells(leaf.shape)]
        assert mine == pytest.approx(theirs, abs=1e-12), prefix


@pytest.mark.torch
@settings(max_examples=10, deadline=None)
@given(
    st.sampled_from([(4, 1), (4, 2), (6, 3), (8, 2)]),
    st.integers(1, 2),
    st.data(),
)
def test_random_shapes_and_documents_match_pytorch(
    width: tuple[int, int], n_layer: int, data: st.DataObject
) -> None:
    """Any shape and any document (cut to the block as microgpt cuts it): the loss and every
    gradient equal PyTorch's float64 ones to 1e-12."""
    n_embd, n_head = width
    random.seed(data.draw(st.integers(0, 1000)))
    model = GPT(5, n_embd=n_embd, n_head=n_head, n_layer=n_layer, block_size=5, std=0.5)
    tokens = data.draw(st.lists(st.integers(0, 4), min_size=2, max_size=9))
    loss = document_loss(model, tokens)
    loss.backward()
    n = min(5, len(tokens) - 1)
    leaves = torch_leaves(model)
    logits = torch_forward(model, leaves, tokens[:n])
    expected = functional.cross_entropy(logits, torch.tensor(tokens[1 : n + 1]))
    expected.backward()
    assert loss.data == pytest.approx(expected.item(), abs=1e-12)
    grads = {name: p.grad for name, p in model.named_parameters()}
    for prefix, leaf in leaves.items():
        mine = [grads[f"{prefix}.weight.{i}.{j}"] for i, j in _cells(leaf.shape)]
        assert mine == pytest.approx(leaf.grad.flatten().tolist(), abs=1e-12), prefix


@pytest.mark.torch
def test_adam_steps_match_pytorch() -> None:
    """Three of microgpt's steps (Adam betas (0.85, 0.99), lr decaying linearly) move every weight
    as torch.optim.Adam moves the same weights."""
    model = seeded_gpt(9, n_embd=8, n_head=2)
    docs = [[26, 1, 2, 26], [26, 3, 4, 5, 26], [26, 0, 26]]
    leaves = torch_leaves(model)
    opt = torch.optim.Adam(list(leaves.values()), lr=0.01, betas=BETAS, eps=1e-8)
    step = value_step(model, make_optimizer(model))
    lr_at = schedule(0.01, 3)
    for k, doc in enumerate(docs):
        step(doc, lr_at(k))
        for group in opt.param_groups:
            group["lr"] = lr_at(k)
        opt.zero_grad()
        logits = torch_forward(model, leaves, doc[:-1])
        functional.cross_entropy(logits, torch.tensor(doc[1:])).backward()
        opt.step()
    weights = {name: p.data for name, p in model.named_parameters()}
    for prefix, leaf in leaves.items():
        mine = [weights[f"{prefix}.weight.{i}.{j}"] for i, j in _cells(leaf.shape)]
        assert mine == pytest.approx(leaf.detach().flatten().tolist(), abs=1e-12), prefix


def test_value_step_pauses_the_collector_and_restores_it() -> None:
    """The Value engine's step builds its graph with the cyclic collector paused, as fit() does,
    and leaves it as it found it (on, or off)."""
    seen: list[bool] = []

    class Watched(GPT):
        def __call__(self, ids: Any) -> Any:
            seen.append(gc.isenabled())
            return super().__call__(ids)

    random.seed(0)
    model = Watched(vocab_size=5, n_embd=4, n_head=1, block_size=4)
    step = value_step(model, make_optimizer(model))
    was = gc.isenabled()
    try:
        gc.enable()
        step([4, 1, 2, 4], 0.01)
        on_after = gc.isenabled()
        gc.disable()
        step([4, 2, 4], 0.01)
        off_after = gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert (seen, on_after, off_after) == ([False, False], True, False)


# --- training and sampling ---


def test_training_lowers_the_loss_of_the_sample_names() -> None:
    """60 steps on the package's sample names lower the mean loss of the first 20 steps' documents
    (microgpt's recipe learns from the start)."""
    docs = shuffled(sample_names(), 0)
    tok = CharTokenizer.from_documents(docs)
    random.seed(0)
    model = GPT(tok.vocab_size)

    def mean_loss() -> float:
        return sum(document_loss(model, tok.document(d)).data for d in docs[:20]) / 20

    before = mean_loss()
    step, lr_at = value_step(model, make_optimizer(model)), schedule(0.01, 60)
    for k in range(60):
        step(tok.document(docs[k % len(docs)]), lr_at(k))
    assert mean_loss() < before - 0.5


def test_generate_starts_with_the_prefix_and_is_seeded() -> None:
    """Every sample starts with the prefix, uses the vocabulary, fits the block, and the same
    seed draws the same samples."""
    tok = CharTokenizer.from_documents(sample_names())
    model = seeded_gpt(2)
    a = generate(model, tok, num=8, prefix="ka", rng=random.Random(5))
    b = generate(model, tok, num=8, prefix="ka", rng=random.Random(5))
    assert a == b
    assert len(a) == 8
    assert all(s.startswith("ka") and len(s) < model.block_size for s in a)
    assert set("".join(a)) <= set(tok.chars)


def test_generate_refuses_a_bad_prefix() -> None:
    """A prefix with a character outside the vocabulary, or too long for the block, is refused."""
    tok = CharTokenizer.from_documents(sample_names())
    model = seeded_gpt(2)
    with pytest.raises(ValueError, match="prefix"):
        generate(model, tok, prefix="k!")
    with pytest.raises(ValueError, match="prefix"):
        generate(model, tok, prefix="a" * 15)
    # NFD's "é" is "e" + U+0301, which prints as the letter: the message names the accent.
    accent = r"prefix 'e\u0301' holds '\u0301' \(U\+0301 COMBINING ACUTE ACCENT\)"
    with pytest.raises(ValueError, match=accent):
        generate(model, tok, prefix="e\u0301")
    with pytest.raises(ValueError, match="temperature"):
        generate(model, tok, temperature=0.0)


# --- tokenizer and data ---


def test_tokenizer_round_trip_and_bos() -> None:
    """Ids are the sorted characters, BOS is the last id, decode inverts encode."""
    tok = CharTokenizer.from_documents(["bob", "ann"])
    assert (tok.chars, tok.bos, tok.vocab_size) == ("abno", 4, 5)
    assert tok.document("nab") == [4, 2, 0, 1, 4]
    assert tok.decode(tok.document("nab")) == "nab"
    assert CharTokenizer.from_dict(tok.to_dict()) == tok
    with pytest.raises(ValueError, match="'z'"):
        tok.encode("zed")
    with pytest.raises(ValueError, match="chars"):
        CharTokenizer("ba")


def test_sample_names_and_names_package() -> None:
    """The shipped sample and the names package's list are lower-case letters, 27 ids each."""
    sample = sample_names()
    assert len(sample) == 144
    listed = names()
    assert len(listed) == 5163
    assert listed[:3] == ["james", "john", "robert"]
    for docs in (sample, listed):
        assert CharTokenizer.from_documents(docs).vocab_size == NAMES_VOCAB


def test_read_documents(tmp_path: Path) -> None:
    """Non-blank lines, stripped (CRLF and a BOM too); bad bytes or control characters name the
    line."""
    path = tmp_path / "docs.txt"
    path.write_bytes(b"\xef\xbb\xbfanna\r\n\r\n  bob \n")
    assert read_documents(path) == ["anna", "bob"]
    path.write_bytes(b"anna\nb\xffb\n")
    with pytest.raises(ValueError, match="line 2: not UTF-8"):
        read_documents(path)
    path.write_bytes(b"anna\nbo\x00b\n")
    with pytest.raises(ValueError, match="line 2: holds the control character U\\+0000"):
        read_documents(path)
    path.write_bytes(b" \n\n")
    with pytest.raises(ValueError, match="no documents"):
        read_documents(path)


def test_blocks_compose() -> None:
    """A Block keeps the width of its input, position by position."""
    random.seed(0)
    block = Block(8, 2)
    xs = [[Value(random.gauss(0, 1)) for _ in range(8)] for _ in range(3)]
    assert [len(x) for x in block.forward(xs)] == [8, 8, 8]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: GPT(vocab_size=27, block_size=10**9),
            "GPT(vocab_size=27, n_embd=16, n_head=4, "
            "n_layer=1, block_size=1000000000) would have 16,000,003,936 parameters",
        ),
        (lambda: GPT(vocab_size=27, n_embd=4000, n_head=4), "would have 192,"),
        (lambda: Embedding(10**8, 16), "a 100000000 x 16 weight would have 1,600,000,000"),
        (lambda: Linear(16, 10**9), "a 1000000000 x 16 weight would have"),
    ],
)
def test_a_shape_too_big_to_build_is_a_value_error_at_once(make: Any, message: str) -> None:
    """A shape of more than nn.MAX_PARAMETERS parameters (a typo, a hand-edited checkpoint's
    config) is refused before any Value is made, not an endless build or a MemoryError."""
    with pytest.raises(ValueError, match=re.escape(message)):
        make()
