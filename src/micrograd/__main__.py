"""``python -m micrograd``: the ``micrograd`` command."""

from micrograd.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
