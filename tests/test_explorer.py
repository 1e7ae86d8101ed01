"""The explorer page (micrograd.explorer): its numbers are backward()'s, and it works offline."""

from __future__ import annotations

import hashlib
import html
import json
import math
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphs import and_gate, seed002
from micrograd import MLP, Layer, Neuron, Value
from micrograd.engine import topological_order
from micrograd.explain import explain
from micrograd.explorer import (
    Explorer,
    explore,
    find_groups,
    graph_data,
    to_html,
)
from micrograd.explorer._groups import MAX_DIRECT, Group, module_path

ROOT = Path(__file__).resolve().parent.parent
DATA = re.compile(r'<script type="application/json" id="mg-data">(.*?)</script>', re.S)


def embedded(page: str) -> dict[str, Any]:
    """The data a page carries, as the browser's script reads it (non-finite numbers decoded)."""
    (text,) = DATA.findall(page)
    data: dict[str, Any] = json.loads(text)
    decode = lambda x: float(x) if isinstance(x, str) else x  # noqa: E731
    data["data"] = [decode(x) for x in data["data"]]
    data["grad"] = [decode(x) for x in data["grad"]]
    for step in data["steps"]:
        for c in step[2]:
            c[1:4] = [decode(x) for x in c[1:4]]
    return data


def same(a: float | None, b: float | None) -> bool:
    """Equal floats, nan equal to nan, and 0.0 told from -0.0."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def backward_grads(build: Any) -> list[float]:
    """``.grad`` of every node after ``backward()`` on a fresh graph, in topological order."""
    root = build()
    root.backward()
    return [float(n.grad) for n in topological_order(root)]


# --- random expression graphs ---

UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "abs", "sqrt", "sin", "neg", "softplus"]
BINARY = ["+", "-", "*", "/", "**"]
inputs = st.one_of(st.integers(-16, 16).map(lambda i: i / 4), st.sampled_from([0.0, -0.0, 1.0]))
ops = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(UNARY), st.integers(0, 99), st.just(0)),
    st.tuples(st.just("binary"), st.sampled_from(BINARY), st.integers(0, 99), st.integers(0, 99)),
    st.tuples(st.just("const"), st.sampled_from(BINARY), st.integers(0, 99), st.integers(-2, 3)),
)
programs = st.tuples(st.lists(inputs, min_size=1, max_size=3), st.lists(ops, max_size=10))


def build(program: tuple[list[float], list[tuple[str, str, int, int]]]) -> Value:
    """The graph a program describes: inputs, then ops on earlier nodes (reuse is common)."""
    xs, steps = program
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    for kind, op, i, j in steps:
        a = nodes[i % len(nodes)]
        if kind == "unary":
            out = -a if op == "neg" else getattr(a, op)()
        else:
            b: Any = nodes[j % len(nodes)] if kind == "binary" else float(j)
            out = {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a**b}[op]
        nodes.append(out)
    return nodes[-1]


@given(programs)
def test_random_graphs_embed_the_gradients_of_backward(program: Any) -> None:
    """On random graphs (reuse, nan, inf included) the page's final grads are backward()'s."""
    data = embedded(to_html(build(program)))
    expected = backward_grads(lambda: build(program))
    assert all(same(a, b) for a, b in zip(data["grad"], expected, strict=True))


@given(programs)
def test_random_graphs_replayed_step_by_step_end_at_backward(program: Any) -> None:
    """Replaying the page's steps as its script does (root 1, then each grad_after) gives every
    grad backward() gives, with each step's numbers those of the narrator."""
    root = build(program)
    data = embedded(to_html(root))
    grads: list[float] = [0.0] * len(data["name"])
    grads[data["root"]] = 1.0
    for step, told in zip(data["steps"], explain(root), strict=True):
        assert step[1] == told.text()
        for (child, local, product, after, text), c in zip(
            step[2], told.contributions, strict=True
        ):
            assert data["name"][child] == c.child
            assert (same(local, c.local), same(product, c.product)) == (True, True)
            grads[child] = after
            assert text == f"{after:.6g}"
    expected = backward_grads(lambda: build(program))
    assert all(same(a, b) for a, b in zip(grads, expected, strict=True))


