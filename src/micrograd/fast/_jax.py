"""The JAX backend (``trace(..., backend="jax")``): a traced program's kernels written again as
``jax.numpy`` code (``fast._jax_steps``) and compiled once by ``jax.jit`` (float64, on the CPU),
which fuses the elementwise work; here, XLA's flags, the jitted program and its training loops.
Derivatives come from ``engine.RULES`` run with ``JaxMath``, as the NumPy path runs them with
``NumpyMath``: no derivative is written here. As JAX on the CPU, XLA flushes subnormal numbers
(below 2.2e-308) to zero: a documented difference from the NumPy path."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from micrograd.optim.rules import sgd_rule, sgd_settings

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from micrograd._extras import install_hint

    raise ImportError(f"backend='jax' needs JAX: {install_hint('jax')}") from exc

from micrograd.fast._jax_steps import _STEPS, _Segments, _Zeros, unsupported
from micrograd.fast._optim import ArraySGD, _check_state
from micrograd.fast._rules import Array
from micrograd.fast._schedule import _Compiled
from micrograd.fast._signs import zero_signs_needed


def _with_our_flags(flags: str) -> str:
    """``XLA_FLAGS`` with ours first (XLA reads no flag after a word without ``--``): one
    thread, as NumPy's, and no algebraic simplifier, whose rewrites compute other numbers
    than the ops one by one: ``(a + c) - c`` is ``a`` to it (the engine rounds ``a + c``),
    ``log(exp(a))`` is ``a`` (the engine's ``exp(800)`` is inf). The user's flags follow, a
    list of passes to skip included (``algsimp`` joins it)."""
    words = flags.split()
    skip = "--xla_disable_hlo_passes="
    at = next((k for k, w in enumerate(words) if w.startswith(skip)), None)
    ours = [w for w in ("--xla_cpu_multi_thread_eigen=false",) if w not in words]
    if at is None:
        ours.append(skip + "algsimp")
    elif "algsimp" not in words[at][len(skip) :].split(","):
        words[at] += ",algsimp"
    return " ".join([*ours, *words])


# XLA reads its flags when its CPU backend starts, at the first computation in the process.
os.environ["XLA_FLAGS"] = _with_our_flags(os.environ.get("XLA_FLAGS", ""))

jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]  # micrograd's numbers are float64 on every path
_CPU = jax.devices("cpu")[0]
# Whether a jitted call on NumPy arrays runs on the CPU untold (JAX has no accelerator).
_CPU_BY_DEFAULT = jax.default_backend() == "cpu"


def _on_cpu() -> contextlib.AbstractContextManager[object]:
    """Where jitted calls on NumPy arrays run on the CPU: no context when they do so untold
    (entering jax.default_device costs about as much as the rest of a small step, and
    jax.device_put more)."""
    if _CPU_BY_DEFAULT and getattr(jax.config, "jax_default_device", None) is None:
        return contextlib.nullcontext()
    return cast(contextlib.AbstractContextManager[object], jax.default_device(_CPU))


class JaxProgram:
    """A traced program under ``jax.jit``: called as ``(theta, inputs, others) -> (loss, grad)``
    on NumPy arrays, and ``run_sgd`` for training steps whose parameters stay JAX arrays."""

    def __init__(self, compiled: _Compiled, sizes: Sequence[int]) -> None:
        why = unsupported(compiled)
        if why is not None:
            raise ValueError(
                f"backend='jax' cannot replay this program: {why}; use backend='numpy'"
            )
        self._loss_and_grad = loss_and_grad = _loss_and_grad(compiled, sizes)

        def joined(theta: Any, inputs: Sequence[Any], others: Any) -> Any:
            loss, grad = loss_and_grad(theta, inputs, others)
            return jnp.concatenate([loss[None], grad])  # one array: one copy back, not two

        self._jitted = jax.jit(joined)
        self._sgd_loops: dict[tuple[float, float, bool, float], Any] = {}

    def __call__(self, theta: Array, inputs: Sequence[Array], others: Array) -> tuple[float, Array]:
        with _on_cpu():
            found = np.array(self._jitted(theta, list(inputs), others))
        return float(found[0]), found[1:]

    def _sgd_steps(self, momentum: float, dampening: float, nesterov: bool, decay: float) -> Any:
        """Up to ``_CHUNK`` training steps as one jitted call (an XLA loop): the loss, its
        gradient and ``optim``'s SGD rule (the rule ``ArraySGD.update`` applies) at each.

        Called as ``(theta, buf, fresh, lr, count, inputs, others) -> (losses, theta, buf,
        grad)``: ``count`` steps from ``theta`` (``losses``: ``_CHUNK`` numbers, the first
        ``count`` of them the steps' losses; ``grad``: the last step's gradient). ``buf`` is
        the momentum buffer (None without momentum); ``fresh`` says it is not made yet (the
        first step's buffer is its gradient, as ``sgd_rule`` makes it from None). ``lr``,
        ``count`` and ``fresh`` are arguments: none of them compiles anything new."""
        key = (momentum, dampening, nesterov, decay)
        made = self._sgd_loops.get(key)
        if made is None:
            loss_and_grad = self._loss_and_grad

            def update(theta: Any, grad: Any, buf: Any, first: Any, lr: Any) -> tuple[Any, Any]:
                later = sgd_rule(theta, grad, buf, lr, momentum, dampening, nesterov, decay)
                if buf is None:  # no momentum: no buffer to make
                    return later
                made = sgd_rule(theta, grad, None, lr, momentum, dampening, nesterov, decay)
                return jnp.where(first, made[0], later[0]), jnp.where(first, made[1], later[1])

            def steps(theta: Any, buf: Any, fresh: Any, lr: Any, count: Any, *fixed: Any) -> Any:
                def body(i: Any, state: tuple[Any, Any, Any, Any]) -> tuple[Any, Any, Any, Any]:
                    theta, buf, losses, _ = state
                    loss, grad = loss_and_grad(theta, *fixed)
                    theta, buf = update(theta, grad, buf, fresh & (i == 0), lr)
                    return theta, buf, losses.at[i].set(loss), grad

                start = (theta, buf, jnp.zeros(_CHUNK), jnp.zeros(theta.shape))
                theta, buf, losses, grad = jax.lax.fori_loop(0, count, body, start)
                return losses, theta, buf, grad

            made = self._sgd_loops[key] = jax.jit(steps)
        return made

    def run_sgd(
        self,
        steps: int,
        theta: Array,
        inputs: Sequence[Array],
        others: Array,
        optimizer: ArraySGD,
        finish: Callable[[Array, Array], object],
    ) -> list[float]:
        """``steps`` steps of ``optimizer`` from ``theta``: their losses, in order.

        The steps run in jitted loops of up to ``_CHUNK`` steps (``_sgd_steps``), the
        parameters, the momentum buffer and the inputs JAX arrays from one to the next; each
        loop starts before the losses of the one before are read, so XLA is never idle. When
        the run ends, or raises (Ctrl-C lands between two loops), ``optimizer``'s buffer and
        ``finish(theta, grad)`` receive the last finished loop's numbers (nothing if none).
        """
        settings = sgd_settings(
            optimizer.lr,
            optimizer.momentum,
            optimizer.dampening,
            optimizer.nesterov,
            optimizer.weight_decay,
        )  # checked as SGD checks them (ArraySGD.update does so when they change)
        _check_state(optimizer.momentum_buffer, theta)
        lr, momentum, dampening, nesterov, decay = settings
        losses: list[float] = []
        done: Any = None  # the last loop's (losses, theta, buf, grad)
        counts: list[int] = []
        # Without momentum the buffer is left as it is (sgd_rule passes it through).
        fresh = momentum != 0.0 and optimizer.momentum_buffer is None
        buf: Any = None
        if momentum != 0.0:
            buf = np.zeros(theta.shape) if fresh else optimizer.momentum_buffer
        # The NumPy arrays go to the first loop as they are (jit copies them; so would
        # jax.device_put, at several times the cost); the loops hand on JAX arrays.
        params, rate, fixed = theta, np.float64(lr), (list(inputs), others)
        try:
            for start in range(0, steps, _CHUNK):
                loop = self._sgd_steps(momentum, dampening, nesterov, decay)
                counts.append(min(_CHUNK, steps - start))
                with _on_cpu():
                    ahead = loop(params, buf, fresh, rate, counts[-1], *fixed)
                if done is not None:  # read while the next loop runs
                    losses += np.asarray(done[0])[: counts[-2]].tolist()
                done, fresh = ahead, False
                _, params, buf, _ = done
            if done is not None:
                losses += np.asarray(done[0])[: counts[-1]].tolist()
        finally:
            if done is not None:
                if momentum != 0.0:
                    optimizer.momentum_buffer = np.array(done[2])
                finish(np.array(done[1]), np.array(done[3]))
        return losses


# Steps one jitted call of ``run_sgd`` takes at most: its losses come back as one array of
# this many numbers, and a Ctrl-C waits at most this many steps.
_CHUNK = 128


def _loss_and_grad(compiled: _Compiled, sizes: Sequence[int]) -> Callable[..., tuple[Any, Any]]:
    """``(theta, inputs, others) -> (loss, grad)`` for ``compiled`` (inputs of ``sizes``
    numbers) in jax.numpy, to be jitted."""
    n_params, size = compiled.n_params, compiled.v.size
    leaf_starts = list(np.cumsum([0, n_params, *sizes, len(compiled.other_leaves)]))
    outputs = [int(out.start) for out in compiled.outputs]
    segments = _Segments([int(at) for at in leaf_starts] + outputs, size)
    consts = compiled.v[leaf_starts[-1] : outputs[0] if outputs else size].copy()
    steps = [
        _STEPS[type(kernel)](segments, segments.of(at), kernel)
        for kernel, at in zip(compiled.kernels, outputs, strict=True)
    ]
    needed = zero_signs_needed(compiled)
    for step, out in zip(steps, compiled.outputs, strict=True):
        step.signs_zeros = bool(needed[out].any())
    root = segments.of(compiled.root)
    root_at = compiled.root - int(segments.starts[root])
    theta_seg = segments.of(0) if n_params else -1

    seed = np.zeros(int(segments.stops[root] - segments.starts[root]))
    seed[root_at] = 1.0  # d loss / d loss

    def replay(theta: Any, inputs: Sequence[Any], others: Any, zeros: _Zeros) -> tuple[Any, Any]:
        leaves = [theta, *(x.ravel() for x in inputs), others, jnp.asarray(consts)]
        vals: list[Any] = [None] * len(segments.starts)
        for k, at in enumerate(leaf_starts):
            if at < size and leaves[k].size:
                vals[segments.of(at)] = leaves[k]
        for step in steps:
            step.run(vals, zeros)
        grads: list[Any] = [None] * len(vals)
        grads[root] = jnp.asarray(seed)
        for step in reversed(steps):
            step.back(grads, vals)
        grad = jnp.zeros(n_params) if theta_seg < 0 or grads[theta_seg] is None else grads[0]
        # A parameter's gradient is its shares added to a .grad of +0.0, so never -0.0; XLA
        # drops an added zero (x + 0.0 -> x), which would leave a share's -0.0.
        return vals[root][root_at], jnp.where(grad == 0.0, 0.0, grad)

    def loss_and_grad(theta: Any, inputs: Sequence[Any], others: Any) -> tuple[Any, Any]:
        quick = _Zeros(exact=False)
        found = replay(theta, inputs, others, quick)
        if not quick.seen:
            return found
        # A zero sum (rare in training: its sign is the only thing the quick pass may get
        # wrong) takes the exact pass instead; XLA runs a branch of cond only when chosen.
        return cast(
            tuple[Any, Any],
            jax.lax.cond(
                jnp.any(jnp.stack(quick.seen)),
                lambda: replay(theta, inputs, others, _Zeros(exact=True)),
                lambda: found,
            ),
        )

    return loss_and_grad


def compile_jax(compiled: _Compiled, sizes: Sequence[int]) -> JaxProgram:
    """The JAX backend's program for ``compiled`` (inputs of ``sizes`` numbers); ValueError
    when ``unsupported`` says why it cannot be, or when XLA would not compute op by op."""
    _check_op_by_op()
    return JaxProgram(compiled, sizes)


_op_by_op: bool | None = None  # whether XLA computes op by op (checked once)


def _check_op_by_op() -> None:
    """ValueError unless XLA computes these ops one by one, as the engine does:
    ``(1.5 + 1e16) - 1e16`` is 2.0 (``1.5 + 1e16`` rounds), ``log(exp(800))`` and
    ``(1.5 * 1.2e308) / 1.2e308`` are inf. They are when XLA started with ``_with_our_flags``
    (and in JAX versions whose simplifier keeps them); JAX code run in the process before
    ``micrograd.fast`` loaded its backend may have started XLA with rewrites that do not."""
    global _op_by_op
    if _op_by_op is None:

        def rewritten(x: Any) -> Any:
            return jnp.stack(
                [(x + 1e16) - 1e16, jnp.log(jnp.exp(800.0 * x)), (x * 1.2e308) / 1.2e308]
            )

        with _on_cpu():
            found = np.asarray(jax.jit(rewritten)(np.float64(1.5))).tolist()
        _op_by_op = found[0] == 2.0 and found[1] == found[2] == math.inf
    if not _op_by_op:
        raise ValueError(
            "backend='jax' needs XLA without its algebraic simplifier, and XLA started (JAX ran "
            "code before micrograd.fast loaded its backend) with it on, "
            "which rewrites (a + c) - c as a and log(exp(a)) as a: the program would give other "
            "numbers than the Value engine. Start Python with XLA_FLAGS="
            "--xla_disable_hlo_passes=algsimp, or use backend='numpy'"
        )
