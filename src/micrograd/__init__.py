"""micrograd: a tiny scalar-valued autograd engine and a neural-net library on top of it.

The core (engine, nn, losses, optim, data, train, gradcheck, explain) is pure Python; drawing,
plots and the compiled NumPy path import their extras only when used.
"""

from micrograd.engine import Value, grad, no_grad
from micrograd.explain import explain, explain_markdown, explain_text
from micrograd.gradcheck import gradcheck, numerical_grad
from micrograd.nn import MLP, Layer, Module, Neuron
from micrograd.optim import SGD, Adam, AdamW
from micrograd.train import fit

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "Layer",
    "Module",
    "Neuron",
    "Value",
    "__version__",
    "explain",
    "explain_markdown",
    "explain_text",
    "fit",
    "grad",
    "gradcheck",
    "no_grad",
    "numerical_grad",
]

__version__ = "0.2.0"
