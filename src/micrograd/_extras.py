"""The name micrograd is installed under, and the pip command that adds one of its extras.

The import name is ``micrograd``; the distribution is ``micrograd-learn``, because the name
``micrograd`` on the package index is Karpathy's 0.1.0: a hint with that name would install it.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "EXTRAS", "install_hint"]

DISTRIBUTION = "micrograd-learn"

# The extras a user may need (pyproject.toml's optional-dependencies, less the developers' ones).
EXTRAS = ("viz", "plot", "fast", "cli", "gpt", "all", "lessons", "torch", "onnx", "jax")


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, for an error message to print.

    Raises ValueError for a name that is not one of ``EXTRAS``.

    >>> install_hint("viz")
    'pip install "micrograd-learn[viz]"'
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {', '.join(EXTRAS)}; got {extra!r}")
    return f'pip install "{DISTRIBUTION}[{extra}]"'
