"""The expression parser behind `micrograd graph/explain`: a whitelist, limits, and fuzzing."""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.explain
import micrograd.viz  # noqa: F401
from micrograd.cli import main
from micrograd.engine import Value
from micrograd.expr import FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, evaluate


@contextlib.contextmanager
def no_python_execution() -> Iterator[None]:
    """Within the block eval/exec raise, and compile may only build a syntax tree (ast.parse)."""
    real_compile = builtins.compile

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec must never be called")

    def only_ast(source: Any, filename: Any, mode: str, flags: int = 0, *a: Any, **k: Any) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("compile must only build a syntax tree")
        return real_compile(source, filename, mode, flags, *a, **k)

    saved = builtins.eval, builtins.exec, builtins.compile
    builtins.eval, builtins.exec, builtins.compile = refuse, refuse, only_ast  # type: ignore[assignment]
    try:
        yield
    finally:
        builtins.eval, builtins.exec, builtins.compile = saved


# The command imports parts of itself on first use; importing a module that has no bytecode yet
# compiles its source, so run the command once before any guard (a fresh clone has no .pyc).
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    main(["graph", "--", "1"])


def graph(text: str) -> tuple[int, str, str]:
    """``micrograd graph -- TEXT`` in this process, guarded: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), no_python_execution():
        code = main(["graph", "--", text])
    return code, out.getvalue(), err.getvalue()


def assert_evaluates_or_refuses(text: str) -> tuple[int, str, str]:
    """Either a value and gradients (status 0) or one error line (status 2); nothing else."""
    code, out, err = graph(text)
    assert code in (0, 2), (text, code, err)
    assert "Traceback" not in out + err
    if code == 0:
        assert (out.startswith("value = "), err) == (True, "")
    else:
        assert (out, err.count("\n")) == ("", 1), (text, err)
        assert err.startswith("micrograd graph: error: ")
    return code, out, err


# --- what is accepted, and what it computes ---

Build = Callable[[Value, Value], Value]

ACCEPTED: list[tuple[str, Build]] = [
    ("(x*y + y**3).relu() / 2", lambda x, y: (x * y + y**3).relu() / 2),
    ("tanh(2*x + 1) - y", lambda x, y: (2.0 * x + 1.0).tanh() - y),
    ("-x + y - 1.5e1", lambda x, y: -x + y - 15.0),
    ("2 ** x + 2 / x - 3 - y", lambda x, y: 2.0**x + 2.0 / x - 3.0 - y),
    ("+x ** -2 * y", lambda x, y: x**-2.0 * y),
    ("x ** y", lambda x, y: x**y),
    (
        "leaky_relu(x, 0.2) + x.leaky_relu() + abs(y) + y.abs()",
        lambda x, y: x.leaky_relu(0.2) + x.leaky_relu() + y.abs() + y.abs(),
    ),
    (
        "sqrt(x) * sin(y) + cos(x).exp() - log(x) + softplus(y) * sigmoid(y)",
        lambda x, y: x.sqrt() * y.sin() + x.cos().exp() - x.log() + y.softplus() * y.sigmoid(),
    ),
    ("exp(2) * x + relu(-3) + 2 ** 3 ** 2", lambda x, y: math.exp(2.0) * x + 0.0 + 512.0),
    ("((x))", lambda x, y: x),
]


@pytest.mark.parametrize(("expression", "build"), ACCEPTED)
def test_accepted_expressions_build_the_engines_graph(expression: str, build: Build) -> None:
    """Whitelisted expressions give the same value and gradients as the same ops on Values."""
    out, variables = evaluate(f"x=0.75, y=-1.25: {expression}")
    out.backward()
    x, y = Value(0.75), Value(-1.25)
    expected = build(x, y)
    expected.backward()
    assert [out.data, variables["x"].grad, variables["y"].grad] == [expected.data, x.grad, y.grad]


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_call_and_method_style_agree_for_every_function(name: str) -> None:
    """f(x) and x.f() give the engine's own method's value and gradient."""
    results = []
    for style in (f"{name}(x)", f"x.{name}()"):
        out, variables = evaluate(f"x=0.625: {style}")
        out.backward()
        results.append((out.data, variables["x"].grad))
    x = Value(0.625)
    expected = getattr(x, name)()
    expected.backward()
    assert results == [(expected.data, x.grad)] * 2


def test_variables_are_labelled_leaves_with_signed_values() -> None:
    """Variables keep their order, labels and signed or scientific values; unused ones too."""
    out, variables = evaluate("a=-4, b=+2.5e-1, c=.5, unused=7.: a * b + c")
    assert [(v.label, v.data, v._prev) for v in variables.values()] == [
        ("a", -4.0, ()),
        ("b", 0.25, ()),
        ("c", 0.5, ()),
        ("unused", 7.0, ()),
    ]
    assert out.data == -0.5


def test_the_specs_example_through_the_command() -> None:
    """The issue's example prints value 0 and zero gradients (relu is flat at its input 0)."""
    code, out, _ = graph("a=-4, b=2: (a*b + b**3).relu() / 2")
    assert (code, out.splitlines()[:3]) == (0, ["value = 0.0", "a.grad = 0.0", "b.grad = 0.0"])


