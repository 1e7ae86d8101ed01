"""The GPT's entry in micrograd.interop: microgpt as a float64 ``torch.nn.Module`` and back.

The PyTorch classes are one source text, ``TORCH_SOURCE``: ``to_torch`` runs it, and the script
``pytorch_script`` writes holds it verbatim, so the two can never differ.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from micrograd.gpt.model import GPT

# The model in PyTorch, written as microgpt computes it (see micrograd.gpt.model): embeddings
# summed and RMS-normed, pre-norm blocks with residuals, causal multi-head attention, a ReLU MLP
# four times as wide, no biases, no norm gain, no final norm before lm_head.
TORCH_SOURCE = '''\
def rmsnorm(x, eps=1e-5):
    """x / sqrt(mean(x^2) + eps) over the last dimension (no gain, as microgpt)."""
    return x * (x.pow(2).mean(-1, keepdim=True) + constant(eps, x)) ** -0.5


def constant(number, like):
    """number as a tensor of like's dtype: PyTorch's ONNX exporter would store a Python float
    in a float64 graph rounded to float32 (1e-5 as 9.999999747e-06)."""
    return torch.tensor(number, dtype=like.dtype, device=like.device)


def linear(n_in, n_out):
    return nn.Linear(n_in, n_out, bias=False, dtype=torch.float64)


class CausalSelfAttention(nn.Module):
    """Each head: softmax(q.k / sqrt(head_dim)) over this and earlier positions weighs v."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.wq, self.wk, self.wv, self.wo = (linear(n_embd, n_embd) for _ in range(4))

    def forward(self, x):
        batch, t, n_embd = x.shape
        head_dim = n_embd // self.n_head

        def heads(w):  # (batch, n_head, t, head_dim)
            return w(x).view(batch, t, self.n_head, head_dim).transpose(1, 2)

        q, k, v = heads(self.wq), heads(self.wk), heads(self.wv)
        scores = q @ k.transpose(-2, -1) / constant(math.sqrt(head_dim), x)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return self.wo((weights @ v).transpose(1, 2).reshape(batch, t, n_embd))


