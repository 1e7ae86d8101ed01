"""micrograd: a tiny scalar-valued autograd engine and a neural-net library on top of it.

The core (engine, nn, losses, optim, data, train, gradcheck, explain) is pure Python; drawing,
plots and the compiled NumPy path import their extras only when used.
"""

import sys
import types

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from micrograd.engine import AnomalyError, Value, detect_anomaly, grad, no_grad
    from micrograd.explain import explain, explain_markdown, explain_text
    from micrograd.gradcheck import gradcheck, gradgradcheck, numerical_grad
    from micrograd.nn import MLP, Layer, Module, Neuron
    from micrograd.optim import SGD, Adam, AdamW
    from micrograd.train import fit

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "AnomalyError",
    "Layer",
    "Module",
    "Neuron",
    "Value",
    "__version__",
    "detect_anomaly",
    "explain",
    "explain_markdown",
    "explain_text",
    "fit",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "no_grad",
    "numerical_grad",
]

__version__ = "0.2.0"

# Each name above is imported from its module when first used (PEP 562), and so are the core
# modules as attributes (micrograd.nn): `import micrograd` loads nothing more, and the `micrograd`
# command handles Ctrl-C before any of the library is imported.
_HOMES = {
    **dict.fromkeys(("AnomalyError", "Value", "detect_anomaly", "grad", "no_grad"), "engine"),
    **dict.fromkeys(("explain", "explain_markdown", "explain_text"), "explain"),
    **dict.fromkeys(("gradcheck", "gradgradcheck", "numerical_grad"), "gradcheck"),
    **dict.fromkeys(("MLP", "Layer", "Module", "Neuron"), "nn"),
    **dict.fromkeys(("SGD", "Adam", "AdamW"), "optim"),
    "fit": "train",
}
# Modules reachable as attributes (micrograd.func); explain and gradcheck are functions there
_MODULES = ("data", "engine", "func", "losses", "nn", "optim", "train")


def __getattr__(name: str) -> object:
    """An exported name or a core module, imported now (on first use)."""
    import importlib

    if name in _MODULES:
        return importlib.import_module(f"micrograd.{name}")
    if name not in _HOMES:
        raise AttributeError(f"module 'micrograd' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"micrograd.{_HOMES[name]}"), name)
    globals()[name] = value  # later uses find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_MODULES})


class _Package(types.ModuleType):
    """This package: importing micrograd.explain (micrograd.gradcheck) sets the package's
    attribute of that name to the module; here it stays the function, as micrograd exports it."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("explain", "gradcheck") and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
