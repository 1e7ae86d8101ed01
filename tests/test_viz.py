"""Tests for drawing graphs: draw_dot's records and edges, real SVG from dot, plain text."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

from graphs import and_gate, seed002
from lecture import lecture_op
from micrograd.engine import Value, topological_order
from micrograd.explain import explain
from micrograd.viz import draw_dot, draw_text, render_dot

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(svg: bytes | str) -> list[str]:
    """Every piece of text drawn in an SVG document, in document order."""
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def record_names(dot: graphviz.Digraph) -> list[str]:
    """The first field (label or name) of every Value record, in drawing order."""
    return [line.split("{ ")[1].split(" |")[0] for line in dot.body if "shape=record" in line]


def op_labels(dot: graphviz.Digraph) -> list[str]:
    """The label of every op node, unquoted, in drawing order."""
    found = [
        re.search(r'label=("[^"]*"|\S+)', line) for line in dot.body if "shape=ellipse" in line
    ]
    return [m.group(1).strip('"') for m in found if m]


def test_draw_dot_is_a_digraph_with_one_record_per_value() -> None:
    """draw_dot returns a graphviz.Digraph holding `label | data | grad` for each Value."""
    root = and_gate()
    root.backward()
    dot = draw_dot(root)
    records = [line.strip() for line in dot.body if "shape=record" in line]
    assert isinstance(dot, graphviz.Digraph)
    assert (dot.format, dot.graph_attr["rankdir"]) == ("svg", "LR")
    assert len(records) == len(topological_order(root))
    assert 'v4 [label="{ n5 | data 0.5000 | grad 1.0000 }" shape=record]' in records
    assert 'v7 [label="{ n8 | data 0.0000 | grad -1.0000 }" shape=record]' in records


def test_edges_go_input_to_op_to_output() -> None:
    """Each op gets a small node, an edge from each operand and one to its result."""
    dot = draw_dot(and_gate())
    edges = [line.strip() for line in dot.body if "->" in line]
    # n5 = n3 * n4: n3 is v2, n4 is v3, n5 is v4.
    assert edges[3:6] == ["v4op -> v4", "v2 -> v4op", "v3 -> v4op"]
    interior = [n for n in topological_order(and_gate()) if n._prev]
    assert len(edges) == sum(1 + len(n._prev) for n in interior)


def test_a_reused_operand_gets_two_edges() -> None:
    """b = a + a draws two edges from a into the + node, one per operand."""
    a = Value(1.0, label="a")
    edges = [line.strip() for line in draw_dot(a + a).body if "->" in line]
    assert edges == ["v1op -> v1", "v0 -> v1op", "v0 -> v1op"]


def test_op_nodes_show_the_op_as_written() -> None:
    """A plain-number operand shows in the op node: `**2`, `* -1`, `+ 1`; functions by name."""
    x = Value(3.0, label="x")
    root = ((x**2) * -1 + 1).tanh()
    assert op_labels(draw_dot(root)) == ["**2", "* -1", "+ 1", "tanh"]


def test_render_svg_with_dot(tmp_path: Path) -> None:
    """render_dot runs dot and writes an SVG whose text has the labels and the numbers."""
    root = and_gate()
    root.backward()
    path = render_dot(root, tmp_path / "and.svg")
    texts = svg_texts(path.read_bytes())
    expected = ["n1", "n5", "n9", "data 0.7000", "grad 0.5000", "grad -1.0000", "abs", "-"]
    assert path == tmp_path / "and.svg"
    assert [t for t in expected if t not in texts] == []


def test_pipe_gives_svg_of_seed002() -> None:
    """The Digraph itself pipes through dot: seed 002's SVG shows g = 24.7041 and a's gradient."""
    root = seed002()
    root.backward()
    texts = svg_texts(draw_dot(root).pipe(encoding="utf-8"))
    assert {"g", "data 24.7041", "grad 138.8338", "grad 645.5773"} - set(texts) == set()


def test_render_png(tmp_path: Path) -> None:
    """The format follows the file's suffix: a .png file is a real PNG."""
    path = render_dot(and_gate(), tmp_path / "and.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_colour_by_grad() -> None:
    """colour_by_grad fills the largest |grad| orange, zero white, and scales in between."""
    a, b = Value(2.0, label="a"), Value(-4.0, label="b")
    c = a * b
    c.label = "c"
    c.backward()  # a.grad = -4 (the largest), b.grad = 2, c.grad = 1
    fills = {
        line.split("{ ")[1].split(" |")[0]: line.split('fillcolor="')[1][:7]
        for line in draw_dot(c, colour_by_grad=True).body
        if "fillcolor" in line
    }
    assert fills == {"a": "#f07828", "b": "#f8bc94", "c": "#fbddc9"}
    c.grad, a.grad, b.grad = 0.0, 0.0, 0.0
    assert {"#ffffff"} == {
        line.split('fillcolor="')[1][:7]
        for line in draw_dot(c, colour_by_grad=True).body
        if "fillcolor" in line
    }


def test_feeds_keeps_only_what_a_node_is_computed_from() -> None:
    """feeds=n5 draws n1..n5 and nothing downstream of n5."""
    root = and_gate()
    n5 = next(n for n in topological_order(root) if n.label == "n5")
    assert record_names(draw_dot(root, feeds=n5)) == ["n1", "n2", "n3", "n4", "n5"]


def test_feeds_outside_the_graph_is_an_error() -> None:
    """Asking for the part that feeds a node of another graph raises ValueError."""
    with pytest.raises(ValueError, match="feeds"):
        draw_dot(and_gate(), feeds=Value(1.0))


def test_names_option_names_unlabeled_nodes() -> None:
    """names=True shows n10 for the unlabeled difference n7 - n8; by default it is blank."""
    shown = record_names(draw_dot(and_gate(), names=True))
    assert shown == ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n10", "n9"]
    assert record_names(draw_dot(and_gate()))[8] == ""


def test_record_characters_are_escaped() -> None:
    """A label with record syntax in it ({, |, <) is escaped and still renders with dot."""
    x = Value(1.0, label="x|{y}<z>")
    dot = draw_dot(x * 2)
    assert "{ x\\|\\{y\\}\\<z\\> | data 1.0000 | grad 0.0000 }" in dot.source
    assert "x|{y}<z>" in svg_texts(dot.pipe(encoding="utf-8"))


def test_gradients_that_are_values_are_drawn_as_numbers() -> None:
    """After backward(create_graph=True) a grad is a Value; the record shows its number."""
    x = Value(3.0, label="x")
    y = x**2
    y.backward(create_graph=True)
    assert "{ x | data 3.0000 | grad 6.0000 }" in draw_dot(y).source


def test_missing_dot_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dot on PATH draw_dot still works, and rendering says how to install graphviz."""
    monkeypatch.setenv("PATH", str(tmp_path))
    dot = draw_dot(and_gate())
    assert isinstance(dot, graphviz.Digraph)
    for render in (
        lambda: render_dot(and_gate(), tmp_path / "g.svg"),
        lambda: dot.pipe(),
        lambda: dot.render(tmp_path / "g"),
        lambda: dot._repr_mimebundle_(),
    ):
        with pytest.raises(graphviz.ExecutableNotFound) as info:
            render()
        assert "apt-get install graphviz" in str(info.value)
        assert "brew install graphviz" in str(info.value)


def test_missing_graphviz_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the graphviz package draw_dot raises ImportError naming the viz extra."""
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r'pip install "micrograd-learn\[viz\]"'):
        draw_dot(and_gate())


