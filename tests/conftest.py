"""Shared test settings: hypothesis runs a fixed number of examples, with no deadline; a test that
uses PyTorch carries the ``torch`` marker."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from hypothesis import settings

import lazy_torch

settings.register_profile("default", max_examples=200, deadline=None)
settings.load_profile("default")


def pytest_configure(config: pytest.Config) -> None:
    """Take Ctrl-C as a terminal's program does, also when the suite was started with SIGINT
    ignored (``nohup``, a CI script's background job): the tests that press Ctrl-C inside this
    process need micrograd to see it, and micrograd rightly leaves an ignored SIGINT ignored."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that reached into PyTorch without the ``torch`` marker.

    scripts/test deselects the marked tests where PyTorch is not installed; an unmarked one
    would fail there with ModuleNotFoundError, so it fails here first, with the fix.
    """
    before = lazy_torch.uses
    result = yield
    if lazy_torch.uses != before and item.get_closest_marker("torch") is None:
        raise AssertionError(f"{item.nodeid} uses PyTorch: mark it @pytest.mark.torch")
    return result
