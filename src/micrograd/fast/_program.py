"""Program: the public face of a traced loss. It traces (again when a guard fails), loads
parameters and inputs, runs the compiled kernels and hands gradients back to the Values."""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import numpy as np
import numpy.typing as npt

from micrograd import _check as check
from micrograd import _hooks
from micrograd._tracing import (
    Recorder,
    StructureError,
    TracedIndex,
    settle,
    traced_input,
    watching,
)
from micrograd.engine import RULES, Value, gc_paused, is_grad_enabled
from micrograd.fast._optim import ArraySGD
from micrograd.fast._rules import Array
from micrograd.fast._schedule import _Compiled, _data
from micrograd.fast._trace import _Graph, _locate
from micrograd.losses import TargetRule, checked_by_caller


def _same_bits(a: Array, b: Array) -> bool:
    """Equal as stored (nan equals nan; -0.0 differs from 0.0)."""
    return a.shape == b.shape and bool((a.view(np.int64) == b.view(np.int64)).all())


def _nest(flat: list[Value], shape: tuple[int, ...]) -> Any:
    """Values in nested lists of the given shape (one Value for shape ``()``)."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = math.prod(shape[1:])
    return [_nest(flat[k * step : (k + 1) * step], shape[1:]) for k in range(shape[0])]


def _array(x: Any, accepts: str, not_a_value: str) -> npt.NDArray[Any]:
    """``x`` as an array of one shape (TypeError for a Value, ValueError for ragged lists)."""
    if isinstance(x, Value):
        raise TypeError(f"{accepts}, not {not_a_value}")
    try:
        return np.asarray(x)
    except ValueError as exc:  # lists of unequal lengths
        raise ValueError(f"{accepts} of one shape: {exc}") from None


def _as_input(x: Any, k: int) -> Array:
    """Input ``k`` as a float64 array: a real number, an array, or nested lists of them.

    Refuses what the Value engine would not take as a number (None, text, complex) and Values
    (a Value that needs a gradient is a parameter); nan and inf are numbers and pass.
    """
    accepts = f"input {k} must be a real number, an array or nested lists of real numbers"
    array = _array(x, accepts, "a Value (a Value that needs a gradient is a parameter)")
    kind = array.dtype.kind
    if kind in "biuf":
        converted: Array = np.asarray(array, dtype=np.float64)
        return converted
    if kind == "O":
        numbers = []
        for item in array.ravel().tolist():
            if isinstance(item, (Value, str, bytes, complex)) or not hasattr(
                type(item), "__float__"
            ):
                raise TypeError(f"{accepts}, not {type(item).__name__}: {item!r:.40}")
            try:
                numbers.append(float(item))
            except OverflowError:  # an int too large for a float, such as 10**400
                raise ValueError(f"{accepts}, not {check.describe(item)}") from None
        return np.array(numbers, dtype=np.float64).reshape(array.shape)
    raise TypeError(f"{accepts}, not an array of {array.dtype}")


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _index_positions(indices: Any, arity: int) -> frozenset[int]:
    """``indices`` as a set of input positions (each in ``range(arity)``)."""
    accepts = f"a list of input positions (integers in [0, {arity}))"
    items = check.sequence("indices", indices, accepts)
    positions = [
        check.integer(f"indices[{k}]", i, 0, what="an input position") for k, i in enumerate(items)
    ]
    for k, i in enumerate(positions):
        if i >= arity:
            check.wrong_value(f"indices[{k}]", i, f"an input position below {arity}")
    return frozenset(positions)


# Integers whose float64 is exact, so that an index's guard compares it to the bit.
_EXACT_INTEGERS = 2**53


def _as_index(x: Any, k: int) -> Array:
    """Index input ``k`` (an integer, an integer array or nested lists of integers) as the
    float64 array the program loads; every integer is exact in it."""
    accepts = f"input {k} (an index input) must be an integer, an integer array or nested lists"
    array = _array(x, accepts, "a Value")
    if array.dtype.kind == "O":
        items = array.ravel().tolist()
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
                raise TypeError(f"{accepts}, not {type(item).__name__}: {item!r:.40}")
        array = np.array([int(i) for i in items], dtype=object).reshape(array.shape)
    elif array.dtype.kind not in "iu":
        raise TypeError(f"{accepts}, not an array of {array.dtype}")
    too_large = [i for i in array.ravel().tolist() if not -_EXACT_INTEGERS < i < _EXACT_INTEGERS]
    if too_large:
        raise ValueError(f"{accepts} of magnitude below 2**53, not {too_large[0]}")
    converted: Array = np.asarray(array, dtype=np.float64)
    return converted


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


# Where a program runs: NumPy (the default), or jax.jit (the extra ``jax``; see fast._jax).
BACKENDS = ("numpy", "jax")


class RetraceWarning(UserWarning):
    """A program is traced again: a number its function read (said where) is different now."""


_Shapes = tuple[tuple[int, ...], ...]


class Program:
    """A traced loss, replayed on arrays: ``program(*inputs)`` runs forward and backward.

    Made by ``trace`` or ``compile_model``. Each call reads the parameters' current ``.data``,
    adds the gradient into each parameter's ``.grad`` (as ``loss.backward()`` does) and returns
    the loss. Inputs of another shape are retraced (or refused with ``retrace=False``). So is a
    call where a number the function read while traced (a guard: ``x.data``, ``float(x)``,
    ``f"{x}"``, a parameter's ``.data`` or ``.grad``) differs: see ``guards``.
    """

    def __init__(
        self,
        fn: Callable[..., Value],
        params: Sequence[Value],
        example_inputs: Sequence[Any],
        retrace: bool = True,
        indices: Sequence[int] = (),
        backend: str = "numpy",
    ) -> None:
        self.fn = check.function("fn", fn, "a function of the inputs that returns a Value")
        self.params = check.values("params", params, nonempty=False)
        if len(set(self.params)) != len(self.params):
            raise ValueError("params lists a Value twice")
        for p in self.params:
            if not isinstance(p, Value) or p._a is not None:
                raise ValueError("params must be leaf Values (no children)")
        self.retrace = check.boolean("retrace", retrace)
        self.backend = check.choice("backend", backend, BACKENDS)
        self._jax: dict[_Shapes, tuple[_Compiled, Any]] = {}  # the jitted twin of each program
        if self.backend == "jax":
            from micrograd.fast import _jax  # noqa: F401  (a missing JAX is named here)
        self.traces = 0
        self.grad: Array = np.zeros(len(self.params))
        self._programs: dict[_Shapes, _Compiled] = {}
        self._arity = len(example_inputs)
        self.indices = _index_positions(indices, self._arity)
        arrays = self._arrays(example_inputs)
        compiled = self._compile(arrays, self._theta())
        if self.backend == "jax":
            self._jitted(compiled, tuple(x.shape for x in arrays))  # refuse now, not at a step

    def _arrays(self, inputs: Sequence[Any]) -> list[Array]:
        if len(inputs) != self._arity:
            raise TypeError(f"the program takes {self._arity} inputs, got {len(inputs)}")
        return [
            _as_index(x, k)
            if k in self.indices
            else x  # already what _as_input makes of it (a training loop's batch, each step)
            if type(x) is np.ndarray and x.dtype == np.float64
            else _as_input(x, k)
            for k, x in enumerate(inputs)
        ]

    def _build(
        self, arrays: Sequence[Array]
    ) -> tuple[_Graph, Recorder, list[Value], _TargetChecks | None]:
        """Run the function on Values of these inputs: its graph, the numbers it read, the
        input leaves (an index input's numbers too, which it gets as ``TracedIndex`` objects)
        and the checks of target inputs its losses left to each call."""
        if not is_grad_enabled():
            raise RuntimeError("trace records a graph: call it outside no_grad()")
        leaves: list[Value] = []
        nested = []
        with watching(self.params) as recorder:  # (input leaves are of the trace's class too)
            for k, x in enumerate(arrays):
                flat = [traced_input(f) for f in x.ravel().tolist()]
                leaves.extend(flat)
                items: list[Any] = (
                    [TracedIndex(leaf) for leaf in flat] if k in self.indices else flat
                )
                nested.append(_nest(items, x.shape))
            # A loss of micrograd.losses checks a target input here, and leaves it to each
            # later call (_TargetChecks) instead of reading it into the graph.
            with checked_by_caller(leaves) as deferred:
                root = self.fn(*nested)
        found = (
            _TargetChecks(deferred.checks, deferred.leaf_checks, [x.size for x in arrays])
            if deferred.checks or deferred.leaf_checks
            else None
        )
        if not isinstance(root, Value):
            raise TypeError(f"the traced function must return a Value, not {type(root).__name__}")
        watched = list(recorder.reads)
        order, n_loss, located = _locate(root, watched, recorder.gathers, recorder.made_nodes)
        recorder.made_nodes.clear()  # (the nodes the loss does not use go)
        # A node made by hand or before the trace keeps its number; the program computes it.
        for node, what in settle(order, recorder.made).items():
            recorder.reads.setdefault(node, what)
        watched = list(recorder.reads)
        graph = _Graph(order, n_loss, self.params, leaves, watched, recorder.gathers, located)
        return graph, recorder, leaves, found

    def _compile(self, arrays: Sequence[Array], theta: Array) -> _Compiled:
        """Trace at ``theta`` (the parameters' numbers meanwhile) and these inputs."""
        saved = self._theta()
        moved = not _same_bits(saved, theta)
        try:
            if moved:
                for p, value in zip(self.params, theta.tolist(), strict=True):
                    p.data = value
            with gc_paused():  # a traced graph has no cycles; the collector would only rescan it
                graph, recorder, leaves, found = self._build(arrays)
                compiled = _Compiled(graph, len(self.params), sum(x.size for x in arrays))
        finally:
            if moved:
                for p, value in zip(self.params, saved.tolist(), strict=True):
                    p.data = value
        compiled.guards = list(recorder.reads.values())  # what each guard is, in their order
        compiled.target_checks = found
        # The rules it was compiled from: a rule replaced later (register_op again) retraces.
        compiled.ops = graph.ops
        compiled.rules = tuple(map(RULES.get, graph.ops))
        slot_of = {leaf: len(self.params) + j for j, leaf in enumerate(leaves)}
        compiled.add_predicates(
            [
                (slot_of[leaf], op, n, outcome, at)
                for (leaf, op, n), (outcome, at) in recorder.predicates.items()
            ]
        )
        index = {p: k for k, p in enumerate(self.params)}
        compiled.grad_guards = [
            (index[p], grad, at) for p, (grad, at) in recorder.grad_reads.items()
        ]
        self._programs[tuple(x.shape for x in arrays)] = compiled
        self.traces += 1
        return compiled

    def _changed(self, what: str, arrays: Sequence[Array], theta: Array) -> _Compiled:
        """A guard failed: trace again (with a RetraceWarning), or raise StructureError."""
        if not self.retrace:
            raise StructureError(
                f"the traced function's graph depends on {what}, which is different now: the "
                "compiled graph may not be the one the function builds; trace again, or pass "
                "retrace=True"
            )
        warnings.warn(
            f"the traced function's graph depends on {what}, which is different now: tracing "
            "again (a function whose graph depends on numbers it reads is traced at each change)",
            RetraceWarning,
            stacklevel=_caller_level(),
        )
        return self._compile(arrays, theta)

    def _program(self, arrays: Sequence[Array], theta: Array) -> _Compiled:
        shapes = tuple(x.shape for x in arrays)
        compiled = self._programs.get(shapes)
        if compiled is None:
            if not self.retrace:
                known = ", ".join(str(list(s)) for s in self._programs)
                raise StructureError(
                    f"inputs of shapes {[list(s) for s in shapes]} build another graph than the "
                    f"traced one ({known}); trace again or pass retrace=True"
                )
            return self._compile(arrays, theta)
        if compiled.rules != tuple(map(RULES.get, compiled.ops)):  # a rule replaced since
            op = next(op for op, rule in zip(compiled.ops, compiled.rules) if RULES.get(op) != rule)
            return self._changed(f"the rule of op {op!r} (engine.RULES, replaced)", arrays, theta)
        for k, grad, at in compiled.grad_guards:
            now = self.params[k].grad
            if not (type(now) is float and _same_bits(np.array([now]), np.array([grad]))):
                return self._changed(f"the .grad of parameter {k} read at {at}", arrays, theta)
        if compiled.target_checks is not None:
            changed = compiled.target_checks.check(arrays)
            if changed is not None:
                return self._changed(changed, arrays, theta)
        return compiled

    def _theta(self) -> Array:
        return np.fromiter(map(_data, self.params), dtype=np.float64, count=len(self.params))

    def theta(self) -> Array:
        """The parameters' numbers (``.data``), in ``params`` order: a new float64 array.

        With ``loss_and_grad`` and an ``ArraySGD``/``ArrayAdam``, a training loop updates this
        array alone, and ``load`` writes it back into the Values when they are wanted:

        >>> from micrograd.fast import ArraySGD
        >>> w = Value(1.0)
        >>> program, optimizer = trace(lambda x: (w * x - 1.0) ** 2, [w], 2.0), ArraySGD(lr=0.1)
        >>> theta = program.theta()
        >>> for _ in range(3):
        ...     loss, grad = program.loss_and_grad(theta, 2.0)
        ...     optimizer.update(theta, grad)
        >>> w.data, round(float(theta[0]), 6)
        (1.0, 0.504)
        >>> program.load(theta); round(w.data, 6)
        0.504
        """
        return self._theta()

    def load(self, theta: Any) -> None:
        """Set each parameter's ``.data`` to its number in ``theta`` (in ``params`` order)."""
        numbers = self._checked_theta(theta)
        for p, value in zip(self.params, numbers.tolist(), strict=True):
            p.data = value

    def _checked_theta(self, theta: Any) -> Array:
        if not (isinstance(theta, np.ndarray) and theta.dtype == np.float64):
            theta = check.reals("theta", theta, nonempty=False)
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (len(self.params),):
            raise ValueError(f"theta must hold {len(self.params)} numbers, not {theta.shape}")
        checked: Array = theta
        return checked

    def loss_and_grad(self, theta: Any, *inputs: Any) -> tuple[float, Array]:
        """The loss and its gradient (in ``params`` order) at ``theta``; no Value is touched."""
        _hooks.refuse_compiled(self.params)  # no hook runs here, and detect_anomaly() checks no op
        arrays = self._arrays(inputs)
        theta = self._checked_theta(theta)
        compiled = self._program(arrays, theta)
        if self.backend == "jax":
            others = np.fromiter(map(_data, compiled.other_leaves), np.float64)
            found: tuple[float, Array] = self._jitted(compiled, tuple(x.shape for x in arrays))(
                theta, arrays, others
            )
            return found
        failed = compiled.step(theta, arrays)
        if failed >= 0:
            compiled = self._changed(compiled.guards[failed], arrays, theta)
            failed = compiled.step(theta, arrays)
            if failed >= 0:
                raise StructureError(
                    f"traced again on these very inputs, the function's graph depends on "
                    f"{compiled.guards[failed]}, which its own graph does not give: it depends "
                    "on something besides its inputs and parameters"
                )
        return compiled.v.item(compiled.root), compiled.g[: len(self.params)].copy()

    def _jitted(self, compiled: _Compiled, shapes: _Shapes) -> Any:
        """The JAX backend's function for ``compiled`` (made once; ValueError if it cannot be)."""
        made = self._jax.get(shapes)
        if made is None or made[0] is not compiled:
            from micrograd.fast._jax import compile_jax

            sizes = [math.prod(shape) for shape in shapes]
            made = self._jax[shapes] = (compiled, compile_jax(compiled, sizes))
        return made[1]

    def __call__(self, *inputs: Any) -> float:
        """Forward and backward at the parameters' ``.data``; add into ``.grad``; the loss."""
        loss, self.grad = self.loss_and_grad(self._theta(), *inputs)
        for p, gp in zip(self.params, self.grad.tolist(), strict=True):
            p.grad = p.grad + gp
        return loss

    def step(self, *inputs: Any, optimizer: Any) -> float:
        """One training step: the loss, its gradient, the optimizer's update; returns the loss.

        ``zero_grad(); loss = program(*inputs); optimizer.step()``: each parameter's ``.data``
        is updated and its ``.grad`` holds this step's gradient. An ``ArraySGD``/``ArrayAdam``
        updates on arrays; any other optimizer (``micrograd.optim``) steps on the Values.
        """
        if isinstance(optimizer, type) or not any(
            hasattr(optimizer, m) for m in ("update", "step")
        ):
            check.wrong_type("optimizer", optimizer, "an ArraySGD, ArrayAdam or optim optimizer")
        if not hasattr(optimizer, "update"):
            for p in self.params:
                p.grad = 0.0
            loss = self(*inputs)
            optimizer.step()
            return loss
        if self.backend == "jax" and type(optimizer) is ArraySGD:
            return self.run(1, *inputs, optimizer=optimizer)[0]  # the very step run() takes
        theta = self._theta()
        loss, grad = self.loss_and_grad(theta, *inputs)
        self.grad = grad
        optimizer.update(theta, grad)
        for p, value, gp in zip(self.params, theta.tolist(), grad.tolist(), strict=True):
            p.data = value
            p.grad = gp
        return loss

    def run(self, steps: int, *inputs: Any, optimizer: Any) -> list[float]:
        """``steps`` training steps on the same inputs, on arrays; the losses, in order.

        The numbers of ``steps`` calls of ``step(*inputs, optimizer=optimizer)``, without
        writing 2 numbers into each parameter Value at every step: the parameters live in one
        array meanwhile, and each Value's ``.data`` (updated) and ``.grad`` (the last step's
        gradient) are written once, when the run ends. No code of the caller runs in between,
        so none can read a number not yet written (a function that reads a parameter's
        ``.grad`` has them written at every step instead). If a step raises (a guard with
        ``retrace=False``, Ctrl-C), the Values hold the numbers of the last step that finished.
        ``optimizer`` is an ``ArraySGD`` or ``ArrayAdam`` (TypeError otherwise).

        >>> from micrograd.fast import ArraySGD
        >>> w = Value(1.0)
        >>> program = trace(lambda x: (w * x - 1.0) ** 2, [w], 2.0)
        >>> [round(loss, 6) for loss in program.run(3, 2.0, optimizer=ArraySGD(lr=0.1))]
        [1.0, 0.04, 0.0016]
        >>> round(w.data, 6), round(w.grad, 6)
        (0.504, 0.16)
        """
        steps = check.integer("steps", steps, 0)
        if isinstance(optimizer, type) or not hasattr(optimizer, "update"):
            check.wrong_type(
                "optimizer", optimizer, "an ArraySGD or ArrayAdam (step() takes the others)"
            )
        if self.backend == "jax" and type(optimizer) is ArraySGD:
            return self._run_jax(steps, inputs, optimizer)
        theta, losses = self._theta(), []
        grad: Array | None = None
        written = True  # whether the Values hold the last finished step
        try:
            for _ in range(steps):
                loss, now = self.loss_and_grad(theta, *inputs)
                optimizer.update(theta, now)
                losses.append(loss)
                grad, written = now, False
                # A function that reads a parameter's .grad is guarded on it: the next step must
                # see this step's, so such a run writes the Values every step, as step() does.
                if any(c.grad_guards for c in self._programs.values()):
                    written = self._write(theta, grad)
        finally:
            if not written and grad is not None:
                self._write(theta, grad)
        return losses

    def _run_jax(self, steps: int, inputs: Sequence[Any], optimizer: ArraySGD) -> list[float]:
        """``run`` on the JAX backend with an ArraySGD: each step's loss, gradient and update
        in one jitted call, the parameters JAX arrays in between (``_jax.JaxProgram.run_sgd``)."""
        _hooks.refuse_compiled(self.params)
        arrays, theta = self._arrays(inputs), self._theta()
        compiled = self._program(arrays, theta)
        others = np.fromiter(map(_data, compiled.other_leaves), np.float64)
        jitted = self._jitted(compiled, tuple(x.shape for x in arrays))
        losses: list[float] = jitted.run_sgd(steps, theta, arrays, others, optimizer, self._write)
        return losses

    def _write(self, theta: Array, grad: Array) -> bool:
        self.grad = grad
        for p, value, gp in zip(self.params, theta.tolist(), grad.tolist(), strict=True):
            p.data = value
            p.grad = gp
        return True

    @property
    def guards(self) -> list[str]:
        """Where the traced function read numbers out of Values: one line per place in the code.

        Each number read is a guard: a call where it differs traces again (or, with
        ``retrace=False``, raises StructureError). Empty when the graph depends on no number.

        >>> w = Value(2.0)
        >>> program = trace(lambda xs: sum(w * x if x.data > 0 else w for x in xs), [w], [1, -2])
        >>> program.guards[0].split(" at ")[0]
        '2 numbers read'
        """
        found: dict[str, None] = {}
        for compiled in self._programs.values():
            for what, n in Counter(compiled.guards).items():
                if n > 1:
                    what = what.replace("a number read", f"{n} numbers read", 1)
                found[what] = None
            for k, _, at in compiled.grad_guards:
                found[f"the .grad of parameter {k} read at {at}"] = None
        return list(found)

    def describe(self) -> str:
        """The kernels of each traced structure, one line each, in the order they run.

        >>> w = Value(2.0)
        >>> print(trace(lambda xs: sum(w * x for x in xs).relu(), [w], [1.0, 2.0]).describe())
        inputs [2]: 2 kernels
          matmul (1x2) @ (2x1) + bias
          ReLU(x, constant) over 1 nodes
        """
        lines = []
        for shapes, compiled in self._programs.items():
            lines.append(
                f"inputs {', '.join(str(list(s)) for s in shapes)}: {len(compiled.kernels)} kernels"
            )
            lines.extend(f"  {kernel.describe()}" for kernel in compiled.kernels)
            count = len(compiled.guards) + len(compiled.grad_guards)
            if count:
                lines.append(f"  guards: {count} number{'s' * (count > 1)} the function read")
        return "\n".join(lines)

    def check(self, *inputs: Any) -> None:
        """Trace again on these inputs; raise StructureError if the graph is not the traced one.

        Guards already catch what the function reads; this also catches a changed Python
        number the function closes over (a constant of its graph).
        """
        arrays = self._arrays(inputs)
        shapes = tuple(x.shape for x in arrays)
        compiled = self._programs.get(shapes)
        if compiled is None:
            raise StructureError(f"no program traced for inputs of shapes {list(shapes)}")
        if self._build(arrays)[0].signature != compiled.signature:
            raise StructureError(
                "these inputs build a different graph than the traced one (Python control "
                "flow on data, or a changed constant): the compiled program would be wrong"
            )


def trace(
    fn: Callable[..., Value],
    params: Sequence[Value],
    *example_inputs: Any,
    retrace: bool = True,
    indices: Sequence[int] = (),
    backend: str = "numpy",
) -> Program:
    """Trace ``fn(*inputs) -> Value`` once into a Program over ``params``.

    Each input (an array or nested lists of numbers) reaches ``fn`` as nested lists of Values of
    the same shape; a leaf that is neither a parameter nor an input (a Value ``fn`` closes over)
    is read at each call without a gradient. A number ``fn`` reads out of a Value (``x.data``,
    ``float(x)``, ``f"{x}"``; see ``Program.guards``) makes the program trace again when it
    differs (``retrace=False``: StructureError); setting a Value's ``.data`` or a parameter's
    ``.grad`` inside ``fn``, or an op whose derivative is a ``_backward`` closure, is refused
    (TraceError, naming the line or the op). Python numbers ``fn`` closes over are constants.

    The inputs at the positions ``indices`` are integer inputs (token ids, class indices): ``fn``
    gets ``TracedIndex`` objects. ``micrograd._lookup.lookup(table, index)`` with one picks a
    row (a gather the program does for any index: new indices are not traced again); a
    comparison (``index < n``) is guarded by its outcome; any other use reads the number and is
    guarded exactly.

    ``backend="jax"`` (the extra ``jax``) replays the program under ``jax.jit`` instead of NumPy,
    float64 on the CPU, with the same rules: faster for large batches, whose elementwise work
    XLA fuses. It takes programs that read no number (no guards), have no index inputs and use
    none of the NumPy path's fused kernels (``cross_entropy``'s and ``softmax``'s log-sum-exp,
    rows of different lengths): a ValueError otherwise, naming what it cannot replay. XLA on
    the CPU flushes subnormal numbers (magnitude below 2.2e-308) to zero, so near the ends of
    float64's range (beyond about 1e±150) its numbers may differ from the NumPy path's. XLA
    also fuses a product and a sum into one rounding (``a * b - c``, ``p - lr * g``) where
    it can: within that range the two agree to 1e-12 of the terms' size, so where terms cancel
    to about their rounding a result near 0 may differ in every digit (``0.1 * 10 - 1`` is
    5.6e-17 on it, 0.0 on the engine). ``run`` and ``step`` with an ``ArraySGD`` take their
    steps (loss, gradient and ``optim``'s SGD rule) in jitted XLA loops of up to 128 steps,
    the parameters JAX arrays between them, and ``step`` gives ``run``'s numbers to the bit. It
    changes JAX for the whole process: float64 on (``jax_enable_x64``) and, when XLA has not
    started yet (no JAX code has run), XLA on one CPU thread without its algebraic simplifier,
    whose rewrites compute other numbers than the ops one by one (``(a + c) - c`` as ``a``,
    ``log(exp(a))`` as ``a``); where XLA already runs with it, ``backend="jax"`` is a
    ValueError saying how to start Python instead.

    >>> w = Value(2.0)
    >>> program = trace(lambda x: (w * x).relu(), [w], 3.0)
    >>> program(5.0), w.grad
    (10.0, 5.0)
    >>> from micrograd._lookup import lookup
    >>> table = [Value(1.0), Value(2.0), Value(3.0)]
    >>> program = trace(lambda i: lookup(table, i) * lookup(table, 0), table, 2, indices=[0])
    >>> program(1), program(2), program.traces
    (2.0, 3.0, 1)
    """
    return Program(fn, params, example_inputs, retrace=retrace, indices=indices, backend=backend)


def compile_model(
    model: Any,
    loss_fn: Callable[[list[Any], list[Value]], Value],
    xs: Any,
    y: Any,
    retrace: bool = True,
    backend: str = "numpy",
) -> Program:
    """A Program for ``loss_fn([model(x) for x in xs], y)`` over ``model.parameters()``.

    Call it as ``program(xs, y)`` with a batch of the same shape (new numbers each time).
    ``backend``: ``"numpy"`` or ``"jax"``, as for ``trace``. ``loss_fn`` gets the targets as
    Values (inputs of the program); a loss of ``micrograd.losses`` gives them the loss and the
    ValueError numbers would get. Labels and probabilities (``hinge_loss``,
    ``binary_cross_entropy``, ``mse_loss``, ``cross_entropy``'s probability rows) are checked
    at every call without a guard. ``cross_entropy``'s class indices are read to pick a
    logit, so the program guards them: a new labelling retraces (``RetraceWarning``); for
    class indices, ``trace`` with ``indices=`` (as ``train.fit`` does) replays any labels.
    """
    if isinstance(model, type) or not callable(model) or not hasattr(model, "parameters"):
        check.wrong_type("model", model, "a model: callable on a row, with parameters()")
    check.function("loss_fn", loss_fn, "a loss function (outputs, targets) -> Value")

    def fn(xs: list[list[Value]], ys: list[Value]) -> Value:
        return loss_fn([model(x) for x in xs], ys)

    return Program(fn, model.parameters(), (xs, y), retrace=retrace, backend=backend)


class _TargetChecks:
    """The checks of targets a traced loss left to each call of its program
    (``losses.checked_by_caller``): of inputs, ``(position among the inputs' numbers, the
    target's name, its rule, whether the traced number passed)``, tested on a call's numbers
    at once; of leaves the function closes over, ``(leaf, ...)``, on their numbers now."""

    def __init__(
        self,
        found: list[tuple[int, str, TargetRule, bool]],
        leaves: list[tuple[Value, str, TargetRule, bool]],
        sizes: Sequence[int],
    ) -> None:
        self.found, self.leaves = found, leaves
        # Only the inputs that hold checked targets are read at each call (the targets, not
        # the batch of rows beside them): inputs first to last, from the number ``offset``.
        ends = np.cumsum(sizes)
        positions = [position for position, *_ in found]
        self.first = int(np.searchsorted(ends, min(positions, default=0), side="right"))
        self.last = int(np.searchsorted(ends, max(positions, default=0), side="right"))
        self.offset = int(ends[self.first - 1]) if self.first else 0
        by_rule: dict[TargetRule, list[int]] = {}
        for k, (_, _, rule, _) in enumerate(found):
            by_rule.setdefault(rule, []).append(k)
        self.groups = [
            (
                rule,
                np.array(ks, np.intp),
                np.array([positions[k] for k in ks], np.intp) - self.offset,
            )
            for rule, ks in by_rule.items()
        ]
        self.expected = np.array([passed for *_, passed in found], dtype=bool)

    def check(self, arrays: Sequence[Array]) -> str | None:
        """The first refused target's ValueError, as the Value engine raises it; else what
        differs from the trace where a target refused then (the function caught the error,
        so its graph is another one) passes now; else None."""
        changed = None
        if self.found:
            numbers = np.concatenate([x.ravel() for x in arrays[self.first : self.last + 1]])
            passed = np.ones(len(self.found), dtype=bool)
            for rule, ks, at in self.groups:
                passed[ks] = rule.test(numbers[at])
            refused = ~passed & self.expected
            if refused.any():
                position, where, rule, _ = self.found[int(np.argmax(refused))]
                rule.check(where, float(numbers[position - self.offset]))
            if (passed & ~self.expected).any():
                changed = self.found[int(np.argmax(passed & ~self.expected))][1]
        for leaf, where, rule, then in self.leaves:
            number = _data(leaf)
            if then:
                rule.check(where, number)
            elif changed is None and rule.test(number):
                changed = where
        if changed is None:
            return None
        return f"whether {changed} is a target its loss takes (it was not when traced)"
