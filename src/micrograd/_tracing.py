"""While ``micrograd.fast`` traces a function: every number it reads out of a Value, and where.

A program replays the graph a function built, not the function, so a number the function read
(``x.data``, ``float(x)``, ``f"{x}"``, a parameter's ``.grad``) is frozen into that graph. During
a trace the nodes are ``_Traced`` Values and the parameters ``_TracedParam`` ones, whose ``data``
is a property that notes each read and the user's line; the program then guards those numbers.
"""

from __future__ import annotations

import linecache
import math
import numbers
import operator
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import CellType, CodeType, FrameType, FunctionType
from typing import Any

from micrograd import _hooks, engine
from micrograd.engine import Value

__all__ = [
    "Recorder",
    "StructureError",
    "TraceError",
    "TracedIndex",
    "settle",
    "traced_input",
    "watching",
]


class StructureError(ValueError):
    """The inputs would build a graph other than the traced one."""

    __module__ = "micrograd.fast"


class TraceError(StructureError):
    """The traced function does something a compiled program cannot replay; says where."""

    __module__ = "micrograd.fast"


# The slots behind ``Value.data`` and ``Value.grad``, which the traced classes shadow.
_DATA = Value.__dict__["data"]
_GRAD = Value.__dict__["grad"]
_get_data, _set_data = _DATA.__get__, _DATA.__set__
_get_grad = _GRAD.__get__
_getframe = sys._getframe
_object_new = object.__new__

# An op reads its operands to compute its own number: the program computes that number too, so
# those reads are not guards (unless no graph is recorded). Every op method of Value runs this
# one code object (engine._binary; a unary op calls one such method, engine._unary).
_OP_CODE: CodeType = engine._binary("+").__code__
_UNARY_CODE: CodeType = engine._unary("exp").__code__
# Code that may write ``.data`` of a node it is making: an op, and Value() itself.
_MAKERS = frozenset({_OP_CODE, Value.__init__.__code__})
_PACKAGE = os.path.dirname(os.path.abspath(engine.__file__)) + os.sep


def where(frame: FrameType) -> str:
    """``file:line (`source`)`` of the first frame outside micrograd, from ``frame`` outwards
    (or of ``frame`` itself when every frame is micrograd's)."""
    outside: FrameType | None = frame
    while outside is not None and outside.f_code.co_filename.startswith(_PACKAGE):
        outside = outside.f_back
    frame = outside or frame
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno}" + (f" (`{source}`)" if source else "")


def _refuse(what: str, frame: FrameType) -> TraceError:
    return TraceError(
        f"the traced function {what} at {where(frame)}; a compiled program replays the graph, "
        "not the function, so it cannot do that: use the Value engine for this function"
    )


class Recorder:
    """The reads of one trace: node -> what was read, where; parameter -> its read ``.grad``;
    the comparisons made of index inputs, and the lookups they picked (``TracedIndex``)."""

    def __init__(self) -> None:
        self.reads: dict[Value, str] = {}
        self.grad_reads: dict[Value, tuple[float, str]] = {}
        # (index leaf, comparison, number) -> (outcome, where): the graph holds while each does
        self.predicates: dict[tuple[Value, str, float], tuple[bool, str]] = {}
        # picked node -> (index leaf, the column it was picked from): a gather, for any index
        self.gathers: dict[Value, tuple[Value, list[Value]]] = {}
        # The class of the nodes this trace makes, its own: a node made in an earlier trace and
        # kept by the function (never given back the class Value: its loss did not use it) is
        # then a Value made before this trace, checked as such.
        self.made: type = type("Value", (_Traced,), {"__slots__": (), "__doc__": _Traced.__doc__})
        # The nodes this thread's ops made in the trace (and its input leaves), as they were
        # made: a node after its operands (unless code set a node's operands by hand since).
        self.made_nodes: list[Value] = []

    def read(self, node: Value, frame: FrameType) -> None:
        """Note that user code at ``frame`` read ``node``'s number."""
        if node not in self.reads:
            self.reads[node] = f"a number read at {where(frame)}"

    def read_grad(self, param: Value, frame: FrameType) -> None:
        """Note that user code read a parameter's ``.grad``: a number from outside the graph."""
        grad = _get_grad(param)
        if type(grad) is not float:
            raise _refuse("reads .grad of a parameter that holds a Value (create_graph)", frame)
        if param not in self.grad_reads:
            self.grad_reads[param] = (grad, where(frame))

    def compared(
        self, leaf: Value, op: str, number: float, outcome: bool, frame: FrameType
    ) -> None:
        """Note that an index input (held by ``leaf``) was compared: ``index op number``."""
        key = (leaf, op, float(number))
        if key not in self.predicates:
            self.predicates[key] = (outcome, where(frame))


