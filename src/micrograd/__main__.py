"""``python -m micrograd`` and the ``micrograd`` script: the ``micrograd`` command."""

from micrograd._interrupt import STARTUP, interrupted


def run() -> int:
    """Catch Ctrl-C first (``STARTUP.begin``), then load and run the command; its status.

    ``main`` ends a Ctrl-C with one line and status 130; one that comes before ``main`` is
    running (while ``micrograd.cli`` loads) ends the same way here.
    """
    try:
        STARTUP.begin()
        from micrograd.cli import main

        return main()
    except KeyboardInterrupt:
        return interrupted("micrograd")


if __name__ == "__main__":
    raise SystemExit(run())