def test_limits_are_inclusive() -> None:
    """Inputs right at each limit are accepted: length, parts, depth and exponent."""
    padded = "x=2: x" + " " * (MAX_LENGTH - 6)
    wide = "+".join(["*".join(["-x"] * 12)] * 10)  # 359 parts, 36 levels deep
    deep = "-" * (MAX_DEPTH - 1) + "x"
    for expression in (padded, f"x=2: {wide}", f"x=2: {deep}", f"x=2: x ** {MAX_EXPONENT}"):
        assert graph(expression)[0] == 0


# --- what is refused ---

REFUSED = [
    ("x=1: x.__class__", "attributes are not allowed: '.__class__'"),
    ("x=1: x.relu", "attributes are not allowed: '.relu'"),
    ("x=1: __import__('os').system('touch pwned')", "calls to 'system' are not allowed"),
    ("x=1: __import__('os')", "calls to '__import__' are not allowed"),
    ("x=1: open('pwned', 'w')", "calls to 'open' are not allowed"),
    ("x=1: (lambda: 0)()", "only the functions exp, log"),
    ("x=1: lambda: x", "lambdas are not allowed"),
    ("x=1: x[0]", "subscripts are not allowed: 'x[0]'"),
    ("x=1: [x for x in (1, 2)]", "comprehensions are not allowed"),
    ("x=1: 'text' * x", "strings are not allowed"),
    ("x=1: f'{x}'", "strings are not allowed"),
    ("x=1: True * x", "True constants are not allowed"),
    ("x=1: 1j * x", "1j constants are not allowed"),
    ("x=1: ...", "Ellipsis constants are not allowed"),
    ("x=1: x if x else 2", "conditional expressions are not allowed"),
    ("x=1: x < 2", "comparisons are not allowed"),
    ("x=1: x and 2", "and/or operators are not allowed"),
    ("x=1: (y := 2)", "assignments (:=) are not allowed"),
    ("x=1: (x, x)", "tuples are not allowed"),
    ("x=1: x // 2", "operator FloorDiv is not allowed"),
    ("x=1: x @ x", "operator MatMult is not allowed"),
    ("x=1: ~x", "operator Invert is not allowed"),
    ("x=1: not x", "operator Not is not allowed"),
    ("x=1: y", "unknown name 'y' at column 1; the variables are x"),
    ("x=1: print", "unknown name 'print'"),
    ("x=1: relu", "relu is a function: write relu(x) or x.relu()"),
    ("x=1: relu(x, 2)", "wrong number of arguments to relu"),
    ("x=1: x.exp(1)", "wrong number of arguments to exp"),
    ("x=1: exp()", "wrong number of arguments to exp"),
    ("x=1: exp(x, base=2)", "exp() takes no keyword arguments"),
    ("x=1: leaky_relu(x, x)", "the slope of leaky_relu must be a number"),
    ("x=1: x ** 1001", "the exponent 1001 is too large; the limit is ±1000"),
    ("x=1: x ** -1001", "the exponent -1001 is too large"),
    ("x=1: x ** 10 ** 100", "the exponent 1e+100 is too large"),
    ("x=1: x ** (9 ** 9 ** 9)", "the exponent 3.8742e+08 is too large"),  # inner one first
    ("x=1: 2 ** 3", "the expression uses no variable"),
    ("x=1: x +", "syntax error"),
    ("x=1: x + )", "syntax error at column 5: unmatched ')'"),
    ("x=1: x\x00", "x"),  # null bytes: refused by the parser, whatever its words
    ("x=1: " + "(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
    ("x * 2", "declare the variables first, then a colon"),
    ("x=1:  ", "there is no expression after the colon"),
    ("x=a: x", "the value of x must be a number, not 'a'"),
    ("x=1e999e: x", "the value of x must be a number"),
    ("x=1, x=2: x", "variable 'x' is given twice"),
    ("1x=1: x", "'1x' is not a variable name"),
    ("if=1: 2", "'if' is not a variable name"),
    ("exp=1: exp", "'exp' is a function; choose another variable name"),
    ("x=1,: x", "expected NAME=NUMBER before the colon"),
    ("x=1: " + "+".join(["*".join(["-x"] * 16)] * 16), f"more than {MAX_NODES} parts"),
    ("x=1: " + "-" * MAX_DEPTH + "x", f"nested more than {MAX_DEPTH} levels deep"),
    ("x=1: x" + " " * MAX_LENGTH, f"the limit is {MAX_LENGTH}"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused_with_one_line_and_status_2(text: str, message: str) -> None:
    """Everything off the whitelist, or past a limit, is one clear line and exit status 2."""
    code, _, err = assert_evaluates_or_refuses(text)
    assert code == 2
    assert message in err


def test_nothing_is_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Expressions that would have side effects as Python have none, with eval/exec disabled."""
    monkeypatch.chdir(tmp_path)
    for text, _ in REFUSED[:6]:
        assert graph(text)[0] == 2
    assert list(tmp_path.iterdir()) == []


def test_huge_numbers_are_refused_not_worked_on() -> None:
    """A 900-digit integer is no big-int computation: no float holds it, so it is refused (as
    1e400 is: tests/test_cli_output.py has the kind)."""
    code, out, err = assert_evaluates_or_refuses("x=2: x * 1" + "0" * 900)
    assert (code, out) == (2, "")
    assert "the number at column 5, '1000" in err and "is too large for a float" in err


# --- fuzzing ---

EXPRESSION_CHARS = "ab xy0123456789.e+-*/()_,:=" + "relutanhsigmodcxpqrbf'\"[]<>!@#$%^&|~`;{}\\\n"


@given(st.text(max_size=80))
def test_fuzz_any_text(text: str) -> None:
    """Arbitrary text (any Unicode) either evaluates or is refused in one line."""
    assert_evaluates_or_refuses(text)


@given(st.text(alphabet=EXPRESSION_CHARS, max_size=80))
def test_fuzz_expression_like_text(tail: str) -> None:
    """Text made of expression characters, after valid variables, evaluates or is refused."""
    assert_evaluates_or_refuses("a=1.5, b=-2, x=0.25: " + tail)


# Random syntax trees: whitelisted nodes, and nodes that must be refused wherever they appear.

ALLOWED_OPS = [ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Pow()]


def _refused(node: ast.expr) -> ast.expr:
    node._refused = True  # type: ignore[attr-defined]  # the test's own mark
    return node


def _call(name: str, *args: ast.expr) -> ast.expr:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _method(child: ast.expr, name: str) -> ast.expr:
    func = ast.Attribute(value=child, attr=name, ctx=ast.Load())
    return ast.Call(func=func, args=[], keywords=[])


def _lambda(body: ast.expr) -> ast.expr:
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    return ast.Lambda(args=arguments, body=body)


def _listcomp(child: ast.expr) -> ast.expr:
    target = ast.Name(id="i", ctx=ast.Store())
    loop = ast.comprehension(
        target=target, iter=ast.List(elts=[], ctx=ast.Load()), ifs=[], is_async=0
    )
    return ast.ListComp(elt=child, generators=[loop])


def _extend(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    functions = st.sampled_from(list(FUNCTIONS))
    allowed = st.one_of(
        st.builds(ast.BinOp, children, st.sampled_from(ALLOWED_OPS), children),
        st.builds(ast.UnaryOp, st.sampled_from([ast.USub(), ast.UAdd()]), children),
        st.builds(lambda f, c: _call(f, c), functions, children),
        st.builds(_method, children, functions),
    )
    load = ast.Load()
    refused: list[Callable[..., ast.expr]] = [
        lambda c: ast.Attribute(value=c, attr="__class__", ctx=load),
        lambda c: ast.Subscript(value=c, slice=ast.Constant(0), ctx=load),
        lambda c: ast.Compare(left=c, ops=[ast.Lt()], comparators=[ast.Constant(1)]),
        lambda c: ast.BinOp(c, ast.FloorDiv(), c),
        lambda c: ast.UnaryOp(ast.Not(), c),
        lambda c: ast.IfExp(test=c, body=c, orelse=c),
        lambda c: ast.Tuple(elts=[c, c], ctx=load),
        lambda c: ast.BoolOp(op=ast.Or(), values=[c, c]),
        lambda c: _call("print", c),
        lambda c: _call("eval", ast.Constant("1")),
        lambda c: _method(c, "system"),
        _lambda,
        _listcomp,
        lambda c: ast.BinOp(c, ast.Mult(), ast.Constant("s")),
    ]
    forbidden = st.builds(lambda make, c: _refused(make(c)), st.sampled_from(refused), children)
    return st.one_of(allowed, allowed, forbidden)


NAMES = st.sampled_from(["a", "b", "x"]).map(lambda n: ast.Name(id=n, ctx=ast.Load()))
LEAVES = st.one_of(
    NAMES,
    NAMES,
    st.integers(0, 12).map(ast.Constant),
    st.floats(0.0, 10.0).map(ast.Constant),
)
TREES = st.recursive(LEAVES, _extend, max_leaves=12)


def _has_refused_node(tree: ast.AST) -> bool:
    return any(getattr(node, "_refused", False) for node in ast.walk(tree))


@settings(max_examples=300)
@given(TREES)
def test_fuzz_random_syntax_trees(tree: ast.expr) -> None:
    """Random trees: any refused node gives status 2; whitelisted trees evaluate, unless a
    constant exponent is too large or no variable is left."""
    text = "a=1.5, b=-2, x=0.25: " + ast.unparse(ast.fix_missing_locations(tree))
    code, _, err = assert_evaluates_or_refuses(text)
    if _has_refused_node(tree):
        assert code == 2, text
    elif code == 2:
        reasons = ("exponent", "uses no variable", "nested more than", "parts")
        assert any(reason in err for reason in reasons), (text, err)


def test_pythons_syntax_warnings_do_not_leak() -> None:
    """Text Python warns about (``1if``) is judged by the whitelist, with no warning printed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked SyntaxWarning would become a SyntaxError here
        code, _, err = assert_evaluates_or_refuses("x=1: 1if x else 2")
    assert code == 2
    assert "conditional expressions are not allowed" in err
