"""The cells of lesson 2, "A neuron" (notebooks/build.py writes the notebook).

``cells(md, code)`` takes build.py's two cell makers, so this file needs nothing from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Cell = Callable[[str], Any]


def cells(md: Cell, code: Cell) -> list[Any]:
    """The lesson's cells, in order."""
    return [
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
        ),
        code(
            """
            o_rule, grads_rule = neuron_grads(lambda n: n.tanh())
            o_exp, grads_exp = neuron_grads(tanh_from_exp)
            for name in START:
                print(f"{name}: tanh rule {grads_rule[name]: .6f}   from exp {grads_exp[name]: .6f}")
                assert math.isclose(grads_rule[name], grads_exp[name], abs_tol=1e-12)
            assert math.isclose(o_rule.data, o_exp.data)
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
