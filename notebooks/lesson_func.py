"""The cells of lesson 6, "Beyond backward()" (notebooks/build.py writes the notebook).

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
            # 6. Beyond `backward()`: function transforms and forward mode

            `loss.backward()` fills `.grad` on every Value a loss was computed from. JAX and
            `torch.func` offer another way to say the same thing: **transform a function** into
            its derivative, `grad(f)`, which is again a function, so it can be transformed again.

            `micrograd.func` does this on our engine, in two ways: **reverse mode** (what
            `backward()` does) and **forward mode** (dual numbers). This lesson shows both, and
            when each one is cheaper.
            """
        ),
        code(
            """
            import time

            from micrograd import Value
            from micrograd.engine import RULES, topological_order
            from micrograd.func import grad, hessian, jacfwd, jacobian, jvp, vjp
            """
        ),
        md(
            """
            ## `grad` turns a function into its derivative

            Take f(x) = x³ − 2x. By hand: f'(x) = 3x² − 2, f''(x) = 6x, f'''(x) = 6. `grad(f)` is
            a Python function; give it a number and it returns a number. Because its work is
            recorded as a graph too (`backward(create_graph=True)`), `grad(grad(f))` works.
            """
        ),
        code(
            """
            def f(x):
                return x**3 - 2 * x


            df = grad(f)
            d2f = grad(df)
            d3f = grad(d2f)
            print(df(2.0), d2f(2.0), d3f(2.0))
            assert (df(2.0), d2f(2.0), d3f(2.0)) == (3 * 2.0**2 - 2, 6 * 2.0, 6.0)
            """
        ),
        md(
            """
            Give `grad(f)` a Value instead of a number and it returns a Value: the derivative
            with its own graph, built by the backward pass from the rules of x³ and 2x. That
            graph is what `grad(grad(f))` walks back through.
            """
        ),
        code(
            """
            from micrograd.viz import draw_dot

            x = Value(2.0, label="x")
            slope = grad(f)(x)
            print(slope.data)
            draw_dot(slope)
            """
        ),
        md(
            """
            ## Forward mode: carry the derivative along

            Reverse mode runs `f` forward, then walks the graph **backwards** from the output.
            Forward mode walks only forwards: every number travels with its **tangent**, how
            fast it moves when the input moves. At each op, the tangent of the result comes from
            the op's row of `RULES`, the same row `backward()` uses: the local derivative times
            the incoming tangent. For `tanh` that row says:
            """
        ),
        code(
            """
            print(RULES["tanh"].formula)

            # (value, tangent) of tanh(x) * x at x = 0.5, moving x at speed 1
            value, tangent = jvp(lambda x: x.tanh() * x, (0.5,), (1.0,))
            print(value, tangent)
            assert tangent == grad(lambda x: x.tanh() * x)(0.5)
            """
        ),
        md(
            """
            `jvp` stands for **Jacobian-vector product**: for f with n inputs and m outputs, the
            Jacobian J is the m × n table of every output's derivative by every input, and one
            forward pass gives J·v for one direction v of the inputs. One reverse pass (`vjp`)
            gives uᵀ·J for one weighting u of the outputs. So:

            * forward mode gets **one column** of J per pass (one input at a time);
            * reverse mode gets **one row** of J per pass (one output at a time).

            `jacfwd` builds J column by column, `jacobian` row by row. They agree:
            """
        ),
        code(
            """
            def polar(r, theta):
                return [r * theta.cos(), r * theta.sin()]


            print(jacobian(polar, argnums=(0, 1))(2.0, 0.5))
            print(jacfwd(polar, argnums=(0, 1))(2.0, 0.5))
            out, vjp_fn = vjp(polar, 2.0, 0.5)
            print("u^T J for u = (1, 0):", vjp_fn([1.0, 0.0]))
            print("J v for v = (1, 0):", jvp(polar, (2.0, 0.5), (1.0, 0.0))[1])
            """
        ),
        md(
            """
            ## What it costs: Rⁿ → R and R → Rⁿ

            A loss is a function of **many** inputs (the weights) and **one** output: reverse
            mode finds all n derivatives in one backward pass, forward mode needs n passes. A
            curve t ↦ (x₁(t), …, xₙ(t)) is the opposite: one input, many outputs.

            Below, `passes` counts the walks over the graph that each transform makes after
            building it, and `ops` the rule applications in all those walks: forward mode
            evaluates all of `f` in each pass; each backward pass of reverse mode walks the part
            of the graph its output depends on. In `curve`, every output shares a chain of 30
            ops on t, as outputs of a real model share its layers.
            """
        ),
        code(
            """
            def loss(xs):  # R^n -> R
                total = Value(0.0)
                for a, b in zip(xs, xs[1:] + xs[:1]):
                    total = total + (a * b).tanh()
                return total


            def curve(t):  # R -> R^n
                u = t
                for _ in range(30):  # shared work
                    u = (u * 0.9).sin() + t
                return [(u * (k + 1)).sin() for k in range(N)]


            def seconds(transform, f, x):
                start = time.perf_counter()
                transform(f)(x)
                return time.perf_counter() - start


            print(f"{'function':>9} {'n':>4} {'mode':>8} {'passes':>6} {'ops':>7} {'seconds':>8}")
            for N in (10, 40, 160):
                xs = [0.1 * k for k in range(N)]
                graph = len(topological_order(loss([Value(x) for x in xs])))
                rows = [("reverse", grad, 1, graph), ("forward", jacfwd, N, N * graph)]
                for mode, transform, passes, ops in rows:
                    t = seconds(transform, loss, xs)
                    print(f"{'R^n -> R':>9} {N:>4} {mode:>8} {passes:>6} {ops:>7} {t:>8.4f}")
                outputs = curve(Value(0.3))
                walked = sum(len(topological_order(o)) for o in outputs)  # one walk per output
                graph = len({id(n) for o in outputs for n in topological_order(o)})
                rows = [("reverse", jacobian, N, walked), ("forward", jacfwd, 1, graph)]
                for mode, transform, passes, ops in rows:
                    t = seconds(transform, curve, 0.3)
                    print(f"{'R -> R^n':>9} {N:>4} {mode:>8} {passes:>6} {ops:>7} {t:>8.4f}")
            """
        ),
        md(
            """
            The rule of thumb: **few outputs, many inputs → reverse mode** (training a network:
            one loss, thousands of weights); **few inputs, many outputs → forward mode**. Both
            give the same numbers; only the cost differs. (Reverse mode also keeps the whole
            graph in memory until the backward pass; forward mode keeps only the current pair.)
            """
        ),
        code(
            """
            xs = [0.1 * k for k in range(20)]
            reverse, forward = grad(loss)(xs), jacfwd(loss)(xs)
            print(max(abs(a - b) for a, b in zip(reverse, forward)))
            assert all(abs(a - b) < 1e-12 for a, b in zip(reverse, forward))
            """
        ),
        md(
            """
            ## The Hessian and Newton's method

            `hessian(f)` is `jacobian(grad(f))`: the table of second derivatives. Newton's method
            uses it to jump to where the gradient is zero: solve H·step = −g. On Rosenbrock's
            valley f(x, y) = (1 − x)² + 5(y − x²)², whose minimum is at (1, 1), it lands there in
            two steps; gradient descent, below it, is still on its way after 500.
            """
        ),
        code(
            """
            def valley(p):
                x, y = p
                return (1 - x) ** 2 + 5 * (y - x * x) ** 2


            p = [-1.0, 1.0]
            for step in range(3):
                g = grad(valley)(p)
                (a, b), (c, d) = hessian(valley)(p)
                det = a * d - b * c  # solve the 2x2 system H s = -g by Cramer's rule
                s = [(-g[0] * d + g[1] * b) / det, (-g[1] * a + g[0] * c) / det]
                p = [p[0] + s[0], p[1] + s[1]]
                print(step, [round(v, 10) for v in p], round(valley(p), 12))
            assert abs(p[0] - 1) < 1e-9 and abs(p[1] - 1) < 1e-9

            q = [-1.0, 1.0]
            for _ in range(500):  # gradient descent, at a rate that does not diverge
                g = grad(valley)(q)
                q = [q[0] - 0.02 * g[0], q[1] - 0.02 * g[1]]
            print("gradient descent after 500 steps:", q, valley(q))
            """
        ),
        md(
            """
            ## What forward mode cannot read

            A lecture-style op, built by hand with a `_backward` closure, tells `backward()` how
            to push a gradient back, and nothing else: there is no rule for forward mode to read.
            `jvp` says so and names the op (`engine.register_op` adds an op with a rule, which
            every mode reads).
            """
        ),
        code(
            """
            import math


            def my_tanh(a):
                out = Value(math.tanh(a.data), (a,), "my_tanh")

                def _backward():
                    a.grad += (1 - out.data**2) * out.grad

                out._backward = _backward
                return out


            print(grad(my_tanh)(0.5))  # reverse mode runs the closure
            try:
                jvp(my_tanh, (0.5,), (1.0,))
            except ValueError as error:
                print("ValueError:", error)
            """
        ),
        md(
            """
            **Where to go next**: `micrograd.gradcheck.gradgradcheck` checks second derivatives
            by nudging, as `gradcheck` does first ones. `torch.func` (`grad`, `jacrev`, `jacfwd`,
            `hessian`, `jvp`, `vjp`) and JAX offer the same transforms on tensors; the tests of
            `micrograd.func` compare with `torch.func` on thousands of random functions.
            """
        ),
    ]
