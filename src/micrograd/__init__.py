"""micrograd: a tiny scalar-valued autograd engine and a neural-net library on top of it."""

from micrograd.engine import Value, no_grad

__all__ = ["Value", "__version__", "no_grad"]

__version__ = "0.2.0"
