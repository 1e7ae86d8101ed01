"""The autograd engine: a scalar ``Value``, one derivative rule per op, and ``backward()``.

Every primitive op is one row of ``RULES``: its forward on plain floats beside its backward (the
chain rule for that op). Sugar (negation, reflected forms) is built from primitives, no rule.
``register_op`` adds a row; a lecture-style op (``out._backward = fn``) works too, on its own.
"""

from __future__ import annotations

import math
import operator
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from functools import partial
from typing import Any, NamedTuple, SupportsFloat, Union

from micrograd import _backprop as _fast
from micrograd import _check as check
from micrograd import _floats as fl
from micrograd import _lecture
from micrograd._anomaly import AnomalyError, detect_anomaly
from micrograd._backprop import walk as _walk
from micrograd._gc import gc_paused
from micrograd._hooks import register_hook as _register_hook
from micrograd._lecture import Closure as _Closure
from micrograd._lecture import hand_built_rule
from micrograd._modes import Mode

__all__ = [
    "RULES",
    "AnomalyError",
    "Rule",
    "Value",
    "detect_anomaly",
    "gc_paused",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "register_op",
    "rule_of",
    "topological_order",
]

Operand = Union["Value", float]  # beside a Value in an expression (Union: a forward reference)


# --- The math a derivative rule is written in: on floats for backward() (_floats.FloatMath), on
# Values for backward(create_graph=True). The same rule serves both. ---


_FloatMath = fl.FloatMath  # gradients as plain floats


class _ValueMath:
    """Gradients as Values, so that they can be differentiated again."""

    # An untouched grad (0.0) over a constant is plain numbers: divide those as floats do.
    div = staticmethod(lambda x, y: fl.div(x, y) if type(x) is type(y) is float else x / y)
    pow = power = staticmethod(lambda x, y: x**y)  # a number y or a Value y picks the op
    log = staticmethod(lambda x: x.log())
    cos = staticmethod(lambda x: x.cos())
    sin = staticmethod(lambda x: x.sin())
    sigmoid = staticmethod(lambda x: x.sigmoid())
    sign = staticmethod(lambda x: fl.sign(x.data))  # a step: zero derivative, a float is exact
    num = staticmethod(lambda x: x.data if isinstance(x, Value) else x)
    where = _FloatMath.where


def _power_backward(x: Any, y: Any, out: Any, g: Any, m: Any) -> tuple[Any, Any]:
    # d/dx x^y = y * x^(y-1);  d/dy x^y = x^y * ln(x).  As torch: the first is 0 where y == 0
    # and the second's local part is 0 where x == 0 and y >= 0 (so x**0, 0**y stay finite).
    xv, yv = m.num(x), m.num(y)
    gx = m.where(yv == 0.0, 0.0, g * (y * m.power(x, y - 1.0)))
    gy = g * m.where((xv == 0.0) & (yv >= 0.0), 0.0, out * m.log(x))
    return gx, gy


def _maximum_backward(x: Any, y: Any, out: Any, g: Any, m: Any) -> tuple[Any, Any]:
    # d max(x, y)/dx = 1 where x > y, 0 where x < y; a tie splits g in halves, as torch (nan: both)
    xv, yv = m.num(x), m.num(y)
    half = m.where(xv == yv, 0.5 * g, g)
    return m.where(xv < yv, 0.0, half), m.where(xv > yv, 0.0, half)


class Rule(NamedTuple):
    """A primitive op: its forward on floats beside its backward.

    ``backward(x, y, out, g, math) -> (gx[, gy])``: what each operand's grad receives when the
    output has grad ``g``, written as PyTorch writes it (relu's mask gives 0 even where ``g`` is
    inf). ``y`` is the second operand, or the op's constant (the 3 in ``x * 3``) when one operand
    is a Value. Only ``* + -`` and ``math``'s functions (``num where div pow power log sin cos
    sigmoid sign``): on floats, on Values (create_graph) or on NumPy arrays (``fast.py``), one
    rule serves every path, and no derivative is written twice. (backward() on floats runs a
    built-in rule once on symbols and inlines the expression it records: ``_backprop``.)
    """

    forward: Callable[[float, float], float]
    backward: Callable[[Any, Any, Any, Any, Any], tuple[Any, ...]]
    formula: str  # the local derivative in symbols, for the narrator
    arity: int = 2  # Value operands: 2 when y may be a Value (or a number), 1 when it is not
    constant: str = ""  # what y is when it must be a number ("exponent", "slope")

    def partials(self, x: Any, y: Any, out: Any, m: Any) -> tuple[Any, ...]:
        """The local derivatives: the backward of an output gradient of 1."""
        return self.backward(x, y, out, 1.0, m)


