"""``lookup(table, index)``: ``table[index]`` that a traced program replays for any index.

On a plain integer it is ``table[index]``. An index input of a traced program
(``micrograd.fast``) picks the row itself, as a gather the program then does for every index:
an embedding lookup or a class-index target is not frozen to the example's index. Standard
library only, so that ``nn``, ``losses`` and models can use it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["lookup"]


def lookup(table: Any, index: Any) -> Any:
    """``table[index]``: a row of a table of Values (a list of rows, or of Values).

    >>> lookup([[1, 2], [3, 4]], 1)
    [3, 4]
    """
    pick = getattr(type(index), "__lookup__", None)
    return table[index] if pick is None else pick(index, table)
