"""Value.register_hook: a function called with a node's complete gradient in backward(), whose
result replaces it, as torch's Tensor.register_hook; a handle removes it."""

from __future__ import annotations

import gc
import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd import engine, fast
from micrograd.engine import Value, grad
from micrograd.fast import TraceError
from test_engine import memory_left_after
from test_engine_random import BINARY, UNARY, close, programs


def test_an_interior_hook_replaces_the_gradient_its_children_receive() -> None:
    """y = x*x at 3 with a hook g -> 10g on y: x.grad = 10 * 2x = 60, y.grad = 10."""
    x = Value(3.0)
    y = x * x
    y.register_hook(lambda g: g * 10)
    y.backward()
    assert (x.grad, y.grad) == (60.0, 10.0)


def test_a_hook_sees_the_gradient_once_every_contribution_is_in() -> None:
    """h used three times (z = h*h + h at h = 4) is hooked once, with dz/dh = 2h + 1 = 9."""
    x = Value(2.0)
    h = x * 2.0
    seen: list[float] = []
    h.register_hook(seen.append)
    (h * h + h).backward()
    assert (seen, x.grad) == ([9.0], 18.0)


def test_a_leaf_hook_sees_this_calls_gradient_and_its_result_accumulates() -> None:
    """As torch: with g -> 2g on x, (3x).backward() twice gives x.grad 6 then 12; each call's
    hook sees 3, not the accumulated gradient."""
    x = Value(2.0)
    seen: list[float] = []
    x.register_hook(lambda g: seen.append(g) or 2 * g)
    (x * 3.0).backward()
    first = x.grad
    (x * 3.0).backward()
    assert (seen, first, x.grad) == ([3.0, 3.0], 6.0, 12.0)


def test_hooks_chain_in_order_and_none_keeps_the_gradient() -> None:
    """g -> g + 1, then a hook returning None, then g -> 10g: y = x*x at 2 gives (1 + 1) * 10 = 20
    into y, 80 into x."""
    x = Value(2.0)
    y = x * x
    seen: list[float] = []
    y.register_hook(lambda g: g + 1)
    y.register_hook(seen.append)
    y.register_hook(lambda g: g * 10)
    y.backward()
    assert (seen, y.grad, x.grad) == ([2.0], 20.0, 80.0)


def test_the_root_and_a_leaf_root_take_hooks() -> None:
    """A hook on the output sees backward's seed; on a leaf that is itself the output, too."""
    x = Value(2.0)
    y = x * 3.0
    y.register_hook(lambda g: g * 5)
    y.backward(2.0)
    leaf = Value(7.0)
    leaf.register_hook(lambda g: g * 5)
    leaf.backward()
    assert (x.grad, leaf.grad) == (30.0, 5.0)


def test_remove_unregisters_once_and_the_handle_is_a_context_manager() -> None:
    """After remove() (twice is fine) or the with block, backward() is plain again."""
    x = Value(3.0)
    y = x * x
    handle = y.register_hook(lambda g: g * 10)
    handle.remove()
    handle.remove()
    with y.register_hook(lambda g: g * 100):
        y.backward()
    inside = x.grad
    x.grad = 0.0
    y.backward()
    assert (inside, x.grad, engine._watch) == (600.0, 6.0, None)


def test_the_same_function_twice_is_two_hooks_each_removed_alone() -> None:
    """Registering one function twice runs it twice; removing one handle leaves the other."""
    x = Value(1.0)
    y = x * 1.0

    def double(g: float) -> float:
        return 2 * g

    first = y.register_hook(double)
    y.register_hook(double)
    y.backward()
    both = x.grad
    first.remove()
    x.grad = 0.0
    y.backward()
    assert (both, x.grad) == (4.0, 2.0)


def test_a_hook_on_a_lecture_style_node() -> None:
    """A node with its own _backward closure is hooked like any other."""
    x = Value(2.0)
    out = Value(x.data**2, (x,), "square")

    def backward() -> None:
        x.grad += 2 * x.data * out.grad

    out._backward = backward
    out.register_hook(lambda g: g * 3)
    out.backward()
    assert x.grad == 12.0


def test_create_graph_hooks_get_and_give_values_that_can_be_differentiated() -> None:
    """y = x**3 at 2 with a hook g -> g * x (a Value): x.grad = 3x^2 * x = 24, whose own
    derivative 9x^2 = 36."""
    x = Value(2.0)
    y = x**3
    kinds: list[type] = []
    y.register_hook(lambda g: kinds.append(type(g)) or g * x)
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Value)
    x.grad = 0.0
    first.backward()
    assert (kinds, first.data, x.grad) == ([Value], 24.0, 36.0)