_recorder: Recorder | None = None
# The thread that traces: only its new nodes are traced and only its reads are noted, while
# other threads go on with the Value engine (the parameters' classes are switched for all).
_tracer: int | None = None
_get_ident = threading.get_ident
_one_trace = threading.RLock()


def _noting() -> Recorder | None:
    """The trace's recorder when this thread is the one tracing, else None."""
    return _recorder if _get_ident() == _tracer else None


def _read_data(self: Value) -> float:
    recorder = _noting()
    if recorder is not None:
        frame = _getframe(1)
        # Under no_grad() an op's number leaves the graph (a leaf holds it): that read counts.
        # (The op methods' own test of the mode: one global unless some thread is in no_grad.)
        if frame.f_code is not _OP_CODE or not (engine._grad_enabled or engine._recording()):
            recorder.read(self, frame)
    value: float = _get_data(self)
    return value


def _write_data(self: Value, value: float) -> None:
    if _noting() is not None:
        frame = _getframe(1)
        if frame.f_code not in _MAKERS:
            raise _refuse("sets .data of a Value", frame)
    _set_data(self, value)


def _write_param_data(self: Value, value: float) -> None:
    if _noting() is not None:
        raise _refuse("sets .data of a parameter", _getframe(1))
    _set_data(self, value)


def _read_param_grad(self: Value) -> Any:
    recorder = _noting()
    if recorder is not None:
        recorder.read_grad(self, _getframe(1))
    return _get_grad(self)


def _write_param_grad(self: Value, value: Any) -> None:
    if _noting() is not None:
        raise _refuse(
            "sets .grad of a parameter (backward() or zero_grad() inside it?)", _getframe(1)
        )
    _GRAD.__set__(self, value)


# The op methods of the traced classes run the engine's own code (one source for every op's
# logic) with its ``data`` renamed: that name is the slot itself on every Value, so an op reads
# its operands and writes its result without the property, which then sees only the reads of
# user code (the ones to guard). Under no_grad() the op's number leaves the graph and its reads
# count: ``_traced_new`` notes them, as the op makes its node.
_SLOT = "_data_slot"
setattr(Value, _SLOT, _DATA)  # Value's ``data`` slot under a name no traced class shadows

# The globals of a method such as ``maximum`` (one that calls an op method of the engine by its
# name, ``_maximum``) as the traced classes run it: the engine's (``_refresh`` copies them as each
# trace starts), where that name is the op method's direct form.
_DIRECT_GLOBALS: dict[str, Any] = dict(vars(engine))
_CALLED_OPS: set[str] = set()  # the engine's op methods named in such methods (``_maximum``)


def _note_nothing(node: Value) -> None:
    """Outside a trace no node is noted."""


# Each node this thread's trace makes is appended here as it is made (``Recorder.made_nodes``):
# children before parents, so that the graph's order needs no walk.
_note_made: Callable[[Value], None] = _note_nothing


def _direct(method: FunctionType) -> Callable[[Value, Any], Value]:
    """An op method of engine._binary as the traced classes run it."""
    code = method.__code__
    names = tuple(_SLOT if name == "data" else name for name in code.co_names)
    direct = FunctionType(
        code.replace(co_names=names),
        method.__globals__,
        method.__name__,
        method.__defaults__,
        method.__closure__,
    )
    direct.__qualname__, direct.__doc__ = method.__qualname__, method.__doc__
    return direct


def _is_direct(code: CodeType) -> bool:
    return _SLOT in code.co_names


def _note_operands(frame: FrameType) -> None:
    """Note the reads of a direct op method (at ``frame``) that makes its node under no_grad():
    its operands' numbers, where noted (on a traced node or parameter), as the engine's method
    reads them through the property."""
    recorder = _recorder
    operands = frame.f_locals
    for name in ("self", "other"):
        operand: Any = operands.get(name)
        traced = isinstance(operand, _Traced) or type(operand) in _TRACED_PARAM.values()
        if recorder is not None and traced:
            recorder.read(operand, frame)


def _is_op(fn: Any) -> bool:
    return getattr(fn, "__code__", None) is _OP_CODE


def _calls_ops(fn: Any) -> bool:
    """Whether ``fn`` is a method of the engine that calls one of its op methods by name (as
    ``maximum`` calls ``_maximum``): the traced classes run it with that op's direct form."""
    code = getattr(fn, "__code__", None)
    if code is None or getattr(fn, "__globals__", None) is not vars(engine):
        return False
    called = [name for name in code.co_names if _is_op(vars(engine).get(name))]
    _CALLED_OPS.update(called)
    return bool(called)


