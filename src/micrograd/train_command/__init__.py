"""``micrograd train``: settings, the run folder, checkpoints, the blow-up watch, the summary.

The parser is micrograd.cli's; ``run`` is the command, called with its parsed options. Its stages:
``settings`` (defaults, a checkpoint's, the command line's), ``files`` (the run folder, its lock),
``loop`` (history, checkpoints, the blow-up watch while it trains) and ``command`` (the whole run).
"""

from __future__ import annotations

from micrograd.train_command.command import run
from micrograd.train_command.settings import HIDDEN_ACTIVATIONS

__all__ = ["HIDDEN_ACTIVATIONS", "run"]