def test_grad_runs_hooks_and_leaves_grads_untouched() -> None:
    """engine.grad: a leaf input's hook gives the returned gradient (as torch.autograd.grad);
    an interior input's result is its hooked gradient, as backward() leaves in .grad."""
    x = Value(2.0)
    x.register_hook(lambda g: g * 2)
    h = x * x
    h.register_hook(lambda g: g * 3)
    dx, dh = grad(h.exp(), [x, h])
    e4 = math.exp(4.0)
    assert (dx, dh, x.grad) == (3 * e4 * 4.0 * 2, 3 * e4, 0.0)


@pytest.mark.parametrize(
    ("result", "error"),
    [("x", "returned 'x' (str)"), (True, "returned True (bool)"), ([1.0], "returned [1.0]")],
)
def test_a_hook_that_returns_no_number_is_a_type_error_naming_it(result: Any, error: str) -> None:
    """A hook returns None or the new gradient: anything else is a TypeError naming the hook."""

    def bad(g: float) -> Any:
        return result

    y = Value(1.0) * 2.0
    y.register_hook(bad)
    with pytest.raises(TypeError) as caught:
        y.backward()
    expected = (True, True)
    assert expected == (bad.__qualname__ in str(caught.value), error in str(caught.value))


def test_a_hook_may_return_a_value_or_a_numpy_number_where_gradients_are_numbers() -> None:
    """Without create_graph a hook's Value or NumPy scalar result counts as its number."""
    import numpy as np

    x, w = Value(1.0), Value(4.0)
    y = x * 3.0
    y.register_hook(lambda g: w * g)
    y.backward()
    z = x * 1.0
    z.register_hook(lambda g: np.float64(0.5))
    z.backward()
    assert (x.grad, type(x.grad)) == (12.5, float)


def test_no_hook_means_no_watcher_and_the_watcher_goes_with_the_last_hook() -> None:
    """backward() looks further only while a hook is registered on a live node: the count
    falls when a handle is removed and when a hooked node is freed."""
    gc.collect()  # (hooked nodes an earlier test's caught exception held in a cycle)
    states = [engine._watch is None]
    x = Value(1.0)
    handle = x.register_hook(lambda g: g)
    y = x * 2.0
    y.register_hook(lambda g: g)
    states.append(engine._watch is None)
    handle.remove()
    states.append(engine._watch is None)
    del y
    states.append(engine._watch is None)
    assert states == [True, False, False, True]


@pytest.mark.parametrize("remove", [True, False], ids=["removed", "kept"])
def test_graphs_with_hooks_are_freed_by_reference_counting(remove: bool) -> None:
    """A training step hooking an interior node (the handle removed, or not) keeps nothing: the
    hooks live on their node and go with it, no cycle."""
    params = [Value(0.1 * i) for i in range(50)]

    def step() -> None:
        hidden = [(p * p).tanh() for p in params]
        handles = [h.register_hook(lambda g: 0.5 * g) for h in hidden]
        loss = sum((h * p).exp() for h, p in zip(hidden, params)) + 1.0
        loss.backward()
        if remove:
            for handle in handles:
                handle.remove()
        for p in params:
            p.data -= 0.01 * p.grad
            p.grad = 0.0

    kept, _, unreachable = memory_left_after(step)
    assert (unreachable, kept < 1_000, engine._watch) == (0, True, None)


def test_fast_refuses_a_hooked_parameter_or_node() -> None:
    """A compiled program runs no hook: a hooked parameter is a RuntimeError (at trace and at
    call), a hooked node in the traced function a TraceError; both name the hook."""
    w = Value(2.0)
    program = fast.trace(lambda x: (w * x).tanh(), [w], 0.5)
    with w.register_hook(lambda g: g), pytest.raises(RuntimeError, match="register_hook") as call:
        program(0.5)

    def hooked(x: Value) -> Value:
        y = w * x
        y.register_hook(lambda g: g)
        return y.tanh()

    with pytest.raises(TraceError, match="register_hook") as tracing:
        fast.trace(hooked, [w], 0.5)
    assert (type(call.value), program(0.5)) == (RuntimeError, math.tanh(1.0))
    assert "parameter 0 has a hook" in str(call.value)
    assert "in the traced graph (op '*') has a hook" in str(tracing.value)


# --- PyTorch: the same hooks give the same gradients ---