def _unary_rule(forward: Callable[[float], float], backward: Any, formula: str) -> Rule:
    return Rule(lambda x, _: forward(x), backward, formula, 1)  # y is unused


# fmt: off
RULES: dict[str, Rule] = {
    "+": Rule(operator.add, lambda x, y, out, g, m: (g, g), "d(x+y)/dx = 1, d(x+y)/dy = 1"),
    "-": Rule(operator.sub, lambda x, y, out, g, m: (g, -g), "d(x-y)/dx = 1, d(x-y)/dy = -1"),
    "*": Rule(operator.mul, lambda x, y, out, g, m: (g * y, g * x), "d(x*y)/dx = y, d(x*y)/dy = x"),
    "/": Rule(fl.div, lambda x, y, out, g, m: (m.div(g, y), -g * m.div(out, y)),
              "d(x/y)/dx = 1/y, d(x/y)/dy = -(x/y)/y"),
    "**": Rule(fl.pow_number,  # x ** a number k; as torch, 0 where k == 0 (x**0 stays finite)
               lambda x, k, out, g, m: (m.where(k == 0.0, 0.0, g * (k * m.pow(x, k - 1.0))),),
               "d(x**k)/dx = k*x**(k-1)", 1, "exponent"),
    "pow": Rule(fl.power, _power_backward, "d(x**y)/dx = y*x**(y-1), d(x**y)/dy = x**y*ln(x)"),
    "maximum": Rule(fl.maximum, _maximum_backward, "d max(x,y)/dx = 1 if x > y else 0 (1/2 if =)"),
    "exp": _unary_rule(fl.exp, lambda x, y, out, g, m: (g * out,), "d(exp x)/dx = exp x"),
    "log": _unary_rule(fl.log, lambda x, y, out, g, m: (m.div(g, x),), "d(ln x)/dx = 1/x"),
    "tanh": _unary_rule(math.tanh, lambda x, y, out, g, m: (g * (1.0 - out * out),),
                        "d(tanh x)/dx = 1 - tanh(x)**2"),
    "sigmoid": _unary_rule(fl.sigmoid, lambda x, y, out, g, m: (g * (1.0 - out) * out,),
                           "d(sigmoid x)/dx = sigmoid(x)*(1 - sigmoid(x))"),
    "softplus": _unary_rule(fl.softplus, lambda x, y, out, g, m: (g * m.sigmoid(x),),
                            "d(softplus x)/dx = sigmoid(x)"),
    "ReLU": _unary_rule(fl.relu, lambda x, y, out, g, m: (m.where(m.num(out) <= 0.0, 0.0, g),),
                        "d(relu x)/dx = 1 if x > 0 else 0"),
    "leaky_relu": Rule(fl.leaky_relu, lambda x, y, out, g, m: (m.where(m.num(x) > 0.0, g, g * y),),
                       "d(leaky_relu x)/dx = 1 if x > 0 else slope", 1, "slope"),
    "abs": _unary_rule(abs, lambda x, y, out, g, m: (g * m.sign(x),), "d|x|/dx = sign(x)"),
    "sqrt": _unary_rule(fl.sqrt, lambda x, y, out, g, m: (m.div(g, 2.0 * out),),
                        "d(sqrt x)/dx = 1/(2*sqrt(x))"),
    "sin": _unary_rule(fl.sin, lambda x, y, out, g, m: (g * m.cos(x),), "d(sin x)/dx = cos x"),
    "cos": _unary_rule(fl.cos, lambda x, y, out, g, m: (g * -m.sin(x),), "d(cos x)/dx = -sin x"),
}
# fmt: on
_BUILT_IN = frozenset(name.lower() for name in RULES)  # names register_op may not take
_INLINED = frozenset(RULES.values())  # rows backward() may inline, traced (_backprop)


