"""microgpt's model made of Values: embeddings, linear maps, RMSNorm, causal attention, the GPT.

Every number is a scalar ``Value``; a vector is a plain list of them and a matrix a list of rows.
Shapes and draws follow Karpathy's microgpt: weights ``gauss(0, 0.08)`` drawn from the global
``random`` row by row (``wte``, ``wpe``, ``lm_head``, then each layer's ``wq wk wv wo fc1 fc2``),
no biases, RMSNorm without a gain, a ReLU MLP four times as wide as the embedding.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Sequence
from typing import Any

from micrograd import _check as check
from micrograd._lookup import lookup
from micrograd.engine import Value
from micrograd.losses import _log_softmax_terms
from micrograd.nn import CheckpointError, Module, check_parameter_count

__all__ = [
    "GPT",
    "INIT_STD",
    "Block",
    "CausalSelfAttention",
    "Embedding",
    "FeedForward",
    "KVCache",
    "Linear",
    "log_softmax",
    "rmsnorm",
    "softmax",
]

INIT_STD = 0.08  # microgpt's standard deviation for every weight

Vector = list[Value]
Operand = Value | float | int


def _vector(name: str, x: object, size: int | None = None) -> Vector:
    """``x`` as a list of Values: a non-empty sequence of Values or real numbers (numbers become
    constants), of ``size`` items when given."""
    if isinstance(x, list) and x and (size is None or len(x) == size):  # noqa: SIM102
        if all(type(v) is Value for v in x):
            return x  # the hot path: a vector the model made
    accepts = "a list of Values or numbers" + ("" if size is None else f" of length {size}")
    items = check.sequence(name, x, accepts)
    if not items or (size is not None and len(items) != size):
        check.wrong_value(name, x, accepts)
    return [
        v if isinstance(v, Value) else Value(check.number(f"{name}[{i}]", v, "a Value or a number"))
        for i, v in enumerate(items)
    ]


def _vectors(name: str, xs: object, size: int, *, nonempty: bool = True) -> list[Vector]:
    """A list of vectors of ``size`` items each (one per position)."""
    accepts = f"a list of vectors (lists of {size} Values)"
    items = check.sequence(name, xs, accepts)
    if nonempty and not items:
        check.wrong_value(name, xs, accepts)
    return [_vector(f"{name}[{t}]", x, size) for t, x in enumerate(items)]


def _cache(keys: object, values: object, size: int) -> None:
    """Refuse a layer's cache that is not two lists (grown in place) of as many vectors."""
    for name, item in (("keys", keys), ("values", values)):
        if type(item) is not list:
            check.wrong_type(name, item, "a list of vectors (a KVCache's list, grown in place)")
        item[:] = _vectors(name, item, size, nonempty=False)
    if len(keys) != len(values):  # type: ignore[arg-type]
        check.wrong_value("values", values, "as many vectors as keys")


def _matrix(rows: int, cols: int, std: float) -> list[list[Value]]:
    """``rows`` lists of ``cols`` Values drawn from ``gauss(0, std)``, row by row."""
    check_parameter_count(f"a {rows} x {cols} weight", rows * cols)
    return [[Value(random.gauss(0.0, std)) for _ in range(cols)] for _ in range(rows)]


def _dot(w: Sequence[Value], x: Sequence[Operand]) -> Value:
    """``Σ w_i x_i``, added left to right (microgpt's order, without its leading ``0 +``)."""
    return sum(map(operator.mul, w[1:], x[1:]), w[0] * x[0])


def _named_matrix(prefix: str, rows: list[list[Value]]) -> list[tuple[str, Value]]:
    # Each name is built once, whole, from its module's full prefix: a checkpoint names every
    # weight at every save (4,192 of them in microgpt's GPT).
    return [(f"{prefix}{i}.{j}", p) for i, row in enumerate(rows) for j, p in enumerate(row)]


# --- functions on vectors ---


def rmsnorm(x: Sequence[Operand], eps: float = 1e-5) -> Vector:
    """``x / sqrt(mean(x²) + eps)``: RMSNorm without a gain, as microgpt uses it.

    >>> [round(v.data, 4) for v in rmsnorm([Value(3.0), Value(-4.0)])]
    [0.8485, -1.1314]
    """
    items = _vector("x", x)
    eps = check.real("eps", eps, 0.0)
    mean_square = sum((xi * xi for xi in items[1:]), items[0] * items[0]) / len(items)
    scale = (mean_square + eps) ** -0.5
    return [xi * scale for xi in items]