@pytest.mark.parametrize("make", [seed002, and_gate])
def test_named_graphs_embed_the_gradients_of_backward(make: Any) -> None:
    """Seed 002's and seed 003's pages carry backward()'s gradients, node by node."""
    data = embedded(to_html(make()))
    assert data["grad"] == backward_grads(make)


def test_seed002_page_names_and_numbers() -> None:
    """Seed 002's page: g = 24.7041 at the root, a.grad = 138.834 and b.grad = 645.577 shown."""
    data = embedded(to_html(seed002()))
    root = data["root"]
    a, b = data["name"].index("a"), data["name"].index("b")
    assert (data["name"][root], data["dtext"][root]) == ("g", "24.7041")
    shown = {}
    for step in data["steps"]:
        for child, _, _, _, text in step[2]:
            shown[data["name"][child]] = text
    assert (shown["a"], shown["b"]) == ("138.834", "645.577")
    assert (round(data["grad"][a], 4), round(data["grad"][b], 4)) == (138.8338, 645.5773)


def test_a_lone_leaf_has_no_steps_and_grad_one() -> None:
    """A leaf as the root: one value, no backward step, its own grad 1 (as backward() gives)."""
    x = Value(3.0, label="x")
    data = embedded(to_html(x))
    x.backward()
    assert (data["steps"], data["grad"], data["root"]) == ([], [x.grad], 0)


def test_forward_text_and_ops_as_drawn() -> None:
    """Each node's forward line is name = expression = value; ops are labelled as draw_dot's."""
    a = Value(2.0, label="a")
    b = (a * 3).tanh()
    b.label = "b"
    data = embedded(to_html(b))
    assert data["ftext"][0].startswith("a = 2   (a leaf")
    assert data["ftext"][1:] == ["n1 = a * 3 = 6", f"b = tanh(n1) = {math.tanh(6.0):.6g}"]
    assert data["op"] == ["", "* 3", "tanh"]
    assert data["kids"] == [[], [0], [1]]


# --- offline and safe ---

URL = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?!#)[a-z][a-z0-9+.-]*:""", re.I)


def test_the_page_loads_nothing_from_anywhere() -> None:
    """No src/href/url() points outside the page, and a CSP forbids any fetch."""
    page = to_html(seed002())
    assert URL.findall(page) == []
    assert re.findall(r"url\(\s*['\"]?(?!#)[a-z]+:", page, re.I) == []
    assert re.findall(r"<(?:link|iframe|img|object|embed)\b", page, re.I) == []
    assert re.findall(r"<script\b[^>]*\bsrc\b", page, re.I) == []
    assert "default-src 'none'" in page
    assert "@import" not in page


def test_the_licence_of_the_layout_library_is_in_the_page_and_the_package() -> None:
    """dagre's MIT licence travels with its script: inline in the page, beside it in assets."""
    page = to_html(seed002())
    licence = (ROOT / "src/micrograd/explorer/assets/dagre.LICENSE.txt").read_text()
    assert "Copyright (c) 2012-2014 Chris Pettitt" in licence
    assert licence in page


def test_the_vendored_layout_library_is_the_one_the_readme_names() -> None:
    """dagre.min.js is byte for byte the npm build whose checksum assets/README.md records."""
    assets = ROOT / "src/micrograd/explorer/assets"
    digest = hashlib.sha256((assets / "dagre.min.js").read_bytes()).hexdigest()
    assert f"sha256 `{digest}`" in (assets / "README.md").read_text(encoding="utf-8")


def test_a_label_cannot_end_the_script_or_inject_html() -> None:
    """A label holding </script> or markup is data: escaped in the JSON and in the title."""
    bad = "</script><img src=x onerror=alert(1)>"
    a = Value(1.0, label=bad)
    b = a * 2
    b.label = "<b>"
    page = to_html(b, title=bad)
    assert bad not in page
    assert page.count("</script>") == page.count("<script")
    assert embedded(page)["name"] == [bad, "<b>"]


def test_nan_and_infinity_survive_the_trip() -> None:
    """log(0) = -inf and 0 * inf = nan reach the page as numbers the script reads back."""
    x = Value(0.0, label="x")
    y = x.log()
    z = y * x
    data = embedded(to_html(z))
    assert data["data"][1] == -math.inf
    assert math.isnan(data["data"][2])
    assert '"-Infinity"' in DATA.findall(to_html(z))[0]


# --- groups: neurons and layers, parts of big graphs ---


