"""The micrograd command's options: no abbreviations, a typo shown with its command's usage, and a
range for every number (a value outside is one usage line naming the option and the range)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from clitools import one_error_line, run
from micrograd import cli
from micrograd.cli import RANGES, build_parser

# What each command needs besides the option under test.
REQUIRED = {"train": [], "graph": ["x=1: x"], "explain": ["x=1: x"]}


def commands() -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser (bench has its own, in micrograd.bench)."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: action.choices[name] for name in REQUIRED}


def options(command: str) -> list[argparse.Action]:
    """The command's optional arguments (not positionals, not --help)."""
    return [a for a in commands()[command]._actions if a.option_strings and a.dest != "help"]


def numeric_options() -> list[tuple[str, str, str]]:
    """(command, option, setting) for every option of every command that takes a number."""
    found = []
    for command in REQUIRED:
        for action in options(command):
            for name, limits in RANGES.items():
                if action.type == limits.parse:
                    found.append((command, action.option_strings[-1], name))
    return found


def test_every_option_that_takes_a_value_has_a_checked_type() -> None:
    """No option takes a number without a range: each option with a value has a choice list,
    is a checked path (a file or folder name), or is parsed by a range (or layers, batch size)."""
    checked = (cli._layers, cli._batch, cli._file_name, cli._folder_name)
    for command in REQUIRED:
        for action in options(command):
            takes_value = action.nargs != 0 and not isinstance(
                action, argparse.BooleanOptionalAction
            )
            if not takes_value or action.choices:
                continue
            ranged = any(action.type == limits.parse for limits in RANGES.values())
            assert ranged or action.type in checked, action.option_strings


def test_the_numeric_options_are_the_expected_ones() -> None:
    """The table of ranges covers train's numbers and explain's --digits."""
    assert sorted(numeric_options()) == [
        ("explain", "--digits", "digits"),
        ("train", "--checkpoint-every", "checkpoint_every"),
        ("train", "--l2", "l2"),
        ("train", "--lr", "lr"),
        ("train", "--noise", "noise"),
        ("train", "--samples", "samples"),
        ("train", "--seed", "seed"),
        ("train", "--steps", "steps"),
        ("train", "--warmup", "warmup"),
    ]


def outside(limits: Any) -> list[str]:
    """Texts just outside a range, and texts that are no number of it at all."""
    texts = ["nan", "inf", "-inf", "ten", "", "1e999", "9" * 5000]
    if limits.whole:
        texts += [str(int(limits.low) - 1), str(int(limits.high) + 1), "2.5", "1e3"]
    else:
        texts += [repr(limits.high * 1.5 + 1), repr(limits.low - 0.5)]
    if limits.above:
        texts.append(repr(limits.low))
    return texts


@pytest.mark.parametrize(("command", "option", "setting"), numeric_options())
def test_a_number_outside_its_range_is_one_line_naming_the_option_and_range(
    capsys: pytest.CaptureFixture[str], command: str, option: str, setting: str
) -> None:
    """Every numeric option refuses values just outside its range, and non-numbers, with status
    2 and one line: ``argument OPTION: expected <range>, got 'TEXT'``."""
    limits = RANGES[setting]
    for text in outside(limits):
        code, out, err = run(capsys, command, *REQUIRED[command], f"{option}={text}")
        assert (code, out) == (2, ""), text
        assert one_error_line(err) == (
            f"micrograd {command}: error: argument {option}: expected {limits}, got {text!r}"
        )


