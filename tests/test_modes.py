"""no_grad, detect_anomaly and gc_paused as torch's blocks are: one object entered again while
open, entered again later, and used as a decorator."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

import pytest

from micrograd.engine import (
    AnomalyError,
    Value,
    detect_anomaly,
    gc_paused,
    is_grad_enabled,
    no_grad,
)


def _anomaly_on() -> bool:
    """Whether an op making inf raises now."""
    try:
        Value(0.0).log()
    except AnomalyError:
        return True
    return False


# Each mode, and a probe that says whether it is on.
MODES: dict[str, tuple[Callable[[], object], Callable[[], bool]]] = {
    "no_grad": (no_grad, lambda: not is_grad_enabled()),
    "detect_anomaly": (detect_anomaly, _anomaly_on),
    "gc_paused": (gc_paused, lambda: not gc.isenabled()),
}


@pytest.fixture(autouse=True)
def _collector_on() -> None:
    """gc_paused's probe needs the collector on at the start."""
    assert gc.isenabled()


@pytest.mark.parametrize("name", MODES)
def test_one_object_nested_in_itself_is_on_until_the_outer_block_ends(name: str) -> None:
    """Entering the same object while it is open (torch's blocks allow it) keeps the mode on
    until the outer block closes, then it is off."""
    make, on = MODES[name]
    mode = make()
    seen = []
    with mode:  # type: ignore[attr-defined]
        with mode:  # type: ignore[attr-defined]
            seen.append(on())
        seen.append(on())
    seen.append(on())
    assert seen == [True, True, False]


@pytest.mark.parametrize("name", MODES)
def test_one_object_serves_blocks_one_after_another(name: str) -> None:
    """A block object used a second time switches the mode on again."""
    make, on = MODES[name]
    mode = make()
    seen = []
    for _ in range(2):
        with mode:  # type: ignore[attr-defined]
            seen.append(on())
        seen.append(on())
    assert seen == [True, False, True, False]


@pytest.mark.parametrize("name", MODES)
def test_as_a_decorator_the_mode_is_on_inside_each_call(name: str) -> None:
    """``@mode()`` on a function: on during every call, off after, even after a raise."""
    make, on = MODES[name]

    @make()  # type: ignore[operator]
    def probe(fail: bool) -> bool:
        if fail:
            raise KeyError("x")
        return on()

    with pytest.raises(KeyError):
        probe(True)
    assert [probe(False), on(), probe(False), on()] == [True, False, True, False]


@pytest.mark.parametrize("name", MODES)
def test_an_error_in_the_block_restores_the_mode(name: str) -> None:
    """The mode is off after a block left by an exception, and the exception goes on."""
    make, on = MODES[name]
    mode = make()
    with pytest.raises(ZeroDivisionError), mode:  # type: ignore[attr-defined]
        1 / 0  # noqa: B018
    assert on() is False


def test_no_grad_block_makes_leaves() -> None:
    """Inside a reused no_grad object an op's result has no children; after it, it has."""
    mode = no_grad()
    with mode:
        inside = Value(2.0) * 3
    with mode:
        again = Value(2.0) * 3
    after = Value(2.0) * 3
    assert (inside._prev, again._prev, len(after._prev)) == ((), (), 1)


def _in_order(steps: list[tuple[int, Callable[[], None]]]) -> None:
    """Run each (thread number, action) in this order, the two threads taking turns."""
    turn = [threading.Event() for _ in steps] + [threading.Event()]
    errors: list[BaseException] = []

    def worker(me: int) -> None:
        try:
            for k, (who, action) in enumerate(steps):
                if who == me:
                    turn[k].wait(10)
                    action()
                    turn[k + 1].set()
        except BaseException as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)
            for event in turn:
                event.set()

    threads = [threading.Thread(target=worker, args=(me,)) for me in (0, 1)]
    for t in threads:
        t.start()
    turn[0].set()
    for t in threads:
        t.join()
    assert errors == []


def test_no_grad_is_the_threads_own_and_overlapping_blocks_leave_recording_on() -> None:
    """One no_grad object entered by two threads whose blocks overlap (A in, B in, A out, B
    out): inside, each thread's ops make leaves while the other records; after, all record."""
    mode, seen = no_grad(), {}

    def enter() -> None:
        mode.__enter__()

    def leave() -> None:
        mode.__exit__(None, None, None)

    def look(name: str) -> Callable[[], None]:
        def probe() -> None:
            x = Value(3.0)
            seen[name] = (is_grad_enabled(), len((x * x)._prev))

        return probe

    _in_order(
        [
            (0, look("A before")),
            (0, enter),
            (1, look("B while A is in")),
            (1, enter),
            (0, look("A in")),
            (0, leave),
            (1, look("B in, A out")),
            (1, leave),
            (0, look("A after")),
            (1, look("B after")),
        ]
    )
    x = Value(3.0)
    y = x * x
    y.backward()
    assert seen == {
        "A before": (True, 2),
        "B while A is in": (True, 2),
        "A in": (False, 0),
        "B in, A out": (False, 0),
        "A after": (True, 2),
        "B after": (True, 2),
    } and (is_grad_enabled(), x.grad) == (True, 6.0)


def test_no_grad_without_parentheses_decorates_a_function() -> None:
    """``@no_grad`` as torch allows it: the function runs with recording off; a non-function
    argument is a TypeError saying what no_grad takes."""

    @no_grad
    def inside() -> bool:
        return is_grad_enabled()

    with pytest.raises(TypeError, match="no argument, or a function"):
        no_grad(5)  # type: ignore[call-arg]
    assert (inside(), is_grad_enabled()) == (False, True)