# --- Graph recording ---

# Recording is per thread, as torch's grad mode: one thread's no_grad() leaves the others
# recording. ``_grad_enabled`` is the op methods' one quick look: True while every thread records;
# while some thread does not, an op asks its own thread's mode (``_recording``).
_grad_enabled = True
_here = threading.local()  # .recording: this thread's mode (True unless set)
_threads_off = 0  # threads whose mode is off
_mode_lock = threading.Lock()


def _recording() -> bool:
    return _grad_enabled or getattr(_here, "recording", True)


def _set_recording(on: bool) -> bool:
    """Set this thread's mode; return what it was."""
    global _grad_enabled, _threads_off
    previous: bool = getattr(_here, "recording", True)
    if on != previous:
        with _mode_lock:
            _here.recording = on
            _threads_off += -1 if on else 1
            _grad_enabled = _threads_off == 0
    return previous


def is_grad_enabled() -> bool:
    """Whether ops in this thread record a graph (False inside ``no_grad()``)."""
    return _recording()


class no_grad(Mode):  # noqa: N801  (torch's name)
    """Within this block ops build no graph: results are leaves, as in ``torch.no_grad()``. The
    mode is the thread's own (other threads go on recording); one object serves nested blocks,
    later blocks, threads at once, and ``@no_grad()`` on a function.

    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y._prev
    ()
    """

    def _enter(self) -> bool:
        return _set_recording(False)

    def _exit(self, previous: bool) -> None:
        _set_recording(previous)


_new = object.__new__
_watch: Any = None  # set by _hooks while a hook is registered or detect_anomaly() is on
_REGISTERED: dict[str, Callable[[Value, Operand], Value]] = {}  # register_op: the op methods


def _binary(op: str, value_op: str = "") -> Callable[[Value, Operand], Value]:
    # value_op: the row for a Value operand, when it is not op's own ('pow' for '**').
    vop = value_op or op
    forward, vforward = RULES[op].forward, RULES[vop].forward
    # Python's own + and * are written out below: calling operator.add costs more than the add.
    add, mul = forward is vforward is operator.add, forward is vforward is operator.mul

    def method(self: Value, other: Operand) -> Value:
        # Written out here, not in helpers: this is the hottest path.
        if isinstance(other, Value):
            out = _new(Value)
            if mul:
                out.data = self.data * other.data
            elif add:
                out.data = self.data + other.data
            else:
                out.data = vforward(self.data, other.data)
            out.grad = 0.0
            out._arg = 0.0
            if _grad_enabled or _recording():
                out._op = vop
                out._a = self
                out._b = other
            else:  # under no_grad(): a leaf holding only the number
                out._op = ""
                out._a = out._b = None
            return out
        # A plain number is a constant of the op, not a node, like a Python scalar in torch.
        t = type(other)
        if t is float:
            k = other
        elif t is int:
            try:
                k = float(other)
            except OverflowError:  # beyond 1.8e308: fl.number raises the clear error
                k = fl.number(other, "operand")  # type: ignore[assignment]
        else:  # NumPy's scalars, a bool: a float; a NumPy array, a str: None
            k = fl.number(other, "operand")  # type: ignore[assignment]
            if k is None:  # a type the engine doesn't know (a NumPy array): it has a go
                return NotImplemented
        out = _new(Value)
        out.data = self.data * k if mul else self.data + k if add else forward(self.data, k)
        out.grad = 0.0
        out._b = None
        if _grad_enabled or _recording():
            out._op = op
            out._a = self
            out._arg = k
        else:
            out._op = ""
            out._a = None
            out._arg = 0.0
        return out

    method.__name__ = f"_{op}"
    return method


def _unary(op: str) -> Callable[[Value], Value]:
    method = _binary(op)

    def unary(self: Value) -> Value:
        return method(self, 0.0)

    unary.__name__ = op.lower()
    unary.__doc__ = f"{op}(self). {RULES[op].formula}."
    return unary


_leaky_relu_method = _binary("leaky_relu")  # the slope rides as the op's constant
_maximum = _binary("maximum")