def moons_loss(model: MLP, points: int = 1) -> Value:
    """The hinge loss of ``model`` on a few fixed points (label +1)."""
    loss: Value = Value(0.0)
    for p in range(points):
        x = [Value(0.5 + p, label=f"x{p}.0"), Value(-0.25, label=f"x{p}.1")]
        score = model(x)
        assert isinstance(score, Value)
        loss = loss + (1 + -1.0 * score).relu()
    return loss


def test_module_paths_of_parameter_names() -> None:
    """A parameter's module is its name without the attribute (and list index) at the end."""
    names = ["layers.1.neurons.0.w.3", "layers.1.neurons.0.b", "neurons.2.w.0", "w.0", "b"]
    assert [module_path(n) for n in names] == [
        ("layers", "1", "neurons", "0"),
        ("layers", "1", "neurons", "0"),
        ("neurons", "2"),
        (),
        (),
    ]


def test_an_mlp_groups_each_neuron_inside_its_layer() -> None:
    """MLP(2, [3, 1]): each neuron's weights, products, sums and activation in its box, the
    box inside its layer's; inputs and the loss outside every box."""
    random.seed(0)
    model = MLP(2, [3, 1])
    root = moons_loss(model)
    order = topological_order(root)
    groups, where = find_groups(order, model)
    assert [(g.name, g.parent) for g in groups] == [
        ("layers.0", -1),
        ("layers.0.neurons.0", 0),
        ("layers.0.neurons.1", 0),
        ("layers.0.neurons.2", 0),
        ("layers.1", -1),
        ("layers.1.neurons.0", 4),
    ]
    assert groups[0].title == "layers.0: Layer(2 -> 3, relu)"
    assert groups[5].title == "layers.1.neurons.0: LinearNeuron(3)"
    box = {n: groups[g].name if g >= 0 else "" for n, g in zip(order, where, strict=True)}
    for k, neuron in enumerate(model.layers[0].neurons):
        inside = [n for n in order if box[n] == f"layers.0.neurons.{k}"]
        # w0, w1, b, w0*x0, w1*x1, b + w0*x0, ... + w1*x1, relu
        assert len(inside) == 8
        assert set(neuron.parameters()) <= set(inside)
        assert sorted(n._op for n in inside) == ["", "", "", "*", "*", "+", "+", "ReLU"]
    outside = [n for n in order if box[n] == ""]
    assert sorted(n._op or n.label for n in outside) == ["", "*", "+", "+", "ReLU", "x0.0", "x0.1"]
    assert not any(box[n] == "" for n in model.parameters())


def test_a_single_neuron_is_one_box_named_by_its_repr() -> None:
    """A Neuron as the model: one box, titled as the neuron prints."""
    random.seed(1)
    n = Neuron(2, activation="tanh")
    out = n([1.0, -2.0])
    groups, where = find_groups(topological_order(out), n)
    assert [(g.name, g.title) for g in groups] == [("TanhNeuron(2)", "TanhNeuron(2)")]
    assert set(where) == {0}


def test_a_layer_of_neurons_boxes_each_neuron() -> None:
    """A Layer as the model: one box per neuron, and the sum of their outputs outside."""
    random.seed(2)
    layer = Layer(2, 3, activation="tanh")
    outs = layer.forward([0.5, -1.0])
    root = outs[0] + outs[1] + outs[2]
    groups, where = find_groups(topological_order(root), layer)
    assert [g.name for g in groups] == ["neurons.0", "neurons.1", "neurons.2"]
    assert where.count(-1) == 2  # the two sums of the outputs


def test_labels_like_parameter_names_make_boxes_without_a_model() -> None:
    """Leaves labelled as named_parameters() names are enough to box neurons and layers."""
    random.seed(3)
    model = MLP(2, [2, 1])
    for name, p in model.named_parameters():
        p.label = name
    root = moons_loss(model)
    boxes, by_model = find_groups(topological_order(root), model)
    groups, by_label = find_groups(topological_order(root))
    assert [groups[g].name if g >= 0 else "" for g in by_label] == [
        boxes[g].name if g >= 0 else "" for g in by_model
    ]
    assert sorted(g.title for g in groups) == sorted(g.name for g in boxes)