def _direct_ops(owner: type) -> dict[str, Any]:
    """The op methods of Value that ``owner`` inherits (not its own), as traced classes run
    them (``_direct``); unary ones call the binary method they wrap that way, and one such as
    ``maximum`` the op method it names."""
    ops: dict[str, Any] = {}
    defined_by = {name: next(k for k in owner.__mro__ if name in vars(k)) for name in vars(Value)}
    for name, fn in vars(Value).items():
        fn = getattr(fn, "__wrapped__", fn)  # (detect_anomaly wraps op methods while on)
        code = getattr(fn, "__code__", None)
        if defined_by[name] is not Value:
            continue
        if code is _OP_CODE:
            ops[name] = _direct(fn)
        elif code is _UNARY_CODE:
            cells = (CellType(_direct(fn.__closure__[0].cell_contents)),)  # its binary method
            unary = FunctionType(code, fn.__globals__, fn.__name__, None, cells)
            unary.__doc__ = fn.__doc__
            ops[name] = unary
        elif code is not None and _calls_ops(fn):
            calling = FunctionType(code, _DIRECT_GLOBALS, fn.__name__, fn.__defaults__)
            calling.__doc__, calling.__kwdefaults__ = fn.__doc__, fn.__kwdefaults__
            ops[name] = calling
    return ops


def _refresh() -> None:
    """The globals of the methods that call op methods (``_DIRECT_GLOBALS``) as the engine's
    are now."""
    found = _DIRECT_GLOBALS
    found.update(vars(engine))
    for name in _CALLED_OPS:
        if _is_op(found.get(name)):
            found[name] = _direct(found[name])


def _sync(traced: type, owner: type) -> None:
    """Give ``traced`` (a traced class of ``owner``) the direct op methods of ``owner``'s op
    methods as they are now: one replaced since (on Value, or on a subclass) then runs itself."""
    sources = tuple(getattr(owner, name, None) for name in _OP_NAMES)
    if vars(traced).get("_sources") == sources:
        return
    for name in _OP_NAMES:
        if name in vars(traced):
            delattr(traced, name)
    for name, method in _direct_ops(owner).items():
        setattr(traced, name, method)
    setattr(traced, "_sources", sources)  # noqa: B010  (a class's attribute: checked here only)


class _Traced(Value):
    """A node made while tracing: reading its number is noted (the layout of Value)."""

    __slots__ = ()
    data = property(_read_data, _write_data)


_OP_NAMES = tuple(_direct_ops(Value))  # Value's op methods (engine._binary, _unary, callers)
_sync(_Traced, Value)


# To the user it is a Value: errors name it so (``int() argument ... not 'Value'``).
_Traced.__name__ = _Traced.__qualname__ = "Value"


_TRACED_PARAM: dict[type, type] = {}


def _param_class(cls: type) -> type:
    """The class a parameter of class ``cls`` takes while traced: reads and writes are watched."""
    if cls in _TRACED_PARAM.values():
        return cls
    traced = _TRACED_PARAM.get(cls)
    if traced is None:
        namespace = {
            "__slots__": (),
            "__doc__": "A parameter while traced: reading its number or gradient is noted.",
            "data": property(_read_data, _write_param_data),
            "grad": property(_read_param_grad, _write_param_grad),
        }
        traced = _TRACED_PARAM[cls] = type(cls.__name__, (cls,), namespace)
    return traced


_made: type = _Traced  # the class of the nodes the current trace makes (Recorder.made)


def _traced_new(cls: type) -> Any:
    # engine._binary makes each node with ``_new(Value)``: while tracing, a _Traced one, noted.
    # Other threads go on making Values: the trace is its own thread's.
    if cls is Value and _get_ident() == _tracer:
        if not engine._grad_enabled and not engine._recording():  # (under no_grad())
            frame = _getframe(1)
            if _is_direct(frame.f_code):
                _note_operands(frame)
        node: Value = _object_new(_made)
        _note_made(node)
        return node
    return _object_new(cls)


def traced_input(number: float) -> Value:
    """A leaf for one input number, whose reads are noted (made within ``watching``)."""
    node: Value = _object_new(_made)
    Value.__init__(node, number)
    _note_made(node)
    return node


