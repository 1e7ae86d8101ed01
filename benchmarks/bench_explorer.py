"""How fast the explorer opens and steps a big graph, in Debian's chromium (headless).

``python benchmarks/bench_explorer.py [--rounds 3] [--points 2] [--out DIR]``

The graph: the hinge loss of ``MLP(2, [64, 64, 1])`` on ``--points`` points (two points make
about 22,000 nodes), boxed by neuron and layer (``model=``), and the same graph without a model
(boxed into parts of the topological order). For each it reports the page's size, the Python time
to write it, and in the browser: the time to first paint (navigation start to the first frame
after the explorer drew), the layout and drawing inside it, one step (median of 200 right-arrow
steps into the backward pass: the key's script alone, and until the next frame is drawn),
jumping to the end, and opening a neuron's box. Needs selenium and
``apt-get install chromium chromium-driver``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from micrograd import MLP, Value
from micrograd.engine import topological_order
from micrograd.explorer import to_html


def big_graph(points: int) -> tuple[Value, MLP]:
    """The hinge loss of MLP(2, [64, 64, 1]) on ``points`` fixed points, and the model."""
    random.seed(1337)
    model = MLP(2, [64, 64, 1])
    loss: Value = Value(0.0)
    for p in range(points):
        x = [Value(random.uniform(-1, 1), label=f"x{p}.{j}") for j in range(2)]
        score = model(x)
        assert isinstance(score, Value)
        loss = loss + (1 + -1.0 * score).relu()
    loss.label = "loss"
    return loss, model


def browser() -> Any:
    """Headless chromium at 1400 x 900, from the system's packages."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,900")
    driver = webdriver.Chrome(
        options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    )
    driver.set_script_timeout(600)
    return driver


MEASURE = """
const done = arguments[arguments.length - 1];
const m = window.micrograd, out = {};
const wait = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
(async () => {
  await wait();
  out.firstPaint = m.timing.firstPaint; out.layout = m.timing.layout;
  out.render = m.timing.render; out.script = m.timing.script;
  m.go(m.N + 1);
  const steps = [], handler = [];
  for (let k = 0; k < 200; k++) {
    const t = performance.now();
    document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
    handler.push(performance.now() - t);
    await wait();
    steps.push(performance.now() - t);
  }
  steps.sort((a, b) => a - b);
  handler.sort((a, b) => a - b);
  out.step = steps[100];
  out.handler = handler[100];
  let t = performance.now(); m.go(m.T); await wait(); out.end = performance.now() - t;
  const box = document.querySelector('g.mg-shut');
  t = performance.now();
  if (box) { box.dispatchEvent(new MouseEvent('click', {bubbles: true})); await wait(); }
  out.open = box ? performance.now() - t : null;
  done(out);
})();
"""


def measure(driver: Any, path: Path) -> dict[str, float]:
    """Open the page from disk and time it (milliseconds)."""
    driver.get("about:blank")
    driver.get(path.as_uri())
    for _ in range(1200):
        if driver.execute_script(
            "return !!(window.micrograd && window.micrograd.timing.firstPaint)"
        ):
            break
        time.sleep(0.05)
    result: dict[str, float] = driver.execute_async_script(MEASURE)
    return result


def main(argv: list[str] | None = None) -> int:
    """Write the pages, open each ``--rounds`` times, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--points", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="keep the pages in this folder")
    args = parser.parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    root, model = big_graph(args.points)
    nodes = len(topological_order(root))
    rows = []
    driver = browser()
    try:
        for name, kwargs in (("boxed by model", {"model": model}), ("no model (parts)", {})):
            began = time.perf_counter()
            path = to_html(root, folder / f"{name.split()[0]}.html", **kwargs)
            write_s = time.perf_counter() - began
            runs = [measure(driver, path) for _ in range(args.rounds)]
            med = {k: statistics.median(r[k] for r in runs if r[k] is not None) for k in runs[0]}
            rows.append((name, path.stat().st_size / 1e6, write_s, med))
    finally:
        driver.quit()
    print(f"explorer, {nodes} nodes (MLP(2, [64, 64, 1]) on {args.points} points), medians of "
          f"{args.rounds} page loads, chromium headless, ms unless said")  # fmt: skip
    columns = (
        "page MB | write s | first paint | layout | draw | step (script, frame) | end | open box"
    )
    print(f"| graph | {columns} |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, mb, write_s, m in rows:
        print(
            f"| {name} | {mb:.1f} | {write_s:.1f} | {m['firstPaint']:.0f} | {m['layout']:.0f} | "
            f"{m['render']:.0f} | {m['handler']:.1f}, {m['step']:.0f} | {m['end']:.0f} | "
            f"{m['open']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
