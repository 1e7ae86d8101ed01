"""Run the benchmark suite from a source checkout: ``python benchmarks/run.py [options]``.

The same as ``micrograd bench`` (see ``--help``), with micrograd 0.1.0 kept in the git-ignored
``benchmarks/.ref`` unless ``--reference-dir`` says otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

from micrograd.bench import main

REFERENCE = Path(__file__).resolve().parent / ".ref" / "micrograd-0.1.0"

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(arg.startswith("--reference-dir") for arg in argv):
        argv += ["--reference-dir", str(REFERENCE)]
    raise SystemExit(main(argv))
