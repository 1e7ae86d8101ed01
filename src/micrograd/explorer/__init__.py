"""Watch backprop: the graph and the narrated backward pass as one self-contained HTML page.

``to_html`` writes a page that opens from disk (no server, no network); ``explore`` shows the
same page inline in Jupyter. The layout is dagre's, shipped inside the package (MIT licence,
see ``assets/``). Standard library only.
"""

from micrograd.explorer._groups import Group, find_groups
from micrograd.explorer._page import Explorer, explore, graph_data, page, to_html

__all__ = ["Explorer", "Group", "explore", "find_groups", "graph_data", "page", "to_html"]
