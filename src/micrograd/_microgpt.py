"""microgpt's model and document loss on Values, token by token with a KV cache: a fixture of
the gather tests (tests/test_fast_gather.py). The benchmark and ``gpt train`` use
``micrograd.gpt.GPT``, whose own loss the compiled path traces.

Karpathy's microgpt (one layer, RMSNorm without gain, ReLU MLP, no biases, Gaussian init 0.08),
with the token embedding and the target's probability picked with ``lookup`` (a gather for any
index), and softmax subtracting the max as a ``maximum`` op of the graph.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["MicroGPT", "document_loss", "documents", "forward", "linear", "rmsnorm", "softmax"]

from micrograd._lookup import lookup
from micrograd.engine import Value

Matrix = list[list[Value]]


class MicroGPT:
    """The weights: ``wte``, ``wpe``, ``lm_head``, then per layer ``wq wk wv wo fc1 fc2``."""

    def __init__(
        self, vocab_size: int, n_embd: int = 16, n_head: int = 4, n_layer: int = 1, block: int = 16
    ) -> None:
        def matrix(rows: int, cols: int) -> Matrix:
            return [[Value(random.gauss(0.0, 0.08)) for _ in range(cols)] for _ in range(rows)]

        self.n_head, self.head_dim = n_head, n_embd // n_head
        self.wte, self.wpe = matrix(vocab_size, n_embd), matrix(block, n_embd)
        self.lm_head = matrix(vocab_size, n_embd)
        names = ("wq", "wk", "wv", "wo", "fc1", "fc2")
        shapes = [(n_embd, n_embd)] * 4 + [(4 * n_embd, n_embd), (n_embd, 4 * n_embd)]
        self.layers = [
            {name: matrix(*shape) for name, shape in zip(names, shapes)} for _ in range(n_layer)
        ]

    def parameters(self) -> list[Value]:
        """Every weight, matrix by matrix, row by row."""
        mats = [self.wte, self.wpe, self.lm_head] + [
            m for layer in self.layers for m in layer.values()
        ]
        return [p for m in mats for row in m for p in row]


def documents(count: int, seed: int, vocab_size: int = 27) -> list[list[int]]:
    """``count`` name-like documents: ``[bos, 3 to 8 letters, bos]``, ``bos = vocab_size - 1``."""
    rng = random.Random(seed)
    bos = vocab_size - 1
    return [
        [bos, *(rng.randrange(bos) for _ in range(rng.randrange(3, 9))), bos] for _ in range(count)
    ]


def linear(x: list[Value], w: Matrix) -> list[Value]:
    """``W x``, each row's dot product added left to right."""
    return [sum((wi * xi for wi, xi in zip(row[1:], x[1:])), row[0] * x[0]) for row in w]


def softmax(logits: list[Value]) -> list[Value]:
    """``exp(v - max v) / Σ exp(v - max v)``, the max a ``maximum`` op of the graph."""
    top = logits[0]
    for v in logits[1:]:
        top = top.maximum(v)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps[1:], exps[0])
    return [e / total for e in exps]


def rmsnorm(x: list[Value]) -> list[Value]:
    """``x / sqrt(mean(x²) + 1e-5)``."""
    scale = (sum((xi * xi for xi in x[1:]), x[0] * x[0]) / len(x) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def forward(
    model: MicroGPT, token: Any, pos: int, keys: list[Any], values: list[Any]
) -> list[Value]:
    """The logits after ``token`` at position ``pos``; each layer's cache grows by one."""
    x = rmsnorm([t + p for t, p in zip(lookup(model.wte, token), model.wpe[pos])])
    hd = model.head_dim
    for layer, k_cache, v_cache in zip(model.layers, keys, values):
        residual, x = x, rmsnorm(x)
        q = linear(x, layer["wq"])
        k_cache.append(linear(x, layer["wk"]))
        v_cache.append(linear(x, layer["wv"]))
        heads: list[Value] = []
        for s in range(0, model.n_head * hd, hd):
            scores = [
                sum((q[s + j] * k[s + j] for j in range(1, hd)), q[s] * k[s]) / hd**0.5
                for k in k_cache
            ]
            weights = softmax(scores)
            for j in range(s, s + hd):
                heads.append(
                    sum(
                        (w * v[j] for w, v in zip(weights[1:], v_cache[1:])),
                        weights[0] * v_cache[0][j],
                    )
                )
        x = [a + b for a, b in zip(linear(heads, layer["wo"]), residual)]
        residual, x = x, rmsnorm(x)
        x = linear([h.relu() for h in linear(x, layer["fc1"])], layer["fc2"])
        x = [a + b for a, b in zip(x, residual)]
    return linear(x, model.lm_head)


def document_loss(model: MicroGPT, tokens: list[Any], targets: list[Any]) -> Value:
    """The mean of ``-log softmax(logits)[target]`` over the positions, as microgpt trains."""
    keys: list[Any] = [[] for _ in model.layers]
    values: list[Any] = [[] for _ in model.layers]
    losses: list[Value] = [
        -lookup(softmax(forward(model, token, pos, keys, values)), target).log()
        for pos, (token, target) in enumerate(zip(tokens, targets))
    ]
    return sum(losses[1:], losses[0]) * (1.0 / len(losses))
