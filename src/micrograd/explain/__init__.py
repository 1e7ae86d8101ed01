"""The backprop narrator: the chain rule, one node at a time, with real numbers.

Every number comes from what ``backward()`` runs at each node, in its order: the engine's rule
table (``RULES[op]``), or a lecture-style node's own ``_backward`` closure, so the narrator and
``backward()`` agree to the last bit.

The parts, one module each: ``_names`` (node names, numbers, each op as it was written),
``_steps`` (the records ``Contribution``, ``Step``, ``Explanation`` and how they print),
``_narrate`` (the walk: ``explain``), ``_naive`` (naive recursion beside it).
"""

from __future__ import annotations

# Written `x as x`: the private names are used by micrograd.viz.
from micrograd.explain._naive import NaiveComparison, compare_naive_recursion
from micrograd.explain._names import _constant as _constant
from micrograd.explain._names import _constant_of as _constant_of
from micrograd.explain._names import _expression as _expression
from micrograd.explain._names import _written as _written
from micrograd.explain._names import node_names
from micrograd.explain._narrate import explain, explain_markdown, explain_text
from micrograd.explain._steps import Contribution, Explanation, Step

__all__ = [
    "Contribution",
    "Explanation",
    "NaiveComparison",
    "Step",
    "compare_naive_recursion",
    "explain",
    "explain_markdown",
    "explain_text",
    "node_names",
]
