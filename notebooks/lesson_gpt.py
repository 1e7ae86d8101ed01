"""The cells of lesson 5, "From micrograd to a GPT" (notebooks/build.py writes the notebook).

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
            # 5. From micrograd to a GPT

            In February 2026 Andrej Karpathy published **microgpt**: a GPT that learns to make up
            names, trained by a scalar `Value` engine like the one in lessons 1-4. Nothing new is
            needed underneath: the model is sums, products, `exp`, `log`, `relu` and powers of
            Values, tens of thousands of them per name.

            This lesson builds its one new idea, **attention**, on three tokens small enough to
            draw, then trains the whole model for a few steps and samples names from it.
            `micrograd.gpt` holds the model; `micrograd gpt train` runs the full recipe.
            """
        ),
        code(
            """
            import math
            import random

            from micrograd import Value, explain
            from micrograd.gpt import (
                GPT,
                CharTokenizer,
                generate,
                make_optimizer,
                names,
                schedule,
                softmax,
                value_step,
            )
            from micrograd.gpt.train import shuffled
            from micrograd.viz import draw_dot
            """
        ),
        md(
            """
            ## Characters as tokens

            A document is one name. Each character becomes an id, and one more id, **BOS**
            (beginning of sequence), marks where a name starts and ends. The model learns to
            predict each next id from the ones before it.
            """
        ),
        code(
            """
            docs = shuffled(names(), seed=42)
            tokenizer = CharTokenizer.from_documents(docs)
            print(len(docs), "names, e.g.", docs[:5])
            print("vocabulary:", tokenizer.chars, "+ BOS =", tokenizer.vocab_size, "ids")
            print("emma ->", tokenizer.document("emma"))
            """
        ),
        md(
            """
            ## Attention on three tokens

            At each position the model makes three vectors from what it knows so far: a
            **query** ("what am I looking for?"), a **key** ("what do I hold?") and a **value**
            ("what do I pass on?"). The newest token compares its query with the key of every
            token up to itself; the scores, scaled by $1/\\sqrt{d}$ and put through a softmax,
            become weights; the output is the weighted sum of the values.

            Here are three tokens with two-number keys and values, one head, written out by
            hand. Only the first number of the output is followed, so the graph fits on a page.
            """
        ),
        code(
            """
            q = [Value(1.0, label="q0"), Value(0.5, label="q1")]
            keys = [[Value(0.2, label=f"k{t}0"), Value(-0.4, label=f"k{t}1")] for t in range(3)]
            keys[2][0].data = 0.9  # the third token's key points along the query
            values = [Value(v, label=f"v{t}") for t, v in enumerate([1.0, -2.0, 3.0])]

            scores = []
            for t, k in enumerate(keys):
                s = (q[0] * k[0] + q[1] * k[1]) / math.sqrt(2)
                s.label = f"score{t}"
                scores.append(s)
            weights = softmax(scores)
            for t, w in enumerate(weights):
                w.label = f"weight{t}"
            out = weights[0] * values[0] + weights[1] * values[1] + weights[2] * values[2]
            out.label = "out"
            out.backward()
            print("weights:", [round(w.data, 3) for w in weights])
            print("out:", round(out.data, 4))
            """
        ),
        md(
            """
            The weights sum to 1 and favour the third token, whose key agrees with the query.
            In the drawing, follow each score through the softmax: the max (subtracted for
            safety, so that `exp` never overflows), the exponentials, their sum, the divisions.
            """
        ),
        code(
            """
            draw_dot(out)
            """
        ),
        md(
            """
            `explain` narrates the backward pass through it, node by node. Look at what reaches
            the keys: a key's gradient is the query times how much its score moved the output,
            which is how training teaches tokens where to look.
            """
        ),
        code(
            """
            explain(out)
            """
        ),
        code(
            """
            # Check one of those numbers by nudging the key: the slope matches its gradient.
            def out_with(k20):
                ks = [[k[0].data, k[1].data] for k in keys]
                ks[2][0] = k20
                ss = [Value((q[0].data * a + q[1].data * b) / math.sqrt(2)) for a, b in ks]
                ws = softmax(ss)
                return sum(w.data * v.data for w, v in zip(ws, values))


            h = 1e-6
            slope = (out_with(0.9 + h) - out_with(0.9 - h)) / (2 * h)
            assert math.isclose(slope, keys[2][0].grad, rel_tol=1e-6)
            slope, keys[2][0].grad
            """
        ),
        md(
            """
            ## The whole model

            microgpt's GPT puts that attention (4 heads of 4 numbers each) inside one
            transformer block: a token embedding plus a position embedding, RMSNorm, attention
            with a residual connection, a ReLU MLP with another, and a final linear map to one
            score (logit) per id. Its 4,192 parameters are drawn from a Gaussian with standard
            deviation 0.08.
            """
        ),
        code(
            """
            random.seed(42)
            model = GPT(tokenizer.vocab_size)
            print(model, len(model.parameters()), "parameters")
            print("wte", model.wte, "wpe", model.wpe, "lm_head", model.lm_head)
            print(model.layers[0])
            """
        ),
        md(
            """
            While it writes, the model reads one token at a time and keeps every earlier key and
            value in a **KV cache**, so that nothing is computed twice. The logits are the same
            as reading the whole sequence at once:
            """
        ),
        code(
            """
            tokens = tokenizer.document("emma")[:-1]
            cache = model.new_cache()
            one_at_a_time = [[v.data for v in model.step(t, cache)] for t in tokens]
            all_at_once = [[v.data for v in row] for row in model(tokens)]
            assert one_at_a_time == all_at_once
            len(cache), "positions cached"
            """
        ),
        md(
            """
            ## Training

            One name per step: the loss is the mean cross-entropy of predicting each next
            character. microgpt's Adam (betas 0.85 and 0.99) takes the step, with a learning
            rate falling in a straight line from 0.01 to 0. An untrained model guesses among 27
            ids, a loss of about $\\ln 27 \\approx 3.3$.
            """
        ),
        code(
            """
            steps = 40
            train_step = value_step(model, make_optimizer(model))
            lr_at = schedule(0.01, steps)
            losses = []
            for k in range(steps):
                losses.append(train_step(tokenizer.document(docs[k]), lr_at(k)))
                if k % 10 == 0 or k == steps - 1:
                    print(f"step {k:3d}: loss {losses[-1]:.3f}")
            first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
            assert last < first
            print(f"mean loss of the first 10 steps {first:.3f}, of the last 10 {last:.3f}")
            """
        ),
        md(
            """
            ## Sampling

            To write a name, start from BOS, draw the next character from the softmax of the
            logits divided by a **temperature** (0.5 favours likely characters), feed it back,
            and stop at the next BOS. A prefix is read first, then continued.
            """
        ),
        code(
            """
            print(generate(model, tokenizer, num=8, temperature=0.5, rng=random.Random(0)))
            print(generate(model, tokenizer, num=8, prefix="ka", rng=random.Random(0)))
            """
        ),
        md(
            """
            After 40 steps the names are rough. The full recipe, 1,000 steps, runs from the
            command line with a progress bar, a checkpoint you can resume, and a loss curve:

            ```bash
            micrograd gpt train --steps 1000
            micrograd gpt sample --prefix ka
            ```

            Give it any text file, one document per line, to learn something else:
            `micrograd gpt train cities.txt`.
            """
        ),
    ]