def log_softmax(logits: Sequence[Operand]) -> Vector:
    """``z_i - log Σ exp(z_j)`` with ``z = logits - max(logits)``: finite for any finite logits.

    The max is an op of the graph (as in ``micrograd.losses.cross_entropy``), never a number read
    from the data, so a traced program stays exact for later logits.

    >>> [round(v.data, 4) for v in log_softmax([Value(1000.0), Value(1000.0)])]
    [-0.6931, -0.6931]
    """
    lse, z = _log_softmax_terms(_vector("logits", logits))
    return [zi - lse for zi in z]


def softmax(logits: Sequence[Operand]) -> Vector:
    """``exp(z_i) / Σ exp(z_j)`` with ``z = logits - max(logits)``: no overflow at huge logits.

    >>> [round(v.data, 4) for v in softmax([Value(1e6), Value(1e6 - 1)])]
    [0.7311, 0.2689]
    """
    items = _vector("logits", logits)
    top = items[0]
    for v in items[1:]:
        top = top.maximum(v)
    exps = [(v - top).exp() for v in items]
    total = sum(exps[1:], exps[0])
    return [e / total for e in exps]


# --- modules ---


class Embedding(Module):
    """A table of ``num_embeddings`` rows of ``embedding_dim`` weights; ``emb(i)`` is row ``i``.

    >>> import random; random.seed(0)
    >>> emb = Embedding(27, 16)
    >>> len(emb(3)), len(emb.parameters())
    (16, 432)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, std: float = INIT_STD) -> None:
        self.num_embeddings = check.integer("num_embeddings", num_embeddings, 1)
        self.embedding_dim = check.integer("embedding_dim", embedding_dim, 1)
        self.weight = _matrix(self.num_embeddings, self.embedding_dim, check.real("std", std, 0.0))

    def __call__(self, index: int) -> Vector:
        """Row ``index`` (an integer in ``[0, num_embeddings)``) as a list of Values.

        A traced program's index input is checked by comparisons and picks its row by
        ``lookup`` (a gather), so a program of it serves every index without a new trace.
        """
        i: Any = index
        if type(i) is not int and not hasattr(type(i), "__lookup__"):
            i = check.integer("index", index, 0)
        if not 0 <= i < self.num_embeddings:
            check.wrong_value("index", index, f"an index in [0, {self.num_embeddings})")
        row: Vector = lookup(self.weight, i)
        return row

    def parameters(self) -> list[Value]:
        """The weights, row by row."""
        return [p for row in self.weight for p in row]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``weight.{row}.{column}``."""
        return self._named("")

    def _named(self, prefix: str) -> list[tuple[str, Value]]:
        return _named_matrix(f"{prefix}weight.", self.weight)

    def config(self) -> dict[str, Any]:
        """``{'num_embeddings': …, 'embedding_dim': …}``."""
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim}

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class Linear(Module):
    """``y = W x (+ b)``: ``out_features`` dot products of ``in_features`` inputs, as in PyTorch.

    ``weight`` is ``out_features`` rows of ``in_features`` Values drawn from ``gauss(0, std)``;
    the bias (off by default, as in microgpt) starts at 0.

    >>> import random; random.seed(0)
    >>> lin = Linear(3, 2, bias=True)
    >>> lin
    Linear(in_features=3, out_features=2, bias=True)
    >>> len(lin([1.0, 2.0, 3.0])), len(lin.parameters())
    (2, 8)
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = False, std: float = INIT_STD
    ) -> None:
        self.in_features = check.integer("in_features", in_features, 1)
        self.out_features = check.integer("out_features", out_features, 1)
        has_bias = check.boolean("bias", bias)
        self.weight = _matrix(self.out_features, self.in_features, check.real("std", std, 0.0))
        self.bias = [Value(0.0) for _ in range(self.out_features)] if has_bias else None

    def __call__(self, x: Sequence[Operand]) -> Vector:
        """``W x (+ b)`` for ``x``, a list of ``in_features`` Values or numbers."""
        x = _vector("x", x, self.in_features)
        out = [_dot(row, x) for row in self.weight]
        if self.bias is not None:
            out = [y + b for y, b in zip(out, self.bias)]
        return out

    def parameters(self) -> list[Value]:
        """The weights row by row, then the bias."""
        return [p for row in self.weight for p in row] + (self.bias or [])

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``weight.{out}.{in}`` and ``bias.{out}``."""
        return self._named("")

    def _named(self, prefix: str) -> list[tuple[str, Value]]:
        bias = [(f"{prefix}bias.{i}", b) for i, b in enumerate(self.bias or [])]
        return _named_matrix(f"{prefix}weight.", self.weight) + bias

    def config(self) -> dict[str, Any]:
        """``{'in_features': …, 'out_features': …, 'bias': …}``."""
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
        }

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


