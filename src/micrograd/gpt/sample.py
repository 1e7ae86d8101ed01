"""New documents from a trained GPT: one character at a time, drawn at a temperature.

The model reads ``bos`` and the prefix through its KV cache, then draws each next token from
``softmax(logits / temperature)`` until it draws ``bos`` or fills its block.
"""

from __future__ import annotations

import math
import random

from micrograd import _check as check
from micrograd.engine import no_grad
from micrograd.gpt.model import GPT
from micrograd.gpt.tokenizer import CharTokenizer, not_in_vocabulary

__all__ = ["generate", "probabilities"]


def probabilities(logits: list[float], temperature: float) -> list[float]:
    """``softmax(logits / temperature)`` on floats, shifted by the largest logit (no overflow).

    >>> [round(p, 4) for p in probabilities([1.0, 0.0], 0.5)]
    [0.8808, 0.1192]
    """
    xs = check.reals("logits", logits)
    t = check.real("temperature", temperature, 0.0, open_low=True)
    top = max(xs)
    exps = [math.exp((x - top) / t) for x in xs]
    total = math.fsum(exps)
    return [e / total for e in exps]


def generate(
    model: GPT,
    tokenizer: CharTokenizer,
    num: int = 20,
    temperature: float = 0.5,
    prefix: str = "",
    rng: random.Random | None = None,
) -> list[str]:
    """``num`` new documents, each starting with ``prefix``, drawn at ``temperature`` with
    ``rng`` (default: a fresh ``random.Random()``).

    Raises ValueError for a prefix with a character outside the tokenizer's vocabulary, or one
    too long to leave room for a character in the model's block.
    """
    if not isinstance(model, GPT):
        check.wrong_type("model", model, "a GPT")
    if not isinstance(tokenizer, CharTokenizer):
        check.wrong_type("tokenizer", tokenizer, "a CharTokenizer")
    if tokenizer.vocab_size != model.vocab_size:
        check.wrong_value(
            "tokenizer", tokenizer, f"a tokenizer of {model.vocab_size} ids (the model's)"
        )
    num = check.integer("num", num, 0)
    check.real("temperature", temperature, 0.0, open_low=True)
    prefix = check.text("prefix", prefix)
    for ch in prefix:
        if ch not in tokenizer.chars:
            raise ValueError(not_in_vocabulary("prefix", prefix, ch, tokenizer.chars))
    start = [tokenizer.bos, *tokenizer.encode(prefix)]
    if len(start) >= model.block_size:
        check.wrong_value("prefix", prefix, f"at most {model.block_size - 2} characters")
    if rng is None:
        rng = random.Random()
    elif not isinstance(rng, random.Random):
        check.wrong_type("rng", rng, "a random.Random or None")
    ids = range(model.vocab_size)
    out = []
    with no_grad():  # no graph: sampling never calls backward
        for _ in range(num):
            cache = model.new_cache()
            for token in start:
                logits = model.step(token, cache)
            drawn = start[1:]
            while len(cache) < model.block_size:
                weights = probabilities([v.data for v in logits], temperature)
                token = rng.choices(ids, weights=weights)[0]
                if token == tokenizer.bos:
                    break
                drawn.append(token)
                logits = model.step(token, cache)
            out.append(tokenizer.decode(drawn))
    return out