SCENARIOS = {
    "interior scaled": ("h", lambda g: g * 10),
    "interior shifted": ("h", lambda g: g + 1.5),
    "leaf": ("x", lambda g: g * -2),
    "root": ("out", lambda g: g * 3),
    "none": ("h", lambda g: None),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_hooks_give_torchs_gradients(name: str) -> None:
    """out = tanh(h) * h + w*x, h = x*w, hooked at one node: x and w's gradients (after two
    backward calls, leaves accumulating) equal torch's in float64."""
    from lazy_torch import torch

    where, hook = SCENARIOS[name]

    def build(x: Any, w: Any, tanh: Callable[[Any], Any]) -> dict[str, Any]:
        h = x * w
        return {"x": x, "h": h, "out": tanh(h) * h + w * x}

    x, w = Value(0.7), Value(-1.3)
    ours: list[float] = []
    for _ in range(2):
        nodes = build(x, w, lambda v: v.tanh())
        nodes[where].register_hook(hook)
        nodes["out"].backward()
        ours += [x.grad, w.grad]
        if where == "x":  # registered once per build: keep one on the leaf
            break
    tx = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    theirs: list[float] = []
    for _ in range(2):
        t_nodes = build(tx, tw, torch.tanh)
        t_nodes[where].register_hook(hook)
        t_nodes["out"].backward()
        theirs += [tx.grad.item(), tw.grad.item()]
        if where == "x":
            break
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(ours, theirs, strict=True))


def test_a_copied_or_pickled_node_has_no_hooks_and_the_count_stays_exact() -> None:
    """copy.deepcopy and pickle give the plain op name; the original keeps its hook, and the
    watcher goes only when the original's hook is removed."""
    import copy
    import pickle

    x = Value(1.0)
    y = x * 2.0
    handle = y.register_hook(lambda g: g * 3)
    copied, pickled = copy.deepcopy(y), pickle.loads(pickle.dumps(y))
    kinds = (type(copied._op), type(pickled._op))
    del copied, pickled
    gc.collect()
    y.backward()
    watched = engine._watch is not None
    handle.remove()
    assert (kinds, x.grad, watched, engine._watch) == ((str, str), 6.0, True, None)


def test_the_narrator_refuses_a_hooked_graph() -> None:
    """explain() narrates the rules: a hook would make backward()'s numbers differ, so it is a
    ValueError naming the node; without the hook the narration is back."""
    from micrograd import explain

    x = Value(1.0, label="x")
    y = x * 2.0
    y.label = "y"
    handle = y.register_hook(lambda g: g * 3)
    with pytest.raises(ValueError, match="y has a hook") as caught:
        explain(y)
    handle.remove()
    assert (type(caught.value), len(explain(y))) == (ValueError, 1)


@pytest.mark.torch
@settings(max_examples=300)
@given(programs, st.integers(0, 1000), st.integers(0, 1000))
def test_random_graphs_with_hooks_match_torch(
    program: tuple[list[float], list[tuple[Any, ...]]], at: int, leaf: int
) -> None:
    """Random graphs with a hook g -> 3g + 1 on one node and g -> -2g on one input: every
    input's gradient equals torch's with the same hooks (nan/inf included)."""
    from lazy_torch import torch

    def run(engine: str) -> list[float]:
        xs, steps = program
        if engine == "value":
            leaves: list[Any] = [Value(x) for x in xs]
        else:
            leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        nodes = list(leaves)
        for kind, name, i, *more in steps:  # as test_engine_random builds its graphs
            x = nodes[i % len(nodes)]
            if kind == "unary":
                nodes.append(UNARY[name][0 if engine == "value" else 1](x))
            elif kind == "binary":
                nodes.append(BINARY[name](x, nodes[more[0] % len(nodes)]))
            else:
                nodes.append(BINARY[name](more[0], x) if more[1] else BINARY[name](x, more[0]))
        nodes[at % len(nodes)].register_hook(lambda g: 3 * g + 1)
        leaves[leaf % len(leaves)].register_hook(lambda g: -2 * g)
        out = nodes[-1] * nodes[len(nodes) // 2] + nodes[-1]
        out.backward()
        if engine == "value":
            return [float(x.grad) for x in leaves]
        return [0.0 if x.grad is None else x.grad.item() for x in leaves]

    ours, theirs = run("value"), run("torch")
    assert all(map(close, ours, theirs)), (ours, theirs)


def test_a_program_that_registered_hooks_exits_without_a_word() -> None:
    """A script that leaves hooked nodes alive until the interpreter exits prints only its own
    output: the hooks' clean-up as modules are torn down raises nothing ("Exception ignored")."""
    code = (
        "from micrograd.engine import Value\n"
        "x = Value(2.0)\n"
        "y = x * 3\n"
        "handle = y.register_hook(lambda g: g * 2)\n"
        "y.backward()\n"
        "print(x.grad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (out.stdout, out.stderr) == ("6.0\n", "")


@pytest.mark.parametrize("fn", [lambda: 1.0, lambda g, h: g, lambda *, g: g])
def test_a_hook_that_cannot_take_the_gradient_is_refused_when_registered(fn: Any) -> None:
    """A function that cannot be called with one argument is a TypeError naming fn at
    register_hook, not a TypeError from inside backward() later; nothing is registered."""
    y = Value(3.0) * Value(2.0)
    with pytest.raises(TypeError, match=r"fn must be a function of the gradient, called with 1"):
        y.register_hook(fn)
    y.backward()
    assert y.grad == 1.0