class FeedForward(nn.Module):
    """fc2(relu(fc1(x))), four times as wide inside."""

    def __init__(self, n_embd):
        super().__init__()
        self.fc1 = linear(n_embd, 4 * n_embd)
        self.fc2 = linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Block(nn.Module):
    """x + attn(rmsnorm(x)), then x + mlp(rmsnorm(x))."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.mlp = FeedForward(n_embd)

    def forward(self, x):
        x = x + self.attn(rmsnorm(x))
        return x + self.mlp(rmsnorm(x))


class GPT(nn.Module):
    """Token ids (batch, t) -> logits (batch, t, vocab_size); position t sees tokens 0..t."""

    def __init__(self, vocab_size, n_embd=16, n_head=4, n_layer=1, block_size=16):
        super().__init__()
        self.config = dict(
            vocab_size=vocab_size,
            n_embd=n_embd,
            n_head=n_head,
            n_layer=n_layer,
            block_size=block_size,
        )
        self.wte = nn.Embedding(vocab_size, n_embd, dtype=torch.float64)
        self.wpe = nn.Embedding(block_size, n_embd, dtype=torch.float64)
        self.lm_head = linear(n_embd, vocab_size)
        self.layers = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = rmsnorm(self.wte(tokens) + self.wpe(positions))
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(x)
'''


@functools.cache
def _classes(torch: Any) -> dict[str, Any]:
    """The classes of ``TORCH_SOURCE``, made once per PyTorch (so a module's type is stable)."""
    import math

    namespace: dict[str, Any] = {"math": math, "torch": torch, "nn": torch.nn}
    exec(compile(TORCH_SOURCE, "<micrograd.interop: the GPT in PyTorch>", "exec"), namespace)
    return namespace


def _matrices(model: GPT) -> dict[str, list[list[Any]]]:
    """The model's weight matrices (lists of rows of Values) by their PyTorch state_dict names."""
    found = {"wte.weight": model.wte.weight, "wpe.weight": model.wpe.weight}
    found["lm_head.weight"] = model.lm_head.weight
    for k, layer in enumerate(model.layers):
        for part, names in (("attn", ("wq", "wk", "wv", "wo")), ("mlp", ("fc1", "fc2"))):
            for name in names:
                found[f"layers.{k}.{part}.{name}.weight"] = getattr(
                    getattr(layer, part), name
                ).weight
    return found


def state(model: GPT) -> dict[str, list[list[float]]]:
    """The weights as floats by state_dict name."""
    return {
        key: [[float(p.data) for p in row] for row in rows]
        for key, rows in _matrices(model).items()
    }


def to_torch(model: GPT, torch: Any) -> Any:
    """The GPT of ``TORCH_SOURCE`` with the model's weights (PyTorch's random stream untouched)."""
    with torch.random.fork_rng(devices=[]):  # its layers draw initial weights: put them back
        module = _classes(torch)["GPT"](**model.config())
    module.load_state_dict(
        {k: torch.tensor(v, dtype=torch.float64) for k, v in state(model).items()}
    )
    return module


def reads(module: Any, torch: Any) -> bool:
    """Whether ``module`` is the GPT class of ``TORCH_SOURCE`` that ``to_torch`` makes (another
    class, a script's copy included, may compute something else)."""
    return type(module) is _classes(torch)["GPT"]


def from_torch(module: Any, torch: Any) -> GPT:
    """The micrograd GPT of the module's config and weights; ValueError when a weight's shape
    does not fit."""
    saved = random.getstate()
    try:
        model = GPT.from_config(module.config)
    except ValueError as e:
        raise ValueError(f"module is a GPT whose config does not fit micrograd's: {e}") from None
    finally:
        random.setstate(saved)
    weights = module.state_dict()
    targets = _matrices(model)
    if set(weights) != set(targets):
        extra = sorted(set(weights) ^ set(targets))
        raise ValueError(f"module's weights are not micrograd's GPT's: {extra[0]!r} differs")
    for key, rows in targets.items():
        numbers = weights[key].detach().to("cpu", torch.float64).tolist()
        if [len(r) for r in numbers] != [len(r) for r in rows]:
            raise ValueError(f"module's {key} has another shape than the config gives")
        for row, values in zip(rows, numbers, strict=True):
            for p, x in zip(row, values, strict=True):
                p.data = x
    return model


def onnx_input(model: GPT, torch: Any) -> tuple[str, Any, dict[int, Any]]:
    """The exporter's example input (two sequences of ``block_size`` tokens), free dimensions."""
    example = torch.zeros((2, model.block_size), dtype=torch.int64)
    return "tokens", example, {0: torch.export.Dim("batch")}


def script(model: GPT) -> str:
    """The GPT as a runnable script: ``TORCH_SOURCE``, the weights, ``build()`` and ``main``."""
    from micrograd.interop import _literal, _script_tail, _wrapped

    sample = [i % model.vocab_size for i in range(min(3, model.block_size))]
    expected = [float(v.data) for v in model(sample)[-1]]
    weights: list[str] = []
    for key, rows in state(model).items():
        weights.append(f'    "{key}": [')
        weights += [_wrapped(row, " " * 8) for row in rows]
        weights.append("    ],")
    return _SCRIPT.format(
        model=repr(model),
        source=TORCH_SOURCE,
        config=repr(model.config()),
        weights="\n".join(weights),
        sample=repr(sample),
        sample_args=" ".join(map(str, sample)),
        expected=", ".join(_literal(x) for x in expected),
        tail=_script_tail("tokens", "logits"),
    )


_SCRIPT = '''\
"""{model}, exported from micrograd to PyTorch (float64).

Run it to print the logits after a few sample tokens, or after token ids of your own:

    python this_file.py
    python this_file.py {sample_args}

or import it: build() returns the torch.nn.Module with the trained weights.
"""

import math
import sys

import torch
from torch import nn


{source}

CONFIG = {config}

# Each weight matrix, one row per list, exactly as micrograd held it.
WEIGHTS = {{
{weights}
}}

# Sample token ids, and micrograd's logits after the last of them (computed when written).
SAMPLE = {sample}
MICROGRAD_LOGITS = [{expected}]


def build() -> GPT:
    """The GPT, float64, with the weights above."""
    model = GPT(**CONFIG)
    state = {{name: torch.tensor(value, dtype=torch.float64) for name, value in WEIGHTS.items()}}
    model.load_state_dict(state)
    return model


def main(args: list[str]) -> int:
    """Print the logits after the token ids in ``args`` (or the sample); the exit status."""
    try:
        tokens = [int(a) for a in args] if args else SAMPLE
    except ValueError as e:
        print(f"error: token ids are whole numbers ({{e}})", file=sys.stderr)
        return 2
    vocab, block = CONFIG["vocab_size"], CONFIG["block_size"]
    if not 1 <= len(tokens) <= block or not all(0 <= t < vocab for t in tokens):
        print(f"error: give 1 to {{block}} token ids below {{vocab}}", file=sys.stderr)
        return 2
    with torch.no_grad():
        logits = build()(torch.tensor([tokens]))[0, -1].tolist()
{tail}'''
