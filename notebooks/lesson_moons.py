"""The cells of lesson 4, "Moons and beyond" (notebooks/build.py writes the notebook).

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
            # 4. micrograd's moons demo, and beyond

            micrograd's repository ends with a demo: a net with 2 inputs, two hidden layers of 16
            ReLU neurons and 1 output, learning to separate two interleaving half-moons of 100
            points. This notebook trains it on the Value engine, draws what it learned, runs the
            same training on micrograd's compiled NumPy path, and ends with second derivatives.
            """
        ),
        *pictures,
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
        ),
        md(
            """
            ## The same loop in PyTorch

            When a model outgrows a scalar engine, the next stop is PyTorch.
            `micrograd.interop.to_torch` turns the net into a `torch.nn.Module` (in float64) with the
            same weights: each layer becomes a `Linear` whose row $i$ holds neuron $i$'s weights,
            followed by its activation.
            """  # noqa: E501 - the notebook's own lines, one indent deeper here
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