class Value:
    """One number in an expression graph, with the gradient of the output with respect to it.

    >>> a = Value(2.0, label='a'); b = Value(-3.0, label='b')
    >>> c = a * b + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-4.0, -2.0, 2.0)
    """

    # Children live in two slots, not a tuple: a tuple object per node would cost 64 bytes.
    # ``_arg`` is the op's constant when it has one Value operand: the plain number in ``x * 3``
    # or ``x ** 2``, the slope of ``leaky_relu``. Constants are not nodes, as in torch.
    __slots__ = ("_a", "_arg", "_b", "_label", "_op", "data", "grad")

    data: float
    grad: float | Value  # a Value after backward(create_graph=True)
    _b: Any  # the second operand, or None; a lecture-style node's _Closure (first child in _a)

    def __init__(
        self, data: SupportsFloat, _children: Iterable[Value] = (), _op: str = "", label: str = ""
    ) -> None:
        self.data = data if type(data) is float else fl.real(data, "Value(data)")
        self.grad = 0.0
        self._label = label if type(label) is str else check.text("label", label)
        self._a = self._b = None
        self._op = _op
        self._arg = 0.0
        children = tuple(_children)
        if not all(isinstance(c, Value) for c in children) or not isinstance(_op, str):
            raise TypeError(f"_children must be Values and _op a str, not {_children!r:.60}")
        if children and _recording():  # a node built by hand, as the lecture's ops are
            name, self._arg = hand_built_rule(_op, len(children), RULES)
            self._a = children[0]
            if name:  # differentiated by its op's rule, unless a _backward is set next
                self._op, self._b = name, children[1] if len(children) == 2 else None
            else:
                self._b = _Closure(None, children)

    # --- the graph, as micrograd exposes it ---

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The children this Value was computed from, in operand order."""
        a, b = self._a, self._b
        if a is None:
            return ()
        return (a,) if b is None else b.children if type(b) is _Closure else (a, b)

    @property
    def _backward(self) -> Callable[[], object]:
        """One chain-rule step into the children's grads; lecture code may set it to a closure."""
        if type(self._b) is _Closure and self._b.fn is not None:
            return self._b.fn
        return partial(_chain_rule, (self,), _FloatMath)

    @_backward.setter
    def _backward(self, fn: Callable[[], object]) -> None:
        if not callable(fn):
            raise TypeError(f"_backward must be a function of no arguments, not {fn!r:.40}")
        self._b = _Closure(fn, self._prev)

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __float__(self) -> float:
        return self.data

    register_hook = _register_hook  # (micrograd._hooks)
    label = _lecture.label  # '' unless set (an op stores none)

    # --- primitives ---

    __add__ = _binary("+")
    __sub__ = _binary("-")
    __mul__ = _binary("*")
    __pow__ = _binary("**", "pow")  # x ** a number; x ** a Value is C's pow, as in torch

    exp = _unary("exp")
    log = _unary("log")
    tanh = _unary("tanh")
    sigmoid = _unary("sigmoid")
    softplus = _unary("softplus")
    relu = _unary("ReLU")
    sqrt = _unary("sqrt")
    sin = _unary("sin")
    cos = _unary("cos")
    __abs__ = _unary("abs")

    def abs(self) -> Value:
        """|self|. d|x|/dx = sign(x), 0 at 0."""
        return self.__abs__()

    def leaky_relu(self, negative_slope: float = 0.01) -> Value:
        """x if x > 0 else negative_slope * x (torch's default slope 0.01)."""
        return _leaky_relu_method(self, check.real("negative_slope", negative_slope))

    def maximum(self, other: Operand) -> Value:
        """max(self, other) as torch.maximum: self at a tie, nan if either is nan."""
        return _maximum(self, other if isinstance(other, Value) else check.number("other", other))

    # --- sugar, built from primitives (another operand type gets NotImplemented) ---

    def __neg__(self) -> Value:  # -self
        return self * -1.0

    __radd__ = __add__  # other + self
    __rmul__ = __mul__  # other * self

    def __rsub__(self, other: float) -> Value:  # other - self
        k = fl.number(other, "operand")
        return NotImplemented if k is None else -self + k

    # Division is a primitive, not x * y**-1: that form is off by an ulp and overflows early.
    __truediv__ = _binary("/")

    def __rtruediv__(self, other: float) -> Value:  # other / self, as torch computes it
        k = fl.number(other, "operand")
        return NotImplemented if k is None else self**-1 * k

    def __rpow__(self, other: float) -> Value:  # other ** self
        k = fl.number(other, "operand")
        return NotImplemented if k is None else Value(k) ** self

    # --- detaching and differentiating ---

    def detach(self) -> Value:
        """A new leaf with the same number and no history."""
        return Value(self.data, label=self.label)

    def backward(self, grad: float | Value = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this Value depends on, by the chain rule.

        Leaves accumulate across calls (as in PyTorch); interior nodes start from zero. With
        ``create_graph=True`` leaves' gradients are differentiable Values (interior nodes keep
        the number: no reference cycle); a ``_backward`` closure on the way is a ValueError.
        Threads may run backward() at once on graphs that share no node; graphs with a node in
        common (a parameter too) must take turns, since each call adds into that node's
        ``.grad`` without a lock.

        >>> x = Value(2.0)
        >>> y = x ** 3
        >>> y.backward(create_graph=True)
        >>> x.grad.data
        12.0
        >>> g = x.grad
        >>> x.grad = 0.0
        >>> g.backward()
        >>> x.grad
        12.0
        """
        if type(grad) is not float or create_graph is not False:  # else: what the checks give
            grad = grad if isinstance(grad, Value) else check.number("grad", grad)
            create_graph = check.boolean("create_graph", create_graph)
        _backprop(self, grad, create_graph)


def _backprop(root: Value, seed: Any, create_graph: bool, keep: Collection[Value] = ()) -> None:
    # backward(); with create_graph, interior nodes in ``keep`` keep their Value gradients.
    # Plain numbers, no hook (decided once per call): the hot path, unless a closure is met.
    plain = not create_graph and _watch is None and type(seed) is float
    if plain and _fast.backprop(root, seed, RULES, _INLINED):
        return
    order = _walk(root, zero_interior=True)
    if create_graph:
        for node in order:
            if type(node._b) is _Closure and node._a is not None:
                raise ValueError(
                    f"backward(create_graph=True) cannot differentiate op {node._op!r} twice: "
                    "its _backward closure computes numbers. Add it with engine.register_op"
                )
        seed = seed if isinstance(seed, Value) else Value(seed)
    watch = _watch  # a hook or detect_anomaly() (micrograd._hooks): one look per call, not per node
    if watch is None:
        root.grad = root.grad + seed if root._a is None else seed
    order.reverse()
    # Differentiable gradients record a graph; plain ones never build a Value.
    previous = _set_recording(create_graph)
    try:
        m = _ValueMath if create_graph else _FloatMath
        if watch is None:
            _chain_rule(order, m)
        else:  # it seeds the root, runs hooks where a gradient is complete, checks each step
            watch(order, seed, m)
    finally:
        _set_recording(previous)
    if create_graph:  # an interior gradient refers to the node's parents, which refer to it
        for node in order:
            if node._a is not None and isinstance(node.grad, Value) and node not in keep:
                node.grad = node.grad.data


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[float | Value]:
    """d output / d input for each input, like ``torch.autograd.grad``: leaves keep their .grad.

    With ``create_graph=True`` the results are Values, to be differentiated again.

    >>> x = Value(2.0)
    >>> (dy,) = grad(x**3, [x], create_graph=True)
    >>> (d2y,) = grad(dy, [x])
    >>> dy.data, d2y, x.grad
    (12.0, 12.0, 0.0)
    """
    inputs = check.values("inputs", inputs, nonempty=False)
    create_graph = check.boolean("create_graph", create_graph)
    reached = set(topological_order(check.value("output", output)))
    leaves = [node for node in reached if node._a is None]
    saved = [node.grad for node in leaves]
    kept = reached.intersection(inputs)
    try:
        for node in leaves:
            node.grad = 0.0
        _backprop(output, 1.0, create_graph, kept)
        return [x.grad if x in reached else 0.0 for x in inputs]
    finally:
        for node, g in zip(leaves, saved):
            node.grad = g
        for node in kept - set(leaves):  # an interior input's gradient went to the caller
            node.grad = float(node.grad)


def _chain_rule(nodes: Iterable[Value], m: Any) -> None:
    """For each node in turn, add what its rule's backward gives into each child's grad: numbers
    with ``m = _FloatMath``, Values connected to the graph with ``_ValueMath``."""
    rules = RULES
    if m is _FloatMath:  # plain numbers: the hot loop of every backward()
        todo = iter(nodes)
        while True:
            try:
                for node in todo:
                    a, b = node._a, node._b
                    if a is None:  # a leaf
                        continue
                    if b is None:  # one Value operand; y is the op's constant
                        a.grad += rules[node._op].backward(
                            a.data, node._arg, node.data, node.grad, m
                        )[0]
                    else:
                        ga, gb = rules[node._op].backward(a.data, b.data, node.data, node.grad, m)
                        a.grad += ga
                        b.grad += gb
                return
            except (KeyError, AttributeError):  # b.data of a _Closure, or no rule: its closure
                if type(node._b) is not _Closure:
                    if node._op not in rules:  # a registered op taken out of RULES since
                        raise ValueError(f"op {node._op!r} has no rule in RULES") from None
                    raise
                node._b.run(node)  # a lecture-style node; the others pay nothing for it
    for node in nodes:  # the same on Values (_backprop refused closures)
        a, b = node._a, node._b
        if a is not None:
            y = node._arg if b is None else b
            grads = rules[node._op].backward(a, y, node, node.grad, m)
            a.grad += grads[0]
            if b is not None:
                b.grad += grads[1]


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, children before parents, without recursion.

    >>> x = Value(1.0, label='x'); y = (x * 2).exp()
    >>> [n._op or n.label for n in topological_order(y)]
    ['x', '*', 'exp']
    """
    return _walk(check.value("root", root), zero_interior=False)


