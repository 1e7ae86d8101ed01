"""The cells of lesson 1, "Derivatives and the Value" (notebooks/build.py writes the notebook).

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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
