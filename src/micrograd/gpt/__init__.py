"""microgpt on micrograd: a character-level GPT made of Values, its tokenizer, data and training.

``micrograd gpt train`` and ``micrograd gpt sample`` are ``micrograd.gpt.command``.

>>> import random; random.seed(42)
>>> tokenizer = CharTokenizer.from_documents(sample_names())
>>> model = GPT(tokenizer.vocab_size)
>>> len(model.parameters())
4192
"""

from micrograd.gpt.data import names, read_documents, sample_names
from micrograd.gpt.model import (
    GPT,
    Block,
    CausalSelfAttention,
    Embedding,
    FeedForward,
    KVCache,
    Linear,
    log_softmax,
    rmsnorm,
    softmax,
)
from micrograd.gpt.sample import generate
from micrograd.gpt.tokenizer import CharTokenizer
from micrograd.gpt.train import document_loss, make_optimizer, schedule, value_step

__all__ = [
    "GPT",
    "Block",
    "CausalSelfAttention",
    "CharTokenizer",
    "Embedding",
    "FeedForward",
    "KVCache",
    "Linear",
    "document_loss",
    "generate",
    "log_softmax",
    "make_optimizer",
    "names",
    "read_documents",
    "rmsnorm",
    "sample_names",
    "schedule",
    "softmax",
    "value_step",
]