@pytest.mark.parametrize(("command", "option", "setting"), numeric_options())
def test_the_ends_of_each_range_are_accepted(command: str, option: str, setting: str) -> None:
    """Both ends of each range parse (above=True ranges: just above the low end)."""
    limits = RANGES[setting]
    low = limits.low if not limits.above else limits.low + 1e-9
    for value in (low, limits.high):
        text = str(int(value)) if limits.whole else repr(float(value))
        ns = build_parser().parse_args([command, *REQUIRED[command], option, text])
        assert getattr(ns, option.lstrip("-").replace("-", "_")) == value


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["train", "--layers", "100000000"],
            "argument --layers: expected hidden layer sizes such as 16,16 (up to 16 layers of 1 "
            "to 1,000 units) or 'none', got '100000000'",
        ),
        (
            ["train", "--layers", ",".join(["4"] * 17)],
            "argument --layers: expected hidden layer sizes such as 16,16 (up to 16 layers of 1 "
            f"to 1,000 units) or 'none', got '{','.join(['4'] * 17)}'",
        ),
        (  # no sizes is no layer sizes: 'none' says "no hidden layers"
            ["train", "--layers", ""],
            "argument --layers: expected hidden layer sizes such as 16,16 (up to 16 layers of 1 "
            "to 1,000 units) or 'none', got ''",
        ),
        (
            ["train", "--samples", "1e9"],
            "argument --samples: expected a whole number from 1 to 10,000, got '1e9'",
        ),
        (
            ["train", "--steps", "1e23"],
            "argument --steps: expected a whole number from 1 to 1,000,000, got '1e23'",
        ),
        (
            ["train", "--steps", str(10**23)],
            f"argument --steps: expected a whole number from 1 to 1,000,000, got '{10**23}'",
        ),
        (
            ["train", "--batch-size", "20000"],
            "argument --batch-size: expected a whole number from 1 to 10,000, got '20000'",
        ),
        (
            ["explain", "x=1: x", "--digits", "1e20"],
            "argument --digits: expected a whole number from 1 to 17, got '1e20'",
        ),
        (
            ["train", "--lr", "0"],
            "argument --lr: expected a number above 0, at most 1,000, got '0'",
        ),
    ],
)
def test_the_issues_huge_numbers_are_refused_with_their_limit(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """The issue's --layers 100000000, --samples 1e9, --steps 1e23, explain --digits 1e20 (and
    kin) are one usage line with the range, status 2: no MemoryError, no endless run."""
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert one_error_line(err) == f"micrograd {argv[0]}: error: {expected}"


def prefixes() -> list[tuple[str, str]]:
    """(command, text) for every proper prefix (3 characters or more) of every long option that
    is not itself an option of that command."""
    cases = []
    for command in REQUIRED:
        names = {name for action in options(command) for name in action.option_strings}
        for name in sorted(names):
            for end in range(3, len(name)):
                if name.startswith("--") and name[:end] not in names:
                    cases.append((command, name[:end]))
    return sorted(set(cases))


@pytest.mark.parametrize(("command", "text"), prefixes())
def test_no_option_may_be_abbreviated(
    capsys: pytest.CaptureFixture[str], command: str, text: str
) -> None:
    """``--step 10`` is not ``--steps 10``: a prefix of an option is an unknown argument, shown
    with the command's own usage (status 2)."""
    code, out, err = run(capsys, command, *REQUIRED[command], text, "10")
    assert (code, out) == (2, "")
    assert err.startswith(f"usage: micrograd {command} ")
    assert one_error_line(err).startswith(f"micrograd {command}: error: unrecognized arguments: ")


def test_the_top_level_options_may_not_be_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    """micrograd --vers is refused with the top-level usage."""
    code, _, err = run(capsys, "--vers")
    assert code == 2
    assert err.startswith("usage: micrograd [-h]")


@pytest.mark.parametrize("command", list(REQUIRED))
def test_a_typo_shows_the_commands_usage_not_the_top_levels(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """An unknown flag after the command gets that command's usage and name; before the command
    it gets the top-level ones."""
    code, _, err = run(capsys, command, *REQUIRED[command], "--frobnicate")
    assert code == 2
    assert err.startswith(f"usage: micrograd {command} ")
    assert (
        one_error_line(err) == f"micrograd {command}: error: unrecognized arguments: --frobnicate"
    )
    code, _, err = run(capsys, "--frobnicate", command, *REQUIRED[command])
    assert code == 2
    assert err.startswith("usage: micrograd [-h]")
    assert one_error_line(err) == "micrograd: error: unrecognized arguments: --frobnicate"


def bench_prefixes() -> list[str]:
    """Every proper prefix (3 characters or more) of bench's long options that is no option."""
    from micrograd.bench._command import _parser

    names = {name for action in _parser()._actions for name in action.option_strings}
    cases = {name[:end] for name in names if name.startswith("--") for end in range(3, len(name))}
    return sorted(cases - names)


@pytest.mark.parametrize("text", bench_prefixes())
def test_bench_options_may_not_be_abbreviated(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """micrograd bench --round 3 is refused too (bench has its own parser)."""
    code, out, err = run(capsys, "bench", text, "3")
    assert (code, out) == (2, "")
    assert one_error_line(err).startswith("micrograd bench: error: unrecognized arguments: ")


@pytest.mark.parametrize("text", ["0", "101", "1e9", "2.5", "many"])
def test_bench_rounds_has_a_range(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """micrograd bench --rounds takes 1 to 100: outside is one usage line naming the range."""
    code, out, err = run(capsys, "bench", "--rounds", text)
    assert (code, out) == (2, "")
    assert one_error_line(err) == (
        "micrograd bench: error: argument --rounds: expected a whole number from 1 to 100, "
        f"got {text!r}"
    )