@contextmanager
def watching(params: Sequence[Value]) -> Iterator[Recorder]:
    """Within this block new nodes and ``params`` note every read of their numbers: this
    thread's (other threads' ops make plain Values; another trace waits for this one)."""
    _hooks.refuse_compiled(params)  # a program would run no hook, check no op (detect_anomaly)
    # A trace at a time (one thread may nest them); others wait for it.
    with _one_trace, _watching(params) as recorder:
        yield recorder


@contextmanager
def _watching(params: Sequence[Value]) -> Iterator[Recorder]:
    global _recorder, _made, _tracer, _note_made
    recorder = Recorder()
    classes = [type(p) for p in params]
    previous = _recorder, engine._new, _made, _tracer, _note_made
    switched = 0
    try:
        for p, cls in zip(params, classes, strict=True):
            try:
                p.__class__ = _param_class(cls)
            except TypeError as exc:
                raise TypeError(f"a parameter of class {cls.__name__} cannot be traced") from exc
            switched += 1
        _sync(_Traced, Value)
        for cls in set(classes):
            if cls in _TRACED_PARAM:  # (a parameter of an enclosing trace keeps its class)
                _sync(_TRACED_PARAM[cls], cls)
        engine._new = _traced_new
        _refresh()
        _recorder, _made, _tracer = recorder, recorder.made, _get_ident()
        _note_made = recorder.made_nodes.append
        if type(Value(0.0) + 0.0) is not _made:
            raise RuntimeError("micrograd.engine ops no longer make nodes with _new: cannot trace")
        recorder.made_nodes.clear()  # (that check's node)
        yield recorder
    finally:
        _recorder, engine._new, _made, _tracer, _note_made = previous
        for p, cls in zip(params[:switched], classes, strict=False):
            p.__class__ = cls


# The comparisons an index may take part in (``index op number``).
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class TracedIndex:
    """An integer input while traced: each way its number leaves is noted, so the program
    replays the graph only for the indices that build it.

    ``lookup(table, index)`` (``micrograd._lookup``) picks the row as a gather the program does
    for any index; a comparison with a number (``index < n``) is guarded by its outcome; any other
    use (``int()``, ``table[index]``, ``hash``, arithmetic such as ``index + 1``, whose result is
    a plain int) reads the number, guarded exactly.
    Not an ``int`` subclass on purpose: C code would read an int's number without asking.
    """

    __slots__ = ("leaf",)

    def __init__(self, leaf: Value) -> None:
        self.leaf = leaf  # the input's number, as a Value the program loads (and guards)

    def _number(self) -> int:
        return int(_get_data(self.leaf))

    def __index__(self) -> int:
        if _recorder is not None:
            _recorder.read(self.leaf, _getframe(1))
        return self._number()

    __int__ = __index__

    def __float__(self) -> float:
        return float(self.__index__())

    def __hash__(self) -> int:
        return hash(self.__index__())

    def __bool__(self) -> bool:
        return bool(self._compare("!=", 0))

    def _compare(self, op: str, other: object) -> Any:
        if isinstance(other, TracedIndex):
            other = other.__index__()
        if isinstance(other, numbers.Integral) and not isinstance(other, bool):
            other = operator.index(other)
        elif not isinstance(other, float):
            # Anything else (a bool, a Fraction, a string): compared as the number would be, which
            # is read (guarded exactly). Never NotImplemented: ``==`` would fall back to identity.
            return _COMPARE[op](self.__index__(), other)
        outcome = bool(_COMPARE[op](self._number(), other))
        if _recorder is not None:
            _recorder.compared(self.leaf, op, other, outcome, _getframe(2))
        return outcome

    def __lt__(self, other: object) -> Any:
        return self._compare("<", other)

    def __le__(self, other: object) -> Any:
        return self._compare("<=", other)

    def __gt__(self, other: object) -> Any:
        return self._compare(">", other)

    def __ge__(self, other: object) -> Any:
        return self._compare(">=", other)

    def __eq__(self, other: object) -> Any:
        return self._compare("==", other)

    def __ne__(self, other: object) -> Any:
        return self._compare("!=", other)

    def __repr__(self) -> str:
        return repr(self.__index__())

    def __lookup__(self, table: Any) -> Any:
        """``table[self]`` for every index: a row of Values (or one Value) picked by a gather."""
        if not isinstance(table, (list, tuple)):  # a dict picks by key: the number is read
            return table[self.__index__()]
        rows = list(table)
        n = len(rows)
        number = self._number()
        first = rows[number] if -n <= number < n else None
        if isinstance(first, Value) and all(isinstance(r, Value) for r in rows):
            return self._gather(rows)
        width = len(first) if isinstance(first, (list, tuple)) else -1
        if width > 0 and all(_row_of_values(r, width) for r in rows):
            return [self._gather([r[j] for r in rows]) for j in range(width)]
        return table[self.__index__()]  # no table of Values: the number is read (guarded)

    def _gather(self, column: list[Value]) -> Value:
        recorder = _recorder
        n = len(column)
        if recorder is None or not engine.is_grad_enabled():  # no graph to hold a gather: a read
            return column[self.__index__()]
        number = self._number()
        for op, bound in ((">=", -n), ("<", n)):  # the pick exists: -n <= index < n
            outcome = bool(_COMPARE[op](number, bound))
            recorder.compared(self.leaf, op, bound, outcome, _getframe(2))
        # ``x * 1.0`` is x to the bit (nan and -0.0 too), and 1.0 * g its gradient: the Value
        # engine's own node for the pick, which the program computes for any index.
        picked = column[number] * 1.0
        recorder.gathers[picked] = (self.leaf, column)
        return picked