def test_a_model_lends_parameter_names_and_leaves_the_graph_alone() -> None:
    """With a model, unlabelled parameters are named by named_parameters(); labels come back."""
    random.seed(4)
    model = MLP(2, [2, 1])
    root = moons_loss(model)
    data = graph_data(root, model)
    assert "layers.1.neurons.0.b" in data["name"]
    assert all(p.label == "" for p in model.parameters())
    assert all(n.grad == 0.0 for n in topological_order(root))


def fullest_box(groups: list[Group], where: list[int]) -> int:
    """The most nodes and boxes side by side in one box (or at the top level)."""
    own: dict[int, int] = {}
    for g in [*where, *(group.parent for group in groups)]:
        own[g] = own.get(g, 0) + 1
    return max(own.values())


@pytest.mark.parametrize("count", [1, 2, MAX_DIRECT, MAX_DIRECT + 1, 1000, 20_000])
def test_big_ungrouped_graphs_are_cut_into_parts_no_box_too_full(count: int) -> None:
    """A chain of ``count`` nodes: no box (and not the top level) holds more than MAX_DIRECT
    nodes of its own or more than MAX_DIRECT sub-boxes, and each part is a run of nodes."""
    x = Value(0.5, label="x")
    for _ in range(count - 1):
        x = x * 1.0
    order = topological_order(x)
    groups, where = find_groups(order)
    assert fullest_box(groups, where) <= MAX_DIRECT
    runs = [[i for i, g in enumerate(where) if g == k] for k in set(where)]
    assert all(run == list(range(run[0], run[-1] + 1)) for run in runs)
    assert (count <= MAX_DIRECT) == (groups == [])


def test_a_big_mlp_keeps_every_box_small() -> None:
    """MLP(2, [64, 64, 1]) on two points (about 22,000 nodes): every box is small enough to lay
    out quickly, and every neuron's parameters are in its box."""
    random.seed(5)
    model = MLP(2, [64, 64, 1])
    root = moons_loss(model, points=2)
    order = topological_order(root)
    assert len(order) > 20_000
    groups, where = find_groups(order, model)
    assert fullest_box(groups, where) <= MAX_DIRECT
    index = {node: i for i, node in enumerate(order)}
    for name, p in model.named_parameters():
        g = where[index[p]]
        while groups[g].kind == "part":
            g = groups[g].parent
        assert groups[g].name == name.rsplit(".", 2 if name.split(".")[-1].isdigit() else 1)[0]


# --- bad input ---


def test_bad_arguments_say_what_they_accept() -> None:
    """A non-Value root, a model without parameters, a bad title, height or max_direct raise."""
    with pytest.raises(TypeError, match="root must be a micrograd Value, not float"):
        to_html(1.0)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="model must be a micrograd Module"):
        to_html(Value(1.0), model=object())
    with pytest.raises(TypeError, match="title must be a str or None, not int"):
        to_html(Value(1.0), title=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="height must be an int >= 200"):
        explore(Value(1.0), height=10)
    with pytest.raises(ValueError, match="max_direct must be an int >= 2"):
        find_groups([Value(1.0)], max_direct=1)


# --- files, Jupyter, the viz entry point ---


def test_to_html_writes_the_page_it_returns(tmp_path: Path) -> None:
    """to_html(root) is the page; to_html(root, path) writes the same page and returns path."""
    page = to_html(seed002())
    out = to_html(seed002(), tmp_path / "g.html")
    assert out == tmp_path / "g.html"
    assert out.read_text(encoding="utf-8") == page


def test_jupyter_shows_the_page_in_a_sandboxed_iframe() -> None:
    """explore()'s HTML is an iframe whose srcdoc is the whole page: no widget, no kernel, so
    a notebook exported to HTML keeps it."""
    ex = explore(seed002(), height=500)
    shown = ex._repr_html_()
    (srcdoc,) = re.findall(r'srcdoc="([^"]*)"', shown)
    assert html.unescape(srcdoc) == ex.html == to_html(seed002())
    assert 'sandbox="allow-scripts"' in shown
    assert 'title="micrograd explorer: g = 24.7041"' in shown
    assert "height: 500px" in shown
    assert isinstance(ex, Explorer)


def test_viz_to_html_is_the_explorer() -> None:
    """micrograd.viz.to_html is listed in viz.__all__ and writes the explorer's page."""
    from micrograd import viz

    assert "to_html" in viz.__all__
    assert viz.to_html(seed002()) == to_html(seed002())