def test_draw_text_and_gate() -> None:
    """draw_text prints the AND gate as a tree of names, expressions, data and grads."""
    root = and_gate()
    root.backward()
    expected = """\
n9 = |n10|   data 0.7000   grad 1.0000
└── n10 = n7 - n8   data 0.7000   grad 1.0000
    ├── n7 = n5 + n6   data 0.7000   grad 1.0000
    │   ├── n5 = n3 * n4   data 0.5000   grad 1.0000
    │   │   ├── n3 = n1 + n2   data 1.0000   grad 0.5000
    │   │   │   ├── n1   data 0.0000   grad 0.5000
    │   │   │   └── n2   data 1.0000   grad 0.5000
    │   │   └── n4   data 0.5000   grad 1.0000
    │   └── n6   data 0.2000   grad 1.0000
    └── n8   data 0.0000   grad -1.0000"""
    assert draw_text(root) == expected


def test_draw_text_refers_back_to_a_reused_node() -> None:
    """A node reached twice is drawn once; the second time it says (see above)."""
    a = Value(1.0, label="a")
    b = a * 2.0
    b.label = "b"
    c = b + b
    c.label = "c"
    expected = """\
c = b + b   data 4.0000   grad 0.0000
|-- b = a * 2   data 2.0000   grad 0.0000
|   `-- a   data 1.0000   grad 0.0000
`-- b   (see above)"""
    assert draw_text(c, unicode=False) == expected