def _reading(op: Callable[[Any, Any], Any], reflected: bool) -> Callable[[TracedIndex, Any], Any]:
    """An arithmetic method of TracedIndex: the op on its number, read (guarded exactly)."""

    def method(self: TracedIndex, other: Any) -> Any:
        if isinstance(other, TracedIndex):
            other = other.__index__()
        number = self.__index__()
        return op(other, number) if reflected else op(number, other)

    return method


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "divmod": divmod, "pow": operator.pow,
    "lshift": operator.lshift, "rshift": operator.rshift, "and": operator.and_,
    "or": operator.or_, "xor": operator.xor,
}  # fmt: skip
for _name, _op in _ARITHMETIC.items():
    setattr(TracedIndex, f"__{_name}__", _reading(_op, False))
    setattr(TracedIndex, f"__r{_name}__", _reading(_op, True))
for _name, _unary in (("neg", operator.neg), ("pos", operator.pos), ("abs", abs),
                      ("invert", operator.invert)):  # fmt: skip
    setattr(TracedIndex, f"__{_name}__", lambda self, f=_unary: f(self.__index__()))


def _row_of_values(row: object, width: int) -> bool:
    return (
        isinstance(row, (list, tuple))
        and len(row) == width
        and all(isinstance(v, Value) for v in row)
    )


numbers.Integral.register(TracedIndex)  # accepted where an integer is (and read when converted)


def settle(order: Sequence[Value], made: type) -> dict[Value, str]:
    """After a trace: refuse a node a program would compute otherwise than the Value engine, give
    the nodes made while tracing back the class Value (one kept by user code is then an ordinary
    Value), and return the nodes made otherwise than by an op during this trace (whose nodes are
    of class ``made``, ``Recorder.made``), to be guarded.

    Refused: a node differentiated by its own ``_backward`` closure (a lecture-style op: the
    program has no array form of a closure), and a node made by hand, ``Value(data, (x,), op)``,
    or before the trace, whose data is not ``op`` of its operands (the program would compute the
    latter). Such a node holds its number as made, where a program computes it at each call: a
    guard says when the two differ.
    """
    plain: type = Value
    rules = engine.RULES
    hooked = _hooks._registered > 0  # else no node has a hook: none is looked for
    kept: dict[Value, str] = {}
    for node in order:
        if hooked and _hooks.hooks_of(node):
            raise TraceError(
                f"a Value in the traced graph (op {node._op!r}) has a hook (register_hook), "
                "which a compiled program would not run: remove it (handle.remove()) or use Values"
            )
        by_op = type(node) is made  # by an op (or an input leaf): its rule made its number
        if by_op or isinstance(node, _Traced):  # (or in an earlier trace: made before this one)
            node.__class__ = plain
        a = node._a
        if a is None:
            continue
        b, op = node._b, node._op
        if op not in rules or not (b is None or isinstance(b, Value)):
            raise TraceError(
                f"the traced function uses op {op!r}, whose derivative is a _backward closure "
                "(a lecture-style op) and not a row of engine.RULES: a compiled program has no "
                "array form of a closure. Add the op once with micrograd.engine.register_op, or "
                "use the Value engine"
            )
        if not by_op:
            expected = rules[op].forward(a.data, node._arg if b is None else b.data)
            number = node.data
            if expected != number and not (math.isnan(expected) and math.isnan(number)):
                raise TraceError(
                    f"a Value made by hand or before the trace as op {op!r} holds {number!r}, "
                    f"but {op!r} of its operands is now {expected!r}: a compiled program would "
                    "compute the latter"
                )
            kept[node] = f"the number of a Value made by hand or before the trace (op {op!r})"
    return kept
