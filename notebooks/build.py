"""Write the lesson notebooks (cells here and in lesson_*.py): ``python notebooks/build.py``.

The cells here are the source; the .ipynb files are generated from them, committed with no outputs,
and run top to bottom by tests/test_notebooks.py (which also checks they match this file).
"""

from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat

HERE = Path(__file__).resolve().parent


def md(text: str) -> nbformat.NotebookNode:
    """A Markdown cell."""
    return nbformat.v4.new_markdown_cell(dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    """A code cell, with no outputs."""
    return nbformat.v4.new_code_cell(dedent(text).strip())


# A picture goes out as an <img> with alt text, which a screen reader says in its place and an
# HTML export keeps (a plain PNG output has none). Notebooks 3 and 4 each start their pictures so.
PICTURES = [
    md(
        """
        Pictures in this notebook are PNG files, shown by `picture` with a description (alt
        text) for readers who cannot see them:
        """
    ),
    code(
        """
        import base64
        import html
        import tempfile
        from pathlib import Path

        from IPython.display import HTML

        pictures = Path(tempfile.mkdtemp())  # where this notebook writes its pictures


        def picture(path, alt):
            \"\"\"Show the PNG file at `path`, described by `alt`.\"\"\"
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            return HTML(f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">')
        """
    ),
]


# --- 1. Derivatives and the Value ---

DERIVATIVES = [
    md(
        """
        # 1. Derivatives and the Value

        Backpropagation answers one question for every number in a calculation: *if I nudge this
        number a little, how much does the output move?* That answer is the derivative (with
        several inputs: the gradient).

        This notebook goes from the derivative of a plain function, by nudging, to micrograd's
        `Value`, then backpropagates by hand node by node, and ends with the chain rule worked
        through the AND-gate graph of the study notes. Run it top to bottom.
        """
    ),
    md(
        """
        ## The derivative of a function of one input

        Take $f(x) = 3x^2 - 4x + 5$. At $x = 3$ it is $27 - 12 + 5 = 20$.
        """
    ),
    code(
        """
        import math


        def f(x):
            return 3 * x**2 - 4 * x + 5


        f(3.0)
        """
    ),
    md(
        """
        Make a small change $h$ to $x$ and see how much $f$ changes, per unit of change:
        $(f(x+h) - f(x)) / h$. With $h = 0.0001$, $f$ goes from 20 to 20.0014..., a slope of
        about 14.
        """
    ),
    code(
        """
        h = 0.0001
        x = 3.0
        slope = (f(x + h) - f(x)) / h
        slope
        """
    ),
    md(
        """
        Calculus gives the exact slope: the derivative of $3x^2 - 4x + 5$ is $6x - 4$, which is
        14 at $x = 3$. The nudge is off by $3h = 0.0003$, because the curve bends within the
        nudge; a smaller $h$ gets closer (until floating-point rounding takes over).
        """
    ),
    code(
        """
        assert abs(slope - (6 * x - 4)) < 1e-3
        """
    ),
    md(
        """
        The sign and size of the slope tell how $f$ behaves there: at $x = -3$ it falls steeply
        (slope -22), at $x = 2/3$ it is flat (the bottom of the parabola), at $x = 3$ it rises.
        """
    ),
    code(
        """
        for x in [-3.0, 2 / 3, 3.0]:
            nudged = (f(x + h) - f(x)) / h
            print(f"x = {x:6.3f}   by nudging {nudged:9.4f}   exact 6x - 4 = {6 * x - 4:8.4f}")
        """
    ),
    md(
        """
        micrograd ships this as `derivative`. It nudges both ways, $(f(x+h) - f(x-h)) / 2h$
        (the *central* difference), whose error shrinks like $h^2$ instead of $h$:
        """
    ),
    code(
        """
        from micrograd.gradcheck import derivative

        central = derivative(f, 3.0)
        assert abs(central - 14.0) < 1e-6
        central
        """
    ),
    md(
        """
        ## Several inputs

        With several inputs there is one derivative per input: nudge one, hold the others still.
        The lecture's example is $d = a \\cdot b + c$ with $a = 2$, $b = -3$, $c = 10$, so
        $d = 4$.
        """
    ),
    code(
        """
        a, b, c = 2.0, -3.0, 10.0
        d = a * b + c
        slope_a = ((a + h) * b + c - d) / h
        slope_b = (a * (b + h) + c - d) / h
        slope_c = (a * b + (c + h) - d) / h
        slope_a, slope_b, slope_c
        """
    ),
    md(
        """
        Nudging $a$ up by $h$ moves $d$ down by $3h$: the slope is $b = -3$. Nudging $b$ moves
        $d$ by $a = 2$ per unit, and nudging $c$ moves it by exactly 1. For a product, the
        derivative with respect to one factor is the other factor.
        """
    ),
    code(
        """
        assert math.isclose(slope_a, b, rel_tol=1e-6)
        assert math.isclose(slope_b, a, rel_tol=1e-6)
        assert math.isclose(slope_c, 1.0, rel_tol=1e-6)
        """
    ),
    md(
        """
        ## The Value

        A neural net is one big expression, so we need to keep the expression itself, not just
        its number. A `Value` holds one number (`.data`), remembers the Values it was made from
        (`._prev`) and the op that made it (`._op`), and has room for a gradient (`.grad`,
        starting at 0). Here is the lecture's expression $L = (a \\cdot b + c) \\cdot f$:
        """
    ),
    code(
        """
        from micrograd import Value
        from micrograd.viz import draw_dot

        a = Value(2.0, label="a")
        b = Value(-3.0, label="b")
        c = Value(10.0, label="c")
        e = a * b
        e.label = "e"
        d = e + c
        d.label = "d"
        f = Value(-2.0, label="f")
        L = d * f
        L.label = "L"
        L
        """
    ),
    code(
        """
        L._prev, L._op
        """
    ),
    md(
        """
        Drawn with `draw_dot`, each box is a Value (label | data | grad) and each oval is the op
        that made the Value to its right. All grads are still 0: nothing has been computed yet.
        """
    ),
    code(
        """
        draw_dot(L)
        """
    ),
    md(
        """
        ## Backpropagation by hand, node by node

        `L.grad` is $dL/dL = 1$. Then, going backwards:

        - $L = d \\cdot f$, so $dL/dd = f = -2$ and $dL/df = d = 4$.
        - $d = e + c$: a plus has local derivative 1, so it passes its gradient on unchanged:
          `e.grad` = `c.grad` = -2.
        - $e = a \\cdot b$: a product hands each factor the other one, times the gradient
          arriving from above: `a.grad` = $b \\cdot (-2) = 6$ and `b.grad` = $a \\cdot (-2) = -4$.

        That last step is the chain rule: $dL/da = dL/de \\cdot de/da$, the gradient from above
        times the local derivative.
        """
    ),
    code(
        """
        L.grad = 1.0
        d.grad = f.data * L.grad  # d(d*f)/dd = f
        f.grad = d.data * L.grad  # d(d*f)/df = d
        e.grad = 1.0 * d.grad  # a plus passes its gradient on
        c.grad = 1.0 * d.grad
        a.grad = b.data * e.grad  # d(a*b)/da = b
        b.grad = a.data * e.grad  # d(a*b)/db = a
        [(node.label, node.grad) for node in (a, b, c, e, d, f, L)]
        """
    ),
    md(
        """
        Check each leaf's gradient the slow way: `numerical_grad` nudges each leaf's `.data` by
        $\\pm h$ and watches $L$ move, exactly as we did above with plain numbers.
        """
    ),
    code(
        """
        from micrograd.gradcheck import numerical_grad


        def expression(a, b, c, f):
            return (a * b + c) * f


        nudged = numerical_grad(expression, [a, b, c, f])
        for leaf, slope in zip([a, b, c, f], nudged):
            print(f"{leaf.label}: by hand {leaf.grad:5.1f}   by nudging {slope:.6f}")
            assert math.isclose(leaf.grad, slope, rel_tol=1e-6)
        """
    ),
    md(
        """
        The gradient says which way to push each number to raise $L$. Move every leaf a little
        (0.01 times its gradient) in that direction and $L$ rises from -8 to about -7.29.
        Training does the same with the sign flipped, to make a loss go *down*.
        """
    ),
    code(
        """
        step = 0.01
        pushed = expression(*(Value(leaf.data + step * leaf.grad) for leaf in (a, b, c, f)))
        assert pushed.data > L.data
        pushed.data
        """
    ),
    md(
        """
        ## Each node's `_backward()`, then `backward()`

        Every step above was the same move: take the node's grad, multiply by the local
        derivative of its op, add it into each child's grad. micrograd keeps that move with each
        node as `_backward()`. Reset the grads and call them ourselves, from $L$ towards the
        leaves:
        """
    ),
    code(
        """
        for node in (a, b, c, d, e, f, L):
            node.grad = 0.0
        L.grad = 1.0
        L._backward()  # fills d.grad and f.grad
        d._backward()  # fills e.grad and c.grad
        e._backward()  # fills a.grad and b.grad
        assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)
        [(node.label, node.grad) for node in (a, b, c, e, d, f, L)]
        """
    ),
    md(
        """
        The order mattered: `d._backward()` can only pass on `d.grad` once `L._backward()` has
        filled it in. `backward()` works that order out itself (a *topological sort*: every node
        after the nodes it is made from, then walked in reverse), sets `L.grad = 1` and calls
        each step. The drawing now shows every gradient.
        """
    ),
    code(
        """
        for node in (a, b, c, d, e, f, L):
            node.grad = 0.0
        L.backward()
        assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)
        draw_dot(L)
        """
    ),
    md(
        """
        ## The chain rule through the AND gate (seed 003)

        The study notes explain backprop on a tiny net for the AND gate. Inputs
        $n_1, n_2 = (0, 1)$; $n_3 = n_1 + n_2$; a weight $n_4 = 0.5$ and $n_5 = n_3 \\cdot n_4$;
        a bias $n_6 = 0.2$ and the prediction $n_7 = n_5 + n_6 = 0.7$. The right answer for
        0 AND 1 is the label $n_8 = 0$, and the loss is how far off the prediction is:
        $n_9 = |n_7 - n_8| = 0.7$. (The notes write $n_9 = n_7 - n_8$; here $n_7 > n_8$, so the
        absolute value changes nothing, and its slope is +1.)
        """
    ),
    code(
        """
        n1 = Value(0.0, label="n1")
        n2 = Value(1.0, label="n2")
        n3 = n1 + n2
        n3.label = "n3"
        n4 = Value(0.5, label="n4")
        n5 = n3 * n4
        n5.label = "n5"
        n6 = Value(0.2, label="n6")
        n7 = n5 + n6
        n7.label = "n7"
        n8 = Value(0.0, label="n8")
        err = n7 - n8
        err.label = "err"
        n9 = err.abs()
        n9.label = "n9"
        draw_dot(n9)
        """
    ),
    md(
        """
        The notes' recipe: *gradient of a node = gradient of the node above it × the local
        gradient between them.* Start from $dn_9/dn_9 = 1$ and walk down:

        | node | local gradient | gradient = above × local |
        |---|---|---|
        | $n_9 = \\lvert err \\rvert$ | +1, as $err > 0$ | err: 1 × 1 = 1 |
        | $err = n_7 - n_8$ | 1 and -1 | $n_7$: 1, $n_8$: -1 |
        | $n_7 = n_5 + n_6$ | 1 and 1 | $n_5$: 1, $n_6$: 1 |
        | $n_5 = n_3 \\cdot n_4$ | $n_4$ and $n_3$ | $n_3$: 1 × 0.5 = 0.5, $n_4$: 1 × 1 = 1 |
        | $n_3 = n_1 + n_2$ | 1 and 1 | $n_1$: 0.5, $n_2$: 0.5 |

        `backward()` finds the same numbers:
        """
    ),
    code(
        """
        n9.backward()
        expected = {"n9": 1, "err": 1, "n8": -1, "n7": 1, "n6": 1, "n5": 1, "n4": 1}
        expected |= {"n3": 0.5, "n2": 0.5, "n1": 0.5}
        nodes = [n9, err, n8, n7, n6, n5, n4, n3, n2, n1]
        assert {node.label: node.grad for node in nodes} == expected
        {node.label: node.grad for node in nodes}
        """
    ),
    md(
        """
        `explain` narrates the same backward pass, one chain-rule step per node, with every
        number: the rule, the gradient arriving from above, and what each child receives.
        """
    ),
    code(
        """
        from micrograd import explain

        explain(n9)
        """
    ),
    md(
        """
        Coloured by the size of their gradient, the nodes that matter most to the loss stand
        out. The weight $n_4$ and the bias $n_6$ both have gradient 1: raising either raises the
        loss just as much, so training would lower them. The inputs get gradients too (0.5),
        but data is fixed; only weights and biases are trained.
        """
    ),
    code(
        """
        draw_dot(n9, colour_by_grad=True)
        """
    ),
    md(
        """
        **Next**: notebook 2 puts a tanh on top of a weighted sum, a neuron, and checks our
        gradients against PyTorch's.
        """
    ),
]


# --- 2. A neuron ---

NEURON = [
    md(
        """
        # 2. A neuron

        A neuron multiplies each input by a weight, adds a bias, and squashes the sum with an
        activation function; here tanh, whose output lies between -1 and 1:
        $o = \\tanh(x_1 w_1 + x_2 w_2 + b)$.

        The lecture's neuron has inputs $x_1 = 2$, $x_2 = 0$, weights $w_1 = -3$, $w_2 = 1$ and
        the bias $b = 6.8813735870195432$, chosen so that the sum is $n = 0.8814$, where
        $\\tanh(n) = 0.7071 = 1/\\sqrt{2}$ and the numbers come out round.
        """
    ),
    code(
        """
        import math

        from micrograd import Value
        from micrograd.viz import draw_dot

        x1 = Value(2.0, label="x1")
        x2 = Value(0.0, label="x2")
        w1 = Value(-3.0, label="w1")
        w2 = Value(1.0, label="w2")
        b = Value(6.8813735870195432, label="b")
        x1w1 = x1 * w1
        x1w1.label = "x1*w1"
        x2w2 = x2 * w2
        x2w2.label = "x2*w2"
        x1w1x2w2 = x1w1 + x2w2
        x1w1x2w2.label = "x1*w1 + x2*w2"
        n = x1w1x2w2 + b
        n.label = "n"
        o = n.tanh()
        o.label = "o"
        draw_dot(o)
        """
    ),
    md(
        """
        ## Backward by hand

        - `o.grad` = 1.
        - $o = \\tanh(n)$ and $d\\tanh(n)/dn = 1 - \\tanh(n)^2 = 1 - o^2 = 1 - 0.5 = 0.5$.
        - The two plus nodes pass 0.5 on to `x1*w1`, `x2*w2` and `b`.
        - Each product hands each factor the other factor × 0.5: `w1.grad` = $x_1 \\cdot 0.5 = 1$,
          `x1.grad` = $w_1 \\cdot 0.5 = -1.5$, `x2.grad` = $w_2 \\cdot 0.5 = 0.5$, and
          `w2.grad` = $x_2 \\cdot 0.5 = 0$: with $x_2 = 0$, the weight $w_2$ cannot matter.
        """
    ),
    code(
        """
        o.grad = 1.0
        n.grad = (1 - o.data**2) * o.grad  # d tanh(n)/dn = 1 - tanh(n)**2
        b.grad = n.grad
        x1w1x2w2.grad = n.grad
        x1w1.grad = x1w1x2w2.grad
        x2w2.grad = x1w1x2w2.grad
        w1.grad = x1.data * x1w1.grad
        x1.grad = w1.data * x1w1.grad
        w2.grad = x2.data * x2w2.grad
        x2.grad = w2.data * x2w2.grad
        by_hand = {leaf.label: leaf.grad for leaf in (x1, w1, x2, w2, b)}
        {name: round(grad, 4) for name, grad in by_hand.items()}
        """
    ),
    md(
        """
        Now clear the grads and let `backward()` do it. Same numbers:
        """
    ),
    code(
        """
        for node in (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o):
            node.grad = 0.0
        o.backward()
        for leaf in (x1, w1, x2, w2, b):
            assert math.isclose(leaf.grad, by_hand[leaf.label], abs_tol=1e-12)
        draw_dot(o)
        """
    ),
    md(
        """
        ## tanh from exp: more nodes, same gradients

        tanh is one op with one derivative rule. It can also be written with smaller pieces:
        $\\tanh(n) = (e^{2n} - 1) / (e^{2n} + 1)$. Then `backward()` goes through a product, an
        exp, a subtraction, an addition and a division instead of the one tanh rule. Only the
        local steps change; the chain rule puts them together into the same gradients.
        """
    ),
    code(
        """
        START = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}


        def tanh_from_exp(n):
            e = (2 * n).exp()
            return (e - 1) / (e + 1)


        def neuron_grads(tanh):
            \"\"\"The neuron's output and its leaves' gradients, with tanh computed by `tanh`.\"\"\"
            leaf = {name: Value(value, label=name) for name, value in START.items()}
            out = tanh(leaf["x1"] * leaf["w1"] + leaf["x2"] * leaf["w2"] + leaf["b"])
            out.backward()
            return out, {name: v.grad for name, v in leaf.items()}
        """
    ),
    code(
        """
        o_rule, grads_rule = neuron_grads(lambda n: n.tanh())
        o_exp, grads_exp = neuron_grads(tanh_from_exp)
        for name in START:
            print(f"{name}: tanh rule {grads_rule[name]: .6f}   from exp {grads_exp[name]: .6f}")
            assert math.isclose(grads_rule[name], grads_exp[name], abs_tol=1e-12)
        assert math.isclose(o_rule.data, o_exp.data)
        """
    ),
    code(
        """
        draw_dot(o_exp)
        """
    ),
    md(
        """
        ## The same neuron in PyTorch

        PyTorch computes on tensors (arrays of numbers), but on one number each the idea is
        identical. Use float64 as micrograd does, and mark the leaves `requires_grad=True`
        (PyTorch leaves don't track gradients unless asked; ours always do).
        """
    ),
    code(
        """
        import torch

        tx1 = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        tx2 = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        tw1 = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
        tw2 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(6.8813735870195432, dtype=torch.float64, requires_grad=True)
        to = torch.tanh(tx1 * tw1 + tx2 * tw2 + tb)
        to.backward()
        print("o", to.item())
        torch_grads = {"x1": tx1, "x2": tx2, "w1": tw1, "w2": tw2, "b": tb}
        for name, tensor in torch_grads.items():
            print(f"{name}: torch {tensor.grad.item(): .6f}   micrograd {grads_rule[name]: .6f}")
        """
    ),
    code(
        """
        assert math.isclose(to.item(), o_rule.data, rel_tol=1e-12)
        for name, tensor in torch_grads.items():
            assert math.isclose(tensor.grad.item(), grads_rule[name], abs_tol=1e-12)
        """
    ),
    md(
        """
        ## Why the order matters

        `backward()` must not pass a node's gradient on before all of it has arrived. The
        smallest graph where that bites: `a = Value(1); b = a + a; c = b + b`. Since
        $c = 4a$, $dc/da = 4$.

        A naive recursion (call `c._backward()`, then recurse into each child, once per edge)
        reaches `b` twice, because `c` uses it twice. Each visit passes on everything `b` has
        gathered so far, so `a` receives too much: 8 instead of 4.
        """
    ),
    code(
        """
        from micrograd.explain import compare_naive_recursion

        a = Value(1.0, label="a")
        b = a + a
        b.label = "b"
        c = b + b
        c.label = "c"
        comparison = compare_naive_recursion(c)
        assert (comparison.naive["a"], comparison.correct["a"]) == (8.0, 4.0)
        comparison
        """
    ),
    md(
        """
        A topological order lists every node after the nodes it is made from: here a, b, c.
        `backward()` walks it in reverse, so `c` goes first, then `b` (with its whole gradient,
        2), then `a`, each exactly once.
        """
    ),
    code(
        """
        from micrograd.engine import topological_order

        c.backward()
        assert a.grad == 4.0
        [node.label for node in topological_order(c)]
        """
    ),
    md(
        """
        ## Why gradients accumulate

        In `b = a + a`, `a` is used twice. Each use is its own path from `a` to `b`, and the
        chain rule adds up the paths: $db/da = 1 + 1 = 2$. So every step does
        `child.grad += local * upstream`, never `=`. The lecture's first version used `=`: the
        second use overwrote the first and `a.grad` came out 1.
        """
    ),
    code(
        """
        from micrograd import explain

        a = Value(3.0, label="a")
        b = a + a
        b.label = "b"
        b.backward()
        assert a.grad == 2.0
        explain(b)
        """
    ),
    md(
        """
        The narration shows the two contributions: after the first use `a.grad` is 1, after
        the second it is 2.

        Accumulating has one consequence to remember: a leaf's grad also keeps adding up
        across calls. Call `b.backward()` a second time and `a.grad` becomes 4, the sum of two
        passes. That is why a training loop sets every grad back to zero before each
        `backward()`, which notebook 3 shows going wrong.
        """
    ),
    code(
        """
        b.backward()
        assert a.grad == 4.0
        a.grad
        """
    ),
]


# --- 3. An MLP ---

MLP_LESSON = [
    md(
        """
        # 3. An MLP

        A *layer* is a list of neurons that all see the same inputs; a multi-layer perceptron
        (MLP) is layers in a row, each feeding its outputs to the next. `MLP(3, [4, 4, 1])`
        takes 3 numbers, has two layers of 4 neurons and one output neuron:
        $4 \\cdot (3 + 1) + 4 \\cdot (4 + 1) + 1 \\cdot (4 + 1) = 41$ parameters
        (a weight per input, plus a bias, per neuron).

        micrograd's `MLP` uses ReLU inside and a linear output unless told otherwise (as in
        Karpathy's repository); the lecture's net uses tanh everywhere, so we ask for
        `activation="tanh"`. `random.seed` makes the starting weights the same on every run.
        """
    ),
    code(
        """
        import random

        from micrograd import MLP
        from micrograd.engine import topological_order
        from micrograd.viz import draw_dot

        random.seed(0)
        model = MLP(3, [4, 4, 1], activation="tanh")
        print(model, "with", len(model.parameters()), "parameters")
        out = model([2.0, 3.0, -1.0])
        print(out, "from a graph of", len(topological_order(out)), "Values")
        """
    ),
    md(
        """
        One forward pass through this tiny net is already a graph of 114 Values:
        """
    ),
    code(
        """
        draw_dot(out)
        """
    ),
    md(
        """
        ## Four samples and a loss

        The lecture's data: four inputs of 3 numbers, each with a desired output of +1 or -1.
        The loss adds up the squared errors $(y_{pred} - y)^2$: 0 for a perfect prediction, and
        the further off, the bigger. A random net is far off.
        """
    ),
    code(
        """
        from micrograd.data import LECTURE_XS, LECTURE_YS

        xs = LECTURE_XS
        ys = LECTURE_YS  # desired targets
        ypred = [model(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        print("targets    ", ys)
        print("predictions", [round(y.data, 3) for y in ypred])
        loss
        """
    ),
    md(
        """
        After `loss.backward()` every parameter's `.grad` says how the loss moves when that
        parameter moves. A positive grad means *increasing* it increases the loss, so we move
        each parameter a small step against its gradient: `p.data += -0.05 * p.grad`.
        One step and the loss drops.
        """
    ),
    code(
        """
        loss.backward()
        w = model.layers[0].neurons[0].w[0]
        print("a weight:", w.data, "its gradient:", w.grad)
        for p in model.parameters():
            p.data += -0.05 * p.grad
        new_loss = sum((model(x) - ygt) ** 2 for x, ygt in zip(xs, ys))
        assert new_loss.data < loss.data
        loss.data, new_loss.data
        """
    ),
    md(
        """
        ## A training loop, with the lecture's bug

        Repeat forward, backward, update. This is the loop as first written in the lecture, from
        the same starting weights, for 30 steps. Watch the losses:
        """
    ),
    code(
        """
        random.seed(0)
        model = MLP(3, [4, 4, 1], activation="tanh")
        buggy_losses = []
        for _ in range(30):
            ypred = [model(x) for x in xs]  # forward
            loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
            loss.backward()  # backward
            for p in model.parameters():  # update
                p.data += -0.05 * p.grad
            buggy_losses.append(loss.data)
        print([round(v, 4) for v in buggy_losses])
        """
    ),
    md(
        """
        It starts fast, faster than it should, and has the loss near 0 by step 10. Then the
        loss creeps back up, jumps at step 20, and from step 24 sits at 4.0. One sample is now
        predicted exactly wrong (+1 for a -1 target: $(1 - (-1))^2 = 4$), with its tanh
        neurons pinned at ±1, where the slope $1 - o^2$ is 0 and no gradient gets through.
        """
    ),
    code(
        """
        [round(model(x).data, 4) for x in xs]
        """
    ),
    md(
        """
        The bug: nothing set the grads back to 0. `backward()` *adds* into each parameter's
        `.grad` (notebook 2), so at every step `p.grad` held the sum of all the gradients so
        far, and each update used that growing sum: steps get bigger and bigger until they
        overshoot. Two `backward()` calls on the same loss show it: the grad doubles.
        """
    ),
    code(
        """
        random.seed(0)
        model = MLP(3, [4, 4, 1], activation="tanh")
        loss = sum((model(x) - ygt) ** 2 for x, ygt in zip(xs, ys))
        p = model.parameters()[0]
        loss.backward()
        first = p.grad
        loss.backward()
        assert p.grad == 2 * first
        first, p.grad
        """
    ),
    md(
        """
        ## The fix: `zero_grad()` before `backward()`

        The same loop, from the same weights, with one line added.
        """
    ),
    code(
        """
        random.seed(0)
        model = MLP(3, [4, 4, 1], activation="tanh")
        losses = []
        for _ in range(30):
            ypred = [model(x) for x in xs]
            loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
            model.zero_grad()  # the fix: every step's gradients start from 0
            loss.backward()
            for p in model.parameters():
                p.data += -0.05 * p.grad
            losses.append(loss.data)
        print([round(v, 4) for v in losses])
        """
    ),
    md(
        """
        Now the loss goes down at every single step and stays down; the buggy loop's went up
        at several steps and ended far worse.
        """
    ),
    code(
        """
        from itertools import pairwise

        went_up = sum(later > before for before, later in pairwise(buggy_losses))
        assert all(later < before for before, later in pairwise(losses))
        assert went_up > 0
        assert losses[-1] < buggy_losses[-1]
        print(f"buggy loop: went up {went_up} times, ends at {buggy_losses[-1]:.4f}")
        print(f"fixed loop: never went up, ends at {losses[-1]:.4f}")
        """
    ),
    *PICTURES,
    code(
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
        ax.semilogy(buggy_losses, label="no zero_grad (bug)")
        ax.semilogy(losses, label="zero_grad (fixed)")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (log scale)")
        ax.legend()
        fig.savefig(pictures / "losses.png")
        picture(
            pictures / "losses.png",
            f"The loss per step on a log scale, 30 steps of each loop. Without zero_grad it falls "
            f"fastest, then climbs back up and ends at {buggy_losses[-1]:.2f}; with zero_grad it "
            f"falls at every step, to {losses[-1]:.4f}.",
        )
        """
    ),
    code(
        """
        predictions = [model(x).data for x in xs]
        assert all((p > 0) == (t > 0) for p, t in zip(predictions, ys))
        [round(p, 3) for p in predictions]
        """
    ),
    md(
        """
        ## The AND gate, learned

        The same recipe on the study notes' AND gate: the inputs (0,0), (0,1), (1,0), (1,1),
        and the answer 1 only for (1,1). With a tanh output we aim for -1 (false) and +1
        (true), and read a prediction as true when it is above 0.
        """
    ),
    code(
        """
        from micrograd.data import make_and

        X, labels = make_and(4, noise=0.0)
        targets = [2.0 * t - 1.0 for t in labels]  # 0/1 labels as -1/+1
        random.seed(0)
        gate = MLP(2, [4, 1], activation="tanh")
        for _ in range(100):
            loss = sum((gate(x) - t) ** 2 for x, t in zip(X, targets))
            gate.zero_grad()
            loss.backward()
            for p in gate.parameters():
                p.data += -0.05 * p.grad
        print(f"loss after 100 steps: {loss.data:.4f}")
        """
    ),
    code(
        """
        for x, label in zip(X, labels):
            out = gate(x).data
            print(f"{x[0]:.0f} AND {x[1]:.0f} = {label}   net says {out:+.3f} -> {int(out > 0)}")
            assert int(out > 0) == label
        """
    ),
    md(
        """
        **Next**: notebook 4 trains micrograd's own demo, a bigger net on two-moons data, with
        the library's `fit`, which is this loop plus an optimizer and a learning-rate schedule.
        """
    ),
]


# --- 4. Moons and beyond ---

MOONS = [
    md(
        """
        # 4. micrograd's moons demo, and beyond

        micrograd's repository ends with a demo: a net with 2 inputs, two hidden layers of 16
        ReLU neurons and 1 output, learning to separate two interleaving half-moons of 100
        points. This notebook trains it on the Value engine, draws what it learned, runs the
        same training on micrograd's compiled NumPy path, and ends with second derivatives.
        """
    ),
    *PICTURES,
    code(
        """
        import math
        import random

        from matplotlib.figure import Figure

        from micrograd import MLP
        from micrograd.data import make_moons

        X, y = make_moons(100, noise=0.1, seed=0)
        fig = Figure(figsize=(5, 3.5))
        ax = fig.subplots()
        colours = ["tab:blue" if label == 0 else "tab:orange" for label in y]
        ax.scatter([p[0] for p in X], [p[1] for p in X], c=colours, s=20)
        ax.set_title("two moons: class 0 (blue) and class 1 (orange)")
        fig.savefig(pictures / "moons.png")
        picture(
            pictures / "moons.png",
            "100 points in two interleaved half-moons: class 0 in blue, an arch opening "
            "downwards on the left; class 1 in orange, an arch opening upwards on the right, "
            "its left end reaching under the blue arch.",
        )
        """
    ),
    md(
        """
        ## The net and the loss

        `MLP(2, [16, 16, 1])` is micrograd's default net: ReLU hidden layers and a linear output
        score $s$, with class 1 predicted where $s > 0$. The loss is the demo's *hinge* loss:
        with the label as $y = \\pm 1$, each point costs $\\max(0, 1 - y \\cdot s)$, which is 0
        once the point is on its correct side by a margin of 1 and grows linearly otherwise.
        It is averaged over the points, plus a small penalty $\\alpha \\sum p^2$
        ($\\alpha = 10^{-4}$) that keeps the weights small.
        """
    ),
    code(
        """
        from micrograd.engine import topological_order
        from micrograd.losses import hinge_loss, l2

        random.seed(1337)
        model = MLP(2, [16, 16, 1])
        labels = [2 * t - 1 for t in y]  # classes 0/1 as -1/+1
        scores = [model(x) for x in X]
        total = hinge_loss(scores, labels) + l2(model.parameters(), 1e-4)
        correct = sum((s.data > 0) == (t > 0) for s, t in zip(scores, labels))
        print(model, "with", len(model.parameters()), "parameters")
        print(f"loss {total.data:.4f}, {correct} of {len(X)} right")
        print("one step's graph:", len(topological_order(total)), "Values")
        """
    ),
    md(
        """
        ## Training on the Value engine

        `fit` runs the loop of notebook 3: forward, loss, `zero_grad`, `backward`, SGD step. Its
        defaults are the demo's: hinge loss + $10^{-4}$ L2, and a learning rate falling from 1.0
        to 0.1 over the run. Every one of those ~65,000 Values is a Python object, built and
        freed every step, so we take 40 steps here.
        """
    ),
    code(
        """
        import time

        from micrograd import fit

        start = time.perf_counter()
        history = fit(model, X, y, steps=40)
        engine_seconds = time.perf_counter() - start
        print(f"loss {history.losses[0]:.4f} -> {history.losses[-1]:.4f}")
        print(f"accuracy {history.accuracies[0]:.0%} -> {history.accuracies[-1]:.0%}")
        print(f"{engine_seconds / 40 * 1000:.0f} ms a step")
        assert history.losses[-1] < history.losses[0] / 5
        """
    ),
    md(
        """
        `micrograd.plot` draws the loss and accuracy per step, and the *decision boundary*: the
        class the net predicts at every point of the plane, under the data.
        """
    ),
    code(
        """
        from micrograd.plot import plot_decision_boundary, plot_history

        plot_history(history.losses, history.accuracies, path=pictures / "history.png")
        picture(
            pictures / "history.png",
            f"Loss and accuracy over the 40 steps: the loss falls from "
            f"{history.losses[0]:.2f} to {history.losses[-1]:.3f}, the accuracy rises from "
            f"{history.accuracies[0]:.0%} to {history.accuracies[-1]:.0%}.",
        )
        """
    ),
    code(
        """
        title = "Value engine, 40 steps"
        plot_decision_boundary(model, X, y, pictures / "boundary.png", title=title)
        picture(
            pictures / "boundary.png",
            f"The decision boundary after 40 steps: the plane coloured by the class the net "
            f"predicts, with the moons on top; {history.accuracies[-1]:.0%} of the points lie "
            f"in their own class's colour.",
        )
        """
    ),
    md(
        """
        ## The same run on the fast path

        Every step builds the *same* graph with new numbers. `micrograd.fast` traces it once and
        replays it as a handful of NumPy array operations (a layer over the whole batch becomes
        one matrix product) using the engine's own derivative rules. `fit(..., engine="fast")`
        does this for you and runs its same loop on the program. To look inside, `compile_model`
        takes the model, a loss function of (scores, targets), and an example batch:
        """
    ),
    code(
        """
        from micrograd import fast


        def compile_demo(net):
            \"\"\"The demo's loss on the moons, compiled for `net`'s parameters.\"\"\"

            def demo_loss(scores, targets):
                return hinge_loss(scores, targets) + l2(net.parameters(), 1e-4)

            return fast.compile_model(net, demo_loss, X, labels)
        """
    ),
    md(
        """
        Start a twin of the model from the same initial weights (the same seed) and compile.
        `describe()` lists the array operations a step has become:
        """
    ),
    code(
        """
        random.seed(1337)
        twin = MLP(2, [16, 16, 1])
        program = compile_demo(twin)
        print(program.describe())
        """
    ),
    md(
        """
        Take the same 40 steps with `fit(..., engine="fast")` (it traces its own program). The
        losses match the Value engine's at every step, to the last few bits of a float, and so
        do the trained weights:
        """
    ),
    code(
        """
        start = time.perf_counter()
        fast_losses = fit(twin, X, y, steps=40, engine="fast").losses
        fast_seconds = time.perf_counter() - start
        worst = max(abs(a - b) for a, b in zip(fast_losses, history.losses))
        print(f"largest difference from the engine's losses: {worst:.1e}")
        print(f"40 steps in {fast_seconds:.2f} s, tracing and compiling included")
        assert worst < 1e-12
        pairs = zip(model.parameters(), twin.parameters())
        assert all(math.isclose(p.data, q.data, rel_tol=1e-9, abs_tol=1e-12) for p, q in pairs)
        """
    ),
    md(
        """
        ## How long is one step?

        Those 40 steps include tracing and compiling the program (a tenth of a second or so,
        once) and `fit`'s bookkeeping each step. The README's benchmark table times one step the
        way `micrograd bench` does: the program compiled and warmed up, many steps in a row,
        NumPy on one thread. Here is that measurement, on a third copy of the net (the twin above
        stays as trained). The table says 93 µs, measured on an idle 2-CPU machine; a busy
        machine takes longer:
        """
    ),
    code(
        """
        import numpy as np
        from threadpoolctl import threadpool_limits

        random.seed(1337)
        timed = compile_demo(MLP(2, [16, 16, 1]))
        inputs, targets = np.array(X), np.array(labels, dtype=np.float64)
        sgd = fast.ArraySGD(lr=0.1)
        steps = 1000
        with threadpool_limits(limits=1):
            timed.step(inputs, targets, optimizer=sgd)  # warm up
            start = time.perf_counter()
            for _ in range(steps):
                timed.step(inputs, targets, optimizer=sgd)
            step_seconds = (time.perf_counter() - start) / steps
        print(f"compiled: {step_seconds * 1e6:.0f} µs a step")
        print(f"Value engine: {engine_seconds / 40 * 1000:.0f} ms a step (in fit, as above)")
        """
    ),
    md(
        """
        Being fast, it can afford the demo's full 100 steps:
        """
    ),
    code(
        """
        from micrograd.train import accuracy

        random.seed(1337)
        full = MLP(2, [16, 16, 1])
        full_losses = fit(full, X, y, steps=100, engine="fast").losses
        full_accuracy = accuracy(full, X, y)
        print(f"loss {full_losses[0]:.4f} -> {full_losses[-1]:.4f}, accuracy {full_accuracy:.0%}")
        assert full_accuracy >= 0.95
        title = "fast path, 100 steps"
        plot_decision_boundary(full, X, y, pictures / "boundary_100.png", title=title)
        picture(
            pictures / "boundary_100.png",
            f"The decision boundary after 100 steps on the fast path: a curve that winds between "
            f"the two moons; {full_accuracy:.0%} of the points lie in their own class's colour.",
        )
        """
    ),
    md(
        """
        ## The same loop in PyTorch

        When a model outgrows a scalar engine, the next stop is PyTorch.
        `micrograd.interop.to_torch` turns the net into a `torch.nn.Module` (in float64) with the
        same weights: each layer becomes a `Linear` whose row $i$ holds neuron $i$'s weights,
        followed by its activation.
        """
    ),
    code(
        """
        import torch

        from micrograd.interop import from_torch, to_torch

        random.seed(1337)
        ours = MLP(2, [16, 16, 1])
        theirs = to_torch(ours)
        theirs
        """
    ),
    md(
        """
        Now the demo's loop (hinge loss + $10^{-4}$ L2, SGD with the learning rate falling from
        1.0) side by side, 20 steps on each: micrograd builds one graph of Values per point,
        PyTorch one tensor operation per layer for the whole batch. The lines match one for one,
        and so do the losses:
        """
    ),
    code(
        """
        inputs = torch.tensor(X, dtype=torch.float64)
        targets = torch.tensor(labels, dtype=torch.float64)
        steps = 20
        micrograd_losses, torch_losses = [], []
        for k in range(steps):
            lr = 1.0 - 0.9 * k / steps

            # micrograd
            scores = [ours(x) for x in X]
            loss = hinge_loss(scores, labels) + l2(ours.parameters(), 1e-4)
            ours.zero_grad()
            loss.backward()
            for p in ours.parameters():
                p.data -= lr * p.grad
            micrograd_losses.append(loss.data)

            # PyTorch
            scores = theirs(inputs).squeeze(1)
            loss = torch.relu(1 - targets * scores).mean() + 1e-4 * sum(
                (p * p).sum() for p in theirs.parameters()
            )
            theirs.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in theirs.parameters():
                    p -= lr * p.grad
            torch_losses.append(loss.item())

        for k in range(0, steps, 4):
            ours_k, torch_k = micrograd_losses[k], torch_losses[k]
            print(f"step {k:2d}: micrograd {ours_k:.15f}, PyTorch {torch_k:.15f}")
        worst = max(abs(a - b) for a, b in zip(micrograd_losses, torch_losses))
        print(f"largest difference in 20 losses: {worst:.1e}")
        assert worst < 1e-12
        """
    ),
    md(
        """
        And back: `from_torch` reads the PyTorch-trained module into a micrograd `MLP`, whose
        weights are the micrograd-trained net's to the last bits of a float. On the command
        line, `micrograd export runs/moons/model.json --torch moons.py` writes a trained model
        as a PyTorch script that holds its weights (and `--onnx moons.onnx` an ONNX file).
        """
    ),
    code(
        """
        back = from_torch(theirs)
        gap = max(abs(p.data - q.data) for p, q in zip(back.parameters(), ours.parameters()))
        print(back, f"- its weights within {gap:.1e} of the micrograd-trained net's")
        assert gap < 1e-12
        """
    ),
    md(
        """
        ## A look beyond: the gradient of the gradient

        `backward(create_graph=True)` makes each `.grad` a `Value` with its own graph, so it can
        be differentiated again. The second derivative, the *curvature*, says how fast the slope
        itself changes: where it is large the slope changes quickly, and a long step can
        overshoot.

        Take notebook 2's neuron, free its weight $w_1$ (the rest fixed: $x_1 = 2$, $x_2 = 0$,
        $b = 6.88...$) and ask its output to be 1, with the loss $(o - 1)^2$:
        """
    ),
    code(
        """
        from micrograd import Value


        def neuron_loss(w1):
            o = (2.0 * w1 + 6.8813735870195432).tanh()  # x1 = 2; x2 * w2 = 0
            return (o - 1.0) ** 2


        w1 = Value(-3.0, label="w1")
        loss = neuron_loss(w1)
        loss.backward(create_graph=True)
        slope = w1.grad  # a Value: d loss / d w1, with a graph of its own
        w1.grad = 0.0  # a leaf's grad accumulates: clear it before the second pass
        slope.backward()
        curvature = w1.grad  # d/dw1 of the slope: the second derivative
        print(f"loss {loss.data:.6f}, slope {slope.data:.6f}, curvature {curvature:.6f}")
        """
    ),
    md(
        """
        Check it as in notebook 1, by nudging: the curvature is the slope of the slope.
        """
    ),
    code(
        """
        from micrograd.gradcheck import derivative


        def slope_at(w):
            w1 = Value(w)
            neuron_loss(w1).backward()
            return w1.grad


        nudged = derivative(slope_at, -3.0)
        assert math.isclose(nudged, curvature, rel_tol=1e-6)
        nudged
        """
    ),
    md(
        """
        And against PyTorch, whose `torch.autograd.grad(..., create_graph=True)` does the same:
        """
    ),
    code(
        """
        import torch

        w = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
        torch_loss = (torch.tanh(2.0 * w + 6.8813735870195432) - 1.0) ** 2
        (torch_slope,) = torch.autograd.grad(torch_loss, w, create_graph=True)
        (torch_curvature,) = torch.autograd.grad(torch_slope, w)
        assert math.isclose(torch_slope.item(), slope.data, rel_tol=1e-12)
        assert math.isclose(torch_curvature.item(), curvature, rel_tol=1e-12)
        torch_slope.item(), torch_curvature.item()
        """
    ),
    md(
        """
        What curvature buys: a better guess of the loss after a step $\\Delta$. The slope alone
        predicts $\\text{loss} + \\text{slope} \\cdot \\Delta$; adding the curvature gives
        $\\text{loss} + \\text{slope} \\cdot \\Delta + \\tfrac{1}{2} \\text{curvature} \\cdot
        \\Delta^2$, which lands much closer.
        """
    ),
    code(
        """
        step = 0.1
        actual = neuron_loss(Value(-3.0 + step)).data
        slope_only = loss.data + slope.data * step
        with_curvature = slope_only + 0.5 * curvature * step**2
        print(f"actual {actual:.5f}")
        print(f"slope only {slope_only:.5f}, with curvature {with_curvature:.5f}")
        assert abs(with_curvature - actual) < abs(slope_only - actual)
        """
    ),
    md(
        """
        Now the trained moons net. Its loss is made of ReLUs, a hinge (a ReLU too), sums and
        products with other weights: along any one weight it is a chain of straight pieces.
        Between the kinks it has no curvature at all, except from the penalty $\\alpha p^2$,
        whose second derivative is $2\\alpha = 0.0002$. The engine agrees:
        """
    ),
    code(
        """
        scores = [model(x) for x in X]
        total = hinge_loss(scores, labels) + l2(model.parameters(), 1e-4)
        model.zero_grad()
        total.backward(create_graph=True)
        p = model.layers[0].neurons[0].w[0]
        slope = p.grad
        model.zero_grad()  # every parameter's grad is a Value now: clear them all
        slope.backward()
        print(f"slope {slope.data:.6f}, curvature {p.grad:.6f}")
        assert math.isclose(p.grad, 2e-4, rel_tol=1e-9)
        """
    ),
    md(
        """
        So for this net the slope alone cannot tell how far a step may go before it overshoots;
        the demo's falling learning rate does that job instead. Curvature is what second-order
        methods (Newton's method and its cheaper cousins) use to choose their steps.

        **Where to go next**: `explain` narrates any backward pass; `micrograd.gradcheck`
        checks any gradient by nudging; `fast.trace` compiles any loss built from Values.
        """
    ),
]


def _lesson(name: str) -> list[nbformat.NotebookNode]:
    """The cells of a lesson kept in its own file beside this one (``cells(md, code)``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"notebooks_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cells: list[nbformat.NotebookNode] = module.cells(md, code)
    return cells


NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {
    "01_derivatives_and_the_value.ipynb": DERIVATIVES,
    "02_a_neuron.ipynb": NEURON,
    "03_an_mlp.ipynb": MLP_LESSON,
    "04_moons_and_beyond.ipynb": MOONS,
    "05_from_micrograd_to_a_gpt.ipynb": _lesson("lesson_gpt"),
    "06_beyond_backward.ipynb": _lesson("lesson_func"),
}


def build() -> dict[str, str]:
    """Each notebook's file name and its JSON text: stable cell ids, no outputs."""
    texts = {}
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata = {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        }
        nb.cells = [cell.copy() for cell in cells]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i:02d}"  # stable ids: rebuilding changes no line
        nbformat.validate(nb)
        texts[name] = nbformat.writes(nb) + "\n"
    return texts


def main() -> int:
    """Write the notebooks; with ``--check``, only report (exit 1) those that differ."""
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in build().items():
        path = HERE / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, encoding="utf-8")
    verb = "differ from build.py" if check else "written"
    print(f"{len(stale)} notebook(s) {verb}: {', '.join(stale) or '-'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
