"""Graphs the tests share: seed 003's AND gate and seed 002's expression."""

from __future__ import annotations

from micrograd.engine import Value


def and_gate() -> Value:
    """Seed 003's AND-gate graph on input (0, 1), label 0: n9 = |n7 - n8| with n7 = 0.7."""
    n1, n2 = Value(0.0, label="n1"), Value(1.0, label="n2")
    n3 = n1 + n2
    n3.label = "n3"
    n4 = Value(0.5, label="n4")
    n5 = n3 * n4
    n5.label = "n5"
    n6 = Value(0.2, label="n6")
    n7 = n5 + n6
    n7.label = "n7"
    n8 = Value(0.0, label="n8")
    n9 = (n7 - n8).abs()
    n9.label = "n9"
    return n9


def seed002() -> Value:
    """Seed 002's expression (micrograd's README), g = 24.7041."""
    a = Value(-4.0, label="a")
    b = Value(2.0, label="b")
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.label = "g"
    return g