def test_draw_text_deep_graph() -> None:
    """A chain of 2000 ops, deeper than the recursion limit, draws each node once, 16 deep."""
    x = Value(0.0, label="x")
    for _ in range(2000):
        x = x + 1.0
    lines = draw_text(x).splitlines()
    indents = {(len(line) - len(line.lstrip("│├└─ "))) // 4 for line in lines if line}
    # 125 trees of 16 levels; each but the first adds a "(see below)" line and a blank one.
    assert (len(lines), sum(" = " in line for line in lines), max(indents)) == (2249, 2000, 16)


def test_draw_text_continues_a_deep_subtree_below() -> None:
    """Past max_depth a subtree is drawn below as a tree of its own, and referred to by name."""
    x = Value(2.0, label="x")
    y = ((x * x).tanh() + x).exp()
    y.label = "y"
    expected = """\
y = exp(n3)   data 20.0721   grad 0.0000
`-- n3 = n2 + x   data 2.9993   grad 0.0000
    |-- n2   (see below)
    `-- x   data 2.0000   grad 0.0000

n2 = tanh(n1)   data 0.9993   grad 0.0000
`-- n1 = x * x   data 4.0000   grad 0.0000
    |-- x   data 2.0000   grad 0.0000
    `-- x   data 2.0000   grad 0.0000"""
    assert draw_text(y, unicode=False, max_depth=2) == expected


def test_draw_text_draws_a_deep_shared_node_once_below() -> None:
    """A node past max_depth is drawn once, in its own tree; every other visit says (see below)."""
    x = Value(1.0, label="x")
    a = (x + 1.0).exp()
    a.label = "a"
    b = a.tanh()
    b.label = "b"
    c = (b * a) + a.exp()
    c.label = "c"
    expected = """\
c = n2 + n3   data 1625.5670   grad 0.0000
|-- n2 = b * a   data 7.3891   grad 0.0000
|   |-- b   (see below)
|   `-- a   (see below)
`-- n3 = exp(a)   data 1618.1780   grad 0.0000
    `-- a   (see below)

b = tanh(a)   data 1.0000   grad 0.0000
`-- a   (see below)

a = exp(n1)   data 7.3891   grad 0.0000
`-- n1 = x + 1   data 2.0000   grad 0.0000
    `-- x   data 1.0000   grad 0.0000"""
    assert draw_text(c, unicode=False, max_depth=2) == expected


@pytest.mark.parametrize(
    ("max_depth", "error"),
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_draw_text_max_depth_must_be_a_positive_whole_number(
    max_depth: object, error: type[Exception]
) -> None:
    """max_depth below 1 is a ValueError, not an int a TypeError, each naming it."""
    with pytest.raises(error, match="max_depth"):
        draw_text(Value(1.0) + 1.0, max_depth=max_depth)  # type: ignore[arg-type]


def test_importing_the_drawing_modules_loads_no_extra() -> None:
    """Importing micrograd, viz, plot and explain loads none of graphviz, matplotlib, numpy."""
    code = (
        "import sys, micrograd, micrograd.viz, micrograd.plot, micrograd.explain;"
        "print(sorted(m for m in ('graphviz', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


def closure_graph() -> Value:
    """s = sum3(x, p, c) with p = x**2 (the lecture's '**2') and c = cube(p), all closures."""
    x = Value(2.0, label="x")
    p = lecture_op("**2", 4.0, (x,))
    c = lecture_op("cube", 64.0, (p,))
    s = lecture_op("sum3", 70.0, (x, p, c))
    s.label = "s"
    return s


def test_draw_dot_shows_closure_ops_by_name_with_every_child() -> None:
    """Lecture-style ops show their own name (and **2's exponent), with an edge from each child."""
    dot = draw_dot(closure_graph())
    edges = [line.strip() for line in dot.body if "->" in line]
    assert op_labels(dot) == ["**2", "cube", "sum3"]
    assert edges[-4:] == ["v3op -> v3", "v0 -> v3op", "v1 -> v3op", "v2 -> v3op"]


def test_draw_text_shows_closure_ops() -> None:
    """draw_text writes a closure op as name(children...), and **2 as x**2."""
    root = closure_graph()
    root.backward()
    expected = """\
s = sum3(x, n1, n2)   data 70.0000   grad 1.0000
|-- x   data 2.0000   grad 3.0000
|-- n1 = x**2   data 4.0000   grad 2.0000
|   `-- x   data 2.0000   grad 3.0000
`-- n2 = cube(n1)   data 64.0000   grad 1.0000
    `-- n1   (see above)"""
    assert draw_text(root, unicode=False) == expected


def test_render_a_closure_graph(tmp_path: Path) -> None:
    """dot renders a graph of closure ops: the SVG has the op names and the gradients."""
    root = closure_graph()
    root.backward()
    texts = svg_texts(render_dot(root, tmp_path / "closures.svg").read_bytes())
    assert {"sum3", "cube", "**2", "grad 3.0000"} - set(texts) == set()


@pytest.mark.parametrize(
    ("op", "expression", "label"),
    [
        ("**2", "x**2", "**2"),  # the lecture's pow: its name gives the exponent
        ("**-1", "x**-1", "**-1"),
        ("**", "**(x)", "**"),  # no number in the name: none is shown (not x**0)
        ("leaky_relu", "leaky_relu(x)", "leaky_relu"),  # slope unknown: not shown as 0
        ("*", "*(x)", "*"),  # a two-operand op built with one child: no constant
        ("cube", "cube(x)", "cube"),
        ("relu", "relu(x)", "ReLU"),
    ],
)
def test_hand_built_closure_ops_show_only_numbers_someone_wrote(
    op: str, expression: str, label: str
) -> None:
    """A closure op built by hand shows the exponent its name gives, and never a made-up 0."""
    x = Value(3.0, label="x")
    y = lecture_op(op, 9.0, (x,))
    y.label = "y"
    step = explain(y)[0]
    assert (draw_text(y).splitlines()[0], op_labels(draw_dot(y)), step.expression) == (
        f"y = {expression}   data 9.0000   grad 0.0000",
        [label],
        expression,
    )
    assert [v for _, name, v in step.operands if not name] == (
        [float(op[2:])] if op.startswith("**") and op != "**" else []
    )