def rule_of(node: Value) -> Rule | None:
    """The row of ``RULES`` backward() applies at ``node``: None at a leaf, and at a node that
    its own ``_backward`` closure differentiates (whose op may even share a rule's name)."""
    if check.value("node", node)._a is None or type(node._b) is _Closure:
        return None
    return RULES[node._op]


def register_op(
    name: str,
    forward: Callable[..., float],
    backward: Callable[..., Any],
    formula: str,
    arity: int = 1,
) -> Callable[..., Value]:
    """Add an op to ``RULES`` and return the function that applies it: ``op(x)`` or ``op(x, y)``.

    ``forward`` takes ``arity`` floats; ``backward(x, y, out, g, m)`` is in ``Rule``'s form (only
    ``* + -`` and ``m``'s functions), so every path uses it: backward(), create_graph, the
    narrator, the compiled path. Registering a name again replaces the op; a built-in's name (in
    any case) is a ValueError.

    >>> cube = register_op("cube", lambda x: x**3, lambda x, y, out, g, m: (3.0 * g * x * x,),
    ...                    "d(x**3)/dx = 3*x**2")
    >>> x = Value(2.0); y = cube(x); y.backward(); (y.data, x.grad)
    (8.0, 12.0)
    >>> del RULES["cube"]  # (as it was)
    """
    name, formula = check.text("name", name), check.text("formula", formula)
    taken = [r for r in RULES if r.lower() == name.lower() and r != name]
    if not name.isidentifier() or name.lower() in _BUILT_IN or taken:
        check.wrong_value("name", name, f"an identifier, not a built-in op's name nor {taken}")
    check.function("forward", forward), check.function("backward", backward)
    if check.integer("arity", arity) not in (1, 2):
        check.wrong_value("arity", arity, "1 or 2")
    arity = int(arity)
    fwd = forward if arity == 2 else lambda x, _: forward(x)
    RULES[name] = rule = Rule(fwd, backward, formula, arity)
    _REGISTERED[name] = _binary(name)

    def op(x: Operand, *y: Operand) -> Value:
        if RULES.get(name) is not rule:
            raise ValueError(f"op {name!r} was registered again: use the function returned then")
        if len(y) != arity - 1:
            raise TypeError(f"{name} takes {arity} operand(s), got {1 + len(y)}")
        out = _REGISTERED[name](x if isinstance(x, Value) else Value(x), *y or (0.0,))
        if out is NotImplemented:
            raise TypeError(f"{name}'s y must be a Value or a real number, not {y[0]!r:.40}")
        return out

    op.__name__ = op.__qualname__ = name
    return op
