"""`caravan lab` in a real browser: Debian's Chromium driven by Playwright.

The test starts `caravan lab` as a user would (a process of its own, on a free port), loads
the page, steps the January 2021 caravan, moves policy controls (no border forces, no
blockade), resets and steps again, and checks that the map and the numbers changed; then it
opens the outcome table (both target sets) and runs the comparison with the calibrated
scenario. No request may fail, and none may leave this machine (solara's assets come from
`solara-assets`).
Screenshots go to $CARAVAN_ARTEFACTS (default tests/artefacts/, not committed).

Without Playwright or Chromium the test fails, saying what to install: a browser test that
skips where the browser is missing would pass CI without testing anything.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (apt-get install chromium)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
START_TIMEOUT_S = 180.0  # the first start may compile the migrant rules
PAGE_TIMEOUT_MS = 180_000


def _artefacts() -> Path:
    path = Path(os.environ.get("CARAVAN_ARTEFACTS", REPO / "tests" / "artefacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require_browser() -> None:
    """Fail, naming what to install, where Playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the browser test needs Playwright's Python package: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser test needs Debian's Chromium at {CHROMIUM}: run .ci/install-chromium"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def lab_url() -> Iterator[str]:
    """`caravan lab` serving on a free port; stopped (its whole process group) afterwards."""
    _require_browser()
    port = _free_port()
    log = (_artefacts() / "lab-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "lab", "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so that stopping it stops solara's process too
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_served(url, server)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def _wait_until_served(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"caravan lab exited with {server.returncode}; see tests/artefacts")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"caravan lab did not answer at {url} within {START_TIMEOUT_S:.0f} s")


def _number(text: str, label: str) -> int:
    found = re.search(rf"{label}: ([\d,]+)", text)
    assert found is not None, f"no '{label}' in {text!r}"
    return int(found.group(1).replace(",", ""))


def test_the_lab_steps_the_caravan_and_follows_a_policy_control(lab_url: str) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    failed: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.on(  # an error answer fails too (the server's CDN proxy answers 5xx offline)
                "response",
                lambda response: failed.append(response.url) if response.status >= 400 else None,
            )
            seen = _drive(page, lab_url, _artefacts())
        finally:
            browser.close()

    assert _number(seen["before"], "held") > 0  # at the border forces and the blockade
    assert _number(seen["after"], "held") == 0  # neither stands now
    assert "vado_hondo_blockade" in seen["before"]
    assert "vado_hondo_blockade" not in seen["after"]
    assert seen["map before"] != seen["map after"]
    assert "seed-article" in seen["table"] and "official" in seen["table"]  # both target sets
    assert "blockade = False" in seen["settings"]
    assert "border_force_factor = 0.0" in seen["settings"]
    assert failed == []
    outside = sorted({url for url in requests if urlparse(url).hostname not in LOCAL_HOSTS})
    outside = [url for url in outside if urlparse(url).scheme not in ("data", "blob")]
    assert outside == [], f"requests that left this machine: {outside}"


def _drive(page: Page, url: str, shots: Path) -> dict[str, str | bytes]:
    """Load, step, move the controls, reset, step, read the outcomes, compare: what was seen
    (numbers as text, maps as PNG bytes), with a screenshot of each stage in `shots`."""
    page.goto(url)
    page.get_by_text("Model Parameters").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.screenshot(path=shots / "lab-loaded.png")
    # Mesa's steps per click at its top (about 100: 17 Jan, people held)
    steps_per_click = _slider(page, "Render Interval (steps)")
    steps_per_click.press("End")
    steps = steps_per_click.get_attribute("aria-valuenow")
    assert steps is not None and int(steps) > 48
    seen: dict[str, str | bytes] = {}
    seen["before"], seen["map before"] = _step_and_read(page, shots / "lab-stepped.png", steps)

    _slider(page, "border forces (x, 0: none)").press("Home")  # no border forces
    page.locator("label", has_text=re.compile(r"^blockade$")).click()  # switched off
    switch = page.get_by_role("checkbox", name="blockade", exact=True)
    assert switch.get_attribute("aria-checked") == "false"
    page.get_by_role("button", name="Reset").click()  # Mesa applies parameters at Reset
    page.locator(".caravan-numbers").get_by_text("step: 0 of").wait_for(timeout=PAGE_TIMEOUT_MS)
    seen["after"], seen["map after"] = _step_and_read(page, shots / "lab-levers.png", steps)

    page.get_by_role("tab", name="Page 1").click()
    table = page.locator("table", has_text="reported figure of")
    table.wait_for(timeout=PAGE_TIMEOUT_MS)
    seen["table"] = table.inner_text()
    page.screenshot(path=shots / "lab-outcomes.png")

    page.get_by_role("tab", name="Page 2").click()
    seen["settings"] = page.locator("p", has_text="Current settings").inner_text()
    page.get_by_role("button", name=re.compile("Compare with the calibrated")).click()
    page.locator(".caravan-comparison img").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.screenshot(path=shots / "lab-comparison.png")
    return seen


def _step_and_read(page: Page, shot: Path, steps: str) -> tuple[str, bytes]:
    """Click Step; once the model has run `steps` steps, the numbers and the map's pixels."""
    page.get_by_role("button", name="Step").click()
    numbers = page.locator(".caravan-numbers")
    numbers.get_by_text(f"step: {steps} of").wait_for(timeout=PAGE_TIMEOUT_MS)
    the_map = page.locator(".caravan-map img")
    the_map.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=shot)
    return numbers.inner_text(), the_map.screenshot()


def _slider(page: Page, label: str) -> Locator:
    """The slider labelled `label` (its thumb, which takes the keyboard)."""
    return page.get_by_role("slider", name=label, exact=True)