class KVCache:
    """The keys and values each layer has seen so far, one list per layer: what lets a GPT read
    one token at a time (``GPT.step``) without computing earlier positions again."""

    def __init__(self, n_layer: int) -> None:
        n = check.integer("n_layer", n_layer, 1)
        self.keys: list[list[Vector]] = [[] for _ in range(n)]
        self.values: list[list[Vector]] = [[] for _ in range(n)]

    def __len__(self) -> int:
        """The number of positions cached."""
        return len(self.keys[0])

    def __repr__(self) -> str:
        return f"KVCache({len(self.keys)} layers, {len(self)} positions)"


class CausalSelfAttention(Module):
    """Multi-head self-attention in which a position sees itself and the positions before it.

    Each of ``n_head`` heads takes its slice of ``head_dim = n_embd // n_head`` from the query,
    key and value vectors: ``softmax(q·k_t / sqrt(head_dim))`` weighs the values ``v_t``. The
    heads' outputs, side by side, go through ``wo``.
    """

    def __init__(self, n_embd: int, n_head: int, std: float = INIT_STD) -> None:
        n_embd = check.integer("n_embd", n_embd, 1)
        n_head = check.integer("n_head", n_head, 1)
        if n_embd % n_head:
            check.wrong_value("n_head", n_head, f"a divisor of n_embd={n_embd}")
        self.n_embd, self.n_head, self.head_dim = n_embd, n_head, n_embd // n_head
        self.wq = Linear(n_embd, n_embd, std=std)
        self.wk = Linear(n_embd, n_embd, std=std)
        self.wv = Linear(n_embd, n_embd, std=std)
        self.wo = Linear(n_embd, n_embd, std=std)

    def _attend(self, q: Vector, keys: list[Vector], values: list[Vector]) -> Vector:
        """Every head's weighted sum of ``values`` for query ``q`` over ``keys``, side by side."""
        hd = self.head_dim
        scale = math.sqrt(hd)
        out: Vector = []
        for s in range(0, self.n_embd, hd):
            q_h = q[s : s + hd]
            # softmax(q·k_t / sqrt(head_dim)) over the positions t so far
            weights = softmax([_dot(q_h, k[s : s + hd]) / scale for k in keys])
            for j in range(s, s + hd):
                out.append(_dot(weights, [v[j] for v in values]))
        return out

    def forward(self, xs: list[Vector]) -> list[Vector]:
        """The whole sequence at once (``xs``: one vector of ``n_embd`` per position): position
        ``t`` attends to positions ``0 … t``."""
        xs = _vectors("xs", xs, self.n_embd)
        qs = [self.wq(x) for x in xs]
        ks = [self.wk(x) for x in xs]
        vs = [self.wv(x) for x in xs]
        return [self.wo(self._attend(q, ks[: t + 1], vs[: t + 1])) for t, q in enumerate(qs)]

    def step(self, x: Vector, keys: list[Vector], values: list[Vector]) -> Vector:
        """One new position ``x``: its key and value join ``keys`` and ``values`` (this layer's
        lists in a ``KVCache``), then it attends to all of them."""
        x = _vector("x", x, self.n_embd)
        _cache(keys, values, self.n_embd)
        keys.append(self.wk(x))
        values.append(self.wv(x))
        return self.wo(self._attend(self.wq(x), keys, values))

    def parameters(self) -> list[Value]:
        """``wq``, ``wk``, ``wv``, ``wo``."""
        return [p for lin in (self.wq, self.wk, self.wv, self.wo) for p in lin.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``wq.weight.{i}.{j}`` … ``wo.weight.{i}.{j}``."""
        return self._named("")

    def _named(self, prefix: str) -> list[tuple[str, Value]]:
        return _named_children(self, ("wq", "wk", "wv", "wo"), prefix)

    def __repr__(self) -> str:
        return f"CausalSelfAttention(n_embd={self.n_embd}, n_head={self.n_head})"


class FeedForward(Module):
    """``fc2(relu(fc1(x)))``: up to ``4 * n_embd`` ReLU units and back, no biases."""

    def __init__(self, n_embd: int, std: float = INIT_STD) -> None:
        n_embd = check.integer("n_embd", n_embd, 1)
        self.fc1 = Linear(n_embd, 4 * n_embd, std=std)
        self.fc2 = Linear(4 * n_embd, n_embd, std=std)

    def __call__(self, x: Vector) -> Vector:
        """``fc2(relu(fc1(x)))`` for ``x``, a list of ``n_embd`` Values or numbers."""
        return self.fc2([h.relu() for h in self.fc1(x)])

    def parameters(self) -> list[Value]:
        """``fc1``, then ``fc2``."""
        return self.fc1.parameters() + self.fc2.parameters()

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``fc1.weight.{i}.{j}`` and ``fc2.weight.{i}.{j}``."""
        return self._named("")

    def _named(self, prefix: str) -> list[tuple[str, Value]]:
        return _named_children(self, ("fc1", "fc2"), prefix)

    def __repr__(self) -> str:
        return f"FeedForward({self.fc1.in_features} -> {self.fc1.out_features} relu)"


def _add(a: Vector, b: Vector) -> Vector:
    return [ai + bi for ai, bi in zip(a, b)]


class Block(Module):
    """One transformer layer, pre-norm with residuals: ``x + attn(norm(x))``, then
    ``x + mlp(norm(x))``."""

    def __init__(self, n_embd: int, n_head: int, std: float = INIT_STD) -> None:
        self.attn = CausalSelfAttention(n_embd, n_head, std)
        self.mlp = FeedForward(n_embd, std)

    def forward(self, xs: list[Vector]) -> list[Vector]:
        """The whole sequence: one vector of ``n_embd`` Values per position."""
        xs = _vectors("xs", xs, self.attn.n_embd)
        xs = [_add(a, x) for a, x in zip(self.attn.forward([rmsnorm(x) for x in xs]), xs)]
        return [_add(self.mlp(rmsnorm(x)), x) for x in xs]

    def step(self, x: Vector, keys: list[Vector], values: list[Vector]) -> Vector:
        """One new position, with this layer's cached ``keys`` and ``values``."""
        x = _vector("x", x, self.attn.n_embd)
        x = _add(self.attn.step(rmsnorm(x), keys, values), x)
        return _add(self.mlp(rmsnorm(x)), x)

    def parameters(self) -> list[Value]:
        """``attn``, then ``mlp``."""
        return self.attn.parameters() + self.mlp.parameters()

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``attn.…`` and ``mlp.…``."""
        return self._named("")

    def _named(self, prefix: str) -> list[tuple[str, Value]]:
        return _named_children(self, ("attn", "mlp"), prefix)

    def __repr__(self) -> str:
        return f"Block({self.attn!r}, {self.mlp!r})"


def _named_children(module: Module, names: Sequence[str], prefix: str) -> list[tuple[str, Value]]:
    """The named parameters of ``module``'s children ``names``, each name under ``prefix``."""
    return [pair for name in names for pair in getattr(module, name)._named(f"{prefix}{name}.")]


class GPT(Module):
    """microgpt's GPT: token and position embeddings, RMSNorm, ``n_layer`` blocks, ``lm_head``.

    ``model(tokens)`` gives one row of ``vocab_size`` logits per token (position ``t`` sees
    tokens ``0 … t``); ``model.step(token, cache)`` gives the next position's logits, one token
    at a time, with a ``KVCache``. Weights are drawn in microgpt's order, so after
    ``random.seed(s)`` the model is microgpt's model for the same draws.

    >>> import random; random.seed(42)
    >>> model = GPT(vocab_size=27)
    >>> model
    GPT(vocab_size=27, n_embd=16, n_head=4, n_layer=1, block_size=16)
    >>> len(model.parameters())
    4192
    >>> len(model([26, 0, 1])), len(model([26, 0, 1])[0])
    (3, 27)
    """

    def __init__(
        self,
        vocab_size: int,
        n_embd: int = 16,
        n_head: int = 4,
        n_layer: int = 1,
        block_size: int = 16,
        std: float = INIT_STD,
    ) -> None:
        self.vocab_size = check.integer("vocab_size", vocab_size, 1)
        self.n_embd = check.integer("n_embd", n_embd, 1)
        self.n_head = check.integer("n_head", n_head, 1)
        if n_embd % n_head:
            check.wrong_value("n_head", n_head, f"a divisor of n_embd={n_embd}")
        self.n_layer = check.integer("n_layer", n_layer, 1)
        self.block_size = check.integer("block_size", block_size, 1)
        std = check.real("std", std, 0.0)
        n = self.n_embd
        count = (2 * self.vocab_size + self.block_size) * n + self.n_layer * 12 * n * n
        shape = ", ".join(f"{k}={v}" for k, v in self.config().items())
        check_parameter_count(f"GPT({shape})", count)
        # microgpt's draw order: wte, wpe, lm_head, then the layers.
        self.wte = Embedding(self.vocab_size, n, std)
        self.wpe = Embedding(self.block_size, n, std)
        self.lm_head = Linear(n, self.vocab_size, std=std)
        self.layers = [Block(n, self.n_head, std) for _ in range(self.n_layer)]

    def _tokens(self, tokens: object) -> list[Any]:
        """The token ids, each an int in ``[0, vocab_size)`` or a traced program's index input.

        An index input (``micrograd.fast``) is checked by comparisons alone, which a program
        guards by their outcome: any id in range replays the same program, never a new trace.
        """
        accepts = f"a list of 1 to {self.block_size} token ids (integers below {self.vocab_size})"
        items = check.sequence("tokens", tokens, accepts)
        if not 1 <= len(items) <= self.block_size:
            check.wrong_value("tokens", tokens, accepts)
        ids: list[Any] = []
        for i, t in enumerate(items):
            if type(t) is not int and not hasattr(type(t), "__lookup__"):
                t = check.integer(f"tokens[{i}]", t, 0, what="a token id")
            if not 0 <= t < self.vocab_size:
                check.wrong_value(f"tokens[{i}]", t, f"a token id in [0, {self.vocab_size})")
            ids.append(t)
        return ids

    def _embed(self, token: Any, position: int) -> Vector:
        # lookup: row ``token`` of wte, a gather in a traced program (any id, one program)
        return rmsnorm(_add(lookup(self.wte.weight, token), self.wpe.weight[position]))

    def forward(self, tokens: Sequence[int]) -> list[Vector]:
        """Logits for every position of ``tokens`` (at most ``block_size`` ids), computed for
        the whole sequence at once. Position ``t``'s logits depend on tokens ``0 … t`` alone, so
        tokens appended after a document leave its logits as they are."""
        xs = [self._embed(t, p) for p, t in enumerate(self._tokens(tokens))]
        for layer in self.layers:
            xs = layer.forward(xs)
        return [self.lm_head(x) for x in xs]

    def __call__(self, tokens: Sequence[int]) -> list[Vector]:
        """``forward(tokens)``."""
        return self.forward(tokens)

    def step(self, token: int, cache: KVCache) -> Vector:
        """The logits after one more token, at position ``len(cache)``; the cache grows by one.

        Raises ValueError when the cache already holds ``block_size`` positions.
        """
        if not isinstance(cache, KVCache):
            check.wrong_type("cache", cache, "a KVCache (from model.new_cache())")
        if len(cache.keys) != self.n_layer:
            check.wrong_value("cache", cache, f"a KVCache of {self.n_layer} layers")
        position = len(cache)
        if position >= self.block_size:
            check.wrong_value(
                "cache", cache, f"a KVCache of fewer than {self.block_size} positions"
            )
        (t,) = self._tokens([token])
        x = self._embed(t, position)
        for layer, keys, values in zip(self.layers, cache.keys, cache.values):
            x = layer.step(x, keys, values)
        return self.lm_head(x)

    def new_cache(self) -> KVCache:
        """An empty ``KVCache`` for this model."""
        return KVCache(self.n_layer)

    def parameters(self) -> list[Value]:
        """``wte``, ``wpe``, ``lm_head``, then each layer (microgpt's order)."""
        out = self.wte.parameters() + self.wpe.parameters() + self.lm_head.parameters()
        return out + [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``wte.weight.{i}.{j}``, ``wpe.…``, ``lm_head.…``, ``layers.{k}.…``."""
        named = _named_children(self, ("wte", "wpe", "lm_head"), "")
        for k, layer in enumerate(self.layers):
            named += layer._named(f"layers.{k}.")
        return named

    def config(self) -> dict[str, Any]:
        """The shape: ``vocab_size``, ``n_embd``, ``n_head``, ``n_layer``, ``block_size``."""
        return {
            "vocab_size": self.vocab_size,
            "n_embd": self.n_embd,
            "n_head": self.n_head,
            "n_layer": self.n_layer,
            "block_size": self.block_size,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GPT:
        """A fresh (randomly initialised) model of the shape ``config()`` describes.

        A config that is no dict raises TypeError; one that does not describe a GPT raises
        ``CheckpointError``.
        """
        if not isinstance(config, dict):
            check.wrong_type("config", config, "a dict such as GPT.config() gives")
        keys = ("vocab_size", "n_embd", "n_head", "n_layer", "block_size")
        try:
            return cls(**{k: config[k] for k in keys})
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"not a GPT config: {config!r} ({e})") from None

    def __repr__(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in self.config().items())
        return f"GPT({shape})"
