"""Reverse mode: the engine's backward() with ``create_graph``, so that transforms compose:
``grad``, ``value_and_grad``, ``vjp``, ``jacobian``, ``hessian``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from micrograd import _check as check
from micrograd import engine
from micrograd.engine import Value
from micrograd.func._forward import Dual, _number, jacfwd, jvp  # noqa
from micrograd.func._trees import (
    Argnums,
    Tree,
    _argnums,
    _aux,
    _leaves,
    _positions,
    _rebuild,
    _split_row,
    _structure,
    _tree,
    refusing_float,
)

# --- Reverse mode: the engine's backward, with create_graph to compose ---

_nesting = 0  # how many transforms are running their f: results must stay differentiable


@contextmanager
def _inside() -> Iterator[None]:
    global _nesting
    _nesting += 1
    try:
        with refusing_float():
            yield
    finally:
        _nesting -= 1


def _prepare(args: tuple[Any, ...], nums: tuple[int, ...]) -> tuple[list[Any], list[Value], bool]:
    """The arguments with fresh leaves for the numbers at ``nums``, those leaves in order, and
    whether results must be Values (a Value argument, or a transform around this one)."""
    call = [_tree(a) for a in args]
    inputs: list[Value] = []
    differentiable = _nesting > 0
    for i in nums:
        leaves = []
        for leaf in _leaves(call[i], f"argument {i}"):
            if isinstance(leaf, Dual):
                raise TypeError(
                    f"argument {i} is a dual number of jvp: reverse mode inside forward mode "
                    "(jvp of grad) is not supported; differentiate the other way round (grad of "
                    "jvp) or use hessian"
                )
            if isinstance(leaf, Value):
                differentiable = True
            leaves.append(leaf if isinstance(leaf, Value) else Value(leaf))
        inputs += leaves
        call[i] = _rebuild(call[i], iter(leaves))
    return call, inputs, differentiable


def _backward(output: Any, inputs: list[Value], create_graph: bool) -> list[Any]:
    """d output / d input for each input (zeros for a constant output)."""
    if isinstance(output, Dual):
        raise TypeError(
            "f returned a dual number of an enclosing jvp: reverse mode inside forward mode "
            "(jvp of grad) is not supported; differentiate the other way round (grad of jvp)"
        )
    if not isinstance(output, Value):
        return [0.0] * len(inputs)
    return engine.grad(output, inputs, create_graph=create_graph)


def _finish(g: Any, differentiable: bool) -> Any:
    if differentiable:
        return g if isinstance(g, Value) else Value(g)
    return float(g)


def _scalar(output: Any) -> Any:
    if isinstance(output, Value) or not isinstance(output, (list, tuple)):
        if not isinstance(output, Value):
            check.number("f's output", output, "one real number or Value (use jacobian)")
        return output
    check.wrong_type("f's output", output, "one real number or Value (use jacobian)")


def value_and_grad(
    f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), grad(f)(*args))`` from one **reverse-mode** pass.

    ``f`` returns one number or Value. With ``has_aux`` it returns ``(output, aux)`` and the
    first item is ``(output, aux)`` (torch.func.grad_and_value's order is the other way).

    >>> value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    (6.0, (3.0, 2.0))
    """
    f = check.function("f", f)
    argnums, has_aux = _argnums(argnums), check.boolean("has_aux", has_aux)

    def value_and_grad_fn(*args: Any) -> tuple[Any, Any]:
        nums = _positions(argnums, args)
        call, inputs, differentiable = _prepare(args, nums)
        with _inside():
            out, aux = _aux(f(*call), has_aux)
        out = _scalar(out)
        grads = [_finish(g, differentiable) for g in _backward(out, inputs, differentiable)]
        value = _finish(out, differentiable)
        g = _split_row(grads, [call[i] for i in nums], argnums)
        return ((value, aux) if has_aux else value), g

    return value_and_grad_fn


def grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient function of ``f`` by **reverse mode** (one backward pass), as torch.func.grad.

    ``f`` returns one number or Value; the gradient has the structure of argument ``argnums``
    (a tuple of them for a tuple ``argnums``). With ``has_aux`` it returns ``(grad, aux)``.
    Numbers in give floats out; Values in give Values that can be differentiated again.

    >>> d = grad(lambda x: x**3)
    >>> d(2.0), grad(d)(2.0), grad(grad(d))(2.0)
    (12.0, 12.0, 6.0)
    >>> grad(lambda xs: xs[0] * xs[1])([2.0, 5.0])
    [5.0, 2.0]
    """
    value_and_grad_fn = value_and_grad(f, argnums, has_aux)

    def grad_fn(*args: Any) -> Any:
        value, g = value_and_grad_fn(*args)
        return (g, value[1]) if has_aux else g

    return grad_fn


def vjp(f: Callable[..., Any], *primals: Tree, has_aux: bool = False) -> tuple[Any, ...]:
    """``(f(*primals), vjp_fn)`` by **reverse mode**: ``vjp_fn(v)`` is ``v @ J``, one backward.

    ``v`` has the structure of ``f``'s output; ``vjp_fn`` returns a tuple with one item per
    primal, each in that primal's structure (torch.func.vjp). It can be called many times.

    >>> out, vjp_fn = vjp(lambda x, y: [x * y, x + y], 2.0, 3.0)
    >>> out, vjp_fn([1.0, 10.0])
    ([6.0, 5.0], (13.0, 12.0))
    """
    f = check.function("f", f)
    has_aux = check.boolean("has_aux", has_aux)
    call, inputs, differentiable = _prepare(primals, tuple(range(len(primals))))
    with _inside():
        out, aux = _aux(f(*call), has_aux)
    outputs = _leaves(out, "f's output")

    def vjp_fn(cotangents: Tree) -> tuple[Any, ...]:
        create = differentiable or _nesting > 0
        cotangents = _tree(cotangents)
        vs = _leaves(cotangents, "cotangents")
        if len(vs) != len(outputs) or _structure(cotangents) != _structure(out):
            check.wrong_value("cotangents", cotangents, "the structure of f's output")
        total = sum(
            (v * o for v, o in zip(vs, outputs) if isinstance(o, Value)), Value(0.0)
        )  # v @ J is the gradient of v . f
        grads = [_finish(g, create) for g in _backward(total, inputs, create)]
        return tuple(_split_row(grads, call, tuple(range(len(call)))))

    value = out if differentiable else _rebuild(out, (_number(o) for o in outputs))
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jacobian(
    f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian by **reverse mode** (torch.func.jacrev): one backward per output number.

    The result has ``f``'s output structure, each number replaced by the derivatives with
    respect to argument ``argnums`` in its structure (a tuple over a tuple ``argnums``): for
    ``f: list of n -> list of m`` a list of m rows of n. Cheaper when outputs are few.

    >>> jacobian(lambda xs: [xs[0] * xs[1], xs[0] + xs[1]])([2.0, 3.0])
    [[3.0, 2.0], [1.0, 1.0]]
    """
    f = check.function("f", f)
    argnums, has_aux = _argnums(argnums), check.boolean("has_aux", has_aux)

    def jacobian_fn(*args: Any) -> Any:
        nums = _positions(argnums, args)
        call, inputs, differentiable = _prepare(args, nums)
        with _inside():
            out, aux = _aux(f(*call), has_aux)
        trees = [call[i] for i in nums]
        rows = []
        for o in _leaves(out, "f's output"):  # one backward per output number
            row = [_finish(g, differentiable) for g in _backward(o, inputs, differentiable)]
            rows.append(_split_row(row, trees, argnums))
        jac = _rebuild(out, iter(rows))
        return (jac, aux) if has_aux else jac

    return jacobian_fn


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The matrix of second derivatives, ``jacobian(grad(f))``: **reverse over reverse**.

    For an argument that is a list of n numbers, n rows of n; for a tuple ``argnums``, a tuple
    of tuples of blocks (torch.func.hessian).

    >>> hessian(lambda xs: xs[0] ** 2 * xs[1])([1.0, 3.0])
    [[6.0, 2.0], [2.0, 0.0]]
    """
    return jacobian(grad(f, argnums), argnums)
