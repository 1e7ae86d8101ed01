"""The cells of lesson 3, "An MLP" (notebooks/build.py writes the notebook).

``cells(md, code, pictures)`` takes build.py's two cell makers and the cells that start
its pictures (shared with another lesson), so this file needs nothing from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Cell = Callable[[str], Any]


def cells(md: Cell, code: Cell, pictures: list[Any]) -> list[Any]:
    """The lesson's cells, in order."""
    return [
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
        *pictures,
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
        ),
        md(
            """
            **Next**: notebook 4 trains micrograd's own demo, a bigger net on two-moons data, with
            the library's `fit`, which is this loop plus an optimizer and a learning-rate schedule.
            """
        ),
    ]