@pytest.mark.parametrize("command", ["graph", "explain"])
def test_the_command_line_writes_the_explorer(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """micrograd graph/explain EXPR --html FILE write the page, with backward()'s gradients."""
    from micrograd.cli import main
    from micrograd.expr import evaluate

    text = "a=-4, b=2: (a*b + b**3 + a).tanh() * 2"
    path = tmp_path / "page.html"
    assert main([command, text, "--html", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    data = embedded(path.read_text(encoding="utf-8"))
    out, variables = evaluate(text)
    out.backward()
    got = {name: data["grad"][data["name"].index(name)] for name in variables}
    assert got == {name: v.grad for name, v in variables.items()}


def test_the_command_line_says_when_the_page_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --html path in a missing folder is a one-line error and exit status 1."""
    from micrograd.cli import main

    path = tmp_path / "missing" / "page.html"
    assert main(["explain", "x=1: x * 2", "--html", str(path)]) == 1
    assert f"micrograd explain: error: cannot write {path}:" in capsys.readouterr().err


def test_the_explorer_imports_no_optional_dependency() -> None:
    """import micrograd.explorer (and writing a page) loads no numpy, graphviz or matplotlib."""
    code = (
        "import sys\nfrom micrograd.explorer import to_html\nfrom micrograd import Value\n"
        "to_html(Value(1.0) * 2)\n"
        "print(sorted({'numpy', 'graphviz', 'matplotlib', 'tqdm', 'torch'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_wheel_carries_the_page_assets(tmp_path: Path) -> None:
    """A built wheel holds the template, the script, the style, dagre and its licence."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = "micrograd/explorer/assets/"
    wanted = ["explorer.html", "explorer.css", "explorer.js", "dagre.min.js", "dagre.LICENSE.txt"]
    assert {assets + name for name in wanted} <= names


# --- the training report ---

REPORT_DATA = re.compile(r"<script type='application/json' id='rep-data'>(.*?)</script>", re.S)


def trained_report(steps: int = 6, every: int = 2) -> tuple[MLP, Any, Any, Any, str]:
    """A small MLP trained a few steps on moons, its checkpoints, and its report page."""
    from micrograd.data import make_moons
    from micrograd.explorer.report import Checkpoints, training_report
    from micrograd.optim import SGD
    from micrograd.train import fit

    X, y = make_moons(n_samples=30, noise=0.1, seed=3)
    random.seed(3)
    model = MLP(2, [4, 1])
    kept = Checkpoints(model, every)
    kept.take(0)
    history: list[Any] = []
    fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=SGD(model.parameters(), lr=0.3),
        steps=steps,
        callback=kept.wrap(history.append),
        engine="value",
    )
    page = training_report(
        model,
        X,
        y,
        loss="hinge",
        losses=[r.loss for r in history],
        accuracies=[r.accuracy for r in history],
        checkpoints=kept.steps,
        settings={"dataset": "moons", "steps": steps},
        summary="six steps",
    )
    assert isinstance(page, str)
    return model, X, y, kept, page


def test_the_report_draws_each_checkpoint_as_the_model_decides() -> None:
    """Each checkpoint's picture is predict() of that checkpoint's weights on the grid cells,
    with its accuracy on all points; the steps are 0 and every second step."""
    from micrograd.explorer.report import GRID
    from micrograd.train import accuracy, predict

    _, X, y, kept, page = trained_report()
    frames = json.loads(REPORT_DATA.findall(page)[0])
    assert [f["step"] for f in frames["frames"]] == [0, 2, 4, 6]
    x0, x1, y0, y1 = frames["bounds"]
    cells = [
        [x0 + (x1 - x0) * (i + 0.5) / GRID, y1 - (y1 - y0) * (j + 0.5) / GRID]
        for j in range(GRID)
        for i in range(GRID)
    ]
    shadow = MLP(2, [4, 1])
    for frame, (step, weights) in zip(frames["frames"], kept.steps, strict=True):
        shadow.load_state_dict(weights)
        assert frame["grid"] == "".join(map(str, predict(shadow, cells)))
        assert frame["accuracy"] == accuracy(shadow, X, y)
        assert step == frame["step"]
    assert frames["points"] == [[p[0], p[1], t] for p, t in zip(X, y, strict=True)]


def test_the_report_explores_the_loss_of_the_first_point() -> None:
    """The report's explorer holds the hinge loss of the trained model on the first point, with
    backward()'s gradients, and the model's neurons boxed."""
    from micrograd.losses import hinge_loss

    model, X, y, _, page = trained_report(steps=1, every=1)  # the first point is still wrong
    data = embedded(page)
    score = model([Value(X[0][0]), Value(X[0][1])])
    assert isinstance(score, Value)
    loss = hinge_loss([score], [2 * y[0] - 1])
    model.zero_grad()  # training left the last step's gradients
    loss.backward()
    assert data["data"][data["root"]] == loss.data > 0
    grads = dict(zip(data["name"], data["grad"], strict=True))
    assert [grads[name] for name, _ in model.named_parameters()] == [
        p.grad for p in model.parameters()
    ]
    assert [g[0] for g in data["groups"]][:2] == ["layers.0", "layers.0.neurons.0"]


def test_the_report_is_offline_and_says_what_its_pictures_show() -> None:
    """The report loads nothing from anywhere; its curves and picture carry alt text."""
    *_, page = trained_report()
    assert URL.findall(page) == []
    assert "default-src 'none'" in page
    assert re.findall(r'<svg class="rep-curve"[^>]*role="img" aria-label="Loss per step', page)
    assert re.findall(r'aria-label="Accuracy per step, steps 0 to 5', page)
    assert "role='img' aria-label='Decision boundary'" in page
    assert "<td>&quot;moons&quot;</td>" in page


def test_checkpoints_keep_the_weights_of_every_nth_step() -> None:
    """Checkpoints(every=3, start=4) keeps steps 6 and 9 of a run resumed at step 4."""
    from micrograd.explorer.report import Checkpoints
    from micrograd.train import StepRecord

    random.seed(0)
    model = MLP(1, [1])
    kept = Checkpoints(model, 3, start=4)
    on_step = kept.wrap(lambda record: None)
    for k in range(6):
        model.parameters()[0].data = float(k)
        on_step(StepRecord(step=k, loss=0.0, accuracy=1.0, lr=0.1))
    assert [(step, w["layers.0.neurons.0.w.0"]) for step, w in kept.steps] == [(6, 1.0), (9, 4.0)]
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        Checkpoints(model, 0)


def test_a_report_without_two_inputs_or_with_bad_lengths() -> None:
    """Three inputs: no boundary, said in words; mismatched lengths are a ValueError."""
    from micrograd.explorer.report import training_report

    random.seed(0)
    model = MLP(3, [1])
    X, y = [[0.0, 1.0, 2.0], [1.0, 0.0, -1.0]], [0, 1]
    page = training_report(
        model, X, y, loss="hinge", losses=[1.0], accuracies=[0.5], checkpoints=[], settings={}
    )
    assert "No decision boundary: the data does not have two inputs." in str(page)
    with pytest.raises(ValueError, match="X and y need the same, nonzero length"):
        training_report(model, X, [0], loss="hinge", losses=[], accuracies=[], checkpoints=[],
                        settings={})  # fmt: skip
    with pytest.raises(ValueError, match="1 losses but 0 accuracies"):
        training_report(model, X, y, loss="hinge", losses=[1.0], accuracies=[], checkpoints=[],
                        settings={})  # fmt: skip


def test_micrograd_train_report_writes_report_html(tmp_path: Path) -> None:
    """micrograd train --report writes report.html beside the checkpoint: one boundary per
    checkpoint (steps 0, 2, 4), every step's loss, and the run's settings."""
    from micrograd.cli import main

    out = tmp_path / "run"
    options = ["--steps", "4", "--checkpoint-every", "2", "--samples", "20", "--layers", "4"]
    code = main(["train", *options, "--out", str(out), "--report", "--no-plots", "--no-progress"])
    assert code == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    frames = json.loads(REPORT_DATA.findall(page)[0])
    assert [f["step"] for f in frames["frames"]] == [0, 2, 4]
    history = (out / "history.csv").read_text().splitlines()[1:]
    assert page.count("<polyline") == 2 and len(history) == 4
    assert "<th scope='row'>checkpoint_every</th>" not in page
    assert "<th scope='row'>layers</th><td>[4]</td>" in page
