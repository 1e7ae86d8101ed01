"""The explorer in a real browser: Debian's chromium, headless, driven by Selenium, network off.

CI installs the browser with ``apt-get install chromium chromium-driver``; nothing is downloaded
at run time. The page is opened from disk, stepped with the keyboard, and what it shows is
compared with what backward() computes.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from graphs import seed002
from micrograd import MLP, Value
from micrograd.engine import topological_order
from micrograd.explain import explain
from micrograd.explorer import explore, to_html


def find_program(*names: str) -> str:
    """The first of ``names`` on PATH, or a failure saying how to install the browser."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        f"none of {', '.join(names)} is installed: apt-get install chromium chromium-driver"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless chromium with the network switched off, logging every request it makes."""
    options = webdriver.ChromeOptions()
    options.binary_location = find_program("chromium", "chromium-browser", "google-chrome")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        "--no-proxy-server",
        "--proxy-bypass-list=<-loopback>",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(find_program("chromedriver", "chromium-driver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: WebDriver, path: Path) -> None:
    """Load a page from disk and wait until the explorer has drawn it."""
    driver.get_log("performance")  # forget earlier pages' requests
    driver.get(path.as_uri())
    wait_for_explorer(driver)


def wait_for_explorer(driver: WebDriver) -> None:
    """Wait (10 s at most) until the explorer in the current document has drawn its graph."""
    for _ in range(200):
        if driver.execute_script("return !!(window.micrograd && window.micrograd.timing.script)"):
            return
        driver.execute_script("return new Promise(r => setTimeout(r, 50))")
    raise AssertionError("the explorer did not start")


def requested_urls(driver: WebDriver) -> list[str]:
    """Every URL the page asked for since it was opened."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def errors(driver: WebDriver) -> list[str]:
    """The browser console's errors (a failing script, a refused load)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def press(driver: WebDriver, key: str, times: int = 1) -> None:
    """Press a key on the page (the body has the focus), ``times`` times."""
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(times):
        body.send_keys(key)


def drawn(el: WebElement, css: str) -> str:
    """The text drawn in ``el``'s part ``css`` (in view or panned out of it)."""
    return el.find_element(By.CSS_SELECTOR, css).get_attribute("textContent") or ""


def node(driver: WebDriver, name: str) -> WebElement:
    """The drawn value named ``name``."""
    return driver.find_element(By.CSS_SELECTOR, f'g.mg-v[data-name="{name}"]')


def shown_grad(driver: WebDriver, name: str) -> tuple[str, float]:
    """The grad a node shows (its text) and carries (data-grad, exact)."""
    el = node(driver, name)
    return drawn(el, ".mg-gr"), float(el.get_attribute("data-grad") or "nan")


def position(driver: WebDriver) -> int:
    """Where the explorer is: 0 before the forward pass, N + 1 + S at the end."""
    return int(driver.execute_script("return window.micrograd.position()"))


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed 002's explorer page, written to a temporary folder."""
    return to_html(seed002(), tmp_path_factory.mktemp("explorer") / "seed002.html")


def test_seed002_stepped_backward_shows_backward_grads(
    browser: WebDriver, seed_page: Path, tmp_path: Path
) -> None:
    """Seed 002 from disk, network off: the keyboard steps through the forward pass and every
    backward step; each step's narration is the narrator's, each child shows the grad it has
    just received, and at the end every node shows what backward() computes. No request leaves
    the file, and a screenshot is saved."""
    open_page(browser, seed_page)
    narration = explain(seed002())
    n, s = len(narration.names), len(narration)
    assert browser.execute_script("return [window.micrograd.N, window.micrograd.S]") == [n, s]
    press(browser, Keys.ARROW_RIGHT, n + 1)  # every value, then the seed root.grad = 1
    assert shown_grad(browser, "g") == ("grad 1", 1.0)
    for k, step in enumerate(narration, start=1):
        press(browser, Keys.ARROW_RIGHT)
        assert browser.find_element(By.ID, "mg-phase").text == f"Backward step {k} of {s}"
        assert browser.find_element(By.ID, "mg-text").text.startswith(step.text())
        for c in step.contributions:
            assert shown_grad(browser, c.child) == (f"grad {c.grad_after:.6g}", c.grad_after)
    g = seed002()
    g.backward()
    names = explain(g).names
    for value, name in names.items():
        text, exact = shown_grad(browser, name)
        assert (text, exact) == (f"grad {float(value.grad):.6g}", float(value.grad))
    assert shown_grad(browser, "a")[0] == "grad 138.834"
    assert shown_grad(browser, "b")[0] == "grad 645.577"
    browser.save_screenshot(str(tmp_path / "seed002-backward.png"))
    assert (tmp_path / "seed002-backward.png").stat().st_size > 10_000
    urls = requested_urls(browser)
    assert urls and all(url.startswith("file://") for url in urls), urls
    assert errors(browser) == []


def test_a_step_can_be_undone_and_home_and_end_jump(browser: WebDriver, seed_page: Path) -> None:
    """Left undoes a step (the children's grads return to what they were), Home goes back to the
    start with no value computed, End to the last step."""
    open_page(browser, seed_page)
    narration = explain(seed002())
    n, s = len(narration.names), len(narration)
    press(browser, Keys.ARROW_RIGHT, n + 2)  # the seed and step 1: g's children get their grads
    first = narration[0].contributions[0].child
    assert shown_grad(browser, first)[1] == narration[0].contributions[0].grad_after
    press(browser, Keys.ARROW_LEFT)
    assert shown_grad(browser, first) == ("grad 0", 0.0)
    press(browser, Keys.END)
    assert position(browser) == n + 1 + s
    assert shown_grad(browser, "a")[1] == narration.grads["a"]
    press(browser, Keys.HOME)
    assert position(browser) == 0
    data = drawn(node(browser, "a"), ".mg-dt")
    assert (data, node(browser, "a").get_attribute("data-grad")) == ("data ?", None)
    press(browser, "b")
    assert position(browser) == n + 1


def test_space_plays_and_pauses(browser: WebDriver, seed_page: Path) -> None:
    """Space starts playing (the position moves on by itself) and space again stops it."""
    open_page(browser, seed_page)
    browser.execute_script("document.getElementById('mg-speed').value = '10'")
    press(browser, Keys.SPACE)
    browser.execute_script("return new Promise(r => setTimeout(r, 400))")
    press(browser, Keys.SPACE)
    stopped = position(browser)
    browser.execute_script("return new Promise(r => setTimeout(r, 300))")
    assert (stopped > 0, position(browser)) == (True, stopped)
    play = browser.find_element(By.ID, "mg-play")
    assert (play.get_attribute("aria-pressed"), play.get_attribute("aria-label")) == (
        "false",
        "Play",
    )


def test_every_control_and_picture_has_a_name(browser: WebDriver, seed_page: Path) -> None:
    """Buttons, inputs and the graph picture carry text a screen reader can say (alt text)."""
    open_page(browser, seed_page)
    unnamed = browser.execute_script(
        """
        const bad = [];
        document.querySelectorAll('button, input, select, img, svg, [role=button]').forEach(el => {
          const labelled = el.getAttribute('aria-labelledby');
          const name = el.getAttribute('aria-label') || el.getAttribute('alt') ||
            (labelled && labelled.split(' ').map(id => document.getElementById(id).textContent)
              .join(' ')) || (el.closest('label') && el.closest('label').textContent) ||
            el.textContent;
          if (!name || !name.trim()) bad.push(el.outerHTML.slice(0, 80));
        });
        return bad;
        """
    )
    assert unnamed == []
    title = browser.find_element(By.ID, "mg-svg-title").get_attribute("textContent")
    narration = explain(seed002())
    values, ops = len(narration.names), len(narration)
    assert title == f"Expression graph of g = 24.7041: {values} values, {ops} ops"


def test_a_model_boxes_neurons_and_the_keyboard_opens_them(
    browser: WebDriver, tmp_path: Path
) -> None:
    """The moons MLP on one point: layers open, neurons closed; Tab and Enter open a neuron,
    whose weights then show; search finds a node by label and opens its box."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    score = model([Value(0.5, label="x0"), Value(-0.25, label="x1")])
    assert isinstance(score, Value)
    loss = (1 + -1.0 * score).relu()
    open_page(browser, to_html(loss, tmp_path / "moons.html", model=model))
    shut = browser.find_elements(By.CSS_SELECTOR, "g.mg-shut")
    assert len(shut) == 33  # 16 + 16 + 1 neurons
    assert browser.find_elements(By.CSS_SELECTOR, 'g.mg-v[data-name="layers.0.neurons.0.b"]') == []
    focused = browser.execute_script(
        "const el = document.querySelector('g.mg-shut'); el.focus();"
        "return el.getAttribute('aria-label')"
    )
    assert focused.startswith("layers.0.neurons.0: ReLUNeuron(2), 8 values")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert node(browser, "layers.0.neurons.0.b").is_displayed()
    search = browser.find_element(By.ID, "mg-search")
    search.send_keys("layers.1.neurons.7.w.3", Keys.ENTER)
    found = browser.find_element(By.ID, "mg-found").text
    assert found == "1 of 1: layers.1.neurons.7.w.3"
    assert "mg-found" in (node(browser, "layers.1.neurons.7.w.3").get_attribute("class") or "")
    assert errors(browser) == []


def test_nan_and_infinity_show_as_the_narrator_writes_them(
    browser: WebDriver, tmp_path: Path
) -> None:
    """log(0) = -inf and 0 * -inf = nan show as -inf and nan, with grads nan as backward()'s."""
    x = Value(0.0, label="x")
    y = x.log()
    y.label = "y"
    z = y * x
    z.label = "z"
    open_page(browser, to_html(z, tmp_path / "nan.html"))
    press(browser, Keys.END)
    data = [drawn(node(browser, n), ".mg-dt") for n in "xyz"]
    assert data == ["data 0", "data -inf", "data nan"]
    z.backward()
    assert math.isnan(x.grad) and shown_grad(browser, "x")[0] == "grad nan"


def test_the_jupyter_iframe_runs_the_same_viewer(browser: WebDriver, tmp_path: Path) -> None:
    """The HTML Jupyter shows (a sandboxed iframe, as kept in an exported notebook) runs the
    explorer: inside it, End shows seed 002's a.grad."""
    host = tmp_path / "notebook.html"
    host.write_text(
        f"<!DOCTYPE html><html><body>{explore(seed002())._repr_html_()}</body></html>",
        encoding="utf-8",
    )
    browser.get(host.as_uri())
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        wait_for_explorer(browser)
        browser.find_element(By.ID, "mg-text").click()  # as a reader clicks into the output
        press(browser, Keys.END)
        assert shown_grad(browser, "a")[0] == "grad 138.834"
    finally:
        browser.switch_to.default_content()
    assert errors(browser) == []


def test_every_shown_number_is_the_python_formatting(browser: WebDriver, tmp_path: Path) -> None:
    """For a graph of awkward numbers (ties at the sixth digit, tiny, huge, -0.0), each value's
    text is Python's f'{x:.6g}' of the exact number it carries."""
    leaves = [1234565.0, 12345.25, 0.5, -0.0, 1e-300, 1.5e16, 2.0**-1074, 123456789.0]
    xs = [Value(v, label=f"v{i}") for i, v in enumerate(leaves)]
    total: Value = xs[0]
    for x in xs[1:]:
        total = total + x
    total.label = "total"
    open_page(browser, to_html(total, tmp_path / "numbers.html"))
    press(browser, Keys.END)
    order = topological_order(total)
    for value in order:
        el = browser.find_element(By.CSS_SELECTOR, f'g.mg-v[data-id="{order.index(value)}"]')
        assert (drawn(el, ".mg-dt"), float(el.get_attribute("data-value") or "nan")) == (
            f"data {value.data:.6g}",
            value.data,
        )


def test_the_training_report_slider_and_its_explorer(browser: WebDriver, tmp_path: Path) -> None:
    """micrograd train --report's page: the checkpoint slider moves with the arrow keys (the
    picture's alt text follows) without stepping the explorer below, which then steps on."""
    from micrograd.cli import main

    options = ["--steps", "4", "--checkpoint-every", "2", "--samples", "20", "--layers", "4"]
    out = tmp_path / "run"
    assert main(["train", *options, "--out", str(out), "--report", "--no-plots"]) == 0
    open_page(browser, out / "report.html")
    slider = browser.find_element(By.ID, "rep-step")
    canvas = browser.find_element(By.ID, "rep-canvas")
    assert browser.find_element(By.ID, "rep-at").text.startswith("step 4: accuracy")
    slider.send_keys(Keys.ARROW_LEFT)
    assert browser.find_element(By.ID, "rep-at").text.startswith("step 2: accuracy")
    assert (canvas.get_attribute("aria-label") or "").startswith("Decision boundary at step 2")
    assert position(browser) == 0
    browser.find_element(By.ID, "mg-text").click()
    press(browser, Keys.ARROW_RIGHT, 3)
    assert position(browser) == 3
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert errors(browser) == []
