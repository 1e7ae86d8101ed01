"""``python -m micrograd`` and the ``micrograd`` script: the ``micrograd`` command."""

from micrograd._interrupt import STARTUP


def run() -> int:
    """Catch Ctrl-C first (``STARTUP.begin``), then load and run the command; its status."""
    STARTUP.begin()
    from micrograd.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
